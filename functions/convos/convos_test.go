package convos_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lcgo/lcgo/functions/convos"
	"github.com/lcgo/lcgo/shared/librechat"
)

const (
	aliceID = "6b0858f5a60555e69ee65a66"
	bobID   = "6b0858fda60555e69ee65ad4"
	aliceC  = "a246d8e7-1017-4c8e-8b6e-684874a6cf9b"
	bobC    = "962b1ec8-fa89-4e00-b495-de0c5c413799"
)

// captured stores the two conversations of the captures: alice's (26, 27)
// and bob's (52 to 63).
func captured(e *testEnv) (alice, bob *librechat.User, aliceTok, bobTok string) {
	alice, aliceTok = e.newUser(aliceID)
	bob, bobTok = e.newUser(bobID)
	ac := e.putConvo(alice, convoSpec{
		id: aliceC, objectID: "6b0858f81d8af8e82917aff8", title: "Fake Title", model: "fake-gpt-1",
		fields: map[string]string{
			"agent_id": `"FakeOpenAI__fake-gpt-1___Fake OpenAI"`, "endpointType": `"custom"`,
			"maxContextTokens": "30400", "resendFiles": "true",
		},
		created: "2026-11-26T16:06:15.967Z", updated: "2026-11-26T16:06:16.898Z",
	})
	e.putMsgs(ac, msgSpec{id: "a1", objectID: "6b0858f81d8af8e82917aff7", byUser: true},
		msgSpec{id: "a2", parent: "a1", objectID: "6b0858f81d8af8e82917aff9"})
	bc := e.putConvo(bob, convoSpec{
		id: bobC, objectID: "6b0858ff1d8af8e82917affd", title: "Fake Title", model: "fake-gpt-2",
		fields: map[string]string{
			"agent_id": `"FakeOpenAI__fake-gpt-2___Fake OpenAI"`, "endpointType": `"custom"`,
			"maxContextTokens": "30400", "resendFiles": "true",
		},
		created: "2026-11-26T16:06:23.047Z", updated: "2026-11-26T16:06:23.433Z",
	})
	e.putMsgs(bc, msgSpec{id: "b1", objectID: "6b0858ff1d8af8e82917affc", byUser: true},
		msgSpec{id: "b2", parent: "b1", objectID: "6b0858ff1d8af8e82917affe"})
	return alice, bob, aliceTok, bobTok
}

func TestCapturesReplayed(t *testing.T) {
	e := newEnv(t)
	_, carolTok := e.newUser("")
	expectCapture(t, e.do("GET", "/api/convos", carolTok, ""), "11-get-convos-empty.txt")

	_, _, aliceTok, bobTok := captured(e)
	expectCapture(t, e.do("GET", "/api/convos", aliceTok, ""), "27-get-convos.txt")

	// The full document carries the tags and chatProjectId defaults that
	// LibreChat adds on a document's first update (capture 55); otherwise
	// it is capture 26.
	want26 := loadCapture(t, "26-get-convo.txt")
	got := e.do("GET", "/api/convos/"+aliceC, aliceTok, "")
	if got.status != 200 || string(got.body) != `{"tags":[],"chatProjectId":null,`+want26.body[1:] {
		t.Fatalf("get convo: %s", got)
	}

	expectCapture(t, e.do("GET", "/api/convos?isArchived=false&sortBy=updatedAt&sortDirection=desc", bobTok, ""),
		"52-get-convos-sorted.txt")
	expectCapture(t, e.do("GET", "/api/convos/gen_title/"+bobC, bobTok, ""), "56-get-gen-title.txt")
	if s := e.sleeps.got(); len(s) != 0 {
		t.Fatalf("a titled conversation should answer at once, slept %v", s)
	}

	e.setTime("2026-11-26T16:06:25.839Z")
	expectCapture(t, e.do("POST", "/api/convos/update", bobTok,
		`{"arg":{"conversationId":"`+bobC+`","title":"Renamed chat"}}`), "55-convo-rename.txt")
	e.setTime("2026-11-26T16:06:26.010Z")
	expectCapture(t, e.do("POST", "/api/convos/archive", bobTok,
		`{"arg":{"conversationId":"`+bobC+`","isArchived":true}}`), "57-convo-archive.txt")
	expectCapture(t, e.do("GET", "/api/convos?isArchived=true", bobTok, ""), "58-get-convos-archived.txt")
	e.setTime("2026-11-26T16:06:26.192Z")
	expectCapture(t, e.do("POST", "/api/convos/archive", bobTok,
		`{"arg":{"conversationId":"`+bobC+`","isArchived":false}}`), "59-convo-unarchive.txt")
	expectCapture(t, e.do("DELETE", "/api/convos", bobTok, `{"arg":{"conversationId":"`+bobC+`"}}`),
		"62-convo-delete.txt")
	expectCapture(t, e.do("GET", "/api/convos", bobTok, ""), "63-get-convos-after-delete.txt")
	if res := e.do("GET", "/api/convos/"+bobC, bobTok, ""); res.status != 404 || len(res.body) != 0 {
		t.Fatalf("deleted convo: %s", res)
	}
}

