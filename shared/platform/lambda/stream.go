package lambda

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"runtime/debug"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	awslambda "github.com/aws/aws-lambda-go/lambda"
)

// StreamHandlerFunc is what StreamingHandler returns: a handler for
// lambda.Start that answers a Lambda Function URL event with a streamed
// response.
type StreamHandlerFunc = func(context.Context, events.LambdaFunctionURLRequest) (*events.LambdaFunctionURLStreamingResponse, error)

// streamBufferSize is how much a handler may write before the bytes are
// pushed without a Flush, as net/http's server does with its own buffer.
const streamBufferSize = 4 << 10

// internalErrorBody is the body of the 500 that a handler's panic turns
// into when no header was sent yet.
const internalErrorBody = `{"error":"Internal Server Error"}`

// StartStreaming serves h to Lambda Function URL events of a URL whose
// InvokeMode is RESPONSE_STREAM. It does not return. The bootstrap must be
// built with -tags lambda.norpc or run on an OS-only runtime (provided.*),
// where aws-lambda-go can stream.
func StartStreaming(h http.Handler) {
	awslambda.Start(StreamingHandler(h))
}

// StreamingHandler returns the handler that StartStreaming passes to
// lambda.Start. Each invocation runs h in its own goroutine with a request
// built from the event; the invocation returns as soon as h has committed
// its status and headers (first WriteHeader, Write or Flush, or h
// returning), and what h writes afterwards is read by the runtime from the
// response body while h is still running. Writes are buffered up to 4 KiB;
// Flush (http.Flusher, or http.ResponseController) pushes them at once.
//
// Set-Cookie headers become the response's cookies; other headers with
// several values are joined with ", ". A panic in h becomes a 500 with the
// JSON body {"error":"Internal Server Error"} when no header was sent yet;
// after that it ends the body with an error, which the runtime reports as
// a function error.
func StreamingHandler(h http.Handler) StreamHandlerFunc {
	return func(invokeCtx context.Context, ev events.LambdaFunctionURLRequest) (*events.LambdaFunctionURLStreamingResponse, error) {
		// ctx is the request's: it also ends when h returns or when the
		// runtime closes the body.
		ctx, cancel := context.WithCancel(invokeCtx)
		r, err := functionURLRequest(ctx, ev)
		if err != nil {
			cancel()
			slog.Default().Warn("lambda: unusable Function URL event", "err", err)
			return &events.LambdaFunctionURLStreamingResponse{
				StatusCode: http.StatusBadRequest,
				Headers:    map[string]string{"Content-Type": "application/json"},
				Body:       strings.NewReader(`{"error":"Bad Request"}`),
			}, nil
		}
		pr, pw := io.Pipe()
		w := &streamWriter{
			header: http.Header{},
			pw:     pw,
			buf:    bufio.NewWriterSize(pw, streamBufferSize),
			ready:  make(chan struct{}),
		}
		go w.serve(h, r, cancel)
		select {
		case <-w.ready:
		case <-invokeCtx.Done():
		}
		select {
		case <-w.ready:
		default:
			// The invocation ended before h sent its headers.
			err := context.Cause(invokeCtx)
			cancel()
			_ = pr.CloseWithError(err)
			return nil, err
		}
		if w.err != nil {
			_ = pr.CloseWithError(w.err)
			return nil, w.err
		}
		return &events.LambdaFunctionURLStreamingResponse{
			StatusCode: w.status,
			Headers:    w.headers,
			Cookies:    w.cookies,
			Body:       &streamBody{PipeReader: pr, cancel: cancel},
		}, nil
	}
}

// streamBody is the response body the runtime reads. Closing it (the
// runtime does once the invocation is over, or when posting the response
// failed) cancels the request's context, so a handler that is waiting
// rather than writing also learns that nobody is listening.
type streamBody struct {
	*io.PipeReader
	cancel context.CancelFunc
}

func (b *streamBody) Close() error {
	b.cancel()
	return b.PipeReader.Close()
}

// streamWriter is the http.ResponseWriter of one streamed invocation. Only
// the handler's goroutine uses it; status, headers, cookies and err are set
// before ready is closed and only read after.
type streamWriter struct {
	header      http.Header
	pw          *io.PipeWriter
	buf         *bufio.Writer
	wroteHeader bool
	noBody      bool
	ready       chan struct{}

	status  int
	headers map[string]string
	cookies []string
	err     error
}

var (
	_ http.Flusher                    = (*streamWriter)(nil)
	_ interface{ FlushError() error } = (*streamWriter)(nil)
)

func (w *streamWriter) Header() http.Header { return w.header }

func (w *streamWriter) WriteHeader(code int) {
	if w.wroteHeader {
		return
	}
	if code < 100 || code > 999 {
		panic(fmt.Sprintf("invalid WriteHeader code %v", code))
	}
	if code >= 100 && code <= 199 && code != http.StatusSwitchingProtocols {
		// Informational answers cannot be sent through a Function URL.
		return
	}
	w.commit(code)
}

func (w *streamWriter) Write(p []byte) (int, error) {
	if !w.wroteHeader {
		if _, ok := w.header["Content-Type"]; !ok && len(p) > 0 && w.header.Get("Transfer-Encoding") == "" {
			w.header.Set("Content-Type", http.DetectContentType(p))
		}
		w.commit(http.StatusOK)
	}
	if w.noBody {
		return 0, http.ErrBodyNotAllowed
	}
	return w.buf.Write(p)
}

func (w *streamWriter) WriteString(s string) (int, error) {
	if !w.wroteHeader {
		return w.Write([]byte(s))
	}
	if w.noBody {
		return 0, http.ErrBodyNotAllowed
	}
	return w.buf.WriteString(s)
}

