package dynamo

import (
	"context"
	"encoding/json"
	"maps"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/lcgo/lcgo/shared/librechat"
)

// ---- users ----

// backupCode is the stored form of librechat.BackupCode: usedAt in unix
// milliseconds, like every other time.
type backupCode struct {
	Hash   string `json:"codeHash"`
	Used   bool   `json:"used"`
	UsedAt *int64 `json:"usedAt"`
}

func encodeBackupCodes(codes []librechat.BackupCode) (string, error) {
	if codes == nil {
		return "", nil
	}
	out := make([]backupCode, len(codes))
	for i, c := range codes {
		out[i] = backupCode{Hash: c.Hash, Used: c.Used}
		if c.UsedAt != nil {
			ms := c.UsedAt.UnixMilli()
			out[i].UsedAt = &ms
		}
	}
	b, err := json.Marshal(out)
	return string(b), err
}

func decodeBackupCodes(s string) ([]librechat.BackupCode, error) {
	if s == "" {
		return nil, nil
	}
	var in []backupCode
	if err := json.Unmarshal([]byte(s), &in); err != nil {
		return nil, err
	}
	if in == nil {
		return nil, nil
	}
	out := make([]librechat.BackupCode, len(in))
	for i, c := range in {
		out[i] = librechat.BackupCode{Hash: c.Hash, Used: c.Used}
		if c.UsedAt != nil {
			t := time.UnixMilli(*c.UsedAt).UTC()
			out[i].UsedAt = &t
		}
	}
	return out, nil
}

// userItem is the stored user: its email lowercased, a fresh write
// generation, and the keys of the user list (Index2, by creation).
func userItem(u *librechat.User) (item, error) {
	codes, err := encodeBackupCodes(u.BackupCodes)
	if err != nil {
		return nil, err
	}
	it := newItem(userKey(u.ID), "user")
	it["id"] = sv(u.ID)
	it["ver"] = sv(newGen())
	setStr(it, "email", strings.ToLower(u.Email))
	setStr(it, "name", u.Name)
	setStr(it, "username", u.Username)
	setFlag(it, "emailVerified", u.EmailVerified)
	setStr(it, "avatar", u.Avatar)
	setStr(it, "provider", u.Provider)
	setStr(it, "role", u.Role)
	setStr(it, "password", u.PasswordHash)
	setFlag(it, "twoFactor", u.TwoFactorEnabled)
	setStr(it, "totp", u.TOTPSecret)
	setStr(it, "backupCodes", codes)
	setFlag(it, "terms", u.TermsAccepted)
	setStr(it, "personalization", u.PersonalizationID)
	setFlag(it, "memories", u.Memories)
	setList(it, "plugins", u.Plugins)
	setFlag(it, "disabled", u.Disabled)
	setTime(it, "createdAt", u.CreatedAt)
	setTime(it, "updatedAt", u.UpdatedAt)
	it[AttrGPK] = sv(usersPK)
	it[AttrGS2] = sv(sortKeyTime(u.CreatedAt, u.ID))
	return it, nil
}

func decodeUser(it item) (*librechat.User, error) {
	u := &librechat.User{
		ID:                getStr(it, "id"),
		Name:              getStr(it, "name"),
		Username:          getStr(it, "username"),
		Email:             getStr(it, "email"),
		EmailVerified:     getFlag(it, "emailVerified"),
		Avatar:            getStr(it, "avatar"),
		Provider:          getStr(it, "provider"),
		Role:              getStr(it, "role"),
		PasswordHash:      getStr(it, "password"),
		TwoFactorEnabled:  getFlag(it, "twoFactor"),
		TOTPSecret:        getStr(it, "totp"),
		TermsAccepted:     getFlag(it, "terms"),
		PersonalizationID: getStr(it, "personalization"),
		Memories:          getFlag(it, "memories"),
		Plugins:           getList(it, "plugins"),
		Disabled:          getFlag(it, "disabled"),
		CreatedAt:         getTime(it, "createdAt"),
		UpdatedAt:         getTime(it, "updatedAt"),
	}
	var err error
	if u.BackupCodes, err = decodeBackupCodes(getStr(it, "backupCodes")); err != nil {
		return nil, err
	}
	return u, nil
}