func TestUnauthenticated(t *testing.T) {
	e := newEnv(t)
	for _, p := range []string{"/api/convos", "/api/convos/x", "/api/tags"} {
		errorBody(t, e.do("GET", p, "", ""), 401, "message", "No auth token")
	}
	_, tok := e.newUser("")
	if res := e.do("GET", "/api/convos/x/y/z", tok, ""); res.status != 404 || res.object(t)["message"] != "Endpoint not found" {
		t.Fatalf("unknown route: %s", res)
	}
}

// fiveTies stores five conversations with the same times and returns their
// ids as the list orders them (id descending for ties).
func fiveTies(e *testEnv, u *librechat.User) []string {
	var ids []string
	for i := 0; i < 5; i++ {
		c := e.putConvo(u, convoSpec{
			id: fmt.Sprintf("00000000-0000-4000-8000-00000000000%d", i), title: "Same",
			created: "2026-11-20T10:00:00Z",
		})
		ids = append(ids, c.ID)
	}
	slices.Reverse(ids)
	return ids
}

func TestListPaginationWithTies(t *testing.T) {
	e := newEnv(t)
	u, tok := e.newUser("")
	want := fiveTies(e, u)
	var got []string
	query := "?limit=2"
	for pages := 0; ; pages++ {
		if pages > 5 {
			t.Fatal("pagination does not end")
		}
		p := e.list(tok, query)
		got = append(got, p.ids()...)
		if p.NextCursor == nil {
			if len(p.Conversations) != 1 {
				t.Fatalf("last page has %d", len(p.Conversations))
			}
			break
		}
		if len(p.Conversations) != 2 {
			t.Fatalf("page has %d", len(p.Conversations))
		}
		query = "?limit=2&cursor=" + *p.NextCursor
	}
	if !slices.Equal(got, want) {
		t.Fatalf("pages %v, want %v", got, want)
	}
}

func TestListSorts(t *testing.T) {
	e := newEnv(t)
	u, tok := e.newUser("")
	b := e.putConvo(u, convoSpec{title: "banana", created: "2026-11-20T10:00:01Z", updated: "2026-11-21T10:00:00Z"})
	a := e.putConvo(u, convoSpec{title: "apple", created: "2026-11-20T10:00:03Z", updated: "2026-11-21T09:00:00Z"})
	c := e.putConvo(u, convoSpec{title: "cherry", created: "2026-11-20T10:00:02Z", updated: "2026-11-21T11:00:00Z"})
	cases := map[string][]string{
		"":                                        {c.ID, b.ID, a.ID},
		"?sortBy=updatedAt&sortDirection=asc":     {a.ID, b.ID, c.ID},
		"?sortBy=createdAt":                       {a.ID, c.ID, b.ID},
		"?sortBy=createdAt&sortDirection=asc":     {b.ID, c.ID, a.ID},
		"?sortBy=title&sortDirection=asc":         {a.ID, b.ID, c.ID},
		"?sortBy=title&sortDirection=desc":        {c.ID, b.ID, a.ID},
		"?sortBy=title&sortDirection=asc&limit=1": {a.ID},
		"?search=BAN":                             {b.ID}, // full-text: word prefixes, any case
		"?search=an":                              {},
		"?search=ch":                              {c.ID},
	}
	for q, want := range cases {
		if got := e.list(tok, q).ids(); !slices.Equal(got, want) {
			t.Errorf("%q: %v, want %v", q, got, want)
		}
	}
	// A title cursor carries on after the last title.
	p := e.list(tok, "?sortBy=title&sortDirection=asc&limit=1")
	if p.NextCursor == nil {
		t.Fatal("no cursor")
	}
	if got := e.list(tok, "?sortBy=title&sortDirection=asc&limit=5&cursor="+*p.NextCursor).ids(); !slices.Equal(got, []string{b.ID, c.ID}) {
		t.Fatalf("after cursor: %v", got)
	}
}

