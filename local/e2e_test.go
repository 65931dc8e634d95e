package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/lcgo/lcgo/functions"
	"github.com/lcgo/lcgo/shared/setup"
)

// runner is the local runner's handler over a fresh data directory, with
// its defaults: no provider, so the built-in offline model answers.
type runner struct {
	t   *testing.T
	srv *httptest.Server
	tok string
}

func newRunner(t *testing.T) *runner {
	t.Helper()
	dir := t.TempDir()
	env := map[string]string{"DATA_DIR": dir, "CONFIG_PATH": dir + "/librechat.yaml"}
	if err := os.WriteFile(env["CONFIG_PATH"], []byte("version: 1.2.1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	a, err := setup.Open(context.Background(), setup.Options{
		Local: true, Getenv: func(k string) (string, bool) { v, ok := env[k]; return v, ok },
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Store.Close() })
	h, err := functions.Router(a, nil)
	if err != nil {
		t.Fatal(err)
	}
	r := &runner{t: t, srv: httptest.NewServer(h)}
	t.Cleanup(r.srv.Close)
	return r
}

func (r *runner) do(method, path string, body any) (int, []byte) {
	r.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, r.srv.URL+path, rd)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Mozilla/5.0 (X11; Linux x86_64) Chrome/126.0")
	if r.tok != "" {
		req.Header.Set("Authorization", "Bearer "+r.tok)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		r.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, b
}

func (r *runner) must(method, path string, body any, want int) []byte {
	r.t.Helper()
	code, b := r.do(method, path, body)
	if code != want {
		r.t.Fatalf("%s %s: %d %s", method, path, code, b)
	}
	return b
}

// sseReader reads the frames of one stream request.
type sseReader struct {
	res    *http.Response
	sc     *bufio.Scanner
	cancel context.CancelFunc
}

func (r *runner) stream(id string, resume bool) *sseReader {
	r.t.Helper()
	u := r.srv.URL + "/api/agents/chat/stream/" + id
	if resume {
		u += "?resume=true"
	}
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", u, nil)
	req.Header.Set("Authorization", "Bearer "+r.tok)
	res, err := http.DefaultClient.Do(req)
	if err != nil || res.StatusCode != 200 {
		cancel()
		r.t.Fatalf("stream %s: %v %v", id, err, res.StatusCode)
	}
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	r.t.Cleanup(cancel)
	return &sseReader{res: res, sc: sc, cancel: cancel}
}

// next returns the next frame's data, or "" at the end of the stream.
func (s *sseReader) next() map[string]any {
	for s.sc.Scan() {
		line := s.sc.Text()
		if strings.HasPrefix(line, "data: ") {
			var m map[string]any
			_ = json.Unmarshal([]byte(line[6:]), &m)
			return m
		}
	}
	return nil
}

func (s *sseReader) until(pred func(map[string]any) bool) map[string]any {
	for f := s.next(); f != nil; f = s.next() {
		if pred(f) {
			return f
		}
	}
	return nil
}

func isDelta(f map[string]any) bool { return f["event"] == "on_message_delta" }
func isFinal(f map[string]any) bool { return f["final"] == true }

func get(m map[string]any, path ...string) any {
	var v any = m
	for _, p := range path {
		mm, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = mm[p]
	}
	return v
}

func partText(v any) string {
	parts, _ := v.([]any)
	var b strings.Builder
	for _, p := range parts {
		if m, ok := p.(map[string]any); ok {
			s, _ := m["text"].(string)
			b.WriteString(s)
		}
	}
	return b.String()
}

