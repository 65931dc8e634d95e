// Package messages is the messages area: /api/messages and below. It reads
// a conversation's message tree, inserts and edits single messages
// (text, content parts, feedback, artifacts), branches one agent's part of
// a parallel response into its own message, deletes messages, pages
// through a conversation and searches the caller's messages.
package messages

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/lcgo/lcgo/shared/app"
	"github.com/lcgo/lcgo/shared/auth"
	"github.com/lcgo/lcgo/shared/chat"
	"github.com/lcgo/lcgo/shared/cursor"
	"github.com/lcgo/lcgo/shared/files"
	"github.com/lcgo/lcgo/shared/httpx"
	"github.com/lcgo/lcgo/shared/librechat"
	"github.com/lcgo/lcgo/shared/wire"
)

// Area is the name of this area in the routing table.
const Area = "messages"

// Messages the client sees, in the Node server's words where it has them.
const (
	msgConversationNotFound = "Conversation not found"
	msgConversationMismatch = "Conversation ID mismatch"
	msgMessageNotFound      = "Message not found"
	msgMessageNotSaved      = "Message not saved"
	msgInvalidIndex         = "Invalid index"
	msgPartNotFound         = "Content part not found"
	msgNonTextContent       = "Cannot update non-text content"
	msgInvalidText          = "Invalid text"
	msgInvalidFeedback      = "Invalid feedback"
	msgInvalidCursor        = "Invalid cursor"
)

// ActiveJobs tells whether a generation job of the user is running for a
// conversation. While one is, the conversation's messages may be read
// before the conversation itself is stored.
type ActiveJobs interface {
	Running(ctx context.Context, userID, conversationID string) bool
}

// TokenCounter counts the tokens of text for model, for the tokenCount a
// text edit stores.
type TokenCounter func(text, model string) int

// Option tunes the area.
type Option func(*handler)

// WithActiveJobs lets reads of a conversation that is not stored yet
// through while jobs reports a running generation for it (nil: none).
func WithActiveJobs(jobs ActiveJobs) Option {
	return func(h *handler) { h.jobs = jobs }
}

// WithTokenCounter replaces the default token estimate (a quarter of the
// text's length in bytes, rounded up).
func WithTokenCounter(count TokenCounter) Option {
	return func(h *handler) {
		if count != nil {
			h.countTokens = count
		}
	}
}

// EstimateTokens is the default TokenCounter.
func EstimateTokens(text, _ string) int { return (len(text) + 3) / 4 }

type handler struct {
	app         *app.App
	store       librechat.Store
	clock       librechat.Clock
	ids         librechat.IDs
	jobs        ActiveJobs
	countTokens TokenCounter
	links       *files.URLSigner
	cursors     *cursor.Codec // signs the nextCursor of pages and searches
}

// New builds the messages area.
func New(a *app.App, opts ...Option) (http.Handler, error) {
	if a == nil || a.Config == nil || a.Store == nil || a.Clock == nil || a.IDs == nil {
		return nil, errors.New("messages: app, configuration, store, clock and ids are required")
	}
	_, authn, err := auth.FromApp(a)
	if err != nil {
		return nil, err
	}
	links, err := files.SignerFor(a.Config, a.Clock, 0)
	if err != nil {
		return nil, err
	}
	h := &handler{
		app: a, store: a.Store, clock: a.Clock, ids: a.IDs, countTokens: EstimateTokens, links: links,
		cursors: cursor.FromSecrets(a.Config.Auth.JWTSecret, a.Config.CredsKey),
	}
	for _, o := range opts {
		o(h)
	}

	m := http.NewServeMux()
	m.HandleFunc("GET /api/messages", h.query)
	m.HandleFunc("GET /api/messages/{$}", h.query)
	m.HandleFunc("POST /api/messages/branch", h.branch)
	m.HandleFunc("POST /api/messages/artifact/{messageId}", h.artifact)
	m.HandleFunc("GET /api/messages/{conversationId}", h.conversationMessages)
	m.HandleFunc("POST /api/messages/{conversationId}", h.create)
	m.HandleFunc("GET /api/messages/{conversationId}/{messageId}", h.message)
	m.HandleFunc("PUT /api/messages/{conversationId}/{messageId}", h.update)
	m.HandleFunc("PUT /api/messages/{conversationId}/{messageId}/feedback", h.feedback)
	m.HandleFunc("DELETE /api/messages/{conversationId}/{messageId}", h.remove)
	m.HandleFunc("/", httpx.NotFound)
	protected := authn.Require(m)

	return httpx.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Express routes ignore one trailing slash.
		if p := r.URL.Path; len(p) > len("/api/messages/") && strings.HasSuffix(p, "/") {
			r2 := r.Clone(r.Context())
			r2.URL.Path = strings.TrimSuffix(p, "/")
			r2.URL.RawPath = strings.TrimSuffix(r2.URL.RawPath, "/")
			r = r2
		}
		protected.ServeHTTP(w, r)
	})), nil
}

