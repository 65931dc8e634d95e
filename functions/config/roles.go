package config

import (
	"net/http"
	"strings"

	"github.com/lcgo/lcgo/shared/auth"
	"github.com/lcgo/lcgo/shared/chat"
	cfgpkg "github.com/lcgo/lcgo/shared/config"
	"github.com/lcgo/lcgo/shared/httpx"
	"github.com/lcgo/lcgo/shared/librechat"
	"github.com/lcgo/lcgo/shared/roles"
)

// roleDoc is the stored role as LibreChat sends it.
type roleDoc struct {
	ID          string        `json:"_id"`
	Name        string        `json:"name"`
	Description string        `json:"description"`
	Permissions cfgpkg.Object `json:"permissions"`
	V           int           `json:"__v"`
}

// role answers GET /api/roles/{name}. A user may read their own role and
// USER; an admin may read any role.
func (h *handler) role(w http.ResponseWriter, r *http.Request) {
	name := strings.ToUpper(r.PathValue("name"))
	u := user(r)
	own := strings.ToUpper(u.Role)
	if name != librechat.RoleUser && name != own && own != librechat.RoleAdmin {
		httpx.JSON(w, http.StatusForbidden, map[string]string{"message": "Unauthorized"})
		return
	}
	role, err := h.app.Store.RoleByName(r.Context(), name)
	if librechat.IsNotFound(err) {
		httpx.JSON(w, http.StatusNotFound, map[string]string{"message": "Role not found"})
		return
	}
	if err != nil {
		httpx.Error(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusOK, roleDoc{
		ID: role.ID, Name: role.Name, Description: role.Description,
		Permissions: roles.Ordered(role.Permissions),
	})
}

type balanceDoc struct {
	TokenCredits        int64   `json:"tokenCredits"`
	AutoRefillEnabled   bool    `json:"autoRefillEnabled"`
	RefillIntervalValue *int64  `json:"refillIntervalValue,omitempty"`
	RefillIntervalUnit  *string `json:"refillIntervalUnit,omitempty"`
	RefillAmount        *int64  `json:"refillAmount,omitempty"`
}

// balance answers GET /api/balance: 204 while balances are off, else the
// user's stored balance (created with the starting balance on first use).
func (h *handler) balance(w http.ResponseWriter, r *http.Request) {
	b := h.cfg.File.Balance
	if !b.IsEnabled() {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	u, _ := auth.UserFrom(r.Context())
	bal, err := chat.EnsureBalance(r.Context(), h.app.Store, h.cfg, u.ID)
	if err != nil {
		httpx.Error(w, r, err)
		return
	}
	doc := balanceDoc{TokenCredits: bal.TokenCredits, AutoRefillEnabled: bal.AutoRefillEnabled}
	if doc.AutoRefillEnabled {
		v, unit, amount := int64(bal.RefillIntervalValue), bal.RefillIntervalUnit, bal.RefillAmount
		doc.RefillIntervalValue, doc.RefillIntervalUnit, doc.RefillAmount = &v, &unit, &amount
	}
	httpx.JSON(w, http.StatusOK, doc)
}
