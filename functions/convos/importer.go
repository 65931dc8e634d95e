package convos

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode/utf16"

	"github.com/lcgo/lcgo/shared/librechat"
	"github.com/lcgo/lcgo/shared/wire"
)

const (
	msgImported = "Conversation(s) imported successfully"
	// openAIDefaultModel is the model LibreChat gives imported OpenAI chats
	// that name none.
	openAIDefaultModel = "gpt-4o-mini"
	endpointAnthropic  = "anthropic"
)

// importFile answers POST /api/convos/import (multipart, field "file").
// The whole file is checked before anything is stored, and a failure while
// storing removes what was stored.
func (h *handler) importFile(w http.ResponseWriter, r *http.Request) {
	data, status, msg := h.readImport(r)
	if status != 0 {
		messageJSON(w, status, msg)
		return
	}
	convs, err := h.parseImport(data, user(r).ID)
	if err != nil {
		if librechat.KindOf(err) == librechat.KindInvalid {
			messageJSON(w, http.StatusBadRequest, librechat.MessageOf(err))
			return
		}
		fail(w, r, err)
		return
	}
	ctx := r.Context()
	var u undo
	for _, ic := range convs {
		if err := h.save(ctx, ic.conv, ic.msgs); err != nil {
			u.run(ctx, h)
			fail(w, r, err)
			return
		}
		c := ic.conv
		u.add(func(ctx context.Context) error {
			_, err := h.store.DeleteConversation(ctx, c.UserID, c.ID)
			return err
		})
	}
	messageJSON(w, http.StatusCreated, msgImported)
}

// readImport returns the uploaded file, or a status and message to answer.
func (h *handler) readImport(r *http.Request) ([]byte, int, string) {
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, http.StatusBadRequest, "Request must be multipart/form-data with a \"file\" field"
	}
	tooLarge := func() ([]byte, int, string) {
		return nil, http.StatusRequestEntityTooLarge,
			fmt.Sprintf("File exceeds the maximum import size of %d bytes", h.importMax)
	}
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return nil, http.StatusBadRequest, "No file uploaded"
		}
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return tooLarge()
		}
		if err != nil {
			return nil, http.StatusBadRequest, "Malformed multipart body"
		}
		if part.FormName() != "file" {
			_, _ = io.Copy(io.Discard, part)
			_ = part.Close()
			continue
		}
		data, err := io.ReadAll(io.LimitReader(part, h.importMax+1))
		_ = part.Close()
		if errors.As(err, &mbe) || int64(len(data)) > h.importMax {
			return tooLarge()
		}
		if err != nil {
			return nil, http.StatusBadRequest, "Malformed multipart body"
		}
		return data, 0, ""
	}
}

// imported is one conversation ready to store.
type imported struct {
	conv *librechat.Conversation
	msgs []*librechat.Message
}

func invalid(format string, args ...any) error {
	return librechat.E(librechat.KindInvalid, format, args...)
}

// parseImport recognises the export format as LibreChat does and builds
// every conversation it holds.
func (h *handler) parseImport(data []byte, userID string) ([]imported, error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, invalid("The file is empty")
	}
	if !json.Valid(data) {
		var v any
		err := json.Unmarshal(data, &v)
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return nil, invalid("The file is not valid JSON (error at byte %d)", se.Offset)
		}
		return nil, invalid("The file is not valid JSON")
	}
	b := &importBuilder{h: h, userID: userID, now: h.now()}
	switch firstByte(data) {
	case '[':
		var items []json.RawMessage
		if err := json.Unmarshal(data, &items); err != nil {
			return nil, invalid("The file is not valid JSON")
		}
		if len(items) > 0 {
			first, err := asObject(items[0], "conversation 1")
			if err == nil && first.Has("chat_messages") {
				return b.claude(items)
			}
			if err != nil || !first.Has("mapping") {
				return nil, invalid("Unsupported import type")
			}
		}
		return b.chatGPT(items)
	case '{':
		o, err := asObject(data, "The file")
		if err != nil {
			return nil, err
		}
		if o.Has("version") && firstByte(o["history"]) == '[' {
			return b.chatbotUI(o)
		}
		if truthy(o["conversationId"]) && (truthy(o["messagesTree"]) || truthy(o["messages"])) {
			return b.libreChat(o)
		}
	}
	return nil, invalid("Unsupported import type")
}

