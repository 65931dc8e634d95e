package dynamo_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lcgo/lcgo/shared/librechat"
	"github.com/lcgo/lcgo/shared/store/dynamo"
)

func textMsg(uid, cid, id, text string) *librechat.Message {
	return &librechat.Message{ID: id, ConversationID: cid, UserID: uid, Text: text, CreatedAt: base, UpdatedAt: base}
}

func searchIDs(t *testing.T, st *dynamo.Store, uid, q string) []string {
	t.Helper()
	hits, _, err := st.SearchMessages(bg(), uid, q, nil, 100)
	must(t, err, "SearchMessages "+q)
	var ids []string
	for _, h := range hits {
		ids = append(ids, h.Message.ConversationID+"/"+h.Message.ID)
	}
	return ids
}

func wantKeys(t *testing.T, b backend, pk, prefix string, want ...string) {
	t.Helper()
	if got := sortKeys(t, b, pk, prefix); !slices.Equal(got, want) {
		t.Fatalf("%s holds %q, want %q", pk, got, want)
	}
}

// TestSearchIndex: the index items follow every write and delete of the
// messages and titles they index, and nothing is left behind.
func TestSearchIndex(t *testing.T) {
	forEach(t, func(t *testing.T, b backend, st *dynamo.Store) {
		must(t, st.PutConversation(bg(), conv("u1", "c1", "Walrus Facts", base)), "PutConversation")
		must(t, st.PutMessages(bg(), textMsg("u1", "c1", "m1", "Über walrus, walrus!"), textMsg("u1", "c1", "m2", "narwhal")), "PutMessages")
		wantKeys(t, b, "W#u1", "", "narwhal#c1#m2", "uber#c1#m1", "walrus#c1#m1")
		wantKeys(t, b, "WT#u1", "", "facts#c1", "walrus#c1")
		if ids := searchIDs(t, st, "u1", "ÜBER wal"); !slices.Equal(ids, []string{"c1/m1"}) {
			t.Fatalf("search without diacritics = %q", ids)
		}

		must(t, st.PutMessages(bg(), textMsg("u1", "c1", "m1", "only narwhal")), "PutMessages editing m1")
		wantKeys(t, b, "W#u1", "", "narwhal#c1#m1", "narwhal#c1#m2", "only#c1#m1")
		must(t, st.PutConversation(bg(), conv("u1", "c1", "Dolphins", base.Add(time.Minute))), "PutConversation renaming")
		wantKeys(t, b, "WT#u1", "", "dolphins#c1")
		must(t, st.DeleteMessage(bg(), "u1", "c1", "m2"), "DeleteMessage")
		wantKeys(t, b, "W#u1", "", "narwhal#c1#m1", "only#c1#m1")

		temp := textMsg("u1", "c1", "m3", "secret")
		temp.IsTemporary = true
		must(t, st.PutMessages(bg(), temp), "PutMessages temporary")
		wantKeys(t, b, "W#u1", "secret")

		tc := conv("u1", "c1", "Dolphins", base.Add(2*time.Minute))
		tc.IsTemporary = true
		must(t, st.PutConversation(bg(), tc), "PutConversation temporary")
		wantKeys(t, b, "WT#u1", "")
		if ids := searchIDs(t, st, "u1", "narwhal"); len(ids) != 0 {
			t.Fatalf("messages of a temporary conversation found: %q", ids)
		}
		must(t, st.PutConversation(bg(), conv("u1", "c1", "Dolphins", base.Add(3*time.Minute))), "PutConversation kept")
		if ids := searchIDs(t, st, "u1", "narwhal"); !slices.Equal(ids, []string{"c1/m1"}) {
			t.Fatalf("messages of a kept conversation = %q", ids)
		}

		_, err := st.DeleteConversation(bg(), "u1", "c1")
		must(t, err, "DeleteConversation")
		wantKeys(t, b, "W#u1", "")
		wantKeys(t, b, "WT#u1", "")

		must(t, st.PutConversation(bg(), conv("u1", "c2", "Seals", base)), "PutConversation c2")
		must(t, st.PutMessages(bg(), textMsg("u1", "c2", "m1", "seal"), textMsg("u1", "c3", "m1", "orphan seal")), "PutMessages")
		_, err = st.DeleteConversations(bg(), "u1")
		must(t, err, "DeleteConversations")
		wantKeys(t, b, "W#u1", "")
		wantKeys(t, b, "WT#u1", "")
	})
}

