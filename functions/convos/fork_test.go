package convos_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/lcgo/lcgo/shared/librechat"
)

// branched stores this tree (creation order r, a, b, c, d, c2, b2, e, f,
// a2, g, r2, h):
//
//	r ─ a ─ b ─ c ─ d        r2 ─ h
//	    │   └── c2
//	    └── b2 ─ e ─ f
//	a2 (child of r) ─ g
func branched(e *testEnv, u *librechat.User) *librechat.Conversation {
	c := e.putConvo(u, convoSpec{
		title: "Tree", model: "fake-gpt-1", tags: []string{"keep"},
		fields:  map[string]string{"temperature": "0.3"},
		created: "2026-11-20T10:00:00Z",
	})
	e.putMsgs(c,
		msgSpec{id: "r", byUser: true}, msgSpec{id: "a", parent: "r"}, msgSpec{id: "b", parent: "a", byUser: true},
		msgSpec{id: "c", parent: "b"}, msgSpec{id: "d", parent: "c", byUser: true}, msgSpec{id: "c2", parent: "b"},
		msgSpec{id: "b2", parent: "a", byUser: true}, msgSpec{id: "e", parent: "b2"}, msgSpec{id: "f", parent: "e", byUser: true},
		msgSpec{id: "a2", parent: "r"}, msgSpec{id: "g", parent: "a2", byUser: true},
		msgSpec{id: "r2", byUser: true}, msgSpec{id: "h", parent: "r2"},
	)
	return c
}

var treeParents = map[string]string{
	"r": "", "a": "r", "b": "a", "c": "b", "d": "c", "c2": "b", "b2": "a", "e": "b2", "f": "e",
	"a2": "r", "g": "a2", "r2": "", "h": "r2",
}

// checkCopy asserts the copied messages are exactly want (by original id),
// with fresh ids in the new conversation, parents remapped (roots listed
// in roots), and each created after its parent.
func checkCopy(t *testing.T, orig *librechat.Conversation, res result, want, roots []string) convoResponse {
	t.Helper()
	var cr convoResponse
	res.decode(t, &cr)
	if cr.Conversation.ConversationID == "" || cr.Conversation.ConversationID == orig.ID {
		t.Fatalf("conversation id %q", cr.Conversation.ConversationID)
	}
	origOf := map[string]string{}
	byNew := map[string]messageDoc{}
	var got []string
	for _, m := range cr.Messages {
		o := strings.TrimPrefix(m.Text, "text of ")
		origOf[m.MessageID] = o
		byNew[m.MessageID] = m
		got = append(got, o)
		if m.ConversationID != cr.Conversation.ConversationID {
			t.Fatalf("message %s in %s", o, m.ConversationID)
		}
		if _, ok := treeParents[m.MessageID]; ok {
			t.Fatalf("message id %s was not replaced", m.MessageID)
		}
	}
	slices.Sort(got)
	w := slices.Sorted(slices.Values(want))
	if !slices.Equal(got, w) {
		t.Fatalf("copied %v, want %v", got, w)
	}
	for _, m := range cr.Messages {
		o := origOf[m.MessageID]
		if slices.Contains(roots, o) {
			if m.ParentMessageID != librechat.NoParent {
				t.Fatalf("%s should be a root, parent %s", o, m.ParentMessageID)
			}
			continue
		}
		p, ok := byNew[m.ParentMessageID]
		if !ok || origOf[p.MessageID] != treeParents[o] {
			t.Fatalf("%s: parent %q (orig %q), want orig %q", o, m.ParentMessageID, origOf[m.ParentMessageID], treeParents[o])
		}
		if m.CreatedAt <= p.CreatedAt {
			t.Fatalf("%s created %s, not after parent %s", o, m.CreatedAt, p.CreatedAt)
		}
	}
	if len(cr.Conversation.Messages) != len(cr.Messages) {
		t.Fatalf("conversation lists %d message ids for %d messages", len(cr.Conversation.Messages), len(cr.Messages))
	}
	return cr
}

func TestForkOptions(t *testing.T) {
	e := newEnv(t)
	alice, tok := e.newUser("")
	c := branched(e, alice)
	cases := []struct {
		name, body  string
		want, roots []string
	}{
		{"direct path", `"messageId":"c","option":"directPath"`, []string{"r", "a", "b", "c"}, []string{"r"}},
		{"include branches", `"messageId":"c","option":"includeBranches"`,
			[]string{"r", "a", "b", "c", "c2", "b2", "a2"}, []string{"r"}},
		{"target level", `"messageId":"c","option":"targetLevel"`,
			[]string{"r", "r2", "a", "a2", "h", "b", "b2", "g", "c", "c2", "e"}, []string{"r", "r2"}},
		{"empty option", `"messageId":"c","option":""`,
			[]string{"r", "r2", "a", "a2", "h", "b", "b2", "g", "c", "c2", "e"}, []string{"r", "r2"}},
		{"no option", `"messageId":"b"`, []string{"r", "r2", "a", "a2", "h", "b", "b2", "g"}, []string{"r", "r2"}},
		{"root target", `"messageId":"r2","option":"targetLevel"`, []string{"r", "r2"}, []string{"r", "r2"}},
		{"leaf direct path", `"messageId":"f","option":"directPath"`, []string{"r", "a", "b2", "e", "f"}, []string{"r"}},
		{"split, target level", `"messageId":"c","splitAtTarget":true,"latestMessageId":"f"`,
			[]string{"c", "c2", "e", "d", "f"}, []string{"c", "c2", "e"}},
		{"split, direct path", `"messageId":"c","option":"directPath","splitAtTarget":true,"latestMessageId":"f"`,
			[]string{"e", "f"}, []string{"e"}},
		{"split, include branches", `"messageId":"c","option":"includeBranches","splitAtTarget":true,"latestMessageId":"d"`,
			[]string{"c", "d"}, []string{"c"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := e.do("POST", "/api/convos/fork", tok, `{"conversationId":"`+c.ID+`",`+tc.body+`}`)
			if res.status != 200 {
				t.Fatal(res)
			}
			cr := checkCopy(t, c, res, tc.want, tc.roots)
			if cr.Conversation.Title != "Tree" || cr.Conversation.User != alice.ID || cr.Conversation.Model != "fake-gpt-1" ||
				!slices.Equal(cr.Conversation.Tags, []string{"keep"}) || res.object(t)["conversation"].(map[string]any)["temperature"] != 0.3 {
				t.Fatalf("conversation %+v", cr.Conversation)
			}
			stored := e.convo(alice, cr.Conversation.ConversationID)
			if len(e.messages(alice, stored.ID)) != len(tc.want) {
				t.Fatal("stored messages differ from the answer")
			}
		})
	}
	if n := len(e.messages(alice, c.ID)); n != 13 {
		t.Fatalf("original lost messages: %d", n)
	}
}

