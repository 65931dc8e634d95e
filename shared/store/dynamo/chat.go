package dynamo

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/lcgo/lcgo/shared/librechat"
)

// defaultPageSize is the page size of a ConversationQuery without a Limit.
const defaultPageSize = 25

// maxItemBytes keeps every item under DynamoDB's 400 KB limit with room
// for attribute names.
const maxItemBytes = 390 << 10

// maxConvTags bounds the distinct tags of one conversation (each is an
// item written with it). Up to 48 fit one transaction with the
// conversation; more are written in order, as without transactions.
const maxConvTags = 500

// errBadJSON marks a raw JSON value that does not parse.
var errBadJSON = errors.New("invalid JSON value")

// encodeFields writes a JSON object holding each raw value verbatim, keys
// sorted; nil or empty is "" (no attribute) and an empty value is null.
func encodeFields(m map[string]json.RawMessage) (string, error) {
	if len(m) == 0 {
		return "", nil
	}
	var b strings.Builder
	b.WriteByte('{')
	for i, k := range slices.Sorted(maps.Keys(m)) {
		if i > 0 {
			b.WriteByte(',')
		}
		name, err := json.Marshal(k)
		if err != nil {
			return "", err
		}
		b.Write(name)
		b.WriteByte(':')
		v := m[k]
		switch {
		case len(v) == 0:
			b.WriteString("null")
		case !json.Valid(v):
			return "", errBadJSON
		default:
			b.Write(v)
		}
	}
	b.WriteByte('}')
	return b.String(), nil
}

func decodeFields(s string) (map[string]json.RawMessage, error) {
	if s == "" {
		return nil, nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		return nil, err
	}
	return m, nil
}

// encodeError turns an encoding failure into KindInvalid for bad client
// JSON and KindOther for anything else.
func encodeError(op, what string, err error) error {
	if errors.Is(err, errBadJSON) {
		return invalid(op, what+" is not valid JSON")
	}
	return librechat.Wrap(librechat.KindOther, op, err)
}

// ---- conversations ----

// convItem is the stored conversation. A listed (non-temporary)
// conversation carries the keys of the three list indexes; a temporary one
// with an expiry carries a TTL instead.
func (s *Store) convItem(c *librechat.Conversation, ver string) (item, error) {
	fields, err := encodeFields(c.Fields)
	if err != nil {
		return nil, err
	}
	it := newItem(convKey(c.ID), "conv")
	it["id"] = sv(c.ID)
	it["uid"] = sv(c.UserID)
	it["ver"] = sv(ver)
	setStr(it, "objectId", c.ObjectID)
	setStr(it, "title", c.Title)
	setStr(it, "endpoint", c.Endpoint)
	setStr(it, "model", c.Model)
	setFlag(it, "archived", c.IsArchived)
	setFlag(it, "pinned", c.Pinned)
	setFlag(it, "temporary", c.IsTemporary)
	setTime(it, "expiredAt", c.ExpiredAt)
	setList(it, "tags", c.Tags)
	setStr(it, "fields", fields)
	setTime(it, "createdAt", c.CreatedAt)
	setTime(it, "updatedAt", c.UpdatedAt)
	setBag(it, "twords", "twordN", titleBag(c))
	if c.IsTemporary {
		if !c.ExpiredAt.IsZero() {
			it[AttrTTL] = nv(s.ttlFor(c.ExpiredAt))
		}
	} else {
		it[AttrGPK] = sv(listPK(c.UserID, c.IsArchived))
		it[AttrGS1] = sv(sortKeyTime(c.UpdatedAt, c.ID))
		it[AttrGS2] = sv(sortKeyTime(c.CreatedAt, c.ID))
		it[AttrGS3] = sv(sortKeyTitle(c.Title, c.ID))
	}
	return it, nil
}

