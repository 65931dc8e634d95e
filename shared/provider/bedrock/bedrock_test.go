package bedrock

import (
	"bytes"
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

	"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"

	"github.com/lcgo/lcgo/shared/provider"
)

const (
	testModel     = "anthropic.claude-3-7-sonnet-20250219-v1:0"
	testRequestID = "0a1b2c3d-req"
)

// captured is what the fake server saw of the last request.
type captured struct {
	mu     sync.Mutex
	n      int
	method string
	path   string
	header http.Header
	body   map[string]any
}

func (c *captured) get() (string, string, http.Header, map[string]any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.method, c.path, c.header, c.body
}

func (c *captured) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

// fakeServer speaks the Bedrock runtime's ConverseStream protocol. write
// produces the response once the request has been captured.
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
		c.method, c.path, c.header, c.body = r.Method, r.URL.Path, r.Header.Clone(), body
		c.mu.Unlock()
		write(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv, c
}

func newClient(srv *httptest.Server) *Client {
	return New(Options{
		Region:          "us-west-2",
		AccessKeyID:     "AKIDTEST",
		SecretAccessKey: "secret",
		SessionToken:    "session-token",
		Endpoint:        srv.URL,
		HTTPClient:      srv.Client(),
	})
}

func startStream(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/vnd.amazon.eventstream")
	w.Header().Set("X-Amzn-Requestid", testRequestID)
	w.WriteHeader(http.StatusOK)
}

// encodeMessage returns msg in the binary event-stream encoding.
func encodeMessage(t *testing.T, msg eventstream.Message) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := eventstream.NewEncoder().Encode(&buf, msg); err != nil {
		t.Fatalf("encode event: %v", err)
	}
	return buf.Bytes()
}

func event(t *testing.T, eventType, payload string) []byte {
	t.Helper()
	var msg eventstream.Message
	msg.Headers.Set(":message-type", eventstream.StringValue("event"))
	msg.Headers.Set(":event-type", eventstream.StringValue(eventType))
	msg.Headers.Set(":content-type", eventstream.StringValue("application/json"))
	msg.Payload = []byte(payload)
	return encodeMessage(t, msg)
}

func exception(t *testing.T, exceptionType, message string) []byte {
	t.Helper()
	var msg eventstream.Message
	msg.Headers.Set(":message-type", eventstream.StringValue("exception"))
	msg.Headers.Set(":exception-type", eventstream.StringValue(exceptionType))
	msg.Headers.Set(":content-type", eventstream.StringValue("application/json"))
	msg.Payload = []byte(`{"message":` + quote(message) + `}`)
	return encodeMessage(t, msg)
}

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func send(w http.ResponseWriter, msgs ...[]byte) {
	for _, m := range msgs {
		_, _ = w.Write(m)
	}
	w.(http.Flusher).Flush()
}

func messageStart(t *testing.T) []byte {
	return event(t, "messageStart", `{"role":"assistant"}`)
}

func textDelta(t *testing.T, i int, text string) []byte {
	return event(t, "contentBlockDelta", fmt.Sprintf(`{"contentBlockIndex":%d,"delta":{"text":%s}}`, i, quote(text)))
}

func reasoningDelta(t *testing.T, i int, text string) []byte {
	return event(t, "contentBlockDelta", fmt.Sprintf(`{"contentBlockIndex":%d,"delta":{"reasoningContent":{"text":%s}}}`, i, quote(text)))
}

func signatureDelta(t *testing.T, i int) []byte {
	return event(t, "contentBlockDelta", fmt.Sprintf(`{"contentBlockIndex":%d,"delta":{"reasoningContent":{"signature":"c2ln"}}}`, i))
}

func blockStop(t *testing.T, i int) []byte {
	return event(t, "contentBlockStop", fmt.Sprintf(`{"contentBlockIndex":%d}`, i))
}

func messageStop(t *testing.T) []byte {
	return event(t, "messageStop", `{"stopReason":"end_turn"}`)
}

func metadata(t *testing.T) []byte {
	return event(t, "metadata", `{"usage":{"inputTokens":12,"outputTokens":5,"totalTokens":17},"metrics":{"latencyMs":321}}`)
}

func collect(events *[]provider.Event) func(provider.Event) error {
	return func(e provider.Event) error {
		*events = append(*events, e)
		return nil
	}
}

func ptr[T any](v T) *T { return &v }

func textEvent(s string) provider.Event {
	return provider.Event{Kind: provider.EventText, Text: s, ID: testRequestID}
}

