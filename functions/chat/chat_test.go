package chat_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	chatfn "github.com/lcgo/lcgo/functions/chat"
	"github.com/lcgo/lcgo/shared/app"
	"github.com/lcgo/lcgo/shared/app/apptest"
	"github.com/lcgo/lcgo/shared/auth"
	chatsvc "github.com/lcgo/lcgo/shared/chat"
	"github.com/lcgo/lcgo/shared/config"
	"github.com/lcgo/lcgo/shared/librechat"
	"github.com/lcgo/lcgo/shared/provider"
)

// script is a fake provider: it emits its events in order; an event with
// Kind 0 makes it wait for a value on gate (an error from gate fails the
// stream as a provider error after partial output).
type script struct {
	events []provider.Event
	gate   chan error
	calls  sync.WaitGroup
	mu     sync.Mutex
	reqs   []provider.Request
}

func (s *script) Stream(ctx context.Context, req provider.Request, emit func(provider.Event) error) error {
	s.mu.Lock()
	s.reqs = append(s.reqs, req)
	s.mu.Unlock()
	if strings.HasPrefix(provider.LastUserText(req.Messages), "Write a concise title") {
		return emit(provider.Event{Kind: provider.EventText, Text: "Greeting Exchange"})
	}
	emitted := false
	for _, e := range s.events {
		if e.Kind == 0 {
			select {
			case err := <-s.gate:
				if err != nil {
					return &provider.StreamError{Partial: emitted, Status: 502, Err: err}
				}
			case <-ctx.Done():
				return ctx.Err()
			}
			continue
		}
		if err := emit(e); err != nil {
			return err
		}
		emitted = true
	}
	return nil
}

func (s *script) requests() []provider.Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]provider.Request(nil), s.reqs...)
}

type providers struct{ s provider.Streamer }

func (p providers) Streamer(context.Context, string, config.EndpointInfo, string) (provider.Streamer, error) {
	return p.s, nil
}

type env struct {
	t       *testing.T
	a       *app.App
	svc     *chatsvc.Service
	h       http.Handler
	srv     *httptest.Server
	alice   string
	bob     string
	aliceID string
	bobID   string
}

func hello() []provider.Event {
	return []provider.Event{
		{Kind: provider.EventText, Text: "Hello", ID: "chatcmpl-abc"},
		{Kind: provider.EventText, Text: " world", ID: "chatcmpl-abc"},
		{Kind: provider.EventUsage, Usage: provider.Usage{InputTokens: 8, OutputTokens: 2}, ID: "chatcmpl-abc"},
	}
}

func newEnv(t *testing.T, st provider.Streamer, mutate func(*config.Config)) *env {
	t.Helper()
	a, _ := apptest.New(t, func(c *config.Config) {
		c.Providers.OpenAIKey = "sk-test"
		c.Providers.OpenAIModels = []string{"gpt-4o", "gpt-4o-mini"}
		c.ConcurrentMessages = true
		c.ConcurrentMessageMax = 2
		if mutate != nil {
			mutate(c)
		}
	})
	svc, err := chatfn.Service(a, chatfn.Options{Providers: providers{st}})
	if err != nil {
		t.Fatal(err)
	}
	h, err := chatfn.Handler(a, svc, chatfn.Options{})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, a: a, svc: svc, h: h}
	e.srv = httptest.NewServer(h)
	t.Cleanup(e.srv.Close)
	e.aliceID, e.alice = e.user("alice@example.com")
	e.bobID, e.bob = e.user("bob@example.com")
	return e
}

func (e *env) user(email string) (string, string) {
	e.t.Helper()
	ctx := context.Background()
	u := &librechat.User{
		ID: e.a.IDs.ObjectID(), Email: email, Username: strings.Split(email, "@")[0], Name: email,
		Provider: librechat.ProviderLocal, Role: librechat.RoleUser, EmailVerified: true,
		CreatedAt: e.a.Clock.Now(), UpdatedAt: e.a.Clock.Now(),
	}
	if err := e.a.Store.CreateUser(ctx, u); err != nil {
		e.t.Fatal(err)
	}
	signer, _, err := auth.FromApp(e.a)
	if err != nil {
		e.t.Fatal(err)
	}
	tok, err := signer.Access(u, time.Hour)
	if err != nil {
		e.t.Fatal(err)
	}
	return u.ID, tok
}

func (e *env) do(method, path, token string, body any) (int, []byte) {
	e.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, e.srv.URL+path, rd)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func (e *env) start(token, endpoint string, body map[string]any) string {
	e.t.Helper()
	code, b := e.do("POST", "/api/agents/chat/"+endpoint, token, body)
	if code != 200 {
		e.t.Fatalf("start: %d %s", code, b)
	}
	var r struct{ StreamID, ConversationID, Status string }
	if err := json.Unmarshal(b, &r); err != nil || r.Status != "started" || r.StreamID != r.ConversationID || r.StreamID == "" {
		e.t.Fatalf("start answer %s", b)
	}
	return r.StreamID
}

