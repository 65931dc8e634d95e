package share_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lcgo/lcgo/shared/config"
	"github.com/lcgo/lcgo/shared/librechat"
)

// branching stores alice's conversation: m1 → m2 → m3 → m4 is the branch
// on screen; m2b → m3b is an alternative answer to m1.
func branching(e *testEnv, u *librechat.User, convID string) *librechat.Conversation {
	c := e.convo(u, convID, "Trip planning")
	e.messages(c,
		msg{id: convID + "-m1", text: "hello", byUser: true},
		msg{id: convID + "-m2", parent: convID + "-m1", text: "answer one"},
		msg{id: convID + "-m2b", parent: convID + "-m1", text: "other branch answer"},
		msg{id: convID + "-m3", parent: convID + "-m2", text: "follow up", byUser: true},
		msg{id: convID + "-m3b", parent: convID + "-m2b", text: "other branch question", byUser: true},
		msg{id: convID + "-m4", parent: convID + "-m3", text: "final answer", model: "asst_secret123",
			content: `[{"type":"text","text":"final answer"},{"type":"steer","text":"more","files":[{"file_id":"file-steer-one","filepath":"/images/secret/steer.png"}]}]`,
			fields: map[string]string{
				"iconURL": `"https://example.com/icon.png"`, "finish_reason": `"stop"`, "quotes": `[{"text":"q"}]`,
				"files": `[{"file_id":"file-top-two","filepath":"/images/secret/top.png"}]`, "attachments": `[{"file_id":"file-attached-three"}]`,
				"feedback": `{"rating":"thumbsUp"}`, "manualSkills": `null`,
			}},
	)
	return c
}

func TestListEmptyMatchesCapture(t *testing.T) {
	e := newEnv(t)
	_, tok := e.newUser("bob")
	got := e.do("GET", "/api/share?pageSize=25&sortBy=createdAt&sortDirection=desc", tok, "")
	status, body := loadCapture(t, "49-get-share-list.txt")
	if got.status != status || string(got.body) != body {
		t.Fatalf("got %s, want %d %s", got, status, body)
	}
}

