package admin

import (
	"context"
	"net/http"
	"strings"

	"github.com/lcgo/lcgo/shared/httpx"
	"github.com/lcgo/lcgo/shared/librechat"
	"github.com/lcgo/lcgo/shared/wire"
)

// userDoc is an account as the admin API shows it: no password hash, TOTP
// secret or backup codes.
type userDoc struct {
	ID               string    `json:"id"`
	Name             string    `json:"name"`
	Username         string    `json:"username"`
	Email            string    `json:"email"`
	EmailVerified    bool      `json:"emailVerified"`
	Avatar           string    `json:"avatar"`
	Provider         string    `json:"provider"`
	Role             string    `json:"role"`
	TwoFactorEnabled bool      `json:"twoFactorEnabled"`
	TermsAccepted    bool      `json:"termsAccepted"`
	Disabled         bool      `json:"disabled"`
	CreatedAt        string    `json:"createdAt"`
	UpdatedAt        string    `json:"updatedAt"`
	Groups           *[]string `json:"groups,omitempty"` // one user only
}

func userOf(u *librechat.User) *userDoc {
	return &userDoc{
		ID: u.ID, Name: u.Name, Username: u.Username, Email: u.Email, EmailVerified: u.EmailVerified,
		Avatar: u.Avatar, Provider: u.Provider, Role: u.Role, TwoFactorEnabled: u.TwoFactorEnabled,
		TermsAccepted: u.TermsAccepted, Disabled: u.Disabled,
		CreatedAt: wire.Time(u.CreatedAt), UpdatedAt: wire.Time(u.UpdatedAt),
	}
}

func (h *handler) listUsers(w http.ResponseWriter, r *http.Request) {
	after, limit, err := h.page(r, cursorUsers)
	if err != nil {
		fail(w, r, err)
		return
	}
	users, next, err := h.store.ListUsers(r.Context(), librechat.UserQuery{After: after, Limit: limit})
	if err != nil {
		if librechat.KindOf(err) == librechat.KindInvalid {
			err = invalid("Invalid cursor")
		}
		fail(w, r, err)
		return
	}
	out := struct {
		Users      []*userDoc `json:"users"`
		NextCursor *string    `json:"nextCursor"`
	}{Users: make([]*userDoc, 0, len(users)), NextCursor: h.nextCursor(r, cursorUsers, next)}
	for _, u := range users {
		out.Users = append(out.Users, userOf(u))
	}
	httpx.JSON(w, http.StatusOK, out)
}

// user loads an account by a path id.
func (h *handler) user(ctx context.Context, id string) (*librechat.User, error) {
	u, err := h.store.UserByID(ctx, id)
	if librechat.IsNotFound(err) {
		return nil, notFound("User")
	}
	return u, err
}

func (h *handler) getUser(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id", "user")
	if err != nil {
		fail(w, r, err)
		return
	}
	u, err := h.user(r.Context(), id)
	if err != nil {
		fail(w, r, err)
		return
	}
	groups, err := h.store.GroupsOf(r.Context(), u.ID)
	if err != nil {
		fail(w, r, err)
		return
	}
	if groups == nil {
		groups = []string{}
	}
	doc := userOf(u)
	doc.Groups = &groups
	httpx.JSON(w, http.StatusOK, doc)
}

type patchUserBody struct {
	Role     *string `json:"role"`
	Disabled *bool   `json:"disabled"`
}

// access is the part of an account the admin API changes.
type access struct {
	Role     string `json:"role,omitempty"`
	Disabled *bool  `json:"disabled,omitempty"`
}

func (h *handler) patchUser(w http.ResponseWriter, r *http.Request) {
	if err := h.patchUserErr(w, r); err != nil {
		fail(w, r, err)
	}
}

