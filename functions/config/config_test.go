package config_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	configfn "github.com/lcgo/lcgo/functions/config"
	"github.com/lcgo/lcgo/shared/librechat"
	"github.com/lcgo/lcgo/shared/roles"
)

func TestHealthAndBanner(t *testing.T) {
	e := newEnv(t, nil, "")
	r := e.do("GET", "/health", "", "")
	if r.status != 200 || string(r.body) != "OK" || !strings.HasPrefix(r.header.Get("Content-Type"), "text/plain") {
		t.Errorf("health: %v %q", r, r.header.Get("Content-Type"))
	}
	r = e.do("GET", "/api/banner", "", "")
	if r.status != 200 || string(r.body) != "null" {
		t.Errorf("banner: %v", r)
	}
}

func TestStartupConfigAnonGolden(t *testing.T) {
	e := newEnv(t, nil, "")
	want := loadCapture(t, "01-get-config-anon.txt")
	r := e.do("GET", "/api/config", "", "")
	if r.status != want.status {
		t.Fatalf("status %d", r.status)
	}
	if string(r.body) != want.body {
		t.Errorf("anonymous /api/config\n got %s\nwant %s", r.body, want.body)
	}
	// An invalid token is the anonymous view, not an error.
	r = e.do("GET", "/api/config", "not-a-jwt", "")
	if r.status != 200 || string(r.body) != want.body {
		t.Errorf("with a bad token: %v", r)
	}
}

func TestStartupConfigAuthGolden(t *testing.T) {
	e := newEnv(t, nil, "")
	_, tok := e.newUser(librechat.RoleUser)
	want := loadCapture(t, "08-get-config-auth.txt")
	r := e.do("GET", "/api/config", tok, "")
	if r.status != want.status {
		t.Fatalf("status %d", r.status)
	}
	got, exp := members(t, r.body), members(t, []byte(want.body))
	if !reflect.DeepEqual(keysOf(got), keysOf(exp)) {
		t.Fatalf("keys\n got %q\nwant %q", keysOf(got), keysOf(exp))
	}
	// Sharing stays off until it is implemented; the interface differs by
	// the switched-off features. Everything else is as captured.
	differs := map[string]bool{"interface": true}
	// Shared links are public here, and files are not snapshotted.
	differs["publicSharedLinksEnabled"], differs["sharedLinksSnapshotFilesEnabled"] = true, true
	for k, want := range map[string]string{"publicSharedLinksEnabled": "true", "sharedLinksSnapshotFilesEnabled": "false"} {
		if v, _ := find(got, k); string(v) != want {
			t.Errorf("%s = %s, want %s", k, v, want)
		}
	}
	if !roles.IsImplemented(roles.SharedLinks) {
		differs["sharedLinksEnabled"], differs["sharedLinksSnapshotFilesEnabled"] = true, true
		for _, k := range []string{"sharedLinksEnabled", "sharedLinksSnapshotFilesEnabled"} {
			if v, _ := find(got, k); string(v) != "false" {
				t.Errorf("%s = %s", k, v)
			}
		}
	}
	if !configfn.AccountDeletionImplemented {
		differs["allowAccountDeletion"] = true
		if v, _ := find(got, "allowAccountDeletion"); string(v) != "false" {
			t.Errorf("allowAccountDeletion = %s while accounts cannot be deleted", v)
		}
	}
	for i, m := range exp {
		if differs[m.key] {
			continue
		}
		if !bytes.Equal(got[i].raw, m.raw) {
			t.Errorf("%s = %s, want %s", m.key, got[i].raw, m.raw)
		}
	}
	// The captured interface keys come first, in order, with their values
	// unless the feature is switched off here.
	gi, _ := find(got, "interface")
	wi, _ := find(exp, "interface")
	gm, wm := members(t, gi), members(t, wi)
	if len(gm) < len(wm) || !reflect.DeepEqual(keysOf(gm)[:len(wm)], keysOf(wm)) {
		t.Fatalf("interface keys\n got %q\nwant prefix %q", keysOf(gm), keysOf(wm))
	}
	for i, m := range wm {
		if m.key == "mcpServers" && !roles.IsImplemented(roles.MCPServers) {
			if string(gm[i].raw) != `{"use":false,"create":false,"share":false,"public":false}` {
				t.Errorf("mcpServers = %s", gm[i].raw)
			}
			continue
		}
		if m.key == "presets" && !roles.PresetsImplemented {
			if string(gm[i].raw) != "false" {
				t.Errorf("presets = %s while presets are not stored", gm[i].raw)
			}
			continue
		}
		if !bytes.Equal(gm[i].raw, m.raw) {
			t.Errorf("interface.%s = %s, want %s", m.key, gm[i].raw, m.raw)
		}
	}
	// Interface switches agree with the USER role.
	var iface map[string]any
	_ = json.Unmarshal(gi, &iface)
	perms := roles.Defaults(e.a.Config)
	checks := map[string]string{
		"bookmarks": roles.Bookmarks, "memories": roles.Memories, "multiConvo": roles.MultiConvo,
		"temporaryChat": roles.TemporaryChat, "runCode": roles.RunCode, "webSearch": roles.WebSearch,
		"fileSearch": roles.FileSearch, "fileCitations": roles.FileCitations,
	}
	for key, typ := range checks {
		if v, ok := iface[key].(bool); ok && v != perms[typ][roles.Use] {
			t.Errorf("interface.%s = %v but %s.USE = %v", key, v, typ, perms[typ][roles.Use])
		}
		if !roles.IsImplemented(typ) && iface[key] != false {
			t.Errorf("interface.%s = %v for an unimplemented feature", key, iface[key])
		}
	}
	for key, typ := range map[string]string{"prompts": roles.Prompts, "agents": roles.Agents, "skills": roles.Skills, "mcpServers": roles.MCPServers} {
		o, _ := iface[key].(map[string]any)
		if !roles.IsImplemented(typ) && (o == nil || o["use"] != false) {
			t.Errorf("interface.%s = %v", key, iface[key])
		}
	}
}

