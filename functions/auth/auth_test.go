package auth_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"
	"golang.org/x/crypto/bcrypt"

	authfn "github.com/lcgo/lcgo/functions/auth"
	"github.com/lcgo/lcgo/shared/app"
	"github.com/lcgo/lcgo/shared/app/apptest"
	"github.com/lcgo/lcgo/shared/config"
	"github.com/lcgo/lcgo/shared/httpx"
	"github.com/lcgo/lcgo/shared/librechat"
)

type env struct {
	t     testing.TB
	a     *app.App
	parts apptest.Parts
	h     http.Handler
}

func newEnv(t *testing.T, mutate func(*config.Config)) *env { return newEnvWith(t, mutate) }

func newEnvTB(tb testing.TB) *env { return newEnvWith(tb, nil) }

func newEnvWith(t testing.TB, mutate func(*config.Config)) *env {
	t.Helper()
	a, parts := apptest.New(t, mutate)
	h, err := authfn.NewHandler(a)
	if err != nil {
		t.Fatal(err)
	}
	h.DuplicateDelay = 0
	return &env{t: t, a: a, parts: parts, h: httpx.Wrap(h)}
}

type resp struct {
	status int
	header http.Header
	body   []byte
}

func (r resp) json(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("body %q is not a JSON object: %v", r.body, err)
	}
	return m
}

func (r resp) cookie(name string) *http.Cookie {
	for _, c := range (&http.Response{Header: r.header}).Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

type opt func(*http.Request)

func bearer(tok string) opt {
	return func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+tok) }
}
func withCookie(name, value string) opt {
	return func(r *http.Request) { r.AddCookie(&http.Cookie{Name: name, Value: value}) }
}

func (e *env) do(method, path string, body any, opts ...opt) resp {
	e.t.Helper()
	var rd *bytes.Reader
	switch b := body.(type) {
	case nil:
		rd = bytes.NewReader(nil)
	case string:
		rd = bytes.NewReader([]byte(b))
	default:
		data, _ := json.Marshal(b)
		rd = bytes.NewReader(data)
	}
	req := httptest.NewRequest(method, path, rd)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for _, o := range opts {
		o(req)
	}
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, req)
	return resp{status: rec.Code, header: rec.Header(), body: rec.Body.Bytes()}
}

func regBody(email string) map[string]string {
	return map[string]string{"name": "Alice Example", "username": "alice", "email": email, "password": "Password123!", "confirm_password": "Password123!"}
}

func (e *env) register(email string) {
	e.t.Helper()
	if r := e.do("POST", "/api/auth/register", regBody(email)); r.status != 200 {
		e.t.Fatalf("register %s: %d %s", email, r.status, r.body)
	}
}

// login returns the access token and the refresh cookie value.
func (e *env) login(email, password string) (string, string) {
	e.t.Helper()
	r := e.do("POST", "/api/auth/login", map[string]string{"email": email, "password": password})
	if r.status != 200 {
		e.t.Fatalf("login %s: %d %s", email, r.status, r.body)
	}
	c := r.cookie("refreshToken")
	if c == nil {
		e.t.Fatal("login set no refreshToken cookie")
	}
	return r.json(e.t)["token"].(string), c.Value
}

