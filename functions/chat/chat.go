// Package chat is the chat area: the two-step resumable generation flow of
// LibreChat's client. POST /api/agents/chat/:endpoint accepts a message and
// answers with the stream id before any model work; GET
// /api/agents/chat/stream/:id streams the reply's frames (resumable with
// ?resume=true); status, active and abort complete it.
package chat

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	filesfn "github.com/lcgo/lcgo/functions/files"
	"github.com/lcgo/lcgo/shared/app"
	"github.com/lcgo/lcgo/shared/auth"
	chatsvc "github.com/lcgo/lcgo/shared/chat"
	"github.com/lcgo/lcgo/shared/chat/memjobs"
	"github.com/lcgo/lcgo/shared/httpx"
	"github.com/lcgo/lcgo/shared/librechat"
	"github.com/lcgo/lcgo/shared/modelcfg"
	"github.com/lcgo/lcgo/shared/provider"
	"github.com/lcgo/lcgo/shared/provider/registry"
	"github.com/lcgo/lcgo/shared/userkeys"
)

// Options tunes the area.
type Options struct {
	// Deferred runs each generation inside the first stream request
	// instead of in the background (Lambda, where a process is frozen once
	// it has answered).
	Deferred bool
	// Offline replaces the built-in offline model (tests).
	Offline provider.Streamer
	// Providers replaces the provider registry (tests).
	Providers chatsvc.Providers
	// Policy applies model configurations to every start request.
	Policy chatsvc.Policy
	// Attachments turns attached files into model input.
	Attachments chatsvc.Attachments
	// KeepAlive is the interval of SSE comment frames while a stream is
	// idle (0: 15 s; negative: none).
	KeepAlive time.Duration
}

type handler struct {
	svc       *chatsvc.Service
	keepAlive time.Duration
}

// New builds the chat area with default options.
func New(a *app.App) (http.Handler, error) { return NewWithOptions(a, Options{}) }

// Service builds the chat service of an App: its jobs (a.Jobs, or memory),
// the provider registry, the concurrency limit from the configuration and
// the model configuration policy (opts.Policy, or the one of
// librechat.yaml's modelSpecs, the models file and the stored
// configurations).
func Service(a *app.App, opts Options) (*chatsvc.Service, error) {
	if a == nil || a.Config == nil || a.Store == nil {
		return nil, errors.New("chat: app, configuration and store are required")
	}
	jobs := a.Jobs
	if jobs == nil {
		jobs = memjobs.New(a.Clock)
		a.Jobs = jobs
	}
	providers := opts.Providers
	if providers == nil {
		keys, err := userkeys.New(a.Store, a.Config.CredsKey)
		if err != nil {
			return nil, fmt.Errorf("chat: %w", err)
		}
		// Replies stream for minutes: the provider client keeps the App's
		// transport but not its whole-request timeout.
		hc := &http.Client{}
		if a.HTTP != nil {
			hc.Transport = a.HTTP.Transport
		}
		providers = registry.New(a.Config, keys, hc, a.Clock, opts.Offline)
	}
	// The model configurations (librechat.yaml modelSpecs, the models file,
	// the stored ones) are re-applied to every request.
	policy := opts.Policy
	if policy == nil {
		specs, err := modelcfg.New(a.Config, modelcfg.Options{Groups: a.Store, Configs: a.Store, Log: a.Log})
		if err != nil {
			return nil, fmt.Errorf("chat: %w", err)
		}
		policy = specs.Policy()
	}
	// Attached files reach the model: images as image parts, documents as
	// their text.
	attachments := opts.Attachments
	if attachments == nil {
		files, err := filesfn.NewService(a, filesfn.Options{})
		if err != nil {
			return nil, fmt.Errorf("chat: %w", err)
		}
		attachments = files
	}
	max := 0
	if a.Config.ConcurrentMessages {
		max = a.Config.ConcurrentMessageMax
	}
	return chatsvc.New(a.Store, jobs, providers, a.Config, a.Clock, a.IDs, a.Log, chatsvc.Options{
		Deferred: opts.Deferred, MaxConcurrent: max, Policy: policy,
		Attachments: attachments, Heartbeat: a.Config.StreamHeartbeat, StaleAfter: a.Config.StreamStaleAfter,
	}), nil
}

// NewWithOptions builds the chat area.
func NewWithOptions(a *app.App, opts Options) (http.Handler, error) {
	svc, err := Service(a, opts)
	if err != nil {
		return nil, err
	}
	return Handler(a, svc, opts)
}

