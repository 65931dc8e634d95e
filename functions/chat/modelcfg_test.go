package chat_test

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	chatfn "github.com/lcgo/lcgo/functions/chat"
	"github.com/lcgo/lcgo/shared/app/apptest"
	"github.com/lcgo/lcgo/shared/config"
	"github.com/lcgo/lcgo/shared/librechat"
	"github.com/lcgo/lcgo/shared/provider"
)

const secretModels = `models:
  defaults:
    - name: secret-helper
      endpoint: openAI
      model: gpt-4o
      systemMessage: "TOP SECRET SYSTEM MESSAGE"
      parameters:
        temperature: 0.4
        max_tokens: 300
      constraints:
        temperature: {max: 1, onViolation: clamp}
        max_tokens: {max: 500}
`

// TestModelConfigurationInTheChatFlow drives the chat area with the policy
// its Service builds from the models file and the store: the provider gets
// the configuration's system message and parameters, while no frame, no
// stored conversation and no stored message carries the system message,
// and refused requests store nothing.
func TestModelConfigurationInTheChatFlow(t *testing.T) {
	sc := &script{events: hello()}
	a, _ := apptest.New(t, func(c *config.Config) {
		c.Providers.OpenAIKey = "sk-test"
		c.Providers.OpenAIModels = []string{"gpt-4o", "gpt-4o-mini"}
		c.ModelsConfigPath = filepath.Join(c.DataDir, "models.yaml")
		if err := os.WriteFile(c.ModelsConfigPath, []byte(secretModels), 0o600); err != nil {
			t.Fatal(err)
		}
	})
	svc, err := chatfn.Service(a, chatfn.Options{Providers: providers{sc}})
	if err != nil {
		t.Fatal(err)
	}
	h, _ := chatfn.Handler(a, svc, chatfn.Options{})
	e := &env{t: t, a: a, svc: svc, h: h, srv: httptest.NewServer(h)}
	t.Cleanup(e.srv.Close)
	e.aliceID, e.alice = e.user("alice@example.com")
	e.bobID, e.bob = e.user("bob@example.com")

	ctx := context.Background()
	now := a.Clock.Now()
	if err := a.Store.CreateGroup(ctx, &librechat.Group{ID: "g-team", Name: "team", CreatedAt: now, UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}
	if err := a.Store.AddMember(ctx, "g-team", e.aliceID); err != nil {
		t.Fatal(err)
	}
	if err := a.Store.CreateModelConfig(ctx, &librechat.ModelConfig{
		ID: "mc-team", Scope: librechat.ScopeGroup, ScopeID: "g-team", Name: "team", CreatedAt: now, UpdatedAt: now,
		Spec: json.RawMessage(`{"name":"team","endpoint":"openAI","model":"gpt-4o-mini","systemMessage":"TEAM SECRET","allowedTools":[]}`),
	}); err != nil {
		t.Fatal(err)
	}

	body := newChat("hello")
	body["spec"] = "secret-helper"
	body["temperature"] = 1.5 // clamped to 1
	body["promptPrefix"] = "user prefix"
	id := e.start(e.alice, "openAI", body)
	_, ch, cancel := e.stream(e.alice, id, false)
	frames := collect(ch)
	cancel()
	if kinds(frames) == "" || kind(frames[len(frames)-1]) != "final" {
		t.Fatalf("frames %s", kinds(frames))
	}
	for _, f := range frames {
		if strings.Contains(string(f.Data), "SECRET") {
			t.Fatalf("system message sent to the client: %s", f.Data)
		}
	}
	var main provider.Request
	for _, r := range sc.requests() {
		if !strings.HasPrefix(provider.LastUserText(r.Messages), "Write a concise title") {
			main = r
		}
	}
	p := main.Params
	if main.System != "TOP SECRET SYSTEM MESSAGE" || main.Model != "gpt-4o" || p.Temperature == nil || *p.Temperature != 1 || p.MaxTokens == nil || *p.MaxTokens != 300 {
		t.Fatalf("provider request: system %q model %q params %+v", main.System, main.Model, p)
	}
	c, err := a.Store.Conversation(ctx, e.aliceID, id)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(c)
	if strings.Contains(string(raw), "SECRET") || strings.Contains(string(raw), "user prefix") ||
		string(c.Fields["spec"]) != `"secret-helper"` || string(c.Fields["temperature"]) != "1" {
		t.Fatalf("stored conversation %s", raw)
	}
	msgs, _ := a.Store.Messages(ctx, e.aliceID, id)
	raw, _ = json.Marshal(msgs)
	if len(msgs) != 2 || strings.Contains(string(raw), "SECRET") {
		t.Fatalf("stored messages %s", raw)
	}

	// The group's configuration is alice's alone; every refusal is a 4xx
	// before anything is stored.
	before := conversationCount(t, e, e.aliceID) + conversationCount(t, e, e.bobID)
	refusals := []struct {
		name, tok string
		set       map[string]any
		status    int
		want      string
	}{
		{"forbidden model", e.alice, map[string]any{"spec": "secret-helper", "model": "gpt-4o-mini"}, 403, `"type":"illegal_model_request"`},
		{"over the limit", e.alice, map[string]any{"spec": "secret-helper", "max_tokens": 900}, 400, `max_tokens 900 is above the maximum 500`},
		{"unknown configuration", e.alice, map[string]any{"spec": "nope"}, 400, `Model configuration \"nope\" is not available`},
		{"another group's configuration", e.bob, map[string]any{"spec": "team", "model": "gpt-4o-mini"}, 400, `"type":"invalid_request_error"`},
		{"forbidden tool", e.alice, map[string]any{"spec": "team", "model": "gpt-4o-mini", "ephemeralAgent": map[string]any{"web_search": true}}, 403, `Tool \"web_search\" is not allowed`},
	}
	for _, rc := range refusals {
		b := newChat("again")
		for k, v := range rc.set {
			b[k] = v
		}
		code, resp := e.do("POST", "/api/agents/chat/openAI", rc.tok, b)
		if code != rc.status || !strings.Contains(string(resp), rc.want) || strings.Contains(string(resp), "SECRET") {
			t.Errorf("%s: %d %s", rc.name, code, resp)
		}
	}
	if after := conversationCount(t, e, e.aliceID) + conversationCount(t, e, e.bobID); after != before {
		t.Errorf("refused requests stored conversations: %d → %d", before, after)
	}

	// Alice may use her group's configuration.
	b := newChat("team chat")
	b["spec"], b["model"] = "team", "gpt-4o-mini"
	id = e.start(e.alice, "openAI", b)
	_, ch, cancel = e.stream(e.alice, id, false)
	frames = collect(ch)
	cancel()
	for _, f := range frames {
		if strings.Contains(string(f.Data), "SECRET") {
			t.Fatalf("team system message sent to the client: %s", f.Data)
		}
	}
	last := sc.requests()
	var team provider.Request
	for _, r := range last {
		if provider.LastUserText(r.Messages) == "team chat" {
			team = r
		}
	}
	if team.System != "TEAM SECRET" || team.Model != "gpt-4o-mini" {
		t.Errorf("team request: system %q model %q", team.System, team.Model)
	}
}

func conversationCount(t *testing.T, e *env, userID string) int {
	t.Helper()
	cs, _, err := e.a.Store.ListConversations(context.Background(), userID, librechat.ConversationQuery{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	return len(cs)
}