// importBuilder assembles imported conversations.
type importBuilder struct {
	h      *handler
	userID string
	now    time.Time
	out    []imported
}

// start returns an empty conversation with fresh ids.
func (b *importBuilder) start(endpoint string) *librechat.Conversation {
	return &librechat.Conversation{
		ID: b.h.app.IDs.UUID(), ObjectID: b.h.app.IDs.ObjectID(), UserID: b.userID,
		Endpoint: endpoint, Fields: map[string]json.RawMessage{},
	}
}

// finish completes c with title and time, adopts msgs (already linked by
// their source ids) with fresh ids, and queues the conversation.
func (b *importBuilder) finish(c *librechat.Conversation, title, fallbackTitle string, at time.Time, msgs []*librechat.Message) {
	if title == "" {
		title = fallbackTitle
	}
	c.Title = truncateUTF16(title, maxTitle)
	if at.IsZero() {
		at = b.now
	}
	c.CreatedAt, c.UpdatedAt = at, at
	b.out = append(b.out, imported{conv: c, msgs: b.h.cloneMessages(msgs, c, b.now)})
}

func (b *importBuilder) defaultModel(endpoint string) string {
	if endpoint == defaultEndpoint {
		return openAIDefaultModel
	}
	if models := b.h.app.Config.StaticModels(endpoint); len(models) > 0 {
		return models[0]
	}
	return ""
}

// libreChat imports LibreChat's own JSON export: conversation settings in
// "options" and the messages either as a flat list linked by
// parentMessageId or, when recursive, as a tree of "children".
func (b *importBuilder) libreChat(o wire.Object) ([]imported, error) {
	opts, err := asObject(o["options"], "options")
	if err != nil {
		return nil, err
	}
	endpoint, present, ok := stringField(o, "endpoint")
	if !present || !ok {
		endpoint, present, ok = stringField(opts, "endpoint")
		if !present || !ok {
			endpoint = defaultEndpoint
		}
	}
	if _, offered := b.h.app.Config.Endpoint(endpoint); !offered {
		if eps := b.h.app.Config.Endpoints(); len(eps) > 0 {
			endpoint = eps[0].Name
		} else {
			endpoint = defaultEndpoint
		}
	}
	key := "messages"
	if truthy(o["messagesTree"]) {
		key = "messagesTree"
	}
	var nodes []json.RawMessage
	if firstByte(o[key]) != '[' || json.Unmarshal(o[key], &nodes) != nil {
		return nil, invalid("%s must be an array", key)
	}
	recursive := truthy(o["recursive"]) || key == "messagesTree"
	var msgs []*librechat.Message
	if recursive {
		msgs, err = flattenTree(nodes, librechat.NoParent, key, 0)
	} else {
		msgs, err = flatList(nodes, key)
	}
	if err != nil {
		return nil, err
	}
	var first time.Time
	for _, m := range msgs {
		if !m.CreatedAt.IsZero() {
			first = m.CreatedAt
			break
		}
	}
	c := wire.ConversationFromDoc(opts)
	c.ID, c.ObjectID, c.UserID = b.h.app.IDs.UUID(), b.h.app.IDs.ObjectID(), b.userID
	c.Endpoint = endpoint
	if c.Model == "" {
		c.Model = b.defaultModel(endpoint)
	}
	title, _, _ := stringField(o, "title")
	b.finish(c, title, "Imported Chat", first, msgs)
	return b.out, nil
}

