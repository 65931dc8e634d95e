package lambda_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/lcgo/lcgo/shared/platform/lambda"
	"github.com/lcgo/lcgo/shared/platform/lambda/runtimeapi"
)

// gate lets a test hold a handler at a point until the test opens it.
type gate struct {
	ch   chan struct{}
	quit chan struct{}
}

func newGate(t *testing.T) *gate {
	g := &gate{ch: make(chan struct{}), quit: make(chan struct{})}
	t.Cleanup(func() { close(g.quit) })
	return g
}

// wait is the handler's side: it returns when the test opens the gate, or
// when the test is over.
func (g *gate) wait() {
	select {
	case <-g.ch:
	case <-g.quit:
	}
}

// open lets one waiting handler through.
func (g *gate) open(t *testing.T, ctx context.Context) {
	t.Helper()
	select {
	case g.ch <- struct{}{}:
	case <-ctx.Done():
		t.Fatal("the handler never reached the gate")
	}
}

// readFrame reads one server-sent event, up to and with its blank line.
func readFrame(br *bufio.Reader) (string, error) {
	var b strings.Builder
	for {
		line, err := br.ReadString('\n')
		b.WriteString(line)
		if err != nil {
			return b.String(), err
		}
		if line == "\n" {
			return b.String(), nil
		}
	}
}

// TestStreamingFramesArriveOneByOne runs a handler that sends headers and
// then three server-sent events, waiting at a gate before each one, through
// aws-lambda-go's runtime loop and the Runtime API. The invoker gets the
// headers before any frame is written and reads each frame before the
// handler may write the next: were the response buffered anywhere, the
// first read would never return.
func TestStreamingFramesArriveOneByOne(t *testing.T) {
	ctx := testContext(t)
	g := newGate(t)
	done := make(chan struct{})
	frames := []string{"event: message\ndata: {\"text\":\"one\"}\n\n", "data: two\n\n", "data: three\n\n"}
	id := route(t, func(w http.ResponseWriter, r *http.Request) {
		defer close(done)
		w.Header().Set("Content-Type", "text/event-stream")
		w.Header().Set("Cache-Control", "no-cache")
		w.WriteHeader(http.StatusOK)
		for _, f := range frames {
			g.wait()
			if _, err := io.WriteString(w, f); err != nil {
				t.Errorf("writing %q: %v", f, err)
				return
			}
			w.(http.Flusher).Flush()
		}
	})

	resp := invoke(t, ctx, id, urlEvent("GET", "/api/agents/chat/stream/abc", ""))
	if !resp.Streamed || resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" || resp.Header.Get("Cache-Control") != "no-cache" {
		t.Fatalf("response %+v, want a streamed 200 text/event-stream", resp)
	}
	br := bufio.NewReader(resp.Body)
	for i, want := range frames {
		g.open(t, ctx)
		got, err := readFrame(br)
		if err != nil || got != want {
			t.Fatalf("frame %d = %q, %v; want %q", i, got, err, want)
		}
		if i < len(frames)-1 {
			select {
			case <-done:
				t.Fatalf("the handler finished before frame %d was read", i)
			default:
			}
		}
	}
	if rest, err := io.ReadAll(br); err != nil || len(rest) != 0 {
		t.Fatalf("after the last frame: %q, %v", rest, err)
	}
	<-done
}

