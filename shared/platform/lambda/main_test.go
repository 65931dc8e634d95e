package lambda_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	awslambda "github.com/aws/aws-lambda-go/lambda"

	"github.com/lcgo/lcgo/shared/platform/lambda"
	"github.com/lcgo/lcgo/shared/platform/lambda/runtimeapi"
)

// runtimeLoop is a Runtime API that aws-lambda-go's own runtime loop,
// started in this process by TestMain, takes its invocations from. The
// loop serves routes in ModeAuto: Function URL events are streamed, API
// Gateway events buffered. The loop lives as long as the process, so the
// server is never closed.
var runtimeLoop *runtimeapi.Server

// routes are the handlers of the tests using runtimeLoop, by the value of
// their requests' X-Test-Route header.
var (
	routes   sync.Map
	routeSeq atomic.Int64
)

const routeHeader = "X-Test-Route"

func TestMain(m *testing.M) {
	srv, err := runtimeapi.New()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	runtimeLoop = srv
	if err := os.Setenv("AWS_LAMBDA_RUNTIME_API", srv.Addr()); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	h, err := lambda.HandlerFor(lambda.ModeAuto, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if h, ok := routes.Load(r.Header.Get(routeHeader)); ok {
			h.(http.Handler).ServeHTTP(w, r)
			return
		}
		http.NotFound(w, r)
	}))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	go awslambda.Start(h)
	os.Exit(m.Run())
}

// route registers h for the rest of the test and returns the header value
// that sends a request to it.
func route(t *testing.T, h http.HandlerFunc) string {
	id := strconv.FormatInt(routeSeq.Add(1), 10)
	routes.Store(id, h)
	t.Cleanup(func() { routes.Delete(id) })
	return id
}

// testContext bounds a test's invocations, so that a response that never
// comes fails the test instead of hanging it.
func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// urlEvent is the event a Lambda Function URL sends for a request.
func urlEvent(method, rawPath, rawQuery string) events.LambdaFunctionURLRequest {
	return events.LambdaFunctionURLRequest{
		Version:        "2.0",
		RawPath:        rawPath,
		RawQueryString: rawQuery,
		Headers: map[string]string{
			"host":              "abcdefgh.lambda-url.us-east-1.on.aws",
			"user-agent":        "lambda-test",
			"x-forwarded-for":   "198.51.100.9",
			"x-forwarded-proto": "https",
		},
		RequestContext: events.LambdaFunctionURLRequestContext{
			AccountID:    "123456789012",
			RequestID:    "url-request",
			APIID:        "abcdefgh",
			DomainName:   "abcdefgh.lambda-url.us-east-1.on.aws",
			DomainPrefix: "abcdefgh",
			Time:         time.Now().UTC().Format("02/Jan/2006:15:04:05 -0700"),
			TimeEpoch:    time.Now().UnixMilli(),
			HTTP: events.LambdaFunctionURLRequestContextHTTPDescription{
				Method:    method,
				Path:      rawPath,
				Protocol:  "HTTP/1.1",
				SourceIP:  "198.51.100.9",
				UserAgent: "lambda-test",
			},
		},
	}
}

// invoke sends ev, routed to the test's handler, through runtimeLoop.
func invoke(t *testing.T, ctx context.Context, routeID string, ev events.LambdaFunctionURLRequest) *runtimeapi.Response {
	t.Helper()
	if ev.Headers == nil {
		ev.Headers = map[string]string{}
	}
	ev.Headers[routeHeader] = routeID
	payload, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := runtimeLoop.Invoke(ctx, payload)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = resp.Body.Close() })
	return resp
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