// maxTreeDepth bounds recursion through an imported message tree.
const maxTreeDepth = 10000

// flattenTree turns a "children" tree into a flat list whose parent links
// follow the tree. A node with neither text nor content is dropped with
// its subtree, as LibreChat does.
func flattenTree(nodes []json.RawMessage, parent, path string, depth int) ([]*librechat.Message, error) {
	if depth > maxTreeDepth {
		return nil, invalid("%s is nested too deeply", path)
	}
	var out []*librechat.Message
	for i, raw := range nodes {
		where := fmt.Sprintf("%s[%d]", path, i)
		o, err := asObject(raw, where)
		if err != nil || isNull(raw) {
			return nil, invalid("%s must be an object", where)
		}
		if !truthy(o["text"]) && !truthy(o["content"]) {
			continue
		}
		m, err := importedMessage(o, where)
		if err != nil {
			return nil, err
		}
		m.ParentID = parent
		out = append(out, m)
		if kids, ok := o["children"]; ok && !isNull(kids) {
			var children []json.RawMessage
			if firstByte(kids) != '[' || json.Unmarshal(kids, &children) != nil {
				return nil, invalid("%s.children must be an array", where)
			}
			sub, err := flattenTree(children, m.ID, where+".children", depth+1)
			if err != nil {
				return nil, err
			}
			out = append(out, sub...)
		}
	}
	return out, nil
}

