package storetest

import (
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lcgo/lcgo/shared/librechat"
)

// ---- chat helpers ----

// sameJSON compares two raw JSON values by meaning, not by bytes: adapters
// may re-encode them. Empty stands only for empty.
func sameJSON(a, b json.RawMessage) bool {
	if len(a) == 0 || len(b) == 0 {
		return len(a) == len(b)
	}
	var av, bv any
	if json.Unmarshal(a, &av) != nil || json.Unmarshal(b, &bv) != nil {
		return false
	}
	return reflect.DeepEqual(av, bv)
}

func checkFields(t *testing.T, what string, got, want map[string]json.RawMessage) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s has %d keys, want %d: got %s", what, len(got), len(want), fieldsString(got))
		return
	}
	for k, w := range want {
		g, ok := got[k]
		if !ok {
			t.Errorf("%s[%q] is missing", what, k)
			continue
		}
		if !sameJSON(g, w) {
			t.Errorf("%s[%q] = %s, want %s", what, k, g, w)
		}
	}
}

func fieldsString(m map[string]json.RawMessage) string {
	parts := make([]string, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%q:%s", k, m[k]))
	}
	return "{" + strings.Join(parts, ",") + "}"
}

func checkConversation(t *testing.T, got, want *librechat.Conversation) {
	t.Helper()
	if got == nil {
		t.Fatal("got a nil conversation")
	}
	str := func(field, g, w string) {
		t.Helper()
		if g != w {
			t.Errorf("Conversation %s.%s = %q, want %q", want.ID, field, g, w)
		}
	}
	boolean := func(field string, g, w bool) {
		t.Helper()
		if g != w {
			t.Errorf("Conversation %s.%s = %v, want %v", want.ID, field, g, w)
		}
	}
	str("ID", got.ID, want.ID)
	str("ObjectID", got.ObjectID, want.ObjectID)
	str("UserID", got.UserID, want.UserID)
	str("Title", got.Title, want.Title)
	str("Endpoint", got.Endpoint, want.Endpoint)
	str("Model", got.Model, want.Model)
	boolean("IsArchived", got.IsArchived, want.IsArchived)
	boolean("Pinned", got.Pinned, want.Pinned)
	boolean("IsTemporary", got.IsTemporary, want.IsTemporary)
	checkTime(t, "Conversation.ExpiredAt", got.ExpiredAt, want.ExpiredAt)
	checkTime(t, "Conversation.CreatedAt", got.CreatedAt, want.CreatedAt)
	checkTime(t, "Conversation.UpdatedAt", got.UpdatedAt, want.UpdatedAt)
	if !sameStrings(got.Tags, want.Tags) {
		t.Errorf("Conversation %s.Tags = %q, want %q", want.ID, got.Tags, want.Tags)
	}
	checkFields(t, "Conversation "+want.ID+".Fields", got.Fields, want.Fields)
}

// fullConversation has every field set to a non-zero value.
func fullConversation(userID, id string) *librechat.Conversation {
	return &librechat.Conversation{
		ID:          id,
		ObjectID:    "65f0c0ffee0000000000c" + fmt.Sprintf("%03d", len(id)),
		UserID:      userID,
		Title:       "Full conversation " + id,
		Endpoint:    "openAI",
		Model:       "gpt-4o",
		IsArchived:  true,
		Pinned:      true,
		IsTemporary: true,
		ExpiredAt:   at(30 * 24 * time.Hour),
		Tags:        []string{"Saved", "work"},
		Fields: map[string]json.RawMessage{
			"temperature":  json.RawMessage(`0.7`),
			"maxTokens":    json.RawMessage(`4096`),
			"promptPrefix": json.RawMessage(`"Be <brief> & \"exact\"\nü \u2028"`),
			"stop":         json.RawMessage(`["\n\n", "END"]`),
			"thinking":     json.RawMessage(`{"type": "enabled", "budget_tokens": 2048, "nested": {"a": [1, 2.5, {"b": null}]}}`),
			"resendFiles":  json.RawMessage(`false`),
			"agent_id":     json.RawMessage(`null`),
			"spec":         json.RawMessage(`""`),
		},
		CreatedAt: at(-2 * time.Hour),
		UpdatedAt: at(-time.Hour),
	}
}

// newConversation is a listed conversation: not temporary, not archived.
func newConversation(userID, id, title string, updated time.Time) *librechat.Conversation {
	return &librechat.Conversation{
		ID:        id,
		UserID:    userID,
		Title:     title,
		Endpoint:  "openAI",
		Model:     "gpt-4o-mini",
		CreatedAt: updated.Add(-time.Minute),
		UpdatedAt: updated,
	}
}

func putConversation(t *testing.T, st librechat.Store, c *librechat.Conversation) {
	t.Helper()
	must(t, st.PutConversation(ctx(), c), "PutConversation "+c.UserID+"/"+c.ID)
}

func getConversation(t *testing.T, st librechat.Store, userID, id string) *librechat.Conversation {
	t.Helper()
	c, err := st.Conversation(ctx(), userID, id)
	must(t, err, "Conversation "+userID+"/"+id)
	return c
}

func conversationIDs(cs []*librechat.Conversation) []string {
	ids := make([]string, len(cs))
	for i, c := range cs {
		ids[i] = c.ID
	}
	return ids
}

// sortKeyOf is the cursor key the suite expects for the last item of a page.
func sortKeyOf(c *librechat.Conversation, sortBy string) string {
	switch sortBy {
	case librechat.SortTitle:
		return c.Title
	case librechat.SortCreatedAt:
		return c.CreatedAt.UTC().Format(time.RFC3339Nano)
	}
	return c.UpdatedAt.UTC().Format(time.RFC3339Nano)
}

// listPage returns one page and checks its size and cursor.
func listPage(t *testing.T, st librechat.Store, userID string, q librechat.ConversationQuery) ([]*librechat.Conversation, *librechat.Cursor) {
	t.Helper()
	cs, next, err := st.ListConversations(ctx(), userID, q)
	must(t, err, fmt.Sprintf("ListConversations %s %+v", userID, q))
	limit := q.Limit
	if limit <= 0 {
		limit = 25
	}
	if len(cs) > limit {
		t.Fatalf("ListConversations returned %d conversations, over the limit %d", len(cs), limit)
	}
	if next != nil {
		if len(cs) != limit {
			t.Fatalf("ListConversations returned a next cursor with a page of %d, want a full page of %d", len(cs), limit)
		}
		last := cs[len(cs)-1]
		if want := sortKeyOf(last, q.SortBy); next.Key != want || next.ID != last.ID {
			t.Fatalf("next cursor = %+v, want {Key:%q ID:%q} (the sort key and id of the last item)", *next, want, last.ID)
		}
	}
	return cs, next
}

// listAll follows the cursors from the first page to the last and returns
// the ids in order.
func listAll(t *testing.T, st librechat.Store, userID string, q librechat.ConversationQuery) []string {
	t.Helper()
	q.After = nil
	var ids []string
	for page := 0; ; page++ {
		if page > 1000 {
			t.Fatal("ListConversations: more than 1000 pages")
		}
		cs, next := listPage(t, st, userID, q)
		if len(cs) == 0 && page > 0 {
			t.Fatalf("page %d is empty: the previous page should have had no next cursor", page)
		}
		ids = append(ids, conversationIDs(cs)...)
		if next == nil {
			return ids
		}
		q.After = next
	}
}

func checkIDs(t *testing.T, what string, got, want []string) {
	t.Helper()
	if !sameStrings(got, want) {
		t.Errorf("%s = %q, want %q", what, got, want)
	}
}

// checkIDSet compares ignoring order.
func checkIDSet(t *testing.T, what string, got, want []string) {
	t.Helper()
	g, w := slices.Clone(got), slices.Clone(want)
	slices.Sort(g)
	slices.Sort(w)
	checkIDs(t, what, g, w)
}

