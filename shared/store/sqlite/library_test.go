package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lcgo/lcgo/infra/migrations"
	"github.com/lcgo/lcgo/shared/librechat"
)

// checkIndexOrder fails unless the first step of a list that is not scoped
// by user walks index want and no step sorts in a temporary b-tree.
func checkIndexOrder(t *testing.T, what string, plan []string, want string) {
	t.Helper()
	if len(plan) == 0 {
		t.Fatalf("%s: empty plan", what)
	}
	if !strings.Contains(plan[0], "INDEX "+want) {
		t.Errorf("%s: first step %q does not use index %s", what, plan[0], want)
	}
	for _, step := range plan {
		if strings.Contains(step, "TEMP B-TREE") {
			t.Errorf("%s: step %q sorts in a temporary b-tree; plan %q", what, step, plan)
		}
	}
}

func TestLibraryQueriesUseIndexes(t *testing.T) {
	st, _ := openTemp(t)
	defer st.Close()
	checkPlan(t, "Files", queryPlan(t, st, filesQuery, "u1"), "files_user_created")
	checkPlan(t, "Presets", queryPlan(t, st, presetsQuery, "u1"), "presets_order")
	checkPlan(t, "GroupsOf", queryPlan(t, st, groupsOfQuery, "u1"), "group_members_user")

	timeCursor := &librechat.Cursor{Key: "2025-01-02T03:04:05.678Z", ID: "s1"}
	for _, tc := range []struct {
		q     librechat.ShareQuery
		index string
	}{
		{librechat.ShareQuery{}, "shared_links_created"},
		{librechat.ShareQuery{Asc: true, After: timeCursor}, "shared_links_created"},
		{librechat.ShareQuery{SortBy: librechat.SortUpdatedAt, After: timeCursor}, "shared_links_updated"},
		{librechat.ShareQuery{SortBy: librechat.SortTitle, Asc: true, After: &librechat.Cursor{Key: "t", ID: "s1"}}, "shared_links_title"},
		{librechat.ShareQuery{SortBy: librechat.SortTitle, Search: "x"}, "shared_links_title"},
	} {
		query, args, _, _, err := sharesQuery("u1", tc.q)
		if err != nil {
			t.Fatal(err)
		}
		plan := queryPlan(t, st, query, args...)
		checkPlan(t, query, plan, tc.index)
		if tc.q.After != nil && !strings.Contains(plan[0], ",share_id)") {
			t.Errorf("plan %q does not seek past the cursor", plan[0])
		}
	}

	checkIndexOrder(t, "Groups", queryPlan(t, st, groupsQuery), "groups_name")
	checkIndexOrder(t, "Members", queryPlan(t, st, membersQuery, "g1"), "sqlite_autoindex_group_members_1 (group_id=?)")
	checkIndexOrder(t, "ModelConfigs", queryPlan(t, st, modelConfigsQuery, librechat.ScopeGroup, "g1"), "model_configs_name (scope=? AND scope_id=?)")
	checkIndexOrder(t, "ModelConfigs of every scope", queryPlan(t, st, allModelConfigsQuery), "model_configs_name")
	for _, after := range []*librechat.Cursor{nil, timeCursor} {
		query, args, err := auditQuery(after, 10)
		if err != nil {
			t.Fatal(err)
		}
		checkIndexOrder(t, query, queryPlan(t, st, query, args...), "audit_created")
	}
	for _, after := range []*librechat.Cursor{nil, timeCursor, {Key: timeKey(time.Time{}), ID: "u1"}} {
		queries, args, err := usersQueries(after, 10)
		if err != nil {
			t.Fatal(err)
		}
		for i, query := range queries {
			checkIndexOrder(t, query, queryPlan(t, st, query, args[i]...), "users_created")
		}
	}
}

// TestSearchQueriesReadIndexes checks that a search reads the FTS indexes
// and reaches each table row by rowid or key, never by scanning a table.
func TestSearchQueriesReadIndexes(t *testing.T) {
	st, _ := openTemp(t)
	defer st.Close()
	for name, plan := range map[string][]string{
		"SearchMessages":      queryPlan(t, st, searchMessagesQuery, `"x"*`, "u1", 11, 0),
		"SearchConversations": queryPlan(t, st, searchConversationsQuery, `"x"*`, "u1", `"x"*`, "u1", "u1", 11, 0),
	} {
		joined := strings.Join(plan, "\n")
		for _, step := range plan {
			if strings.HasPrefix(step, "SCAN ") && !strings.Contains(step, "VIRTUAL TABLE") &&
				step != "SCAN hits" && step != "SCAN r" {
				t.Errorf("%s: step %q scans a table; plan %q", name, step, plan)
			}
			if strings.HasPrefix(step, "SEARCH m ") && !strings.Contains(step, "(rowid=?)") ||
				strings.HasPrefix(step, "SEARCH c ") && !strings.Contains(step, "(rowid=?)") && !strings.Contains(step, "(id=?)") {
				t.Errorf("%s: step %q does not reach a row by its key; plan %q", name, step, plan)
			}
		}
		if !strings.Contains(joined, "messages_fts VIRTUAL TABLE") {
			t.Errorf("%s: plan %q does not read messages_fts", name, plan)
		}
	}
}