func TestLifecycle(t *testing.T) {
	e := newEnv(t)
	alice, tok := e.newUser("alice")
	c := branching(e, alice, "c-alice")

	res := e.do("GET", "/api/share/link/c-alice", tok, "")
	if res.status != 200 || string(res.body) != `{"success":false,"shareId":null,"conversationId":"c-alice"}` {
		t.Fatalf("link before: %s", res)
	}

	res = e.do("POST", "/api/share/c-alice", tok, `{"targetMessageId":"c-alice-m4","snapshotFiles":true}`)
	if res.status != http.StatusOK {
		t.Fatalf("create: %s", res)
	}
	if got := keys(t, res.body); !slices.Equal(got, []string{"shareId", "conversationId", "targetMessageId"}) {
		t.Fatalf("create keys %v", got)
	}
	created := res.object(t)
	id := created["shareId"].(string)
	if len(id) != 21 || created["conversationId"] != "c-alice" || created["targetMessageId"] != "c-alice-m4" {
		t.Fatalf("create: %s", res.body)
	}
	errorBody(t, e.do("POST", "/api/share/c-alice", tok, `{}`), http.StatusConflict, "Share already exists")

	res = e.do("GET", "/api/share/link/c-alice", tok, "")
	if res.status != 200 || string(res.body) != `{"success":true,"shareId":"`+id+`","targetMessageId":"c-alice-m4","conversationId":"c-alice"}` {
		t.Fatalf("link after: %s", res)
	}

	res = e.do("GET", "/api/share?pageSize=25&sortBy=createdAt&sortDirection=desc", tok, "")
	want := `{"links":[{"shareId":"` + id + `","title":"Trip planning","createdAt":"2026-11-26T16:00:06.000Z","conversationId":"c-alice"}],"hasNextPage":false}`
	if res.status != 200 || string(res.body) != want {
		t.Fatalf("list:\n got %s\nwant %s", res, want)
	}

	v, _ := e.view(id, "")
	if got := v.texts(); !slices.Equal(got, []string{"hello", "answer one", "follow up", "final answer"}) {
		t.Fatalf("snapshot %v", got)
	}

	// A refresh snapshots again under a new id, up to a new target; the
	// old id stops working.
	e.messages(c, msg{id: "c-alice-m5", parent: "c-alice-m4", text: "thanks", byUser: true})
	res = e.do("PATCH", "/api/share/"+id, tok, `{"targetMessageId":"c-alice-m5"}`)
	if res.status != http.StatusOK {
		t.Fatalf("update: %s", res)
	}
	updated := res.object(t)
	id2 := updated["shareId"].(string)
	if id2 == id || len(id2) != 21 || updated["conversationId"] != "c-alice" || updated["targetMessageId"] != "c-alice-m5" {
		t.Fatalf("update: %s", res.body)
	}
	errorBody(t, e.do("GET", "/api/share/"+id, "", ""), http.StatusNotFound, "Shared link not found")
	v, _ = e.view(id2, "")
	if got := v.texts(); !slices.Equal(got, []string{"hello", "answer one", "follow up", "final answer", "thanks"}) {
		t.Fatalf("refreshed snapshot %v", got)
	}

	// Without a target the stored one is kept.
	e.messages(c, msg{id: "c-alice-m6", parent: "c-alice-m5", text: "after the target"})
	res = e.do("PATCH", "/api/share/"+id2, tok, "")
	if res.status != http.StatusOK || res.object(t)["targetMessageId"] != "c-alice-m5" {
		t.Fatalf("update without body: %s", res)
	}
	id3 := res.object(t)["shareId"].(string)
	v, _ = e.view(id3, "")
	if len(v.Messages) != 5 {
		t.Fatalf("kept target: %v", v.texts())
	}

	res = e.do("DELETE", "/api/share/"+id3, tok, "")
	if res.status != 200 || string(res.body) != `{"success":true,"shareId":"`+id3+`","message":"Share deleted successfully"}` {
		t.Fatalf("delete: %s", res)
	}
	errorBody(t, e.do("GET", "/api/share/"+id3, "", ""), http.StatusNotFound, "Shared link not found")
	errorBody(t, e.do("DELETE", "/api/share/"+id3, tok, ""), http.StatusNotFound, "Share not found")
	if res := e.do("GET", "/api/share/link/c-alice", tok, ""); !strings.Contains(string(res.body), `"success":false`) {
		t.Fatalf("link after delete: %s", res)
	}
}

func TestPublicViewIsAnonymous(t *testing.T) {
	e := newEnv(t)
	alice, tok := e.newUser("alice")
	branching(e, alice, "c-alice")
	other := e.convo(alice, "c-other", "Private things")
	e.messages(other, msg{id: "o1", text: "unrelated secret", byUser: true})
	id := e.create(tok, "c-alice", `{"targetMessageId":"c-alice-m4"}`)

	for _, token := range []string{"", "not-a-token"} {
		v, res := e.view(id, token)
		if got := keys(t, res.body); !slices.Equal(got, []string{"shareId", "title", "createdAt", "updatedAt", "conversationId", "messages"}) {
			t.Fatalf("view keys %v", got)
		}
		if res.header.Get("Cache-Control") != "private, no-store" {
			t.Errorf("Cache-Control %q", res.header.Get("Cache-Control"))
		}
		body := string(res.body)
		for _, leak := range []string{
			alice.ID, alice.Email, "alice.secret", "c-alice", "c-other", "unrelated secret", "other branch",
			"owner's private prompt", "openAI", "gpt-4o", "asst_secret123", "metadata", "feedback", "/images/",
			`"user"`, `"_id"`, `"endpoint"`, `"files"`, `"attachments"`, "file-steer-one", "file-top-two", "file-attached-three",
		} {
			if strings.Contains(body, leak) {
				t.Errorf("view contains %q: %s", leak, body)
			}
		}
		if v.ShareID != id || v.Title != "Trip planning" || !strings.HasPrefix(v.ConversationID, "convo_") {
			t.Fatalf("view %s", body)
		}
		if got := v.texts(); !slices.Equal(got, []string{"hello", "answer one", "follow up", "final answer"}) {
			t.Fatalf("snapshot %v", got)
		}
		for i, m := range v.Messages {
			wantParent := librechat.NoParent
			if i > 0 {
				wantParent = v.Messages[i-1].MessageID
			}
			if !strings.HasPrefix(m.MessageID, "msg_") || m.ParentMessageID != wantParent || m.ConversationID != v.ConversationID {
				t.Errorf("message %d ids %+v", i, m)
			}
		}

		var raw struct {
			Messages []json.RawMessage `json:"messages"`
		}
		if err := json.Unmarshal(res.body, &raw); err != nil {
			t.Fatal(err)
		}
		last := raw.Messages[3]
		want := []string{"messageId", "parentMessageId", "conversationId", "sender", "text", "content", "iconURL",
			"model", "isCreatedByUser", "createdAt", "updatedAt", "tokenCount", "unfinished", "error",
			"finish_reason", "quotes"}
		if got := keys(t, last); !slices.Equal(got, want) {
			t.Fatalf("message keys %v, want %v", got, want)
		}
		var m4 map[string]any
		_ = json.Unmarshal(last, &m4)
		if model, _ := m4["model"].(string); !strings.HasPrefix(model, "a_") {
			t.Errorf("assistant model %v", m4["model"])
		}
		content, _ := json.Marshal(m4["content"])
		if string(content) != `[{"text":"final answer","type":"text"},{"text":"more","type":"steer"}]` {
			t.Errorf("content %s", content)
		}
		if got := keys(t, raw.Messages[0]); slices.Contains(got, "model") || slices.Contains(got, "iconURL") {
			t.Errorf("first message keys %v", got)
		}
	}
}

