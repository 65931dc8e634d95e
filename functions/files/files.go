// Package files is the files area: uploads (message attachments and the
// profile picture), the user's file list, downloads, deletion, the file
// configuration, and the signed URLs the browser loads images from.
//
// File URLs. A file record's filepath is shown by the client as
// <img src=filepath>, a request without the Authorization header. So the
// bytes are served at /api/files/images/<userId>/<fileId> (raster images)
// and /api/files/uploads/<userId>/<fileId> (other files, always as an
// attachment) with ?exp=<unix seconds>&sig=<HMAC-SHA256 of user id, file
// id and expiry>, under a key derived from CREDS_KEY (the JWT secret when
// CREDS_KEY is unset). A valid signature is enough; without one, a Bearer
// token of the owner is. Every answer carries a freshly signed filepath
// (uploads, the list); URLs stored in messages must be renewed where
// messages are served (files.URLSigner.RenewFiles), as LibreChat renews S3
// links. Avatars are signed without expiry: they live on the user record.
//
// Downloads. GET /api/files/download/:userId/:file_id streams the bytes
// (the client reads the answer as a blob with axios). With ?direct=true and
// a blob store that makes URLs (S3), it answers 302 to a presigned URL, as
// LibreChat does; it never redirects otherwise, because a cross-origin
// redirect of the client's XHR needs CORS on the bucket.
package files

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/lcgo/lcgo/shared/app"
	"github.com/lcgo/lcgo/shared/auth"
	"github.com/lcgo/lcgo/shared/blob"
	"github.com/lcgo/lcgo/shared/blob/open"
	sfiles "github.com/lcgo/lcgo/shared/files"
	"github.com/lcgo/lcgo/shared/httpx"
	"github.com/lcgo/lcgo/shared/librechat"
)

// Area is the name of this area in the routing table.
const Area = "files"

// LibreChat's upload rate limit per user (FILE_UPLOAD_USER_MAX and
// FILE_UPLOAD_USER_WINDOW defaults).
const (
	DefaultUploadUserMax    = 50
	DefaultUploadUserWindow = 15 * time.Minute
)

// formOverhead is what a multipart body may hold besides the file: the
// text fields, part headers and boundaries.
const formOverhead = 1 << 20

// downloadURLTTL is the lifetime of the URL GET /download-url answers.
const downloadURLTTL = 15 * time.Minute

// Options tune the area. The zero value is what production uses.
type Options struct {
	// Blobs keeps the bytes. Nil: the store the configuration names
	// (shared/blob/open: DATA_DIR/uploads, or S3 with fileStrategy s3).
	Blobs blob.Store
	// URLTTL is the lifetime of signed file URLs (0: 24 hours).
	URLTTL time.Duration
	// MemLimit and TempDir tune how uploads are held while checked.
	MemLimit int64
	TempDir  string
	// UploadUserMax uploads per user in UploadUserWindow (0: LibreChat's
	// 50 in 15 minutes; negative: no limit). Needs the App's Limiter.
	UploadUserMax    int
	UploadUserWindow time.Duration
}

type handler struct {
	app       *app.App
	svc       *sfiles.Service
	authn     *auth.Authenticator
	uploadMax int
	uploadWin time.Duration
	mem       int64
	tmp       string
}

// New builds the files area with the configured blob store.
func New(a *app.App) (http.Handler, error) { return NewWithOptions(a, Options{}) }

// NewWithBlobs builds the area over a given blob store.
func NewWithBlobs(a *app.App, blobs blob.Store) (http.Handler, error) {
	return NewWithOptions(a, Options{Blobs: blobs})
}

// NewService builds the upload pipeline of an App: the chat area uses it
// as its Attachments.
func NewService(a *app.App, opts Options) (*sfiles.Service, error) {
	if a == nil || a.Config == nil || a.Store == nil || a.IDs == nil {
		return nil, errors.New("files: app, configuration, store and id generator are required")
	}
	signer, err := URLSigner(a, opts.URLTTL)
	if err != nil {
		return nil, err
	}
	blobs := opts.Blobs
	if blobs == nil {
		// Large objects take longer than the App client's whole-request
		// timeout: keep its transport, not the timeout.
		hc := &http.Client{}
		if a.HTTP != nil {
			hc.Transport = a.HTTP.Transport
		}
		if blobs, err = open.Open(context.Background(), a.Config, hc); err != nil {
			return nil, fmt.Errorf("files: %w", err)
		}
	}
	clock := a.Clock
	if clock == nil {
		clock = app.SystemClock{}
	}
	source := a.Config.File.FileStrategy
	if source == "" {
		source = "local"
	}
	return sfiles.New(sfiles.Config{
		Blobs: blobs, Files: a.Store, FileConfig: a.Config.File.FileConfig, Source: source,
		Clock: clock, IDs: a.IDs, Signer: signer,
		MemLimit: opts.MemLimit, TempDir: opts.TempDir, Log: a.Log,
	})
}

