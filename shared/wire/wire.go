// Package wire turns conversations and messages into the JSON documents the
// LibreChat client reads, and client payloads back into them. Key order
// follows LibreChat's server (a few leading keys, then the rest sorted), so
// responses compare byte for byte with its captures.
package wire

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"time"

	"github.com/lcgo/lcgo/shared/librechat"
)

// Time formats t as the client expects (ISO 8601, milliseconds, UTC).
func Time(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000Z")
}

// ParseTime reads a time written by Time, RFC 3339, or a JSON string of either.
func ParseTime(s string) (time.Time, bool) {
	s = strings.Trim(s, `"`)
	for _, layout := range []string{"2006-01-02T15:04:05.000Z", time.RFC3339Nano} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

// Doc is an ordered JSON object under construction.
type Doc struct {
	head []kv
	rest map[string]json.RawMessage
	tail []kv
}

type kv struct {
	k string
	v json.RawMessage
}

// raw encodes v as Node does: no HTML escaping of <, > and &.
func raw(v any) json.RawMessage {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return json.RawMessage("null")
	}
	return bytes.TrimRight(b.Bytes(), "\n")
}

// Head appends a key to the fixed leading part.
func (d *Doc) Head(k string, v any) *Doc {
	d.head = append(d.head, kv{k, raw(v)})
	return d
}

// Set puts a key in the sorted middle part, replacing an earlier value.
func (d *Doc) Set(k string, v any) *Doc {
	if d.rest == nil {
		d.rest = map[string]json.RawMessage{}
	}
	d.rest[k] = raw(v)
	return d
}

// SetRaw is Set for an already encoded value.
func (d *Doc) SetRaw(k string, v json.RawMessage) *Doc {
	if d.rest == nil {
		d.rest = map[string]json.RawMessage{}
	}
	d.rest[k] = v
	return d
}

// Tail appends a key to the fixed trailing part.
func (d *Doc) Tail(k string, v any) *Doc {
	d.tail = append(d.tail, kv{k, raw(v)})
	return d
}