func TestCreateWithoutTargetSharesEveryMessage(t *testing.T) {
	e := newEnv(t)
	alice, tok := e.newUser("alice")
	branching(e, alice, "c-alice")
	res := e.do("POST", "/api/share/c-alice", tok, "")
	if res.status != http.StatusOK || keys(t, res.body)[1] != "conversationId" || len(keys(t, res.body)) != 2 {
		t.Fatalf("create: %s", res)
	}
	v, _ := e.view(res.object(t)["shareId"].(string), "")
	if len(v.Messages) != 6 {
		t.Fatalf("snapshot %v", v.texts())
	}
	byID := map[string]bool{}
	for _, m := range v.Messages {
		byID[m.MessageID] = true
	}
	for _, m := range v.Messages {
		if m.ParentMessageID != librechat.NoParent && !byID[m.ParentMessageID] {
			t.Errorf("parent of %q is not in the view", m.Text)
		}
	}
}

func TestBadRequestsChangeNothing(t *testing.T) {
	e := newEnv(t)
	alice, tok := e.newUser("alice")
	branching(e, alice, "c-alice")
	e.convo(alice, "c-empty", "Empty")
	id := e.create(tok, "c-alice", `{"targetMessageId":"c-alice-m2"}`)
	before := e.stored(alice)
	cases := []struct {
		method, path, body string
		status             int
		msg                string
	}{
		{"POST", "/api/share/c-missing", "", 404, "Conversation not found or access denied"},
		{"POST", "/api/share/c-empty", "", 400, "No messages to share"},
		{"POST", "/api/share/c-empty", `{"targetMessageId":""}`, 400, "targetMessageId must be a non-empty string"},
		{"POST", "/api/share/c-empty", `{"targetMessageId":5}`, 400, "targetMessageId must be a non-empty string"},
		{"POST", "/api/share/c-empty", `{"snapshotFiles":"yes"}`, 400, "snapshotFiles must be a boolean"},
		{"POST", "/api/share/c-empty", `{"targetMessageId":`, 400, "Request body must be a JSON object"},
		{"PATCH", "/api/share/" + id, `{"targetMessageId":"nope"}`, 400, "Target message not found"},
		{"PATCH", "/api/share/" + id, `{"snapshotFiles":1}`, 400, "snapshotFiles must be a boolean"},
		{"PATCH", "/api/share/unknown", "", 404, "Share not found"},
		{"DELETE", "/api/share/unknown", "", 404, "Share not found"},
	}
	for _, c := range cases {
		errorBody(t, e.do(c.method, c.path, tok, c.body), c.status, c.msg)
	}
	e.messages(e.convo(alice, "c-two", "Two"), msg{id: "t1", text: "x", byUser: true})
	errorBody(t, e.do("POST", "/api/share/c-two", tok, `{"targetMessageId":"c-alice-m1"}`), 400, "Target message not found")
	if after := e.stored(alice); after != before {
		t.Fatalf("a failed request changed the links:\n%s\n%s", before, after)
	}
	if v, _ := e.view(id, ""); len(v.Messages) != 2 {
		t.Fatalf("the link changed: %v", v.texts())
	}
}

