package google

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

	"github.com/lcgo/lcgo/shared/provider"
)

// request is what the fake server saw of one request.
type request struct {
	method string
	path   string
	query  string
	header http.Header
	body   map[string]any
}

// captured records every request the fake server received.
type captured struct {
	mu   sync.Mutex
	reqs []request
}

func (c *captured) all() []request {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]request(nil), c.reqs...)
}

// last returns the last request, failing the test when there was none.
func (c *captured) last(t *testing.T) request {
	t.Helper()
	reqs := c.all()
	if len(reqs) == 0 {
		t.Fatal("no request reached the server")
	}
	return reqs[len(reqs)-1]
}

// fakeServer speaks the Gemini API's REST protocol. write produces the
// response once the request has been captured.
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
		c.reqs = append(c.reqs, request{r.Method, r.URL.Path, r.URL.RawQuery, r.Header.Clone(), body})
		c.mu.Unlock()
		write(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv, c
}

// sse writes each chunk as a server-sent event, the way
// streamGenerateContent?alt=sse answers.
func sse(w http.ResponseWriter, chunks ...string) {
	for _, d := range chunks {
		fmt.Fprintf(w, "data: %s\n\n", d)
	}
	w.(http.Flusher).Flush()
}

func startSSE(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/event-stream")
	w.WriteHeader(http.StatusOK)
}

// chunk returns a GenerateContentResponse with one candidate made of parts
// (JSON objects) and, when set, a finish reason and usage metadata.
func chunk(parts, finish, usage string) string {
	cand := `{"content":{"parts":[` + parts + `],"role":"model"},"index":0`
	if finish != "" {
		cand += `,"finishReason":"` + finish + `"`
	}
	cand += `}`
	s := `{"candidates":[` + cand + `]`
	if usage != "" {
		s += `,"usageMetadata":` + usage
	}
	return s + `,"modelVersion":"gemini-2.5-flash","responseId":"resp-1"}`
}

func text(s string) string    { return `{"text":` + quote(s) + `}` }
func thought(s string) string { return `{"text":` + quote(s) + `,"thought":true}` }

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

const testModel = "gemini-2.5-flash"

const streamPath = "/v1beta/models/" + testModel + ":streamGenerateContent"

