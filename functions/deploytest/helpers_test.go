package deploytest

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// repoRoot is the module root, two levels above this package.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("module root not found: %v", err)
	}
	return root
}

// goBuild runs `go build [flags] -o out pkg` in the module root with extra
// environment variables (KEY=VALUE) and returns out.
func goBuild(t *testing.T, out, pkg string, flags, env []string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Minute)
	defer cancel()
	args := append([]string{"build"}, flags...)
	args = append(args, "-o", out, pkg)
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = repoRoot(t)
	cmd.Env = append(os.Environ(), env...)
	start := time.Now()
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, b)
	}
	t.Logf("built %s in %s", pkg, time.Since(start).Round(time.Millisecond))
	return out
}

// freeAddr returns a 127.0.0.1 address with a port nobody listens on.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}

// baseEnv is a clean environment for a server under test: nothing from the
// developer's shell except what a process needs to run.
func baseEnv(dataDir string) []string {
	env := []string{
		"DATA_DIR=" + dataDir,
		"JWT_SECRET=" + strings.Repeat("a1", 24),
		"JWT_REFRESH_SECRET=" + strings.Repeat("b2", 24),
		"CREDS_KEY=" + strings.Repeat("0123456789abcdef", 4),
		"APP_TITLE=" + appTitle,
		"HOME=" + dataDir,
		"TMPDIR=" + os.TempDir(),
	}
	if p := os.Getenv("PATH"); p != "" {
		env = append(env, "PATH="+p)
	}
	return env
}

const appTitle = "Deploy Test Chat"

// logBuffer collects a process's output safely across goroutines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// startProcess starts cmd in its own process group, stops the whole group
// when the test ends and shows its output if the test failed.
func startProcess(t *testing.T, name string, cmd *exec.Cmd) *logBuffer {
	t.Helper()
	logs := &logBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	ownProcessGroup(cmd)
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(done)
	}()
	t.Cleanup(func() {
		killProcessGroup(cmd)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Errorf("%s (pid %d) did not exit", name, cmd.Process.Pid)
		}
		if t.Failed() {
			t.Logf("---- %s output ----\n%s", name, logs.String())
		}
	})
	return logs
}

// waitListening waits until something accepts TCP connections on addr.
func waitListening(t *testing.T, addr string, logs *logBuffer) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			_ = c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("nothing listens on %s: %v\n%s", addr, err, logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// request is one HTTP request as a client sends it.
type request struct {
	Method  string
	Path    string
	Query   string
	Header  map[string]string
	Cookies []string // "name=value"
	Body    []byte
}

// response is what came back; Cookies are the Set-Cookie values.
type response struct {
	Status  int
	Header  http.Header
	Cookies []string
	Body    []byte
}

// doer sends one request through a platform (emulated API Gateway and
// Lambda, or the Functions Framework).
type doer func(t *testing.T, r request) response

func jsonBody(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func decode[T any](t *testing.T, res response) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(res.Body, &v); err != nil {
		t.Fatalf("decode %s: %v", res.Body, err)
	}
	return v
}

func expectStatus(t *testing.T, what string, res response, want int) {
	t.Helper()
	if res.Status != want {
		t.Fatalf("%s: status %d, want %d; body %s", what, res.Status, want, res.Body)
	}
}

// cookieValue finds name in Set-Cookie values and returns "name=value" and
// the whole Set-Cookie line.
func cookieValue(cookies []string, name string) (pair, line string) {
	for _, c := range cookies {
		first, _, _ := strings.Cut(c, ";")
		if k, v, ok := strings.Cut(first, "="); ok && strings.TrimSpace(k) == name && v != "" {
			return strings.TrimSpace(first), c
		}
	}
	return "", ""
}

// authFlow registers, logs in, reads the user with the access token and
// refreshes the session with the refresh cookie. secureCookies says whether
// the request is seen as HTTPS, so auth cookies must carry Secure.
func authFlow(t *testing.T, do doer, secureCookies bool) {
	const (
		email    = "ada@example.com"
		password = "analytical-engine-1843"
	)
	jsonHeader := map[string]string{"content-type": "application/json"}

	res := do(t, request{Method: "POST", Path: "/api/auth/register", Header: jsonHeader, Body: jsonBody(t, map[string]string{
		"name": "Ada Lovelace", "username": "ada", "email": email,
		"password": password, "confirm_password": password,
	})})
	expectStatus(t, "register", res, http.StatusOK)

	res = do(t, request{Method: "POST", Path: "/api/auth/login", Header: jsonHeader,
		Body: jsonBody(t, map[string]string{"email": email, "password": password})})
	expectStatus(t, "login", res, http.StatusOK)
	login := decode[struct {
		Token string `json:"token"`
		User  struct {
			Email string `json:"email"`
		} `json:"user"`
	}](t, res)
	if login.Token == "" || login.User.Email != email {
		t.Fatalf("login answered %s", res.Body)
	}
	refresh, line := cookieValue(res.Cookies, "refreshToken")
	if refresh == "" {
		t.Fatalf("login set no refreshToken cookie; cookies %q", res.Cookies)
	}
	if got := strings.Contains(line, "; Secure"); got != secureCookies {
		t.Errorf("refreshToken cookie %q: Secure is %v, want %v", line, got, secureCookies)
	}
	var sent []string
	for _, name := range []string{"refreshToken", "token_provider"} {
		if pair, _ := cookieValue(res.Cookies, name); pair != "" {
			sent = append(sent, pair)
		}
	}

	res = do(t, request{Method: "GET", Path: "/api/user", Header: map[string]string{"authorization": "Bearer " + login.Token}})
	expectStatus(t, "get user", res, http.StatusOK)
	if u := decode[struct {
		Email string `json:"email"`
	}](t, res); u.Email != email {
		t.Fatalf("GET /api/user answered %s", res.Body)
	}

	res = do(t, request{Method: "GET", Path: "/api/user"})
	expectStatus(t, "get user without token", res, http.StatusUnauthorized)

	res = do(t, request{Method: "POST", Path: "/api/auth/refresh", Cookies: sent})
	expectStatus(t, "refresh", res, http.StatusOK)
	if r := decode[struct {
		Token string `json:"token"`
	}](t, res); r.Token == "" {
		t.Fatalf("refresh answered %s", res.Body)
	}
}

// configFlow reads the public startup configuration.
func configFlow(t *testing.T, do doer) {
	res := do(t, request{Method: "GET", Path: "/api/config"})
	expectStatus(t, "GET /api/config", res, http.StatusOK)
	if c := decode[struct {
		AppTitle string `json:"appTitle"`
	}](t, res); c.AppTitle != appTitle {
		t.Fatalf("GET /api/config: appTitle %q, want %q (env not passed?); body %s", c.AppTitle, appTitle, res.Body)
	}
}
