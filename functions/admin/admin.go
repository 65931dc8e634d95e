// Package admin is the admin API: accounts, groups and their members, model
// configurations at every scope, and the audit log of every change made
// through it. Every route is under /api/admin/ and requires the ADMIN role:
// no or a bad token answers 401 {"message": ...}, any other role 403
// {"message":"Forbidden"}.
//
// # Routes
//
// Users (never with password hash, TOTP secret or backup codes):
//
//	GET    /api/admin/users?cursor=&limit=        {"users":[User],"nextCursor":string|null}
//	GET    /api/admin/users/{id}                  User, with "groups": [group id]
//	PATCH  /api/admin/users/{id}                  {"role"?: "ADMIN"|"USER"|role name, "disabled"?: bool} → User
//
// Disabling a user ends every session (refresh tokens stop working at once);
// the auth middleware refuses a disabled user's access tokens on the next
// request, and login answers 403. A role change takes effect on the user's
// next request. An admin cannot demote or disable themselves (400); the last
// enabled admin cannot be demoted or disabled (409).
//
// Groups:
//
//	GET    /api/admin/groups                      {"groups":[Group]}
//	POST   /api/admin/groups                      {"name", "description"?} → 201 Group
//	GET    /api/admin/groups/{id}                 Group
//	PATCH  /api/admin/groups/{id}                 {"name"?, "description"?} → Group
//	DELETE /api/admin/groups/{id}                 204 (409 while model configurations use the group)
//	GET    /api/admin/groups/{id}/members         {"members":[{"id","name","username","email","role","disabled"}]}
//	PUT    /api/admin/groups/{id}/members/{userId}    204 (idempotent)
//	DELETE /api/admin/groups/{id}/members/{userId}    204 (404 for an unknown user or a non-member)
//
// Model configurations (scope is system, group or user; scopeId is the group
// or user id, empty for system; the spec is validated by package modelcfg
// and its name must be unique within the scope):
//
//	GET    /api/admin/model-configs?scope=&scopeId=   {"modelConfigs":[ModelConfig]} (no scope: all)
//	POST   /api/admin/model-configs               {"scope","scopeId"?,"spec":{...}} → 201 ModelConfig
//	GET    /api/admin/model-configs/{id}          ModelConfig
//	PUT    /api/admin/model-configs/{id}          {"scope"?,"scopeId"?,"spec":{...}} → ModelConfig (no scope: unchanged)
//	DELETE /api/admin/model-configs/{id}          204
//
// Audit log, newest first:
//
//	GET    /api/admin/audit?cursor=&limit=        {"entries":[Entry],"nextCursor":string|null}
//
// Shapes:
//
//	User        {"id","name","username","email","emailVerified","avatar","provider","role",
//	             "twoFactorEnabled","termsAccepted","disabled","createdAt","updatedAt"}
//	Group       {"id","name","description","createdAt","updatedAt"}
//	ModelConfig {"id","scope","scopeId","name","spec","createdAt","updatedAt","updatedBy"}
//	Entry       {"id","actor","action","target","detail","createdAt"}
//
// limit is 1 to 100 (default 25); cursor is the nextCursor of the page
// before, signed for that list and the admin it was given to (any other
// cursor is 400 "Invalid cursor"). Errors are {"error": msg, "message": msg}
// with 400 for malformed input (unknown or duplicate fields, wrong types,
// over-long values, bad ids, an invalid spec — the message names the field),
// 404 for an unknown id, 409 for a taken name or the last admin, 415 for a
// body that is not JSON.
//
// Audit actions and their targets: user.role, user.disable, user.enable,
// user.update (role and disabled at once) → user id; group.create,
// group.update, group.delete, group.member.add, group.member.remove → group
// id; modelconfig.create, modelconfig.update, modelconfig.delete → model
// configuration id. detail holds the changed fields as {"before":{...},
// "after":{...}} (membership changes: {"userId"}); never a secret.
//
// Order of writes: the change is made first and the audit entry written
// after it succeeds. The store cannot make the two atomic, so when the audit
// entry cannot be written the change is undone and the request answers 503;
// a failed request leaves nothing changed (if the undo fails too, it is
// logged and the request answers 500). Disabling a user ends their sessions
// after the audit entry is written; should that step fail it is logged, and
// the sessions are unusable all the same, since refresh refuses a disabled
// account.
//
// # Examples
//
//	TOKEN=...   # an ADMIN's access token (POST /api/auth/login → "token")
//	API=http://localhost:3080/api/admin
//	curl -H "Authorization: Bearer $TOKEN" "$API/users?limit=50"
//	curl -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
//	     -X PATCH "$API/users/$USER_ID" -d '{"disabled":true}'
//	curl -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
//	     -X PATCH "$API/users/$USER_ID" -d '{"role":"ADMIN"}'
//	curl -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
//	     -X POST "$API/groups" -d '{"name":"research","description":"Research team"}'
//	curl -H "Authorization: Bearer $TOKEN" -X PUT "$API/groups/$GROUP_ID/members/$USER_ID"
//	curl -H "Authorization: Bearer $TOKEN" "$API/groups/$GROUP_ID/members"
//	curl -H "Authorization: Bearer $TOKEN" -X DELETE "$API/groups/$GROUP_ID/members/$USER_ID"
//	curl -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
//	     -X POST "$API/model-configs" \
//	     -d '{"scope":"group","scopeId":"'$GROUP_ID'","spec":{"name":"gpt4-research","endpoint":"openai","model":"gpt-4"}}'
//	curl -H "Authorization: Bearer $TOKEN" "$API/model-configs?scope=group&scopeId=$GROUP_ID"
//	curl -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
//	     -X PUT "$API/model-configs/$CONFIG_ID" \
//	     -d '{"spec":{"name":"gpt4-research","endpoint":"openai","model":"gpt-4","parameters":{"temperature":0.3},"constraints":{"temperature":{"max":1}}}}'
//	curl -H "Authorization: Bearer $TOKEN" -X DELETE "$API/model-configs/$CONFIG_ID"
//	curl -H "Authorization: Bearer $TOKEN" "$API/audit?limit=20"
package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/lcgo/lcgo/shared/app"
	"github.com/lcgo/lcgo/shared/auth"
	"github.com/lcgo/lcgo/shared/cursor"
	"github.com/lcgo/lcgo/shared/httpx"
	"github.com/lcgo/lcgo/shared/librechat"
)

