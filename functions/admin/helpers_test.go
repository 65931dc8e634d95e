package admin_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lcgo/lcgo/functions/admin"
	authfn "github.com/lcgo/lcgo/functions/auth"
	"github.com/lcgo/lcgo/shared/app"
	"github.com/lcgo/lcgo/shared/app/apptest"
	"github.com/lcgo/lcgo/shared/auth"
	"github.com/lcgo/lcgo/shared/httpx"
	"github.com/lcgo/lcgo/shared/librechat"
	"github.com/lcgo/lcgo/shared/roles"
)

const password = "Password123!"

// hookStore lets a test make the store fail or act between the steps of a
// request, as a concurrent request would.
type hookStore struct {
	librechat.Store
	mu               sync.Mutex
	auditErr         error
	sessionsErr      error
	afterSetAccess   func(ctx context.Context, id string)
	beforeUpdateUser func(ctx context.Context, u *librechat.User)
	beforeListUsers  func(ctx context.Context)
}

func (s *hookStore) AddAudit(ctx context.Context, e *librechat.AuditEntry) error {
	s.mu.Lock()
	err := s.auditErr
	s.mu.Unlock()
	if err != nil {
		return err
	}
	return s.Store.AddAudit(ctx, e)
}

func (s *hookStore) SetUserAccess(ctx context.Context, id, role string, disabled bool, at time.Time) error {
	if err := s.Store.SetUserAccess(ctx, id, role, disabled, at); err != nil {
		return err
	}
	s.mu.Lock()
	f := s.afterSetAccess
	s.afterSetAccess = nil
	s.mu.Unlock()
	if f != nil {
		f(ctx, id)
	}
	return nil
}

func (s *hookStore) UpdateUser(ctx context.Context, u *librechat.User) error {
	s.mu.Lock()
	f := s.beforeUpdateUser
	s.beforeUpdateUser = nil
	s.mu.Unlock()
	if f != nil {
		f(ctx, u)
	}
	return s.Store.UpdateUser(ctx, u)
}

func (s *hookStore) ListUsers(ctx context.Context, q librechat.UserQuery) ([]*librechat.User, *librechat.Cursor, error) {
	s.mu.Lock()
	f := s.beforeListUsers
	s.beforeListUsers = nil
	s.mu.Unlock()
	if f != nil {
		f(ctx)
	}
	return s.Store.ListUsers(ctx, q)
}

func (s *hookStore) DeleteUserSessions(ctx context.Context, userID string) error {
	s.mu.Lock()
	err := s.sessionsErr
	s.mu.Unlock()
	if err != nil {
		return err
	}
	return s.Store.DeleteUserSessions(ctx, userID)
}

func (s *hookStore) failAudit(err error) {
	s.mu.Lock()
	s.auditErr = err
	s.mu.Unlock()
}

type testEnv struct {
	t      *testing.T
	a      *app.App
	st     *hookStore
	raw    librechat.Store // the store without hooks
	h      http.Handler    // the admin area
	authH  http.Handler    // the auth area
	clock  *apptest.Clock
	signer *auth.Signer
	admin  *librechat.User
	token  string // admin's access token
}

func newEnv(t *testing.T) *testEnv {
	t.Helper()
	a, parts := apptest.New(t, nil)
	if err := roles.Seed(context.Background(), a.Store, a.IDs, a.Config); err != nil {
		t.Fatal(err)
	}
	raw := a.Store
	st := &hookStore{Store: raw}
	a.Store = st
	h, err := admin.New(a)
	if err != nil {
		t.Fatal(err)
	}
	ah, err := authfn.NewHandler(a)
	if err != nil {
		t.Fatal(err)
	}
	ah.DuplicateDelay = 0
	signer, _, err := auth.FromApp(a)
	if err != nil {
		t.Fatal(err)
	}
	e := &testEnv{t: t, a: a, st: st, raw: raw, h: h, authH: httpx.Wrap(ah), clock: parts.Clock, signer: signer}
	e.admin, e.token = e.newUser("root", librechat.RoleAdmin)
	return e
}

var hashOnce = sync.OnceValues(func() (string, error) { return auth.Passwords{}.Hash(password) })

// passwordHash is the hash of password, computed once.
func passwordHash(t *testing.T) string {
	t.Helper()
	h, err := hashOnce()
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// newUser stores an account with a password and returns it with an access
// token.
func (e *testEnv) newUser(name, role string) (*librechat.User, string) {
	e.t.Helper()
	hash := passwordHash(e.t)
	now := e.clock.Now()
	u := &librechat.User{
		ID: e.a.IDs.ObjectID(), Name: "User " + name, Username: name, Email: name + "@example.com",
		EmailVerified: true, Provider: librechat.ProviderLocal, Role: role, PasswordHash: hash,
		TOTPSecret: "JBSWY3DPEHPK3PXPSECRET", BackupCodes: []librechat.BackupCode{{Hash: "backuphashsecret"}},
		CreatedAt: now, UpdatedAt: now,
	}
	if err := e.raw.CreateUser(context.Background(), u); err != nil {
		e.t.Fatal(err)
	}
	// Creation times order the user list.
	e.clock.Advance(time.Second)
	return u, e.access(u)
}

func (e *testEnv) access(u *librechat.User) string {
	e.t.Helper()
	tok, err := e.signer.Access(u, 24*time.Hour)
	if err != nil {
		e.t.Fatal(err)
	}
	return tok
}

type result struct {
	status int
	header http.Header
	body   []byte
}

func (r result) String() string { return fmt.Sprintf("%d %s", r.status, r.body) }

func (r result) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("body %q: %v", r.body, err)
	}
}

func (r result) object(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	r.decode(t, &m)
	return m
}

