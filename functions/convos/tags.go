package convos

import (
	"context"
	"encoding/json"
	"math"
	"net/http"
	"slices"
	"strings"

	"github.com/lcgo/lcgo/shared/httpx"
	"github.com/lcgo/lcgo/shared/librechat"
	"github.com/lcgo/lcgo/shared/roles"
	"github.com/lcgo/lcgo/shared/wire"
)

var errTagNotFound = librechat.E(librechat.KindNotFound, "Tag not found")

// bookmarks admits only users whose role has BOOKMARKS.USE.
func (h *handler) bookmarks(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		u := user(r)
		allowed := false
		if u.Role != "" {
			role, err := h.app.Store.RoleByName(r.Context(), u.Role)
			switch {
			case err == nil:
				allowed = role.Permissions[roles.Bookmarks][roles.Use]
			case !librechat.IsNotFound(err):
				httpx.Error(w, r, err)
				return
			}
		}
		if !allowed {
			messageJSON(w, http.StatusForbidden, "Forbidden: Insufficient permissions")
			return
		}
		next(w, r)
	}
}

// tagDoc is a tag as LibreChat's server sends it.
func tagDoc(t *librechat.Tag, count int) *wire.Doc {
	d := &wire.Doc{}
	d.Head("_id", t.ObjectID).Head("tag", t.Name).Head("user", t.UserID).Head("__v", 0)
	d.Set("count", count).Set("createdAt", wire.Time(t.CreatedAt)).
		Set("position", t.Position).Set("updatedAt", wire.Time(t.UpdatedAt))
	if t.Description != "" {
		d.Set("description", t.Description)
	}
	return d
}

// taggedConversations lists the user's conversations, archived or not,
// that carry at least one of tags (every one when tags is nil).
func (h *handler) taggedConversations(ctx context.Context, userID string, tags []string) ([]*librechat.Conversation, error) {
	if tags != nil && len(tags) == 0 {
		return nil, nil
	}
	var out []*librechat.Conversation
	for _, archived := range []bool{false, true} {
		q := librechat.ConversationQuery{
			Archived: archived, Tags: tags, SortBy: librechat.SortCreatedAt, Asc: true, Limit: maxLimit,
		}
		for {
			page, next, err := h.store.ListConversations(ctx, userID, q)
			if err != nil {
				return nil, err
			}
			out = append(out, page...)
			if next == nil || len(page) == 0 || (q.After != nil && *next == *q.After) {
				break
			}
			q.After = next
		}
	}
	return out, nil
}

// countTags counts, per tag, the conversations carrying it.
func countTags(convs []*librechat.Conversation) map[string]int {
	counts := map[string]int{}
	for _, c := range convs {
		seen := map[string]bool{}
		for _, t := range c.Tags {
			if t != "" && !seen[t] {
				seen[t] = true
				counts[t]++
			}
		}
	}
	return counts
}

// tagCount counts the user's conversations carrying name.
func (h *handler) tagCount(ctx context.Context, userID, name string) (int, error) {
	convs, err := h.taggedConversations(ctx, userID, []string{name})
	if err != nil {
		return 0, err
	}
	return countTags(convs)[name], nil
}

func findTag(tags []*librechat.Tag, name string) *librechat.Tag {
	for _, t := range tags {
		if t.Name == name {
			return t
		}
	}
	return nil
}

func tagNames(tags []*librechat.Tag) []string {
	out := make([]string, len(tags))
	for i, t := range tags {
		out[i] = t.Name
	}
	return out
}

// listTags answers GET /api/tags.
func (h *handler) listTags(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	uid := user(r).ID
	tags, err := h.store.Tags(ctx, uid)
	if err != nil {
		httpx.Error(w, r, err)
		return
	}
	convs, err := h.taggedConversations(ctx, uid, tagNames(tags))
	if err != nil {
		httpx.Error(w, r, err)
		return
	}
	h.answerTags(w, tags, countTags(convs))
}

func (h *handler) answerTags(w http.ResponseWriter, tags []*librechat.Tag, counts map[string]int) {
	out := make([]*wire.Doc, 0, len(tags))
	for _, t := range tags {
		out = append(out, tagDoc(t, counts[t.Name]))
	}
	httpx.JSON(w, http.StatusOK, out)
}