func TestCrossUser(t *testing.T) {
	e := newEnv(t)
	alice, aliceTok := e.newUser("alice")
	bob, bobTok := e.newUser("bob")
	branching(e, alice, "c-alice")
	branching(e, bob, "c-bob")
	id := e.create(aliceTok, "c-alice", `{"targetMessageId":"c-alice-m4"}`)
	before := e.stored(alice)

	res := e.do("GET", "/api/share?pageSize=25", bobTok, "")
	if string(res.body) != `{"links":[],"hasNextPage":false}` {
		t.Fatalf("bob's list: %s", res)
	}
	res = e.do("GET", "/api/share/link/c-alice", bobTok, "")
	if string(res.body) != `{"success":false,"shareId":null,"conversationId":"c-alice"}` {
		t.Fatalf("bob reads alice's link: %s", res)
	}
	errorBody(t, e.do("POST", "/api/share/c-alice", bobTok, `{"targetMessageId":"c-alice-m4"}`), 404, "Conversation not found or access denied")
	errorBody(t, e.do("PATCH", "/api/share/"+id, bobTok, ""), 404, "Share not found")
	errorBody(t, e.do("PATCH", "/api/share/"+id, bobTok, `{"targetMessageId":"c-bob-m4"}`), 404, "Share not found")
	errorBody(t, e.do("DELETE", "/api/share/"+id, bobTok, ""), 404, "Share not found")
	// Bob's own conversation with alice's message id as target.
	errorBody(t, e.do("POST", "/api/share/c-bob", bobTok, `{"targetMessageId":"c-alice-m4"}`), 400, "Target message not found")

	if after := e.stored(alice); after != before {
		t.Fatalf("alice's links changed:\n%s\n%s", before, after)
	}
	if s := e.stored(bob); s != "[]" {
		t.Fatalf("bob has links: %s", s)
	}
	if v, _ := e.view(id, bobTok); len(v.Messages) != 4 {
		t.Fatalf("alice's link: %v", v.texts())
	}
}

func TestPermissions(t *testing.T) {
	e := newEnv(t)
	alice, aliceTok := e.newUser("alice")
	_, bobTok := e.newUser("bob")
	branching(e, alice, "c-alice")
	branching(e, alice, "c-two")
	id := e.create(aliceTok, "c-alice", "")

	e.permissions(false, true)
	before := e.stored(alice)
	errorBody(t, e.do("POST", "/api/share/c-two", aliceTok, ""), 403, "Forbidden: Insufficient permissions")
	errorBody(t, e.do("PATCH", "/api/share/"+id, aliceTok, ""), 403, "Forbidden: Insufficient permissions")
	if after := e.stored(alice); after != before {
		t.Fatal("a forbidden request changed the links")
	}
	// Deleting stays open to the owner.
	if res := e.do("DELETE", "/api/share/"+id, aliceTok, ""); res.status != 200 {
		t.Fatalf("delete: %s", res)
	}

	// Without SHARE_PUBLIC a link is for its owner only.
	e.permissions(true, false)
	private := e.create(aliceTok, "c-two", "")
	errorBody(t, e.do("GET", "/api/share/"+private, "", ""), 401, "Authentication required")
	errorBody(t, e.do("GET", "/api/share/"+private+"/config", "", ""), 401, "Authentication required")
	errorBody(t, e.do("GET", "/api/share/"+private, bobTok, ""), 403, "You do not have permission to view this shared link")
	if v, _ := e.view(private, aliceTok); len(v.Messages) != 6 {
		t.Fatalf("owner view: %v", v.texts())
	}
}

