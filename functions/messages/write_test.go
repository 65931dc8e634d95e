package messages_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/lcgo/lcgo/functions/messages"
	"github.com/lcgo/lcgo/shared/config"
	"github.com/lcgo/lcgo/shared/librechat"
)

func TestCreateMessage(t *testing.T) {
	e := newEnv(t)
	alice, bob := e.newUser("alice"), e.newUser("bob")
	conv := e.conversation(alice, convA, "A")
	e.put(alice, textMessage(convA, "u1", librechat.NoParent, "hi"))
	path := "/api/messages/" + convA

	body := `{"messageId":"r1","parentMessageId":"u1","conversationId":"` + convA + `","sender":"GPT-4o",
		"text":"","content":[{"type":"text","text":"hello"}],"isCreatedByUser":false,"endpoint":"anthropic",
		"model":"claude","iconURL":"/x.png","tokenCount":7,"user":"someone","_id":"x","createdAt":"2001-01-01T00:00:00.000Z"}`
	r := e.do("POST", path, alice.token, body)
	if r.status != 201 {
		t.Fatalf("create: %v", r)
	}
	got := decodeJSON[map[string]any](t, r)
	if got["messageId"] != "r1" || got["parentMessageId"] != "u1" || got["model"] != "claude" || got["iconURL"] != "/x.png" ||
		got["tokenCount"] != 7.0 || got["createdAt"] == "2001-01-01T00:00:00.000Z" || got["user"] != nil || got["_id"] != nil {
		t.Errorf("created: %s", r.body)
	}
	m := e.stored(alice, convA, "r1")
	if m == nil || m.UserID != alice.u.ID || m.ParentID != "u1" || string(m.Content) != `[{"type":"text","text":"hello"}]` {
		t.Fatalf("stored: %+v", m)
	}
	c, err := e.a.Store.Conversation(context.Background(), alice.u.ID, convA)
	if err != nil {
		t.Fatal(err)
	}
	if c.Endpoint != "anthropic" || c.Model != "claude" || string(c.Fields["iconURL"]) != `"/x.png"` || !c.UpdatedAt.After(conv.UpdatedAt) {
		t.Errorf("conversation: %+v", c)
	}

	// Posting the same id again updates the given keys only.
	e.clock.Advance(time.Second)
	r = e.do("POST", path, alice.token, `{"messageId":"r1","text":"edited","unfinished":true}`)
	if r.status != 201 {
		t.Fatalf("update: %v", r)
	}
	m2 := e.stored(alice, convA, "r1")
	if m2.Text != "edited" || !m2.Unfinished || m2.ParentID != "u1" || m2.Model != "claude" ||
		!m2.CreatedAt.Equal(m.CreatedAt) || !m2.UpdatedAt.After(m.UpdatedAt) || string(m2.Fields["iconURL"]) != `"/x.png"` {
		t.Errorf("merged: %+v", m2)
	}

	// A new message without a parent is a root.
	r = e.do("POST", path, alice.token, `{"messageId":"root2","text":"x","isCreatedByUser":true,"isTemporary":true}`)
	if r.status != 201 || e.stored(alice, convA, "root2").ParentID != librechat.NoParent {
		t.Errorf("root: %v", r)
	}
	if m := e.stored(alice, convA, "root2"); !m.IsTemporary || !m.ExpiredAt.Equal(e.clock.Now().Add(30*24*time.Hour).Truncate(time.Millisecond)) {
		t.Errorf("temporary: %+v", m)
	}

	before := e.snapshot(alice, convA)
	for _, tc := range []call{
		{"bob", path, bob.token, `{"messageId":"b1","text":"x"}`, 404, `{"error":"Conversation not found"}`},
		{"unknown conversation", "/api/messages/" + convB, alice.token, `{"messageId":"b1"}`, 404, `{"error":"Conversation not found"}`},
		{"new", "/api/messages/new", alice.token, `{"messageId":"b1"}`, 200, `[]`},
		{"mismatch", path, alice.token, `{"messageId":"b1","conversationId":"` + convB + `"}`, 400, `{"error":"Conversation ID mismatch"}`},
		{"nested mismatch", path, alice.token, `{"messageId":"b1","message":{"conversationId":"other"}}`, 400, `{"error":"Conversation ID mismatch"}`},
		{"numeric conversation id", path, alice.token, `{"messageId":"b1","conversationId":5}`, 400, `{"error":"Conversation ID mismatch"}`},
		{"no id", path, alice.token, `{"text":"x"}`, 400, `{"error":"Message not saved"}`},
		{"empty id", path, alice.token, `{"messageId":""}`, 400, `{"error":"Message not saved"}`},
		{"numeric id", path, alice.token, `{"messageId":5}`, 400, `{"error":"Message not saved"}`},
		{"text object", path, alice.token, `{"messageId":"b1","text":{}}`, 400, `{"error":"Message not saved"}`},
		{"bool string", path, alice.token, `{"messageId":"b1","isCreatedByUser":"yes"}`, 400, `{"error":"Message not saved"}`},
		{"content object", path, alice.token, `{"messageId":"b1","content":{"type":"text"}}`, 400, `{"error":"Message not saved"}`},
		{"token string", path, alice.token, `{"messageId":"b1","tokenCount":"5"}`, 400, `{"error":"Message not saved"}`},
		{"malformed", path, alice.token, `{"messageId":`, 400, ""},
		{"array body", path, alice.token, `[1]`, 400, ""},
	} {
		expect(t, tc.what, e.do("POST", tc.path, tc.token, tc.body), tc.status, tc.want)
	}
	if after := e.snapshot(alice, convA); after != before {
		t.Errorf("failed requests changed messages:\n%s\n%s", before, after)
	}
	if n, _ := e.a.Store.Messages(context.Background(), bob.u.ID, convA); len(n) != 0 {
		t.Errorf("bob stored %d messages", len(n))
	}
}

