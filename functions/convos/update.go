package convos

import (
	"net/http"
	"strings"
	"unicode/utf16"

	"github.com/lcgo/lcgo/shared/httpx"
	"github.com/lcgo/lcgo/shared/librechat"
	"github.com/lcgo/lcgo/shared/wire"
)

// maxTitle is the longest conversation title kept, in UTF-16 code units
// (JavaScript string length).
const maxTitle = 1024

// update answers POST /api/convos/update (rename): 201 with the document.
func (h *handler) update(w http.ResponseWriter, r *http.Request) {
	a, ok := h.argBody(w, r)
	if !ok {
		return
	}
	id, ok := conversationID(a)
	if !ok {
		errorJSON(w, http.StatusBadRequest, "conversationId is required")
		return
	}
	title, present, isString := stringField(a, "title")
	if !present {
		errorJSON(w, http.StatusBadRequest, "title is required")
		return
	}
	if !isString {
		errorJSON(w, http.StatusBadRequest, "title must be a string")
		return
	}
	title = truncateUTF16(strings.TrimSpace(title), maxTitle)
	h.change(w, r, id, http.StatusCreated, func(c *librechat.Conversation) { c.Title = title })
}

// archive answers POST /api/convos/archive: 200 with the document.
func (h *handler) archive(w http.ResponseWriter, r *http.Request) {
	a, ok := h.argBody(w, r)
	if !ok {
		return
	}
	id, ok := conversationID(a)
	if !ok {
		errorJSON(w, http.StatusBadRequest, "conversationId is required")
		return
	}
	archived, ok := boolField(a, "isArchived")
	if !ok {
		errorJSON(w, http.StatusBadRequest, "isArchived must be a boolean")
		return
	}
	h.change(w, r, id, http.StatusOK, func(c *librechat.Conversation) { c.IsArchived = archived })
}

// pin answers POST /api/convos/pin: 200 with the document.
func (h *handler) pin(w http.ResponseWriter, r *http.Request) {
	a, ok := h.argBody(w, r)
	if !ok {
		return
	}
	id, ok := conversationID(a)
	if !ok {
		errorJSON(w, http.StatusBadRequest, "conversationId is required")
		return
	}
	pinned, ok := boolField(a, "pinned")
	if !ok {
		errorJSON(w, http.StatusBadRequest, "pinned must be a boolean")
		return
	}
	h.change(w, r, id, http.StatusOK, func(c *librechat.Conversation) { c.Pinned = pinned })
}

// argBody decodes {"arg": {...}}, answering 4xx itself when it cannot.
func (h *handler) argBody(w http.ResponseWriter, r *http.Request) (wire.Object, bool) {
	o, err := decodeObject(r)
	if err != nil {
		fail(w, r, err)
		return nil, false
	}
	a, err := arg(o)
	if err != nil {
		fail(w, r, err)
		return nil, false
	}
	return a, true
}

// change applies edit to one of the user's conversations, stamps it and
// answers with the stored document.
func (h *handler) change(w http.ResponseWriter, r *http.Request, id string, status int, edit func(*librechat.Conversation)) {
	ctx := r.Context()
	c, err := h.conversation(ctx, user(r).ID, id)
	if err != nil {
		fail(w, r, err)
		return
	}
	edit(c)
	c.UpdatedAt = h.now()
	if err := h.store.PutConversation(ctx, c); err != nil {
		fail(w, r, err)
		return
	}
	doc, err := h.document(ctx, c)
	if err != nil {
		httpx.Error(w, r, err)
		return
	}
	httpx.JSON(w, status, doc)
}

// truncateUTF16 keeps at most n UTF-16 code units of s, never splitting a
// character.
func truncateUTF16(s string, n int) string {
	units := 0
	for i, c := range s {
		k := 1
		if utf16.RuneLen(c) == 2 {
			k = 2
		}
		if units+k > n {
			return s[:i]
		}
		units += k
	}
	return s
}

type deleteResult struct {
	Acknowledged bool `json:"acknowledged"`
	DeletedCount int  `json:"deletedCount"`
}

// deleteOne answers DELETE /api/convos {arg: {conversationId}}.
func (h *handler) deleteOne(w http.ResponseWriter, r *http.Request) {
	a, ok := h.argBody(w, r)
	if !ok {
		return
	}
	id, ok := conversationID(a)
	if !ok {
		if s, _, _ := stringField(a, "source"); s == "button" {
			httpx.Text(w, http.StatusOK, "No conversationId provided")
			return
		}
		errorJSON(w, http.StatusBadRequest, "no parameters provided")
		return
	}
	n, err := h.store.DeleteConversation(r.Context(), user(r).ID, id)
	if librechat.IsNotFound(err) {
		err = errConvoNotFound
	}
	if err != nil {
		fail(w, r, err)
		return
	}
	// Its shared link goes with it, as in LibreChat.
	if link, err := h.store.ShareOf(r.Context(), user(r).ID, id); err == nil {
		if err := h.store.DeleteShare(r.Context(), user(r).ID, link.ShareID); err != nil && !librechat.IsNotFound(err) {
			h.app.Log.WarnContext(r.Context(), "shared link of a deleted conversation not deleted", "err", err)
		}
	}
	httpx.JSON(w, http.StatusCreated, struct {
		deleteResult
		Messages deleteResult `json:"messages"`
	}{deleteResult{true, 1}, deleteResult{true, n}})
}

// deleteAll answers DELETE /api/convos/all.
func (h *handler) deleteAll(w http.ResponseWriter, r *http.Request) {
	n, err := h.store.DeleteConversations(r.Context(), user(r).ID)
	if err != nil {
		fail(w, r, err)
		return
	}
	h.deleteShares(r, user(r).ID)
	httpx.JSON(w, http.StatusCreated, deleteResult{true, n})
}

// deleteShares removes every shared link of the user (their conversations
// are gone).
func (h *handler) deleteShares(r *http.Request, userID string) {
	for i := 0; i < 1000; i++ { // bounded: 1000 pages of links
		links, _, err := h.store.Shares(r.Context(), userID, librechat.ShareQuery{Limit: 100})
		if err != nil || len(links) == 0 {
			if err != nil {
				h.app.Log.WarnContext(r.Context(), "shared links not listed", "err", err)
			}
			return
		}
		for _, l := range links {
			if err := h.store.DeleteShare(r.Context(), userID, l.ShareID); err != nil && !librechat.IsNotFound(err) {
				h.app.Log.WarnContext(r.Context(), "shared link not deleted", "err", err)
				return
			}
		}
	}
}