type sse struct {
	Event string
	Data  json.RawMessage
}

// stream opens the stream and returns a channel of its frames, closed at
// the end, and the status code.
func (e *env) stream(token, id string, resume bool) (int, <-chan sse, func()) {
	e.t.Helper()
	u := e.srv.URL + "/api/agents/chat/stream/" + id
	if resume {
		u += "?resume=true"
	}
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", u, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		e.t.Fatal(err)
	}
	ch := make(chan sse, 256)
	if resp.StatusCode != 200 {
		resp.Body.Close()
		close(ch)
		return resp.StatusCode, ch, cancel
	}
	go func() {
		defer close(ch)
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		var cur sse
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "event: "):
				cur.Event = line[7:]
			case strings.HasPrefix(line, "data: "):
				cur.Data = json.RawMessage(line[6:])
			case line == "" && cur.Event != "":
				ch <- cur
				cur = sse{}
			}
		}
	}()
	return resp.StatusCode, ch, cancel
}

func collect(ch <-chan sse) []sse {
	var out []sse
	for f := range ch {
		out = append(out, f)
	}
	return out
}

func next(t *testing.T, ch <-chan sse) sse {
	t.Helper()
	select {
	case f, ok := <-ch:
		if !ok {
			t.Fatal("stream ended early")
		}
		return f
	case <-time.After(10 * time.Second):
		t.Fatal("no frame within 10 s")
	}
	return sse{}
}

func kind(f sse) string {
	var p struct {
		Created, Final, Sync bool
		Event                string
	}
	_ = json.Unmarshal(f.Data, &p)
	switch {
	case f.Event == "error":
		return "error"
	case p.Created:
		return "created"
	case p.Final:
		return "final"
	case p.Sync:
		return "sync"
	}
	return p.Event
}

func kinds(fs []sse) string {
	var out []string
	for _, f := range fs {
		out = append(out, kind(f))
	}
	return strings.Join(out, ",")
}

func newChat(text string) map[string]any {
	return map[string]any{
		"text": text, "sender": "User", "clientTimestamp": "2026-06-24T10:00:00", "isCreatedByUser": true,
		"parentMessageId": librechat.NoParent, "messageId": "7b1c0000-0000-4000-8000-000000000001",
		"error": false, "endpoint": "openAI", "model": "gpt-4o", "isRegenerate": false, "isContinued": false,
		"timezone": "Europe/Berlin",
	}
}

func field(t *testing.T, raw json.RawMessage, path ...string) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("%v: %s", err, raw)
	}
	for _, p := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[p]
	}
	return v
}

func keysOf(t *testing.T, raw json.RawMessage) []string {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(raw))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("not an object: %s", raw)
	}
	var keys []string
	for dec.More() {
		k, _ := dec.Token()
		keys = append(keys, k.(string))
		var skip json.RawMessage
		_ = dec.Decode(&skip)
	}
	return keys
}