func TestRegisterAndLogin(t *testing.T) {
	e := newEnv(t, nil)
	r := e.do("POST", "/api/auth/register", regBody("Alice@Example.com"))
	if r.status != 200 || string(r.body) != `{"message":"Please check your email to verify your email address."}` {
		t.Fatalf("register: %d %s", r.status, r.body)
	}
	// A taken email is answered exactly like a new one, and changes nothing.
	dup := regBody("alice@example.com")
	dup["password"], dup["confirm_password"] = "Different123!", "Different123!"
	if r2 := e.do("POST", "/api/auth/register", dup); r2.status != 200 || !bytes.Equal(r2.body, r.body) {
		t.Fatalf("duplicate register: %d %s", r2.status, r2.body)
	}
	if r := e.do("POST", "/api/auth/login", map[string]string{"email": "alice@example.com", "password": "Different123!"}); r.status != 404 {
		t.Fatalf("duplicate registration changed the password: %d %s", r.status, r.body)
	}
	e.register("bob@example.com")

	r = e.do("POST", "/api/auth/login", map[string]string{"email": "ALICE@example.com", "password": "Password123!"})
	if r.status != 200 {
		t.Fatalf("login: %d %s", r.status, r.body)
	}
	var got struct {
		Token string                     `json:"token"`
		User  map[string]json.RawMessage `json:"user"`
	}
	if err := json.Unmarshal(r.body, &got); err != nil {
		t.Fatal(err)
	}
	if got.Token == "" || string(got.User["role"]) != `"ADMIN"` || string(got.User["email"]) != `"alice@example.com"` {
		t.Fatalf("login body: %s", r.body)
	}
	for _, secret := range []string{"password", "passwordHash", "totpSecret", "PasswordHash"} {
		if _, ok := got.User[secret]; ok {
			t.Fatalf("user leaks %s: %s", secret, r.body)
		}
	}
	// Key order as the Node server sends it: _id first, id last, refreshToken [].
	userJSON := string(r.body[bytes.Index(r.body, []byte(`"user":`))+7:])
	if !strings.HasPrefix(userJSON, `{"_id":`) || !strings.HasSuffix(userJSON, `,"id":`+string(got.User["_id"])+"}}") ||
		!strings.Contains(userJSON, `"refreshToken":[]`) {
		t.Fatalf("login user shape: %s", userJSON)
	}
	rc := r.cookie("refreshToken")
	if rc == nil || !rc.HttpOnly || rc.SameSite != http.SameSiteStrictMode || rc.Secure || rc.Path != "/" {
		t.Fatalf("refresh cookie attributes: %+v", rc)
	}
	if tp := r.cookie("token_provider"); tp == nil || tp.Value != "librechat" || !tp.HttpOnly {
		t.Fatalf("token_provider cookie: %+v", tp)
	}

	bobToken, _ := e.login("bob@example.com", "Password123!")
	r = e.do("GET", "/api/user", nil, bearer(bobToken))
	u := r.json(t)
	if r.status != 200 || u["role"] != "USER" || u["email"] != "bob@example.com" || u["avatar"] != nil {
		t.Fatalf("GET /api/user: %d %s", r.status, r.body)
	}
	if !bytes.HasPrefix(r.body, []byte(`{"_id":"`+u["_id"].(string)+`","id":"`)) {
		t.Fatalf("GET /api/user key order: %s", r.body)
	}
	if _, ok := u["refreshToken"]; ok {
		t.Fatalf("GET /api/user has refreshToken: %s", r.body)
	}
}

func TestSecureCookieOverHTTPS(t *testing.T) {
	e := newEnv(t, nil)
	e.register("a@example.com")
	r := e.do("POST", "/api/auth/login", map[string]string{"email": "a@example.com", "password": "Password123!"},
		func(r *http.Request) { r.Header.Set("X-Forwarded-Proto", "https") })
	if c := r.cookie("refreshToken"); c == nil || !c.Secure {
		t.Fatalf("cookie over https is not Secure: %+v", c)
	}
}

func TestLoginFailures(t *testing.T) {
	e := newEnv(t, nil)
	e.register("a@example.com")
	cases := []struct {
		name, email, password string
		status                int
		message               string
	}{
		{"unknown email", "nobody@example.com", "Password123!", 404, "Email does not exist."},
		{"wrong password", "a@example.com", "wrong-password", 404, "Incorrect password."},
		{"bad email", "not-an-email", "Password123!", 404, "email: Invalid email"},
		{"short password", "a@example.com", "short", 404, "password: String must contain at least 8 character(s)"},
	}
	for _, c := range cases {
		r := e.do("POST", "/api/auth/login", map[string]string{"email": c.email, "password": c.password})
		m := r.json(t)
		if r.status != c.status || m["message"] != c.message || m["error"] != c.message {
			t.Errorf("%s: %d %s", c.name, r.status, r.body)
		}
		if r.cookie("refreshToken") != nil {
			t.Errorf("%s: set a refresh cookie", c.name)
		}
	}
}