func TestForkErrors(t *testing.T) {
	e := newEnv(t)
	alice, aliceTok := e.newUser("")
	bob, bobTok := e.newUser("")
	c := branched(e, alice)
	before, bobBefore := e.snapshot(alice), e.snapshot(bob)
	cases := []struct {
		tok, body string
		status    int
		msg       string
	}{
		{bobTok, `{"conversationId":"` + c.ID + `","messageId":"c"}`, 404, "Conversation not found"},
		{aliceTok, `{"conversationId":"nope","messageId":"c"}`, 404, "Conversation not found"},
		{aliceTok, `{"conversationId":"` + c.ID + `","messageId":"zzz"}`, 404, "Message not found"},
		{aliceTok, `{"conversationId":"` + c.ID + `","messageId":"c","splitAtTarget":true,"latestMessageId":"a"}`, 404, "Message not found"},
		{aliceTok, `{"conversationId":"` + c.ID + `","messageId":"c","splitAtTarget":true}`, 400,
			"Latest `messageId` is required for forking from target message."},
		{aliceTok, `{"conversationId":"` + c.ID + `","messageId":"c","option":"sideways"}`, 400, "Invalid fork option"},
		{aliceTok, `{"conversationId":"` + c.ID + `","messageId":"c","option":3}`, 400, "option must be a string"},
		{aliceTok, `{"conversationId":"` + c.ID + `"}`, 400, "messageId is required"},
		{aliceTok, `{"messageId":"c"}`, 400, "conversationId is required"},
		{aliceTok, `{"conversationId":"` + c.ID + `","messageId":"c","latestMessageId":{}}`, 400, "latestMessageId must be a string"},
		{aliceTok, `[]`, 400, "Request body must be a JSON object"},
	}
	for _, tc := range cases {
		errorBody(t, e.do("POST", "/api/convos/fork", tc.tok, tc.body), tc.status, "error", tc.msg)
	}
	if e.snapshot(alice) != before || e.snapshot(bob) != bobBefore {
		t.Fatal("a failed fork changed stored data")
	}
}

func TestDuplicate(t *testing.T) {
	e := newEnv(t)
	alice, aliceTok := e.newUser("")
	bob, bobTok := e.newUser("")

	// A linear chat is copied whole.
	lin := e.putConvo(alice, convoSpec{title: "Line", created: "2026-11-20T10:00:00Z"})
	e.putMsgs(lin, msgSpec{id: "r", byUser: true}, msgSpec{id: "a", parent: "r"}, msgSpec{id: "b", parent: "a", byUser: true})
	res := e.do("POST", "/api/convos/duplicate", aliceTok, `{"conversationId":"`+lin.ID+`"}`)
	if res.status != 201 {
		t.Fatal(res)
	}
	cr := checkCopy(t, lin, res, []string{"r", "a", "b"}, []string{"r"})
	if cr.Conversation.Title != "Line" {
		t.Fatalf("title %q", cr.Conversation.Title)
	}

	// LibreChat copies every level down to the depth of the latest message.
	tree := branched(e, alice)
	res = e.do("POST", "/api/convos/duplicate", aliceTok, `{"conversationId":"`+tree.ID+`","title":"Copy of tree"}`)
	if res.status != 201 {
		t.Fatal(res)
	}
	cr = checkCopy(t, tree, res, []string{"r", "r2", "a", "a2", "h"}, []string{"r", "r2"})
	if cr.Conversation.Title != "Copy of tree" {
		t.Fatalf("title %q", cr.Conversation.Title)
	}

	// No messages: an empty copy.
	empty := e.putConvo(alice, convoSpec{title: "Empty"})
	res = e.do("POST", "/api/convos/duplicate", aliceTok, `{"conversationId":"`+empty.ID+`"}`)
	if res.status != 201 || len(checkCopy(t, empty, res, nil, nil).Messages) != 0 {
		t.Fatal(res)
	}

	before, bobBefore := e.snapshot(alice), e.snapshot(bob)
	errorBody(t, e.do("POST", "/api/convos/duplicate", bobTok, `{"conversationId":"`+lin.ID+`"}`), 404, "error", "Conversation not found")
	errorBody(t, e.do("POST", "/api/convos/duplicate", aliceTok, `{}`), 400, "error", "conversationId is required")
	errorBody(t, e.do("POST", "/api/convos/duplicate", aliceTok, `{"conversationId":"`+lin.ID+`","title":1}`), 400, "error", "title must be a string")
	if e.snapshot(alice) != before || e.snapshot(bob) != bobBefore {
		t.Fatal("a failed duplicate changed stored data")
	}
}
