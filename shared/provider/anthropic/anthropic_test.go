package anthropic

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
	"strings"
	"sync"
	"testing"

	sdk "github.com/anthropics/anthropic-sdk-go/v2"

	"github.com/lcgo/lcgo/shared/provider"
)

// captured is what the fake server saw of the requests it served.
type captured struct {
	mu     sync.Mutex
	n      int
	method string
	path   string
	query  string
	header http.Header
	body   map[string]any
}

func (c *captured) get() (string, http.Header, map[string]any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.path, c.header, c.body
}

// fakeServer answers every request with write, once the request has been
// captured.
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
		c.n++
		c.method, c.path, c.query, c.header, c.body = r.Method, r.URL.Path, r.URL.RawQuery, r.Header.Clone(), body
		c.mu.Unlock()
		write(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv, c
}

// sse writes Anthropic SSE frames: each pair is an event name and its data.
func sse(w http.ResponseWriter, frames ...string) {
	for i := 0; i+1 < len(frames); i += 2 {
		fmt.Fprintf(w, "event: %s\ndata: %s\n\n", frames[i], frames[i+1])
	}
	w.(http.Flusher).Flush()
}

func startSSE(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("request-id", "req_test")
	w.WriteHeader(http.StatusOK)
}

const msgID = "msg_01TestStreamId"

var (
	messageStart = []string{"message_start", `{"type":"message_start","message":{"id":"` + msgID + `","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":25,"cache_creation_input_tokens":3,"cache_read_input_tokens":2,"output_tokens":1}}}`}
	ping         = []string{"ping", `{"type": "ping"}`}
	messageDelta = []string{"message_delta", `{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":15}}`}
	messageStop  = []string{"message_stop", `{"type":"message_stop"}`}
	overloaded   = []string{"error", `{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`}
)

func blockStart(index int, block string) []string {
	return []string{"content_block_start", fmt.Sprintf(`{"type":"content_block_start","index":%d,"content_block":%s}`, index, block)}
}

func blockDelta(index int, delta string) []string {
	return []string{"content_block_delta", fmt.Sprintf(`{"type":"content_block_delta","index":%d,"delta":%s}`, index, delta)}
}

func blockStop(index int) []string {
	return []string{"content_block_stop", fmt.Sprintf(`{"type":"content_block_stop","index":%d}`, index)}
}

func textDelta(index int, text string) []string {
	b, _ := json.Marshal(text)
	return blockDelta(index, `{"type":"text_delta","text":`+string(b)+`}`)
}