func TestUnverifiedAndDisabled(t *testing.T) {
	e := newEnv(t, func(c *config.Config) {
		c.Auth.EmailEnabled = true
		c.Auth.AllowUnverifiedEmailLogin = false
	})
	e.register("a@example.com")
	r := e.do("POST", "/api/auth/login", map[string]string{"email": "a@example.com", "password": "Password123!"})
	if r.status != 422 || r.json(t)["message"] != "Email not verified." {
		t.Fatalf("unverified login: %d %s", r.status, r.body)
	}
	// The verification mail carries a token that verifies the address.
	sent := e.parts.Mailer.Sent()
	if len(sent) != 1 {
		t.Fatalf("sent %d mails", len(sent))
	}
	link, _ := url.Parse(sent[0].Link)
	if r := e.do("POST", "/api/user/verify", map[string]string{"email": "a@example.com", "token": "wrong"}); r.status != 400 {
		t.Fatalf("wrong verify token: %d %s", r.status, r.body)
	}
	// A wrong guess spends the token: ask for a new one.
	e.do("POST", "/api/user/verify/resend", map[string]string{"email": "a@example.com"})
	sent = e.parts.Mailer.Sent()
	link, _ = url.Parse(sent[len(sent)-1].Link)
	if r := e.do("POST", "/api/user/verify", map[string]string{"email": "a@example.com", "token": link.Query().Get("token")}); r.status != 200 {
		t.Fatalf("verify: %d %s", r.status, r.body)
	}
	tok, _ := e.login("a@example.com", "Password123!")

	u, err := e.a.Store.UserByEmail(context.Background(), "a@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.a.Store.SetUserAccess(context.Background(), u.ID, u.Role, true, e.a.Clock.Now()); err != nil {
		t.Fatal(err)
	}
	if r := e.do("POST", "/api/auth/login", map[string]string{"email": "a@example.com", "password": "Password123!"}); r.status != 403 {
		t.Fatalf("disabled login: %d %s", r.status, r.body)
	}
	if r := e.do("GET", "/api/user", nil, bearer(tok)); r.status != 401 {
		t.Fatalf("disabled user's token still works: %d", r.status)
	}
}

func TestRegistrationRules(t *testing.T) {
	e := newEnv(t, func(c *config.Config) { c.File.Registration.AllowedDomains = []string{"example.com"} })
	bad := regBody("a@example.com")
	bad["confirm_password"] = "Other12345!"
	if r := e.do("POST", "/api/auth/register", bad); r.status != 404 || !strings.Contains(r.json(t)["message"].(string), "The passwords did not match") {
		t.Fatalf("mismatch: %d %s", r.status, r.body)
	}
	bad = regBody("a@example.com")
	bad["username"] = "x'; drop"
	if r := e.do("POST", "/api/auth/register", bad); r.status != 404 || !strings.Contains(string(r.body), "username") {
		t.Fatalf("username: %d %s", r.status, r.body)
	}
	if r := e.do("POST", "/api/auth/register", regBody("a@other.org")); r.status != 403 {
		t.Fatalf("domain not allowed: %d %s", r.status, r.body)
	}
	if n, _ := e.a.Store.CountUsers(context.Background()); n != 0 {
		t.Fatalf("rejected registrations stored %d users", n)
	}
	closed := newEnv(t, func(c *config.Config) { c.Auth.AllowRegistration = false })
	if r := closed.do("POST", "/api/auth/register", regBody("a@example.com")); r.status != 403 || r.json(t)["message"] != "Registration is not allowed." {
		t.Fatalf("registration off: %d %s", r.status, r.body)
	}
}