func TestEditText(t *testing.T) {
	e := newEnv(t, messages.WithTokenCounter(func(text, _ string) int { return len(strings.Fields(text)) }))
	alice, bob := e.newUser("alice"), e.newUser("bob")
	e.conversation(alice, convA, "A")
	e.put(alice,
		textMessage(convA, "u1", librechat.NoParent, "hello there"),
		reply(convA, "r1", "u1", `[{"type":"text","text":"answer"}]`),
	)
	path := "/api/messages/" + convA + "/u1"

	r := e.do("PUT", path, alice.token, `{"text":"three new words"}`)
	expect(t, "edit", r, 200,
		`{"messageId":"u1","conversationId":"`+convA+`","parentMessageId":"00000000-0000-0000-0000-000000000000","sender":"User","text":"three new words","isCreatedByUser":true,"tokenCount":3}`)
	if m := e.stored(alice, convA, "u1"); m.Text != "three new words" || m.TokenCount != 3 || m.ParentID != librechat.NoParent {
		t.Errorf("stored: %+v", m)
	}

	// A response's text is set; its content stays.
	r = e.do("PUT", "/api/messages/"+convA+"/r1", alice.token, `{"text":"plain"}`)
	if r.status != 200 {
		t.Fatalf("response edit: %v", r)
	}
	if m := e.stored(alice, convA, "r1"); m.Text != "plain" || string(m.Content) != `[{"type":"text","text":"answer"}]` || m.ParentID != "u1" {
		t.Errorf("stored: %+v", m)
	}

	before := e.snapshot(alice, convA)
	for _, tc := range []call{
		{"bob", path, bob.token, `{"text":"x"}`, 404, `{"error":"Conversation not found"}`},
		{"missing message", "/api/messages/" + convA + "/zz", alice.token, `{"text":"x"}`, 404, `{"error":"Message not found"}`},
		{"new", "/api/messages/new/u1", alice.token, `{"text":"x"}`, 200, `[]`},
		{"no text", path, alice.token, `{}`, 400, `{"error":"Invalid text"}`},
		{"text number", path, alice.token, `{"text":5}`, 400, `{"error":"Invalid text"}`},
		{"mismatch", path, alice.token, `{"text":"x","conversationId":"` + convB + `"}`, 400, `{"error":"Conversation ID mismatch"}`},
		{"malformed", path, alice.token, `{"text":`, 400, ""},
		{"wrong content type", path, alice.token, "", 415, ""},
	} {
		req := e.do("PUT", tc.path, tc.token, tc.body)
		if tc.status == 415 {
			req = e.send("PUT", tc.path, tc.token, "text/plain", `{"text":"x"}`)
		}
		expect(t, tc.what, req, tc.status, tc.want)
	}
	if after := e.snapshot(alice, convA); after != before {
		t.Errorf("failed requests changed messages:\n%s\n%s", before, after)
	}
}

