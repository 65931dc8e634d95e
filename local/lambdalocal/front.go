package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"

	"github.com/lcgo/lcgo/shared/httpx"
	"github.com/lcgo/lcgo/shared/platform/lambda/runtimeapi"
	"github.com/lcgo/lcgo/shared/routes"
)

// Limits of the services the front stands in for.
const (
	// maxRequestBody is the largest request body an HTTP API accepts.
	maxRequestBody = 10 << 20
	// maxInvokePayload is the largest event, and the largest buffered
	// answer, of a synchronous Lambda invocation.
	maxInvokePayload = 6 << 20
	// integrationTimeout is how long an HTTP API waits for its Lambda
	// integration.
	integrationTimeout = 30 * time.Second
)

// streamPathPrefix is the path CloudFront sends to the chat function's
// streaming Function URL instead of the HTTP API.
const streamPathPrefix = "/api/agents/chat/stream/"

// Names the events carry, as a deployed stack in us-east-1 would.
const (
	accountID = runtimeapi.DefaultAccountID
	apiID     = "lcgolocal"
	urlID     = "lcgolocalchatstream"
	urlDomain = urlID + ".lambda-url." + runtimeapi.DefaultRegion + ".on.aws"
)

// invoker runs one invocation of an area's function. For a streamed answer
// done is called once its body has been read to the end or abandoned; for
// a buffered one the body is the whole payload and done may be called at
// once.
type invoker interface {
	Invoke(ctx context.Context, area string, payload []byte, timeout time.Duration) (res *runtimeapi.Response, done func(), err error)
}

// front is the HTTP side of the stack: what API Gateway (HTTP API, payload
// format 2.0) does with the routing table, and what CloudFront does with
// the chat stream path (a streaming Function URL).
type front struct {
	fns      invoker
	log      *slog.Logger
	seq      atomic.Int64
	apiWait  time.Duration // how long a buffered answer may take
	urlWait  time.Duration // how long a streamed answer may take
	accessOK bool          // log every request
}

// route is where a path goes: the area and the HTTP API route that
// matched it.
type route struct {
	area     string
	prefix   string
	routeKey string
	proxy    string // the {proxy+} part, when the route is a proxy route
}

// lookup finds the route of path as routes.Lookup does, with the matched
// prefix: the template has two routes per prefix, "ANY /prefix" and
// "ANY /prefix/{proxy+}".
func lookup(path string) (route, bool) {
	area := routes.Lookup(path)
	if area == "" {
		return route{}, false
	}
	best := ""
	for _, r := range routes.Table {
		if r.Area == area && (path == r.Prefix || strings.HasPrefix(path, r.Prefix+"/")) && len(r.Prefix) > len(best) {
			best = r.Prefix
		}
	}
	rt := route{area: area, prefix: best, routeKey: "ANY " + best}
	if path != best {
		rt.routeKey = "ANY " + best + "/{proxy+}"
		rt.proxy = strings.TrimPrefix(path, best+"/")
	}
	return rt, true
}

// isStream reports whether r goes to the streaming Function URL.
func isStream(r *http.Request) bool {
	return strings.HasPrefix(r.URL.Path, streamPathPrefix) && (r.Method == http.MethodGet || r.Method == http.MethodHead)
}

func (f *front) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rec := &statusRecorder{ResponseWriter: w}
	area := f.serve(rec, r)
	if f.accessOK {
		f.log.Info("request", "method", r.Method, "path", r.URL.Path, "area", area,
			"status", rec.status, "ms", time.Since(start).Milliseconds())
	}
}

func (f *front) serve(w http.ResponseWriter, r *http.Request) string {
	rt, ok := lookup(r.URL.Path)
	if !ok {
		httpx.NotFound(w, r)
		return "-"
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxRequestBody))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			gatewayError(w, http.StatusRequestEntityTooLarge, "Request Entity Too Large")
		}
		return rt.area
	}
	if isStream(r) && rt.area == routes.Chat {
		f.serveStream(w, r, rt, body)
	} else {
		f.serveAPI(w, r, rt, body)
	}
	return rt.area
}

