package convos_test

import (
	"bytes"
	"errors"
	"io"
	"mime/multipart"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/lcgo/lcgo/shared/librechat"
)

const importedOK = `{"message":"Conversation(s) imported successfully"}`

// importedConvo returns the only conversation of u and its messages keyed
// by text.
func importedConvo(t *testing.T, e *testEnv, u *librechat.User) (*librechat.Conversation, map[string]*librechat.Message) {
	t.Helper()
	all := e.allConvos(u)
	if len(all) != 1 {
		t.Fatalf("%d conversations", len(all))
	}
	byText := map[string]*librechat.Message{}
	for _, m := range e.messages(u, all[0].ID) {
		byText[m.Text] = m
	}
	return all[0], byText
}

// parentText is the text of m's parent, "" for a root.
func parentText(t *testing.T, msgs map[string]*librechat.Message, m *librechat.Message) string {
	t.Helper()
	if m.ParentID == librechat.NoParent {
		return ""
	}
	for _, p := range msgs {
		if p.ID == m.ParentID {
			if !m.CreatedAt.After(p.CreatedAt) {
				t.Fatalf("%q created %v, not after its parent %v", m.Text, m.CreatedAt, p.CreatedAt)
			}
			return p.Text
		}
	}
	t.Fatalf("%q has a dangling parent %s", m.Text, m.ParentID)
	return ""
}

func checkTree(t *testing.T, msgs map[string]*librechat.Message, want map[string]string) {
	t.Helper()
	if len(msgs) != len(want) {
		var got []string
		for k := range msgs {
			got = append(got, k)
		}
		t.Fatalf("messages %q, want %v", got, want)
	}
	for text, parent := range want {
		m, ok := msgs[text]
		if !ok {
			t.Fatalf("missing %q", text)
		}
		if got := parentText(t, msgs, m); got != parent {
			t.Fatalf("%q: parent %q, want %q", text, got, parent)
		}
		if _, has := m.Fields["children"]; has {
			t.Fatalf("%q kept its children", text)
		}
	}
}

func TestImportLibreChatFlat(t *testing.T) {
	e := newEnv(t)
	u, tok := e.newUser("")
	res := e.upload(tok, `{"conversationId":"old-id","endpoint":"openAI","title":"Flat chat","exportAt":"13:18:04","branches":true,"recursive":false,
		"options":{"presetId":null,"model":"gpt-4-turbo","temperature":0.8,"endpoint":"openAI","title":"Flat chat"},
		"messages":[
		{"_id":"66326f3f04bed94b7f5be68d","messageId":"m1","conversationId":"old-id","createdAt":"2024-05-01T16:35:11.530Z",
		 "parentMessageId":"00000000-0000-0000-0000-000000000000","sender":"User","text":"Q1","isCreatedByUser":true,"user":"someone","tokenCount":5},
		{"messageId":"m2","parentMessageId":"m1","sender":"GPT","text":"A1","isCreatedByUser":false,"createdAt":"2024-05-01T16:35:12.000Z","finish_reason":"stop"},
		{"messageId":"m3","parentMessageId":"m1","sender":"GPT","text":"A1b","createdAt":"2024-05-01T16:35:11.000Z","content":{"type":"text","text":"A1b"}}]}`)
	if res.status != 201 || string(res.body) != importedOK {
		t.Fatal(res)
	}
	c, msgs := importedConvo(t, e, u)
	if c.ID == "old-id" || c.Title != "Flat chat" || c.Model != "gpt-4-turbo" || string(c.Fields["temperature"]) != "0.8" ||
		c.Endpoint != "Offline" || c.CreatedAt != mustTime(t, "2024-05-01T16:35:11.530Z") {
		t.Fatalf("conversation %+v", c)
	}
	checkTree(t, msgs, map[string]string{"Q1": "", "A1": "Q1", "A1b": "Q1"})
	for _, m := range msgs {
		if m.UserID != u.ID || m.ID == "m1" || m.ID == "m2" || m.ID == "m3" || m.ConversationID != c.ID {
			t.Fatalf("message %+v", m)
		}
	}
	if string(msgs["A1"].Fields["finish_reason"]) != `"stop"` || msgs["Q1"].TokenCount != 5 {
		t.Fatalf("fields lost: %+v", msgs["A1"])
	}
	if string(msgs["A1b"].Content) != `[{"type":"text","text":"A1b"}]` {
		t.Fatalf("content %s", msgs["A1b"].Content)
	}
	if got := e.list(tok, "").ids(); len(got) != 1 || got[0] != c.ID {
		t.Fatalf("list %v", got)
	}
}