func TestListQueryValidation(t *testing.T) {
	e := newEnv(t)
	u, tok := e.newUser("")
	for i := 0; i < 30; i++ {
		e.putConvo(u, convoSpec{title: fmt.Sprint("c", i)})
	}
	bad := map[string]string{
		"?sortBy=model":                               "Invalid sortBy parameter",
		"?sortDirection=up":                           "Invalid sortDirection parameter",
		"?projectId=xyz":                              "Invalid projectId",
		"?projectId=6b0858f5a60555e69ee65a6":          "Invalid projectId",
		"?cursor=%21%21":                              "Invalid cursor",
		"?cursor=bm90LWpzb24":                         "Invalid cursor",
		"?cursor=eyJ4IjoxfQ":                          "Invalid cursor",
		"?cursor=eyJrIjoibm90LWEtdGltZSIsImkiOiJ4In0": "",
	}
	for q, msg := range bad {
		res := e.do("GET", "/api/convos"+q, tok, "")
		if res.status != 400 || (msg != "" && string(res.body) != `{"error":"`+msg+`"}`) {
			t.Errorf("%s: %s", q, res)
		}
	}
	if n := len(e.list(tok, "").Conversations); n != 25 {
		t.Errorf("default limit: %d", n)
	}
	if n := len(e.list(tok, "?limit=abc").Conversations); n != 25 {
		t.Errorf("limit=abc: %d", n)
	}
	if n := len(e.list(tok, "?limit=7x").Conversations); n != 7 {
		t.Errorf("limit=7x: %d", n)
	}
	if n := len(e.list(tok, "?limit=1000").Conversations); n != 30 {
		t.Errorf("limit=1000: %d", n)
	}
	for _, q := range []string{"?projectId=unassigned", "?projectId=6B0858F5A60555E69EE65A66"} {
		if n := len(e.list(tok, q).Conversations); n != 25 {
			t.Errorf("%s: %d", q, n)
		}
	}
}

func TestListArchivedTagsTemporaryAndUsers(t *testing.T) {
	e := newEnv(t)
	u, tok := e.newUser("")
	other, otherTok := e.newUser("")
	plain := e.putConvo(u, convoSpec{title: "plain", created: "2026-11-20T10:00:01Z"})
	work := e.putConvo(u, convoSpec{title: "work", tags: []string{"work"}, created: "2026-11-20T10:00:02Z"})
	both := e.putConvo(u, convoSpec{title: "both", tags: []string{"work", "home"}, created: "2026-11-20T10:00:03Z"})
	arch := e.putConvo(u, convoSpec{title: "arch", archived: true, tags: []string{"home"}, created: "2026-11-20T10:00:04Z"})
	e.putConvo(u, convoSpec{title: "temp", temporary: true, created: "2026-11-20T10:00:05Z"})
	e.putConvo(other, convoSpec{title: "theirs", tags: []string{"work"}})

	cases := map[string][]string{
		"":                                {both.ID, work.ID, plain.ID},
		"?isArchived=false":               {both.ID, work.ID, plain.ID},
		"?isArchived=TRUE":                {arch.ID},
		"?tags=work":                      {both.ID, work.ID},
		"?tags=home":                      {both.ID},
		"?tags=home&isArchived=true":      {arch.ID},
		"?tags=work&tags=home":            {both.ID, work.ID},
		"?tags[]=home":                    {both.ID},
		"?tags=nothing":                   {},
		"?search=ar&isArchived=true":      {arch.ID},
		"?search=theirs":                  {},
		"?tags=work&sortBy=title&limit=1": {work.ID},
	}
	for q, want := range cases {
		if got := e.list(tok, q).ids(); !slices.Equal(got, want) {
			t.Errorf("%q: %v, want %v", q, got, want)
		}
	}
	if got := e.list(otherTok, "?tags=work").ids(); len(got) != 1 || got[0] == work.ID {
		t.Fatalf("other user's list: %v", got)
	}
	_ = other
}

