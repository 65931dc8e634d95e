package admin_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/lcgo/lcgo/shared/auth"
	"github.com/lcgo/lcgo/shared/librechat"
)

type userPage struct {
	Users []struct {
		ID       string `json:"id"`
		Email    string `json:"email"`
		Role     string `json:"role"`
		Disabled bool   `json:"disabled"`
	} `json:"users"`
	NextCursor *string `json:"nextCursor"`
}

func TestListUsersPagesWithoutSecrets(t *testing.T) {
	e := newEnv(t)
	want := []string{e.admin.ID}
	for i := range 6 {
		u, _ := e.newUser(fmt.Sprintf("user%d", i), librechat.RoleUser)
		want = append(want, u.ID)
	}
	var got []string
	path := "/api/admin/users?limit=4"
	for pages := 0; ; pages++ {
		if pages > 5 {
			t.Fatal("too many pages")
		}
		res := e.ok(200, "GET", path, "")
		for _, secret := range []string{"argon2id", "JBSWY3DP", "backuphash", "password", "totp", "backupCodes"} {
			if strings.Contains(strings.ToLower(string(res.body)), strings.ToLower(secret)) {
				t.Fatalf("user list shows %q: %s", secret, res.body)
			}
		}
		var p userPage
		res.decode(t, &p)
		for _, u := range p.Users {
			got = append(got, u.ID)
		}
		if p.NextCursor == nil {
			break
		}
		path = "/api/admin/users?limit=4&cursor=" + *p.NextCursor
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("listed %v, want %v", got, want)
	}
	for _, q := range []string{"limit=0", "limit=101", "limit=x", "cursor=***", "cursor=bm90LWpzb24"} {
		e.fails(400, "", "GET", "/api/admin/users?"+q, "")
	}
}

func TestGetUser(t *testing.T) {
	e := newEnv(t)
	u, _ := e.newUser("carol", librechat.RoleUser)
	res := e.ok(200, "GET", "/api/admin/users/"+u.ID, "")
	m := res.object(t)
	if m["id"] != u.ID || m["email"] != u.Email || m["role"] != "USER" || m["disabled"] != false {
		t.Fatalf("user %s", res.body)
	}
	if g, ok := m["groups"].([]any); !ok || len(g) != 0 {
		t.Fatalf("groups %v", m["groups"])
	}
	for _, k := range []string{"passwordHash", "password", "totpSecret", "backupCodes"} {
		if _, ok := m[k]; ok {
			t.Fatalf("user shows %s", k)
		}
	}
	if strings.Contains(string(res.body), "JBSWY3DP") || strings.Contains(string(res.body), "argon2") {
		t.Fatalf("user shows a secret: %s", res.body)
	}
	g := e.createGroup("team", "")
	e.ok(204, "PUT", "/api/admin/groups/"+g+"/members/"+u.ID, "")
	m = e.ok(200, "GET", "/api/admin/users/"+u.ID, "").object(t)
	if fmt.Sprint(m["groups"]) != "["+g+"]" {
		t.Fatalf("groups %v", m["groups"])
	}
	e.fails(404, "User not found", "GET", "/api/admin/users/0123456789abcdef01234567", "")
	e.fails(400, "Invalid user id", "GET", "/api/admin/users/bad.id", "")
	e.fails(400, "Invalid user id", "GET", "/api/admin/users/"+strings.Repeat("a", 65), "")
}