const richYAML = `version: 1.3.0
interface:
  privacyPolicy:
    externalUrl: https://example.com/privacy
    openNewTab: true
  termsOfService:
    externalUrl: https://example.com/tos
    modalAcceptance: true
  customWelcome: Hello there
registration:
  socialLogins: [github]
endpoints:
  all:
    titleTiming: final
modelSpecs:
  prioritize: false
  list:
    - name: helper
      label: Helper
      skills: [s1]
      subagents:
        enabled: true
        agent_ids: [a1]
      preset:
        endpoint: Offline
        model: offline-echo
        promptPrefix: "top secret prompt"
        instructions: "also secret"
        system: x
        context: y
        examples: [{input: {content: q}}]
        additional_instructions: z
        temperature: 0.5
balance:
  enabled: true
  startBalance: 1234
fileConfig:
  serverFileSizeLimit: 20
`

func TestStartupConfigFromYAML(t *testing.T) {
	e := newEnv(t, map[string]string{"MIN_PASSWORD_LENGTH": "10", "APP_TITLE": "Chat"}, richYAML)
	r := e.do("GET", "/api/config", "", "")
	ms := members(t, r.body)
	keys := keysOf(ms)
	if i := indexOf(keys, "minPasswordLength"); i < 0 || keys[i-1] != "passwordResetEnabled" || keys[i+1] != "ldap" {
		t.Errorf("minPasswordLength position: %q", keys)
	}
	if keys[len(keys)-1] != "interface" {
		t.Errorf("anonymous interface last: %q", keys)
	}
	iface, _ := find(ms, "interface")
	if string(iface) != `{"privacyPolicy":{"externalUrl":"https://example.com/privacy","openNewTab":true},"termsOfService":{"externalUrl":"https://example.com/tos","modalAcceptance":true}}` {
		t.Errorf("anonymous interface %s", iface)
	}
	if v, _ := find(ms, "socialLogins"); string(v) != `["github"]` {
		t.Errorf("socialLogins %s", v)
	}
	if v, _ := find(ms, "appTitle"); string(v) != `"Chat"` {
		t.Errorf("appTitle %s", v)
	}

	_, tok := e.newUser(librechat.RoleUser)
	r = e.do("GET", "/api/config", tok, "")
	if bytes.Contains(r.body, []byte("secret")) || bytes.Contains(r.body, []byte("agent_ids")) || bytes.Contains(r.body, []byte(`"skills":["s1"]`)) {
		t.Errorf("private model spec fields leaked: %s", r.body)
	}
	ms = members(t, r.body)
	keys = keysOf(ms)
	if i := indexOf(keys, "modelSpecs"); i < 0 || keys[i-1] != "turnstile" || keys[i+1] != "balance" {
		t.Errorf("modelSpecs position %q", keys)
	}
	specs, _ := find(ms, "modelSpecs")
	want := `{"enforce":false,"prioritize":false,"list":[{"name":"helper","label":"Helper","subagents":{"enabled":true},"preset":{"endpoint":"Offline","model":"offline-echo","temperature":0.5}}]}`
	if string(specs) != want {
		t.Errorf("modelSpecs\n got %s\nwant %s", specs, want)
	}
	if v, _ := find(ms, "balance"); string(v) != `{"enabled":true,"startBalance":1234,"autoRefillEnabled":false,"refillIntervalValue":30,"refillIntervalUnit":"days","refillAmount":10000}` {
		t.Errorf("balance %s", v)
	}
	if v, _ := find(ms, "titleGenerationTiming"); string(v) != `"final"` {
		t.Errorf("titleGenerationTiming %s", v)
	}
	iface, _ = find(ms, "interface")
	var io map[string]any
	_ = json.Unmarshal(iface, &io)
	if io["customWelcome"] != "Hello there" || io["parameters"] != false || io["presets"] != false || io["modelSelect"] != false {
		t.Errorf("interface with model specs: %s", iface)
	}

	// The server keeps the private fields for the chat area.
	spec, ok := e.a.Config.File.ModelSpec("helper")
	if p, _ := spec.Raw.Object("preset"); !ok || !p.Has("promptPrefix") {
		t.Error("configuration lost the private preset fields")
	}

	r = e.do("GET", "/api/balance", tok, "")
	if r.status != 200 || string(r.body) != `{"tokenCredits":1234,"autoRefillEnabled":false}` {
		t.Errorf("balance: %v", r)
	}
}

