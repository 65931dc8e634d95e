package modelcfg

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/lcgo/lcgo/shared/config"
	"github.com/lcgo/lcgo/shared/librechat"
)

// memStore keeps groups and model configurations in memory.
type memStore struct {
	mu      sync.Mutex
	members map[string][]string // user → group ids
	configs []*librechat.ModelConfig
	fail    error
}

func newMemStore() *memStore { return &memStore{members: map[string][]string{}} }

func (m *memStore) add(scope, scopeID, spec string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var s struct{ Name string }
	_ = json.Unmarshal([]byte(spec), &s)
	m.configs = append(m.configs, &librechat.ModelConfig{
		ID: scope + ":" + scopeID + ":" + s.Name, Scope: scope, ScopeID: scopeID, Name: s.Name, Spec: json.RawMessage(spec),
	})
}

func (m *memStore) join(userID string, groups ...string) {
	m.mu.Lock()
	m.members[userID] = append(m.members[userID], groups...)
	m.mu.Unlock()
}

func (m *memStore) CreateGroup(context.Context, *librechat.Group) error { return nil }
func (m *memStore) UpdateGroup(context.Context, *librechat.Group) error { return nil }
func (m *memStore) Group(context.Context, string) (*librechat.Group, error) {
	return nil, librechat.E(librechat.KindNotFound, "no group")
}
func (m *memStore) Groups(context.Context) ([]*librechat.Group, error)              { return nil, nil }
func (m *memStore) DeleteGroup(context.Context, string) error                       { return nil }
func (m *memStore) AddMember(context.Context, string, string) error                 { return nil }
func (m *memStore) RemoveMember(context.Context, string, string) error              { return nil }
func (m *memStore) Members(context.Context, string) ([]string, error)               { return nil, nil }
func (m *memStore) CreateModelConfig(context.Context, *librechat.ModelConfig) error { return nil }
func (m *memStore) UpdateModelConfig(context.Context, *librechat.ModelConfig) error { return nil }
func (m *memStore) DeleteModelConfig(context.Context, string) error                 { return nil }
func (m *memStore) ModelConfig(context.Context, string) (*librechat.ModelConfig, error) {
	return nil, librechat.E(librechat.KindNotFound, "no config")
}

func (m *memStore) GroupsOf(_ context.Context, userID string) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return nil, m.fail
	}
	// Reverse order: the resolver must not depend on the store's order.
	out := append([]string(nil), m.members[userID]...)
	sort.Sort(sort.Reverse(sort.StringSlice(out)))
	return out, nil
}

