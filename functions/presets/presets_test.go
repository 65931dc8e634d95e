package presets_test

import (
	"context"
	"encoding/json"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestListEmptyMatchesCapture(t *testing.T) {
	e := newEnv(t)
	_, tok := e.newUser("alice")
	got := e.do("GET", "/api/presets", tok, "")
	want := loadCapture(t, "13-get-presets.txt")
	if got.status != want.status || string(got.body) != want.body {
		t.Fatalf("got %s, want %d %s", got, want.status, want.body)
	}
}

func TestAuthRequiredAndUnknownRoutes(t *testing.T) {
	e := newEnv(t)
	_, tok := e.newUser("alice")
	for _, c := range []struct{ method, path string }{
		{"GET", "/api/presets"}, {"POST", "/api/presets"}, {"POST", "/api/presets/delete"},
	} {
		if res := e.do(c.method, c.path, "", ""); res.status != http.StatusUnauthorized {
			t.Errorf("%s %s without a token: %s", c.method, c.path, res)
		}
	}
	for _, c := range []struct{ method, path string }{
		{"GET", "/api/presets/x"}, {"DELETE", "/api/presets"}, {"PUT", "/api/presets"},
	} {
		res := e.do(c.method, c.path, tok, "")
		errorBody(t, res, http.StatusNotFound, "Endpoint not found")
	}
}

func TestCreateReturnsStoredDocument(t *testing.T) {
	e := newEnv(t)
	alice, tok := e.newUser("alice")
	res := e.do("POST", "/api/presets", tok,
		`{"title":"Precise","endpoint":"openAI","endpointType":null,"model":"gpt-4o","temperature":0.20,"promptPrefix":"Be \u003cbrief> & exact","maxContextTokens":"8000"}`)
	if res.status != http.StatusCreated {
		t.Fatalf("create: %s", res)
	}
	wantKeys := []string{"_id", "presetId", "user", "__v", "createdAt", "endpoint", "isArchived",
		"maxContextTokens", "model", "promptPrefix", "tags", "temperature", "title", "updatedAt"}
	if got := keys(t, res.body); !slices.Equal(got, wantKeys) {
		t.Fatalf("keys %v, want %v", got, wantKeys)
	}
	p := res.object(t)
	if !uuidRE.MatchString(p["presetId"].(string)) {
		t.Errorf("presetId %v is not a UUID", p["presetId"])
	}
	if id, _ := p["_id"].(string); len(id) != 24 {
		t.Errorf("_id %v", p["_id"])
	}
	if p["user"] != alice.ID || p["__v"] != 0.0 || p["title"] != "Precise" || p["endpoint"] != "openAI" ||
		p["model"] != "gpt-4o" || p["temperature"] != 0.2 || p["maxContextTokens"] != 8000.0 ||
		p["isArchived"] != false || p["promptPrefix"] != "Be <brief> & exact" {
		t.Errorf("document %s", res.body)
	}
	if !strings.Contains(string(res.body), `"temperature":0.2,`) || !strings.Contains(string(res.body), "<brief> &") {
		t.Errorf("numbers and text are not written as Node writes them: %s", res.body)
	}
	if p["createdAt"] != "2026-11-26T16:00:00.000Z" || p["updatedAt"] != p["createdAt"] {
		t.Errorf("times %v %v", p["createdAt"], p["updatedAt"])
	}
	list := e.list(tok)
	if len(list) != 1 {
		t.Fatalf("list %v", list)
	}
	b, _ := json.Marshal(list[0])
	pb, _ := json.Marshal(p)
	if string(b) != string(pb) {
		t.Errorf("listed %s, saved %s", b, pb)
	}
}

func TestUpsertKeepsAbsentKeys(t *testing.T) {
	e := newEnv(t)
	_, tok := e.newUser("alice")
	first := e.save(tok, `{"presetId":"p1","title":"One","endpoint":"openAI","model":"gpt-4o","temperature":1,"stop":["END"]}`)
	e.clock.Advance(time.Minute)
	second := e.save(tok, `{"presetId":"p1","endpoint":"openAI","temperature":0.5,"stop":null,"_id":"000000000000000000000000","user":"someone","createdAt":"2020-01-01T00:00:00.000Z","conversationId":"c1"}`)
	if second["presetId"] != "p1" || second["_id"] != first["_id"] || second["user"] != first["user"] ||
		second["title"] != "One" || second["model"] != "gpt-4o" || second["temperature"] != 0.5 ||
		second["createdAt"] != first["createdAt"] || second["updatedAt"] != "2026-11-26T16:01:00.000Z" {
		t.Fatalf("after update %v", second)
	}
	if _, ok := second["stop"]; ok {
		t.Errorf("null did not remove stop: %v", second)
	}
	if _, ok := second["conversationId"]; ok {
		t.Errorf("conversationId was stored: %v", second)
	}
	if l := e.list(tok); len(l) != 1 {
		t.Fatalf("upsert made %d presets", len(l))
	}
}

func TestListOrder(t *testing.T) {
	e := newEnv(t)
	_, tok := e.newUser("alice")
	e.save(tok, `{"presetId":"old","title":"old","endpoint":"openAI"}`)
	e.clock.Advance(time.Second)
	e.save(tok, `{"presetId":"new","title":"new","endpoint":"openAI"}`)
	e.clock.Advance(time.Second)
	e.save(tok, `{"presetId":"second","title":"second","endpoint":"openAI","order":2}`)
	e.clock.Advance(time.Second)
	e.save(tok, `{"presetId":"first","title":"first","endpoint":"openAI","order":1}`)
	if got := ids(e.list(tok)); !slices.Equal(got, []string{"first", "second", "new", "old"}) {
		t.Fatalf("order %v", got)
	}
}

func TestDefaultPreset(t *testing.T) {
	e := newEnv(t)
	_, tok := e.newUser("alice")
	e.save(tok, `{"presetId":"a","title":"A","endpoint":"openAI","defaultPreset":true,"order":5}`)
	e.clock.Advance(time.Second)
	e.save(tok, `{"presetId":"b","title":"B","endpoint":"openAI"}`)
	list := e.list(tok)
	if got := ids(list); !slices.Equal(got, []string{"a", "b"}) || list[0]["defaultPreset"] != true || list[0]["order"] != 0.0 {
		t.Fatalf("first default: %v", list)
	}
	if _, ok := list[1]["defaultPreset"]; ok {
		t.Fatalf("b has defaultPreset: %v", list[1])
	}

	e.clock.Advance(time.Second)
	b := e.save(tok, `{"presetId":"b","endpoint":"openAI","defaultPreset":true}`)
	if b["defaultPreset"] != true || b["order"] != 0.0 {
		t.Fatalf("b: %v", b)
	}
	list = e.list(tok)
	if got := ids(list); !slices.Equal(got, []string{"b", "a"}) {
		t.Fatalf("order after switching default: %v", got)
	}
	if _, ok := list[1]["defaultPreset"]; ok {
		t.Errorf("a kept defaultPreset: %v", list[1])
	}
	if _, ok := list[1]["order"]; ok {
		t.Errorf("a kept its order: %v", list[1])
	}

	e.clock.Advance(time.Second)
	b = e.save(tok, `{"presetId":"b","endpoint":"openAI","defaultPreset":false}`)
	_, hasDefault := b["defaultPreset"]
	_, hasOrder := b["order"]
	if hasDefault || hasOrder {
		t.Fatalf("defaultPreset false kept %v", b)
	}
	for _, p := range e.list(tok) {
		if p["defaultPreset"] == true {
			t.Errorf("still a default: %v", p)
		}
	}
}

func TestSettingsAreNormalized(t *testing.T) {
	e := newEnv(t)
	_, tok := e.newUser("alice")
	p := e.save(tok, `{"title":"T","endpoint":"agents","tools":["calc",{"pluginKey":"web"},{"name":"x"},7],"maxOutputTokens":"4096","max_tokens":"","thinkingBudget":-1,"imageDetail":"high","reasoning_effort":"","additionalModelRequestFields":{"a":1},"examples":[{"input":{"content":"hi"},"output":{"content":"yo"}}]}`)
	tools, _ := json.Marshal(p["tools"])
	if string(tools) != `["calc","web"]` || p["maxOutputTokens"] != 4096.0 || p["thinkingBudget"] != -1.0 ||
		p["imageDetail"] != "high" || p["reasoning_effort"] != "" {
		t.Fatalf("normalized %v", p)
	}
	if _, ok := p["max_tokens"]; ok {
		t.Errorf("an empty numeric string was stored: %v", p)
	}
}

func TestRenameWithNewPresetID(t *testing.T) {
	e := newEnv(t)
	_, tok := e.newUser("alice")
	first := e.save(tok, `{"presetId":"old","title":"T","endpoint":"openAI","model":"m"}`)
	e.save(tok, `{"presetId":"other","title":"O","endpoint":"openAI"}`)
	res := e.do("POST", "/api/presets", tok, `{"presetId":"old","newPresetId":"other","endpoint":"openAI"}`)
	errorBody(t, res, http.StatusConflict, `A preset with presetId "other" already exists`)
	renamed := e.save(tok, `{"presetId":"old","newPresetId":"new","endpoint":"openAI"}`)
	if renamed["presetId"] != "new" || renamed["_id"] != first["_id"] || renamed["model"] != "m" {
		t.Fatalf("renamed %v", renamed)
	}
	if got := ids(e.list(tok)); !slices.Equal(got, []string{"new", "other"}) {
		t.Fatalf("after rename %v", got)
	}
}

func TestDelete(t *testing.T) {
	e := newEnv(t)
	_, tok := e.newUser("alice")
	for _, id := range []string{"a", "b", "c", "d"} {
		e.save(tok, `{"presetId":"`+id+`","title":"`+id+`","endpoint":"openAI"}`)
	}
	res := e.do("POST", "/api/presets/delete", tok, `{"presetId":"a","title":"a","endpoint":"openAI"}`)
	if res.status != http.StatusCreated || string(res.body) != `{"acknowledged":true,"deletedCount":1}` {
		t.Fatalf("delete one: %s", res)
	}
	errorBody(t, e.do("POST", "/api/presets/delete", tok, `{"presetId":"a"}`), http.StatusNotFound, "Preset not found")
	errorBody(t, e.do("POST", "/api/presets/delete", tok, `{"presetId":5}`), http.StatusBadRequest, "presetId must be a string")
	if got := ids(e.list(tok)); len(got) != 3 {
		t.Fatalf("after deleting one: %v", got)
	}

	// The client posts no body at all to delete every preset.
	res = e.send("POST", "/api/presets/delete", tok, "", "")
	if res.status != http.StatusCreated || string(res.body) != `{"acknowledged":true,"deletedCount":3}` {
		t.Fatalf("delete all: %s", res)
	}
	if got := e.list(tok); len(got) != 0 {
		t.Fatalf("after delete all: %v", got)
	}
	for _, body := range []string{`{}`, `{"presetId":""}`, `{"presetId":null}`, `null`} {
		e.save(tok, `{"presetId":"x","title":"x","endpoint":"openAI"}`)
		res = e.do("POST", "/api/presets/delete", tok, body)
		if res.status != http.StatusCreated || string(res.body) != `{"acknowledged":true,"deletedCount":1}` {
			t.Fatalf("delete all with %s: %s", body, res)
		}
	}
}

func TestCrossUser(t *testing.T) {
	e := newEnv(t)
	alice, aliceTok := e.newUser("alice")
	bob, bobTok := e.newUser("bob")
	e.save(aliceTok, `{"presetId":"alice-1","title":"Mine","endpoint":"openAI","defaultPreset":true}`)
	e.save(aliceTok, `{"presetId":"alice-2","title":"Also mine","endpoint":"openAI"}`)
	before := e.stored(alice)

	if got := e.list(bobTok); len(got) != 0 {
		t.Fatalf("bob lists %v", got)
	}
	errorBody(t, e.do("POST", "/api/presets", bobTok, `{"presetId":"alice-1","title":"Hijack","endpoint":"openAI","defaultPreset":true}`),
		http.StatusNotFound, "Preset not found")
	errorBody(t, e.do("POST", "/api/presets/delete", bobTok, `{"presetId":"alice-1"}`), http.StatusNotFound, "Preset not found")
	e.save(bobTok, `{"presetId":"bob-1","title":"Bob's","endpoint":"openAI","defaultPreset":true}`)
	res := e.do("POST", "/api/presets/delete", bobTok, `{}`)
	if res.status != http.StatusCreated || string(res.body) != `{"acknowledged":true,"deletedCount":1}` {
		t.Fatalf("bob delete all: %s", res)
	}
	if after := e.stored(alice); after != before {
		t.Fatalf("alice's presets changed:\n%s\n%s", before, after)
	}
	if ps, _ := e.a.Store.Presets(context.Background(), bob.ID); len(ps) != 0 {
		t.Fatalf("bob kept %d presets", len(ps))
	}
}

func TestBadInput(t *testing.T) {
	e := newEnv(t)
	alice, tok := e.newUser("alice")
	e.save(tok, `{"presetId":"keep","title":"Keep","endpoint":"openAI","temperature":1,"defaultPreset":true}`)
	cases := []struct {
		body, msg string
		status    int
	}{
		{`{"presetId":"keep","endpoint":"openAI","temprature":1}`, `Unknown preset field "temprature"`, 400},
		{`{"presetId":"keep","endpoint":"openAI","temperature":2.5}`, "temperature must be between 0 and 2", 400},
		{`{"presetId":"keep","endpoint":"openAI","temperature":"hot"}`, "temperature must be a number", 400},
		{`{"presetId":"keep","endpoint":"openAI","top_p":1.01}`, "top_p must be between 0 and 1", 400},
		{`{"presetId":"keep","endpoint":"openAI","presence_penalty":-3}`, "presence_penalty must be between -2 and 2", 400},
		{`{"presetId":"keep","endpoint":"openAI","topK":0}`, "topK must be between 1 and 40", 400},
		{`{"presetId":"keep","endpoint":"openAI","maxOutputTokens":0}`, "maxOutputTokens must be between 1 and 2147483647", 400},
		{`{"presetId":"keep","endpoint":"openAI","maxContextTokens":"many"}`, "maxContextTokens must be a number", 400},
		{`{"presetId":"keep","endpoint":"openAI","max_tokens":10.5}`, "max_tokens must be an integer", 400},
		{`{"presetId":"keep","endpoint":"openAI","imageDetail":"ultra"}`, `imageDetail must be one of "low", "auto", "high"`, 400},
		{`{"presetId":"keep","endpoint":"openAI","resendFiles":"yes"}`, "resendFiles must be a boolean", 400},
		{`{"presetId":"keep","endpoint":"openAI","stop":"END"}`, "stop must be an array of strings", 400},
		{`{"presetId":"keep","endpoint":"openAI","model":42}`, "model must be a string", 400},
		{`{"presetId":"keep","endpoint":"openAI","order":1.5}`, "order must be an integer between -1073741824 and 1073741824", 400},
		{`{"presetId":"keep","endpoint":"openAI","defaultPreset":"no"}`, "defaultPreset must be a boolean", 400},
		{`{"presetId":"keep","endpoint":"openAI","title":` + jsonString(strings.Repeat("é", 1025)) + `}`, "title must be at most 1024 characters", 400},
		{`{"presetId":7,"endpoint":"openAI"}`, "presetId must be a string", 400},
		{`{"presetId":"keep","endpoint":["openAI"]}`, "endpoint must be a string", 400},
		{`{"presetId":"new","title":"No endpoint"}`, "endpoint is required", 400},
		{`{"title":"x",`, "Invalid JSON body", 400},
		{`[{"title":"x"}]`, "Request body must be a JSON object", 400},
	}
	before := e.stored(alice)
	for _, c := range cases {
		errorBody(t, e.do("POST", "/api/presets", tok, c.body), c.status, c.msg)
	}
	errorBody(t, e.send("POST", "/api/presets", tok, "text/plain", `{"endpoint":"openAI"}`),
		http.StatusUnsupportedMediaType, "Content-Type must be application/json")
	errorBody(t, e.send("POST", "/api/presets/delete", tok, "text/plain", `{"presetId":"keep"}`),
		http.StatusUnsupportedMediaType, "Content-Type must be application/json")
	if after := e.stored(alice); after != before {
		t.Fatalf("a failed request changed the store:\n%s\n%s", before, after)
	}
}

func TestFailedSaveRestoresPreviousDefault(t *testing.T) {
	e := newEnv(t)
	alice, aliceTok := e.newUser("alice")
	_, bobTok := e.newUser("bob")
	e.save(bobTok, `{"presetId":"taken","title":"Bob's","endpoint":"openAI"}`)
	e.save(aliceTok, `{"presetId":"mine","title":"Default","endpoint":"openAI","defaultPreset":true}`)
	before := e.stored(alice)
	// Saving a default under an id another user holds fails after the old
	// default was cleared; the clearing is undone.
	errorBody(t, e.do("POST", "/api/presets", aliceTok, `{"presetId":"taken","title":"x","endpoint":"openAI","defaultPreset":true}`),
		http.StatusNotFound, "Preset not found")
	if after := e.stored(alice); after != before {
		t.Fatalf("alice's presets changed:\n%s\n%s", before, after)
	}
	ps, err := e.a.Store.Presets(context.Background(), alice.ID)
	if err != nil || len(ps) != 1 || !ps[0].IsDefault || ps[0].Order != 0 {
		t.Fatalf("default lost: %+v %v", ps, err)
	}
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
