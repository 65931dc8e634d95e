// Package lambda is the AWS Lambda edge: it turns Lambda events into
// net/http requests for an area's handler and nothing more.
//
// A bootstrap answers in one of three modes, chosen by the environment
// variable LCGO_LAMBDA_MODE (see ModeFromEnv):
//
//   - apigw (the default, also when unset): API Gateway HTTP API events
//     (payload format 2.0) through aws-lambda-go-api-proxy, one buffered
//     response per event. Function URLs in BUFFERED mode send the same
//     shape and are served the same way.
//   - stream: Lambda Function URL events of a URL with InvokeMode
//     RESPONSE_STREAM. The handler runs in its own goroutine, the
//     invocation returns once the status and headers are known, and every
//     Flush pushes what was written so far, so text/event-stream reaches
//     the client frame by frame (see StreamingHandler).
//   - auto: both, chosen per event by its shape. An event whose
//     requestContext.domainName contains ".lambda-url." is a Function URL
//     event and is streamed; any other event is served as in apigw mode.
//     This lets one function sit behind an HTTP API route and a
//     RESPONSE_STREAM Function URL at once. Do not use it behind a
//     BUFFERED Function URL.
//
// Streaming needs the bootstrap built with -tags lambda.norpc (or run on a
// provided.* runtime, which the deployed bootstraps are).
package lambda

import (
	"context"
	"log/slog"
	"net/http"
	"os"

	awslambda "github.com/aws/aws-lambda-go/lambda"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"

	"github.com/lcgo/lcgo/shared/app"
	"github.com/lcgo/lcgo/shared/setup"
)

// Start serves h to API Gateway HTTP API (payload format 2.0) events. It
// does not return.
func Start(h http.Handler) {
	awslambda.Start(httpadapter.NewV2(h).ProxyWithContext)
}

// Main is the whole main function of one area's Lambda binary: it builds
// the App from the environment, builds the area with newArea and serves it
// in the mode LCGO_LAMBDA_MODE names (API Gateway events when unset). On
// failure it logs why and exits non-zero, which Lambda reports as an init
// error.
func Main(area string, newArea func(*app.App) (http.Handler, error)) {
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil)).With("area", area)
	slog.SetDefault(log)
	mode, err := ModeFromEnv()
	if err != nil {
		log.Error("bad Lambda mode", "err", err)
		os.Exit(1)
	}
	a, err := setup.Open(context.Background(), setup.Options{Local: false, Logger: log})
	if err != nil {
		log.Error("setup failed", "err", err)
		os.Exit(1)
	}
	h, err := newArea(a)
	if err != nil {
		log.Error("building the area failed", "err", err)
		os.Exit(1)
	}
	StartMode(mode, h)
}
