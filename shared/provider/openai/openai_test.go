package openai

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"sync"
	"testing"

	"github.com/lcgo/lcgo/shared/provider"
)

// captured is what the fake server saw of the last request.
type captured struct {
	mu     sync.Mutex
	path   string
	header http.Header
	body   map[string]any
}

func (c *captured) get() (string, http.Header, map[string]any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.path, c.header, c.body
}

// fakeServer speaks OpenAI's chat-completions SSE protocol. write produces
// the response once the request has been captured.
func fakeServer(t *testing.T, write func(w http.ResponseWriter, r *http.Request)) (*httptest.Server, *captured) {
	t.Helper()
	c := &captured{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		var body map[string]any
		if len(raw) > 0 {
			if err := json.Unmarshal(raw, &body); err != nil {
				t.Errorf("request body is not JSON: %v: %s", err, raw)
			}
		}
		c.mu.Lock()
		c.path, c.header, c.body = r.URL.Path, r.Header.Clone(), body
		c.mu.Unlock()
		write(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv, c
}

func sse(w http.ResponseWriter, data ...string) {
	for _, d := range data {
		fmt.Fprintf(w, "data: %s\n\n", d)
	}
	w.(http.Flusher).Flush()
}

func startSSE(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/event-stream")
	w.WriteHeader(http.StatusOK)
}

func chunk(delta string) string {
	return `{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1700000000,"model":"m","choices":[{"index":0,"delta":` + delta + `,"finish_reason":null}]}`
}

const usageChunk = `{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1700000000,"model":"m","choices":[],"usage":{"prompt_tokens":12,"completion_tokens":5,"total_tokens":17}}`

func newClient(srv *httptest.Server) *Client {
	return New(srv.URL+"/v1", "sk-test", map[string]string{"X-Custom": "yes"}, srv.Client())
}

func collect(events *[]provider.Event) func(provider.Event) error {
	return func(e provider.Event) error {
		*events = append(*events, e)
		return nil
	}
}

func ptr[T any](v T) *T { return &v }

func TestStreamRequestAndDeltas(t *testing.T) {
	srv, c := fakeServer(t, func(w http.ResponseWriter, _ *http.Request) {
		startSSE(w)
		sse(w,
			chunk(`{"role":"assistant","content":""}`),
			chunk(`{"reasoning_content":"thinking"}`),
			chunk(`{"reasoning":" more"}`),
			chunk(`{"content":"Hel"}`),
			chunk(`{"content":"lo"}`),
			`{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1700000000,"model":"m","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}`,
			usageChunk,
			"[DONE]",
		)
	})
	req := provider.Request{
		Model:  "gpt-4o-mini",
		System: "be brief",
		Messages: []provider.Message{
			{Role: provider.RoleUser, Parts: []provider.Part{{Type: provider.PartText, Text: "hi"}}},
			{Role: provider.RoleAssistant, Parts: []provider.Part{{Type: provider.PartText, Text: "hello"}}},
			{Role: provider.RoleUser, Parts: []provider.Part{
				{Type: provider.PartText, Text: "what is this?"},
				{Type: provider.PartImage, MIME: "image/jpeg", Data: []byte{0xff, 0xd8}},
			}},
		},
		Params: provider.Params{
			Temperature: ptr(0.5),
			TopP:        ptr(0.9),
			MaxTokens:   ptr(100),
			Extra:       map[string]any{"seed": 7, "user": "u1"},
			Drop:        []string{"top_p", "user"},
		},
	}
	var events []provider.Event
	if err := newClient(srv).Stream(context.Background(), req, collect(&events)); err != nil {
		t.Fatal(err)
	}
	want := []provider.Event{
		{Kind: provider.EventReasoning, Text: "thinking", ID: "chatcmpl-1"},
		{Kind: provider.EventReasoning, Text: " more", ID: "chatcmpl-1"},
		{Kind: provider.EventText, Text: "Hel", ID: "chatcmpl-1"},
		{Kind: provider.EventText, Text: "lo", ID: "chatcmpl-1"},
		{Kind: provider.EventUsage, Usage: provider.Usage{InputTokens: 12, OutputTokens: 5}, ID: "chatcmpl-1"},
	}
	if !reflect.DeepEqual(events, want) {
		t.Fatalf("events = %+v\nwant %+v", events, want)
	}

	path, h, body := c.get()
	if path != "/v1/chat/completions" {
		t.Errorf("path = %q", path)
	}
	if got := h.Get("Authorization"); got != "Bearer sk-test" {
		t.Errorf("Authorization = %q", got)
	}
	if got := h.Get("X-Custom"); got != "yes" {
		t.Errorf("X-Custom = %q", got)
	}
	if body["model"] != "gpt-4o-mini" || body["stream"] != true || body["temperature"] != 0.5 || body["max_tokens"] != float64(100) {
		t.Errorf("body = %v", body)
	}
	if so, _ := body["stream_options"].(map[string]any); so["include_usage"] != true {
		t.Errorf("stream_options = %v", body["stream_options"])
	}
	if body["seed"] != float64(7) {
		t.Errorf("addParams field seed missing: %v", body)
	}
	for _, k := range []string{"top_p", "user"} {
		if _, ok := body[k]; ok {
			t.Errorf("dropParams field %q present: %v", k, body)
		}
	}
	wantMsgs := []any{
		map[string]any{"role": "system", "content": "be brief"},
		map[string]any{"role": "user", "content": "hi"},
		map[string]any{"role": "assistant", "content": "hello"},
		map[string]any{"role": "user", "content": []any{
			map[string]any{"type": "text", "text": "what is this?"},
			map[string]any{"type": "image_url", "image_url": map[string]any{
				"url": "data:image/jpeg;base64," + base64.StdEncoding.EncodeToString([]byte{0xff, 0xd8}),
			}},
		}},
	}
	if !reflect.DeepEqual(body["messages"], wantMsgs) {
		t.Errorf("messages = %#v", body["messages"])
	}
}

func TestMaxCompletionTokensForReasoningModels(t *testing.T) {
	p := buildParams(provider.Request{Model: "o3-mini", Params: provider.Params{MaxTokens: ptr(5)}})
	raw, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	_ = json.Unmarshal(raw, &m)
	if m["max_completion_tokens"] != float64(5) || m["max_tokens"] != nil {
		t.Fatalf("body = %s", raw)
	}
}

func TestMidStreamDisconnect(t *testing.T) {
	srv, _ := fakeServer(t, func(w http.ResponseWriter, _ *http.Request) {
		startSSE(w)
		sse(w, chunk(`{"content":"one"}`), chunk(`{"content":" two"}`))
		panic(http.ErrAbortHandler) // drop the connection mid-response
	})
	var events []provider.Event
	err := newClient(srv).Stream(context.Background(), provider.Request{Model: "m"}, collect(&events))
	var se *provider.StreamError
	if !errors.As(err, &se) || !se.Partial || !errors.Is(err, provider.ErrInterrupted) {
		t.Fatalf("err = %#v", err)
	}
	want := []provider.Event{{Kind: provider.EventText, Text: "one", ID: "chatcmpl-1"}, {Kind: provider.EventText, Text: " two", ID: "chatcmpl-1"}}
	if !reflect.DeepEqual(events, want) {
		t.Fatalf("events = %+v", events)
	}
}

func TestMidStreamErrorEvent(t *testing.T) {
	srv, _ := fakeServer(t, func(w http.ResponseWriter, _ *http.Request) {
		startSSE(w)
		sse(w, chunk(`{"content":"one"}`), chunk(`{"content":" two"}`))
		fmt.Fprint(w, "event: error\ndata: {\"error\":{\"message\":\"overloaded\",\"type\":\"server_error\"}}\n\n")
	})
	var events []provider.Event
	err := newClient(srv).Stream(context.Background(), provider.Request{Model: "m"}, collect(&events))
	var se *provider.StreamError
	if !errors.As(err, &se) || !se.Partial || len(events) != 2 {
		t.Fatalf("err = %v, events = %+v", err, events)
	}
}

func TestHTTPErrorBeforeOutput(t *testing.T) {
	for _, status := range []int{http.StatusUnauthorized, http.StatusInternalServerError} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			srv, _ := fakeServer(t, func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(status)
				fmt.Fprint(w, `{"error":{"message":"nope","type":"invalid_request_error","code":"invalid_api_key","param":null}}`)
			})
			var events []provider.Event
			err := newClient(srv).Stream(context.Background(), provider.Request{Model: "m"}, collect(&events))
			var se *provider.StreamError
			if !errors.As(err, &se) || se.Partial || se.Status != status || errors.Is(err, provider.ErrInterrupted) {
				t.Fatalf("err = %#v", err)
			}
			if len(events) != 0 {
				t.Fatalf("events = %+v", events)
			}
		})
	}
}