// TestStreamingRequestAndResponse checks what the handler sees of a
// Function URL event and what the invoker sees of the handler's answer.
func TestStreamingRequestAndResponse(t *testing.T) {
	ctx := testContext(t)
	type seen struct {
		method, path, rawPath, uri, query, host, remote, custom, proto string
		cookieA, cookieB                                               string
		requestID                                                      string
		hasDeadline                                                    bool
		bodyLen                                                        int64
	}
	got := make(chan seen, 1)
	id := route(t, func(w http.ResponseWriter, r *http.Request) {
		s := seen{
			method: r.Method, path: r.URL.Path, rawPath: r.URL.EscapedPath(), uri: r.RequestURI,
			query: r.URL.Query().Get("q"), host: r.Host, remote: r.RemoteAddr,
			custom: r.Header.Get("X-Custom"), proto: r.Proto, bodyLen: r.ContentLength,
		}
		if c, err := r.Cookie("a"); err == nil {
			s.cookieA = c.Value
		}
		if c, err := r.Cookie("b"); err == nil {
			s.cookieB = c.Value
		}
		if lc, ok := lambdacontext.FromContext(r.Context()); ok {
			s.requestID = lc.AwsRequestID
		}
		_, s.hasDeadline = r.Context().Deadline()
		got <- s

		w.Header().Set("Content-Type", "application/json")
		w.Header().Add("X-Multi", "a")
		w.Header().Add("X-Multi", "b")
		http.SetCookie(w, &http.Cookie{Name: "refreshToken", Value: "r1", Path: "/", HttpOnly: true})
		http.SetCookie(w, &http.Cookie{Name: "token_provider", Value: "librechat", Path: "/"})
		w.WriteHeader(http.StatusCreated)
		_, _ = io.WriteString(w, `{"ok":true}`)
	})

	ev := urlEvent("GET", "/api/files/a%2Fb/c", "q=x%20y&z=1")
	ev.Headers["x-custom"] = "custom value"
	ev.Cookies = []string{"a=1", "b=two"}
	resp := invoke(t, ctx, id, ev)
	s := <-got
	want := seen{
		method: "GET", path: "/api/files/a/b/c", rawPath: "/api/files/a%2Fb/c", uri: "/api/files/a%2Fb/c?q=x%20y&z=1",
		query: "x y", host: "abcdefgh.lambda-url.us-east-1.on.aws", remote: "198.51.100.9",
		custom: "custom value", proto: "HTTP/1.1", cookieA: "1", cookieB: "two",
		requestID: resp.RequestID, hasDeadline: true,
	}
	if s != want {
		t.Errorf("the handler saw\n%+v\nwant\n%+v", s, want)
	}
	if resp.StatusCode != http.StatusCreated || resp.Header.Get("Content-Type") != "application/json" || resp.Header.Get("X-Multi") != "a, b" {
		t.Errorf("status %d, headers %v", resp.StatusCode, resp.Header)
	}
	if resp.Header.Get("Set-Cookie") != "" {
		t.Errorf("Set-Cookie in the headers: %v", resp.Header)
	}
	if strings.Join(resp.Cookies, "|") != "refreshToken=r1; Path=/; HttpOnly|token_provider=librechat; Path=/" {
		t.Errorf("cookies = %q", resp.Cookies)
	}
	if b, err := io.ReadAll(resp.Body); err != nil || string(b) != `{"ok":true}` {
		t.Errorf("body %q, %v", b, err)
	}
}

func TestStreamingRequestBodies(t *testing.T) {
	ctx := testContext(t)
	id := route(t, func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("X-Method", r.Method)
		w.Header().Set("X-Content-Length", strconv.FormatInt(r.ContentLength, 10))
		w.Header().Set("X-Content-Type", r.Header.Get("Content-Type"))
		_, _ = w.Write(b)
	})
	binary := []byte{0, 1, 2, 0xff, 0xfe, '\n', 0, 0, 0, 0, 0, 0, 0, 0, 'x'}
	for _, tc := range []struct {
		name   string
		body   []byte
		base64 bool
	}{
		{"base64", binary, true},
		{"text", []byte(`{"text":"héllo"}`), false},
		{"empty", nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ev := urlEvent("POST", "/api/agents/chat", "")
			ev.Headers["content-type"] = "application/json"
			if tc.base64 {
				ev.Body, ev.IsBase64Encoded = b64(tc.body), true
			} else {
				ev.Body = string(tc.body)
			}
			resp := invoke(t, ctx, id, ev)
			b, err := io.ReadAll(resp.Body)
			if err != nil || !bytes.Equal(b, tc.body) {
				t.Errorf("echo %q, %v; want %q", b, err, tc.body)
			}
			if resp.Header.Get("X-Method") != "POST" || resp.Header.Get("X-Content-Length") != strconv.Itoa(len(tc.body)) ||
				resp.Header.Get("X-Content-Type") != "application/json" {
				t.Errorf("headers %v", resp.Header)
			}
		})
	}
}