// expectedOrder sorts conversations as a list must: by the sort key (times
// at millisecond precision), then by id, in the given direction.
func expectedOrder(cs []*librechat.Conversation, sortBy string, asc bool) []string {
	sorted := slices.Clone(cs)
	slices.SortFunc(sorted, func(a, b *librechat.Conversation) int {
		var c int
		switch sortBy {
		case librechat.SortTitle:
			c = strings.Compare(a.Title, b.Title)
		case librechat.SortCreatedAt:
			c = cmpInt(a.CreatedAt.UnixMilli(), b.CreatedAt.UnixMilli())
		default:
			c = cmpInt(a.UpdatedAt.UnixMilli(), b.UpdatedAt.UnixMilli())
		}
		if c == 0 {
			c = strings.Compare(a.ID, b.ID)
		}
		if !asc {
			c = -c
		}
		return c
	})
	return conversationIDs(sorted)
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

var sortOrders = []string{librechat.SortUpdatedAt, librechat.SortCreatedAt, librechat.SortTitle}

// ---- conversations ----

func (s suite) conversationTests() []test {
	return []test{
		{"EveryFieldRoundTrips", func(t *testing.T, st librechat.Store) {
			full := fullConversation("u1", "c-full")
			putConversation(t, st, full)
			checkConversation(t, getConversation(t, st, "u1", "c-full"), full)

			zero := &librechat.Conversation{ID: "c-zero", UserID: "u1"}
			putConversation(t, st, zero)
			checkConversation(t, getConversation(t, st, "u1", "c-zero"), zero)

			empty := newConversation("u1", "c-empty", "", base)
			empty.Tags, empty.Fields = []string{}, map[string]json.RawMessage{}
			putConversation(t, st, empty)
			checkConversation(t, getConversation(t, st, "u1", "c-empty"), empty)
		}},
		{"Replace", func(t *testing.T, st librechat.Store) {
			putConversation(t, st, fullConversation("u1", "c1"))
			want := newConversation("u1", "c1", "Renamed", at(time.Hour))
			want.ObjectID = "65f0c0ffee0000000000c999"
			want.Tags = []string{"later"}
			want.Fields = map[string]json.RawMessage{"temperature": json.RawMessage(`1`)}
			putConversation(t, st, want)
			checkConversation(t, getConversation(t, st, "u1", "c1"), want)
			// The replaced tags no longer match, the new one does.
			cs, _ := listPage(t, st, "u1", librechat.ConversationQuery{Tags: []string{"Saved", "work"}})
			checkIDs(t, "list by the replaced tags", conversationIDs(cs), nil)
			cs, _ = listPage(t, st, "u1", librechat.ConversationQuery{Tags: []string{"later"}})
			checkIDs(t, "list by the new tag", conversationIDs(cs), []string{"c1"})
		}},
		{"ReturnsCopies", func(t *testing.T, st librechat.Store) {
			in := fullConversation("u1", "c1")
			putConversation(t, st, in)
			in.Title, in.Tags[0], in.Fields["temperature"] = "changed", "changed", json.RawMessage(`2`)
			got := getConversation(t, st, "u1", "c1")
			got.Tags[0], got.Fields["temperature"] = "changed", json.RawMessage(`2`)
			delete(got.Fields, "stop")
			checkConversation(t, getConversation(t, st, "u1", "c1"), fullConversation("u1", "c1"))
		}},
		{"InvalidInput", func(t *testing.T, st librechat.Store) {
			bad := newConversation("u1", "c1", "bad", base)
			bad.Fields = map[string]json.RawMessage{"temperature": json.RawMessage(`{not json`)}
			wantKind(t, st.PutConversation(ctx(), bad), librechat.KindInvalid, "PutConversation with invalid JSON in Fields")
			_, err := st.Conversation(ctx(), "u1", "c1")
			wantKind(t, err, librechat.KindNotFound, "Conversation after a rejected PutConversation")
			wantKind(t, st.PutConversation(ctx(), newConversation("u1", "", "no id", base)), librechat.KindInvalid,
				"PutConversation without an id")
			wantKind(t, st.PutConversation(ctx(), newConversation("", "c2", "no user", base)), librechat.KindInvalid,
				"PutConversation without a user")
		}},
		{"NotFound", func(t *testing.T, st librechat.Store) {
			_, err := st.Conversation(ctx(), "u1", "missing")
			wantKind(t, err, librechat.KindNotFound, "Conversation of an unknown id")
			_, err = st.DeleteConversation(ctx(), "u1", "missing")
			wantKind(t, err, librechat.KindNotFound, "DeleteConversation of an unknown id")
		}},
		{"OtherUser", func(t *testing.T, st librechat.Store) {
			mine := newConversation("u1", "c1", "mine", base)
			mine.Tags = []string{"Saved"}
			putConversation(t, st, mine)
			must(t, st.PutMessages(ctx(), newMessage("u1", "c1", "m1", base)), "PutMessages")

			_, err := st.Conversation(ctx(), "u2", "c1")
			wantKind(t, err, librechat.KindNotFound, "Conversation of another user's id")
			_, err = st.DeleteConversation(ctx(), "u2", "c1")
			wantKind(t, err, librechat.KindNotFound, "DeleteConversation of another user's id")
			theirs := newConversation("u2", "c1", "stolen", at(time.Hour))
			theirs.Tags = []string{"Saved", "evil"}
			wantKind(t, st.PutConversation(ctx(), theirs), librechat.KindConflict, "PutConversation of another user's id")

			checkConversation(t, getConversation(t, st, "u1", "c1"), mine)
			if msgs := getMessages(t, st, "u1", "c1"); len(msgs) != 1 {
				t.Errorf("u1 has %d messages after u2's attempts, want 1", len(msgs))
			}
			for _, q := range []librechat.ConversationQuery{{}, {Tags: []string{"Saved", "evil"}}, {Archived: true}} {
				cs, next := listPage(t, st, "u2", q)
				if len(cs) != 0 || next != nil {
					t.Errorf("u2's list %+v = %q, %v; want nothing", q, conversationIDs(cs), next)
				}
			}
			cs, _ := listPage(t, st, "u1", librechat.ConversationQuery{Tags: []string{"Saved"}})
			checkIDs(t, "u1's list by tag", conversationIDs(cs), []string{"c1"})
			cs, _ = listPage(t, st, "u1", librechat.ConversationQuery{Tags: []string{"evil"}})
			checkIDs(t, "u1's list by the other user's tag", conversationIDs(cs), nil)
		}},
		{"ListOrders", func(t *testing.T, st librechat.Store) {
			cs := []*librechat.Conversation{
				{ID: "c1", UserID: "u1", Title: "banana", CreatedAt: at(1 * time.Hour), UpdatedAt: at(40 * time.Hour)},
				{ID: "c2", UserID: "u1", Title: "apple", CreatedAt: at(2 * time.Hour), UpdatedAt: at(10 * time.Hour)},
				{ID: "c3", UserID: "u1", Title: "cherry", CreatedAt: at(3 * time.Hour), UpdatedAt: at(30 * time.Hour)},
				{ID: "c4", UserID: "u1", Title: "date", CreatedAt: at(4 * time.Hour), UpdatedAt: at(20 * time.Hour)},
			}
			for _, c := range cs {
				putConversation(t, st, c)
			}
			putConversation(t, st, newConversation("u2", "x1", "apple", at(50*time.Hour)))
			want := map[string][]string{
				librechat.SortUpdatedAt: {"c2", "c4", "c3", "c1"},
				librechat.SortCreatedAt: {"c1", "c2", "c3", "c4"},
				librechat.SortTitle:     {"c2", "c1", "c3", "c4"},
			}
			for _, sortBy := range sortOrders {
				asc := want[sortBy]
				desc := slices.Clone(asc)
				slices.Reverse(desc)
				got, next := listPage(t, st, "u1", librechat.ConversationQuery{SortBy: sortBy, Asc: true})
				checkIDs(t, sortBy+" ascending", conversationIDs(got), asc)
				if next != nil {
					t.Errorf("%s ascending: next cursor %+v on the only page", sortBy, *next)
				}
				got, _ = listPage(t, st, "u1", librechat.ConversationQuery{SortBy: sortBy})
				checkIDs(t, sortBy+" descending", conversationIDs(got), desc)
			}
			got, _ := listPage(t, st, "u1", librechat.ConversationQuery{})
			checkIDs(t, "default order (updatedAt descending)", conversationIDs(got), []string{"c1", "c3", "c4", "c2"})
			for _, c := range got {
				checkConversation(t, c, cs[slices.IndexFunc(cs, func(w *librechat.Conversation) bool { return w.ID == c.ID })])
			}
		}},
		{"PaginationTieBreak", func(t *testing.T, st librechat.Store) {
			const n = 60
			var ids []string
			for i := range n {
				ids = append(ids, fmt.Sprintf("c%02d", i))
			}
			// Insert in a scrambled order; every sort key is identical.
			for i := range n {
				id := ids[(i*37)%n]
				putConversation(t, st, &librechat.Conversation{ID: id, UserID: "u1", Title: "same", CreatedAt: base, UpdatedAt: base})
			}
			desc := slices.Clone(ids)
			slices.Reverse(desc)
			for _, sortBy := range sortOrders {
				for _, limit := range []int{7, 20, 0, 59, 60, 61} {
					got := listAll(t, st, "u1", librechat.ConversationQuery{SortBy: sortBy, Asc: true, Limit: limit})
					checkIDs(t, fmt.Sprintf("%s ascending, limit %d", sortBy, limit), got, ids)
					got = listAll(t, st, "u1", librechat.ConversationQuery{SortBy: sortBy, Limit: limit})
					checkIDs(t, fmt.Sprintf("%s descending, limit %d", sortBy, limit), got, desc)
				}
			}
			// The default page size is 25.
			cs, next := listPage(t, st, "u1", librechat.ConversationQuery{})
			if len(cs) != 25 || next == nil {
				t.Fatalf("first default page has %d conversations and cursor %v, want 25 and a cursor", len(cs), next)
			}
			cs, next = listPage(t, st, "u1", librechat.ConversationQuery{After: next})
			if len(cs) != 25 || next == nil {
				t.Fatalf("second default page has %d conversations and cursor %v, want 25 and a cursor", len(cs), next)
			}
			cs, next = listPage(t, st, "u1", librechat.ConversationQuery{After: next, Limit: -1})
			if len(cs) != 10 || next != nil {
				t.Fatalf("third default page has %d conversations and cursor %v, want 10 and none", len(cs), next)
			}
			// A page that ends exactly at the last row has no next cursor.
			cs, next = listPage(t, st, "u1", librechat.ConversationQuery{Limit: n})
			if len(cs) != n || next != nil {
				t.Fatalf("a page of exactly %d has %d conversations and cursor %v, want all and none", n, len(cs), next)
			}
		}},
		{"PaginationMixedKeys", func(t *testing.T, st librechat.Store) {
			const n = 60
			var cs []*librechat.Conversation
			for i := range n {
				c := &librechat.Conversation{
					ID:        fmt.Sprintf("c%02d", (i*23)%n),
					UserID:    "u1",
					Title:     fmt.Sprintf("title %d", i%5),
					CreatedAt: at(-time.Duration(i%4) * time.Minute),
					UpdatedAt: at(time.Duration(i%6) * time.Minute),
				}
				cs = append(cs, c)
				putConversation(t, st, c)
			}
			putConversation(t, st, newConversation("u2", "other", "title 0", base))
			for _, sortBy := range sortOrders {
				for _, asc := range []bool{true, false} {
					for _, limit := range []int{1, 7, 25} {
						got := listAll(t, st, "u1", librechat.ConversationQuery{SortBy: sortBy, Asc: asc, Limit: limit})
						checkIDs(t, fmt.Sprintf("%s asc=%v limit %d", sortBy, asc, limit), got, expectedOrder(cs, sortBy, asc))
					}
				}
			}
		}},
		{"InvalidQuery", func(t *testing.T, st librechat.Store) {
			putConversation(t, st, newConversation("u1", "c1", "a", base))
			_, _, err := st.ListConversations(ctx(), "u1", librechat.ConversationQuery{SortBy: "size"})
			wantKind(t, err, librechat.KindInvalid, "ListConversations with an unknown sort order")
			for _, sortBy := range []string{"", librechat.SortUpdatedAt, librechat.SortCreatedAt} {
				_, _, err = st.ListConversations(ctx(), "u1", librechat.ConversationQuery{
					SortBy: sortBy, After: &librechat.Cursor{Key: "yesterday", ID: "c1"},
				})
				wantKind(t, err, librechat.KindInvalid, "ListConversations by "+sortBy+" after a cursor key that is no time")
			}
		}},
		{"ArchivedFilter", func(t *testing.T, st librechat.Store) {
			for i, id := range []string{"a1", "a2", "n1", "n2"} {
				c := newConversation("u1", id, id, at(time.Duration(i)*time.Minute))
				c.IsArchived = id[0] == 'a'
				putConversation(t, st, c)
			}
			checkIDs(t, "unarchived", listAll(t, st, "u1", librechat.ConversationQuery{Limit: 1}), []string{"n2", "n1"})
			checkIDs(t, "archived", listAll(t, st, "u1", librechat.ConversationQuery{Archived: true, Limit: 1}), []string{"a2", "a1"})

			unarchived := newConversation("u1", "a1", "a1", at(10*time.Minute))
			putConversation(t, st, unarchived)
			checkIDs(t, "unarchived after unarchiving a1", listAll(t, st, "u1", librechat.ConversationQuery{}), []string{"a1", "n2", "n1"})
			checkIDs(t, "archived after unarchiving a1", listAll(t, st, "u1", librechat.ConversationQuery{Archived: true}), []string{"a2"})
		}},
		{"TagFilter", func(t *testing.T, st librechat.Store) {
			tagged := map[string][]string{
				"ta":  {"a"},
				"tb":  {"b"},
				"tab": {"a", "b"},
				"tn":  nil,
				"tc":  {"c", "c"},
			}
			i := 0
			for _, id := range []string{"ta", "tb", "tab", "tn", "tc"} {
				c := newConversation("u1", id, id, at(time.Duration(i)*time.Minute))
				c.Tags = tagged[id]
				putConversation(t, st, c)
				i++
			}
			archived := newConversation("u1", "tarch", "tarch", base)
			archived.IsArchived, archived.Tags = true, []string{"a"}
			putConversation(t, st, archived)
			other := newConversation("u2", "x1", "x1", base)
			other.Tags = []string{"a", "b"}
			putConversation(t, st, other)

			q := func(tags ...string) librechat.ConversationQuery { return librechat.ConversationQuery{Tags: tags} }
			checkIDs(t, "tag a", listAll(t, st, "u1", q("a")), []string{"tab", "ta"})
			checkIDs(t, "tag b", listAll(t, st, "u1", q("b")), []string{"tab", "tb"})
			checkIDs(t, "tags a or b", listAll(t, st, "u1", q("a", "b")), []string{"tab", "tb", "ta"})
			checkIDs(t, "tags b or a, a page at a time", listAll(t, st, "u1", librechat.ConversationQuery{Tags: []string{"b", "a"}, Limit: 1}),
				[]string{"tab", "tb", "ta"})
			checkIDs(t, "tag c (listed twice on the conversation)", listAll(t, st, "u1", q("c")), []string{"tc"})
			checkIDs(t, "unknown tag", listAll(t, st, "u1", q("zzz")), nil)
			checkIDs(t, "tag A (tags are exact)", listAll(t, st, "u1", q("A")), nil)
			checkIDs(t, "archived with tag a", listAll(t, st, "u1", librechat.ConversationQuery{Archived: true, Tags: []string{"a"}}),
				[]string{"tarch"})
			checkIDs(t, "tag a by title ascending", listAll(t, st, "u1", librechat.ConversationQuery{Tags: []string{"a"}, SortBy: librechat.SortTitle, Asc: true}),
				[]string{"ta", "tab"})
		}},
		{"Search", func(t *testing.T, st librechat.Store) {
			titles := []struct{ id, title string }{
				{"s1", "Hello World"},
				{"s2", "say hello"},
				{"s3", "HELLO AGAIN"},
				{"s4", "Goodbye"},
				{"s5", "Über uns"},
				{"s6", "50% off"},
				{"s7", "a_b"},
				{"s8", "ab"},
			}
			for i, tt := range titles {
				c := newConversation("u1", tt.id, tt.title, at(time.Duration(i)*time.Minute))
				if tt.id == "s1" {
					c.Tags = []string{"greeting"}
				}
				putConversation(t, st, c)
			}
			archived := newConversation("u1", "sarch", "hello archived", base)
			archived.IsArchived = true
			putConversation(t, st, archived)
			temp := newConversation("u1", "stemp", "hello temporary", base)
			temp.IsTemporary = true
			putConversation(t, st, temp)
			putConversation(t, st, newConversation("u2", "x1", "hello from u2", base))

			search := func(q string) []string {
				t.Helper()
				return listAll(t, st, "u1", librechat.ConversationQuery{Search: q})
			}
			checkIDs(t, `search "hello"`, search("hello"), []string{"s3", "s2", "s1"})
			checkIDs(t, `search "hELLo"`, search("hELLo"), []string{"s3", "s2", "s1"})
			checkIDs(t, `search "lo wo"`, search("lo wo"), []string{"s1"})
			checkIDs(t, `search "über"`, search("über"), []string{"s5"})
			checkIDs(t, `search "ÜBER"`, search("ÜBER"), []string{"s5"})
			checkIDs(t, `search "%"`, search("%"), []string{"s6"})
			checkIDs(t, `search "_"`, search("_"), []string{"s7"})
			checkIDs(t, `search "a_b"`, search("a_b"), []string{"s7"})
			checkIDs(t, `search "zzz"`, search("zzz"), nil)
			checkIDs(t, `search "hello", a page at a time`,
				listAll(t, st, "u1", librechat.ConversationQuery{Search: "hello", Limit: 1}), []string{"s3", "s2", "s1"})
			checkIDs(t, `search "hello", two per page, by title`,
				listAll(t, st, "u1", librechat.ConversationQuery{Search: "hello", Limit: 2, SortBy: librechat.SortTitle, Asc: true}),
				[]string{"s3", "s1", "s2"})
			checkIDs(t, `archived, search "hello"`,
				listAll(t, st, "u1", librechat.ConversationQuery{Search: "hello", Archived: true}), []string{"sarch"})
			checkIDs(t, `tag greeting, search "hello"`,
				listAll(t, st, "u1", librechat.ConversationQuery{Search: "hello", Tags: []string{"greeting"}}), []string{"s1"})
			checkIDs(t, `tag greeting, search "again"`,
				listAll(t, st, "u1", librechat.ConversationQuery{Search: "again", Tags: []string{"greeting"}}), nil)
		}},
		{"TemporaryNeverListed", func(t *testing.T, st librechat.Store) {
			normal := newConversation("u1", "n1", "normal", base)
			normal.Tags = []string{"a"}
			putConversation(t, st, normal)
			temp := newConversation("u1", "t1", "temp", at(time.Hour))
			temp.IsTemporary, temp.ExpiredAt, temp.Tags = true, at(30*24*time.Hour), []string{"a"}
			putConversation(t, st, temp)
			tempArchived := newConversation("u1", "t2", "temp", at(time.Hour))
			tempArchived.IsTemporary, tempArchived.IsArchived = true, true
			putConversation(t, st, tempArchived)

			for _, sortBy := range sortOrders {
				checkIDs(t, "unarchived by "+sortBy, listAll(t, st, "u1", librechat.ConversationQuery{SortBy: sortBy}), []string{"n1"})
				checkIDs(t, "archived by "+sortBy, listAll(t, st, "u1", librechat.ConversationQuery{SortBy: sortBy, Archived: true}), nil)
			}
			checkIDs(t, "tag a", listAll(t, st, "u1", librechat.ConversationQuery{Tags: []string{"a"}}), []string{"n1"})
			checkIDs(t, `search "temp"`, listAll(t, st, "u1", librechat.ConversationQuery{Search: "temp"}), nil)
			checkConversation(t, getConversation(t, st, "u1", "t1"), temp)
		}},
		{"DeleteCascades", func(t *testing.T, st librechat.Store) {
			gone := newConversation("u1", "c1", "gone", base)
			gone.Tags = []string{"x"}
			putConversation(t, st, gone)
			kept := newConversation("u1", "c2", "kept", base)
			kept.Tags = []string{"x"}
			putConversation(t, st, kept)
			must(t, st.PutMessages(ctx(),
				newMessage("u1", "c1", "m1", at(1*time.Second)),
				newMessage("u1", "c1", "m2", at(2*time.Second)),
				newMessage("u1", "c1", "m3", at(3*time.Second)),
				newMessage("u1", "c2", "m1", at(1*time.Second)),
				newMessage("u1", "c2", "m4", at(4*time.Second)),
			), "PutMessages")

			n, err := st.DeleteConversation(ctx(), "u1", "c1")
			must(t, err, "DeleteConversation")
			if n != 3 {
				t.Errorf("DeleteConversation removed %d messages, want 3", n)
			}
			_, err = st.Conversation(ctx(), "u1", "c1")
			wantKind(t, err, librechat.KindNotFound, "Conversation after DeleteConversation")
			if msgs := getMessages(t, st, "u1", "c1"); len(msgs) != 0 {
				t.Errorf("the deleted conversation still has %d messages", len(msgs))
			}
			_, err = st.Message(ctx(), "u1", "c1", "m1")
			wantKind(t, err, librechat.KindNotFound, "Message of the deleted conversation")
			checkMessageIDs(t, "messages of the kept conversation", getMessages(t, st, "u1", "c2"), []string{"m1", "m4"})
			checkConversation(t, getConversation(t, st, "u1", "c2"), kept)
			checkIDs(t, "list", listAll(t, st, "u1", librechat.ConversationQuery{}), []string{"c2"})
			checkIDs(t, "list by tag x", listAll(t, st, "u1", librechat.ConversationQuery{Tags: []string{"x"}}), []string{"c2"})

			_, err = st.DeleteConversation(ctx(), "u1", "c1")
			wantKind(t, err, librechat.KindNotFound, "second DeleteConversation")

			// The id is free again, and the old tag rows did not survive.
			putConversation(t, st, newConversation("u1", "c1", "again", at(time.Hour)))
			checkIDs(t, "list by tag x after re-creating c1 untagged", listAll(t, st, "u1", librechat.ConversationQuery{Tags: []string{"x"}}), []string{"c2"})
			n, err = st.DeleteConversation(ctx(), "u1", "c1")
			must(t, err, "DeleteConversation of a conversation without messages")
			if n != 0 {
				t.Errorf("DeleteConversation of a conversation without messages reported %d", n)
			}
			putConversation(t, st, newConversation("u2", "c1", "now u2's", base))
			checkIDs(t, "u2's list", listAll(t, st, "u2", librechat.ConversationQuery{}), []string{"c1"})
		}},
		{"DeleteAll", func(t *testing.T, st librechat.Store) {
			tagged := newConversation("u1", "c1", "one", base)
			tagged.Tags = []string{"x"}
			putConversation(t, st, tagged)
			archived := newConversation("u1", "c2", "two", base)
			archived.IsArchived = true
			putConversation(t, st, archived)
			temp := newConversation("u1", "c3", "three", base)
			temp.IsTemporary = true
			putConversation(t, st, temp)
			theirs := newConversation("u2", "d1", "theirs", base)
			theirs.Tags = []string{"x"}
			putConversation(t, st, theirs)
			must(t, st.PutMessages(ctx(),
				newMessage("u1", "c1", "m1", base), newMessage("u1", "c1", "m2", base),
				newMessage("u1", "c3", "m3", base), newMessage("u2", "d1", "m4", base),
			), "PutMessages")

			n, err := st.DeleteConversations(ctx(), "u1")
			must(t, err, "DeleteConversations")
			if n != 3 {
				t.Errorf("DeleteConversations reported %d, want 3", n)
			}
			for _, id := range []string{"c1", "c2", "c3"} {
				_, err := st.Conversation(ctx(), "u1", id)
				wantKind(t, err, librechat.KindNotFound, "Conversation "+id+" after DeleteConversations")
				if msgs := getMessages(t, st, "u1", id); len(msgs) != 0 {
					t.Errorf("conversation %s still has %d messages", id, len(msgs))
				}
			}
			checkIDs(t, "u1's list", listAll(t, st, "u1", librechat.ConversationQuery{}), nil)
			checkIDs(t, "u1's archived list", listAll(t, st, "u1", librechat.ConversationQuery{Archived: true}), nil)
			checkConversation(t, getConversation(t, st, "u2", "d1"), theirs)
			checkMessageIDs(t, "u2's messages", getMessages(t, st, "u2", "d1"), []string{"m4"})
			checkIDs(t, "u2's list by tag", listAll(t, st, "u2", librechat.ConversationQuery{Tags: []string{"x"}}), []string{"d1"})

			putConversation(t, st, newConversation("u1", "c1", "again", base))
			checkIDs(t, "u1's list by tag after re-creating c1 untagged", listAll(t, st, "u1", librechat.ConversationQuery{Tags: []string{"x"}}), nil)
			must(t, st.PutMessages(ctx(), newMessage("u1", "c1", "m1", base)), "PutMessages after DeleteConversations")

			n, err = st.DeleteConversations(ctx(), "u1")
			must(t, err, "second DeleteConversations")
			if n != 1 {
				t.Errorf("second DeleteConversations reported %d, want 1", n)
			}
			n, err = st.DeleteConversations(ctx(), "nobody")
			must(t, err, "DeleteConversations of a user with none")
			if n != 0 {
				t.Errorf("DeleteConversations of a user with none reported %d", n)
			}
		}},
	}
}

// ---- messages ----

func checkMessage(t *testing.T, got, want *librechat.Message) {
	t.Helper()
	if got == nil {
		t.Fatal("got a nil message")
	}
	str := func(field, g, w string) {
		t.Helper()
		if g != w {
			t.Errorf("Message %s.%s = %q, want %q", want.ID, field, g, w)
		}
	}
	boolean := func(field string, g, w bool) {
		t.Helper()
		if g != w {
			t.Errorf("Message %s.%s = %v, want %v", want.ID, field, g, w)
		}
	}
	str("ID", got.ID, want.ID)
	str("ObjectID", got.ObjectID, want.ObjectID)
	str("ConversationID", got.ConversationID, want.ConversationID)
	str("UserID", got.UserID, want.UserID)
	str("ParentID", got.ParentID, want.ParentID)
	str("Sender", got.Sender, want.Sender)
	str("Text", got.Text, want.Text)
	if !sameJSON(got.Content, want.Content) {
		t.Errorf("Message %s.Content = %s, want %s", want.ID, got.Content, want.Content)
	}
	boolean("IsCreatedByUser", got.IsCreatedByUser, want.IsCreatedByUser)
	str("Endpoint", got.Endpoint, want.Endpoint)
	str("Model", got.Model, want.Model)
	boolean("Error", got.Error, want.Error)
	boolean("Unfinished", got.Unfinished, want.Unfinished)
	boolean("IsTemporary", got.IsTemporary, want.IsTemporary)
	if got.TokenCount != want.TokenCount {
		t.Errorf("Message %s.TokenCount = %d, want %d", want.ID, got.TokenCount, want.TokenCount)
	}
	checkTime(t, "Message.ExpiredAt", got.ExpiredAt, want.ExpiredAt)
	checkTime(t, "Message.CreatedAt", got.CreatedAt, want.CreatedAt)
	checkTime(t, "Message.UpdatedAt", got.UpdatedAt, want.UpdatedAt)
	checkFields(t, "Message "+want.ID+".Fields", got.Fields, want.Fields)
}

// fullMessage has every field set to a non-zero value.
func fullMessage(userID, conversationID, id string) *librechat.Message {
	return &librechat.Message{
		ID:              id,
		ObjectID:        "65f0c0ffee0000000000d001",
		ConversationID:  conversationID,
		UserID:          userID,
		ParentID:        "parent-" + id,
		Sender:          "GPT-4o",
		Text:            "Hello <b>world</b> & \"friends\"\nü",
		Content:         json.RawMessage(`[{"type": "text", "text": "Hello"}, {"type": "think", "think": "hm", "extra": [1, null, true]}]`),
		IsCreatedByUser: true,
		Endpoint:        "openAI",
		Model:           "gpt-4o",
		Error:           true,
		Unfinished:      true,
		IsTemporary:     true,
		ExpiredAt:       at(30 * 24 * time.Hour),
		TokenCount:      1234,
		Fields: map[string]json.RawMessage{
			"files":    json.RawMessage(`[{"file_id": "f1", "bytes": 12}]`),
			"feedback": json.RawMessage(`{"rating": "thumbsUp", "tag": null}`),
			"iconURL":  json.RawMessage(`"https://example.com/i.png"`),
		},
		CreatedAt: at(-time.Minute),
		UpdatedAt: at(time.Minute),
	}
}

func newMessage(userID, conversationID, id string, created time.Time) *librechat.Message {
	return &librechat.Message{
		ID:              id,
		ConversationID:  conversationID,
		UserID:          userID,
		ParentID:        librechat.NoParent,
		Sender:          "User",
		Text:            "text of " + id,
		IsCreatedByUser: true,
		CreatedAt:       created,
		UpdatedAt:       created,
	}
}

func getMessage(t *testing.T, st librechat.Store, userID, conversationID, id string) *librechat.Message {
	t.Helper()
	m, err := st.Message(ctx(), userID, conversationID, id)
	must(t, err, "Message "+userID+"/"+conversationID+"/"+id)
	return m
}

func getMessages(t *testing.T, st librechat.Store, userID, conversationID string) []*librechat.Message {
	t.Helper()
	msgs, err := st.Messages(ctx(), userID, conversationID)
	must(t, err, "Messages "+userID+"/"+conversationID)
	return msgs
}

func checkMessageIDs(t *testing.T, what string, got []*librechat.Message, want []string) {
	t.Helper()
	ids := make([]string, len(got))
	for i, m := range got {
		ids[i] = m.ID
	}
	checkIDs(t, what, ids, want)
}

func (s suite) messageTests() []test {
	return []test{
		{"EveryFieldRoundTrips", func(t *testing.T, st librechat.Store) {
			full := fullMessage("u1", "c1", "m-full")
			zero := &librechat.Message{ID: "m-zero", ConversationID: "c1", UserID: "u1", ParentID: librechat.NoParent}
			empty := newMessage("u1", "c1", "m-empty", base)
			empty.Content, empty.Fields = json.RawMessage(`[]`), map[string]json.RawMessage{}
			must(t, st.PutMessages(ctx(), full, zero, empty), "PutMessages")
			checkMessage(t, getMessage(t, st, "u1", "c1", "m-full"), full)
			checkMessage(t, getMessage(t, st, "u1", "c1", "m-zero"), zero)
			checkMessage(t, getMessage(t, st, "u1", "c1", "m-empty"), empty)
			byID := map[string]*librechat.Message{"m-full": full, "m-zero": zero, "m-empty": empty}
			msgs := getMessages(t, st, "u1", "c1")
			if len(msgs) != len(byID) {
				t.Fatalf("Messages returned %d messages, want %d", len(msgs), len(byID))
			}
			for _, m := range msgs {
				want, ok := byID[m.ID]
				if !ok {
					t.Fatalf("Messages returned unknown message %q", m.ID)
				}
				checkMessage(t, m, want)
			}
		}},
		{"Replace", func(t *testing.T, st librechat.Store) {
			must(t, st.PutMessages(ctx(), fullMessage("u1", "c1", "m1")), "PutMessages")
			want := newMessage("u1", "c1", "m1", at(time.Hour))
			want.Text, want.Content = "edited", json.RawMessage(`[{"type":"text","text":"edited"}]`)
			want.Fields = map[string]json.RawMessage{"feedback": json.RawMessage(`{"rating":"thumbsDown"}`)}
			must(t, st.PutMessages(ctx(), want), "PutMessages replacing")
			checkMessage(t, getMessage(t, st, "u1", "c1", "m1"), want)
			if msgs := getMessages(t, st, "u1", "c1"); len(msgs) != 1 {
				t.Errorf("Messages returned %d messages after a replacement, want 1", len(msgs))
			}
		}},
		{"ReturnsCopies", func(t *testing.T, st librechat.Store) {
			in := fullMessage("u1", "c1", "m1")
			must(t, st.PutMessages(ctx(), in), "PutMessages")
			in.Text, in.Content[1], in.Fields["files"] = "changed", 'X', json.RawMessage(`1`)
			got := getMessage(t, st, "u1", "c1", "m1")
			got.Content[1], got.Fields["files"] = 'X', json.RawMessage(`1`)
			checkMessage(t, getMessage(t, st, "u1", "c1", "m1"), fullMessage("u1", "c1", "m1"))
		}},
		{"Order", func(t *testing.T, st librechat.Store) {
			must(t, st.PutMessages(ctx(),
				newMessage("u1", "c1", "m-b", at(2*time.Second)),
				newMessage("u1", "c1", "m-d", at(3*time.Second)),
			), "PutMessages first batch")
			must(t, st.PutMessages(ctx(), newMessage("u1", "c1", "m-a", at(2*time.Second))), "PutMessages m-a")
			must(t, st.PutMessages(ctx(),
				newMessage("u1", "c1", "m-c", at(1*time.Second)),
				newMessage("u1", "c2", "m-0", at(0)),
				newMessage("u2", "c1", "m-z", at(0)),
			), "PutMessages last batch")
			checkMessageIDs(t, "Messages u1/c1", getMessages(t, st, "u1", "c1"), []string{"m-c", "m-a", "m-b", "m-d"})
			checkMessageIDs(t, "Messages u1/c2", getMessages(t, st, "u1", "c2"), []string{"m-0"})
			checkMessageIDs(t, "Messages of an unknown conversation", getMessages(t, st, "u1", "nope"), nil)
		}},
		{"ScopedByConversation", func(t *testing.T, st librechat.Store) {
			a, b := newMessage("u1", "c1", "m1", base), newMessage("u1", "c2", "m1", base)
			a.Text, b.Text = "in c1", "in c2"
			must(t, st.PutMessages(ctx(), a, b), "PutMessages")
			checkMessage(t, getMessage(t, st, "u1", "c1", "m1"), a)
			checkMessage(t, getMessage(t, st, "u1", "c2", "m1"), b)
			must(t, st.DeleteMessage(ctx(), "u1", "c1", "m1"), "DeleteMessage")
			checkMessage(t, getMessage(t, st, "u1", "c2", "m1"), b)
			_, err := st.Message(ctx(), "u1", "c1", "m1")
			wantKind(t, err, librechat.KindNotFound, "Message after DeleteMessage")
		}},
		{"OtherUser", func(t *testing.T, st librechat.Store) {
			mine := newMessage("u1", "c1", "m1", base)
			must(t, st.PutMessages(ctx(), mine), "PutMessages")
			_, err := st.Message(ctx(), "u2", "c1", "m1")
			wantKind(t, err, librechat.KindNotFound, "Message of another user")
			checkMessageIDs(t, "Messages of another user's conversation", getMessages(t, st, "u2", "c1"), nil)
			wantKind(t, st.DeleteMessage(ctx(), "u2", "c1", "m1"), librechat.KindNotFound, "DeleteMessage of another user's message")
			theirs := newMessage("u2", "c1", "m1", at(time.Hour))
			theirs.Text = "overwritten"
			wantKind(t, st.PutMessages(ctx(), theirs), librechat.KindConflict, "PutMessages of another user's message")
			checkMessage(t, getMessage(t, st, "u1", "c1", "m1"), mine)
			checkMessageIDs(t, "Messages u1/c1", getMessages(t, st, "u1", "c1"), []string{"m1"})
		}},
		{"PutIsAllOrNone", func(t *testing.T, st librechat.Store) {
			own := newMessage("u1", "c1", "own", base)
			own.Text = "before"
			must(t, st.PutMessages(ctx(), own), "PutMessages own")
			theirs := newMessage("u2", "c1", "taken", base)
			must(t, st.PutMessages(ctx(), theirs), "PutMessages theirs")

			changed := newMessage("u1", "c1", "own", base)
			changed.Text = "after"
			err := st.PutMessages(ctx(),
				newMessage("u1", "c1", "new1", base),
				changed,
				newMessage("u1", "c1", "taken", base),
				newMessage("u1", "c1", "new2", base),
			)
			wantKind(t, err, librechat.KindConflict, "PutMessages with one message of another user")
			for _, id := range []string{"new1", "new2", "taken"} {
				_, err := st.Message(ctx(), "u1", "c1", id)
				wantKind(t, err, librechat.KindNotFound, "Message "+id+" of the rejected batch")
			}
			checkMessage(t, getMessage(t, st, "u1", "c1", "own"), own)
			checkMessage(t, getMessage(t, st, "u2", "c1", "taken"), theirs)

			bad := newMessage("u1", "c1", "bad", base)
			bad.Content = json.RawMessage(`[{"type":`)
			err = st.PutMessages(ctx(), newMessage("u1", "c1", "new3", base), bad)
			wantKind(t, err, librechat.KindInvalid, "PutMessages with invalid JSON content")
			badFields := newMessage("u1", "c1", "bad", base)
			badFields.Fields = map[string]json.RawMessage{"files": json.RawMessage(`[`)}
			err = st.PutMessages(ctx(), newMessage("u1", "c1", "new3", base), badFields)
			wantKind(t, err, librechat.KindInvalid, "PutMessages with invalid JSON in Fields")
			checkMessageIDs(t, "Messages u1/c1", getMessages(t, st, "u1", "c1"), []string{"own"})
			must(t, st.PutMessages(ctx()), "PutMessages of nothing")
		}},
		{"Delete", func(t *testing.T, st librechat.Store) {
			must(t, st.PutMessages(ctx(),
				newMessage("u1", "c1", "m1", at(1*time.Second)),
				newMessage("u1", "c1", "m2", at(2*time.Second)),
				newMessage("u1", "c1", "m3", at(3*time.Second)),
			), "PutMessages")
			must(t, st.DeleteMessage(ctx(), "u1", "c1", "m2"), "DeleteMessage")
			checkMessageIDs(t, "Messages after DeleteMessage", getMessages(t, st, "u1", "c1"), []string{"m1", "m3"})
			wantKind(t, st.DeleteMessage(ctx(), "u1", "c1", "m2"), librechat.KindNotFound, "second DeleteMessage")
			wantKind(t, st.DeleteMessage(ctx(), "u1", "c9", "m1"), librechat.KindNotFound, "DeleteMessage in another conversation")
			checkMessageIDs(t, "Messages after failed deletes", getMessages(t, st, "u1", "c1"), []string{"m1", "m3"})
		}},
	}
}

// ---- tags ----

func checkTag(t *testing.T, got, want *librechat.Tag) {
	t.Helper()
	if got == nil {
		t.Fatal("got a nil tag")
	}
	if got.ObjectID != want.ObjectID || got.UserID != want.UserID || got.Name != want.Name ||
		got.Description != want.Description || got.Count != want.Count || got.Position != want.Position {
		t.Errorf("tag = {ObjectID:%q UserID:%q Name:%q Description:%q Count:%d Position:%d}, want {ObjectID:%q UserID:%q Name:%q Description:%q Count:%d Position:%d}",
			got.ObjectID, got.UserID, got.Name, got.Description, got.Count, got.Position,
			want.ObjectID, want.UserID, want.Name, want.Description, want.Count, want.Position)
	}
	checkTime(t, "Tag.CreatedAt", got.CreatedAt, want.CreatedAt)
	checkTime(t, "Tag.UpdatedAt", got.UpdatedAt, want.UpdatedAt)
}

func newTag(userID, name string, position int) *librechat.Tag {
	return &librechat.Tag{
		ObjectID:    "65f0c0ffee0000000000e" + fmt.Sprintf("%03d", position),
		UserID:      userID,
		Name:        name,
		Description: "about " + name,
		Count:       position + 1,
		Position:    position,
		CreatedAt:   base,
		UpdatedAt:   at(time.Minute),
	}
}

func getTags(t *testing.T, st librechat.Store, userID string) []*librechat.Tag {
	t.Helper()
	tags, err := st.Tags(ctx(), userID)
	must(t, err, "Tags "+userID)
	return tags
}

func tagNames(tags []*librechat.Tag) []string {
	names := make([]string, len(tags))
	for i, tg := range tags {
		names[i] = tg.Name
	}
	return names
}

func (s suite) tagTests() []test {
	return []test{
		{"Empty", func(t *testing.T, st librechat.Store) {
			if tags := getTags(t, st, "u1"); len(tags) != 0 {
				t.Errorf("Tags of a user with none = %q", tagNames(tags))
			}
		}},
		{"EveryFieldRoundTrips", func(t *testing.T, st librechat.Store) {
			full := newTag("u1", "Saved ü/<&>", 3)
			must(t, st.CreateTag(ctx(), full), "CreateTag full")
			zero := &librechat.Tag{UserID: "u1", Name: "zero"}
			must(t, st.CreateTag(ctx(), zero), "CreateTag zero")
			tags := getTags(t, st, "u1")
			if len(tags) != 2 {
				t.Fatalf("Tags = %q, want 2 tags", tagNames(tags))
			}
			checkTag(t, tags[0], zero)
			checkTag(t, tags[1], full)
		}},
		{"Order", func(t *testing.T, st librechat.Store) {
			for _, tg := range []*librechat.Tag{newTag("u1", "b", 2), newTag("u1", "z", 1), newTag("u1", "a", 1), newTag("u1", "m", 0), newTag("u2", "c", 0)} {
				must(t, st.CreateTag(ctx(), tg), "CreateTag "+tg.Name)
			}
			checkIDs(t, "Tags u1", tagNames(getTags(t, st, "u1")), []string{"m", "a", "z", "b"})
			checkIDs(t, "Tags u2", tagNames(getTags(t, st, "u2")), []string{"c"})
		}},
		{"CreateConflict", func(t *testing.T, st librechat.Store) {
			first := newTag("u1", "Saved", 0)
			must(t, st.CreateTag(ctx(), first), "CreateTag")
			second := newTag("u1", "Saved", 5)
			second.Description = "should not be stored"
			wantKind(t, st.CreateTag(ctx(), second), librechat.KindConflict, "CreateTag with a taken name")
			tags := getTags(t, st, "u1")
			if len(tags) != 1 {
				t.Fatalf("Tags = %q after a rejected duplicate, want one", tagNames(tags))
			}
			checkTag(t, tags[0], first)

			theirs := newTag("u2", "Saved", 1)
			must(t, st.CreateTag(ctx(), theirs), "CreateTag of the same name by another user")
			tags = getTags(t, st, "u2")
			if len(tags) != 1 {
				t.Fatalf("Tags u2 = %q, want one", tagNames(tags))
			}
			checkTag(t, tags[0], theirs)
			checkTag(t, getTags(t, st, "u1")[0], first)
		}},
		{"Put", func(t *testing.T, st librechat.Store) {
			created := newTag("u1", "work", 1)
			must(t, st.PutTag(ctx(), created), "PutTag creating")
			must(t, st.CreateTag(ctx(), newTag("u1", "home", 0)), "CreateTag home")
			tags := getTags(t, st, "u1")
			checkIDs(t, "Tags", tagNames(tags), []string{"home", "work"})
			checkTag(t, tags[1], created)

			replaced := &librechat.Tag{ObjectID: "other-id", UserID: "u1", Name: "work", Description: "new", Count: 7, Position: -1,
				CreatedAt: at(time.Hour), UpdatedAt: at(2 * time.Hour)}
			must(t, st.PutTag(ctx(), replaced), "PutTag replacing")
			tags = getTags(t, st, "u1")
			checkIDs(t, "Tags after PutTag", tagNames(tags), []string{"work", "home"})
			checkTag(t, tags[0], replaced)
			wantKind(t, st.CreateTag(ctx(), newTag("u1", "work", 3)), librechat.KindConflict, "CreateTag of a name stored by PutTag")
		}},
		{"Delete", func(t *testing.T, st librechat.Store) {
			for _, tg := range []*librechat.Tag{newTag("u1", "a", 0), newTag("u1", "b", 1), newTag("u2", "a", 0)} {
				must(t, st.CreateTag(ctx(), tg), "CreateTag "+tg.UserID+"/"+tg.Name)
			}
			must(t, st.DeleteTag(ctx(), "u1", "a"), "DeleteTag")
			checkIDs(t, "Tags u1", tagNames(getTags(t, st, "u1")), []string{"b"})
			checkIDs(t, "Tags u2", tagNames(getTags(t, st, "u2")), []string{"a"})
			wantKind(t, st.DeleteTag(ctx(), "u1", "a"), librechat.KindNotFound, "second DeleteTag")
			wantKind(t, st.DeleteTag(ctx(), "u3", "b"), librechat.KindNotFound, "DeleteTag of another user's tag")
			checkIDs(t, "Tags u1 after failed deletes", tagNames(getTags(t, st, "u1")), []string{"b"})
			must(t, st.CreateTag(ctx(), newTag("u1", "a", 0)), "CreateTag after DeleteTag")
		}},
	}
}

// ---- balances ----

func checkBalance(t *testing.T, got, want *librechat.Balance) {
	t.Helper()
	if got == nil {
		t.Fatal("got a nil balance")
	}
	if got.UserID != want.UserID || got.TokenCredits != want.TokenCredits || got.AutoRefillEnabled != want.AutoRefillEnabled ||
		got.RefillIntervalValue != want.RefillIntervalValue || got.RefillIntervalUnit != want.RefillIntervalUnit ||
		got.RefillAmount != want.RefillAmount {
		t.Errorf("balance = %+v, want %+v", *got, *want)
	}
	checkTime(t, "Balance.LastRefill", got.LastRefill, want.LastRefill)
}

func checkTransaction(t *testing.T, got, want *librechat.Transaction) {
	t.Helper()
	if got == nil {
		t.Fatal("got a nil transaction")
	}
	g, w := *got, *want
	g.CreatedAt, w.CreatedAt = time.Time{}, time.Time{}
	if g != w {
		t.Errorf("transaction = %+v, want %+v", g, w)
	}
	checkTime(t, "Transaction.CreatedAt", got.CreatedAt, want.CreatedAt)
}

func fullBalance(userID string, credits int64) *librechat.Balance {
	return &librechat.Balance{
		UserID:              userID,
		TokenCredits:        credits,
		AutoRefillEnabled:   true,
		RefillIntervalValue: 30,
		RefillIntervalUnit:  "days",
		RefillAmount:        5000,
		LastRefill:          at(-24 * time.Hour),
	}
}

func newTransaction(userID, id string, amount int64, created time.Time) *librechat.Transaction {
	return &librechat.Transaction{
		ID:             id,
		UserID:         userID,
		ConversationID: "c1",
		MessageID:      "m-" + id,
		Model:          "gpt-4o",
		TokenType:      "completion",
		RawAmount:      -amount * 3,
		Rate:           1.5e-6,
		Amount:         amount,
		Context:        "message",
		CreatedAt:      created,
	}
}

func getBalance(t *testing.T, st librechat.Store, userID string) *librechat.Balance {
	t.Helper()
	b, err := st.Balance(ctx(), userID)
	must(t, err, "Balance "+userID)
	return b
}

func getTransactions(t *testing.T, st librechat.Store, userID string) []*librechat.Transaction {
	t.Helper()
	txs, err := st.Transactions(ctx(), userID)
	must(t, err, "Transactions "+userID)
	return txs
}

func addTransaction(t *testing.T, st librechat.Store, tx *librechat.Transaction, want int64) {
	t.Helper()
	got, err := st.AddTransaction(ctx(), tx)
	must(t, err, "AddTransaction "+tx.ID)
	if got != want {
		t.Errorf("AddTransaction %s returned %d credits, want %d", tx.ID, got, want)
	}
}

func (s suite) balanceTests() []test {
	return []test{
		{"Missing", func(t *testing.T, st librechat.Store) {
			_, err := st.Balance(ctx(), "u1")
			wantKind(t, err, librechat.KindNotFound, "Balance of a user with none")
			if txs := getTransactions(t, st, "u1"); len(txs) != 0 {
				t.Errorf("Transactions of a user with none = %d", len(txs))
			}
		}},
		{"PutIfAbsent", func(t *testing.T, st librechat.Store) {
			first := fullBalance("u1", 1000)
			got, err := st.PutBalanceIfAbsent(ctx(), first)
			must(t, err, "PutBalanceIfAbsent")
			checkBalance(t, got, first)
			checkBalance(t, getBalance(t, st, "u1"), first)

			got, err = st.PutBalanceIfAbsent(ctx(), &librechat.Balance{UserID: "u1", TokenCredits: 7})
			must(t, err, "second PutBalanceIfAbsent")
			checkBalance(t, got, first)
			checkBalance(t, getBalance(t, st, "u1"), first)

			zero := &librechat.Balance{UserID: "u2"}
			got, err = st.PutBalanceIfAbsent(ctx(), zero)
			must(t, err, "PutBalanceIfAbsent zero")
			checkBalance(t, got, zero)
			checkBalance(t, getBalance(t, st, "u2"), zero)
			checkBalance(t, getBalance(t, st, "u1"), first)
		}},
		{"ConcurrentPutIfAbsent", func(t *testing.T, st librechat.Store) {
			type result struct {
				b   *librechat.Balance
				err error
			}
			results := race(func(i int) result {
				b, err := st.PutBalanceIfAbsent(ctx(), fullBalance("u1", int64(1000+i)))
				return result{b, err}
			})
			var winner *librechat.Balance
			for i, r := range results {
				if r.err != nil {
					t.Fatalf("racer %d: %v", i, r.err)
				}
				if winner == nil {
					winner = r.b
				}
				if r.b.TokenCredits != winner.TokenCredits {
					t.Fatalf("racer %d got %d credits, another got %d: every racer must get the single winner",
						i, r.b.TokenCredits, winner.TokenCredits)
				}
			}
			if winner.TokenCredits < 1000 || winner.TokenCredits >= 1000+Racers {
				t.Fatalf("winning balance %d is none of the candidates", winner.TokenCredits)
			}
			checkBalance(t, getBalance(t, st, "u1"), fullBalance("u1", winner.TokenCredits))
		}},
		{"AddCreatesBalance", func(t *testing.T, st librechat.Store) {
			addTransaction(t, st, newTransaction("u1", "t1", -150, base), -150)
			checkBalance(t, getBalance(t, st, "u1"), &librechat.Balance{UserID: "u1", TokenCredits: -150})
			addTransaction(t, st, newTransaction("u1", "t2", 400, at(time.Second)), 250)
			checkBalance(t, getBalance(t, st, "u1"), &librechat.Balance{UserID: "u1", TokenCredits: 250})
		}},
		{"AddKeepsSettings", func(t *testing.T, st librechat.Store) {
			want := fullBalance("u1", 1000)
			_, err := st.PutBalanceIfAbsent(ctx(), want)
			must(t, err, "PutBalanceIfAbsent")
			addTransaction(t, st, newTransaction("u1", "t1", -300, base), 700)
			addTransaction(t, st, newTransaction("u1", "t2", 50, at(time.Second)), 750)
			addTransaction(t, st, newTransaction("u1", "t3", 0, at(2*time.Second)), 750)
			want.TokenCredits = 750
			checkBalance(t, getBalance(t, st, "u1"), want)
			got, err := st.PutBalanceIfAbsent(ctx(), fullBalance("u1", 1))
			must(t, err, "PutBalanceIfAbsent after transactions")
			checkBalance(t, got, want)
			_, err = st.Balance(ctx(), "u2")
			wantKind(t, err, librechat.KindNotFound, "Balance of another user")
		}},
		{"DuplicateTransaction", func(t *testing.T, st librechat.Store) {
			first := newTransaction("u1", "t1", -100, base)
			addTransaction(t, st, first, -100)
			_, err := st.AddTransaction(ctx(), newTransaction("u1", "t1", -500, at(time.Second)))
			wantKind(t, err, librechat.KindConflict, "AddTransaction with a recorded id")
			checkBalance(t, getBalance(t, st, "u1"), &librechat.Balance{UserID: "u1", TokenCredits: -100})
			txs := getTransactions(t, st, "u1")
			if len(txs) != 1 {
				t.Fatalf("Transactions has %d entries after a rejected duplicate, want 1", len(txs))
			}
			checkTransaction(t, txs[0], first)
			_, err = st.AddTransaction(ctx(), &librechat.Transaction{UserID: "u1", Amount: 5})
			wantKind(t, err, librechat.KindInvalid, "AddTransaction without an id")
		}},
		{"Transactions", func(t *testing.T, st librechat.Store) {
			t3 := newTransaction("u1", "t3", -30, at(3*time.Minute))
			t1 := newTransaction("u1", "t1", -10, at(1*time.Minute))
			t2 := &librechat.Transaction{ID: "t2", UserID: "u1", TokenType: "credits", Amount: 1000, RawAmount: 1000, Rate: 1, CreatedAt: at(2 * time.Minute)}
			t1.Rate, t3.Rate = 0.000015, 2.75
			addTransaction(t, st, t3, -30)
			addTransaction(t, st, newTransaction("u2", "x1", -5, at(0)), -5)
			addTransaction(t, st, t1, -40)
			addTransaction(t, st, t2, 960)
			txs := getTransactions(t, st, "u1")
			if len(txs) != 3 {
				t.Fatalf("Transactions u1 has %d entries, want 3", len(txs))
			}
			for i, want := range []*librechat.Transaction{t1, t2, t3} {
				checkTransaction(t, txs[i], want)
			}
			txs = getTransactions(t, st, "u2")
			if len(txs) != 1 || txs[0].ID != "x1" {
				t.Fatalf("Transactions u2 = %v, want only x1", txs)
			}
		}},
		{"ConcurrentAddCreatesOnce", func(t *testing.T, st librechat.Store) {
			// Powers of two: each racer's result tells exactly which
			// transactions were applied before its own.
			amount := func(i int) int64 { return int64(1) << i }
			type result struct {
				credits int64
				err     error
			}
			results := race(func(i int) result {
				c, err := st.AddTransaction(ctx(), newTransaction("u1", fmt.Sprintf("t%02d", i), amount(i), at(time.Duration(i)*time.Second)))
				return result{c, err}
			})
			order := make([]int, Racers)
			for i, r := range results {
				if r.err != nil {
					t.Fatalf("racer %d: %v", i, r.err)
				}
				order[i] = i
			}
			slices.SortFunc(order, func(a, b int) int { return cmpInt(results[a].credits, results[b].credits) })
			var prev int64
			for _, i := range order {
				if got := results[i].credits - prev; got != amount(i) {
					t.Fatalf("racer %d returned %d credits, %d above the previous result, want exactly its own amount %d (a lost or doubled update)",
						i, results[i].credits, got, amount(i))
				}
				prev = results[i].credits
			}
			if want := int64(1)<<Racers - 1; prev != want {
				t.Fatalf("last result %d, want %d", prev, want)
			}
			checkBalance(t, getBalance(t, st, "u1"), &librechat.Balance{UserID: "u1", TokenCredits: prev})
			if txs := getTransactions(t, st, "u1"); len(txs) != Racers {
				t.Fatalf("Transactions has %d entries, want %d", len(txs), Racers)
			}
		}},
		{"ConcurrentAdd", func(t *testing.T, st librechat.Store) {
			want := fullBalance("u1", 100_000)
			_, err := st.PutBalanceIfAbsent(ctx(), want)
			must(t, err, "PutBalanceIfAbsent")
			const perRacer = 5
			errs := race(func(i int) error {
				for j := range perRacer {
					amount := int64(i*perRacer + j + 1)
					if j%2 == 1 {
						amount = -amount * 3
					}
					if _, err := st.AddTransaction(ctx(), newTransaction("u1", fmt.Sprintf("t%02d-%d", i, j), amount, base)); err != nil {
						return err
					}
				}
				return nil
			})
			for i, err := range errs {
				if err != nil {
					t.Fatalf("racer %d: %v", i, err)
				}
			}
			txs := getTransactions(t, st, "u1")
			if len(txs) != Racers*perRacer {
				t.Fatalf("Transactions has %d entries, want %d", len(txs), Racers*perRacer)
			}
			sum := int64(0)
			for _, tx := range txs {
				sum += tx.Amount
			}
			var expected int64
			for i := range Racers {
				for j := range perRacer {
					amount := int64(i*perRacer + j + 1)
					if j%2 == 1 {
						amount = -amount * 3
					}
					expected += amount
				}
			}
			if sum != expected {
				t.Fatalf("the listed transactions sum to %d, want %d", sum, expected)
			}
			want.TokenCredits += expected
			checkBalance(t, getBalance(t, st, "u1"), want)
		}},
	}
}
