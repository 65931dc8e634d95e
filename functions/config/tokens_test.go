package config_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/lcgo/lcgo/shared/librechat"
)

const tokensYAML = `version: 1.3.0
endpoints:
  custom:
    - name: Local
      apiKey: sk-local
      baseURL: http://127.0.0.1:9/v1
      models:
        default: [gpt-4o-mini, my-local-llama]
`

const tokensCostYAML = `version: 1.3.0
interface:
  contextCost: true
endpoints:
  custom:
    - name: Local
      apiKey: sk-local
      baseURL: http://127.0.0.1:9/v1
      models:
        default: [gpt-4o-mini, my-local-llama]
`

func TestTokenRoutesNeedAToken(t *testing.T) {
	e := newEnv(t, nil, tokensYAML)
	for _, c := range []struct{ method, path, body string }{
		{"GET", "/api/endpoints/token-config", ""},
		{"POST", "/api/endpoints/context-projection", `{"conversationId":"c","messageId":"m","endpoint":"Local","maxContextTokens":1000}`},
		{"POST", "/api/endpoints/context-projection", `not json`},
	} {
		r := e.do(c.method, c.path, "", c.body)
		if r.status != 401 {
			t.Errorf("%s %s without token: %v", c.method, c.path, r)
		}
	}
}

func TestTokenConfig(t *testing.T) {
	// Without interface.contextCost only the windows are sent: the known
	// model's from the table, the unknown one's the fallback the chat run
	// applies.
	e := newEnv(t, nil, tokensYAML)
	_, tok := e.newUser(librechat.RoleUser)
	r := e.do("GET", "/api/endpoints/token-config", tok, "")
	want := `{"Local":{"gpt-4o-mini":{"context":127500},"my-local-llama":{"context":30400}}}`
	if r.status != 200 || string(r.body) != want {
		t.Errorf("token config\n got %v\nwant %s", r, want)
	}
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("content type %q", ct)
	}

	// With it, the rates in US dollars per million tokens; an unknown model
	// costs the default rate.
	e = newEnv(t, nil, tokensCostYAML)
	_, tok = e.newUser(librechat.RoleUser)
	r = e.do("GET", "/api/endpoints/token-config", tok, "")
	want = `{"Local":{"gpt-4o-mini":{"context":127500,"prompt":0.15,"completion":0.6},` +
		`"my-local-llama":{"context":30400,"prompt":6,"completion":6}}}`
	if r.status != 200 || string(r.body) != want {
		t.Errorf("token config with costs\n got %v\nwant %s", r, want)
	}
	// /api/config advertises both switches the gauge reads.
	in := e.do("GET", "/api/config", tok, "").object(t)["interface"].(map[string]any)
	if in["contextUsage"] != true || in["contextCost"] != true {
		t.Errorf("interface contextUsage=%v contextCost=%v", in["contextUsage"], in["contextCost"])
	}

	// Endpoints and models follow /api/models.
	e = newEnv(t, nil, "")
	_, tok = e.newUser(librechat.RoleUser)
	if r := e.do("GET", "/api/endpoints/token-config", tok, ""); r.status != 200 || string(r.body) != `{"Offline":{"offline-echo":{"context":8192}}}` {
		t.Errorf("offline token config: %v", r)
	}
}

// seedBranch stores a conversation of the user:
//
//	u1 "hello" (6 tokens) → a1 (20) → u2 quoted (estimated 8) → a2 (estimated 104)
//	                              ↘ u2b (50)
func seedBranch(t *testing.T, e *testEnv, userID, convID string) {
	t.Helper()
	now := e.clock.Now()
	msg := func(id, parent string, byUser bool, text string, tokens int) *librechat.Message {
		return &librechat.Message{
			ID: id, ObjectID: e.a.IDs.ObjectID(), ConversationID: convID, UserID: userID, ParentID: parent,
			Text: text, IsCreatedByUser: byUser, TokenCount: tokens, Endpoint: "Local", Model: "gpt-4o-mini",
			Fields: map[string]json.RawMessage{}, CreatedAt: now, UpdatedAt: now,
		}
	}
	u1 := msg("u1", librechat.NoParent, true, "hello", 6)
	a1 := msg("a1", "u1", false, "", 20)
	a1.Content = json.RawMessage(`[{"type":"text","text":"hi there"}]`)
	// The stored count leaves the quotes out; the projection recounts.
	u2 := msg("u2", "a1", true, "why?", 5)
	u2.Fields["quotes"] = json.RawMessage(`["the sky"]`)
	// No stored count: estimated from the text parts.
	a2 := msg("a2", "u2", false, "", 0)
	a2.Content = json.RawMessage(`[{"type":"think","think":"hmm"},{"type":"text","text":"` + strings.Repeat("x", 400) + `"}]`)
	u2b := msg("u2b", "a1", true, "another question", 50)
	if err := e.a.Store.PutMessages(context.Background(), u1, a1, u2, a2, u2b); err != nil {
		t.Fatal(err)
	}
}

