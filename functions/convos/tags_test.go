package convos_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/lcgo/lcgo/shared/librechat"
)

// tagDoc is the part of a returned tag the tests look at.
type tagDoc struct {
	ID          string `json:"_id"`
	Tag         string `json:"tag"`
	User        string `json:"user"`
	Count       int    `json:"count"`
	Position    int    `json:"position"`
	Description string `json:"description"`
}

func (e *testEnv) tags(tok string) []tagDoc {
	e.t.Helper()
	res := e.do("GET", "/api/tags", tok, "")
	if res.status != 200 {
		e.t.Fatalf("tags: %s", res)
	}
	var out []tagDoc
	res.decode(e.t, &out)
	return out
}

func positions(tags []tagDoc) map[string]int {
	out := map[string]int{}
	for _, t := range tags {
		out[t.Tag] = t.Position
	}
	return out
}

func counts(tags []tagDoc) map[string]int {
	out := map[string]int{}
	for _, t := range tags {
		out[t.Tag] = t.Count
	}
	return out
}

func TestTagsNeedBookmarkPermission(t *testing.T) {
	e := newEnv(t)
	_, tok := e.newUser("")
	routes := [][2]string{
		{"GET", "/api/tags"}, {"POST", "/api/tags"}, {"POST", "/api/tags/rebuild"},
		{"PUT", "/api/tags/work"}, {"DELETE", "/api/tags/work"}, {"PUT", "/api/tags/convo/x"},
	}
	if res := e.do("GET", "/api/tags", tok, ""); res.status != 200 { // on by default
		t.Fatal(res)
	}
	e.bookmarks(false) // an admin switched bookmarks off for the role
	for _, r := range routes {
		errorBody(t, e.do(r[0], r[1], tok, `{}`), 403, "message", "Forbidden: Insufficient permissions")
	}
	e.bookmarks(true)
	if res := e.do("GET", "/api/tags", tok, ""); res.status != 200 {
		t.Fatal(res)
	}
	// A role the store does not know has no permissions.
	odd := &librechat.User{ID: e.a.IDs.ObjectID(), Email: "odd@example.com", Role: "GUEST", Provider: "local"}
	if err := e.a.Store.CreateUser(context.Background(), odd); err != nil {
		t.Fatal(err)
	}
	oddTok, _ := e.signer.Access(odd, time.Hour)
	errorBody(t, e.do("GET", "/api/tags", oddTok, ""), 403, "message", "Forbidden: Insufficient permissions")
}

func TestTagCaptures(t *testing.T) {
	e := newEnv(t)
	e.bookmarks(true)
	_, tok := e.newUser(bobID)
	expectCapture(t, e.do("GET", "/api/tags", tok, ""), "47-get-tags.txt")
	e.setTime("2026-11-26T16:06:26.280Z")
	e.ids.push("6b0859021d8af8e82917afff")
	expectCapture(t, e.do("POST", "/api/tags", tok, `{"tag":"work","description":"work chats","addToConversation":false}`),
		"60-tag-create.txt")
	expectCapture(t, e.do("GET", "/api/tags", tok, ""), "61-get-tags-after.txt")
}