func decodeConversation(it item) (*librechat.Conversation, error) {
	c := &librechat.Conversation{
		ID:          getStr(it, "id"),
		ObjectID:    getStr(it, "objectId"),
		UserID:      getStr(it, "uid"),
		Title:       getStr(it, "title"),
		Endpoint:    getStr(it, "endpoint"),
		Model:       getStr(it, "model"),
		IsArchived:  getFlag(it, "archived"),
		Pinned:      getFlag(it, "pinned"),
		IsTemporary: getFlag(it, "temporary"),
		ExpiredAt:   getTime(it, "expiredAt"),
		Tags:        getList(it, "tags"),
		CreatedAt:   getTime(it, "createdAt"),
		UpdatedAt:   getTime(it, "updatedAt"),
	}
	var err error
	if c.Fields, err = decodeFields(getStr(it, "fields")); err != nil {
		return nil, err
	}
	return c, nil
}

// memberItem lists a conversation under one of its tags: the same list
// keys, in the tag's partition, stamped with the conversation's write
// generation. A tag list returns a conversation only through an entry of
// its current generation, so entries left behind by an interrupted write
// are never shown.
func memberItem(conv item, tag string) item {
	cid, uid := getStr(conv, "id"), getStr(conv, "uid")
	it := newItem(memberKey(cid, uid, tag), "ctag")
	it["cid"] = sv(cid)
	it["uid"] = sv(uid)
	it["tag"] = sv(tag)
	it["ver"] = conv["ver"]
	it[AttrGPK] = sv(tagListPK(uid, getFlag(conv, "archived"), tag))
	it[AttrGS1] = conv[AttrGS1]
	it[AttrGS2] = conv[AttrGS2]
	it[AttrGS3] = conv[AttrGS3]
	return it
}

// convRef lists a conversation id in its user's partition. Every write of
// a conversation or a message writes it first, so DeleteConversations
// finds everything of the user with one strongly consistent query.
func convRef(uid, cid string) item {
	it := newItem(convRefKey(uid, cid), "convref")
	it["cid"] = sv(cid)
	return it
}

