// Package anthropic streams messages from the Anthropic Messages API through
// the official SDK.
//
// The SDK sends its own anthropic-version (2026-10-21 for SDK v2) and puts
// the API key in "Authorization: Bearer". The client also sends the key as
// x-api-key, which the API prefers when both are present and which
// Anthropic-compatible proxies expect. Under API version 2026-10-21 the API
// rejects temperature, top_p and top_k with a 400; callers that need them can
// pin the older version with the header "anthropic-version: 2023-06-01" (the
// headers given to New override the SDK's) or drop them with Params.Drop.
package anthropic

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"

	sdk "github.com/anthropics/anthropic-sdk-go/v2"
	"github.com/anthropics/anthropic-sdk-go/v2/option"

	"github.com/lcgo/lcgo/shared/provider"
)

const (
	// DefaultBaseURL is used when no base URL is configured.
	DefaultBaseURL = "https://api.anthropic.com"
	// DefaultMaxTokens is the max_tokens sent when Params.MaxTokens is unset;
	// the Messages API requires one.
	DefaultMaxTokens = 8192
	// DefaultThinkingBudget is the thinking budget used when
	// Params.ThinkingBudget is 0.
	DefaultThinkingBudget = 2000
	// MinThinkingBudget is the smallest budget_tokens the API accepts.
	MinThinkingBudget = 1024
)

// Client is an Anthropic provider. It is safe for concurrent use.
type Client struct {
	messages sdk.MessageService
	models   sdk.ModelService
}

var _ provider.Streamer = (*Client)(nil)

// New returns a client for the endpoint at baseURL (DefaultBaseURL when
// empty; the SDK appends "v1/messages" and "v1/models") that authenticates
// with apiKey, adds headers to every request and sends requests through hc
// (http.DefaultClient when nil). The SDK's own retries and OpenTelemetry spans
// are disabled; ambient ANTHROPIC_* environment variables and profiles are
// ignored.
func New(baseURL, apiKey string, headers map[string]string, hc *http.Client) *Client {
	if baseURL == "" {
		baseURL = DefaultBaseURL
	}
	if hc == nil {
		hc = http.DefaultClient
	}
	opts := []option.RequestOption{
		option.WithoutEnvironmentDefaults(),
		option.WithHTTPClient(hc),
		option.WithBaseURL(baseURL),
		option.WithMaxRetries(0),
		option.WithoutOpenTelemetry(),
	}
	if apiKey != "" {
		opts = append(opts, option.WithAPIKey(apiKey), option.WithHeader("x-api-key", apiKey))
	}
	keys := make([]string, 0, len(headers))
	for k := range headers {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		opts = append(opts, option.WithHeader(k, headers[k]))
	}
	c := sdk.NewClient(opts...)
	return &Client{messages: c.Messages, models: c.Models}
}

// ListModels returns the ids of the models reported by GET /v1/models,
// following its pagination.
func (c *Client) ListModels(ctx context.Context) ([]string, error) {
	pager := c.models.ListAutoPaging(ctx, sdk.ModelListParams{Limit: sdk.Int(1000)})
	var ids []string
	for pager.Next() {
		ids = append(ids, pager.Current().ID)
	}
	if err := pager.Err(); err != nil {
		if cerr := ctx.Err(); cerr != nil {
			return nil, cerr
		}
		return nil, &provider.StreamError{Status: statusOf(err), Err: err}
	}
	if ids == nil {
		ids = []string{}
	}
	return ids, nil
}

// errIncomplete reports a stream that ended without message_stop.
var errIncomplete = fmt.Errorf("anthropic: stream ended before message_stop: %w", io.ErrUnexpectedEOF)

// Stream sends req as a streaming Messages request and emits its deltas. The
// token usage is emitted once, after the last delta.
func (c *Client) Stream(ctx context.Context, req provider.Request, emit func(provider.Event) error) error {
	stream := c.messages.NewStreaming(ctx, buildParams(req), requestOptions(req.Params)...)
	defer stream.Close()

	var (
		emitted  bool
		stopped  bool
		started  bool
		id       string
		usage    provider.Usage
		inTokens int64
	)
	send := func(e provider.Event) error {
		emitted = true
		e.ID = id
		return emit(e)
	}
	for stream.Next() {
		ev := stream.Current()
		switch ev.Type {
		case "message_start":
			started = true
			id = ev.Message.ID
			u := ev.Message.Usage
			inTokens = u.InputTokens + u.CacheCreationInputTokens + u.CacheReadInputTokens
			usage.OutputTokens = int(u.OutputTokens)
		case "content_block_delta":
			var e provider.Event
			switch ev.Delta.Type {
			case "text_delta":
				e = provider.Event{Kind: provider.EventText, Text: ev.Delta.Text}
			case "thinking_delta":
				e = provider.Event{Kind: provider.EventReasoning, Text: ev.Delta.Thinking}
			default:
				continue
			}
			if e.Text == "" {
				continue
			}
			if err := send(e); err != nil {
				return err
			}
		case "message_delta":
			u := ev.Usage
			if u.JSON.InputTokens.Valid() {
				inTokens = u.InputTokens + u.CacheCreationInputTokens + u.CacheReadInputTokens
			}
			if u.JSON.OutputTokens.Valid() {
				usage.OutputTokens = int(u.OutputTokens)
			}
		case "message_stop":
			stopped = true
		}
	}
	err := stream.Err()
	if err == nil && !stopped {
		err = errIncomplete
	}
	if err != nil {
		if cerr := ctx.Err(); cerr != nil {
			return cerr
		}
		return &provider.StreamError{Partial: emitted, Status: statusOf(err), Err: err}
	}
	if started {
		usage.InputTokens = int(inTokens)
		if err := send(provider.Event{Kind: provider.EventUsage, Usage: usage}); err != nil {
			return err
		}
	}
	return nil
}

