package share

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/lcgo/lcgo/shared/httpx"
	"github.com/lcgo/lcgo/shared/librechat"
	"github.com/lcgo/lcgo/shared/roles"
	"github.com/lcgo/lcgo/shared/wire"
)

// List limits.
const (
	defaultPageSize = 10
	maxPageSize     = 100
	maxSearch       = 256
)

// linkItem is one entry of the shared links list (getSharedLinks).
type linkItem struct {
	ShareID        string `json:"shareId"`
	Title          string `json:"title"`
	CreatedAt      string `json:"createdAt"`
	ConversationID string `json:"conversationId"`
}

// linksPage is the list answer; nextCursor is left out on the last page,
// as Express drops an undefined value (capture 49).
type linksPage struct {
	Links       []linkItem `json:"links"`
	NextCursor  string     `json:"nextCursor,omitempty"`
	HasNextPage bool       `json:"hasNextPage"`
}

// cursorKind is the kind of the list's cursors (see package cursor: they
// are signed and bound to the user).
const cursorKind = "shares"

// msgBadCursor answers a cursor that is not one this list issued to the
// caller for the order asked for.
const msgBadCursor = "cursor is not valid for this sort"

// pageCursor is the opaque nextCursor: the store's cursor and the order
// it belongs to.
type pageCursor struct {
	Sort string `json:"s"`
	librechat.Cursor
}

// list answers GET /api/share.
func (h *handler) list(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	sq := librechat.ShareQuery{SortBy: librechat.SortCreatedAt, Limit: pageSize(q.Get("pageSize"))}
	if q.Get("sortBy") == librechat.SortTitle {
		sq.SortBy = librechat.SortTitle
	}
	sq.Asc = q.Get("sortDirection") == "asc"
	sq.Search = strings.TrimSpace(q.Get("search"))
	if len([]rune(sq.Search)) > maxSearch {
		httpx.Fail(w, http.StatusBadRequest, "search must be "+strconv.Itoa(maxSearch)+" characters or fewer")
		return
	}
	u := user(r)
	if v := strings.TrimSpace(q.Get("cursor")); v != "" {
		var c pageCursor
		err := h.cursors.Decode(cursorKind, u.ID, v, &c)
		if err != nil || c.Sort != sq.SortBy || c.Key == "" || c.ID == "" {
			httpx.Fail(w, http.StatusBadRequest, msgBadCursor)
			return
		}
		sq.After = &c.Cursor
	}
	links, next, err := h.store.Shares(r.Context(), u.ID, sq)
	if err != nil {
		if librechat.KindOf(err) == librechat.KindInvalid {
			httpx.Fail(w, http.StatusBadRequest, msgBadCursor)
			return
		}
		httpx.Error(w, r, err)
		return
	}
	page := linksPage{Links: make([]linkItem, 0, len(links))}
	for _, sl := range links {
		title := sl.Title
		if title == "" {
			title = "Untitled"
		}
		page.Links = append(page.Links, linkItem{
			ShareID: sl.ShareID, Title: title, CreatedAt: wire.Time(sl.CreatedAt), ConversationID: sl.ConversationID,
		})
	}
	if next != nil {
		s, err := h.cursors.Encode(cursorKind, u.ID, pageCursor{Sort: sq.SortBy, Cursor: *next})
		if err != nil {
			httpx.Error(w, r, err)
			return
		}
		page.NextCursor, page.HasNextPage = s, true
	}
	httpx.JSON(w, http.StatusOK, page)
}

// pageSize reads pageSize as Math.max(1, parseInt(v) || 10), capped.
func pageSize(v string) int {
	v = strings.TrimSpace(v)
	end := 0
	if end < len(v) && (v[end] == '-' || v[end] == '+') {
		end++
	}
	for end < len(v) && v[end] >= '0' && v[end] <= '9' && end < 10 {
		end++
	}
	n, err := strconv.Atoi(v[:end])
	switch {
	case err != nil || n == 0:
		return defaultPageSize
	case n < 1:
		return 1
	}
	return min(n, maxPageSize)
}

// linkAnswer is GET /api/share/link/:conversationId, in Node's key order.
type linkAnswer struct {
	Success         bool    `json:"success"`
	ShareID         *string `json:"shareId"`
	TargetMessageID string  `json:"targetMessageId,omitempty"`
	ConversationID  string  `json:"conversationId"`
}