// listedTags are the distinct tags a conversation is listed under.
func listedTags(c *librechat.Conversation) []string {
	if c.IsTemporary {
		return nil
	}
	var out []string
	for _, t := range c.Tags {
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	return out
}

// storedTags are the distinct tags a stored conversation is listed under.
func storedTags(it item) []string {
	if getFlag(it, "temporary") || getFlag(it, "deleting") {
		return nil
	}
	var out []string
	for _, t := range getList(it, "tags") {
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	return out
}

// PutConversation creates or replaces (c.UserID, c.ID) if the stored one
// did not change since it was read (its write generation), together with
// its tag entries and the reference in the user's partition: in one
// transaction when they fit one, or else reference and new tag entries
// first, the conversation next (the point where the change becomes
// visible) and stale tag entries last. The search index items of new
// title words are written before, those of words the title lost after.
func (s *Store) PutConversation(ctx context.Context, c *librechat.Conversation) error {
	const op = "dynamo.PutConversation"
	if c == nil || c.ID == "" || c.UserID == "" {
		return invalid(op, "conversation id and user are required")
	}
	if err := checkPart(op, "conversation id", c.ID); err != nil {
		return err
	}
	if err := checkPart(op, "user id", c.UserID); err != nil {
		return err
	}
	tags := listedTags(c)
	if len(tags) > maxConvTags {
		return invalid(op, "a conversation has too many tags")
	}
	for _, t := range tags {
		if len(t) > maxName || !utf8.ValidString(t) {
			return invalid(op, "a tag is too long or not UTF-8")
		}
		if err := checkKey(op, memberKey(c.ID, c.UserID, t)); err != nil {
			return err
		}
	}
	it, err := s.convItem(c, newGen())
	if err != nil {
		return encodeError(op, "a conversation field", err)
	}
	if itemSize(it) > maxItemBytes {
		return withOp(librechat.E(librechat.KindTooLarge, "the conversation is too large"), op)
	}
	for attempt := 0; attempt < attempts; attempt++ {
		stored, err := s.get(ctx, convKey(c.ID))
		if err != nil {
			return fail(op, err)
		}
		old := s.liveItem(stored)
		if old != nil && getStr(old, "uid") != c.UserID {
			return conflict(op, "conversation id is taken")
		}
		if old != nil && getFlag(old, "deleting") {
			if _, err := s.purge(ctx, c.UserID, c.ID, true); err != nil {
				return fail(op, err)
			}
			continue
		}
		e := newExpr()
		var cond string
		if stored != nil {
			cond = e.eq("ver", stored["ver"])
		} else {
			cond = "attribute_not_exists(" + e.n(AttrPK) + ")"
		}
		var stale []string
		for _, t := range storedTags(old) {
			if !slices.Contains(tags, t) {
				stale = append(stale, t)
			}
		}
		members := make([]item, len(tags))
		for i, t := range tags {
			members[i] = memberItem(it, t)
		}
		var ix indexChange
		ix.diff(titleIndex(old), titleIndex(it))
		if err := s.prepareIndex(ctx, &ix); err != nil {
			return fail(op, err)
		}
		retry, err := s.writeConversation(ctx, c, it, e, cond, members, stale)
		if retry {
			continue
		}
		if err != nil {
			s.undoIndex(ctx, &ix)
			return fail(op, err)
		}
		s.finishIndex(ctx, &ix)
		return nil
	}
	return busy(op)
}

// writeConversation writes a prepared conversation with its reference and
// tag entries and removes its stale tag entries: in one transaction when
// they fit one, or else in order. retry reports that the conversation
// changed since it was read.
func (s *Store) writeConversation(ctx context.Context, c *librechat.Conversation, it item, e *expr, cond string, members []item, stale []string) (retry bool, err error) {
	if s.tx {
		items := []types.TransactWriteItem{txPut(s.table, it, e, cond), txPut(s.table, convRef(c.UserID, c.ID), nil, "")}
		for _, m := range members {
			items = append(items, txPut(s.table, m, nil, ""))
		}
		for _, t := range stale {
			items = append(items, txDelete(s.table, memberKey(c.ID, c.UserID, t), nil, ""))
		}
		if fitsTx(items) {
			err := s.transact(ctx, items)
			if _, ok := err.(*canceledError); ok {
				return true, nil
			}
			return false, err
		}
	}

	if err := s.put(ctx, convRef(c.UserID, c.ID), nil, ""); err != nil {
		return false, err
	}
	for _, m := range members {
		if err := s.put(ctx, m, nil, ""); err != nil {
			return false, err
		}
	}
	if err := s.put(ctx, it, e, cond); err == errCondition {
		return true, nil
	} else if err != nil {
		return false, err
	}
	// Stale entries no longer match the conversation's generation:
	// removing them is housekeeping, not part of the write.
	var keys []key
	for _, t := range stale {
		keys = append(keys, memberKey(c.ID, c.UserID, t))
	}
	_ = s.batchDelete(ctx, keys)
	return false, nil
}

// ownConv reports whether it is a live, not deleted conversation of uid.
func (s *Store) ownConv(it item, uid string) bool {
	return s.liveItem(it) != nil && getStr(it, "uid") == uid && !getFlag(it, "deleting")
}

// Conversation fails with KindNotFound when the user has no such
// conversation.
func (s *Store) Conversation(ctx context.Context, userID, id string) (*librechat.Conversation, error) {
	const op = "dynamo.Conversation"
	if id == "" || checkKey(op, convKey(id)) != nil {
		return nil, notFound(op, "conversation not found")
	}
	it, err := s.get(ctx, convKey(id))
	if err != nil {
		return nil, fail(op, err)
	}
	if !s.ownConv(it, userID) {
		return nil, notFound(op, "conversation not found")
	}
	c, err := decodeConversation(it)
	if err != nil {
		return nil, librechat.Wrap(librechat.KindOther, op, err)
	}
	return c, nil
}

// listOrder is one ConversationQuery.SortBy: its index, its sort-key
// attribute, how a cursor becomes a sort key and how a conversation
// becomes a cursor key.
type listOrder struct {
	index, attr string
	bound       func(cur *librechat.Cursor) (string, error)
	key         func(c *librechat.Conversation) string
}

func timeBound(cur *librechat.Cursor) (string, error) {
	t, err := time.Parse(time.RFC3339Nano, cur.Key)
	if err != nil {
		return "", errors.New("cursor key is not an RFC 3339 time")
	}
	return sortKeyTime(t, cur.ID), nil
}

var listOrders = map[string]listOrder{
	librechat.SortUpdatedAt: {Index1, AttrGS1, timeBound,
		func(c *librechat.Conversation) string { return c.UpdatedAt.UTC().Format(time.RFC3339Nano) }},
	librechat.SortCreatedAt: {Index2, AttrGS2, timeBound,
		func(c *librechat.Conversation) string { return c.CreatedAt.UTC().Format(time.RFC3339Nano) }},
	librechat.SortTitle: {Index3, AttrGS3,
		func(cur *librechat.Cursor) (string, error) { return sortKeyTitle(cur.Key, cur.ID), nil },
		func(c *librechat.Conversation) string { return c.Title }},
}

// listQuery is the Query of one list partition: the partition comes from
// the caller's user id, never from the cursor, which only positions the
// range inside it.
func listQuery(table, pk string, order listOrder, bound string, asc bool, page int) *dynamodb.QueryInput {
	e := newExpr()
	cond := e.eq(AttrGPK, sv(pk))
	if bound != "" {
		cmp := " < "
		if asc {
			cmp = " > "
		}
		cond += " AND " + e.n(order.attr) + cmp + e.v(sv(bound))
	}
	return &dynamodb.QueryInput{
		TableName:                 aws.String(table),
		IndexName:                 aws.String(order.index),
		KeyConditionExpression:    aws.String(cond),
		ExpressionAttributeNames:  e.nameMap(),
		ExpressionAttributeValues: e.valueMap(),
		ScanIndexForward:          aws.Bool(asc),
		Limit:                     aws.Int32(int32(page)),
	}
}

// ListConversations returns one page of the user's non-temporary
// conversations from a list index and the cursor of the next page. With
// tags it merges the tags' partitions in order and keeps each conversation
// once, checking every entry against the conversation itself.
func (s *Store) ListConversations(ctx context.Context, userID string, q librechat.ConversationQuery) ([]*librechat.Conversation, *librechat.Cursor, error) {
	const op = "dynamo.ListConversations"
	sortBy := q.SortBy
	if sortBy == "" {
		sortBy = librechat.SortUpdatedAt
	}
	order, ok := listOrders[sortBy]
	if !ok {
		return nil, nil, invalid(op, "unknown sort order "+sortBy)
	}
	limit := q.Limit
	if limit <= 0 {
		limit = defaultPageSize
	}
	bound := ""
	if q.After != nil {
		if len(q.After.ID) > maxName || !utf8.ValidString(q.After.ID) || !utf8.ValidString(q.After.Key) {
			return nil, nil, invalid(op, "cursor is malformed")
		}
		var err error
		if bound, err = order.bound(q.After); err != nil {
			return nil, nil, invalid(op, err.Error())
		}
	}
	if checkKey(op, key{listPK(userID, q.Archived), "x"}) != nil {
		return nil, nil, nil
	}
	needle := strings.ToLower(q.Search)
	match := func(c *librechat.Conversation) bool {
		return needle == "" || strings.Contains(strings.ToLower(c.Title), needle)
	}
	page := min(limit+1, 500)
	if needle != "" {
		page = 500
	}
	listed := func(it item) bool {
		return s.ownConv(it, userID) && !getFlag(it, "temporary") && getFlag(it, "archived") == q.Archived
	}

	var (
		out []*librechat.Conversation
		err error
	)
	if len(q.Tags) == 0 {
		out, err = s.listPlain(ctx, listQuery(s.table, listPK(userID, q.Archived), order, bound, q.Asc, page), limit, listed, match)
	} else {
		out, err = s.listTagged(ctx, userID, q, order, bound, page, limit, listed, match)
	}
	if err != nil {
		return nil, nil, fail(op, err)
	}
	if len(out) <= limit {
		return out, nil, nil
	}
	out = out[:limit]
	last := out[limit-1]
	return out, &librechat.Cursor{Key: order.key(last), ID: last.ID}, nil
}

// listPlain reads up to limit+1 matching conversations of one partition.
func (s *Store) listPlain(ctx context.Context, in *dynamodb.QueryInput, limit int, listed func(item) bool, match func(*librechat.Conversation) bool) ([]*librechat.Conversation, error) {
	var (
		out  []*librechat.Conversation
		derr error
	)
	err := s.query(ctx, in, func(it item) bool {
		if !listed(it) {
			return true
		}
		c, err := decodeConversation(it)
		if err != nil {
			derr = err
			return false
		}
		if !match(c) {
			return true
		}
		out = append(out, c)
		return len(out) <= limit
	})
	if err != nil {
		return nil, err
	}
	return out, derr
}

// tagStream is one tag's list partition, read a page at a time.
type tagStream struct {
	in   *dynamodb.QueryInput
	buf  []item
	done bool
}

func (st *tagStream) peek(ctx context.Context, db *dynamodb.Client) (item, error) {
	for len(st.buf) == 0 && !st.done {
		out, err := db.Query(ctx, st.in)
		if err != nil {
			return nil, err
		}
		st.buf = out.Items
		if len(out.LastEvaluatedKey) == 0 {
			st.done = true
		} else {
			st.in.ExclusiveStartKey = out.LastEvaluatedKey
		}
	}
	if len(st.buf) == 0 {
		return nil, nil
	}
	return st.buf[0], nil
}

// listTagged merges the tags' partitions by sort key (a conversation under
// several tags has the same sort key in each, so equal keys are one
// conversation), then reads the candidates from the base table and keeps
// those whose current generation the entry was written for.
func (s *Store) listTagged(ctx context.Context, userID string, q librechat.ConversationQuery, order listOrder, bound string, page, limit int,
	listed func(item) bool, match func(*librechat.Conversation) bool) ([]*librechat.Conversation, error) {
	var streams []*tagStream
	var seenTags []string
	for _, t := range q.Tags {
		if slices.Contains(seenTags, t) || checkKey("", key{tagListPK(userID, q.Archived, t), "x"}) != nil {
			continue
		}
		seenTags = append(seenTags, t)
		streams = append(streams, &tagStream{in: listQuery(s.table, tagListPK(userID, q.Archived, t), order, bound, q.Asc, page)})
	}
	lastSK := ""
	next := func() (item, error) {
		for {
			var best *tagStream
			bestSK := ""
			for _, st := range streams {
				h, err := st.peek(ctx, s.db)
				if err != nil {
					return nil, err
				}
				if h == nil {
					continue
				}
				sk := getStr(h, order.attr)
				if best == nil || (q.Asc && sk < bestSK) || (!q.Asc && sk > bestSK) {
					best, bestSK = st, sk
				}
			}
			if best == nil {
				return nil, nil
			}
			h := best.buf[0]
			best.buf = best.buf[1:]
			if bestSK == lastSK {
				continue
			}
			lastSK = bestSK
			return h, nil
		}
	}
	var out []*librechat.Conversation
	for exhausted := false; !exhausted && len(out) <= limit; {
		need := limit + 1 - len(out)
		var cands []item
		for len(cands) < need && len(cands) < maxBatchGet {
			m, err := next()
			if err != nil {
				return nil, err
			}
			if m == nil {
				exhausted = true
				break
			}
			if getStr(m, "uid") == userID {
				cands = append(cands, m)
			}
		}
		if len(cands) == 0 {
			break
		}
		keys := make([]key, len(cands))
		for i, m := range cands {
			keys[i] = convKey(getStr(m, "cid"))
		}
		got, err := s.batchGet(ctx, keys)
		if err != nil {
			return nil, err
		}
		for i, m := range cands {
			it := got[keys[i]]
			if it == nil || !listed(it) || getStr(it, "ver") != getStr(m, "ver") || !slices.Contains(getList(it, "tags"), getStr(m, "tag")) {
				continue
			}
			c, err := decodeConversation(it)
			if err != nil {
				return nil, err
			}
			if match(c) {
				out = append(out, c)
			}
		}
	}
	return out, nil
}

// tombstone marks the user's conversation as being deleted by rewriting
// it without list keys, conditional on its generation: it leaves the
// lists at once, and reads treat it and its messages as gone while purge
// removes them.
func (s *Store) tombstone(ctx context.Context, uid string, old item) error {
	it := make(item, len(old))
	for k, v := range old {
		switch k {
		case AttrGPK, AttrGS1, AttrGS2, AttrGS3:
		default:
			it[k] = v
		}
	}
	it["deleting"] = boolv(true)
	it["ver"] = sv(newGen())
	e := newExpr()
	return s.put(ctx, it, e, e.eq("uid", sv(uid))+" AND "+e.eq("ver", old["ver"]))
}

// purge removes everything of uid in a conversation's partition (messages,
// body chunks, tag entries, then the conversation item itself when it is
// the user's and withConv is set or it is a tombstone), the search index
// items of what it removes, and finally the reference in the user's
// partition. It reports how many messages went.
func (s *Store) purge(ctx context.Context, uid, cid string, withConv bool) (int, error) {
	var (
		keys []key
		conv item
		n    int
	)
	err := s.queryPartition(ctx, convPK(cid), "", func(it item) bool {
		if getStr(it, "uid") != uid {
			return true
		}
		k := key{getStr(it, AttrPK), getStr(it, AttrSK)}
		switch getStr(it, "type") {
		case "conv":
			conv = it
		case "msg":
			if s.liveItem(it) != nil {
				n++
			}
			keys = append(keys, k)
			keys = append(keys, indexKeys(it)...)
		case "chunk", "ctag":
			keys = append(keys, k)
		}
		return true
	})
	if err != nil {
		return 0, err
	}
	if conv != nil && (withConv || getFlag(conv, "deleting")) {
		keys = append(keys, indexKeys(conv)...)
	}
	if err := s.batchDelete(ctx, keys); err != nil {
		return 0, err
	}
	if conv != nil && (withConv || getFlag(conv, "deleting")) {
		e := newExpr()
		if _, err := s.del(ctx, convKey(cid), e, e.eq("uid", sv(uid))); err != nil && err != errCondition {
			return 0, err
		}
	}
	if _, err := s.del(ctx, convRefKey(uid, cid), nil, ""); err != nil {
		return 0, err
	}
	return n, nil
}

// DeleteConversation tombstones the conversation (from then on it is
// gone for every reader), removes its messages and tag entries, then the
// tombstone, and reports how many messages went. A tombstone left by an
// interrupted delete is finished and reported as not found.
func (s *Store) DeleteConversation(ctx context.Context, userID, id string) (int, error) {
	const op = "dynamo.DeleteConversation"
	if id == "" || checkKey(op, convRefKey(userID, id)) != nil {
		return 0, notFound(op, "conversation not found")
	}
	for attempt := 0; attempt < attempts; attempt++ {
		old, err := s.get(ctx, convKey(id))
		if err != nil {
			return 0, fail(op, err)
		}
		if s.liveItem(old) == nil || getStr(old, "uid") != userID {
			return 0, notFound(op, "conversation not found")
		}
		if getFlag(old, "deleting") {
			if _, err := s.purge(ctx, userID, id, false); err != nil {
				return 0, fail(op, err)
			}
			return 0, notFound(op, "conversation not found")
		}
		if err := s.tombstone(ctx, userID, old); err == errCondition {
			continue
		} else if err != nil {
			return 0, fail(op, err)
		}
		n, err := s.purge(ctx, userID, id, false)
		if err != nil {
			return 0, fail(op, err)
		}
		return n, nil
	}
	return 0, busy(op)
}

// purgeWorkers bounds how many conversations DeleteConversations clears at
// once.
const purgeWorkers = 4

// DeleteConversations finds every conversation the user wrote through the
// references in the user's partition (strongly consistent, temporary ones
// included), tombstones each live one and purges it, and reports how many
// live conversations went.
func (s *Store) DeleteConversations(ctx context.Context, userID string) (int, error) {
	const op = "dynamo.DeleteConversations"
	if checkKey(op, convRefKey(userID, "x")) != nil {
		return 0, nil
	}
	var ids []string
	err := s.queryPartition(ctx, "U#"+esc(userID), prefixConvRef, func(it item) bool {
		ids = append(ids, getStr(it, "cid"))
		return true
	})
	if err != nil {
		return 0, fail(op, err)
	}
	var (
		mu       sync.Mutex
		count    int
		firstErr error
		wg       sync.WaitGroup
		work     = make(chan string)
	)
	for range min(purgeWorkers, len(ids)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for cid := range work {
				gone, err := s.deleteAll(ctx, userID, cid)
				mu.Lock()
				if gone {
					count++
				}
				if err != nil && firstErr == nil {
					firstErr = err
				}
				mu.Unlock()
			}
		}()
	}
	for _, cid := range ids {
		work <- cid
	}
	close(work)
	wg.Wait()
	if firstErr != nil {
		return count, fail(op, firstErr)
	}
	return count, nil
}

// deleteAll removes one referenced conversation of the user, reporting
// whether a live conversation went.
func (s *Store) deleteAll(ctx context.Context, uid, cid string) (bool, error) {
	for attempt := 0; attempt < attempts; attempt++ {
		old, err := s.get(ctx, convKey(cid))
		if err != nil {
			return false, err
		}
		live := s.ownConv(old, uid)
		if live {
			if err := s.tombstone(ctx, uid, old); err == errCondition {
				continue
			} else if err != nil {
				return false, err
			}
		}
		_, err = s.purge(ctx, uid, cid, true)
		return live, err
	}
	return false, errors.New("dynamo: conversation kept changing")
}

// ---- tags ----

func decodeTag(it item) *librechat.Tag {
	return &librechat.Tag{
		ObjectID:    getStr(it, "objectId"),
		UserID:      getStr(it, "uid"),
		Name:        getStr(it, "name"),
		Description: getStr(it, "description"),
		Count:       int(getNum(it, "count")),
		Position:    int(getNum(it, "position")),
		CreatedAt:   getTime(it, "createdAt"),
		UpdatedAt:   getTime(it, "updatedAt"),
	}
}

func tagItem(t *librechat.Tag) item {
	it := newItem(bookmarkKey(t.UserID, t.Name), "tag")
	it["uid"] = sv(t.UserID)
	it["name"] = sv(t.Name)
	setStr(it, "objectId", t.ObjectID)
	setStr(it, "description", t.Description)
	setNum(it, "count", int64(t.Count))
	setNum(it, "position", int64(t.Position))
	setTime(it, "createdAt", t.CreatedAt)
	setTime(it, "updatedAt", t.UpdatedAt)
	return it
}

// Tags reads the user's tags from the user's partition and orders them by
// position, then name.
func (s *Store) Tags(ctx context.Context, userID string) ([]*librechat.Tag, error) {
	const op = "dynamo.Tags"
	if checkKey(op, bookmarkKey(userID, "x")) != nil {
		return nil, nil
	}
	var out []*librechat.Tag
	err := s.queryPartition(ctx, "U#"+esc(userID), prefixBookmark, func(it item) bool {
		out = append(out, decodeTag(it))
		return true
	})
	if err != nil {
		return nil, fail(op, err)
	}
	slices.SortFunc(out, func(a, b *librechat.Tag) int {
		if a.Position != b.Position {
			return a.Position - b.Position
		}
		return strings.Compare(a.Name, b.Name)
	})
	return out, nil
}

func checkTag(op string, t *librechat.Tag) error {
	if t == nil || t.UserID == "" || t.Name == "" {
		return invalid(op, "tag user and name are required")
	}
	if err := checkPart(op, "tag name", t.Name); err != nil {
		return err
	}
	return checkKey(op, bookmarkKey(t.UserID, t.Name))
}

// CreateTag is a conditional put: KindConflict when the name is taken.
func (s *Store) CreateTag(ctx context.Context, t *librechat.Tag) error {
	const op = "dynamo.CreateTag"
	if err := checkTag(op, t); err != nil {
		return err
	}
	e := newExpr()
	err := s.put(ctx, tagItem(t), e, "attribute_not_exists("+e.n(AttrPK)+")")
	if err == errCondition {
		return conflict(op, "a tag with this name already exists")
	}
	return fail(op, err)
}

// PutTag creates or replaces the tag (t.UserID, t.Name).
func (s *Store) PutTag(ctx context.Context, t *librechat.Tag) error {
	const op = "dynamo.PutTag"
	if err := checkTag(op, t); err != nil {
		return err
	}
	return fail(op, s.put(ctx, tagItem(t), nil, ""))
}

// DeleteTag fails with KindNotFound when the user has no tag of that name.
func (s *Store) DeleteTag(ctx context.Context, userID, name string) error {
	const op = "dynamo.DeleteTag"
	if userID == "" || name == "" || checkKey(op, bookmarkKey(userID, name)) != nil {
		return notFound(op, "tag not found")
	}
	old, err := s.del(ctx, bookmarkKey(userID, name), nil, "")
	if err != nil {
		return fail(op, err)
	}
	if old == nil {
		return notFound(op, "tag not found")
	}
	return nil
}
