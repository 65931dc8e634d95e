package admin_test

import (
	"strings"
	"testing"

	"github.com/lcgo/lcgo/shared/librechat"
)

type auditPage struct {
	Entries []struct {
		ID        string         `json:"id"`
		Actor     string         `json:"actor"`
		Action    string         `json:"action"`
		Target    string         `json:"target"`
		Detail    map[string]any `json:"detail"`
		CreatedAt string         `json:"createdAt"`
	} `json:"entries"`
	NextCursor *string `json:"nextCursor"`
}

func TestAuditListsNewestFirst(t *testing.T) {
	e := newEnv(t)
	second, secondTok := e.newUser("second", librechat.RoleAdmin)
	u, _ := e.newUser("nina", librechat.RoleUser)

	type step struct{ actor, action, target string }
	var want []step
	g := e.createGroup("team", "")
	want = append(want, step{e.admin.ID, "group.create", g})
	e.clock.Advance(1e9)
	e.ok(204, "PUT", "/api/admin/groups/"+g+"/members/"+u.ID, "")
	want = append(want, step{e.admin.ID, "group.member.add", g})
	e.clock.Advance(1e9)
	if res := e.do("PATCH", "/api/admin/users/"+u.ID, secondTok, `{"disabled":true}`); res.status != 200 {
		t.Fatal(res)
	}
	want = append(want, step{second.ID, "user.disable", u.ID})
	e.clock.Advance(1e9)
	res := e.do("POST", "/api/admin/model-configs", secondTok, configBody("user", u.ID, specJSON("x", "")))
	if res.status != 201 {
		t.Fatal(res)
	}
	cfg := res.object(t)["id"].(string)
	want = append(want, step{second.ID, "modelconfig.create", cfg})
	e.clock.Advance(1e9)
	e.ok(204, "DELETE", "/api/admin/model-configs/"+cfg, "")
	want = append(want, step{e.admin.ID, "modelconfig.delete", cfg})

	var got []step
	path := "/api/admin/audit?limit=2"
	for {
		var p auditPage
		e.ok(200, "GET", path, "").decode(t, &p)
		for _, en := range p.Entries {
			if en.ID == "" || en.CreatedAt == "" || en.Detail == nil {
				t.Fatalf("entry %+v", en)
			}
			got = append(got, step{en.Actor, en.Action, en.Target})
		}
		if p.NextCursor == nil {
			break
		}
		path = "/api/admin/audit?limit=2&cursor=" + *p.NextCursor
	}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v (reversed)", got, want)
	}
	for i := range want {
		if got[len(got)-1-i] != want[i] {
			t.Fatalf("entry %d: got %v, want %v", i, got[len(got)-1-i], want[i])
		}
	}
	for _, q := range []string{"limit=-1", "limit=1000", "cursor=***"} {
		e.fails(400, "", "GET", "/api/admin/audit?"+q, "")
	}
	// Entries never hold a secret.
	body := string(e.ok(200, "GET", "/api/admin/audit?limit=100", "").body)
	for _, s := range []string{"argon2", "JBSWY3DP", "backuphash"} {
		if strings.Contains(body, s) {
			t.Fatalf("audit shows %q: %s", s, body)
		}
	}
}
