package share

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/lcgo/lcgo/shared/auth"
	"github.com/lcgo/lcgo/shared/config"
	"github.com/lcgo/lcgo/shared/httpx"
	"github.com/lcgo/lcgo/shared/librechat"
	"github.com/lcgo/lcgo/shared/wire"
)

// viewable loads a link for its public routes. A public link is open to
// anyone; one created by a role without SHARED_LINKS.SHARE_PUBLIC only to
// its owner. A link whose conversation is gone (deleted, or a temporary
// chat past its expiry) is not found.
func (h *handler) viewable(w http.ResponseWriter, r *http.Request, shareID string) (*librechat.SharedLink, bool) {
	ctx := r.Context()
	sl, err := h.store.Share(ctx, shareID)
	if librechat.IsNotFound(err) {
		fail(w, r, errLinkNotFound)
		return nil, false
	}
	if err != nil {
		httpx.Error(w, r, err)
		return nil, false
	}
	if !sl.IsPublic {
		u, ok := auth.UserFrom(ctx)
		if !ok {
			fail(w, r, errAuthRequired)
			return nil, false
		}
		if u.ID != sl.UserID {
			fail(w, r, errNoViewAccess)
			return nil, false
		}
	}
	if _, err := h.live(ctx, sl.UserID, sl.ConversationID, errLinkNotFound); err != nil {
		fail(w, r, err)
		return nil, false
	}
	return sl, true
}

// sharedView is the public snapshot (getSharedMessages), in Node's key order.
type sharedView struct {
	ShareID        string      `json:"shareId"`
	Title          string      `json:"title"`
	CreatedAt      string      `json:"createdAt"`
	UpdatedAt      string      `json:"updatedAt"`
	ConversationID string      `json:"conversationId"`
	Messages       []*wire.Doc `json:"messages"`
}

// view answers GET /api/share/{shareId}: the shared messages with fresh
// random ids and nothing of the owner (no user id, real conversation or
// message ids, endpoint, model name, files or metadata).
func (h *handler) view(w http.ResponseWriter, r *http.Request) {
	sl, ok := h.viewable(w, r, r.PathValue("shareId"))
	if !ok {
		return
	}
	msgs, err := h.store.Messages(r.Context(), sl.UserID, sl.ConversationID)
	if err != nil {
		httpx.Error(w, r, err)
		return
	}
	inSnapshot := make(map[string]bool, len(sl.MessageIDs))
	for _, id := range sl.MessageIDs {
		inSnapshot[id] = true
	}
	shared := make([]*librechat.Message, 0, len(sl.MessageIDs))
	for _, m := range msgs {
		if inSnapshot[m.ID] {
			shared = append(shared, m)
		}
	}
	out := sharedView{
		ShareID: sl.ShareID, Title: sl.Title, CreatedAt: wire.Time(sl.CreatedAt), UpdatedAt: wire.Time(sl.UpdatedAt),
		ConversationID: "convo_" + nanoid(),
	}
	out.Messages = anonymize(shared, out.ConversationID)
	w.Header().Set("Cache-Control", "private, no-store")
	httpx.JSON(w, http.StatusOK, out)
}

// anonymize renders messages as LibreChat's anonymizeMessages does: an
// allowlist of render fields, every message id replaced by a random one
// (the root's parent stays the null parent), a model shown only when it is
// an assistant id (itself replaced), files and attachments left out (this
// server keeps no file snapshots), and files dropped from steer parts.
func anonymize(msgs []*librechat.Message, convID string) []*wire.Doc {
	ids := make(map[string]string, len(msgs))
	for _, m := range msgs {
		ids[m.ID] = "msg_" + nanoid()
	}
	assistants := map[string]string{}
	out := make([]*wire.Doc, 0, len(msgs))
	for _, m := range msgs {
		parent, ok := ids[m.ParentID]
		switch {
		case m.ParentID == librechat.NoParent || m.ParentID == "":
			parent = librechat.NoParent
		case !ok:
			parent = "msg_" + nanoid()
		}
		d := &wire.Doc{}
		d.Head("messageId", ids[m.ID]).Head("parentMessageId", parent).Head("conversationId", convID)
		d.Head("sender", m.Sender).Head("text", m.Text)
		if len(m.Content) > 0 {
			d.Head("content", json.RawMessage(withoutSteerFiles(m.Content)))
		}
		if v, ok := m.Fields["iconURL"]; ok && truthy(v) {
			d.Head("iconURL", v)
		}
		if strings.HasPrefix(m.Model, "asst_") {
			a, ok := assistants[m.Model]
			if !ok {
				a = "a_" + nanoid()
				assistants[m.Model] = a
			}
			d.Head("model", a)
		}
		d.Head("isCreatedByUser", m.IsCreatedByUser)
		d.Head("createdAt", wire.Time(m.CreatedAt)).Head("updatedAt", wire.Time(m.UpdatedAt))
		if m.TokenCount > 0 || m.IsCreatedByUser {
			d.Head("tokenCount", m.TokenCount)
		}
		d.Head("unfinished", m.Unfinished).Head("error", m.Error)
		if v, ok := m.Fields["finish_reason"]; ok {
			d.Head("finish_reason", v)
		}
		for _, k := range []string{"manualSkills", "alwaysAppliedSkills", "quotes"} {
			if v, ok := m.Fields[k]; ok && truthy(v) {
				d.Head(k, v)
			}
		}
		out = append(out, d)
	}
	return out
}

// withoutSteerFiles removes the files of steer parts from a content array;
// any other content is returned as it is.
func withoutSteerFiles(content json.RawMessage) json.RawMessage {
	var parts []json.RawMessage
	if json.Unmarshal(content, &parts) != nil {
		return content
	}
	changed := false
	for i, p := range parts {
		var o wire.Object
		if json.Unmarshal(p, &o) != nil || o.String("type") != "steer" {
			continue
		}
		if _, ok := o["files"]; !ok {
			continue
		}
		delete(o, "files")
		b, err := json.Marshal(o)
		if err != nil {
			continue
		}
		parts[i], changed = b, true
	}
	if !changed {
		return content
	}
	b, err := json.Marshal(parts)
	if err != nil {
		return content
	}
	return b
}

// truthy mirrors JavaScript truthiness for a JSON value.
func truthy(raw json.RawMessage) bool {
	switch string(bytes.TrimSpace(raw)) {
	case "", "null", "false", `""`, "0", "-0":
		return false
	}
	return true
}

// config answers GET /api/share/{shareId}/config: the startup settings a
// shared page needs (buildSharedLinkStartupPayload), for a viewable link.
func (h *handler) config(w http.ResponseWriter, r *http.Request) {
	if _, ok := h.viewable(w, r, r.PathValue("first")); !ok {
		return
	}
	out := config.NewObject()
	title := h.app.Config.AppTitle
	if title == "" {
		title = "LibreChat"
	}
	out.Set("appTitle", title)
	in := &h.app.Config.File.Interface
	policies := config.NewObject()
	if v, ok := in.Raw.Get("privacyPolicy"); ok && in.PrivacyPolicy != nil {
		policies.Set("privacyPolicy", v)
	}
	if v, ok := in.Raw.Get("termsOfService"); ok && in.TermsOfService != nil {
		policies.Set("termsOfService", v)
	}
	if policies.Len() > 0 {
		out.Set("interface", policies)
	}
	w.Header().Set("Cache-Control", "private, no-store")
	httpx.JSON(w, http.StatusOK, out)
}
