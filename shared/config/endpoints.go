package config

// Built-in endpoint names, spelled as the client spells them.
const (
	EndpointOpenAI    = "openAI"
	EndpointGoogle    = "google"
	EndpointAnthropic = "anthropic"
	EndpointBedrock   = "bedrock"
	EndpointCustom    = "custom"
)

// The built-in offline endpoint, offered when no provider is configured so
// that the client has something to select.
const (
	OfflineEndpoint = "Offline"
	OfflineModel    = "offline-echo"
)

// defaultEndpointOrder is LibreChat's default list of enabled endpoints; an
// endpoint's index is its menu order. Endpoints this server does not serve
// (agents, assistants, azure*) keep their places so the numbers match.
var defaultEndpointOrder = []string{
	EndpointOpenAI, "agents", "assistants", "azureAssistants", "azureOpenAI",
	EndpointGoogle, EndpointAnthropic, EndpointBedrock,
}

// customOrder is the order of custom endpoints when ENDPOINTS does not list
// "custom".
const customOrder = 9999

// EndpointInfo describes one endpoint offered to the client, in the order of
// GET /api/endpoints.
type EndpointInfo struct {
	Name  string // the key in /api/endpoints and /api/models
	Order int
	// UserProvide: each user supplies the API key.
	UserProvide bool
	// UserProvideURL: each user supplies the base URL. For built-ins it is
	// nil unless a base URL is configured.
	UserProvideURL *bool
	// Custom is the librechat.yaml entry of a custom endpoint (nil otherwise).
	Custom *CustomEndpoint
	// Offline marks the built-in offline endpoint.
	Offline bool
	// Bedrock only: availableRegions and which credentials users supply.
	AvailableRegions           []string
	UserProvideAccessKeyID     bool
	UserProvideSecretAccessKey bool
}

// IsCustom reports whether the client treats the endpoint as type "custom".
func (e EndpointInfo) IsCustom() bool { return e.Custom != nil || e.Offline }

// Endpoints lists the endpoints this configuration offers, as LibreChat
// builds them: the built-in providers whose key is set (filtered and ordered
// by ENDPOINTS when given), then the custom endpoints of librechat.yaml. When
// that leaves nothing, the offline endpoint alone.
func (c *Config) Endpoints() []EndpointInfo {
	enabled := c.Providers.Endpoints
	if len(enabled) == 0 {
		enabled = defaultEndpointOrder
	}
	index := func(name string) int {
		for i, n := range enabled {
			if n == name {
				return i
			}
		}
		return -1
	}
	var out []EndpointInfo
	for i, name := range enabled {
		e, ok := c.builtin(name)
		if !ok || index(name) != i { // skip repeats in ENDPOINTS
			continue
		}
		e.Order = i
		out = append(out, e)
	}
	order := customOrder
	if i := index(EndpointCustom); i >= 0 {
		order = i
	}
	for i := range c.File.Endpoints.Custom {
		ce := &c.File.Endpoints.Custom[i]
		o := order
		if ce.CustomOrder != nil {
			o = *ce.CustomOrder
		}
		url := ce.UserProvidedURL()
		out = append(out, EndpointInfo{
			Name: ce.Name, Order: o, Custom: ce,
			UserProvide: ce.UserProvidedKey(), UserProvideURL: &url,
		})
	}
	if len(out) == 0 {
		no := false
		out = append(out, EndpointInfo{Name: OfflineEndpoint, Order: order, Offline: true, UserProvideURL: &no})
	}
	return out
}

// Endpoint returns the offered endpoint with that name.
func (c *Config) Endpoint(name string) (EndpointInfo, bool) {
	for _, e := range c.Endpoints() {
		if e.Name == name {
			return e, true
		}
	}
	return EndpointInfo{}, false
}

func (c *Config) builtin(name string) (EndpointInfo, bool) {
	p := &c.Providers
	switch name {
	case EndpointOpenAI:
		if p.OpenAIKey == "" {
			return EndpointInfo{}, false
		}
		e := EndpointInfo{Name: name, UserProvide: p.OpenAIKey == UserProvided}
		if p.OpenAIBaseURL != "" {
			u := p.OpenAIBaseURL == UserProvided
			e.UserProvideURL = &u
		}
		return e, true
	case EndpointGoogle:
		if p.GoogleKey == "" {
			return EndpointInfo{}, false
		}
		return EndpointInfo{Name: name, UserProvide: p.GoogleKey == UserProvided}, true
	case EndpointAnthropic:
		if p.AnthropicKey == "" {
			return EndpointInfo{}, false
		}
		return EndpointInfo{Name: name, UserProvide: p.AnthropicKey == UserProvided}, true
	case EndpointBedrock:
		key := p.BedrockSecret
		if key == "" {
			key = p.BedrockRegion
		}
		if key == "" {
			return EndpointInfo{}, false
		}
		e := EndpointInfo{
			Name: name, UserProvide: key == UserProvided,
			UserProvideAccessKeyID:     p.BedrockKeyID == UserProvided,
			UserProvideSecretAccessKey: p.BedrockSecret == UserProvided,
		}
		if b := c.File.Endpoints.Bedrock; b != nil {
			e.AvailableRegions = b.AvailableRegions
		}
		return e, true
	}
	return EndpointInfo{}, false
}