func newClient(t *testing.T, srv *httptest.Server) *Client {
	t.Helper()
	c, err := New(context.Background(), srv.URL, "g-test-key", map[string]string{"X-Custom": "yes"}, srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func collect(events *[]provider.Event) func(provider.Event) error {
	return func(e provider.Event) error {
		*events = append(*events, e)
		return nil
	}
}

func ptr[T any](v T) *T { return &v }

func userText(s string) provider.Message {
	return provider.Message{Role: provider.RoleUser, Parts: []provider.Part{{Type: provider.PartText, Text: s}}}
}

func hi() provider.Request {
	return provider.Request{Model: testModel, Messages: []provider.Message{userText("hi")}}
}

// jsonValue parses s, failing the test when it is not JSON.
func jsonValue(t *testing.T, s string) any {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("bad JSON in test: %v: %s", err, s)
	}
	return v
}

func asJSON(v any) string {
	b, _ := json.MarshalIndent(v, "", "  ")
	return string(b)
}

func TestStreamRequestAndEvents(t *testing.T) {
	srv, c := fakeServer(t, func(w http.ResponseWriter, _ *http.Request) {
		startSSE(w)
		sse(w,
			chunk(thought("Considering"), "", `{"promptTokenCount":12,"totalTokenCount":22,"thoughtsTokenCount":10}`),
			chunk(thought(" the image."), "", `{"promptTokenCount":12,"totalTokenCount":32,"thoughtsTokenCount":20}`),
			chunk(text("Hel"), "", `{"promptTokenCount":12,"candidatesTokenCount":1,"totalTokenCount":33,"thoughtsTokenCount":20}`),
			chunk(text("lo")+`,{"text":""}`, "STOP", `{"promptTokenCount":12,"candidatesTokenCount":5,"totalTokenCount":37,"thoughtsTokenCount":20,"promptTokensDetails":[{"modality":"TEXT","tokenCount":12}]}`),
		)
	})
	img := []byte{0xff, 0xd8, 0xff}
	req := provider.Request{
		Model:  testModel,
		System: "be brief",
		Messages: []provider.Message{
			userText("hi"),
			{Role: provider.RoleAssistant, Parts: []provider.Part{{Type: provider.PartText, Text: "hello"}}},
			{Role: provider.RoleSystem, Parts: []provider.Part{{Type: provider.PartText, Text: "answer in English"}}},
			{Role: provider.RoleAssistant},
			{Role: provider.RoleUser, Parts: []provider.Part{
				{Type: provider.PartText, Text: "what is this?"},
				{Type: provider.PartImage, MIME: "image/jpeg", Data: img},
			}},
		},
		Params: provider.Params{
			Temperature:    ptr(0.5),
			TopP:           ptr(0.9),
			TopK:           ptr(40),
			MaxTokens:      ptr(100),
			Stop:           []string{"END"},
			Thinking:       true,
			ThinkingBudget: 1024,
		},
	}
	var events []provider.Event
	if err := newClient(t, srv).Stream(context.Background(), req, collect(&events)); err != nil {
		t.Fatal(err)
	}
	want := []provider.Event{
		{Kind: provider.EventReasoning, Text: "Considering", ID: "resp-1"},
		{Kind: provider.EventReasoning, Text: " the image.", ID: "resp-1"},
		{Kind: provider.EventText, Text: "Hel", ID: "resp-1"},
		{Kind: provider.EventText, Text: "lo", ID: "resp-1"},
		{Kind: provider.EventUsage, Usage: provider.Usage{InputTokens: 12, OutputTokens: 25}, ID: "resp-1"},
	}
	if !reflect.DeepEqual(events, want) {
		t.Fatalf("events = %+v\nwant %+v", events, want)
	}

	got := c.last(t)
	if got.method != http.MethodPost || got.path != streamPath || got.query != "alt=sse" {
		t.Errorf("request = %s %s?%s", got.method, got.path, got.query)
	}
	for k, v := range map[string]string{
		"X-Goog-Api-Key": "g-test-key",
		"X-Custom":       "yes",
		"Content-Type":   "application/json",
	} {
		if h := got.header.Get(k); h != v {
			t.Errorf("header %s = %q, want %q", k, h, v)
		}
	}
	if ua := got.header.Get("User-Agent"); !strings.HasPrefix(ua, "google-genai-sdk/") {
		t.Errorf("User-Agent = %q", ua)
	}
	if got.header.Get("Authorization") != "" {
		t.Errorf("Authorization = %q", got.header.Get("Authorization"))
	}
	wantBody := jsonValue(t, `{
		"contents": [
			{"role": "user", "parts": [{"text": "hi"}]},
			{"role": "model", "parts": [{"text": "hello"}]},
			{"role": "user", "parts": [
				{"text": "what is this?"},
				{"inlineData": {"mimeType": "image/jpeg", "data": "`+base64.StdEncoding.EncodeToString(img)+`"}}
			]}
		],
		"systemInstruction": {"role": "user", "parts": [{"text": "be brief"}, {"text": "answer in English"}]},
		"generationConfig": {
			"temperature": 0.5,
			"topP": 0.9,
			"topK": 40,
			"maxOutputTokens": 100,
			"stopSequences": ["END"],
			"thinkingConfig": {"includeThoughts": true, "thinkingBudget": 1024}
		}
	}`)
	if !reflect.DeepEqual(any(got.body), wantBody) {
		t.Errorf("body = %s\nwant %s", asJSON(got.body), asJSON(wantBody))
	}
}

func TestRequestBodyParams(t *testing.T) {
	tests := []struct {
		name   string
		params provider.Params
		want   string // the whole request body; the SDK always sends generationConfig
	}{
		{
			name:   "none",
			params: provider.Params{},
			want:   `{"contents":[{"role":"user","parts":[{"text":"hi"}]}],"generationConfig":{}}`,
		},
		{
			name:   "thinking with the default budget",
			params: provider.Params{Thinking: true},
			want:   `{"contents":[{"role":"user","parts":[{"text":"hi"}]}],"generationConfig":{"thinkingConfig":{"includeThoughts":true}}}`,
		},
		{
			name:   "budget without thinking",
			params: provider.Params{ThinkingBudget: 500, ReasoningEffort: "high"},
			want:   `{"contents":[{"role":"user","parts":[{"text":"hi"}]}],"generationConfig":{}}`,
		},
		{
			name:   "zero values are sent",
			params: provider.Params{Temperature: ptr(0.0), MaxTokens: ptr(1)},
			want:   `{"contents":[{"role":"user","parts":[{"text":"hi"}]}],"generationConfig":{"temperature":0,"maxOutputTokens":1}}`,
		},
		{
			name: "extra merged into the body",
			params: provider.Params{
				Temperature: ptr(0.2),
				Extra: map[string]any{
					"safetySettings":   []map[string]string{{"category": "HARM_CATEGORY_HARASSMENT", "threshold": "BLOCK_NONE"}},
					"generationConfig": map[string]any{"seed": 7, "responseMimeType": "text/plain"},
				},
			},
			want: `{
				"contents":[{"role":"user","parts":[{"text":"hi"}]}],
				"safetySettings":[{"category":"HARM_CATEGORY_HARASSMENT","threshold":"BLOCK_NONE"}],
				"generationConfig":{"temperature":0.2,"seed":7,"responseMimeType":"text/plain"}
			}`,
		},
		{
			name: "drop removes top-level and generationConfig fields after extra",
			params: provider.Params{
				Temperature: ptr(0.2),
				TopP:        ptr(0.5),
				Thinking:    true,
				Extra:       map[string]any{"cachedContent": "cachedContents/x", "generationConfig": map[string]any{"seed": 7}},
				Drop:        []string{"topP", "thinkingConfig", "cachedContent", "seed", "absent"},
			},
			want: `{"contents":[{"role":"user","parts":[{"text":"hi"}]}],"generationConfig":{"temperature":0.2}}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, c := fakeServer(t, func(w http.ResponseWriter, _ *http.Request) {
				startSSE(w)
				sse(w, chunk(text("ok"), "STOP", ""))
			})
			req := hi()
			req.Params = tt.params
			var events []provider.Event
			if err := newClient(t, srv).Stream(context.Background(), req, collect(&events)); err != nil {
				t.Fatal(err)
			}
			if want := []provider.Event{{Kind: provider.EventText, Text: "ok", ID: "resp-1"}}; !reflect.DeepEqual(events, want) {
				t.Errorf("events = %+v", events)
			}
			got := c.last(t).body
			if want := jsonValue(t, tt.want); !reflect.DeepEqual(any(got), want) {
				t.Errorf("body = %s\nwant %s", asJSON(got), asJSON(want))
			}
		})
	}
}

func TestConcurrentStreams(t *testing.T) {
	srv, c := fakeServer(t, func(w http.ResponseWriter, _ *http.Request) {
		startSSE(w)
		sse(w, chunk(text("a"), "", ""), chunk(text("b"), "STOP", `{"promptTokenCount":1,"candidatesTokenCount":2}`))
	})
	cl := newClient(t, srv)
	const n = 8
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			req := hi()
			req.Params = provider.Params{
				Temperature: ptr(float64(i)),
				Extra:       map[string]any{"generationConfig": map[string]any{"seed": i}},
				Drop:        []string{"topP"},
			}
			var events []provider.Event
			errs[i] = cl.Stream(context.Background(), req, collect(&events))
			if errs[i] == nil && len(events) != 3 {
				errs[i] = fmt.Errorf("events = %+v", events)
			}
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("stream %d: %v", i, err)
		}
	}
	seeds := map[float64]bool{}
	for _, r := range c.all() {
		gc, _ := r.body["generationConfig"].(map[string]any)
		if gc["seed"] != gc["temperature"] {
			t.Errorf("generationConfig = %v", gc)
		}
		seed, _ := gc["seed"].(float64)
		seeds[seed] = true
	}
	if len(seeds) != n {
		t.Errorf("seeds = %v", seeds)
	}
}

func TestExtraIsNotModified(t *testing.T) {
	srv, _ := fakeServer(t, func(w http.ResponseWriter, _ *http.Request) {
		startSSE(w)
		sse(w, chunk(text("ok"), "STOP", ""))
	})
	gc := map[string]any{"seed": 7, "topK": 3}
	req := hi()
	req.Params = provider.Params{Extra: map[string]any{"generationConfig": gc}, Drop: []string{"topK"}}
	if err := newClient(t, srv).Stream(context.Background(), req, collect(new([]provider.Event))); err != nil {
		t.Fatal(err)
	}
	if want := map[string]any{"seed": 7, "topK": 3}; !reflect.DeepEqual(gc, want) {
		t.Fatalf("Extra changed to %v", gc)
	}
}

func TestExtraNotEncodable(t *testing.T) {
	srv, c := fakeServer(t, func(w http.ResponseWriter, _ *http.Request) {})
	req := hi()
	req.Params.Extra = map[string]any{"bad": make(chan int)}
	err := newClient(t, srv).Stream(context.Background(), req, collect(new([]provider.Event)))
	var se *provider.StreamError
	if !errors.As(err, &se) || se.Partial || se.Status != 0 {
		t.Fatalf("err = %#v", err)
	}
	if n := len(c.all()); n != 0 {
		t.Fatalf("%d requests sent", n)
	}
}

func TestHTTPErrorBeforeOutput(t *testing.T) {
	tests := []struct {
		status int
		body   string
	}{
		{http.StatusTooManyRequests, `{"error":{"code":429,"message":"Resource has been exhausted (e.g. check quota).","status":"RESOURCE_EXHAUSTED"}}`},
		{http.StatusBadRequest, `{"error":{"code":400,"message":"API key not valid. Please pass a valid API key.","status":"INVALID_ARGUMENT","details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"API_KEY_INVALID"}]}}`},
		{http.StatusInternalServerError, `{"error":{"code":500,"message":"An internal error has occurred.","status":"INTERNAL"}}`},
		{http.StatusBadGateway, `<html>bad gateway</html>`},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.status), func(t *testing.T) {
			srv, c := fakeServer(t, func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", "application/json; charset=UTF-8")
				w.WriteHeader(tt.status)
				fmt.Fprint(w, tt.body)
			})
			var events []provider.Event
			err := newClient(t, srv).Stream(context.Background(), hi(), collect(&events))
			var se *provider.StreamError
			if !errors.As(err, &se) || se.Partial || se.Status != tt.status || errors.Is(err, provider.ErrInterrupted) {
				t.Fatalf("err = %#v", err)
			}
			if len(events) != 0 {
				t.Fatalf("events = %+v", events)
			}
			if n := len(c.all()); n != 1 {
				t.Fatalf("%d requests sent, want 1 (no retries)", n)
			}
		})
	}
}

func TestHTTPErrorMessage(t *testing.T) {
	srv, _ := fakeServer(t, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusTooManyRequests)
		fmt.Fprint(w, `{"error":{"code":429,"message":"quota exceeded","status":"RESOURCE_EXHAUSTED"}}`)
	})
	err := newClient(t, srv).Stream(context.Background(), hi(), collect(new([]provider.Event)))
	if err == nil || !strings.Contains(err.Error(), "quota exceeded") || !strings.Contains(err.Error(), "RESOURCE_EXHAUSTED") {
		t.Fatalf("err = %v", err)
	}
}

