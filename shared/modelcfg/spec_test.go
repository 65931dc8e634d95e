package modelcfg

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/lcgo/lcgo/shared/config"
	"github.com/lcgo/lcgo/shared/librechat"
)

const fullSpec = `{
  "name": "helper",
  "label": "Helper",
  "description": "General help",
  "endpoint": "openai",
  "model": "gpt-4o",
  "allowedModels": ["gpt-4o-mini"],
  "systemMessage": "You are helpful.\nBe brief.",
  "parameters": {"temperature": 0.5, "topP": 0.9, "max_tokens": 1024, "reasoning_effort": "low", "thinking": false},
  "constraints": {
    "temperature": {"min": 0, "max": 1, "onViolation": "clamp"},
    "max_tokens": {"max": 2048},
    "reasoning_effort": {"allowed": ["low", "medium"]}
  },
  "onViolation": "reject",
  "allowedTools": ["web_search", "mcp:github"],
  "allowOverride": false,
  "iconURL": "https://example.com/icon.png",
  "group": "Assistants",
  "order": 2,
  "priority": 5,
  "default": true
}`

func TestParseSpecFull(t *testing.T) {
	s, err := ParseSpec([]byte(fullSpec))
	if err != nil {
		t.Fatal(err)
	}
	if s.Endpoint != "openAI" || s.Model != "gpt-4o" || s.Label != "Helper" || *s.Order != 2 || s.Priority != 5 || !s.Default {
		t.Errorf("spec %+v", s)
	}
	wantParams := map[string]any{"temperature": 0.5, "top_p": 0.9, "max_tokens": int64(1024), "reasoning_effort": "low", "thinking": false}
	if !reflect.DeepEqual(s.Parameters, wantParams) {
		t.Errorf("parameters %#v", s.Parameters)
	}
	if c := s.Constraints["temperature"]; *c.Max != 1 || c.OnViolation != Clamp {
		t.Errorf("temperature constraint %+v", c)
	}
	if got := s.Models(); !reflect.DeepEqual(got, []string{"gpt-4o", "gpt-4o-mini"}) {
		t.Errorf("models %q", got)
	}
	// The normalized form reads back to the same configuration.
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"top_p":0.9`) || !strings.Contains(string(b), `"max":2048`) || !strings.HasPrefix(string(b), `{"name":"helper","label":"Helper"`) {
		t.Errorf("marshal %s", b)
	}
	var again Spec
	if err := json.Unmarshal(b, &again); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(&again, s) {
		t.Errorf("round trip\n got %+v\nwant %+v", again, *s)
	}
	// Tools: absent is any, [] is none, and the two stay apart.
	none, _ := ParseSpec([]byte(`{"name":"n","endpoint":"openAI","model":"m","allowedTools":[]}`))
	anyTools, _ := ParseSpec([]byte(`{"name":"n","endpoint":"openAI","model":"m"}`))
	if none.AllowedTools == nil || len(none.AllowedTools) != 0 || anyTools.AllowedTools != nil {
		t.Errorf("allowedTools none %#v any %#v", none.AllowedTools, anyTools.AllowedTools)
	}
	if b, _ := json.Marshal(none); !strings.Contains(string(b), `"allowedTools":[]`) {
		t.Errorf("empty tools lost: %s", b)
	}
}

func TestParseSpecErrors(t *testing.T) {
	base := func(extra string) string {
		return `{"name":"n","endpoint":"openAI","model":"m"` + extra + `}`
	}
	cases := []struct {
		name, in, want string
	}{
		{"unknown field", base(`,"temprature":1`), "temprature: unknown field"},
		{"unknown parameter", base(`,"parameters":{"temprature":1}`), "parameters.temprature: unknown parameter"},
		{"unknown constraint field", base(`,"constraints":{"temperature":{"mn":0}}`), "constraints.temperature.mn: unknown field"},
		{"constraint of unknown parameter", base(`,"constraints":{"heat":{"min":0}}`), "constraints.heat: unknown parameter"},
		{"temperature above range", base(`,"parameters":{"temperature":3}`), "parameters.temperature: 3 is outside the range of temperature (0 to 2)"},
		{"top_p below range", base(`,"parameters":{"topP":-0.1}`), "parameters.topP: -0.1 is outside the range of top_p (0 to 1)"},
		{"max_tokens not integer", base(`,"parameters":{"max_tokens":10.5}`), "parameters.max_tokens: must be an integer"},
		{"max_tokens zero", base(`,"parameters":{"maxOutputTokens":0}`), "parameters.maxOutputTokens: 0 is outside the range of max_tokens"},
		{"reasoning effort", base(`,"parameters":{"reasoning_effort":"extreme"}`), `parameters.reasoning_effort: "extreme" is not a valid reasoning_effort`},
		{"thinking type", base(`,"parameters":{"thinking":"yes"}`), "parameters.thinking: must be a boolean, not a string"},
		{"temperature type", base(`,"parameters":{"temperature":"hot"}`), "parameters.temperature: must be a number, not a string"},
		{"alias twice", base(`,"parameters":{"top_p":0.5,"topP":0.6}`), "parameters.topP: top_p is already set as parameters.top_p"},
		{"min above max", base(`,"constraints":{"temperature":{"min":1,"max":0.5}}`), "constraints.temperature.min: min 1 is greater than max 0.5"},
		{"bound outside range", base(`,"constraints":{"temperature":{"max":5}}`), "constraints.temperature.max: 5 is outside the range of temperature"},
		{"min on enum", base(`,"constraints":{"reasoning_effort":{"min":1}}`), "constraints.reasoning_effort.min: reasoning_effort is not numeric"},
		{"empty constraint", base(`,"constraints":{"temperature":{}}`), "constraints.temperature: needs min, max or allowed"},
		{"empty allowed", base(`,"constraints":{"temperature":{"allowed":[]}}`), "constraints.temperature.allowed: must list at least one value"},
		{"allowed out of range", base(`,"constraints":{"topK":{"allowed":[10,99]}}`), "constraints.topK.allowed[1]: 99 is outside the range of topK"},
		{"bad onViolation", base(`,"constraints":{"temperature":{"max":1,"onViolation":"ignore"}}`), `constraints.temperature.onViolation: must be "reject" or "clamp"`},
		{"bad spec onViolation", base(`,"onViolation":"warn"`), `onViolation: must be "reject" or "clamp"`},
		{"value breaks own constraint", base(`,"parameters":{"temperature":1.5},"constraints":{"temperature":{"max":1}}`), "parameters.temperature: the configured value breaks its constraint: temperature 1.5 is above the maximum 1"},
		{"value not allowed", base(`,"parameters":{"reasoning_effort":"high"},"constraints":{"reasoning_effort":{"allowed":["low"]}}`), `parameters.reasoning_effort: the configured value breaks its constraint: reasoning_effort "high" is not one of the allowed values ["low"]`},
		{"missing name", `{"endpoint":"openAI","model":"m"}`, "name: required field is missing"},
		{"unsafe name", `{"name":"<script>","endpoint":"openAI","model":"m"}`, `name: "<script>" is not a valid name`},
		{"missing endpoint", `{"name":"n","model":"m"}`, "endpoint: required field is missing"},
		{"empty model", `{"name":"n","endpoint":"openAI","model":" "}`, "model: must not be empty"},
		{"bad tool", base(`,"allowedTools":["web search"]`), `allowedTools[0]: "web search" is not a valid tool name`},
		{"tools not list", base(`,"allowedTools":"web_search"`), "allowedTools: must be a list of strings, not a string"},
		{"icon scheme", base(`,"iconURL":"javascript:alert(1)"`), "iconURL: must be an http(s) URL"},
		{"control character", `{"name":"n","label":"a\u0007b","endpoint":"openAI","model":"m"}`, "label: must not contain control characters"},
		{"duplicate key", `{"name":"n","name":"o","endpoint":"openAI","model":"m"}`, "name: duplicate field"},
		{"trailing data", base(``) + `{}`, "unexpected data after the value"},
		{"malformed", `{"name":`, "malformed JSON"},
		{"not an object", `[]`, "must be an object, not a list"},
		{"order type", base(`,"order":"first"`), "order: must be an integer, not a string"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseSpec([]byte(tc.in))
			if err == nil {
				t.Fatalf("accepted %s", tc.in)
			}
			if librechat.KindOf(err) != librechat.KindInvalid {
				t.Errorf("kind %v", librechat.KindOf(err))
			}
			if msg := librechat.MessageOf(err); !strings.Contains(msg, tc.want) {
				t.Errorf("message %q\nwant it to contain %q", msg, tc.want)
			}
		})
	}
}

const issueFile = `models:
  defaults:
    - endpoint: openai
      model: gpt-4
      systemMessage: "You are a helpful assistant"
      parameters:
        temperature: 0.7
  userPresets:
    enabled: true
    allowOverride: true
  groupPresets:
    enabled: true
    priority: user # user | group | system
`

func TestParseFileIssueShape(t *testing.T) {
	f, err := ParseFile("models.yaml", []byte(issueFile))
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Defaults) != 1 {
		t.Fatalf("defaults %d", len(f.Defaults))
	}
	s := f.Defaults[0]
	if s.Name != "gpt-4" || s.Label != "gpt-4" || s.Endpoint != "openAI" || s.SystemMessage != "You are a helpful assistant" || s.Parameters["temperature"] != 0.7 {
		t.Errorf("default %+v", s)
	}
	want := Settings{UserPresetsEnabled: true, AllowOverride: true, GroupPresetsEnabled: true, Priority: PriorityUser}
	if f.Settings != want {
		t.Errorf("settings %+v", f.Settings)
	}
	empty, err := ParseFile("models.yaml", []byte("# nothing yet\n"))
	if err != nil || len(empty.Defaults) != 0 || empty.Settings != DefaultSettings() {
		t.Errorf("empty file: %+v %v", empty, err)
	}
}

func TestParseFileErrors(t *testing.T) {
	cases := []struct {
		name, in string
		line     int
		path     string
		msg      string
	}{
		{"unknown top key", "model:\n  defaults: []\n", 1, "model", "unknown field"},
		{"unknown models key", "models:\n  default: []\n", 2, "models.default", "unknown field"},
		{"unknown spec field", "models:\n  defaults:\n    - endpoint: openAI\n      model: gpt-4\n      temprature: 0.7\n", 5, "models.defaults[0].temprature", "unknown field"},
		{"unknown parameter", "models:\n  defaults:\n    - endpoint: openAI\n      model: gpt-4\n      parameters:\n        temprature: 0.7\n", 6, "models.defaults[0].parameters.temprature", "unknown parameter"},
		{"out of range", "models:\n  defaults:\n    - endpoint: openAI\n      model: gpt-4\n      parameters:\n        temperature: 7\n", 6, "models.defaults[0].parameters.temperature", "7 is outside the range of temperature (0 to 2)"},
		{"quoted number", "models:\n  defaults:\n    - endpoint: openAI\n      model: gpt-4\n      parameters:\n        temperature: \"0.7\"\n", 6, "models.defaults[0].parameters.temperature", "must be a number, not a string"},
		{"constraint", "models:\n  defaults:\n    - endpoint: openAI\n      model: gpt-4\n      constraints:\n        temperature:\n          min: 1\n          max: 0\n", 7, "models.defaults[0].constraints.temperature.min", "min 1 is greater than max 0"},
		{"missing model", "models:\n  defaults:\n    - endpoint: openAI\n", 3, "models.defaults[0].model", "required field is missing"},
		{"duplicate name", "models:\n  defaults:\n    - {endpoint: openAI, model: gpt-4}\n    - {endpoint: openAI, model: gpt-4}\n", 4, "models.defaults[1].name", `a configuration named "gpt-4" is already defined at models.defaults[0]`},
		{"bad priority", "models:\n  groupPresets:\n    priority: admin\n", 3, "models.groupPresets.priority", "must be user, group or system"},
		{"enabled type", "models:\n  userPresets:\n    enabled: sometimes\n", 3, "models.userPresets.enabled", "must be a boolean, not a string"},
		{"unknown preset key", "models:\n  userPresets:\n    enable: true\n", 3, "models.userPresets.enable", "unknown field"},
		{"duplicate key", "models:\n  enforce: true\n  enforce: false\n", 3, "models.enforce", "already defined at line 2"},
		{"defaults not a list", "models:\n  defaults: {endpoint: openAI}\n", 2, "models.defaults", "must be a list"},
		{"syntax", "models:\n  defaults: [\n", 0, "", "did not find expected"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseFile("models.yaml", []byte(tc.in))
			var fe *config.FileError
			if !errors.As(err, &fe) {
				t.Fatalf("error %v is not a FileError", err)
			}
			if fe.Line != tc.line || fe.Path != tc.path || !strings.Contains(fe.Msg, tc.msg) {
				t.Errorf("got line %d path %q msg %q\nwant line %d path %q msg containing %q", fe.Line, fe.Path, fe.Msg, tc.line, tc.path, tc.msg)
			}
			if !strings.HasPrefix(err.Error(), "models.yaml") {
				t.Errorf("error %q does not name the file", err)
			}
		})
	}
}
