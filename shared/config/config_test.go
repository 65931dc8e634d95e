package config

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func envOf(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := m[k]
		return v, ok
	}
}

func TestLoadDefaults(t *testing.T) {
	c, err := Load(envOf(nil))
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"Host", c.Host, "127.0.0.1"},
		{"Port", c.Port, 3080},
		{"DataDir", c.DataDir, "./data"},
		{"DomainServer", c.DomainServer, "http://127.0.0.1:3080"},
		{"DomainClient", c.DomainClient, "http://127.0.0.1:3080"},
		{"AppTitle", c.AppTitle, "LibreChat"},
		{"HelpAndFAQURL", c.HelpAndFAQURL, "https://librechat.ai"},
		{"ShowBirthdayIcon", c.ShowBirthdayIcon, false},
		{"SessionExpiry", c.Auth.SessionExpiry, 15 * time.Minute},
		{"RefreshExpiry", c.Auth.RefreshExpiry, 7 * 24 * time.Hour},
		{"RefreshGrace", c.Auth.RefreshGrace, 10 * time.Second},
		{"AllowRegistration", c.Auth.AllowRegistration, true},
		{"AllowEmailLogin", c.Auth.AllowEmailLogin, true},
		{"AllowSocialLogin", c.Auth.AllowSocialLogin, false},
		{"AllowPasswordReset", c.Auth.AllowPasswordReset, false},
		{"AllowUnverifiedEmailLogin", c.Auth.AllowUnverifiedEmailLogin, true},
		{"AllowAccountDeletion", c.Auth.AllowAccountDeletion, true},
		{"EmailEnabled", c.Auth.EmailEnabled, false},
		{"MinPasswordLength", c.Auth.MinPasswordLength, 8},
		{"MinPasswordLengthSet", c.Auth.MinPasswordLengthSet, false},
		{"LoginMax", c.Auth.LoginMax, 7},
		{"LoginWindow", c.Auth.LoginWindow, 5 * time.Minute},
		{"RegisterMax", c.Auth.RegisterMax, 5},
		{"RegisterWindow", c.Auth.RegisterWindow, time.Hour},
		{"CookieSecure", c.Auth.CookieSecure == nil, true},
		{"FilePath", c.FilePath, ""},
		{"CredsKey", c.CredsKey, ""},
	}
	for _, ck := range checks {
		if !reflect.DeepEqual(ck.got, ck.want) {
			t.Errorf("%s = %v, want %v", ck.name, ck.got, ck.want)
		}
	}
}