// claimItem reserves an email for a user. The claim counts only while the
// user it names exists with that email (readers check), so a claim left
// behind by a crash never shows a wrong user.
func (s *Store) claimItem(email, uid string) item {
	it := newItem(emailKey(email), "email")
	it["uid"] = sv(uid)
	it["at"] = nv(s.now().UnixMilli())
	return it
}

// claimPlan returns the condition under which uid may write its claim on
// email, or KindConflict when the address is held: by a claim its user
// confirms (that user has the address), or by one younger than
// ClaimTimeout, whose writer may still be running (even when it is uid's
// own: a concurrent call for the same user). An older unconfirmed claim
// may be replaced as long as it does not change meanwhile.
func (s *Store) claimPlan(ctx context.Context, op, email, uid string) (*expr, string, error) {
	e := newExpr()
	cur, err := s.get(ctx, emailKey(email))
	if err != nil {
		return nil, "", fail(op, err)
	}
	if cur == nil {
		return e, "attribute_not_exists(" + e.n(AttrPK) + ")", nil
	}
	owner := getStr(cur, "uid")
	holder, err := s.get(ctx, userKey(owner))
	if err != nil {
		return nil, "", fail(op, err)
	}
	if holder != nil && getStr(holder, "email") == email {
		return nil, "", conflict(op, "a user with this email already exists")
	}
	if s.now().Sub(getTime(cur, "at")) < s.claimTimeout {
		return nil, "", conflict(op, "a user with this email already exists")
	}
	return e, e.eq("uid", sv(owner)) + " AND " + e.eq("at", cur["at"]), nil
}

// releaseClaim deletes uid's claim written at claimed, if still there.
func (s *Store) releaseClaim(ctx context.Context, email string, claim item) {
	e := newExpr()
	cond := e.eq("uid", claim["uid"]) + " AND " + e.eq("at", claim["at"])
	_, _ = s.del(context.WithoutCancel(ctx), emailKey(email), e, cond)
}

func counterUpdate(delta int64) (*expr, string) {
	e := newExpr()
	return e, "ADD " + e.n("n") + " " + e.v(nv(delta))
}

// CreateUser writes the email claim, the user and the user counter: in one
// transaction, or claim first, counter next and user last, undoing the
// earlier steps when a later one fails. KindConflict when the email or the
// id is taken.
func (s *Store) CreateUser(ctx context.Context, u *librechat.User) error {
	const op = "dynamo.CreateUser"
	if u == nil {
		return invalid(op, "user is required")
	}
	if err := checkPart(op, "user id", u.ID); err != nil {
		return err
	}
	email := strings.ToLower(u.Email)
	if err := checkKey(op, emailKey(email)); err != nil {
		return err
	}
	it, err := userItem(u)
	if err != nil {
		return librechat.Wrap(librechat.KindOther, op, err)
	}
	for attempt := 0; attempt < attempts; attempt++ {
		ce, ccond, err := s.claimPlan(ctx, op, email, u.ID)
		if err != nil {
			return err
		}
		claim := s.claimItem(email, u.ID)
		ue := newExpr()
		ucond := "attribute_not_exists(" + ue.n(AttrPK) + ")"
		if s.tx {
			ne, nupd := counterUpdate(1)
			err := s.transact(ctx, []types.TransactWriteItem{
				txPut(s.table, claim, ce, ccond),
				txPut(s.table, it, ue, ucond),
				txUpdate(s.table, counterKey(), ne, nupd, ""),
			})
			if cerr, ok := err.(*canceledError); ok {
				if cerr.failedAt(1) {
					return conflict(op, "a user with this id already exists")
				}
				continue
			}
			return fail(op, err)
		}
		if err := s.put(ctx, claim, ce, ccond); err == errCondition {
			continue
		} else if err != nil {
			return fail(op, err)
		}
		ne, nupd := counterUpdate(1)
		if _, err := s.update(ctx, counterKey(), ne, nupd, "", types.ReturnValueNone); err != nil {
			s.releaseClaim(ctx, email, claim)
			return fail(op, err)
		}
		if err := s.put(ctx, it, ue, ucond); err != nil {
			ne, nupd := counterUpdate(-1)
			_, _ = s.update(context.WithoutCancel(ctx), counterKey(), ne, nupd, "", types.ReturnValueNone)
			s.releaseClaim(ctx, email, claim)
			if err == errCondition {
				return conflict(op, "a user with this id already exists")
			}
			return fail(op, err)
		}
		return nil
	}
	return busy(op)
}

