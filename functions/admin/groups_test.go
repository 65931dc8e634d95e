package admin_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/lcgo/lcgo/shared/librechat"
)

// createGroup creates a group through the API and returns its id.
func (e *testEnv) createGroup(name, description string) string {
	e.t.Helper()
	body := fmt.Sprintf(`{"name":%q,"description":%q}`, name, description)
	res := e.ok(201, "POST", "/api/admin/groups", body)
	id, _ := res.object(e.t)["id"].(string)
	if id == "" {
		e.t.Fatalf("no id: %s", res)
	}
	return id
}

func (e *testEnv) members(groupID string) []string {
	e.t.Helper()
	ids, err := e.raw.Members(context.Background(), groupID)
	if err != nil {
		e.t.Fatal(err)
	}
	slices.Sort(ids)
	return ids
}

func TestGroupsCRUD(t *testing.T) {
	e := newEnv(t)
	res := e.ok(201, "POST", "/api/admin/groups", `{"name":"  research  ","description":"Research team\nand friends"}`)
	g := res.object(t)
	id := g["id"].(string)
	if g["name"] != "research" || g["description"] != "Research team\nand friends" || g["createdAt"] == "" {
		t.Fatalf("created %s", res)
	}
	entry := e.lastAudit(e.admin.ID, "group.create", id)
	if d := detail(t, entry); fmt.Sprint(d) != "map[after:map[description:Research team\nand friends name:research]]" {
		t.Fatalf("detail %s", entry.Detail)
	}
	e.createGroup("billing", "")

	var list struct {
		Groups []struct{ ID, Name string } `json:"groups"`
	}
	e.ok(200, "GET", "/api/admin/groups", "").decode(t, &list)
	if len(list.Groups) != 2 || list.Groups[0].Name != "billing" || list.Groups[1].Name != "research" {
		t.Fatalf("list %+v", list)
	}
	if m := e.ok(200, "GET", "/api/admin/groups/"+id, "").object(t); m["name"] != "research" {
		t.Fatalf("get %v", m)
	}

	e.clock.Advance(1e9)
	res = e.ok(200, "PATCH", "/api/admin/groups/"+id, `{"name":"science"}`)
	if m := res.object(t); m["name"] != "science" || m["description"] != "Research team\nand friends" || m["updatedAt"] == m["createdAt"] {
		t.Fatalf("patched %s", res)
	}
	entry = e.lastAudit(e.admin.ID, "group.update", id)
	if d := detail(t, entry); fmt.Sprint(d) != "map[after:map[name:science] before:map[name:research]]" {
		t.Fatalf("detail %s", entry.Detail)
	}
	// No change: nothing recorded.
	n := len(e.audit())
	e.ok(200, "PATCH", "/api/admin/groups/"+id, `{"name":"science","description":"Research team\nand friends"}`)
	if len(e.audit()) != n {
		t.Fatal("a no-op was audited")
	}
	e.ok(200, "PATCH", "/api/admin/groups/"+id, `{"description":""}`)

	u, _ := e.newUser("gina", librechat.RoleUser)
	e.ok(204, "PUT", "/api/admin/groups/"+id+"/members/"+u.ID, "")
	e.ok(204, "DELETE", "/api/admin/groups/"+id, "")
	entry = e.lastAudit(e.admin.ID, "group.delete", id)
	if d := detail(t, entry); fmt.Sprint(d) != fmt.Sprintf("map[before:map[description: members:[%s] name:science]]", u.ID) {
		t.Fatalf("detail %s", entry.Detail)
	}
	e.fails(404, "Group not found", "GET", "/api/admin/groups/"+id, "")
	e.fails(404, "Group not found", "DELETE", "/api/admin/groups/"+id, "")
	if groups, _ := e.raw.GroupsOf(context.Background(), u.ID); len(groups) != 0 {
		t.Fatalf("membership outlived its group: %v", groups)
	}
}

func TestGroupValidation(t *testing.T) {
	e := newEnv(t)
	id := e.createGroup("ops", "")
	e.createGroup("dev", "")
	p := "/api/admin/groups/" + id
	e.fails(409, `A group named "dev" already exists`, "POST", "/api/admin/groups", `{"name":"dev"}`)
	e.fails(409, `A group named "dev" already exists`, "PATCH", p, `{"name":"dev"}`)
	e.fails(400, "name is required", "POST", "/api/admin/groups", `{"description":"x"}`)
	e.fails(400, "name must not be empty", "POST", "/api/admin/groups", `{"name":"   "}`)
	e.fails(400, "name is longer than 100", "POST", "/api/admin/groups", `{"name":"`+strings.Repeat("é", 101)+`"}`)
	e.fails(400, "description is longer than 2000", "POST", "/api/admin/groups", `{"name":"x","description":"`+strings.Repeat("d", 2001)+`"}`)
	e.fails(400, "control characters", "POST", "/api/admin/groups", `{"name":"a\u0007b"}`)
	e.fails(400, "control characters", "POST", "/api/admin/groups", `{"name":"a\nb"}`)
	e.fails(400, `Unknown field "members"`, "POST", "/api/admin/groups", `{"name":"x","members":[]}`)
	e.fails(400, `Unknown field "id"`, "PATCH", p, `{"id":"other"}`)
	e.fails(400, `Field "name" must be a string`, "POST", "/api/admin/groups", `{"name":["x"]}`)
	e.fails(400, "Nothing to change", "PATCH", p, `{}`)
	e.fails(400, "Invalid group id", "GET", "/api/admin/groups/a$b", "")
	e.fails(404, "Group not found", "PATCH", "/api/admin/groups/0123456789abcdef01234567", `{"name":"y"}`)
	e.fails(404, "Group not found", "GET", "/api/admin/groups/0123456789abcdef01234567/members", "")
}