// TestSearchLimits: a message is indexed under its first 256 distinct
// words, each cut to 64 bytes, and a query word is cut the same way.
func TestSearchLimits(t *testing.T) {
	forEach(t, func(t *testing.T, b backend, st *dynamo.Store) {
		var words []string
		for i := range 300 {
			words = append(words, fmt.Sprintf("w%03d", i))
		}
		long := strings.Repeat("x", 100)
		must(t, st.PutMessages(bg(), textMsg("u1", "c1", "many", strings.Join(words, " ")), textMsg("u1", "c1", "long", long)), "PutMessages")
		if n := len(sortKeys(t, b, "W#u1", "w")); n != 256 {
			t.Fatalf("%d words indexed, want 256", n)
		}
		if ids := searchIDs(t, st, "u1", "w255"); !slices.Equal(ids, []string{"c1/many"}) {
			t.Fatalf("search of the 256th word = %q", ids)
		}
		if ids := searchIDs(t, st, "u1", "w256"); len(ids) != 0 {
			t.Fatalf("search of the 257th word = %q, want nothing", ids)
		}
		for _, q := range []string{long[:10], long[:64], long[:80], long} {
			if ids := searchIDs(t, st, "u1", q); !slices.Equal(ids, []string{"c1/long"}) {
				t.Fatalf("search of %d bytes of a long word = %q", len(q), ids)
			}
		}
	})
}