func frames(parts ...[]string) []string {
	var out []string
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func newClient(srv *httptest.Server) *Client {
	return New(srv.URL, "sk-ant-test", map[string]string{"X-Custom": "yes"}, srv.Client())
}

func collect(events *[]provider.Event) func(provider.Event) error {
	return func(e provider.Event) error {
		*events = append(*events, e)
		return nil
	}
}

func ptr[T any](v T) *T { return &v }

func text(s string) provider.Event {
	return provider.Event{Kind: provider.EventText, Text: s, ID: msgID}
}

func TestStreamRequestAndDeltas(t *testing.T) {
	srv, c := fakeServer(t, func(w http.ResponseWriter, _ *http.Request) {
		startSSE(w)
		sse(w, frames(
			messageStart,
			blockStart(0, `{"type":"text","text":""}`),
			ping,
			textDelta(0, "Hel"),
			textDelta(0, "lo"),
			blockStop(0),
			messageDelta,
			messageStop,
		)...)
	})
	img := []byte{0xff, 0xd8, 0xff, 0xe0}
	req := provider.Request{
		Model:  "claude-sonnet-4-5",
		System: "be brief",
		Messages: []provider.Message{
			{Role: provider.RoleUser, Parts: []provider.Part{{Type: provider.PartText, Text: "hi"}}},
			{Role: provider.RoleAssistant, Parts: []provider.Part{{Type: provider.PartText, Text: "hello"}}},
			{Role: provider.RoleSystem, Parts: []provider.Part{{Type: provider.PartText, Text: "use English"}}},
			{Role: provider.RoleUser, Parts: []provider.Part{
				{Type: provider.PartText, Text: "what is this?"},
				{Type: provider.PartImage, MIME: "image/jpeg", Data: img},
			}},
		},
		Params: provider.Params{
			Temperature: ptr(0.5),
			TopP:        ptr(0.9),
			TopK:        ptr(40),
			MaxTokens:   ptr(100),
			Stop:        []string{"END", ""},
			Extra:       map[string]any{"metadata": map[string]any{"user_id": "u1"}, "service_tier": "auto"},
			Drop:        []string{"top_p", "service_tier"},
		},
	}
	var events []provider.Event
	if err := newClient(srv).Stream(context.Background(), req, collect(&events)); err != nil {
		t.Fatal(err)
	}
	want := []provider.Event{
		text("Hel"),
		text("lo"),
		{Kind: provider.EventUsage, Usage: provider.Usage{InputTokens: 30, OutputTokens: 15}, ID: msgID},
	}
	if !reflect.DeepEqual(events, want) {
		t.Fatalf("events = %+v\nwant %+v", events, want)
	}

	path, h, body := c.get()
	if c.method != http.MethodPost || path != "/v1/messages" {
		t.Errorf("request = %s %s", c.method, path)
	}
	for k, v := range map[string]string{
		"X-Api-Key":         "sk-ant-test",
		"Authorization":     "Bearer sk-ant-test",
		"X-Custom":          "yes",
		"Anthropic-Version": "2026-10-21",
		"Content-Type":      "application/json",
	} {
		if got := h.Get(k); got != v {
			t.Errorf("header %s = %q, want %q", k, got, v)
		}
	}
	wantBody := map[string]any{
		"model":          "claude-sonnet-4-5",
		"stream":         true,
		"max_tokens":     float64(100),
		"temperature":    0.5,
		"top_k":          float64(40),
		"stop_sequences": []any{"END"},
		"metadata":       map[string]any{"user_id": "u1"},
		"system": []any{
			map[string]any{"type": "text", "text": "be brief"},
			map[string]any{"type": "text", "text": "use English"},
		},
		"messages": []any{
			map[string]any{"role": "user", "content": []any{map[string]any{"type": "text", "text": "hi"}}},
			map[string]any{"role": "assistant", "content": []any{map[string]any{"type": "text", "text": "hello"}}},
			map[string]any{"role": "user", "content": []any{
				map[string]any{"type": "text", "text": "what is this?"},
				map[string]any{"type": "image", "source": map[string]any{
					"type":       "base64",
					"media_type": "image/jpeg",
					"data":       base64.StdEncoding.EncodeToString(img),
				}},
			}},
		},
	}
	if !reflect.DeepEqual(body, wantBody) {
		got, _ := json.MarshalIndent(body, "", "  ")
		t.Errorf("body = %s", got)
	}
}

func TestStreamThinking(t *testing.T) {
	srv, c := fakeServer(t, func(w http.ResponseWriter, _ *http.Request) {
		startSSE(w)
		sse(w, frames(
			messageStart,
			blockStart(0, `{"type":"thinking","thinking":"","signature":""}`),
			blockDelta(0, `{"type":"thinking_delta","thinking":"Let me think"}`),
			blockDelta(0, `{"type":"thinking_delta","thinking":" it through."}`),
			blockDelta(0, `{"type":"signature_delta","signature":"EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds"}`),
			blockStop(0),
			blockStart(1, `{"type":"redacted_thinking","data":"EmwKAhgBEgy3va3pzix"}`),
			blockStop(1),
			blockStart(2, `{"type":"text","text":""}`),
			ping,
			textDelta(2, "The answer"),
			textDelta(2, " is 4."),
			blockStop(2),
			[]string{"message_delta", `{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"input_tokens":40,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":120}}`},
			messageStop,
		)...)
	})
	req := provider.Request{
		Model:    "claude-sonnet-4-5",
		Messages: []provider.Message{{Role: provider.RoleUser, Parts: []provider.Part{{Text: "2+2?"}}}},
		Params: provider.Params{
			Thinking:       true,
			ThinkingBudget: 3000,
			MaxTokens:      ptr(1000),
			Temperature:    ptr(0.2),
			TopP:           ptr(0.5),
			TopK:           ptr(5),
		},
	}
	var events []provider.Event
	if err := newClient(srv).Stream(context.Background(), req, collect(&events)); err != nil {
		t.Fatal(err)
	}
	want := []provider.Event{
		{Kind: provider.EventReasoning, Text: "Let me think", ID: msgID},
		{Kind: provider.EventReasoning, Text: " it through.", ID: msgID},
		text("The answer"),
		text(" is 4."),
		{Kind: provider.EventUsage, Usage: provider.Usage{InputTokens: 40, OutputTokens: 120}, ID: msgID},
	}
	if !reflect.DeepEqual(events, want) {
		t.Fatalf("events = %+v\nwant %+v", events, want)
	}
	_, _, body := c.get()
	wantBody := map[string]any{
		"model":      "claude-sonnet-4-5",
		"stream":     true,
		"max_tokens": float64(4000),
		"thinking":   map[string]any{"type": "enabled", "budget_tokens": float64(3000)},
		"messages": []any{
			map[string]any{"role": "user", "content": []any{map[string]any{"type": "text", "text": "2+2?"}}},
		},
	}
	if !reflect.DeepEqual(body, wantBody) {
		got, _ := json.MarshalIndent(body, "", "  ")
		t.Errorf("body = %s", got)
	}
}

func TestThinkingBudgetAndMaxTokens(t *testing.T) {
	for _, tc := range []struct {
		name          string
		params        provider.Params
		maxTokens     float64
		budget        float64
		noTemperature bool
	}{
		{name: "defaults", params: provider.Params{Thinking: true}, maxTokens: DefaultMaxTokens, budget: DefaultThinkingBudget},
		{name: "budget above default max", params: provider.Params{Thinking: true, ThinkingBudget: 10000}, maxTokens: DefaultMaxTokens + 10000, budget: 10000},
		{name: "max equals budget", params: provider.Params{Thinking: true, ThinkingBudget: 2048, MaxTokens: ptr(2048)}, maxTokens: 4096, budget: 2048},
		{name: "max above budget kept", params: provider.Params{Thinking: true, ThinkingBudget: 2048, MaxTokens: ptr(5000)}, maxTokens: 5000, budget: 2048},
		{name: "budget raised to minimum", params: provider.Params{Thinking: true, ThinkingBudget: 100, MaxTokens: ptr(4096)}, maxTokens: 4096, budget: MinThinkingBudget},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.params.Temperature = ptr(0.7)
			m := marshal(t, buildParams(provider.Request{Model: "m", Params: tc.params}))
			want := map[string]any{"type": "enabled", "budget_tokens": tc.budget}
			if m["max_tokens"] != tc.maxTokens || !reflect.DeepEqual(m["thinking"], want) {
				t.Fatalf("max_tokens = %v, thinking = %v", m["max_tokens"], m["thinking"])
			}
			if _, ok := m["temperature"]; ok {
				t.Fatalf("temperature sent with thinking: %v", m)
			}
		})
	}
	m := marshal(t, buildParams(provider.Request{Model: "m"}))
	if m["max_tokens"] != float64(DefaultMaxTokens) || m["thinking"] != nil {
		t.Fatalf("without thinking: %v", m)
	}
}

