// Package bedrock streams conversations from AWS Bedrock through the
// ConverseStream API of the official SDK.
package bedrock

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/document"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/lcgo/lcgo/shared/provider"
)

// DefaultRegion is used when Options.Region is empty.
const DefaultRegion = "us-east-1"

// DefaultThinkingBudget is the reasoning token budget sent when
// Params.Thinking is set without a ThinkingBudget.
const DefaultThinkingBudget = 2000

// ErrNoCredentials is returned (inside a *provider.StreamError) by a client
// that was built without an access key id and secret access key.
var ErrNoCredentials = errors.New("bedrock: no AWS access key id and secret access key configured")

// Options configure a Client.
type Options struct {
	// Region is the AWS region of the Bedrock runtime (DefaultRegion when
	// empty). It selects the endpoint and scopes the SigV4 signature.
	Region string
	// AccessKeyID and SecretAccessKey are required; SessionToken is set for
	// temporary credentials. No shared config file, environment variable or
	// instance role is consulted.
	AccessKeyID     string
	SecretAccessKey string
	SessionToken    string
	// Endpoint overrides the base URL of the service, e.g. a VPC endpoint
	// ("https://vpce-….bedrock-runtime.us-east-1.vpce.amazonaws.com").
	Endpoint string
	// HTTPClient sends the requests; the SDK's default client when nil.
	HTTPClient *http.Client
}

// Client is an AWS Bedrock provider. It is safe for concurrent use.
type Client struct {
	rt    *bedrockruntime.Client
	noKey bool
}

var _ provider.Streamer = (*Client)(nil)

// New returns a Bedrock client configured by opts. The SDK's own retries are
// disabled, and a bearer token in the AWS_BEARER_TOKEN_BEDROCK environment
// variable is ignored: requests are always signed with opts' keys.
func New(opts Options) *Client {
	region := opts.Region
	if region == "" {
		region = DefaultRegion
	}
	o := bedrockruntime.Options{
		Region:  region,
		Retryer: aws.NopRetryer{},
	}
	noKey := opts.AccessKeyID == "" || opts.SecretAccessKey == ""
	if !noKey {
		o.Credentials = credentials.NewStaticCredentialsProvider(opts.AccessKeyID, opts.SecretAccessKey, opts.SessionToken)
	}
	if opts.Endpoint != "" {
		o.BaseEndpoint = aws.String(opts.Endpoint)
	}
	if opts.HTTPClient != nil {
		o.HTTPClient = opts.HTTPClient
	}
	rt := bedrockruntime.New(o, func(o *bedrockruntime.Options) {
		o.BearerAuthTokenProvider = nil
		o.AuthSchemePreference = nil
	})
	return &Client{rt: rt, noKey: noKey}
}

// Stream sends req through ConverseStream and emits its deltas. Event.ID is
// the request id that AWS returns in the x-amzn-RequestId header.
func (c *Client) Stream(ctx context.Context, req provider.Request, emit func(provider.Event) error) error {
	if c.noKey {
		return &provider.StreamError{Err: ErrNoCredentials}
	}
	in, err := buildInput(req)
	if err != nil {
		return &provider.StreamError{Err: err}
	}
	out, err := c.rt.ConverseStream(ctx, in)
	if err != nil {
		if cerr := ctx.Err(); cerr != nil {
			return cerr
		}
		return &provider.StreamError{Status: statusOf(err), Err: err}
	}
	stream := out.GetStream()
	defer stream.Close()
	id, _ := awsmiddleware.GetRequestIDMetadata(out.ResultMetadata)

	emitted := false
	send := func(e provider.Event) error {
		emitted = true
		e.ID = id
		return emit(e)
	}
	stopped, usageSent := false, false
	events := stream.Events()
loop:
	for {
		var ev types.ConverseStreamOutput
		select {
		case <-ctx.Done():
			return ctx.Err()
		case e, ok := <-events:
			if !ok {
				break loop
			}
			ev = e
		}
		switch v := ev.(type) {
		case *types.ConverseStreamOutputMemberContentBlockDelta:
			switch d := v.Value.Delta.(type) {
			case *types.ContentBlockDeltaMemberText:
				if d.Value != "" {
					if err := send(provider.Event{Kind: provider.EventText, Text: d.Value}); err != nil {
						return err
					}
				}
			case *types.ContentBlockDeltaMemberReasoningContent:
				if t, ok := d.Value.(*types.ReasoningContentBlockDeltaMemberText); ok && t.Value != "" {
					if err := send(provider.Event{Kind: provider.EventReasoning, Text: t.Value}); err != nil {
						return err
					}
				}
			}
		case *types.ConverseStreamOutputMemberMessageStop:
			stopped = true
		case *types.ConverseStreamOutputMemberMetadata:
			if u := v.Value.Usage; u != nil && !usageSent {
				usageSent = true
				usage := provider.Usage{
					InputTokens:  int(aws.ToInt32(u.InputTokens)),
					OutputTokens: int(aws.ToInt32(u.OutputTokens)),
				}
				if err := send(provider.Event{Kind: provider.EventUsage, Usage: usage}); err != nil {
					return err
				}
			}
		}
	}
	if cerr := ctx.Err(); cerr != nil {
		return cerr
	}
	err = stream.Err()
	if err == nil && !stopped {
		// The SDK reports a body cut short between two messages as a normal
		// end of stream; a response without messageStop is incomplete.
		err = fmt.Errorf("bedrock: stream ended before messageStop: %w", io.ErrUnexpectedEOF)
	}
	if err != nil {
		return &provider.StreamError{Partial: emitted, Status: statusOf(err), Err: err}
	}
	return nil
}