func TestRateLimits(t *testing.T) {
	e := newEnv(t, func(c *config.Config) { c.Auth.LoginMax, c.Auth.RegisterMax = 3, 2 })
	e.register("a@example.com")
	e.register("b@example.com")
	if r := e.do("POST", "/api/auth/register", regBody("c@example.com")); r.status != 429 {
		t.Fatalf("third registration: %d %s", r.status, r.body)
	}
	for i := 0; i < 3; i++ {
		e.do("POST", "/api/auth/login", map[string]string{"email": "a@example.com", "password": "wrong-password"})
	}
	r := e.do("POST", "/api/auth/login", map[string]string{"email": "a@example.com", "password": "Password123!"})
	if r.status != 429 || r.json(t)["message"] != "Too many login attempts, please try again after 5 minutes." {
		t.Fatalf("fourth login: %d %s", r.status, r.body)
	}
	e.parts.Clock.Advance(5 * time.Minute)
	e.login("a@example.com", "Password123!")
}

func TestAccessTokenChecks(t *testing.T) {
	e := newEnv(t, nil)
	if r := e.do("GET", "/api/user", nil); r.status != 401 || string(r.body) != `{"message":"No auth token"}` {
		t.Fatalf("no token: %d %s", r.status, r.body)
	}
	if r := e.do("GET", "/api/user", nil, bearer("garbage")); r.status != 401 {
		t.Fatalf("garbage token: %d", r.status)
	}
	e.register("a@example.com")
	tok, refresh := e.login("a@example.com", "Password123!")
	// A refresh token is not an access token (distinct secrets).
	if r := e.do("GET", "/api/user", nil, bearer(refresh)); r.status != 401 {
		t.Fatalf("refresh token accepted as access token: %d", r.status)
	}
	e.parts.Clock.Advance(16 * time.Minute)
	if r := e.do("GET", "/api/user", nil, bearer(tok)); r.status != 401 || r.json(t)["message"] != "jwt expired" {
		t.Fatalf("expired token: %d %s", r.status, r.body)
	}
}

func TestRefreshRotation(t *testing.T) {
	e := newEnv(t, nil)
	if r := e.do("POST", "/api/auth/refresh", nil); r.status != 200 || string(r.body) != "Refresh token not provided" {
		t.Fatalf("no cookie: %d %s", r.status, r.body)
	}
	e.register("a@example.com")
	_, t0 := e.login("a@example.com", "Password123!")

	refresh := func(tok string) resp { return e.do("POST", "/api/auth/refresh", nil, withCookie("refreshToken", tok)) }
	r := refresh(t0)
	if r.status != 200 || r.json(t)["token"] == nil {
		t.Fatalf("refresh: %d %s", r.status, r.body)
	}
	if _, ok := r.json(t)["user"].(map[string]any)["id"]; ok {
		t.Fatalf("refresh user has id: %s", r.body)
	}
	t1 := r.cookie("refreshToken").Value
	if t1 == t0 {
		t.Fatal("refresh token was not rotated")
	}
	// A second tab sending the previous token within the grace window is fine.
	r = refresh(t0)
	if r.status != 200 || r.json(t)["token"] == nil {
		t.Fatalf("previous token within grace: %d %s", r.status, r.body)
	}
	if c := r.cookie("refreshToken"); c != nil {
		t.Fatalf("grace refresh replaced the cookie the rotation set: %+v", c)
	}
	e.parts.Clock.Advance(time.Minute)
	r = refresh(t1)
	if r.status != 200 {
		t.Fatalf("current token: %d %s", r.status, r.body)
	}
	t3 := r.cookie("refreshToken").Value
	// t0 is now two rotations old: reuse. The whole family is revoked.
	if r := refresh(t0); r.status != 401 {
		t.Fatalf("reused token: %d %s", r.status, r.body)
	}
	if r := refresh(t3); r.status != 401 {
		t.Fatalf("family not revoked after reuse: %d %s", r.status, r.body)
	}
	if r := refresh("not.a.jwt"); r.status != 403 {
		t.Fatalf("bad token: %d", r.status)
	}

	// Another login is a separate family and survives.
	_, other := e.login("a@example.com", "Password123!")
	if r := refresh(other); r.status != 200 {
		t.Fatalf("other family: %d %s", r.status, r.body)
	}
}

