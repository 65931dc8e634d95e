// Package google streams completions from the Google Gemini API through the
// official SDK.
package google

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"google.golang.org/genai"

	"github.com/lcgo/lcgo/shared/provider"
)

// DefaultBaseURL is used when no base URL is configured.
const DefaultBaseURL = "https://generativelanguage.googleapis.com/"

// Client is a Gemini API provider. It is safe for concurrent use.
type Client struct {
	models *genai.Models
}

var _ provider.Streamer = (*Client)(nil)

// New returns a client for the Gemini API at baseURL (DefaultBaseURL when
// empty) that authenticates with apiKey, adds headers to every request and
// sends requests through hc (http.DefaultClient when nil).
//
// Everything is configured explicitly, so the SDK's ambient configuration
// (GOOGLE_API_KEY, GEMINI_API_KEY, GOOGLE_GEMINI_BASE_URL,
// GOOGLE_GENAI_USE_VERTEXAI, application default credentials) is never
// used. Because the SDK would fall back to GOOGLE_API_KEY or GEMINI_API_KEY
// for an empty key, an empty apiKey is rejected. The SDK's HTTP retries stay
// off.
func New(ctx context.Context, baseURL, apiKey string, headers map[string]string, hc *http.Client) (*Client, error) {
	if apiKey == "" {
		return nil, errors.New("google: an API key is required")
	}
	if baseURL == "" {
		baseURL = DefaultBaseURL
	}
	if hc == nil {
		hc = http.DefaultClient
	}
	h := make(http.Header, len(headers))
	for k, v := range headers {
		h.Set(k, v)
	}
	c, err := genai.NewClient(ctx, &genai.ClientConfig{
		APIKey:     apiKey,
		Backend:    genai.BackendGeminiAPI,
		HTTPClient: hc,
		HTTPOptions: genai.HTTPOptions{
			BaseURL: baseURL,
			Headers: h,
		},
	})
	if err != nil {
		return nil, fmt.Errorf("google: %w", err)
	}
	return &Client{models: c.Models}, nil
}

// ListModels returns the names of the available models without their
// "models/" prefix, following every page of GET /v1beta/models.
func (c *Client) ListModels(ctx context.Context) ([]string, error) {
	var names []string
	for m, err := range c.models.All(ctx) {
		if err != nil {
			if cerr := ctx.Err(); cerr != nil {
				return nil, cerr
			}
			return nil, &provider.StreamError{Status: statusOf(err), Err: err}
		}
		names = append(names, strings.TrimPrefix(m.Name, "models/"))
	}
	return names, nil
}

// Stream sends req to streamGenerateContent and emits its deltas: thought
// parts as EventReasoning, other text as EventText, and the usage reported
// by the last chunk that carried any as one EventUsage at the end.
func (c *Client) Stream(ctx context.Context, req provider.Request, emit func(provider.Event) error) error {
	config, err := buildConfig(req)
	if err != nil {
		return &provider.StreamError{Err: err}
	}
	contents := buildContents(req.Messages)

	emitted := false
	id := ""
	send := func(e provider.Event) error {
		emitted = true
		e.ID = id
		return emit(e)
	}
	var usage *genai.GenerateContentResponseUsageMetadata
	for chunk, err := range c.models.GenerateContentStream(ctx, req.Model, contents, config) {
		if err != nil {
			if cerr := ctx.Err(); cerr != nil {
				return cerr
			}
			return &provider.StreamError{Partial: emitted, Status: statusOf(err), Err: err}
		}
		if chunk.ResponseID != "" {
			id = chunk.ResponseID
		}
		if chunk.UsageMetadata != nil {
			usage = chunk.UsageMetadata
		}
		if fb := chunk.PromptFeedback; fb != nil && fb.BlockReason != "" {
			return &provider.StreamError{Partial: emitted, Err: fmt.Errorf("google: prompt blocked: %s", fb.BlockReason)}
		}
		if len(chunk.Candidates) == 0 || chunk.Candidates[0] == nil || chunk.Candidates[0].Content == nil {
			continue
		}
		for _, p := range chunk.Candidates[0].Content.Parts {
			if p == nil || p.Text == "" {
				continue
			}
			kind := provider.EventText
			if p.Thought {
				kind = provider.EventReasoning
			}
			if err := send(provider.Event{Kind: kind, Text: p.Text}); err != nil {
				return err
			}
		}
	}
	if usage != nil {
		u := provider.Usage{
			InputTokens:  int(usage.PromptTokenCount),
			OutputTokens: int(usage.CandidatesTokenCount) + int(usage.ThoughtsTokenCount),
		}
		if err := send(provider.Event{Kind: provider.EventUsage, Usage: u}); err != nil {
			return err
		}
	}
	return nil
}

