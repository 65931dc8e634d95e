package dynamo

import (
	"bytes"
	"compress/flate"
	"context"
	"encoding/json"
	"errors"
	"io"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/lcgo/lcgo/shared/librechat"
)

// Long messages: a body (text, content and fields) over inlineBody bytes
// is stored deflated in the message item; a deflated body over chunkBytes
// is split into chunk items of one write generation, which the message
// item names. maxChunks chunks hold more than the 3 MB the HTTP layer
// accepts in one request.
const (
	inlineBody = 32 << 10
	chunkBytes = 320 << 10
	maxChunks  = 10
)

var (
	errTooLarge     = errors.New("message too large")
	errMissingChunk = errors.New("message body chunk missing")
)

// msgBody is the stored form of a long message's body.
type msgBody struct {
	Text    string `json:"t,omitempty"`
	Content string `json:"c,omitempty"`
	Fields  string `json:"f,omitempty"`
}

func deflate(b []byte) []byte {
	var buf bytes.Buffer
	w, _ := flate.NewWriter(&buf, flate.BestSpeed)
	_, _ = w.Write(b)
	_ = w.Close()
	return buf.Bytes()
}

func inflate(b []byte) ([]byte, error) {
	return io.ReadAll(flate.NewReader(bytes.NewReader(b)))
}

// messageItems encodes a message written with generation gen: its item
// and, for a very long body, its chunk items.
func (s *Store) messageItems(m *librechat.Message, gen string) (item, []item, error) {
	content := ""
	if len(m.Content) > 0 {
		if !json.Valid(m.Content) {
			return nil, nil, errBadJSON
		}
		content = string(m.Content)
	}
	fields, err := encodeFields(m.Fields)
	if err != nil {
		return nil, nil, err
	}
	k := messageKey(m.ConversationID, m.ID)
	it := newItem(k, "msg")
	it["id"] = sv(m.ID)
	it["cid"] = sv(m.ConversationID)
	it["uid"] = sv(m.UserID)
	it["gen"] = sv(gen)
	setStr(it, "objectId", m.ObjectID)
	setStr(it, "parent", m.ParentID)
	setStr(it, "sender", m.Sender)
	setFlag(it, "byUser", m.IsCreatedByUser)
	setStr(it, "endpoint", m.Endpoint)
	setStr(it, "model", m.Model)
	setFlag(it, "error", m.Error)
	setFlag(it, "unfinished", m.Unfinished)
	setFlag(it, "temporary", m.IsTemporary)
	setTime(it, "expiredAt", m.ExpiredAt)
	setNum(it, "tokens", int64(m.TokenCount))
	setTime(it, "createdAt", m.CreatedAt)
	setTime(it, "updatedAt", m.UpdatedAt)
	var ttl types.AttributeValue
	if m.IsTemporary && !m.ExpiredAt.IsZero() {
		ttl = nv(s.ttlFor(m.ExpiredAt))
		it[AttrTTL] = ttl
	}
	setBag(it, "words", "wordN", messageBag(m))
	var chunks []item
	if len(m.Text)+len(content)+len(fields) <= inlineBody {
		setStr(it, "text", m.Text)
		setStr(it, "content", content)
		setStr(it, "fields", fields)
	} else {
		raw, err := json.Marshal(msgBody{Text: m.Text, Content: content, Fields: fields})
		if err != nil {
			return nil, nil, err
		}
		z := deflate(raw)
		if len(z) <= chunkBytes {
			it["z"] = bv(z)
		} else {
			n := (len(z) + chunkBytes - 1) / chunkBytes
			if n > maxChunks {
				return nil, nil, errTooLarge
			}
			it["zn"] = nv(int64(n))
			for i := range n {
				c := newItem(chunkKey(m.ConversationID, m.ID, gen, i), "chunk")
				c["uid"] = sv(m.UserID)
				c["b"] = bv(z[i*chunkBytes : min(len(z), (i+1)*chunkBytes)])
				if ttl != nil {
					c[AttrTTL] = ttl
				}
				chunks = append(chunks, c)
			}
		}
	}
	if itemSize(it) > maxItemBytes {
		return nil, nil, errTooLarge
	}
	return it, chunks, nil
}

// chunkKeys are the keys of a stored message's chunks.
func chunkKeys(it item) []key {
	n := int(getNum(it, "zn"))
	keys := make([]key, n)
	for i := range n {
		keys[i] = chunkKey(getStr(it, "cid"), getStr(it, "id"), getStr(it, "gen"), i)
	}
	return keys
}

