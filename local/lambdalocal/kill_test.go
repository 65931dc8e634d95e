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
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lcgo/lcgo/shared/routes"
)

// stuckOpenAI is an OpenAI-compatible server whose streamed reply sends one
// chunk and then nothing more, as a provider does mid-reply. Titles are
// answered at once.
func stuckOpenAI(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "text/event-stream")
		chunk := func(s string) {
			b, _ := json.Marshal(map[string]any{
				"id": "chatcmpl-stuck", "object": "chat.completion.chunk", "created": 1, "model": "gpt-4o",
				"choices": []any{map[string]any{"index": 0, "delta": map[string]string{"content": s}}},
			})
			io.WriteString(w, "data: "+string(b)+"\n\n")
			w.(http.Flusher).Flush()
		}
		if strings.Contains(string(body), "concise title") {
			chunk("Stuck Title")
			io.WriteString(w, "data: [DONE]\n\n")
			return
		}
		chunk("first ")
		<-r.Context().Done()
	}))
	t.Cleanup(srv.Close)
	return srv
}

// syncBuffer collects the functions' output.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// killBusy kills the function's environments that are running an
// invocation, as Lambda does to one that is stopped mid-invocation (a
// crash, an out-of-memory kill). It returns how many it killed.
func killBusy(f *function) int {
	f.mu.Lock()
	idle := map[*environment]bool{}
	for _, e := range f.idle {
		idle[e] = true
	}
	var busy []*environment
	for e := range f.live {
		if !idle[e] {
			busy = append(busy, e)
		}
	}
	f.mu.Unlock()
	for _, e := range busy {
		e.kill()
	}
	return len(busy)
}

