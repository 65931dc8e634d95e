package config_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	configfn "github.com/lcgo/lcgo/functions/config"
	"github.com/lcgo/lcgo/shared/app"
	"github.com/lcgo/lcgo/shared/app/apptest"
	"github.com/lcgo/lcgo/shared/auth"
	cfgpkg "github.com/lcgo/lcgo/shared/config"
	"github.com/lcgo/lcgo/shared/librechat"
	"github.com/lcgo/lcgo/shared/roles"
	"github.com/lcgo/lcgo/shared/store/sqlite"
)

const testCredsKey = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"

type testEnv struct {
	t      *testing.T
	a      *app.App
	h      http.Handler
	clock  *apptest.Clock
	signer *auth.Signer
	dbPath string
}

// newEnv builds the area over a fresh SQLite store from environment
// variables (LibreChat's names) and an optional librechat.yaml.
func newEnv(t *testing.T, env map[string]string, yaml string) *testEnv {
	t.Helper()
	vars := map[string]string{
		"JWT_SECRET": "test-access-secret", "JWT_REFRESH_SECRET": "test-refresh-secret",
		"CREDS_KEY": testCredsKey,
	}
	for k, v := range env {
		vars[k] = v
	}
	dir := t.TempDir()
	if yaml != "" {
		p := filepath.Join(dir, "librechat.yaml")
		if err := os.WriteFile(p, []byte(yaml), 0o600); err != nil {
			t.Fatal(err)
		}
		vars["CONFIG_PATH"] = p
	}
	cfg, err := cfgpkg.Load(func(k string) (string, bool) { v, ok := vars[k]; return v, ok })
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	ctx := context.Background()
	dbPath := filepath.Join(dir, "db")
	st, err := sqlite.Open(ctx, dbPath)
	if err != nil {
		t.Fatalf("store: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	clock := apptest.NewClock(time.Date(2026, 11, 26, 16, 6, 12, 0, time.UTC))
	a := &app.App{
		Config: cfg, Store: st, Clock: clock, IDs: &app.RandomIDs{Clock: clock},
		HTTP: &http.Client{Timeout: 5 * time.Second},
		Log:  slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	if err := roles.Seed(ctx, st, a.IDs, cfg); err != nil {
		t.Fatal(err)
	}
	h, err := configfn.New(a)
	if err != nil {
		t.Fatal(err)
	}
	signer, _, err := auth.FromApp(a)
	if err != nil {
		t.Fatal(err)
	}
	return &testEnv{t: t, a: a, h: h, clock: clock, signer: signer, dbPath: dbPath}
}

// newUser stores a user with the role and returns it with an access token.
func (e *testEnv) newUser(role string) (*librechat.User, string) {
	e.t.Helper()
	id := e.a.IDs.ObjectID()
	u := &librechat.User{
		ID: id, Name: "User " + id[len(id)-4:], Username: "u" + id, Email: id + "@example.com",
		EmailVerified: true, Provider: librechat.ProviderLocal, Role: role,
		CreatedAt: e.clock.Now(), UpdatedAt: e.clock.Now(),
	}
	if err := e.a.Store.CreateUser(context.Background(), u); err != nil {
		e.t.Fatal(err)
	}
	tok, err := e.signer.Access(u, time.Hour)
	if err != nil {
		e.t.Fatal(err)
	}
	return u, tok
}

type result struct {
	status int
	header http.Header
	body   []byte
}

func (r result) String() string { return fmt.Sprintf("%d %s", r.status, r.body) }

func (r result) object(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("body %q is not a JSON object: %v", r.body, err)
	}
	return m
}

func (e *testEnv) do(method, path, token, body string) result {
	e.t.Helper()
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
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, req)
	return result{status: rec.Code, header: rec.Header(), body: rec.Body.Bytes()}
}

// capture is one recorded exchange of LibreChat's own server.
type capture struct {
	status int
	body   string
}

func loadCapture(t *testing.T, name string) capture {
	t.Helper()
	c := apptest.LoadCapture(t, name)
	return capture{c.Status, c.Body}
}

// member is one key of a JSON object, in document order.
type member struct {
	key string
	raw json.RawMessage
}

// members lists the keys of a JSON object in order.
func members(t *testing.T, data []byte) []member {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(data))
	tok, err := dec.Token()
	if err != nil || tok != json.Delim('{') {
		t.Fatalf("not a JSON object: %s", data)
	}
	var out []member
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			t.Fatal(err)
		}
		out = append(out, member{key: k.(string), raw: raw})
	}
	return out
}

func keysOf(ms []member) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.key
	}
	return out
}

func find(ms []member, key string) (json.RawMessage, bool) {
	for _, m := range ms {
		if m.key == key {
			return m.raw, true
		}
	}
	return nil, false
}

// jsonEqual compares two JSON texts ignoring whitespace and key order.
func jsonEqual(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	xb, _ := json.Marshal(x)
	yb, _ := json.Marshal(y)
	return bytes.Equal(xb, yb)
}
