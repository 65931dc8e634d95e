package config

import (
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/lcgo/lcgo/shared/httpx"
	"github.com/lcgo/lcgo/shared/librechat"
)

// featureOffRoutes answers the calls the client makes for features this
// server does not serve yet with the empty shapes LibreChat's server gives
// when there is nothing to show. Every other path under these prefixes is
// 404 Endpoint not found.
func (h *handler) featureOffRoutes(m *http.ServeMux) {
	empty := jsonConst([]any{})
	none := jsonConst(map[string]any{})

	m.HandleFunc("GET /api/agents", jsonConst(agentList{Object: "list", Data: []any{}}))
	m.HandleFunc("GET /api/agents/tools", empty)
	m.HandleFunc("GET /api/agents/tools/calls", empty)
	m.HandleFunc("GET /api/agents/categories", empty)

	m.HandleFunc("GET /api/search/enable", jsonConst(true)) // full-text search of the store

	m.HandleFunc("GET /api/prompts/all", empty)
	m.HandleFunc("GET /api/prompts/groups", promptGroups)
	m.HandleFunc("GET /api/categories", empty)

	m.HandleFunc("GET /api/mcp/servers", none)
	m.HandleFunc("GET /api/mcp/tools", jsonConst(map[string]any{"servers": map[string]any{}}))
	m.HandleFunc("GET /api/mcp/connection/status", jsonConst(map[string]any{"success": true, "connectionStatus": map[string]any{}}))

	m.HandleFunc("GET /api/memories", jsonConst(memories{Memories: []any{}, CharLimit: 10000}))

	m.HandleFunc("GET /api/user/settings/favorites", h.getFavorites)
	m.HandleFunc("POST /api/user/settings/favorites", h.putFavorites)
	m.HandleFunc("GET /api/user/settings/skills/active", none)
	m.HandleFunc("GET /api/user/terms", h.terms)
	m.HandleFunc("POST /api/user/terms/accept", h.acceptTerms)

	m.HandleFunc("GET /api/plugins", empty)
}

// agentList is the shape of an empty agents list (capture 42).
type agentList struct {
	Object  string  `json:"object"`
	Data    []any   `json:"data"`
	FirstID *string `json:"first_id"`
	LastID  *string `json:"last_id"`
	HasMore bool    `json:"has_more"`
	After   *string `json:"after"`
}

// memories is the shape of an empty memory list (capture 48).
type memories struct {
	Memories        []any    `json:"memories"`
	TotalTokens     int      `json:"totalTokens"`
	TokenLimit      *int     `json:"tokenLimit"`
	CharLimit       int      `json:"charLimit"`
	UsagePercentage *float64 `json:"usagePercentage"`
}

func promptGroups(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	page, size := q.Get("pageNumber"), q.Get("pageSize")
	if page == "" {
		page = "1"
	}
	if size == "" {
		size = "10"
	}
	httpx.JSON(w, http.StatusOK, map[string]any{
		"promptGroups": []any{}, "pageNumber": page, "pageSize": size, "pages": "0",
	})
}

// ---- terms ----

func (h *handler) terms(w http.ResponseWriter, r *http.Request) {
	httpx.JSON(w, http.StatusOK, map[string]bool{"termsAccepted": user(r).TermsAccepted})
}

func (h *handler) acceptTerms(w http.ResponseWriter, r *http.Request) {
	u, err := h.app.Store.UserByID(r.Context(), user(r).ID)
	if err != nil {
		httpx.Error(w, r, err)
		return
	}
	if !u.TermsAccepted {
		u.TermsAccepted = true
		u.UpdatedAt = h.now()
		if err := h.app.Store.UpdateUser(r.Context(), u); err != nil {
			httpx.Error(w, r, err)
			return
		}
	}
	httpx.JSON(w, http.StatusOK, map[string]string{"message": "Terms accepted successfully"})
}

// ---- favorites ----

// Limits of the favorites list, as LibreChat's.
const (
	maxFavorites      = 50
	maxFavoriteString = 256
)