func TestStreamRequestAndDeltas(t *testing.T) {
	srv, c := fakeServer(t, func(w http.ResponseWriter, _ *http.Request) {
		startStream(w)
		send(w,
			messageStart(t),
			reasoningDelta(t, 0, "Let me"),
			reasoningDelta(t, 0, " think."),
			signatureDelta(t, 0),
			blockStop(t, 0),
			textDelta(t, 1, "Hel"),
			textDelta(t, 1, "lo"),
			blockStop(t, 1),
			messageStop(t),
			metadata(t),
		)
	})
	img := []byte{0xff, 0xd8, 0xff, 0xe0}
	req := provider.Request{
		Model:  testModel,
		System: "be brief",
		Messages: []provider.Message{
			{Role: provider.RoleUser, Parts: []provider.Part{{Type: provider.PartText, Text: "hi"}}},
			{Role: provider.RoleAssistant, Parts: []provider.Part{{Type: provider.PartText, Text: "hello"}}},
			{Role: provider.RoleSystem, Parts: []provider.Part{{Type: provider.PartText, Text: "answer in English"}}},
			{Role: provider.RoleUser, Parts: []provider.Part{
				{Type: provider.PartText, Text: "what is this?"},
				{Type: provider.PartImage, MIME: "image/jpeg", Data: img},
			}},
		},
		Params: provider.Params{
			Temperature:    ptr(0.5),
			TopP:           ptr(0.25),
			MaxTokens:      ptr(4096),
			Stop:           []string{"END"},
			Thinking:       true,
			ThinkingBudget: 1024,
			Extra:          map[string]any{"anthropic_beta": []string{"output-128k-2025-02-19"}},
		},
	}
	var events []provider.Event
	if err := newClient(srv).Stream(context.Background(), req, collect(&events)); err != nil {
		t.Fatal(err)
	}
	want := []provider.Event{
		{Kind: provider.EventReasoning, Text: "Let me", ID: testRequestID},
		{Kind: provider.EventReasoning, Text: " think.", ID: testRequestID},
		textEvent("Hel"),
		textEvent("lo"),
		{Kind: provider.EventUsage, Usage: provider.Usage{InputTokens: 12, OutputTokens: 5}, ID: testRequestID},
	}
	if !reflect.DeepEqual(events, want) {
		t.Fatalf("events = %+v\nwant %+v", events, want)
	}

	method, path, h, body := c.get()
	if method != http.MethodPost || path != "/model/"+testModel+"/converse-stream" {
		t.Errorf("request = %s %q", method, path)
	}
	auth := h.Get("Authorization")
	if !strings.HasPrefix(auth, "AWS4-HMAC-SHA256 ") ||
		!strings.Contains(auth, "Credential=AKIDTEST/") ||
		!strings.Contains(auth, "/us-west-2/bedrock/aws4_request") ||
		!strings.Contains(auth, "Signature=") {
		t.Errorf("Authorization = %q", auth)
	}
	if got := h.Get("X-Amz-Security-Token"); got != "session-token" {
		t.Errorf("X-Amz-Security-Token = %q", got)
	}
	if got := h.Get("Content-Type"); got != "application/json" {
		t.Errorf("Content-Type = %q", got)
	}
	if _, ok := body["modelId"]; ok {
		t.Errorf("modelId in body: %v", body)
	}
	wantSystem := []any{
		map[string]any{"text": "be brief"},
		map[string]any{"text": "answer in English"},
	}
	if !reflect.DeepEqual(body["system"], wantSystem) {
		t.Errorf("system = %#v", body["system"])
	}
	wantMsgs := []any{
		map[string]any{"role": "user", "content": []any{map[string]any{"text": "hi"}}},
		map[string]any{"role": "assistant", "content": []any{map[string]any{"text": "hello"}}},
		map[string]any{"role": "user", "content": []any{
			map[string]any{"text": "what is this?"},
			map[string]any{"image": map[string]any{
				"format": "jpeg",
				"source": map[string]any{"bytes": base64.StdEncoding.EncodeToString(img)},
			}},
		}},
	}
	if !reflect.DeepEqual(body["messages"], wantMsgs) {
		t.Errorf("messages = %#v", body["messages"])
	}
	wantInference := map[string]any{
		"temperature":   0.5,
		"topP":          0.25,
		"maxTokens":     float64(4096),
		"stopSequences": []any{"END"},
	}
	if !reflect.DeepEqual(body["inferenceConfig"], wantInference) {
		t.Errorf("inferenceConfig = %#v", body["inferenceConfig"])
	}
	wantFields := map[string]any{
		"thinking":       map[string]any{"type": "enabled", "budget_tokens": float64(1024)},
		"anthropic_beta": []any{"output-128k-2025-02-19"},
	}
	if !reflect.DeepEqual(body["additionalModelRequestFields"], wantFields) {
		t.Errorf("additionalModelRequestFields = %#v", body["additionalModelRequestFields"])
	}
}