func TestLoadValues(t *testing.T) {
	key := strings.Repeat("ab", 32)
	c, err := Load(envOf(map[string]string{
		"HOST": "0.0.0.0", "PORT": "8080", "APP_TITLE": "My Chat", "SHOW_BIRTHDAY_ICON": "TRUE",
		"SESSION_EXPIRY": "1000 * 60 * 30", "REFRESH_TOKEN_EXPIRY": "(1000 * 60 * 60 * 24) * 2",
		"REFRESH_GRACE_SECONDS": "0", "ALLOW_REGISTRATION": "false", "ALLOW_EMAIL_LOGIN": "0",
		"ALLOW_PASSWORD_RESET": "yes", "MIN_PASSWORD_LENGTH": "12", "LOGIN_MAX": "3", "LOGIN_WINDOW": "2",
		"REGISTER_MAX": "9", "REGISTER_WINDOW": "30", "SESSION_COOKIE_SECURE": "false",
		"EMAIL_HOST": "smtp.example.com", "EMAIL_FROM": "noreply@example.com", "CREDS_KEY": key,
		"OPENAI_API_KEY": "user_provided", "OPENAI_MODELS": " gpt-4o, ,gpt-4o-mini ",
		"ANTHROPIC_API_KEY": "sk-ant", "ANTHROPIC_MODELS": "claude-x", "ENDPOINTS": "anthropic,openAI",
		"BEDROCK_AWS_DEFAULT_REGION": "us-east-1", "BEDROCK_AWS_MODELS": "m1",
		"DOMAIN_CLIENT": "https://chat.example.com",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Port != 8080 || c.DomainServer != "http://localhost:8080" || c.DomainClient != "https://chat.example.com" {
		t.Errorf("port/domains: %d %q %q", c.Port, c.DomainServer, c.DomainClient)
	}
	if c.AppTitle != "My Chat" || !c.ShowBirthdayIcon {
		t.Errorf("title/birthday: %q %v", c.AppTitle, c.ShowBirthdayIcon)
	}
	if c.Auth.SessionExpiry != 30*time.Minute || c.Auth.RefreshExpiry != 48*time.Hour || c.Auth.RefreshGrace != 0 {
		t.Errorf("expiries: %v %v %v", c.Auth.SessionExpiry, c.Auth.RefreshExpiry, c.Auth.RefreshGrace)
	}
	if c.Auth.AllowRegistration || c.Auth.AllowEmailLogin || !c.Auth.AllowPasswordReset {
		t.Errorf("flags: %+v", c.Auth)
	}
	if c.Auth.MinPasswordLength != 12 || !c.Auth.MinPasswordLengthSet {
		t.Errorf("min password: %d %v", c.Auth.MinPasswordLength, c.Auth.MinPasswordLengthSet)
	}
	if c.Auth.LoginMax != 3 || c.Auth.LoginWindow != 2*time.Minute || c.Auth.RegisterMax != 9 || c.Auth.RegisterWindow != 30*time.Minute {
		t.Errorf("limits: %+v", c.Auth)
	}
	if c.Auth.CookieSecure == nil || *c.Auth.CookieSecure {
		t.Errorf("cookie secure: %v", c.Auth.CookieSecure)
	}
	if !c.Auth.EmailEnabled || c.Email.FromName != "My Chat" {
		t.Errorf("email: %v %+v", c.Auth.EmailEnabled, c.Email)
	}
	if c.CredsKey != key {
		t.Errorf("creds key %q", c.CredsKey)
	}
	if !reflect.DeepEqual(c.Providers.OpenAIModels, []string{"gpt-4o", "gpt-4o-mini"}) {
		t.Errorf("openai models %q", c.Providers.OpenAIModels)
	}
	if !reflect.DeepEqual(c.Providers.Endpoints, []string{"anthropic", "openAI"}) {
		t.Errorf("endpoints %q", c.Providers.Endpoints)
	}
	var got []string
	for _, e := range c.Endpoints() {
		got = append(got, e.Name)
		switch e.Name {
		case "anthropic":
			if e.Order != 0 || e.UserProvide {
				t.Errorf("anthropic %+v", e)
			}
		case "openAI":
			if e.Order != 1 || !e.UserProvide {
				t.Errorf("openAI %+v", e)
			}
		}
	}
	if !reflect.DeepEqual(got, []string{"anthropic", "openAI"}) {
		t.Errorf("ENDPOINTS filter/order: %q", got)
	}
	if m := c.StaticModels("openAI"); !reflect.DeepEqual(m, []string{"gpt-4o", "gpt-4o-mini"}) {
		t.Errorf("openAI models %q", m)
	}
	if m := c.StaticModels("bedrock"); !reflect.DeepEqual(m, []string{"m1"}) {
		t.Errorf("bedrock models %q", m)
	}
}

func TestLoadErrors(t *testing.T) {
	cases := []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"PORT": "abc"}, "PORT"},
		{map[string]string{"PORT": "70000"}, "PORT"},
		{map[string]string{"ALLOW_REGISTRATION": "maybe"}, "ALLOW_REGISTRATION"},
		{map[string]string{"SHOW_BIRTHDAY_ICON": "sometimes"}, "SHOW_BIRTHDAY_ICON"},
		{map[string]string{"CREDS_KEY": "abc"}, "CREDS_KEY"},
		{map[string]string{"CREDS_KEY": strings.Repeat("zz", 32)}, "CREDS_KEY"},
		{map[string]string{"SESSION_EXPIRY": "1000 * sixty"}, "SESSION_EXPIRY"},
		{map[string]string{"SESSION_EXPIRY": "process.exit()"}, "SESSION_EXPIRY"},
		{map[string]string{"REFRESH_TOKEN_EXPIRY": "-5"}, "REFRESH_TOKEN_EXPIRY"},
		{map[string]string{"REFRESH_GRACE_SECONDS": "-1"}, "REFRESH_GRACE_SECONDS"},
		{map[string]string{"MIN_PASSWORD_LENGTH": "eight"}, "MIN_PASSWORD_LENGTH"},
		{map[string]string{"LOGIN_MAX": "0"}, "LOGIN_MAX"},
		{map[string]string{"LOGIN_WINDOW": "5m"}, "LOGIN_WINDOW"},
		{map[string]string{"REGISTER_WINDOW": "x"}, "REGISTER_WINDOW"},
		{map[string]string{"SESSION_COOKIE_SECURE": "auto"}, "SESSION_COOKIE_SECURE"},
		{map[string]string{"CONFIG_PATH": filepath.Join(t.TempDir(), "nope.yaml")}, "CONFIG_PATH"},
	}
	for _, tc := range cases {
		_, err := Load(envOf(tc.env))
		if err == nil {
			t.Errorf("%v: no error", tc.env)
			continue
		}
		if !strings.HasPrefix(err.Error(), tc.want+":") {
			t.Errorf("%v: error %q does not name %s", tc.env, err, tc.want)
		}
	}
	// Several bad values are all reported.
	_, err := Load(envOf(map[string]string{"PORT": "x", "ALLOW_REGISTRATION": "y"}))
	if err == nil || !strings.Contains(err.Error(), "PORT") || !strings.Contains(err.Error(), "ALLOW_REGISTRATION") {
		t.Errorf("joined error: %v", err)
	}
}