func (m *memStore) ModelConfigs(_ context.Context, scope, scopeID string) ([]*librechat.ModelConfig, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []*librechat.ModelConfig
	for _, c := range m.configs {
		if scope == "" || (c.Scope == scope && c.ScopeID == scopeID) {
			out = append(out, c)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// testConfig offers openAI (gpt-4o, gpt-4o-mini), anthropic and google.
func testConfig(t *testing.T, yaml string) *config.Config {
	t.Helper()
	cfg := &config.Config{}
	cfg.Providers.OpenAIKey = "sk"
	cfg.Providers.OpenAIModels = []string{"gpt-4o", "gpt-4o-mini", "o3"}
	cfg.Providers.AnthropicKey = "sk"
	cfg.Providers.GoogleKey = "k"
	if yaml != "" {
		dir := t.TempDir()
		p := filepath.Join(dir, "librechat.yaml")
		if err := os.WriteFile(p, []byte(yaml), 0o600); err != nil {
			t.Fatal(err)
		}
		f, err := config.ParseFile(p, []byte(yaml), func(string) (string, bool) { return "", false })
		if err != nil {
			t.Fatal(err)
		}
		cfg.File, cfg.FilePath = *f, p
	}
	return cfg
}

func spec(name, model string, extra ...string) string {
	s := `{"name":"` + name + `","endpoint":"openAI","model":"` + model + `"`
	for _, e := range extra {
		s += "," + e
	}
	return s + "}"
}

func names(rs []Resolved) string {
	var out []string
	for _, r := range rs {
		out = append(out, r.Spec.Name+"="+r.Spec.Model+"@"+r.Scope)
	}
	return strings.Join(out, " ")
}

func TestResolutionScopes(t *testing.T) {
	// "helper" is defined at every scope, each with its own model; alice is
	// in group g1.
	st := newMemStore()
	st.add(librechat.ScopeSystem, "", spec("helper", "sys-model"))
	st.add(librechat.ScopeGroup, "g1", spec("helper", "group-model"))
	st.add(librechat.ScopeUser, "alice", spec("helper", "user-model"))
	st.add(librechat.ScopeGroup, "g1", spec("team", "team-model"))
	st.add(librechat.ScopeUser, "alice", spec("mine", "my-model"))
	st.add(librechat.ScopeSystem, "", spec("shared", "shared-model"))
	st.join("alice", "g1")

	cases := []struct {
		name     string
		settings Settings
		user     string
		want     string
	}{
		{"priority user", Settings{true, true, true, PriorityUser, false}, "alice",
			"helper=user-model@user shared=shared-model@system team=team-model@group mine=my-model@user"},
		{"priority group", Settings{true, true, true, PriorityGroup, false}, "alice",
			"helper=group-model@group shared=shared-model@system team=team-model@group mine=my-model@user"},
		{"priority system", Settings{true, true, true, PrioritySystem, false}, "alice",
			"helper=sys-model@system shared=shared-model@system team=team-model@group mine=my-model@user"},
		{"user presets disabled", Settings{false, true, true, PriorityUser, false}, "alice",
			"helper=group-model@group shared=shared-model@system team=team-model@group"},
		{"group presets disabled", Settings{true, true, false, PriorityUser, false}, "alice",
			"helper=user-model@user shared=shared-model@system mine=my-model@user"},
		{"both disabled", Settings{false, true, false, PriorityUser, false}, "alice",
			"helper=sys-model@system shared=shared-model@system"},
		{"no override: the operator's wins, the user's own stays", Settings{true, false, true, PriorityUser, false}, "alice",
			"helper=group-model@group shared=shared-model@system team=team-model@group mine=my-model@user"},
		{"no override under priority system", Settings{true, false, true, PrioritySystem, false}, "alice",
			"helper=sys-model@system shared=shared-model@system team=team-model@group mine=my-model@user"},
		{"bob sees the system only", Settings{true, true, true, PriorityUser, false}, "bob",
			"helper=sys-model@system shared=shared-model@system"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, err := New(testConfig(t, ""), Options{Groups: st, Configs: st, File: &File{Settings: tc.settings}})
			if err != nil {
				t.Fatal(err)
			}
			got, err := r.For(context.Background(), tc.user)
			if err != nil {
				t.Fatal(err)
			}
			if names(got) != tc.want {
				t.Errorf("got  %s\nwant %s", names(got), tc.want)
			}
		})
	}
}

func TestResolutionSourcesAndOrder(t *testing.T) {
	cfg := testConfig(t, `version: 1.3.0
modelSpecs:
  list:
    - name: from-yaml
      label: From YAML
      preset: {endpoint: openAI, model: gpt-4o}
    - name: replaced
      preset: {endpoint: openAI, model: yaml-model}
`)
	file := &File{Settings: DefaultSettings(), Defaults: []*Spec{
		mustSpec(t, spec("from-file", "file-model", `"order":1`)),
		mustSpec(t, spec("z-file", "file-model")),
	}}
	st := newMemStore()
	st.add(librechat.ScopeSystem, "", spec("replaced", "store-model"))
	// Two of alice's groups define "team": the higher priority wins, then
	// the first group by id.
	st.add(librechat.ScopeGroup, "g2", spec("team", "g2-model", `"priority":1`))
	st.add(librechat.ScopeGroup, "g1", spec("team", "g1-model"))
	st.add(librechat.ScopeGroup, "g1", spec("tie", "g1-model"))
	st.add(librechat.ScopeGroup, "g2", spec("tie", "g2-model"))
	st.join("alice", "g1", "g2")
	r, err := New(cfg, Options{Groups: st, Configs: st, File: file})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ { // the same answer every time
		got, err := r.For(context.Background(), "alice")
		if err != nil {
			t.Fatal(err)
		}
		want := "from-file=file-model@system from-yaml=gpt-4o@system replaced=store-model@system z-file=file-model@system team=g2-model@group tie=g1-model@group"
		if names(got) != want {
			t.Fatalf("got  %s\nwant %s", names(got), want)
		}
	}
	// A store failure is an error, not a silently shorter list.
	st.fail = errors.New("db down")
	if _, err := r.For(context.Background(), "alice"); err == nil {
		t.Error("store failure ignored")
	}
}

func TestResolverStartErrors(t *testing.T) {
	t.Run("librechat.yaml spec out of range names file, line and key", func(t *testing.T) {
		cfg := testConfig(t, `version: 1.3.0
modelSpecs:
  list:
    - name: hot
      preset:
        endpoint: openAI
        model: gpt-4o
        temperature: 9
`)
		_, err := New(cfg, Options{})
		var fe *config.FileError
		if !errors.As(err, &fe) || fe.Line != 8 || fe.Path != "modelSpecs.list[0].preset.temperature" || !strings.Contains(fe.Msg, "outside the range") {
			t.Fatalf("error %v", err)
		}
	})
	t.Run("librechat.yaml extension field is strict", func(t *testing.T) {
		cfg := testConfig(t, `version: 1.3.0
modelSpecs:
  list:
    - name: strict
      constraints:
        temperature: {maximum: 1}
      preset: {endpoint: openAI, model: gpt-4o}
`)
		_, err := New(cfg, Options{})
		var fe *config.FileError
		if !errors.As(err, &fe) || fe.Line != 6 || fe.Path != "modelSpecs.list[0].constraints.temperature.maximum" {
			t.Fatalf("error %v", err)
		}
	})
	t.Run("a name in both files", func(t *testing.T) {
		cfg := testConfig(t, "version: 1.3.0\nmodelSpecs:\n  list:\n    - name: gpt-4\n      preset: {endpoint: openAI, model: gpt-4}\n")
		dir := t.TempDir()
		cfg.ModelsConfigPath = filepath.Join(dir, "models.yaml")
		if err := os.WriteFile(cfg.ModelsConfigPath, []byte(issueFile), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := New(cfg, Options{})
		if err == nil || !strings.Contains(err.Error(), "models.defaults[0].name") || !strings.Contains(err.Error(), "already defined in librechat.yaml") {
			t.Fatalf("error %v", err)
		}
	})
	t.Run("missing models file", func(t *testing.T) {
		cfg := testConfig(t, "")
		cfg.ModelsConfigPath = filepath.Join(t.TempDir(), "nope.yaml")
		if _, err := New(cfg, Options{}); err == nil || !strings.Contains(err.Error(), "MODELS_CONFIG_PATH") {
			t.Fatalf("error %v", err)
		}
	})
	t.Run("models file read at start", func(t *testing.T) {
		cfg := testConfig(t, "")
		cfg.ModelsConfigPath = filepath.Join(t.TempDir(), "models.yaml")
		if err := os.WriteFile(cfg.ModelsConfigPath, []byte(issueFile), 0o600); err != nil {
			t.Fatal(err)
		}
		r, err := New(cfg, Options{})
		if err != nil {
			t.Fatal(err)
		}
		got, _ := r.For(context.Background(), "u")
		if names(got) != "gpt-4=gpt-4@system" || got[0].Source != SourceModelsFile {
			t.Fatalf("resolved %s", names(got))
		}
	})
}

func TestLibreChatYAMLMapping(t *testing.T) {
	cfg := testConfig(t, `version: 1.3.0
endpoints:
  custom:
    - name: Mistral
      apiKey: k
      baseURL: https://api.mistral.ai/v1
      models: {default: [mistral-large]}
modelSpecs:
  enforce: true
  list:
    - name: Writer (long)
      label: Writer
      description: Long form
      order: 3
      conversation_starters: [Write a poem]
      allowedTools: []
      constraints:
        temperature: {max: 1, onViolation: clamp}
      preset:
        endpoint: openai
        model: gpt-4o
        promptPrefix: Write well.
        instructions: Be kind.
        temperature: 0.8
        topP: 0.9
        greeting: Hi!
    - name: mistral
      preset: {endpoint: mistral, model: mistral-large, system: Answer in French.}
`)
	r, err := New(cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := r.For(context.Background(), "u")
	if len(got) != 2 {
		t.Fatalf("resolved %s", names(got))
	}
	w := got[0].Spec
	if w.Name != "Writer (long)" || w.Endpoint != "openAI" || w.SystemMessage != "Write well.\n\nBe kind." ||
		w.Parameters["temperature"] != 0.8 || w.Parameters["top_p"] != 0.9 || w.AllowedTools == nil || len(w.AllowedTools) != 0 ||
		w.Constraints["temperature"].OnViolation != Clamp || *w.Order != 3 {
		t.Errorf("writer %+v", w)
	}
	if m := got[1].Spec; m.Endpoint != "Mistral" || m.SystemMessage != "Answer in French." {
		t.Errorf("mistral %+v", m)
	}
	if !r.Enforce() {
		t.Error("enforce lost")
	}
	b, _ := json.Marshal(r.Sanitized(got))
	want := `{"enforce":true,"prioritize":true,"list":[` +
		`{"name":"Writer (long)","label":"Writer","description":"Long form","order":3,"conversation_starters":["Write a poem"],"preset":{"endpoint":"openAI","model":"gpt-4o","temperature":0.8,"topP":0.9,"greeting":"Hi!"}},` +
		`{"name":"mistral","preset":{"endpoint":"Mistral","model":"mistral-large"}}]}`
	if string(b) != want {
		t.Errorf("view\n got %s\nwant %s", b, want)
	}
}

func mustSpec(t *testing.T, raw string) *Spec {
	t.Helper()
	s, err := ParseSpec([]byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	return s
}