// TestHelloWorld drives the contract's worked example and compares the
// frames with it: order, kinds, key order of the final frame, the
// conversation and both messages, and what was stored.
func TestHelloWorld(t *testing.T) {
	e := newEnv(t, &script{events: hello()}, nil)
	id := e.start(e.alice, "openAI", newChat("Say hello"))
	code, ch, cancel := e.stream(e.alice, id, false)
	defer cancel()
	if code != 200 {
		t.Fatalf("stream status %d", code)
	}
	frames := collect(ch)
	// on_token_usage carries cost for the usage gauge; the contract's
	// example (a capture without pricing) has none, so it is left out of
	// the comparison and checked on its own.
	// The title frame's position is not fixed (LibreChat sends it when the
	// title is ready, anywhere after created); it is moved to just before
	// final for the comparison.
	var cmp []sse
	var usage, title *sse
	for i, f := range frames {
		switch kind(f) {
		case "on_token_usage":
			usage = &frames[i]
			continue
		case "title":
			if i == 0 {
				t.Fatal("title before created")
			}
			title = &frames[i]
			continue
		case "final":
			if title != nil {
				cmp = append(cmp, *title)
			}
		}
		cmp = append(cmp, f)
	}
	want := "created,on_context_usage,on_run_step,on_message_delta,on_message_delta,title,final"
	if got := kinds(cmp); got != want {
		t.Fatalf("frames = %s\nwant     %s", got, want)
	}
	for _, f := range frames {
		if f.Event != "message" {
			t.Fatalf("event name %q", f.Event)
		}
	}
	created := cmp[0].Data
	if got := strings.Join(keysOf(t, created), ","); got != "created,message,streamId" {
		t.Fatalf("created keys %v", got)
	}
	user := sub(t, created, "message")
	if got := strings.Join(keysOf(t, user), ","); got != "messageId,parentMessageId,conversationId,sender,text,isCreatedByUser,tokenCount" {
		t.Fatalf("created.message keys %v", got)
	}
	if field(t, user, "conversationId") != id || field(t, user, "parentMessageId") != librechat.NoParent || field(t, user, "text") != "Say hello" {
		t.Fatalf("created.message = %s", user)
	}
	step := sub(t, cmp[2].Data, "data")
	if got := strings.Join(keysOf(t, step), ","); got != "stepIndex,id,type,index,stepDetails,usage,runId" {
		t.Fatalf("run step keys %v", got)
	}
	if field(t, step, "stepDetails", "message_creation", "message_id") != "chatcmpl-abc" {
		t.Fatalf("run step %s", step)
	}
	stepID := field(t, step, "id").(string)
	if !strings.HasPrefix(stepID, "step_") || len(stepID) != 26 {
		t.Fatalf("step id %q", stepID)
	}
	runID := field(t, step, "runId").(string)
	for i, text := range []string{"Hello", " world"} {
		d := cmp[3+i].Data
		if field(t, d, "data", "id") != stepID {
			t.Fatalf("delta %d: %s", i, d)
		}
		parts := field(t, d, "data", "delta", "content").([]any)
		if len(parts) != 1 || parts[0].(map[string]any)["text"] != text || parts[0].(map[string]any)["type"] != "text" {
			t.Fatalf("delta %d: %s", i, d)
		}
	}
	if field(t, cmp[5].Data, "data", "title") != "Greeting Exchange" || field(t, cmp[5].Data, "data", "conversationId") != id {
		t.Fatalf("title frame %s", cmp[5].Data)
	}
	cu := sub(t, cmp[1].Data, "data")
	if field(t, cu, "runId") != runID || field(t, cu, "agentId") != "openAI__gpt-4o___" {
		t.Fatalf("context usage %s", cu)
	}

	final := cmp[6].Data
	if got := strings.Join(keysOf(t, final), ","); got != "final,conversation,title,requestMessage,responseMessage" {
		t.Fatalf("final keys %v", got)
	}
	if field(t, final, "title") != "New Chat" {
		t.Fatalf("final title %v", field(t, final, "title"))
	}
	conv := sub(t, final, "conversation")
	wantConv := "tags,chatProjectId,_id,conversationId,user,__v,agent_id,createdAt,endpoint,expiredAt,isArchived,isTemporary,maxContextTokens,messages,model,resendFiles,title,updatedAt,files"
	if got := strings.Join(keysOf(t, conv), ","); got != wantConv {
		t.Fatalf("conversation keys\n%s\nwant\n%s", got, wantConv)
	}
	resp := sub(t, final, "responseMessage")
	wantResp := "messageId,conversationId,parentMessageId,isCreatedByUser,isEdited,model,sender,promptTokens,endpoint,text,content,tokenCount,attachments"
	if got := strings.Join(keysOf(t, resp), ","); got != wantResp {
		t.Fatalf("responseMessage keys %v", got)
	}
	if field(t, resp, "messageId") != runID || field(t, resp, "parentMessageId") != field(t, user, "messageId") ||
		field(t, resp, "sender") != "GPT-4o" || field(t, resp, "text") != "" || field(t, resp, "tokenCount") != 2.0 ||
		field(t, resp, "promptTokens") != 8.0 {
		t.Fatalf("responseMessage %s", resp)
	}
	if got := string(sub(t, resp, "content")); got != `[{"type":"text","text":"Hello world"}]` {
		t.Fatalf("content %s", got)
	}
	if usage == nil || field(t, usage.Data, "data", "input_tokens") != 8.0 || field(t, usage.Data, "data", "output_tokens") != 2.0 {
		t.Fatalf("token usage frame missing or wrong: %v", usage)
	}
	if c, _ := field(t, usage.Data, "data", "cost").(float64); c <= 0 {
		t.Fatalf("no cost in %s", usage.Data)
	}

	// Stored: both messages, the conversation with the generated title.
	ctx := context.Background()
	msgs, err := e.a.Store.Messages(ctx, e.aliceID, id)
	if err != nil || len(msgs) != 2 {
		t.Fatalf("stored messages %v %v", len(msgs), err)
	}
	if !msgs[0].IsCreatedByUser || msgs[1].ID != runID || msgs[1].Unfinished || msgs[1].Error {
		t.Fatalf("stored %+v %+v", msgs[0], msgs[1])
	}
	if _, ok := msgs[1].Fields["metadata"]; !ok {
		t.Fatal("reply metadata (usage) not stored")
	}
	waitFor(t, func() bool { // the title is written just after the final frame
		c, err := e.a.Store.Conversation(ctx, e.aliceID, id)
		return err == nil && c.Title != "New Chat"
	})
	c, err := e.a.Store.Conversation(ctx, e.aliceID, id)
	if err != nil || c.Title != "Greeting Exchange" || c.Model != "gpt-4o" || c.Endpoint != "openAI" {
		t.Fatalf("conversation %+v %v", c, err)
	}

	// The job is gone: stream 404, status inactive.
	if code, _, _ := e.stream(e.alice, id, false); code != 404 {
		t.Fatalf("stream after done: %d", code)
	}
	if code, b := e.do("GET", "/api/agents/chat/status/"+id, e.alice, nil); code != 200 || string(b) != `{"active":false}` {
		t.Fatalf("status after done: %d %s", code, b)
	}
}