// StaticModels is the model list of an endpoint that needs no request: the
// environment's list (OPENAI_MODELS, ...), else librechat.yaml's, else
// LibreChat's defaults; for a custom endpoint its models.default. Nil for an
// unknown endpoint.
func (c *Config) StaticModels(name string) []string {
	p := &c.Providers
	pick := func(env []string, file *Endpoint, def []string) []string {
		if len(env) > 0 {
			return clone(env)
		}
		if file != nil && len(file.Models) > 0 {
			return clone(file.Models)
		}
		return clone(def)
	}
	switch name {
	case EndpointOpenAI:
		return pick(p.OpenAIModels, c.File.Endpoints.OpenAI, DefaultOpenAIModels)
	case EndpointGoogle:
		return pick(p.GoogleModels, c.File.Endpoints.Google, DefaultGoogleModels)
	case EndpointAnthropic:
		return pick(p.AnthropicModel, c.File.Endpoints.Anthropic, DefaultAnthropicModels)
	case EndpointBedrock:
		return pick(p.BedrockModels, c.File.Endpoints.Bedrock, DefaultBedrockModels)
	}
	if ce, ok := c.File.CustomEndpoint(name); ok {
		return clone(ce.Models.Default)
	}
	if e, ok := c.Endpoint(name); ok && e.Offline {
		return []string{OfflineModel}
	}
	return nil
}

func clone(s []string) []string {
	if s == nil {
		return []string{}
	}
	return append([]string{}, s...)
}

// LibreChat v0.8.7's default model lists.
var (
	DefaultOpenAIModels = []string{
		"gpt-5.5", "gpt-5.5-pro", "chat-latest", "gpt-5.4", "gpt-5.4-pro", "gpt-5.4-mini",
		"gpt-5.4-nano", "gpt-5.3-codex", "gpt-5.2", "gpt-5.1", "gpt-5.1-codex",
		"gpt-5.1-codex-max", "gpt-5.1-codex-mini", "gpt-5", "gpt-5-mini", "gpt-5-nano",
		"gpt-4.1", "gpt-4.1-mini", "gpt-4.1-nano", "gpt-4o-mini", "gpt-4o",
		"chatgpt-4o-latest", "gpt-4-vision-preview", "gpt-3.5-turbo-instruct-0914",
		"gpt-3.5-turbo-instruct",
	}
	DefaultGoogleModels = []string{
		"gemini-3.5-flash", "gemini-3.1-pro-preview", "gemini-3.1-pro-preview-customtools",
		"gemini-3.1-flash-lite-preview", "gemini-3-pro-preview", "gemini-3-flash-preview",
		"gemini-2.5-pro", "gemini-2.5-flash", "gemini-2.5-flash-lite",
	}
	DefaultAnthropicModels = []string{
		"claude-fable-5", "claude-opus-4-8", "claude-opus-4-7", "claude-sonnet-4-6",
		"claude-opus-4-6", "claude-sonnet-4-5", "claude-sonnet-4-5-20250929",
		"claude-haiku-4-5", "claude-haiku-4-5-20251001", "claude-opus-4-1",
		"claude-opus-4-1-20250805", "claude-opus-4-5", "claude-sonnet-4-20250514",
		"claude-sonnet-4-0", "claude-opus-4-20250514", "claude-opus-4-0",
		"claude-3-7-sonnet-latest", "claude-3-7-sonnet-20250219", "claude-3-5-haiku-20241022",
		"claude-3-5-sonnet-20241022", "claude-3-5-sonnet-20240620", "claude-3-5-sonnet-latest",
	}
	DefaultBedrockModels = []string{
		"anthropic.claude-fable-5", "anthropic.claude-opus-4-8", "anthropic.claude-opus-4-7",
		"anthropic.claude-sonnet-4-6", "anthropic.claude-opus-4-6-v1",
		"anthropic.claude-sonnet-4-5-20250929-v1:0", "anthropic.claude-haiku-4-5-20251001-v1:0",
		"anthropic.claude-opus-4-1-20250805-v1:0", "anthropic.claude-3-5-sonnet-20241022-v2:0",
		"anthropic.claude-3-5-sonnet-20240620-v1:0", "anthropic.claude-3-5-haiku-20241022-v1:0",
		"cohere.command-r-v1:0", "cohere.command-r-plus-v1:0", "meta.llama2-13b-chat-v1",
		"meta.llama2-70b-chat-v1", "meta.llama3-8b-instruct-v1:0", "meta.llama3-70b-instruct-v1:0",
		"meta.llama3-1-8b-instruct-v1:0", "meta.llama3-1-70b-instruct-v1:0",
		"meta.llama3-1-405b-instruct-v1:0", "mistral.mistral-7b-instruct-v0:2",
		"mistral.mixtral-8x7b-instruct-v0:1", "mistral.mistral-large-2402-v1:0",
		"mistral.mistral-large-2407-v1:0", "mistral.mistral-small-2402-v1:0",
		"ai21.jamba-instruct-v1:0", "amazon.titan-text-lite-v1", "amazon.titan-text-express-v1",
		"amazon.titan-text-premier-v1:0",
	}
)