// flatList reads a flat message list linked by parentMessageId.
func flatList(nodes []json.RawMessage, path string) ([]*librechat.Message, error) {
	out := make([]*librechat.Message, 0, len(nodes))
	for i, raw := range nodes {
		where := fmt.Sprintf("%s[%d]", path, i)
		o, err := asObject(raw, where)
		if err != nil || isNull(raw) {
			return nil, invalid("%s must be an object", where)
		}
		m, err := importedMessage(o, where)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}

// importedMessage reads one exported message, keeping its own ids for
// linking (they are replaced before storing).
func importedMessage(o wire.Object, where string) (*librechat.Message, error) {
	for _, k := range []string{"messageId", "parentMessageId", "text", "sender"} {
		if _, _, ok := stringField(o, k); !ok {
			return nil, invalid("%s.%s must be a string", where, k)
		}
	}
	m := wire.MessageFromDoc(o)
	delete(m.Fields, "children")
	if m.ID == "" {
		m.ID = fmt.Sprintf("\x00%s", where)
	}
	if m.ParentID == "" {
		m.ParentID = librechat.NoParent
	}
	if len(m.Content) > 0 && firstByte(m.Content) != '[' {
		m.Content = append(append(json.RawMessage("["), trim(m.Content)...), ']')
	}
	return m, nil
}

// chatGPT imports ChatGPT's conversations.json: an array of conversations,
// each a "mapping" of nodes linked by parent ids.
func (b *importBuilder) chatGPT(items []json.RawMessage) ([]imported, error) {
	model := openAIDefaultModel
	for i, raw := range items {
		where := fmt.Sprintf("conversation %d", i+1)
		conv, err := asObject(raw, where)
		if err != nil || isNull(raw) {
			return nil, invalid("%s must be an object", where)
		}
		keys, nodes, err := orderedObject(conv["mapping"])
		if err != nil {
			return nil, invalid("%s: mapping must be an object", where)
		}
		type node struct {
			parent string
			msg    wire.Object
			role   string
		}
		parsed := make(map[string]*node, len(keys))
		withType := map[string]bool{}
		for _, k := range keys {
			n, err := asObject(nodes[k], where+" mapping node")
			if err != nil {
				return nil, invalid("%s: mapping[%q] must be an object", where, k)
			}
			pn := &node{}
			pn.parent, _, _ = stringField(n, "parent")
			if n.Has("message") {
				msg, err := asObject(n["message"], "message")
				if err != nil {
					return nil, invalid("%s: mapping[%q].message must be an object", where, k)
				}
				pn.msg = msg
				author, _ := asObject(msg["author"], "author")
				pn.role, _, _ = stringField(author, "role")
				content, _ := asObject(msg["content"], "content")
				if truthy(content["content_type"]) {
					withType[k] = true
				}
			}
			parsed[k] = pn
		}
		var parentOf func(id string, hops int) string
		parentOf = func(id string, hops int) string {
			if id == "" || !withType[id] || hops > len(keys) {
				return librechat.NoParent
			}
			p := parsed[id]
			if p.msg == nil {
				return librechat.NoParent
			}
			if p.role == "system" {
				return parentOf(p.parent, hops+1)
			}
			return id
		}
		convTime := unixSeconds(conv["create_time"])
		var msgs []*librechat.Message
		for _, k := range keys {
			n := parsed[k]
			if n.msg == nil || n.role == "system" || !withType[k] {
				continue
			}
			text, err := chatGPTText(n.msg, n.role)
			if err != nil {
				return nil, invalid("%s: mapping[%q]: %s", where, k, librechat.MessageOf(err))
			}
			meta, _ := asObject(n.msg["metadata"], "metadata")
			slug, _, _ := stringField(meta, "model_slug")
			if slug == "" {
				slug = model
			}
			isUser := n.role == "user"
			sender := "user"
			if !isUser {
				if m := gptSlug.FindStringSubmatch(slug); m != nil {
					sender = "GPT-" + m[1]
				} else {
					sender = slug
				}
			}
			at := unixSeconds(n.msg["create_time"])
			if at.IsZero() {
				at = convTime
			}
			msgs = append(msgs, &librechat.Message{
				ID: k, ParentID: parentOf(n.parent, 0), Text: text, Sender: sender,
				IsCreatedByUser: isUser, Model: slug, Endpoint: defaultEndpoint, CreatedAt: at,
				Fields: map[string]json.RawMessage{},
			})
		}
		c := b.start(defaultEndpoint)
		c.Model = model
		title, _, _ := stringField(conv, "title")
		b.finish(c, title, "Imported Chat", convTime, msgs)
	}
	return b.out, nil
}

var gptSlug = regexp.MustCompile(`(?i)gpt-(.+)`)

// unixSeconds reads a JSON number of seconds since the epoch (zero time
// when absent or not a positive number).
func unixSeconds(raw json.RawMessage) time.Time {
	var f float64
	if raw == nil || json.Unmarshal(raw, &f) != nil || f <= 0 || math.IsInf(f, 0) || f > 1e12 {
		return time.Time{}
	}
	return time.UnixMilli(int64(f * 1000)).UTC()
}

// chatGPTText renders a ChatGPT message's content as LibreChat does.
func chatGPTText(msg wire.Object, role string) (string, error) {
	content, err := asObject(msg["content"], "content")
	if err != nil {
		return "", invalid("content must be an object")
	}
	ctype, _, _ := stringField(content, "content_type")
	var parts []json.RawMessage
	hasParts := false
	if p, ok := content["parts"]; ok && truthy(p) {
		if firstByte(p) != '[' || json.Unmarshal(p, &parts) != nil {
			return "", invalid("content.parts must be an array")
		}
		hasParts = true
	}
	isText := ctype == "text"
	var text string
	switch {
	case isText && hasParts:
		strs := make([]string, len(parts))
		for i, p := range parts {
			strs[i] = jsJoinValue(p)
		}
		text = strings.Join(strs, " ")
	case ctype == "code":
		lang, _, _ := stringField(content, "language")
		body, _, _ := stringField(content, "text")
		text = "```" + lang + "\n" + body + "\n```"
	case ctype == "execution_output":
		body, _, _ := stringField(content, "text")
		text = "Execution Output:\n> " + body
	case hasParts:
		for _, p := range parts {
			switch firstByte(p) {
			case '"':
				var s string
				_ = json.Unmarshal(p, &s)
				text += s + " "
			case '{', '[':
				text = "```json\n" + indentJSON(p) + "\n```\n"
			}
		}
		text = strings.TrimSpace(text)
	default:
		text = "```json\n" + indentJSON(msg["content"]) + "\n```"
	}
	if isText && role != "user" {
		text = withCitations(msg, text)
	}
	return text, nil
}

// jsJoinValue is how Array.prototype.join renders one element.
func jsJoinValue(raw json.RawMessage) string {
	switch firstByte(raw) {
	case '"':
		var s string
		_ = json.Unmarshal(raw, &s)
		return s
	case 0, 'n':
		return ""
	case '{':
		return "[object Object]"
	case '[':
		var items []json.RawMessage
		_ = json.Unmarshal(raw, &items)
		strs := make([]string, len(items))
		for i, it := range items {
			strs[i] = jsJoinValue(it)
		}
		return strings.Join(strs, ",")
	}
	return string(trim(raw))
}

func indentJSON(raw json.RawMessage) string {
	var buf bytes.Buffer
	if err := json.Indent(&buf, trim(raw), "", "  "); err != nil {
		return string(raw)
	}
	return buf.String()
}

// withCitations replaces each cited web span of an assistant message with
// a Markdown link, from the last span to the first.
func withCitations(msg wire.Object, text string) string {
	if text == "" {
		return text
	}
	meta, _ := asObject(msg["metadata"], "metadata")
	var cites []struct {
		Start    *int `json:"start_ix"`
		End      *int `json:"end_ix"`
		Metadata struct {
			Type  string `json:"type"`
			Title string `json:"title"`
			URL   string `json:"url"`
		} `json:"metadata"`
	}
	if raw, ok := meta["citations"]; !ok || json.Unmarshal(raw, &cites) != nil {
		return text
	}
	sort.SliceStable(cites, func(i, j int) bool {
		a, b := cites[i].Start, cites[j].Start
		return a != nil && (b == nil || *a > *b)
	})
	units := utf16.Encode([]rune(text))
	for _, c := range cites {
		if c.Metadata.Type != "webpage" || c.Start == nil || c.End == nil || *c.Start >= *c.End || *c.Start < 0 {
			continue
		}
		s, e := min(*c.Start, len(units)), min(*c.End, len(units))
		repl := utf16.Encode([]rune(" ([" + c.Metadata.Title + "](" + c.Metadata.URL + "))"))
		units = slices.Concat(units[:s], repl, units[e:])
	}
	return string(utf16.Decode(units))
}

// orderedObject decodes a JSON object keeping its key order.
func orderedObject(raw json.RawMessage) ([]string, map[string]json.RawMessage, error) {
	if firstByte(raw) != '{' {
		return nil, nil, errors.New("not an object")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	if _, err := dec.Token(); err != nil {
		return nil, nil, err
	}
	var keys []string
	vals := map[string]json.RawMessage{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, nil, err
		}
		k, _ := tok.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, nil, err
		}
		if _, dup := vals[k]; !dup {
			keys = append(keys, k)
		}
		vals[k] = v
	}
	return keys, vals, nil
}