func TestContextCancel(t *testing.T) {
	srv, _ := fakeServer(t, func(w http.ResponseWriter, r *http.Request) {
		startSSE(w)
		sse(w, chunk(`{"content":"one"}`))
		<-r.Context().Done()
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	n := 0
	err := newClient(srv).Stream(ctx, provider.Request{Model: "m"}, func(provider.Event) error {
		n++
		cancel()
		return nil
	})
	if !errors.Is(err, context.Canceled) || n != 1 {
		t.Fatalf("err = %v, n = %d", err, n)
	}
}

func TestEmitErrorStops(t *testing.T) {
	srv, _ := fakeServer(t, func(w http.ResponseWriter, _ *http.Request) {
		startSSE(w)
		sse(w, chunk(`{"content":"one"}`), chunk(`{"content":"two"}`), "[DONE]")
	})
	stop := errors.New("stop")
	n := 0
	err := newClient(srv).Stream(context.Background(), provider.Request{Model: "m"}, func(provider.Event) error {
		n++
		return stop
	})
	if err != stop || n != 1 {
		t.Fatalf("err = %v, n = %d", err, n)
	}
}

func TestListModels(t *testing.T) {
	srv, c := fakeServer(t, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"object":"list","data":[{"id":"gpt-4o","object":"model","created":1,"owned_by":"openai"},{"id":"local-llama","object":"model","created":2,"owned_by":"me"}]}`)
	})
	ids, err := newClient(srv).ListModels(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(ids, []string{"gpt-4o", "local-llama"}) {
		t.Fatalf("ids = %v", ids)
	}
	path, h, _ := c.get()
	if path != "/v1/models" || h.Get("Authorization") != "Bearer sk-test" || h.Get("X-Custom") != "yes" {
		t.Fatalf("path = %q, header = %v", path, h)
	}
}

func TestListModelsError(t *testing.T) {
	srv, _ := fakeServer(t, func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, `{"error":{"message":"bad key"}}`, http.StatusUnauthorized)
	})
	_, err := newClient(srv).ListModels(context.Background())
	var se *provider.StreamError
	if !errors.As(err, &se) || se.Status != http.StatusUnauthorized {
		t.Fatalf("err = %v", err)
	}
}