// createTag answers POST /api/tags: the new tag, or the existing one of
// that name; optionally adds it to a conversation.
func (h *handler) createTag(w http.ResponseWriter, r *http.Request) {
	o, err := decodeObject(r)
	if err != nil {
		fail(w, r, err)
		return
	}
	name, _, ok := stringField(o, "tag")
	if !ok || strings.TrimSpace(name) == "" {
		errorJSON(w, http.StatusBadRequest, "tag is required")
		return
	}
	desc, _, ok := stringField(o, "description")
	if !ok {
		errorJSON(w, http.StatusBadRequest, "description must be a string")
		return
	}
	convID, _, ok := stringField(o, "conversationId")
	if !ok {
		errorJSON(w, http.StatusBadRequest, "conversationId must be a string")
		return
	}
	add := truthy(o["addToConversation"]) && convID != ""

	ctx := r.Context()
	uid := user(r).ID
	tags, err := h.store.Tags(ctx, uid)
	if err != nil {
		httpx.Error(w, r, err)
		return
	}
	if t := findTag(tags, name); t != nil {
		h.answerTag(w, r, t)
		return
	}
	var conv *librechat.Conversation
	if add {
		if conv, err = h.conversation(ctx, uid, convID); err != nil {
			fail(w, r, err)
			return
		}
	}
	position := 0
	for _, t := range tags {
		position = max(position, t.Position)
	}
	now := h.now()
	t := &librechat.Tag{
		ObjectID: h.app.IDs.ObjectID(), UserID: uid, Name: name, Description: desc,
		Position: position + 1, CreatedAt: now, UpdatedAt: now,
	}
	if err := h.store.CreateTag(ctx, t); err != nil {
		if librechat.IsConflict(err) {
			h.existingTag(w, r, uid, name)
			return
		}
		fail(w, r, err)
		return
	}
	if conv != nil && !slices.Contains(conv.Tags, name) {
		conv.Tags = append(conv.Tags, name)
		conv.UpdatedAt = now
		if err := h.store.PutConversation(ctx, conv); err != nil {
			var u undo
			u.add(func(ctx context.Context) error { return h.store.DeleteTag(ctx, uid, name) })
			u.run(ctx, h)
			fail(w, r, err)
			return
		}
	}
	h.answerTag(w, r, t)
}

func (h *handler) existingTag(w http.ResponseWriter, r *http.Request, uid, name string) {
	tags, err := h.store.Tags(r.Context(), uid)
	if err != nil {
		httpx.Error(w, r, err)
		return
	}
	t := findTag(tags, name)
	if t == nil {
		fail(w, r, errTagNotFound)
		return
	}
	h.answerTag(w, r, t)
}