// Area is the name of this area in the routing table.
const Area = "admin"

// Prefix is the path prefix every route of the area is under.
const Prefix = "/api/admin"

// Limits on input.
const (
	maxIDLen          = 64
	maxNameLen        = 100
	maxDescriptionLen = 2000
	maxRoleLen        = 64
	maxSpecBytes      = 1 << 20
	defaultPageSize   = 25
	maxPageSize       = 100
)

// store is what the area needs of the storage.
type store interface {
	librechat.UserStore
	librechat.SessionStore
	librechat.RoleStore
	librechat.GroupStore
	librechat.ModelConfigStore
	librechat.AuditStore
	librechat.UserLister
}

type handler struct {
	app     *app.App
	store   store
	cursors *cursor.Codec // signs the lists' nextCursor
}

// New builds the admin area.
func New(a *app.App) (http.Handler, error) {
	if a == nil || a.Config == nil || a.Store == nil || a.IDs == nil {
		return nil, errors.New("admin: app, configuration, store and id generator are required")
	}
	_, authn, err := auth.FromApp(a)
	if err != nil {
		return nil, err
	}
	h := &handler{app: a, store: a.Store, cursors: cursor.FromSecrets(a.Config.Auth.JWTSecret, a.Config.CredsKey)}
	m := http.NewServeMux()
	h.routes(m)
	m.HandleFunc("/", httpx.NotFound)
	return httpx.Wrap(authn.Require(adminOnly(m))), nil
}

func (h *handler) routes(m *http.ServeMux) {
	m.HandleFunc("GET /api/admin/users", h.listUsers)
	m.HandleFunc("GET /api/admin/users/{id}", h.getUser)
	m.HandleFunc("PATCH /api/admin/users/{id}", h.patchUser)

	m.HandleFunc("GET /api/admin/groups", h.listGroups)
	m.HandleFunc("POST /api/admin/groups", h.createGroup)
	m.HandleFunc("GET /api/admin/groups/{id}", h.getGroup)
	m.HandleFunc("PATCH /api/admin/groups/{id}", h.patchGroup)
	m.HandleFunc("DELETE /api/admin/groups/{id}", h.deleteGroup)
	m.HandleFunc("GET /api/admin/groups/{id}/members", h.listMembers)
	m.HandleFunc("PUT /api/admin/groups/{id}/members/{userId}", h.addMember)
	m.HandleFunc("DELETE /api/admin/groups/{id}/members/{userId}", h.removeMember)

	m.HandleFunc("GET /api/admin/model-configs", h.listModelConfigs)
	m.HandleFunc("POST /api/admin/model-configs", h.createModelConfig)
	m.HandleFunc("GET /api/admin/model-configs/{id}", h.getModelConfig)
	m.HandleFunc("PUT /api/admin/model-configs/{id}", h.putModelConfig)
	m.HandleFunc("DELETE /api/admin/model-configs/{id}", h.deleteModelConfig)

	m.HandleFunc("GET /api/admin/audit", h.listAudit)
}