func TestEvalArith(t *testing.T) {
	good := map[string]float64{
		"900000": 900000, "1000 * 60 * 15": 900000, "1000*60*60*24*7": 604800000,
		"(1 + 2) * 3": 9, "-2 + 5": 3, "10 / 4": 2.5, " 7 ": 7,
	}
	for in, want := range good {
		got, err := evalArith(in)
		if err != nil || got != want {
			t.Errorf("evalArith(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "1 +", "(1", "1 / 0", "a", "1e400 * 1e400", "2 ** 3"} {
		if _, err := evalArith(in); err == nil {
			t.Errorf("evalArith(%q) succeeded", in)
		}
	}
}

func writeFile(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

const goodYAML = `version: 1.3.0
cache: true
interface:
  privacyPolicy:
    externalUrl: https://example.com/privacy
    openNewTab: true
  modelSelect: true
  prompts: false
  agents:
    use: false
    share: true
  customWelcome: "Hi"
registration:
  socialLogins: ["github", "google"]
  allowedDomains:
    - example.com
endpoints:
  all:
    titleTiming: final
  anthropic:
    titleModel: claude-haiku-4-5
    models: ["claude-a", "claude-b"]
  bedrock:
    availableRegions: [us-east-1, eu-west-1]
  custom:
    - name: "OpenRouter"
      apiKey: "${OPENROUTER_KEY}"
      baseURL: "https://openrouter.ai/api/v1"
      models:
        default: ["meta-llama/llama-3-70b-instruct", {name: "m2", description: "two"}]
        fetch: true
      titleConvo: true
      titleModel: "current_model"
      modelDisplayLabel: "OpenRouter"
      headers:
        X-Title: "${APP_NAME}-chat"
        X-Other: "${NOT_SET_ANYWHERE}"
      addParams:
        safe_prompt: true
      dropParams: ["stop", "user"]
    - name: ollama
      apiKey: ollama
      baseURL: user_provided
      models:
        default: [llama3]
modelSpecs:
  enforce: false
  list:
    - name: gpt-helper
      label: Helper
      default: true
      iconURL: openAI
      skills: [a]
      preset:
        endpoint: OpenRouter
        model: m2
        promptPrefix: secret
        temperature: 0.2
balance:
  enabled: true
  startBalance: 5000
fileConfig:
  serverFileSizeLimit: 100
  endpoints:
    OpenRouter:
      fileLimit: 2
`

func TestParseFileGood(t *testing.T) {
	env := envOf(map[string]string{"OPENROUTER_KEY": "sk-or-123", "APP_NAME": "lc"})
	f, err := ParseFile("librechat.yaml", []byte(goodYAML), env)
	if err != nil {
		t.Fatal(err)
	}
	if f.Version != "1.3.0" || f.Cache == nil || !*f.Cache {
		t.Errorf("version/cache %q %v", f.Version, f.Cache)
	}
	if got := f.Interface.Raw.Keys(); !reflect.DeepEqual(got, []string{"privacyPolicy", "modelSelect", "prompts", "agents", "customWelcome"}) {
		t.Errorf("interface raw keys %q", got)
	}
	if f.Interface.PrivacyPolicy == nil || f.Interface.PrivacyPolicy.ExternalURL != "https://example.com/privacy" {
		t.Errorf("privacy %+v", f.Interface.PrivacyPolicy)
	}
	if p := f.Interface.Prompts; p == nil || p.Bool == nil || *p.Bool {
		t.Errorf("prompts %+v", p)
	}
	if a := f.Interface.Agents; a == nil || a.Bool != nil || a.Use == nil || *a.Use || a.Share == nil || !*a.Share {
		t.Errorf("agents %+v", a)
	}
	if !reflect.DeepEqual(f.Registration.SocialLogins, []string{"github", "google"}) || !reflect.DeepEqual(f.Registration.AllowedDomains, []string{"example.com"}) {
		t.Errorf("registration %+v", f.Registration)
	}
	if f.TitleTiming() != "final" {
		t.Errorf("title timing %q", f.TitleTiming())
	}
	if len(f.Endpoints.Custom) != 2 {
		t.Fatalf("custom %d", len(f.Endpoints.Custom))
	}
	or := f.Endpoints.Custom[0]
	if or.APIKey != "sk-or-123" || !or.Models.Fetch || !reflect.DeepEqual([]string(or.Models.Default), []string{"meta-llama/llama-3-70b-instruct", "m2"}) {
		t.Errorf("openrouter %+v", or)
	}
	if or.Headers["X-Title"] != "lc-chat" || or.Headers["X-Other"] != "${NOT_SET_ANYWHERE}" {
		t.Errorf("headers %q", or.Headers)
	}
	if or.AddParams["safe_prompt"] != true || !reflect.DeepEqual(or.DropParams, []string{"stop", "user"}) {
		t.Errorf("params %v %v", or.AddParams, or.DropParams)
	}
	ol := f.Endpoints.Custom[1]
	if ol.Name != "ollama" || !ol.UserProvidedURL() || ol.UserProvidedKey() {
		t.Errorf("ollama %+v", ol)
	}
	spec, ok := f.ModelSpec("gpt-helper")
	if !ok || spec.Preset.Endpoint != "OpenRouter" || spec.Preset.Model != "m2" || !spec.Default {
		t.Fatalf("spec %+v", spec)
	}
	preset, _ := spec.Raw.Object("preset")
	if v, _ := preset.String("promptPrefix"); v != "secret" {
		t.Errorf("raw preset keeps private fields for the server: %v", v)
	}
	if !f.ModelSpecs.PrioritizeOrDefault() {
		t.Error("prioritize default")
	}
	if !f.Balance.Set || !f.Balance.IsEnabled() || f.Balance.Start() != 5000 || f.Balance.Refill() != DefaultRefillAmount {
		t.Errorf("balance %+v", f.Balance)
	}
	b, _ := json.Marshal(f.FileConfig)
	if string(b) != `{"serverFileSizeLimit":100,"endpoints":{"OpenRouter":{"fileLimit":2}}}` {
		t.Errorf("fileConfig %s", b)
	}
	if f.Endpoints.Bedrock == nil || len(f.Endpoints.Bedrock.AvailableRegions) != 2 {
		t.Errorf("bedrock %+v", f.Endpoints.Bedrock)
	}
}

func TestParseFileUnknownKeysWarn(t *testing.T) {
	var buf bytes.Buffer
	old := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&buf, nil)))
	defer slog.SetDefault(old)

	src := `version: 1.2.1
webSearch:
  serperApiKey: x
endpoints:
  agents:
    disableBuilder: true
  custom:
    - name: A
      apiKey: k
      baseURL: http://a
      models: {default: [m]}
      somethingNew: 1
interface:
  somethingElse: true
`
	if _, err := ParseFile("librechat.yaml", []byte(src), nil); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{"key=webSearch line=2", "key=endpoints.agents line=5", "key=endpoints.custom[0].somethingNew line=12"} {
		if !strings.Contains(out, want) {
			t.Errorf("warning %q missing from:\n%s", want, out)
		}
	}
	if strings.Contains(out, "somethingElse") {
		t.Errorf("interface keys are passed through, not warned: %s", out)
	}
	if n := strings.Count(out, "endpoints.agents "); n != 1 {
		t.Errorf("warned %d times", n)
	}
}

func TestParseFileErrors(t *testing.T) {
	cases := []struct {
		name, src, want string
	}{
		{"bad fetch type", `version: 1.2.1
endpoints:
  custom:
    - name: A
      apiKey: k
      baseURL: http://a
      models:
        default: [m]
        fetch: "yes please"
`, `librechat.yaml: line 9: endpoints.custom[0].models.fetch: cannot unmarshal !!str "yes please" into bool`},
		{"syntax", "version: 1\nendpoints:\n  custom: [\n", "librechat.yaml: line 3: did not find expected node content"},
		{"bad indentation", "a: 1\n b: 2\n", "librechat.yaml: line 2: mapping values are not allowed in this context"},
		{"custom without name", `endpoints:
  custom:
    - apiKey: k
      baseURL: http://a
      models: {default: [m]}
`, "librechat.yaml: line 3: endpoints.custom[0].name: required field is missing"},
		{"custom without baseURL", `endpoints:
  custom:
    - name: A
      apiKey: k
      models: {default: [m]}
    - name: B
      apiKey: k
      models: {default: [m]}
`, "librechat.yaml: line 3: endpoints.custom[0].baseURL: required field is missing"},
		{"custom without models", `endpoints:
  custom:
    - name: A
      apiKey: k
      baseURL: http://a
`, "librechat.yaml: line 3: endpoints.custom[0].models: needs a non-empty default list or fetch: true"},
		{"custom reserved name", `endpoints:
  custom:
    - name: openAI
      apiKey: k
      baseURL: http://a
      models: {default: [m]}
`, `librechat.yaml: line 3: endpoints.custom[0].name: "openAI" is the name of a built-in endpoint`},
		{"custom duplicate", `endpoints:
  custom:
    - {name: A, apiKey: k, baseURL: http://a, models: {default: [m]}}
    - {name: A, apiKey: k, baseURL: http://a, models: {default: [m]}}
`, `librechat.yaml: line 4: endpoints.custom[1].name: endpoint "A" is already defined at endpoints.custom[0]`},
		{"custom not a list", `endpoints:
  custom:
    name: A
`, "librechat.yaml: line 3: endpoints.custom: cannot unmarshal !!map into list"},
		{"models default wrong", `endpoints:
  custom:
    - name: A
      apiKey: k
      baseURL: http://a
      models:
        default: m
`, `librechat.yaml: line 7: endpoints.custom[0].models.default: cannot unmarshal !!str "m" into list`},
		{"spec without name", `modelSpecs:
  list:
    - label: x
      preset: {endpoint: openAI}
`, "librechat.yaml: line 3: modelSpecs.list[0].name: required field is missing"},
		{"spec without endpoint", `modelSpecs:
  list:
    - name: x
      preset:
        model: m
`, "librechat.yaml: line 5: modelSpecs.list[0].preset.endpoint: required field is missing"},
		{"spec without preset", `modelSpecs:
  list:
    - name: x
`, "librechat.yaml: line 3: modelSpecs.list[0].preset: required field is missing"},
		{"balance type", "balance:\n  enabled: true\n  startBalance: lots\n", `librechat.yaml: line 3: balance.startBalance: cannot unmarshal !!str "lots" into int64`},
		{"balance unit", "balance:\n  refillIntervalUnit: fortnights\n", "librechat.yaml: line 2: balance.refillIntervalUnit: must be one of seconds, minutes, hours, days, weeks, months"},
		{"interface switch type", "interface:\n  prompts: sometimes\n", `librechat.yaml: line 2: interface.prompts: cannot unmarshal !!str "sometimes" into bool or mapping`},
		{"interface bool type", "interface:\n  bookmarks: 1\n", `librechat.yaml: line 2: interface.bookmarks: cannot unmarshal !!int "1" into bool`},
		{"social logins type", "registration:\n  socialLogins: github\n", `librechat.yaml: line 2: registration.socialLogins: cannot unmarshal !!str "github" into list`},
		{"duplicate key", "version: 1\nversion: 2\n", `librechat.yaml: line 2: version: mapping key "version" already defined at line 1`},
		{"root not a mapping", "- a\n- b\n", "librechat.yaml: line 1: cannot unmarshal !!seq into mapping"},
		{"headers type", `endpoints:
  custom:
    - name: A
      apiKey: k
      baseURL: http://a
      models: {default: [m]}
      headers:
        X-A: {nested: 1}
`, "librechat.yaml: line 8: endpoints.custom[0].headers.X-A: cannot unmarshal !!map into string"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseFile("librechat.yaml", []byte(tc.src), nil)
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.HasPrefix(err.Error(), tc.want) {
				t.Errorf("error\n  %s\nwant prefix\n  %s", err, tc.want)
			}
		})
	}
}