// answerTag answers 200 with t and its current count.
func (h *handler) answerTag(w http.ResponseWriter, r *http.Request, t *librechat.Tag) {
	n, err := h.tagCount(r.Context(), t.UserID, t.Name)
	if err != nil {
		httpx.Error(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusOK, tagDoc(t, n))
}

// tagEdit is a validated PUT /api/tags/{tag} body.
type tagEdit struct {
	name        string
	description *string
	position    *int
}

func parseTagEdit(o wire.Object) (tagEdit, error) {
	var e tagEdit
	name, _, ok := stringField(o, "tag")
	if !ok {
		return e, librechat.E(librechat.KindInvalid, "tag must be a string")
	}
	e.name = name
	desc, present, ok := stringField(o, "description")
	if !ok {
		return e, librechat.E(librechat.KindInvalid, "description must be a string")
	}
	if present {
		e.description = &desc
	}
	if raw, has := o["position"]; has && !isNull(raw) {
		var f float64
		if firstByte(raw) == '"' || json.Unmarshal(raw, &f) != nil || f < 0 || f != math.Trunc(f) || f > 1e9 {
			return e, librechat.E(librechat.KindInvalid, "position must be a non-negative integer")
		}
		p := int(f)
		e.position = &p
	}
	return e, nil
}

// updateTag answers PUT /api/tags/{tag}: rename (carried to the user's
// conversations), new description, or a move to another position.
func (h *handler) updateTag(w http.ResponseWriter, r *http.Request) {
	oldName := r.PathValue("tag")
	o, err := decodeObject(r)
	if err != nil {
		fail(w, r, err)
		return
	}
	edit, err := parseTagEdit(o)
	if err != nil {
		fail(w, r, err)
		return
	}
	ctx := r.Context()
	uid := user(r).ID
	tags, err := h.store.Tags(ctx, uid)
	if err != nil {
		httpx.Error(w, r, err)
		return
	}
	old := findTag(tags, oldName)
	if old == nil {
		fail(w, r, errTagNotFound)
		return
	}
	rename := edit.name != "" && edit.name != oldName
	if rename && findTag(tags, edit.name) != nil {
		errorJSON(w, http.StatusConflict, "Tag already exists")
		return
	}
	var convs []*librechat.Conversation
	if rename {
		if convs, err = h.taggedConversations(ctx, uid, []string{oldName}); err != nil {
			httpx.Error(w, r, err)
			return
		}
	}

	now := h.now()
	var u undo
	failed := func(err error) {
		u.run(ctx, h)
		fail(w, r, err)
	}
	for _, c := range convs {
		before := *c
		before.Tags = slices.Clone(c.Tags)
		c.Tags = replaceTag(c.Tags, oldName, edit.name)
		c.UpdatedAt = now
		if err := h.store.PutConversation(ctx, c); err != nil {
			failed(err)
			return
		}
		u.add(func(ctx context.Context) error { return h.store.PutConversation(ctx, &before) })
	}
	updated := *old
	if edit.position != nil && *edit.position != old.Position {
		for _, t := range shiftPositions(tags, old, *edit.position) {
			prev := *t
			t.UpdatedAt = now
			if err := h.store.PutTag(ctx, t); err != nil {
				failed(err)
				return
			}
			u.add(func(ctx context.Context) error { return h.store.PutTag(ctx, &prev) })
		}
		updated.Position = *edit.position
	}
	if edit.description != nil {
		updated.Description = *edit.description
	}
	updated.UpdatedAt = now
	if rename {
		if err := h.store.DeleteTag(ctx, uid, oldName); err != nil {
			failed(err)
			return
		}
		original := *old
		u.add(func(ctx context.Context) error { return h.store.PutTag(ctx, &original) })
		updated.Name = edit.name
		if err := h.store.CreateTag(ctx, &updated); err != nil {
			failed(err)
			return
		}
	} else if err := h.store.PutTag(ctx, &updated); err != nil {
		failed(err)
		return
	}
	h.answerTag(w, r, &updated)
}

// replaceTag renames a tag in a conversation's list, keeping its place and
// not repeating a name.
func replaceTag(tags []string, from, to string) []string {
	out := make([]string, 0, len(tags))
	for _, t := range tags {
		if t == from {
			t = to
		}
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	return out
}

// shiftPositions moves the other tags out of the way of moving moved to
// position to, and returns the ones that changed.
func shiftPositions(tags []*librechat.Tag, moved *librechat.Tag, to int) []*librechat.Tag {
	from := moved.Position
	var changed []*librechat.Tag
	for _, t := range tags {
		if t == moved {
			continue
		}
		cp := *t
		switch {
		case from < to && t.Position > from && t.Position <= to:
			cp.Position--
		case from > to && t.Position >= to && t.Position < from:
			cp.Position++
		default:
			continue
		}
		changed = append(changed, &cp)
	}
	return changed
}

// deleteTag answers DELETE /api/tags/{tag}: the tag leaves the catalog and
// every conversation of the user; the tags after it move up.
func (h *handler) deleteTag(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("tag")
	ctx := r.Context()
	uid := user(r).ID
	tags, err := h.store.Tags(ctx, uid)
	if err != nil {
		httpx.Error(w, r, err)
		return
	}
	t := findTag(tags, name)
	if t == nil {
		fail(w, r, errTagNotFound)
		return
	}
	convs, err := h.taggedConversations(ctx, uid, []string{name})
	if err != nil {
		httpx.Error(w, r, err)
		return
	}
	now := h.now()
	var u undo
	failed := func(err error) {
		u.run(ctx, h)
		fail(w, r, err)
	}
	for _, c := range convs {
		before := *c
		before.Tags = slices.Clone(c.Tags)
		c.Tags = slices.DeleteFunc(c.Tags, func(s string) bool { return s == name })
		c.UpdatedAt = now
		if err := h.store.PutConversation(ctx, c); err != nil {
			failed(err)
			return
		}
		u.add(func(ctx context.Context) error { return h.store.PutConversation(ctx, &before) })
	}
	if err := h.store.DeleteTag(ctx, uid, name); err != nil {
		failed(err)
		return
	}
	deleted := *t
	u.add(func(ctx context.Context) error { return h.store.PutTag(ctx, &deleted) })
	for _, other := range tags {
		if other == t || other.Position <= t.Position {
			continue
		}
		prev := *other
		cp := *other
		cp.Position--
		cp.UpdatedAt = now
		if err := h.store.PutTag(ctx, &cp); err != nil {
			failed(err)
			return
		}
		u.add(func(ctx context.Context) error { return h.store.PutTag(ctx, &prev) })
	}
	httpx.JSON(w, http.StatusOK, tagDoc(t, 0))
}

// tagConversation answers PUT /api/tags/convo/{conversationId} with the
// conversation's new tag list; tags new to the user join the catalog.
func (h *handler) tagConversation(w http.ResponseWriter, r *http.Request) {
	o, err := decodeObject(r)
	if err != nil {
		fail(w, r, err)
		return
	}
	var list []json.RawMessage
	if firstByte(o["tags"]) != '[' || json.Unmarshal(o["tags"], &list) != nil {
		errorJSON(w, http.StatusBadRequest, "tags must be an array of strings")
		return
	}
	var names []string
	for _, raw := range list {
		var s string
		if firstByte(raw) != '"' || json.Unmarshal(raw, &s) != nil {
			errorJSON(w, http.StatusBadRequest, "tags must be an array of strings")
			return
		}
		if s != "" && !slices.Contains(names, s) {
			names = append(names, s)
		}
	}
	ctx := r.Context()
	uid := user(r).ID
	c, err := h.conversation(ctx, uid, r.PathValue("conversationId"))
	if err != nil {
		fail(w, r, err)
		return
	}
	catalog, err := h.store.Tags(ctx, uid)
	if err != nil {
		httpx.Error(w, r, err)
		return
	}
	now := h.now()
	var u undo
	for _, n := range names {
		if findTag(catalog, n) != nil || slices.Contains(c.Tags, n) {
			continue
		}
		t := &librechat.Tag{ObjectID: h.app.IDs.ObjectID(), UserID: uid, Name: n, CreatedAt: now, UpdatedAt: now}
		if err := h.store.CreateTag(ctx, t); err != nil && !librechat.IsConflict(err) {
			u.run(ctx, h)
			fail(w, r, err)
			return
		} else if err == nil {
			u.add(func(ctx context.Context) error { return h.store.DeleteTag(ctx, uid, n) })
		}
	}
	if names == nil {
		names = []string{}
	}
	c.Tags = names
	c.UpdatedAt = now
	if err := h.store.PutConversation(ctx, c); err != nil {
		u.run(ctx, h)
		fail(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusOK, names)
}

// rebuildTags answers POST /api/tags/rebuild: tags found on the user's
// conversations but missing from the catalog are added, every stored count
// is recomputed, and the list is returned.
func (h *handler) rebuildTags(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	uid := user(r).ID
	convs, err := h.taggedConversations(ctx, uid, nil)
	if err != nil {
		httpx.Error(w, r, err)
		return
	}
	counts := countTags(convs)
	tags, err := h.store.Tags(ctx, uid)
	if err != nil {
		httpx.Error(w, r, err)
		return
	}
	now := h.now()
	var missing []string
	for name := range counts {
		if findTag(tags, name) == nil {
			missing = append(missing, name)
		}
	}
	slices.Sort(missing)
	var u undo
	failed := func(err error) {
		u.run(ctx, h)
		fail(w, r, err)
	}
	for _, name := range missing {
		t := &librechat.Tag{ObjectID: h.app.IDs.ObjectID(), UserID: uid, Name: name, CreatedAt: now, UpdatedAt: now}
		if err := h.store.CreateTag(ctx, t); err != nil && !librechat.IsConflict(err) {
			failed(err)
			return
		} else if err == nil {
			u.add(func(ctx context.Context) error { return h.store.DeleteTag(ctx, uid, name) })
		}
	}
	if tags, err = h.store.Tags(ctx, uid); err != nil {
		failed(err)
		return
	}
	for _, t := range tags {
		if t.Count != counts[t.Name] {
			prev, cp := *t, *t
			cp.Count = counts[t.Name]
			if err := h.store.PutTag(ctx, &cp); err != nil {
				failed(err)
				return
			}
			u.add(func(ctx context.Context) error { return h.store.PutTag(ctx, &prev) })
		}
	}
	h.answerTags(w, tags, counts)
}
