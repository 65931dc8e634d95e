//go:build lcgo_no_google

package registry

import (
	"context"
	"net/http"

	"github.com/lcgo/lcgo/shared/provider"
)

func newGoogle(context.Context, string, string, *http.Client) (provider.Streamer, error) {
	return nil, notBuilt("google")
}