func (h *handler) patchUserErr(w http.ResponseWriter, r *http.Request) error {
	me := actor(r)
	id, err := pathID(r, "id", "user")
	if err != nil {
		return err
	}
	var body patchUserBody
	if err := decode(r, &body, "role", "disabled"); err != nil {
		return err
	}
	if body.Role == nil && body.Disabled == nil {
		return invalid("Nothing to change: give role or disabled")
	}
	ctx := r.Context()
	var role string
	if body.Role != nil {
		if role, err = h.checkRole(ctx, *body.Role); err != nil {
			return err
		}
	}
	u, err := h.user(ctx, id)
	if err != nil {
		return err
	}
	newRole, newDisabled := u.Role, u.Disabled
	if body.Role != nil {
		newRole = role
	}
	if body.Disabled != nil {
		newDisabled = *body.Disabled
	}
	roleChanged, disabledChanged := newRole != u.Role, newDisabled != u.Disabled
	wasAdmin := activeAdmin(u)
	losesAdmin := wasAdmin && (!isAdmin(newRole) || newDisabled)
	if u.ID == me.ID {
		if roleChanged && isAdmin(u.Role) && !isAdmin(newRole) {
			return invalid("You cannot remove your own admin role")
		}
		if disabledChanged && newDisabled {
			return invalid("You cannot disable your own account")
		}
	}
	if !roleChanged && !disabledChanged {
		httpx.JSON(w, http.StatusOK, userOf(u))
		return nil
	}
	if losesAdmin {
		n, err := h.countAdmins(ctx, u.ID, 1)
		if err != nil {
			return err
		}
		if n == 0 {
			return errLastAdmin
		}
	}

	c := h.begin(r)
	before := *u
	u.Role, u.Disabled, u.UpdatedAt = newRole, newDisabled, h.now()
	// Only the access fields: a request that read the user earlier and
	// saves it with UpdateUser cannot write the old ones back.
	if err := h.store.SetUserAccess(c.ctx, u.ID, u.Role, u.Disabled, u.UpdatedAt); err != nil {
		if librechat.IsNotFound(err) {
			return notFound("User")
		}
		return err
	}
	c.onFail(func(ctx context.Context) error {
		return h.store.SetUserAccess(ctx, before.ID, before.Role, before.Disabled, before.UpdatedAt)
	})
	if losesAdmin {
		// Two admins demoting each other at once: both passed the check
		// above, so count again now that this change is stored.
		n, err := h.countAdmins(c.ctx, "", 1)
		if err != nil {
			return c.abort(err)
		}
		if n == 0 {
			return c.abort(errLastAdmin)
		}
	}

	var b, a access
	if roleChanged {
		b.Role, a.Role = before.Role, newRole
	}
	if disabledChanged {
		b.Disabled, a.Disabled = &before.Disabled, &newDisabled
	}
	action := "user.update"
	switch {
	case roleChanged && !disabledChanged:
		action = "user.role"
	case disabledChanged && !roleChanged && newDisabled:
		action = "user.disable"
	case disabledChanged && !roleChanged:
		action = "user.enable"
	}
	if err := c.commit(me.ID, action, u.ID, beforeAfter{Before: b, After: a}); err != nil {
		return err
	}
	if disabledChanged && newDisabled {
		// After the audit entry, so that a failed request has ended no
		// session. Should this fail, the sessions are dead anyway: refresh
		// refuses a disabled account and deletes the session it presented.
		if err := h.store.DeleteUserSessions(c.ctx, u.ID); err != nil && h.app.Log != nil {
			h.app.Log.WarnContext(c.ctx, "admin: ending a disabled user's sessions failed", "err", err, "user", u.ID)
		}
	}
	httpx.JSON(w, http.StatusOK, userOf(u))
	return nil
}

var errLastAdmin = librechat.E(librechat.KindConflict, "The last admin cannot be demoted or disabled")

// checkRole accepts ADMIN, USER (in any case) or the name of a stored role.
func (h *handler) checkRole(ctx context.Context, role string) (string, error) {
	if role == "" {
		return "", invalid("role must not be empty")
	}
	if len(role) > maxRoleLen {
		return "", invalid("role is longer than %d characters", maxRoleLen)
	}
	switch up := strings.ToUpper(role); up {
	case librechat.RoleAdmin, librechat.RoleUser:
		return up, nil
	}
	for i := 0; i < len(role); i++ {
		c := role[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return "", invalid("Unknown role %q", role)
		}
	}
	if _, err := h.store.RoleByName(ctx, role); err != nil {
		if librechat.IsNotFound(err) {
			return "", invalid("Unknown role %q", role)
		}
		return "", err
	}
	return role, nil
}

// countAdmins counts enabled admins other than except, stopping once it
// has found enough.
func (h *handler) countAdmins(ctx context.Context, except string, enough int) (int, error) {
	n := 0
	q := librechat.UserQuery{Limit: maxPageSize}
	for {
		users, next, err := h.store.ListUsers(ctx, q)
		if err != nil {
			return 0, err
		}
		for _, u := range users {
			if u.ID != except && activeAdmin(u) {
				n++
				if n >= enough {
					return n, nil
				}
			}
		}
		if next == nil || len(users) == 0 {
			return n, nil
		}
		q.After = next
	}
}