func TestImportLibreChatTree(t *testing.T) {
	tree := `[{"messageId":"t1","parentMessageId":"00000000-0000-0000-0000-000000000000","text":"root q","isCreatedByUser":true,
		"sender":"User","createdAt":"2024-01-01T00:00:00.000Z","children":[
		{"messageId":"t2","text":"ans 1","sender":"AI","children":[{"messageId":"t3","text":"follow","isCreatedByUser":true,"children":[]}]},
		{"messageId":"t4","text":"","children":[{"messageId":"t5","text":"lost"}]},
		{"messageId":"t6","content":[{"type":"text","text":"ans 2"}],"text":"ans 2","sender":"AI"}]}]`
	for name, body := range map[string]string{
		"client export": `{"conversationId":"old","endpoint":"Offline","title":"Tree chat","exportAt":"x","branches":true,"recursive":true,"messagesTree":` + tree + `}`,
		"older export":  `{"conversationId":"old","endpoint":"Offline","title":"Tree chat","branches":true,"recursive":true,"messages":` + tree + `}`,
	} {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t)
			u, tok := e.newUser("")
			if res := e.upload(tok, body); res.status != 201 {
				t.Fatal(res)
			}
			c, msgs := importedConvo(t, e, u)
			if c.Title != "Tree chat" || c.Endpoint != "Offline" || c.Model != "offline-echo" {
				t.Fatalf("conversation %+v", c)
			}
			checkTree(t, msgs, map[string]string{"root q": "", "ans 1": "root q", "follow": "ans 1", "ans 2": "root q"})
			if !msgs["root q"].IsCreatedByUser || msgs["ans 1"].Sender != "AI" {
				t.Fatalf("flags lost")
			}
		})
	}
}

func TestImportChatGPT(t *testing.T) {
	e := newEnv(t)
	u, tok := e.newUser("")
	res := e.upload(tok, `[{"title":"Greetings","create_time":1700000000.5,"mapping":{
		"root":{"id":"root","message":null,"parent":null,"children":["sys"]},
		"sys":{"message":{"author":{"role":"system"},"content":{"content_type":"text","parts":[""]}},"parent":"root"},
		"u1":{"message":{"author":{"role":"user"},"content":{"content_type":"text","parts":["Hello","there"]},"create_time":1700000001},"parent":"sys"},
		"a1":{"message":{"author":{"role":"assistant"},"content":{"content_type":"text","parts":["Hi! See docs."]},
			"metadata":{"model_slug":"gpt-4o","citations":[{"start_ix":8,"end_ix":13,"metadata":{"type":"webpage","title":"Docs","url":"https://x.test"}}]},
			"create_time":1700000002},"parent":"u1"},
		"a2":{"message":{"author":{"role":"assistant"},"content":{"content_type":"code","language":"python","text":"print(1)"},
			"metadata":{"model_slug":"o1"},"create_time":1700000003},"parent":"u1"},
		"t1":{"message":{"author":{"role":"tool"},"content":{"content_type":"execution_output","text":"1"},"metadata":{}},"parent":"a2"},
		"n1":{"message":{"author":{"role":"assistant"},"content":{"content_type":"multimodal_text","parts":["see",{"asset":"x"}]},"metadata":{}},"parent":"t1"}
	}},{"title":"","create_time":1700000100,"mapping":{"x":{"message":{"author":{"role":"user"},"content":{"content_type":"text","parts":["solo"]}},"parent":null}}}]`)
	if res.status != 201 {
		t.Fatal(res)
	}
	all := e.allConvos(u)
	if len(all) != 2 {
		t.Fatalf("%d conversations", len(all))
	}
	c := all[0]
	if c.Title != "Greetings" || c.Endpoint != "openAI" || c.Model != "gpt-4o-mini" || c.CreatedAt != mustTime(t, "2023-11-14T22:13:20.500Z") {
		t.Fatalf("conversation %+v", c)
	}
	if all[1].Title != "Imported Chat" {
		t.Fatalf("untitled: %q", all[1].Title)
	}
	msgs := map[string]*librechat.Message{}
	for _, m := range e.messages(u, c.ID) {
		msgs[m.Text] = m
	}
	const (
		cite = "Hi! See  ([Docs](https://x.test))"
		code = "```python\nprint(1)\n```"
		out  = "Execution Output:\n> 1"
		mm   = "```json\n{\n  \"asset\": \"x\"\n}\n```"
	)
	checkTree(t, msgs, map[string]string{"Hello there": "", cite: "Hello there", code: "Hello there", out: code, mm: out})
	if m := msgs[cite]; m.Sender != "GPT-4o" || m.Model != "gpt-4o" || m.IsCreatedByUser {
		t.Fatalf("assistant %+v", m)
	}
	if m := msgs["Hello there"]; m.Sender != "user" || !m.IsCreatedByUser || m.CreatedAt != mustTime(t, "2023-11-14T22:13:21Z") {
		t.Fatalf("user %+v", m)
	}
	if msgs[code].Sender != "o1" || msgs[out].Sender != "GPT-4o-mini" {
		t.Fatalf("senders %q %q", msgs[code].Sender, msgs[out].Sender)
	}
}

