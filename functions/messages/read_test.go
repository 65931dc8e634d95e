package messages_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"github.com/lcgo/lcgo/shared/app/apptest"
	"github.com/lcgo/lcgo/shared/files"
	"net/url"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/lcgo/lcgo/functions/messages"
	"github.com/lcgo/lcgo/shared/librechat"
	"github.com/lcgo/lcgo/shared/wire"
)

// The stored messages of captures 25 and 32 come back byte for byte as
// Node sent them: same keys, same order, same values.
func TestGetMessagesMatchesCaptures(t *testing.T) {
	for _, name := range []string{"25-get-messages.txt", "32-get-messages-after-2.txt"} {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t)
			alice := e.newUser("alice")
			want := loadCapture(t, name)
			var docs []wire.Object
			if err := json.Unmarshal([]byte(want.body), &docs); err != nil {
				t.Fatal(err)
			}
			e.conversation(alice, convA, "Fake Title")
			for _, d := range docs {
				m := wire.MessageFromDoc(d)
				m.ObjectID = e.a.IDs.ObjectID()
				e.put(alice, m)
			}
			r := e.do("GET", "/api/messages/"+convA, alice.token, "")
			expect(t, "GET", r, want.status, want.body)
			if ct := r.header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
				t.Errorf("Content-Type %q", ct)
			}
		})
	}
}

func TestGetConversationMessages(t *testing.T) {
	e := newEnv(t)
	alice, bob := e.newUser("alice"), e.newUser("bob")
	e.conversation(alice, convA, "A")
	// Stored out of order: the answer is by createdAt.
	late := textMessage(convA, "m2", "m1", "second")
	late.CreatedAt = e.clock.Now().Add(time.Minute)
	e.put(alice, late, textMessage(convA, "m1", librechat.NoParent, "first"))

	r := e.do("GET", "/api/messages/"+convA, alice.token, "")
	got := decodeJSON[[]map[string]any](t, r)
	if r.status != 200 || len(got) != 2 || got[0]["messageId"] != "m1" || got[1]["messageId"] != "m2" {
		t.Fatalf("alice: %v", r)
	}
	for _, k := range []string{"_id", "__v", "user"} {
		if _, ok := got[0][k]; ok {
			t.Errorf("%s is exposed", k)
		}
	}

	expect(t, "new", e.do("GET", "/api/messages/new", alice.token, ""), 200, `[]`)
	expect(t, "unknown", e.do("GET", "/api/messages/nope", alice.token, ""), 404, `{"error":"Conversation not found"}`)
	expect(t, "bob", e.do("GET", "/api/messages/"+convA, bob.token, ""), 404, `{"error":"Conversation not found"}`)
	expect(t, "no token", e.do("GET", "/api/messages/"+convA, "", ""), 401, `{"message":"No auth token"}`)
	expect(t, "trailing slash", e.do("GET", "/api/messages/"+convA+"/", alice.token, ""), 200, "")
	expect(t, "unknown route", e.do("PATCH", "/api/messages/"+convA, alice.token, `{}`), 404,
		`{"error":"Endpoint not found","message":"Endpoint not found"}`)
}

// While a generation job runs, its conversation may be read before it is
// stored — by its owner only, and not one message by id.
func TestGetWhileJobRuns(t *testing.T) {
	e := newEnv(t)
	alice, bob := e.newUser("alice"), e.newUser("bob")
	e.jobs.start(alice.u.ID, convB)

	expect(t, "alice", e.do("GET", "/api/messages/"+convB, alice.token, ""), 200, `[]`)
	expect(t, "bob", e.do("GET", "/api/messages/"+convB, bob.token, ""), 404, `{"error":"Conversation not found"}`)
	expect(t, "alice page", e.do("GET", "/api/messages?conversationId="+convB, alice.token, ""), 200,
		`{"messages":[],"nextCursor":null}`)
	expect(t, "alice by id", e.do("GET", "/api/messages?conversationId="+convB+"&messageId=x", alice.token, ""), 404,
		`{"error":"Conversation not found"}`)
	expect(t, "one message", e.do("GET", "/api/messages/"+convB+"/x", alice.token, ""), 404,
		`{"error":"Conversation not found"}`)

	// Without the option nothing gets through.
	h, err := messages.New(e.a)
	if err != nil {
		t.Fatal(err)
	}
	e.h = h
	expect(t, "no jobs option", e.do("GET", "/api/messages/"+convB, alice.token, ""), 404, `{"error":"Conversation not found"}`)
}

