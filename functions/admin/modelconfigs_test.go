package admin_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/lcgo/lcgo/shared/librechat"
)

// specJSON is a valid spec named name; extra adds fields (",\"k\":v").
func specJSON(name, extra string) string {
	return fmt.Sprintf(`{"name":%q,"endpoint":"openAI","model":"gpt-4"%s}`, name, extra)
}

func configBody(scope, scopeID, spec string) string {
	if scopeID == "" {
		return fmt.Sprintf(`{"scope":%q,"spec":%s}`, scope, spec)
	}
	return fmt.Sprintf(`{"scope":%q,"scopeId":%q,"spec":%s}`, scope, scopeID, spec)
}

// createConfig creates a configuration through the API and returns its id.
func (e *testEnv) createConfig(scope, scopeID, spec string) string {
	e.t.Helper()
	res := e.ok(201, "POST", "/api/admin/model-configs", configBody(scope, scopeID, spec))
	id, _ := res.object(e.t)["id"].(string)
	if id == "" {
		e.t.Fatalf("no id: %s", res)
	}
	return id
}

type configDoc struct {
	ID        string          `json:"id"`
	Scope     string          `json:"scope"`
	ScopeID   string          `json:"scopeId"`
	Name      string          `json:"name"`
	Spec      json.RawMessage `json:"spec"`
	UpdatedBy string          `json:"updatedBy"`
}

func (e *testEnv) listConfigs(query string) []configDoc {
	e.t.Helper()
	var out struct {
		ModelConfigs []configDoc `json:"modelConfigs"`
	}
	e.ok(200, "GET", "/api/admin/model-configs"+query, "").decode(e.t, &out)
	return out.ModelConfigs
}

func names(cs []configDoc) string {
	var s []string
	for _, c := range cs {
		s = append(s, c.Scope+":"+c.Name)
	}
	return strings.Join(s, ",")
}

func TestModelConfigsAtEveryScope(t *testing.T) {
	e := newEnv(t)
	g := e.createGroup("team", "")
	u, _ := e.newUser("lena", librechat.RoleUser)

	sys := e.createConfig(librechat.ScopeSystem, "", specJSON("default", `,"systemMessage":"Be brief.","parameters":{"temperature":0.7}`))
	entry := e.lastAudit(e.admin.ID, "modelconfig.create", sys)
	d := detail(t, entry)["after"].(map[string]any)
	if d["scope"] != "system" || d["name"] != "default" || d["spec"].(map[string]any)["systemMessage"] != "Be brief." {
		t.Fatalf("detail %s", entry.Detail)
	}
	grp := e.createConfig(librechat.ScopeGroup, g, specJSON("default", ""))
	usr := e.createConfig(librechat.ScopeUser, u.ID, specJSON("default", ""))
	e.createConfig(librechat.ScopeUser, u.ID, specJSON("mine", ""))

	if got := names(e.listConfigs("")); got != "group:default,system:default,user:default,user:mine" {
		t.Fatalf("all: %s", got)
	}
	if got := names(e.listConfigs("?scope=system")); got != "system:default" {
		t.Fatalf("system: %s", got)
	}
	if got := names(e.listConfigs("?scope=group&scopeId=" + g)); got != "group:default" {
		t.Fatalf("group: %s", got)
	}
	if got := names(e.listConfigs("?scope=user&scopeId=" + u.ID)); got != "user:default,user:mine" {
		t.Fatalf("user: %s", got)
	}

	var doc configDoc
	e.ok(200, "GET", "/api/admin/model-configs/"+usr, "").decode(t, &doc)
	if doc.Scope != "user" || doc.ScopeID != u.ID || doc.Name != "default" || doc.UpdatedBy != e.admin.ID ||
		string(doc.Spec) != `{"name":"default","endpoint":"openAI","model":"gpt-4"}` {
		t.Fatalf("get %+v %s", doc, doc.Spec)
	}

	// PUT replaces the spec; the scope stays unless given.
	res := e.ok(200, "PUT", "/api/admin/model-configs/"+grp, `{"spec":`+specJSON("renamed", `,"parameters":{"top_p":0.5}`)+`}`)
	res.decode(t, &doc)
	if doc.Scope != "group" || doc.ScopeID != g || doc.Name != "renamed" {
		t.Fatalf("put %s", res)
	}
	entry = e.lastAudit(e.admin.ID, "modelconfig.update", grp)
	dd := detail(t, entry)
	if dd["before"].(map[string]any)["name"] != "default" || dd["after"].(map[string]any)["name"] != "renamed" {
		t.Fatalf("detail %s", entry.Detail)
	}
	if _, ok := dd["after"].(map[string]any)["scope"]; ok {
		t.Fatalf("unchanged scope in detail %s", entry.Detail)
	}
	// Moving it to system scope.
	res = e.ok(200, "PUT", "/api/admin/model-configs/"+grp, configBody("system", "", specJSON("renamed", "")))
	res.decode(t, &doc)
	if doc.Scope != "system" || doc.ScopeID != "" {
		t.Fatalf("moved %s", res)
	}
	// An identical PUT records nothing.
	n := len(e.audit())
	e.ok(200, "PUT", "/api/admin/model-configs/"+grp, configBody("system", "", specJSON("renamed", "")))
	if len(e.audit()) != n {
		t.Fatal("a no-op PUT was audited")
	}

	e.ok(204, "DELETE", "/api/admin/model-configs/"+sys, "")
	entry = e.lastAudit(e.admin.ID, "modelconfig.delete", sys)
	if detail(t, entry)["before"].(map[string]any)["name"] != "default" {
		t.Fatalf("detail %s", entry.Detail)
	}
	e.fails(404, "Model configuration not found", "GET", "/api/admin/model-configs/"+sys, "")
	e.fails(404, "Model configuration not found", "DELETE", "/api/admin/model-configs/"+sys, "")
	e.fails(404, "Model configuration not found", "PUT", "/api/admin/model-configs/"+sys, `{"spec":`+specJSON("x", "")+`}`)
}

