package convos

import (
	"context"
	"encoding/json"
	"maps"
	"net/http"
	"slices"
	"time"

	"github.com/lcgo/lcgo/shared/httpx"
	"github.com/lcgo/lcgo/shared/librechat"
	"github.com/lcgo/lcgo/shared/wire"
)

// Fork options, as the client names them.
const (
	forkDirectPath      = "directPath"
	forkIncludeBranches = "includeBranches"
	forkTargetLevel     = "targetLevel"
	forkDefault         = "default"
)

const defaultEndpoint = "openAI"

// forkResponse is the body of fork and duplicate.
type forkResponse struct {
	Conversation *wire.Doc   `json:"conversation"`
	Messages     []*wire.Doc `json:"messages"`
}

// fork answers POST /api/convos/fork.
func (h *handler) fork(w http.ResponseWriter, r *http.Request) {
	o, err := decodeObject(r)
	if err != nil {
		fail(w, r, err)
		return
	}
	id, ok := conversationID(o)
	if !ok {
		errorJSON(w, http.StatusBadRequest, "conversationId is required")
		return
	}
	target, _, ok := stringField(o, "messageId")
	if !ok || target == "" {
		errorJSON(w, http.StatusBadRequest, "messageId is required")
		return
	}
	option, _, ok := stringField(o, "option")
	switch {
	case !ok:
		errorJSON(w, http.StatusBadRequest, "option must be a string")
		return
	case option == "", option == forkDefault:
		option = forkTargetLevel
	case option == forkDirectPath, option == forkIncludeBranches, option == forkTargetLevel:
	default:
		errorJSON(w, http.StatusBadRequest, "Invalid fork option")
		return
	}
	split := truthy(o["splitAtTarget"])
	latest, _, ok := stringField(o, "latestMessageId")
	if !ok {
		errorJSON(w, http.StatusBadRequest, "latestMessageId must be a string")
		return
	}
	if split && latest == "" {
		errorJSON(w, http.StatusBadRequest, "Latest `messageId` is required for forking from target message.")
		return
	}

	ctx := r.Context()
	u := user(r)
	orig, err := h.conversation(ctx, u.ID, id)
	if err != nil {
		fail(w, r, err)
		return
	}
	msgs, err := h.store.Messages(ctx, u.ID, id)
	if err != nil {
		httpx.Error(w, r, err)
		return
	}
	if split {
		msgs = splitAtTargetLevel(msgs, target)
		target = latest
	}
	if indexOf(msgs, target) < 0 {
		errorJSON(w, http.StatusNotFound, "Message not found")
		return
	}
	var picked []*librechat.Message
	switch option {
	case forkDirectPath:
		picked = directPath(msgs, target)
	case forkIncludeBranches:
		picked = pathWithBranches(msgs, target)
	default:
		picked = upToTargetLevel(msgs, target)
	}
	h.copyConversation(w, r, orig, orig.Title, picked, http.StatusOK)
}

// duplicate answers POST /api/convos/duplicate.
func (h *handler) duplicate(w http.ResponseWriter, r *http.Request) {
	o, err := decodeObject(r)
	if err != nil {
		fail(w, r, err)
		return
	}
	id, ok := conversationID(o)
	if !ok {
		errorJSON(w, http.StatusBadRequest, "conversationId is required")
		return
	}
	title, _, ok := stringField(o, "title")
	if !ok {
		errorJSON(w, http.StatusBadRequest, "title must be a string")
		return
	}
	ctx := r.Context()
	u := user(r)
	orig, err := h.conversation(ctx, u.ID, id)
	if err != nil {
		fail(w, r, err)
		return
	}
	msgs, err := h.store.Messages(ctx, u.ID, id)
	if err != nil {
		httpx.Error(w, r, err)
		return
	}
	var picked []*librechat.Message
	if len(msgs) > 0 {
		picked = upToTargetLevel(msgs, msgs[len(msgs)-1].ID)
	}
	if title == "" {
		title = orig.Title
	}
	h.copyConversation(w, r, orig, truncateUTF16(title, maxTitle), picked, http.StatusCreated)
}

