package messages

import (
	"cmp"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/lcgo/lcgo/shared/httpx"
	"github.com/lcgo/lcgo/shared/librechat"
	"github.com/lcgo/lcgo/shared/wire"
)

// Limits: a message looked up by id alone (branch, artifact) is searched
// for in the caller's most recently updated conversations only.
const (
	maxSearchConversations = 200
	defaultPageSize        = 25
	listPageSize           = 100
)

// page is the answer of GET /api/messages.
type page struct {
	Messages   []*wire.Doc `json:"messages"`
	NextCursor *string     `json:"nextCursor"`
}

func emptyPage() page { return page{Messages: []*wire.Doc{}} }

// conversationMessages is GET /api/messages/:conversationId: the whole
// tree, oldest first.
func (h *handler) conversationMessages(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("conversationId")
	if _, ok := h.conversation(w, r, id, nil, true); !ok {
		return
	}
	msgs, err := h.store.Messages(r.Context(), user(r).ID, id)
	if err != nil {
		httpx.Error(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusOK, h.docs(msgs))
}

// message is GET /api/messages/:conversationId/:messageId: an array with
// the message, empty when the conversation has no such message.
func (h *handler) message(w http.ResponseWriter, r *http.Request) {
	convID, id := r.PathValue("conversationId"), r.PathValue("messageId")
	if _, ok := h.conversation(w, r, convID, nil, false); !ok {
		return
	}
	m, err := h.store.Message(r.Context(), user(r).ID, convID, id)
	switch {
	case librechat.IsNotFound(err):
		httpx.JSON(w, http.StatusOK, []any{})
	case err != nil:
		httpx.Error(w, r, err)
	default:
		httpx.JSON(w, http.StatusOK, []*wire.Doc{h.doc(m)})
	}
}

// query is GET /api/messages: one page of a conversation
// (?conversationId=), one message of it (&messageId=), or a search
// (?search=).
func (h *handler) query(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if ids, ok := q["conversationId"]; ok {
		if len(ids) != 1 {
			fail(w, http.StatusNotFound, msgConversationNotFound)
			return
		}
		h.conversationPage(w, r, ids[0], q.Get("messageId"))
		return
	}
	if s := q.Get("search"); s != "" {
		h.search(w, r, s)
		return
	}
	httpx.JSON(w, http.StatusOK, emptyPage())
}

func (h *handler) conversationPage(w http.ResponseWriter, r *http.Request, convID, messageID string) {
	ctx, u := r.Context(), user(r)
	_, err := h.store.Conversation(ctx, u.ID, convID)
	if err != nil {
		if !librechat.IsNotFound(err) {
			httpx.Error(w, r, err)
			return
		}
		if messageID != "" || !h.jobRunning(ctx, u.ID, convID) {
			fail(w, http.StatusNotFound, msgConversationNotFound)
			return
		}
	}
	if messageID != "" {
		res := emptyPage()
		m, err := h.store.Message(ctx, u.ID, convID, messageID)
		if err != nil && !librechat.IsNotFound(err) {
			httpx.Error(w, r, err)
			return
		}
		if err == nil {
			res.Messages = append(res.Messages, h.doc(m))
		}
		httpx.JSON(w, http.StatusOK, res)
		return
	}

	q := r.URL.Query()
	sortBy := q.Get("sortBy")
	if sortBy == "" {
		sortBy = librechat.SortUpdatedAt
	}
	if sortBy != "endpoint" && sortBy != librechat.SortCreatedAt && sortBy != librechat.SortUpdatedAt {
		sortBy = librechat.SortCreatedAt
	}
	asc := q.Get("sortDirection") == "asc"
	size := parseInt(q.Get("pageSize"))
	if size <= 0 {
		size = defaultPageSize
	}
	var after *pageCursor
	if c := q.Get("cursor"); c != "" {
		var pc pageCursor
		err := h.cursors.Decode(cursorPage, u.ID, c, &pc)
		if err != nil || pc.Conv != convID || pc.Sort != sortBy || pc.Asc != asc || pc.ID == "" {
			fail(w, http.StatusBadRequest, msgInvalidCursor)
			return
		}
		after = &pc
	}

	msgs, err := h.store.Messages(ctx, u.ID, convID)
	if err != nil {
		httpx.Error(w, r, err)
		return
	}
	type keyed struct {
		key string
		m   *librechat.Message
	}
	items := make([]keyed, 0, len(msgs))
	for _, m := range msgs {
		items = append(items, keyed{sortKey(m, sortBy), m})
	}
	compare := func(ka, ia, kb, ib string) int {
		c := cmp.Or(strings.Compare(ka, kb), strings.Compare(ia, ib))
		if !asc {
			c = -c
		}
		return c
	}
	slices.SortStableFunc(items, func(a, b keyed) int { return compare(a.key, a.m.ID, b.key, b.m.ID) })

	res := emptyPage()
	var last *keyed
	for i := range items {
		it := &items[i]
		if after != nil && compare(it.key, it.m.ID, after.Key, after.ID) <= 0 {
			continue
		}
		if len(res.Messages) == size {
			next, err := h.cursors.Encode(cursorPage, u.ID, pageCursor{Conv: convID, Sort: sortBy, Asc: asc, Key: last.key, ID: last.m.ID})
			if err != nil {
				httpx.Error(w, r, err)
				return
			}
			res.NextCursor = &next
			break
		}
		res.Messages = append(res.Messages, h.doc(it.m))
		last = it
	}
	httpx.JSON(w, http.StatusOK, res)
}

// Cursor kinds: a conversation page and a search (see package cursor; both
// are bound to the user).
const (
	cursorPage   = "messages"
	cursorSearch = "messages-search"
)

// pageCursor is the position after which the next page starts, in the
// conversation and the order it was issued for. The client gets it signed.
type pageCursor struct {
	Conv string `json:"c"`
	Sort string `json:"s"`
	Asc  bool   `json:"a,omitempty"`
	Key  string `json:"k"`
	ID   string `json:"i"`
}

// sortKey is a message's sort value as a string that orders like the
// value itself (times in a fixed-width form).
func sortKey(m *librechat.Message, field string) string {
	switch field {
	case "endpoint":
		return m.Endpoint
	case librechat.SortUpdatedAt:
		return fixedTime(m.UpdatedAt)
	}
	return fixedTime(m.CreatedAt)
}

func fixedTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000000Z") }

// parseInt reads a leading decimal integer as JavaScript's parseInt does
// (0 when there is none).
func parseInt(s string) int {
	s = strings.TrimLeft(s, " \t\n\r")
	neg := false
	if s != "" && (s[0] == '+' || s[0] == '-') {
		neg = s[0] == '-'
		s = s[1:]
	}
	end := 0
	for end < len(s) && s[end] >= '0' && s[end] <= '9' {
		end++
	}
	if end == 0 {
		return 0
	}
	n, err := strconv.Atoi(s[:end])
	if err != nil {
		n = math.MaxInt32
	}
	if neg {
		return -n
	}
	return n
}

// search is GET /api/messages?search=: the store's full-text search over
// the caller's messages (ranked, word prefixes), a page at a time. Each hit
// carries its conversation's title.
func (h *handler) search(w http.ResponseWriter, r *http.Request, q string) {
	u := user(r)
	var after *librechat.Cursor
	if v := r.URL.Query().Get("cursor"); v != "" {
		var c librechat.Cursor
		if err := h.cursors.Decode(cursorSearch, u.ID, v, &c); err != nil || c.Key == "" {
			fail(w, http.StatusBadRequest, msgInvalidCursor)
			return
		}
		after = &c
	}
	hits, next, err := h.store.SearchMessages(r.Context(), u.ID, q, after, defaultPageSize)
	if err != nil {
		if librechat.KindOf(err) == librechat.KindInvalid {
			fail(w, http.StatusBadRequest, "Invalid search")
			return
		}
		httpx.Error(w, r, err)
		return
	}
	res := emptyPage()
	for _, hit := range hits {
		d := h.doc(hit.Message)
		d.Set("title", hit.Title)
		res.Messages = append(res.Messages, d)
	}
	if next != nil {
		s, err := h.cursors.Encode(cursorSearch, u.ID, next)
		if err != nil {
			httpx.Error(w, r, err)
			return
		}
		res.NextCursor = &s
	}
	httpx.JSON(w, http.StatusOK, res)
}

// recentConversations lists up to limit of the user's conversations,
// archived ones included, most recently updated first. Temporary
// conversations are not listed by the store.
func (h *handler) recentConversations(r *http.Request, userID string, limit int) ([]*librechat.Conversation, error) {
	var all []*librechat.Conversation
	for _, archived := range []bool{false, true} {
		var after *librechat.Cursor
		n := 0
		for n < limit {
			batch, next, err := h.store.ListConversations(r.Context(), userID, librechat.ConversationQuery{
				Archived: archived, SortBy: librechat.SortUpdatedAt, After: after, Limit: min(listPageSize, limit-n),
			})
			if err != nil {
				return nil, err
			}
			all = append(all, batch...)
			n += len(batch)
			if next == nil || len(batch) == 0 {
				break
			}
			after = next
		}
	}
	slices.SortStableFunc(all, func(a, b *librechat.Conversation) int { return b.UpdatedAt.Compare(a.UpdatedAt) })
	if len(all) > limit {
		all = all[:limit]
	}
	return all, nil
}

// findMessage looks a message of the user up by id alone, as the branch
// and artifact routes address it: the store is keyed by conversation, so
// the user's most recently updated conversations are tried in turn.
func (h *handler) findMessage(r *http.Request, userID, id string) (*librechat.Message, error) {
	convs, err := h.recentConversations(r, userID, maxSearchConversations)
	if err != nil {
		return nil, err
	}
	for _, c := range convs {
		m, err := h.store.Message(r.Context(), userID, c.ID, id)
		if err == nil {
			return m, nil
		}
		if !librechat.IsNotFound(err) {
			return nil, err
		}
	}
	return nil, librechat.E(librechat.KindNotFound, "%s", msgMessageNotFound)
}