func TestGroupMembers(t *testing.T) {
	e := newEnv(t)
	g := e.createGroup("team", "")
	u1, _ := e.newUser("hank", librechat.RoleUser)
	u2, _ := e.newUser("ivy", librechat.RoleAdmin)
	base := "/api/admin/groups/" + g + "/members/"

	e.ok(204, "PUT", base+u1.ID, "")
	entry := e.lastAudit(e.admin.ID, "group.member.add", g)
	if d := detail(t, entry); d["userId"] != u1.ID {
		t.Fatalf("detail %s", entry.Detail)
	}
	n := len(e.audit())
	e.ok(204, "PUT", base+u1.ID, "") // already a member: no change, no entry
	if len(e.audit()) != n {
		t.Fatal("a no-op add was audited")
	}
	e.ok(204, "PUT", base+u2.ID, "")

	var list struct {
		Members []map[string]any `json:"members"`
	}
	e.ok(200, "GET", "/api/admin/groups/"+g+"/members", "").decode(t, &list)
	if len(list.Members) != 2 {
		t.Fatalf("members %v", list.Members)
	}
	for _, m := range list.Members {
		switch m["id"] {
		case u1.ID:
			if m["email"] != u1.Email || m["role"] != "USER" || m["disabled"] != false {
				t.Fatalf("member %v", m)
			}
		case u2.ID:
			if m["role"] != "ADMIN" {
				t.Fatalf("member %v", m)
			}
		default:
			t.Fatalf("member %v", m)
		}
		if _, ok := m["passwordHash"]; ok {
			t.Fatal("member shows the password hash")
		}
	}
	if got, want := e.members(g), sorted(u1.ID, u2.ID); !slices.Equal(got, want) {
		t.Fatalf("stored members %v, want %v", got, want)
	}

	unknown := "0123456789abcdef01234567"
	e.fails(404, "User not found", "PUT", base+unknown, "")
	e.fails(404, "User not found", "DELETE", base+unknown, "")
	e.fails(400, "Invalid user id", "PUT", base+"x.y", "")
	e.fails(404, "Group not found", "PUT", "/api/admin/groups/"+unknown+"/members/"+u1.ID, "")
	e.fails(404, "Group not found", "DELETE", "/api/admin/groups/"+unknown+"/members/"+u1.ID, "")

	e.ok(204, "DELETE", base+u1.ID, "")
	entry = e.lastAudit(e.admin.ID, "group.member.remove", g)
	if d := detail(t, entry); d["userId"] != u1.ID {
		t.Fatalf("detail %s", entry.Detail)
	}
	e.fails(404, "not a member", "DELETE", base+u1.ID, "")
	if got := e.members(g); !slices.Equal(got, []string{u2.ID}) {
		t.Fatalf("stored members %v", got)
	}

	// A membership whose account is gone is listed by id and can be removed.
	ghost := "fedcba9876543210fedcba98"
	if err := e.raw.AddMember(context.Background(), g, ghost); err != nil {
		t.Fatal(err)
	}
	list.Members = nil
	e.ok(200, "GET", "/api/admin/groups/"+g+"/members", "").decode(t, &list)
	found := false
	for _, m := range list.Members {
		if m["id"] == ghost {
			found = len(m) == 1
		}
	}
	if !found {
		t.Fatalf("ghost member not listed by id alone: %v", list.Members)
	}
	e.ok(204, "DELETE", base+ghost, "")
	if got := e.members(g); !slices.Equal(got, []string{u2.ID}) {
		t.Fatalf("stored members %v", got)
	}
}

func sorted(s ...string) []string {
	slices.Sort(s)
	return s
}

func TestDeleteGroupInUseByModelConfigs(t *testing.T) {
	e := newEnv(t)
	g := e.createGroup("team", "")
	cfg := e.createConfig(librechat.ScopeGroup, g, specJSON("team-gpt", ""))
	e.fails(409, "team-gpt", "DELETE", "/api/admin/groups/"+g, "")
	e.ok(204, "DELETE", "/api/admin/model-configs/"+cfg, "")
	e.ok(204, "DELETE", "/api/admin/groups/"+g, "")
}

func TestGroupChangesUndoneWhenTheAuditFails(t *testing.T) {
	e := newEnv(t)
	g := e.createGroup("team", "desc")
	u, _ := e.newUser("jack", librechat.RoleUser)
	e.ok(204, "PUT", "/api/admin/groups/"+g+"/members/"+u.ID, "")
	e.st.failAudit(errAuditDown)
	for _, rt := range []route{
		{"POST", "/api/admin/groups", `{"name":"new"}`},
		{"PATCH", "/api/admin/groups/" + g, `{"name":"renamed","description":"other"}`},
		{"DELETE", "/api/admin/groups/" + g, ""},
		{"DELETE", "/api/admin/groups/" + g + "/members/" + u.ID, ""},
	} {
		e.fails(503, "undone", rt.method, rt.path, rt.body)
	}
	u2, _ := e.newUser("kim", librechat.RoleUser)
	e.fails(503, "undone", "PUT", "/api/admin/groups/"+g+"/members/"+u2.ID, "")
	if got := e.members(g); !slices.Equal(got, []string{u.ID}) {
		t.Fatalf("members %v", got)
	}
}
