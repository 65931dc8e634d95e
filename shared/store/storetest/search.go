package storetest

import (
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/lcgo/lcgo/shared/librechat"
)

// ---- search helpers ----

// textMessage is a stored, non-temporary message with the given text.
func textMessage(userID, conversationID, id, text string, created time.Time) *librechat.Message {
	m := newMessage(userID, conversationID, id, created)
	m.Text = text
	return m
}

func hitKey(m *librechat.Message) string { return m.ConversationID + "/" + m.ID }

func hitKeys(hits []librechat.SearchHit) []string {
	keys := make([]string, len(hits))
	for i, h := range hits {
		if h.Message == nil {
			keys[i] = "<nil message>"
			continue
		}
		keys[i] = hitKey(h.Message)
	}
	return keys
}

// searchMessages follows the SearchMessages cursors and returns the
// conversation/message keys of every hit, checking that none repeats.
func searchMessages(t *testing.T, st librechat.Store, userID, q string, limit int) []string {
	t.Helper()
	what := fmt.Sprintf("SearchMessages %s %q limit %d", userID, q, limit)
	keys := followPages(t, what, limit, func(after *librechat.Cursor) ([]string, *librechat.Cursor, error) {
		hits, next, err := st.SearchMessages(ctx(), userID, q, after, limit)
		return hitKeys(hits), next, err
	})
	checkNoDuplicates(t, what, keys)
	return keys
}

// searchConversations does the same for SearchConversations.
func searchConversations(t *testing.T, st librechat.Store, userID, q string, limit int) []string {
	t.Helper()
	what := fmt.Sprintf("SearchConversations %s %q limit %d", userID, q, limit)
	ids := followPages(t, what, limit, func(after *librechat.Cursor) ([]string, *librechat.Cursor, error) {
		cs, next, err := st.SearchConversations(ctx(), userID, q, after, limit)
		return conversationIDs(cs), next, err
	})
	checkNoDuplicates(t, what, ids)
	return ids
}

// oneSearchPage returns the first page of at most 100 hits.
func oneSearchPage(t *testing.T, st librechat.Store, userID, q string) []librechat.SearchHit {
	t.Helper()
	hits, _, err := st.SearchMessages(ctx(), userID, q, nil, 100)
	must(t, err, fmt.Sprintf("SearchMessages %s %q", userID, q))
	return hits
}

