package admin_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
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

// flipMAC changes one character in the middle of a signed cursor's MAC
// (the part after the dot), so only the signature check can refuse it.
func flipMAC(t *testing.T, cursor string) string {
	t.Helper()
	dot := strings.IndexByte(cursor, '.')
	if dot < 0 || len(cursor)-dot < 8 {
		t.Fatalf("cursor %q is not signed", cursor)
	}
	i := dot + (len(cursor)-dot)/2
	c := byte('A')
	if cursor[i] == 'A' {
		c = 'B'
	}
	return cursor[:i] + string(c) + cursor[i+1:]
}

// unsigned is a cursor's position alone, base64url JSON as cursors were
// before they were signed.
func unsigned(t *testing.T, cursor string) string {
	t.Helper()
	payload, _, ok := strings.Cut(cursor, ".")
	if !ok {
		t.Fatalf("cursor %q is not signed", cursor)
	}
	if b, err := base64.RawURLEncoding.DecodeString(payload); err != nil || !json.Valid(b) {
		t.Fatalf("cursor payload %q is not base64url JSON", payload)
	}
	return payload
}

// walkIDs pages through a list as token with the returned cursors and
// returns the ids of every page's items (key holds the items).
func (e *testEnv) walkIDs(token, path, key string) []string {
	e.t.Helper()
	var ids []string
	next := path
	for pages := 0; ; pages++ {
		if pages > 20 {
			e.t.Fatalf("%s: paging does not end", path)
		}
		res := e.do("GET", next, token, "")
		if res.status != 200 {
			e.t.Fatalf("GET %s: %s", next, res)
		}
		var p map[string]json.RawMessage
		res.decode(e.t, &p)
		var items []struct {
			ID string `json:"id"`
		}
		var cursor *string
		if json.Unmarshal(p[key], &items) != nil || json.Unmarshal(p["nextCursor"], &cursor) != nil {
			e.t.Fatalf("GET %s: %s", next, res)
		}
		for _, it := range items {
			ids = append(ids, it.ID)
		}
		if cursor == nil {
			return ids
		}
		next = path + "&cursor=" + *cursor
	}
}

// firstCursor is the nextCursor of the first page of path, as token.
func (e *testEnv) firstCursor(token, path string) string {
	e.t.Helper()
	res := e.do("GET", path, token, "")
	var p struct {
		NextCursor *string `json:"nextCursor"`
	}
	res.decode(e.t, &p)
	if res.status != 200 || p.NextCursor == nil {
		e.t.Fatalf("GET %s: %s", path, res)
	}
	return *p.NextCursor
}

// refusesCursors checks that a list answers 400 "Invalid cursor" to
// another admin's cursor, an altered one and an unsigned one, and to a
// cursor of the other list.
func (e *testEnv) refusesCursors(path, otherListCursor string) {
	e.t.Helper()
	second, secondTok := e.newUser("second-"+strings.Trim(path, "/?=&"), librechat.RoleAdmin)
	cursor := e.firstCursor(e.token, path)
	// Unaltered, it works for the admin it was given to.
	e.ok(200, "GET", path+"&cursor="+cursor, "")
	const want = `{"error":"Invalid cursor","message":"Invalid cursor"}`
	for _, b := range []struct{ what, token, cursor string }{
		{"another admin's cursor", secondTok, cursor},
		{"a flipped character", e.token, flipMAC(e.t, cursor)},
		{"an unsigned cursor", e.token, unsigned(e.t, cursor)},
		{"the other list's cursor", e.token, otherListCursor},
	} {
		res := e.do("GET", path+"&cursor="+b.cursor, b.token, "")
		if res.status != 400 || string(res.body) != want {
			e.t.Errorf("%s %s: %s", path, b.what, res)
		}
		if strings.Contains(string(res.body), e.admin.ID) || strings.Contains(string(res.body), second.ID) {
			e.t.Errorf("%s %s: the answer shows a user: %s", path, b.what, res)
		}
	}
}

// Paging the audit log with the signed cursors lists each entry once.
func TestAuditCursorPagesEveryEntryOnce(t *testing.T) {
	e := newEnv(t)
	for i := range 7 {
		e.createGroup(fmt.Sprint("group-", i), "")
	}
	got := e.walkIDs(e.token, "/api/admin/audit?limit=3", "entries")
	all := e.walkIDs(e.token, "/api/admin/audit?limit=100", "entries")
	if len(all) != 7 || !slices.Equal(got, all) {
		t.Fatalf("paged %v, want %v", got, all)
	}
}

// An audit cursor is only good for the admin it was given to, unaltered.
func TestAuditCursorRefused(t *testing.T) {
	e := newEnv(t)
	for i := range 4 {
		e.createGroup(fmt.Sprint("group-", i), "")
	}
	for i := range 3 {
		e.newUser(fmt.Sprint("user-", i), librechat.RoleUser)
	}
	e.refusesCursors("/api/admin/audit?limit=2", e.firstCursor(e.token, "/api/admin/users?limit=2"))
}

// Paging the accounts with the signed cursors lists each one once.
func TestUsersCursorPagesEveryUserOnce(t *testing.T) {
	e := newEnv(t)
	want := []string{e.admin.ID}
	for i := range 7 {
		u, _ := e.newUser(fmt.Sprint("user-", i), librechat.RoleUser)
		want = append(want, u.ID)
	}
	got := e.walkIDs(e.token, "/api/admin/users?limit=3", "users")
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("paged %v, want %v", got, want)
	}
}

// An account list cursor is only good for the admin it was given to,
// unaltered.
func TestUsersCursorRefused(t *testing.T) {
	e := newEnv(t)
	for i := range 4 {
		e.createGroup(fmt.Sprint("group-", i), "")
	}
	for i := range 3 {
		e.newUser(fmt.Sprint("user-", i), librechat.RoleUser)
	}
	e.refusesCursors("/api/admin/users?limit=2", e.firstCursor(e.token, "/api/admin/audit?limit=2"))
}
