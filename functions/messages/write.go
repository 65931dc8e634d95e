package messages

import (
	"encoding/json"
	"maps"
	"net/http"
	"regexp"
	"time"

	"github.com/lcgo/lcgo/shared/httpx"
	"github.com/lcgo/lcgo/shared/librechat"
	"github.com/lcgo/lcgo/shared/wire"
)

// uuidPattern is the conversation id shape Node's saveMessage accepts.
var uuidPattern = regexp.MustCompile(`^(?i)[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// Temporary chat retention in hours (interface.temporaryChatRetention).
const (
	defaultRetentionHours = 24 * 30
	minRetentionHours     = 1
	maxRetentionHours     = 24 * 365
)

// ignoredBodyKeys are keys of a posted message the server owns.
var ignoredBodyKeys = map[string]bool{
	"_id": true, "__v": true, "user": true, "conversationId": true,
	"createdAt": true, "updatedAt": true, "expiredAt": true, "isTemporary": true,
}

// stringKeys, boolKeys: typed keys of a posted message; each may also be null.
var (
	stringKeys = []string{"parentMessageId", "sender", "text", "endpoint", "model"}
	boolKeys   = []string{"isCreatedByUser", "error", "unfinished", "isTemporary"}
)

// reasoningLabelKeys describe a think part's text as generated; an edit
// drops them.
var reasoningLabelKeys = []string{
	"reasoning_label", "reasoning_label_step_id", "reasoning_label_attempts",
	"reasoning_label_submitted_chars", "reasoning_label_revision", "reasoning_label_status",
}

// Feedback values the client may store (packages/data-provider feedback.ts).
var (
	feedbackRatings = map[string]bool{"thumbsUp": true, "thumbsDown": true}
	feedbackTags    = map[string]bool{
		"not_matched": true, "inaccurate": true, "bad_style": true, "missing_image": true,
		"unjustified_refusal": true, "not_helpful": true, "other": true,
		"accurate_reliable": true, "creative_solution": true, "clear_well_written": true,
		"attention_to_detail": true,
	}
)

const maxFeedbackText = 1024

// create is POST /api/messages/:conversationId: insert a message, or
// update the given keys of the conversation's message with that id.
func (h *handler) create(w http.ResponseWriter, r *http.Request) {
	convID := r.PathValue("conversationId")
	body, ok := decode(w, r)
	if !ok {
		return
	}
	conv, ok := h.conversation(w, r, convID, body, false)
	if !ok {
		return
	}
	id, valid := validMessageBody(body)
	if !valid || !uuidPattern.MatchString(convID) {
		fail(w, http.StatusBadRequest, msgMessageNotSaved)
		return
	}
	ctx, u := r.Context(), user(r)
	existing, err := h.store.Message(ctx, u.ID, convID, id)
	if err != nil && !librechat.IsNotFound(err) {
		httpx.Error(w, r, err)
		return
	}

	now := h.clock.Now()
	doc := wire.Object{}
	if existing != nil {
		raw, err := json.Marshal(wire.Message(existing))
		if err == nil {
			err = json.Unmarshal(raw, &doc)
		}
		if err != nil {
			httpx.Error(w, r, err)
			return
		}
	}
	for k, v := range body {
		if !ignoredBodyKeys[k] {
			doc[k] = v
		}
	}
	if f, ok := numberOf(body["tokenCount"]); ok {
		doc["tokenCount"] = mustRaw(int(f))
	}
	m := wire.MessageFromDoc(doc)
	m.ID, m.ConversationID, m.UserID = id, convID, u.ID
	m.UpdatedAt = now
	if existing != nil {
		m.ObjectID, m.CreatedAt = existing.ObjectID, existing.CreatedAt
		m.IsTemporary, m.ExpiredAt = existing.IsTemporary, existing.ExpiredAt
	} else {
		m.ObjectID, m.CreatedAt = h.ids.ObjectID(), now
		if _, given := body["parentMessageId"]; !given {
			m.ParentID = librechat.NoParent
		}
	}
	if body.Bool("isTemporary") {
		m.IsTemporary, m.ExpiredAt = true, h.temporaryExpiry(now)
	}
	if err := h.store.PutMessages(ctx, m); err != nil {
		if librechat.IsConflict(err) {
			fail(w, http.StatusBadRequest, msgMessageNotSaved)
			return
		}
		httpx.Error(w, r, err)
		return
	}

	if conv != nil {
		c := *conv
		c.Fields = maps.Clone(conv.Fields)
		if _, ok := body["endpoint"]; ok {
			c.Endpoint = m.Endpoint
		}
		if _, ok := body["model"]; ok {
			c.Model = m.Model
		}
		if v, ok := body["iconURL"]; ok {
			if c.Fields == nil {
				c.Fields = map[string]json.RawMessage{}
			}
			if isNull(v) {
				delete(c.Fields, "iconURL")
			} else {
				c.Fields["iconURL"] = v
			}
		}
		c.UpdatedAt = now
		if err := h.store.PutConversation(ctx, &c); err != nil {
			httpx.Error(w, r, err)
			return
		}
	}
	httpx.JSON(w, http.StatusCreated, wire.Message(m))
}

// validMessageBody checks the types of a posted message's typed keys and
// returns its id.
func validMessageBody(body wire.Object) (string, bool) {
	id, ok := stringOf(body["messageId"])
	if !ok || id == "" {
		return "", false
	}
	for _, k := range stringKeys {
		if v, ok := body[k]; ok && !isNull(v) {
			if _, isStr := stringOf(v); !isStr {
				return "", false
			}
		}
	}
	for _, k := range boolKeys {
		if v, ok := body[k]; ok && !isNull(v) && string(v) != "true" && string(v) != "false" {
			return "", false
		}
	}
	if v, ok := body["content"]; ok && !isNull(v) {
		if _, isArr := arrayOf(v); !isArr {
			return "", false
		}
	}
	if v, ok := body["tokenCount"]; ok && !isNull(v) {
		if _, isNum := numberOf(v); !isNum {
			return "", false
		}
	}
	return id, true
}

func (h *handler) temporaryExpiry(now time.Time) time.Time {
	hours := defaultRetentionHours
	if p := h.app.Config.File.Interface.TemporaryChatRetention; p != nil {
		hours = min(max(*p, minRetentionHours), maxRetentionHours)
	}
	return now.Add(time.Duration(hours) * time.Hour)
}

// update is PUT /api/messages/:conversationId/:messageId: {text} replaces
// the message's text; {text, index} replaces the text of one text or think
// part of its content.
func (h *handler) update(w http.ResponseWriter, r *http.Request) {
	convID, id := r.PathValue("conversationId"), r.PathValue("messageId")
	body, ok := decode(w, r)
	if !ok {
		return
	}
	if _, ok := h.conversation(w, r, convID, body, false); !ok {
		return
	}
	m, ok := h.ownMessage(w, r, convID, id)
	if !ok {
		return
	}
	idxRaw, hasIndex := body["index"]
	idx, validIndex := numberOf(idxRaw)
	if hasIndex && (!validIndex || idx < 0) {
		fail(w, http.StatusBadRequest, msgInvalidIndex)
		return
	}
	text, ok := stringOf(body["text"])
	if !ok {
		fail(w, http.StatusBadRequest, msgInvalidText)
		return
	}
	model, _ := stringOf(body["model"])

	if !hasIndex {
		m.Text = text
		m.TokenCount = h.countTokens(text, model)
		m.UpdatedAt = h.clock.Now()
		if h.put(w, r, m) {
			httpx.JSON(w, http.StatusOK, updateResult(m, true))
		}
		return
	}

	parts, isArr := arrayOf(m.Content)
	if !isArr || idx >= float64(len(parts)) {
		fail(w, http.StatusBadRequest, msgInvalidIndex)
		return
	}
	i := int(idx)
	if float64(i) != idx || !truthy(parts[i]) {
		fail(w, http.StatusBadRequest, msgPartNotFound)
		return
	}
	part, isObj := parseObject(parts[i])
	typ := ""
	if isObj {
		typ, _ = part.str("type")
	}
	if typ != "text" && typ != "think" {
		fail(w, http.StatusBadRequest, msgNonTextContent)
		return
	}
	current, _ := part.get(typ)
	var oldText string
	if inner, structured := parseObject(current); structured {
		oldText, _ = inner.str("value")
		inner.set("value", mustRaw(text))
		part.set(typ, mustRaw(inner))
	} else {
		oldText, _ = stringOf(current)
		part.set(typ, mustRaw(text))
	}
	if typ == "think" {
		for _, k := range reasoningLabelKeys {
			part.del(k)
		}
	}
	parts[i] = mustRaw(part)
	m.Content = mustRaw(parts)
	if m.TokenCount > 0 {
		m.TokenCount = max(0, m.TokenCount-h.countTokens(oldText, model)) + h.countTokens(text, model)
	}
	m.UpdatedAt = h.clock.Now()
	if h.put(w, r, m) {
		httpx.JSON(w, http.StatusOK, updateResult(m, m.TokenCount > 0 || m.IsCreatedByUser))
	}
}

// updateResult is what Node's updateMessage answers: a few keys of the
// updated message.
func updateResult(m *librechat.Message, withTokens bool) *wire.Doc {
	d := &wire.Doc{}
	d.Head("messageId", m.ID).Head("conversationId", m.ConversationID).
		Head("parentMessageId", m.ParentID).Head("sender", m.Sender).Head("text", m.Text).
		Head("isCreatedByUser", m.IsCreatedByUser)
	if withTokens {
		d.Head("tokenCount", m.TokenCount)
	}
	if fb, ok := m.Fields["feedback"]; ok {
		d.Head("feedback", fb)
	}
	return d
}

// feedback is PUT /api/messages/:conversationId/:messageId/feedback:
// {feedback: {rating, tag, text?}} rates the message, {} clears it.
func (h *handler) feedback(w http.ResponseWriter, r *http.Request) {
	convID, id := r.PathValue("conversationId"), r.PathValue("messageId")
	body, ok := decode(w, r)
	if !ok {
		return
	}
	if _, ok := h.conversation(w, r, convID, body, false); !ok {
		return
	}
	var stored json.RawMessage
	if raw := body["feedback"]; !isNull(raw) {
		if stored, ok = validFeedback(raw); !ok {
			fail(w, http.StatusBadRequest, msgInvalidFeedback)
			return
		}
	}
	m, ok := h.ownMessage(w, r, convID, id)
	if !ok {
		return
	}
	if stored == nil {
		delete(m.Fields, "feedback")
	} else {
		if m.Fields == nil {
			m.Fields = map[string]json.RawMessage{}
		}
		m.Fields["feedback"] = stored
	}
	m.UpdatedAt = h.clock.Now()
	if !h.put(w, r, m) {
		return
	}
	d := &wire.Doc{}
	d.Head("messageId", id).Head("conversationId", convID)
	if stored == nil {
		d.Head("feedback", nil)
	} else {
		d.Head("feedback", stored)
	}
	httpx.JSON(w, http.StatusOK, d)
}

// validFeedback checks feedback as the client's schema does and returns it
// with only the schema's keys.
func validFeedback(raw json.RawMessage) (json.RawMessage, bool) {
	o, ok := parseObject(raw)
	if !ok {
		return nil, false
	}
	rating, ok := o.str("rating")
	if !ok || !feedbackRatings[rating] {
		return nil, false
	}
	tag, ok := o.str("tag")
	if !ok || !feedbackTags[tag] {
		return nil, false
	}
	out := object{{"rating", mustRaw(rating)}, {"tag", mustRaw(tag)}}
	if v, has := o.get("text"); has {
		text, ok := stringOf(v)
		if !ok || jsLength(text) > maxFeedbackText {
			return nil, false
		}
		out = append(out, field{"text", mustRaw(text)})
	}
	return mustRaw(out), true
}

// remove is DELETE /api/messages/:conversationId/:messageId. Deleting a
// message that is not there succeeds, as in Node.
func (h *handler) remove(w http.ResponseWriter, r *http.Request) {
	convID, id := r.PathValue("conversationId"), r.PathValue("messageId")
	if _, ok := h.conversation(w, r, convID, nil, false); !ok {
		return
	}
	if err := h.store.DeleteMessage(r.Context(), user(r).ID, convID, id); err != nil && !librechat.IsNotFound(err) {
		httpx.Error(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// branch is POST /api/messages/branch {messageId, agentId}: a new sibling
// of a parallel (multi-agent) response holding only that agent's parts.
func (h *handler) branch(w http.ResponseWriter, r *http.Request) {
	body, ok := decode(w, r)
	if !ok {
		return
	}
	messageID, ok1 := stringOf(body["messageId"])
	agentID, ok2 := stringOf(body["agentId"])
	if !ok1 || !ok2 || messageID == "" || agentID == "" {
		fail(w, http.StatusBadRequest, "messageId and agentId are required")
		return
	}
	u := user(r)
	src, err := h.findMessage(r, u.ID, messageID)
	if err != nil {
		if librechat.IsNotFound(err) {
			fail(w, http.StatusNotFound, "Source message not found")
			return
		}
		httpx.Error(w, r, err)
		return
	}
	if src.IsCreatedByUser {
		fail(w, http.StatusBadRequest, "Cannot branch from user messages")
		return
	}
	parts, isArr := arrayOf(src.Content)
	if !isArr {
		fail(w, http.StatusBadRequest, "Message does not have content")
		return
	}
	attributed := false
	var kept []json.RawMessage
	for _, p := range parts {
		part, ok := parseObject(p)
		if !ok {
			continue
		}
		agent, has := part.get("agentId")
		if has && truthy(agent) {
			attributed = true
		}
		if has && isString(agent, agentID) {
			part.del("agentId")
			part.del("groupId")
			kept = append(kept, mustRaw(part))
		}
	}
	if !attributed {
		fail(w, http.StatusBadRequest, "Message does not have parallel content with attributions")
		return
	}
	if len(kept) == 0 {
		fail(w, http.StatusBadRequest, "No content found for the specified agentId")
		return
	}

	now := h.clock.Now()
	nm := &librechat.Message{
		ID: h.ids.UUID(), ObjectID: h.ids.ObjectID(), ConversationID: src.ConversationID, UserID: u.ID,
		ParentID: src.ParentID, Sender: src.Sender, Content: mustRaw(kept),
		Endpoint: src.Endpoint, Model: src.Model,
		IsTemporary: src.IsTemporary, ExpiredAt: src.ExpiredAt,
		Fields:    map[string]json.RawMessage{},
		CreatedAt: now, UpdatedAt: now,
	}
	for _, k := range []string{"attachments", "iconURL"} {
		if v, ok := src.Fields[k]; ok {
			nm.Fields[k] = v
		}
	}
	if err := h.store.PutMessages(r.Context(), nm); err != nil {
		httpx.Error(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusCreated, wire.Message(nm))
}

// ownMessage loads a message of the user's conversation, answering 404
// itself when there is none.
func (h *handler) ownMessage(w http.ResponseWriter, r *http.Request, convID, id string) (*librechat.Message, bool) {
	m, err := h.store.Message(r.Context(), user(r).ID, convID, id)
	if err != nil {
		if librechat.IsNotFound(err) {
			fail(w, http.StatusNotFound, msgMessageNotFound)
			return nil, false
		}
		httpx.Error(w, r, err)
		return nil, false
	}
	return m, true
}

// put stores one message, answering the error itself.
func (h *handler) put(w http.ResponseWriter, r *http.Request, m *librechat.Message) bool {
	if err := h.store.PutMessages(r.Context(), m); err != nil {
		httpx.Error(w, r, err)
		return false
	}
	return true
}