func sub(t *testing.T, raw json.RawMessage, key string) json.RawMessage {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("%v: %s", err, raw)
	}
	return m[key]
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

// gated returns a script that emits "Hello", then waits on its gate, then
// emits " world" and usage.
func gated() *script {
	return &script{gate: make(chan error, 1), events: []provider.Event{
		{Kind: provider.EventText, Text: "Hello", ID: "chatcmpl-g"},
		{},
		{Kind: provider.EventText, Text: " world", ID: "chatcmpl-g"},
		{Kind: provider.EventUsage, Usage: provider.Usage{InputTokens: 5, OutputTokens: 2}},
	}}
}

// waitDelta reads frames until the first message delta.
func waitDelta(t *testing.T, ch <-chan sse) []sse {
	t.Helper()
	var seen []sse
	for {
		f := next(t, ch)
		seen = append(seen, f)
		if kind(f) == "on_message_delta" {
			return seen
		}
	}
}

func TestResumeReplaysStateThenFollowsLive(t *testing.T) {
	sc := gated()
	e := newEnv(t, sc, nil)
	id := e.start(e.alice, "openAI", newChat("Say hello"))
	_, first, cancel := e.stream(e.alice, id, false)
	waitDelta(t, first)
	cancel() // the client reloads: its first connection drops

	// Status while running.
	code, b := e.do("GET", "/api/agents/chat/status/"+id, e.alice, nil)
	if code != 200 || field(t, b, "active") != true || field(t, b, "status") != "running" || field(t, b, "streamId") != id {
		t.Fatalf("status %d %s", code, b)
	}
	if got := string(sub(t, b, "aggregatedContent")); got != `[{"type":"text","text":"Hello"}]` {
		t.Fatalf("status content %s", got)
	}
	code, b = e.do("GET", "/api/agents/chat/active", e.alice, nil)
	if code != 200 || string(b) != `{"activeJobIds":["`+id+`"]}` {
		t.Fatalf("active %d %s", code, b)
	}
	// The partial reply was checkpointed when the last reader left.
	waitFor(t, func() bool {
		m, err := e.a.Store.Messages(context.Background(), e.aliceID, id)
		return err == nil && len(m) == 2 && m[1].Unfinished
	})

	code, ch, cancel2 := e.stream(e.alice, id, true)
	defer cancel2()
	if code != 200 {
		t.Fatalf("resume status %d", code)
	}
	syncF := next(t, ch)
	if kind(syncF) != "sync" {
		t.Fatalf("first resumed frame %s", syncF.Data)
	}
	rs := sub(t, syncF.Data, "resumeState")
	if got := string(sub(t, rs, "aggregatedContent")); got != `[{"type":"text","text":"Hello"}]` {
		t.Fatalf("resume content %s", got)
	}
	if steps := field(t, rs, "runSteps").([]any); len(steps) != 1 {
		t.Fatalf("runSteps %s", rs)
	}
	if field(t, rs, "userMessage", "text") != "Say hello" || field(t, rs, "responseMessageId") == "" {
		t.Fatalf("resume state %s", rs)
	}
	sc.gate <- nil
	rest := collect(ch)
	if got := kinds(rest); !strings.HasSuffix(got, "on_message_delta,on_token_usage,final") || strings.Contains(got, "created") {
		t.Fatalf("after sync: %s", got)
	}
	final := rest[len(rest)-1].Data
	if got := string(sub(t, sub(t, final, "responseMessage"), "content")); got != `[{"type":"text","text":"Hello world"}]` {
		t.Fatalf("final content %s", got)
	}
	m, _ := e.a.Store.Messages(context.Background(), e.aliceID, id)
	if len(m) != 2 || m[1].Unfinished {
		t.Fatalf("final save did not replace the checkpoint: %+v", m[1])
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10 s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestAbortSavesPartialAndEndsStream(t *testing.T) {
	sc := gated()
	e := newEnv(t, sc, nil)
	id := e.start(e.alice, "openAI", newChat("Say hello"))
	_, ch, cancel := e.stream(e.alice, id, false)
	defer cancel()
	seen := waitDelta(t, ch)
	userID := field(t, sub(t, seen[0].Data, "message"), "messageId")

	// Another user can neither see nor stop it.
	if code, b := e.do("POST", "/api/agents/chat/abort", e.bob, map[string]string{"conversationId": id}); code != 404 {
		t.Fatalf("bob abort: %d %s", code, b)
	}
	if code, b := e.do("GET", "/api/agents/chat/status/"+id, e.bob, nil); code != 200 || string(b) != `{"active":false}` {
		t.Fatalf("bob status: %d %s", code, b)
	}
	if code, _, _ := e.stream(e.bob, id, true); code != 404 {
		t.Fatalf("bob stream: %d", code)
	}
	if code, b := e.do("GET", "/api/agents/chat/active", e.bob, nil); string(b) != `{"activeJobIds":[]}` {
		t.Fatalf("bob active: %d %s", code, b)
	}

	code, b := e.do("POST", "/api/agents/chat/abort", e.alice, map[string]string{"conversationId": id})
	if code != 200 || string(b) != `{"success":true,"aborted":"`+id+`"}` {
		t.Fatalf("abort: %d %s", code, b)
	}
	// Saved before the abort answered.
	msgs, err := e.a.Store.Messages(context.Background(), e.aliceID, id)
	if err != nil || len(msgs) != 2 || msgs[0].ID != userID || !msgs[1].Unfinished || msgs[1].Error {
		t.Fatalf("stored after abort: %v %+v %+v", err, msgs[0], msgs[1])
	}
	if string(msgs[1].Content) != `[{"type":"text","text":"Hello"}]` {
		t.Fatalf("partial content %s", msgs[1].Content)
	}
	rest := collect(ch)
	final := rest[len(rest)-1].Data
	want := "final,conversation,title,requestMessage,responseMessage,aborted,earlyAbort"
	if got := strings.Join(keysOf(t, final), ","); got != want {
		t.Fatalf("abort frame keys %s", got)
	}
	if field(t, final, "aborted") != true || field(t, final, "earlyAbort") != false ||
		field(t, final, "responseMessage", "unfinished") != true {
		t.Fatalf("abort frame %s", final)
	}
	if code, b := e.do("POST", "/api/agents/chat/abort", e.alice, map[string]string{"conversationId": id}); code != 404 {
		t.Fatalf("second abort: %d %s", code, b)
	}
}

func TestProviderFailureKeepsUserMessageAndStoresError(t *testing.T) {
	sc := gated()
	e := newEnv(t, sc, nil)
	id := e.start(e.alice, "openAI", newChat("Say hello"))
	_, ch, cancel := e.stream(e.alice, id, false)
	defer cancel()
	waitDelta(t, ch)
	sc.gate <- errors.New("upstream reset")
	rest := collect(ch)
	last := rest[len(rest)-1]
	if last.Event != "error" || !strings.Contains(string(last.Data), "interrupted") {
		t.Fatalf("last frame %s %s", last.Event, last.Data)
	}
	msgs, err := e.a.Store.Messages(context.Background(), e.aliceID, id)
	if err != nil || len(msgs) != 2 || !msgs[0].IsCreatedByUser || !msgs[1].Error || msgs[1].Text == "" {
		t.Fatalf("stored %v %+v", err, msgs)
	}
	if string(msgs[1].Content) != `[{"type":"text","text":"Hello"}]` {
		t.Fatalf("partial content kept: %s", msgs[1].Content)
	}
	// The errored job is kept for a late subscriber, which gets the error.
	code, ch2, cancel2 := e.stream(e.alice, id, false)
	defer cancel2()
	if code != 200 {
		t.Fatalf("late subscriber %d", code)
	}
	fs := collect(ch2)
	if fs[len(fs)-1].Event != "error" {
		t.Fatalf("late subscriber frames %s", kinds(fs))
	}
}

func TestBadRequests(t *testing.T) {
	e := newEnv(t, &script{events: hello()}, nil)
	cases := []struct {
		name, endpoint string
		body           any
		code           int
		want           string
	}{
		{"unknown endpoint", "NoSuchEndpoint", newChat("hi"), 400, `"type":"invalid_request_error"`},
		{"unknown model", "openAI", merge(newChat("hi"), map[string]any{"model": "gpt-nope"}), 400, `"type":"illegal_model_request"`},
		{"empty text", "openAI", merge(newChat("  "), nil), 400, `"error":"text is required"`},
		{"wrong type", "openAI", map[string]any{"text": 5}, 400, `"error":"Invalid request body`},
		{"foreign parent", "openAI", merge(newChat("hi"), map[string]any{"conversationId": "11111111-2222-4333-8444-555555555555", "parentMessageId": "11111111-2222-4333-8444-666666666666"}), 404, `Conversation not found`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, b := e.do("POST", "/api/agents/chat/"+c.endpoint, e.alice, c.body)
			if code != c.code || !strings.Contains(string(b), c.want) {
				t.Fatalf("%d %s", code, b)
			}
		})
	}
	req, _ := http.NewRequest("POST", e.srv.URL+"/api/agents/chat/openAI", strings.NewReader("{not json"))
	req.Header.Set("Authorization", "Bearer "+e.alice)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Fatalf("malformed JSON: %d", resp.StatusCode)
	}
	if code, _ := e.do("GET", "/api/agents/chat/stream/nope", e.alice, nil); code != 404 {
		t.Fatalf("unknown stream %d", code)
	}
	if code, _ := e.do("POST", "/api/agents/chat/openAI", "bad-token", newChat("hi")); code != 401 {
		t.Fatalf("bad token %d", code)
	}
	n, _, _ := e.a.Store.ListConversations(context.Background(), e.aliceID, librechat.ConversationQuery{})
	if len(n) != 0 {
		t.Fatalf("a refused request stored %d conversations", len(n))
	}
}

