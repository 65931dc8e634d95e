// Package openai streams chat completions from OpenAI and from any
// OpenAI-compatible endpoint through the official SDK.
package openai

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"sort"
	"strings"

	sdk "github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/lcgo/lcgo/shared/provider"
)

// DefaultBaseURL is used when no base URL is configured.
const DefaultBaseURL = "https://api.openai.com/v1/"

// Client is an OpenAI-compatible provider. It is safe for concurrent use.
type Client struct {
	chat   sdk.ChatCompletionService
	models sdk.ModelService
}

var _ provider.Streamer = (*Client)(nil)

// New returns a client for the endpoint at baseURL (DefaultBaseURL when
// empty) that authenticates with apiKey, adds headers to every request and
// sends requests through hc (http.DefaultClient when nil). The SDK's own
// retries are disabled; ambient OPENAI_* environment variables are ignored.
func New(baseURL, apiKey string, headers map[string]string, hc *http.Client) *Client {
	if baseURL == "" {
		baseURL = DefaultBaseURL
	}
	if hc == nil {
		hc = http.DefaultClient
	}
	opts := []option.RequestOption{
		option.WithHTTPClient(hc),
		option.WithBaseURL(baseURL),
		option.WithAPIKey(apiKey),
		option.WithMaxRetries(0),
	}
	keys := make([]string, 0, len(headers))
	for k := range headers {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		opts = append(opts, option.WithHeader(k, headers[k]))
	}
	return &Client{
		chat:   sdk.NewChatCompletionService(opts...),
		models: sdk.NewModelService(opts...),
	}
}

// ListModels returns the model ids reported by GET /models.
func (c *Client) ListModels(ctx context.Context) ([]string, error) {
	page, err := c.models.List(ctx)
	if err != nil {
		return nil, &provider.StreamError{Status: statusOf(err), Err: err}
	}
	ids := make([]string, 0, len(page.Data))
	for _, m := range page.Data {
		ids = append(ids, m.ID)
	}
	return ids, nil
}

// Stream sends req as a streaming chat completion and emits its deltas.
func (c *Client) Stream(ctx context.Context, req provider.Request, emit func(provider.Event) error) error {
	body := buildParams(req)
	stream := c.chat.NewStreaming(ctx, body, requestOptions(req.Params)...)
	defer stream.Close()

	emitted := false
	id := ""
	send := func(e provider.Event) error {
		emitted = true
		e.ID = id
		return emit(e)
	}
	for stream.Next() {
		chunk := stream.Current()
		if chunk.ID != "" {
			id = chunk.ID
		}
		for _, ch := range chunk.Choices {
			if r := reasoningOf(ch.Delta); r != "" {
				if err := send(provider.Event{Kind: provider.EventReasoning, Text: r}); err != nil {
					return err
				}
			}
			if ch.Delta.Content != "" {
				if err := send(provider.Event{Kind: provider.EventText, Text: ch.Delta.Content}); err != nil {
					return err
				}
			}
		}
		if chunk.JSON.Usage.Valid() {
			u := provider.Usage{
				InputTokens:  int(chunk.Usage.PromptTokens),
				OutputTokens: int(chunk.Usage.CompletionTokens),
			}
			if err := send(provider.Event{Kind: provider.EventUsage, Usage: u}); err != nil {
				return err
			}
		}
	}
	if err := stream.Err(); err != nil {
		if cerr := ctx.Err(); cerr != nil {
			return cerr
		}
		return &provider.StreamError{Partial: emitted, Status: statusOf(err), Err: err}
	}
	return nil
}

func statusOf(err error) int {
	var apiErr *sdk.Error
	if errors.As(err, &apiErr) {
		return apiErr.StatusCode
	}
	return 0
}