// errorTypeStatus maps the error types of Anthropic's error bodies to the HTTP
// status the API documents for them; it gives a status to errors that arrive
// as an SSE error event in a 200 response.
var errorTypeStatus = map[string]int{
	"invalid_request_error": http.StatusBadRequest,
	"authentication_error":  http.StatusUnauthorized,
	"billing_error":         http.StatusPaymentRequired,
	"permission_error":      http.StatusForbidden,
	"not_found_error":       http.StatusNotFound,
	"request_too_large":     http.StatusRequestEntityTooLarge,
	"rate_limit_error":      http.StatusTooManyRequests,
	"api_error":             http.StatusInternalServerError,
	"timeout_error":         http.StatusGatewayTimeout,
	"overloaded_error":      529,
}

func statusOf(err error) int {
	var apiErr *sdk.Error
	if !errors.As(err, &apiErr) {
		return 0
	}
	if apiErr.StatusCode >= 400 {
		return apiErr.StatusCode
	}
	return errorTypeStatus[string(apiErr.Type())]
}

func buildParams(req provider.Request) sdk.MessageNewParams {
	p := sdk.MessageNewParams{Model: sdk.Model(req.Model)}
	if req.System != "" {
		p.System = append(p.System, sdk.TextBlockParam{Text: req.System})
	}
	for _, m := range req.Messages {
		switch m.Role {
		case provider.RoleSystem:
			if t := m.Text(); t != "" {
				p.System = append(p.System, sdk.TextBlockParam{Text: t})
			}
		case provider.RoleAssistant:
			if t := m.Text(); t != "" {
				p.Messages = append(p.Messages, sdk.NewAssistantMessage(sdk.NewTextBlock(t)))
			}
		default:
			if blocks := userBlocks(m); len(blocks) > 0 {
				p.Messages = append(p.Messages, sdk.NewUserMessage(blocks...))
			}
		}
	}

	pr := req.Params
	maxTokens := int64(DefaultMaxTokens)
	if pr.MaxTokens != nil {
		maxTokens = int64(*pr.MaxTokens)
	}
	extra := map[string]any{}
	if pr.Thinking {
		budget := int64(pr.ThinkingBudget)
		if budget == 0 {
			budget = DefaultThinkingBudget
		}
		budget = max(budget, MinThinkingBudget)
		if maxTokens <= budget {
			maxTokens += budget
		}
		p.Thinking = sdk.ThinkingConfigParamOfEnabled(budget)
	} else {
		if v := pr.Temperature; v != nil {
			extra["temperature"] = *v
		}
		if v := pr.TopP; v != nil {
			extra["top_p"] = *v
		}
		if v := pr.TopK; v != nil {
			extra["top_k"] = *v
		}
	}
	p.MaxTokens = maxTokens
	for _, s := range pr.Stop {
		if s != "" {
			p.StopSequences = append(p.StopSequences, s)
		}
	}
	if len(extra) > 0 {
		p.SetExtraFields(extra)
	}
	return p
}

func userBlocks(m provider.Message) []sdk.ContentBlockParamUnion {
	blocks := make([]sdk.ContentBlockParamUnion, 0, len(m.Parts))
	for _, p := range m.Parts {
		switch p.Type {
		case provider.PartImage:
			if len(p.Data) == 0 {
				continue
			}
			blocks = append(blocks, sdk.NewImageBlockBase64(imageMIME(p), base64.StdEncoding.EncodeToString(p.Data)))
		case provider.PartText, "":
			if p.Text != "" {
				blocks = append(blocks, sdk.NewTextBlock(p.Text))
			}
		}
	}
	return blocks
}

// imageMIME returns the media type of an image part, sniffing the bytes when
// the part does not name one.
func imageMIME(p provider.Part) string {
	if p.MIME != "" {
		return p.MIME
	}
	if t := http.DetectContentType(p.Data); strings.HasPrefix(t, "image/") {
		return t
	}
	return "image/png"
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