func merge(a, b map[string]any) map[string]any {
	for k, v := range b {
		a[k] = v
	}
	return a
}

func TestConcurrentLimitAndOneJobPerConversation(t *testing.T) {
	sc := &script{gate: make(chan error, 8), events: []provider.Event{{}, {Kind: provider.EventText, Text: "x"}}}
	e := newEnv(t, sc, nil)
	a := e.start(e.alice, "openAI", newChat("one"))
	body := newChat("again")
	body["conversationId"] = a
	if code, b := e.do("POST", "/api/agents/chat/openAI", e.alice, body); code != 409 {
		t.Fatalf("second job on one conversation: %d %s", code, b)
	}
	e.start(e.alice, "openAI", newChat("two"))
	code, b := e.do("POST", "/api/agents/chat/openAI", e.alice, newChat("three"))
	if code != 429 || field(t, b, "type") != "concurrent" || field(t, b, "limit") != 2.0 {
		t.Fatalf("third concurrent: %d %s", code, b)
	}
	// Bob is not limited by Alice's jobs.
	e.start(e.bob, "openAI", newChat("bob"))
	for i := 0; i < 3; i++ {
		sc.gate <- nil
	}
}

func TestRegenerateAndContinue(t *testing.T) {
	e := newEnv(t, &script{events: hello()}, nil)
	id := e.start(e.alice, "openAI", newChat("Say hello"))
	_, ch, cancel := e.stream(e.alice, id, false)
	frames := collect(ch)
	cancel()
	final := frames[len(frames)-1].Data
	userID := field(t, final, "requestMessage", "messageId").(string)
	firstResp := field(t, final, "responseMessage", "messageId").(string)

	// Regenerate: the same user message, a new sibling response.
	regen := newChat("Say hello")
	merge(regen, map[string]any{
		"conversationId": id, "messageId": userID, "parentMessageId": librechat.NoParent,
		"overrideParentMessageId": userID, "responseMessageId": firstResp + "_", "isRegenerate": true,
	})
	e.start(e.alice, "openAI", regen)
	_, ch, cancel = e.stream(e.alice, id, false)
	frames = collect(ch)
	cancel()
	final = frames[len(frames)-1].Data
	second := field(t, final, "responseMessage", "messageId").(string)
	if second == firstResp || field(t, final, "responseMessage", "parentMessageId") != userID ||
		field(t, final, "requestMessage", "messageId") != userID {
		t.Fatalf("regenerate final %s", final)
	}
	msgs, _ := e.a.Store.Messages(context.Background(), e.aliceID, id)
	if len(msgs) != 3 {
		t.Fatalf("after regenerate: %d messages", len(msgs))
	}
	// No title on later turns.
	if strings.Contains(kinds(frames), "title") {
		t.Fatalf("title on a later turn: %s", kinds(frames))
	}

	// Continue the second response: same id, content appended.
	cont := newChat("Say hello")
	merge(cont, map[string]any{
		"conversationId": id, "messageId": userID, "parentMessageId": librechat.NoParent,
		"overrideParentMessageId": userID, "responseMessageId": second, "isRegenerate": true, "isContinued": true,
		"editedContent": map[string]any{"index": 0, "type": "text", "text": "Hi"},
	})
	e.start(e.alice, "openAI", cont)
	_, ch, cancel = e.stream(e.alice, id, false)
	frames = collect(ch)
	cancel()
	final = frames[len(frames)-1].Data
	if field(t, final, "responseMessage", "messageId") != second {
		t.Fatalf("continue made a new message: %s", final)
	}
	if got := string(sub(t, sub(t, final, "responseMessage"), "content")); got != `[{"type":"text","text":"HiHello world"}]` {
		t.Fatalf("continued content %s", got)
	}
	msgs, _ = e.a.Store.Messages(context.Background(), e.aliceID, id)
	if len(msgs) != 3 {
		t.Fatalf("after continue: %d messages", len(msgs))
	}

	// A follow-up sees the branch as history.
	sc := &script{events: hello()}
	e2 := newEnv(t, sc, nil)
	id2 := e2.start(e2.alice, "openAI", newChat("first"))
	_, ch, cancel = e2.stream(e2.alice, id2, false)
	fs := collect(ch)
	cancel()
	respID := field(t, fs[len(fs)-1].Data, "responseMessage", "messageId")
	follow := newChat("second")
	merge(follow, map[string]any{"conversationId": id2, "parentMessageId": respID, "messageId": "7b1c0000-0000-4000-8000-000000000002"})
	e2.start(e2.alice, "openAI", follow)
	_, ch, cancel = e2.stream(e2.alice, id2, false)
	collect(ch)
	cancel()
	reqs := sc.requests()
	last := reqs[len(reqs)-1]
	if len(last.Messages) != 3 || last.Messages[0].Text() != "first" || last.Messages[1].Text() != "Hello world" || last.Messages[2].Text() != "second" {
		t.Fatalf("history sent to the provider: %+v", last.Messages)
	}
}

