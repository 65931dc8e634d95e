package messages_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/lcgo/lcgo/shared/librechat"
)

const (
	artifactOne = ":::artifact{identifier=\"page\" type=\"text/html\" title=\"Page\"}\n```html\n<p>old</p>\n```\n:::"
	artifactTwo = ":::artifact{identifier=\"calc\" type=\"application/vnd.react\" title=\"Calc\"}\n```jsx\nconst price = 5;\n```\n:::"
)

func TestEditArtifact(t *testing.T) {
	e := newEnv(t)
	alice, bob := e.newUser("alice"), e.newUser("bob")
	e.conversation(alice, convA, "A")
	str := func(s string) string { b, _ := json.Marshal(s); return string(b) }
	parts := `[{"type":"think","think":` + str(artifactOne) + `},` +
		`{"type":"text","text":` + str("First:\n"+artifactOne+"\nthen") + `},` +
		`{"type":"text","text":` + str("Second:\n"+artifactTwo+"\n") + `,"tool_call_ids":["c1"]}]`
	legacy := &librechat.Message{
		ID: "legacy", ConversationID: convA, ParentID: "u1", Sender: "GPT-4o",
		Text: "Text only:\n" + artifactTwo, Endpoint: "openAI",
	}
	e.put(alice,
		textMessage(convA, "u1", librechat.NoParent, "make a page"),
		reply(convA, "r1", "u1", parts),
		legacy,
		reply(convA, "none", "u1", `[{"type":"text","text":"no artifacts here"}]`),
	)

	// The second artifact is in the third part; the client sends the code
	// with the dollar escaped and a trailing newline.
	r := e.do("POST", "/api/messages/artifact/r1", alice.token,
		`{"index":1,"original":"const price = 5;\n","updated":"const price = \\$6;\n"}`)
	if r.status != 200 {
		t.Fatalf("edit: %v", r)
	}
	sameKeys(t, "answer", r.body, "conversationId", "content", "text")
	var got struct {
		ConversationID string `json:"conversationId"`
		Content        []map[string]any
		Text           string
	}
	if err := json.Unmarshal(r.body, &got); err != nil {
		t.Fatal(err)
	}
	wantPart := "Second:\n" + strings.Replace(artifactTwo, "const price = 5;", "const price = $6;", 1) + "\n"
	if got.ConversationID != convA || len(got.Content) != 3 || got.Content[2]["text"] != wantPart || got.Text != "" {
		t.Errorf("answer: %s", r.body)
	}
	m := e.stored(alice, convA, "r1")
	var stored []json.RawMessage
	json.Unmarshal(m.Content, &stored)
	if !strings.HasPrefix(string(stored[2]), `{"type":"text","text":`) || !strings.HasSuffix(string(stored[2]), `,"tool_call_ids":["c1"]}`) ||
		!strings.Contains(string(stored[2]), `const price = $6;`) || m.ParentID != "u1" {
		t.Errorf("stored: %s", m.Content)
	}
	// Think parts hold no artifacts: index 0 is the text part's.
	r = e.do("POST", "/api/messages/artifact/r1", alice.token, `{"index":0,"original":"<p>old</p>","updated":"<p>new</p>"}`)
	if r.status != 200 || !strings.Contains(string(e.stored(alice, convA, "r1").Content), `First:\n:::artifact{identifier=\"page\" type=\"text/html\" title=\"Page\"}\n`+"```"+`html\n<p>new</p>\n`) {
		t.Errorf("first artifact: %v", r)
	}

	// Without content the text is edited.
	r = e.do("POST", "/api/messages/artifact/legacy", alice.token, `{"index":0,"original":"const price = 5;","updated":"let x = 1;"}`)
	if r.status != 200 {
		t.Fatalf("text edit: %v", r)
	}
	sameKeys(t, "text answer", r.body, "conversationId", "text")
	if m := e.stored(alice, convA, "legacy"); m.Text != "Text only:\n"+strings.Replace(artifactTwo, "const price = 5;", "let x = 1;", 1) {
		t.Errorf("text: %q", m.Text)
	}

	before := e.snapshot(alice, convA)
	const path = "/api/messages/artifact/r1"
	for _, tc := range []call{
		{"negative", path, alice.token, `{"index":-1,"original":"a","updated":"b"}`, 400, `{"error":"Invalid request parameters"}`},
		{"string index", path, alice.token, `{"index":"0","original":"a","updated":"b"}`, 400, `{"error":"Invalid request parameters"}`},
		{"fraction", path, alice.token, `{"index":0.5,"original":"a","updated":"b"}`, 400, `{"error":"Invalid request parameters"}`},
		{"no original", path, alice.token, `{"index":0,"updated":"b"}`, 400, `{"error":"Invalid request parameters"}`},
		{"null updated", path, alice.token, `{"index":0,"original":"a","updated":null}`, 400, `{"error":"Invalid request parameters"}`},
		{"number original", path, alice.token, `{"index":0,"original":5,"updated":"b"}`, 400, `{"error":"Invalid request parameters"}`},
		{"unknown", "/api/messages/artifact/zz", alice.token, `{"index":0,"original":"a","updated":"b"}`, 404, `{"error":"Message not found"}`},
		{"bob", path, bob.token, `{"index":0,"original":"<p>new</p>","updated":"<p>bob</p>"}`, 404, `{"error":"Message not found"}`},
		{"out of bounds", path, alice.token, `{"index":2,"original":"a","updated":"b"}`, 400, `{"error":"Artifact index out of bounds"}`},
		{"no artifacts", "/api/messages/artifact/none", alice.token, `{"index":0,"original":"a","updated":"b"}`, 400, `{"error":"Artifact index out of bounds"}`},
		{"not found", path, alice.token, `{"index":0,"original":"<p>gone</p>","updated":"b"}`, 400, `{"error":"Original content not found in target artifact"}`},
		{"malformed", path, alice.token, `{"index":`, 400, ""},
	} {
		expect(t, tc.what, e.do("POST", tc.path, tc.token, tc.body), tc.status, tc.want)
	}
	if after := e.snapshot(alice, convA); after != before {
		t.Errorf("failed requests changed messages:\n%s\n%s", before, after)
	}
}