func marshal(t *testing.T, p sdk.MessageNewParams) map[string]any {
	t.Helper()
	raw, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestMessageMapping(t *testing.T) {
	png := []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
	m := marshal(t, buildParams(provider.Request{Model: "m", Messages: []provider.Message{
		{Role: provider.RoleUser, Parts: []provider.Part{{Type: provider.PartImage, Data: png}, {Type: provider.PartText, Text: ""}}},
		{Role: provider.RoleAssistant},
		{Role: provider.RoleUser, Parts: []provider.Part{{Type: provider.PartText}}},
		{Role: provider.RoleUser, Parts: []provider.Part{{Type: provider.PartImage, Data: []byte("?")}}},
	}}))
	want := []any{
		map[string]any{"role": "user", "content": []any{
			map[string]any{"type": "image", "source": map[string]any{"type": "base64", "media_type": "image/png", "data": base64.StdEncoding.EncodeToString(png)}},
		}},
		map[string]any{"role": "user", "content": []any{
			map[string]any{"type": "image", "source": map[string]any{"type": "base64", "media_type": "image/png", "data": base64.StdEncoding.EncodeToString([]byte("?"))}},
		}},
	}
	if !reflect.DeepEqual(m["messages"], want) {
		t.Fatalf("messages = %#v", m["messages"])
	}
	if _, ok := m["system"]; ok {
		t.Fatalf("system = %v", m["system"])
	}
}

func TestMidStreamErrorEvent(t *testing.T) {
	srv, _ := fakeServer(t, func(w http.ResponseWriter, _ *http.Request) {
		startSSE(w)
		sse(w, frames(messageStart, blockStart(0, `{"type":"text","text":""}`), textDelta(0, "one"), textDelta(0, " two"), overloaded)...)
	})
	var events []provider.Event
	err := newClient(srv).Stream(context.Background(), provider.Request{Model: "m"}, collect(&events))
	var se *provider.StreamError
	if !errors.As(err, &se) || !se.Partial || !errors.Is(err, provider.ErrInterrupted) || se.Status != 529 {
		t.Fatalf("err = %#v", err)
	}
	var apiErr *sdk.Error
	if !errors.As(err, &apiErr) || apiErr.Type() != "overloaded_error" || apiErr.Message != "Overloaded" {
		t.Fatalf("err = %v", err)
	}
	if want := []provider.Event{text("one"), text(" two")}; !reflect.DeepEqual(events, want) {
		t.Fatalf("events = %+v", events)
	}
}

func TestErrorEventBeforeOutput(t *testing.T) {
	srv, _ := fakeServer(t, func(w http.ResponseWriter, _ *http.Request) {
		startSSE(w)
		sse(w, frames(messageStart, ping, overloaded)...)
	})
	var events []provider.Event
	err := newClient(srv).Stream(context.Background(), provider.Request{Model: "m"}, collect(&events))
	var se *provider.StreamError
	if !errors.As(err, &se) || se.Partial || errors.Is(err, provider.ErrInterrupted) || se.Status != 529 || len(events) != 0 {
		t.Fatalf("err = %#v, events = %+v", err, events)
	}
}

func TestMidStreamDisconnect(t *testing.T) {
	srv, _ := fakeServer(t, func(w http.ResponseWriter, _ *http.Request) {
		startSSE(w)
		sse(w, frames(messageStart, blockStart(0, `{"type":"text","text":""}`), textDelta(0, "one"), textDelta(0, " two"))...)
		panic(http.ErrAbortHandler) // drop the connection mid-response
	})
	var events []provider.Event
	err := newClient(srv).Stream(context.Background(), provider.Request{Model: "m"}, collect(&events))
	var se *provider.StreamError
	if !errors.As(err, &se) || !se.Partial || !errors.Is(err, provider.ErrInterrupted) {
		t.Fatalf("err = %#v", err)
	}
	if want := []provider.Event{text("one"), text(" two")}; !reflect.DeepEqual(events, want) {
		t.Fatalf("events = %+v", events)
	}
}

func TestStreamEndsBeforeMessageStop(t *testing.T) {
	srv, _ := fakeServer(t, func(w http.ResponseWriter, _ *http.Request) {
		startSSE(w)
		sse(w, frames(messageStart, blockStart(0, `{"type":"text","text":""}`), textDelta(0, "one"), blockStop(0))...)
	})
	var events []provider.Event
	err := newClient(srv).Stream(context.Background(), provider.Request{Model: "m"}, collect(&events))
	if !errors.Is(err, provider.ErrInterrupted) || len(events) != 1 {
		t.Fatalf("err = %v, events = %+v", err, events)
	}
}

func TestHTTPErrorBeforeOutput(t *testing.T) {
	for _, tc := range []struct {
		status int
		typ    string
	}{
		{http.StatusBadRequest, "invalid_request_error"},
		{http.StatusUnauthorized, "authentication_error"},
		{http.StatusTooManyRequests, "rate_limit_error"},
		{http.StatusInternalServerError, "api_error"},
		{529, "overloaded_error"},
	} {
		t.Run(fmt.Sprint(tc.status), func(t *testing.T) {
			srv, c := fakeServer(t, func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.Header().Set("request-id", "req_err")
				w.WriteHeader(tc.status)
				fmt.Fprintf(w, `{"type":"error","error":{"type":%q,"message":"nope"},"request_id":"req_err"}`, tc.typ)
			})
			var events []provider.Event
			err := newClient(srv).Stream(context.Background(), provider.Request{Model: "m"}, collect(&events))
			var se *provider.StreamError
			if !errors.As(err, &se) || se.Partial || se.Status != tc.status || errors.Is(err, provider.ErrInterrupted) {
				t.Fatalf("err = %#v", err)
			}
			var apiErr *sdk.Error
			if !errors.As(err, &apiErr) || string(apiErr.Type()) != tc.typ || apiErr.RequestID != "req_err" {
				t.Fatalf("err = %v", err)
			}
			if len(events) != 0 {
				t.Fatalf("events = %+v", events)
			}
			c.mu.Lock()
			n := c.n
			c.mu.Unlock()
			if n != 1 {
				t.Fatalf("server saw %d requests; retries must be off", n)
			}
		})
	}
}