// MarshalJSON writes head keys, then the middle keys sorted, then tail keys.
// A key present in head or tail is not repeated from the middle.
func (d *Doc) MarshalJSON() ([]byte, error) {
	fixed := map[string]bool{}
	for _, p := range d.head {
		fixed[p.k] = true
	}
	for _, p := range d.tail {
		fixed[p.k] = true
	}
	keys := make([]string, 0, len(d.rest))
	for k := range d.rest {
		if !fixed[k] {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	var b bytes.Buffer
	b.WriteByte('{')
	n := 0
	write := func(k string, v json.RawMessage) {
		if n > 0 {
			b.WriteByte(',')
		}
		n++
		kb, _ := json.Marshal(k)
		b.Write(kb)
		b.WriteByte(':')
		b.Write(v)
	}
	for _, p := range d.head {
		write(p.k, p.v)
	}
	for _, k := range keys {
		write(k, d.rest[k])
	}
	for _, p := range d.tail {
		write(p.k, p.v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

func expired(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return Time(t)
}

// Conversation is the full stored document, as LibreChat returns it from
// rename, archive and the final frame. messageObjectIDs are the _id values
// of its messages.
func Conversation(c *librechat.Conversation, messageObjectIDs []string) *Doc {
	d := &Doc{}
	tags := c.Tags
	if tags == nil {
		tags = []string{}
	}
	d.Head("tags", tags)
	if v, ok := c.Fields["chatProjectId"]; ok {
		d.head = append(d.head, kv{"chatProjectId", v})
	} else {
		d.Head("chatProjectId", nil)
	}
	d.Head("_id", c.ObjectID).Head("conversationId", c.ID).Head("user", c.UserID).Head("__v", 0)
	for k, v := range c.Fields {
		d.SetRaw(k, v)
	}
	d.Set("createdAt", Time(c.CreatedAt)).Set("updatedAt", Time(c.UpdatedAt))
	d.Set("endpoint", c.Endpoint)
	if c.Model != "" {
		d.Set("model", c.Model)
	}
	d.Set("title", c.Title).Set("isArchived", c.IsArchived).Set("isTemporary", c.IsTemporary)
	d.Set("expiredAt", expired(c.ExpiredAt))
	if c.Pinned {
		d.Set("pinned", true)
	}
	if messageObjectIDs == nil {
		messageObjectIDs = []string{}
	}
	d.Set("messages", messageObjectIDs)
	if v, ok := c.Fields["files"]; ok {
		d.tail = append(d.tail, kv{"files", v})
	} else {
		d.Tail("files", []string{})
	}
	return d
}

// listFields are the keys a conversation list item carries when set.
var listFields = []string{"agent_id", "assistant_id", "spec", "iconURL", "chatProjectId"}

// ConversationListItem is the short form of the sidebar list.
func ConversationListItem(c *librechat.Conversation) *Doc {
	d := &Doc{}
	d.Head("_id", c.ObjectID).Head("conversationId", c.ID).Head("user", c.UserID)
	for _, k := range listFields {
		if v, ok := c.Fields[k]; ok && string(v) != "null" {
			d.SetRaw(k, v)
		}
	}
	d.Set("createdAt", Time(c.CreatedAt)).Set("updatedAt", Time(c.UpdatedAt))
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

// Message is the stored message document, as GET /api/messages returns it.
func Message(m *librechat.Message) *Doc {
	d := &Doc{}
	d.Head("messageId", m.ID)
	for k, v := range m.Fields {
		d.SetRaw(k, v)
	}
	d.Set("conversationId", m.ConversationID)
	d.Set("createdAt", Time(m.CreatedAt)).Set("updatedAt", Time(m.UpdatedAt))
	if m.Endpoint != "" {
		d.Set("endpoint", m.Endpoint)
	}
	if m.Model != "" {
		d.Set("model", m.Model)
	}
	d.Set("error", m.Error).Set("unfinished", m.Unfinished)
	d.Set("expiredAt", expired(m.ExpiredAt)).Set("isTemporary", m.IsTemporary)
	d.Set("isCreatedByUser", m.IsCreatedByUser)
	d.Set("parentMessageId", m.ParentID)
	d.Set("sender", m.Sender).Set("text", m.Text)
	if m.TokenCount > 0 || m.IsCreatedByUser {
		d.Set("tokenCount", m.TokenCount)
	}
	if len(m.Content) > 0 {
		d.SetRaw("content", m.Content)
	}
	return d
}

// Object is a decoded JSON object whose values are kept raw.
type Object map[string]json.RawMessage

// String returns the string value of key, or "" when absent or not a string.
func (o Object) String(key string) string {
	var s string
	if v, ok := o[key]; ok {
		_ = json.Unmarshal(v, &s)
	}
	return s
}

// Bool returns the boolean value of key, or false.
func (o Object) Bool(key string) bool {
	var b bool
	if v, ok := o[key]; ok {
		_ = json.Unmarshal(v, &b)
	}
	return b
}

// Has reports whether key is present and not null.
func (o Object) Has(key string) bool {
	v, ok := o[key]
	return ok && string(v) != "null"
}

// conversationOwned are keys the server owns on a conversation document;
// they are never taken from the client as fields.
var conversationOwned = map[string]bool{
	"_id": true, "__v": true, "user": true, "conversationId": true, "messages": true,
	"createdAt": true, "updatedAt": true, "title": true, "endpoint": true, "model": true,
	"isArchived": true, "pinned": true, "isTemporary": true, "expiredAt": true, "tags": true,
}

// ConversationParams are the model parameter keys a chat request carries
// that are kept on the conversation (so GET /api/convos/:id restores the
// chat settings).
var ConversationParams = []string{
	"endpointType", "agent_id", "assistant_id", "spec", "iconURL", "modelLabel", "promptPrefix",
	"temperature", "top_p", "topP", "topK", "frequency_penalty", "presence_penalty",
	"max_tokens", "maxOutputTokens", "maxContextTokens", "resendFiles", "imageDetail",
	"reasoning_effort", "reasoning_summary", "verbosity", "useResponsesApi", "thinking",
	"thinkingBudget", "thinkingLevel", "effort", "promptCache", "web_search", "stop",
	"greeting", "instructions", "artifacts", "region", "maxTokens", "fileTokenLimit",
	"chatProjectId", "context", "examples", "system", "tools",
}

// ApplyConversationFields copies the client-owned keys of o that are known
// conversation parameters into c.Fields.
func ApplyConversationFields(c *librechat.Conversation, o Object) {
	for _, k := range ConversationParams {
		v, ok := o[k]
		if !ok || conversationOwned[k] {
			continue
		}
		if c.Fields == nil {
			c.Fields = map[string]json.RawMessage{}
		}
		if string(v) == "null" {
			delete(c.Fields, k)
			continue
		}
		c.Fields[k] = v
	}
}

// ConversationFromDoc builds a conversation from an exported or client
// document (import, fork): typed keys are read, every other key that is not
// owned by the server is kept in Fields.
func ConversationFromDoc(o Object) *librechat.Conversation {
	c := &librechat.Conversation{
		ID:         o.String("conversationId"),
		Title:      o.String("title"),
		Endpoint:   o.String("endpoint"),
		Model:      o.String("model"),
		IsArchived: o.Bool("isArchived"),
		Pinned:     o.Bool("pinned"),
		Fields:     map[string]json.RawMessage{},
	}
	if v, ok := o["tags"]; ok {
		_ = json.Unmarshal(v, &c.Tags)
	}
	if t, ok := ParseTime(o.String("createdAt")); ok {
		c.CreatedAt = t
	}
	if t, ok := ParseTime(o.String("updatedAt")); ok {
		c.UpdatedAt = t
	}
	for k, v := range o {
		if !conversationOwned[k] && string(v) != "null" {
			c.Fields[k] = v
		}
	}
	return c
}

var messageOwned = map[string]bool{
	"_id": true, "__v": true, "user": true, "messageId": true, "conversationId": true,
	"parentMessageId": true, "sender": true, "text": true, "content": true,
	"isCreatedByUser": true, "endpoint": true, "model": true, "error": true, "unfinished": true,
	"isTemporary": true, "expiredAt": true, "tokenCount": true, "createdAt": true, "updatedAt": true,
}

// MessageFromDoc builds a message from an exported or client document.
func MessageFromDoc(o Object) *librechat.Message {
	m := &librechat.Message{
		ID:              o.String("messageId"),
		ConversationID:  o.String("conversationId"),
		ParentID:        o.String("parentMessageId"),
		Sender:          o.String("sender"),
		Text:            o.String("text"),
		IsCreatedByUser: o.Bool("isCreatedByUser"),
		Endpoint:        o.String("endpoint"),
		Model:           o.String("model"),
		Error:           o.Bool("error"),
		Unfinished:      o.Bool("unfinished"),
		Fields:          map[string]json.RawMessage{},
	}
	if v, ok := o["content"]; ok && string(v) != "null" {
		m.Content = v
	}
	if v, ok := o["tokenCount"]; ok {
		_ = json.Unmarshal(v, &m.TokenCount)
	}
	if t, ok := ParseTime(o.String("createdAt")); ok {
		m.CreatedAt = t
	}
	if t, ok := ParseTime(o.String("updatedAt")); ok {
		m.UpdatedAt = t
	}
	for k, v := range o {
		if !messageOwned[k] && string(v) != "null" {
			m.Fields[k] = v
		}
	}
	return m
}
