package registry_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lcgo/lcgo/shared/app/apptest"
	"github.com/lcgo/lcgo/shared/chat"
	"github.com/lcgo/lcgo/shared/config"
	"github.com/lcgo/lcgo/shared/provider"
	"github.com/lcgo/lcgo/shared/provider/registry"
	"github.com/lcgo/lcgo/shared/userkeys"
)

// fakeOpenAI answers chat completions with a two-chunk stream and keeps
// every request it saw.
type fakeOpenAI struct {
	mu   sync.Mutex
	reqs []seen
}

type seen struct {
	path    string
	headers http.Header
	body    map[string]any
}

func (f *fakeOpenAI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	var body map[string]any
	_ = json.Unmarshal(b, &body)
	f.mu.Lock()
	f.reqs = append(f.reqs, seen{r.URL.Path, r.Header.Clone(), body})
	f.mu.Unlock()
	w.Header().Set("Content-Type", "text/event-stream")
	for _, c := range []string{
		`{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":"Hi"}}]}`,
		`{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":" there"},"finish_reason":"stop"}]}`,
	} {
		io.WriteString(w, "data: "+c+"\n\n")
	}
	io.WriteString(w, "data: [DONE]\n\n")
}

func (f *fakeOpenAI) last(t *testing.T) seen {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.reqs) == 0 {
		t.Fatal("no request reached the fake provider")
	}
	return f.reqs[len(f.reqs)-1]
}

func load(t *testing.T, env map[string]string, yaml string) *config.Config {
	t.Helper()
	dir := t.TempDir()
	vars := map[string]string{"CONFIG_PATH": filepath.Join(dir, "librechat.yaml")}
	for k, v := range env {
		vars[k] = v
	}
	if err := os.WriteFile(vars["CONFIG_PATH"], []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(func(k string) (string, bool) { v, ok := vars[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func text(t *testing.T, s provider.Streamer) string {
	t.Helper()
	var b strings.Builder
	err := s.Stream(context.Background(), provider.Request{Model: "m", Messages: []provider.Message{{
		Role: provider.RoleUser, Parts: []provider.Part{{Type: provider.PartText, Text: "hello"}},
	}}}, func(e provider.Event) error {
		if e.Kind == provider.EventText {
			b.WriteString(e.Text)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestCustomEndpointHeadersAndParams(t *testing.T) {
	fake := &fakeOpenAI{}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	cfg := load(t, map[string]string{"FAKE_KEY": "sk-fake"}, `
version: 1.2.1
endpoints:
  custom:
    - name: Fake
      apiKey: "${FAKE_KEY}"
      baseURL: "`+srv.URL+`/v1"
      models: {default: [m]}
      headers: {X-Team: blue}
      addParams: {seed: 7, temperature: 0.1}
      dropParams: [top_p]
`)
	ep, ok := cfg.Endpoint("Fake")
	if !ok {
		t.Fatal("endpoint not configured")
	}
	reg := registry.New(cfg, nil, srv.Client(), nil, nil)
	s, err := reg.Streamer(context.Background(), "u1", ep, "m")
	if err != nil {
		t.Fatal(err)
	}
	topP := 0.5
	var got strings.Builder
	err = s.Stream(context.Background(), provider.Request{Model: "m", Params: provider.Params{TopP: &topP}, Messages: []provider.Message{{
		Role: provider.RoleUser, Parts: []provider.Part{{Type: provider.PartText, Text: "hello"}},
	}}}, func(e provider.Event) error { got.WriteString(e.Text); return nil })
	if err != nil || got.String() != "Hi there" {
		t.Fatalf("%q %v", got.String(), err)
	}
	r := fake.last(t)
	if r.path != "/v1/chat/completions" || r.headers.Get("Authorization") != "Bearer sk-fake" || r.headers.Get("X-Team") != "blue" {
		t.Fatalf("request %s %v", r.path, r.headers)
	}
	if r.body["seed"] != 7.0 || r.body["temperature"] != 0.1 {
		t.Fatalf("addParams not applied: %v", r.body)
	}
	if _, ok := r.body["top_p"]; ok {
		t.Fatalf("dropParams not applied: %v", r.body)
	}
	// Server-wide clients are built once.
	s2, _ := reg.Streamer(context.Background(), "u2", ep, "m")
	if s2 != s {
		t.Fatal("server-keyed client rebuilt per request")
	}
}

func TestUserProvidedKeys(t *testing.T) {
	fake := &fakeOpenAI{}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	cfg := load(t, nil, `
version: 1.2.1
endpoints:
  custom:
    - name: Mine
      apiKey: user_provided
      baseURL: user_provided
      models: {default: [m]}
`)
	a, parts := apptest.New(t, nil)
	keys, err := userkeys.New(a.Store, a.Config.CredsKey)
	if err != nil {
		t.Fatal(err)
	}
	reg := registry.New(cfg, keys, srv.Client(), parts.Clock, nil)
	ep, _ := cfg.Endpoint("Mine")
	ctx := context.Background()

	wantType := func(err error, typ string) {
		t.Helper()
		var re *chat.RequestError
		if !errors.As(err, &re) || re.Body["type"] != typ {
			t.Fatalf("err = %v, want type %s", err, typ)
		}
	}
	_, err = reg.Streamer(ctx, "alice", ep, "m")
	wantType(err, "no_user_key")

	exp := parts.Clock.Now().Add(time.Hour)
	v, _ := json.Marshal(map[string]string{"apiKey": "sk-alice", "baseURL": srv.URL + "/v1"})
	if err := keys.Put(ctx, "alice", "Mine", string(v), &exp); err != nil {
		t.Fatal(err)
	}
	s, err := reg.Streamer(ctx, "alice", ep, "m")
	if err != nil {
		t.Fatal(err)
	}
	if got := text(t, s); got != "Hi there" {
		t.Fatalf("reply %q", got)
	}
	if h := fake.last(t).headers.Get("Authorization"); h != "Bearer sk-alice" {
		t.Fatalf("authorization %q", h)
	}
	// Bob has no key of his own and never gets Alice's.
	_, err = reg.Streamer(ctx, "bob", ep, "m")
	wantType(err, "no_user_key")

	parts.Clock.Advance(2 * time.Hour)
	_, err = reg.Streamer(ctx, "alice", ep, "m")
	wantType(err, "expired_user_key")

	if err := keys.Put(ctx, "alice", "Mine", "{not json", nil); err != nil {
		t.Fatal(err)
	}
	_, err = reg.Streamer(ctx, "alice", ep, "m")
	wantType(err, "invalid_user_key")
}

func TestOfflineEndpoint(t *testing.T) {
	cfg := load(t, nil, "version: 1.2.1\n")
	ep, ok := cfg.Endpoint(config.OfflineEndpoint)
	if !ok {
		t.Fatal("offline endpoint missing with no provider configured")
	}
	s, err := registry.New(cfg, nil, nil, nil, nil).Streamer(context.Background(), "u", ep, config.OfflineModel)
	if err != nil {
		t.Fatal(err)
	}
	if got := text(t, s); !strings.Contains(got, "hello") {
		t.Fatalf("offline reply %q does not echo the message", got)
	}
}