func TestConnectionRefused(t *testing.T) {
	srv, _ := fakeServer(t, func(http.ResponseWriter, *http.Request) {})
	c := newClient(t, srv)
	srv.Close()
	err := c.Stream(context.Background(), hi(), collect(new([]provider.Event)))
	var se *provider.StreamError
	if !errors.As(err, &se) || se.Partial || se.Status != 0 {
		t.Fatalf("err = %#v", err)
	}
}

func TestMidStreamDisconnect(t *testing.T) {
	srv, c := fakeServer(t, func(w http.ResponseWriter, _ *http.Request) {
		startSSE(w)
		sse(w, chunk(text("one"), "", ""), chunk(text(" two"), "", ""))
		panic(http.ErrAbortHandler) // drop the connection mid-response
	})
	var events []provider.Event
	err := newClient(t, srv).Stream(context.Background(), hi(), collect(&events))
	var se *provider.StreamError
	if !errors.As(err, &se) || !se.Partial || se.Status != 0 || !errors.Is(err, provider.ErrInterrupted) {
		t.Fatalf("err = %#v", err)
	}
	want := []provider.Event{{Kind: provider.EventText, Text: "one", ID: "resp-1"}, {Kind: provider.EventText, Text: " two", ID: "resp-1"}}
	if !reflect.DeepEqual(events, want) {
		t.Fatalf("events = %+v", events)
	}
	if n := len(c.all()); n != 1 {
		t.Fatalf("%d requests sent, want 1", n)
	}
}