func TestBalanceDebitedAndExhausted(t *testing.T) {
	on := true
	start := int64(30)
	e := newEnv(t, &script{events: hello()}, func(c *config.Config) {
		c.File.Balance.Enabled = &on
		c.File.Balance.StartBalance = &start
	})
	id := e.start(e.alice, "openAI", newChat("Say hello"))
	_, ch, cancel := e.stream(e.alice, id, false)
	collect(ch)
	cancel()
	ctx := context.Background()
	b, err := e.a.Store.Balance(ctx, e.aliceID)
	// gpt-4o: 8 prompt tokens at 2.5 → 20 credits, 2 completion tokens at 10 → 20.
	if err != nil || b.TokenCredits != 30-20-20 {
		txs, _ := e.a.Store.Transactions(ctx, e.aliceID)
		for _, x := range txs {
			t.Logf("%+v", *x)
		}
		t.Fatalf("balance %+v %v", b, err)
	}
	txs, _ := e.a.Store.Transactions(ctx, e.aliceID)
	if len(txs) != 2 || txs[0].Amount != -20 || txs[1].Amount != -20 || txs[0].ConversationID != id {
		t.Fatalf("transactions %+v", txs)
	}
	code, body := e.do("POST", "/api/agents/chat/openAI", e.alice, newChat("more"))
	if code != 402 || field(t, body, "type") != "token_balance" {
		t.Fatalf("exhausted: %d %s", code, body)
	}
}