// TestChatSurvivesAKilledLambda runs the auth, chat and messages functions'
// real bootstraps over DynamoDB (minidyn; no Redis, so jobs live in the
// table) and kills the chat environment streaming a reply, mid-reply. The
// client's resume reaches another environment, which follows the job,
// finds it stale once its process has stopped beating, and ends the stream
// with the abort final frame of what was sent; the user message and the
// reply so far (marked unfinished) are stored, and the conversation goes on.
func TestChatSurvivesAKilledLambda(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the bootstraps; skipped with -short")
	}
	provider := stuckOpenAI(t)
	out := &syncBuffer{}
	o := options{
		host: "127.0.0.1", port: 0, warm: 1, chatWarm: 2, max: 2, chatMax: 4,
		timeout: 29 * time.Second, chatTimeout: 2 * time.Minute, secretsManager: true,
		areas: []string{routes.Auth, routes.Chat, routes.Messages}, logs: out,
		env: envFlag{
			"OPENAI_API_KEY=sk-test", "OPENAI_REVERSE_PROXY=" + provider.URL + "/v1", "OPENAI_MODELS=gpt-4o",
			"STREAM_HEARTBEAT=100", "STREAM_STALE_AFTER=1500",
		},
	}
	log := slog.New(slog.NewTextHandler(out, nil))
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	st, err := startStack(ctx, o, log)
	if err != nil {
		t.Fatal(err)
	}
	defer st.close()
	defer func() {
		if t.Failed() {
			t.Logf("functions' output:\n%s", out.String())
		}
	}()

	var token string
	call := func(method, path string, body any) (int, []byte) {
		t.Helper()
		var rd io.Reader
		if body != nil {
			b, _ := json.Marshal(body)
			rd = bytes.NewReader(b)
		}
		req, _ := http.NewRequestWithContext(ctx, method, st.url+path, rd)
		req.Header.Set("Content-Type", "application/json")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, b
	}
	if code, b := call("POST", "/api/auth/register", map[string]string{
		"name": "Alice", "username": "alice", "email": "alice@example.com",
		"password": "correct horse battery", "confirm_password": "correct horse battery",
	}); code != 200 {
		t.Fatalf("register: %d %s", code, b)
	}
	code, b := call("POST", "/api/auth/login", map[string]string{"email": "alice@example.com", "password": "correct horse battery"})
	var login struct{ Token string }
	if code != 200 || json.Unmarshal(b, &login) != nil || login.Token == "" {
		t.Fatalf("login: %d %s", code, b)
	}
	token = login.Token

	const userMsgID = "7b1c0000-0000-4000-8000-00000000000a"
	code, b = call("POST", "/api/agents/chat/openAI", map[string]any{
		"text": "Say hello", "sender": "User", "isCreatedByUser": true, "parentMessageId": "00000000-0000-0000-0000-000000000000",
		"messageId": userMsgID, "endpoint": "openAI", "model": "gpt-4o",
	})
	var started struct{ StreamID string }
	if code != 200 || json.Unmarshal(b, &started) != nil || started.StreamID == "" {
		t.Fatalf("start: %d %s", code, b)
	}
	id := started.StreamID

	// stream opens the stream and sends its data lines to a channel,
	// closed when the stream ends.
	stream := func(resume bool) <-chan string {
		t.Helper()
		u := st.url + "/api/agents/chat/stream/" + id
		if resume {
			u += "?resume=true"
		}
		req, _ := http.NewRequestWithContext(ctx, "GET", u, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Accept", "text/event-stream")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		if res.StatusCode != 200 {
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			t.Fatalf("stream (resume %v): %d %s", resume, res.StatusCode, b)
		}
		ch := make(chan string, 64)
		go func() {
			defer close(ch)
			defer res.Body.Close()
			sc := bufio.NewScanner(res.Body)
			sc.Buffer(make([]byte, 1<<20), 1<<20)
			for sc.Scan() {
				if line := sc.Text(); strings.HasPrefix(line, "data: ") {
					ch <- line[6:]
				}
			}
		}()
		return ch
	}
	next := func(ch <-chan string, what string) (string, bool) {
		t.Helper()
		select {
		case f, ok := <-ch:
			return f, ok
		case <-time.After(30 * time.Second):
			t.Fatalf("%s: no frame within 30 s", what)
		}
		return "", false
	}

	first := stream(false)
	for {
		f, ok := next(first, "stream")
		if !ok {
			t.Fatal("the stream ended before the first delta")
		}
		if strings.Contains(f, `"on_message_delta"`) {
			break
		}
	}
	if n := killBusy(st.fns.fns[routes.Chat]); n != 1 {
		t.Fatalf("killed %d chat environments, want the one streaming", n)
	}
	for f := range first {
		if strings.Contains(f, `"final":true`) {
			t.Fatalf("a final frame from the killed environment: %s", f)
		}
	}

	// The client resumes: another environment follows the job until it is
	// found stale, then ends it.
	resumed := stream(true)
	syncF, ok := next(resumed, "resume")
	if !ok || !strings.HasPrefix(syncF, `{"sync":true`) || !strings.Contains(syncF, `"text":"first "`) {
		t.Fatalf("first resumed frame %q", syncF)
	}
	var frames []string
	for {
		f, ok := next(resumed, "resume")
		if !ok {
			break
		}
		frames = append(frames, f)
	}
	if len(frames) != 1 {
		t.Fatalf("resumed frames after sync: %q", frames)
	}
	var final struct {
		Final, Aborted  bool
		ResponseMessage struct {
			MessageID  string
			Unfinished bool
			Content    []struct{ Type, Text string }
		}
	}
	if err := json.Unmarshal([]byte(frames[0]), &final); err != nil || !final.Final || !final.Aborted ||
		!final.ResponseMessage.Unfinished || len(final.ResponseMessage.Content) != 1 || final.ResponseMessage.Content[0].Text != "first " {
		t.Fatalf("final frame %s", frames[0])
	}

	// Stored: the user message, and the reply so far marked unfinished.
	code, b = call("GET", "/api/messages/"+id, nil)
	var msgs []struct {
		MessageID, ParentMessageID  string
		IsCreatedByUser, Unfinished bool
		Text                        string
		Content                     []struct{ Type, Text string }
	}
	if code != 200 || json.Unmarshal(b, &msgs) != nil || len(msgs) != 2 {
		t.Fatalf("messages: %d %s", code, b)
	}
	if u := msgs[0]; u.MessageID != userMsgID || !u.IsCreatedByUser || u.Text != "Say hello" {
		t.Fatalf("user message %s", b)
	}
	if r := msgs[1]; r.MessageID != final.ResponseMessage.MessageID || r.ParentMessageID != userMsgID || !r.Unfinished ||
		len(r.Content) != 1 || r.Content[0].Text != "first " {
		t.Fatalf("reply %s", b)
	}
	if code, b := call("GET", "/api/agents/chat/active", nil); code != 200 || string(b) != `{"activeJobIds":[]}` {
		t.Fatalf("active: %d %s", code, b)
	}
	// The conversation takes the next message (no 409 from a job left
	// running).
	code, b = call("POST", "/api/agents/chat/openAI", map[string]any{
		"text": "Again", "conversationId": id, "parentMessageId": final.ResponseMessage.MessageID,
		"messageId": "7b1c0000-0000-4000-8000-00000000000b", "endpoint": "openAI", "model": "gpt-4o",
	})
	if code != 200 {
		t.Fatalf("next message: %d %s", code, b)
	}
}
