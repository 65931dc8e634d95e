package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"

	"github.com/lcgo/lcgo/shared/httpx"
	"github.com/lcgo/lcgo/shared/librechat"
	"github.com/lcgo/lcgo/shared/modelcfg"
	"github.com/lcgo/lcgo/shared/wire"
)

type modelConfigDoc struct {
	ID        string          `json:"id"`
	Scope     string          `json:"scope"`
	ScopeID   string          `json:"scopeId"`
	Name      string          `json:"name"`
	Spec      json.RawMessage `json:"spec"`
	CreatedAt string          `json:"createdAt"`
	UpdatedAt string          `json:"updatedAt"`
	UpdatedBy string          `json:"updatedBy"`
}

func modelConfigOf(c *librechat.ModelConfig) *modelConfigDoc {
	spec := c.Spec
	if len(spec) == 0 {
		spec = json.RawMessage("{}")
	}
	return &modelConfigDoc{
		ID: c.ID, Scope: c.Scope, ScopeID: c.ScopeID, Name: c.Name, Spec: spec,
		CreatedAt: wire.Time(c.CreatedAt), UpdatedAt: wire.Time(c.UpdatedAt), UpdatedBy: c.UpdatedBy,
	}
}

// modelConfigFields is a configuration in an audit entry.
type modelConfigFields struct {
	Scope   *string         `json:"scope,omitempty"`
	ScopeID *string         `json:"scopeId,omitempty"`
	Name    *string         `json:"name,omitempty"`
	Spec    json.RawMessage `json:"spec,omitempty"`
}

func allFields(c *librechat.ModelConfig) modelConfigFields {
	return modelConfigFields{Scope: &c.Scope, ScopeID: &c.ScopeID, Name: &c.Name, Spec: c.Spec}
}

// checkScope validates a scope and its id: the group or user must exist.
func (h *handler) checkScope(ctx context.Context, scope, scopeID string) error {
	switch scope {
	case librechat.ScopeSystem:
		if scopeID != "" {
			return invalid("scopeId must be empty for scope %q", scope)
		}
		return nil
	case librechat.ScopeGroup, librechat.ScopeUser:
	case "":
		return invalid("scope is required")
	default:
		return invalid("scope must be one of system, group, user")
	}
	if scopeID == "" {
		return invalid("scopeId is required for scope %q", scope)
	}
	if !validID(scopeID) {
		return invalid("Invalid scopeId")
	}
	if scope == librechat.ScopeGroup {
		_, err := h.groupByID(ctx, scopeID)
		return err
	}
	_, err := h.user(ctx, scopeID)
	return err
}

func (h *handler) listModelConfigs(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	scope, scopeID := q.Get("scope"), q.Get("scopeId")
	ctx := r.Context()
	if scope != "" {
		if err := h.checkScope(ctx, scope, scopeID); err != nil {
			fail(w, r, err)
			return
		}
	} else if scopeID != "" {
		fail(w, r, invalid("scopeId needs a scope"))
		return
	}
	cfgs, err := h.store.ModelConfigs(ctx, scope, scopeID)
	if err != nil {
		fail(w, r, err)
		return
	}
	out := struct {
		ModelConfigs []*modelConfigDoc `json:"modelConfigs"`
	}{make([]*modelConfigDoc, 0, len(cfgs))}
	for _, c := range cfgs {
		out.ModelConfigs = append(out.ModelConfigs, modelConfigOf(c))
	}
	httpx.JSON(w, http.StatusOK, out)
}

func (h *handler) modelConfig(r *http.Request) (*librechat.ModelConfig, error) {
	id, err := pathID(r, "id", "model configuration")
	if err != nil {
		return nil, err
	}
	c, err := h.store.ModelConfig(r.Context(), id)
	if librechat.IsNotFound(err) {
		return nil, notFound("Model configuration")
	}
	return c, err
}

func (h *handler) getModelConfig(w http.ResponseWriter, r *http.Request) {
	c, err := h.modelConfig(r)
	if err != nil {
		fail(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusOK, modelConfigOf(c))
}

type modelConfigBody struct {
	Scope   *string         `json:"scope"`
	ScopeID *string         `json:"scopeId"`
	Spec    json.RawMessage `json:"spec"`
}

var modelConfigKeys = []string{"scope", "scopeId", "spec"}

// parseSpec validates a spec and returns it compacted with its name.
func parseSpec(raw json.RawMessage) (json.RawMessage, string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, "", invalid("spec is required")
	}
	if raw[0] != '{' {
		return nil, "", invalid("spec must be a JSON object")
	}
	if len(raw) > maxSpecBytes {
		return nil, "", invalid("spec is larger than %d KB", maxSpecBytes>>10)
	}
	spec, err := modelcfg.ParseSpec(raw)
	if err != nil {
		msg := librechat.MessageOf(err)
		if msg == "" {
			msg = "invalid model configuration"
		}
		return nil, "", &librechat.Error{Kind: librechat.KindInvalid, Op: "admin.spec", Message: msg, Err: err}
	}
	name := spec.Name
	if name == "" {
		return nil, "", invalid("spec: name is required")
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return nil, "", invalid("spec must be a JSON object")
	}
	return buf.Bytes(), name, nil
}