func TestTagCreate(t *testing.T) {
	e := newEnv(t)
	e.bookmarks(true)
	alice, aliceTok := e.newUser("")
	bob, bobTok := e.newUser("")
	c := e.putConvo(alice, convoSpec{title: "chat"})

	var first, again, second tagDoc
	res := e.do("POST", "/api/tags", aliceTok, `{"tag":"work"}`)
	res.decode(t, &first)
	if res.status != 200 || first.Position != 1 || first.Count != 0 || first.User != alice.ID {
		t.Fatalf("create: %s", res)
	}
	if _, has := res.object(t)["description"]; has {
		t.Fatalf("empty description sent: %s", res)
	}
	e.do("POST", "/api/tags", aliceTok, `{"tag":"work","description":"ignored"}`).decode(t, &again)
	if again.ID != first.ID || again.Description != "" {
		t.Fatalf("existing tag: %+v", again)
	}
	res = e.do("POST", "/api/tags", aliceTok, `{"tag":"home","conversationId":"`+c.ID+`","addToConversation":true}`)
	res.decode(t, &second)
	if res.status != 200 || second.Position != 2 || second.Count != 1 || !slices.Equal(e.convo(alice, c.ID).Tags, []string{"home"}) {
		t.Fatalf("create and add: %s", res)
	}
	res = e.do("POST", "/api/tags", aliceTok, `{"tag":"later","conversationId":"`+c.ID+`","addToConversation":false}`)
	if res.status != 200 || len(e.convo(alice, c.ID).Tags) != 1 {
		t.Fatalf("create without adding: %s", res)
	}

	before, bobBefore := e.snapshot(alice), e.snapshot(bob)
	cases := []struct{ tok, body, msg string }{
		{aliceTok, `{}`, "tag is required"},
		{aliceTok, `{"tag":"  "}`, "tag is required"},
		{aliceTok, `{"tag":7}`, "tag is required"},
		{aliceTok, `{"tag":"x","description":1}`, "description must be a string"},
		{aliceTok, `{"tag":"x","conversationId":1}`, "conversationId must be a string"},
	}
	for _, tc := range cases {
		errorBody(t, e.do("POST", "/api/tags", tc.tok, tc.body), 400, "error", tc.msg)
	}
	errorBody(t, e.do("POST", "/api/tags", bobTok, `{"tag":"sneaky","conversationId":"`+c.ID+`","addToConversation":true}`),
		404, "error", "Conversation not found")
	if e.snapshot(alice) != before || e.snapshot(bob) != bobBefore {
		t.Fatal("failed creates changed stored data")
	}
	if got := e.tags(bobTok); len(got) != 0 {
		t.Fatalf("bob sees %v", got)
	}
}

// tagged stores alice's tags work(1), home(2), misc(3) and conversations
// carrying them; bob has a "work" conversation of his own.
func tagged(e *testEnv) (alice, bob *librechat.User, aliceTok, bobTok string, archived, active *librechat.Conversation) {
	e.bookmarks(true)
	alice, aliceTok = e.newUser("")
	bob, bobTok = e.newUser("")
	for _, name := range []string{"work", "home", "misc"} {
		if res := e.do("POST", "/api/tags", aliceTok, `{"tag":"`+name+`"}`); res.status != 200 {
			e.t.Fatal(res)
		}
	}
	archived = e.putConvo(alice, convoSpec{title: "old", archived: true, tags: []string{"work"}})
	active = e.putConvo(alice, convoSpec{title: "new", tags: []string{"home", "work"}})
	e.putConvo(bob, convoSpec{title: "bob's", tags: []string{"work"}})
	return
}

