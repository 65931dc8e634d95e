package config_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	configfn "github.com/lcgo/lcgo/functions/config"
	"github.com/lcgo/lcgo/shared/librechat"
)

const enforcedModels = `models:
  defaults:
    - name: house
      endpoint: openai
      model: gpt-4o
      systemMessage: "HOUSE SECRET PROMPT"
      parameters:
        temperature: 0.7
      constraints:
        temperature: {max: 1}
  enforce: true
`

// modelsEnv is an area with openAI and anthropic, the models file above,
// a group G with alice in it and a configuration for G, and one of bob's
// own.
func modelsEnv(t *testing.T, models string) (e *testEnv, aliceTok, bobTok string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "models.yaml")
	if err := os.WriteFile(path, []byte(models), 0o600); err != nil {
		t.Fatal(err)
	}
	e = newEnv(t, map[string]string{
		"OPENAI_API_KEY": "sk-test", "OPENAI_MODELS": "gpt-4o,gpt-4o-mini,o3",
		"ANTHROPIC_API_KEY": "sk-test", "MODELS_CONFIG_PATH": path,
	}, "")
	alice, aliceTok := e.newUser(librechat.RoleUser)
	bob, bobTok := e.newUser(librechat.RoleUser)
	ctx := context.Background()
	st := e.a.Store
	now := e.clock.Now()
	if err := st.CreateGroup(ctx, &librechat.Group{ID: "g-team", Name: "G", CreatedAt: now, UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}
	if err := st.AddMember(ctx, "g-team", alice.ID); err != nil {
		t.Fatal(err)
	}
	for _, mc := range []*librechat.ModelConfig{
		{ID: "mc-team", Scope: librechat.ScopeGroup, ScopeID: "g-team", Name: "team",
			Spec: json.RawMessage(`{"name":"team","label":"Team Claude","endpoint":"anthropic","model":"claude-sonnet-4-5","systemMessage":"TEAM SECRET PROMPT","allowedTools":[]}`)},
		{ID: "mc-bob", Scope: librechat.ScopeUser, ScopeID: bob.ID, Name: "bobs",
			Spec: json.RawMessage(`{"name":"bobs","endpoint":"openAI","model":"o3","order":1,"parameters":{"reasoning_effort":"high"}}`)},
	} {
		mc.CreatedAt, mc.UpdatedAt = now, now
		if err := st.CreateModelConfig(ctx, mc); err != nil {
			t.Fatal(err)
		}
	}
	return e, aliceTok, bobTok
}

func TestModelSpecsPerUser(t *testing.T) {
	e, aliceTok, bobTok := modelsEnv(t, enforcedModels)
	cases := []struct {
		who, tok, specs, endpoints, models string
	}{
		{"alice (in G)", aliceTok,
			`{"enforce":true,"prioritize":true,"list":[` +
				`{"name":"house","label":"house","preset":{"endpoint":"openAI","model":"gpt-4o","temperature":0.7}},` +
				`{"name":"team","label":"Team Claude","preset":{"endpoint":"anthropic","model":"claude-sonnet-4-5"}}]}`,
			"openAI,anthropic", `{"openAI":["gpt-4o"],"anthropic":["claude-sonnet-4-5"]}`},
		{"bob (not in G)", bobTok,
			`{"enforce":true,"prioritize":true,"list":[` +
				`{"name":"bobs","label":"bobs","order":1,"preset":{"endpoint":"openAI","model":"o3","reasoning_effort":"high"}},` +
				`{"name":"house","label":"house","preset":{"endpoint":"openAI","model":"gpt-4o","temperature":0.7}}]}`,
			"openAI", `{"openAI":["gpt-4o","o3"]}`},
	}
	for _, tc := range cases {
		t.Run(tc.who, func(t *testing.T) {
			r := e.do("GET", "/api/config", tc.tok, "")
			if r.status != 200 {
				t.Fatalf("config: %v", r)
			}
			for _, secret := range []string{"SECRET", "systemMessage", "constraints", "allowedTools"} {
				if strings.Contains(string(r.body), secret) {
					t.Errorf("/api/config leaks %s: %s", secret, r.body)
				}
			}
			specs, _ := find(members(t, r.body), "modelSpecs")
			if string(specs) != tc.specs {
				t.Errorf("modelSpecs\n got %s\nwant %s", specs, tc.specs)
			}
			r = e.do("GET", "/api/endpoints", tc.tok, "")
			if got := strings.Join(keysOf(members(t, r.body)), ","); r.status != 200 || got != tc.endpoints {
				t.Errorf("endpoints %s (%v)", got, r)
			}
			r = e.do("GET", "/api/models", tc.tok, "")
			if r.status != 200 || string(r.body) != tc.models {
				t.Errorf("models %v", r)
			}
			r = e.do("GET", "/api/endpoints/token-config", tc.tok, "")
			if got := strings.Join(keysOf(members(t, r.body)), ","); got != tc.endpoints {
				t.Errorf("token-config endpoints %s", got)
			}
		})
	}
	// Before sign-in nothing about the configurations is shown.
	if r := e.do("GET", "/api/config", "", ""); strings.Contains(string(r.body), "modelSpecs") {
		t.Errorf("anonymous config: %s", r.body)
	}
}

func TestModelSpecsNotEnforcedLeaveMenusWhole(t *testing.T) {
	e, aliceTok, _ := modelsEnv(t, strings.Replace(enforcedModels, "enforce: true", "enforce: false", 1))
	r := e.do("GET", "/api/config", aliceTok, "")
	specs, _ := find(members(t, r.body), "modelSpecs")
	if !strings.HasPrefix(string(specs), `{"enforce":false,"prioritize":true,"list":[{"name":"house"`) || strings.Contains(string(r.body), "SECRET") {
		t.Errorf("modelSpecs %s", specs)
	}
	r = e.do("GET", "/api/models", aliceTok, "")
	var lists map[string][]string
	if err := json.Unmarshal(r.body, &lists); err != nil || len(lists["openAI"]) != 3 || len(lists["anthropic"]) == 0 {
		t.Errorf("models %v", r)
	}
}

func TestModelsFileErrorStopsTheArea(t *testing.T) {
	e := newEnv(t, map[string]string{"OPENAI_API_KEY": "sk-test"}, "")
	path := filepath.Join(t.TempDir(), "models.yaml")
	if err := os.WriteFile(path, []byte("models:\n  defaults:\n    - endpoint: openAI\n      model: gpt-4o\n      parameters: {temperature: 9}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	e.a.Config.ModelsConfigPath = path
	_, err := configfn.New(e.a)
	if err == nil || !strings.Contains(err.Error(), "line 5: models.defaults[0].parameters.temperature: 9 is outside the range") {
		t.Fatalf("New: %v", err)
	}
}