func TestContextCancel(t *testing.T) {
	srv, _ := fakeServer(t, func(w http.ResponseWriter, r *http.Request) {
		startSSE(w)
		sse(w, frames(messageStart, blockStart(0, `{"type":"text","text":""}`), textDelta(0, "one"))...)
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
	var se *provider.StreamError
	if errors.As(err, &se) {
		t.Fatalf("cancellation wrapped in %#v", se)
	}
}

func TestContextCancelBeforeResponse(t *testing.T) {
	srv, _ := fakeServer(t, func(_ http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := newClient(srv).Stream(ctx, provider.Request{Model: "m"}, func(provider.Event) error {
		t.Error("unexpected event")
		return nil
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
}

func TestEmitErrorStops(t *testing.T) {
	srv, _ := fakeServer(t, func(w http.ResponseWriter, _ *http.Request) {
		startSSE(w)
		sse(w, frames(messageStart, blockStart(0, `{"type":"text","text":""}`), textDelta(0, "one"), textDelta(0, "two"), blockStop(0), messageDelta, messageStop)...)
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

func TestHeadersOverrideVersion(t *testing.T) {
	srv, c := fakeServer(t, func(w http.ResponseWriter, _ *http.Request) {
		startSSE(w)
		sse(w, frames(messageStart, messageDelta, messageStop)...)
	})
	cl := New(srv.URL+"/proxy", "", map[string]string{"anthropic-version": "2023-06-01", "anthropic-beta": "b1"}, srv.Client())
	var events []provider.Event
	if err := cl.Stream(context.Background(), provider.Request{Model: "m"}, collect(&events)); err != nil {
		t.Fatal(err)
	}
	want := []provider.Event{{Kind: provider.EventUsage, Usage: provider.Usage{InputTokens: 30, OutputTokens: 15}, ID: msgID}}
	if !reflect.DeepEqual(events, want) {
		t.Fatalf("events = %+v", events)
	}
	path, h, _ := c.get()
	if path != "/proxy/v1/messages" || h.Get("Anthropic-Version") != "2023-06-01" || h.Get("Anthropic-Beta") != "b1" {
		t.Fatalf("path = %q, header = %v", path, h)
	}
	if h.Get("Authorization") != "" || h.Get("X-Api-Key") != "" {
		t.Fatalf("credentials sent without an API key: %v", h)
	}
}

func TestIgnoresEnvironment(t *testing.T) {
	t.Setenv("ANTHROPIC_API_KEY", "sk-env")
	t.Setenv("ANTHROPIC_AUTH_TOKEN", "tok-env")
	t.Setenv("ANTHROPIC_BASE_URL", "http://127.0.0.1:1")
	t.Setenv("ANTHROPIC_CUSTOM_HEADERS", "X-Env: 1")
	srv, c := fakeServer(t, func(w http.ResponseWriter, _ *http.Request) {
		startSSE(w)
		sse(w, frames(messageStart, messageStop)...)
	})
	if err := newClient(srv).Stream(context.Background(), provider.Request{Model: "m"}, collect(new([]provider.Event))); err != nil {
		t.Fatal(err)
	}
	_, h, _ := c.get()
	if h.Get("X-Api-Key") != "sk-ant-test" || h.Get("Authorization") != "Bearer sk-ant-test" || h.Get("X-Env") != "" {
		t.Fatalf("header = %v", h)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestDefaultBaseURL(t *testing.T) {
	var url string
	hc := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		url = r.URL.String()
		body := "event: message_start\ndata: " + messageStart[1] + "\n\nevent: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"
		return &http.Response{
			StatusCode: http.StatusOK,
			Header:     http.Header{"Content-Type": {"text/event-stream"}},
			Body:       io.NopCloser(strings.NewReader(body)),
			Request:    r,
		}, nil
	})}
	if err := New("", "k", nil, hc).Stream(context.Background(), provider.Request{Model: "m"}, collect(new([]provider.Event))); err != nil {
		t.Fatal(err)
	}
	if url != "https://api.anthropic.com/v1/messages" {
		t.Fatalf("url = %q", url)
	}
}

func TestListModels(t *testing.T) {
	srv, c := fakeServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Query().Get("after_id") == "" {
			fmt.Fprint(w, `{"data":[{"type":"model","id":"claude-opus-4-1","display_name":"Claude Opus 4.1","created_at":"2025-08-05T00:00:00Z"},{"type":"model","id":"claude-sonnet-4-5","display_name":"Claude Sonnet 4.5","created_at":"2025-09-29T00:00:00Z"}],"has_more":true,"first_id":"claude-opus-4-1","last_id":"claude-sonnet-4-5"}`)
			return
		}
		fmt.Fprint(w, `{"data":[{"type":"model","id":"claude-haiku-4-5","display_name":"Claude Haiku 4.5","created_at":"2025-10-01T00:00:00Z"}],"has_more":false,"first_id":"claude-haiku-4-5","last_id":"claude-haiku-4-5"}`)
	})
	ids, err := newClient(srv).ListModels(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"claude-opus-4-1", "claude-sonnet-4-5", "claude-haiku-4-5"}; !reflect.DeepEqual(ids, want) {
		t.Fatalf("ids = %v", ids)
	}
	path, h, _ := c.get()
	if c.method != http.MethodGet || path != "/v1/models" || !strings.Contains(c.query, "after_id=claude-sonnet-4-5") {
		t.Fatalf("request = %s %s?%s", c.method, path, c.query)
	}
	if h.Get("X-Api-Key") != "sk-ant-test" || h.Get("X-Custom") != "yes" || h.Get("Anthropic-Version") == "" {
		t.Fatalf("header = %v", h)
	}
}

func TestListModelsError(t *testing.T) {
	srv, _ := fakeServer(t, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprint(w, `{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"}}`)
	})
	_, err := newClient(srv).ListModels(context.Background())
	var se *provider.StreamError
	if !errors.As(err, &se) || se.Status != http.StatusUnauthorized || se.Partial {
		t.Fatalf("err = %v", err)
	}
}