func TestImportClaudeAndChatbotUI(t *testing.T) {
	e := newEnv(t)
	u, tok := e.newUser("")
	res := e.upload(tok, `[{"name":"Claude chat","created_at":"2024-06-01T10:00:00Z","chat_messages":[
		{"sender":"human","text":"hi","content":[{"type":"text","text":"hi"}],"created_at":"2024-06-01T10:00:01Z"},
		{"sender":"assistant","content":[{"type":"thinking","thinking":"hmm"},{"type":"text","text":"hello"}],"created_at":"2024-06-01T10:00:02Z"},
		{"sender":"assistant","content":[],"text":""}]}]`)
	if res.status != 201 {
		t.Fatal(res)
	}
	c, msgs := importedConvo(t, e, u)
	if c.Title != "Claude chat" || c.Endpoint != "anthropic" {
		t.Fatalf("conversation %+v", c)
	}
	checkTree(t, msgs, map[string]string{"hi": "", "hello": "hi"})
	if m := msgs["hello"]; m.Sender != "Claude" || string(m.Content) != `[{"think":"hmm","type":"think"},{"text":"hello","type":"text"}]` {
		t.Fatalf("assistant %+v %s", m, m.Content)
	}

	v, vtok := e.newUser("")
	res = e.upload(vtok, `{"version":4,"history":[{"name":"Bot chat","model":{"id":"gpt-3.5-turbo"},
		"messages":[{"role":"user","content":"q"},{"role":"assistant","content":"a"},{"role":"system","content":"s"}]}]}`)
	if res.status != 201 {
		t.Fatal(res)
	}
	c, msgs = importedConvo(t, e, v)
	if c.Title != "Bot chat" {
		t.Fatalf("conversation %+v", c)
	}
	checkTree(t, msgs, map[string]string{"q": "", "a": "q"})
	if msgs["a"].Model != "gpt-3.5-turbo" || msgs["a"].Sender != "GPT-3.5" {
		t.Fatalf("assistant %+v", msgs["a"])
	}
}