func TestQuotesReachTheModelAndAreStored(t *testing.T) {
	sc := &script{events: hello()}
	e := newEnv(t, sc, nil)
	body := newChat("Explain this")
	body["quotes"] = []string{"the sky is blue", "line one\nline two"}
	id := e.start(e.alice, "openAI", body)
	_, ch, cancel := e.stream(e.alice, id, false)
	frames := collect(ch)
	cancel()
	if got := field(t, sub(t, frames[0].Data, "message"), "quotes"); got == nil {
		t.Fatalf("created frame without quotes: %s", frames[0].Data)
	}
	var sent string
	for _, r := range sc.requests() {
		if !strings.HasPrefix(provider.LastUserText(r.Messages), "Write a concise title") {
			sent = provider.LastUserText(r.Messages)
		}
	}
	if sent != "> the sky is blue\n\n> line one\n> line two\n\nExplain this" {
		t.Fatalf("model turn %q", sent)
	}
	msgs, _ := e.a.Store.Messages(context.Background(), e.aliceID, id)
	if string(msgs[0].Fields["quotes"]) != `["the sky is blue","line one\nline two"]` || msgs[0].Text != "Explain this" {
		t.Fatalf("stored user message %+v", msgs[0])
	}
}

func TestTemporaryChatIsNotListedOrTitled(t *testing.T) {
	e := newEnv(t, &script{events: hello()}, nil)
	body := newChat("Secret")
	body["isTemporary"] = true
	id := e.start(e.alice, "openAI", body)
	_, ch, cancel := e.stream(e.alice, id, false)
	frames := collect(ch)
	cancel()
	if strings.Contains(kinds(frames), "title") {
		t.Fatalf("temporary chat got a title: %s", kinds(frames))
	}
	ctx := context.Background()
	c, err := e.a.Store.Conversation(ctx, e.aliceID, id)
	if err != nil || !c.IsTemporary || c.ExpiredAt.IsZero() {
		t.Fatalf("stored %+v %v", c, err)
	}
	list, _, _ := e.a.Store.ListConversations(ctx, e.aliceID, librechat.ConversationQuery{})
	if len(list) != 0 {
		t.Fatalf("temporary chat listed: %d", len(list))
	}
	msgs, _ := e.a.Store.Messages(ctx, e.aliceID, id)
	if len(msgs) != 2 || !msgs[0].IsTemporary || msgs[1].ExpiredAt.IsZero() {
		t.Fatalf("messages %+v", msgs)
	}
}

