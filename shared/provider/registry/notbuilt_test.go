//go:build lcgo_no_anthropic && lcgo_no_google && lcgo_no_bedrock

package registry_test

import (
	"context"
	"errors"
	"testing"

	"github.com/lcgo/lcgo/shared/chat"
	"github.com/lcgo/lcgo/shared/config"
	"github.com/lcgo/lcgo/shared/provider/registry"
)

func TestLeftOutProvidersSaySo(t *testing.T) {
	cfg := load(t, map[string]string{
		"ANTHROPIC_API_KEY": "k", "GOOGLE_KEY": "k",
		"BEDROCK_AWS_DEFAULT_REGION": "us-east-1", "BEDROCK_AWS_ACCESS_KEY_ID": "k", "BEDROCK_AWS_SECRET_ACCESS_KEY": "s",
	}, "version: 1.2.1\n")
	reg := registry.New(cfg, nil, nil, nil, nil)
	for _, name := range []string{config.EndpointAnthropic, config.EndpointGoogle, config.EndpointBedrock} {
		ep, ok := cfg.Endpoint(name)
		if !ok {
			t.Fatalf("%s not offered", name)
		}
		_, err := reg.Streamer(context.Background(), "u", ep, "m")
		var re *chat.RequestError
		if !errors.As(err, &re) || re.Body["type"] != "invalid_request_error" {
			t.Fatalf("%s: %v", name, err)
		}
	}
}