func TestMidStreamErrorChunk(t *testing.T) {
	srv, _ := fakeServer(t, func(w http.ResponseWriter, _ *http.Request) {
		startSSE(w)
		sse(w, chunk(text("one"), "", ""), `{"error":{"code":503,"message":"The model is overloaded.","status":"UNAVAILABLE"}}`)
	})
	var events []provider.Event
	err := newClient(t, srv).Stream(context.Background(), hi(), collect(&events))
	var se *provider.StreamError
	if !errors.As(err, &se) || !se.Partial || se.Status != http.StatusServiceUnavailable || !errors.Is(err, provider.ErrInterrupted) {
		t.Fatalf("err = %#v", err)
	}
	if len(events) != 1 {
		t.Fatalf("events = %+v", events)
	}
}

func TestErrorChunkBeforeOutput(t *testing.T) {
	srv, _ := fakeServer(t, func(w http.ResponseWriter, _ *http.Request) {
		startSSE(w)
		sse(w, `{"error":{"code":500,"message":"internal","status":"INTERNAL"}}`)
	})
	err := newClient(t, srv).Stream(context.Background(), hi(), collect(new([]provider.Event)))
	var se *provider.StreamError
	if !errors.As(err, &se) || se.Partial || se.Status != http.StatusInternalServerError {
		t.Fatalf("err = %#v", err)
	}
}

