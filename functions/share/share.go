// Package share is the shared links area under /api/share: an owner
// publishes a read-only snapshot of one conversation (its messages up to a
// target message), lists, refreshes and deletes their links, and anyone
// holding a link reads the snapshot, anonymized, without signing in.
package share

import (
	"context"
	"crypto/rand"
	"errors"
	"net/http"
	"time"

	"github.com/lcgo/lcgo/shared/app"
	"github.com/lcgo/lcgo/shared/auth"
	"github.com/lcgo/lcgo/shared/cursor"
	"github.com/lcgo/lcgo/shared/httpx"
	"github.com/lcgo/lcgo/shared/librechat"
	"github.com/lcgo/lcgo/shared/roles"
)

// Area is the name of this area in the routing table.
const Area = "share"

// Options tune the area. The zero value is what production uses.
type Options struct {
	// NewID makes share ids. Nil: 21 random URL-safe characters, the
	// shape of the nanoid LibreChat uses.
	NewID func() string
}

type handler struct {
	app     *app.App
	store   librechat.Store
	authn   *auth.Authenticator
	newID   func() string
	cursors *cursor.Codec // signs the list's nextCursor
}

// New builds the shared links area.
func New(a *app.App) (http.Handler, error) { return NewWithOptions(a, Options{}) }

// NewWithOptions builds the area with non-default options.
func NewWithOptions(a *app.App, opts Options) (http.Handler, error) {
	if a == nil || a.Config == nil || a.Store == nil || a.IDs == nil {
		return nil, errors.New("share: app, configuration, store and id generator are required")
	}
	_, authn, err := auth.FromApp(a)
	if err != nil {
		return nil, err
	}
	h := &handler{
		app: a, store: a.Store, authn: authn, newID: opts.NewID,
		cursors: cursor.FromSecrets(a.Config.Auth.JWTSecret, a.Config.CredsKey),
	}
	if h.newID == nil {
		h.newID = nanoid
	}
	m := http.NewServeMux()
	require := func(f http.HandlerFunc) http.Handler { return authn.Require(f) }
	m.Handle("GET /api/share", require(h.list))
	// /link/{conversationId} and /{shareId}/config have the same shape, so
	// one pattern takes both and tells them apart.
	m.HandleFunc("GET /api/share/{first}/{second}", h.pair)
	m.Handle("GET /api/share/{shareId}", authn.Optional(http.HandlerFunc(h.view)))
	m.Handle("POST /api/share/{conversationId}", require(h.create))
	m.Handle("PATCH /api/share/{shareId}", require(h.update))
	m.Handle("DELETE /api/share/{shareId}", require(h.remove))
	m.HandleFunc("/", httpx.NotFound)
	return httpx.Wrap(m), nil
}

// pair routes GET /api/share/link/{conversationId} (owner) and GET
// /api/share/{shareId}/config (public).
func (h *handler) pair(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.PathValue("first") == "link":
		h.authn.Require(http.HandlerFunc(h.link)).ServeHTTP(w, r)
	case r.PathValue("second") == "config":
		h.authn.Optional(http.HandlerFunc(h.config)).ServeHTTP(w, r)
	default:
		httpx.NotFound(w, r)
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

// fail answers a kinded error: client errors as {"error", "message"} with
// their own message, internal ones through httpx.Error.
func fail(w http.ResponseWriter, r *http.Request, err error) {
	status := httpx.StatusOf(librechat.KindOf(err))
	msg := librechat.MessageOf(err)
	if status >= 500 || msg == "" {
		httpx.Error(w, r, err)
		return
	}
	httpx.Fail(w, status, msg)
}

// Errors with LibreChat's messages.
var (
	errShareNotFound  = librechat.E(librechat.KindNotFound, "Share not found")
	errLinkNotFound   = librechat.E(librechat.KindNotFound, "Shared link not found")
	errConvoNotFound  = librechat.E(librechat.KindNotFound, "Conversation not found or access denied")
	errShareExists    = librechat.E(librechat.KindConflict, "Share already exists")
	errNoMessages     = librechat.E(librechat.KindInvalid, "No messages to share")
	errTargetNotFound = librechat.E(librechat.KindInvalid, "Target message not found")
	errForbidden      = librechat.E(librechat.KindForbidden, "Forbidden: Insufficient permissions")
	errAuthRequired   = librechat.E(librechat.KindUnauthorized, "Authentication required")
	errNoViewAccess   = librechat.E(librechat.KindForbidden, "You do not have permission to view this shared link")
)

// sharePerms returns the SHARED_LINKS permissions of the user's role.
func (h *handler) sharePerms(ctx context.Context, u *librechat.User) (map[string]bool, error) {
	if u.Role == "" {
		return nil, nil
	}
	role, err := h.store.RoleByName(ctx, u.Role)
	if librechat.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return role.Permissions[roles.SharedLinks], nil
}

// live loads the conversation of a link or of a request; a conversation
// that is gone or whose temporary lifetime ended is not found.
func (h *handler) live(ctx context.Context, userID, conversationID string, notFound error) (*librechat.Conversation, error) {
	c, err := h.store.Conversation(ctx, userID, conversationID)
	if librechat.IsNotFound(err) {
		return nil, notFound
	}
	if err != nil {
		return nil, err
	}
	if !c.ExpiredAt.IsZero() && !h.now().Before(c.ExpiredAt) {
		return nil, notFound
	}
	return c, nil
}

// nanoAlphabet is nanoid's URL-safe alphabet.
const nanoAlphabet = "useandom-26T198340PX75pxJACKVERYMINDBUSHWOLF_GQZbfghjklqvwyzrict"

// nanoid returns 21 random characters of nanoAlphabet (126 bits).
func nanoid() string {
	var b [21]byte
	_, _ = rand.Read(b[:])
	for i := range b {
		b[i] = nanoAlphabet[b[i]&63]
	}
	return string(b[:])
}
