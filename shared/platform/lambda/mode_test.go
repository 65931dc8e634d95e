package lambda_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/lcgo/lcgo/shared/platform/lambda"
)

func TestParseMode(t *testing.T) {
	for in, want := range map[string]lambda.Mode{
		"":        lambda.ModeAPIGateway,
		"apigw":   lambda.ModeAPIGateway,
		"stream":  lambda.ModeStream,
		" Auto ":  lambda.ModeAuto,
		"STREAM":  lambda.ModeStream,
		"buffer":  "",
		"streams": "",
	} {
		got, err := lambda.ParseMode(in)
		if got != want || (err != nil) != (want == "") {
			t.Errorf("ParseMode(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	t.Setenv(lambda.ModeEnv, "stream")
	if m, err := lambda.ModeFromEnv(); err != nil || m != lambda.ModeStream {
		t.Errorf("ModeFromEnv() = %q, %v", m, err)
	}
	if _, err := lambda.HandlerFor("nope", http.NotFoundHandler()); err == nil {
		t.Error("HandlerFor accepted an unknown mode")
	}
}

// apigwEvent is the event API Gateway sends for an HTTP API route with
// payload format 2.0.
func apigwEvent(method, path string) events.APIGatewayV2HTTPRequest {
	return events.APIGatewayV2HTTPRequest{
		Version:  "2.0",
		RouteKey: "ANY " + path,
		RawPath:  path,
		Headers:  map[string]string{"host": "abc123.execute-api.us-east-1.amazonaws.com"},
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			AccountID:    "123456789012",
			APIID:        "abc123",
			DomainName:   "abc123.execute-api.us-east-1.amazonaws.com",
			DomainPrefix: "abc123",
			Stage:        "$default",
			RouteKey:     "ANY " + path,
			RequestID:    "apigw-request",
			Time:         time.Now().UTC().Format("02/Jan/2006:15:04:05 -0700"),
			TimeEpoch:    time.Now().UnixMilli(),
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{
				Method: method, Path: path, Protocol: "HTTP/1.1", SourceIP: "203.0.113.7",
			},
		},
	}
}

func TestIsFunctionURLEvent(t *testing.T) {
	url, _ := json.Marshal(urlEvent("GET", "/", ""))
	apigw, _ := json.Marshal(apigwEvent("GET", "/"))
	if !lambda.IsFunctionURLEvent(url) {
		t.Error("a Function URL event was not recognised")
	}
	if lambda.IsFunctionURLEvent(apigw) || lambda.IsFunctionURLEvent([]byte(`{}`)) || lambda.IsFunctionURLEvent([]byte(`nope`)) {
		t.Error("an API Gateway event, an empty one or garbage was taken for a Function URL event")
	}
}

// TestAutoMode sends an API Gateway event and a Function URL event to the
// same handler: the first is answered buffered, the second streamed.
func TestAutoMode(t *testing.T) {
	ctx := testContext(t)
	id := route(t, func(w http.ResponseWriter, r *http.Request) {
		http.SetCookie(w, &http.Cookie{Name: "a", Value: "1"})
		w.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(w, "hello "+r.Host)
	})

	ev := apigwEvent("GET", "/hello")
	ev.Headers[routeHeader] = id
	payload, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := runtimeLoop.Invoke(ctx, payload)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := io.ReadAll(resp.Body)
	if err != nil || resp.Streamed {
		t.Fatalf("API Gateway event: streamed %v, %v", resp.Streamed, err)
	}
	var out events.APIGatewayV2HTTPResponse
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("API Gateway event answered %s: %v", raw, err)
	}
	if out.StatusCode != 200 || out.Body != "hello abc123.execute-api.us-east-1.amazonaws.com" || strings.Join(out.Cookies, "|") != "a=1" {
		t.Errorf("API Gateway answer %+v", out)
	}

	sresp := invoke(t, ctx, id, urlEvent("GET", "/hello", ""))
	b, err := io.ReadAll(sresp.Body)
	if err != nil || !sresp.Streamed || sresp.StatusCode != 200 || string(b) != "hello abcdefgh.lambda-url.us-east-1.on.aws" ||
		strings.Join(sresp.Cookies, "|") != "a=1" {
		t.Errorf("Function URL answer: streamed %v, status %d, cookies %q, body %q, %v", sresp.Streamed, sresp.StatusCode, sresp.Cookies, b, err)
	}
}