func TestPromptBlocked(t *testing.T) {
	srv, _ := fakeServer(t, func(w http.ResponseWriter, _ *http.Request) {
		startSSE(w)
		sse(w, `{"promptFeedback":{"blockReason":"SAFETY","safetyRatings":[{"category":"HARM_CATEGORY_DANGEROUS_CONTENT","probability":"HIGH"}]},"usageMetadata":{"promptTokenCount":8,"totalTokenCount":8},"modelVersion":"gemini-2.5-flash","responseId":"resp-b"}`)
	})
	var events []provider.Event
	err := newClient(t, srv).Stream(context.Background(), hi(), collect(&events))
	var se *provider.StreamError
	if !errors.As(err, &se) || se.Partial || !strings.Contains(err.Error(), "SAFETY") {
		t.Fatalf("err = %#v", err)
	}
	if len(events) != 0 {
		t.Fatalf("events = %+v", events)
	}
}

func TestNoUsageNoUsageEvent(t *testing.T) {
	srv, _ := fakeServer(t, func(w http.ResponseWriter, _ *http.Request) {
		startSSE(w)
		sse(w, `{"candidates":[{"content":{"parts":[{"text":"a"}],"role":"model"},"finishReason":"STOP","index":0}]}`)
	})
	var events []provider.Event
	if err := newClient(t, srv).Stream(context.Background(), hi(), collect(&events)); err != nil {
		t.Fatal(err)
	}
	if want := []provider.Event{{Kind: provider.EventText, Text: "a"}}; !reflect.DeepEqual(events, want) {
		t.Fatalf("events = %+v", events)
	}
}

func TestContextCancel(t *testing.T) {
	srv, _ := fakeServer(t, func(w http.ResponseWriter, r *http.Request) {
		startSSE(w)
		sse(w, chunk(text("one"), "", ""))
		<-r.Context().Done()
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	n := 0
	err := newClient(t, srv).Stream(ctx, hi(), func(provider.Event) error {
		n++
		cancel()
		return nil
	})
	if !errors.Is(err, context.Canceled) || n != 1 {
		t.Fatalf("err = %v, n = %d", err, n)
	}
	var se *provider.StreamError
	if errors.As(err, &se) {
		t.Fatalf("err = %#v, want the bare context error", err)
	}
}

func TestContextCanceledBeforeRequest(t *testing.T) {
	srv, _ := fakeServer(t, func(w http.ResponseWriter, _ *http.Request) {
		startSSE(w)
		sse(w, chunk(text("one"), "STOP", ""))
	})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := newClient(t, srv).Stream(ctx, hi(), collect(new([]provider.Event)))
	if err != context.Canceled {
		t.Fatalf("err = %v", err)
	}
}

func TestEmitErrorStops(t *testing.T) {
	srv, _ := fakeServer(t, func(w http.ResponseWriter, _ *http.Request) {
		startSSE(w)
		sse(w, chunk(text("one"), "", ""), chunk(text("two"), "STOP", `{"promptTokenCount":1,"candidatesTokenCount":2}`))
	})
	stop := errors.New("stop")
	n := 0
	err := newClient(t, srv).Stream(context.Background(), hi(), func(provider.Event) error {
		n++
		return stop
	})
	if err != stop || n != 1 {
		t.Fatalf("err = %v, n = %d", err, n)
	}
}

func TestEnvironmentIgnored(t *testing.T) {
	t.Setenv("GOOGLE_API_KEY", "env-google-key")
	t.Setenv("GEMINI_API_KEY", "env-gemini-key")
	t.Setenv("GOOGLE_GEMINI_BASE_URL", "http://127.0.0.1:1/")
	t.Setenv("GOOGLE_GENAI_USE_VERTEXAI", "true")
	t.Setenv("GOOGLE_CLOUD_PROJECT", "env-project")
	t.Setenv("GOOGLE_CLOUD_LOCATION", "us-central1")
	srv, c := fakeServer(t, func(w http.ResponseWriter, _ *http.Request) {
		startSSE(w)
		sse(w, chunk(text("ok"), "STOP", ""))
	})
	if err := newClient(t, srv).Stream(context.Background(), hi(), collect(new([]provider.Event))); err != nil {
		t.Fatal(err)
	}
	got := c.last(t)
	if got.path != streamPath || got.header.Get("X-Goog-Api-Key") != "g-test-key" {
		t.Fatalf("path = %q, key = %q", got.path, got.header.Get("X-Goog-Api-Key"))
	}

	if _, err := New(context.Background(), srv.URL, "", nil, srv.Client()); err == nil {
		t.Fatal("New accepted an empty API key")
	}
}

// roundTripFunc is an http.RoundTripper made of a function.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestDefaultBaseURL(t *testing.T) {
	t.Setenv("GOOGLE_GEMINI_BASE_URL", "http://127.0.0.1:1/")
	var got string
	hc := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		got = r.URL.String()
		return &http.Response{
			StatusCode: http.StatusOK,
			Header:     http.Header{"Content-Type": {"text/event-stream"}},
			Body:       io.NopCloser(strings.NewReader("data: " + chunk(text("ok"), "STOP", "") + "\n\n")),
			Request:    r,
		}, nil
	})}
	c, err := New(context.Background(), "", "k", nil, hc)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Stream(context.Background(), hi(), collect(new([]provider.Event))); err != nil {
		t.Fatal(err)
	}
	if want := "https://generativelanguage.googleapis.com/v1beta/models/" + testModel + ":streamGenerateContent?alt=sse"; got != want {
		t.Fatalf("URL = %q, want %q", got, want)
	}
}

