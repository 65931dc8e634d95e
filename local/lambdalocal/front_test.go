package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"

	"github.com/lcgo/lcgo/shared/platform/lambda"
	"github.com/lcgo/lcgo/shared/platform/lambda/runtimeapi"
	"github.com/lcgo/lcgo/shared/routes"
)

// adapters invokes h in the test process through the adapters the
// bootstraps use (LCGO_LAMBDA_MODE=auto), and keeps the events.
type adapters struct {
	h   http.Handler
	err error // when set, every invocation fails with it

	mu      sync.Mutex
	areas   []string
	payload []byte
}

func (a *adapters) Invoke(ctx context.Context, area string, payload []byte, _ time.Duration) (*runtimeapi.Response, func(), error) {
	a.mu.Lock()
	a.areas = append(a.areas, area)
	a.payload = payload
	a.mu.Unlock()
	if a.err != nil {
		return nil, nil, a.err
	}
	if lambda.IsFunctionURLEvent(payload) {
		var ev events.LambdaFunctionURLRequest
		if err := json.Unmarshal(payload, &ev); err != nil {
			return nil, nil, err
		}
		res, err := lambda.StreamingHandler(a.h)(ctx, ev)
		if err != nil {
			return nil, nil, err
		}
		h := http.Header{}
		for k, v := range res.Headers {
			h.Set(k, v)
		}
		body, ok := res.Body.(io.ReadCloser)
		if !ok {
			body = io.NopCloser(res.Body)
		}
		return &runtimeapi.Response{Streamed: true, StatusCode: res.StatusCode, Header: h, Cookies: res.Cookies, Body: body}, func() {}, nil
	}
	var ev events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(payload, &ev); err != nil {
		return nil, nil, err
	}
	out, err := httpadapter.NewV2(a.h).ProxyWithContext(ctx, ev)
	if err != nil {
		return nil, nil, &runtimeapi.FunctionError{Type: "errorString", Message: err.Error()}
	}
	b, err := json.Marshal(out)
	if err != nil {
		return nil, nil, err
	}
	return &runtimeapi.Response{Body: io.NopCloser(bytes.NewReader(b))}, func() {}, nil
}

func (a *adapters) last() (string, []byte) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.areas) == 0 {
		return "", nil
	}
	return a.areas[len(a.areas)-1], a.payload
}

func startFront(t *testing.T, a *adapters) string {
	t.Helper()
	f := &front{fns: a, log: slog.New(slog.NewTextHandler(io.Discard, nil)), apiWait: time.Minute, urlWait: time.Minute}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestAPIGatewayEventAndResponse(t *testing.T) {
	binary := []byte{0x89, 'P', 'N', 'G', 0xff, 0x00, 0xfe}
	var seen struct {
		body    []byte
		cookies string
		remote  string
		query   string
		custom  string
	}
	a := &adapters{h: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen.body, _ = io.ReadAll(r.Body)
		for _, c := range r.Cookies() {
			seen.cookies += c.Name + "=" + c.Value + ";"
		}
		seen.remote = r.RemoteAddr
		seen.query = r.URL.RawQuery
		seen.custom = r.Header.Get("X-Custom")
		http.SetCookie(w, &http.Cookie{Name: "refreshToken", Value: "r1", Path: "/", HttpOnly: true})
		http.SetCookie(w, &http.Cookie{Name: "token_provider", Value: "librechat", Path: "/"})
		w.Header().Set("Content-Type", "image/png")
		w.WriteHeader(http.StatusCreated)
		_, _ = w.Write(binary)
	})}
	url := startFront(t, a)

	var form bytes.Buffer
	mw := multipart.NewWriter(&form)
	part, _ := mw.CreateFormFile("file", "pixel.png")
	_, _ = part.Write(binary)
	_ = mw.WriteField("file_id", "f-1")
	_ = mw.Close()
	req, _ := http.NewRequest(http.MethodPost, url+"/api/files/images?x=1&x=2&y=%20z", bytes.NewReader(form.Bytes()))
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Cookie", "refreshToken=old; token_provider=librechat")
	req.Header.Set("X-Custom", "yes")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	out, _ := io.ReadAll(res.Body)
	res.Body.Close()

	if res.StatusCode != http.StatusCreated || !bytes.Equal(out, binary) || res.Header.Get("Content-Type") != "image/png" {
		t.Errorf("response %d %q %q", res.StatusCode, res.Header.Get("Content-Type"), out)
	}
	if got := res.Header.Values("Set-Cookie"); len(got) != 2 || !strings.HasPrefix(got[0], "refreshToken=r1") || !strings.HasPrefix(got[1], "token_provider=librechat") {
		t.Errorf("Set-Cookie %q", got)
	}
	if !bytes.Equal(seen.body, form.Bytes()) {
		t.Error("the handler got another body")
	}
	if seen.cookies != "refreshToken=old;token_provider=librechat;" || seen.remote != "127.0.0.1" || seen.query != "x=1&x=2&y=%20z" || seen.custom != "yes" {
		t.Errorf("the handler saw cookies %q, remote %q, query %q, X-Custom %q", seen.cookies, seen.remote, seen.query, seen.custom)
	}

	area, payload := a.last()
	var ev events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(payload, &ev); err != nil {
		t.Fatal(err)
	}
	if area != routes.Files || ev.Version != "2.0" || ev.RouteKey != "ANY /api/files/{proxy+}" || ev.PathParameters["proxy"] != "images" ||
		ev.RawPath != "/api/files/images" || ev.RawQueryString != "x=1&x=2&y=%20z" || ev.QueryStringParameters["x"] != "1,2" {
		t.Errorf("area %s, event %+v", area, ev)
	}
	if !ev.IsBase64Encoded || len(ev.Cookies) != 2 || ev.Cookies[0] != "refreshToken=old" || ev.Headers["cookie"] != "" {
		t.Errorf("base64 %v, cookies %q, cookie header %q", ev.IsBase64Encoded, ev.Cookies, ev.Headers["cookie"])
	}
	for k := range ev.Headers {
		if k != strings.ToLower(k) {
			t.Errorf("header %q is not lowercased", k)
		}
	}
	if ev.Headers["x-custom"] != "yes" || ev.Headers["x-forwarded-for"] != "127.0.0.1" || ev.RequestContext.HTTP.Method != "POST" ||
		ev.RequestContext.HTTP.Path != "/api/files/images" || ev.RequestContext.HTTP.SourceIP != "127.0.0.1" ||
		ev.RequestContext.RouteKey != ev.RouteKey || ev.RequestContext.Stage != "$default" {
		t.Errorf("headers %v, context %+v", ev.Headers, ev.RequestContext)
	}
}