func configNameTaken(name string) error {
	return librechat.E(librechat.KindConflict, "A model configuration named %q already exists at this scope", name)
}

func (h *handler) createModelConfig(w http.ResponseWriter, r *http.Request) {
	var body modelConfigBody
	if err := decode(r, &body, modelConfigKeys...); err != nil {
		fail(w, r, err)
		return
	}
	scope, scopeID := deref(body.Scope), deref(body.ScopeID)
	ctx := r.Context()
	if err := h.checkScope(ctx, scope, scopeID); err != nil {
		fail(w, r, err)
		return
	}
	spec, name, err := parseSpec(body.Spec)
	if err != nil {
		fail(w, r, err)
		return
	}
	me := actor(r)
	now := h.now()
	cfg := &librechat.ModelConfig{
		ID: h.app.IDs.ObjectID(), Scope: scope, ScopeID: scopeID, Name: name, Spec: spec,
		CreatedAt: now, UpdatedAt: now, UpdatedBy: me.ID,
	}
	c := h.begin(r)
	if err := h.store.CreateModelConfig(c.ctx, cfg); err != nil {
		if librechat.IsConflict(err) {
			err = configNameTaken(name)
		}
		fail(w, r, err)
		return
	}
	c.onFail(func(ctx context.Context) error { return h.store.DeleteModelConfig(ctx, cfg.ID) })
	if err := c.commit(me.ID, "modelconfig.create", cfg.ID, beforeAfter{After: allFields(cfg)}); err != nil {
		fail(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusCreated, modelConfigOf(cfg))
}

func (h *handler) putModelConfig(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id", "model configuration")
	if err != nil {
		fail(w, r, err)
		return
	}
	var body modelConfigBody
	if err := decode(r, &body, modelConfigKeys...); err != nil {
		fail(w, r, err)
		return
	}
	if body.Scope == nil && body.ScopeID != nil {
		fail(w, r, invalid("scopeId needs a scope"))
		return
	}
	spec, name, err := parseSpec(body.Spec)
	if err != nil {
		fail(w, r, err)
		return
	}
	ctx := r.Context()
	old, err := h.store.ModelConfig(ctx, id)
	if err != nil {
		if librechat.IsNotFound(err) {
			err = notFound("Model configuration")
		}
		fail(w, r, err)
		return
	}
	scope, scopeID := old.Scope, old.ScopeID
	if body.Scope != nil {
		scope, scopeID = *body.Scope, deref(body.ScopeID)
		if err := h.checkScope(ctx, scope, scopeID); err != nil {
			fail(w, r, err)
			return
		}
	}
	before := *old
	next := *old
	next.Scope, next.ScopeID, next.Name, next.Spec = scope, scopeID, name, spec
	var b, a modelConfigFields
	if next.Scope != before.Scope {
		b.Scope, a.Scope = &before.Scope, &next.Scope
	}
	if next.ScopeID != before.ScopeID {
		b.ScopeID, a.ScopeID = &before.ScopeID, &next.ScopeID
	}
	if next.Name != before.Name {
		b.Name, a.Name = &before.Name, &next.Name
	}
	if !bytes.Equal(next.Spec, before.Spec) {
		b.Spec, a.Spec = before.Spec, next.Spec
	}
	if a.Scope == nil && a.ScopeID == nil && a.Name == nil && a.Spec == nil {
		httpx.JSON(w, http.StatusOK, modelConfigOf(old))
		return
	}
	me := actor(r)
	next.UpdatedAt, next.UpdatedBy = h.now(), me.ID
	c := h.begin(r)
	if err := h.store.UpdateModelConfig(c.ctx, &next); err != nil {
		switch {
		case librechat.IsConflict(err):
			err = configNameTaken(name)
		case librechat.IsNotFound(err):
			err = notFound("Model configuration")
		}
		fail(w, r, err)
		return
	}
	c.onFail(func(ctx context.Context) error { return h.store.UpdateModelConfig(ctx, &before) })
	if err := c.commit(me.ID, "modelconfig.update", next.ID, beforeAfter{Before: b, After: a}); err != nil {
		fail(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusOK, modelConfigOf(&next))
}

func (h *handler) deleteModelConfig(w http.ResponseWriter, r *http.Request) {
	cfg, err := h.modelConfig(r)
	if err != nil {
		fail(w, r, err)
		return
	}
	c := h.begin(r)
	if err := h.store.DeleteModelConfig(c.ctx, cfg.ID); err != nil {
		if librechat.IsNotFound(err) {
			err = notFound("Model configuration")
		}
		fail(w, r, err)
		return
	}
	c.onFail(func(ctx context.Context) error { return h.store.CreateModelConfig(ctx, cfg) })
	if err := c.commit(actor(r).ID, "modelconfig.delete", cfg.ID, beforeAfter{Before: allFields(cfg)}); err != nil {
		fail(w, r, err)
		return
	}
	noContent(w)
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