// decodeMessage decodes a message item; chunk returns the bytes of chunk i
// of the item's generation, nil when missing.
func decodeMessage(it item, chunk func(i int) []byte) (*librechat.Message, error) {
	m := &librechat.Message{
		ID:              getStr(it, "id"),
		ObjectID:        getStr(it, "objectId"),
		ConversationID:  getStr(it, "cid"),
		UserID:          getStr(it, "uid"),
		ParentID:        getStr(it, "parent"),
		Sender:          getStr(it, "sender"),
		IsCreatedByUser: getFlag(it, "byUser"),
		Endpoint:        getStr(it, "endpoint"),
		Model:           getStr(it, "model"),
		Error:           getFlag(it, "error"),
		Unfinished:      getFlag(it, "unfinished"),
		IsTemporary:     getFlag(it, "temporary"),
		ExpiredAt:       getTime(it, "expiredAt"),
		TokenCount:      int(getNum(it, "tokens")),
		CreatedAt:       getTime(it, "createdAt"),
		UpdatedAt:       getTime(it, "updatedAt"),
	}
	body := msgBody{Text: getStr(it, "text"), Content: getStr(it, "content"), Fields: getStr(it, "fields")}
	z := getBin(it, "z")
	if n := int(getNum(it, "zn")); n > 0 {
		for i := range n {
			c := chunk(i)
			if c == nil {
				return nil, errMissingChunk
			}
			z = append(z, c...)
		}
	}
	if z != nil {
		raw, err := inflate(z)
		if err != nil {
			return nil, err
		}
		if err := json.Unmarshal(raw, &body); err != nil {
			return nil, err
		}
	}
	m.Text = body.Text
	if body.Content != "" {
		m.Content = json.RawMessage(body.Content)
	}
	var err error
	if m.Fields, err = decodeFields(body.Fields); err != nil {
		return nil, err
	}
	return m, nil
}

// msgWrite is one message of a PutMessages call.
type msgWrite struct {
	m      *librechat.Message
	k      key
	gen    string
	it     item
	chunks []item
	old    item // the stored item before the write, nil if none
}

// ownerCond lets a write replace an absent or expired item, or one of uid.
func (s *Store) ownerCond(uid string) (*expr, string) {
	e := newExpr()
	return e, "(" + e.absent(s.now()) + " OR " + e.eq("uid", sv(uid)) + ")"
}

// PutMessages writes the messages all or none. It first reads every
// stored message it would replace (strongly consistent) and refuses the
// batch with KindConflict when one is another user's; then, in one
// transaction when the batch fits one, it writes the conversation
// references, the messages (each conditional on its owner) with their
// chunks, and deletes the replaced chunks. Without transactions it writes
// references and chunks first, then the messages one by one, restoring
// the earlier ones when a later one fails. The search index items of new
// words are written before the messages (and removed again if the write
// fails), those of words a message no longer has after them.
func (s *Store) PutMessages(ctx context.Context, msgs ...*librechat.Message) error {
	const op = "dynamo.PutMessages"
	var list []*msgWrite
	index := map[key]int{}
	for _, m := range msgs {
		if m == nil || m.ID == "" || m.ConversationID == "" || m.UserID == "" {
			return invalid(op, "message id, conversation and user are required")
		}
		for _, p := range [][2]string{{"message id", m.ID}, {"conversation id", m.ConversationID}, {"user id", m.UserID}} {
			if err := checkPart(op, p[0], p[1]); err != nil {
				return err
			}
		}
		w := &msgWrite{m: m, k: messageKey(m.ConversationID, m.ID), gen: newGen()}
		if err := checkKey(op, chunkKey(m.ConversationID, m.ID, w.gen, 0)); err != nil {
			return err
		}
		var err error
		if w.it, w.chunks, err = s.messageItems(m, w.gen); err != nil {
			if errors.Is(err, errTooLarge) {
				return withOp(librechat.E(librechat.KindTooLarge, "the message is too large"), op)
			}
			return encodeError(op, "a message field", err)
		}
		if i, ok := index[w.k]; ok {
			list[i] = w
		} else {
			index[w.k] = len(list)
			list = append(list, w)
		}
	}
	if len(list) == 0 {
		return nil
	}
	keys := make([]key, len(list))
	for i, w := range list {
		keys[i] = w.k
	}
	stored, err := s.batchGet(ctx, keys)
	if err != nil {
		return fail(op, err)
	}
	var refs []item
	seenRef := map[key]bool{}
	for _, w := range list {
		w.old = stored[w.k]
		if old := s.liveItem(w.old); old != nil && getStr(old, "uid") != w.m.UserID {
			return conflict(op, "message id is taken")
		}
		rk := convRefKey(w.m.UserID, w.m.ConversationID)
		if !seenRef[rk] {
			seenRef[rk] = true
			refs = append(refs, convRef(w.m.UserID, w.m.ConversationID))
		}
	}
	var oldChunks []key
	var ix indexChange
	for _, w := range list {
		var before map[key]indexed
		if w.old != nil {
			oldChunks = append(oldChunks, chunkKeys(w.old)...)
			if old := s.liveItem(w.old); old != nil && getStr(old, "uid") == w.m.UserID {
				before = messageIndex(old)
			}
		}
		ix.diff(before, messageIndex(w.it))
	}
	if err := s.prepareIndex(ctx, &ix); err != nil {
		return fail(op, err)
	}
	if err := s.writeMessages(ctx, op, list, refs, oldChunks); err != nil {
		s.undoIndex(ctx, &ix)
		return err
	}
	s.finishIndex(ctx, &ix)
	return nil
}