// TestForeignConversationIDStartsAFreshOne: another user posting under
// Alice's conversation id neither learns that it exists nor touches it.
func TestForeignConversationIDStartsAFreshOne(t *testing.T) {
	sc := gated()
	e := newEnv(t, sc, nil)
	id := e.start(e.alice, "openAI", newChat("mine"))
	body := newChat("intrude")
	body["conversationId"] = id
	bobID := e.start(e.bob, "openAI", body) // while Alice's reply runs: no 409
	if bobID == id {
		t.Fatal("bob got alice's conversation id")
	}
	body["parentMessageId"] = "7b1c0000-0000-4000-8000-000000000001"
	if code, b := e.do("POST", "/api/agents/chat/openAI", e.bob, body); code != 404 {
		t.Fatalf("follow-up under alice's id: %d %s", code, b)
	}
	sc.gate <- nil
	sc.gate <- nil
	e.svc.Wait(id)
	e.svc.Wait(bobID)
	msgs, _ := e.a.Store.Messages(context.Background(), e.aliceID, id)
	for _, m := range msgs {
		if m.Text == "intrude" {
			t.Fatal("bob's message landed in alice's conversation")
		}
	}
}

// fixedPolicy pins the model, adds a system message and refuses "forbidden".
type fixedPolicy struct{}

func (fixedPolicy) Apply(_ context.Context, _ string, endpoint string, p map[string]json.RawMessage) (*chatsvc.Applied, error) {
	if string(p["text"]) == `"forbidden"` {
		return nil, &chatsvc.RequestError{Status: 403, Body: map[string]any{"type": "illegal_model_request"}}
	}
	p["model"] = json.RawMessage(`"gpt-4o-mini"`)
	delete(p, "promptPrefix")
	return &chatsvc.Applied{Endpoint: endpoint, Payload: p, System: "SECRET SYSTEM PROMPT"}, nil
}

func TestPolicyRewritesAndKeepsSystemServerSide(t *testing.T) {
	sc := &script{events: hello()}
	a, _ := apptest.New(t, func(c *config.Config) {
		c.Providers.OpenAIKey = "sk-test"
		c.Providers.OpenAIModels = []string{"gpt-4o", "gpt-4o-mini"}
	})
	svc, err := chatfn.Service(a, chatfn.Options{Providers: providers{sc}, Policy: fixedPolicy{}})
	if err != nil {
		t.Fatal(err)
	}
	h, _ := chatfn.Handler(a, svc, chatfn.Options{})
	e := &env{t: t, a: a, svc: svc, h: h, srv: httptest.NewServer(h)}
	t.Cleanup(e.srv.Close)
	e.aliceID, e.alice = e.user("alice@example.com")

	body := newChat("hello")
	body["promptPrefix"] = "user prefix"
	id := e.start(e.alice, "openAI", body)
	_, ch, cancel := e.stream(e.alice, id, false)
	frames := collect(ch)
	cancel()
	for _, f := range frames {
		if strings.Contains(string(f.Data), "SECRET") {
			t.Fatalf("system message sent to the client: %s", f.Data)
		}
	}
	var main provider.Request
	for _, r := range sc.requests() {
		if !strings.HasPrefix(provider.LastUserText(r.Messages), "Write a concise title") {
			main = r
		}
	}
	if main.System != "SECRET SYSTEM PROMPT" || main.Model != "gpt-4o-mini" {
		t.Fatalf("provider request system %q model %q", main.System, main.Model)
	}
	c, _ := e.a.Store.Conversation(context.Background(), e.aliceID, id)
	raw, _ := json.Marshal(c)
	if strings.Contains(string(raw), "SECRET") || c.Model != "gpt-4o-mini" {
		t.Fatalf("stored conversation %s", raw)
	}
	code, b := e.do("POST", "/api/agents/chat/openAI", e.alice, newChat("forbidden"))
	if code != 403 || !strings.Contains(string(b), "illegal_model_request") {
		t.Fatalf("refused: %d %s", code, b)
	}
}