func TestRefreshGraceExpires(t *testing.T) {
	e := newEnv(t, nil)
	e.register("a@example.com")
	_, t0 := e.login("a@example.com", "Password123!")
	r := e.do("POST", "/api/auth/refresh", nil, withCookie("refreshToken", t0))
	t1 := r.cookie("refreshToken").Value
	e.parts.Clock.Advance(11 * time.Second)
	if r := e.do("POST", "/api/auth/refresh", nil, withCookie("refreshToken", t0)); r.status != 401 {
		t.Fatalf("previous token after grace: %d", r.status)
	}
	if r := e.do("POST", "/api/auth/refresh", nil, withCookie("refreshToken", t1)); r.status != 401 {
		t.Fatalf("family survived reuse: %d", r.status)
	}
}

func TestConcurrentRefresh(t *testing.T) {
	e := newEnv(t, nil)
	e.register("a@example.com")
	_, t0 := e.login("a@example.com", "Password123!")
	var wg sync.WaitGroup
	codes := make([]int, 4)
	for i := range codes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes[i] = e.do("POST", "/api/auth/refresh", nil, withCookie("refreshToken", t0)).status
		}()
	}
	wg.Wait()
	for i, c := range codes {
		if c != 200 {
			t.Fatalf("tab %d got %d: %v", i, c, codes)
		}
	}
}

func TestLogout(t *testing.T) {
	e := newEnv(t, nil)
	e.register("a@example.com")
	e.register("b@example.com")
	tokA, refA := e.login("a@example.com", "Password123!")
	_, refB := e.login("b@example.com", "Password123!")
	// A's logout carrying B's refresh cookie must not end B's session.
	r := e.do("POST", "/api/auth/logout", nil, bearer(tokA), withCookie("refreshToken", refB))
	if r.status != 200 {
		t.Fatalf("logout: %d %s", r.status, r.body)
	}
	if r := e.do("POST", "/api/auth/refresh", nil, withCookie("refreshToken", refB)); r.status != 200 {
		t.Fatalf("B logged out by A: %d", r.status)
	}
	r = e.do("POST", "/api/auth/logout", nil, bearer(tokA), withCookie("refreshToken", refA))
	if r.status != 200 || string(r.body) != `{"message":"Logout successful"}` {
		t.Fatalf("logout: %d %s", r.status, r.body)
	}
	if c := r.cookie("refreshToken"); c == nil || c.Value != "" || !c.Expires.Before(time.Unix(1, 0)) {
		t.Fatalf("refresh cookie not cleared: %+v", c)
	}
	if r := e.do("POST", "/api/auth/refresh", nil, withCookie("refreshToken", refA)); r.status != 401 {
		t.Fatalf("refresh after logout: %d", r.status)
	}
	if r := e.do("POST", "/api/auth/logout", nil); r.status != 401 {
		t.Fatalf("logout without token: %d", r.status)
	}
}

func TestBcryptImportIsRehashed(t *testing.T) {
	e := newEnv(t, nil)
	hash, err := bcrypt.GenerateFromPassword([]byte("Imported123!"), 4)
	if err != nil {
		t.Fatal(err)
	}
	now := e.parts.Clock.Now()
	u := &librechat.User{ID: "6b0858f5a60555e69ee65a66", Name: "Imported", Email: "old@example.com", Provider: "local",
		Role: "USER", EmailVerified: true, PasswordHash: string(hash), CreatedAt: now, UpdatedAt: now}
	if err := e.a.Store.CreateUser(context.Background(), u); err != nil {
		t.Fatal(err)
	}
	if r := e.do("POST", "/api/auth/login", map[string]string{"email": "old@example.com", "password": "Wrong12345!"}); r.status != 404 {
		t.Fatalf("wrong password on bcrypt hash: %d", r.status)
	}
	e.login("old@example.com", "Imported123!")
	got, _ := e.a.Store.UserByID(context.Background(), u.ID)
	if !strings.HasPrefix(got.PasswordHash, "$argon2id$") {
		t.Fatalf("bcrypt hash not replaced: %s", got.PasswordHash)
	}
	e.login("old@example.com", "Imported123!")
}