// UserByID fails with KindNotFound when there is no such user.
func (s *Store) UserByID(ctx context.Context, id string) (*librechat.User, error) {
	const op = "dynamo.UserByID"
	if id == "" || checkKey(op, userKey(id)) != nil {
		return nil, notFound(op, "user not found")
	}
	it, err := s.get(ctx, userKey(id))
	if err != nil {
		return nil, fail(op, err)
	}
	if it == nil {
		return nil, notFound(op, "user not found")
	}
	u, err := decodeUser(it)
	if err != nil {
		return nil, librechat.Wrap(librechat.KindOther, op, err)
	}
	return u, nil
}

// UserByEmail follows the email's claim to its user and checks that the
// user still has that email.
func (s *Store) UserByEmail(ctx context.Context, email string) (*librechat.User, error) {
	const op = "dynamo.UserByEmail"
	email = strings.ToLower(email)
	if checkKey(op, emailKey(email)) != nil {
		return nil, notFound(op, "user not found")
	}
	claim, err := s.get(ctx, emailKey(email))
	if err != nil {
		return nil, fail(op, err)
	}
	if claim == nil {
		return nil, notFound(op, "user not found")
	}
	uid := getStr(claim, "uid")
	it, err := s.get(ctx, userKey(uid))
	if err != nil {
		return nil, fail(op, err)
	}
	if it == nil || getStr(it, "email") != email {
		return nil, notFound(op, "user not found")
	}
	u, err := decodeUser(it)
	if err != nil {
		return nil, librechat.Wrap(librechat.KindOther, op, err)
	}
	return u, nil
}

// UpdateUser replaces the user, keeping the stored role and disabled flag
// (SetUserAccess alone writes those), if the item did not change since this
// call read it (its write generation): a SetUserAccess landing in between
// makes it read again, so it never writes back an older role or flag. A
// new email is claimed first and the old claim released after: in one
// transaction, or in that order.
func (s *Store) UpdateUser(ctx context.Context, u *librechat.User) error {
	const op = "dynamo.UpdateUser"
	if u == nil {
		return invalid(op, "user is required")
	}
	if err := checkPart(op, "user id", u.ID); err != nil {
		return err
	}
	email := strings.ToLower(u.Email)
	if err := checkKey(op, emailKey(email)); err != nil {
		return err
	}
	releaseOld := true
	for attempt := 0; attempt < attempts; attempt++ {
		old, err := s.get(ctx, userKey(u.ID))
		if err != nil {
			return fail(op, err)
		}
		if old == nil {
			return notFound(op, "user not found")
		}
		it, err := userItem(u)
		if err != nil {
			return librechat.Wrap(librechat.KindOther, op, err)
		}
		for _, a := range accessAttrs {
			delete(it, a)
			if v, ok := old[a]; ok {
				it[a] = v
			}
		}
		ue := newExpr()
		ucond := "attribute_exists(" + ue.n(AttrPK) + ")"
		if v, ok := old["ver"]; ok {
			ucond += " AND " + ue.eq("ver", v)
		} else {
			ucond += " AND attribute_not_exists(" + ue.n("ver") + ")"
		}
		oldEmail := getStr(old, "email")
		if oldEmail == email {
			if err := s.put(ctx, it, ue, ucond); err == errCondition {
				continue
			} else if err != nil {
				return fail(op, err)
			}
			return nil
		}
		ce, ccond, err := s.claimPlan(ctx, op, email, u.ID)
		if err != nil {
			return err
		}
		claim := s.claimItem(email, u.ID)
		de := newExpr()
		dcond := "attribute_not_exists(" + de.n(AttrPK) + ") OR " + de.eq("uid", sv(u.ID))
		if s.tx {
			items := []types.TransactWriteItem{txPut(s.table, claim, ce, ccond), txPut(s.table, it, ue, ucond)}
			if releaseOld {
				items = append(items, txDelete(s.table, emailKey(oldEmail), de, dcond))
			}
			err := s.transact(ctx, items)
			if cerr, ok := err.(*canceledError); ok {
				if cerr.failedAt(2) {
					releaseOld = false
				}
				continue
			}
			return fail(op, err)
		}
		if err := s.put(ctx, claim, ce, ccond); err == errCondition {
			continue
		} else if err != nil {
			return fail(op, err)
		}
		if err := s.put(ctx, it, ue, ucond); err != nil {
			s.releaseClaim(ctx, email, claim)
			if err == errCondition {
				continue
			}
			return fail(op, err)
		}
		_, _ = s.del(ctx, emailKey(oldEmail), de, dcond)
		return nil
	}
	return busy(op)
}

// accessAttrs are the attributes of a user item only SetUserAccess writes.
var accessAttrs = []string{"role", "disabled"}

// SetUserAccess is one conditional update of the role, the disabled flag,
// updatedAt and the write generation (so that an UpdateUser that read the
// item before retries); the condition that the item exists keeps it from
// creating one. The flag is stored as a boolean either way (userItem
// leaves a false one out; both read as false). An empty role or a zero
// time is stored as userItem stores it, as no attribute: that rewrites the
// item under its write generation, as RotateSession does, since minidyn
// does not apply REMOVE.
func (s *Store) SetUserAccess(ctx context.Context, id, role string, disabled bool, at time.Time) error {
	const op = "dynamo.SetUserAccess"
	if id == "" || checkKey(op, userKey(id)) != nil {
		return notFound(op, "user not found")
	}
	if role == "" || at.IsZero() {
		return s.rewriteUserAccess(ctx, op, id, role, disabled, at)
	}
	e := newExpr()
	upd := "SET " + e.n("ver") + " = " + e.v(sv(newGen())) +
		", " + e.n("role") + " = " + e.v(sv(role)) +
		", " + e.n("disabled") + " = " + e.v(boolv(disabled)) +
		", " + e.n("updatedAt") + " = " + e.v(nv(at.UnixMilli()))
	cond := "attribute_exists(" + e.n(AttrPK) + ")"
	_, err := s.update(ctx, userKey(id), e, upd, cond, types.ReturnValueNone)
	if err == errCondition {
		return notFound(op, "user not found")
	}
	return fail(op, err)
}

// rewriteUserAccess is SetUserAccess as a read and a put conditioned on the
// write generation read, retried when another write came in between.
func (s *Store) rewriteUserAccess(ctx context.Context, op, id, role string, disabled bool, at time.Time) error {
	for attempt := 0; attempt < attempts; attempt++ {
		old, err := s.get(ctx, userKey(id))
		if err != nil {
			return fail(op, err)
		}
		if old == nil {
			return notFound(op, "user not found")
		}
		it := make(item, len(old)+1)
		maps.Copy(it, old)
		delete(it, "role")
		delete(it, "disabled")
		delete(it, "updatedAt")
		setStr(it, "role", role)
		setFlag(it, "disabled", disabled)
		setTime(it, "updatedAt", at)
		it["ver"] = sv(newGen())
		e := newExpr()
		cond := "attribute_exists(" + e.n(AttrPK) + ")"
		if v, ok := old["ver"]; ok {
			cond += " AND " + e.eq("ver", v)
		} else {
			cond += " AND attribute_not_exists(" + e.n("ver") + ")"
		}
		if err := s.put(ctx, it, e, cond); err == errCondition {
			continue
		} else if err != nil {
			return fail(op, err)
		}
		return nil
	}
	return busy(op)
}

// CountUsers reads the counter CreateUser maintains.
func (s *Store) CountUsers(ctx context.Context) (int, error) {
	it, err := s.get(ctx, counterKey())
	if err != nil {
		return 0, fail("dynamo.CountUsers", err)
	}
	return int(max(getNum(it, "n"), 0)), nil
}

// ---- sessions ----

func (s *Store) sessionItem(ss *librechat.Session) item {
	it := newItem(sessionKey(ss.ID), "session")
	it["id"] = sv(ss.ID)
	setStr(it, "uid", ss.UserID)
	setStr(it, "current", ss.CurrentHash)
	setStr(it, "previous", ss.PreviousHash)
	setTime(it, "rotatedAt", ss.RotatedAt)
	setTime(it, "expiresAt", ss.ExpiresAt)
	setTime(it, "createdAt", ss.CreatedAt)
	if !ss.ExpiresAt.IsZero() {
		it[AttrTTL] = nv(s.ttlFor(ss.ExpiresAt))
	}
	return it
}