func TestModelConfigValidationChangesNothing(t *testing.T) {
	e := newEnv(t)
	g := e.createGroup("team", "")
	u, _ := e.newUser("max", librechat.RoleUser)
	existing := e.createConfig(librechat.ScopeGroup, g, specJSON("taken", ""))
	other := e.createConfig(librechat.ScopeGroup, g, specJSON("other", ""))
	post := func(status int, want, body string) {
		t.Helper()
		e.fails(status, want, "POST", "/api/admin/model-configs", body)
	}
	put := func(status int, want, id, body string) {
		t.Helper()
		e.fails(status, want, "PUT", "/api/admin/model-configs/"+id, body)
	}
	unknown := "0123456789abcdef01234567"

	// The spec: unknown fields and out-of-range values, named.
	post(400, "colour", configBody("system", "", specJSON("a", `,"colour":"red"`)))
	post(400, "parameters.temperature", configBody("system", "", specJSON("a", `,"parameters":{"temperature":3}`)))
	post(400, "top_p", configBody("system", "", specJSON("a", `,"parameters":{"top_p":-1}`)))
	post(400, "constraints", configBody("system", "", specJSON("a", `,"constraints":{"temperature":{"min":"low"}}`)))
	post(400, "model", configBody("system", "", `{"name":"a","endpoint":"openAI"}`))
	post(400, "name", configBody("system", "", `{"endpoint":"openAI","model":"gpt-4"}`))
	post(400, "spec is required", `{"scope":"system"}`)
	post(400, "spec is required", `{"scope":"system","spec":null}`)
	post(400, "spec must be a JSON object", `{"scope":"system","spec":"x"}`)
	post(400, "spec is larger", configBody("system", "", specJSON("a", `,"systemMessage":"`+strings.Repeat("s", 1<<20)+`"`)))
	put(400, "parameters.temperature", existing, `{"spec":`+specJSON("taken", `,"parameters":{"temperature":2.5}`)+`}`)
	put(400, "colour", existing, `{"spec":`+specJSON("taken", `,"colour":1`)+`}`)

	// The body.
	post(400, `Unknown field "name"`, `{"scope":"system","name":"a","spec":`+specJSON("a", "")+`}`)
	post(400, `Unknown field "Spec"`, `{"scope":"system","Spec":`+specJSON("a", "")+`}`)
	post(400, `Field "scope" must be a string`, `{"scope":1,"spec":`+specJSON("a", "")+`}`)
	put(400, `Unknown field "id"`, existing, `{"id":"x","spec":`+specJSON("a", "")+`}`)

	// Scopes.
	post(400, "scope is required", `{"spec":`+specJSON("a", "")+`}`)
	post(400, "scope must be one of", configBody("team", "", specJSON("a", "")))
	post(400, "scopeId must be empty", configBody("system", g, specJSON("a", "")))
	post(400, "scopeId is required", configBody("group", "", specJSON("a", "")))
	post(400, "Invalid scopeId", configBody("user", "../etc", specJSON("a", "")))
	post(404, "Group not found", configBody("group", unknown, specJSON("a", "")))
	post(404, "User not found", configBody("user", unknown, specJSON("a", "")))
	post(404, "Group not found", configBody("group", u.ID, specJSON("a", "")))
	put(404, "User not found", existing, configBody("user", unknown, specJSON("taken", "")))
	put(400, "scopeId needs a scope", existing, `{"scopeId":"`+g+`","spec":`+specJSON("taken", "")+`}`)
	e.fails(400, "scope must be one of", "GET", "/api/admin/model-configs?scope=all", "")
	e.fails(404, "Group not found", "GET", "/api/admin/model-configs?scope=group&scopeId="+unknown, "")
	e.fails(400, "scopeId needs a scope", "GET", "/api/admin/model-configs?scopeId="+g, "")
	e.fails(400, "Invalid model configuration id", "GET", "/api/admin/model-configs/a.b", "")

	// Names are unique per scope, not across scopes.
	post(409, `"taken" already exists`, configBody("group", g, specJSON("taken", "")))
	put(409, `"taken" already exists`, other, `{"spec":`+specJSON("taken", "")+`}`)
	e.createConfig(librechat.ScopeSystem, "", specJSON("taken", ""))
	e.createConfig(librechat.ScopeUser, u.ID, specJSON("taken", ""))
	e.createConfig(librechat.ScopeUser, e.admin.ID, specJSON("taken", ""))
}

func TestModelConfigChangesUndoneWhenTheAuditFails(t *testing.T) {
	e := newEnv(t)
	id := e.createConfig(librechat.ScopeSystem, "", specJSON("base", ""))
	e.st.failAudit(errAuditDown)
	e.fails(503, "undone", "POST", "/api/admin/model-configs", configBody("system", "", specJSON("new", "")))
	e.fails(503, "undone", "PUT", "/api/admin/model-configs/"+id, configBody("system", "", specJSON("changed", "")))
	e.fails(503, "undone", "DELETE", "/api/admin/model-configs/"+id, "")
	c, err := e.raw.ModelConfig(context.Background(), id)
	if err != nil || c.Name != "base" {
		t.Fatalf("config %+v %v", c, err)
	}
}