// serveAPI passes r to the area's function as an API Gateway HTTP API
// event and writes back its buffered answer.
func (f *front) serveAPI(w http.ResponseWriter, r *http.Request, rt route, body []byte) {
	n := f.seq.Add(1)
	ev := apiEvent(r, rt, body, n, time.Now())
	w.Header().Set("Apigw-Requestid", ev.RequestContext.RequestID)
	payload, err := json.Marshal(ev)
	if err != nil {
		gatewayError(w, http.StatusInternalServerError, "Internal Server Error")
		return
	}
	if len(payload) > maxInvokePayload {
		f.log.Warn("the event is over Lambda's invocation payload limit", "path", r.URL.Path, "bytes", len(payload), "limit", maxInvokePayload)
		gatewayError(w, http.StatusRequestEntityTooLarge, "Request Entity Too Large")
		return
	}
	res, done, err := f.fns.Invoke(r.Context(), rt.area, payload, f.apiWait)
	if err != nil {
		f.invokeFailed(w, r, rt.area, err)
		return
	}
	defer done()
	raw, err := io.ReadAll(res.Body)
	_ = res.Body.Close()
	if err != nil {
		f.invokeFailed(w, r, rt.area, err)
		return
	}
	if len(raw) > maxInvokePayload {
		f.log.Error("the function's answer is over Lambda's response payload limit", "area", rt.area, "path", r.URL.Path, "bytes", len(raw), "limit", maxInvokePayload)
		gatewayError(w, http.StatusInternalServerError, "Internal Server Error")
		return
	}
	if res.Streamed {
		// An HTTP API buffers a streamed answer like any other.
		writeHead(w, res.StatusCode, res.Header, res.Cookies, len(raw), r.Method)
		_, _ = w.Write(raw)
		return
	}
	status, header, cookies, out, err := proxyResponse(raw)
	if err != nil {
		f.log.Error("the function's answer is not an HTTP API response", "area", rt.area, "path", r.URL.Path, "err", err)
		gatewayError(w, http.StatusInternalServerError, "Internal Server Error")
		return
	}
	writeHead(w, status, header, cookies, len(out), r.Method)
	if r.Method != http.MethodHead {
		_, _ = w.Write(out)
	}
}

// serveStream passes r to the chat function as a Function URL event and
// streams its answer back chunk by chunk, as CloudFront does with a
// RESPONSE_STREAM Function URL origin.
func (f *front) serveStream(w http.ResponseWriter, r *http.Request, rt route, body []byte) {
	n := f.seq.Add(1)
	ev := urlEvent(r, body, n, time.Now())
	payload, err := json.Marshal(ev)
	if err != nil {
		gatewayError(w, http.StatusInternalServerError, "Internal Server Error")
		return
	}
	if len(payload) > maxInvokePayload {
		gatewayError(w, http.StatusRequestEntityTooLarge, "Request Entity Too Large")
		return
	}
	res, done, err := f.fns.Invoke(r.Context(), rt.area, payload, f.urlWait)
	if err != nil {
		f.invokeFailed(w, r, rt.area, err)
		return
	}
	defer done()
	defer res.Body.Close()
	if !res.Streamed {
		raw, err := io.ReadAll(res.Body)
		if err != nil {
			f.invokeFailed(w, r, rt.area, err)
			return
		}
		status, header, cookies, out, err := proxyResponse(raw)
		if err != nil {
			gatewayError(w, http.StatusBadGateway, "Internal Server Error")
			return
		}
		writeHead(w, status, header, cookies, len(out), r.Method)
		_, _ = w.Write(out)
		return
	}
	writeHead(w, res.StatusCode, res.Header, res.Cookies, -1, r.Method)
	rc := http.NewResponseController(w)
	_ = rc.Flush()
	buf := make([]byte, 32<<10)
	for {
		n, rerr := res.Body.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				break
			}
			if ferr := rc.Flush(); ferr != nil {
				break
			}
		}
		if rerr != nil {
			if !errors.Is(rerr, io.EOF) {
				f.log.Warn("the streamed answer ended with an error", "path", r.URL.Path, "err", rerr)
				// Break the connection, as a Function URL does when the
				// function fails midway.
				panic(http.ErrAbortHandler)
			}
			return
		}
	}
	// The client left: the function runs on to the end, as on Lambda, and
	// what it still writes goes nowhere.
	_, _ = io.Copy(io.Discard, res.Body)
}

// invokeFailed answers what API Gateway answers when its integration
// failed.
func (f *front) invokeFailed(w http.ResponseWriter, r *http.Request, area string, err error) {
	if r.Context().Err() != nil {
		return
	}
	if errors.Is(err, context.DeadlineExceeded) {
		f.log.Error("the function timed out", "area", area, "path", r.URL.Path)
		gatewayError(w, http.StatusServiceUnavailable, "Service Unavailable")
		return
	}
	f.log.Error("the invocation failed", "area", area, "method", r.Method, "path", r.URL.Path, "err", err)
	gatewayError(w, http.StatusInternalServerError, "Internal Server Error")
}