// copyConversation stores a new conversation with orig's settings and
// fresh copies of msgs, and answers {conversation, messages}.
func (h *handler) copyConversation(w http.ResponseWriter, r *http.Request, orig *librechat.Conversation, title string, msgs []*librechat.Message, status int) {
	ctx := r.Context()
	now := h.now()
	c := &librechat.Conversation{
		ID: h.app.IDs.UUID(), ObjectID: h.app.IDs.ObjectID(), UserID: orig.UserID,
		Title: title, Endpoint: orig.Endpoint, Model: orig.Model,
		IsArchived: orig.IsArchived, Pinned: orig.Pinned,
		IsTemporary: orig.IsTemporary, ExpiredAt: orig.ExpiredAt,
		Tags: slices.Clone(orig.Tags), Fields: maps.Clone(orig.Fields),
		CreatedAt: now, UpdatedAt: now,
	}
	if c.Endpoint == "" {
		c.Endpoint = defaultEndpoint
	}
	copies := h.cloneMessages(msgs, c, now)
	if err := h.save(ctx, c, copies); err != nil {
		fail(w, r, err)
		return
	}
	h.answerConversation(w, r, c, status)
}

// save stores a new conversation and its messages, all or nothing.
func (h *handler) save(ctx context.Context, c *librechat.Conversation, msgs []*librechat.Message) error {
	if err := h.store.PutConversation(ctx, c); err != nil {
		return err
	}
	if len(msgs) > 0 {
		if err := h.store.PutMessages(ctx, msgs...); err != nil {
			var u undo
			u.add(func(ctx context.Context) error {
				_, err := h.store.DeleteConversation(ctx, c.UserID, c.ID)
				return err
			})
			u.run(ctx, h)
			return err
		}
	}
	return nil
}

// answerConversation answers {conversation, messages} as stored.
func (h *handler) answerConversation(w http.ResponseWriter, r *http.Request, c *librechat.Conversation, status int) {
	ctx := r.Context()
	stored, err := h.store.Messages(ctx, c.UserID, c.ID)
	if err != nil {
		httpx.Error(w, r, err)
		return
	}
	resp := forkResponse{Conversation: wire.Conversation(c, objectIDs(stored)), Messages: make([]*wire.Doc, 0, len(stored))}
	for _, m := range stored {
		resp.Messages = append(resp.Messages, wire.Message(m))
	}
	httpx.JSON(w, status, resp)
}

// cloneMessages copies msgs into conversation c with fresh ids. Parent
// links are remapped to the copies (a parent outside the set becomes the
// root marker), each copy is created after its parent, and the state flags
// are reset as LibreChat's import builder does.
func (h *handler) cloneMessages(msgs []*librechat.Message, c *librechat.Conversation, now time.Time) []*librechat.Message {
	idMap := make(map[string]*librechat.Message, len(msgs))
	out := make([]*librechat.Message, 0, len(msgs))
	for _, m := range parentsFirst(msgs) {
		cp := *m
		cp.ID = h.app.IDs.UUID()
		cp.ObjectID = h.app.IDs.ObjectID()
		cp.ConversationID = c.ID
		cp.UserID = c.UserID
		cp.Fields = maps.Clone(m.Fields)
		if cp.Fields == nil {
			cp.Fields = map[string]json.RawMessage{}
		}
		cp.Fields["isEdited"] = json.RawMessage("false")
		cp.Unfinished, cp.Error = false, false
		cp.IsTemporary, cp.ExpiredAt = c.IsTemporary, c.ExpiredAt
		if cp.Endpoint == "" {
			cp.Endpoint = c.Endpoint
		}
		cp.ParentID = librechat.NoParent
		if p, ok := idMap[m.ParentID]; ok && m.ParentID != librechat.NoParent {
			cp.ParentID = p.ID
			if !cp.CreatedAt.After(p.CreatedAt) {
				cp.CreatedAt = p.CreatedAt.Add(time.Millisecond)
			}
		}
		if cp.CreatedAt.IsZero() {
			cp.CreatedAt = now
		}
		if cp.UpdatedAt.Before(cp.CreatedAt) {
			cp.UpdatedAt = cp.CreatedAt
		}
		idMap[m.ID] = &cp
		out = append(out, &cp)
	}
	return out
}

// parentsFirst orders msgs so that every message follows its parent when
// the parent is in the set; otherwise the given order is kept.
func parentsFirst(msgs []*librechat.Message) []*librechat.Message {
	byID := make(map[string]bool, len(msgs))
	for _, m := range msgs {
		byID[m.ID] = true
	}
	children := map[string][]*librechat.Message{}
	var roots []*librechat.Message
	for _, m := range msgs {
		if m.ParentID != librechat.NoParent && m.ParentID != m.ID && byID[m.ParentID] {
			children[m.ParentID] = append(children[m.ParentID], m)
		} else {
			roots = append(roots, m)
		}
	}
	out := make([]*librechat.Message, 0, len(msgs))
	seen := make(map[*librechat.Message]bool, len(msgs))
	queue := roots
	for len(queue) > 0 {
		m := queue[0]
		queue = queue[1:]
		if seen[m] {
			continue
		}
		seen[m] = true
		out = append(out, m)
		queue = append(queue, children[m.ID]...)
	}
	// Messages on a parent cycle are unreachable from any root: keep them,
	// in their given order, detached.
	for _, m := range msgs {
		if !seen[m] {
			seen[m] = true
			out = append(out, m)
		}
	}
	return out
}

