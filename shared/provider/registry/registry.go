// Package registry builds the provider client for an endpoint of the
// configuration: the built-in OpenAI, Anthropic, Google and Bedrock
// endpoints, every OpenAI-compatible custom endpoint of librechat.yaml, and
// the offline model. Keys come from the environment or, for endpoints whose
// key is "user_provided", from the user's stored keys.
//
// Each provider SDK adds to a function's size and idle memory. A build for
// a deployment that does not use one can leave it out with a build tag
// (lcgo_no_anthropic, lcgo_no_google, lcgo_no_bedrock); its endpoint then
// answers with an error that says so.
package registry

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"

	"github.com/lcgo/lcgo/shared/chat"
	"github.com/lcgo/lcgo/shared/config"
	"github.com/lcgo/lcgo/shared/librechat"
	"github.com/lcgo/lcgo/shared/provider"
	"github.com/lcgo/lcgo/shared/provider/offline"
	"github.com/lcgo/lcgo/shared/provider/openai"
	"github.com/lcgo/lcgo/shared/userkeys"
)

// KeyReader reads a user's stored key.
type KeyReader interface {
	Get(ctx context.Context, userID, name string) (*userkeys.Key, error)
}

// Registry implements chat.Providers. Clients built from server-wide keys
// are cached; clients for user keys are built per request.
type Registry struct {
	cfg     *config.Config
	keys    KeyReader
	http    *http.Client
	clock   librechat.Clock
	offline provider.Streamer

	mu    sync.Mutex
	cache map[string]provider.Streamer
}

var _ chat.Providers = (*Registry)(nil)

// New builds a registry. hc is used for every provider call (nil: the
// default client); offlineModel replaces the built-in offline model when
// not nil (tests use a model without delays).
func New(cfg *config.Config, keys KeyReader, hc *http.Client, clock librechat.Clock, offlineModel provider.Streamer) *Registry {
	if hc == nil {
		hc = http.DefaultClient
	}
	if offlineModel == nil {
		offlineModel = offline.New()
	}
	return &Registry{cfg: cfg, keys: keys, http: hc, clock: clock, offline: offlineModel, cache: map[string]provider.Streamer{}}
}

func keyError(kind string) error {
	return &chat.RequestError{Status: 400, Body: map[string]any{"type": kind}}
}

// userKey returns the user's key for the endpoint, decoded into fields
// (apiKey, baseURL, or the Bedrock credentials); a plain string value is
// the apiKey.
func (r *Registry) userKey(ctx context.Context, userID, endpoint string) (map[string]string, error) {
	if r.keys == nil {
		return nil, keyError("no_user_key")
	}
	k, err := r.keys.Get(ctx, userID, endpoint)
	if librechat.IsNotFound(err) {
		return nil, keyError("no_user_key")
	}
	if err != nil {
		return nil, err
	}
	if r.clock != nil && k.Expired(r.clock.Now()) {
		return nil, keyError("expired_user_key")
	}
	fields := map[string]string{}
	if strings.HasPrefix(strings.TrimSpace(k.Value), "{") {
		if json.Unmarshal([]byte(k.Value), &fields) != nil {
			return nil, keyError("invalid_user_key")
		}
	} else {
		fields["apiKey"] = k.Value
	}
	return fields, nil
}

func (r *Registry) cached(key string, build func() (provider.Streamer, error)) (provider.Streamer, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if s, ok := r.cache[key]; ok {
		return s, nil
	}
	s, err := build()
	if err != nil {
		return nil, err
	}
	r.cache[key] = s
	return s, nil
}