// gatewayError is API Gateway's own answer: {"message": text}.
func gatewayError(w http.ResponseWriter, status int, text string) {
	b, _ := json.Marshal(map[string]string{"message": text})
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// hopHeaders are not passed on in either direction.
var hopHeaders = map[string]bool{
	"connection": true, "keep-alive": true, "proxy-connection": true, "te": true, "trailer": true,
	"transfer-encoding": true, "upgrade": true, "proxy-authenticate": true, "proxy-authorization": true,
}

// eventHeaders are r's headers as the events carry them: lowercased names,
// several values joined with ",", cookies apart and the forwarding
// headers of the service in front.
func eventHeaders(r *http.Request, body []byte) (map[string]string, []string) {
	h := make(map[string]string, len(r.Header)+6)
	var cookies []string
	for k, vs := range r.Header {
		name := strings.ToLower(k)
		if hopHeaders[name] || len(vs) == 0 {
			continue
		}
		if name == "cookie" {
			for _, v := range vs {
				for c := range strings.SplitSeq(v, ";") {
					if c = strings.TrimSpace(c); c != "" {
						cookies = append(cookies, c)
					}
				}
			}
			continue
		}
		h[name] = strings.Join(vs, ",")
	}
	ip := sourceIP(r)
	if prior := h["x-forwarded-for"]; prior != "" {
		h["x-forwarded-for"] = prior + ", " + ip
	} else {
		h["x-forwarded-for"] = ip
	}
	h["x-forwarded-proto"] = "http"
	if r.TLS != nil {
		h["x-forwarded-proto"] = "https"
	}
	if _, port, err := net.SplitHostPort(r.Host); err == nil {
		h["x-forwarded-port"] = port
	}
	if len(body) > 0 {
		h["content-length"] = strconv.Itoa(len(body))
	} else {
		delete(h, "content-length")
	}
	return h, cookies
}

func sourceIP(r *http.Request) string {
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return host
	}
	return r.RemoteAddr
}

// queryParameters is the query string as the events' map: several values
// of a name joined with ",".
func queryParameters(raw string) map[string]string {
	if raw == "" {
		return nil
	}
	q, err := url.ParseQuery(raw)
	if err != nil || len(q) == 0 {
		return nil
	}
	out := make(map[string]string, len(q))
	for k, vs := range q {
		out[k] = strings.Join(vs, ",")
	}
	return out
}

// eventBody is the body as the events carry it: as it is when it is text,
// base64 otherwise (multipart uploads, images, compressed bodies).
func eventBody(h map[string]string, body []byte) (string, bool) {
	if len(body) == 0 {
		return "", false
	}
	if isText(h["content-type"]) && h["content-encoding"] == "" && utf8.Valid(body) {
		return string(body), false
	}
	return base64.StdEncoding.EncodeToString(body), true
}

// isText reports whether a Content-Type is one API Gateway passes as text.
func isText(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	if strings.HasPrefix(mt, "text/") {
		return true
	}
	switch mt {
	case "application/json", "application/javascript", "application/xml",
		"application/x-www-form-urlencoded", "application/ld+json", "application/graphql":
		return true
	}
	return strings.HasSuffix(mt, "+json") || strings.HasSuffix(mt, "+xml")
}

func requestTime(now time.Time) string { return now.UTC().Format("02/Jan/2006:15:04:05 -0700") }

// apiEvent is the event an HTTP API sends for r with payload format 2.0.
func apiEvent(r *http.Request, rt route, body []byte, n int64, now time.Time) events.APIGatewayV2HTTPRequest {
	h, cookies := eventHeaders(r, body)
	domain := r.Host
	if host, _, err := net.SplitHostPort(r.Host); err == nil {
		domain = host
	}
	h["host"] = r.Host
	b, b64 := eventBody(h, body)
	ev := events.APIGatewayV2HTTPRequest{
		Version:               "2.0",
		RouteKey:              rt.routeKey,
		RawPath:               r.URL.EscapedPath(),
		RawQueryString:        r.URL.RawQuery,
		Cookies:               cookies,
		Headers:               h,
		QueryStringParameters: queryParameters(r.URL.RawQuery),
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RouteKey:     rt.routeKey,
			AccountID:    accountID,
			Stage:        "$default",
			RequestID:    fmt.Sprintf("lcgo%012d=", n),
			APIID:        apiID,
			DomainName:   domain,
			DomainPrefix: strings.SplitN(domain, ".", 2)[0],
			Time:         requestTime(now),
			TimeEpoch:    now.UnixMilli(),
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{
				Method:    r.Method,
				Path:      r.URL.Path,
				Protocol:  r.Proto,
				SourceIP:  sourceIP(r),
				UserAgent: r.UserAgent(),
			},
		},
		Body:            b,
		IsBase64Encoded: b64,
	}
	if rt.proxy != "" {
		ev.PathParameters = map[string]string{"proxy": rt.proxy}
	}
	return ev
}