// link answers GET /api/share/link/{conversationId}: the user's link for
// the conversation, or success false (also for another user's conversation).
func (h *handler) link(w http.ResponseWriter, r *http.Request) {
	convID := r.PathValue("second")
	sl, err := h.store.ShareOf(r.Context(), user(r).ID, convID)
	switch {
	case librechat.IsNotFound(err):
		httpx.JSON(w, http.StatusOK, linkAnswer{ConversationID: convID})
	case err != nil:
		httpx.Error(w, r, err)
	default:
		id := sl.ShareID
		httpx.JSON(w, http.StatusOK, linkAnswer{
			Success: true, ShareID: &id, TargetMessageID: sl.TargetMessageID, ConversationID: convID,
		})
	}
}

// linkResult answers create and update.
type linkResult struct {
	ShareID         string `json:"shareId"`
	ConversationID  string `json:"conversationId"`
	TargetMessageID string `json:"targetMessageId,omitempty"`
}

// shareBody is the body of create and update: {targetMessageId?,
// snapshotFiles?}. File snapshots are not kept by this server, so
// snapshotFiles is checked and otherwise ignored.
type shareBody struct {
	target string
}

func readShareBody(r *http.Request) (shareBody, error) {
	var b shareBody
	o, err := readObject(r)
	if err != nil {
		return b, err
	}
	if v, ok := o["targetMessageId"]; ok {
		s, isStr := asString(v)
		if !isStr || strings.TrimSpace(s) == "" {
			return b, librechat.E(librechat.KindInvalid, "targetMessageId must be a non-empty string")
		}
		b.target = s
	}
	if v, ok := o["snapshotFiles"]; ok {
		if s := string(bytes.TrimSpace(v)); s != "true" && s != "false" {
			return b, librechat.E(librechat.KindInvalid, "snapshotFiles must be a boolean")
		}
	}
	return b, nil
}

// canCreate checks SHARED_LINKS.CREATE, which gates create and update.
func (h *handler) canCreate(w http.ResponseWriter, r *http.Request) (map[string]bool, bool) {
	perms, err := h.sharePerms(r.Context(), user(r))
	if err != nil {
		httpx.Error(w, r, err)
		return nil, false
	}
	if !perms[roles.Create] {
		fail(w, r, errForbidden)
		return nil, false
	}
	return perms, true
}

// snapshot picks the messages a link shares: every message without a
// target, otherwise the branch from the root down to the target.
func snapshot(ctx context.Context, h *handler, userID, convID, target string) ([]string, error) {
	msgs, err := h.store.Messages(ctx, userID, convID)
	if err != nil {
		return nil, err
	}
	if len(msgs) == 0 {
		return nil, errNoMessages
	}
	if target == "" {
		ids := make([]string, len(msgs))
		for i, m := range msgs {
			ids[i] = m.ID
		}
		return ids, nil
	}
	byID := make(map[string]*librechat.Message, len(msgs))
	for _, m := range msgs {
		byID[m.ID] = m
	}
	m, ok := byID[target]
	if !ok {
		return nil, errTargetNotFound
	}
	var path []string
	seen := map[string]bool{}
	for ok && !seen[m.ID] {
		seen[m.ID] = true
		path = append(path, m.ID)
		m, ok = byID[m.ParentID]
	}
	for i, j := 0, len(path)-1; i < j; i, j = i+1, j-1 {
		path[i], path[j] = path[j], path[i]
	}
	return path, nil
}