func TestImportRejectsBadFiles(t *testing.T) {
	e := newEnv(t, withImportMax(512))
	u, tok := e.newUser("")
	e.putConvo(u, convoSpec{title: "existing"})
	before := e.snapshot(u)
	cases := []struct {
		body   string
		status int
		msg    string
	}{
		{`{not json`, 400, "The file is not valid JSON (error at byte 2)"},
		{``, 400, "The file is empty"},
		{`[1,`, 400, "The file is not valid JSON (error at byte 3)"},
		{`{"foo":1}`, 400, "Unsupported import type"},
		{`[{"x":1}]`, 400, "Unsupported import type"},
		{`"text"`, 400, "Unsupported import type"},
		{`{"conversationId":"x","messages":"nope"}`, 400, "messages must be an array"},
		{`{"conversationId":"x","messages":[1]}`, 400, "messages[0] must be an object"},
		{`{"conversationId":"x","messages":[{"messageId":5}]}`, 400, "messages[0].messageId must be a string"},
		{`{"conversationId":"x","options":[],"messages":[{"text":"a"}]}`, 400, "options must be a JSON object"},
		{`{"conversationId":"x","recursive":true,"messagesTree":[{"text":"a","children":"no"}]}`, 400,
			"messagesTree[0].children must be an array"},
		{`[{"title":"ok","mapping":{"a":{"message":{"author":{"role":"user"},"content":{"content_type":"text","parts":["fine"]}}}}},{"title":"b"}]`,
			400, "conversation 2: mapping must be an object"},
		{`[{"mapping":{"a":{"message":{"author":{"role":"user"},"content":{"content_type":"text","parts":"x"}}}}}]`,
			400, `conversation 1: mapping["a"]: content.parts must be an array`},
		{`[{"chat_messages":[{"content":"x"}]}]`, 400, "conversation 1: chat_messages[0].content must be an array"},
		{`{"version":1,"history":[{"messages":5}]}`, 400, "history[0].messages must be an array of {role, content}"},
		{`{"conversationId":"x","messages":[{"text":"` + strings.Repeat("a", 600) + `"}]}`, 413,
			"File exceeds the maximum import size of 512 bytes"},
	}
	for _, tc := range cases {
		errorBody(t, e.upload(tok, tc.body), tc.status, "message", tc.msg)
	}

	// No file part, or no multipart body at all.
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	_ = mw.WriteField("other", "x")
	_ = mw.Close()
	req := httptest.NewRequest("POST", "/api/convos/import", &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	errorBody(t, e.serve(req, tok), 400, "message", "No file uploaded")
	errorBody(t, e.do("POST", "/api/convos/import", tok, `{"conversationId":"x"}`), 400, "message",
		`Request must be multipart/form-data with a "file" field`)
	req = httptest.NewRequest("POST", "/api/convos/import", strings.NewReader("--broken\r\n"))
	req.Header.Set("Content-Type", "multipart/form-data; boundary=other")
	if res := e.serve(req, tok); res.status != 400 {
		t.Fatalf("broken multipart: %s", res)
	}
	if e.snapshot(u) != before {
		t.Fatal("a rejected import stored something")
	}

	// An empty ChatGPT export imports nothing.
	if res := e.upload(tok, `[]`); res.status != 201 || e.snapshot(u) != before {
		t.Fatalf("empty export: %s", res)
	}
}

func TestImportBodyOverSharedLimit(t *testing.T) {
	e := newEnv(t, withImportMax(64<<20))
	u, tok := e.newUser("")
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fw, _ := mw.CreateFormFile("file", "big.json")
	_, _ = io.WriteString(fw, `{"conversationId":"x","messages":[{"text":"`+strings.Repeat("a", 4<<20)+`"}]}`)
	_ = mw.Close()
	req := httptest.NewRequest("POST", "/api/convos/import", &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.ContentLength = -1
	res := e.serve(req, tok)
	if res.status != 413 || res.object(t)["message"] == nil {
		t.Fatalf("oversized body: %d %.200s", res.status, res.body)
	}
	if len(e.allConvos(u)) != 0 {
		t.Fatal("stored something")
	}
}

func TestImportAndForkRollBack(t *testing.T) {
	var fs *failingStore
	e := newEnv(t, withStore(func(s librechat.Store) librechat.Store {
		fs = &failingStore{Store: s, failErr: errors.New("disk full")}
		return fs
	}))
	u, tok := e.newUser("")
	c := branched(e, u)
	before := e.snapshot(u)

	convo := `{"title":"%s","mapping":{"a":{"message":{"author":{"role":"user"},"content":{"content_type":"text","parts":["x"]}}}}}`
	fs.arm(2)
	res := e.upload(tok, "["+strings.ReplaceAll(convo, "%s", "one")+","+strings.ReplaceAll(convo, "%s", "two")+","+
		strings.ReplaceAll(convo, "%s", "three")+"]")
	if res.status != 500 || strings.Contains(string(res.body), "disk full") {
		t.Fatalf("failed import: %s", res)
	}
	if e.snapshot(u) != before {
		t.Fatal("a failed import left conversations behind")
	}

	fs.arm(1)
	res = e.do("POST", "/api/convos/fork", tok, `{"conversationId":"`+c.ID+`","messageId":"c"}`)
	if res.status != 500 || e.snapshot(u) != before {
		t.Fatalf("failed fork: %s", res)
	}
	fs.arm(1)
	res = e.do("POST", "/api/convos/duplicate", tok, `{"conversationId":"`+c.ID+`"}`)
	if res.status != 500 || e.snapshot(u) != before {
		t.Fatalf("failed duplicate: %s", res)
	}
	fs.arm(0)
	if res := e.do("POST", "/api/convos/fork", tok, `{"conversationId":"`+c.ID+`","messageId":"c"}`); res.status != 200 {
		t.Fatal(res)
	}
	if n := len(e.allConvos(u)); n != 2 || !slices.ContainsFunc(e.allConvos(u), func(x *librechat.Conversation) bool { return x.ID == c.ID }) {
		t.Fatalf("%d conversations", n)
	}
}
