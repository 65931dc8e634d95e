package admin

import (
	"encoding/json"
	"net/http"

	"github.com/lcgo/lcgo/shared/httpx"
	"github.com/lcgo/lcgo/shared/librechat"
	"github.com/lcgo/lcgo/shared/wire"
)

type auditDoc struct {
	ID        string          `json:"id"`
	Actor     string          `json:"actor"`
	Action    string          `json:"action"`
	Target    string          `json:"target"`
	Detail    json.RawMessage `json:"detail"`
	CreatedAt string          `json:"createdAt"`
}

func (h *handler) listAudit(w http.ResponseWriter, r *http.Request) {
	after, limit, err := h.page(r, cursorAudit)
	if err != nil {
		fail(w, r, err)
		return
	}
	entries, next, err := h.store.Audit(r.Context(), after, limit)
	if err != nil {
		if librechat.KindOf(err) == librechat.KindInvalid {
			err = invalid("Invalid cursor")
		}
		fail(w, r, err)
		return
	}
	out := struct {
		Entries    []auditDoc `json:"entries"`
		NextCursor *string    `json:"nextCursor"`
	}{Entries: make([]auditDoc, 0, len(entries)), NextCursor: h.nextCursor(r, cursorAudit, next)}
	for _, e := range entries {
		detail := e.Detail
		if len(detail) == 0 || !json.Valid(detail) {
			detail = json.RawMessage("{}")
		}
		out.Entries = append(out.Entries, auditDoc{
			ID: e.ID, Actor: e.ActorID, Action: e.Action, Target: e.Target, Detail: detail,
			CreatedAt: wire.Time(e.CreatedAt),
		})
	}
	httpx.JSON(w, http.StatusOK, out)
}
