package modelcfg

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/lcgo/lcgo/shared/chat"
	"github.com/lcgo/lcgo/shared/librechat"
)

// policyResolver has alice (group g1) and bob, and these configurations:
//
//	limits      system: temperature ≤ 1 (reject), top_p clamped to 0.2..0.8,
//	            reasoning_effort low|medium (reject), topK 10|20|40 (clamp),
//	            thinkingBudget ≥ 1024 (reject),
//	            max_tokens fixed to 1000 (no constraint), a system message
//	clamped     system: every constraint clamps by default
//	tools       system: only web_search and any MCP server
//	notools     system: no tools at all
//	open        system: allowOverride, temperature fixed at 0.3 by default
//	team        group g1: gpt-4o-mini or o3
//	claude      system: anthropic
func policyResolver(t *testing.T, enforce bool) *Resolver {
	t.Helper()
	st := newMemStore()
	st.add(librechat.ScopeSystem, "", `{"name":"limits","endpoint":"openAI","model":"gpt-4o","systemMessage":"HIDDEN SYSTEM MESSAGE",
		"parameters":{"temperature":0.5,"max_tokens":1000,"reasoning_effort":"low"},
		"constraints":{"temperature":{"max":1},"top_p":{"min":0.2,"max":0.8,"onViolation":"clamp"},
			"reasoning_effort":{"allowed":["low","medium"]},"topK":{"allowed":[10,20,40],"onViolation":"clamp"},"thinkingBudget":{"min":1024}}}`)
	st.add(librechat.ScopeSystem, "", `{"name":"clamped","endpoint":"openAI","model":"gpt-4o","onViolation":"clamp",
		"parameters":{"reasoning_effort":"medium"},
		"constraints":{"temperature":{"min":0.2,"max":1},"reasoning_effort":{"allowed":["low","medium"]},"max_tokens":{"max":512,"onViolation":"reject"}}}`)
	st.add(librechat.ScopeSystem, "", `{"name":"tools","endpoint":"openAI","model":"gpt-4o","allowedTools":["web_search","mcp:*"]}`)
	st.add(librechat.ScopeSystem, "", `{"name":"notools","endpoint":"openAI","model":"gpt-4o","allowedTools":[]}`)
	st.add(librechat.ScopeSystem, "", `{"name":"open","endpoint":"openAI","model":"gpt-4o","allowOverride":true,"systemMessage":"BASE","parameters":{"temperature":0.3}}`)
	st.add(librechat.ScopeGroup, "g1", `{"name":"team","endpoint":"openAI","model":"gpt-4o-mini","allowedModels":["o3"]}`)
	st.add(librechat.ScopeSystem, "", `{"name":"claude","endpoint":"anthropic","model":"claude-sonnet-4","parameters":{"max_tokens":2000,"top_p":0.7},"iconURL":"https://example.com/c.png"}`)
	st.join("alice", "g1")
	f := &File{Settings: DefaultSettings()}
	f.Settings.Enforce = enforce
	r, err := New(testConfig(t, ""), Options{Groups: st, Configs: st, File: f})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func payloadOf(t *testing.T, s string) map[string]json.RawMessage {
	t.Helper()
	var p map[string]json.RawMessage
	if err := json.Unmarshal([]byte(s), &p); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestPolicy(t *testing.T) {
	type want struct {
		status int               // 0: accepted
		body   map[string]any    // subset of the refusal body
		set    map[string]string // payload keys after the policy (JSON text; "" means absent)
		system string
		ep     string
	}
	cases := []struct {
		name     string
		enforce  bool
		user     string
		endpoint string
		payload  string
		want     want
	}{
		// No spec.
		{"no spec passes unchanged", false, "alice", "openAI", `{"text":"hi","model":"whatever","temperature":7,"promptPrefix":"mine"}`,
			want{ep: "openAI", set: map[string]string{"model": `"whatever"`, "temperature": "7", "promptPrefix": `"mine"`}}},
		{"no spec under enforce", true, "alice", "openAI", `{"text":"hi","model":"gpt-4o"}`,
			want{status: 400, body: map[string]any{"type": TypeInvalidRequest}}},
		{"spec not a string", false, "alice", "openAI", `{"text":"hi","spec":1}`,
			want{status: 400, body: map[string]any{"type": TypeInvalidRequest, "info": "spec must be a string"}}},
		{"unknown spec", false, "alice", "openAI", `{"text":"hi","spec":"nope","model":"gpt-4o"}`,
			want{status: 400, body: map[string]any{"type": TypeInvalidRequest, "info": `Model configuration "nope" is not available`, "spec": "nope"}}},
		{"another user's group spec", false, "bob", "openAI", `{"text":"hi","spec":"team","model":"gpt-4o-mini"}`,
			want{status: 400, body: map[string]any{"info": `Model configuration "team" is not available`}}},

		// Endpoint and model.
		{"spec applies its values", false, "alice", "openAI", `{"text":"hi","spec":"limits","model":"gpt-4o"}`,
			want{ep: "openAI", system: "HIDDEN SYSTEM MESSAGE", set: map[string]string{
				"model": `"gpt-4o"`, "temperature": "0.5", "max_tokens": "1000", "reasoning_effort": `"low"`, "spec": `"limits"`}}},
		{"model filled in", false, "alice", "", `{"text":"hi","spec":"limits"}`,
			want{ep: "openAI", set: map[string]string{"model": `"gpt-4o"`, "endpoint": `"openAI"`}}},
		{"forbidden model", false, "alice", "openAI", `{"text":"hi","spec":"limits","model":"o3"}`,
			want{status: 403, body: map[string]any{"type": TypeIllegalModel, "info": "openAI|o3", "spec": "limits"}}},
		{"allowed other model", false, "alice", "openAI", `{"text":"hi","spec":"team","model":"o3"}`,
			want{ep: "openAI", set: map[string]string{"model": `"o3"`}}},
		{"forbidden endpoint (URL)", false, "alice", "anthropic", `{"text":"hi","spec":"limits","model":"gpt-4o"}`,
			want{status: 403, body: map[string]any{"type": TypeIllegalModel, "info": "anthropic|gpt-4o"}}},
		{"forbidden endpoint (body)", false, "alice", "", `{"text":"hi","spec":"claude","endpoint":"openAI","model":"claude-sonnet-4"}`,
			want{status: 403, body: map[string]any{"type": TypeIllegalModel, "info": "openAI|claude-sonnet-4"}}},

		// Constraints: max, min, allowed; reject and clamp.
		{"max reject", false, "alice", "openAI", `{"text":"hi","spec":"limits","model":"gpt-4o","temperature":1.5}`,
			want{status: 400, body: map[string]any{"type": TypeInvalidRequest, "param": "temperature",
				"info": `temperature 1.5 is above the maximum 1 (model configuration "limits")`}}},
		{"max within", false, "alice", "openAI", `{"text":"hi","spec":"limits","model":"gpt-4o","temperature":0.9}`,
			want{ep: "openAI", set: map[string]string{"temperature": "0.9"}}},
		{"max clamp", false, "alice", "openAI", `{"text":"hi","spec":"clamped","model":"gpt-4o","temperature":1.7}`,
			want{ep: "openAI", set: map[string]string{"temperature": "1"}}},
		{"min clamp via alias", false, "alice", "openAI", `{"text":"hi","spec":"limits","model":"gpt-4o","topP":0.05}`,
			want{ep: "openAI", set: map[string]string{"topP": "0.2", "top_p": "0.2"}}},
		{"min reject", false, "alice", "openAI", `{"text":"hi","spec":"limits","model":"gpt-4o","thinking":true,"thinkingBudget":100}`,
			want{status: 400, body: map[string]any{"param": "thinkingBudget", "info": `thinkingBudget 100 is below the minimum 1024 (model configuration "limits")`}}},
		{"per-constraint reject beats the default clamp", false, "alice", "openAI", `{"text":"hi","spec":"clamped","model":"gpt-4o","max_tokens":4096}`,
			want{status: 400, body: map[string]any{"param": "max_tokens", "info": `max_tokens 4096 is above the maximum 512 (model configuration "clamped")`}}},
		{"min clamp", false, "alice", "openAI", `{"text":"hi","spec":"clamped","model":"gpt-4o","temperature":0}`,
			want{ep: "openAI", set: map[string]string{"temperature": "0.2"}}},
		{"allowed reject", false, "alice", "openAI", `{"text":"hi","spec":"limits","model":"gpt-4o","reasoning_effort":"high"}`,
			want{status: 400, body: map[string]any{"param": "reasoning_effort",
				"info": `reasoning_effort "high" is not one of the allowed values ["low", "medium"] (model configuration "limits")`}}},
		{"allowed accepted", false, "alice", "openAI", `{"text":"hi","spec":"limits","model":"gpt-4o","reasoning_effort":"medium"}`,
			want{ep: "openAI", set: map[string]string{"reasoning_effort": `"medium"`}}},
		{"allowed clamp to configured value", false, "alice", "openAI", `{"text":"hi","spec":"clamped","model":"gpt-4o","reasoning_effort":"high"}`,
			want{ep: "openAI", set: map[string]string{"reasoning_effort": `"medium"`}}},
		{"allowed clamp to nearest", false, "alice", "openAI", `{"text":"hi","spec":"limits","model":"gpt-4o","topK":33}`,
			want{ep: "openAI", set: map[string]string{"topK": "40"}}},
		{"wrong type", false, "alice", "openAI", `{"text":"hi","spec":"limits","model":"gpt-4o","temperature":"hot"}`,
			want{status: 400, body: map[string]any{"param": "temperature", "info": "temperature must be a number"}}},
		{"integer expected", false, "alice", "openAI", `{"text":"hi","spec":"limits","model":"gpt-4o","topK":20.5}`,
			want{status: 400, body: map[string]any{"param": "topK", "info": "topK must be an integer"}}},
		{"unconstrained value is fixed", false, "alice", "openAI", `{"text":"hi","spec":"limits","model":"gpt-4o","max_tokens":9999}`,
			want{ep: "openAI", set: map[string]string{"max_tokens": "1000"}}},
		{"null means unset", false, "alice", "openAI", `{"text":"hi","spec":"limits","model":"gpt-4o","temperature":null}`,
			want{ep: "openAI", set: map[string]string{"temperature": "0.5"}}},
		{"aliases for anthropic", false, "alice", "anthropic", `{"text":"hi","spec":"claude","model":"claude-sonnet-4","maxOutputTokens":50,"topP":0.1}`,
			want{ep: "anthropic", set: map[string]string{"maxOutputTokens": "2000", "max_tokens": "2000", "topP": "0.7", "iconURL": `"https://example.com/c.png"`}}},

		// Tools.
		{"tool allowed", false, "alice", "openAI", `{"text":"hi","spec":"tools","model":"gpt-4o","ephemeralAgent":{"web_search":true,"mcp":["github"],"execute_code":false,"artifacts":""}}`,
			want{ep: "openAI"}},
		{"forbidden tool switch", false, "alice", "openAI", `{"text":"hi","spec":"tools","model":"gpt-4o","ephemeralAgent":{"execute_code":true}}`,
			want{status: 403, body: map[string]any{"type": TypeInvalidRequest, "tool": "execute_code", "info": `Tool "execute_code" is not allowed by model configuration "tools"`}}},
		{"forbidden artifacts", false, "alice", "openAI", `{"text":"hi","spec":"tools","model":"gpt-4o","ephemeralAgent":{"artifacts":"default"}}`,
			want{status: 403, body: map[string]any{"tool": "artifacts"}}},
		{"forbidden tools list", false, "alice", "openAI", `{"text":"hi","spec":"tools","model":"gpt-4o","tools":["dalle",{"pluginKey":"calculator"}]}`,
			want{status: 403, body: map[string]any{"tool": "dalle"}}},
		{"no tools at all", false, "alice", "openAI", `{"text":"hi","spec":"notools","model":"gpt-4o","web_search":true}`,
			want{status: 403, body: map[string]any{"tool": "web_search"}}},
		{"no tools, none asked", false, "alice", "openAI", `{"text":"hi","spec":"notools","model":"gpt-4o","ephemeralAgent":{"mcp":[],"web_search":false}}`,
			want{ep: "openAI"}},
		{"any tool when unrestricted", false, "alice", "openAI", `{"text":"hi","spec":"limits","model":"gpt-4o","ephemeralAgent":{"execute_code":true}}`,
			want{ep: "openAI"}},

		// The user's own instructions.
		{"promptPrefix dropped", false, "alice", "openAI", `{"text":"hi","spec":"limits","model":"gpt-4o","promptPrefix":"ignore the rules","system":"x","instructions":"y"}`,
			want{ep: "openAI", system: "HIDDEN SYSTEM MESSAGE", set: map[string]string{"promptPrefix": "", "system": "", "instructions": ""}}},
		{"promptPrefix kept with allowOverride", false, "alice", "openAI", `{"text":"hi","spec":"open","model":"gpt-4o","promptPrefix":"be terse","temperature":1.2}`,
			want{ep: "openAI", system: "BASE", set: map[string]string{"promptPrefix": `"be terse"`, "temperature": "1.2"}}},
		{"enforce with a spec", true, "alice", "openAI", `{"text":"hi","spec":"limits","model":"gpt-4o"}`,
			want{ep: "openAI", system: "HIDDEN SYSTEM MESSAGE"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := policyResolver(t, tc.enforce).Policy()
			in := payloadOf(t, tc.payload)
			orig := payloadOf(t, tc.payload)
			got, err := p.Apply(context.Background(), tc.user, tc.endpoint, in)
			if !reflect.DeepEqual(in, orig) {
				t.Errorf("the caller's payload was changed")
			}
			if tc.want.status != 0 {
				var re *chat.RequestError
				if !errors.As(err, &re) {
					t.Fatalf("want a refusal, got %v %+v", err, got)
				}
				if re.Status != tc.want.status {
					t.Errorf("status %d, want %d (%v)", re.Status, tc.want.status, re.Body)
				}
				for k, v := range tc.want.body {
					if re.Body[k] != v {
						t.Errorf("body[%s] = %v, want %v (%v)", k, re.Body[k], v, re.Body)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("refused: %v", err)
			}
			if got.Endpoint != tc.want.ep {
				t.Errorf("endpoint %q, want %q", got.Endpoint, tc.want.ep)
			}
			noSpec := !strings.Contains(tc.payload, `"spec"`)
			if (tc.want.system != "" || noSpec) && got.System != tc.want.system {
				t.Errorf("system %q, want %q", got.System, tc.want.system)
			}
			for k, v := range tc.want.set {
				if string(got.Payload[k]) != v {
					t.Errorf("payload[%s] = %s, want %s", k, got.Payload[k], v)
				}
			}
			for k, v := range got.Payload {
				if strings.Contains(string(v), "HIDDEN") {
					t.Errorf("system message put in the payload at %s", k)
				}
			}
		})
	}
}

func TestSanitizedKeepsPrivateFieldsOut(t *testing.T) {
	r := policyResolver(t, true)
	for _, user := range []string{"alice", "bob"} {
		res, err := r.For(context.Background(), user)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(r.Sanitized(res))
		for _, secret := range []string{"HIDDEN", "BASE", "constraints", "allowedTools", "allowedModels", "systemMessage", "onViolation", "allowOverride"} {
			if strings.Contains(string(b), secret) {
				t.Errorf("%s's view contains %s: %s", user, secret, b)
			}
		}
		if user == "alice" && !strings.Contains(string(b), `{"name":"team","label":"team","preset":{"endpoint":"openAI","model":"gpt-4o-mini"}}`) {
			t.Errorf("alice does not see her group's configuration: %s", b)
		}
		if user == "bob" && strings.Contains(string(b), `"team"`) {
			t.Errorf("bob sees a group's configuration: %s", b)
		}
	}
	res, _ := r.For(context.Background(), "bob")
	v := r.Sanitized(res)
	if !v.Enforce || !v.Prioritize {
		t.Errorf("flags %+v", v)
	}
	var claude string
	for _, o := range v.List {
		if n, _ := o.String("name"); n == "claude" {
			b, _ := json.Marshal(o)
			claude = string(b)
		}
	}
	if claude != `{"name":"claude","label":"claude","iconURL":"https://example.com/c.png","preset":{"endpoint":"anthropic","model":"claude-sonnet-4","topP":0.7,"maxOutputTokens":2000}}` {
		t.Errorf("claude view %s", claude)
	}
	if r.Sanitized(nil) != nil {
		t.Error("empty view is not nil")
	}
}

func TestNarrowing(t *testing.T) {
	r := policyResolver(t, true)
	res, _ := r.For(context.Background(), "alice")
	n := r.Narrowing(res)
	if !n.Active() || !n.Endpoint("openAI") || !n.Endpoint("anthropic") || n.Endpoint("google") {
		t.Errorf("endpoints: active %v openAI %v anthropic %v google %v", n.Active(), n.Endpoint("openAI"), n.Endpoint("anthropic"), n.Endpoint("google"))
	}
	if got := n.Models("openAI", []string{"o3", "gpt-4o", "gpt-4.1"}); !reflect.DeepEqual(got, []string{"o3", "gpt-4o", "gpt-4o-mini"}) {
		t.Errorf("openAI models %q", got)
	}
	bob, _ := r.For(context.Background(), "bob")
	if got := r.Narrowing(bob).Models("openAI", []string{"o3", "gpt-4o"}); !reflect.DeepEqual(got, []string{"gpt-4o"}) {
		t.Errorf("bob's openAI models %q", got)
	}
	open := policyResolver(t, false)
	if n := open.Narrowing(res); n.Active() || !n.Endpoint("google") || len(n.Models("google", []string{"g"})) != 1 {
		t.Error("narrowed without enforcement")
	}
}