func TestTagRenamePropagates(t *testing.T) {
	e := newEnv(t)
	alice, bob, aliceTok, bobTok, archived, active := tagged(e)
	if got := counts(e.tags(aliceTok)); got["work"] != 2 || got["home"] != 1 || got["misc"] != 0 {
		t.Fatalf("counts %v", got)
	}

	before, bobBefore := e.snapshot(alice), e.snapshot(bob)
	errorBody(t, e.do("PUT", "/api/tags/work", aliceTok, `{"tag":"home"}`), 409, "error", "Tag already exists")
	errorBody(t, e.do("PUT", "/api/tags/nope", aliceTok, `{"tag":"x"}`), 404, "error", "Tag not found")
	errorBody(t, e.do("PUT", "/api/tags/home", bobTok, `{"tag":"mine"}`), 404, "error", "Tag not found")
	errorBody(t, e.do("PUT", "/api/tags/work", aliceTok, `{"tag":5}`), 400, "error", "tag must be a string")
	errorBody(t, e.do("PUT", "/api/tags/work", aliceTok, `{"description":false}`), 400, "error", "description must be a string")
	for _, p := range []string{`"x"`, `-1`, `1.5`, `true`} {
		errorBody(t, e.do("PUT", "/api/tags/work", aliceTok, `{"position":`+p+`}`), 400, "error", "position must be a non-negative integer")
	}
	if e.snapshot(alice) != before || e.snapshot(bob) != bobBefore {
		t.Fatal("failed updates changed stored data")
	}

	const renamed = "job & co/1"
	var doc tagDoc
	res := e.do("PUT", "/api/tags/work", aliceTok, `{"tag":"`+renamed+`","description":"paid"}`)
	res.decode(t, &doc)
	if res.status != 200 || doc.Tag != renamed || doc.Count != 2 || doc.Description != "paid" || doc.Position != 1 {
		t.Fatalf("rename: %s", res)
	}
	if got := e.convo(alice, active.ID).Tags; !slices.Equal(got, []string{"home", renamed}) {
		t.Fatalf("active tags %v", got)
	}
	if got := e.convo(alice, archived.ID).Tags; !slices.Equal(got, []string{renamed}) {
		t.Fatalf("archived tags %v", got)
	}
	if got := e.list(aliceTok, "?tags=job+%26+co%2F1").ids(); !slices.Equal(got, []string{active.ID}) {
		t.Fatalf("filter by new name: %v", got)
	}
	if got := e.list(aliceTok, "?tags=work").ids(); len(got) != 0 {
		t.Fatalf("old name still filters: %v", got)
	}
	if e.snapshot(bob) != bobBefore {
		t.Fatal("rename touched another user")
	}
	// The new name is addressed URL-encoded.
	res = e.do("PUT", "/api/tags/job%20%26%20co%2F1", aliceTok, `{"description":"still paid"}`)
	if res.status != 200 || res.object(t)["description"] != "still paid" || res.object(t)["count"] != 2.0 {
		t.Fatalf("encoded name: %s", res)
	}
	// Renaming to the same name only updates the rest.
	if res := e.do("PUT", "/api/tags/home", aliceTok, `{"tag":"home","description":"h"}`); res.status != 200 {
		t.Fatal(res)
	}
}

func TestTagPositions(t *testing.T) {
	e := newEnv(t)
	e.bookmarks(true)
	_, tok := e.newUser("")
	for _, name := range []string{"a", "b", "c", "d"} {
		e.do("POST", "/api/tags", tok, `{"tag":"`+name+`"}`)
	}
	want := map[string]int{"a": 1, "b": 2, "c": 3, "d": 4}
	if got := positions(e.tags(tok)); !mapsEqual(got, want) {
		t.Fatalf("start %v", got)
	}
	e.do("PUT", "/api/tags/a", tok, `{"position":3}`)
	if got := positions(e.tags(tok)); !mapsEqual(got, map[string]int{"b": 1, "c": 2, "a": 3, "d": 4}) {
		t.Fatalf("move down %v", got)
	}
	e.do("PUT", "/api/tags/d", tok, `{"position":1}`)
	if got := positions(e.tags(tok)); !mapsEqual(got, map[string]int{"d": 1, "b": 2, "c": 3, "a": 4}) {
		t.Fatalf("move up %v", got)
	}
	if got := e.tags(tok); got[0].Tag != "d" || got[3].Tag != "a" {
		t.Fatalf("order %v", got)
	}
	res := e.do("DELETE", "/api/tags/b", tok, "")
	if res.status != 200 || res.object(t)["tag"] != "b" {
		t.Fatal(res)
	}
	if got := positions(e.tags(tok)); !mapsEqual(got, map[string]int{"d": 1, "c": 2, "a": 3}) {
		t.Fatalf("after delete %v", got)
	}
}