// streamStatus maps the exceptions that ConverseStream sends inside the
// event stream to the HTTP status the same exception has as a response.
var streamStatus = map[string]int{
	"ValidationException":         http.StatusBadRequest,
	"ThrottlingException":         http.StatusTooManyRequests,
	"ModelStreamErrorException":   http.StatusFailedDependency,
	"InternalServerException":     http.StatusInternalServerError,
	"ServiceUnavailableException": http.StatusServiceUnavailable,
}

func statusOf(err error) int {
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		return streamStatus[apiErr.ErrorCode()]
	}
	return 0
}

func buildInput(req provider.Request) (*bedrockruntime.ConverseStreamInput, error) {
	in := &bedrockruntime.ConverseStreamInput{ModelId: aws.String(req.Model)}
	if req.System != "" {
		in.System = append(in.System, &types.SystemContentBlockMemberText{Value: req.System})
	}
	for _, m := range req.Messages {
		if m.Role == provider.RoleSystem {
			if t := m.Text(); t != "" {
				in.System = append(in.System, &types.SystemContentBlockMemberText{Value: t})
			}
			continue
		}
		role := types.ConversationRoleUser
		if m.Role == provider.RoleAssistant {
			role = types.ConversationRoleAssistant
		}
		blocks, err := contentBlocks(m)
		if err != nil {
			return nil, err
		}
		if len(blocks) == 0 {
			continue
		}
		// Bedrock requires alternating roles: consecutive turns of one role
		// are sent as a single message.
		if n := len(in.Messages); n > 0 && in.Messages[n-1].Role == role {
			in.Messages[n-1].Content = append(in.Messages[n-1].Content, blocks...)
			continue
		}
		in.Messages = append(in.Messages, types.Message{Role: role, Content: blocks})
	}
	in.InferenceConfig = inferenceConfig(req.Params)
	if f := additionalFields(req.Params); len(f) > 0 {
		in.AdditionalModelRequestFields = document.NewLazyDocument(f)
	}
	return in, nil
}

func contentBlocks(m provider.Message) ([]types.ContentBlock, error) {
	var blocks []types.ContentBlock
	for _, p := range m.Parts {
		switch p.Type {
		case provider.PartImage:
			f, err := imageFormat(p)
			if err != nil {
				return nil, err
			}
			blocks = append(blocks, &types.ContentBlockMemberImage{Value: types.ImageBlock{
				Format: f,
				Source: &types.ImageSourceMemberBytes{Value: p.Data},
			}})
		case provider.PartText, "":
			if strings.TrimSpace(p.Text) != "" {
				blocks = append(blocks, &types.ContentBlockMemberText{Value: p.Text})
			}
		}
	}
	return blocks, nil
}

// imageFormat returns the Bedrock format of an image part from its MIME type,
// or from its bytes when the MIME type is missing.
func imageFormat(p provider.Part) (types.ImageFormat, error) {
	mime := p.MIME
	if mime == "" {
		mime = http.DetectContentType(p.Data)
	}
	mime, _, _ = strings.Cut(mime, ";")
	switch strings.ToLower(strings.TrimSpace(mime)) {
	case "image/png":
		return types.ImageFormatPng, nil
	case "image/jpeg", "image/jpg":
		return types.ImageFormatJpeg, nil
	case "image/gif":
		return types.ImageFormatGif, nil
	case "image/webp":
		return types.ImageFormatWebp, nil
	}
	return "", fmt.Errorf("bedrock: unsupported image type %q", mime)
}

// dropped reports whether p.Drop names one of names.
func dropped(p provider.Params, names ...string) bool {
	return slices.ContainsFunc(names, func(n string) bool { return slices.Contains(p.Drop, n) })
}

func inferenceConfig(p provider.Params) *types.InferenceConfiguration {
	var c types.InferenceConfiguration
	set := false
	if v := p.Temperature; v != nil && !dropped(p, "temperature") {
		c.Temperature = aws.Float32(float32(*v))
		set = true
	}
	if v := p.TopP; v != nil && !dropped(p, "topP", "top_p") {
		c.TopP = aws.Float32(float32(*v))
		set = true
	}
	if v := p.MaxTokens; v != nil && !dropped(p, "maxTokens", "max_tokens") {
		c.MaxTokens = aws.Int32(int32(*v))
		set = true
	}
	if len(p.Stop) > 0 && !dropped(p, "stopSequences", "stop") {
		c.StopSequences = p.Stop
		set = true
	}
	if !set {
		return nil
	}
	return &c
}

// additionalFields returns the model-specific request fields: top_k, the
// Anthropic thinking configuration, then Extra (which wins), less Drop.
func additionalFields(p provider.Params) map[string]any {
	f := map[string]any{}
	if p.TopK != nil {
		f["top_k"] = *p.TopK
	}
	if p.Thinking {
		budget := p.ThinkingBudget
		if budget <= 0 {
			budget = DefaultThinkingBudget
		}
		f["thinking"] = map[string]any{"type": "enabled", "budget_tokens": budget}
	}
	maps.Copy(f, p.Extra)
	for _, k := range p.Drop {
		delete(f, k)
	}
	return f
}
