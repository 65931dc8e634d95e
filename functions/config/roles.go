package config

import (
	"net/http"
	"strings"

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
// configured starting balance.
func (h *handler) balance(w http.ResponseWriter, _ *http.Request) {
	b := h.cfg.File.Balance
	if !b.IsEnabled() {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	doc := balanceDoc{TokenCredits: b.Start(), AutoRefillEnabled: b.AutoRefill()}
	if doc.AutoRefillEnabled {
		v, u := b.Interval()
		amount := b.Refill()
		doc.RefillIntervalValue, doc.RefillIntervalUnit, doc.RefillAmount = &v, &u, &amount
	}
	httpx.JSON(w, http.StatusOK, doc)
}