// statusOf returns the HTTP status carried by an SDK API error, or 0.
func statusOf(err error) int {
	var apiErr genai.APIError
	if errors.As(err, &apiErr) {
		return apiErr.Code
	}
	var apiErrPtr *genai.APIError
	if errors.As(err, &apiErrPtr) && apiErrPtr != nil {
		return apiErrPtr.Code
	}
	return 0
}

// buildContents converts the conversation to Gemini contents: user turns
// have role "user", assistant turns role "model". System messages are sent
// as the system instruction instead (see buildConfig), and turns without any
// content are left out since the API rejects empty contents.
func buildContents(msgs []provider.Message) []*genai.Content {
	contents := make([]*genai.Content, 0, len(msgs))
	for _, m := range msgs {
		var role genai.Role
		switch m.Role {
		case provider.RoleSystem:
			continue
		case provider.RoleAssistant:
			role = genai.RoleModel
		default:
			role = genai.RoleUser
		}
		var parts []*genai.Part
		for _, p := range m.Parts {
			switch p.Type {
			case provider.PartImage:
				mime := p.MIME
				if mime == "" {
					mime = "image/png"
				}
				parts = append(parts, genai.NewPartFromBytes(p.Data, mime))
			default:
				if p.Text != "" {
					parts = append(parts, genai.NewPartFromText(p.Text))
				}
			}
		}
		if len(parts) > 0 {
			contents = append(contents, genai.NewContentFromParts(parts, role))
		}
	}
	return contents
}

// buildConfig maps the system prompt, the sampling parameters and
// Params.Extra/Drop to a GenerateContentConfig.
func buildConfig(req provider.Request) (*genai.GenerateContentConfig, error) {
	config := &genai.GenerateContentConfig{}

	var sys []*genai.Part
	if req.System != "" {
		sys = append(sys, genai.NewPartFromText(req.System))
	}
	for _, m := range req.Messages {
		if m.Role == provider.RoleSystem {
			if t := m.Text(); t != "" {
				sys = append(sys, genai.NewPartFromText(t))
			}
		}
	}
	if len(sys) > 0 {
		config.SystemInstruction = &genai.Content{Parts: sys}
	}

	p := req.Params
	if v := p.Temperature; v != nil {
		config.Temperature = genai.Ptr(float32(*v))
	}
	if v := p.TopP; v != nil {
		config.TopP = genai.Ptr(float32(*v))
	}
	if v := p.TopK; v != nil {
		config.TopK = genai.Ptr(float32(*v))
	}
	if v := p.MaxTokens; v != nil {
		config.MaxOutputTokens = int32(*v)
	}
	if len(p.Stop) > 0 {
		config.StopSequences = p.Stop
	}
	if p.Thinking {
		tc := &genai.ThinkingConfig{IncludeThoughts: true}
		if p.ThinkingBudget > 0 {
			tc.ThinkingBudget = genai.Ptr(int32(p.ThinkingBudget))
		}
		config.ThinkingConfig = tc
	}

	opts, err := bodyOptions(p)
	if err != nil {
		return nil, err
	}
	config.HTTPOptions = opts
	return config, nil
}

// bodyOptions returns the per-request HTTP options that apply Params.Extra
// and Params.Drop to the wire request body, or nil when there are none.
//
// Extra is merged recursively into the body (the SDK's ExtraBody), so its
// keys are wire field names: a top-level field such as "safetySettings", or
// a generation parameter nested as {"generationConfig": {"seed": 7}}. Drop
// runs after that merge; each name is removed from the top level of the
// body and from its generationConfig object, where Gemini keeps the
// sampling parameters (e.g. "temperature", "topP", "thinkingConfig").
func bodyOptions(p provider.Params) (*genai.HTTPOptions, error) {
	if len(p.Extra) == 0 && len(p.Drop) == 0 {
		return nil, nil
	}
	opts := &genai.HTTPOptions{}
	if len(p.Extra) > 0 {
		// A JSON round trip gives the SDK a private copy made only of
		// map[string]any, []any and scalars, so nested objects merge into
		// the body's own objects and later edits never reach the caller.
		raw, err := json.Marshal(p.Extra)
		if err != nil {
			return nil, fmt.Errorf("google: encoding extra params: %w", err)
		}
		var extra map[string]any
		if err := json.Unmarshal(raw, &extra); err != nil {
			return nil, fmt.Errorf("google: encoding extra params: %w", err)
		}
		opts.ExtraBody = extra
	}
	if len(p.Drop) > 0 {
		drop := append([]string(nil), p.Drop...)
		opts.ExtrasRequestProvider = func(body map[string]any) map[string]any {
			gc, _ := body["generationConfig"].(map[string]any)
			for _, k := range drop {
				delete(body, k)
				if gc != nil {
					delete(gc, k)
				}
			}
			return body
		}
	}
	return opts, nil
}
