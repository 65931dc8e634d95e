package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/lcgo/lcgo/shared/librechat"
)

// queryPlan returns the detail lines of EXPLAIN QUERY PLAN for query.
func queryPlan(t *testing.T, st *Store, query string, args ...any) []string {
	t.Helper()
	rows, err := st.r.Query(`EXPLAIN QUERY PLAN `+query, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var (
			id, parent, notused int
			detail              string
		)
		if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
			t.Fatal(err)
		}
		out = append(out, detail)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// checkPlan fails unless every table the plan reads is searched through an
// index with at least the user as a constraint, the first step uses index
// want, and no step sorts in a temporary b-tree.
func checkPlan(t *testing.T, what string, plan []string, want string) {
	t.Helper()
	if len(plan) == 0 {
		t.Fatalf("%s: empty plan", what)
	}
	if !strings.Contains(plan[0], "INDEX "+want+" ") {
		t.Errorf("%s: first step %q does not use index %s", what, plan[0], want)
	}
	for _, step := range plan {
		if strings.Contains(step, "TEMP B-TREE") {
			t.Errorf("%s: step %q sorts in a temporary b-tree; plan %q", what, step, plan)
		}
		if strings.HasPrefix(step, "SCAN ") || (strings.HasPrefix(step, "SEARCH ") && !strings.Contains(step, "user_id=?")) {
			t.Errorf("%s: step %q is not an index search by user; plan %q", what, step, plan)
		}
	}
}

func TestListQueriesUseIndexes(t *testing.T) {
	st, _ := openTemp(t)
	defer st.Close()
	timeCursor := &librechat.Cursor{Key: "2025-01-02T03:04:05.678Z", ID: "c1"}
	for _, tc := range []struct {
		q     librechat.ConversationQuery
		index string
	}{
		{librechat.ConversationQuery{}, "conversations_updated"},
		{librechat.ConversationQuery{Asc: true, After: timeCursor}, "conversations_updated"},
		{librechat.ConversationQuery{SortBy: librechat.SortCreatedAt, After: timeCursor, Archived: true}, "conversations_created"},
		{librechat.ConversationQuery{SortBy: librechat.SortTitle, Asc: true, After: &librechat.Cursor{Key: "t", ID: "c1"}}, "conversations_title"},
		{librechat.ConversationQuery{Tags: []string{"a", "b"}, After: timeCursor}, "conversations_updated"},
		{librechat.ConversationQuery{Search: "hello", SortBy: librechat.SortTitle}, "conversations_title"},
	} {
		query, args, _, _, err := listQuery("u1", tc.q)
		if err != nil {
			t.Fatal(err)
		}
		plan := queryPlan(t, st, query, args...)
		checkPlan(t, query, plan, tc.index)
		if len(tc.q.Tags) > 0 && !strings.Contains(strings.Join(plan, "\n"), "conversation_tags USING COVERING INDEX") {
			t.Errorf("tag filter plan %q does not search conversation_tags by its key", plan)
		}
		if tc.q.After != nil && !strings.Contains(plan[0], ",id)") {
			t.Errorf("plan %q does not seek past the cursor", plan[0])
		}
	}
	checkPlan(t, "Messages", queryPlan(t, st, messagesQuery, "u1", "c1"), "messages_user_conversation")
	checkPlan(t, "Tags", queryPlan(t, st, tagsQuery, "u1"), "tags_position")
	checkPlan(t, "Transactions", queryPlan(t, st, transactionsQuery, "u1"), "transactions_user_created")
}

func TestChatStoredRepresentation(t *testing.T) {
	ctx := context.Background()
	st, _ := openTemp(t)
	defer st.Close()
	updated := time.Date(2025, 1, 2, 3, 4, 5, 678_901_234, time.FixedZone("X", 3600))
	raw := json.RawMessage("{ \"a\" : [1, 2.50, \"<&>\"] }")
	c := &librechat.Conversation{
		ID: "c1", UserID: "u1", Title: "t", UpdatedAt: updated, Tags: []string{"x", "y", "x"},
		Fields: map[string]json.RawMessage{"b": json.RawMessage(`true`), "a": raw},
	}
	if err := st.PutConversation(ctx, c); err != nil {
		t.Fatal(err)
	}
	var (
		createdMS, updatedMS int64
		expired              sql.NullInt64
		tags, fields         string
	)
	err := st.r.QueryRow(`SELECT created_at, updated_at, expired_at, tags, fields FROM conversations WHERE id = 'c1'`).
		Scan(&createdMS, &updatedMS, &expired, &tags, &fields)
	if err != nil {
		t.Fatal(err)
	}
	if createdMS != (time.Time{}).UnixMilli() {
		t.Errorf("stored created_at = %d, want %d for the zero time", createdMS, (time.Time{}).UnixMilli())
	}
	if updatedMS != updated.UnixMilli() {
		t.Errorf("stored updated_at = %d, want %d", updatedMS, updated.UnixMilli())
	}
	if expired.Valid {
		t.Errorf("stored expired_at = %d, want NULL", expired.Int64)
	}
	if tags != `["x","y","x"]` {
		t.Errorf("stored tags = %s", tags)
	}
	if want := `{"a":` + string(raw) + `,"b":true}`; fields != want {
		t.Errorf("stored fields = %s, want %s", fields, want)
	}
	got, err := st.Conversation(ctx, "u1", "c1")
	if err != nil {
		t.Fatal(err)
	}
	if string(got.Fields["a"]) != string(raw) {
		t.Errorf("Fields[a] = %s, want the bytes %s", got.Fields["a"], raw)
	}
	if !got.CreatedAt.IsZero() || got.UpdatedAt.Location() != time.UTC || !got.UpdatedAt.Equal(updated.Truncate(time.Millisecond)) {
		t.Errorf("CreatedAt, UpdatedAt = %v, %v", got.CreatedAt, got.UpdatedAt)
	}

	content := json.RawMessage(`[ {"type":"text"} ]`)
	if err := st.PutMessages(ctx, &librechat.Message{ID: "m1", ConversationID: "c1", UserID: "u1", Content: content},
		&librechat.Message{ID: "m2", ConversationID: "c1", UserID: "u1"}); err != nil {
		t.Fatal(err)
	}
	var stored sql.NullString
	if err := st.r.QueryRow(`SELECT content FROM messages WHERE id = 'm1'`).Scan(&stored); err != nil || stored.String != string(content) {
		t.Errorf("stored content = %q, %v; want %s", stored.String, err, content)
	}
	if err := st.r.QueryRow(`SELECT content FROM messages WHERE id = 'm2'`).Scan(&stored); err != nil || stored.Valid {
		t.Errorf("stored content of a message without one = %q, %v; want NULL", stored.String, err)
	}
}

func countRows(t *testing.T, st *Store, query string, args ...any) int {
	t.Helper()
	var n int
	if err := st.r.QueryRow(query, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestConversationTagRowsFollowTheConversation(t *testing.T) {
	ctx := context.Background()
	st, _ := openTemp(t)
	defer st.Close()
	tagRows := func(user string) int {
		return countRows(t, st, `SELECT COUNT(*) FROM conversation_tags WHERE user_id = ?`, user)
	}
	put := func(user, id string, tags ...string) error {
		return st.PutConversation(ctx, &librechat.Conversation{ID: id, UserID: user, Tags: tags})
	}
	if err := put("u1", "c1", "a", "b", "a"); err != nil {
		t.Fatal(err)
	}
	if err := put("u1", "c2", "a"); err != nil {
		t.Fatal(err)
	}
	if n := tagRows("u1"); n != 3 {
		t.Errorf("%d tag rows, want 3", n)
	}
	if err := put("u1", "c1", "c"); err != nil {
		t.Fatal(err)
	}
	if n := countRows(t, st, `SELECT COUNT(*) FROM conversation_tags WHERE conversation_id = 'c1' AND tag = 'c'`); n != 1 || tagRows("u1") != 2 {
		t.Errorf("after retagging c1: %d rows for its new tag and %d in all, want 1 and 2", n, tagRows("u1"))
	}
	if err := put("u2", "c1", "evil"); librechat.KindOf(err) != librechat.KindConflict {
		t.Fatalf("PutConversation of another user's id = %v", err)
	}
	if n := tagRows("u2"); n != 0 {
		t.Errorf("a rejected PutConversation left %d tag rows", n)
	}
	if _, err := st.DeleteConversation(ctx, "u1", "c1"); err != nil {
		t.Fatal(err)
	}
	if n := tagRows("u1"); n != 1 {
		t.Errorf("%d tag rows after DeleteConversation, want 1", n)
	}
	if _, err := st.DeleteConversations(ctx, "u1"); err != nil {
		t.Fatal(err)
	}
	if n := tagRows("u1"); n != 0 {
		t.Errorf("%d tag rows after DeleteConversations, want 0", n)
	}
}

func TestAddTransactionRollsBackOnFailure(t *testing.T) {
	ctx := context.Background()
	st, _ := openTemp(t)
	defer st.Close()
	if _, err := st.AddTransaction(ctx, &librechat.Transaction{ID: "t1", UserID: "u1", Amount: 10}); err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := st.AddTransaction(cctx, &librechat.Transaction{ID: "t2", UserID: "u1", Amount: 5}); err == nil {
		t.Fatal("AddTransaction with a cancelled context succeeded")
	}
	for _, bad := range []float64{math.NaN(), math.Inf(1)} {
		_, err := st.AddTransaction(ctx, &librechat.Transaction{ID: "t3", UserID: "u1", Amount: 5, Rate: bad})
		if librechat.KindOf(err) != librechat.KindInvalid {
			t.Errorf("AddTransaction with rate %v = %v, want invalid", bad, err)
		}
	}
	b, err := st.Balance(ctx, "u1")
	if err != nil || b.TokenCredits != 10 {
		t.Fatalf("Balance = %+v, %v; want 10 credits", b, err)
	}
	if n := countRows(t, st, `SELECT COUNT(*) FROM transactions`); n != 1 {
		t.Errorf("%d transactions stored, want 1", n)
	}
}