func TestMinimalRequestOmitsOptionalFields(t *testing.T) {
	srv, c := fakeServer(t, func(w http.ResponseWriter, _ *http.Request) {
		startStream(w)
		send(w, messageStart(t), textDelta(t, 0, "ok"), blockStop(t, 0), messageStop(t), metadata(t))
	})
	req := provider.Request{
		Model:    "amazon.nova-micro-v1:0",
		Messages: []provider.Message{{Role: provider.RoleUser, Parts: []provider.Part{{Text: "hi"}}}},
	}
	if err := newClient(srv).Stream(context.Background(), req, func(provider.Event) error { return nil }); err != nil {
		t.Fatal(err)
	}
	_, path, _, body := c.get()
	if path != "/model/amazon.nova-micro-v1:0/converse-stream" {
		t.Errorf("path = %q", path)
	}
	for _, k := range []string{"system", "inferenceConfig", "additionalModelRequestFields"} {
		if _, ok := body[k]; ok {
			t.Errorf("%s present: %v", k, body)
		}
	}
}

func TestBuildInput(t *testing.T) {
	in, err := buildInput(provider.Request{
		Model: "m",
		Messages: []provider.Message{
			{Role: provider.RoleUser, Parts: []provider.Part{{Text: "a"}}},
			{Role: provider.RoleUser, Parts: []provider.Part{{Text: "  "}}},
			{Role: provider.RoleUser, Parts: []provider.Part{{Text: "b"}}},
			{Role: provider.RoleAssistant, Parts: []provider.Part{{Text: ""}}},
			{Role: provider.RoleAssistant, Parts: []provider.Part{{Text: "c"}}},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []types.Message{
		{Role: types.ConversationRoleUser, Content: []types.ContentBlock{
			&types.ContentBlockMemberText{Value: "a"},
			&types.ContentBlockMemberText{Value: "b"},
		}},
		{Role: types.ConversationRoleAssistant, Content: []types.ContentBlock{
			&types.ContentBlockMemberText{Value: "c"},
		}},
	}
	if !reflect.DeepEqual(in.Messages, want) {
		t.Fatalf("messages = %#v", in.Messages)
	}

	_, err = buildInput(provider.Request{Messages: []provider.Message{{Role: provider.RoleUser, Parts: []provider.Part{
		{Type: provider.PartImage, MIME: "image/tiff", Data: []byte{1}},
	}}}})
	if err == nil || !strings.Contains(err.Error(), "image/tiff") {
		t.Fatalf("err = %v", err)
	}
}

func TestImageFormat(t *testing.T) {
	png := []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
	for _, tc := range []struct {
		part provider.Part
		want types.ImageFormat
	}{
		{provider.Part{MIME: "image/png"}, types.ImageFormatPng},
		{provider.Part{MIME: "image/jpeg"}, types.ImageFormatJpeg},
		{provider.Part{MIME: "image/jpg"}, types.ImageFormatJpeg},
		{provider.Part{MIME: "IMAGE/GIF"}, types.ImageFormatGif},
		{provider.Part{MIME: "image/webp; q=1"}, types.ImageFormatWebp},
		{provider.Part{Data: png}, types.ImageFormatPng},
	} {
		got, err := imageFormat(tc.part)
		if err != nil || got != tc.want {
			t.Errorf("imageFormat(%q) = %q, %v; want %q", tc.part.MIME, got, err, tc.want)
		}
	}
}

func TestAdditionalFields(t *testing.T) {
	got := additionalFields(provider.Params{
		TopK:     ptr(40),
		Thinking: true,
		Extra:    map[string]any{"custom": "x", "top_k": 5},
		Drop:     []string{"custom"},
	})
	want := map[string]any{
		"top_k":    5,
		"thinking": map[string]any{"type": "enabled", "budget_tokens": DefaultThinkingBudget},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("fields = %#v", got)
	}
	if f := additionalFields(provider.Params{Thinking: true, Drop: []string{"thinking"}}); len(f) != 0 {
		t.Fatalf("dropped thinking still present: %v", f)
	}
	c := inferenceConfig(provider.Params{Temperature: ptr(0.5), MaxTokens: ptr(10), Drop: []string{"temperature"}})
	if c == nil || c.Temperature != nil || c.MaxTokens == nil || *c.MaxTokens != 10 {
		t.Fatalf("inferenceConfig = %+v", c)
	}
	if c := inferenceConfig(provider.Params{}); c != nil {
		t.Fatalf("empty inferenceConfig = %+v", c)
	}
}

func TestHTTPErrorBeforeOutput(t *testing.T) {
	for _, tc := range []struct {
		status  int
		errType string
		check   func(error) bool
	}{
		{http.StatusBadRequest, "ValidationException", func(err error) bool {
			var v *types.ValidationException
			return errors.As(err, &v) && v.ErrorMessage() == "nope"
		}},
		{http.StatusForbidden, "AccessDeniedException", func(err error) bool {
			var v *types.AccessDeniedException
			return errors.As(err, &v)
		}},
		{http.StatusTooManyRequests, "ThrottlingException", func(err error) bool {
			var v *types.ThrottlingException
			return errors.As(err, &v)
		}},
	} {
		t.Run(tc.errType, func(t *testing.T) {
			srv, c := fakeServer(t, func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.Header().Set("X-Amzn-Errortype", tc.errType+":http://internal.amazon.com/coral/com.amazon.bedrock/")
				w.Header().Set("X-Amzn-Requestid", testRequestID)
				w.WriteHeader(tc.status)
				fmt.Fprint(w, `{"message":"nope"}`)
			})
			var events []provider.Event
			err := newClient(srv).Stream(context.Background(), provider.Request{Model: "m"}, collect(&events))
			var se *provider.StreamError
			if !errors.As(err, &se) || se.Partial || se.Status != tc.status || errors.Is(err, provider.ErrInterrupted) {
				t.Fatalf("err = %#v (%v)", err, err)
			}
			if !tc.check(err) {
				t.Errorf("error does not wrap %s: %v", tc.errType, err)
			}
			if len(events) != 0 {
				t.Errorf("events = %+v", events)
			}
			if n := c.count(); n != 1 {
				t.Errorf("requests = %d, want 1 (no retries)", n)
			}
		})
	}
}

func TestExceptionBeforeOutput(t *testing.T) {
	srv, _ := fakeServer(t, func(w http.ResponseWriter, _ *http.Request) {
		startStream(w)
		send(w, messageStart(t), exception(t, "throttlingException", "slow down"))
	})
	var events []provider.Event
	err := newClient(srv).Stream(context.Background(), provider.Request{Model: "m"}, collect(&events))
	var se *provider.StreamError
	var te *types.ThrottlingException
	if !errors.As(err, &se) || se.Partial || se.Status != http.StatusTooManyRequests || !errors.As(err, &te) {
		t.Fatalf("err = %#v (%v)", err, err)
	}
	if len(events) != 0 {
		t.Fatalf("events = %+v", events)
	}
}

func TestMidStreamException(t *testing.T) {
	for _, tc := range []struct {
		exType string
		status int
		check  func(error) bool
	}{
		{"modelStreamErrorException", http.StatusFailedDependency, func(err error) bool {
			var v *types.ModelStreamErrorException
			return errors.As(err, &v) && v.ErrorMessage() == "model failed"
		}},
		{"throttlingException", http.StatusTooManyRequests, func(err error) bool {
			var v *types.ThrottlingException
			return errors.As(err, &v)
		}},
		{"internalServerException", http.StatusInternalServerError, func(err error) bool {
			var v *types.InternalServerException
			return errors.As(err, &v)
		}},
	} {
		t.Run(tc.exType, func(t *testing.T) {
			srv, _ := fakeServer(t, func(w http.ResponseWriter, _ *http.Request) {
				startStream(w)
				send(w, messageStart(t), textDelta(t, 0, "one"), textDelta(t, 0, " two"), exception(t, tc.exType, "model failed"))
			})
			var events []provider.Event
			err := newClient(srv).Stream(context.Background(), provider.Request{Model: "m"}, collect(&events))
			var se *provider.StreamError
			if !errors.As(err, &se) || !se.Partial || se.Status != tc.status || !errors.Is(err, provider.ErrInterrupted) {
				t.Fatalf("err = %#v (%v)", err, err)
			}
			if !tc.check(err) {
				t.Errorf("error does not wrap %s: %v", tc.exType, err)
			}
			want := []provider.Event{textEvent("one"), textEvent(" two")}
			if !reflect.DeepEqual(events, want) {
				t.Fatalf("events = %+v", events)
			}
		})
	}
}

func TestMidStreamDisconnect(t *testing.T) {
	for _, tc := range []struct {
		name string
		tail func(t *testing.T) []byte
	}{
		{"between messages", func(*testing.T) []byte { return nil }},
		{"inside a message", func(t *testing.T) []byte {
			m := textDelta(t, 0, " three")
			return m[:len(m)/2]
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, _ := fakeServer(t, func(w http.ResponseWriter, _ *http.Request) {
				startStream(w)
				send(w, messageStart(t), textDelta(t, 0, "one"), textDelta(t, 0, " two"), tc.tail(t))
				panic(http.ErrAbortHandler) // drop the connection mid-response
			})
			var events []provider.Event
			err := newClient(srv).Stream(context.Background(), provider.Request{Model: "m"}, collect(&events))
			var se *provider.StreamError
			if !errors.As(err, &se) || !se.Partial || !errors.Is(err, provider.ErrInterrupted) {
				t.Fatalf("err = %#v (%v)", err, err)
			}
			want := []provider.Event{textEvent("one"), textEvent(" two")}
			if !reflect.DeepEqual(events, want) {
				t.Fatalf("events = %+v", events)
			}
		})
	}
}

func TestTruncatedStreamWithoutOutput(t *testing.T) {
	srv, _ := fakeServer(t, func(w http.ResponseWriter, _ *http.Request) {
		startStream(w)
		send(w, messageStart(t))
	})
	err := newClient(srv).Stream(context.Background(), provider.Request{Model: "m"}, func(provider.Event) error { return nil })
	var se *provider.StreamError
	if !errors.As(err, &se) || se.Partial || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("err = %#v (%v)", err, err)
	}
}

func TestContextCancel(t *testing.T) {
	srv, _ := fakeServer(t, func(w http.ResponseWriter, r *http.Request) {
		startStream(w)
		send(w, messageStart(t), textDelta(t, 0, "one"))
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

func TestContextCancelBeforeResponse(t *testing.T) {
	arrived := make(chan struct{})
	srv, _ := fakeServer(t, func(_ http.ResponseWriter, r *http.Request) {
		close(arrived)
		<-r.Context().Done()
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-arrived
		cancel()
	}()
	err := newClient(srv).Stream(ctx, provider.Request{Model: "m"}, func(provider.Event) error { return nil })
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
	var se *provider.StreamError
	if errors.As(err, &se) {
		t.Fatalf("err is a StreamError: %v", err)
	}
}

func TestEmitErrorStops(t *testing.T) {
	srv, _ := fakeServer(t, func(w http.ResponseWriter, _ *http.Request) {
		startStream(w)
		send(w, messageStart(t), textDelta(t, 0, "one"), textDelta(t, 0, "two"), blockStop(t, 0), messageStop(t), metadata(t))
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

func TestMissingCredentials(t *testing.T) {
	srv, c := fakeServer(t, func(w http.ResponseWriter, _ *http.Request) {
		startStream(w)
	})
	cl := New(Options{Endpoint: srv.URL, HTTPClient: srv.Client()})
	err := cl.Stream(context.Background(), provider.Request{Model: "m"}, func(provider.Event) error { return nil })
	var se *provider.StreamError
	if !errors.As(err, &se) || se.Partial || !errors.Is(err, ErrNoCredentials) {
		t.Fatalf("err = %v", err)
	}
	if n := c.count(); n != 0 {
		t.Fatalf("requests = %d", n)
	}
}

func TestIgnoresBearerTokenEnvironment(t *testing.T) {
	t.Setenv("AWS_BEARER_TOKEN_BEDROCK", "ambient-token")
	srv, c := fakeServer(t, func(w http.ResponseWriter, _ *http.Request) {
		startStream(w)
		send(w, messageStart(t), messageStop(t))
	})
	if err := newClient(srv).Stream(context.Background(), provider.Request{Model: "m"}, func(provider.Event) error { return nil }); err != nil {
		t.Fatal(err)
	}
	_, _, h, _ := c.get()
	if auth := h.Get("Authorization"); !strings.HasPrefix(auth, "AWS4-HMAC-SHA256 ") {
		t.Fatalf("Authorization = %q", auth)
	}
}