func TestMatchExpr(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"   \t\n", ""},
		{`"`, ""},
		{`* ( ) : ^ - +`, ""},
		{"hello", `"hello"*`},
		{"  Hello   World ", `"Hello"* AND "World"*`},
		{`AND( OR NOT`, `"AND("* AND "OR"* AND "NOT"*`},
		{`say "hi"`, `"say"* AND """hi"""*`},
		{`col:val`, `"col:val"*`},
		{"a\x00b", `"a"* AND "b"*`},
		{"über 42", `"über"* AND "42"*`},
		{"🙂 ok", `"ok"*`},
	} {
		if got := matchExpr(tc.in); got != tc.want {
			t.Errorf("matchExpr(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
	long := strings.Repeat("w ", maxSearchWords+10)
	if n := strings.Count(matchExpr(long), " AND ") + 1; n != maxSearchWords {
		t.Errorf("matchExpr of %d words kept %d, want %d", maxSearchWords+10, n, maxSearchWords)
	}
}

func TestSearchText(t *testing.T) {
	for _, tc := range []struct {
		text, content, want string
	}{
		{"", "", ""},
		{"plain", "", "plain"},
		{"", `[{"type":"text","text":"part one"},{"type":"text","text":"part two"}]`, "part one\npart two"},
		{"same", `[{"type":"text","text":"same"},{"type":"text","text":"more"}]`, "same\nmore"},
		{"", `[{"type":"text","text":{"value":"valued","annotations":[]}}]`, "valued"},
		{"t", `[{"type":"think","think":"hidden"},{"type":"image_url","image_url":{"url":"u"}},{"type":"text","text":"  "}]`, "t"},
		{"t", `{"type":"text","text":"an object, not a list"}`, "t"},
		{"t", `["a string", 3, null, {"type":"text","text":7}]`, "t"},
	} {
		if got := searchText(tc.text, json.RawMessage(tc.content)); got != tc.want {
			t.Errorf("searchText(%q, %s) = %q, want %q", tc.text, tc.content, got, tc.want)
		}
	}
}

func TestLibraryStoredRepresentation(t *testing.T) {
	ctx := context.Background()
	st, _ := openTemp(t)
	defer st.Close()
	created := time.Date(2025, 1, 2, 3, 4, 5, 678_901_234, time.FixedZone("X", 3600))
	if err := st.PutFile(ctx, &librechat.File{ID: "f1", UserID: "u1", UpdatedAt: created}); err != nil {
		t.Fatal(err)
	}
	var (
		createdMS int64
		updated   sql.NullInt64
		fields    string
	)
	if err := st.r.QueryRow(`SELECT created_at, updated_at, fields FROM files WHERE id = 'f1'`).Scan(&createdMS, &updated, &fields); err != nil {
		t.Fatal(err)
	}
	if createdMS != (time.Time{}).UnixMilli() || updated.Int64 != created.UnixMilli() || fields != "null" {
		t.Errorf("stored file created_at, updated_at, fields = %d, %v, %s", createdMS, updated, fields)
	}
	if err := st.PutShare(ctx, &librechat.SharedLink{ShareID: "s1", UserID: "u1", ConversationID: "c1",
		MessageIDs: []string{"a", "b"}, CreatedAt: created}); err != nil {
		t.Fatal(err)
	}
	var ids string
	if err := st.r.QueryRow(`SELECT message_ids, created_at FROM shared_links WHERE share_id = 's1'`).Scan(&ids, &createdMS); err != nil {
		t.Fatal(err)
	}
	if ids != `["a","b"]` || createdMS != created.UnixMilli() {
		t.Errorf("stored message_ids, created_at = %s, %d", ids, createdMS)
	}
	spec := json.RawMessage("{ \"a\" : [1, 2.50] }")
	if err := st.CreateModelConfig(ctx, &librechat.ModelConfig{ID: "m1", Scope: librechat.ScopeSystem, Name: "n", Spec: spec}); err != nil {
		t.Fatal(err)
	}
	got, err := st.ModelConfig(ctx, "m1")
	if err != nil || string(got.Spec) != string(spec) {
		t.Errorf("ModelConfig spec = %s, %v; want the bytes %s", got.Spec, err, spec)
	}
	if err := st.PutMessages(ctx, &librechat.Message{ID: "m1", ConversationID: "c1", UserID: "u1", Text: "t",
		Content: json.RawMessage(`[{"type":"text","text":"p"}]`)}); err != nil {
		t.Fatal(err)
	}
	var searchable string
	if err := st.r.QueryRow(`SELECT search_text FROM messages WHERE id = 'm1'`).Scan(&searchable); err != nil || searchable != "t\np" {
		t.Errorf("stored search_text = %q, %v; want %q", searchable, err, "t\np")
	}
}

// checkFTSIntegrity runs FTS5's integrity check, which compares each index
// with the view it is built from, with the index's rank.
func checkFTSIntegrity(t *testing.T, st *Store) {
	t.Helper()
	for _, table := range []string{"messages_fts", "conversations_fts"} {
		if _, err := st.w.Exec(`INSERT INTO ` + table + ` (` + table + `, rank) VALUES ('integrity-check', 1)`); err != nil {
			t.Errorf("%s integrity check: %v", table, err)
		}
	}
}

func TestSearchIndexesFollowTheirTables(t *testing.T) {
	ctx := context.Background()
	st, _ := openTemp(t)
	defer st.Close()
	step := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		checkFTSIntegrity(t, st)
	}
	msg := func(conv, id, text string, temp bool) *librechat.Message {
		return &librechat.Message{ID: id, ConversationID: conv, UserID: "u1", Text: text, IsTemporary: temp}
	}
	conv := func(id, title string, temp bool) *librechat.Conversation {
		return &librechat.Conversation{ID: id, UserID: "u1", Title: title, IsTemporary: temp}
	}
	step("put conversations", st.PutConversation(ctx, conv("c1", "first", false)))
	step("put temporary conversation", st.PutConversation(ctx, conv("c2", "second", true)))
	step("put messages", st.PutMessages(ctx, msg("c1", "m1", "one", false), msg("c1", "m2", "two", true), msg("c2", "m3", "three", false)))
	step("edit text", st.PutMessages(ctx, msg("c1", "m1", "uno", false)))
	step("same text again", st.PutMessages(ctx, msg("c1", "m1", "uno", false)))
	step("message becomes temporary", st.PutMessages(ctx, msg("c1", "m1", "uno", true)))
	step("message stops being temporary", st.PutMessages(ctx, msg("c1", "m2", "dos", false)))
	step("rename", st.PutConversation(ctx, conv("c1", "premier", false)))
	step("conversation becomes temporary", st.PutConversation(ctx, conv("c1", "premier", true)))
	step("conversation is kept", st.PutConversation(ctx, conv("c2", "second", false)))
	step("rejected message", ignoreConflict(st.PutMessages(ctx, msg("c1", "m9", "x", false),
		&librechat.Message{ID: "m2", ConversationID: "c1", UserID: "u2", Text: "stolen"})))
	step("delete message", st.DeleteMessage(ctx, "u1", "c1", "m2"))
	_, err := st.DeleteConversation(ctx, "u1", "c2")
	step("delete conversation", err)
	_, err = st.DeleteConversations(ctx, "u1")
	step("delete all", err)
	if n := countRows(t, st, `SELECT COUNT(*) FROM messages_fts`); n != 0 {
		t.Errorf("messages_fts has %d rows after every message went", n)
	}
}

func ignoreConflict(err error) error {
	if librechat.KindOf(err) == librechat.KindConflict {
		return nil
	}
	return fmt.Errorf("want a conflict, got %v", err)
}

// TestSearchMigrationIndexesExistingRows applies the migrations before
// 0004 by hand, stores rows the way the adapter did then, and opens the
// file: the search_text it fills in must be what PutMessages stores today.
func TestSearchMigrationIndexesExistingRows(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.db")
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	all, err := migrations.All()
	if err != nil {
		t.Fatal(err)
	}
	exec := func(query string, args ...any) {
		t.Helper()
		if _, err := db.Exec(query, args...); err != nil {
			t.Fatalf("%s: %v", query, err)
		}
	}
	exec(`CREATE TABLE schema_migrations (version INTEGER NOT NULL PRIMARY KEY, applied_at INTEGER NOT NULL)`)
	for _, m := range all {
		if m.Version >= 3 {
			break
		}
		exec(m.SQL)
		exec(`INSERT INTO schema_migrations (version, applied_at) VALUES (?, 0)`, m.Version)
	}
	exec(`INSERT INTO conversations (id, user_id, title, is_temporary, created_at, updated_at) VALUES
		('c1', 'u1', 'ancient scrolls', 0, 0, 0), ('c2', 'u1', 'ancient tmp', 1, 0, 0), ('d1', 'u2', 'ancient other', 0, 0, 0)`)
	rows := []struct {
		conv, id, user, text, content string
		temp                          int
	}{
		{"c1", "m1", "u1", "plain ancient text", "", 0},
		{"c1", "m2", "u1", "", `[{"type":"text","text":"ancient part"},{"type":"think","think":"hidden"}]`, 0},
		{"c1", "m3", "u1", "dup", `[{"type":"text","text":"dup"},{"type":"text","text":"ancient extra"}]`, 0},
		{"c1", "m4", "u1", "", `[{"type":"text","text":{"value":"ancient valued"}}]`, 0},
		{"c1", "m5", "u1", "t", `{"type":"text","text":"not a list"}`, 0},
		{"c1", "m6", "u1", "t", `["ancient string", 3, null, {"type":"text","text":7}]`, 0},
		{"c1", "m7", "u1", "ancient temporary", "", 1},
		{"d1", "m8", "u2", "ancient of u2", "", 0},
	}
	for _, r := range rows {
		var content any
		if r.content != "" {
			content = r.content
		}
		exec(`INSERT INTO messages (conversation_id, id, user_id, text, content, is_temporary) VALUES (?, ?, ?, ?, ?, ?)`,
			r.conv, r.id, r.user, r.text, content, r.temp)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	st, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for _, r := range rows {
		var got string
		if err := st.r.QueryRow(`SELECT search_text FROM messages WHERE id = ?`, r.id).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if want := searchText(r.text, json.RawMessage(r.content)); got != want {
			t.Errorf("migrated search_text of %s = %q, PutMessages would store %q", r.id, got, want)
		}
	}
	hits, _, err := st.SearchMessages(ctx, "u1", "ancient", nil, 100)
	if err != nil {
		t.Fatal(err)
	}
	found := map[string]bool{}
	for _, h := range hits {
		found[h.Message.ID] = true
	}
	for _, id := range []string{"m1", "m2", "m3", "m4"} {
		if !found[id] {
			t.Errorf("migrated message %s not found; found %v", id, found)
		}
	}
	if len(found) != 4 {
		t.Errorf("found %v, want m1 to m4 only", found)
	}
	cs, _, err := st.SearchConversations(ctx, "u1", "scrolls", nil, 10)
	if err != nil || len(cs) != 1 || cs[0].ID != "c1" {
		t.Errorf("SearchConversations of a migrated title = %v, %v", cs, err)
	}
	cs, _, err = st.SearchConversations(ctx, "u1", "tmp", nil, 10)
	if err != nil || len(cs) != 0 {
		t.Errorf("SearchConversations of a migrated temporary title = %v, %v", cs, err)
	}
	checkFTSIntegrity(t, st)
}

func TestSearchCursorIsAPosition(t *testing.T) {
	ctx := context.Background()
	st, _ := openTemp(t)
	defer st.Close()
	for i := range 5 {
		if err := st.PutMessages(ctx, &librechat.Message{ID: fmt.Sprintf("m%d", i), ConversationID: "c1", UserID: "u1", Text: "word"}); err != nil {
			t.Fatal(err)
		}
	}
	_, next, err := st.SearchMessages(ctx, "u1", "word", nil, 2)
	if err != nil || next == nil || next.Key != "2" {
		t.Fatalf("first page cursor = %+v, %v; want key 2", next, err)
	}
	_, next, err = st.SearchMessages(ctx, "u1", "word", next, 2)
	if err != nil || next == nil || next.Key != "4" {
		t.Fatalf("second page cursor = %+v, %v; want key 4", next, err)
	}
	for _, key := range []string{"-1", "x", "1.5", ""} {
		_, _, err := st.SearchMessages(ctx, "u1", "word", &librechat.Cursor{Key: key}, 2)
		if librechat.KindOf(err) != librechat.KindInvalid {
			t.Errorf("SearchMessages after key %q = %v, want invalid", key, err)
		}
	}
	hits, next, err := st.SearchMessages(ctx, "u1", "word", &librechat.Cursor{Key: "99"}, 2)
	if err != nil || len(hits) != 0 || next != nil {
		t.Errorf("SearchMessages past the end = %d hits, %v, %v", len(hits), next, err)
	}
}