func TestDisableEndsSessionsAndBlocksLogin(t *testing.T) {
	e := newEnv(t)
	u, _ := e.newUser("dave", librechat.RoleUser)
	res, cookie := e.login(u)
	if res.status != 200 || cookie == nil {
		t.Fatalf("login: %s", res)
	}
	access := res.object(t)["token"].(string)
	if r := serve(e.authH, "GET", "/api/user", access, ""); r.status != 200 {
		t.Fatalf("GET /api/user before: %s", r)
	}

	res = e.ok(200, "PATCH", "/api/admin/users/"+u.ID, `{"disabled":true}`)
	if res.object(t)["disabled"] != true || !e.storedUser(u.ID).Disabled {
		t.Fatalf("not disabled: %s", res)
	}
	entry := e.lastAudit(e.admin.ID, "user.disable", u.ID)
	if d := detail(t, entry); fmt.Sprint(d) != "map[after:map[disabled:true] before:map[disabled:false]]" {
		t.Fatalf("detail %s", entry.Detail)
	}
	// The access token stops working at once, the refresh token too (its
	// session is gone), and a new login is refused.
	if r := serve(e.authH, "GET", "/api/user", access, ""); r.status != 401 {
		t.Fatalf("GET /api/user after: %s", r)
	}
	if r := e.refresh(cookie); r.status != 401 {
		t.Fatalf("refresh after disable: %s", r)
	}
	if r, _ := e.login(u); r.status != 403 || !strings.Contains(string(r.body), "disabled") {
		t.Fatalf("login after disable: %s", r)
	}

	// Sessions are deleted by the admin call itself, not only refused.
	res, cookie = e.login(e.admin)
	if res.status != 200 {
		t.Fatalf("admin login: %s", res)
	}
	adminSession := sessionOf(t, e, cookie)
	e.ok(200, "PATCH", "/api/admin/users/"+u.ID, `{"disabled":false}`)
	e.lastAudit(e.admin.ID, "user.enable", u.ID)
	res, cookie = e.login(u)
	if res.status != 200 {
		t.Fatalf("login after enable: %s", res)
	}
	sid := sessionOf(t, e, cookie)
	e.ok(200, "PATCH", "/api/admin/users/"+u.ID, `{"disabled":true}`)
	if e.sessionExists(sid) {
		t.Fatal("the disabled user's session survived")
	}
	if !e.sessionExists(adminSession) {
		t.Fatal("another user's session was ended")
	}
	// Disabling again changes nothing and records nothing.
	n := len(e.audit())
	e.ok(200, "PATCH", "/api/admin/users/"+u.ID, `{"disabled":true}`)
	if len(e.audit()) != n {
		t.Fatal("a no-op change was audited")
	}
}

// A request that read the user before an admin disabled them or changed
// their role, and saves its copy after, does not undo the admin's change.
func TestAccessChangeSurvivesAStaleSave(t *testing.T) {
	e := newEnv(t)
	u, _ := e.newUser("ivy", librechat.RoleUser)

	stale := e.storedUser(u.ID)
	e.ok(200, "PATCH", "/api/admin/users/"+u.ID, `{"disabled":true}`)
	stale.Name, stale.TermsAccepted, stale.UpdatedAt = "Ivy Renamed", true, e.clock.Now()
	if err := e.raw.UpdateUser(context.Background(), stale); err != nil {
		t.Fatal(err)
	}
	m := e.ok(200, "GET", "/api/admin/users/"+u.ID, "").object(t)
	if m["disabled"] != true || m["role"] != "USER" || m["name"] != "Ivy Renamed" || m["termsAccepted"] != true {
		t.Fatalf("after a stale save: %v", m)
	}
	if r, _ := e.login(u); r.status != 403 {
		t.Fatalf("login after a stale save: %s", r)
	}

	stale = e.storedUser(u.ID)
	e.ok(200, "PATCH", "/api/admin/users/"+u.ID, `{"role":"ADMIN","disabled":false}`)
	stale.Name = "Ivy Again"
	if err := e.raw.UpdateUser(context.Background(), stale); err != nil {
		t.Fatal(err)
	}
	m = e.ok(200, "GET", "/api/admin/users/"+u.ID, "").object(t)
	if m["disabled"] != false || m["role"] != "ADMIN" || m["name"] != "Ivy Again" {
		t.Fatalf("after a stale save: %v", m)
	}
}