// claude imports Claude's export: an array of conversations, each a linear
// list of chat_messages.
func (b *importBuilder) claude(items []json.RawMessage) ([]imported, error) {
	model := b.defaultModel(endpointAnthropic)
	for i, raw := range items {
		where := fmt.Sprintf("conversation %d", i+1)
		conv, err := asObject(raw, where)
		if err != nil || isNull(raw) {
			return nil, invalid("%s must be an object", where)
		}
		var chat []json.RawMessage
		if v := conv["chat_messages"]; !isNull(v) && (firstByte(v) != '[' || json.Unmarshal(v, &chat) != nil) {
			return nil, invalid("%s: chat_messages must be an array", where)
		}
		convTime := isoTime(conv["created_at"])
		parent := librechat.NoParent
		var msgs []*librechat.Message
		for j, mraw := range chat {
			mo, err := asObject(mraw, "message")
			if err != nil || isNull(mraw) {
				return nil, invalid("%s: chat_messages[%d] must be an object", where, j)
			}
			var parts []struct {
				Type     string `json:"type"`
				Text     string `json:"text"`
				Thinking string `json:"thinking"`
			}
			if v := mo["content"]; !isNull(v) && json.Unmarshal(v, &parts) != nil {
				return nil, invalid("%s: chat_messages[%d].content must be an array", where, j)
			}
			var text, thinking string
			for _, p := range parts {
				switch p.Type {
				case "text":
					text += p.Text
				case "thinking":
					thinking += p.Thinking
				}
			}
			if text == "" {
				text, _, _ = stringField(mo, "text")
			}
			if text == "" && thinking == "" {
				continue
			}
			sender, _, _ := stringField(mo, "sender")
			isUser := sender == "human"
			m := &librechat.Message{
				ID: fmt.Sprintf("%d", j), ParentID: parent, Text: text, IsCreatedByUser: isUser,
				Sender: "Claude", Endpoint: endpointAnthropic, Fields: map[string]json.RawMessage{},
			}
			if isUser {
				m.Sender = "user"
			}
			if m.CreatedAt = isoTime(mo["created_at"]); m.CreatedAt.IsZero() {
				m.CreatedAt = convTime
			}
			if thinking != "" && !isUser {
				m.Content, _ = json.Marshal([]map[string]string{
					{"type": "think", "think": thinking}, {"type": "text", "text": text},
				})
			}
			msgs = append(msgs, m)
			parent = m.ID
		}
		c := b.start(endpointAnthropic)
		c.Model = model
		name, _, _ := stringField(conv, "name")
		b.finish(c, name, "Imported Claude Chat", convTime, msgs)
	}
	return b.out, nil
}

