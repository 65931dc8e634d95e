// Package chat runs generation jobs: it accepts a chat request, stores the
// user message, streams the model's reply into the job's frames (the SSE
// events the LibreChat client reads), stores the reply and the
// conversation before the final frame, and answers status, resume and abort
// for any process that shares the job store. It knows no provider and no
// platform: providers come through the Providers interface, jobs through
// Jobs.
package chat

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/lcgo/lcgo/shared/config"
	"github.com/lcgo/lcgo/shared/librechat"
	"github.com/lcgo/lcgo/shared/provider"
)

// Providers builds the model client for one request. It fails with a
// *RequestError (e.g. {"type":"no_user_key"}) when the user has not supplied
// a key the endpoint needs.
type Providers interface {
	Streamer(ctx context.Context, userID string, ep config.EndpointInfo, model string) (provider.Streamer, error)
}

// Store is the storage the chat service needs.
type Store interface {
	librechat.ConversationStore
	librechat.MessageStore
	librechat.BalanceStore
}

// RequestError is a refusal the client renders: Status is the HTTP status
// for the start request; Body is the JSON body (and, as text, the error
// frame of a stream).
type RequestError struct {
	Status int
	Body   map[string]any
}

func (e *RequestError) Error() string {
	b, _ := json.Marshal(e.Body)
	return string(b)
}

// Policy applies the operator's model configurations to a chat request
// before it is accepted (package modelcfg implements it).
type Policy interface {
	// Apply checks and may rewrite a user's request for endpoint: change
	// the endpoint, model or parameters (clamping), drop settings the user
	// may not override. It refuses with a *RequestError.
	Apply(ctx context.Context, userID, endpoint string, payload map[string]json.RawMessage) (*Applied, error)
}

// Applied is a request after the policy.
type Applied struct {
	Endpoint string
	Payload  map[string]json.RawMessage
	// System is the configuration's system message. It is used for the
	// model call only: never stored on the conversation, never sent to the
	// client.
	System string
}

// Attachments turns the files attached to a user message into model
// input (package files implements it).
type Attachments interface {
	// Parts returns what the model sees of the user's files listed in
	// files (the message's "files" array of {file_id, ...}): images as
	// image parts, text documents as text. Files the user does not own
	// are left out.
	Parts(ctx context.Context, userID string, files json.RawMessage) ([]provider.Part, error)
}

// Options tunes a Service.
type Options struct {
	// Attachments resolves attached files; nil ignores them.
	Attachments Attachments
	// Policy, when set, is applied to every start request.
	Policy Policy
	// Deferred leaves generation to the first stream reader that claims the
	// job, for platforms that freeze a process once it has answered (Lambda).
	Deferred bool
	// MaxConcurrent limits running jobs per user (0: no limit).
	MaxConcurrent int
	// TitleWait bounds how long the final frame waits for a title still
	// being generated (default 3 s).
	TitleWait time.Duration
	// Heartbeat is how often a generating process records on its job that
	// it is alive, and how often readers check (default 5 s).
	Heartbeat time.Duration
	// StaleAfter is how long a running job may go without a beat before
	// it is ended as interrupted (default 30 s; at least three heartbeats).
	StaleAfter time.Duration
}

// Service runs chat generation. Build one per process with New.
type Service struct {
	store     Store
	jobs      Jobs
	providers Providers
	cfg       *config.Config
	clock     librechat.Clock
	ids       librechat.IDs
	log       *slog.Logger
	opts      Options

	mu      sync.Mutex
	runs    map[string]*run // jobs generating in this process
	readers map[string]int  // this process's stream readers per job
}

// New builds a Service.
func New(store Store, jobs Jobs, providers Providers, cfg *config.Config, clock librechat.Clock, ids librechat.IDs, log *slog.Logger, opts Options) *Service {
	if log == nil {
		log = slog.Default()
	}
	if opts.TitleWait <= 0 {
		opts.TitleWait = 3 * time.Second
	}
	if opts.Heartbeat <= 0 {
		opts.Heartbeat = 5 * time.Second
	}
	if opts.StaleAfter <= 0 {
		opts.StaleAfter = 30 * time.Second
	}
	opts.StaleAfter = max(opts.StaleAfter, 3*opts.Heartbeat)
	return &Service{
		store: store, jobs: jobs, providers: providers, cfg: cfg, clock: clock, ids: ids,
		log: log, opts: opts, runs: map[string]*run{},
	}
}