// FlushError commits the headers if needed and pushes what was written to
// the runtime. It is what http.ResponseController.Flush calls.
func (w *streamWriter) FlushError() error {
	if !w.wroteHeader {
		w.commit(http.StatusOK)
	}
	return w.buf.Flush()
}

func (w *streamWriter) Flush() { _ = w.FlushError() }

// commit fixes the status and headers and lets the invocation return them.
func (w *streamWriter) commit(code int) {
	w.wroteHeader = true
	w.status = code
	w.noBody = !bodyAllowed(code)
	w.headers, w.cookies = responseHeaders(w.header)
	close(w.ready)
}

// fail ends the invocation with err when no header was sent yet.
func (w *streamWriter) fail(err error) {
	w.wroteHeader = true
	w.err = err
	close(w.ready)
}

func (w *streamWriter) serve(h http.Handler, r *http.Request, cancel context.CancelFunc) {
	defer cancel()
	defer func() {
		if v := recover(); v != nil {
			w.recovered(v, r)
			return
		}
		if !w.wroteHeader {
			w.commit(http.StatusOK)
		}
		if err := w.buf.Flush(); err != nil {
			_ = w.pw.CloseWithError(err)
			return
		}
		_ = w.pw.Close()
	}()
	h.ServeHTTP(w, r)
}

// handlerPanic is the error a streamed body ends with when its handler
// panicked after sending the headers. aws-lambda-go reports it to the
// Runtime API as a function error of type "handlerPanic".
type handlerPanic struct{ msg string }

func (e *handlerPanic) Error() string { return e.msg }

func (w *streamWriter) recovered(v any, r *http.Request) {
	if v == http.ErrAbortHandler {
		if !w.wroteHeader {
			w.fail(http.ErrAbortHandler)
		}
		_ = w.buf.Flush()
		_ = w.pw.CloseWithError(http.ErrAbortHandler)
		return
	}
	slog.Default().Error("lambda: panic serving a streamed request",
		"method", r.Method, "path", r.URL.Path, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
	if !w.wroteHeader {
		w.header = http.Header{}
		w.header.Set("Content-Type", "application/json")
		w.header.Set("X-Content-Type-Options", "nosniff")
		w.commit(http.StatusInternalServerError)
		_, _ = w.buf.WriteString(internalErrorBody)
		if err := w.buf.Flush(); err != nil {
			_ = w.pw.CloseWithError(err)
			return
		}
		_ = w.pw.Close()
		return
	}
	_ = w.buf.Flush()
	_ = w.pw.CloseWithError(&handlerPanic{msg: fmt.Sprintf("panic serving %s %s: %v", r.Method, r.URL.Path, v)})
}

// bodyAllowed reports whether a response with this status may have a body.
func bodyAllowed(status int) bool {
	if status >= 100 && status <= 199 {
		return false
	}
	return status != http.StatusNoContent && status != http.StatusNotModified
}

// responseHeaders splits a handler's headers into what a Function URL
// response carries: one value per header and the Set-Cookie values apart.
func responseHeaders(h http.Header) (map[string]string, []string) {
	headers := make(map[string]string, len(h))
	var cookies []string
	for k, vs := range h {
		if len(vs) == 0 {
			continue
		}
		if http.CanonicalHeaderKey(k) == "Set-Cookie" {
			cookies = append(cookies, vs...)
			continue
		}
		headers[k] = strings.Join(vs, ", ")
	}
	return headers, cookies
}

// functionURLRequest builds the request h sees from a Function URL event,
// as net/http's server would have from the client's request.
func functionURLRequest(ctx context.Context, ev events.LambdaFunctionURLRequest) (*http.Request, error) {
	method := ev.RequestContext.HTTP.Method
	if method == "" {
		method = http.MethodGet
	}
	path := ev.RawPath
	if path == "" {
		path = ev.RequestContext.HTTP.Path
	}
	if !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	uri := path
	if ev.RawQueryString != "" {
		uri += "?" + ev.RawQueryString
	}
	u, err := url.ParseRequestURI(uri)
	if err != nil {
		return nil, fmt.Errorf("bad request URI %q: %w", uri, err)
	}

	var body []byte
	if ev.IsBase64Encoded {
		if body, err = base64.StdEncoding.DecodeString(ev.Body); err != nil {
			return nil, fmt.Errorf("decoding the base64 body: %w", err)
		}
	} else {
		body = []byte(ev.Body)
	}

	proto := ev.RequestContext.HTTP.Protocol
	major, minor, ok := http.ParseHTTPVersion(proto)
	if !ok {
		proto, major, minor = "HTTP/1.1", 1, 1
	}

	header := make(http.Header, len(ev.Headers)+1)
	host := ev.RequestContext.DomainName
	for k, v := range ev.Headers {
		if strings.EqualFold(k, "host") {
			host = v
			continue
		}
		header.Set(k, v)
	}
	if len(ev.Cookies) > 0 {
		header.Set("Cookie", strings.Join(ev.Cookies, "; "))
	}

	r := &http.Request{
		Method:        method,
		URL:           u,
		Proto:         proto,
		ProtoMajor:    major,
		ProtoMinor:    minor,
		Header:        header,
		Host:          host,
		RemoteAddr:    ev.RequestContext.HTTP.SourceIP,
		RequestURI:    uri,
		ContentLength: int64(len(body)),
		Body:          http.NoBody,
	}
	if len(body) > 0 {
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.GetBody = func() (io.ReadCloser, error) {
			return io.NopCloser(bytes.NewReader(body)), nil
		}
	}
	return r.WithContext(ctx), nil
}
