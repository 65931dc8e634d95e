//go:build lcgo_no_anthropic

package registry

import (
	"net/http"

	"github.com/lcgo/lcgo/shared/provider"
)

func newAnthropic(string, string, *http.Client) (provider.Streamer, error) {
	return nil, notBuilt("anthropic")
}
