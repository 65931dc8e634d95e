package admin_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/lcgo/lcgo/shared/librechat"
)

type route struct{ method, path, body string }

// routes lists every route of the area with ids that exist, so that only
// the caller's role decides the answer.
func (e *testEnv) routes() []route {
	e.t.Helper()
	u, _ := e.newUser("target", librechat.RoleUser)
	g := e.createGroup("everyone", "")
	cfg := e.createConfig(librechat.ScopeSystem, "", specJSON("base", ""))
	return []route{
		{"GET", "/api/admin/users", ""},
		{"GET", "/api/admin/users/" + u.ID, ""},
		{"PATCH", "/api/admin/users/" + u.ID, `{"role":"ADMIN"}`},
		{"GET", "/api/admin/groups", ""},
		{"POST", "/api/admin/groups", `{"name":"new"}`},
		{"GET", "/api/admin/groups/" + g, ""},
		{"PATCH", "/api/admin/groups/" + g, `{"name":"renamed"}`},
		{"GET", "/api/admin/groups/" + g + "/members", ""},
		{"PUT", "/api/admin/groups/" + g + "/members/" + u.ID, ""},
		{"DELETE", "/api/admin/groups/" + g + "/members/" + u.ID, ""},
		{"DELETE", "/api/admin/groups/" + g, ""},
		{"GET", "/api/admin/model-configs?scope=system", ""},
		{"POST", "/api/admin/model-configs", `{"scope":"system","spec":` + specJSON("other", "") + `}`},
		{"GET", "/api/admin/model-configs/" + cfg, ""},
		{"PUT", "/api/admin/model-configs/" + cfg, `{"spec":` + specJSON("base2", "") + `}`},
		{"DELETE", "/api/admin/model-configs/" + cfg, ""},
		{"GET", "/api/admin/audit", ""},
		{"GET", "/api/admin/nothing-here", ""},
	}
}

func TestEveryRouteNeedsAnAdmin(t *testing.T) {
	e := newEnv(t)
	routes := e.routes()
	_, userTok := e.newUser("plain", librechat.RoleUser)
	disabledAdmin, _ := e.newUser("gone", librechat.RoleAdmin)
	disabledAdmin.Disabled = true
	if err := e.raw.SetUserAccess(t.Context(), disabledAdmin.ID, disabledAdmin.Role, true, e.clock.Now()); err != nil {
		t.Fatal(err)
	}
	disabledTok := e.access(disabledAdmin)
	before := e.snapshot()
	for _, rt := range routes {
		if res := e.do(rt.method, rt.path, "", rt.body); res.status != http.StatusUnauthorized ||
			string(res.body) != `{"message":"No auth token"}` {
			t.Errorf("%s %s without a token: %s", rt.method, rt.path, res)
		}
		if res := e.do(rt.method, rt.path, "not-a-jwt", rt.body); res.status != http.StatusUnauthorized {
			t.Errorf("%s %s with a bad token: %s", rt.method, rt.path, res)
		}
		if res := e.do(rt.method, rt.path, userTok, rt.body); res.status != http.StatusForbidden ||
			string(res.body) != `{"message":"Forbidden"}` {
			t.Errorf("%s %s as USER: %s", rt.method, rt.path, res)
		}
		if res := e.do(rt.method, rt.path, disabledTok, rt.body); res.status != http.StatusUnauthorized {
			t.Errorf("%s %s as a disabled admin: %s", rt.method, rt.path, res)
		}
	}
	if after := e.snapshot(); after != before {
		t.Fatalf("refused requests changed the store:\n%s\n%s", before, after)
	}
	// The admin reaches every route (the last is an unknown path).
	for _, rt := range routes {
		res := e.do(rt.method, rt.path, e.token, rt.body)
		want := map[string]int{"GET": 200, "POST": 201, "PATCH": 200, "PUT": 200, "DELETE": 204}[rt.method]
		switch {
		case strings.HasSuffix(rt.path, "/nothing-here"):
			want = 404
		case rt.method == "PUT" && strings.Contains(rt.path, "/members/"):
			want = 204
		}
		if res.status != want {
			t.Errorf("%s %s as ADMIN: %s, want %d", rt.method, rt.path, res, want)
		}
		if res.header.Get("Cache-Control") != "no-store" {
			t.Errorf("%s %s: Cache-Control %q", rt.method, rt.path, res.header.Get("Cache-Control"))
		}
	}
}

func TestRoleChangeTakesEffect(t *testing.T) {
	e := newEnv(t)
	u, tok := e.newUser("bob", librechat.RoleUser)
	if res := e.do("GET", "/api/admin/users", tok, ""); res.status != 403 {
		t.Fatalf("USER: %s", res)
	}
	e.ok(200, "PATCH", "/api/admin/users/"+u.ID, `{"role":"ADMIN"}`)
	// The same access token now carries admin rights: the role is read
	// from the store on every request.
	if res := e.do("GET", "/api/admin/users", tok, ""); res.status != 200 {
		t.Fatalf("promoted: %s", res)
	}
	entry := e.lastAudit(e.admin.ID, "user.role", u.ID)
	d := detail(t, entry)
	if d["before"].(map[string]any)["role"] != "USER" || d["after"].(map[string]any)["role"] != "ADMIN" {
		t.Fatalf("detail %s", entry.Detail)
	}
	// The new admin demotes the first one (not the last admin any more).
	if res := e.do("PATCH", "/api/admin/users/"+e.admin.ID, tok, `{"role":"USER"}`); res.status != 200 {
		t.Fatalf("demote root: %s", res)
	}
	e.lastAudit(u.ID, "user.role", e.admin.ID)
	if res := e.do("GET", "/api/admin/users", e.token, ""); res.status != 403 {
		t.Fatalf("demoted root: %s", res)
	}
}
