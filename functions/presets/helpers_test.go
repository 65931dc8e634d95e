package presets_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/lcgo/lcgo/functions/presets"
	"github.com/lcgo/lcgo/shared/app"
	"github.com/lcgo/lcgo/shared/app/apptest"
	"github.com/lcgo/lcgo/shared/auth"
	"github.com/lcgo/lcgo/shared/librechat"
)

type testEnv struct {
	t      *testing.T
	a      *app.App
	h      http.Handler
	clock  *apptest.Clock
	signer *auth.Signer
}

func newEnv(t *testing.T) *testEnv {
	t.Helper()
	a, parts := apptest.New(t, nil)
	h, err := presets.New(a)
	if err != nil {
		t.Fatal(err)
	}
	signer, _, err := auth.FromApp(a)
	if err != nil {
		t.Fatal(err)
	}
	return &testEnv{t: t, a: a, h: h, clock: parts.Clock, signer: signer}
}

// newUser stores a USER and returns it with an access token.
func (e *testEnv) newUser(name string) (*librechat.User, string) {
	e.t.Helper()
	id := e.a.IDs.ObjectID()
	now := e.clock.Now()
	u := &librechat.User{
		ID: id, Name: name, Username: name, Email: name + "@example.com", EmailVerified: true,
		Provider: librechat.ProviderLocal, Role: librechat.RoleUser, CreatedAt: now, UpdatedAt: now,
	}
	if err := e.a.Store.CreateUser(context.Background(), u); err != nil {
		e.t.Fatal(err)
	}
	tok, err := e.signer.Access(u, 24*time.Hour)
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

// do sends a request with a JSON body (none when body is "").
func (e *testEnv) do(method, path, token, body string) result {
	e.t.Helper()
	ct := ""
	if body != "" {
		ct = "application/json"
	}
	return e.send(method, path, token, ct, body)
}

// send is do with an explicit content type ("" sends none).
func (e *testEnv) send(method, path, token, contentType, body string) result {
	e.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, path, rd)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, req)
	return result{status: rec.Code, header: rec.Header(), body: rec.Body.Bytes()}
}

// save posts a preset and expects 201.
func (e *testEnv) save(token, body string) map[string]any {
	e.t.Helper()
	res := e.do("POST", "/api/presets", token, body)
	if res.status != http.StatusCreated {
		e.t.Fatalf("save %s: %s", body, res)
	}
	return res.object(e.t)
}

// list gets the user's presets.
func (e *testEnv) list(token string) []map[string]any {
	e.t.Helper()
	res := e.do("GET", "/api/presets", token, "")
	if res.status != http.StatusOK {
		e.t.Fatalf("list: %s", res)
	}
	var out []map[string]any
	if err := json.Unmarshal(res.body, &out); err != nil {
		e.t.Fatalf("list body %q: %v", res.body, err)
	}
	return out
}

// stored is everything stored for a user, for "nothing changed" checks.
func (e *testEnv) stored(u *librechat.User) string {
	e.t.Helper()
	ps, err := e.a.Store.Presets(context.Background(), u.ID)
	if err != nil {
		e.t.Fatal(err)
	}
	b, _ := json.Marshal(ps)
	return string(b)
}

func ids(ps []map[string]any) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i], _ = p["presetId"].(string)
	}
	return out
}

// keys lists the keys of a JSON object in document order.
func keys(t *testing.T, data []byte) []string {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(data))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("not a JSON object: %s", data)
	}
	var out []string
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			t.Fatal(err)
		}
		out = append(out, k.(string))
	}
	return out
}

// errorBody asserts a status and a JSON error naming msg in both keys.
func errorBody(t *testing.T, got result, status int, msg string) {
	t.Helper()
	want, _ := json.Marshal(map[string]string{"error": msg, "message": msg})
	if got.status != status || string(got.body) != string(want) {
		t.Fatalf("got %s, want %d %s", got, status, want)
	}
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