func indexOf(s []string, v string) int {
	for i, x := range s {
		if x == v {
			return i
		}
	}
	return -1
}

func TestBalanceDisabled(t *testing.T) {
	e := newEnv(t, nil, "")
	_, tok := e.newUser(librechat.RoleUser)
	want := loadCapture(t, "15-get-balance.txt")
	r := e.do("GET", "/api/balance", tok, "")
	if r.status != want.status || len(r.body) != 0 {
		t.Errorf("balance: %v", r)
	}
}

// fakeOpenAI serves GET /v1/models like the fake of the captures and counts
// the calls.
func fakeOpenAI(t *testing.T, status int, calls *atomic.Int32) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		if r.URL.Path != "/v1/models" || r.Header.Get("Authorization") != "Bearer sk-fake-key" || r.Header.Get("X-Team") != "blue" {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		if status != 200 {
			http.Error(w, "down", status)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"object":"list","data":[{"id":"fake-gpt-1","object":"model"},{"id":"fake-gpt-2","object":"model"}]}`))
	}))
	t.Cleanup(srv.Close)
	return srv
}

func fakeYAML(baseURL string) string {
	return `version: 1.3.0
endpoints:
  custom:
    - name: FakeOpenAI
      apiKey: "${FAKE_KEY}"
      baseURL: "` + baseURL + `/v1"
      headers:
        X-Team: blue
      models:
        default: [fake-default]
        fetch: true
      titleConvo: true
      titleModel: fake-gpt-1
      modelDisplayLabel: Fake OpenAI
`
}

func TestEndpointsAndModelsGolden(t *testing.T) {
	var calls atomic.Int32
	srv := fakeOpenAI(t, 200, &calls)
	e := newEnv(t, map[string]string{
		"OPENAI_API_KEY": "user_provided", "GOOGLE_KEY": "user_provided", "ANTHROPIC_API_KEY": "user_provided",
		"FAKE_KEY": "sk-fake-key",
	}, fakeYAML(srv.URL))
	_, tok := e.newUser(librechat.RoleUser)

	r := e.do("GET", "/api/endpoints", tok, "")
	capEP := loadCapture(t, "09-get-endpoints.txt")
	var all map[string]json.RawMessage
	_ = json.Unmarshal([]byte(capEP.body), &all)
	// The captured answer without agents and assistants, which this server
	// does not offer.
	want := `{"openAI":` + string(all["openAI"]) + `,"google":` + string(all["google"]) +
		`,"anthropic":` + string(all["anthropic"]) + `,"FakeOpenAI":` + string(all["FakeOpenAI"]) + `}`
	if r.status != 200 || string(r.body) != want {
		t.Errorf("endpoints\n got %s\nwant %s", r.body, want)
	}

	capModels := loadCapture(t, "10-get-models.txt")
	var wantModels map[string]json.RawMessage
	_ = json.Unmarshal([]byte(capModels.body), &wantModels)
	r = e.do("GET", "/api/models", tok, "")
	got := members(t, r.body)
	if !reflect.DeepEqual(keysOf(got), []string{"openAI", "google", "anthropic", "FakeOpenAI"}) {
		t.Fatalf("model keys %q", keysOf(got))
	}
	for _, m := range got {
		if !bytes.Equal(m.raw, wantModels[m.key]) {
			t.Errorf("models[%s] = %s, want %s", m.key, m.raw, wantModels[m.key])
		}
	}
	// Cached: a second request does not ask again.
	e.do("GET", "/api/models", tok, "")
	if n := calls.Load(); n != 1 {
		t.Errorf("model fetches: %d", n)
	}
	e.clock.Advance(6 * time.Minute)
	e.do("GET", "/api/models", tok, "")
	if n := calls.Load(); n != 2 {
		t.Errorf("model fetches after expiry: %d", n)
	}
}

func TestModelsFetchFallsBack(t *testing.T) {
	var calls atomic.Int32
	srv := fakeOpenAI(t, 500, &calls)
	e := newEnv(t, map[string]string{"FAKE_KEY": "sk-fake-key"}, fakeYAML(srv.URL))
	_, tok := e.newUser(librechat.RoleUser)
	r := e.do("GET", "/api/models", tok, "")
	if string(r.body) != `{"FakeOpenAI":["fake-default"]}` {
		t.Errorf("fallback: %v", r)
	}
	// Unreachable server.
	srv.Close()
	e.clock.Advance(time.Minute)
	r = e.do("GET", "/api/models", tok, "")
	if string(r.body) != `{"FakeOpenAI":["fake-default"]}` {
		t.Errorf("fallback when down: %v", r)
	}
	r = e.do("GET", "/api/endpoints", tok, "")
	if string(r.body) != `{"FakeOpenAI":{"order":9999,"type":"custom","userProvide":false,"userProvideURL":false,"modelDisplayLabel":"Fake OpenAI"}}` {
		t.Errorf("endpoints: %v", r)
	}
}

func TestUserProvidedCustomEndpoint(t *testing.T) {
	e := newEnv(t, map[string]string{"ENDPOINTS": "custom,openAI", "OPENAI_API_KEY": "sk-real"}, `endpoints:
  custom:
    - name: Mine
      apiKey: user_provided
      baseURL: user_provided
      iconURL: https://example.com/i.png
      customParams:
        defaultParamsEndpoint: anthropic
      models:
        default: [m1, {name: m2}]
        fetch: true
`)
	_, tok := e.newUser(librechat.RoleUser)
	r := e.do("GET", "/api/endpoints", tok, "")
	want := `{"openAI":{"userProvide":false,"order":1},"Mine":{"order":0,"type":"custom","userProvide":true,"userProvideURL":true,"customParams":{"defaultParamsEndpoint":"anthropic"},"iconURL":"https://example.com/i.png"}}`
	if string(r.body) != want {
		t.Errorf("endpoints\n got %s\nwant %s", r.body, want)
	}
	r = e.do("GET", "/api/models", tok, "")
	var m map[string][]string
	_ = json.Unmarshal(r.body, &m)
	if !reflect.DeepEqual(m["Mine"], []string{"m1", "m2"}) || len(m["openAI"]) == 0 {
		t.Errorf("models: %s", r.body)
	}
}

func TestOfflineEndpoint(t *testing.T) {
	e := newEnv(t, nil, "")
	_, tok := e.newUser(librechat.RoleUser)
	r := e.do("GET", "/api/endpoints", tok, "")
	if string(r.body) != `{"Offline":{"order":9999,"type":"custom","userProvide":false,"userProvideURL":false,"modelDisplayLabel":"Offline"}}` {
		t.Errorf("endpoints: %v", r)
	}
	r = e.do("GET", "/api/models", tok, "")
	if string(r.body) != `{"Offline":["offline-echo"]}` {
		t.Errorf("models: %v", r)
	}
	for _, p := range []string{"/api/endpoints", "/api/endpoints/token-config", "/api/models"} {
		if r := e.do("GET", p, "", ""); r.status != 401 {
			t.Errorf("%s without token: %v", p, r)
		}
	}
	if r := e.do("GET", "/api/endpoints/token-config", tok, ""); string(r.body) != `{"Offline":{"offline-echo":{"context":8192}}}` {
		t.Errorf("token config: %v", r)
	}
	if r := e.do("POST", "/api/endpoints/context-projection", tok, `{"conversationId":"x"}`); r.status != 200 || string(r.body) != "null" {
		t.Errorf("context projection: %v", r)
	}
}

func TestRoles(t *testing.T) {
	e := newEnv(t, nil, "")
	_, userTok := e.newUser(librechat.RoleUser)
	_, adminTok := e.newUser(librechat.RoleAdmin)

	want := loadCapture(t, "12-get-roles-user.txt")
	r := e.do("GET", "/api/roles/USER", userTok, "")
	if r.status != want.status {
		t.Fatalf("USER: %v", r)
	}
	got, exp := members(t, r.body), members(t, []byte(want.body))
	if !reflect.DeepEqual(keysOf(got), keysOf(exp)) {
		t.Errorf("keys %q want %q", keysOf(got), keysOf(exp))
	}
	id, _ := find(got, "_id")
	if !regexp.MustCompile(`^"[0-9a-f]{24}"$`).Match(id) {
		t.Errorf("_id %s", id)
	}
	for _, k := range []string{"name", "description", "__v"} {
		g, _ := find(got, k)
		w, _ := find(exp, k)
		if !bytes.Equal(g, w) {
			t.Errorf("%s = %s, want %s", k, g, w)
		}
	}
	gp, _ := find(got, "permissions")
	wp, _ := find(exp, "permissions")
	if !reflect.DeepEqual(keysOf(members(t, gp)), keysOf(members(t, wp))) {
		t.Errorf("permission types differ: %s", gp)
	}
	var perms map[string]map[string]bool
	_ = json.Unmarshal(gp, &perms)
	if !reflect.DeepEqual(perms, roles.Defaults(e.a.Config)) {
		t.Errorf("permissions %v", perms)
	}
	if !roles.IsImplemented(roles.Agents) && perms[roles.Agents][roles.Use] {
		t.Error("AGENTS.USE on")
	}

	for _, tc := range []struct {
		tok, path string
		status    int
		body      string
	}{
		{userTok, "/api/roles/user", 200, ""},
		{userTok, "/api/roles/ADMIN", 403, `{"message":"Unauthorized"}`},
		{userTok, "/api/roles/FOO", 403, `{"message":"Unauthorized"}`},
		{adminTok, "/api/roles/ADMIN", 200, ""},
		{adminTok, "/api/roles/USER", 200, ""},
		{adminTok, "/api/roles/FOO", 404, `{"message":"Role not found"}`},
		{"", "/api/roles/USER", 401, `{"message":"No auth token"}`},
	} {
		r := e.do("GET", tc.path, tc.tok, "")
		if r.status != tc.status || (tc.body != "" && string(r.body) != tc.body) {
			t.Errorf("%s: %v", tc.path, r)
		}
	}
	r = e.do("GET", "/api/roles/ADMIN", adminTok, "")
	var admin struct {
		Name        string                     `json:"name"`
		Permissions map[string]map[string]bool `json:"permissions"`
	}
	_ = json.Unmarshal(r.body, &admin)
	if admin.Name != "ADMIN" || !reflect.DeepEqual(admin.Permissions, roles.DefaultsFor(librechat.RoleAdmin, e.a.Config)) {
		t.Errorf("ADMIN: %s", r.body)
	}
	// A user whose role is a custom one may read it.
	ctx := context.Background()
	if err := e.a.Store.PutRole(ctx, &librechat.Role{ID: e.a.IDs.ObjectID(), Name: "EDITOR", Permissions: roles.Defaults(e.a.Config)}); err != nil {
		t.Fatal(err)
	}
	_, edTok := e.newUser("EDITOR")
	if r := e.do("GET", "/api/roles/EDITOR", edTok, ""); r.status != 200 {
		t.Errorf("own custom role: %v", r)
	}
}

func TestKeys(t *testing.T) {
	e := newEnv(t, nil, "")
	alice, aliceTok := e.newUser(librechat.RoleUser)
	_, bobTok := e.newUser(librechat.RoleUser)
	const secret = "sk-alice-very-secret-0123456789"

	want := loadCapture(t, "19-get-keys-fakeopenai.txt")
	if r := e.do("GET", "/api/keys?name=FakeOpenAI", aliceTok, ""); r.status != want.status || string(r.body) != want.body {
		t.Errorf("unset: %v", r)
	}
	r := e.do("PUT", "/api/keys", aliceTok, `{"name":"FakeOpenAI","value":"`+secret+`","expiresAt":"2027-01-02T03:04:05.678Z"}`)
	if r.status != 201 || len(r.body) != 0 {
		t.Fatalf("put: %v", r)
	}
	if r := e.do("GET", "/api/keys?name=FakeOpenAI", aliceTok, ""); string(r.body) != `{"expiresAt":"2027-01-02T03:04:05.678Z"}` {
		t.Errorf("expiry: %v", r)
	}
	if r := e.do("PUT", "/api/keys", aliceTok, `{"name":"anthropic","value":"{\"apiKey\":\"`+secret+`2\"}","expiresAt":null}`); r.status != 201 {
		t.Fatalf("put never: %v", r)
	}
	if r := e.do("GET", "/api/keys?name=anthropic", aliceTok, ""); string(r.body) != `{"expiresAt":"never"}` {
		t.Errorf("never: %v", r)
	}

	// Encrypted at rest: neither the setting nor the database files hold
	// the plaintext.
	raw, err := e.a.Store.Setting(context.Background(), "userkey:"+alice.ID+":FakeOpenAI")
	if err != nil || len(raw) == 0 || bytes.Contains(raw, []byte(secret)) {
		t.Errorf("stored value: %q %v", raw, err)
	}
	for _, suffix := range []string{"", "-wal"} {
		b, err := os.ReadFile(e.dbPath + suffix)
		if err == nil && bytes.Contains(b, []byte(secret)) {
			t.Errorf("database file %q holds the plaintext", suffix)
		}
	}

	// Another user sees and deletes nothing of Alice's.
	if r := e.do("GET", "/api/keys?name=FakeOpenAI", bobTok, ""); string(r.body) != `{"expiresAt":null}` {
		t.Errorf("bob sees: %v", r)
	}
	if r := e.do("DELETE", "/api/keys?all=true", bobTok, ""); r.status != 204 {
		t.Errorf("bob delete all: %v", r)
	}
	if r := e.do("DELETE", "/api/keys/FakeOpenAI", bobTok, ""); r.status != 204 {
		t.Errorf("bob delete: %v", r)
	}
	if r := e.do("GET", "/api/keys?name=FakeOpenAI", aliceTok, ""); !strings.Contains(string(r.body), "2027") {
		t.Errorf("alice's key gone: %v", r)
	}

	// Bad bodies.
	for _, body := range []string{`{"name":"x"`, `{"name":"x","value":5}`, `{"name":"","value":"v"}`, `{"name":"x"}`, `{"name":"x","value":"v","expiresAt":"soon"}`, `[]`} {
		r := e.do("PUT", "/api/keys", aliceTok, body)
		m := r.object(t)
		if r.status != 400 || m["error"] != "Invalid request body." || m["message"] == nil || m["message"] == "" {
			t.Errorf("%s: %v", body, r)
		}
	}

	if r := e.do("DELETE", "/api/keys", aliceTok, ""); r.status != 400 || !strings.Contains(string(r.body), "all=true") {
		t.Errorf("delete without all: %v", r)
	}
	if r := e.do("DELETE", "/api/keys/FakeOpenAI", aliceTok, ""); r.status != 204 {
		t.Errorf("delete: %v", r)
	}
	if r := e.do("GET", "/api/keys?name=FakeOpenAI", aliceTok, ""); string(r.body) != `{"expiresAt":null}` {
		t.Errorf("after delete: %v", r)
	}
	if r := e.do("DELETE", "/api/keys?all=true", aliceTok, ""); r.status != 204 {
		t.Errorf("delete all: %v", r)
	}
	if r := e.do("GET", "/api/keys?name=anthropic", aliceTok, ""); string(r.body) != `{"expiresAt":null}` {
		t.Errorf("after delete all: %v", r)
	}
}

func TestFavoritesAndTerms(t *testing.T) {
	e := newEnv(t, nil, "")
	_, aliceTok := e.newUser(librechat.RoleUser)
	_, bobTok := e.newUser(librechat.RoleUser)

	if r := e.do("GET", "/api/user/settings/favorites", aliceTok, ""); r.status != 200 || string(r.body) != "[]" {
		t.Errorf("empty: %v", r)
	}
	body := `{"favorites":[{"model":"m1","endpoint":"Offline"},{"spec":"helper"}]}`
	if r := e.do("POST", "/api/user/settings/favorites", aliceTok, body); r.status != 200 || string(r.body) != `[{"model":"m1","endpoint":"Offline"},{"spec":"helper"}]` {
		t.Errorf("save: %v", r)
	}
	if r := e.do("GET", "/api/user/settings/favorites", aliceTok, ""); string(r.body) != `[{"model":"m1","endpoint":"Offline"},{"spec":"helper"}]` {
		t.Errorf("read back: %v", r)
	}
	if r := e.do("GET", "/api/user/settings/favorites", bobTok, ""); string(r.body) != "[]" {
		t.Errorf("bob sees alice's favorites: %v", r)
	}
	for body, msg := range map[string]string{
		`{}`:                            "Favorites data is required",
		`{"favorites":{}}`:              "Favorites must be an array",
		`{"favorites":[{"model":"m"}]}`: "model and endpoint must be provided together",
		`{"favorites":[{}]}`:            "Each favorite must have either agentId, model+endpoint, or spec",
		`{"favorites":[{"agentId":"a","spec":"s"}]}`:                              "Favorite cannot have multiple types (agentId, model/endpoint, or spec)",
		`{"favorites":[` + strings.Repeat(`{"spec":"s"},`, 50) + `{"spec":"s"}]}`: "Maximum 50 favorites allowed",
		`{"favorites":[`: "Invalid JSON body",
	} {
		r := e.do("POST", "/api/user/settings/favorites", aliceTok, body)
		m := r.object(t)
		if r.status != 400 || m["message"] != msg || m["error"] == nil {
			t.Errorf("%s: %v", body, r)
		}
	}

	want := loadCapture(t, "18-get-user-terms.txt")
	if r := e.do("GET", "/api/user/terms", aliceTok, ""); string(r.body) != want.body {
		t.Errorf("terms: %v", r)
	}
	if r := e.do("POST", "/api/user/terms/accept", aliceTok, ""); r.status != 200 || !strings.Contains(string(r.body), "Terms accepted") {
		t.Errorf("accept: %v", r)
	}
	if r := e.do("GET", "/api/user/terms", aliceTok, ""); string(r.body) != `{"termsAccepted":true}` {
		t.Errorf("terms after accept: %v", r)
	}
	if r := e.do("GET", "/api/user/terms", bobTok, ""); string(r.body) != `{"termsAccepted":false}` {
		t.Errorf("bob's terms: %v", r)
	}
}

func TestFeatureOffAnswersMatchCaptures(t *testing.T) {
	e := newEnv(t, nil, "")
	_, tok := e.newUser(librechat.RoleUser)
	for path, file := range map[string]string{
		"/api/agents?limit=10&requiredPermission=1": "42-get-agents-list.txt",
		"/api/mcp/tools":   "45-get-mcp-tools.txt",
		"/api/prompts/all": "46-get-prompts-all.txt",
		"/api/memories":    "48-get-memories.txt",
	} {
		want := loadCapture(t, file)
		r := e.do("GET", path, tok, "")
		if r.status != want.status || string(r.body) != want.body {
			t.Errorf("%s\n got %v\nwant %d %s", path, r, want.status, want.body)
		}
		if ct := r.header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
			t.Errorf("%s content type %q", path, ct)
		}
	}
	for path, body := range map[string]string{
		"/api/agents/tools":                `[]`,
		"/api/agents/categories":           `[]`,
		"/api/search/enable":               `true`,
		"/api/categories":                  `[]`,
		"/api/mcp/servers":                 `{}`,
		"/api/plugins":                     `[]`,
		"/api/user/settings/skills/active": `{}`,
		"/api/prompts/groups?pageNumber=2": `{"pageNumber":"2","pageSize":"10","pages":"0","promptGroups":[]}`,
		"/api/mcp/connection/status":       `{"connectionStatus":{},"success":true}`,
	} {
		r := e.do("GET", path, tok, "")
		if r.status != 200 || !jsonEqual(r.body, []byte(body)) {
			t.Errorf("%s: %v", path, r)
		}
	}
}

func TestUnauthenticatedAndUnknown(t *testing.T) {
	e := newEnv(t, nil, "")
	_, tok := e.newUser(librechat.RoleUser)
	protected := []struct{ method, path string }{
		{"GET", "/api/endpoints"}, {"GET", "/api/models"}, {"GET", "/api/roles/USER"}, {"GET", "/api/balance"},
		{"GET", "/api/keys?name=x"}, {"PUT", "/api/keys"}, {"DELETE", "/api/keys/x"}, {"DELETE", "/api/keys?all=true"},
		{"GET", "/api/agents"}, {"GET", "/api/agents/chat/active"}, {"GET", "/api/agents/chat/status/x"},
		{"GET", "/api/agents/tools"}, {"GET", "/api/agents/categories"}, {"GET", "/api/files"}, {"GET", "/api/files/config"},
		{"GET", "/api/files/speech/config/get"}, {"GET", "/api/search/enable"}, {"GET", "/api/presets"},
		{"GET", "/api/prompts/all"}, {"GET", "/api/prompts/groups"}, {"GET", "/api/categories"}, {"GET", "/api/mcp/servers"},
		{"GET", "/api/mcp/tools"}, {"GET", "/api/memories"}, {"GET", "/api/user/settings/favorites"},
		{"POST", "/api/user/settings/favorites"}, {"GET", "/api/user/terms"}, {"POST", "/api/user/terms/accept"},
		{"GET", "/api/convos"}, {"GET", "/api/messages"}, {"GET", "/api/tags"}, {"GET", "/api/share"}, {"GET", "/api/plugins"},
		{"GET", "/api/assistants/v2"}, {"GET", "/api/skills"}, {"GET", "/api/permissions/x"}, {"POST", "/api/presets"},
		{"GET", "/api/config/extra"}, {"POST", "/api/config"}, {"GET", "/api/convos/abc"},
	}
	for _, p := range protected {
		r := e.do(p.method, p.path, "", "")
		if r.status != 401 || string(r.body) != `{"message":"No auth token"}` {
			t.Errorf("%s %s without token: %v", p.method, p.path, r)
		}
		if r := e.do(p.method, p.path, "garbage", ""); r.status != 401 {
			t.Errorf("%s %s with a bad token: %v", p.method, p.path, r)
		}
	}
	for _, p := range []struct{ method, path string }{
		{"POST", "/api/presets"}, {"DELETE", "/api/agents"}, {"GET", "/api/assistants/v2"}, {"GET", "/api/skills"},
		{"GET", "/api/config/extra"}, {"POST", "/api/config"}, {"PUT", "/api/roles/USER/prompts"}, {"GET", "/api/convos/abc"},
		{"PATCH", "/api/keys"}, {"GET", "/api/roles"},
	} {
		r := e.do(p.method, p.path, tok, "")
		m := r.object(t)
		if r.status != 404 || m["message"] != "Endpoint not found" || m["error"] == nil {
			t.Errorf("%s %s: %v", p.method, p.path, r)
		}
	}
}

func TestNewRejectsBadCredsKey(t *testing.T) {
	e := newEnv(t, nil, "")
	a := *e.a
	cfg := *a.Config
	cfg.CredsKey = "short"
	a.Config = &cfg
	if _, err := configfn.New(&a); err == nil {
		t.Error("New accepted a bad CREDS_KEY")
	}
}