func TestConfig(t *testing.T) {
	yaml := "version: 1.2.1\ninterface:\n  privacyPolicy:\n    externalUrl: https://example.com/privacy\n    openNewTab: true\n  customWelcome: hi\n"
	e := newEnvWith(t, func(c *config.Config) {
		c.AppTitle = "Team Chat"
		f, err := config.ParseFile("librechat.yaml", []byte(yaml), func(string) (string, bool) { return "", false })
		if err != nil {
			t.Fatal(err)
		}
		c.File = *f
	}, nil)
	alice, tok := e.newUser("alice")
	branching(e, alice, "c-alice")
	id := e.create(tok, "c-alice", "")
	res := e.do("GET", "/api/share/"+id+"/config", "", "")
	if res.status != 200 || string(res.body) != `{"appTitle":"Team Chat","interface":{"privacyPolicy":{"externalUrl":"https://example.com/privacy","openNewTab":true}}}` {
		t.Fatalf("config: %s", res)
	}
	if res.header.Get("Cache-Control") != "private, no-store" {
		t.Errorf("Cache-Control %q", res.header.Get("Cache-Control"))
	}
	errorBody(t, e.do("GET", "/api/share/nope/config", "", ""), 404, "Shared link not found")
}

func TestRoutes(t *testing.T) {
	e := newEnv(t)
	_, tok := e.newUser("alice")
	for _, c := range []struct{ method, path string }{
		{"GET", "/api/share"}, {"GET", "/api/share/link/c1"}, {"POST", "/api/share/c1"},
		{"PATCH", "/api/share/s1"}, {"DELETE", "/api/share/s1"},
	} {
		if res := e.do(c.method, c.path, "", ""); res.status != 401 {
			t.Errorf("%s %s without a token: %s", c.method, c.path, res)
		}
	}
	for _, c := range []struct{ method, path, msg string }{
		{"GET", "/api/share/a/b", "Endpoint not found"},
		{"GET", "/api/share/a/b/c", "Endpoint not found"},
		{"PUT", "/api/share/a", "Endpoint not found"},
		{"POST", "/api/share", "Endpoint not found"},
		{"GET", "/api/share/unknown", "Shared link not found"},
		{"GET", "/api/share/link", "Shared link not found"},
	} {
		errorBody(t, e.do(c.method, c.path, tok, ""), 404, c.msg)
	}
}

func TestListPaging(t *testing.T) {
	e := newEnv(t)
	alice, tok := e.newUser("alice")
	var ids []string
	for _, title := range []string{"Banana", "Apple", "Cherry"} {
		c := e.convo(alice, "c-"+title, title)
		e.messages(c, msg{id: title + "-1", text: title, byUser: true})
		ids = append(ids, e.create(tok, c.ID, ""))
	}
	type page struct {
		Links []struct {
			ShareID string `json:"shareId"`
			Title   string `json:"title"`
		} `json:"links"`
		NextCursor  *string `json:"nextCursor"`
		HasNextPage bool    `json:"hasNextPage"`
	}
	get := func(query string) page {
		t.Helper()
		res := e.do("GET", "/api/share"+query, tok, "")
		if res.status != 200 {
			t.Fatalf("list %s: %s", query, res)
		}
		var p page
		if err := json.Unmarshal(res.body, &p); err != nil {
			t.Fatal(err)
		}
		return p
	}
	titles := func(p page) []string {
		var out []string
		for _, l := range p.Links {
			out = append(out, l.Title)
		}
		return out
	}

	p := get("?pageSize=2")
	if !slices.Equal(titles(p), []string{"Cherry", "Apple"}) || !p.HasNextPage || p.NextCursor == nil {
		t.Fatalf("page 1: %+v", p)
	}
	p2 := get("?pageSize=2&cursor=" + *p.NextCursor)
	if !slices.Equal(titles(p2), []string{"Banana"}) || p2.HasNextPage || p2.NextCursor != nil {
		t.Fatalf("page 2: %+v", p2)
	}
	errorBody(t, e.do("GET", "/api/share?sortBy=title&cursor="+*p.NextCursor, tok, ""), 400, "cursor is not valid for this sort")
	errorBody(t, e.do("GET", "/api/share?cursor=garbage", tok, ""), 400, "cursor is not valid for this sort")
	errorBody(t, e.do("GET", "/api/share?search="+strings.Repeat("x", 257), tok, ""), 400, "search must be 256 characters or fewer")

	if got := titles(get("?sortBy=title&sortDirection=asc")); !slices.Equal(got, []string{"Apple", "Banana", "Cherry"}) {
		t.Fatalf("by title: %v", got)
	}
	p = get("?sortBy=title&sortDirection=asc&pageSize=1")
	p = get("?sortBy=title&sortDirection=asc&pageSize=1&cursor=" + *p.NextCursor)
	if got := titles(p); !slices.Equal(got, []string{"Banana"}) {
		t.Fatalf("by title, page 2: %v", got)
	}
	if got := titles(get("?sortDirection=asc")); !slices.Equal(got, []string{"Banana", "Apple", "Cherry"}) {
		t.Fatalf("oldest first: %v", got)
	}
	if got := titles(get("?search=%20AN%20")); !slices.Equal(got, []string{"Banana"}) {
		t.Fatalf("search: %v", got)
	}
	if got := titles(get("?pageSize=-3")); len(got) != 1 {
		t.Fatalf("pageSize -3: %v", got)
	}
	if got := titles(get("?pageSize=0&sortBy=nonsense&sortDirection=sideways")); len(got) != 3 || got[0] != "Cherry" {
		t.Fatalf("defaults: %v", got)
	}
}

