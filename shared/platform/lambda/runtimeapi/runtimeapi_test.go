package runtimeapi_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lcgo/lcgo/shared/platform/lambda/runtimeapi"
)

// client is a bare Runtime API client, standing in for a runtime so the
// server's side of the protocol can be checked on its own.
type client struct{ base string }

func newClient(s *runtimeapi.Server) *client {
	return &client{base: "http://" + s.Addr() + "/2018-06-01/runtime/"}
}

// next waits for an invocation and returns its headers and payload; the
// headers are empty if it failed.
func (c *client) next(ctx context.Context) (http.Header, []byte) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+"invocation/next", nil)
	if err != nil {
		return http.Header{}, nil
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return http.Header{}, nil
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil || res.StatusCode != http.StatusOK {
		return http.Header{}, nil
	}
	return res.Header, b
}

// post sends body to path with the given Content-Type and trailers and
// returns the status, or 0 if the request failed.
func (c *client) post(path, contentType string, body io.Reader, trailer http.Header) int {
	req, err := http.NewRequest(http.MethodPost, c.base+path, body)
	if err != nil {
		return 0
	}
	req.Header.Set("Content-Type", contentType)
	req.Trailer = trailer
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0
	}
	_, _ = io.Copy(io.Discard, res.Body)
	_ = res.Body.Close()
	return res.StatusCode
}