// Handler serves the chat routes with an existing service.
func Handler(a *app.App, svc *chatsvc.Service, opts Options) (http.Handler, error) {
	_, authn, err := auth.FromApp(a)
	if err != nil {
		return nil, err
	}
	h := &handler{svc: svc, keepAlive: opts.KeepAlive}
	if h.keepAlive == 0 {
		h.keepAlive = 15 * time.Second
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/agents/chat", h.start)
	mux.HandleFunc("POST /api/agents/chat/{endpoint}", h.start)
	mux.HandleFunc("POST /api/agents/chat/abort", h.abort)
	mux.HandleFunc("GET /api/agents/chat/stream/{id}", h.stream)
	mux.HandleFunc("GET /api/agents/chat/status/{id}", h.status)
	mux.HandleFunc("GET /api/agents/chat/active", h.active)
	mux.HandleFunc("/", httpx.NotFound)
	return httpx.Wrap(authn.Require(mux)), nil
}

func writeRequestError(w http.ResponseWriter, r *http.Request, err error) {
	var re *chatsvc.RequestError
	if errors.As(err, &re) {
		httpx.JSON(w, re.Status, re.Body)
		return
	}
	httpx.Error(w, r, err)
}

func (h *handler) start(w http.ResponseWriter, r *http.Request) {
	u, _ := auth.UserFrom(r.Context())
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			httpx.JSON(w, http.StatusRequestEntityTooLarge, map[string]string{"error": "Request body too large"})
			return
		}
		httpx.JSON(w, http.StatusBadRequest, map[string]string{"error": "Could not read the request body"})
		return
	}
	id, err := h.svc.Start(r.Context(), u.ID, r.PathValue("endpoint"), body)
	if err != nil {
		writeRequestError(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusOK, struct {
		StreamID       string `json:"streamId"`
		ConversationID string `json:"conversationId"`
		Status         string `json:"status"`
	}{id, id, "started"})
}

func (h *handler) stream(w http.ResponseWriter, r *http.Request) {
	u, _ := auth.UserFrom(r.Context())
	resume := r.URL.Query().Get("resume") == "true"
	flusher, _ := w.(http.Flusher)
	started := false
	begin := func() {
		if started {
			return
		}
		started = true
		hd := w.Header()
		hd.Set("Content-Type", "text/event-stream")
		hd.Set("Cache-Control", "no-cache, no-transform")
		hd.Set("Connection", "keep-alive")
		hd.Set("X-Accel-Buffering", "no")
		hd.Set("Content-Encoding", "identity")
		w.WriteHeader(http.StatusOK)
	}
	writes := make(chan []byte)
	done := make(chan error, 1)
	ctx := r.Context()
	go func() {
		done <- h.svc.Stream(ctx, u.ID, r.PathValue("id"), resume, func(f chatsvc.Frame) error {
			b := make([]byte, 0, len(f.Data)+32)
			b = append(b, "event: "...)
			b = append(b, f.Event...)
			b = append(b, "\ndata: "...)
			b = append(b, f.Data...)
			b = append(b, "\n\n"...)
			select {
			case writes <- b:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
	}()
	var tick <-chan time.Time
	if h.keepAlive > 0 {
		t := time.NewTicker(h.keepAlive)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case b := <-writes:
			begin()
			if _, err := w.Write(b); err != nil {
				<-done
				return
			}
			if flusher != nil {
				flusher.Flush()
			}
		case <-tick:
			if started {
				_, _ = io.WriteString(w, ":\n\n")
				if flusher != nil {
					flusher.Flush()
				}
			}
		case err := <-done:
			if err != nil && !started {
				if librechat.IsNotFound(err) {
					httpx.JSON(w, http.StatusNotFound, map[string]string{
						"error": "Stream not found", "message": "The generation job does not exist or has expired.",
					})
					return
				}
				httpx.Error(w, r, err)
			}
			return
		}
	}
}

func (h *handler) status(w http.ResponseWriter, r *http.Request) {
	u, _ := auth.UserFrom(r.Context())
	st, err := h.svc.Status(r.Context(), u.ID, r.PathValue("id"))
	if err != nil {
		httpx.Error(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusOK, st)
}

func (h *handler) active(w http.ResponseWriter, r *http.Request) {
	u, _ := auth.UserFrom(r.Context())
	ids, err := h.svc.Active(r.Context(), u.ID)
	if err != nil {
		httpx.Error(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusOK, map[string][]string{"activeJobIds": ids})
}

func (h *handler) abort(w http.ResponseWriter, r *http.Request) {
	u, _ := auth.UserFrom(r.Context())
	var body struct {
		ConversationID string `json:"conversationId"`
		StreamID       string `json:"streamId"`
		AbortKey       string `json:"abortKey"`
	}
	if err := httpx.DecodeJSON(r, &body); err != nil {
		httpx.Error(w, r, err)
		return
	}
	id := body.StreamID
	if id == "" {
		id = body.ConversationID
	}
	if id == "" && body.AbortKey != "" {
		id = body.AbortKey
		for i := 0; i < len(id); i++ {
			if id[i] == ':' {
				id = id[:i]
				break
			}
		}
	}
	aborted, err := h.svc.Abort(r.Context(), u.ID, id)
	if err != nil {
		if librechat.IsNotFound(err) {
			httpx.JSON(w, http.StatusNotFound, map[string]string{"error": "Job not found", "streamId": id})
			return
		}
		httpx.Error(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusOK, struct {
		Success bool   `json:"success"`
		Aborted string `json:"aborted"`
	}{true, aborted})
}