func TestEditContentPart(t *testing.T) {
	e := newEnv(t, messages.WithTokenCounter(func(text, _ string) int { return len(strings.Fields(text)) }))
	alice, bob := e.newUser("alice"), e.newUser("bob")
	e.conversation(alice, convA, "A")
	content := `[{"type":"think","think":"some deep thought","reasoning_label":"Pondering","reasoning_label_status":"done","keep":1},` +
		`{"type":"text","text":"old answer here","tool_call_ids":["c1"]},` +
		`{"type":"tool_call","tool_call":{"id":"c1","name":"calc","args":"{}"}},` +
		`null,` +
		`{"type":"text","text":{"value":"structured text","annotations":[1]}}]`
	e.put(alice, textMessage(convA, "u1", librechat.NoParent, "q"), reply(convA, "r1", "u1", content))
	path := "/api/messages/" + convA + "/r1"

	r := e.do("PUT", path, alice.token, `{"text":"new answer","index":1}`)
	expect(t, "text part", r, 200,
		`{"messageId":"r1","conversationId":"`+convA+`","parentMessageId":"u1","sender":"GPT-4o","text":"","isCreatedByUser":false,"tokenCount":19}`)
	m := e.stored(alice, convA, "r1")
	var parts []json.RawMessage
	if err := json.Unmarshal(m.Content, &parts); err != nil {
		t.Fatal(err)
	}
	if string(parts[1]) != `{"type":"text","text":"new answer","tool_call_ids":["c1"]}` || m.Text != "" || m.ParentID != "u1" {
		t.Errorf("after text edit: %s", m.Content)
	}

	r = e.do("PUT", path, alice.token, `{"text":"a thought","index":0}`)
	if r.status != 200 {
		t.Fatalf("think part: %v", r)
	}
	json.Unmarshal(e.stored(alice, convA, "r1").Content, &parts)
	if string(parts[0]) != `{"type":"think","think":"a thought","keep":1}` {
		t.Errorf("think part: %s", parts[0])
	}

	r = e.do("PUT", path, alice.token, `{"text":"edited","index":4}`)
	if r.status != 200 {
		t.Fatalf("structured part: %v", r)
	}
	json.Unmarshal(e.stored(alice, convA, "r1").Content, &parts)
	if string(parts[4]) != `{"type":"text","text":{"value":"edited","annotations":[1]}}` {
		t.Errorf("structured part: %s", parts[4])
	}

	before := e.snapshot(alice, convA)
	for _, tc := range []call{
		{"tool call", path, alice.token, `{"text":"x","index":2}`, 400, `{"error":"Cannot update non-text content"}`},
		{"null part", path, alice.token, `{"text":"x","index":3}`, 400, `{"error":"Content part not found"}`},
		{"fraction", path, alice.token, `{"text":"x","index":0.5}`, 400, `{"error":"Content part not found"}`},
		{"past the end", path, alice.token, `{"text":"x","index":5}`, 400, `{"error":"Invalid index"}`},
		{"negative", path, alice.token, `{"text":"x","index":-1}`, 400, `{"error":"Invalid index"}`},
		{"string index", path, alice.token, `{"text":"x","index":"1"}`, 400, `{"error":"Invalid index"}`},
		{"null index", path, alice.token, `{"text":"x","index":null}`, 400, `{"error":"Invalid index"}`},
		{"no content", "/api/messages/" + convA + "/u1", alice.token, `{"text":"x","index":0}`, 400, `{"error":"Invalid index"}`},
		{"text missing", path, alice.token, `{"index":1}`, 400, `{"error":"Invalid text"}`},
		{"bob", path, bob.token, `{"text":"x","index":1}`, 404, `{"error":"Conversation not found"}`},
	} {
		expect(t, tc.what, e.do("PUT", tc.path, tc.token, tc.body), tc.status, tc.want)
	}
	if after := e.snapshot(alice, convA); after != before {
		t.Errorf("failed requests changed messages:\n%s\n%s", before, after)
	}
}