func (r result) cookie(name string) *http.Cookie {
	for _, c := range (&http.Response{Header: r.header}).Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

func serve(h http.Handler, method, path, token, body string, cookies ...*http.Cookie) result {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, path, rd)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for _, c := range cookies {
		req.AddCookie(c)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return result{status: rec.Code, header: rec.Header(), body: rec.Body.Bytes()}
}

// do calls the admin area.
func (e *testEnv) do(method, path, token, body string) result {
	e.t.Helper()
	// Every request happens a little later than the one before, so that
	// the audit log's order is the order of the requests.
	e.clock.Advance(time.Millisecond)
	return serve(e.h, method, path, token, body)
}

// ok calls the admin area as the admin and expects status.
func (e *testEnv) ok(status int, method, path, body string) result {
	e.t.Helper()
	res := e.do(method, path, e.token, body)
	if res.status != status {
		e.t.Fatalf("%s %s: got %s, want %d", method, path, res, status)
	}
	return res
}

// fails calls the admin area as the admin, expects status and a message
// containing want, and checks nothing stored changed.
func (e *testEnv) fails(status int, want, method, path, body string) result {
	e.t.Helper()
	before := e.snapshot()
	res := e.do(method, path, e.token, body)
	if res.status != status {
		e.t.Fatalf("%s %s %s: got %s, want %d", method, path, body, res, status)
	}
	var msg struct {
		Message string `json:"message"`
	}
	res.decode(e.t, &msg)
	if !strings.Contains(msg.Message, want) {
		e.t.Fatalf("%s %s %s: message %q does not contain %q", method, path, body, msg.Message, want)
	}
	if after := e.snapshot(); after != before {
		e.t.Fatalf("%s %s %s changed the store:\nbefore %s\nafter  %s", method, path, body, before, after)
	}
	return res
}

// login posts to the auth area; it returns the response and, on success,
// the refresh cookie.
func (e *testEnv) login(u *librechat.User) (result, *http.Cookie) {
	e.t.Helper()
	res := serve(e.authH, "POST", "/api/auth/login", "", fmt.Sprintf(`{"email":%q,"password":%q}`, u.Email, password))
	return res, res.cookie("refreshToken")
}

func (e *testEnv) refresh(c *http.Cookie) result {
	e.t.Helper()
	return serve(e.authH, "POST", "/api/auth/refresh", "", "", c)
}

func (e *testEnv) storedUser(id string) *librechat.User {
	e.t.Helper()
	u, err := e.raw.UserByID(context.Background(), id)
	if err != nil {
		e.t.Fatal(err)
	}
	return u
}

// audit returns every audit entry, newest first.
func (e *testEnv) audit() []*librechat.AuditEntry {
	e.t.Helper()
	var out []*librechat.AuditEntry
	var after *librechat.Cursor
	for {
		page, next, err := e.raw.Audit(context.Background(), after, 100)
		if err != nil {
			e.t.Fatal(err)
		}
		out = append(out, page...)
		if next == nil || len(page) == 0 {
			return out
		}
		after = next
	}
}

// lastAudit returns the newest entry and checks who did what to which.
func (e *testEnv) lastAudit(actor, action, target string) *librechat.AuditEntry {
	e.t.Helper()
	entries := e.audit()
	if len(entries) == 0 {
		e.t.Fatalf("no audit entry, want %s", action)
	}
	got := entries[0]
	if got.ActorID != actor || got.Action != action || got.Target != target {
		e.t.Fatalf("audit entry %s by %s on %s, want %s by %s on %s", got.Action, got.ActorID, got.Target, action, actor, target)
	}
	return got
}

// detail decodes an entry's detail.
func detail(t *testing.T, e *librechat.AuditEntry) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(e.Detail, &m); err != nil {
		t.Fatalf("detail %s: %v", e.Detail, err)
	}
	return m
}

// snapshot renders everything the admin API can change.
func (e *testEnv) snapshot() string {
	e.t.Helper()
	ctx := context.Background()
	var b strings.Builder
	q := librechat.UserQuery{Limit: 100}
	for {
		users, next, err := e.raw.ListUsers(ctx, q)
		if err != nil {
			e.t.Fatal(err)
		}
		for _, u := range users {
			fmt.Fprintf(&b, "user %s %s %v %s;", u.ID, u.Role, u.Disabled, u.UpdatedAt.UTC().Format(time.RFC3339Nano))
			groups, err := e.raw.GroupsOf(ctx, u.ID)
			if err != nil {
				e.t.Fatal(err)
			}
			fmt.Fprintf(&b, "groups %v;", groups)
		}
		if next == nil || len(users) == 0 {
			break
		}
		q.After = next
	}
	groups, err := e.raw.Groups(ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, g := range groups {
		members, err := e.raw.Members(ctx, g.ID)
		if err != nil {
			e.t.Fatal(err)
		}
		fmt.Fprintf(&b, "group %s %q %q %v;", g.ID, g.Name, g.Description, members)
	}
	cfgs, err := e.raw.ModelConfigs(ctx, "", "")
	if err != nil {
		e.t.Fatal(err)
	}
	for _, c := range cfgs {
		fmt.Fprintf(&b, "config %s %s %s %s %s;", c.ID, c.Scope, c.ScopeID, c.Name, c.Spec)
	}
	fmt.Fprintf(&b, "audit %d", len(e.audit()))
	return b.String()
}

// sessionExists reports whether the session is still stored.
func (e *testEnv) sessionExists(id string) bool {
	e.t.Helper()
	_, err := e.raw.SessionByID(context.Background(), id)
	if err != nil && !librechat.IsNotFound(err) {
		e.t.Fatal(err)
	}
	return err == nil
}

var errAuditDown = errors.New("audit log unavailable")