func isoTime(raw json.RawMessage) time.Time {
	var s string
	if raw == nil || json.Unmarshal(raw, &s) != nil {
		return time.Time{}
	}
	t, _ := wire.ParseTime(s)
	return t
}

// chatbotUI imports a chatbot-ui v1 export: {version, history: [...]}.
func (b *importBuilder) chatbotUI(o wire.Object) ([]imported, error) {
	var history []json.RawMessage
	if err := json.Unmarshal(o["history"], &history); err != nil {
		return nil, invalid("history must be an array")
	}
	for i, raw := range history {
		where := fmt.Sprintf("history[%d]", i)
		item, err := asObject(raw, where)
		if err != nil || isNull(raw) {
			return nil, invalid("%s must be an object", where)
		}
		var chat []struct {
			Role    string `json:"role"`
			Content string `json:"content"`
		}
		if v := item["messages"]; !isNull(v) && json.Unmarshal(v, &chat) != nil {
			return nil, invalid("%s.messages must be an array of {role, content}", where)
		}
		modelObj, _ := asObject(item["model"], "model")
		modelID, _, _ := stringField(modelObj, "id")
		parent := librechat.NoParent
		var msgs []*librechat.Message
		for j, cm := range chat {
			m := &librechat.Message{
				ID: fmt.Sprintf("%d", j), ParentID: parent, Text: cm.Content,
				Endpoint: defaultEndpoint, Fields: map[string]json.RawMessage{},
			}
			switch cm.Role {
			case "assistant":
				m.Sender, m.Model = "GPT-3.5", modelID
				if m.Model == "" {
					m.Model = openAIDefaultModel
				}
			case "user":
				m.Sender, m.IsCreatedByUser = "user", true
			default:
				continue
			}
			msgs = append(msgs, m)
			parent = m.ID
		}
		c := b.start(defaultEndpoint)
		c.Model = openAIDefaultModel
		name, _, _ := stringField(item, "name")
		b.finish(c, name, "Imported Chat", time.Time{}, msgs)
	}
	return b.out, nil
}