func TestFeedback(t *testing.T) {
	e := newEnv(t)
	alice, bob := e.newUser("alice"), e.newUser("bob")
	e.conversation(alice, convA, "A")
	e.put(alice, textMessage(convA, "u1", librechat.NoParent, "q"), reply(convA, "r1", "u1", `[{"type":"text","text":"a"}]`))
	path := "/api/messages/" + convA + "/r1/feedback"

	r := e.do("PUT", path, alice.token, `{"feedback":{"text":"good","tag":"accurate_reliable","rating":"thumbsUp","extra":1}}`)
	expect(t, "set", r, 200,
		`{"messageId":"r1","conversationId":"`+convA+`","feedback":{"rating":"thumbsUp","tag":"accurate_reliable","text":"good"}}`)
	r = e.do("GET", "/api/messages/"+convA, alice.token, "")
	if !strings.Contains(string(r.body), `"feedback":{"rating":"thumbsUp","tag":"accurate_reliable","text":"good"}`) {
		t.Errorf("feedback not listed: %s", r.body)
	}
	r = e.do("PUT", "/api/messages/"+convA+"/r1", alice.token, `{"text":"x"}`)
	sameKeys(t, "update with feedback", r.body,
		"messageId", "conversationId", "parentMessageId", "sender", "text", "isCreatedByUser", "tokenCount", "feedback")

	expect(t, "down", e.do("PUT", path, alice.token, `{"feedback":{"rating":"thumbsDown","tag":"not_helpful"}}`), 200,
		`{"messageId":"r1","conversationId":"`+convA+`","feedback":{"rating":"thumbsDown","tag":"not_helpful"}}`)

	before := e.snapshot(alice, convA)
	for _, tc := range []call{
		{"bad rating", path, alice.token, `{"feedback":{"rating":"meh","tag":"other"}}`, 400, `{"error":"Invalid feedback"}`},
		{"no rating", path, alice.token, `{"feedback":{"tag":"other"}}`, 400, `{"error":"Invalid feedback"}`},
		{"bad tag", path, alice.token, `{"feedback":{"rating":"thumbsUp","tag":"nope"}}`, 400, `{"error":"Invalid feedback"}`},
		{"no tag", path, alice.token, `{"feedback":{"rating":"thumbsUp"}}`, 400, `{"error":"Invalid feedback"}`},
		{"tag object", path, alice.token, `{"feedback":{"rating":"thumbsUp","tag":{"key":"other"}}}`, 400, `{"error":"Invalid feedback"}`},
		{"text object", path, alice.token, `{"feedback":{"rating":"thumbsUp","tag":"other","text":{}}}`, 400, `{"error":"Invalid feedback"}`},
		{"text null", path, alice.token, `{"feedback":{"rating":"thumbsUp","tag":"other","text":null}}`, 400, `{"error":"Invalid feedback"}`},
		{"text too long", path, alice.token, `{"feedback":{"rating":"thumbsUp","tag":"other","text":"` + strings.Repeat("x", 1025) + `"}}`, 400, `{"error":"Invalid feedback"}`},
		{"string", path, alice.token, `{"feedback":"thumbsUp"}`, 400, `{"error":"Invalid feedback"}`},
		{"missing message", "/api/messages/" + convA + "/zz/feedback", alice.token, `{}`, 404, `{"error":"Message not found"}`},
		{"bob", path, bob.token, `{"feedback":{"rating":"thumbsUp","tag":"other"}}`, 404, `{"error":"Conversation not found"}`},
		{"bob clears", path, bob.token, `{}`, 404, `{"error":"Conversation not found"}`},
		{"malformed", path, alice.token, `{"feedback":`, 400, ""},
	} {
		expect(t, tc.what, e.do("PUT", tc.path, tc.token, tc.body), tc.status, tc.want)
	}
	if after := e.snapshot(alice, convA); after != before {
		t.Errorf("failed requests changed messages:\n%s\n%s", before, after)
	}

	// The text cap counts UTF-16 units, as the client's schema does.
	expect(t, "1024 units", e.do("PUT", path, alice.token, `{"feedback":{"rating":"thumbsUp","tag":"other","text":"`+strings.Repeat("é", 1024)+`"}}`), 200, "")
	expect(t, "1026 units", e.do("PUT", path, alice.token, `{"feedback":{"rating":"thumbsUp","tag":"other","text":"`+strings.Repeat("😀", 513)+`"}}`), 400, "")

	for _, clear := range []string{`{}`, `{"feedback":null}`, ``} {
		e.do("PUT", path, alice.token, `{"feedback":{"rating":"thumbsUp","tag":"other"}}`)
		expect(t, "clear "+clear, e.do("PUT", path, alice.token, clear), 200,
			`{"messageId":"r1","conversationId":"`+convA+`","feedback":null}`)
		if _, ok := e.stored(alice, convA, "r1").Fields["feedback"]; ok {
			t.Errorf("clear %s: feedback kept", clear)
		}
	}
}