func TestGoneConversationHidesLink(t *testing.T) {
	e := newEnv(t)
	alice, tok := e.newUser("alice")
	branching(e, alice, "c-alice")
	id := e.create(tok, "c-alice", "")
	if _, err := e.a.Store.DeleteConversation(context.Background(), alice.ID, "c-alice"); err != nil {
		t.Fatal(err)
	}
	errorBody(t, e.do("GET", "/api/share/"+id, "", ""), 404, "Shared link not found")

	temp := e.convo(alice, "c-temp", "Temporary")
	temp.IsTemporary, temp.ExpiredAt = true, e.clock.Now().Add(time.Hour)
	if err := e.a.Store.PutConversation(context.Background(), temp); err != nil {
		t.Fatal(err)
	}
	e.messages(temp, msg{id: "tmp-1", text: "short-lived", byUser: true})
	tempID := e.create(tok, "c-temp", "")
	if v, _ := e.view(tempID, ""); len(v.Messages) != 1 {
		t.Fatalf("temporary: %v", v.texts())
	}
	e.clock.Advance(2 * time.Hour)
	errorBody(t, e.do("GET", "/api/share/"+tempID, "", ""), 404, "Shared link not found")
	errorBody(t, e.do("PATCH", "/api/share/"+tempID, tok, ""), 404, "Conversation not found or access denied")
}

// failingPuts fails the next `failures` PutShare calls.
type failingPuts struct {
	librechat.Store
	failures int
}

func (f *failingPuts) PutShare(ctx context.Context, sl *librechat.SharedLink) error {
	if f.failures > 0 {
		f.failures--
		return errors.New("disk full")
	}
	return f.Store.PutShare(ctx, sl)
}

