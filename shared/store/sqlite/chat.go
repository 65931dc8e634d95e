package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"maps"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/lcgo/lcgo/shared/librechat"
)

// defaultPageSize is the page size of a ConversationQuery without a Limit.
const defaultPageSize = 25

// scanner is a *sql.Row or *sql.Rows.
type scanner interface {
	Scan(dest ...any) error
}

// errBadJSON marks a raw JSON value that does not parse.
var errBadJSON = errors.New("invalid JSON value")

// keyMS stores a time that is a sort key: unix milliseconds, the zero time
// included (as -62135596800000), so such columns need no NULL and sort the
// zero time first.
func keyMS(t time.Time) int64 { return t.UnixMilli() }

// keyTime reads keyMS back; the zero time comes back as the zero time.
func keyTime(ms int64) time.Time { return time.UnixMilli(ms).UTC() }

// timeKey is the cursor key of a time: RFC 3339 with nanoseconds, in UTC.
func timeKey(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// encodeFields writes a JSON object holding each raw value verbatim, keys
// sorted; nil is "null" and an empty value is null.
func encodeFields(m map[string]json.RawMessage) (string, error) {
	if m == nil {
		return "null", nil
	}
	var b strings.Builder
	b.WriteByte('{')
	for i, k := range slices.Sorted(maps.Keys(m)) {
		if i > 0 {
			b.WriteByte(',')
		}
		key, err := json.Marshal(k)
		if err != nil {
			return "", err
		}
		b.Write(key)
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
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		return nil, err
	}
	return m, nil
}

// encodeContent stores raw JSON verbatim; nil or empty is NULL.
func encodeContent(c json.RawMessage) (sql.NullString, error) {
	if len(c) == 0 {
		return sql.NullString{}, nil
	}
	if !json.Valid(c) {
		return sql.NullString{}, errBadJSON
	}
	return sql.NullString{String: string(c), Valid: true}, nil
}

// encodeError turns an encoding failure into KindInvalid for bad client
// JSON and KindOther for anything else.
func encodeError(op, what string, err error) error {
	if errors.Is(err, errBadJSON) {
		return invalid(op, what+" is not valid JSON")
	}
	return other(op, err)
}

// ---- conversations ----

const conversationColumns = `id, object_id, user_id, title, endpoint, model, is_archived, pinned,
	is_temporary, expired_at, tags, fields, created_at, updated_at`

// conversationArgs returns the values of conversationColumns, in order, for c.
func conversationArgs(c *librechat.Conversation) ([]any, error) {
	tags, err := encodeJSON(c.Tags)
	if err != nil {
		return nil, err
	}
	fields, err := encodeFields(c.Fields)
	if err != nil {
		return nil, err
	}
	return []any{
		c.ID, c.ObjectID, c.UserID, c.Title, c.Endpoint, c.Model, boolInt(c.IsArchived), boolInt(c.Pinned),
		boolInt(c.IsTemporary), msOf(c.ExpiredAt), tags, fields, keyMS(c.CreatedAt), keyMS(c.UpdatedAt),
	}, nil
}

// conversationRow is a scanned row whose JSON columns are not decoded yet,
// so that a list can filter on the title before paying for them.
type conversationRow struct {
	c                           librechat.Conversation
	archived, pinned, temporary int
	expired                     sql.NullInt64
	tags, fields                string
	created, updated            int64
}

func scanConversationRow(sc scanner) (*conversationRow, error) {
	var r conversationRow
	err := sc.Scan(&r.c.ID, &r.c.ObjectID, &r.c.UserID, &r.c.Title, &r.c.Endpoint, &r.c.Model, &r.archived, &r.pinned,
		&r.temporary, &r.expired, &r.tags, &r.fields, &r.created, &r.updated)
	if err != nil {
		return nil, err
	}
	return &r, nil
}

func (r *conversationRow) decode() (*librechat.Conversation, error) {
	c := r.c
	c.IsArchived, c.Pinned, c.IsTemporary = r.archived != 0, r.pinned != 0, r.temporary != 0
	c.ExpiredAt = timeOf(r.expired)
	c.CreatedAt, c.UpdatedAt = keyTime(r.created), keyTime(r.updated)
	if err := json.Unmarshal([]byte(r.tags), &c.Tags); err != nil {
		return nil, err
	}
	var err error
	if c.Fields, err = decodeFields(r.fields); err != nil {
		return nil, err
	}
	return &c, nil
}

// PutConversation creates or replaces (c.UserID, c.ID) and rewrites its
// conversation_tags rows in the same transaction. The upsert only updates a
// row of the same user, so an id of another user changes nothing and is
// reported as KindConflict.
func (s *Store) PutConversation(ctx context.Context, c *librechat.Conversation) error {
	const op = "sqlite.PutConversation"
	if c == nil || c.ID == "" || c.UserID == "" {
		return invalid(op, "conversation id and user are required")
	}
	args, err := conversationArgs(c)
	if err != nil {
		return encodeError(op, "a conversation field", err)
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return other(op, err)
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `INSERT INTO conversations (`+conversationColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET
			object_id = excluded.object_id, title = excluded.title, endpoint = excluded.endpoint,
			model = excluded.model, is_archived = excluded.is_archived, pinned = excluded.pinned,
			is_temporary = excluded.is_temporary, expired_at = excluded.expired_at, tags = excluded.tags,
			fields = excluded.fields, created_at = excluded.created_at, updated_at = excluded.updated_at
		WHERE conversations.user_id = excluded.user_id`, args...)
	if err != nil {
		return other(op, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return other(op, err)
	}
	if n == 0 {
		return conflict(op, "conversation id is taken", nil)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM conversation_tags WHERE conversation_id = ? AND user_id = ?`,
		c.ID, c.UserID); err != nil {
		return other(op, err)
	}
	for _, tag := range c.Tags {
		if _, err := tx.ExecContext(ctx, `INSERT INTO conversation_tags (user_id, tag, conversation_id)
			VALUES (?, ?, ?) ON CONFLICT DO NOTHING`, c.UserID, tag, c.ID); err != nil {
			return other(op, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return other(op, err)
	}
	return nil
}

// Conversation fails with KindNotFound when the user has no such conversation.
func (s *Store) Conversation(ctx context.Context, userID, id string) (*librechat.Conversation, error) {
	const op = "sqlite.Conversation"
	r, err := scanConversationRow(s.r.QueryRowContext(ctx, `SELECT `+conversationColumns+`
		FROM conversations WHERE id = ? AND user_id = ?`, id, userID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound(op, "conversation not found")
	}
	if err != nil {
		return nil, other(op, err)
	}
	c, err := r.decode()
	if err != nil {
		return nil, other(op, err)
	}
	return c, nil
}

// listOrder is one ConversationQuery.SortBy: its column and the cursor key
// of a conversation.
type listOrder struct {
	column string
	isTime bool
	key    func(c *librechat.Conversation) string
}

var listOrders = map[string]listOrder{
	librechat.SortUpdatedAt: {"updated_at", true, func(c *librechat.Conversation) string { return timeKey(c.UpdatedAt) }},
	librechat.SortCreatedAt: {"created_at", true, func(c *librechat.Conversation) string { return timeKey(c.CreatedAt) }},
	librechat.SortTitle:     {"title", false, func(c *librechat.Conversation) string { return c.Title }},
}

// listQuery builds the SELECT of one page. It walks one of the
// conversations_* indexes: equality on (user_id, is_temporary, is_archived),
// an optional row-value range after the cursor on (sort key, id), and the
// order of that index. Without a search it fetches limit+1 rows, the extra
// one telling that a next page exists; with a search the title is matched
// in Go and the caller stops reading once it has limit+1 matches.
func listQuery(userID string, q librechat.ConversationQuery) (query string, args []any, order listOrder, limit int, err error) {
	sortBy := q.SortBy
	if sortBy == "" {
		sortBy = librechat.SortUpdatedAt
	}
	order, ok := listOrders[sortBy]
	if !ok {
		return "", nil, order, 0, errors.New("unknown sort order " + sortBy)
	}
	limit = q.Limit
	if limit <= 0 {
		limit = defaultPageSize
	}
	cmp, dir := ">", "ASC"
	if !q.Asc {
		cmp, dir = "<", "DESC"
	}

	var b strings.Builder
	b.WriteString(`SELECT ` + conversationColumns + ` FROM conversations
		WHERE user_id = ? AND is_temporary = 0 AND is_archived = ?`)
	args = []any{userID, boolInt(q.Archived)}
	if len(q.Tags) > 0 {
		b.WriteString(` AND id IN (SELECT conversation_id FROM conversation_tags WHERE user_id = ? AND tag IN (?` +
			strings.Repeat(", ?", len(q.Tags)-1) + `))`)
		args = append(args, userID)
		for _, tag := range q.Tags {
			args = append(args, tag)
		}
	}
	if q.After != nil {
		var key any = q.After.Key
		if order.isTime {
			t, err := time.Parse(time.RFC3339Nano, q.After.Key)
			if err != nil {
				return "", nil, order, 0, errors.New("cursor key is not an RFC 3339 time")
			}
			key = keyMS(t)
		}
		b.WriteString(` AND (` + order.column + `, id) ` + cmp + ` (?, ?)`)
		args = append(args, key, q.After.ID)
	}
	b.WriteString(` ORDER BY ` + order.column + ` ` + dir + `, id ` + dir)
	if q.Search == "" {
		b.WriteString(` LIMIT ?`)
		args = append(args, limit+1)
	}
	return b.String(), args, order, limit, nil
}

// ListConversations returns one page of the user's non-temporary
// conversations and the cursor of the next page, nil on the last one. The
// cursor key is timeKey of the sort time, or the title.
func (s *Store) ListConversations(ctx context.Context, userID string, q librechat.ConversationQuery) ([]*librechat.Conversation, *librechat.Cursor, error) {
	const op = "sqlite.ListConversations"
	query, args, order, limit, err := listQuery(userID, q)
	if err != nil {
		return nil, nil, invalid(op, err.Error())
	}
	out, more, err := page(ctx, s.r, query, args, limit, q.Search, func(sc scanner) (string, func() (*librechat.Conversation, error), error) {
		r, err := scanConversationRow(sc)
		if err != nil {
			return "", nil, err
		}
		return r.c.Title, r.decode, nil
	})
	if err != nil {
		return nil, nil, other(op, err)
	}
	if !more {
		return out, nil, nil
	}
	last := out[len(out)-1]
	return out, &librechat.Cursor{Key: order.key(last), ID: last.ID}, nil
}

// page runs a list query and keeps the rows whose title contains search
// (case-insensitively; every row when search is empty) up to limit,
// reporting whether another matching row follows. scan reads a row's title
// and returns how to decode the rest, so rows beyond the page are never
// decoded.
func page[T any](ctx context.Context, db *sql.DB, query string, args []any, limit int, search string,
	scan func(scanner) (string, func() (T, error), error)) ([]T, bool, error) {
	rows, err := db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, false, err
	}
	defer rows.Close()
	needle := strings.ToLower(search)
	out := make([]T, 0, min(limit, defaultPageSize))
	more := false
	for rows.Next() {
		title, decode, err := scan(rows)
		if err != nil {
			return nil, false, err
		}
		if needle != "" && !strings.Contains(strings.ToLower(title), needle) {
			continue
		}
		if len(out) == limit {
			more = true
			break
		}
		v, err := decode()
		if err != nil {
			return nil, false, err
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, false, err
	}
	return out, more, rows.Close()
}

// DeleteConversation removes the conversation, its tag rows and its
// messages in one transaction and reports how many messages went.
func (s *Store) DeleteConversation(ctx context.Context, userID, id string) (int, error) {
	const op = "sqlite.DeleteConversation"
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return 0, other(op, err)
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `DELETE FROM conversations WHERE id = ? AND user_id = ?`, id, userID)
	if err != nil {
		return 0, other(op, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, other(op, err)
	}
	if n == 0 {
		return 0, notFound(op, "conversation not found")
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM conversation_tags WHERE conversation_id = ? AND user_id = ?`,
		id, userID); err != nil {
		return 0, other(op, err)
	}
	res, err = tx.ExecContext(ctx, `DELETE FROM messages WHERE user_id = ? AND conversation_id = ?`, userID, id)
	if err != nil {
		return 0, other(op, err)
	}
	msgs, err := res.RowsAffected()
	if err != nil {
		return 0, other(op, err)
	}
	if err := tx.Commit(); err != nil {
		return 0, other(op, err)
	}
	return int(msgs), nil
}

// DeleteConversations removes every conversation (temporary ones included),
// tag row and message of the user in one transaction and reports how many
// conversations went.
func (s *Store) DeleteConversations(ctx context.Context, userID string) (int, error) {
	const op = "sqlite.DeleteConversations"
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return 0, other(op, err)
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `DELETE FROM conversations WHERE user_id = ?`, userID)
	if err != nil {
		return 0, other(op, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, other(op, err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM conversation_tags WHERE user_id = ?`, userID); err != nil {
		return 0, other(op, err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM messages WHERE user_id = ?`, userID); err != nil {
		return 0, other(op, err)
	}
	if err := tx.Commit(); err != nil {
		return 0, other(op, err)
	}
	return int(n), nil
}

// ---- messages ----

const messageColumns = `conversation_id, id, object_id, user_id, parent_id, sender, text, content,
	is_created_by_user, endpoint, model, error, unfinished, is_temporary, expired_at, token_count,
	fields, created_at, updated_at`

// messageArgs returns the values of messageColumns, in order, then the
// message's search_text (see searchText), for m.
func messageArgs(m *librechat.Message) ([]any, error) {
	content, err := encodeContent(m.Content)
	if err != nil {
		return nil, err
	}
	fields, err := encodeFields(m.Fields)
	if err != nil {
		return nil, err
	}
	return []any{
		m.ConversationID, m.ID, m.ObjectID, m.UserID, m.ParentID, m.Sender, m.Text, content,
		boolInt(m.IsCreatedByUser), m.Endpoint, m.Model, boolInt(m.Error), boolInt(m.Unfinished),
		boolInt(m.IsTemporary), msOf(m.ExpiredAt), m.TokenCount,
		fields, msOf(m.CreatedAt), msOf(m.UpdatedAt), searchText(m.Text, m.Content),
	}, nil
}

func scanMessage(sc scanner) (*librechat.Message, error) {
	var (
		m                                    librechat.Message
		content                              sql.NullString
		fields                               string
		byUser, isErr, unfinished, temporary int
		expired, created, updated            sql.NullInt64
	)
	err := sc.Scan(&m.ConversationID, &m.ID, &m.ObjectID, &m.UserID, &m.ParentID, &m.Sender, &m.Text, &content,
		&byUser, &m.Endpoint, &m.Model, &isErr, &unfinished, &temporary, &expired, &m.TokenCount,
		&fields, &created, &updated)
	if err != nil {
		return nil, err
	}
	m.IsCreatedByUser, m.Error, m.Unfinished, m.IsTemporary = byUser != 0, isErr != 0, unfinished != 0, temporary != 0
	m.ExpiredAt, m.CreatedAt, m.UpdatedAt = timeOf(expired), timeOf(created), timeOf(updated)
	if content.Valid {
		m.Content = json.RawMessage(content.String)
	}
	if m.Fields, err = decodeFields(fields); err != nil {
		return nil, err
	}
	return &m, nil
}

// PutMessages upserts every message in one transaction. As with
// conversations, the upsert only updates a row of the same user; a message
// of another user rolls the whole batch back with KindConflict. The
// messages_fts triggers index each row's search_text in the same statement.
func (s *Store) PutMessages(ctx context.Context, msgs ...*librechat.Message) error {
	const op = "sqlite.PutMessages"
	all := make([][]any, len(msgs))
	for i, m := range msgs {
		if m == nil || m.ID == "" || m.ConversationID == "" || m.UserID == "" {
			return invalid(op, "message id, conversation and user are required")
		}
		args, err := messageArgs(m)
		if err != nil {
			return encodeError(op, "a message field", err)
		}
		all[i] = args
	}
	if len(all) == 0 {
		return nil
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return other(op, err)
	}
	defer tx.Rollback()
	stmt, err := tx.PrepareContext(ctx, `INSERT INTO messages (`+messageColumns+`, search_text)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (conversation_id, id) DO UPDATE SET
			object_id = excluded.object_id, parent_id = excluded.parent_id, sender = excluded.sender,
			text = excluded.text, content = excluded.content, is_created_by_user = excluded.is_created_by_user,
			endpoint = excluded.endpoint, model = excluded.model, error = excluded.error,
			unfinished = excluded.unfinished, is_temporary = excluded.is_temporary, expired_at = excluded.expired_at,
			token_count = excluded.token_count, fields = excluded.fields, created_at = excluded.created_at,
			updated_at = excluded.updated_at, search_text = excluded.search_text
		WHERE messages.user_id = excluded.user_id`)
	if err != nil {
		return other(op, err)
	}
	defer stmt.Close()
	for _, args := range all {
		res, err := stmt.ExecContext(ctx, args...)
		if err != nil {
			return other(op, err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return other(op, err)
		}
		if n == 0 {
			return conflict(op, "message id is taken", nil)
		}
	}
	if err := tx.Commit(); err != nil {
		return other(op, err)
	}
	return nil
}

// messagesQuery lists a conversation's messages of one user, in order, by
// walking messages_user_conversation.
const messagesQuery = `SELECT ` + messageColumns + ` FROM messages
	WHERE user_id = ? AND conversation_id = ? ORDER BY created_at, id`

// Messages returns the user's messages of a conversation ordered by
// created_at, then id; an unknown conversation has none.
func (s *Store) Messages(ctx context.Context, userID, conversationID string) ([]*librechat.Message, error) {
	const op = "sqlite.Messages"
	rows, err := s.r.QueryContext(ctx, messagesQuery, userID, conversationID)
	if err != nil {
		return nil, other(op, err)
	}
	defer rows.Close()
	out := []*librechat.Message{}
	for rows.Next() {
		m, err := scanMessage(rows)
		if err != nil {
			return nil, other(op, err)
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, other(op, err)
	}
	return out, nil
}

// Message fails with KindNotFound when the user has no such message.
func (s *Store) Message(ctx context.Context, userID, conversationID, id string) (*librechat.Message, error) {
	const op = "sqlite.Message"
	m, err := scanMessage(s.r.QueryRowContext(ctx, `SELECT `+messageColumns+` FROM messages
		WHERE conversation_id = ? AND id = ? AND user_id = ?`, conversationID, id, userID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound(op, "message not found")
	}
	if err != nil {
		return nil, other(op, err)
	}
	return m, nil
}

// DeleteMessage fails with KindNotFound when the user has no such message.
func (s *Store) DeleteMessage(ctx context.Context, userID, conversationID, id string) error {
	const op = "sqlite.DeleteMessage"
	res, err := s.w.ExecContext(ctx, `DELETE FROM messages WHERE conversation_id = ? AND id = ? AND user_id = ?`,
		conversationID, id, userID)
	if err != nil {
		return other(op, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return other(op, err)
	}
	if n == 0 {
		return notFound(op, "message not found")
	}
	return nil
}

// ---- tags ----

const tagColumns = `user_id, name, object_id, description, count, position, created_at, updated_at`

func tagArgs(t *librechat.Tag) []any {
	return []any{t.UserID, t.Name, t.ObjectID, t.Description, t.Count, t.Position, msOf(t.CreatedAt), msOf(t.UpdatedAt)}
}

func scanTag(sc scanner) (*librechat.Tag, error) {
	var (
		t                librechat.Tag
		created, updated sql.NullInt64
	)
	if err := sc.Scan(&t.UserID, &t.Name, &t.ObjectID, &t.Description, &t.Count, &t.Position, &created, &updated); err != nil {
		return nil, err
	}
	t.CreatedAt, t.UpdatedAt = timeOf(created), timeOf(updated)
	return &t, nil
}

// tagsQuery lists a user's tags, in order, by walking tags_position.
const tagsQuery = `SELECT ` + tagColumns + ` FROM tags WHERE user_id = ? ORDER BY position, name`

// Tags returns the user's tags ordered by position, then name.
func (s *Store) Tags(ctx context.Context, userID string) ([]*librechat.Tag, error) {
	const op = "sqlite.Tags"
	rows, err := s.r.QueryContext(ctx, tagsQuery, userID)
	if err != nil {
		return nil, other(op, err)
	}
	defer rows.Close()
	out := []*librechat.Tag{}
	for rows.Next() {
		t, err := scanTag(rows)
		if err != nil {
			return nil, other(op, err)
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, other(op, err)
	}
	return out, nil
}

// CreateTag fails with KindConflict when the user has a tag of that name.
func (s *Store) CreateTag(ctx context.Context, t *librechat.Tag) error {
	const op = "sqlite.CreateTag"
	if t == nil || t.UserID == "" || t.Name == "" {
		return invalid(op, "tag user and name are required")
	}
	_, err := s.w.ExecContext(ctx, `INSERT INTO tags (`+tagColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, tagArgs(t)...)
	if isUnique(err) {
		return conflict(op, "a tag with this name already exists", err)
	}
	if err != nil {
		return other(op, err)
	}
	return nil
}

// PutTag creates or replaces the tag (t.UserID, t.Name).
func (s *Store) PutTag(ctx context.Context, t *librechat.Tag) error {
	const op = "sqlite.PutTag"
	if t == nil || t.UserID == "" || t.Name == "" {
		return invalid(op, "tag user and name are required")
	}
	_, err := s.w.ExecContext(ctx, `INSERT INTO tags (`+tagColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (user_id, name) DO UPDATE SET
			object_id = excluded.object_id, description = excluded.description, count = excluded.count,
			position = excluded.position, created_at = excluded.created_at, updated_at = excluded.updated_at`,
		tagArgs(t)...)
	if err != nil {
		return other(op, err)
	}
	return nil
}

// DeleteTag fails with KindNotFound when the user has no tag of that name.
func (s *Store) DeleteTag(ctx context.Context, userID, name string) error {
	const op = "sqlite.DeleteTag"
	res, err := s.w.ExecContext(ctx, `DELETE FROM tags WHERE user_id = ? AND name = ?`, userID, name)
	if err != nil {
		return other(op, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return other(op, err)
	}
	if n == 0 {
		return notFound(op, "tag not found")
	}
	return nil
}

// ---- balances ----

const balanceColumns = `user_id, token_credits, auto_refill_enabled, refill_interval_value,
	refill_interval_unit, refill_amount, last_refill`

func scanBalance(sc scanner) (*librechat.Balance, error) {
	var (
		b          librechat.Balance
		autoRefill int
		last       sql.NullInt64
	)
	if err := sc.Scan(&b.UserID, &b.TokenCredits, &autoRefill, &b.RefillIntervalValue,
		&b.RefillIntervalUnit, &b.RefillAmount, &last); err != nil {
		return nil, err
	}
	b.AutoRefillEnabled, b.LastRefill = autoRefill != 0, timeOf(last)
	return &b, nil
}

// Balance fails with KindNotFound when the user has no balance yet.
func (s *Store) Balance(ctx context.Context, userID string) (*librechat.Balance, error) {
	const op = "sqlite.Balance"
	b, err := scanBalance(s.r.QueryRowContext(ctx, `SELECT `+balanceColumns+` FROM balances WHERE user_id = ?`, userID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound(op, "balance not found")
	}
	if err != nil {
		return nil, other(op, err)
	}
	return b, nil
}

// PutBalanceIfAbsent inserts b unless the user has a balance and returns
// the stored one, in one transaction.
func (s *Store) PutBalanceIfAbsent(ctx context.Context, b *librechat.Balance) (*librechat.Balance, error) {
	const op = "sqlite.PutBalanceIfAbsent"
	if b == nil || b.UserID == "" {
		return nil, invalid(op, "balance user is required")
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return nil, other(op, err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `INSERT INTO balances (`+balanceColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (user_id) DO NOTHING`,
		b.UserID, b.TokenCredits, boolInt(b.AutoRefillEnabled), b.RefillIntervalValue,
		b.RefillIntervalUnit, b.RefillAmount, msOf(b.LastRefill)); err != nil {
		return nil, other(op, err)
	}
	got, err := scanBalance(tx.QueryRowContext(ctx, `SELECT `+balanceColumns+` FROM balances WHERE user_id = ?`, b.UserID))
	if err != nil {
		return nil, other(op, err)
	}
	if err := tx.Commit(); err != nil {
		return nil, other(op, err)
	}
	return got, nil
}

// AddTransaction inserts t and adds t.Amount to the balance (created at
// zero when absent) in one transaction; a taken transaction id is
// KindConflict and changes nothing.
func (s *Store) AddTransaction(ctx context.Context, t *librechat.Transaction) (int64, error) {
	const op = "sqlite.AddTransaction"
	if t == nil || t.ID == "" || t.UserID == "" {
		return 0, invalid(op, "transaction id and user are required")
	}
	if math.IsNaN(t.Rate) || math.IsInf(t.Rate, 0) {
		return 0, invalid(op, "transaction rate must be a finite number")
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return 0, other(op, err)
	}
	defer tx.Rollback()
	_, err = tx.ExecContext(ctx, `INSERT INTO transactions
		(id, user_id, conversation_id, message_id, model, token_type, raw_amount, rate, amount, context, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		t.ID, t.UserID, t.ConversationID, t.MessageID, t.Model, t.TokenType, t.RawAmount, t.Rate, t.Amount,
		t.Context, msOf(t.CreatedAt))
	if isUnique(err) {
		return 0, conflict(op, "transaction already recorded", err)
	}
	if err != nil {
		return 0, other(op, err)
	}
	var credits int64
	if err := tx.QueryRowContext(ctx, `INSERT INTO balances (user_id, token_credits) VALUES (?, ?)
		ON CONFLICT (user_id) DO UPDATE SET token_credits = token_credits + excluded.token_credits
		RETURNING token_credits`, t.UserID, t.Amount).Scan(&credits); err != nil {
		return 0, other(op, err)
	}
	if err := tx.Commit(); err != nil {
		return 0, other(op, err)
	}
	return credits, nil
}

// transactionsQuery lists a user's transactions, oldest first, by walking
// transactions_user_created.
const transactionsQuery = `SELECT id, user_id, conversation_id, message_id, model, token_type,
	raw_amount, rate, amount, context, created_at
	FROM transactions WHERE user_id = ? ORDER BY created_at, id`

// Transactions lists the user's transactions by created_at, then id.
func (s *Store) Transactions(ctx context.Context, userID string) ([]*librechat.Transaction, error) {
	const op = "sqlite.Transactions"
	rows, err := s.r.QueryContext(ctx, transactionsQuery, userID)
	if err != nil {
		return nil, other(op, err)
	}
	defer rows.Close()
	out := []*librechat.Transaction{}
	for rows.Next() {
		var (
			t       librechat.Transaction
			created sql.NullInt64
		)
		if err := rows.Scan(&t.ID, &t.UserID, &t.ConversationID, &t.MessageID, &t.Model, &t.TokenType,
			&t.RawAmount, &t.Rate, &t.Amount, &t.Context, &created); err != nil {
			return nil, other(op, err)
		}
		t.CreatedAt = timeOf(created)
		out = append(out, &t)
	}
	if err := rows.Err(); err != nil {
		return nil, other(op, err)
	}
	return out, nil
}