func TestContextProjection(t *testing.T) {
	e := newEnv(t, nil, tokensYAML)
	u, tok := e.newUser(librechat.RoleUser)
	seedBranch(t, e, u.ID, "conv-1")
	project := func(body string) result {
		t.Helper()
		return e.do("POST", "/api/endpoints/context-projection", tok, body)
	}

	for _, c := range []struct{ name, body, want string }{{
		// 6 + 20 + 8 + 104 = 138 tokens fit the budget: 1000 less a 5% reserve.
		"whole branch",
		`{"conversationId":"conv-1","messageId":"a2","endpoint":"Local","model":"gpt-4o-mini","maxContextTokens":1000,"revision":3}`,
		`{"agentId":"projection","breakdown":{"maxContextTokens":1000,"instructionTokens":0,"systemMessageTokens":0,` +
			`"dynamicInstructionTokens":0,"toolSchemaTokens":0,"summaryTokens":0,"toolCount":0,"messageCount":4,` +
			`"messageTokens":138,"availableForMessages":950,"toolTokenCounts":{}},"contextBudget":950,` +
			`"effectiveInstructionTokens":0,"prePruneContextTokens":138,"remainingContextTokens":812,"calibrationRatio":1}`,
	}, {
		// Budget 140 - 7 = 133: the newest three (104 + 8 + 20) fit, u1 does not.
		"pruned",
		`{"conversationId":"conv-1","messageId":"a2","endpoint":"Local","maxContextTokens":140,"agentId":"agent_x"}`,
		`{"agentId":"agent_x","breakdown":{"maxContextTokens":140,"instructionTokens":0,"systemMessageTokens":0,` +
			`"dynamicInstructionTokens":0,"toolSchemaTokens":0,"summaryTokens":0,"toolCount":0,"messageCount":3,` +
			`"messageTokens":132,"availableForMessages":133,"toolTokenCounts":{}},"contextBudget":133,` +
			`"effectiveInstructionTokens":0,"prePruneContextTokens":138,"remainingContextTokens":1,"calibrationRatio":1}`,
	}, {
		// The sibling branch: 6 + 20 + 50.
		"other branch",
		`{"conversationId":"conv-1","messageId":"u2b","endpoint":"Local","maxContextTokens":1000}`,
		`{"agentId":"projection","breakdown":{"maxContextTokens":1000,"instructionTokens":0,"systemMessageTokens":0,` +
			`"dynamicInstructionTokens":0,"toolSchemaTokens":0,"summaryTokens":0,"toolCount":0,"messageCount":3,` +
			`"messageTokens":76,"availableForMessages":950,"toolTokenCounts":{}},"contextBudget":950,` +
			`"effectiveInstructionTokens":0,"prePruneContextTokens":76,"remainingContextTokens":874,"calibrationRatio":1}`,
	}, {
		// A seeded calibration ratio scales the counts.
		"calibrated",
		`{"conversationId":"conv-1","messageId":"a2","endpoint":"Local","maxContextTokens":1000,"calibrationRatio":2}`,
		`{"agentId":"projection","breakdown":{"maxContextTokens":1000,"instructionTokens":0,"systemMessageTokens":0,` +
			`"dynamicInstructionTokens":0,"toolSchemaTokens":0,"summaryTokens":0,"toolCount":0,"messageCount":4,` +
			`"messageTokens":276,"availableForMessages":950,"toolTokenCounts":{}},"contextBudget":950,` +
			`"effectiveInstructionTokens":0,"prePruneContextTokens":276,"remainingContextTokens":674,"calibrationRatio":2}`,
	}, {
		// An extreme ratio is held to 5.
		"clamped ratio",
		`{"conversationId":"conv-1","messageId":"a2","endpoint":"Local","maxContextTokens":1000,"calibrationRatio":1e300}`,
		`{"agentId":"projection","breakdown":{"maxContextTokens":1000,"instructionTokens":0,"systemMessageTokens":0,` +
			`"dynamicInstructionTokens":0,"toolSchemaTokens":0,"summaryTokens":0,"toolCount":0,"messageCount":4,` +
			`"messageTokens":690,"availableForMessages":950,"toolTokenCounts":{}},"contextBudget":950,` +
			`"effectiveInstructionTokens":0,"prePruneContextTokens":690,"remainingContextTokens":260,"calibrationRatio":5}`,
	}} {
		r := project(c.body)
		if r.status != 200 || string(r.body) != c.want {
			t.Errorf("%s\n got %v\nwant %s", c.name, r, c.want)
		}
	}

	// Nothing to project: null, as LibreChat answers.
	for _, body := range []string{
		``,
		`null`,
		`{}`,
		`{"conversationId":"conv-1"}`,
		`{"conversationId":"conv-1","messageId":"","maxContextTokens":1000}`,
		`{"conversationId":"conv-1","messageId":"a2","endpoint":"Local"}`,
		`{"conversationId":"conv-1","messageId":"a2","endpoint":"Local","maxContextTokens":0}`,
		`{"conversationId":"conv-1","messageId":"a2","endpoint":"Local","maxContextTokens":-5}`,
		`{"conversationId":"conv-1","messageId":"missing","endpoint":"Local","maxContextTokens":1000}`,
		`{"conversationId":"no-such-conv","messageId":"a2","endpoint":"Local","maxContextTokens":1000}`,
	} {
		if r := project(body); r.status != 200 || string(r.body) != "null" {
			t.Errorf("%s: %v", body, r)
		}
	}

	// Another user's conversation is not theirs to project.
	_, other := e.newUser(librechat.RoleUser)
	body := `{"conversationId":"conv-1","messageId":"a2","endpoint":"Local","maxContextTokens":1000}`
	if r := e.do("POST", "/api/endpoints/context-projection", other, body); r.status != 200 || string(r.body) != "null" {
		t.Errorf("other user: %v", r)
	}

	// A summarized branch is left to the client's estimate.
	a1, err := e.a.Store.Message(context.Background(), u.ID, "conv-1", "a1")
	if err != nil {
		t.Fatal(err)
	}
	a1.Fields["metadata"] = json.RawMessage(`{"summaryUsedTokens":12}`)
	if err := e.a.Store.PutMessages(context.Background(), a1); err != nil {
		t.Fatal(err)
	}
	if r := project(body); r.status != 200 || string(r.body) != "null" {
		t.Errorf("summarized: %v", r)
	}
}