// The race as it happens: a login reads the user, finds them enabled and
// their password hash due for an upgrade; an admin disables them; the
// login then saves the new hash.
func TestDisableSurvivesALoginRehashingThePassword(t *testing.T) {
	e := newEnv(t)
	u, _ := e.newUser("jack", librechat.RoleUser)
	// Weaker parameters than the current ones: a login rehashes.
	weak, err := auth.Passwords{Params: auth.Argon2Params{Memory: 8 * 1024, Time: 1, Threads: 1, KeyLen: 32, SaltLen: 16}}.Hash(password)
	if err != nil {
		t.Fatal(err)
	}
	u.PasswordHash = weak
	if err := e.raw.UpdateUser(context.Background(), u); err != nil {
		t.Fatal(err)
	}

	var patched result
	e.st.mu.Lock()
	e.st.beforeUpdateUser = func(ctx context.Context, saving *librechat.User) {
		if saving.ID != u.ID || saving.Disabled {
			t.Errorf("the login saves %s (disabled %v), want %s as it read it", saving.ID, saving.Disabled, u.ID)
		}
		patched = e.do("PATCH", "/api/admin/users/"+u.ID, e.token, `{"disabled":true}`)
	}
	e.st.mu.Unlock()
	res, cookie := e.login(u)
	if patched.status != 200 {
		t.Fatalf("the admin's disable during the login: %s", patched)
	}
	if res.status != 200 || cookie == nil {
		// It found the account enabled before the admin acted.
		t.Fatalf("login: %s", res)
	}

	stored := e.storedUser(u.ID)
	if !stored.Disabled {
		t.Fatal("the login's save enabled the account again")
	}
	if stored.PasswordHash == weak || !strings.HasPrefix(stored.PasswordHash, "$argon2id$") {
		t.Fatalf("the login did not store the new hash: %q", stored.PasswordHash)
	}
	if m := e.ok(200, "GET", "/api/admin/users/"+u.ID, "").object(t); m["disabled"] != true {
		t.Fatalf("admin API shows %v", m)
	}
	// What the racing login got is worthless, and no new login works.
	if r := serve(e.authH, "GET", "/api/user", res.object(t)["token"].(string), ""); r.status != 401 {
		t.Fatalf("the racing login's access token: %s", r)
	}
	if r := e.refresh(cookie); r.status != 401 {
		t.Fatalf("the racing login's refresh: %s", r)
	}
	if r, _ := e.login(u); r.status != 403 {
		t.Fatalf("login after the disable: %s", r)
	}
}

// sessionOf reads the session id a refresh cookie carries.
func sessionOf(t *testing.T, e *testEnv, c *http.Cookie) string {
	t.Helper()
	claims, err := e.signer.VerifyRefresh(c.Value)
	if err != nil {
		t.Fatal(err)
	}
	return claims.SessionID
}

func TestPatchUserValidation(t *testing.T) {
	e := newEnv(t)
	u, _ := e.newUser("erin", librechat.RoleUser)
	p := "/api/admin/users/" + u.ID
	e.fails(400, `Unknown field "email"`, "PATCH", p, `{"email":"x@example.com"}`)
	e.fails(400, `Unknown field "Role"`, "PATCH", p, `{"Role":"ADMIN"}`)
	e.fails(400, `Duplicate field "role"`, "PATCH", p, `{"role":"USER","role":"ADMIN"}`)
	e.fails(400, `Field "disabled" must be a boolean`, "PATCH", p, `{"disabled":"yes"}`)
	e.fails(400, `Field "role" must be a string`, "PATCH", p, `{"role":1}`)
	e.fails(400, "Nothing to change", "PATCH", p, `{}`)
	e.fails(400, "Nothing to change", "PATCH", p, ``)
	e.fails(400, "Nothing to change", "PATCH", p, `{"role":null}`)
	e.fails(400, "must be a JSON object", "PATCH", p, `["role"]`)
	e.fails(400, "Invalid JSON", "PATCH", p, `{"role":"ADMIN"`)
	e.fails(400, "unexpected data", "PATCH", p, `{"role":"ADMIN"} {}`)
	e.fails(400, `Unknown role "OWNER"`, "PATCH", p, `{"role":"OWNER"}`)
	e.fails(400, `Unknown role`, "PATCH", p, `{"role":"../x"}`)
	e.fails(400, "role must not be empty", "PATCH", p, `{"role":""}`)
	e.fails(400, "longer than", "PATCH", p, `{"role":"`+strings.Repeat("A", 65)+`"}`)
	e.fails(404, "User not found", "PATCH", "/api/admin/users/0123456789abcdef01234567", `{"role":"ADMIN"}`)
	e.fails(400, "Invalid user id", "PATCH", "/api/admin/users/a%20b", `{"role":"ADMIN"}`)

	req := `{"role":"ADMIN"}`
	before := e.snapshot()
	res := serveWithType(e, "PATCH", p, "text/plain", req)
	if res.status != 415 || e.snapshot() != before {
		t.Fatalf("text/plain body: %s", res)
	}

	// A stored role other than ADMIN and USER may be given; lower-case
	// ADMIN and USER are read as the built-in roles.
	if err := e.raw.PutRole(context.Background(), &librechat.Role{ID: e.a.IDs.ObjectID(), Name: "REVIEWER", Permissions: map[string]map[string]bool{}}); err != nil {
		t.Fatal(err)
	}
	if m := e.ok(200, "PATCH", p, `{"role":"REVIEWER"}`).object(t); m["role"] != "REVIEWER" {
		t.Fatalf("role %v", m["role"])
	}
	if m := e.ok(200, "PATCH", p, `{"role":"admin","disabled":true}`).object(t); m["role"] != "ADMIN" || m["disabled"] != true {
		t.Fatalf("role %v", m)
	}
	entry := e.lastAudit(e.admin.ID, "user.update", u.ID)
	if d := detail(t, entry); fmt.Sprint(d) != "map[after:map[disabled:true role:ADMIN] before:map[disabled:false role:REVIEWER]]" {
		t.Fatalf("detail %s", entry.Detail)
	}
}

