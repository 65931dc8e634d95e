// Package runtimeapi is a test implementation of the AWS Lambda Runtime
// API (2018-06-01) on 127.0.0.1, for running a Lambda runtime loop — a
// bootstrap binary, or aws-lambda-go's lambda.Start in the test process —
// and invoking it.
//
// Unlike the Runtime Interface Emulator it passes streamed responses on as
// they arrive. aws-lambda-go streams by POSTing a chunked body with the
// Content-Type application/vnd.awslambda.http-integration-response: a JSON
// prelude (statusCode, headers, cookies), 8 NUL bytes, then the body. The
// server splits the prelude off and hands the rest to the invoker chunk by
// chunk through Response.Body. Any other response is buffered.
//
//	srv := runtimeapi.RunBootstrap(t, runtimeapi.BuildBootstrap(t, "./cmd/x"), nil)
//	resp, err := srv.Invoke(ctx, event)
//	// resp.StatusCode, resp.Header, resp.Cookies from the prelude;
//	// resp.Body streams.
package runtimeapi

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"
)

// StreamingContentType is the Content-Type of a streamed response.
const StreamingContentType = "application/vnd.awslambda.http-integration-response"

// Defaults for the function the server pretends to run.
const (
	DefaultFunctionName = "lcgo-test"
	DefaultRegion       = "us-east-1"
	DefaultAccountID    = "123456789012"
	DefaultTimeout      = 5 * time.Minute
)

// Runtime API header names.
const (
	HeaderRequestID   = "Lambda-Runtime-Aws-Request-Id"
	HeaderDeadlineMs  = "Lambda-Runtime-Deadline-Ms"
	HeaderFunctionARN = "Lambda-Runtime-Invoked-Function-Arn"
	HeaderTraceID     = "Lambda-Runtime-Trace-Id"
	HeaderErrorType   = "Lambda-Runtime-Function-Error-Type"
	// TrailerErrorType and TrailerErrorBody end a streamed response whose
	// function failed midway.
	TrailerErrorType = "Lambda-Runtime-Function-Error-Type"
	TrailerErrorBody = "Lambda-Runtime-Function-Error-Body"
)

// ErrClosed is returned by Invoke, and by reads of a streamed body, once
// the server is closed.
var ErrClosed = errors.New("runtimeapi: server closed")

// maxPrelude bounds the JSON prelude of a streamed response.
const maxPrelude = 1 << 20

// Option configures a Server.
type Option func(*config)

type config struct {
	name    string
	timeout time.Duration
}

// WithFunctionName sets the function's name, which appears in its ARN and
// in Env.
func WithFunctionName(name string) Option {
	return func(c *config) {
		if name != "" {
			c.name = name
		}
	}
}

// WithTimeout sets the function's timeout: an invocation's deadline is
// this long after Invoke, or the context's deadline if that is sooner.
func WithTimeout(d time.Duration) Option {
	return func(c *config) {
		if d > 0 {
			c.timeout = d
		}
	}
}

// Server is one function's Runtime API. Invocations are handed to
// whichever runtime asks for the next one, in the order Invoke was called.
type Server struct {
	cfg  config
	arn  string
	ln   net.Listener
	http *http.Server

	queue chan *invocation

	closeOnce sync.Once
	closed    chan struct{}

	failOnce sync.Once
	failed   chan struct{}
	failErr  error

	mu      sync.Mutex
	pending map[string]*invocation

	output *outputBuffer
}

