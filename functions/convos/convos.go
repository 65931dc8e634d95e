// Package convos is the conversations area: the sidebar list, one
// conversation, title polling, rename, archive, pin, delete, fork, duplicate,
// import, and the bookmarks (conversation tags) under /api/tags.
package convos

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/lcgo/lcgo/shared/app"
	"github.com/lcgo/lcgo/shared/auth"
	"github.com/lcgo/lcgo/shared/cursor"
	"github.com/lcgo/lcgo/shared/httpx"
	"github.com/lcgo/lcgo/shared/librechat"
	"github.com/lcgo/lcgo/shared/wire"
)

// Area is the name of this area in the routing table.
const Area = "convos"

// Options tune the area. The zero value is what production uses.
type Options struct {
	// Sleep waits d between title checks, returning early with the
	// context's error when it ends. Nil: a real timer.
	Sleep func(ctx context.Context, d time.Duration) error
	// ImportMaxBytes caps an imported file. Zero: httpx.MaxBody, the body
	// limit every area shares.
	ImportMaxBytes int64
}

// store is what the area reads and writes.
type store interface {
	librechat.ChatStore
	librechat.Searcher
	librechat.ShareStore
}

type handler struct {
	app       *app.App
	store     store
	sleep     func(ctx context.Context, d time.Duration) error
	importMax int64
	cursors   *cursor.Codec // signs the list's nextCursor
}

// New builds the conversations area.
func New(a *app.App) (http.Handler, error) { return NewWithOptions(a, Options{}) }

// NewWithOptions builds the area with non-default options.
func NewWithOptions(a *app.App, opts Options) (http.Handler, error) {
	if a == nil || a.Config == nil || a.Store == nil || a.IDs == nil {
		return nil, errors.New("convos: app, configuration, store and id generator are required")
	}
	_, authn, err := auth.FromApp(a)
	if err != nil {
		return nil, err
	}
	h := &handler{
		app: a, store: a.Store, sleep: opts.Sleep, importMax: opts.ImportMaxBytes,
		cursors: cursor.FromSecrets(a.Config.Auth.JWTSecret, a.Config.CredsKey),
	}
	if h.sleep == nil {
		h.sleep = sleepCtx
	}
	if h.importMax <= 0 {
		h.importMax = httpx.MaxBody
	}
	m := http.NewServeMux()
	h.routes(m)
	m.HandleFunc("/", httpx.NotFound)
	return httpx.Wrap(authn.Require(m)), nil
}