func serveWithType(e *testEnv, method, path, ctype, body string) result {
	e.t.Helper()
	req, _ := http.NewRequest(method, path, strings.NewReader(body))
	req.Header.Set("Content-Type", ctype)
	req.Header.Set("Authorization", "Bearer "+e.token)
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, req)
	return result{status: rec.Code, header: rec.Header(), body: rec.Body.Bytes()}
}

func TestAdminCannotDemoteOrDisableThemselves(t *testing.T) {
	e := newEnv(t)
	e.newUser("other-admin", librechat.RoleAdmin)
	p := "/api/admin/users/" + e.admin.ID
	e.fails(400, "own admin role", "PATCH", p, `{"role":"USER"}`)
	e.fails(400, "disable your own account", "PATCH", p, `{"disabled":true}`)
	e.fails(400, "disable your own account", "PATCH", p, `{"role":"ADMIN","disabled":true}`)
	// A no-op on oneself is fine.
	e.ok(200, "PATCH", p, `{"role":"ADMIN","disabled":false}`)
}

func TestLastAdminCannotBeDemoted(t *testing.T) {
	e := newEnv(t)
	other, otherTok := e.newUser("second", librechat.RoleAdmin)

	// Another request demotes the acting admin while this one runs: when
	// this one counts the admins, only its target is left.
	e.st.beforeListUsers = func(ctx context.Context) {
		if err := e.raw.SetUserAccess(ctx, e.admin.ID, librechat.RoleUser, false, e.clock.Now()); err != nil {
			t.Error(err)
		}
	}
	res := e.do("PATCH", "/api/admin/users/"+other.ID, e.token, `{"role":"USER"}`)
	if res.status != 409 || !strings.Contains(string(res.body), "last admin") {
		t.Fatalf("demote the last admin: %s", res)
	}
	if !isAdminNow(e, other.ID) {
		t.Fatal("the last admin was demoted")
	}
	// Same with disabling.
	res = e.do("PATCH", "/api/admin/users/"+e.admin.ID, otherTok, `{"disabled":true}`)
	if res.status != 200 {
		// root is a USER now: disabling a non-admin is allowed.
		t.Fatalf("disable root: %s", res)
	}
	third, thirdTok := e.newUser("third", librechat.RoleAdmin)
	e.st.beforeListUsers = func(ctx context.Context) {
		if err := e.raw.SetUserAccess(ctx, third.ID, librechat.RoleAdmin, true, e.clock.Now()); err != nil {
			t.Error(err)
		}
	}
	res = e.do("PATCH", "/api/admin/users/"+other.ID, thirdTok, `{"disabled":true}`)
	if res.status != 409 {
		t.Fatalf("disable the last admin: %s", res)
	}
	if u := e.storedUser(other.ID); u.Disabled || !strings.EqualFold(u.Role, "ADMIN") {
		t.Fatal("the last admin was disabled")
	}
}