// create answers POST /api/share/{conversationId}.
func (h *handler) create(w http.ResponseWriter, r *http.Request) {
	perms, ok := h.canCreate(w, r)
	if !ok {
		return
	}
	body, err := readShareBody(r)
	if err != nil {
		fail(w, r, err)
		return
	}
	ctx, u, convID := r.Context(), user(r), r.PathValue("conversationId")
	conv, err := h.live(ctx, u.ID, convID, errConvoNotFound)
	if err != nil {
		fail(w, r, err)
		return
	}
	if _, err := h.store.ShareOf(ctx, u.ID, convID); err == nil {
		fail(w, r, errShareExists)
		return
	} else if !librechat.IsNotFound(err) {
		httpx.Error(w, r, err)
		return
	}
	ids, err := snapshot(ctx, h, u.ID, convID, body.target)
	if err != nil {
		fail(w, r, err)
		return
	}
	title := conv.Title
	if title == "" {
		title = "Untitled"
	}
	now := h.now()
	sl := &librechat.SharedLink{
		ShareID: h.newID(), ObjectID: h.app.IDs.ObjectID(), UserID: u.ID, ConversationID: convID,
		Title: title, IsPublic: perms[roles.SharePublic], MessageIDs: ids, TargetMessageID: body.target,
		CreatedAt: now, UpdatedAt: now,
	}
	if err := h.store.PutShare(ctx, sl); err != nil {
		if librechat.IsConflict(err) {
			fail(w, r, errShareExists)
			return
		}
		httpx.Error(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusOK, linkResult{ShareID: sl.ShareID, ConversationID: convID, TargetMessageID: sl.TargetMessageID})
}

// owned loads one of the user's links; another user's is not found.
func (h *handler) owned(ctx context.Context, userID, shareID string) (*librechat.SharedLink, error) {
	sl, err := h.store.Share(ctx, shareID)
	if librechat.IsNotFound(err) || (err == nil && sl.UserID != userID) {
		return nil, errShareNotFound
	}
	return sl, err
}

// update answers PATCH /api/share/{shareId}: a new snapshot of the
// conversation under a new share id (the old link stops working).
func (h *handler) update(w http.ResponseWriter, r *http.Request) {
	if _, ok := h.canCreate(w, r); !ok {
		return
	}
	body, err := readShareBody(r)
	if err != nil {
		fail(w, r, err)
		return
	}
	ctx, u := r.Context(), user(r)
	old, err := h.owned(ctx, u.ID, r.PathValue("shareId"))
	if err != nil {
		fail(w, r, err)
		return
	}
	if _, err := h.live(ctx, u.ID, old.ConversationID, errConvoNotFound); err != nil {
		fail(w, r, err)
		return
	}
	target := body.target
	if target == "" {
		target = old.TargetMessageID
	}
	ids, err := snapshot(ctx, h, u.ID, old.ConversationID, target)
	if err != nil {
		fail(w, r, err)
		return
	}
	next := *old
	next.ShareID, next.MessageIDs, next.TargetMessageID, next.UpdatedAt = h.newID(), ids, target, h.now()
	// A user has one link per conversation: the old one goes first, and
	// comes back if the new one cannot be stored.
	if err := h.store.DeleteShare(ctx, u.ID, old.ShareID); err != nil {
		if librechat.IsNotFound(err) {
			fail(w, r, errShareNotFound)
			return
		}
		httpx.Error(w, r, err)
		return
	}
	if err := h.store.PutShare(ctx, &next); err != nil {
		if rerr := h.store.PutShare(context.WithoutCancel(ctx), old); rerr != nil && h.app.Log != nil {
			h.app.Log.ErrorContext(ctx, "share: restoring a link failed", "err", rerr)
		}
		httpx.Error(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusOK, linkResult{ShareID: next.ShareID, ConversationID: next.ConversationID, TargetMessageID: target})
}

// deleteAnswer is the body of a successful delete.
type deleteAnswer struct {
	Success bool   `json:"success"`
	ShareID string `json:"shareId"`
	Message string `json:"message"`
}

// remove answers DELETE /api/share/{shareId}.
func (h *handler) remove(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("shareId")
	if err := h.store.DeleteShare(r.Context(), user(r).ID, id); err != nil {
		if librechat.IsNotFound(err) {
			fail(w, r, errShareNotFound)
			return
		}
		httpx.Error(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusOK, deleteAnswer{Success: true, ShareID: id, Message: "Share deleted successfully"})
}

// readObject reads a JSON object body; an empty or null body is {}.
func readObject(r *http.Request) (wire.Object, error) {
	data, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, librechat.E(librechat.KindTooLarge, "Request body is larger than 3 MB")
		}
		return nil, librechat.Wrap(librechat.KindInvalid, "share: read body", err)
	}
	data = bytes.TrimSpace(data)
	if len(data) == 0 || string(data) == "null" {
		return wire.Object{}, nil
	}
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			return nil, librechat.E(librechat.KindUnsupportedType, "Content-Type must be application/json")
		}
	}
	var o wire.Object
	if data[0] != '{' || json.Unmarshal(data, &o) != nil {
		return nil, librechat.E(librechat.KindInvalid, "Request body must be a JSON object")
	}
	return o, nil
}

func asString(raw json.RawMessage) (string, bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '"' {
		return "", false
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return "", false
	}
	return s, true
}