func TestPasswordReset(t *testing.T) {
	e := newEnv(t, func(c *config.Config) { c.Auth.AllowPasswordReset = true })
	e.register("a@example.com")
	_, oldRefresh := e.login("a@example.com", "Password123!")
	msg := "If an account with that email exists, a password reset link has been sent to it."
	for _, email := range []string{"a@example.com", "nobody@example.com"} {
		r := e.do("POST", "/api/auth/requestPasswordReset", map[string]string{"email": email})
		if r.status != 200 || r.json(t)["message"] != msg {
			t.Fatalf("request reset for %s: %d %s", email, r.status, r.body)
		}
	}
	sent := e.parts.Mailer.Sent()
	if len(sent) != 1 || sent[0].To != "a@example.com" {
		t.Fatalf("mails: %+v", sent)
	}
	link, err := url.Parse(sent[0].Link)
	if err != nil || link.Path != "/reset-password" {
		t.Fatalf("link %q", sent[0].Link)
	}
	body := map[string]string{"userId": link.Query().Get("userId"), "token": link.Query().Get("token"), "password": "NewPass123!", "confirm_password": "NewPass123!"}
	if r := e.do("POST", "/api/auth/resetPassword", body); r.status != 200 || r.json(t)["message"] != "Password reset was successful" {
		t.Fatalf("reset: %d %s", r.status, r.body)
	}
	if r := e.do("POST", "/api/auth/resetPassword", body); r.status != 400 {
		t.Fatalf("token used twice: %d", r.status)
	}
	if r := e.do("POST", "/api/auth/refresh", nil, withCookie("refreshToken", oldRefresh)); r.status != 401 {
		t.Fatalf("sessions survived a reset: %d", r.status)
	}
	e.login("a@example.com", "NewPass123!")

	off := newEnv(t, nil)
	if r := off.do("POST", "/api/auth/requestPasswordReset", map[string]string{"email": "a@example.com"}); r.status != 403 {
		t.Fatalf("reset while disabled: %d", r.status)
	}
}