// Streamer returns the client for an endpoint.
func (r *Registry) Streamer(ctx context.Context, userID string, ep config.EndpointInfo, model string) (provider.Streamer, error) {
	if ep.Offline {
		return r.offline, nil
	}
	p := &r.cfg.Providers
	var user map[string]string
	needsUser := ep.UserProvide || (ep.UserProvideURL != nil && *ep.UserProvideURL)
	if needsUser {
		u, err := r.userKey(ctx, userID, ep.Name)
		if err != nil {
			return nil, err
		}
		user = u
	}
	pick := func(server, field string) string {
		if server == config.UserProvided || server == "" {
			return user[field]
		}
		return server
	}

	if ce := ep.Custom; ce != nil {
		apiKey, baseURL := pick(ce.APIKey, "apiKey"), pick(ce.BaseURL, "baseURL")
		if baseURL == "" {
			return nil, keyError("no_base_url")
		}
		build := func() (provider.Streamer, error) {
			return withParams(openai.New(baseURL, apiKey, ce.Headers, r.http), ce.AddParams, ce.DropParams), nil
		}
		if needsUser {
			return build()
		}
		return r.cached("custom:"+ce.Name, build)
	}

	switch ep.Name {
	case config.EndpointOpenAI:
		apiKey, baseURL := pick(p.OpenAIKey, "apiKey"), pick(p.OpenAIBaseURL, "baseURL")
		build := func() (provider.Streamer, error) { return openai.New(baseURL, apiKey, nil, r.http), nil }
		if needsUser {
			return build()
		}
		return r.cached("openAI", build)
	case config.EndpointAnthropic:
		apiKey := pick(p.AnthropicKey, "apiKey")
		base := p.AnthropicBaseURL
		build := func() (provider.Streamer, error) { return newAnthropic(base, apiKey, r.http) }
		if needsUser {
			return build()
		}
		return r.cached("anthropic", build)
	case config.EndpointGoogle:
		apiKey := pick(p.GoogleKey, "apiKey")
		if strings.HasPrefix(strings.TrimSpace(apiKey), "{") { // a service-account JSON: Vertex, not served
			return nil, keyError("invalid_user_key")
		}
		base := p.GoogleBaseURL
		build := func() (provider.Streamer, error) { return newGoogle(ctx, base, apiKey, r.http) }
		if needsUser {
			return build()
		}
		return r.cached("google", build)
	case config.EndpointBedrock:
		region := p.BedrockRegion
		if region == "" || region == config.UserProvided {
			region = user["region"]
		}
		creds := bedrockCreds{
			region:       region,
			keyID:        pick(p.BedrockKeyID, "accessKeyId"),
			secret:       pick(p.BedrockSecret, "secretAccessKey"),
			sessionToken: pick(p.BedrockSessionToken, "sessionToken"),
			endpoint:     p.BedrockEndpoint,
		}
		build := func() (provider.Streamer, error) { return newBedrock(creds, r.http) }
		if needsUser {
			return build()
		}
		return r.cached("bedrock", build)
	}
	return nil, &chat.RequestError{Status: 400, Body: map[string]any{"type": "invalid_request_error", "info": "unknown endpoint " + ep.Name}}
}

// paramStreamer adds an endpoint's addParams and dropParams to every request.
type paramStreamer struct {
	next provider.Streamer
	add  map[string]any
	drop []string
}

func withParams(s provider.Streamer, add map[string]any, drop []string) provider.Streamer {
	if len(add) == 0 && len(drop) == 0 {
		return s
	}
	return &paramStreamer{next: s, add: add, drop: drop}
}

func (p *paramStreamer) Stream(ctx context.Context, req provider.Request, emit func(provider.Event) error) error {
	extra := make(map[string]any, len(req.Params.Extra)+len(p.add))
	for k, v := range req.Params.Extra {
		extra[k] = v
	}
	for k, v := range p.add {
		extra[k] = v
	}
	req.Params.Extra = extra
	req.Params.Drop = append(append([]string{}, req.Params.Drop...), p.drop...)
	return p.next.Stream(ctx, req, emit)
}

// bedrockCreds are the credentials and endpoint of a Bedrock client.
type bedrockCreds struct {
	region, keyID, secret, sessionToken, endpoint string
}

// notBuilt is the error of an endpoint whose provider a build left out.
func notBuilt(name string) error {
	return &chat.RequestError{Status: 400, Body: map[string]any{
		"type": "invalid_request_error", "info": "The " + name + " provider is not part of this build.",
	}}
}