// Jobs returns the job store.
func (s *Service) Jobs() Jobs { return s.jobs }

// request is an accepted start request, as kept on the job.
type request struct {
	UserID          string          `json:"userId"`
	Endpoint        string          `json:"endpoint"`
	ConversationID  string          `json:"conversationId"`
	NewConversation bool            `json:"newConversation"`
	Payload         json.RawMessage `json:"payload"`
	System          string          `json:"system,omitempty"` // from the policy; server-side only
}

// payload is the part of the client's start body the server reasons about.
type payload struct {
	Text                    string          `json:"text"`
	MessageID               string          `json:"messageId"`
	ParentMessageID         string          `json:"parentMessageId"`
	ConversationID          string          `json:"conversationId"`
	Endpoint                string          `json:"endpoint"`
	EndpointType            string          `json:"endpointType"`
	Model                   string          `json:"model"`
	ModelLabel              string          `json:"modelLabel"`
	ModelDisplayLabel       string          `json:"modelDisplayLabel"`
	PromptPrefix            string          `json:"promptPrefix"`
	IconURL                 string          `json:"iconURL"`
	IsRegenerate            bool            `json:"isRegenerate"`
	IsContinued             bool            `json:"isContinued"`
	IsTemporary             bool            `json:"isTemporary"`
	OverrideParentMessageID string          `json:"overrideParentMessageId"`
	ResponseMessageID       string          `json:"responseMessageId"`
	EditedContent           *editedContent  `json:"editedContent"`
	Quotes                  []string        `json:"quotes"`
	Files                   json.RawMessage `json:"files"`
	MaxContextTokens        *int            `json:"maxContextTokens"`
	Temperature             *float64        `json:"temperature"`
	TopP                    *float64        `json:"top_p"`
	TopPCamel               *float64        `json:"topP"`
	TopK                    *int            `json:"topK"`
	MaxTokens               *int            `json:"max_tokens"`
	MaxOutputTokens         *int            `json:"maxOutputTokens"`
	Stop                    []string        `json:"stop"`
	Thinking                *bool           `json:"thinking"`
	ThinkingBudget          *int            `json:"thinkingBudget"`
	ReasoningEffort         string          `json:"reasoning_effort"`
}

type editedContent struct {
	Index int    `json:"index"`
	Type  string `json:"type"`
	Text  string `json:"text"`
	Think string `json:"think"`
}

func invalid(msg string) *RequestError {
	return &RequestError{Status: 400, Body: map[string]any{"error": msg}}
}