func TestRoutes(t *testing.T) {
	a := &adapters{h: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"ok":true}`)
	})}
	url := startFront(t, a)
	cases := []struct {
		path, area, routeKey string
	}{
		{"/api/convos", routes.Convos, "ANY /api/convos"},
		{"/api/convos/c-1", routes.Convos, "ANY /api/convos/{proxy+}"},
		{"/api/user/settings/favorites", routes.Config, "ANY /api/user/settings/{proxy+}"},
		{"/api/user", routes.Auth, "ANY /api/user"},
		{"/health", routes.Config, "ANY /health"},
		{"/api/agents/chat/active", routes.Chat, "ANY /api/agents/chat/{proxy+}"},
	}
	for _, c := range cases {
		res, err := http.Get(url + c.path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		area, payload := a.last()
		var ev events.APIGatewayV2HTTPRequest
		_ = json.Unmarshal(payload, &ev)
		if res.StatusCode != 200 || string(b) != `{"ok":true}` || area != c.area || ev.RouteKey != c.routeKey {
			t.Errorf("%s: %d %s, area %s, route %q", c.path, res.StatusCode, b, area, ev.RouteKey)
		}
	}

	n := len(a.areas)
	res, err := http.Get(url + "/api/nothing")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	var body map[string]string
	if res.StatusCode != 404 || json.Unmarshal(b, &body) != nil || body["message"] == "" || len(a.areas) != n {
		t.Errorf("/api/nothing: %d %s (invocations %d → %d)", res.StatusCode, b, n, len(a.areas))
	}
}

func TestStreamGoesThroughTheFunctionURL(t *testing.T) {
	release := make(chan struct{})
	a := &adapters{h: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		http.SetCookie(w, &http.Cookie{Name: "c", Value: "1"})
		fmt.Fprintf(w, "data: first %s\n\n", r.Header.Get("Authorization"))
		w.(http.Flusher).Flush()
		<-release
		fmt.Fprint(w, "data: last\n\n")
	})}
	url := startFront(t, a)
	req, _ := http.NewRequest(http.MethodGet, url+"/api/agents/chat/stream/s-1?resume=true", nil)
	req.Header.Set("Authorization", "Bearer t")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "text/event-stream" || res.Header.Get("Set-Cookie") != "c=1" {
		t.Fatalf("stream answered %d %v", res.StatusCode, res.Header)
	}
	br := bufio.NewReader(res.Body)
	line, err := br.ReadString('\n')
	if err != nil || line != "data: first Bearer t\n" {
		t.Fatalf("first line %q %v", line, err)
	}
	close(release)
	rest, _ := io.ReadAll(br)
	if string(rest) != "\ndata: last\n\n" {
		t.Errorf("rest %q", rest)
	}
	area, payload := a.last()
	var ev events.LambdaFunctionURLRequest
	if err := json.Unmarshal(payload, &ev); err != nil {
		t.Fatal(err)
	}
	if area != routes.Chat || !strings.Contains(ev.RequestContext.DomainName, ".lambda-url.") || ev.RawPath != "/api/agents/chat/stream/s-1" ||
		ev.RawQueryString != "resume=true" || ev.Headers["authorization"] != "Bearer t" {
		t.Errorf("area %s, event %+v", area, ev)
	}
}

func TestInvocationFailures(t *testing.T) {
	for _, c := range []struct {
		err    error
		status int
	}{
		{&runtimeapi.FunctionError{Type: "Runtime.ExitError"}, http.StatusInternalServerError},
		{fmt.Errorf("lcgo-auth: %w", context.DeadlineExceeded), http.StatusServiceUnavailable},
	} {
		url := startFront(t, &adapters{err: c.err})
		res, err := http.Get(url + "/api/user")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		var body map[string]string
		if res.StatusCode != c.status || json.Unmarshal(b, &body) != nil || body["message"] == "" {
			t.Errorf("%v: %d %s", c.err, res.StatusCode, b)
		}
	}
}