// sessionRef lists a session in its user's partition, for
// DeleteUserSessions; it expires with the session.
func sessionRef(ss item) item {
	it := newItem(sessionRefKey(getStr(ss, "uid"), getStr(ss, "id")), "sessionref")
	it["sid"] = ss["id"]
	if v, ok := ss[AttrTTL]; ok {
		it[AttrTTL] = v
	}
	return it
}

func decodeSession(it item) *librechat.Session {
	return &librechat.Session{
		ID:           getStr(it, "id"),
		UserID:       getStr(it, "uid"),
		CurrentHash:  getStr(it, "current"),
		PreviousHash: getStr(it, "previous"),
		RotatedAt:    getTime(it, "rotatedAt"),
		ExpiresAt:    getTime(it, "expiresAt"),
		CreatedAt:    getTime(it, "createdAt"),
	}
}

// CreateSession writes the session and its reference in the user's
// partition: in one transaction, or reference first. An existing live id
// is KindConflict.
func (s *Store) CreateSession(ctx context.Context, ss *librechat.Session) error {
	const op = "dynamo.CreateSession"
	if ss == nil {
		return invalid(op, "session is required")
	}
	if err := checkPart(op, "session id", ss.ID); err != nil {
		return err
	}
	if err := checkKey(op, sessionRefKey(ss.UserID, ss.ID)); err != nil {
		return err
	}
	it := s.sessionItem(ss)
	ref := sessionRef(it)
	e := newExpr()
	cond := e.absent(s.now())
	if s.tx {
		err := s.transact(ctx, []types.TransactWriteItem{txPut(s.table, it, e, cond), txPut(s.table, ref, nil, "")})
		if _, ok := err.(*canceledError); ok {
			return conflict(op, "session already exists")
		}
		return fail(op, err)
	}
	if err := s.put(ctx, ref, nil, ""); err != nil {
		return fail(op, err)
	}
	err := s.put(ctx, it, e, cond)
	if err == nil {
		return nil
	}
	// The reference is ours to remove unless the existing session is of
	// the same user (then it is that session's reference too).
	cur, gerr := s.get(ctx, sessionKey(ss.ID))
	if gerr != nil || cur == nil || getStr(cur, "uid") != ss.UserID {
		_, _ = s.del(context.WithoutCancel(ctx), sessionRefKey(ss.UserID, ss.ID), nil, "")
	}
	if err == errCondition {
		return conflict(op, "session already exists")
	}
	return fail(op, err)
}

// SessionByID fails with KindNotFound when there is no live session.
func (s *Store) SessionByID(ctx context.Context, id string) (*librechat.Session, error) {
	const op = "dynamo.SessionByID"
	if id == "" || checkKey(op, sessionKey(id)) != nil {
		return nil, notFound(op, "session not found")
	}
	it, err := s.get(ctx, sessionKey(id))
	if err != nil {
		return nil, fail(op, err)
	}
	if s.liveItem(it) == nil {
		return nil, notFound(op, "session not found")
	}
	return decodeSession(it), nil
}