// writeMessages writes the prepared messages: in one transaction when the
// batch fits one, or else in order.
func (s *Store) writeMessages(ctx context.Context, op string, list []*msgWrite, refs []item, oldChunks []key) error {
	if s.tx {
		var items []types.TransactWriteItem
		for _, r := range refs {
			items = append(items, txPut(s.table, r, nil, ""))
		}
		for _, w := range list {
			e, cond := s.ownerCond(w.m.UserID)
			items = append(items, txPut(s.table, w.it, e, cond))
			for _, c := range w.chunks {
				items = append(items, txPut(s.table, c, nil, ""))
			}
		}
		for _, k := range oldChunks {
			items = append(items, txDelete(s.table, k, nil, ""))
		}
		if fitsTx(items) {
			err := s.transact(ctx, items)
			if _, ok := err.(*canceledError); ok {
				return conflict(op, "message id is taken")
			}
			return fail(op, err)
		}
	}
	return s.putMessagesInOrder(ctx, op, list, refs, oldChunks)
}

// putMessagesInOrder is PutMessages without a transaction.
func (s *Store) putMessagesInOrder(ctx context.Context, op string, list []*msgWrite, refs []item, oldChunks []key) error {
	for _, r := range refs {
		if err := s.put(ctx, r, nil, ""); err != nil {
			return fail(op, err)
		}
	}
	var newChunks []key
	for _, w := range list {
		for _, c := range w.chunks {
			newChunks = append(newChunks, key{getStr(c, AttrPK), getStr(c, AttrSK)})
			if err := s.put(ctx, c, nil, ""); err != nil {
				_ = s.batchDelete(context.WithoutCancel(ctx), newChunks)
				return fail(op, err)
			}
		}
	}
	for i, w := range list {
		e, cond := s.ownerCond(w.m.UserID)
		if err := s.put(ctx, w.it, e, cond); err != nil {
			s.undoMessages(context.WithoutCancel(ctx), list[:i])
			_ = s.batchDelete(context.WithoutCancel(ctx), newChunks)
			if err == errCondition {
				return conflict(op, "message id is taken")
			}
			return fail(op, err)
		}
	}
	_ = s.batchDelete(ctx, oldChunks)
	return nil
}

// undoMessages restores what the given writes replaced, each only while
// it still holds the write's generation.
func (s *Store) undoMessages(ctx context.Context, done []*msgWrite) {
	for _, w := range done {
		e := newExpr()
		cond := e.eq("gen", sv(w.gen))
		if w.old != nil {
			_ = s.put(ctx, w.old, e, cond)
		} else {
			_, _ = s.del(ctx, w.k, e, cond)
		}
	}
}

