package lambda

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	awslambda "github.com/aws/aws-lambda-go/lambda"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"
)

// Mode is how a bootstrap answers its events; see the package comment.
type Mode string

const (
	// ModeAPIGateway answers API Gateway HTTP API (payload format 2.0)
	// events, and Function URLs in BUFFERED mode, with one buffered
	// response.
	ModeAPIGateway Mode = "apigw"
	// ModeStream answers Lambda Function URL events with a streamed
	// response (InvokeMode RESPONSE_STREAM).
	ModeStream Mode = "stream"
	// ModeAuto streams the answer to Function URL events and buffers the
	// answer to every other event, for a function that sits both behind an
	// HTTP API and behind a RESPONSE_STREAM Function URL.
	ModeAuto Mode = "auto"
)

// ModeEnv is the environment variable ModeFromEnv reads.
const ModeEnv = "LCGO_LAMBDA_MODE"

// ParseMode reads a mode's name; the empty string is ModeAPIGateway.
func ParseMode(s string) (Mode, error) {
	switch m := Mode(strings.ToLower(strings.TrimSpace(s))); m {
	case "":
		return ModeAPIGateway, nil
	case ModeAPIGateway, ModeStream, ModeAuto:
		return m, nil
	}
	return "", fmt.Errorf("%s=%q: want %s, %s or %s", ModeEnv, s, ModeAPIGateway, ModeStream, ModeAuto)
}

// ModeFromEnv is the mode LCGO_LAMBDA_MODE names; unset means
// ModeAPIGateway.
func ModeFromEnv() (Mode, error) { return ParseMode(os.Getenv(ModeEnv)) }

// HandlerFor returns the handler to pass to lambda.Start that serves h in
// the given mode.
func HandlerFor(mode Mode, h http.Handler) (any, error) {
	switch mode {
	case ModeAPIGateway, "":
		return httpadapter.NewV2(h).ProxyWithContext, nil
	case ModeStream:
		return StreamingHandler(h), nil
	case ModeAuto:
		return autoHandler(h), nil
	}
	return nil, fmt.Errorf("unknown Lambda mode %q", mode)
}

// StartMode serves h in the given mode. It does not return; an unknown
// mode is reported as the error of every invocation.
func StartMode(mode Mode, h http.Handler) {
	handler, err := HandlerFor(mode, h)
	if err != nil {
		handler = func(context.Context) error { return err }
	}
	awslambda.Start(handler)
}

// autoHandler dispatches each event on its shape: Function URL events are
// streamed, everything else goes through the API Gateway v2 adapter.
func autoHandler(h http.Handler) func(context.Context, json.RawMessage) (any, error) {
	apigw := httpadapter.NewV2(h)
	stream := StreamingHandler(h)
	return func(ctx context.Context, raw json.RawMessage) (any, error) {
		if IsFunctionURLEvent(raw) {
			var ev events.LambdaFunctionURLRequest
			if err := json.Unmarshal(raw, &ev); err != nil {
				return nil, err
			}
			return stream(ctx, ev)
		}
		var ev events.APIGatewayV2HTTPRequest
		if err := json.Unmarshal(raw, &ev); err != nil {
			return nil, err
		}
		return apigw.ProxyWithContext(ctx, ev)
	}
}

// IsFunctionURLEvent reports whether raw is an event from a Lambda Function
// URL: its requestContext.domainName is "<url-id>.lambda-url.<region>.on.aws".
// API Gateway events name an execute-api or custom domain instead.
func IsFunctionURLEvent(raw []byte) bool {
	var probe struct {
		RequestContext struct {
			DomainName string `json:"domainName"`
		} `json:"requestContext"`
	}
	if err := json.Unmarshal(raw, &probe); err != nil {
		return false
	}
	return strings.Contains(probe.RequestContext.DomainName, ".lambda-url.")
}