// TestLibraryFallback: without transactions, what an interrupted library
// write leaves behind is invisible, and a claim it leaves is respected for
// ClaimTimeout only.
func TestLibraryFallback(t *testing.T) {
	clock := &stepClock{t: time.Now()}
	st, f, _, b := faultyBackend(t, dynamo.Options{NoTransactions: true, Clock: clock})

	t.Run("ShareInterrupted", func(t *testing.T) {
		f.fail("PutItem", "InternalServerError", -1, `"SH#s1"`)
		f.fail("DeleteItem", "InternalServerError", -1, `"SH#c1"`)
		sl := &librechat.SharedLink{ShareID: "s1", UserID: "u1", ConversationID: "c1", Title: "t", CreatedAt: base}
		wantKind(t, st.PutShare(bg(), sl), librechat.KindUnavailable, "PutShare crashing after its claim")
		f.clear()
		_, err := st.ShareOf(bg(), "u1", "c1")
		wantKind(t, err, librechat.KindNotFound, "ShareOf after the interrupted PutShare")
		if links, _, err := st.Shares(bg(), "u1", librechat.ShareQuery{}); err != nil || len(links) != 0 {
			t.Fatalf("Shares = %d, %v; want none", len(links), err)
		}
		sl.ShareID = "s2"
		wantKind(t, st.PutShare(bg(), sl), librechat.KindConflict, "PutShare while the claim is young")
		clock.Add(dynamo.DefaultClaimTimeout + time.Second)
		must(t, st.PutShare(bg(), sl), "PutShare over an abandoned claim")
		got, err := st.ShareOf(bg(), "u1", "c1")
		must(t, err, "ShareOf")
		if got.ShareID != "s2" {
			t.Fatalf("ShareOf = %s, want s2", got.ShareID)
		}
	})

	t.Run("GroupInterrupted", func(t *testing.T) {
		f.fail("PutItem", "InternalServerError", -1, `"G#g1"`, `"group"`)
		f.fail("DeleteItem", "InternalServerError", -1, `"GN#team"`)
		wantKind(t, st.CreateGroup(bg(), &librechat.Group{ID: "g1", Name: "team"}), librechat.KindUnavailable, "CreateGroup crashing after its claim")
		f.clear()
		if gs, err := st.Groups(bg()); err != nil || len(gs) != 0 {
			t.Fatalf("Groups = %d, %v; want none", len(gs), err)
		}
		wantKind(t, st.CreateGroup(bg(), &librechat.Group{ID: "g2", Name: "team"}), librechat.KindConflict, "CreateGroup while the claim is young")
		clock.Add(dynamo.DefaultClaimTimeout + time.Second)
		must(t, st.CreateGroup(bg(), &librechat.Group{ID: "g2", Name: "team"}), "CreateGroup over an abandoned claim")
	})

	t.Run("DeleteGroupInterrupted", func(t *testing.T) {
		must(t, st.CreateGroup(bg(), &librechat.Group{ID: "g3", Name: "three"}), "CreateGroup")
		must(t, st.AddMember(bg(), "g3", "u1"), "AddMember")
		must(t, st.AddMember(bg(), "g3", "u2"), "AddMember")
		f.fail("BatchWriteItem", "InternalServerError", -1)
		wantKind(t, st.DeleteGroup(bg(), "g3"), librechat.KindUnavailable, "DeleteGroup crashing before the memberships")
		f.clear()
		if ms, err := st.Members(bg(), "g3"); err != nil || len(ms) != 0 {
			t.Fatalf("Members of the deleted group = %q, %v", ms, err)
		}
		must(t, st.CreateGroup(bg(), &librechat.Group{ID: "g3", Name: "three"}), "CreateGroup again")
		if ms, err := st.Members(bg(), "g3"); err != nil || len(ms) != 0 {
			t.Fatalf("Members of the re-created group = %q, %v", ms, err)
		}
		if gs, err := st.GroupsOf(bg(), "u1"); err != nil || len(gs) != 0 {
			t.Fatalf("GroupsOf u1 = %q, %v; want none", gs, err)
		}
	})

	t.Run("AddMemberInterrupted", func(t *testing.T) {
		must(t, st.CreateGroup(bg(), &librechat.Group{ID: "g4", Name: "four"}), "CreateGroup")
		f.fail("PutItem", "InternalServerError", -1, `"M#u9"`)
		wantKind(t, st.AddMember(bg(), "g4", "u9"), librechat.KindUnavailable, "AddMember crashing after the reference")
		f.clear()
		if gs, err := st.GroupsOf(bg(), "u9"); err != nil || len(gs) != 0 {
			t.Fatalf("GroupsOf = %q, %v; want none", gs, err)
		}
		must(t, st.AddMember(bg(), "g4", "u9"), "AddMember retried")
		if gs, err := st.GroupsOf(bg(), "u9"); err != nil || !slices.Equal(gs, []string{"g4"}) {
			t.Fatalf("GroupsOf = %q, %v; want [g4]", gs, err)
		}
	})

	t.Run("ModelConfigInterrupted", func(t *testing.T) {
		mc := &librechat.ModelConfig{ID: "mc1", Scope: librechat.ScopeSystem, Name: "fast"}
		f.fail("PutItem", "InternalServerError", -1, `"MC#mc1"`)
		f.fail("DeleteItem", "InternalServerError", -1, `"MCN#system##fast"`)
		wantKind(t, st.CreateModelConfig(bg(), mc), librechat.KindUnavailable, "CreateModelConfig crashing after its claim")
		f.clear()
		if cs, err := st.ModelConfigs(bg(), "", ""); err != nil || len(cs) != 0 {
			t.Fatalf("ModelConfigs = %d, %v; want none", len(cs), err)
		}
		mc.ID = "mc2"
		wantKind(t, st.CreateModelConfig(bg(), mc), librechat.KindConflict, "CreateModelConfig while the claim is young")
		clock.Add(dynamo.DefaultClaimTimeout + time.Second)
		must(t, st.CreateModelConfig(bg(), mc), "CreateModelConfig over an abandoned claim")
	})

	t.Run("PutMessagesUndoesIndex", func(t *testing.T) {
		f.fail("PutItem", "InternalServerError", -1, `"M#m9"`)
		wantKind(t, st.PutMessages(bg(), textMsg("u1", "c9", "m9", "zebra")), librechat.KindUnavailable, "PutMessages failing")
		f.clear()
		wantKeys(t, b, "W#u1", "zebra")
		if ids := searchIDs(t, st, "u1", "zebra"); len(ids) != 0 {
			t.Fatalf("search after the failed write = %q", ids)
		}
	})

	t.Run("StaleIndexInvisible", func(t *testing.T) {
		// A crash after an edit, before the old words' items went.
		must(t, st.PutMessages(bg(), textMsg("u1", "c8", "m8", "walrus")), "PutMessages")
		f.fail("BatchWriteItem", "InternalServerError", -1, `"walrus#c8#m8"`)
		must(t, st.PutMessages(bg(), textMsg("u1", "c8", "m8", "narwhal")), "PutMessages editing")
		f.clear()
		wantKeys(t, b, "W#u1", "walrus", "walrus#c8#m8")
		if ids := searchIDs(t, st, "u1", "walrus"); len(ids) != 0 {
			t.Fatalf("search by a word the message lost = %q", ids)
		}
		if ids := searchIDs(t, st, "u1", "narwhal"); !slices.Equal(ids, []string{"c8/m8"}) {
			t.Fatalf("search by the new word = %q", ids)
		}
	})
}