func TestFailedRefreshKeepsTheOldLink(t *testing.T) {
	var fs *failingPuts
	e := newEnvWith(t, nil, func(s librechat.Store) librechat.Store {
		fs = &failingPuts{Store: s}
		return fs
	})
	alice, tok := e.newUser("alice")
	branching(e, alice, "c-alice")
	branching(e, alice, "c-two")
	id := e.create(tok, "c-alice", `{"targetMessageId":"c-alice-m2"}`)
	before := e.stored(alice)

	fs.failures = 1
	res := e.do("PATCH", "/api/share/"+id, tok, `{"targetMessageId":"c-alice-m4"}`)
	if res.status != http.StatusInternalServerError || strings.Contains(string(res.body), "disk full") {
		t.Fatalf("update: %s", res)
	}
	fs.failures = 1
	if res := e.do("POST", "/api/share/c-two", tok, ""); res.status != http.StatusInternalServerError {
		t.Fatalf("create: %s", res)
	}
	if after := e.stored(alice); after != before {
		t.Fatalf("links changed:\n%s\n%s", before, after)
	}
	if v, _ := e.view(id, ""); len(v.Messages) != 2 {
		t.Fatalf("old link: %v", v.texts())
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

type linkList struct {
	Links []struct {
		ShareID string `json:"shareId"`
		Title   string `json:"title"`
	} `json:"links"`
	NextCursor  *string `json:"nextCursor"`
	HasNextPage bool    `json:"hasNextPage"`
}

func (e *testEnv) links(token, query string) linkList {
	e.t.Helper()
	res := e.do("GET", "/api/share"+query, token, "")
	if res.status != 200 {
		e.t.Fatalf("list %s: %s", query, res)
	}
	var p linkList
	if err := json.Unmarshal(res.body, &p); err != nil {
		e.t.Fatal(err)
	}
	return p
}

// Paging with the signed cursors lists each link exactly once, in every
// order.
func TestListCursorPagesEveryLinkOnce(t *testing.T) {
	e := newEnv(t)
	alice, tok := e.newUser("alice")
	want := map[string]bool{}
	for i := range 7 {
		c := e.convo(alice, fmt.Sprint("c-", i), fmt.Sprint("Title ", 6-i))
		e.messages(c, msg{id: fmt.Sprint("m-", i), text: "hi", byUser: true})
		want[e.create(tok, c.ID, "")] = true
		e.clock.Advance(time.Second)
	}
	for _, base := range []string{"?pageSize=3", "?pageSize=2&sortDirection=asc", "?pageSize=3&sortBy=title&sortDirection=asc"} {
		seen := map[string]bool{}
		query := base
		for pages := 0; ; pages++ {
			if pages > 7 {
				t.Fatalf("%s: paging does not end", base)
			}
			p := e.links(tok, query)
			for _, l := range p.Links {
				if seen[l.ShareID] {
					t.Fatalf("%s: %s twice", base, l.ShareID)
				}
				seen[l.ShareID] = true
			}
			if p.NextCursor == nil {
				break
			}
			query = base + "&cursor=" + *p.NextCursor
		}
		if len(seen) != len(want) {
			t.Fatalf("%s: %d links, want %d", base, len(seen), len(want))
		}
	}
}

// A cursor is only good for the user it was given to, unaltered; anything
// else is 400 with the list's cursor error, never another position.
func TestListCursorRefused(t *testing.T) {
	e := newEnv(t)
	alice, aliceTok := e.newUser("alice")
	bob, bobTok := e.newUser("bob")
	for i := range 3 {
		c := e.convo(alice, fmt.Sprint("alice-", i), fmt.Sprint("Alice private ", i))
		e.messages(c, msg{id: fmt.Sprint("am-", i), text: "hi", byUser: true})
		e.create(aliceTok, c.ID, "")
		e.clock.Advance(time.Second)
	}
	// Bob's links are older than Alice's cursor: were it read for him, he
	// would get a page of them.
	e.clock.Advance(-time.Hour)
	for i := range 3 {
		c := e.convo(bob, fmt.Sprint("bob-", i), fmt.Sprint("Bob ", i))
		e.messages(c, msg{id: fmt.Sprint("bm-", i), text: "hi", byUser: true})
		e.create(bobTok, c.ID, "")
	}
	p := e.links(aliceTok, "?pageSize=1")
	if p.NextCursor == nil {
		t.Fatal("no cursor")
	}
	cursor := *p.NextCursor
	if got := e.links(aliceTok, "?pageSize=1&cursor="+cursor); len(got.Links) != 1 {
		t.Fatalf("alice's own cursor: %+v", got)
	}
	for _, b := range []struct{ what, token, cursor string }{
		{"another user's cursor", bobTok, cursor},
		{"a flipped character", aliceTok, flipMAC(t, cursor)},
		{"an unsigned cursor", aliceTok, unsigned(t, cursor)},
	} {
		res := e.do("GET", "/api/share?pageSize=1&cursor="+b.cursor, b.token, "")
		errorBody(t, res, 400, "cursor is not valid for this sort")
		if strings.Contains(string(res.body), "Alice") || strings.Contains(string(res.body), alice.ID) || strings.Contains(string(res.body), bob.ID) {
			t.Errorf("%s: the answer shows a user's data: %s", b.what, res)
		}
	}
}