func TestParseFileAnchorsAndEmpty(t *testing.T) {
	src := `x-common: &common
  apiKey: k
  baseURL: http://a
  models: {default: [m]}
endpoints:
  custom:
    - <<: *common
      name: A
    - <<: *common
      name: B
      apiKey: other
`
	f, err := ParseFile("librechat.yaml", []byte(src), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Endpoints.Custom) != 2 || f.Endpoints.Custom[0].APIKey != "k" || f.Endpoints.Custom[1].APIKey != "other" || f.Endpoints.Custom[1].BaseURL != "http://a" {
		t.Errorf("merge keys: %+v", f.Endpoints.Custom)
	}
	for _, src := range []string{"", "# only a comment\n", "---\n"} {
		f, err := ParseFile("librechat.yaml", []byte(src), nil)
		if err != nil || f.Interface.Raw.IsSet() || f.ModelSpecs != nil {
			t.Errorf("%q: %v %+v", src, err, f)
		}
	}
}

func TestLoadConfigPath(t *testing.T) {
	dir := t.TempDir()
	p := writeFile(t, dir, "lc.yaml", `version: 1.2.1
endpoints:
  custom:
    - name: Local
      apiKey: "${LOCAL_KEY}"
      baseURL: "${LOCAL_URL}/v1"
      models: {default: [a, b]}
`)
	c, err := Load(envOf(map[string]string{"CONFIG_PATH": p, "LOCAL_KEY": "secret", "LOCAL_URL": "http://127.0.0.1:8000"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.FilePath != p {
		t.Errorf("FilePath %q", c.FilePath)
	}
	ce, ok := c.File.CustomEndpoint("Local")
	if !ok || ce.APIKey != "secret" || ce.BaseURL != "http://127.0.0.1:8000/v1" {
		t.Fatalf("custom %+v", ce)
	}
	eps := c.Endpoints()
	if len(eps) != 1 || eps[0].Name != "Local" || eps[0].Order != 9999 || !eps[0].IsCustom() {
		t.Errorf("endpoints %+v", eps)
	}
	if m := c.StaticModels("Local"); !reflect.DeepEqual(m, []string{"a", "b"}) {
		t.Errorf("models %q", m)
	}

	bad := writeFile(t, dir, "bad.yaml", "endpoints:\n  custom:\n    - name: A\n      apiKey: k\n      baseURL: b\n      models:\n        fetch: \"yes please\"\n")
	_, err = Load(envOf(map[string]string{"CONFIG_PATH": bad}))
	if err == nil || err.Error() != bad+`: line 7: endpoints.custom[0].models.fetch: cannot unmarshal !!str "yes please" into bool` {
		t.Errorf("error %v", err)
	}
}

func TestEndpointsOfflineAndBuiltins(t *testing.T) {
	c, err := Load(envOf(nil))
	if err != nil {
		t.Fatal(err)
	}
	eps := c.Endpoints()
	if len(eps) != 1 || !eps[0].Offline || eps[0].Name != OfflineEndpoint || eps[0].UserProvide {
		t.Fatalf("offline: %+v", eps)
	}
	if m := c.StaticModels(OfflineEndpoint); !reflect.DeepEqual(m, []string{OfflineModel}) {
		t.Errorf("offline models %q", m)
	}

	c, err = Load(envOf(map[string]string{
		"OPENAI_API_KEY": "sk", "OPENAI_REVERSE_PROXY": "user_provided", "GOOGLE_KEY": "user_provided",
		"ANTHROPIC_API_KEY": "user_provided", "BEDROCK_AWS_SECRET_ACCESS_KEY": "user_provided",
		"BEDROCK_AWS_ACCESS_KEY_ID": "user_provided",
	}))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range c.Endpoints() {
		names = append(names, e.Name)
		want := map[string]int{"openAI": 0, "google": 5, "anthropic": 6, "bedrock": 7}[e.Name]
		if e.Order != want {
			t.Errorf("%s order %d want %d", e.Name, e.Order, want)
		}
		if e.Name == "openAI" && (e.UserProvide || e.UserProvideURL == nil || !*e.UserProvideURL) {
			t.Errorf("openAI %+v", e)
		}
		if e.Name == "bedrock" && (!e.UserProvide || !e.UserProvideAccessKeyID || !e.UserProvideSecretAccessKey) {
			t.Errorf("bedrock %+v", e)
		}
	}
	if !reflect.DeepEqual(names, []string{"openAI", "google", "anthropic", "bedrock"}) {
		t.Errorf("names %q", names)
	}
	if _, ok := c.Endpoint(OfflineEndpoint); ok {
		t.Error("offline offered next to providers")
	}
	if m := c.StaticModels("anthropic"); !reflect.DeepEqual(m, DefaultAnthropicModels) {
		t.Errorf("anthropic defaults %q", m)
	}
}

func TestLoadDotEnv(t *testing.T) {
	dir := t.TempDir()
	p := writeFile(t, dir, ".env", "LCGO_TEST_SET=from-file\nLCGO_TEST_NEW=from-file\n# comment\nLCGO_TEST_QUOTED=\"a b\"\n")
	t.Setenv("LCGO_TEST_SET", "from-env")
	for _, k := range []string{"LCGO_TEST_NEW", "LCGO_TEST_QUOTED"} {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
	if err := LoadDotEnv(p); err != nil {
		t.Fatal(err)
	}
	if v := os.Getenv("LCGO_TEST_SET"); v != "from-env" {
		t.Errorf("existing variable overridden: %q", v)
	}
	if v := os.Getenv("LCGO_TEST_NEW"); v != "from-file" {
		t.Errorf("new variable %q", v)
	}
	if v := os.Getenv("LCGO_TEST_QUOTED"); v != "a b" {
		t.Errorf("quoted %q", v)
	}
	if err := LoadDotEnv(filepath.Join(dir, "missing.env")); err != nil {
		t.Errorf("missing file: %v", err)
	}
}

func TestObject(t *testing.T) {
	o := NewObject()
	o.Set("b", 1)
	o.Set("a", Object{})
	o.Set("b", 2)
	c := o.Clone()
	c.Delete("b")
	c.Set("z", []any{"x", NewObject()})
	ob, _ := json.Marshal(o)
	cb, _ := json.Marshal(c)
	if string(ob) != `{"b":2,"a":{}}` || string(cb) != `{"a":{},"z":["x",{}]}` {
		t.Errorf("%s %s", ob, cb)
	}
}

func TestFileStrategyFromEnvironment(t *testing.T) {
	dir := t.TempDir()
	yamlWith := filepath.Join(dir, "with.yaml")
	yamlWithout := filepath.Join(dir, "without.yaml")
	if err := os.WriteFile(yamlWith, []byte("version: 1.2.1\nfileStrategy: local\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(yamlWithout, []byte("version: 1.2.1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"FILE_STRATEGY": "s3", "CONFIG_PATH": yamlWithout}, "s3"},
		{map[string]string{"FILE_STRATEGY": "s3", "CONFIG_PATH": yamlWith}, "local"}, // the file wins
		{map[string]string{"FILE_STRATEGY": "s3", "CONFIG_PATH": ""}, "s3"},
		{map[string]string{"CONFIG_PATH": yamlWithout}, ""},
	} {
		cfg, err := Load(func(k string) (string, bool) { v, ok := c.env[k]; return v, ok })
		if err != nil {
			t.Fatal(err)
		}
		if cfg.File.FileStrategy != c.want {
			t.Errorf("%v: fileStrategy %q, want %q", c.env, cfg.File.FileStrategy, c.want)
		}
	}
}