// Start accepts a chat request for endpoint (from the URL; the body's
// endpoint when empty) and returns the conversation id, which is also the
// stream id. It does no model work: that runs in the background (or, when
// Deferred, in the first reader that claims the job).
func (s *Service) Start(ctx context.Context, userID, endpoint string, body []byte) (string, error) {
	var p payload
	if err := json.Unmarshal(body, &p); err != nil {
		return "", invalid("Invalid request body: " + jsonProblem(err))
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(body, &fields); err != nil {
		return "", invalid("Invalid request body: " + jsonProblem(err))
	}
	if endpoint == "" {
		endpoint = p.Endpoint
	}
	system := ""
	if s.opts.Policy != nil {
		applied, err := s.opts.Policy.Apply(ctx, userID, endpoint, fields)
		if err != nil {
			return "", err
		}
		endpoint, system = applied.Endpoint, applied.System
		if body, err = json.Marshal(applied.Payload); err != nil {
			return "", err
		}
		p = payload{}
		if err := json.Unmarshal(body, &p); err != nil {
			return "", invalid("Invalid request body: " + jsonProblem(err))
		}
	}
	if endpoint == "" {
		return "", invalid("endpoint is required")
	}
	if strings.TrimSpace(p.Text) == "" && !p.IsContinued {
		return "", invalid("text is required")
	}
	ep, ok := s.cfg.Endpoint(endpoint)
	if !ok {
		return "", &RequestError{Status: 400, Body: map[string]any{
			"type": "invalid_request_error", "info": fmt.Sprintf("Endpoint %q is not configured", endpoint),
		}}
	}
	if p.Model == "" {
		if ms := s.cfg.StaticModels(endpoint); len(ms) > 0 {
			p.Model = ms[0]
		}
	}
	if !s.modelAllowed(ep, p.Model) {
		return "", &RequestError{Status: 400, Body: map[string]any{
			"type": "illegal_model_request", "info": fmt.Sprintf("Model %q is not available on endpoint %q", p.Model, endpoint),
		}}
	}
	if p.ParentMessageID == "" {
		p.ParentMessageID = librechat.NoParent
	}

	convID := p.ConversationID
	isNew := false
	if convID == "" || convID == "new" || convID == "PENDING" {
		convID, isNew = s.ids.UUID(), true
	} else if _, err := s.store.Conversation(ctx, userID, convID); err != nil {
		if !librechat.IsNotFound(err) {
			return "", err
		}
		if info, jerr := s.jobs.Info(ctx, convID); jerr == nil && info.UserID == userID {
			// The user's own conversation whose first reply is starting:
			// not stored yet, and a second job for it is refused below.
			isNew = true
		} else if p.ParentMessageID != librechat.NoParent {
			return "", &RequestError{Status: 404, Body: map[string]any{"error": "Conversation not found"}}
		} else {
			// An id the user has no conversation under starts a new one
			// under a fresh id: the client adopts the returned id, and a job
			// or a conversation of another user under that id stays out of
			// reach.
			convID, isNew = s.ids.UUID(), true
		}
	}

	if err := s.checkBalance(ctx, userID); err != nil {
		return "", err
	}
	if s.opts.MaxConcurrent > 0 {
		active, err := s.live(ctx, userID)
		if err != nil {
			return "", err
		}
		if len(active) >= s.opts.MaxConcurrent {
			return "", &RequestError{Status: 429, Body: map[string]any{
				"type": "concurrent", "limit": s.opts.MaxConcurrent, "pendingRequests": len(active),
			}}
		}
	}

	req, _ := json.Marshal(request{UserID: userID, Endpoint: endpoint, ConversationID: convID, NewConversation: isNew, Payload: body, System: system})
	info := JobInfo{ID: convID, UserID: userID, Status: StatusRunning, CreatedAt: s.clock.Now(), Request: req}
	err := s.jobs.Create(ctx, info)
	if librechat.IsConflict(err) && s.settleConflict(ctx, convID) {
		err = s.jobs.Create(ctx, info)
	}
	if err != nil {
		if librechat.IsConflict(err) {
			return "", &RequestError{Status: 409, Body: map[string]any{
				"error": "A response is already being generated for this conversation.",
			}}
		}
		return "", err
	}
	if !s.opts.Deferred {
		s.Launch(convID)
	}
	return convID, nil
}

// settleConflict ends the running job in the way of a new one if it is
// stale, and reports whether it did.
func (s *Service) settleConflict(ctx context.Context, id string) bool {
	info, err := s.jobs.Info(ctx, id)
	if err == nil {
		info, err = s.settle(ctx, info)
	}
	return librechat.IsNotFound(err) || (err == nil && info.Status != StatusRunning)
}

func jsonProblem(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return "malformed JSON"
	case errors.As(err, &te):
		return fmt.Sprintf("field %q must be %s", te.Field, te.Type.String())
	}
	return "malformed JSON"
}

func (s *Service) modelAllowed(ep config.EndpointInfo, model string) bool {
	if model == "" {
		return false
	}
	if ep.Custom != nil && ep.Custom.Models.Fetch {
		return true
	}
	if ep.UserProvide {
		return true
	}
	list := s.cfg.StaticModels(ep.Name)
	if len(list) == 0 {
		return true
	}
	for _, m := range list {
		if m == model {
			return true
		}
	}
	return false
}

// Launch claims the job and runs its generation in the background, detached
// from any request.
func (s *Service) Launch(id string) {
	ok, err := s.jobs.Claim(context.Background(), id)
	if err != nil || !ok {
		return
	}
	go s.generate(id)
}

// RunClaimed claims the job and, when this caller wins, runs the generation
// until it ends. It returns whether it ran it.
func (s *Service) RunClaimed(ctx context.Context, id string) bool {
	ok, err := s.jobs.Claim(ctx, id)
	if err != nil || !ok {
		return false
	}
	s.generate(id)
	return true
}

// Wait blocks until a generation running in this process ends (for tests
// and graceful shutdown).
func (s *Service) Wait(id string) {
	s.mu.Lock()
	r := s.runs[id]
	s.mu.Unlock()
	if r != nil {
		<-r.done
	}
}