func TestGetConversation(t *testing.T) {
	e := newEnv(t)
	alice, aliceTok := e.newUser("")
	_, bobTok := e.newUser("")
	c := e.putConvo(alice, convoSpec{title: "Mine", model: "m", fields: map[string]string{"temperature": "0.5"}})
	msgs := e.putMsgs(c, msgSpec{id: "m1", byUser: true}, msgSpec{id: "m2", parent: "m1"})
	res := e.do("GET", "/api/convos/"+c.ID, aliceTok, "")
	if res.status != 200 {
		t.Fatal(res)
	}
	doc := res.object(t)
	if doc["temperature"] != 0.5 || doc["title"] != "Mine" || doc["user"] != alice.ID {
		t.Fatalf("doc: %s", res.body)
	}
	ids, _ := doc["messages"].([]any)
	if len(ids) != 2 || ids[0] != msgs[0].ObjectID || ids[1] != msgs[1].ObjectID {
		t.Fatalf("message ids: %v", ids)
	}
	wantKeys := keys(t, []byte(loadCapture(t, "55-convo-rename.txt").body))
	gotKeys := keys(t, res.body)
	if gotKeys[0] != wantKeys[0] || gotKeys[len(gotKeys)-1] != "files" || !slices.Contains(gotKeys, "temperature") {
		t.Fatalf("keys %v", gotKeys)
	}
	for _, path := range []string{"/api/convos/" + c.ID, "/api/convos/unknown"} {
		tok := bobTok
		if strings.HasSuffix(path, "unknown") {
			tok = aliceTok
		}
		res := e.do("GET", path, tok, "")
		if res.status != 404 || len(res.body) != 0 {
			t.Fatalf("%s: %s", path, res)
		}
	}
}

func TestGenTitle(t *testing.T) {
	e := newEnv(t)
	alice, aliceTok := e.newUser("")
	_, bobTok := e.newUser("")
	titled := e.putConvo(alice, convoSpec{title: "Ready"})
	fresh := e.putConvo(alice, convoSpec{title: "New Chat"})
	wantWaits := []time.Duration{500 * time.Millisecond, time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second}
	notFound := `{"message":"Title not found or method not implemented for the conversation's endpoint"}`

	res := e.do("GET", "/api/convos/gen_title/"+fresh.ID, aliceTok, "")
	if res.status != 404 || string(res.body) != notFound || !slices.Equal(e.sleeps.got(), wantWaits) {
		t.Fatalf("untitled: %s after %v", res, e.sleeps.got())
	}

	// Another user's titled conversation is never found.
	e.sleeps = &sleepLog{}
	res = e.do("GET", "/api/convos/gen_title/"+titled.ID, bobTok, "")
	if res.status != 404 || string(res.body) != notFound || len(e.sleeps.got()) != 5 {
		t.Fatalf("other user: %s", res)
	}

	// A title that arrives while waiting is answered at the next check.
	e.sleeps = &sleepLog{onWait: func(n int) error {
		if n == 2 {
			c := e.convo(alice, fresh.ID)
			c.Title = "Generated"
			return e.a.Store.PutConversation(context.Background(), c)
		}
		return nil
	}}
	res = e.do("GET", "/api/convos/gen_title/"+fresh.ID, aliceTok, "")
	if res.status != 200 || string(res.body) != `{"title":"Generated"}` || len(e.sleeps.got()) != 2 {
		t.Fatalf("late title: %s after %v", res, e.sleeps.got())
	}

	// The wait stops when the request ends.
	empty := e.putConvo(alice, convoSpec{title: ""})
	ctx, cancel := context.WithCancel(context.Background())
	e.sleeps = &sleepLog{onWait: func(n int) error {
		if n == 1 {
			cancel()
			return errors.New("canceled")
		}
		return nil
	}}
	req := httptest.NewRequest("GET", "/api/convos/gen_title/"+empty.ID, nil).WithContext(ctx)
	e.serve(req, aliceTok)
	if n := len(e.sleeps.got()); n != 1 {
		t.Fatalf("kept waiting after the request ended: %d waits", n)
	}
}