// URLSigner is the signer of an App's file URLs (ttl 0: 24 hours): the
// areas that serve stored messages renew the filepaths in them with it
// (URLSigner.RenewFiles).
func URLSigner(a *app.App, ttl time.Duration) (*sfiles.URLSigner, error) {
	if a == nil {
		return nil, errors.New("files: app is required")
	}
	clock := a.Clock
	if clock == nil {
		clock = app.SystemClock{}
	}
	return sfiles.SignerFor(a.Config, clock, ttl)
}

// NewWithOptions builds the area with non-default options.
func NewWithOptions(a *app.App, opts Options) (http.Handler, error) {
	svc, err := NewService(a, opts)
	if err != nil {
		return nil, err
	}
	_, authn, err := auth.FromApp(a)
	if err != nil {
		return nil, err
	}
	h := &handler{
		app: a, svc: svc, authn: authn, uploadMax: opts.UploadUserMax, uploadWin: opts.UploadUserWindow,
		mem: opts.MemLimit, tmp: opts.TempDir,
	}
	if h.uploadMax == 0 {
		h.uploadMax = DefaultUploadUserMax
	}
	if h.uploadWin <= 0 {
		h.uploadWin = DefaultUploadUserWindow
	}

	public := http.NewServeMux()
	public.HandleFunc("GET "+sfiles.ImagesPath+"{userId}/{fileId}", h.serveSigned)
	public.HandleFunc("GET "+sfiles.UploadsPath+"{userId}/{fileId}", h.serveSigned)
	optional := authn.Optional(public)

	private := http.NewServeMux()
	h.routes(private)
	private.HandleFunc("/", httpx.NotFound)
	protected := authn.Require(private)

	wrapped := httpx.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, pattern := public.Handler(r); pattern != "" {
			optional.ServeHTTP(w, r)
			return
		}
		protected.ServeHTTP(w, r)
	}))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if isUpload(r) {
			// httpx.Wrap caps every body at httpx.MaxBody (3 MB). An
			// upload has its own, larger cap, which its handler applies
			// to the body kept here.
			r = r.WithContext(context.WithValue(r.Context(), rawBodyKey{}, rawBody{r.Body, r.ContentLength}))
			r.ContentLength = -1
		}
		wrapped.ServeHTTP(w, r)
	}), nil
}

func (h *handler) routes(m *http.ServeMux) {
	m.HandleFunc("GET /api/files", h.list)
	m.HandleFunc("POST /api/files", h.upload(false))
	m.HandleFunc("POST /api/files/images", h.upload(true))
	m.HandleFunc("POST /api/files/images/avatar", h.avatar)
	m.HandleFunc("DELETE /api/files", h.deleteFiles)
	m.HandleFunc("GET /api/files/config", h.fileConfig)
	m.HandleFunc("GET /api/files/speech/config/get", jsonConst(map[string]any{}))
	m.HandleFunc("GET /api/files/download/{userId}/{fileId}", h.download)
	m.HandleFunc("GET /api/files/download-url/{userId}/{fileId}", h.downloadURL)
	// One pattern for /:file_id/preview and /agent/:agent_id, which would
	// otherwise both match /agent/preview.
	m.HandleFunc("GET /api/files/{first}/{second}", h.twoSegments)
}

func isUpload(r *http.Request) bool {
	if r.Method != http.MethodPost {
		return false
	}
	switch strings.TrimSuffix(r.URL.Path, "/") {
	case "/api/files", "/api/files/images", "/api/files/images/avatar":
		return true
	}
	return false
}

type rawBodyKey struct{}

type rawBody struct {
	body   io.ReadCloser
	length int64
}

func (h *handler) memLimit() int64 { return h.mem }
func (h *handler) tempDir() string { return h.tmp }

func (h *handler) now() time.Time {
	if h.app.Clock != nil {
		return h.app.Clock.Now().UTC()
	}
	return time.Now().UTC()
}

func (h *handler) logError(ctx context.Context, msg string, err error) {
	if h.app.Log != nil {
		h.app.Log.ErrorContext(ctx, msg, "err", err)
	}
}

// user returns the signed-in user (Require guarantees one).
func user(r *http.Request) *librechat.User {
	u, _ := auth.UserFrom(r.Context())
	return u
}

func jsonConst(v any) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) { httpx.JSON(w, http.StatusOK, v) }
}

// message answers {"message": msg}, the error shape of LibreChat's files
// routes (the client shows response.data.message).
func message(w http.ResponseWriter, status int, msg string) {
	httpx.JSON(w, status, map[string]string{"message": msg})
}