// user returns the signed-in user (Require guarantees one).
func user(r *http.Request) *librechat.User {
	u, _ := auth.UserFrom(r.Context())
	return u
}

// fail writes the messages routes' error shape: {"error": msg}.
func fail(w http.ResponseWriter, status int, msg string) {
	httpx.JSON(w, status, map[string]string{"error": msg})
}

// decode reads a JSON object body, answering the 4xx itself when it cannot.
func decode(w http.ResponseWriter, r *http.Request) (wire.Object, bool) {
	var o wire.Object
	if err := httpx.DecodeJSON(r, &o); err != nil {
		httpx.Error(w, r, err)
		return nil, false
	}
	if o == nil {
		o = wire.Object{}
	}
	return o, true
}

// conversation checks a conversation route as Node's validateMessageReq
// does: a conversation id in the body must match the path, "new" is
// answered 200 [] and a conversation the user does not own 404. allowJob
// lets a read through while a generation for the conversation runs. It
// returns nil with ok when the conversation is not stored but a job is
// running.
func (h *handler) conversation(w http.ResponseWriter, r *http.Request, id string, body wire.Object, allowJob bool) (*librechat.Conversation, bool) {
	if body != nil {
		bodyID, hasBody := body["conversationId"]
		var nestedID json.RawMessage
		hasNested := false
		if nested, ok := objectOf(body["message"]); ok {
			nestedID, hasNested = nested["conversationId"]
		}
		hasBody = hasBody && truthy(bodyID)
		hasNested = hasNested && truthy(nestedID)
		if (hasBody && !isString(bodyID, id)) || (hasNested && !isString(nestedID, id)) {
			fail(w, http.StatusBadRequest, msgConversationMismatch)
			return nil, false
		}
	}
	if id == "new" {
		httpx.JSON(w, http.StatusOK, []any{})
		return nil, false
	}
	c, err := h.store.Conversation(r.Context(), user(r).ID, id)
	if err == nil {
		return c, true
	}
	if !librechat.IsNotFound(err) {
		httpx.Error(w, r, err)
		return nil, false
	}
	if allowJob && h.jobRunning(r.Context(), user(r).ID, id) {
		return nil, true
	}
	fail(w, http.StatusNotFound, msgConversationNotFound)
	return nil, false
}

func (h *handler) jobRunning(ctx context.Context, userID, conversationID string) bool {
	return h.jobs != nil && h.jobs.Running(ctx, userID, conversationID)
}

// docs encodes messages as the client reads them.
func (h *handler) docs(msgs []*librechat.Message) []*wire.Doc {
	out := make([]*wire.Doc, 0, len(msgs))
	for _, m := range msgs {
		out = append(out, h.doc(m))
	}
	return out
}

// jsLength is the length of s as JavaScript counts it (UTF-16 code units).
func jsLength(s string) int {
	n := 0
	for _, r := range s {
		if utf8.RuneLen(r) == 4 {
			n += 2
		} else {
			n++
		}
	}
	return n
}

// AppJobs reads running generations from the App's job store (a.Jobs), at
// request time: in one process the chat area may set it after this area
// was built; across processes it is the shared Redis store.
func AppJobs(a *app.App) ActiveJobs { return appJobs{a} }

type appJobs struct{ a *app.App }

func (j appJobs) Running(ctx context.Context, userID, conversationID string) bool {
	if j.a.Jobs == nil {
		return false
	}
	info, err := j.a.Jobs.Info(ctx, conversationID)
	return err == nil && info.UserID == userID && info.Status == chat.StatusRunning
}

// doc is a stored message as the client reads it, with the signed links of
// its attached files renewed (they expire; the stored ones may have).
func (h *handler) doc(m *librechat.Message) *wire.Doc {
	if raw, ok := m.Fields["files"]; ok {
		c := *m
		c.Fields = make(map[string]json.RawMessage, len(m.Fields))
		for k, v := range m.Fields {
			c.Fields[k] = v
		}
		c.Fields["files"] = h.links.RenewFiles(m.UserID, raw)
		m = &c
	}
	return wire.Message(m)
}