// RotateSession is one conditional update: it applies only while the
// stored current hash equals expect.
func (s *Store) RotateSession(ctx context.Context, id, expect, next string, at time.Time) error {
	const op = "dynamo.RotateSession"
	if id == "" || checkKey(op, sessionKey(id)) != nil {
		return notFound(op, "session not found")
	}
	e := newExpr()
	cond := e.live(s.now()) + " AND " + e.eq("current", sv(expect))
	if expect == "" {
		cond = e.live(s.now()) + " AND attribute_not_exists(" + e.n("current") + ")"
	}
	var err error
	if next != "" && expect != "" && !at.IsZero() {
		// The condition pins the current hash to expect, so expect is
		// what becomes the previous one.
		upd := "SET " + e.n("current") + " = " + e.v(sv(next)) + ", " + e.n("previous") + " = " + e.v(sv(expect)) +
			", " + e.n("rotatedAt") + " = " + e.v(nv(at.UnixMilli()))
		_, err = s.update(ctx, sessionKey(id), e, upd, cond, types.ReturnValueNone)
	} else {
		// Clearing an attribute: rewrite the item under the same condition.
		var cur item
		if cur, err = s.get(ctx, sessionKey(id)); err != nil {
			return fail(op, err)
		}
		if s.liveItem(cur) == nil {
			return notFound(op, "session not found")
		}
		ss := decodeSession(cur)
		ss.CurrentHash, ss.PreviousHash, ss.RotatedAt = next, expect, at
		it := s.sessionItem(ss)
		delete(it, AttrTTL)
		if v, ok := cur[AttrTTL]; ok {
			it[AttrTTL] = v
		}
		err = s.put(ctx, it, e, cond)
	}
	if err == nil {
		return nil
	}
	if err != errCondition {
		return fail(op, err)
	}
	cur, err := s.get(ctx, sessionKey(id))
	if err != nil {
		return fail(op, err)
	}
	if s.liveItem(cur) == nil {
		return notFound(op, "session not found")
	}
	return conflict(op, "session was rotated by another request")
}

// DeleteSession removes the session, then its reference.
func (s *Store) DeleteSession(ctx context.Context, id string) error {
	const op = "dynamo.DeleteSession"
	if id == "" || checkKey(op, sessionKey(id)) != nil {
		return nil
	}
	old, err := s.del(ctx, sessionKey(id), nil, "")
	if err != nil {
		return fail(op, err)
	}
	if old != nil {
		if _, err := s.del(ctx, sessionRefKey(getStr(old, "uid"), id), nil, ""); err != nil {
			return fail(op, err)
		}
	}
	return nil
}

// DeleteUserSessions follows the references in the user's partition
// (strongly consistent) and removes each session that is still the
// user's, then the reference.
func (s *Store) DeleteUserSessions(ctx context.Context, userID string) error {
	const op = "dynamo.DeleteUserSessions"
	if checkKey(op, sessionRefKey(userID, "x")) != nil {
		return nil
	}
	var ids []string
	err := s.queryPartition(ctx, "U#"+esc(userID), prefixSessionRef, func(it item) bool {
		ids = append(ids, getStr(it, "sid"))
		return true
	})
	if err != nil {
		return fail(op, err)
	}
	for _, id := range ids {
		e := newExpr()
		if _, err := s.del(ctx, sessionKey(id), e, e.eq("uid", sv(userID))); err != nil && err != errCondition {
			return fail(op, err)
		}
		if _, err := s.del(ctx, sessionRefKey(userID, id), nil, ""); err != nil {
			return fail(op, err)
		}
	}
	return nil
}

// ---- roles ----

// RoleByName fails with KindNotFound when there is no such role.
func (s *Store) RoleByName(ctx context.Context, name string) (*librechat.Role, error) {
	const op = "dynamo.RoleByName"
	if name == "" || checkKey(op, roleKey(name)) != nil {
		return nil, notFound(op, "role not found")
	}
	it, err := s.get(ctx, roleKey(name))
	if err != nil {
		return nil, fail(op, err)
	}
	if it == nil {
		return nil, notFound(op, "role not found")
	}
	r := &librechat.Role{ID: getStr(it, "id"), Name: getStr(it, "name"), Description: getStr(it, "description")}
	if p := getStr(it, "permissions"); p != "" {
		if err := json.Unmarshal([]byte(p), &r.Permissions); err != nil {
			return nil, librechat.Wrap(librechat.KindOther, op, err)
		}
	}
	return r, nil
}

// PutRole creates or wholly replaces the role named r.Name.
func (s *Store) PutRole(ctx context.Context, r *librechat.Role) error {
	const op = "dynamo.PutRole"
	if r == nil {
		return invalid(op, "role name is required")
	}
	if err := checkPart(op, "role name", r.Name); err != nil {
		return err
	}
	it := newItem(roleKey(r.Name), "role")
	it["name"] = sv(r.Name)
	setStr(it, "id", r.ID)
	setStr(it, "description", r.Description)
	if r.Permissions != nil {
		b, err := json.Marshal(r.Permissions)
		if err != nil {
			return librechat.Wrap(librechat.KindOther, op, err)
		}
		it["permissions"] = sv(string(b))
	}
	return fail(op, s.put(ctx, it, nil, ""))
}