func mapsEqual(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func TestTagDeletePropagates(t *testing.T) {
	e := newEnv(t)
	alice, bob, aliceTok, bobTok, archived, active := tagged(e)
	bobBefore := e.snapshot(bob)
	before := e.snapshot(alice)
	errorBody(t, e.do("DELETE", "/api/tags/home", bobTok, ""), 404, "error", "Tag not found")
	errorBody(t, e.do("DELETE", "/api/tags/none", aliceTok, ""), 404, "error", "Tag not found")
	if e.snapshot(alice) != before {
		t.Fatal("failed deletes changed stored data")
	}

	var doc tagDoc
	res := e.do("DELETE", "/api/tags/work", aliceTok, "")
	res.decode(t, &doc)
	if res.status != 200 || doc.Tag != "work" || doc.Count != 0 || doc.Position != 1 {
		t.Fatalf("delete: %s", res)
	}
	if got := e.convo(alice, active.ID).Tags; !slices.Equal(got, []string{"home"}) {
		t.Fatalf("active tags %v", got)
	}
	if got := e.convo(alice, archived.ID).Tags; len(got) != 0 {
		t.Fatalf("archived tags %v", got)
	}
	if got := positions(e.tags(aliceTok)); !mapsEqual(got, map[string]int{"home": 1, "misc": 2}) {
		t.Fatalf("positions %v", got)
	}
	if e.snapshot(bob) != bobBefore {
		t.Fatal("delete touched another user")
	}
	errorBody(t, e.do("DELETE", "/api/tags/work", aliceTok, ""), 404, "error", "Tag not found")
}

func TestTagConversation(t *testing.T) {
	e := newEnv(t)
	alice, bob, aliceTok, bobTok, _, active := tagged(e)
	before, bobBefore := e.snapshot(alice), e.snapshot(bob)
	for _, body := range []string{`{}`, `{"tags":"work"}`, `{"tags":[1]}`, `{"tags":null}`} {
		errorBody(t, e.do("PUT", "/api/tags/convo/"+active.ID, aliceTok, body), 400, "error", "tags must be an array of strings")
	}
	errorBody(t, e.do("PUT", "/api/tags/convo/"+active.ID, bobTok, `{"tags":["work"],"tag":"work"}`), 404, "error", "Conversation not found")
	errorBody(t, e.do("PUT", "/api/tags/convo/unknown", aliceTok, `{"tags":[],"tag":"work"}`), 404, "error", "Conversation not found")
	if e.snapshot(alice) != before || e.snapshot(bob) != bobBefore {
		t.Fatal("failed tagging changed stored data")
	}

	res := e.do("PUT", "/api/tags/convo/"+active.ID, aliceTok, `{"tags":["misc","fresh","misc",""],"tag":"fresh"}`)
	if res.status != 200 || string(res.body) != `["misc","fresh"]` {
		t.Fatalf("tag convo: %s", res)
	}
	got := counts(e.tags(aliceTok))
	if !mapsEqual(got, map[string]int{"work": 1, "home": 0, "misc": 1, "fresh": 1}) {
		t.Fatalf("counts %v", got)
	}
	if pos := positions(e.tags(aliceTok))["fresh"]; pos != 0 {
		t.Fatalf("new catalog tag at %d", pos)
	}
	res = e.do("PUT", "/api/tags/convo/"+active.ID, aliceTok, `{"tags":[],"tag":"misc"}`)
	if res.status != 200 || string(res.body) != `[]` || len(e.convo(alice, active.ID).Tags) != 0 {
		t.Fatalf("untag: %s", res)
	}
	if e.snapshot(bob) != bobBefore {
		t.Fatal("tagging touched another user")
	}
}

func TestTagRebuild(t *testing.T) {
	e := newEnv(t)
	alice, bob, aliceTok, bobTok, _, _ := tagged(e)
	e.putConvo(alice, convoSpec{title: "stray", tags: []string{"orphan", "home"}})
	bobBefore := e.snapshot(bob)
	res := e.do("POST", "/api/tags/rebuild", aliceTok, "")
	if res.status != 200 {
		t.Fatal(res)
	}
	var list []tagDoc
	res.decode(t, &list)
	if got := counts(list); !mapsEqual(got, map[string]int{"orphan": 1, "work": 2, "home": 2, "misc": 0}) {
		t.Fatalf("rebuilt %v", got)
	}
	stored, err := e.a.Store.Tags(context.Background(), alice.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, tg := range stored {
		if want := counts(list)[tg.Name]; tg.Count != want {
			t.Fatalf("stored count of %s: %d, want %d", tg.Name, tg.Count, want)
		}
	}
	if e.snapshot(bob) != bobBefore {
		t.Fatal("rebuild touched another user")
	}
	res = e.do("POST", "/api/tags/rebuild", bobTok, "")
	res.decode(t, &list)
	if res.status != 200 || len(list) != 1 || list[0].Tag != "work" || list[0].Count != 1 || list[0].User != bob.ID {
		t.Fatalf("bob rebuild: %s", res)
	}
}