// reasoningOf returns the reasoning text that many OpenAI-compatible servers
// send in a delta as "reasoning_content" or "reasoning".
func reasoningOf(d sdk.ChatCompletionChunkChoiceDelta) string {
	for _, k := range []string{"reasoning_content", "reasoning"} {
		f, ok := d.JSON.ExtraFields[k]
		if !ok {
			continue
		}
		var s string
		if json.Unmarshal([]byte(f.Raw()), &s) == nil && s != "" {
			return s
		}
	}
	return ""
}

// usesMaxCompletionTokens reports whether model rejects max_tokens in favour
// of max_completion_tokens (OpenAI reasoning models).
func usesMaxCompletionTokens(model string) bool {
	m := strings.ToLower(model)
	if i := strings.LastIndexByte(m, '/'); i >= 0 {
		m = m[i+1:]
	}
	for _, p := range []string{"o1", "o3", "o4", "gpt-5"} {
		if m == p || strings.HasPrefix(m, p+"-") {
			return true
		}
	}
	return false
}

func buildParams(req provider.Request) sdk.ChatCompletionNewParams {
	p := sdk.ChatCompletionNewParams{
		Model:         req.Model,
		StreamOptions: sdk.ChatCompletionStreamOptionsParam{IncludeUsage: sdk.Bool(true)},
	}
	if req.System != "" {
		p.Messages = append(p.Messages, sdk.SystemMessage(req.System))
	}
	for _, m := range req.Messages {
		switch m.Role {
		case provider.RoleSystem:
			p.Messages = append(p.Messages, sdk.SystemMessage(m.Text()))
		case provider.RoleAssistant:
			p.Messages = append(p.Messages, sdk.AssistantMessage(m.Text()))
		default:
			p.Messages = append(p.Messages, userMessage(m))
		}
	}
	if v := req.Params.Temperature; v != nil {
		p.Temperature = sdk.Float(*v)
	}
	if v := req.Params.TopP; v != nil {
		p.TopP = sdk.Float(*v)
	}
	if v := req.Params.MaxTokens; v != nil {
		if usesMaxCompletionTokens(req.Model) {
			p.MaxCompletionTokens = sdk.Int(int64(*v))
		} else {
			p.MaxTokens = sdk.Int(int64(*v))
		}
	}
	return p
}

func userMessage(m provider.Message) sdk.ChatCompletionMessageParamUnion {
	hasImage := slices.ContainsFunc(m.Parts, func(p provider.Part) bool { return p.Type == provider.PartImage })
	if !hasImage {
		return sdk.UserMessage(m.Text())
	}
	parts := make([]sdk.ChatCompletionContentPartUnionParam, 0, len(m.Parts))
	for _, p := range m.Parts {
		switch p.Type {
		case provider.PartImage:
			mime := p.MIME
			if mime == "" {
				mime = "image/png"
			}
			url := "data:" + mime + ";base64," + base64.StdEncoding.EncodeToString(p.Data)
			parts = append(parts, sdk.ImageContentPart(sdk.ChatCompletionContentPartImageImageURLParam{URL: url}))
		default:
			if p.Text != "" {
				parts = append(parts, sdk.TextContentPart(p.Text))
			}
		}
	}
	return sdk.UserMessage(parts)
}

// requestOptions merges Extra into the request body and then removes the
// Drop fields; keys are top-level field names.
func requestOptions(p provider.Params) []option.RequestOption {
	var opts []option.RequestOption
	keys := make([]string, 0, len(p.Extra))
	for k := range p.Extra {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		opts = append(opts, option.WithJSONSet(pathKey(k), p.Extra[k]))
	}
	for _, k := range p.Drop {
		opts = append(opts, option.WithJSONDel(pathKey(k)))
	}
	return opts
}

// pathKey escapes the sjson path syntax so k names a single top-level field.
func pathKey(k string) string {
	var b strings.Builder
	for _, r := range k {
		switch r {
		case '.', '*', '?', '|', '#', '@', '\\', '!', '=', '<', '>', '%', ':':
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}