func TestGetOneMessage(t *testing.T) {
	e := newEnv(t)
	alice, bob := e.newUser("alice"), e.newUser("bob")
	e.conversation(alice, convA, "A")
	e.put(alice, textMessage(convA, "m1", librechat.NoParent, "hello"))

	r := e.do("GET", "/api/messages/"+convA+"/m1", alice.token, "")
	got := decodeJSON[[]map[string]any](t, r)
	if r.status != 200 || len(got) != 1 || got[0]["text"] != "hello" {
		t.Errorf("alice: %v", r)
	}
	expect(t, "missing message", e.do("GET", "/api/messages/"+convA+"/zz", alice.token, ""), 200, `[]`)
	expect(t, "new", e.do("GET", "/api/messages/new/m1", alice.token, ""), 200, `[]`)
	expect(t, "bob", e.do("GET", "/api/messages/"+convA+"/m1", bob.token, ""), 404, `{"error":"Conversation not found"}`)
}

func TestPagination(t *testing.T) {
	e := newEnv(t)
	alice, bob := e.newUser("alice"), e.newUser("bob")
	e.conversation(alice, convA, "A")
	var ids []string
	for i := range 7 {
		id := fmt.Sprintf("m%d", i)
		ids = append(ids, id)
		m := textMessage(convA, id, librechat.NoParent, "text "+id)
		if i%2 == 0 {
			m.Endpoint = "anthropic"
		}
		e.put(alice, m)
	}
	// Two messages with the same createdAt still page apart.
	same := textMessage(convA, "m7", librechat.NoParent, "twin")
	same.CreatedAt = e.stored(alice, convA, "m6").CreatedAt
	e.put(alice, same)
	ids = append(ids, "m7")

	type pageT struct {
		Messages   []map[string]any `json:"messages"`
		NextCursor *string          `json:"nextCursor"`
	}
	walk := func(query string) ([]string, int) {
		t.Helper()
		var got []string
		cursor, pages := "", 0
		for {
			q := query
			if cursor != "" {
				q += "&cursor=" + url.QueryEscape(cursor)
			}
			r := e.do("GET", "/api/messages?conversationId="+convA+q, alice.token, "")
			if r.status != 200 {
				t.Fatalf("%s: %v", q, r)
			}
			sameKeys(t, "page", r.body, "messages", "nextCursor")
			p := decodeJSON[pageT](t, r)
			pages++
			for _, m := range p.Messages {
				got = append(got, m["messageId"].(string))
			}
			if p.NextCursor == nil {
				return got, pages
			}
			cursor = *p.NextCursor
			if pages > 20 {
				t.Fatal("no end")
			}
		}
	}
	reversed := func(s []string) []string {
		out := make([]string, len(s))
		for i, v := range s {
			out[len(s)-1-i] = v
		}
		return out
	}

	got, pages := walk("&pageSize=3&sortBy=createdAt&sortDirection=asc")
	if !reflect.DeepEqual(got, ids) || pages != 3 {
		t.Errorf("asc: %v in %d pages", got, pages)
	}
	got, _ = walk("&pageSize=3&sortBy=createdAt")
	if !reflect.DeepEqual(got, reversed(ids)) {
		t.Errorf("desc: %v", got)
	}
	// Defaults: updatedAt, newest first, 25 a page.
	got, pages = walk("")
	if !reflect.DeepEqual(got, reversed(ids)) || pages != 1 {
		t.Errorf("defaults: %v in %d pages", got, pages)
	}
	got, _ = walk("&pageSize=2&sortBy=endpoint&sortDirection=asc")
	if len(got) != len(ids) || !strings.HasPrefix(strings.Join(got, ","), "m0,m2,m4,m6") {
		t.Errorf("by endpoint: %v", got)
	}
	// An unknown field sorts by createdAt; a bad size is the default.
	got, _ = walk("&pageSize=abc&sortBy=nope&sortDirection=asc")
	if !reflect.DeepEqual(got, ids) {
		t.Errorf("fallbacks: %v", got)
	}
	got, pages = walk("&pageSize=4xyz&sortBy=createdAt&sortDirection=asc")
	if !reflect.DeepEqual(got, ids) || pages != 2 {
		t.Errorf("parseInt size: %v in %d pages", got, pages)
	}

	// A cursor must be one of ours, for the same order.
	r := e.do("GET", "/api/messages?conversationId="+convA+"&pageSize=3&sortBy=createdAt", alice.token, "")
	cursor := *decodeJSON[pageT](t, r).NextCursor
	for _, bad := range []string{"!!!", "e30", "bm90IGpzb24", cursor + "x"} {
		r := e.do("GET", "/api/messages?conversationId="+convA+"&cursor="+url.QueryEscape(bad), alice.token, "")
		expect(t, "cursor "+bad, r, 400, `{"error":"Invalid cursor"}`)
	}
	r = e.do("GET", "/api/messages?conversationId="+convA+"&sortBy=createdAt&sortDirection=asc&cursor="+url.QueryEscape(cursor), alice.token, "")
	expect(t, "cursor of another order", r, 400, `{"error":"Invalid cursor"}`)

	// One message by id.
	r = e.do("GET", "/api/messages?conversationId="+convA+"&messageId=m3", alice.token, "")
	p := decodeJSON[pageT](t, r)
	if r.status != 200 || len(p.Messages) != 1 || p.Messages[0]["text"] != "text m3" || p.NextCursor != nil {
		t.Errorf("by id: %v", r)
	}
	expect(t, "by unknown id", e.do("GET", "/api/messages?conversationId="+convA+"&messageId=zz", alice.token, ""), 200,
		`{"messages":[],"nextCursor":null}`)

	// Another user's conversation, or no usable id.
	expect(t, "bob", e.do("GET", "/api/messages?conversationId="+convA, bob.token, ""), 404, `{"error":"Conversation not found"}`)
	expect(t, "bob by id", e.do("GET", "/api/messages?conversationId="+convA+"&messageId=m3", bob.token, ""), 404, `{"error":"Conversation not found"}`)
	expect(t, "two ids", e.do("GET", "/api/messages?conversationId="+convA+"&conversationId="+convA, alice.token, ""), 404, `{"error":"Conversation not found"}`)
	expect(t, "empty id", e.do("GET", "/api/messages?conversationId=", alice.token, ""), 404, `{"error":"Conversation not found"}`)
	expect(t, "nothing asked", e.do("GET", "/api/messages", alice.token, ""), 200, `{"messages":[],"nextCursor":null}`)
	expect(t, "nothing asked, slash", e.do("GET", "/api/messages/", alice.token, ""), 200, `{"messages":[],"nextCursor":null}`)
}

