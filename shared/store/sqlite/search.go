package sqlite

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"unicode"

	"github.com/lcgo/lcgo/shared/librechat"
)

// Search works on two FTS5 indexes that migration 0004 keeps in step with
// their tables by triggers: messages_fts over messages.search_text (see
// searchText) and conversations_fts over conversations.title. Temporary
// messages and conversations are never indexed, and a message of a
// temporary conversation is filtered out when searching. Every query joins
// the index back to its table by rowid and keeps only the user's rows.
//
// A query string is never FTS5 syntax: matchExpr turns each word into a
// quoted prefix string, and all words must match. Results are ranked by
// bm25 (best first), then newest first, then by id, a total order.
//
// Ranked results are paged by position. The cursor of the next page has as
// Key the number of results already returned, in decimal, and as ID the id
// of the last one (informational only). Pages neither skip nor repeat a
// result as long as the user's messages and titles do not change between
// the requests; a cursor whose key is not a non-negative integer is
// KindInvalid.

// maxSearchWords is how many words of a query are used; the rest are ignored.
const maxSearchWords = 32

// matchExpr turns user input into an FTS5 MATCH expression: the input is
// split at white space and control characters (a NUL would end the
// expression early), each word with at least one letter or digit becomes a
// string (quotes doubled, so no character of it is syntax) marked as a
// prefix, and the strings are joined with AND. FTS5 tokenizes each string
// as it tokenizes the text, so "don't" matches the adjacent tokens "don"
// and a word starting with "t". An input without words gives "".
func matchExpr(q string) string {
	var terms []string
	for _, w := range strings.FieldsFunc(q, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) {
		if !strings.ContainsFunc(w, func(r rune) bool { return unicode.IsLetter(r) || unicode.IsNumber(r) }) {
			continue
		}
		terms = append(terms, `"`+strings.ReplaceAll(w, `"`, `""`)+`"*`)
		if len(terms) == maxSearchWords {
			break
		}
	}
	return strings.Join(terms, " AND ")
}

// searchText is what a message is found by: its text, then the text of
// each "text" content part (a string, or an object's "value") that is not
// blank and differs from the text, one per line. Content that is not a JSON
// array contributes nothing. Migration 0004 computes the same for the
// messages stored before it.
func searchText(text string, content json.RawMessage) string {
	parts := make([]string, 0, 2)
	if text != "" {
		parts = append(parts, text)
	}
	var items []json.RawMessage
	if len(content) > 0 && json.Unmarshal(content, &items) == nil {
		for _, item := range items {
			var part struct {
				Type string          `json:"type"`
				Text json.RawMessage `json:"text"`
			}
			if json.Unmarshal(item, &part) != nil || part.Type != "text" {
				continue
			}
			var s string
			if json.Unmarshal(part.Text, &s) != nil {
				var v struct {
					Value string `json:"value"`
				}
				if json.Unmarshal(part.Text, &v) != nil {
					continue
				}
				s = v.Value
			}
			if strings.TrimSpace(s) == "" || s == text {
				continue
			}
			parts = append(parts, s)
		}
	}
	return strings.Join(parts, "\n")
}

// qualify prefixes every column of a column list with a table alias.
func qualify(alias, columns string) string {
	cols := strings.Split(columns, ",")
	for i, c := range cols {
		cols[i] = alias + "." + strings.TrimSpace(c)
	}
	return strings.Join(cols, ", ")
}

// searchOffset reads the position a search cursor holds.
func searchOffset(after *librechat.Cursor) (int, error) {
	if after == nil {
		return 0, nil
	}
	n, err := strconv.Atoi(after.Key)
	if err != nil || n < 0 {
		return 0, errors.New("search cursor key is not a position")
	}
	return n, nil
}

// searchMessagesQuery ranks the user's matching messages. Its parameters
// are the MATCH expression, the user, limit+1 and the offset.
var searchMessagesQuery = `SELECT ` + qualify("m", messageColumns) + `, coalesce(c.title, '')
	FROM messages_fts
	JOIN messages m ON m.rowid = messages_fts.rowid
	LEFT JOIN conversations c ON c.id = m.conversation_id AND c.user_id = m.user_id
	WHERE messages_fts MATCH ? AND m.user_id = ? AND m.is_temporary = 0 AND coalesce(c.is_temporary, 0) = 0
	ORDER BY bm25(messages_fts), m.created_at DESC, m.conversation_id, m.id
	LIMIT ? OFFSET ?`

