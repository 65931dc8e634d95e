//go:build !lcgo_no_anthropic

package registry

import (
	"net/http"

	"github.com/lcgo/lcgo/shared/provider"
	"github.com/lcgo/lcgo/shared/provider/anthropic"
)

// anthropicHeaders pins the Messages API version whose request shape the
// client's parameters (temperature, top_p, top_k) belong to.
var anthropicHeaders = map[string]string{"anthropic-version": "2023-06-01"}

func newAnthropic(baseURL, apiKey string, hc *http.Client) (provider.Streamer, error) {
	return anthropic.New(baseURL, apiKey, anthropicHeaders, hc), nil
}