// readMessage reads one message of uid with its chunks; nil when absent.
// A body replaced between reading the item and its chunks is read again.
func (s *Store) readMessage(ctx context.Context, uid, cid, mid string) (*librechat.Message, error) {
	for attempt := 0; ; attempt++ {
		it, err := s.get(ctx, messageKey(cid, mid))
		if err != nil {
			return nil, err
		}
		if s.liveItem(it) == nil || getStr(it, "uid") != uid {
			return nil, nil
		}
		chunks := map[string][]byte{}
		if getNum(it, "zn") > 0 {
			err := s.queryPartition(ctx, convPK(cid), chunkPrefix(mid, getStr(it, "gen")), func(c item) bool {
				chunks[getStr(c, AttrSK)] = getBin(c, "b")
				return true
			})
			if err != nil {
				return nil, err
			}
		}
		m, err := decodeMessage(it, func(i int) []byte { return chunks[chunkKey(cid, mid, getStr(it, "gen"), i).sk] })
		if errors.Is(err, errMissingChunk) && attempt < 3 {
			continue
		}
		return m, err
	}
}

// Messages reads the conversation's partition (strongly consistent) and
// orders the user's messages by creation time, then id. A conversation
// being deleted has none.
func (s *Store) Messages(ctx context.Context, userID, conversationID string) ([]*librechat.Message, error) {
	const op = "dynamo.Messages"
	if conversationID == "" || checkKey(op, convKey(conversationID)) != nil {
		return nil, nil
	}
	var (
		conv   item
		items  []item
		chunks = map[string][]byte{}
	)
	err := s.queryPartition(ctx, convPK(conversationID), "", func(it item) bool {
		switch getStr(it, "type") {
		case "conv":
			conv = it
		case "msg":
			if getStr(it, "uid") == userID && s.liveItem(it) != nil {
				items = append(items, it)
			}
		case "chunk":
			if getStr(it, "uid") == userID {
				chunks[getStr(it, AttrSK)] = getBin(it, "b")
			}
		}
		return true
	})
	if err != nil {
		return nil, fail(op, err)
	}
	if conv != nil && getStr(conv, "uid") == userID && getFlag(conv, "deleting") {
		return nil, nil
	}
	out := make([]*librechat.Message, 0, len(items))
	for _, it := range items {
		m, err := decodeMessage(it, func(i int) []byte {
			return chunks[chunkKey(conversationID, getStr(it, "id"), getStr(it, "gen"), i).sk]
		})
		if errors.Is(err, errMissingChunk) {
			m, err = s.readMessage(ctx, userID, conversationID, getStr(it, "id"))
		}
		if err != nil {
			return nil, fail(op, err)
		}
		if m != nil {
			out = append(out, m)
		}
	}
	slices.SortFunc(out, func(a, b *librechat.Message) int {
		if c := cmpInt64(a.CreatedAt.UnixMilli(), b.CreatedAt.UnixMilli()); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out, nil
}

func cmpInt64(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Message fails with KindNotFound when the user has no such message or
// its conversation is being deleted.
func (s *Store) Message(ctx context.Context, userID, conversationID, id string) (*librechat.Message, error) {
	const op = "dynamo.Message"
	if conversationID == "" || id == "" || checkKey(op, chunkKey(conversationID, id, "0000000000000000", 0)) != nil {
		return nil, notFound(op, "message not found")
	}
	m, err := s.readMessage(ctx, userID, conversationID, id)
	if err != nil {
		return nil, fail(op, err)
	}
	if m == nil {
		return nil, notFound(op, "message not found")
	}
	conv, err := s.get(ctx, convKey(conversationID))
	if err != nil {
		return nil, fail(op, err)
	}
	if conv != nil && getStr(conv, "uid") == userID && getFlag(conv, "deleting") {
		return nil, notFound(op, "message not found")
	}
	return m, nil
}

// DeleteMessage deletes the message if it is the user's and live, then
// its chunks and its search index items.
func (s *Store) DeleteMessage(ctx context.Context, userID, conversationID, id string) error {
	const op = "dynamo.DeleteMessage"
	if conversationID == "" || id == "" || checkKey(op, chunkKey(conversationID, id, "0000000000000000", 0)) != nil {
		return notFound(op, "message not found")
	}
	e := newExpr()
	old, err := s.del(ctx, messageKey(conversationID, id), e, e.live(s.now())+" AND "+e.eq("uid", sv(userID)))
	if err == errCondition {
		return notFound(op, "message not found")
	}
	if err != nil {
		return fail(op, err)
	}
	if old != nil {
		if err := s.batchDelete(ctx, append(chunkKeys(old), indexKeys(old)...)); err != nil {
			return fail(op, err)
		}
	}
	return nil
}
