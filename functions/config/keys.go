package config

import (
	"bytes"
	"encoding/json"
	"net/http"
	"time"

	"github.com/lcgo/lcgo/shared/httpx"
	"github.com/lcgo/lcgo/shared/librechat"
	"github.com/lcgo/lcgo/shared/userkeys"
)

// isoMillis is how the client writes and reads dates.
const isoMillis = "2006-01-02T15:04:05.000Z"

// decodeBody reads a JSON body. On failure it answers (400 with both error
// and message for a malformed body) and returns false.
func decodeBody(w http.ResponseWriter, r *http.Request, dst any, errText string) bool {
	err := httpx.DecodeJSON(r, dst)
	if err == nil {
		return true
	}
	if librechat.KindOf(err) == librechat.KindInvalid {
		msg := librechat.MessageOf(err)
		if msg == "" {
			msg = errText
		}
		httpx.JSON(w, http.StatusBadRequest, httpx.ErrorBody{Error: errText, Message: msg})
		return false
	}
	httpx.Error(w, r, err)
	return false
}

func invalidBody(w http.ResponseWriter, msg string) {
	httpx.JSON(w, http.StatusBadRequest, httpx.ErrorBody{Error: "Invalid request body.", Message: msg})
}

// keyExpiry answers GET /api/keys?name=: {"expiresAt": null} when the user
// has no such key, "never" when it does not expire, else the ISO time.
func (h *handler) keyExpiry(w http.ResponseWriter, r *http.Request) {
	name := r.URL.Query().Get("name")
	var expires any
	if name != "" && len(name) <= userkeys.MaxNameLength {
		found, at, err := h.keys.Expiry(r.Context(), user(r).ID, name)
		if err != nil {
			httpx.Error(w, r, err)
			return
		}
		switch {
		case found && at == nil:
			expires = "never"
		case found:
			expires = at.UTC().Format(isoMillis)
		}
	}
	httpx.JSON(w, http.StatusOK, map[string]any{"expiresAt": expires})
}

// putKey answers PUT /api/keys {name, value, expiresAt} with 201.
func (h *handler) putKey(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Name      *string         `json:"name"`
		Value     *string         `json:"value"`
		ExpiresAt json.RawMessage `json:"expiresAt"`
	}
	if !decodeBody(w, r, &body, "Invalid request body.") {
		return
	}
	switch {
	case body.Name == nil || *body.Name == "" || len(*body.Name) > userkeys.MaxNameLength:
		invalidBody(w, "name must be a non-empty string")
		return
	case body.Value == nil || *body.Value == "" || len(*body.Value) > userkeys.MaxValueLength:
		invalidBody(w, "value must be a non-empty string")
		return
	}
	expires, ok := parseExpiry(body.ExpiresAt)
	if !ok {
		invalidBody(w, "expiresAt must be a date or null")
		return
	}
	if err := h.keys.Put(r.Context(), user(r).ID, *body.Name, *body.Value, expires); err != nil {
		if librechat.KindOf(err) == librechat.KindInvalid {
			invalidBody(w, librechat.MessageOf(err))
			return
		}
		httpx.Error(w, r, err)
		return
	}
	w.WriteHeader(http.StatusCreated)
}

// parseExpiry accepts null/absent (never), an ISO-8601 string or a number
// of milliseconds since the epoch.
func parseExpiry(raw json.RawMessage) (*time.Time, bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return nil, true
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		if s == "" || s == "never" {
			return nil, true
		}
		for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.000Z07:00", "2006-01-02"} {
			if t, err := time.Parse(layout, s); err == nil {
				return &t, true
			}
		}
		return nil, false
	}
	var ms float64
	if json.Unmarshal(raw, &ms) == nil && ms > 0 && ms < 1e15 {
		t := time.UnixMilli(int64(ms)).UTC()
		return &t, true
	}
	return nil, false
}

// deleteKey answers DELETE /api/keys/{name} with 204.
func (h *handler) deleteKey(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if name == "" || len(name) > userkeys.MaxNameLength {
		invalidBody(w, "Invalid key name.")
		return
	}
	if err := h.keys.Delete(r.Context(), user(r).ID, name); err != nil {
		httpx.Error(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// deleteAllKeys answers DELETE /api/keys?all=true with 204.
func (h *handler) deleteAllKeys(w http.ResponseWriter, r *http.Request) {
	if r.URL.Query().Get("all") != "true" {
		httpx.Fail(w, http.StatusBadRequest, "Specify either all=true to delete.")
		return
	}
	if err := h.keys.DeleteAll(r.Context(), user(r).ID); err != nil {
		httpx.Error(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