// fail answers a kinded error as {"message"}; internal errors go through
// httpx.Error (logged, generic message, request id).
func fail(w http.ResponseWriter, r *http.Request, err error) {
	status := httpx.StatusOf(librechat.KindOf(err))
	if status >= 500 {
		httpx.Error(w, r, err)
		return
	}
	msg := librechat.MessageOf(err)
	if msg == "" {
		msg = http.StatusText(status)
	}
	message(w, status, msg)
}

// notFound is the answer for a file the caller does not own or that does
// not exist (LibreChat's fileAccess shape; existence is not revealed).
func notFound(w http.ResponseWriter) {
	httpx.JSON(w, http.StatusNotFound, map[string]string{"error": "Not Found", "message": "File not found"})
}

func (h *handler) fileConfig(w http.ResponseWriter, _ *http.Request) {
	if fc := h.app.Config.File.FileConfig; fc.IsSet() {
		httpx.JSON(w, http.StatusOK, fc)
		return
	}
	httpx.JSON(w, http.StatusOK, map[string]any{})
}

func (h *handler) list(w http.ResponseWriter, r *http.Request) {
	files, err := h.svc.Files(r.Context(), user(r).ID)
	if err != nil {
		httpx.Error(w, r, err)
		return
	}
	out := make([]tfile, 0, len(files))
	for _, f := range files {
		if f.Context == sfiles.ContextAvatar {
			continue
		}
		out = append(out, h.render(f, ""))
	}
	httpx.JSON(w, http.StatusOK, out)
}

// twoSegments serves GET /api/files/:file_id/preview and
// GET /api/files/agent/:agent_id (agents do not exist here: []).
func (h *handler) twoSegments(w http.ResponseWriter, r *http.Request) {
	first, second := r.PathValue("first"), r.PathValue("second")
	switch {
	case first == "agent":
		httpx.JSON(w, http.StatusOK, []any{})
	case second == "preview":
		h.preview(w, r, first)
	default:
		httpx.NotFound(w, r)
	}
}

// preview answers the lifecycle of a file's preview: uploads are ready
// at once; a document's extracted text comes with it.
func (h *handler) preview(w http.ResponseWriter, r *http.Request, fileID string) {
	f, err := h.svc.File(r.Context(), user(r).ID, fileID)
	if librechat.IsNotFound(err) {
		notFound(w)
		return
	}
	if err != nil {
		httpx.Error(w, r, err)
		return
	}
	type previewBody struct {
		FileID     string  `json:"file_id"`
		Status     string  `json:"status"`
		Text       *string `json:"text,omitempty"`
		TextFormat *string `json:"textFormat,omitempty"`
	}
	body := previewBody{FileID: f.ID, Status: "ready"}
	if f.Text != "" {
		body.Text = &f.Text
	}
	httpx.JSON(w, http.StatusOK, body)
}

// deleteFiles removes the caller's files listed in the body. Entries
// without file_id or filepath, or whose id is neither a UUID nor an
// OpenAI-style "file-"/"assistant-" id, are ignored as Node does. Ids the
// caller does not own are not deleted and not reported.
func (h *handler) deleteFiles(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Files json.RawMessage `json:"files"`
	}
	if err := httpx.DecodeJSON(r, &body); err != nil {
		if librechat.KindOf(err) == librechat.KindTooLarge {
			fail(w, r, err)
			return
		}
		// Node answers a body it cannot use with 400 "Error in request".
		httpx.JSON(w, http.StatusBadRequest, map[string]string{"message": "Error in request", "error": librechat.MessageOf(err)})
		return
	}
	var entries []json.RawMessage
	if err := json.Unmarshal(body.Files, &entries); err != nil || entries == nil {
		httpx.JSON(w, http.StatusBadRequest, map[string]string{"message": "Error in request", "error": "files must be an array"})
		return
	}
	var ids []string
	for _, raw := range entries {
		var e struct {
			FileID   any `json:"file_id"`
			Filepath any `json:"filepath"`
		}
		if json.Unmarshal(raw, &e) != nil {
			continue
		}
		id, _ := e.FileID.(string)
		if id == "" || !truthy(e.Filepath) {
			continue
		}
		if !strings.HasPrefix(id, "file-") && !strings.HasPrefix(id, "assistant-") && !sfiles.IsUUID(id) {
			continue
		}
		ids = append(ids, id)
	}
	if len(ids) == 0 {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	if _, err := h.svc.Delete(r.Context(), user(r).ID, ids); err != nil {
		httpx.Error(w, r, err)
		return
	}
	message(w, http.StatusOK, "Files deleted successfully")
}

// truthy mirrors JavaScript truthiness for a decoded JSON value.
func truthy(v any) bool {
	switch t := v.(type) {
	case nil:
		return false
	case bool:
		return t
	case string:
		return t != ""
	case float64:
		return t != 0
	}
	return true
}
