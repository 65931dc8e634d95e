package convos

import (
	"net/http"
	"strings"
	"time"

	"github.com/lcgo/lcgo/shared/httpx"
	"github.com/lcgo/lcgo/shared/librechat"
	"github.com/lcgo/lcgo/shared/wire"
)

// List page sizes.
const (
	defaultLimit = 25
	maxLimit     = 100
)

// Cursor kinds: a cursor of the sidebar list and one of a search are not
// interchangeable (see package cursor; both are bound to the user).
const (
	cursorList   = "convos"
	cursorSearch = "convos-search"
)

// listResponse is the sidebar page.
type listResponse struct {
	Conversations []*wire.Doc `json:"conversations"`
	NextCursor    *string     `json:"nextCursor"`
}

// list answers GET /api/convos.
func (h *handler) list(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	cq := librechat.ConversationQuery{Limit: defaultLimit, SortBy: librechat.SortUpdatedAt}
	if v := q.Get("limit"); v != "" {
		if n := leadingInt(v); n > 0 {
			cq.Limit = min(n, maxLimit)
		}
	}
	cq.Archived = strings.EqualFold(strings.TrimSpace(q.Get("isArchived")), "true")
	for _, key := range []string{"tags", "tags[]"} {
		for _, t := range q[key] {
			if t != "" {
				cq.Tags = append(cq.Tags, t)
			}
		}
	}
	cq.Search = q.Get("search")
	switch v := q.Get("sortBy"); v {
	case "", librechat.SortUpdatedAt:
	case librechat.SortCreatedAt, librechat.SortTitle:
		cq.SortBy = v
	default:
		errorJSON(w, http.StatusBadRequest, "Invalid sortBy parameter")
		return
	}
	switch v := q.Get("sortDirection"); v {
	case "", "desc":
	case "asc":
		cq.Asc = true
	default:
		errorJSON(w, http.StatusBadRequest, "Invalid sortDirection parameter")
		return
	}
	if v := q.Get("projectId"); v != "" && v != "unassigned" && !isObjectID(v) {
		errorJSON(w, http.StatusBadRequest, "Invalid projectId")
		return
	}
	u := user(r)
	search := strings.TrimSpace(cq.Search) != ""
	kind := cursorList
	if search {
		kind = cursorSearch
	}
	if v := q.Get("cursor"); v != "" {
		var c librechat.Cursor
		if err := h.cursors.Decode(kind, u.ID, v, &c); err != nil || c.ID == "" {
			errorJSON(w, http.StatusBadRequest, "Invalid cursor")
			return
		}
		cq.After = &c
	}
	var convs []*librechat.Conversation
	var next *librechat.Cursor
	var err error
	if search {
		// The search box: full-text over titles and message text, ranked.
		convs, next, err = h.store.SearchConversations(r.Context(), u.ID, cq.Search, cq.After, cq.Limit)
	} else {
		convs, next, err = h.store.ListConversations(r.Context(), u.ID, cq)
	}
	if err != nil {
		if librechat.KindOf(err) == librechat.KindInvalid {
			fail(w, r, err)
			return
		}
		httpx.Error(w, r, err)
		return
	}
	resp := listResponse{Conversations: make([]*wire.Doc, 0, len(convs))}
	for _, c := range convs {
		resp.Conversations = append(resp.Conversations, listItem(c))
	}
	if next != nil {
		s, err := h.cursors.Encode(kind, u.ID, next)
		if err != nil {
			httpx.Error(w, r, err)
			return
		}
		resp.NextCursor = &s
	}
	httpx.JSON(w, http.StatusOK, resp)
}

// listFields are the optional keys LibreChat's list query selects.
var listFields = []string{"agent_id", "assistant_id", "spec", "iconURL", "chatProjectId"}

// listItem is a sidebar entry with exactly the keys Node's list query
// selects (captures 27, 52, 58): no endpointType, isArchived or tags.
func listItem(c *librechat.Conversation) *wire.Doc {
	d := &wire.Doc{}
	d.Head("_id", c.ObjectID).Head("conversationId", c.ID).Head("user", c.UserID)
	for _, k := range listFields {
		if v, ok := c.Fields[k]; ok && !isNull(v) {
			d.SetRaw(k, v)
		}
	}
	d.Set("createdAt", wire.Time(c.CreatedAt)).Set("updatedAt", wire.Time(c.UpdatedAt))
	if c.Endpoint != "" {
		d.Set("endpoint", c.Endpoint)
	}
	if c.Model != "" {
		d.Set("model", c.Model)
	}
	d.Set("title", c.Title)
	if c.Pinned {
		d.Set("pinned", true)
	}
	return d
}

// leadingInt parses the leading decimal digits of s as parseInt does
// (0 when there are none).
func leadingInt(s string) int {
	s = strings.TrimSpace(s)
	n := 0
	for i := 0; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
		n = n*10 + int(s[i]-'0')
		if n > 1<<20 {
			return n
		}
	}
	return n
}

func isObjectID(s string) bool {
	if len(s) != 24 {
		return false
	}
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

// get answers GET /api/convos/{conversationId}: the full document, or 404
// with an empty body.
func (h *handler) get(w http.ResponseWriter, r *http.Request) {
	u := user(r)
	c, err := h.conversation(r.Context(), u.ID, r.PathValue("conversationId"))
	if librechat.IsNotFound(err) {
		w.WriteHeader(http.StatusNotFound)
		return
	}
	if err != nil {
		httpx.Error(w, r, err)
		return
	}
	doc, err := h.document(r.Context(), c)
	if err != nil {
		httpx.Error(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusOK, doc)
}

// titleDelays are the waits between title checks (about 15.5 s in all).
var titleDelays = []time.Duration{
	500 * time.Millisecond, time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second,
}

const msgNoTitle = "Title not found or method not implemented for the conversation's endpoint"

// genTitle answers GET /api/convos/gen_title/{conversationId}: the title
// once the conversation has a real one, else 404 after the last check.
func (h *handler) genTitle(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	u := user(r)
	id := r.PathValue("conversationId")
	for i := 0; ; i++ {
		c, err := h.conversation(ctx, u.ID, id)
		switch {
		case err == nil && c.Title != "" && c.Title != "New Chat":
			httpx.JSON(w, http.StatusOK, map[string]string{"title": c.Title})
			return
		case err != nil && !librechat.IsNotFound(err):
			httpx.Error(w, r, err)
			return
		}
		if i == len(titleDelays) {
			break
		}
		if err := h.sleep(ctx, titleDelays[i]); err != nil {
			return
		}
	}
	messageJSON(w, http.StatusNotFound, msgNoTitle)
}