func TestSearch(t *testing.T) {
	e := newEnv(t)
	alice, bob := e.newUser("alice"), e.newUser("bob")
	e.conversation(alice, convA, "Pets")
	e.put(alice,
		textMessage(convA, "a1", librechat.NoParent, "Tell me about Ferrets"),
		reply(convA, "a2", "a1", `[{"type":"think","think":"ferrets in thought"},{"type":"text","text":"FERRETS are mustelids."}]`),
		textMessage(convA, "a3", "a2", "and cats?"),
	)
	archived := e.conversation(alice, convB, "Old")
	archived.IsArchived = true
	if err := e.a.Store.PutConversation(context.Background(), archived); err != nil {
		t.Fatal(err)
	}
	e.put(alice, textMessage(convB, "b1", librechat.NoParent, "ferrets again"))
	bobConv := "c2f5b1d0-1111-4222-8333-444455556666"
	e.conversation(bob, bobConv, "Bob's")
	e.put(bob, textMessage(bobConv, "x1", librechat.NoParent, "ferrets of bob"))

	type pageT struct {
		Messages   []map[string]any `json:"messages"`
		NextCursor *string          `json:"nextCursor"`
	}
	r := e.do("GET", "/api/messages?search=ferrets", alice.token, "")
	p := decodeJSON[pageT](t, r)
	if r.status != 200 || p.NextCursor != nil {
		t.Fatalf("search: %v", r)
	}
	found := map[string]map[string]any{}
	for _, m := range p.Messages {
		found[m["messageId"].(string)] = m
	}
	if len(found) != 3 || found["a1"] == nil || found["a2"] == nil || found["b1"] == nil {
		t.Errorf("alice found %v", r)
	}
	if found["a1"]["title"] != "Pets" || found["b1"]["title"] != "Old" || found["a2"]["model"] != "gpt-4o" {
		t.Errorf("hit fields: %v", r)
	}
	if p.Messages[0]["messageId"] != "b1" {
		t.Errorf("the most recently updated conversation comes first: %v", r)
	}

	r = e.do("GET", "/api/messages?search=ferrets", bob.token, "")
	p = decodeJSON[pageT](t, r)
	if len(p.Messages) != 1 || p.Messages[0]["messageId"] != "x1" || p.Messages[0]["title"] != "Bob's" {
		t.Errorf("bob found %v", r)
	}
	expect(t, "no hit", e.do("GET", "/api/messages?search=zebra", alice.token, ""), 200, `{"messages":[],"nextCursor":null}`)
	expect(t, "thoughts are not searched", e.do("GET", "/api/messages?search=in+thought", alice.token, ""), 200,
		`{"messages":[],"nextCursor":null}`)
	expect(t, "empty search", e.do("GET", "/api/messages?search=", alice.token, ""), 200, `{"messages":[],"nextCursor":null}`)
}