// run runs f, a runtime's side of a test, in a goroutine, and returns a
// channel closed when f is done.
func run(f func()) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	return done
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func TestBufferedResponse(t *testing.T) {
	s := runtimeapi.Start(t, runtimeapi.WithFunctionName("buffered"))
	c := newClient(s)
	ctx := testContext(t)
	invokeCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()

	type seen struct {
		h       http.Header
		payload []byte
	}
	got := make(chan seen, 1)
	var first, second int
	done := run(func() {
		h, payload := c.next(ctx)
		got <- seen{h, payload}
		id := h.Get(runtimeapi.HeaderRequestID)
		first = c.post("invocation/"+id+"/response", "application/json", strings.NewReader(`{"answer":42}`), nil)
		// A second answer to the same invocation is refused.
		second = c.post("invocation/"+id+"/response", "application/json", strings.NewReader(`{}`), nil)
	})

	before := time.Now()
	resp, err := s.Invoke(invokeCtx, []byte(`{"question":"?"}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sn := <-got
	if string(sn.payload) != `{"question":"?"}` {
		t.Errorf("payload = %s", sn.payload)
	}
	if id := sn.h.Get(runtimeapi.HeaderRequestID); id == "" || id != resp.RequestID {
		t.Errorf("request id header %q, response's %q", id, resp.RequestID)
	}
	if arn := sn.h.Get(runtimeapi.HeaderFunctionARN); arn != s.FunctionARN() || !strings.HasSuffix(arn, ":function:buffered") {
		t.Errorf("function ARN %q, server's %q", arn, s.FunctionARN())
	}
	if tr := sn.h.Get(runtimeapi.HeaderTraceID); !strings.HasPrefix(tr, "Root=1-") {
		t.Errorf("trace id %q", tr)
	}
	ms, err := strconv.ParseInt(sn.h.Get(runtimeapi.HeaderDeadlineMs), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	ctxDeadline, _ := invokeCtx.Deadline()
	if d := time.UnixMilli(ms); d.Before(before) || d.After(ctxDeadline) {
		t.Errorf("deadline %s is not between now and the context's deadline %s", d, ctxDeadline)
	}
	if resp.Streamed || resp.ContentType != "application/json" || resp.StatusCode != 0 {
		t.Errorf("response %+v, want a buffered application/json one", resp)
	}
	if b, _ := io.ReadAll(resp.Body); string(b) != `{"answer":42}` {
		t.Errorf("body = %s", b)
	}
	if e := s.Env(); e["AWS_LAMBDA_RUNTIME_API"] != s.Addr() || e["AWS_LAMBDA_FUNCTION_NAME"] != "buffered" {
		t.Errorf("Env() = %v", e)
	}
	<-done
	if first != http.StatusAccepted || second != http.StatusBadRequest {
		t.Errorf("posting the response: %d, posting it again: %d; want 202, 400", first, second)
	}
}

// TestStreamedResponseChunkByChunk feeds a streamed response through a
// pipe and reads each chunk from the invoker's side before the next one is
// written.
func TestStreamedResponseChunkByChunk(t *testing.T) {
	s := runtimeapi.Start(t)
	c := newClient(s)
	ctx := testContext(t)

	pr, pw := io.Pipe()
	t.Cleanup(func() { _ = pw.CloseWithError(errors.New("test over")) })
	posted := make(chan int, 1)
	go func() {
		h, _ := c.next(ctx)
		posted <- c.post("invocation/"+h.Get(runtimeapi.HeaderRequestID)+"/response", runtimeapi.StreamingContentType, pr, nil)
	}()
	chunks := []string{"data: one\n\n", "data: two\n\n", "data: three\n\n"}
	wrote := make(chan error, len(chunks)+1)
	next := make(chan struct{})
	go func() {
		prelude := `{"statusCode":201,"headers":{"content-type":"text/event-stream","x-a":"1"},"cookies":["s=1; Path=/","t=2"]}`
		if _, err := pw.Write(append([]byte(prelude), make([]byte, 8)...)); err != nil {
			wrote <- err
			return
		}
		for i, ch := range chunks {
			if i > 0 {
				select {
				case <-next:
				case <-ctx.Done():
					return
				}
			}
			_, err := pw.Write([]byte(ch))
			wrote <- err
		}
		wrote <- pw.Close()
	}()

	resp, err := s.Invoke(ctx, []byte(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if !resp.Streamed || resp.StatusCode != 201 || resp.Header.Get("Content-Type") != "text/event-stream" || resp.Header.Get("X-A") != "1" {
		t.Fatalf("prelude: %+v", resp)
	}
	if strings.Join(resp.Cookies, "|") != "s=1; Path=/|t=2" {
		t.Errorf("cookies = %q", resp.Cookies)
	}
	br := bufio.NewReader(resp.Body)
	for i, want := range chunks {
		if i > 0 {
			next <- struct{}{}
		}
		got, err := readFrame(br)
		if err != nil || got != want {
			t.Fatalf("frame %d = %q, %v; want %q", i, got, err, want)
		}
		if err := <-wrote; err != nil {
			t.Fatal(err)
		}
	}
	if b, err := io.ReadAll(br); err != nil || len(b) != 0 {
		t.Errorf("after the last frame: %q, %v", b, err)
	}
	if st := <-posted; st != http.StatusAccepted {
		t.Errorf("posting the response: %d", st)
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

func TestStreamedResponseErrorTrailer(t *testing.T) {
	s := runtimeapi.Start(t)
	c := newClient(s)
	ctx := testContext(t)
	done := run(func() {
		h, _ := c.next(ctx)
		trailer := http.Header{runtimeapi.TrailerErrorType: nil, runtimeapi.TrailerErrorBody: nil}
		body := &trailingReader{
			r:       strings.NewReader(`{"statusCode":200}` + "\x00\x00\x00\x00\x00\x00\x00\x00" + "partial"),
			trailer: trailer,
			typ:     "boom",
			doc:     `{"errorMessage":"it broke","errorType":"boom"}`,
		}
		c.post("invocation/"+h.Get(runtimeapi.HeaderRequestID)+"/response", runtimeapi.StreamingContentType, body, trailer)
	})
	defer func() { <-done }()
	resp, err := s.Invoke(ctx, []byte(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	var fe *runtimeapi.FunctionError
	if string(b) != "partial" || !errors.As(err, &fe) || fe.Type != "boom" || fe.Message != "it broke" || fe.RequestID != resp.RequestID {
		t.Fatalf("body %q, error %v; want partial and a boom FunctionError", b, err)
	}
}

// trailingReader sets error trailers when its reader is done, as
// aws-lambda-go does when a response's reader fails.
type trailingReader struct {
	r        io.Reader
	trailer  http.Header
	typ, doc string
}

func (r *trailingReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if err == io.EOF {
		r.trailer.Set(runtimeapi.TrailerErrorType, r.typ)
		r.trailer.Set(runtimeapi.TrailerErrorBody, base64.StdEncoding.EncodeToString([]byte(r.doc)))
	}
	return n, err
}

func TestFunctionError(t *testing.T) {
	s := runtimeapi.Start(t)
	c := newClient(s)
	ctx := testContext(t)
	done := run(func() {
		h, _ := c.next(ctx)
		c.post("invocation/"+h.Get(runtimeapi.HeaderRequestID)+"/error", "application/json",
			strings.NewReader(`{"errorMessage":"no such user","errorType":"NotFound"}`), nil)
	})
	defer func() { <-done }()
	_, err := s.Invoke(ctx, []byte(`{}`))
	var fe *runtimeapi.FunctionError
	if !errors.As(err, &fe) || fe.Type != "NotFound" || fe.Message != "no such user" {
		t.Fatalf("Invoke error = %v, want a NotFound FunctionError", err)
	}
}

func TestInitError(t *testing.T) {
	s := runtimeapi.Start(t)
	c := newClient(s)
	if st := c.post("init/error", "application/json", strings.NewReader(`{"errorMessage":"no config","errorType":"Runtime.InitError"}`), nil); st != http.StatusAccepted {
		t.Fatalf("posting the init error: %d", st)
	}
	_, err := s.Invoke(testContext(t), []byte(`{}`))
	var ie *runtimeapi.InitError
	if !errors.As(err, &ie) || ie.Type != "Runtime.InitError" || ie.Message != "no config" {
		t.Fatalf("Invoke error = %v, want the InitError", err)
	}
}

func TestBadAnswers(t *testing.T) {
	s := runtimeapi.Start(t)
	c := newClient(s)
	if st := c.post("invocation/nope/response", "application/json", strings.NewReader(`{}`), nil); st != http.StatusBadRequest {
		t.Errorf("an answer to an unknown invocation: %d, want 400", st)
	}

	ctx := testContext(t)
	done := run(func() {
		h, _ := c.next(ctx)
		c.post("invocation/"+h.Get(runtimeapi.HeaderRequestID)+"/response", runtimeapi.StreamingContentType,
			bytes.NewReader([]byte(`{"statusCode":200}`)), nil)
	})
	defer func() { <-done }()
	if _, err := s.Invoke(ctx, []byte(`{}`)); err == nil || !strings.Contains(err.Error(), "prelude") {
		t.Errorf("a streamed response without its NUL bytes: %v, want a prelude error", err)
	}
}

func TestInvokeEnds(t *testing.T) {
	s := runtimeapi.Start(t)

	// Nobody takes the invocation: the context ends it.
	ctx, cancel := context.WithCancel(t.Context())
	errc := make(chan error, 1)
	go func() {
		_, err := s.Invoke(ctx, []byte(`{}`))
		errc <- err
	}()
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Errorf("Invoke after cancel: %v", err)
	}

	// A streamed body being read ends when the context does.
	c := newClient(s)
	pr, pw := io.Pipe()
	t.Cleanup(func() { _ = pw.Close() })
	done := run(func() {
		h, _ := c.next(t.Context())
		c.post("invocation/"+h.Get(runtimeapi.HeaderRequestID)+"/response", runtimeapi.StreamingContentType, pr, nil)
	})
	go func() {
		_, _ = pw.Write([]byte(`{"statusCode":200}` + "\x00\x00\x00\x00\x00\x00\x00\x00"))
	}()
	ctx2, cancel2 := context.WithCancel(t.Context())
	resp, err := s.Invoke(ctx2, []byte(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	cancel2()
	if _, err := io.ReadAll(resp.Body); !errors.Is(err, context.Canceled) {
		t.Errorf("reading after cancel: %v", err)
	}

	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	_ = pw.Close()
	<-done
	if _, err := s.Invoke(t.Context(), []byte(`{}`)); !errors.Is(err, runtimeapi.ErrClosed) {
		t.Errorf("Invoke after Close: %v", err)
	}
}
