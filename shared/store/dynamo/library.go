package dynamo

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/lcgo/lcgo/shared/librechat"
)

// pageLimit is limit, or defaultPageSize when limit <= 0.
func pageLimit(limit int) int {
	if limit <= 0 {
		return defaultPageSize
	}
	return limit
}

// timeCursor is the cursor key of a time: RFC 3339 with nanoseconds, UTC.
func timeCursor(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// checkCursor rejects a cursor whose parts cannot be key material.
func checkCursor(op string, c *librechat.Cursor) error {
	if c != nil && (len(c.ID) > maxName || !utf8.ValidString(c.ID) || !utf8.ValidString(c.Key)) {
		return invalid(op, "cursor is malformed")
	}
	return nil
}

// tooLarge is the error of an item over the size DynamoDB allows.
func tooLarge(op, what string) error {
	return withOp(librechat.E(librechat.KindTooLarge, "%s is too large", what), op)
}

// setBody stores text and encoded fields inline, or deflated in z when
// together they exceed inlineBody.
func setBody(it item, text, fields string) error {
	if len(text)+len(fields) <= inlineBody {
		setStr(it, "text", text)
		setStr(it, "fields", fields)
		return nil
	}
	raw, err := json.Marshal(msgBody{Text: text, Fields: fields})
	if err != nil {
		return err
	}
	it["z"] = bv(deflate(raw))
	return nil
}

// getBody reads what setBody stored.
func getBody(it item) (text, fields string, err error) {
	body := msgBody{Text: getStr(it, "text"), Fields: getStr(it, "fields")}
	if z := getBin(it, "z"); z != nil {
		raw, err := inflate(z)
		if err != nil {
			return "", "", err
		}
		if err := json.Unmarshal(raw, &body); err != nil {
			return "", "", err
		}
	}
	return body.Text, body.Fields, nil
}

// ---- files ----

// fileItem is the stored file record: global by id, owner checked, and
// listed newest first on Index2 in the owner's partition.
func fileItem(f *librechat.File) (item, error) {
	fields, err := encodeFields(f.Fields)
	if err != nil {
		return nil, err
	}
	it := newItem(fileKey(f.ID), "file")
	it["id"] = sv(f.ID)
	it["uid"] = sv(f.UserID)
	setStr(it, "objectId", f.ObjectID)
	setStr(it, "tempFileId", f.TempFileID)
	setStr(it, "filename", f.Filename)
	setStr(it, "filepath", f.Filepath)
	setStr(it, "storageKey", f.StorageKey)
	setStr(it, "source", f.Source)
	setStr(it, "mime", f.Type)
	setNum(it, "bytes", f.Bytes)
	setNum(it, "width", int64(f.Width))
	setNum(it, "height", int64(f.Height))
	setStr(it, "context", f.Context)
	setStr(it, "cid", f.ConversationID)
	setFlag(it, "embedded", f.Embedded)
	if err := setBody(it, f.Text, fields); err != nil {
		return nil, err
	}
	setTime(it, "createdAt", f.CreatedAt)
	setTime(it, "updatedAt", f.UpdatedAt)
	it[AttrGPK] = sv(fileListPK(f.UserID))
	it[AttrGS2] = sv(sortKeyTime(f.CreatedAt, f.ID))
	return it, nil
}

func decodeFile(it item) (*librechat.File, error) {
	f := &librechat.File{
		ID:             getStr(it, "id"),
		ObjectID:       getStr(it, "objectId"),
		UserID:         getStr(it, "uid"),
		TempFileID:     getStr(it, "tempFileId"),
		Filename:       getStr(it, "filename"),
		Filepath:       getStr(it, "filepath"),
		StorageKey:     getStr(it, "storageKey"),
		Source:         getStr(it, "source"),
		Type:           getStr(it, "mime"),
		Bytes:          getNum(it, "bytes"),
		Width:          int(getNum(it, "width")),
		Height:         int(getNum(it, "height")),
		Context:        getStr(it, "context"),
		ConversationID: getStr(it, "cid"),
		Embedded:       getFlag(it, "embedded"),
		CreatedAt:      getTime(it, "createdAt"),
		UpdatedAt:      getTime(it, "updatedAt"),
	}
	text, fields, err := getBody(it)
	if err != nil {
		return nil, err
	}
	f.Text = text
	if f.Fields, err = decodeFields(fields); err != nil {
		return nil, err
	}
	return f, nil
}

// PutFile creates or replaces (f.UserID, f.ID) with one PutItem that
// applies only over an absent item or one of the same user.
func (s *Store) PutFile(ctx context.Context, f *librechat.File) error {
	const op = "dynamo.PutFile"
	if f == nil || f.ID == "" || f.UserID == "" {
		return invalid(op, "file id and user are required")
	}
	if err := checkPart(op, "file id", f.ID); err != nil {
		return err
	}
	if err := checkPart(op, "user id", f.UserID); err != nil {
		return err
	}
	it, err := fileItem(f)
	if err != nil {
		return encodeError(op, "a file field", err)
	}
	if itemSize(it) > maxItemBytes {
		return tooLarge(op, "the file record")
	}
	e, cond := s.ownerCond(f.UserID)
	if err := s.put(ctx, it, e, cond); err == errCondition {
		return conflict(op, "file id is taken")
	} else if err != nil {
		return fail(op, err)
	}
	return nil
}

// File fails with KindNotFound when the user has no file with that id.
func (s *Store) File(ctx context.Context, userID, id string) (*librechat.File, error) {
	const op = "dynamo.File"
	if id == "" || checkKey(op, fileKey(id)) != nil {
		return nil, notFound(op, "file not found")
	}
	it, err := s.get(ctx, fileKey(id))
	if err != nil {
		return nil, fail(op, err)
	}
	if it == nil || getStr(it, "uid") != userID {
		return nil, notFound(op, "file not found")
	}
	f, err := decodeFile(it)
	if err != nil {
		return nil, librechat.Wrap(librechat.KindOther, op, err)
	}
	return f, nil
}

// Files reads the user's partition of Index2 backwards: newest first,
// then by id descending.
func (s *Store) Files(ctx context.Context, userID string) ([]*librechat.File, error) {
	const op = "dynamo.Files"
	if checkKey(op, key{fileListPK(userID), "x"}) != nil {
		return nil, nil
	}
	e := newExpr()
	items, err := s.collect(ctx, &dynamodb.QueryInput{
		TableName:                 &s.table,
		IndexName:                 aws.String(Index2),
		KeyConditionExpression:    aws.String(e.eq(AttrGPK, sv(fileListPK(userID)))),
		ExpressionAttributeNames:  e.nameMap(),
		ExpressionAttributeValues: e.valueMap(),
		ScanIndexForward:          aws.Bool(false),
	}, 0, func(it item) bool { return getStr(it, "uid") == userID })
	if err != nil {
		return nil, fail(op, err)
	}
	out := make([]*librechat.File, 0, len(items))
	for _, it := range items {
		f, err := decodeFile(it)
		if err != nil {
			return nil, librechat.Wrap(librechat.KindOther, op, err)
		}
		out = append(out, f)
	}
	return out, nil
}

// DeleteFile is a DeleteItem conditional on the owner; KindNotFound when
// the user has no such file.
func (s *Store) DeleteFile(ctx context.Context, userID, id string) error {
	const op = "dynamo.DeleteFile"
	if id == "" || checkKey(op, fileKey(id)) != nil {
		return notFound(op, "file not found")
	}
	e := newExpr()
	if _, err := s.del(ctx, fileKey(id), e, e.eq("uid", sv(userID))); err == errCondition {
		return notFound(op, "file not found")
	} else if err != nil {
		return fail(op, err)
	}
	return nil
}

// ---- presets ----

// presetItem is a preset in its user's partition. Whether it is the
// default is not stored with it: the user's default pointer names it.
func presetItem(p *librechat.Preset) (item, error) {
	fields, err := encodeFields(p.Fields)
	if err != nil {
		return nil, err
	}
	it := newItem(presetKey(p.UserID, p.ID), "preset")
	it["id"] = sv(p.ID)
	it["uid"] = sv(p.UserID)
	setStr(it, "objectId", p.ObjectID)
	setStr(it, "title", p.Title)
	setStr(it, "endpoint", p.Endpoint)
	setNum(it, "order", int64(p.Order))
	setStr(it, "fields", fields)
	setTime(it, "createdAt", p.CreatedAt)
	setTime(it, "updatedAt", p.UpdatedAt)
	return it, nil
}

func decodePreset(it item) (*librechat.Preset, error) {
	p := &librechat.Preset{
		ID:        getStr(it, "id"),
		ObjectID:  getStr(it, "objectId"),
		UserID:    getStr(it, "uid"),
		Title:     getStr(it, "title"),
		Endpoint:  getStr(it, "endpoint"),
		Order:     int(getNum(it, "order")),
		CreatedAt: getTime(it, "createdAt"),
		UpdatedAt: getTime(it, "updatedAt"),
	}
	var err error
	if p.Fields, err = decodeFields(getStr(it, "fields")); err != nil {
		return nil, err
	}
	return p, nil
}

// presetClaim reserves a preset id for its user: preset ids are global.
func presetClaim(uid, id string) item {
	it := newItem(presetClaimKey(id), "presetclaim")
	it["uid"] = sv(uid)
	return it
}

// defaultPointer names the user's default preset. One item per user holds
// the default, so there is never more than one, whatever writes race.
func defaultPointer(uid, id string) item {
	it := newItem(defaultPresetKey(uid), "presetdefault")
	it["pid"] = sv(id)
	return it
}

// ownedCond lets a write replace an absent item or one of uid.
func ownedCond(uid string) (*expr, string) {
	e := newExpr()
	return e, "attribute_not_exists(" + e.n(AttrPK) + ") OR " + e.eq("uid", sv(uid))
}

// Presets reads the user's presets and default pointer with one strongly
// consistent Query of the user's partition and orders them by Order, then
// UpdatedAt descending, then id.
func (s *Store) Presets(ctx context.Context, userID string) ([]*librechat.Preset, error) {
	const op = "dynamo.Presets"
	if checkKey(op, presetKey(userID, "x")) != nil {
		return nil, nil
	}
	var (
		out  []*librechat.Preset
		def  string
		derr error
	)
	err := s.queryPartition(ctx, "U#"+esc(userID), prefixPresets, func(it item) bool {
		switch getStr(it, "type") {
		case "preset":
			p, err := decodePreset(it)
			if err != nil {
				derr = err
				return false
			}
			out = append(out, p)
		case "presetdefault":
			def = getStr(it, "pid")
		}
		return true
	})
	if err == nil {
		err = derr
	}
	if err != nil {
		return nil, fail(op, err)
	}
	for _, p := range out {
		p.IsDefault = def != "" && p.ID == def
	}
	slices.SortFunc(out, func(a, b *librechat.Preset) int {
		if a.Order != b.Order {
			return cmpInt64(int64(a.Order), int64(b.Order))
		}
		if c := cmpInt64(b.UpdatedAt.UnixMilli(), a.UpdatedAt.UnixMilli()); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out, nil
}

// PutPreset claims the id for the user (KindConflict when it is another
// user's), writes the preset and moves the default pointer to it when
// p.IsDefault, or clears the pointer if it named it: in one transaction,
// or in that order.
func (s *Store) PutPreset(ctx context.Context, p *librechat.Preset) error {
	const op = "dynamo.PutPreset"
	if p == nil || p.ID == "" || p.UserID == "" {
		return invalid(op, "preset id and user are required")
	}
	if err := checkPart(op, "preset id", p.ID); err != nil {
		return err
	}
	if err := checkPart(op, "user id", p.UserID); err != nil {
		return err
	}
	it, err := presetItem(p)
	if err != nil {
		return encodeError(op, "a preset field", err)
	}
	if itemSize(it) > maxItemBytes {
		return tooLarge(op, "the preset")
	}
	claim := presetClaim(p.UserID, p.ID)
	if !s.tx {
		return s.putPresetInOrder(ctx, op, p, it, claim)
	}
	for attempt := 0; attempt < attempts; attempt++ {
		ptr, err := s.get(ctx, defaultPresetKey(p.UserID))
		if err != nil {
			return fail(op, err)
		}
		ce, ccond := ownedCond(p.UserID)
		items := []types.TransactWriteItem{txPut(s.table, claim, ce, ccond), txPut(s.table, it, nil, "")}
		switch {
		case p.IsDefault:
			items = append(items, txPut(s.table, defaultPointer(p.UserID, p.ID), nil, ""))
		case getStr(ptr, "pid") == p.ID:
			de := newExpr()
			items = append(items, txDelete(s.table, defaultPresetKey(p.UserID), de, de.eq("pid", sv(p.ID))))
		}
		err = s.transact(ctx, items)
		if cerr, ok := err.(*canceledError); ok {
			if cerr.failedAt(0) {
				return conflict(op, "preset id is taken")
			}
			continue
		}
		return fail(op, err)
	}
	return busy(op)
}

func (s *Store) putPresetInOrder(ctx context.Context, op string, p *librechat.Preset, it, claim item) error {
	ce, ccond := ownedCond(p.UserID)
	old, err := s.putOld(ctx, claim, ce, ccond)
	if err == errCondition {
		return conflict(op, "preset id is taken")
	}
	if err != nil {
		return fail(op, err)
	}
	if err := s.put(ctx, it, nil, ""); err != nil {
		if old == nil {
			e := newExpr()
			_, _ = s.del(context.WithoutCancel(ctx), presetClaimKey(p.ID), e, e.eq("uid", sv(p.UserID)))
		}
		return fail(op, err)
	}
	if p.IsDefault {
		return fail(op, s.put(ctx, defaultPointer(p.UserID, p.ID), nil, ""))
	}
	de := newExpr()
	if _, err := s.del(ctx, defaultPresetKey(p.UserID), de, de.eq("pid", sv(p.ID))); err != nil && err != errCondition {
		return fail(op, err)
	}
	return nil
}

// DeletePreset removes the preset, its id claim and the default pointer
// if it names it; KindNotFound when the user has no such preset.
func (s *Store) DeletePreset(ctx context.Context, userID, id string) error {
	const op = "dynamo.DeletePreset"
	if userID == "" || id == "" || checkKey(op, presetKey(userID, id)) != nil {
		return notFound(op, "preset not found")
	}
	for attempt := 0; attempt < attempts; attempt++ {
		pe := newExpr()
		pcond := "attribute_exists(" + pe.n(AttrPK) + ")"
		ce, ccond := ownedCond(userID)
		de := newExpr()
		dcond := de.eq("pid", sv(id))
		if !s.tx {
			if _, err := s.del(ctx, presetKey(userID, id), pe, pcond); err == errCondition {
				return notFound(op, "preset not found")
			} else if err != nil {
				return fail(op, err)
			}
			if _, err := s.del(ctx, presetClaimKey(id), ce, ccond); err != nil && err != errCondition {
				return fail(op, err)
			}
			if _, err := s.del(ctx, defaultPresetKey(userID), de, dcond); err != nil && err != errCondition {
				return fail(op, err)
			}
			return nil
		}
		ptr, err := s.get(ctx, defaultPresetKey(userID))
		if err != nil {
			return fail(op, err)
		}
		items := []types.TransactWriteItem{
			txDelete(s.table, presetKey(userID, id), pe, pcond),
			txDelete(s.table, presetClaimKey(id), ce, ccond),
		}
		if getStr(ptr, "pid") == id {
			items = append(items, txDelete(s.table, defaultPresetKey(userID), de, dcond))
		}
		err = s.transact(ctx, items)
		if cerr, ok := err.(*canceledError); ok {
			if cerr.failedAt(0) {
				return notFound(op, "preset not found")
			}
			continue
		}
		return fail(op, err)
	}
	return busy(op)
}

// DeletePresets reads the user's presets (strongly consistent), deletes
// them, then their id claims and the default pointer, and reports how
// many presets went.
func (s *Store) DeletePresets(ctx context.Context, userID string) (int, error) {
	const op = "dynamo.DeletePresets"
	if checkKey(op, presetKey(userID, "x")) != nil {
		return 0, nil
	}
	var (
		keys []key
		ids  []string
	)
	err := s.queryPartition(ctx, "U#"+esc(userID), prefixPresets, func(it item) bool {
		switch getStr(it, "type") {
		case "preset":
			ids = append(ids, getStr(it, "id"))
			keys = append(keys, presetKey(userID, getStr(it, "id")))
		case "presetdefault":
			keys = append(keys, defaultPresetKey(userID))
		}
		return true
	})
	if err != nil {
		return 0, fail(op, err)
	}
	if err := s.batchDelete(ctx, keys); err != nil {
		return 0, fail(op, err)
	}
	for _, id := range ids {
		ce, ccond := ownedCond(userID)
		if _, err := s.del(ctx, presetClaimKey(id), ce, ccond); err != nil && err != errCondition {
			return len(ids), fail(op, err)
		}
	}
	return len(ids), nil
}

// ---- shared links ----

// shareItem is the stored link: global by share id (the public view
// reads it alone) and listed on the three list indexes in its user's
// partition, like conversations.
func shareItem(sl *librechat.SharedLink, ver string) item {
	it := newItem(shareKey(sl.ShareID), "share")
	it["id"] = sv(sl.ShareID)
	it["uid"] = sv(sl.UserID)
	it["cid"] = sv(sl.ConversationID)
	it["ver"] = sv(ver)
	setStr(it, "objectId", sl.ObjectID)
	setStr(it, "title", sl.Title)
	setFlag(it, "public", sl.IsPublic)
	setList(it, "messageIds", sl.MessageIDs)
	setStr(it, "target", sl.TargetMessageID)
	setTime(it, "createdAt", sl.CreatedAt)
	setTime(it, "updatedAt", sl.UpdatedAt)
	it[AttrGPK] = sv(shareListPK(sl.UserID))
	it[AttrGS1] = sv(sortKeyTime(sl.UpdatedAt, sl.ShareID))
	it[AttrGS2] = sv(sortKeyTime(sl.CreatedAt, sl.ShareID))
	it[AttrGS3] = sv(sortKeyTitle(sl.Title, sl.ShareID))
	return it
}

func decodeShare(it item) *librechat.SharedLink {
	return &librechat.SharedLink{
		ShareID:         getStr(it, "id"),
		ObjectID:        getStr(it, "objectId"),
		UserID:          getStr(it, "uid"),
		ConversationID:  getStr(it, "cid"),
		Title:           getStr(it, "title"),
		IsPublic:        getFlag(it, "public"),
		MessageIDs:      getList(it, "messageIds"),
		TargetMessageID: getStr(it, "target"),
		CreatedAt:       getTime(it, "createdAt"),
		UpdatedAt:       getTime(it, "updatedAt"),
	}
}

// shareConfirms reports whether the link other is the user's link for
// the conversation, so that its claim on (user, conversation) counts.
func (s *Store) shareConfirms(ctx context.Context, uid, cid string) func(other string) (bool, error) {
	return func(other string) (bool, error) {
		if checkKey("", shareKey(other)) != nil {
			return false, nil
		}
		it, err := s.get(ctx, shareKey(other))
		if err != nil {
			return false, err
		}
		return it != nil && getStr(it, "uid") == uid && getStr(it, "cid") == cid, nil
	}
}

// PutShare creates or replaces the link s.ShareID. The user's claim
// U#<uid>/SH#<cid> names the one link of a conversation: it is written
// with the link (conditional, like an email claim), and a link that moves
// to another conversation releases its old claim. The link itself is
// written conditional on its generation. In one transaction, or claim,
// link and old claim in that order.
func (s *Store) PutShare(ctx context.Context, sl *librechat.SharedLink) error {
	const op = "dynamo.PutShare"
	if sl == nil || sl.ShareID == "" || sl.UserID == "" || sl.ConversationID == "" {
		return invalid(op, "share id, user and conversation are required")
	}
	for _, p := range [][2]string{{"share id", sl.ShareID}, {"user id", sl.UserID}, {"conversation id", sl.ConversationID}} {
		if err := checkPart(op, p[0], p[1]); err != nil {
			return err
		}
	}
	if err := checkKey(op, shareClaimKey(sl.UserID, sl.ConversationID)); err != nil {
		return err
	}
	for attempt := 0; attempt < attempts; attempt++ {
		cur, err := s.get(ctx, shareKey(sl.ShareID))
		if err != nil {
			return fail(op, err)
		}
		if cur != nil && getStr(cur, "uid") != sl.UserID {
			return conflict(op, "share id is taken")
		}
		ce, ccond, prior, err := s.hold(ctx, shareClaimKey(sl.UserID, sl.ConversationID), sl.ShareID,
			s.shareConfirms(ctx, sl.UserID, sl.ConversationID))
		if err == errHeld {
			return conflict(op, "the conversation already has a shared link")
		}
		if err != nil {
			return fail(op, err)
		}
		claim := s.holdItem(shareClaimKey(sl.UserID, sl.ConversationID), "shareclaim", sl.ShareID)
		it := shareItem(sl, newGen())
		if itemSize(it) > maxItemBytes {
			return tooLarge(op, "the shared link")
		}
		se := newExpr()
		var scond string
		if cur != nil {
			scond = se.eq("ver", cur["ver"])
		} else {
			scond = "attribute_not_exists(" + se.n(AttrPK) + ")"
		}
		oldCID := getStr(cur, "cid")
		moved := cur != nil && oldCID != sl.ConversationID
		if s.tx {
			items := []types.TransactWriteItem{txPut(s.table, claim, ce, ccond), txPut(s.table, it, se, scond)}
			if moved {
				oe, ocond := unholdCond(sl.ShareID)
				items = append(items, txDelete(s.table, shareClaimKey(sl.UserID, oldCID), oe, ocond))
			}
			err := s.transact(ctx, items)
			if _, ok := err.(*canceledError); ok {
				continue
			}
			return fail(op, err)
		}
		if err := s.put(ctx, claim, ce, ccond); err == errCondition {
			continue
		} else if err != nil {
			return fail(op, err)
		}
		if err := s.put(ctx, it, se, scond); err != nil {
			s.release(ctx, claim, prior)
			if err == errCondition {
				continue
			}
			return fail(op, err)
		}
		if moved {
			oe, ocond := unholdCond(sl.ShareID)
			if _, err := s.del(ctx, shareClaimKey(sl.UserID, oldCID), oe, ocond); err != nil && err != errCondition {
				return fail(op, err)
			}
		}
		return nil
	}
	return busy(op)
}

// Share reads a link by its id alone, public or not.
func (s *Store) Share(ctx context.Context, shareID string) (*librechat.SharedLink, error) {
	const op = "dynamo.Share"
	if shareID == "" || checkKey(op, shareKey(shareID)) != nil {
		return nil, notFound(op, "shared link not found")
	}
	it, err := s.get(ctx, shareKey(shareID))
	if err != nil {
		return nil, fail(op, err)
	}
	if it == nil {
		return nil, notFound(op, "shared link not found")
	}
	return decodeShare(it), nil
}

// ShareOf follows the user's claim on the conversation to its link and
// checks that the link still is the user's for that conversation.
func (s *Store) ShareOf(ctx context.Context, userID, conversationID string) (*librechat.SharedLink, error) {
	const op = "dynamo.ShareOf"
	if userID == "" || conversationID == "" || checkKey(op, shareClaimKey(userID, conversationID)) != nil {
		return nil, notFound(op, "shared link not found")
	}
	claim, err := s.get(ctx, shareClaimKey(userID, conversationID))
	if err != nil {
		return nil, fail(op, err)
	}
	sid := getStr(claim, "holder")
	if claim == nil || sid == "" || checkKey(op, shareKey(sid)) != nil {
		return nil, notFound(op, "shared link not found")
	}
	it, err := s.get(ctx, shareKey(sid))
	if err != nil {
		return nil, fail(op, err)
	}
	if it == nil || getStr(it, "uid") != userID || getStr(it, "cid") != conversationID {
		return nil, notFound(op, "shared link not found")
	}
	return decodeShare(it), nil
}

// shareOrders are the ShareQuery orders: the conversation list orders
// with the link's cursor key.
var shareOrders = map[string]struct {
	order listOrder
	key   func(*librechat.SharedLink) string
}{
	librechat.SortCreatedAt: {listOrders[librechat.SortCreatedAt], func(sl *librechat.SharedLink) string { return timeCursor(sl.CreatedAt) }},
	librechat.SortUpdatedAt: {listOrders[librechat.SortUpdatedAt], func(sl *librechat.SharedLink) string { return timeCursor(sl.UpdatedAt) }},
	librechat.SortTitle:     {listOrders[librechat.SortTitle], func(sl *librechat.SharedLink) string { return sl.Title }},
}

// Shares returns one page of the user's links from a list index, like
// ListConversations: the partition comes from the user id, the cursor
// only positions the range inside it; a search filters titles in the
// adapter (Unicode lower case substring).
func (s *Store) Shares(ctx context.Context, userID string, q librechat.ShareQuery) ([]*librechat.SharedLink, *librechat.Cursor, error) {
	const op = "dynamo.Shares"
	sortBy := q.SortBy
	if sortBy == "" {
		sortBy = librechat.SortCreatedAt
	}
	so, ok := shareOrders[sortBy]
	if !ok {
		return nil, nil, invalid(op, "unknown sort order "+sortBy)
	}
	limit := pageLimit(q.Limit)
	if err := checkCursor(op, q.After); err != nil {
		return nil, nil, err
	}
	bound := ""
	if q.After != nil {
		var err error
		if bound, err = so.order.bound(q.After); err != nil {
			return nil, nil, invalid(op, err.Error())
		}
	}
	if checkKey(op, key{shareListPK(userID), "x"}) != nil {
		return nil, nil, nil
	}
	needle := strings.ToLower(q.Search)
	page := min(limit+1, 500)
	if needle != "" {
		page = 500
	}
	items, err := s.collect(ctx, listQuery(s.table, shareListPK(userID), so.order, bound, q.Asc, page), limit+1, func(it item) bool {
		return getStr(it, "uid") == userID && (needle == "" || strings.Contains(strings.ToLower(getStr(it, "title")), needle))
	})
	if err != nil {
		return nil, nil, fail(op, err)
	}
	out := make([]*librechat.SharedLink, 0, len(items))
	for _, it := range items {
		out = append(out, decodeShare(it))
	}
	if len(out) <= limit {
		return out, nil, nil
	}
	out = out[:limit]
	last := out[limit-1]
	return out, &librechat.Cursor{Key: so.key(last), ID: last.ShareID}, nil
}

// DeleteShare deletes the link (conditional on its owner and generation)
// and the user's claim on its conversation: in one transaction, or in
// that order. KindNotFound when the user has no such link.
func (s *Store) DeleteShare(ctx context.Context, userID, shareID string) error {
	const op = "dynamo.DeleteShare"
	if userID == "" || shareID == "" || checkKey(op, shareKey(shareID)) != nil {
		return notFound(op, "shared link not found")
	}
	for attempt := 0; attempt < attempts; attempt++ {
		cur, err := s.get(ctx, shareKey(shareID))
		if err != nil {
			return fail(op, err)
		}
		if cur == nil || getStr(cur, "uid") != userID {
			return notFound(op, "shared link not found")
		}
		se := newExpr()
		scond := se.eq("uid", sv(userID)) + " AND " + se.eq("ver", cur["ver"])
		ck := shareClaimKey(userID, getStr(cur, "cid"))
		ce, ccond := unholdCond(shareID)
		if s.tx {
			err := s.transact(ctx, []types.TransactWriteItem{txDelete(s.table, shareKey(shareID), se, scond), txDelete(s.table, ck, ce, ccond)})
			if _, ok := err.(*canceledError); ok {
				continue
			}
			return fail(op, err)
		}
		if _, err := s.del(ctx, shareKey(shareID), se, scond); err == errCondition {
			continue
		} else if err != nil {
			return fail(op, err)
		}
		if _, err := s.del(ctx, ck, ce, ccond); err != nil && err != errCondition {
			return fail(op, err)
		}
		return nil
	}
	return busy(op)
}