func TestLastAdminRecheckedAfterTheChange(t *testing.T) {
	e := newEnv(t)
	other, _ := e.newUser("second", librechat.RoleAdmin)
	n := len(e.audit())
	// The other admin demotes the acting one right after this request
	// stored its change: the count after the change finds no admin, so the
	// change is undone.
	e.st.afterSetAccess = func(ctx context.Context, _ string) {
		if err := e.raw.SetUserAccess(ctx, e.admin.ID, librechat.RoleUser, false, e.clock.Now()); err != nil {
			t.Error(err)
		}
	}
	res := e.do("PATCH", "/api/admin/users/"+other.ID, e.token, `{"role":"USER"}`)
	if res.status != 409 {
		t.Fatalf("got %s", res)
	}
	if !isAdminNow(e, other.ID) {
		t.Fatal("the change was not undone")
	}
	if len(e.audit()) != n {
		t.Fatal("a refused change was audited")
	}
}

func TestAdminsDemotingEachOtherAtOnce(t *testing.T) {
	e := newEnv(t)
	for round := range 10 {
		a, aTok := e.newUser(fmt.Sprintf("a%d", round), librechat.RoleAdmin)
		b, bTok := e.newUser(fmt.Sprintf("b%d", round), librechat.RoleAdmin)
		// Leave a and b as the only admins.
		if err := e.raw.SetUserAccess(context.Background(), e.admin.ID, librechat.RoleUser, false, e.clock.Now()); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		var ra, rb result
		wg.Go(func() { ra = serve(e.h, "PATCH", "/api/admin/users/"+b.ID, aTok, `{"role":"USER"}`) })
		wg.Go(func() { rb = serve(e.h, "PATCH", "/api/admin/users/"+a.ID, bTok, `{"role":"USER"}`) })
		wg.Wait()
		for _, r := range []result{ra, rb} {
			if r.status != 200 && r.status != 409 && r.status != 403 {
				t.Fatalf("round %d: %s", round, r)
			}
		}
		t.Logf("round %d: %d / %d", round, ra.status, rb.status)
		if !isAdminNow(e, a.ID) && !isAdminNow(e, b.ID) {
			t.Fatalf("round %d: no admin left (%s / %s)", round, ra, rb)
		}
		// Back to a known state for the next round.
		for _, id := range []string{a.ID, b.ID} {
			if err := e.raw.SetUserAccess(context.Background(), id, librechat.RoleUser, false, e.clock.Now()); err != nil {
				t.Fatal(err)
			}
		}
		if err := e.raw.SetUserAccess(context.Background(), e.admin.ID, librechat.RoleAdmin, false, e.clock.Now()); err != nil {
			t.Fatal(err)
		}
	}
}

func isAdminNow(e *testEnv, id string) bool {
	e.t.Helper()
	u := e.storedUser(id)
	return strings.EqualFold(u.Role, librechat.RoleAdmin) && !u.Disabled
}

func TestUserChangeUndoneWhenTheAuditFails(t *testing.T) {
	e := newEnv(t)
	u, _ := e.newUser("frank", librechat.RoleUser)
	res, cookie := e.login(u)
	if res.status != 200 {
		t.Fatalf("login: %s", res)
	}
	sid := sessionOf(t, e, cookie)
	e.st.failAudit(errAuditDown)
	before := e.snapshot()
	r := e.do("PATCH", "/api/admin/users/"+u.ID, e.token, `{"role":"ADMIN","disabled":true}`)
	if r.status != 503 || !strings.Contains(string(r.body), "undone") {
		t.Fatalf("got %s", r)
	}
	if after := e.snapshot(); after != before {
		t.Fatalf("store changed:\n%s\n%s", before, after)
	}
	if !e.sessionExists(sid) {
		t.Fatal("a failed disable ended the user's session")
	}
}

func TestDisableWhenEndingSessionsFails(t *testing.T) {
	e := newEnv(t)
	u, _ := e.newUser("gus", librechat.RoleUser)
	res, cookie := e.login(u)
	if res.status != 200 {
		t.Fatalf("login: %s", res)
	}
	e.st.mu.Lock()
	e.st.sessionsErr = errors.New("sessions unavailable")
	e.st.mu.Unlock()
	e.ok(200, "PATCH", "/api/admin/users/"+u.ID, `{"disabled":true}`)
	e.lastAudit(e.admin.ID, "user.disable", u.ID)
	// The session is still stored but cannot be used.
	if r := e.refresh(cookie); r.status != 401 {
		t.Fatalf("refresh: %s", r)
	}
}