type favorite struct {
	AgentID  string `json:"agentId,omitempty"`
	Model    string `json:"model,omitempty"`
	Endpoint string `json:"endpoint,omitempty"`
	Spec     string `json:"spec,omitempty"`
}

func favoritesKey(userID string) string { return "favorites:" + userID }

func (h *handler) loadFavorites(r *http.Request) ([]favorite, error) {
	b, err := h.app.Store.Setting(r.Context(), favoritesKey(user(r).ID))
	if librechat.IsNotFound(err) || (err == nil && len(b) == 0) {
		return []favorite{}, nil
	}
	if err != nil {
		return nil, err
	}
	var favs []favorite
	if err := json.Unmarshal(b, &favs); err != nil || favs == nil {
		return []favorite{}, nil
	}
	return favs, nil
}

func (h *handler) getFavorites(w http.ResponseWriter, r *http.Request) {
	favs, err := h.loadFavorites(r)
	if err != nil {
		httpx.Error(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusOK, favs)
}

func (h *handler) putFavorites(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Favorites json.RawMessage `json:"favorites"`
	}
	if !decodeBody(w, r, &body, "Invalid request body.") {
		return
	}
	if len(body.Favorites) == 0 || string(body.Favorites) == "null" {
		httpx.Fail(w, http.StatusBadRequest, "Favorites data is required")
		return
	}
	var items []json.RawMessage
	if err := json.Unmarshal(body.Favorites, &items); err != nil {
		httpx.Fail(w, http.StatusBadRequest, "Favorites must be an array")
		return
	}
	if len(items) > maxFavorites {
		msg := fmt.Sprintf("Maximum %d favorites allowed", maxFavorites)
		httpx.JSON(w, http.StatusBadRequest, map[string]any{
			"code": "MAX_FAVORITES_EXCEEDED", "error": msg, "message": msg, "limit": maxFavorites,
		})
		return
	}
	favs := make([]favorite, 0, len(items))
	for _, raw := range items {
		var f favorite
		if err := json.Unmarshal(raw, &f); err != nil {
			httpx.Fail(w, http.StatusBadRequest, "Each favorite must be an object of strings")
			return
		}
		if msg := checkFavorite(f); msg != "" {
			httpx.Fail(w, http.StatusBadRequest, msg)
			return
		}
		favs = append(favs, f)
	}
	b, err := json.Marshal(favs)
	if err != nil {
		httpx.Error(w, r, err)
		return
	}
	if err := h.app.Store.PutSetting(r.Context(), favoritesKey(user(r).ID), b); err != nil {
		httpx.Error(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusOK, favs)
}

// checkFavorite applies LibreChat's rules: exactly one of agentId,
// model+endpoint or spec, each at most 256 characters.
func checkFavorite(f favorite) string {
	for _, s := range []struct{ name, v string }{{"agentId", f.AgentID}, {"model", f.Model}, {"endpoint", f.Endpoint}, {"spec", f.Spec}} {
		if len(s.v) > maxFavoriteString {
			return fmt.Sprintf("%s exceeds maximum length of %d", s.name, maxFavoriteString)
		}
	}
	hasAgent, hasModel, hasSpec := f.AgentID != "", f.Model != "" && f.Endpoint != "", f.Spec != ""
	if !hasModel && (f.Model != "" || f.Endpoint != "") && !hasAgent && !hasSpec {
		return "model and endpoint must be provided together"
	}
	n := 0
	for _, b := range []bool{hasAgent, hasModel, hasSpec} {
		if b {
			n++
		}
	}
	switch {
	case n == 0:
		return "Each favorite must have either agentId, model+endpoint, or spec"
	case n > 1:
		return "Favorite cannot have multiple types (agentId, model/endpoint, or spec)"
	case hasSpec && (f.AgentID != "" || f.Model != "" || f.Endpoint != ""):
		return "spec cannot be combined with agentId, model, or endpoint"
	case hasAgent && (f.Model != "" || f.Endpoint != ""):
		return "agentId cannot be combined with model or endpoint"
	}
	return ""
}