func (s suite) searchTests() []test {
	return []test{
		{"PrefixAndCase", func(t *testing.T, st librechat.Store) {
			putConversation(t, st, newConversation("u1", "c1", "Greetings", base))
			must(t, st.PutMessages(ctx(),
				textMessage("u1", "c1", "m1", "Hello world", at(1*time.Second)),
				textMessage("u1", "c1", "m2", "please help me", at(2*time.Second)),
				textMessage("u1", "c1", "m3", "goodbye", at(3*time.Second)),
			), "PutMessages")
			for _, tc := range []struct {
				q    string
				want []string
			}{
				{"hel", []string{"c1/m1", "c1/m2"}},
				{"HEL", []string{"c1/m1", "c1/m2"}},
				{"hello", []string{"c1/m1"}},
				{"Hello World", []string{"c1/m1"}},
				{"wor hel", []string{"c1/m1"}},
				{"  good  ", []string{"c1/m3"}},
				{"hello goodbye", nil},
				{"xyz", nil},
			} {
				checkIDSet(t, fmt.Sprintf("SearchMessages %q", tc.q), searchMessages(t, st, "u1", tc.q, 0), tc.want)
			}
			hits := oneSearchPage(t, st, "u1", "goodbye")
			if len(hits) != 1 {
				t.Fatalf("SearchMessages goodbye = %q, want one hit", hitKeys(hits))
			}
			if hits[0].Title != "Greetings" {
				t.Errorf("hit title = %q, want the conversation's title", hits[0].Title)
			}
			checkMessage(t, hits[0].Message, textMessage("u1", "c1", "m3", "goodbye", at(3*time.Second)))
		}},
		{"EveryFieldOfAHit", func(t *testing.T, st librechat.Store) {
			putConversation(t, st, newConversation("u1", "c1", "Full", base))
			full := fullMessage("u1", "c1", "m1")
			full.IsTemporary, full.ExpiredAt = false, time.Time{}
			must(t, st.PutMessages(ctx(), full), "PutMessages")
			hits := oneSearchPage(t, st, "u1", "friends")
			if len(hits) != 1 {
				t.Fatalf("SearchMessages = %q, want one hit", hitKeys(hits))
			}
			checkMessage(t, hits[0].Message, full)
			if hits[0].Title != "Full" {
				t.Errorf("hit title = %q, want Full", hits[0].Title)
			}
			// A message whose conversation is not stored has no title.
			must(t, st.PutMessages(ctx(), textMessage("u1", "c-none", "m2", "orphan words", base)), "PutMessages orphan")
			hits = oneSearchPage(t, st, "u1", "orphan")
			if len(hits) != 1 || hits[0].Title != "" {
				t.Errorf("SearchMessages orphan = %q, want one hit without a title", hitKeys(hits))
			}
		}},
		{"ContentParts", func(t *testing.T, st librechat.Store) {
			parts := textMessage("u1", "c1", "m1", "", base)
			parts.Content = json.RawMessage(`[{"type": "text", "text": "quantum entanglement"}, {"type": "image_url", "image_url": {"url": "x"}}, {"type": "text", "text": "second part"}]`)
			value := textMessage("u1", "c1", "m2", "", base)
			value.Content = json.RawMessage(`[{"type": "text", "text": {"value": "zebra crossing", "annotations": []}}]`)
			both := textMessage("u1", "c1", "m3", "plain words", base)
			both.Content = json.RawMessage(`[{"type": "text", "text": "plain words"}, {"type": "text", "text": "extra marmalade"}]`)
			must(t, st.PutMessages(ctx(), parts, value, both), "PutMessages")
			checkIDs(t, `SearchMessages "quant"`, searchMessages(t, st, "u1", "quant", 0), []string{"c1/m1"})
			checkIDs(t, `SearchMessages "entangle second"`, searchMessages(t, st, "u1", "entangle second", 0), []string{"c1/m1"})
			checkIDs(t, `SearchMessages "zebra"`, searchMessages(t, st, "u1", "zebra", 0), []string{"c1/m2"})
			checkIDs(t, `SearchMessages "plain"`, searchMessages(t, st, "u1", "plain", 0), []string{"c1/m3"})
			checkIDs(t, `SearchMessages "marmal"`, searchMessages(t, st, "u1", "marmal", 0), []string{"c1/m3"})
			checkIDs(t, `SearchMessages "image_url"`, searchMessages(t, st, "u1", "image_url", 0), nil)
			hits := oneSearchPage(t, st, "u1", "quantum")
			if len(hits) == 1 {
				checkMessage(t, hits[0].Message, parts)
			}
		}},
		{"Ranking", func(t *testing.T, st librechat.Store) {
			must(t, st.PutMessages(ctx(),
				textMessage("u1", "c1", "more", "apple apple apple kiwi", at(1*time.Second)),
				textMessage("u1", "c1", "once", "apple pear plum kiwi", at(9*time.Second)),
				textMessage("u1", "c1", "old", "banana split", at(2*time.Second)),
				textMessage("u1", "c2", "new", "banana split", at(8*time.Second)),
				textMessage("u1", "c1", "none", "cherry pie", at(3*time.Second)),
			), "PutMessages")
			checkIDs(t, `SearchMessages "apple" (more matches first)`, searchMessages(t, st, "u1", "apple", 0), []string{"c1/more", "c1/once"})
			checkIDs(t, `SearchMessages "banana" (equal matches: newest first)`, searchMessages(t, st, "u1", "banana", 0), []string{"c2/new", "c1/old"})
		}},
		{"UserScoping", func(t *testing.T, st librechat.Store) {
			putConversation(t, st, newConversation("u1", "c1", "my secret plans", base))
			putConversation(t, st, newConversation("u2", "d1", "their secret plans", base))
			must(t, st.PutMessages(ctx(),
				textMessage("u1", "c1", "m1", "secret alpha", base),
				textMessage("u2", "d1", "m2", "secret beta", base),
				textMessage("u2", "c1", "m3", "secret gamma in a conversation id of u1", base),
			), "PutMessages")
			checkIDs(t, "u1's messages", searchMessages(t, st, "u1", "secret", 0), []string{"c1/m1"})
			checkIDs(t, "u1's messages by u2's word", searchMessages(t, st, "u1", "beta", 0), nil)
			checkIDs(t, "u1's messages by u2's other word", searchMessages(t, st, "u1", "gamma", 0), nil)
			checkIDSet(t, "u2's messages", searchMessages(t, st, "u2", "secret", 0), []string{"d1/m2", "c1/m3"})
			checkIDs(t, "u1's conversations", searchConversations(t, st, "u1", "secret", 0), []string{"c1"})
			checkIDs(t, "u1's conversations by u2's title", searchConversations(t, st, "u1", "their", 0), nil)
			checkIDs(t, "u2's conversations", searchConversations(t, st, "u2", "secret", 0), []string{"d1"})
			checkIDs(t, "u3's messages", searchMessages(t, st, "u3", "secret", 0), nil)
			checkIDs(t, "u3's conversations", searchConversations(t, st, "u3", "secret", 0), nil)
		}},
		{"ChangesAndDeletes", func(t *testing.T, st librechat.Store) {
			putConversation(t, st, newConversation("u1", "c1", "walrus", base))
			putConversation(t, st, newConversation("u1", "c2", "second", base))
			putConversation(t, st, newConversation("u2", "d1", "walrus", base))
			must(t, st.PutMessages(ctx(),
				textMessage("u1", "c1", "m1", "walrus one", at(1*time.Second)),
				textMessage("u1", "c1", "m2", "walrus two", at(2*time.Second)),
				textMessage("u1", "c2", "m3", "walrus three", at(3*time.Second)),
				textMessage("u2", "d1", "m4", "walrus four", at(4*time.Second)),
			), "PutMessages")

			must(t, st.PutMessages(ctx(), textMessage("u1", "c1", "m1", "narwhal one", at(1*time.Second))), "PutMessages editing m1")
			checkIDSet(t, "after editing m1: walrus", searchMessages(t, st, "u1", "walrus", 0), []string{"c1/m2", "c2/m3"})
			checkIDs(t, "after editing m1: narwhal", searchMessages(t, st, "u1", "narwhal", 0), []string{"c1/m1"})

			must(t, st.DeleteMessage(ctx(), "u1", "c1", "m2"), "DeleteMessage")
			checkIDs(t, "after DeleteMessage", searchMessages(t, st, "u1", "walrus", 0), []string{"c2/m3"})

			renamed := newConversation("u1", "c2", "renamed", base)
			putConversation(t, st, renamed)
			checkIDs(t, "conversations by the old title", searchConversations(t, st, "u1", "second", 0), nil)
			checkIDs(t, "conversations by the new title", searchConversations(t, st, "u1", "renamed", 0), []string{"c2"})

			_, err := st.DeleteConversation(ctx(), "u1", "c2")
			must(t, err, "DeleteConversation")
			checkIDs(t, "messages after DeleteConversation", searchMessages(t, st, "u1", "walrus", 0), nil)
			checkIDs(t, "conversations after DeleteConversation", searchConversations(t, st, "u1", "renamed", 0), nil)
			checkIDs(t, "conversations by title after DeleteConversation", searchConversations(t, st, "u1", "walrus", 0), []string{"c1"})

			_, err = st.DeleteConversations(ctx(), "u1")
			must(t, err, "DeleteConversations")
			checkIDs(t, "messages after DeleteConversations", searchMessages(t, st, "u1", "narwhal", 0), nil)
			checkIDs(t, "conversations after DeleteConversations", searchConversations(t, st, "u1", "walrus", 0), nil)
			checkIDs(t, "u2's messages", searchMessages(t, st, "u2", "walrus", 0), []string{"d1/m4"})
			checkIDs(t, "u2's conversations", searchConversations(t, st, "u2", "walrus", 0), []string{"d1"})
		}},
		{"TemporaryNeverFound", func(t *testing.T, st librechat.Store) {
			putConversation(t, st, newConversation("u1", "c1", "visible", base))
			temp := newConversation("u1", "t1", "ephemeral visible", base)
			temp.IsTemporary = true
			putConversation(t, st, temp)
			flagged := textMessage("u1", "c1", "m1", "ephemeral flagged", base)
			flagged.IsTemporary = true
			must(t, st.PutMessages(ctx(),
				flagged,
				textMessage("u1", "t1", "m2", "ephemeral unflagged", base),
				textMessage("u1", "c1", "m3", "lasting", base),
			), "PutMessages")
			checkIDs(t, "messages", searchMessages(t, st, "u1", "ephemeral", 0), nil)
			checkIDs(t, "conversations by title", searchConversations(t, st, "u1", "ephemeral", 0), nil)
			checkIDs(t, "conversations by a shared word", searchConversations(t, st, "u1", "visible", 0), []string{"c1"})
			checkIDs(t, "messages of a normal conversation", searchMessages(t, st, "u1", "lasting", 0), []string{"c1/m3"})

			// A conversation that becomes temporary is no longer found.
			c1 := newConversation("u1", "c1", "visible", base)
			c1.IsTemporary = true
			putConversation(t, st, c1)
			checkIDs(t, "conversations after c1 became temporary", searchConversations(t, st, "u1", "visible", 0), nil)
			checkIDs(t, "messages after c1 became temporary", searchMessages(t, st, "u1", "lasting", 0), nil)
			// And one saved from a temporary chat is.
			temp.IsTemporary = false
			putConversation(t, st, temp)
			checkIDs(t, "conversations after t1 was kept", searchConversations(t, st, "u1", "ephemeral", 0), []string{"t1"})
			checkIDs(t, "messages after t1 was kept", searchMessages(t, st, "u1", "unflagged", 0), []string{"t1/m2"})
		}},
		{"HostileQueries", func(t *testing.T, st librechat.Store) {
			putConversation(t, st, newConversation("u1", "c1", "hello there", base))
			must(t, st.PutMessages(ctx(), textMessage("u1", "c1", "m1", `hello "quoted" world`, base)), "PutMessages")
			for _, q := range []string{
				``, ` `, `"`, `""`, `"""`, `'`, `AND(`, `AND`, `OR`, `NOT`, `NEAR(hello world)`, `*`, `hello*`, `^hello`,
				`-hello`, `+hello`, `(`, `)`, `{`, `}`, `:`, `text:hello`, `search_text:hello`, `title:hello`, `\`, `%`, `_`,
				`hello OR world`, `hello NOT world`, `"hello`, `hello"`, `"hello" "world"`, "\x00", "hello\x00world",
				`☃`, `🙂`, `ü`, `NEAR`, `rank:`, `1=1; DROP TABLE messages; --`, `*hello*`, `:hello`, `hello ""`,
			} {
				if _, _, err := st.SearchMessages(ctx(), "u1", q, nil, 0); err != nil {
					t.Errorf("SearchMessages %q: %v", q, err)
				}
				if _, _, err := st.SearchConversations(ctx(), "u1", q, nil, 0); err != nil {
					t.Errorf("SearchConversations %q: %v", q, err)
				}
			}
			for _, q := range []string{`"hello"`, `hello"`, `(hello)`, `"quoted"`, `hello*`} {
				checkIDs(t, fmt.Sprintf("SearchMessages %q", q), searchMessages(t, st, "u1", q, 0), []string{"c1/m1"})
			}
			checkIDs(t, `SearchConversations "hello"`, searchConversations(t, st, "u1", `"hello"`, 0), []string{"c1"})
			for _, q := range []string{``, `   `} {
				hits, next, err := st.SearchMessages(ctx(), "u1", q, nil, 0)
				if err != nil || len(hits) != 0 || next != nil {
					t.Errorf("SearchMessages %q = %q, %v, %v; want nothing", q, hitKeys(hits), next, err)
				}
			}
			// Words that FTS syntax would treat as operators match literally.
			must(t, st.PutMessages(ctx(), textMessage("u1", "c1", "m2", "this AND that OR NOT the other", base)), "PutMessages")
			checkIDs(t, `SearchMessages "AND OR NOT"`, searchMessages(t, st, "u1", "AND OR NOT", 0), []string{"c1/m2"})
		}},
		{"Conversations", func(t *testing.T, st librechat.Store) {
			cs := map[string]*librechat.Conversation{
				"c1": newConversation("u1", "c1", "Project Apollo", at(1*time.Minute)),
				"c2": newConversation("u1", "c2", "misc", at(5*time.Minute)),
				"c3": newConversation("u1", "c3", "notes", at(3*time.Minute)),
				"c4": newConversation("u1", "c4", "other", at(4*time.Minute)),
			}
			cs["c3"].Tags = []string{"space"}
			cs["c3"].Fields = map[string]json.RawMessage{"temperature": json.RawMessage(`0.5`)}
			for _, c := range cs {
				putConversation(t, st, c)
			}
			must(t, st.PutMessages(ctx(),
				textMessage("u1", "c2", "m1", "apollo launch window today", at(1*time.Second)),
				textMessage("u1", "c3", "m2", "apollo launch window today", at(2*time.Second)),
				textMessage("u1", "c3", "m3", "apollo launch window today", at(3*time.Second)),
				textMessage("u1", "c3", "m4", "apollo launch window today", at(4*time.Second)),
				textMessage("u1", "c4", "m5", "nothing to see here", at(5*time.Second)),
			), "PutMessages")
			got := searchConversations(t, st, "u1", "apollo", 0)
			checkIDSet(t, `SearchConversations "apollo"`, got, []string{"c1", "c2", "c3"})
			if i, j := slices.Index(got, "c3"), slices.Index(got, "c2"); i < 0 || j < 0 || i > j {
				t.Errorf(`SearchConversations "apollo" = %q: c3, with three matching messages, must rank before c2 with one`, got)
			}
			// c2 is newer, but c3 has more matches.
			checkIDs(t, `SearchConversations "launch", a page at a time`, searchConversations(t, st, "u1", "launch", 1), []string{"c3", "c2"})
			checkIDs(t, `SearchConversations "proj"`, searchConversations(t, st, "u1", "proj", 0), []string{"c1"})
			checkIDs(t, `SearchConversations "apollo nothing"`, searchConversations(t, st, "u1", "apollo nothing", 0), nil)
			// Equal matches: the most recently updated first.
			putConversation(t, st, newConversation("u1", "z1", "zeppelin", at(1*time.Minute)))
			putConversation(t, st, newConversation("u1", "z2", "zeppelin", at(6*time.Minute)))
			putConversation(t, st, newConversation("u1", "z0", "zeppelin", at(3*time.Minute)))
			checkIDs(t, `SearchConversations "zeppelin"`, searchConversations(t, st, "u1", "zeppelin", 0), []string{"z2", "z0", "z1"})
			page, _, err := st.SearchConversations(ctx(), "u1", "notes", nil, 10)
			must(t, err, "SearchConversations notes")
			if len(page) != 1 {
				t.Fatalf("SearchConversations notes = %q, want c3", conversationIDs(page))
			}
			checkConversation(t, page[0], cs["c3"])
		}},
		{"Pagination", func(t *testing.T, st librechat.Store) {
			const n = 30
			var msgs []*librechat.Message
			for i := range n {
				cid := fmt.Sprintf("c%02d", i%10)
				if i < 10 {
					putConversation(t, st, newConversation("u1", cid, fmt.Sprintf("common title %d", i), at(time.Duration(i)*time.Minute)))
				}
				// Some messages repeat the word, some share a time.
				text := "common word"
				if i%3 == 0 {
					text = "common common word"
				}
				msgs = append(msgs, textMessage("u1", cid, fmt.Sprintf("m%02d", i), text, at(time.Duration(i%4)*time.Second)))
			}
			must(t, st.PutMessages(ctx(), msgs...), "PutMessages")
			must(t, st.PutMessages(ctx(), textMessage("u2", "x", "m00", "common", base)), "PutMessages u2")
			all := searchMessages(t, st, "u1", "common", 100)
			if len(all) != n {
				t.Fatalf("SearchMessages in one page found %d messages, want %d", len(all), n)
			}
			for _, limit := range []int{1, 7, 0, 29, 30, 31} {
				checkIDs(t, fmt.Sprintf("SearchMessages, limit %d", limit), searchMessages(t, st, "u1", "common", limit), all)
			}
			allConversations := searchConversations(t, st, "u1", "common", 100)
			if len(allConversations) != 10 {
				t.Fatalf("SearchConversations in one page found %d, want 10", len(allConversations))
			}
			for _, limit := range []int{1, 3, 0, 9, 10} {
				checkIDs(t, fmt.Sprintf("SearchConversations, limit %d", limit), searchConversations(t, st, "u1", "common", limit), allConversations)
			}
		}},
		{"InvalidCursor", func(t *testing.T, st librechat.Store) {
			must(t, st.PutMessages(ctx(), textMessage("u1", "c1", "m1", "hello", base)), "PutMessages")
			putConversation(t, st, newConversation("u1", "c1", "hello", base))
			bad := &librechat.Cursor{Key: "not a position", ID: "m1"}
			_, _, err := st.SearchMessages(ctx(), "u1", "hello", bad, 10)
			wantKind(t, err, librechat.KindInvalid, "SearchMessages after a cursor it did not make")
			_, _, err = st.SearchConversations(ctx(), "u1", "hello", bad, 10)
			wantKind(t, err, librechat.KindInvalid, "SearchConversations after a cursor it did not make")
		}},
	}
}