// isAdmin reports whether a role is the admin role (as the config area
// reads it: case-insensitively).
func isAdmin(role string) bool { return strings.EqualFold(role, librechat.RoleAdmin) }

// activeAdmin reports whether u can act as an admin.
func activeAdmin(u *librechat.User) bool { return isAdmin(u.Role) && !u.Disabled }

// adminOnly answers 403 unless the authenticated user is an admin. Nothing
// of this area is cached.
func adminOnly(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		u, ok := auth.UserFrom(r.Context())
		if !ok || !activeAdmin(u) {
			httpx.JSON(w, http.StatusForbidden, map[string]string{"message": "Forbidden"})
			return
		}
		next.ServeHTTP(w, r)
	})
}

// actor returns the signed-in admin (adminOnly guarantees one).
func actor(r *http.Request) *librechat.User {
	u, _ := auth.UserFrom(r.Context())
	return u
}

func (h *handler) now() time.Time {
	if h.app.Clock != nil {
		return h.app.Clock.Now().UTC()
	}
	return time.Now().UTC()
}

func invalid(format string, args ...any) error {
	return librechat.E(librechat.KindInvalid, format, args...)
}

func notFound(what string) error { return librechat.E(librechat.KindNotFound, "%s not found", what) }

// ---- path and query input ---------------------------------------------------

// validID reports whether s can be an id: 1 to 64 letters, digits, - or _.
func validID(s string) bool {
	if s == "" || len(s) > maxIDLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// pathID returns the path value name when it is a well-formed id.
func pathID(r *http.Request, name, what string) (string, error) {
	id := r.PathValue(name)
	if !validID(id) {
		return "", invalid("Invalid %s id", what)
	}
	return id, nil
}

// Cursor kinds of the lists (see package cursor: a cursor is signed and
// bound to the admin it was given to and to its list).
const (
	cursorUsers = "admin-users"
	cursorAudit = "audit"
)

// page reads ?cursor= and ?limit= of a list of kind. A cursor must be one
// nextCursor made for the same list and the same admin.
func (h *handler) page(r *http.Request, kind string) (*librechat.Cursor, int, error) {
	q := r.URL.Query()
	limit := defaultPageSize
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxPageSize {
			return nil, 0, invalid("limit must be an integer from 1 to %d", maxPageSize)
		}
		limit = n
	}
	var after *librechat.Cursor
	if v := q.Get("cursor"); v != "" {
		var c librechat.Cursor
		if err := h.cursors.Decode(kind, actor(r).ID, v, &c); err != nil || c.ID == "" {
			return nil, 0, invalid("Invalid cursor")
		}
		after = &c
	}
	return after, limit, nil
}

// nextCursor signs the position c for the list of kind and the admin of
// r; nil when there is no next page.
func (h *handler) nextCursor(r *http.Request, kind string, c *librechat.Cursor) *string {
	if c == nil {
		return nil
	}
	s, err := h.cursors.Encode(kind, actor(r).ID, c)
	if err != nil {
		h.app.Log.ErrorContext(r.Context(), "admin: cursor not made", "err", err, "path", r.URL.Path)
		return nil
	}
	return &s
}

// ---- JSON bodies ------------------------------------------------------------

// decode reads a JSON object body into dst strictly: only the listed keys,
// each at most once and spelled exactly, values of the right type, nothing
// after the object. An empty body is {}. Every failure is a 4xx naming the
// problem.
func decode(r *http.Request, dst any, fields ...string) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			return librechat.E(librechat.KindUnsupportedType, "Content-Type must be application/json")
		}
	}
	var body io.Reader = http.NoBody
	if r.Body != nil {
		body = r.Body
	}
	data, err := io.ReadAll(io.LimitReader(body, httpx.MaxBody+1))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return librechat.E(librechat.KindTooLarge, "Request body is larger than 3 MB")
		}
		return librechat.Wrap(librechat.KindInvalid, "admin.decode", err)
	}
	if len(data) > httpx.MaxBody {
		return librechat.E(librechat.KindTooLarge, "Request body is larger than 3 MB")
	}
	if len(bytes.TrimSpace(data)) == 0 {
		data = []byte("{}")
	}
	if err := checkKeys(data, fields); err != nil {
		return err
	}
	if err := json.Unmarshal(data, dst); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return invalid("Field %q must be %s", te.Field, typeName(te.Type.String()))
		}
		return invalid("Invalid JSON body")
	}
	return nil
}