// The branch and artifact routes address a message by id alone and search
// reads conversations: both look at the caller's most recently updated
// conversations, archived ones included, up to a cap.
func TestManyConversations(t *testing.T) {
	e := newEnv(t)
	alice := e.newUser("alice")
	const n = 202
	ids := make([]string, n)
	for i := range n {
		ids[i] = fmt.Sprintf("%08d-0000-4000-8000-000000000000", i)
		c := e.conversation(alice, ids[i], fmt.Sprintf("c%d", i))
		if i%3 == 0 {
			c.IsArchived = true
			if err := e.a.Store.PutConversation(context.Background(), c); err != nil {
				t.Fatal(err)
			}
		}
	}
	// The oldest two conversations are past the cap.
	for _, i := range []int{0, 1, 2, 150} {
		m := reply(ids[i], fmt.Sprintf("r%d", i), librechat.NoParent,
			`[{"type":"text","text":"needle","agentId":"a"},{"type":"text","text":"other","agentId":"b"}]`)
		m.Text = "needle"
		e.put(alice, m)
	}
	for _, tc := range []struct {
		id     string
		status int
	}{{"r150", 201}, {"r2", 201}, {"r1", 404}, {"r0", 404}} {
		r := e.do("POST", "/api/messages/branch", alice.token, `{"messageId":"`+tc.id+`","agentId":"a"}`)
		expect(t, "branch "+tc.id, r, tc.status, "")
	}
	r := e.do("GET", "/api/messages?search=needle", alice.token, "")
	var p struct{ Messages []map[string]any }
	if err := json.Unmarshal(r.body, &p); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range p.Messages {
		if !strings.HasPrefix(m["messageId"].(string), "r") {
			continue
		}
		got = append(got, m["messageId"].(string))
	}
	sort.Strings(got)
	if !reflect.DeepEqual(got, []string{"r0", "r1", "r150", "r2"}) { // full-text search has no conversation cap
		t.Errorf("search found %v", got)
	}
}

// Search pages through every hit with its cursor, each hit once.
func TestSearchPages(t *testing.T) {
	e := newEnv(t)
	alice := e.newUser("alice")
	e.conversation(alice, convA, "A")
	var msgs []*librechat.Message
	for i := range 120 {
		msgs = append(msgs, textMessage(convA, fmt.Sprintf("m%03d", i), librechat.NoParent, "hay needle hay"))
	}
	e.put(alice, msgs...)
	seen := map[string]bool{}
	cursor := ""
	for pages := 0; ; pages++ {
		if pages > 10 {
			t.Fatal("search never ended")
		}
		path := "/api/messages?search=NEED"
		if cursor != "" {
			path += "&cursor=" + cursor
		}
		r := e.do("GET", path, alice.token, "")
		var p struct {
			Messages   []map[string]any
			NextCursor *string
		}
		if err := json.Unmarshal(r.body, &p); err != nil || r.status != 200 {
			t.Fatalf("%d %s", r.status, r.body)
		}
		for _, m := range p.Messages {
			id := m["messageId"].(string)
			if seen[id] {
				t.Fatalf("%s twice", id)
			}
			seen[id] = true
			if m["title"] != "A" {
				t.Fatalf("hit without its title: %v", m)
			}
		}
		if p.NextCursor == nil {
			break
		}
		cursor = *p.NextCursor
	}
	if len(seen) != 120 {
		t.Fatalf("%d hits, want 120", len(seen))
	}
	if r := e.do("GET", "/api/messages?search=needle&cursor=%25%25", alice.token, ""); r.status != 400 {
		t.Fatalf("bad cursor: %d", r.status)
	}
}