// TestChatEndToEnd drives the local runner the way the client does: sign
// up, chat with the offline model, reload mid-reply and resume, regenerate,
// stop a reply, and delete the conversation.
func TestChatEndToEnd(t *testing.T) {
	r := newRunner(t)
	r.must("POST", "/api/auth/register", map[string]string{
		"name": "Alice", "username": "alice", "email": "alice@example.com",
		"password": "correct horse battery", "confirm_password": "correct horse battery",
	}, 200)
	var login struct{ Token string }
	_ = json.Unmarshal(r.must("POST", "/api/auth/login", map[string]string{"email": "alice@example.com", "password": "correct horse battery"}, 200), &login)
	r.tok = login.Token

	var eps map[string]any
	_ = json.Unmarshal(r.must("GET", "/api/endpoints", nil, 200), &eps)
	if eps["Offline"] == nil {
		t.Fatalf("endpoints %v", eps)
	}

	// Send; reload after the first words; resume.
	msg := map[string]any{
		"text": "Tell me something", "sender": "User", "isCreatedByUser": true,
		"parentMessageId": "00000000-0000-0000-0000-000000000000", "messageId": "11111111-1111-4111-8111-111111111111",
		"endpoint": "Offline", "endpointType": "custom", "model": "offline-echo",
	}
	var started struct{ StreamID string }
	_ = json.Unmarshal(r.must("POST", "/api/agents/chat/Offline", msg, 200), &started)
	id := started.StreamID
	s := r.stream(id, false)
	created := s.next()
	if created["created"] != true {
		t.Fatalf("first frame %v", created)
	}
	userID := get(created, "message", "messageId").(string)
	if s.until(isDelta) == nil {
		t.Fatal("no delta")
	}
	s.cancel() // reload

	var status map[string]any
	_ = json.Unmarshal(r.must("GET", "/api/agents/chat/status/"+id, nil, 200), &status)
	if status["active"] != true {
		t.Fatalf("status while streaming %v", status)
	}
	s = r.stream(id, true)
	sync := s.next()
	if sync["sync"] != true || partText(get(sync, "resumeState", "aggregatedContent")) == "" {
		t.Fatalf("resume frame %v", sync)
	}
	final := s.until(isFinal)
	want := `You said: "Tell me something". This reply comes from the built-in offline model.`
	if final == nil || partText(get(final, "responseMessage", "content")) != want {
		t.Fatalf("final %v", final)
	}
	firstReply := get(final, "responseMessage", "messageId").(string)

	var msgs []map[string]any
	_ = json.Unmarshal(r.must("GET", "/api/messages/"+id, nil, 200), &msgs)
	if len(msgs) != 2 || msgs[0]["messageId"] != userID || msgs[1]["messageId"] != firstReply || msgs[1]["unfinished"] != false {
		t.Fatalf("messages %v", msgs)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		var list struct{ Conversations []map[string]any }
		_ = json.Unmarshal(r.must("GET", "/api/convos", nil, 200), &list)
		if len(list.Conversations) == 1 && list.Conversations[0]["title"] == "Tell me something" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("conversation list %v", list)
		}
		time.Sleep(10 * time.Millisecond)
	}

	// Regenerate: a sibling of the first reply under the same user message.
	regen := map[string]any{}
	for k, v := range msg {
		regen[k] = v
	}
	regen["conversationId"], regen["messageId"] = id, userID
	regen["overrideParentMessageId"], regen["responseMessageId"], regen["isRegenerate"] = userID, firstReply+"_", true
	r.must("POST", "/api/agents/chat/Offline", regen, 200)
	final = r.stream(id, false).until(isFinal)
	if final == nil || get(final, "responseMessage", "parentMessageId") != userID || get(final, "responseMessage", "messageId") == firstReply {
		t.Fatalf("regenerated %v", final)
	}
	second := get(final, "responseMessage", "messageId").(string)

	// Stop a follow-up after its first words.
	follow := map[string]any{}
	for k, v := range msg {
		follow[k] = v
	}
	follow["conversationId"], follow["parentMessageId"], follow["text"] = id, second, "And more"
	delete(follow, "messageId")
	r.must("POST", "/api/agents/chat/Offline", follow, 200)
	s = r.stream(id, false)
	if s.until(isDelta) == nil {
		t.Fatal("no delta in the follow-up")
	}
	r.must("POST", "/api/agents/chat/abort", map[string]string{"conversationId": id}, 200)
	last := s.until(isFinal)
	if last == nil || last["aborted"] != true {
		t.Fatalf("abort frame %v", last)
	}
	_ = json.Unmarshal(r.must("GET", "/api/messages/"+id, nil, 200), &msgs)
	if len(msgs) != 5 || msgs[4]["unfinished"] != true || msgs[3]["text"] != "And more" {
		t.Fatalf("after abort %d messages: %v", len(msgs), msgs)
	}
	var active map[string][]string
	_ = json.Unmarshal(r.must("GET", "/api/agents/chat/active", nil, 200), &active)
	if len(active["activeJobIds"]) != 0 {
		t.Fatalf("active after abort %v", active)
	}

	r.must("DELETE", "/api/convos", map[string]any{"arg": map[string]string{"conversationId": id}}, 201)
	r.must("GET", "/api/messages/"+id, nil, 404)
}