// New starts a Server on a free 127.0.0.1 port. Close stops it.
func New(opts ...Option) (*Server, error) {
	cfg := config{name: DefaultFunctionName, timeout: DefaultTimeout}
	for _, o := range opts {
		o(&cfg)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("runtimeapi: %w", err)
	}
	s := &Server{
		cfg:     cfg,
		arn:     fmt.Sprintf("arn:aws:lambda:%s:%s:function:%s", DefaultRegion, DefaultAccountID, cfg.name),
		ln:      ln,
		queue:   make(chan *invocation),
		closed:  make(chan struct{}),
		failed:  make(chan struct{}),
		pending: map[string]*invocation{},
		output:  &outputBuffer{},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /2018-06-01/runtime/invocation/next", s.handleNext)
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/response", s.handleResponse)
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/error", s.handleError)
	mux.HandleFunc("POST /2018-06-01/runtime/init/error", s.handleInitError)
	s.http = &http.Server{Handler: mux, ReadHeaderTimeout: time.Minute}
	go func() { _ = s.http.Serve(ln) }()
	return s, nil
}

// Start is New for a test: it fails t if the server cannot start and
// closes the server when the test ends.
func Start(t testing.TB, opts ...Option) *Server {
	t.Helper()
	s, err := New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// Addr is the host:port a runtime reaches the API on: the value of
// AWS_LAMBDA_RUNTIME_API.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// FunctionName is the function's name.
func (s *Server) FunctionName() string { return s.cfg.name }

// FunctionARN is the ARN sent with every invocation.
func (s *Server) FunctionARN() string { return s.arn }

// Env is the environment Lambda gives a provided.al2023 runtime, pointed
// at this server: AWS_LAMBDA_RUNTIME_API, the function's name, version,
// memory and log group, the region and the task root (filled by
// RunBootstrap).
func (s *Server) Env() map[string]string {
	return map[string]string{
		"AWS_LAMBDA_RUNTIME_API":          s.Addr(),
		"AWS_LAMBDA_FUNCTION_NAME":        s.cfg.name,
		"AWS_LAMBDA_FUNCTION_VERSION":     "$LATEST",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
		"AWS_LAMBDA_LOG_GROUP_NAME":       "/aws/lambda/" + s.cfg.name,
		"AWS_LAMBDA_LOG_STREAM_NAME":      time.Now().UTC().Format("2006/01/02") + "/[$LATEST]" + randomHex(16),
		"AWS_LAMBDA_INITIALIZATION_TYPE":  "on-demand",
		"AWS_REGION":                      DefaultRegion,
		"AWS_DEFAULT_REGION":              DefaultRegion,
		"AWS_EXECUTION_ENV":               "AWS_Lambda_provided.al2023",
		"LAMBDA_RUNTIME_DIR":              "/var/runtime",
		"LANG":                            "en_US.UTF-8",
		"TZ":                              ":UTC",
		"PATH":                            "/usr/local/bin:/usr/bin/:/bin:/opt/bin",
	}
}

// Output is what the bootstrap started by RunBootstrap wrote to stdout and
// stderr so far.
func (s *Server) Output() string { return s.output.String() }

// Close stops the server. Invocations waiting for an answer and streamed
// bodies still being read end with ErrClosed.
func (s *Server) Close() error {
	var err error
	s.closeOnce.Do(func() {
		close(s.closed)
		err = s.http.Close()
		s.mu.Lock()
		for _, inv := range s.pending {
			inv.abort(ErrClosed)
		}
		s.mu.Unlock()
	})
	return err
}

// fail ends every invocation, waiting or future, with err; the first
// failure wins.
func (s *Server) fail(err error) {
	s.failOnce.Do(func() {
		s.failErr = err
		close(s.failed)
	})
}

// Response is the answer to one invocation.
type Response struct {
	// RequestID is the invocation's Lambda-Runtime-Aws-Request-Id.
	RequestID string
	// ContentType is the Content-Type the runtime posted its response
	// with.
	ContentType string
	// Streamed is true for a response posted with StreamingContentType.
	Streamed bool
	// StatusCode, Header and Cookies are the prelude of a streamed
	// response: its statusCode, its headers and its cookies (Set-Cookie
	// values, which are not repeated in Header). They are zero for a
	// buffered response.
	StatusCode int
	Header     http.Header
	Cookies    []string
	// Body is the body after the prelude of a streamed response, which
	// yields each chunk as it arrives, or the whole payload of a buffered
	// one. A streamed body whose function failed midway ends with a
	// *FunctionError instead of io.EOF. Close it when done.
	Body io.ReadCloser
}

// FunctionError is an invocation's failure: what the runtime posted to
// /invocation/{id}/error, or the error trailers of a streamed response.
type FunctionError struct {
	RequestID string
	Type      string
	Message   string
	// Payload is the error document as the runtime sent it.
	Payload []byte
}

func (e *FunctionError) Error() string {
	return fmt.Sprintf("runtimeapi: invocation %s failed: %s: %s", e.RequestID, e.Type, e.Message)
}

// InitError is what a runtime posted to /runtime/init/error. Once it is
// posted every invocation fails with it.
type InitError struct {
	Type    string
	Message string
	Payload []byte
}

func (e *InitError) Error() string {
	return fmt.Sprintf("runtimeapi: init failed: %s: %s", e.Type, e.Message)
}

// errorDocument is the body runtimes post to the error endpoints.
type errorDocument struct {
	Message string `json:"errorMessage"`
	Type    string `json:"errorType"`
}

func parseErrorDocument(b []byte, typeHeader string) (typ, msg string) {
	var doc errorDocument
	_ = json.Unmarshal(b, &doc)
	typ, msg = doc.Type, doc.Message
	if typ == "" {
		typ = typeHeader
	}
	if typ == "" {
		typ = "Unknown"
	}
	if msg == "" && doc == (errorDocument{}) {
		msg = string(b)
	}
	return typ, msg
}

type outcome struct {
	resp *Response
	err  error
}

// invocation is one event between Invoke and the runtime's answer.
type invocation struct {
	id       string
	payload  []byte
	deadline time.Time
	traceID  string
	ctx      context.Context
	done     chan outcome // buffered: the answer never waits for the invoker

	mu       sync.Mutex
	answered bool
	pw       *io.PipeWriter // the streamed body being written, if any
}

// claim marks the invocation answered; it fails for a second answer.
func (inv *invocation) claim() bool {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	if inv.answered {
		return false
	}
	inv.answered = true
	return true
}

func (inv *invocation) setPipe(pw *io.PipeWriter) {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	inv.pw = pw
}

// abort ends a streamed body with err: its reader gets err, its writer
// io.ErrClosedPipe, also in the middle of a Read or Write.
func (inv *invocation) abort(err error) {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	if inv.pw != nil {
		_ = inv.pw.CloseWithError(err)
	}
}

func (inv *invocation) finish(o outcome) { inv.done <- o }

// Invoke queues payload as an event, waits for a runtime to answer it and
// returns the answer. A runtime's error answer is a *FunctionError; an
// init error is an *InitError; a bootstrap started by RunBootstrap that
// exits makes it an *ExitError. For a streamed answer Invoke returns as
// soon as the prelude has arrived. Cancelling ctx abandons the invocation
// and ends its streamed body.
func (s *Server) Invoke(ctx context.Context, payload []byte) (*Response, error) {
	deadline := time.Now().Add(s.cfg.timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	inv := &invocation{
		id:       newRequestID(),
		payload:  payload,
		deadline: deadline,
		traceID:  newTraceID(),
		ctx:      ctx,
		done:     make(chan outcome, 1),
	}
	s.mu.Lock()
	s.pending[inv.id] = inv
	s.mu.Unlock()

	select {
	case s.queue <- inv:
	case <-ctx.Done():
		s.forget(inv)
		return nil, context.Cause(ctx)
	case <-s.failed:
		s.forget(inv)
		return nil, s.failErr
	case <-s.closed:
		s.forget(inv)
		return nil, ErrClosed
	}

	select {
	case o := <-inv.done:
		return o.resp, o.err
	case <-ctx.Done():
		return nil, context.Cause(ctx)
	case <-s.failed:
		select {
		case o := <-inv.done:
			return o.resp, o.err
		default:
		}
		return nil, s.failErr
	case <-s.closed:
		return nil, ErrClosed
	}
}

func (s *Server) forget(inv *invocation) {
	s.mu.Lock()
	delete(s.pending, inv.id)
	s.mu.Unlock()
}

// lookup finds the invocation an answer is for and claims it, answering
// the runtime itself when it cannot.
func (s *Server) lookup(w http.ResponseWriter, r *http.Request) (*invocation, bool) {
	id := r.PathValue("id")
	s.mu.Lock()
	inv := s.pending[id]
	s.mu.Unlock()
	if inv == nil || !inv.claim() {
		writeAPIError(w, http.StatusBadRequest, "InvalidRequestID", "no invocation "+strconv.Quote(id)+" is waiting for an answer")
		return nil, false
	}
	return inv, true
}

func (s *Server) handleNext(w http.ResponseWriter, r *http.Request) {
	select {
	case inv := <-s.queue:
		h := w.Header()
		h.Set(HeaderRequestID, inv.id)
		h.Set(HeaderDeadlineMs, strconv.FormatInt(inv.deadline.UnixMilli(), 10))
		h.Set(HeaderFunctionARN, s.arn)
		h.Set(HeaderTraceID, inv.traceID)
		h.Set("Content-Type", "application/json")
		h.Set("Content-Length", strconv.Itoa(len(inv.payload)))
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(inv.payload)
	case <-r.Context().Done():
	case <-s.closed:
		writeAPIError(w, http.StatusGone, "ServerClosed", "the Runtime API is closed")
	}
}

func (s *Server) handleResponse(w http.ResponseWriter, r *http.Request) {
	inv, ok := s.lookup(w, r)
	if !ok {
		return
	}
	defer s.forget(inv)
	contentType := r.Header.Get("Content-Type")
	if mt, _, err := mime.ParseMediaType(contentType); err == nil && mt == StreamingContentType {
		s.stream(w, r, inv, contentType)
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		inv.finish(outcome{err: fmt.Errorf("runtimeapi: reading the response of %s: %w", inv.id, err)})
		return
	}
	if ferr := trailerError(r, inv.id); ferr != nil {
		inv.finish(outcome{err: ferr})
	} else {
		inv.finish(outcome{resp: &Response{
			RequestID:   inv.id,
			ContentType: contentType,
			Body:        io.NopCloser(bytes.NewReader(body)),
		}})
	}
	w.WriteHeader(http.StatusAccepted)
}

// stream passes a streamed response on: the prelude as the Response, the
// rest through a pipe, one read of the request body at a time.
func (s *Server) stream(w http.ResponseWriter, r *http.Request, inv *invocation, contentType string) {
	br := bufio.NewReader(r.Body)
	raw, err := readPrelude(br)
	if err != nil {
		_, _ = io.Copy(io.Discard, br)
		if ferr := trailerError(r, inv.id); ferr != nil {
			inv.finish(outcome{err: ferr})
			w.WriteHeader(http.StatusAccepted)
			return
		}
		err = fmt.Errorf("runtimeapi: streamed response of %s: %w", inv.id, err)
		inv.finish(outcome{err: err})
		writeAPIError(w, http.StatusBadRequest, "InvalidStreamingResponse", err.Error())
		return
	}
	var prelude struct {
		StatusCode int               `json:"statusCode"`
		Headers    map[string]string `json:"headers"`
		Cookies    []string          `json:"cookies"`
	}
	if err := json.Unmarshal(raw, &prelude); err != nil {
		_, _ = io.Copy(io.Discard, br)
		err = fmt.Errorf("runtimeapi: streamed response of %s: prelude %q: %w", inv.id, raw, err)
		inv.finish(outcome{err: err})
		writeAPIError(w, http.StatusBadRequest, "InvalidStreamingResponse", err.Error())
		return
	}
	if prelude.StatusCode == 0 {
		prelude.StatusCode = http.StatusOK
	}
	header := make(http.Header, len(prelude.Headers))
	for k, v := range prelude.Headers {
		header.Add(k, v)
	}

	pr, pw := io.Pipe()
	inv.setPipe(pw)
	stop := context.AfterFunc(inv.ctx, func() { inv.abort(context.Cause(inv.ctx)) })
	defer stop()
	select {
	case <-s.closed:
		inv.abort(ErrClosed)
	default:
	}
	inv.finish(outcome{resp: &Response{
		RequestID:   inv.id,
		ContentType: contentType,
		Streamed:    true,
		StatusCode:  prelude.StatusCode,
		Header:      header,
		Cookies:     prelude.Cookies,
		Body:        pr,
	}})

	buf := make([]byte, 32<<10)
	for {
		n, rerr := br.Read(buf)
		if n > 0 {
			if _, werr := pw.Write(buf[:n]); werr != nil {
				// Nobody reads any more: take the rest so the runtime can
				// finish its invocation.
				if _, err := io.Copy(io.Discard, br); err != nil {
					return
				}
				break
			}
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			_ = pw.CloseWithError(fmt.Errorf("runtimeapi: reading the streamed response of %s: %w", inv.id, rerr))
			return
		}
	}
	if ferr := trailerError(r, inv.id); ferr != nil {
		_ = pw.CloseWithError(ferr)
	} else {
		_ = pw.Close()
	}
	w.WriteHeader(http.StatusAccepted)
}

// readPrelude reads up to the 8 NUL bytes that end a streamed response's
// prelude and returns what came before them.
func readPrelude(br *bufio.Reader) ([]byte, error) {
	var prelude []byte
	for {
		chunk, err := br.ReadSlice(0)
		prelude = append(prelude, chunk...)
		if len(prelude) > maxPrelude {
			return nil, fmt.Errorf("prelude longer than %d bytes", maxPrelude)
		}
		switch {
		case err == nil:
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF):
			return nil, errors.New("the body ended inside the prelude")
		default:
			return nil, err
		}
		// prelude ends with its first NUL; seven more must follow.
		var rest [7]byte
		if _, err := io.ReadFull(br, rest[:]); err != nil {
			return nil, errors.New("the body ended inside the prelude's 8 NUL bytes")
		}
		if rest != [7]byte{} {
			return nil, errors.New("the prelude is not followed by 8 NUL bytes")
		}
		return prelude[:len(prelude)-1], nil
	}
}

// trailerError is the failure a runtime reports in the trailers of a
// response, when its body reader failed.
func trailerError(r *http.Request, id string) *FunctionError {
	typ := r.Trailer.Get(TrailerErrorType)
	body := r.Trailer.Get(TrailerErrorBody)
	if typ == "" && body == "" {
		return nil
	}
	payload, err := base64.StdEncoding.DecodeString(body)
	if err != nil {
		payload = []byte(body)
	}
	t, msg := parseErrorDocument(payload, typ)
	return &FunctionError{RequestID: id, Type: t, Message: msg, Payload: payload}
}

func (s *Server) handleError(w http.ResponseWriter, r *http.Request) {
	inv, ok := s.lookup(w, r)
	if !ok {
		return
	}
	defer s.forget(inv)
	payload, err := io.ReadAll(r.Body)
	if err != nil {
		inv.finish(outcome{err: fmt.Errorf("runtimeapi: reading the error of %s: %w", inv.id, err)})
		return
	}
	typ, msg := parseErrorDocument(payload, r.Header.Get(HeaderErrorType))
	inv.finish(outcome{err: &FunctionError{RequestID: inv.id, Type: typ, Message: msg, Payload: payload}})
	w.WriteHeader(http.StatusAccepted)
}

func (s *Server) handleInitError(w http.ResponseWriter, r *http.Request) {
	payload, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	typ, msg := parseErrorDocument(payload, r.Header.Get(HeaderErrorType))
	s.fail(&InitError{Type: typ, Message: msg, Payload: payload})
	w.WriteHeader(http.StatusAccepted)
}

func writeAPIError(w http.ResponseWriter, status int, typ, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(errorDocument{Message: msg, Type: typ})
}

func randomHex(n int) string {
	b := make([]byte, n/2)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// newRequestID is a random UUID, as Lambda's request ids are.
func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// newTraceID is an X-Ray trace header as Lambda sends it.
func newTraceID() string {
	return fmt.Sprintf("Root=1-%08x-%s;Parent=%s;Sampled=0", time.Now().Unix(), randomHex(24), randomHex(16))
}

// outputBuffer collects a process's output safely across goroutines.
type outputBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *outputBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *outputBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