// ---- tokens ----

// PutToken stores t, replacing any token of the same user and purpose.
func (s *Store) PutToken(ctx context.Context, t *librechat.Token) error {
	const op = "dynamo.PutToken"
	if t == nil {
		return invalid(op, "token user and purpose are required")
	}
	if err := checkPart(op, "token user", t.UserID); err != nil {
		return err
	}
	if err := checkPart(op, "token purpose", t.Purpose); err != nil {
		return err
	}
	it := newItem(tokenKey(t.UserID, t.Purpose), "token")
	it["uid"] = sv(t.UserID)
	it["purpose"] = sv(t.Purpose)
	setStr(it, "hash", t.Hash)
	setTime(it, "expiresAt", t.ExpiresAt)
	setTime(it, "createdAt", t.CreatedAt)
	if !t.ExpiresAt.IsZero() {
		it[AttrTTL] = nv(s.ttlFor(t.ExpiresAt))
	}
	return fail(op, s.put(ctx, it, nil, ""))
}

// TakeToken deletes the token and returns what was deleted, so of several
// concurrent callers exactly one receives it.
func (s *Store) TakeToken(ctx context.Context, userID, purpose string) (*librechat.Token, error) {
	const op = "dynamo.TakeToken"
	if userID == "" || purpose == "" || checkKey(op, tokenKey(userID, purpose)) != nil {
		return nil, notFound(op, "token not found")
	}
	old, err := s.del(ctx, tokenKey(userID, purpose), nil, "")
	if err != nil {
		return nil, fail(op, err)
	}
	if s.liveItem(old) == nil {
		return nil, notFound(op, "token not found")
	}
	return &librechat.Token{
		UserID:    userID,
		Purpose:   purpose,
		Hash:      getStr(old, "hash"),
		ExpiresAt: getTime(old, "expiresAt"),
		CreatedAt: getTime(old, "createdAt"),
	}, nil
}

// ---- settings ----

// Setting fails with KindNotFound when the key is unset.
func (s *Store) Setting(ctx context.Context, k string) ([]byte, error) {
	const op = "dynamo.Setting"
	if k == "" || checkKey(op, settingKey(k)) != nil {
		return nil, notFound(op, "setting not found")
	}
	it, err := s.get(ctx, settingKey(k))
	if err != nil {
		return nil, fail(op, err)
	}
	if it == nil {
		return nil, notFound(op, "setting not found")
	}
	v := getBin(it, "value")
	if v == nil {
		v = []byte{}
	}
	return v, nil
}

func settingItem(k string, value []byte) item {
	it := newItem(settingKey(k), "setting")
	it["key"] = sv(k)
	setBin(it, "value", value)
	return it
}

// PutSetting sets key to value, replacing any previous value.
func (s *Store) PutSetting(ctx context.Context, k string, value []byte) error {
	const op = "dynamo.PutSetting"
	if k == "" {
		return invalid(op, "setting key is required")
	}
	if err := checkKey(op, settingKey(k)); err != nil {
		return err
	}
	return fail(op, s.put(ctx, settingItem(k, value), nil, ""))
}

// PutSettingIfAbsent is a conditional put; the loser reads the winner's
// value, strongly consistent.
func (s *Store) PutSettingIfAbsent(ctx context.Context, k string, value []byte) ([]byte, error) {
	const op = "dynamo.PutSettingIfAbsent"
	if k == "" {
		return nil, invalid(op, "setting key is required")
	}
	if err := checkKey(op, settingKey(k)); err != nil {
		return nil, err
	}
	e := newExpr()
	err := s.put(ctx, settingItem(k, value), e, "attribute_not_exists("+e.n(AttrPK)+")")
	if err == nil {
		return append([]byte{}, value...), nil
	}
	if err != errCondition {
		return nil, fail(op, err)
	}
	v, err := s.Setting(ctx, k)
	if err != nil {
		return nil, withOpErr(err, op)
	}
	return v, nil
}

// withOpErr sets the operation of a *librechat.Error.
func withOpErr(err error, op string) error {
	if le, ok := err.(*librechat.Error); ok {
		c := *le
		c.Op = op
		return &c
	}
	return err
}