func TestRenameValidation(t *testing.T) {
	e := newEnv(t)
	alice, aliceTok := e.newUser("")
	_, bobTok := e.newUser("")
	c := e.putConvo(alice, convoSpec{title: "Original"})
	e.putMsgs(c, msgSpec{id: "m1", byUser: true})
	before := e.snapshot(alice)
	cases := []struct{ body, key, msg string }{
		{`{"arg":{"title":"x"}}`, "error", "conversationId is required"},
		{`{"arg":{"conversationId":"","title":"x"}}`, "error", "conversationId is required"},
		{`{"arg":{"conversationId":5,"title":"x"}}`, "error", "conversationId is required"},
		{`{"arg":{"conversationId":"` + c.ID + `"}}`, "error", "title is required"},
		{`{"arg":{"conversationId":"` + c.ID + `","title":null}}`, "error", "title is required"},
		{`{"arg":{"conversationId":"` + c.ID + `","title":42}}`, "error", "title must be a string"},
		{`{"arg":{"conversationId":"` + c.ID + `","title":["a"]}}`, "error", "title must be a string"},
		{`{}`, "error", "conversationId is required"},
		{``, "error", "conversationId is required"},
		{`{"arg":"x"}`, "error", "arg must be a JSON object"},
		{`[1]`, "error", "Request body must be a JSON object"},
		{`{"arg":`, "error", "Invalid JSON body"},
	}
	for _, c := range cases {
		errorBody(t, e.do("POST", "/api/convos/update", aliceTok, c.body), 400, c.key, c.msg)
	}
	// Another user's conversation, or none, is not found.
	for _, tok := range []string{bobTok, aliceTok} {
		id := c.ID
		if tok == aliceTok {
			id = "nope"
		}
		errorBody(t, e.do("POST", "/api/convos/update", tok, `{"arg":{"conversationId":"`+id+`","title":"Hijack"}}`),
			404, "error", "Conversation not found")
	}
	if e.snapshot(alice) != before {
		t.Fatal("a failed rename changed stored data")
	}
	// Trimmed, and cut at 1024 UTF-16 units without splitting a character.
	long := "  " + strings.Repeat("a", 1023) + "😀tail  "
	res := e.do("POST", "/api/convos/update", aliceTok, `{"arg":{"conversationId":"`+c.ID+`","title":"`+long+`"}}`)
	if res.status != 201 || res.object(t)["title"] != strings.Repeat("a", 1023) {
		t.Fatalf("long title: %d %v", res.status, res.object(t)["title"])
	}
	res = e.do("POST", "/api/convos/update", aliceTok, `{"arg":{"conversationId":"`+c.ID+`","title":"  Trimmed  "}}`)
	if res.status != 201 || res.object(t)["title"] != "Trimmed" || e.convo(alice, c.ID).Title != "Trimmed" {
		t.Fatalf("trim: %s", res)
	}
	res = e.do("POST", "/api/convos/update", aliceTok, `{"arg":{"conversationId":"`+c.ID+`","title":"x"}}`)
	if res.header.Get("Content-Type") != "application/json; charset=utf-8" {
		t.Fatalf("content type %q", res.header.Get("Content-Type"))
	}
	res = httpPostForm(e, aliceTok)
	if res.status != 415 {
		t.Fatalf("form body: %s", res)
	}
}