func TestTwoFactor(t *testing.T) {
	e := newEnv(t, nil)
	e.register("a@example.com")
	tok, _ := e.login("a@example.com", "Password123!")
	r := e.do("POST", "/api/auth/2fa/enable", nil, bearer(tok))
	if r.status != 200 {
		t.Fatalf("enable: %d %s", r.status, r.body)
	}
	var en struct {
		URL   string   `json:"otpauthUrl"`
		Codes []string `json:"backupCodes"`
	}
	_ = json.Unmarshal(r.body, &en)
	u, _ := url.Parse(en.URL)
	secret := u.Query().Get("secret")
	if u.Scheme != "otpauth" || secret == "" || len(en.Codes) != 10 {
		t.Fatalf("enable body: %s", r.body)
	}
	code := func() string {
		c, err := totp.GenerateCode(secret, e.parts.Clock.Now())
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	if r := e.do("POST", "/api/auth/2fa/confirm", map[string]string{"token": "000000"}, bearer(tok)); r.status != 400 {
		t.Fatalf("confirm with a wrong code: %d", r.status)
	}
	if r := e.do("POST", "/api/auth/2fa/confirm", map[string]string{"token": code()}, bearer(tok)); r.status != 200 {
		t.Fatalf("confirm: %d %s", r.status, r.body)
	}
	if r := e.do("GET", "/api/user", nil, bearer(tok)); r.json(t)["twoFactorEnabled"] != true || strings.Contains(string(r.body), secret) {
		t.Fatalf("user after confirm: %s", r.body)
	}
	if stored, _ := e.a.Store.UserByEmail(context.Background(), "a@example.com"); stored.TOTPSecret == "" || strings.Contains(stored.TOTPSecret, secret) {
		t.Fatalf("TOTP secret stored in the clear: %q", stored.TOTPSecret)
	}

	r = e.do("POST", "/api/auth/login", map[string]string{"email": "a@example.com", "password": "Password123!"})
	m := r.json(t)
	if r.status != 200 || m["twoFAPending"] != true || r.cookie("refreshToken") != nil {
		t.Fatalf("login with 2FA: %d %s", r.status, r.body)
	}
	temp := m["tempToken"].(string)
	if r := e.do("POST", "/api/auth/2fa/verify-temp", map[string]string{"tempToken": temp, "token": "123456"}); r.status != 401 {
		t.Fatalf("wrong code: %d", r.status)
	}
	if r := e.do("POST", "/api/auth/2fa/verify-temp", map[string]string{"token": code()}); r.status != 400 {
		t.Fatalf("missing temp token: %d", r.status)
	}
	if r := e.do("POST", "/api/auth/2fa/verify-temp", map[string]string{"tempToken": tok, "token": code()}); r.status != 401 {
		t.Fatalf("access token accepted as temp token: %d", r.status)
	}
	r = e.do("POST", "/api/auth/2fa/verify-temp", map[string]string{"tempToken": temp, "backupCode": en.Codes[0]})
	if r.status != 200 || r.cookie("refreshToken") == nil || r.json(t)["token"] == nil {
		t.Fatalf("backup code: %d %s", r.status, r.body)
	}
	if r := e.do("POST", "/api/auth/2fa/verify-temp", map[string]string{"tempToken": temp, "backupCode": en.Codes[0]}); r.status != 401 {
		t.Fatalf("backup code used twice: %d", r.status)
	}
	if r := e.do("POST", "/api/auth/2fa/verify-temp", map[string]string{"tempToken": temp, "token": code()}); r.status != 200 {
		t.Fatalf("totp code: %d %s", r.status, r.body)
	}
	e.parts.Clock.Advance(6 * time.Minute)
	if r := e.do("POST", "/api/auth/2fa/verify-temp", map[string]string{"tempToken": temp, "token": code()}); r.status != 401 {
		t.Fatalf("expired temp token: %d", r.status)
	}
	tok2, _ := func() (string, string) {
		r := e.do("POST", "/api/auth/login", map[string]string{"email": "a@example.com", "password": "Password123!"})
		r = e.do("POST", "/api/auth/2fa/verify-temp", map[string]string{"tempToken": r.json(t)["tempToken"].(string), "token": code()})
		return r.json(t)["token"].(string), ""
	}()
	r = e.do("POST", "/api/auth/2fa/backup/regenerate", nil, bearer(tok2))
	if r.status != 200 || len(r.json(t)["backupCodes"].([]any)) != 10 {
		t.Fatalf("regenerate: %d %s", r.status, r.body)
	}
	if r := e.do("POST", "/api/auth/2fa/disable", map[string]string{}, bearer(tok2)); r.status != 400 {
		t.Fatalf("disable without code: %d", r.status)
	}
	if r := e.do("POST", "/api/auth/2fa/disable", map[string]string{"token": "000000"}, bearer(tok2)); r.status != 401 {
		t.Fatalf("disable with wrong code: %d", r.status)
	}
	if r := e.do("POST", "/api/auth/2fa/disable", map[string]string{"token": code()}, bearer(tok2)); r.status != 200 {
		t.Fatalf("disable: %d %s", r.status, r.body)
	}
	e.login("a@example.com", "Password123!")
}

func TestBadInput(t *testing.T) {
	e := newEnv(t, nil)
	check := func(name string, r resp, status int) {
		t.Helper()
		m := r.json(t)
		if r.status != status || m["error"] == nil || m["error"] != m["message"] {
			t.Errorf("%s: %d %s", name, r.status, r.body)
		}
	}
	check("malformed", e.do("POST", "/api/auth/login", `{"email":`), 400)
	check("wrong type", e.do("POST", "/api/auth/register", `{"email": 5}`), 400)
	req := httptest.NewRequest("POST", "/api/auth/login", strings.NewReader("email=a"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, req)
	check("content type", resp{status: rec.Code, body: rec.Body.Bytes()}, 415)
	big := `{"name":"` + strings.Repeat("a", 3<<20) + `"}`
	check("too large", e.do("POST", "/api/auth/register", big), 413)
	check("unknown route", e.do("GET", "/api/auth/nope", nil), 404)
	if n, _ := e.a.Store.CountUsers(context.Background()); n != 0 {
		t.Fatalf("bad input stored %d users", n)
	}
}