// checkKeys checks that data is one JSON object whose keys are among
// allowed, none repeated.
func checkKeys(data []byte, allowed []string) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	tok, err := dec.Token()
	if err != nil {
		return invalid("Invalid JSON body")
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return invalid("Request body must be a JSON object")
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return invalid("Invalid JSON body")
		}
		key, _ := tok.(string)
		if !contains(allowed, key) {
			return invalid("Unknown field %q", key)
		}
		if seen[key] {
			return invalid("Duplicate field %q", key)
		}
		seen[key] = true
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return invalid("Invalid JSON body")
		}
	}
	if _, err := dec.Token(); err != nil {
		return invalid("Invalid JSON body")
	}
	if _, err := dec.Token(); err != io.EOF {
		return invalid("Invalid JSON body: unexpected data after the object")
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func typeName(goType string) string {
	switch strings.TrimPrefix(goType, "*") {
	case "string":
		return "a string"
	case "bool":
		return "a boolean"
	case "json.RawMessage":
		return "a JSON value"
	}
	return "of another type"
}

// text checks a name-like string: trimmed, not empty unless allowEmpty, at
// most max characters, valid UTF-8 without control characters (a
// description may hold line breaks).
func text(field, s string, max int, allowEmpty, multiline bool) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" && !allowEmpty {
		return "", invalid("%s must not be empty", field)
	}
	if !utf8.ValidString(s) {
		return "", invalid("%s must be valid UTF-8", field)
	}
	if n := utf8.RuneCountInString(s); n > max {
		return "", invalid("%s is longer than %d characters", field, max)
	}
	for _, c := range s {
		if unicode.IsControl(c) && !(multiline && (c == '\n' || c == '\t' || c == '\r')) {
			return "", invalid("%s must not contain control characters", field)
		}
	}
	return s, nil
}

// ---- answers ------------------------------------------------------------------

// fail answers err with the status of its kind.
func fail(w http.ResponseWriter, r *http.Request, err error) { httpx.Error(w, r, err) }

func noContent(w http.ResponseWriter) { w.WriteHeader(http.StatusNoContent) }

// ---- changes and their audit entries ------------------------------------------

// change is one modification in progress: the undo steps gathered so far,
// run if a later step (or the audit entry) fails.
type change struct {
	h    *handler
	ctx  context.Context
	undo []func(context.Context) error
}

// begin starts a change. Its context outlives the request's cancellation,
// so a client hanging up cannot split a change from its audit entry.
func (h *handler) begin(r *http.Request) *change {
	return &change{h: h, ctx: context.WithoutCancel(r.Context())}
}

// onFail registers a step that reverses what was just done.
func (c *change) onFail(f func(context.Context) error) { c.undo = append(c.undo, f) }

// abort undoes every step, latest first, and returns err; a failing undo
// is logged and turns the answer into an internal error.
func (c *change) abort(err error) error {
	for i := len(c.undo) - 1; i >= 0; i-- {
		if uerr := c.undo[i](c.ctx); uerr != nil {
			if c.h.app.Log != nil {
				c.h.app.Log.ErrorContext(c.ctx, "admin: undoing a failed change failed", "err", uerr, "cause", err)
			}
			return librechat.Wrap(librechat.KindOther, "admin.undo", errors.Join(err, uerr))
		}
	}
	c.undo = nil
	return err
}

// commit writes the audit entry of the change; if it cannot be written the
// change is undone.
func (c *change) commit(actorID, action, target string, detail any) error {
	raw, err := json.Marshal(detail)
	if err != nil {
		return c.abort(librechat.Wrap(librechat.KindOther, "admin.audit", err))
	}
	e := &librechat.AuditEntry{
		ID: c.h.app.IDs.ObjectID(), ActorID: actorID, Action: action, Target: target,
		Detail: raw, CreatedAt: c.h.now(),
	}
	if err := c.h.store.AddAudit(c.ctx, e); err != nil {
		return c.abort(&librechat.Error{
			Kind: librechat.KindUnavailable, Op: "admin.audit", Err: err,
			Message: "The audit log could not be written; the change was undone",
		})
	}
	return nil
}

// beforeAfter is the usual detail of an entry.
type beforeAfter struct {
	Before any `json:"before,omitempty"`
	After  any `json:"after,omitempty"`
}