func indexOf(msgs []*librechat.Message, id string) int {
	for i, m := range msgs {
		if m.ID == id {
			return i
		}
	}
	return -1
}

func byMessageID(msgs []*librechat.Message) map[string]*librechat.Message {
	out := make(map[string]*librechat.Message, len(msgs))
	for _, m := range msgs {
		if _, dup := out[m.ID]; !dup {
			out[m.ID] = m
		}
	}
	return out
}

// directPath is the chain from the root down to the target, root first.
func directPath(msgs []*librechat.Message, target string) []*librechat.Message {
	byID := byMessageID(msgs)
	var path []*librechat.Message
	seen := map[string]bool{}
	for id := target; id != "" && id != librechat.NoParent && !seen[id]; {
		m, ok := byID[id]
		if !ok {
			break
		}
		seen[id] = true
		path = append(path, m)
		id = m.ParentID
	}
	slices.Reverse(path)
	return path
}

// pathWithBranches is the direct path plus every child of a message on the
// path (the siblings along the way), but nothing below the target.
func pathWithBranches(msgs []*librechat.Message, target string) []*librechat.Message {
	byID := byMessageID(msgs)
	onPath := map[string]bool{}
	for id := target; id != "" && !onPath[id]; {
		m, ok := byID[id]
		if !ok {
			break
		}
		onPath[id] = true
		if m.ParentID == "" || m.ParentID == librechat.NoParent {
			break
		}
		id = m.ParentID
	}
	var out []*librechat.Message
	for _, m := range msgs {
		if onPath[m.ID] || (onPath[m.ParentID] && m.ParentID != target) {
			out = append(out, m)
		}
	}
	return out
}

// childrenOf groups messages by parent id.
func childrenOf(msgs []*librechat.Message) map[string][]*librechat.Message {
	out := map[string][]*librechat.Message{}
	for _, m := range msgs {
		out[m.ParentID] = append(out[m.ParentID], m)
	}
	return out
}

// upToTargetLevel is every message from the roots down to the target's
// depth, level by level: the path, its siblings, and their descendants no
// deeper than the target.
func upToTargetLevel(msgs []*librechat.Message, target string) []*librechat.Message {
	if len(msgs) == 1 && msgs[0].ID == target {
		return msgs
	}
	kids := childrenOf(msgs)
	t := indexOf(msgs, target)
	if t < 0 {
		return nil
	}
	level := kids[librechat.NoParent]
	if len(level) == 0 {
		level = []*librechat.Message{msgs[t]}
	}
	results := slices.Clone(level)
	included := map[*librechat.Message]bool{}
	for _, m := range level {
		included[m] = true
	}
	if msgs[t].ParentID == librechat.NoParent && included[msgs[t]] {
		return results
	}
	visited := map[string]bool{}
	found := false
	for !found && len(level) > 0 {
		var next []*librechat.Message
		for _, node := range level {
			if visited[node.ID] {
				continue
			}
			visited[node.ID] = true
			for _, child := range kids[node.ID] {
				if visited[child.ID] {
					continue
				}
				next = append(next, child)
				if !included[child] {
					included[child] = true
					results = append(results, child)
				}
				if child.ID == target {
					found = true
				}
			}
		}
		level = next
	}
	return results
}

// splitAtTargetLevel keeps the messages at and below the target's depth;
// those at its depth become roots.
func splitAtTargetLevel(msgs []*librechat.Message, target string) []*librechat.Message {
	kids := childrenOf(msgs)
	levels := map[string]int{}
	level := kids[librechat.NoParent]
	for _, m := range level {
		levels[m.ID] = 0
	}
	for depth := 0; len(level) > 0; depth++ {
		var next []*librechat.Message
		for _, node := range level {
			for _, child := range kids[node.ID] {
				if _, seen := levels[child.ID]; seen {
					continue
				}
				levels[child.ID] = depth + 1
				next = append(next, child)
			}
		}
		level = next
	}
	targetLevel, ok := levels[target]
	if !ok {
		return nil
	}
	var out []*librechat.Message
	for _, m := range msgs {
		l, known := levels[m.ID]
		switch {
		case known && l < targetLevel:
			continue
		case known && l == targetLevel:
			cp := *m
			cp.ParentID = librechat.NoParent
			out = append(out, &cp)
		default:
			out = append(out, m)
		}
	}
	return out
}
