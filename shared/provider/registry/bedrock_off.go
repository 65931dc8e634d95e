//go:build lcgo_no_bedrock

package registry

import (
	"net/http"

	"github.com/lcgo/lcgo/shared/provider"
)

func newBedrock(bedrockCreds, *http.Client) (provider.Streamer, error) {
	return nil, notBuilt("bedrock")
}
