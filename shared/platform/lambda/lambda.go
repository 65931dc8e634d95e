// Package lambda is the AWS Lambda edge: it turns API Gateway HTTP API (v2)
// events into net/http requests for an area's handler and nothing more.
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
// the App from the environment, builds the area with newArea and serves it.
// On failure it logs why and exits non-zero, which Lambda reports as an
// init error.
func Main(area string, newArea func(*app.App) (http.Handler, error)) {
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil)).With("area", area)
	slog.SetDefault(log)
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
	Start(h)
}