// Attached images keep working on a later read: their signed links are
// renewed when messages are read.
func TestFileLinksRenewed(t *testing.T) {
	e := newEnv(t)
	alice := e.newUser("alice")
	e.conversation(alice, convA, "A")
	old, err := files.SignerFor(e.a.Config, apptest.NewClock(e.clock.Now().Add(-72*time.Hour)), 0)
	if err != nil {
		t.Fatal(err)
	}
	f := &librechat.File{ID: "11111111-2222-4333-8444-555555555555", UserID: alice.u.ID, Type: "image/png"}
	stale := old.URL(f)
	m := textMessage(convA, "m1", librechat.NoParent, "see the picture")
	m.Fields = map[string]json.RawMessage{"files": json.RawMessage(`[{"file_id":"` + f.ID + `","filepath":"` + stale + `","type":"image/png"}]`)}
	e.put(alice, m)

	r := e.do("GET", "/api/messages/"+convA, alice.token, "")
	var got []struct {
		Files []struct{ Filepath string } `json:"files"`
	}
	if err := json.Unmarshal(r.body, &got); err != nil || len(got) != 1 || len(got[0].Files) != 1 {
		t.Fatalf("%d %s", r.status, r.body)
	}
	fresh := got[0].Files[0].Filepath
	if fresh == stale || !strings.HasPrefix(fresh, strings.SplitN(stale, "?", 2)[0]) {
		t.Fatalf("link not renewed: %s", fresh)
	}
	u, _ := url.Parse(fresh)
	signer, _ := files.SignerFor(e.a.Config, e.clock, 0)
	if err := signer.Verify(alice.u.ID, f.ID, u.Query().Get("exp"), u.Query().Get("sig")); err != nil {
		t.Fatalf("renewed link does not verify: %v", err)
	}
	if stored := e.stored(alice, convA, "m1"); !strings.Contains(string(stored.Fields["files"]), stale) {
		t.Fatal("reading rewrote the stored message")
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

// A page or search cursor is only good for the user it was given to,
// unaltered, and for the list (and conversation) that gave it; anything
// else is 400 {"error":"Invalid cursor"}, never another position.
func TestCursorRefused(t *testing.T) {
	e := newEnv(t)
	alice, bob := e.newUser("alice"), e.newUser("bob")
	e.conversation(alice, convA, "A")
	e.conversation(alice, "conv-alice-2", "A2")
	e.conversation(bob, "conv-bob", "B")
	// More hits than a search page (25) for Alice; Bob has some too.
	for i := range 30 {
		e.put(alice, textMessage(convA, fmt.Sprintf("a%d", i), librechat.NoParent, "alice secret needle"))
	}
	for i := range 5 {
		e.put(alice, textMessage("conv-alice-2", fmt.Sprintf("a2-%d", i), librechat.NoParent, "alice other"))
		e.put(bob, textMessage("conv-bob", fmt.Sprintf("b%d", i), librechat.NoParent, "bob needle"))
	}
	type pageT struct {
		Messages   []map[string]any `json:"messages"`
		NextCursor *string          `json:"nextCursor"`
	}
	first := func(path string) string {
		t.Helper()
		r := e.do("GET", path, alice.token, "")
		p := decodeJSON[pageT](t, r)
		if r.status != 200 || p.NextCursor == nil {
			t.Fatalf("%s: %v", path, r)
		}
		// Unaltered, it works for Alice.
		if r := e.do("GET", path+"&cursor="+url.QueryEscape(*p.NextCursor), alice.token, ""); r.status != 200 {
			t.Fatalf("alice's own cursor: %v", r)
		}
		return *p.NextCursor
	}
	const pagePath = "/api/messages?conversationId=" + convA + "&pageSize=2"
	page := first(pagePath)
	search := first("/api/messages?search=needle")

	// Bob can read the conversation while a job of his runs for it: the
	// cursor's user is then all that stands in the way.
	e.jobs.start(bob.u.ID, convA)
	bad := []struct{ what, token, path, cursor string }{
		{"another user's page cursor", bob.token, pagePath, page},
		{"another user's page cursor, his conversation", bob.token, "/api/messages?conversationId=conv-bob&pageSize=2", page},
		{"another user's search cursor", bob.token, "/api/messages?search=needle", search},
		{"a flipped character", alice.token, pagePath, flipMAC(t, page)},
		{"a flipped character, search", alice.token, "/api/messages?search=needle", flipMAC(t, search)},
		{"an unsigned cursor", alice.token, pagePath, unsigned(t, page)},
		{"an unsigned search cursor", alice.token, "/api/messages?search=needle", unsigned(t, search)},
		{"a page cursor on a search", alice.token, "/api/messages?search=needle", page},
		{"a search cursor on a page", alice.token, pagePath, search},
		{"another conversation's cursor", alice.token, "/api/messages?conversationId=conv-alice-2&pageSize=2", page},
	}
	for _, b := range bad {
		r := e.do("GET", b.path+"&cursor="+url.QueryEscape(b.cursor), b.token, "")
		expect(t, b.what, r, 400, `{"error":"Invalid cursor"}`)
	}
}
