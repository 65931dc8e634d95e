// Package presets is the saved presets area: the user's named sets of
// conversation settings under /api/presets. A preset is created or updated
// by one POST (an upsert by presetId), one may be flagged as the default for
// new chats, and POST /api/presets/delete removes one or all of them.
package presets

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"net/http"
	"time"

	"github.com/lcgo/lcgo/shared/app"
	"github.com/lcgo/lcgo/shared/auth"
	"github.com/lcgo/lcgo/shared/httpx"
	"github.com/lcgo/lcgo/shared/librechat"
	"github.com/lcgo/lcgo/shared/wire"
)

// Area is the name of this area in the routing table.
const Area = "presets"

// noOrder is the position of a preset without an order: LibreChat sorts
// such presets as if their order were 10000, after every ordered one.
const noOrder = 10000

// defaultTitle is the title of a preset saved without one (the Mongo
// schema's default).
const defaultTitle = "New Chat"

type handler struct {
	app   *app.App
	store librechat.PresetStore
}

// New builds the presets area.
func New(a *app.App) (http.Handler, error) {
	if a == nil || a.Config == nil || a.Store == nil || a.IDs == nil {
		return nil, errors.New("presets: app, configuration, store and id generator are required")
	}
	_, authn, err := auth.FromApp(a)
	if err != nil {
		return nil, err
	}
	h := &handler{app: a, store: a.Store}
	m := http.NewServeMux()
	m.HandleFunc("GET /api/presets", h.list)
	m.HandleFunc("POST /api/presets", h.save)
	m.HandleFunc("POST /api/presets/delete", h.remove)
	m.HandleFunc("/", httpx.NotFound)
	return httpx.Wrap(authn.Require(m)), nil
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

var errPresetNotFound = librechat.E(librechat.KindNotFound, "Preset not found")

// document is a preset as LibreChat's server returns it: the stored Mongo
// document, whose upsert puts the query keys (_id, presetId, user) first
// and the rest in the order MongoDB applies update fields (sorted).
func document(p *librechat.Preset) *wire.Doc {
	d := &wire.Doc{}
	d.Head("_id", p.ObjectID).Head("presetId", p.ID).Head("user", p.UserID)
	for k, v := range p.Fields {
		d.SetRaw(k, v)
	}
	d.Set("__v", 0)
	d.Set("title", p.Title)
	if p.Endpoint == "" {
		d.Set("endpoint", nil)
	} else {
		d.Set("endpoint", p.Endpoint)
	}
	if p.IsDefault {
		d.Set("defaultPreset", true)
	}
	if p.Order != noOrder {
		d.Set("order", p.Order)
	}
	d.Set("createdAt", wire.Time(p.CreatedAt)).Set("updatedAt", wire.Time(p.UpdatedAt))
	return d
}

// list answers GET /api/presets: the user's presets by order, then most
// recently updated first.
func (h *handler) list(w http.ResponseWriter, r *http.Request) {
	ps, err := h.store.Presets(r.Context(), user(r).ID)
	if err != nil {
		httpx.Error(w, r, err)
		return
	}
	out := make([]*wire.Doc, 0, len(ps))
	for _, p := range ps {
		out = append(out, document(p))
	}
	httpx.JSON(w, http.StatusOK, out)
}

// save answers POST /api/presets: creates the preset or updates the user's
// preset with that presetId (keys absent from the body keep their value),
// then answers 201 with the stored document.
func (h *handler) save(w http.ResponseWriter, r *http.Request) {
	body, err := readObject(r)
	if err != nil {
		fail(w, r, err)
		return
	}
	in, err := parseInput(body)
	if err != nil {
		fail(w, r, err)
		return
	}
	ctx := r.Context()
	u := user(r)
	if in.presetID == "" {
		in.presetID = h.app.IDs.UUID()
	}
	all, err := h.store.Presets(ctx, u.ID)
	if err != nil {
		httpx.Error(w, r, err)
		return
	}
	var existing *librechat.Preset
	for _, p := range all {
		if p.ID == in.presetID {
			existing = p
		}
	}
	target := in.presetID
	if in.newID != "" {
		target = in.newID
	}
	if target != in.presetID {
		for _, p := range all {
			if p.ID == target {
				fail(w, r, librechat.E(librechat.KindConflict, "A preset with presetId %q already exists", target))
				return
			}
		}
	}

	now := h.now()
	p := &librechat.Preset{
		ObjectID: h.app.IDs.ObjectID(), UserID: u.ID, Title: defaultTitle, Order: noOrder,
		Fields: map[string]json.RawMessage{
			"isArchived": json.RawMessage("false"),
			"tags":       json.RawMessage("[]"),
		},
		CreatedAt: now,
	}
	if existing != nil {
		cp := *existing
		cp.Fields = maps.Clone(existing.Fields)
		if cp.Fields == nil {
			cp.Fields = map[string]json.RawMessage{}
		}
		p = &cp
	}
	p.ID, p.UpdatedAt = target, now
	in.apply(p)
	if p.Endpoint == "" {
		fail(w, r, librechat.E(librechat.KindInvalid, "endpoint is required"))
		return
	}

	var steps undo
	if p.IsDefault {
		// The previous default loses its flag and its order, as LibreChat
		// unsets both.
		for _, q := range all {
			if !q.IsDefault || q.ID == in.presetID || q.ID == target {
				continue
			}
			prev := *q
			cleared := *q
			cleared.IsDefault, cleared.Order, cleared.UpdatedAt = false, noOrder, now
			if err := h.store.PutPreset(ctx, &cleared); err != nil {
				steps.run(ctx, h)
				httpx.Error(w, r, err)
				return
			}
			steps.add(func(ctx context.Context) error { return h.store.PutPreset(ctx, &prev) })
		}
	}
	if err := h.store.PutPreset(ctx, p); err != nil {
		steps.run(ctx, h)
		if librechat.IsConflict(err) {
			// The presetId belongs to another user.
			fail(w, r, errPresetNotFound)
			return
		}
		httpx.Error(w, r, err)
		return
	}
	if existing != nil && target != existing.ID {
		if err := h.store.DeletePreset(ctx, u.ID, existing.ID); err != nil {
			steps.add(func(ctx context.Context) error { return h.store.DeletePreset(ctx, u.ID, target) })
			steps.add(func(ctx context.Context) error { return h.store.PutPreset(ctx, existing) })
			steps.run(ctx, h)
			httpx.Error(w, r, err)
			return
		}
	}
	httpx.JSON(w, http.StatusCreated, document(p))
}

// deleteResult is MongoDB's DeleteResult, which LibreChat returns as is.
type deleteResult struct {
	Acknowledged bool `json:"acknowledged"`
	DeletedCount int  `json:"deletedCount"`
}

// remove answers POST /api/presets/delete: {presetId} deletes that preset;
// a body without one deletes every preset of the user.
func (h *handler) remove(w http.ResponseWriter, r *http.Request) {
	body, err := readObject(r)
	if err != nil {
		fail(w, r, err)
		return
	}
	id, ok := optionalString(body, "presetId")
	if !ok {
		fail(w, r, librechat.E(librechat.KindInvalid, "presetId must be a string"))
		return
	}
	u := user(r)
	if id == "" {
		n, err := h.store.DeletePresets(r.Context(), u.ID)
		if err != nil {
			httpx.Error(w, r, err)
			return
		}
		httpx.JSON(w, http.StatusCreated, deleteResult{Acknowledged: true, DeletedCount: n})
		return
	}
	if err := h.store.DeletePreset(r.Context(), u.ID, id); err != nil {
		if librechat.IsNotFound(err) {
			fail(w, r, errPresetNotFound)
			return
		}
		httpx.Error(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusCreated, deleteResult{Acknowledged: true, DeletedCount: 1})
}

// undo collects compensating steps of a change the store cannot make in
// one step; run applies them, latest first.
type undo []func(context.Context) error

func (u *undo) add(f func(context.Context) error) { *u = append(*u, f) }

func (u undo) run(ctx context.Context, h *handler) {
	ctx = context.WithoutCancel(ctx)
	for i := len(u) - 1; i >= 0; i-- {
		if err := u[i](ctx); err != nil && h.app.Log != nil {
			h.app.Log.ErrorContext(ctx, "presets: undo failed", "err", err)
		}
	}
}