// SearchMessages returns one page of the user's messages matching q, each
// with its conversation's title ("" when the conversation is not stored).
func (s *Store) SearchMessages(ctx context.Context, userID, q string, after *librechat.Cursor, limit int) ([]librechat.SearchHit, *librechat.Cursor, error) {
	const op = "sqlite.SearchMessages"
	offset, err := searchOffset(after)
	if err != nil {
		return nil, nil, invalid(op, err.Error())
	}
	limit = pageLimit(limit)
	out := []librechat.SearchHit{}
	match := matchExpr(q)
	if match == "" {
		return out, nil, nil
	}
	rows, err := s.r.QueryContext(ctx, searchMessagesQuery, match, userID, limit+1, offset)
	if err != nil {
		return nil, nil, other(op, err)
	}
	defer rows.Close()
	for rows.Next() {
		var title string
		m, err := scanMessage(titled{rows, &title})
		if err != nil {
			return nil, nil, other(op, err)
		}
		out = append(out, librechat.SearchHit{Message: m, Title: title})
	}
	if err := rows.Err(); err != nil {
		return nil, nil, other(op, err)
	}
	if len(out) <= limit {
		return out, nil, nil
	}
	out = out[:limit]
	return out, &librechat.Cursor{Key: strconv.Itoa(offset + limit), ID: out[limit-1].Message.ID}, nil
}

// titled scans one extra trailing column into title.
type titled struct {
	sc    scanner
	title *string
}

func (t titled) Scan(dest ...any) error { return t.sc.Scan(append(dest, t.title)...) }

// searchConversationsQuery ranks the user's conversations by the sum of
// the bm25 scores of their matching title and messages, so that more and
// better matches rank first. Its parameters are the MATCH expression and
// the user (twice each: messages, then titles), the user, limit+1 and the
// offset. The CROSS JOIN keeps the hits as the outer loop, so that each
// conversation is looked up by its id rather than every conversation of
// the user being scanned.
var searchConversationsQuery = `WITH hits (conversation_id, score) AS (
		SELECT m.conversation_id, bm25(messages_fts)
		FROM messages_fts JOIN messages m ON m.rowid = messages_fts.rowid
		WHERE messages_fts MATCH ? AND m.user_id = ? AND m.is_temporary = 0
		UNION ALL
		SELECT c.id, bm25(conversations_fts)
		FROM conversations_fts JOIN conversations c ON c.rowid = conversations_fts.rowid
		WHERE conversations_fts MATCH ? AND c.user_id = ?
	), ranked (conversation_id, score) AS (
		SELECT conversation_id, sum(score) FROM hits GROUP BY conversation_id
	)
	SELECT ` + qualify("c", conversationColumns) + `
	FROM ranked r CROSS JOIN conversations c ON c.id = r.conversation_id
	WHERE c.user_id = ? AND c.is_temporary = 0
	ORDER BY r.score, c.updated_at DESC, c.id
	LIMIT ? OFFSET ?`

// SearchConversations returns one page of the user's non-temporary
// conversations whose title or one of whose messages matches q, each once.
func (s *Store) SearchConversations(ctx context.Context, userID, q string, after *librechat.Cursor, limit int) ([]*librechat.Conversation, *librechat.Cursor, error) {
	const op = "sqlite.SearchConversations"
	offset, err := searchOffset(after)
	if err != nil {
		return nil, nil, invalid(op, err.Error())
	}
	limit = pageLimit(limit)
	out := []*librechat.Conversation{}
	match := matchExpr(q)
	if match == "" {
		return out, nil, nil
	}
	rows, err := s.r.QueryContext(ctx, searchConversationsQuery, match, userID, match, userID, userID, limit+1, offset)
	if err != nil {
		return nil, nil, other(op, err)
	}
	defer rows.Close()
	for rows.Next() {
		r, err := scanConversationRow(rows)
		if err != nil {
			return nil, nil, other(op, err)
		}
		c, err := r.decode()
		if err != nil {
			return nil, nil, other(op, err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, other(op, err)
	}
	if len(out) <= limit {
		return out, nil, nil
	}
	out = out[:limit]
	return out, &librechat.Cursor{Key: strconv.Itoa(offset + limit), ID: out[limit-1].ID}, nil
}
