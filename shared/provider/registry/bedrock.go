//go:build !lcgo_no_bedrock

package registry

import (
	"net/http"

	"github.com/lcgo/lcgo/shared/provider"
	"github.com/lcgo/lcgo/shared/provider/bedrock"
)

func newBedrock(c bedrockCreds, hc *http.Client) (provider.Streamer, error) {
	return bedrock.New(bedrock.Options{
		Region: c.region, AccessKeyID: c.keyID, SecretAccessKey: c.secret, SessionToken: c.sessionToken,
		Endpoint: c.endpoint, HTTPClient: hc,
	}), nil
}
