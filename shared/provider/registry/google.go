//go:build !lcgo_no_google

package registry

import (
	"context"
	"net/http"

	"github.com/lcgo/lcgo/shared/provider"
	"github.com/lcgo/lcgo/shared/provider/google"
)

func newGoogle(ctx context.Context, baseURL, apiKey string, hc *http.Client) (provider.Streamer, error) {
	return google.New(ctx, baseURL, apiKey, nil, hc)
}