// urlEvent is the event a Function URL sends for r when CloudFront passes
// it on with every viewer header but Host.
func urlEvent(r *http.Request, body []byte, n int64, now time.Time) events.LambdaFunctionURLRequest {
	h, cookies := eventHeaders(r, body)
	h["host"] = urlDomain
	h["x-forwarded-proto"] = "https"
	h["x-forwarded-port"] = "443"
	h["via"] = "2.0 lcgolocal.cloudfront.net (CloudFront)"
	b, b64 := eventBody(h, body)
	return events.LambdaFunctionURLRequest{
		Version:               "2.0",
		RawPath:               r.URL.EscapedPath(),
		RawQueryString:        r.URL.RawQuery,
		Cookies:               cookies,
		Headers:               h,
		QueryStringParameters: queryParameters(r.URL.RawQuery),
		RequestContext: events.LambdaFunctionURLRequestContext{
			AccountID:    accountID,
			RequestID:    fmt.Sprintf("lcgo-url-%012d", n),
			APIID:        urlID,
			DomainName:   urlDomain,
			DomainPrefix: urlID,
			Time:         requestTime(now),
			TimeEpoch:    now.UnixMilli(),
			HTTP: events.LambdaFunctionURLRequestContextHTTPDescription{
				Method:    r.Method,
				Path:      r.URL.Path,
				Protocol:  r.Proto,
				SourceIP:  sourceIP(r),
				UserAgent: r.UserAgent(),
			},
		},
		Body:            b,
		IsBase64Encoded: b64,
	}
}

// proxyResponse reads a function's buffered answer in payload format 2.0.
// An answer without a statusCode is, as API Gateway infers, a 200 whose
// JSON body is the answer itself.
func proxyResponse(raw []byte) (int, http.Header, []string, []byte, error) {
	var out events.APIGatewayV2HTTPResponse
	if err := json.Unmarshal(raw, &out); err != nil || out.StatusCode == 0 {
		if !json.Valid(raw) {
			return 0, nil, nil, nil, fmt.Errorf("not JSON: %.200q", raw)
		}
		return http.StatusOK, http.Header{"Content-Type": {"application/json"}}, nil, raw, nil
	}
	h := http.Header{}
	for k, v := range out.Headers {
		h.Set(k, v)
	}
	for k, vs := range out.MultiValueHeaders {
		for _, v := range vs {
			h.Add(k, v)
		}
	}
	body := []byte(out.Body)
	if out.IsBase64Encoded {
		var err error
		if body, err = base64.StdEncoding.DecodeString(out.Body); err != nil {
			return 0, nil, nil, nil, fmt.Errorf("body: %w", err)
		}
	}
	return out.StatusCode, h, out.Cookies, body, nil
}

// writeHead writes status and headers, Set-Cookie for each cookie, and
// Content-Length when length >= 0 (a streamed body has none). The answer
// to HEAD keeps the function's Content-Length when it sent no body.
func writeHead(w http.ResponseWriter, status int, header http.Header, cookies []string, length int, method string) {
	dst := w.Header()
	for k, vs := range header {
		name := strings.ToLower(k)
		if hopHeaders[name] || name == "content-length" {
			continue
		}
		if name == "set-cookie" {
			cookies = append(cookies, vs...)
			continue
		}
		for _, v := range vs {
			dst.Add(k, v)
		}
	}
	for _, c := range cookies {
		dst.Add("Set-Cookie", c)
	}
	switch {
	case method == http.MethodHead && length <= 0 && header.Get("Content-Length") != "":
		dst.Set("Content-Length", header.Get("Content-Length"))
	case length >= 0:
		dst.Set("Content-Length", strconv.Itoa(length))
	}
	w.WriteHeader(status)
}

// statusRecorder remembers the status written, for the access log.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(p []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(p)
}

func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }
