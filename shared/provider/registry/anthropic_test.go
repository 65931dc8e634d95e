//go:build !lcgo_no_anthropic

package registry_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/lcgo/lcgo/shared/config"
	"github.com/lcgo/lcgo/shared/provider/registry"
)

func TestAnthropicBuiltinPinsAPIVersion(t *testing.T) {
	var mu sync.Mutex
	var hdr http.Header
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		hdr = r.Header.Clone()
		mu.Unlock()
		w.Header().Set("Content-Type", "text/event-stream")
		for _, ev := range []string{
			"event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude\",\"content\":[],\"usage\":{\"input_tokens\":3,\"output_tokens\":0}}}\n\n",
			"event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n",
			"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hi\"}}\n\n",
			"event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n",
			"event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},\"usage\":{\"output_tokens\":1}}\n\n",
			"event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
		} {
			io.WriteString(w, ev)
		}
	}))
	defer srv.Close()
	cfg := load(t, map[string]string{"ANTHROPIC_API_KEY": "sk-ant", "ANTHROPIC_REVERSE_PROXY": srv.URL}, "version: 1.2.1\n")
	ep, ok := cfg.Endpoint(config.EndpointAnthropic)
	if !ok {
		t.Fatal("anthropic not offered")
	}
	s, err := registry.New(cfg, nil, srv.Client(), nil, nil).Streamer(context.Background(), "u", ep, "claude")
	if err != nil {
		t.Fatal(err)
	}
	if got := text(t, s); got != "Hi" {
		t.Fatalf("reply %q", got)
	}
	mu.Lock()
	defer mu.Unlock()
	if hdr.Get("Anthropic-Version") != "2023-06-01" || hdr.Get("X-Api-Key") != "sk-ant" {
		t.Fatalf("headers %v", hdr)
	}
}