func (h *handler) routes(m *http.ServeMux) {
	m.HandleFunc("GET /api/convos", h.list)
	m.HandleFunc("GET /api/convos/{conversationId}", h.get)
	m.HandleFunc("GET /api/convos/gen_title/{conversationId}", h.genTitle)
	m.HandleFunc("POST /api/convos/update", h.update)
	m.HandleFunc("POST /api/convos/archive", h.archive)
	m.HandleFunc("POST /api/convos/pin", h.pin)
	m.HandleFunc("DELETE /api/convos", h.deleteOne)
	m.HandleFunc("DELETE /api/convos/all", h.deleteAll)
	m.HandleFunc("POST /api/convos/duplicate", h.duplicate)
	m.HandleFunc("POST /api/convos/fork", h.fork)
	m.HandleFunc("POST /api/convos/import", h.importFile)

	m.HandleFunc("GET /api/tags", h.bookmarks(h.listTags))
	m.HandleFunc("POST /api/tags", h.bookmarks(h.createTag))
	m.HandleFunc("POST /api/tags/rebuild", h.bookmarks(h.rebuildTags))
	m.HandleFunc("PUT /api/tags/convo/{conversationId}", h.bookmarks(h.tagConversation))
	m.HandleFunc("PUT /api/tags/{tag}", h.bookmarks(h.updateTag))
	m.HandleFunc("DELETE /api/tags/{tag}", h.bookmarks(h.deleteTag))
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// user returns the signed-in user (Require guarantees one).
func user(r *http.Request) *librechat.User {
	u, _ := auth.UserFrom(r.Context())
	return u
}

func (h *handler) now() time.Time {
	if h.app.Clock != nil {
		return h.app.Clock.Now().UTC()
	}
	return time.Now().UTC()
}

// errorJSON answers {"error": msg}, the shape of the Node conversation and
// tag routes.
func errorJSON(w http.ResponseWriter, status int, msg string) {
	httpx.JSON(w, status, map[string]string{"error": msg})
}

// messageJSON answers {"message": msg}.
func messageJSON(w http.ResponseWriter, status int, msg string) {
	httpx.JSON(w, status, map[string]string{"message": msg})
}

// fail answers a kinded error in the {"error": ...} shape; internal errors
// go through httpx.Error (logged, generic message, request id).
func fail(w http.ResponseWriter, r *http.Request, err error) {
	kind := librechat.KindOf(err)
	status := httpx.StatusOf(kind)
	if status >= 500 {
		httpx.Error(w, r, err)
		return
	}
	msg := librechat.MessageOf(err)
	if msg == "" {
		msg = http.StatusText(status)
	}
	errorJSON(w, status, msg)
}

var errConvoNotFound = librechat.E(librechat.KindNotFound, "Conversation not found")

// conversation loads one of the user's conversations; another user's is
// reported as not found.
func (h *handler) conversation(ctx context.Context, userID, id string) (*librechat.Conversation, error) {
	if id == "" {
		return nil, errConvoNotFound
	}
	c, err := h.store.Conversation(ctx, userID, id)
	if librechat.IsNotFound(err) {
		return nil, errConvoNotFound
	}
	return c, err
}

// document renders the full stored conversation with its messages' _ids.
func (h *handler) document(ctx context.Context, c *librechat.Conversation) (*wire.Doc, error) {
	msgs, err := h.store.Messages(ctx, c.UserID, c.ID)
	if err != nil {
		return nil, err
	}
	return wire.Conversation(c, objectIDs(msgs)), nil
}

func objectIDs(msgs []*librechat.Message) []string {
	ids := make([]string, 0, len(msgs))
	for _, m := range msgs {
		if m.ObjectID != "" {
			ids = append(ids, m.ObjectID)
		}
	}
	return ids
}

// decodeObject reads a JSON object body; an empty or null body is {}.
func decodeObject(r *http.Request) (wire.Object, error) {
	var raw json.RawMessage
	if err := httpx.DecodeJSON(r, &raw); err != nil {
		return nil, err
	}
	return asObject(raw, "Request body")
}

// asObject decodes raw as an object; null or absent is an empty object.
func asObject(raw json.RawMessage, what string) (wire.Object, error) {
	o := wire.Object{}
	if isNull(raw) {
		return o, nil
	}
	if firstByte(raw) != '{' {
		return nil, librechat.E(librechat.KindInvalid, "%s must be a JSON object", what)
	}
	if err := json.Unmarshal(raw, &o); err != nil {
		return nil, librechat.E(librechat.KindInvalid, "%s must be a JSON object", what)
	}
	return o, nil
}

// arg returns the "arg" object of a body ({} when absent or null).
func arg(o wire.Object) (wire.Object, error) {
	return asObject(o["arg"], "arg")
}

func isNull(raw json.RawMessage) bool {
	b := firstByte(raw)
	return b == 0 || b == 'n'
}

func firstByte(raw json.RawMessage) byte {
	for _, c := range raw {
		switch c {
		case ' ', '\t', '\n', '\r':
			continue
		}
		return c
	}
	return 0
}

// stringField reports key's string value; present is false when the key is
// absent or null, ok is false when it is present but not a string.
func stringField(o wire.Object, key string) (s string, present, ok bool) {
	raw, has := o[key]
	if !has || isNull(raw) {
		return "", false, true
	}
	if firstByte(raw) != '"' {
		return "", true, false
	}
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", true, false
	}
	return s, true, true
}

// boolField reports key's boolean value; ok is false unless it is a boolean.
func boolField(o wire.Object, key string) (v, ok bool) {
	raw, has := o[key]
	if !has {
		return false, false
	}
	switch string(trim(raw)) {
	case "true":
		return true, true
	case "false":
		return false, true
	}
	return false, false
}

// truthy mirrors JavaScript truthiness for a JSON value.
func truthy(raw json.RawMessage) bool {
	switch s := string(trim(raw)); s {
	case "", "null", "false", `""`, "0", "-0":
		return false
	default:
		var f float64
		if s[0] != '"' && s[0] != '[' && s[0] != '{' && json.Unmarshal([]byte(s), &f) == nil {
			return f != 0
		}
		return true
	}
}

func trim(raw json.RawMessage) json.RawMessage {
	i, j := 0, len(raw)
	for i < j && isSpace(raw[i]) {
		i++
	}
	for j > i && isSpace(raw[j-1]) {
		j--
	}
	return raw[i:j]
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// conversationID returns the required conversationId of o.
func conversationID(o wire.Object) (string, bool) {
	id, _, ok := stringField(o, "conversationId")
	return id, ok && id != ""
}

// undo collects compensating steps for a multi-step change the store cannot
// make atomically; run undoes, latest first.
type undo []func(context.Context) error

func (u *undo) add(f func(context.Context) error) { *u = append(*u, f) }

func (u undo) run(ctx context.Context, h *handler) {
	ctx = context.WithoutCancel(ctx)
	for i := len(u) - 1; i >= 0; i-- {
		if err := u[i](ctx); err != nil && h.app.Log != nil {
			h.app.Log.ErrorContext(ctx, "convos: undo failed", "err", err)
		}
	}
}