func httpPostForm(e *testEnv, tok string) result {
	req := httptest.NewRequest("POST", "/api/convos/update", strings.NewReader("a=b"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return e.serve(req, tok)
}

func TestArchiveAndPin(t *testing.T) {
	e := newEnv(t)
	alice, aliceTok := e.newUser("")
	_, bobTok := e.newUser("")
	c := e.putConvo(alice, convoSpec{title: "Keep"})
	before := e.snapshot(alice)
	for _, body := range []string{
		`{"arg":{"conversationId":"` + c.ID + `","isArchived":"true"}}`,
		`{"arg":{"conversationId":"` + c.ID + `"}}`,
		`{"arg":{"conversationId":"` + c.ID + `","isArchived":1}}`,
	} {
		errorBody(t, e.do("POST", "/api/convos/archive", aliceTok, body), 400, "error", "isArchived must be a boolean")
	}
	errorBody(t, e.do("POST", "/api/convos/archive", aliceTok, `{"arg":{}}`), 400, "error", "conversationId is required")
	errorBody(t, e.do("POST", "/api/convos/pin", aliceTok, `{"arg":{"conversationId":"`+c.ID+`","pinned":"yes"}}`),
		400, "error", "pinned must be a boolean")
	errorBody(t, e.do("POST", "/api/convos/pin", aliceTok, `{"arg":{"pinned":true}}`), 400, "error", "conversationId is required")
	errorBody(t, e.do("POST", "/api/convos/archive", bobTok, `{"arg":{"conversationId":"`+c.ID+`","isArchived":true}}`),
		404, "error", "Conversation not found")
	errorBody(t, e.do("POST", "/api/convos/pin", bobTok, `{"arg":{"conversationId":"`+c.ID+`","pinned":true}}`),
		404, "error", "Conversation not found")
	if e.snapshot(alice) != before {
		t.Fatal("failed requests changed stored data")
	}

	res := e.do("POST", "/api/convos/pin", aliceTok, `{"arg":{"conversationId":"`+c.ID+`","pinned":true}}`)
	if res.status != 200 || res.object(t)["pinned"] != true {
		t.Fatalf("pin: %s", res)
	}
	if p := e.list(aliceTok, ""); len(p.Conversations) != 1 || !p.Conversations[0].Pinned {
		t.Fatalf("pinned list: %+v", p)
	}
	res = e.do("POST", "/api/convos/archive", aliceTok, `{"arg":{"conversationId":"`+c.ID+`","isArchived":true}}`)
	if res.status != 200 || res.object(t)["isArchived"] != true {
		t.Fatalf("archive: %s", res)
	}
	if len(e.list(aliceTok, "").Conversations) != 0 || len(e.list(aliceTok, "?isArchived=true").Conversations) != 1 {
		t.Fatal("archived conversation in the wrong list")
	}
	res = e.do("POST", "/api/convos/pin", aliceTok, `{"arg":{"conversationId":"`+c.ID+`","pinned":false}}`)
	if _, has := res.object(t)["pinned"]; res.status != 200 || has {
		t.Fatalf("unpin: %s", res)
	}
}

func TestDelete(t *testing.T) {
	e := newEnv(t)
	alice, aliceTok := e.newUser("")
	bob, bobTok := e.newUser("")
	a1 := e.putConvo(alice, convoSpec{title: "one"})
	e.putMsgs(a1, msgSpec{id: "x", byUser: true}, msgSpec{id: "y", parent: "x"}, msgSpec{id: "z", parent: "y"})
	a2 := e.putConvo(alice, convoSpec{title: "two", archived: true})
	e.putMsgs(a2, msgSpec{id: "x", byUser: true})
	b1 := e.putConvo(bob, convoSpec{title: "bob's"})
	e.putMsgs(b1, msgSpec{id: "x", byUser: true})

	before := e.snapshot(alice)
	errorBody(t, e.do("DELETE", "/api/convos", bobTok, `{"arg":{"conversationId":"`+a1.ID+`"}}`), 404, "error", "Conversation not found")
	errorBody(t, e.do("DELETE", "/api/convos", aliceTok, `{"arg":{"conversationId":"nope"}}`), 404, "error", "Conversation not found")
	for _, body := range []string{`{"arg":{}}`, `{}`, `{"arg":null}`, `null`, ``, `{"arg":{"endpoint":"openAI"}}`, `{"arg":{"thread_id":"t"}}`} {
		errorBody(t, e.do("DELETE", "/api/convos", aliceTok, body), 400, "error", "no parameters provided")
	}
	errorBody(t, e.do("DELETE", "/api/convos", aliceTok, `{"arg":7}`), 400, "error", "arg must be a JSON object")
	if res := e.do("DELETE", "/api/convos", aliceTok, `{"arg":{"source":"button"}}`); res.status != 200 || string(res.body) != "No conversationId provided" {
		t.Fatalf("button: %s", res)
	}
	if e.snapshot(alice) != before {
		t.Fatal("failed deletes changed stored data")
	}

	res := e.do("DELETE", "/api/convos", aliceTok, `{"arg":{"conversationId":"`+a1.ID+`","source":"button"}}`)
	if res.status != 201 || string(res.body) != `{"acknowledged":true,"deletedCount":1,"messages":{"acknowledged":true,"deletedCount":3}}` {
		t.Fatalf("delete: %s", res)
	}
	if len(e.messages(alice, a1.ID)) != 0 {
		t.Fatal("messages left behind")
	}

	bobBefore := e.snapshot(bob)
	res = e.do("DELETE", "/api/convos/all", aliceTok, "")
	if res.status != 201 || string(res.body) != `{"acknowledged":true,"deletedCount":1}` {
		t.Fatalf("delete all: %s", res)
	}
	if len(e.allConvos(alice)) != 0 || len(e.messages(alice, a2.ID)) != 0 {
		t.Fatal("delete all left conversations")
	}
	if e.snapshot(bob) != bobBefore {
		t.Fatal("delete all touched another user")
	}
	res = e.do("DELETE", "/api/convos/all", aliceTok, "")
	if res.status != 201 || string(res.body) != `{"acknowledged":true,"deletedCount":0}` {
		t.Fatalf("delete all again: %s", res)
	}
}

func TestNewWithDefaults(t *testing.T) {
	if _, err := convos.New(nil); err == nil {
		t.Fatal("New(nil) should fail")
	}
	e := newEnv(t)
	h, err := convos.New(e.a)
	if err != nil {
		t.Fatal(err)
	}
	u, tok := e.newUser("")
	c := e.putConvo(u, convoSpec{title: "New Chat"})
	// The real timer gives up at once when the request has already ended.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	req := httptest.NewRequest("GET", "/api/convos/gen_title/"+c.ID, nil).WithContext(ctx)
	req.Header.Set("Authorization", "Bearer "+tok)
	start := time.Now()
	h.ServeHTTP(httptest.NewRecorder(), req)
	if d := time.Since(start); d > 400*time.Millisecond {
		t.Fatalf("waited %v after the request ended", d)
	}
}

// The search box finds conversations by the text of their messages too,
// and only the caller's.
func TestListSearchesMessageText(t *testing.T) {
	e := newEnv(t)
	u, tok := e.newUser("")
	other, _ := e.newUser("")
	mine := e.putConvo(u, convoSpec{title: "zoo trip"})
	theirs := e.putConvo(other, convoSpec{title: "kangaroo facts"})
	for _, c := range []*librechat.Conversation{mine, theirs} {
		m := &librechat.Message{ID: e.a.IDs.UUID(), ObjectID: e.a.IDs.ObjectID(), ConversationID: c.ID, UserID: c.UserID,
			ParentID: librechat.NoParent, Sender: "User", Text: "tell me about the kangaroo", IsCreatedByUser: true,
			CreatedAt: c.CreatedAt, UpdatedAt: c.CreatedAt}
		if err := e.a.Store.PutMessages(context.Background(), m); err != nil {
			t.Fatal(err)
		}
	}
	if got := e.list(tok, "?search=kang").ids(); !slices.Equal(got, []string{mine.ID}) {
		t.Fatalf("search by message text: %v, want only %s", got, mine.ID)
	}
	if got := e.list(tok, "?search=zoo").ids(); !slices.Equal(got, []string{mine.ID}) {
		t.Fatalf("search by title: %v", got)
	}
}

// Deleting a conversation removes its shared link; deleting all removes all
// of the user's links, and nobody else's.
func TestDeleteRemovesSharedLinks(t *testing.T) {
	e := newEnv(t)
	u, tok := e.newUser("")
	other, _ := e.newUser("")
	ctx := context.Background()
	link := func(owner *librechat.User, c *librechat.Conversation, id string) {
		if err := e.a.Store.PutShare(ctx, &librechat.SharedLink{ShareID: id, ObjectID: e.a.IDs.ObjectID(), UserID: owner.ID,
			ConversationID: c.ID, Title: c.Title, IsPublic: true, CreatedAt: c.CreatedAt, UpdatedAt: c.CreatedAt}); err != nil {
			t.Fatal(err)
		}
	}
	a := e.putConvo(u, convoSpec{title: "a"})
	b := e.putConvo(u, convoSpec{title: "b"})
	theirs := e.putConvo(other, convoSpec{title: "theirs"})
	link(u, a, "share-a")
	link(u, b, "share-b")
	link(other, theirs, "share-theirs")

	if r := e.do("DELETE", "/api/convos", tok, `{"arg":{"conversationId":"`+a.ID+`"}}`); r.status != 201 {
		t.Fatal(r)
	}
	if _, err := e.a.Store.Share(ctx, "share-a"); !librechat.IsNotFound(err) {
		t.Fatalf("link of the deleted conversation: %v", err)
	}
	if _, err := e.a.Store.Share(ctx, "share-b"); err != nil {
		t.Fatalf("another conversation's link went too: %v", err)
	}
	if r := e.do("DELETE", "/api/convos/all", tok, ""); r.status != 201 {
		t.Fatal(r)
	}
	if _, err := e.a.Store.Share(ctx, "share-b"); !librechat.IsNotFound(err) {
		t.Fatalf("link left after delete all: %v", err)
	}
	if _, err := e.a.Store.Share(ctx, "share-theirs"); err != nil {
		t.Fatalf("another user's link deleted: %v", err)
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

// Paging with the signed cursors lists each conversation exactly once.
func TestListCursorPagesEveryConversationOnce(t *testing.T) {
	e := newEnv(t)
	u, tok := e.newUser("")
	var want []string
	for i := range 7 {
		c := e.putConvo(u, convoSpec{title: fmt.Sprint("note ", i), created: fmt.Sprintf("2026-11-20T10:00:0%dZ", i)})
		want = append(want, c.ID)
	}
	slices.Reverse(want) // newest first
	for _, base := range []string{"?limit=3", "?limit=3&search=note"} {
		var got []string
		query := base
		for pages := 0; ; pages++ {
			if pages > 5 {
				t.Fatalf("%s: paging does not end", base)
			}
			p := e.list(tok, query)
			got = append(got, p.ids()...)
			if p.NextCursor == nil {
				break
			}
			query = base + "&cursor=" + *p.NextCursor
		}
		if base == "?limit=3" && !slices.Equal(got, want) {
			t.Fatalf("%s: pages %v, want %v", base, got, want)
		}
		sorted := slices.Clone(got)
		slices.Sort(sorted)
		wantSorted := slices.Clone(want)
		slices.Sort(wantSorted)
		if !slices.Equal(sorted, wantSorted) {
			t.Fatalf("%s: pages %v, want each of %v once", base, got, want)
		}
	}
}

// A cursor is only good for the user it was given to, unaltered, and for
// the list that gave it; anything else is 400 {"error":"Invalid cursor"}.
func TestListCursorRefused(t *testing.T) {
	e := newEnv(t)
	alice, aliceTok := e.newUser("")
	bob, bobTok := e.newUser("")
	for i := range 4 {
		e.putConvo(alice, convoSpec{title: fmt.Sprint("alice private ", i), created: fmt.Sprintf("2026-11-20T10:00:0%dZ", i)})
	}
	// Bob's conversations sort after Alice's cursor: were the cursor read
	// for him, he would get a page of them.
	for i := range 3 {
		e.putConvo(bob, convoSpec{title: fmt.Sprint("bob ", i), created: fmt.Sprintf("2026-11-19T10:00:0%dZ", i)})
	}
	p := e.list(aliceTok, "?limit=2")
	if p.NextCursor == nil {
		t.Fatal("no cursor")
	}
	cursor := *p.NextCursor
	// Unaltered, it works for Alice.
	if got := e.list(aliceTok, "?limit=2&cursor="+cursor); len(got.Conversations) != 2 {
		t.Fatalf("alice's own cursor: %v", got.ids())
	}
	s := e.list(aliceTok, "?limit=1&search=private")
	if s.NextCursor == nil {
		t.Fatal("no search cursor")
	}
	bad := []struct{ what, token, query string }{
		{"another user's cursor", bobTok, "?limit=2&cursor=" + cursor},
		{"another user's search cursor", bobTok, "?limit=2&search=private&cursor=" + *s.NextCursor},
		{"a flipped character", aliceTok, "?limit=2&cursor=" + flipMAC(t, cursor)},
		{"an unsigned cursor", aliceTok, "?limit=2&cursor=" + unsigned(t, cursor)},
		{"a list cursor on a search", aliceTok, "?limit=2&search=private&cursor=" + cursor},
		{"a search cursor on the list", aliceTok, "?limit=2&cursor=" + *s.NextCursor},
	}
	for _, b := range bad {
		res := e.do("GET", "/api/convos"+b.query, b.token, "")
		if res.status != 400 || string(res.body) != `{"error":"Invalid cursor"}` {
			t.Errorf("%s: %s", b.what, res)
		}
		if strings.Contains(string(res.body), "alice") || strings.Contains(string(res.body), alice.ID) {
			t.Errorf("%s: the answer shows alice's data: %s", b.what, res)
		}
	}
}