func TestBaseURLWithPath(t *testing.T) {
	srv, c := fakeServer(t, func(w http.ResponseWriter, _ *http.Request) {
		startSSE(w)
		sse(w, chunk(text("ok"), "STOP", ""))
	})
	cl, err := New(context.Background(), srv.URL+"/proxy/gemini/", "k", nil, srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	if err := cl.Stream(context.Background(), hi(), collect(new([]provider.Event))); err != nil {
		t.Fatal(err)
	}
	if got := c.last(t).path; got != "/proxy/gemini"+streamPath {
		t.Fatalf("path = %q", got)
	}
}

func TestListModels(t *testing.T) {
	srv, c := fakeServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Query().Get("pageToken") == "" {
			fmt.Fprint(w, `{"models":[{"name":"models/gemini-2.5-flash","displayName":"Gemini 2.5 Flash","supportedGenerationMethods":["generateContent"]},{"name":"models/gemini-2.5-pro"}],"nextPageToken":"page2"}`)
			return
		}
		fmt.Fprint(w, `{"models":[{"name":"models/text-embedding-004","supportedGenerationMethods":["embedContent"]}]}`)
	})
	names, err := newClient(t, srv).ListModels(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"gemini-2.5-flash", "gemini-2.5-pro", "text-embedding-004"}; !reflect.DeepEqual(names, want) {
		t.Fatalf("names = %v", names)
	}
	reqs := c.all()
	if len(reqs) != 2 {
		t.Fatalf("%d requests", len(reqs))
	}
	for i, r := range reqs {
		if r.method != http.MethodGet || r.path != "/v1beta/models" || r.header.Get("X-Goog-Api-Key") != "g-test-key" || r.header.Get("X-Custom") != "yes" {
			t.Errorf("request %d: %s %s, header = %v", i, r.method, r.path, r.header)
		}
	}
	if !strings.Contains(reqs[1].query, "pageToken=page2") {
		t.Errorf("second query = %q", reqs[1].query)
	}
}

func TestListModelsError(t *testing.T) {
	srv, _ := fakeServer(t, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprint(w, `{"error":{"code":403,"message":"Method doesn't allow unregistered callers.","status":"PERMISSION_DENIED"}}`)
	})
	_, err := newClient(t, srv).ListModels(context.Background())
	var se *provider.StreamError
	if !errors.As(err, &se) || se.Status != http.StatusForbidden {
		t.Fatalf("err = %v", err)
	}
}