func TestContextProjectionRefusesMalformedBodies(t *testing.T) {
	e := newEnv(t, nil, tokensYAML)
	_, tok := e.newUser(librechat.RoleUser)
	for _, c := range []struct{ body, msg string }{
		{`not json`, "Request body must be a single JSON object"},
		{`{"conversationId":`, "Request body must be a single JSON object"},
		{`[]`, "Request body must be a single JSON object"},
		{`"conv-1"`, "Request body must be a single JSON object"},
		{`42`, "Request body must be a single JSON object"},
		{`{"conversationId":"c"} {}`, "Request body must be a single JSON object"},
		{`{"conversationId":5,"messageId":"a2"}`, `Invalid JSON: field "conversationId" must be a string`},
		{`{"conversationId":"c","messageId":["a2"]}`, `Invalid JSON: field "messageId" must be a string`},
		{`{"conversationId":"c","messageId":"a2","endpoint":{}}`, `Invalid JSON: field "endpoint" must be a string`},
		{`{"conversationId":"c","messageId":"a2","model":true}`, `Invalid JSON: field "model" must be a string`},
		{`{"conversationId":"c","messageId":"a2","maxContextTokens":"1000"}`, `Invalid JSON: field "maxContextTokens" must be a number`},
		{`{"conversationId":"c","messageId":"a2","maxContextTokens":1000,"calibrationRatio":"1.2"}`, `Invalid JSON: field "calibrationRatio" must be a number`},
		{`{"conversationId":"c","messageId":"a2","maxContextTokens":1e300}`, "maxContextTokens must be at most 9007199254740991"},
	} {
		r := e.do("POST", "/api/endpoints/context-projection", tok, c.body)
		if r.status != 400 {
			t.Errorf("%s: %v", c.body, r)
			continue
		}
		got := r.object(t)
		if got["error"] != c.msg || got["message"] != c.msg {
			t.Errorf("%s: body %s, want message %q", c.body, r.body, c.msg)
		}
	}
}