func TestStreamingPanics(t *testing.T) {
	ctx := testContext(t)

	t.Run("before the headers", func(t *testing.T) {
		id := route(t, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/event-stream")
			panic("boom")
		})
		resp := invoke(t, ctx, id, urlEvent("GET", "/panic", ""))
		b, err := io.ReadAll(resp.Body)
		if err != nil || resp.StatusCode != http.StatusInternalServerError || resp.Header.Get("Content-Type") != "application/json" ||
			string(b) != `{"error":"Internal Server Error"}` {
			t.Errorf("status %d, headers %v, body %q, %v", resp.StatusCode, resp.Header, b, err)
		}
	})

	t.Run("after the headers", func(t *testing.T) {
		id := route(t, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/event-stream")
			_, _ = io.WriteString(w, "data: partial\n\n")
			w.(http.Flusher).Flush()
			panic("boom")
		})
		resp := invoke(t, ctx, id, urlEvent("GET", "/panic", ""))
		b, err := io.ReadAll(resp.Body)
		var fe *runtimeapi.FunctionError
		if resp.StatusCode != http.StatusOK || string(b) != "data: partial\n\n" || !errors.As(err, &fe) ||
			fe.Type != "handlerPanic" || !strings.Contains(fe.Message, "boom") {
			t.Errorf("status %d, body %q, error %v; want 200, the partial frame and a handlerPanic error", resp.StatusCode, b, err)
		}
	})

	t.Run("the loop lives on", func(t *testing.T) {
		id := route(t, func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "still here") })
		resp := invoke(t, ctx, id, urlEvent("GET", "/", ""))
		if b, _ := io.ReadAll(resp.Body); string(b) != "still here" {
			t.Errorf("body %q", b)
		}
	})
}

func TestStreamingDefaults(t *testing.T) {
	ctx := testContext(t)
	for _, tc := range []struct {
		name       string
		h          http.HandlerFunc
		status     int
		typ, body  string
		writeError error
	}{
		{"nothing written", func(w http.ResponseWriter, r *http.Request) {}, 200, "", "", nil},
		{"content type sniffed", func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.WriteString(w, "<!doctype html><p>hi")
		}, 200, "text/html; charset=utf-8", "<!doctype html><p>hi", nil},
		{"flush commits", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/event-stream")
			if err := http.NewResponseController(w).Flush(); err != nil {
				panic(err)
			}
		}, 200, "text/event-stream", "", nil},
		{"no body allowed", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusNoContent)
			if _, err := io.WriteString(w, "x"); !errors.Is(err, http.ErrBodyNotAllowed) {
				panic("write after 204: " + errString(err))
			}
		}, 204, "", "", nil},
		{"large body", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/plain")
			_, _ = io.WriteString(w, strings.Repeat("0123456789", 10_000))
		}, 200, "text/plain", strings.Repeat("0123456789", 10_000), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id := route(t, tc.h)
			resp := invoke(t, ctx, id, urlEvent("GET", "/", ""))
			b, err := io.ReadAll(resp.Body)
			if err != nil || resp.StatusCode != tc.status || resp.Header.Get("Content-Type") != tc.typ || string(b) != tc.body {
				t.Errorf("status %d, Content-Type %q, body of %d bytes, %v; want %d, %q, %d bytes",
					resp.StatusCode, resp.Header.Get("Content-Type"), len(b), err, tc.status, tc.typ, len(tc.body))
			}
		})
	}
}

func errString(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}

// TestStreamingHandlerDirect calls the handler lambda.Start would get,
// without a runtime: the response comes back while the handler is still
// running, and closing its body cancels the request's context.
func TestStreamingHandlerDirect(t *testing.T) {
	g := newGate(t)
	canceled := make(chan error, 1)
	h := lambda.StreamingHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = io.WriteString(w, "data: one\n\n")
		w.(http.Flusher).Flush()
		g.wait()
		<-r.Context().Done()
		canceled <- r.Context().Err()
	}))
	resp, err := h(t.Context(), urlEvent("GET", "/stream", ""))
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || resp.Headers["Content-Type"] != "text/event-stream" {
		t.Fatalf("response %+v", resp)
	}
	if got, err := readFrame(bufio.NewReader(resp.Body)); err != nil || got != "data: one\n\n" {
		t.Fatalf("frame %q, %v", got, err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	g.open(t, ctx)
	if err := resp.Body.(io.Closer).Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-canceled; !errors.Is(err, context.Canceled) {
		t.Errorf("the request's context ended with %v", err)
	}

	// A handler that is done by the time the invocation looks is answered,
	// not mistaken for an invocation that ended first.
	quick := lambda.StreamingHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusAccepted)
	}))
	for i := range 200 {
		resp, err := quick(t.Context(), urlEvent("GET", "/quick", ""))
		if err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
		if b, err := io.ReadAll(resp.Body); err != nil || len(b) != 0 || resp.StatusCode != http.StatusAccepted {
			t.Fatalf("call %d: status %d, body %q, %v", i, resp.StatusCode, b, err)
		}
	}

	// An event that is no request is a 400, not a failed invocation.
	bad := urlEvent("POST", "/x", "")
	bad.Body, bad.IsBase64Encoded = "not base64!", true
	resp, err = h(t.Context(), bad)
	if err != nil || resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("bad base64: %+v, %v", resp, err)
	}
}