func TestDeleteMessage(t *testing.T) {
	e := newEnv(t)
	alice, bob := e.newUser("alice"), e.newUser("bob")
	e.conversation(alice, convA, "A")
	e.put(alice, textMessage(convA, "u1", librechat.NoParent, "q"), reply(convA, "r1", "u1", `[]`))
	path := "/api/messages/" + convA + "/r1"

	expect(t, "bob", e.do("DELETE", path, bob.token, ""), 404, `{"error":"Conversation not found"}`)
	if e.stored(alice, convA, "r1") == nil {
		t.Fatal("bob deleted alice's message")
	}
	r := e.do("DELETE", path, alice.token, "")
	expect(t, "delete", r, 204, "")
	if len(r.body) != 0 || e.stored(alice, convA, "r1") != nil || e.stored(alice, convA, "u1") == nil {
		t.Errorf("after delete: %v", r)
	}
	expect(t, "again", e.do("DELETE", path, alice.token, ""), 204, "")
	expect(t, "unknown conversation", e.do("DELETE", "/api/messages/"+convB+"/r1", alice.token, ""), 404, `{"error":"Conversation not found"}`)
}

func TestBranch(t *testing.T) {
	e := newEnv(t)
	alice, bob := e.newUser("alice"), e.newUser("bob")
	e.conversation(alice, convA, "A")
	parallel := `[{"type":"text","text":"from A","agentId":"agent_a","groupId":1},` +
		`{"type":"tool_call","tool_call":{"id":"t1"},"agentId":"agent_b","groupId":1},` +
		`{"type":"text","text":"from B","agentId":"agent_b","groupId":1},` +
		`{"type":"text","text":"more A","agentId":"agent_a"}]`
	src := reply(convA, "r1", "u1", parallel)
	src.Fields["iconURL"] = json.RawMessage(`"/icon.png"`)
	src.Fields["attachments"] = json.RawMessage(`[{"file_id":"f1"}]`)
	src.Fields["feedback"] = json.RawMessage(`{"rating":"thumbsUp","tag":"other"}`)
	e.put(alice,
		textMessage(convA, "u1", librechat.NoParent, "q"),
		src,
		reply(convA, "plain", "u1", `[{"type":"text","text":"no agents"}]`),
		reply(convA, "nocontent", "u1", ``),
	)

	r := e.do("POST", "/api/messages/branch", alice.token, `{"messageId":"r1","agentId":"agent_b"}`)
	if r.status != 201 {
		t.Fatalf("branch: %v", r)
	}
	got := decodeJSON[map[string]any](t, r)
	id, _ := got["messageId"].(string)
	if len(id) != 36 || id == "r1" || got["parentMessageId"] != "u1" || got["conversationId"] != convA ||
		got["sender"] != "GPT-4o" || got["model"] != "gpt-4o" || got["endpoint"] != "openAI" || got["iconURL"] != "/icon.png" ||
		got["isCreatedByUser"] != false || got["unfinished"] != false || got["error"] != false || got["feedback"] != nil {
		t.Errorf("branch: %s", r.body)
	}
	nm := e.stored(alice, convA, id)
	if nm == nil || string(nm.Content) != `[{"type":"tool_call","tool_call":{"id":"t1"}},{"type":"text","text":"from B"}]` ||
		string(nm.Fields["attachments"]) != `[{"file_id":"f1"}]` || nm.ParentID != "u1" {
		t.Errorf("stored branch: %+v", nm)
	}
	if s := e.stored(alice, convA, "r1"); string(s.Content) != parallel {
		t.Errorf("source changed: %s", s.Content)
	}

	before := e.snapshot(alice, convA)
	for _, tc := range []call{
		{"no agent", "/api/messages/branch", alice.token, `{"messageId":"r1"}`, 400, `{"error":"messageId and agentId are required"}`},
		{"no message", "/api/messages/branch", alice.token, `{"agentId":"agent_a"}`, 400, `{"error":"messageId and agentId are required"}`},
		{"empty", "/api/messages/branch", alice.token, `{"messageId":"","agentId":"agent_a"}`, 400, `{"error":"messageId and agentId are required"}`},
		{"object id", "/api/messages/branch", alice.token, `{"messageId":{"$ne":1},"agentId":"agent_a"}`, 400, `{"error":"messageId and agentId are required"}`},
		{"unknown", "/api/messages/branch", alice.token, `{"messageId":"zz","agentId":"agent_a"}`, 404, `{"error":"Source message not found"}`},
		{"user message", "/api/messages/branch", alice.token, `{"messageId":"u1","agentId":"agent_a"}`, 400, `{"error":"Cannot branch from user messages"}`},
		{"no content", "/api/messages/branch", alice.token, `{"messageId":"nocontent","agentId":"agent_a"}`, 400, `{"error":"Message does not have content"}`},
		{"no attribution", "/api/messages/branch", alice.token, `{"messageId":"plain","agentId":"agent_a"}`, 400, `{"error":"Message does not have parallel content with attributions"}`},
		{"other agent", "/api/messages/branch", alice.token, `{"messageId":"r1","agentId":"agent_c"}`, 400, `{"error":"No content found for the specified agentId"}`},
		{"bob", "/api/messages/branch", bob.token, `{"messageId":"r1","agentId":"agent_a"}`, 404, `{"error":"Source message not found"}`},
		{"malformed", "/api/messages/branch", alice.token, `{`, 400, ""},
	} {
		expect(t, tc.what, e.do("POST", tc.path, tc.token, tc.body), tc.status, tc.want)
	}
	if after := e.snapshot(alice, convA); after != before {
		t.Errorf("failed requests changed messages:\n%s\n%s", before, after)
	}
}

// A temporary message expires after interface.temporaryChatRetention hours.
func TestCreateTemporaryRetention(t *testing.T) {
	for _, tc := range []struct {
		hours, want int
	}{{5, 5}, {0, 1}, {100000, 24 * 365}} {
		e := newEnvWith(t, func(c *config.Config) { c.File.Interface.TemporaryChatRetention = &tc.hours })
		alice := e.newUser("alice")
		e.conversation(alice, convA, "A")
		r := e.do("POST", "/api/messages/"+convA, alice.token, `{"messageId":"t1","text":"x","isTemporary":true}`)
		if r.status != 201 {
			t.Fatalf("create: %v", r)
		}
		m := e.stored(alice, convA, "t1")
		if want := e.clock.Now().Add(time.Duration(tc.want) * time.Hour); !m.IsTemporary || !m.ExpiredAt.Equal(want) {
			t.Errorf("retention %d: expires %v, want %v", tc.hours, m.ExpiredAt, want)
		}
	}
}
