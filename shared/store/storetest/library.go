package storetest

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lcgo/lcgo/shared/librechat"
)

// ---- library helpers ----

// timeCursorKey is the cursor key the suite expects for a time.
func timeCursorKey(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// pageFunc fetches the page after a cursor and returns the ids on it.
type pageFunc func(after *librechat.Cursor) ([]string, *librechat.Cursor, error)

// followPages follows the cursors from the first page to the last and
// returns every id in order. It fails when a page is over the limit, a page
// with a next cursor is not full, or a page after the first is empty.
func followPages(t *testing.T, what string, limit int, page pageFunc) []string {
	t.Helper()
	if limit <= 0 {
		limit = 25
	}
	var (
		ids   []string
		after *librechat.Cursor
	)
	for n := 0; ; n++ {
		if n > 1000 {
			t.Fatalf("%s: more than 1000 pages", what)
		}
		got, next, err := page(after)
		must(t, err, fmt.Sprintf("%s, page %d", what, n))
		if len(got) > limit {
			t.Fatalf("%s: page %d has %d items, over the limit %d", what, n, len(got), limit)
		}
		if next != nil && len(got) != limit {
			t.Fatalf("%s: page %d has a next cursor but %d items, want a full page of %d", what, n, len(got), limit)
		}
		if len(got) == 0 && n > 0 {
			t.Fatalf("%s: page %d is empty: the previous page should have had no next cursor", what, n)
		}
		ids = append(ids, got...)
		if next == nil {
			return ids
		}
		after = next
	}
}

// checkNoDuplicates fails when an id appears twice.
func checkNoDuplicates(t *testing.T, what string, ids []string) {
	t.Helper()
	seen := make(map[string]bool, len(ids))
	for _, id := range ids {
		if seen[id] {
			t.Fatalf("%s: %q appears twice in %q", what, id, ids)
		}
		seen[id] = true
	}
}

// ---- files ----

func fullFile(userID, id string, created time.Time) *librechat.File {
	return &librechat.File{
		ID:             id,
		ObjectID:       "65f0c0ffee0000000000f" + fmt.Sprintf("%03d", len(id)),
		UserID:         userID,
		TempFileID:     "temp-" + id,
		Filename:       "report <" + id + "> ü.png",
		Filepath:       "/images/" + userID + "/" + id + ".png",
		StorageKey:     "uploads/" + userID + "/" + id,
		Source:         "s3",
		Type:           "image/png",
		Bytes:          5_000_000_000,
		Width:          1920,
		Height:         1080,
		Context:        "message_attachment",
		ConversationID: "c-" + id,
		Text:           "extracted \"text\"\nline two",
		Embedded:       true,
		Fields: map[string]json.RawMessage{
			"usage":    json.RawMessage(`3`),
			"metadata": json.RawMessage(`{"fileIdentifier": "x", "nested": [1, null]}`),
		},
		CreatedAt: created,
		UpdatedAt: created.Add(time.Minute),
	}
}

func checkFile(t *testing.T, got, want *librechat.File) {
	t.Helper()
	if got == nil {
		t.Fatal("got a nil file")
	}
	// The comparable fields, in declaration order.
	plain := func(f *librechat.File) [15]any {
		return [15]any{f.ID, f.ObjectID, f.UserID, f.TempFileID, f.Filename, f.Filepath, f.StorageKey, f.Source,
			f.Type, f.Bytes, f.Width, f.Height, f.Context, f.ConversationID, f.Text}
	}
	if g, w := plain(got), plain(want); g != w || got.Embedded != want.Embedded {
		t.Errorf("file %s = %q Embedded:%v, want %q Embedded:%v", want.ID, g, got.Embedded, w, want.Embedded)
	}
	checkFields(t, "File "+want.ID+".Fields", got.Fields, want.Fields)
	checkTime(t, "File.CreatedAt", got.CreatedAt, want.CreatedAt)
	checkTime(t, "File.UpdatedAt", got.UpdatedAt, want.UpdatedAt)
}

func getFile(t *testing.T, st librechat.Store, userID, id string) *librechat.File {
	t.Helper()
	f, err := st.File(ctx(), userID, id)
	must(t, err, "File "+userID+"/"+id)
	return f
}

func fileIDs(t *testing.T, st librechat.Store, userID string) []string {
	t.Helper()
	fs, err := st.Files(ctx(), userID)
	must(t, err, "Files "+userID)
	ids := make([]string, len(fs))
	for i, f := range fs {
		ids[i] = f.ID
	}
	return ids
}

func (s suite) fileTests() []test {
	return []test{
		{"EveryFieldRoundTrips", func(t *testing.T, st librechat.Store) {
			full := fullFile("u1", "f-full", base)
			must(t, st.PutFile(ctx(), full), "PutFile full")
			checkFile(t, getFile(t, st, "u1", "f-full"), full)
			zero := &librechat.File{ID: "f-zero", UserID: "u1"}
			must(t, st.PutFile(ctx(), zero), "PutFile zero")
			checkFile(t, getFile(t, st, "u1", "f-zero"), zero)
			empty := fullFile("u1", "f-empty", at(time.Hour))
			empty.Fields = map[string]json.RawMessage{}
			must(t, st.PutFile(ctx(), empty), "PutFile empty fields")
			checkFile(t, getFile(t, st, "u1", "f-empty"), empty)

			fs, err := st.Files(ctx(), "u1")
			must(t, err, "Files")
			if len(fs) != 3 {
				t.Fatalf("Files returned %d files, want 3", len(fs))
			}
			checkFile(t, fs[0], empty)
			checkFile(t, fs[1], full)
			checkFile(t, fs[2], zero)
		}},
		{"Replace", func(t *testing.T, st librechat.Store) {
			must(t, st.PutFile(ctx(), fullFile("u1", "f1", base)), "PutFile")
			want := &librechat.File{ID: "f1", UserID: "u1", Filename: "renamed.txt", Type: "text/plain", Bytes: 3,
				Fields: map[string]json.RawMessage{"usage": json.RawMessage(`4`)}, CreatedAt: at(time.Hour)}
			must(t, st.PutFile(ctx(), want), "PutFile replacing")
			checkFile(t, getFile(t, st, "u1", "f1"), want)
			checkIDs(t, "Files after a replacement", fileIDs(t, st, "u1"), []string{"f1"})
		}},
		{"NewestFirst", func(t *testing.T, st librechat.Store) {
			for _, id := range []string{"f2", "f4", "f1", "f3"} {
				minutes := time.Duration(id[1]-'0') * time.Minute
				must(t, st.PutFile(ctx(), fullFile("u1", id, at(minutes))), "PutFile "+id)
			}
			must(t, st.PutFile(ctx(), fullFile("u2", "x1", at(time.Hour))), "PutFile x1")
			checkIDs(t, "Files u1", fileIDs(t, st, "u1"), []string{"f4", "f3", "f2", "f1"})
			checkIDs(t, "Files u2", fileIDs(t, st, "u2"), []string{"x1"})
			checkIDs(t, "Files of a user with none", fileIDs(t, st, "u3"), nil)
		}},
		{"OtherUser", func(t *testing.T, st librechat.Store) {
			mine := fullFile("u1", "f1", base)
			must(t, st.PutFile(ctx(), mine), "PutFile")
			_, err := st.File(ctx(), "u2", "f1")
			wantKind(t, err, librechat.KindNotFound, "File of another user's id")
			theirs := fullFile("u2", "f1", at(time.Hour))
			theirs.Filename = "stolen"
			wantKind(t, st.PutFile(ctx(), theirs), librechat.KindConflict, "PutFile of another user's id")
			wantKind(t, st.DeleteFile(ctx(), "u2", "f1"), librechat.KindNotFound, "DeleteFile of another user's file")
			checkFile(t, getFile(t, st, "u1", "f1"), mine)
			checkIDs(t, "Files u2", fileIDs(t, st, "u2"), nil)
		}},
		{"Delete", func(t *testing.T, st librechat.Store) {
			for _, id := range []string{"f1", "f2"} {
				must(t, st.PutFile(ctx(), fullFile("u1", id, base)), "PutFile "+id)
			}
			must(t, st.DeleteFile(ctx(), "u1", "f1"), "DeleteFile")
			_, err := st.File(ctx(), "u1", "f1")
			wantKind(t, err, librechat.KindNotFound, "File after DeleteFile")
			wantKind(t, st.DeleteFile(ctx(), "u1", "f1"), librechat.KindNotFound, "second DeleteFile")
			checkIDs(t, "Files after DeleteFile", fileIDs(t, st, "u1"), []string{"f2"})
			must(t, st.PutFile(ctx(), fullFile("u2", "f1", base)), "PutFile of a deleted id by another user")
		}},
		{"InvalidInput", func(t *testing.T, st librechat.Store) {
			bad := fullFile("u1", "f1", base)
			bad.Fields = map[string]json.RawMessage{"usage": json.RawMessage(`{`)}
			wantKind(t, st.PutFile(ctx(), bad), librechat.KindInvalid, "PutFile with invalid JSON in Fields")
			_, err := st.File(ctx(), "u1", "f1")
			wantKind(t, err, librechat.KindNotFound, "File after a rejected PutFile")
			wantKind(t, st.PutFile(ctx(), &librechat.File{UserID: "u1"}), librechat.KindInvalid, "PutFile without an id")
			wantKind(t, st.PutFile(ctx(), &librechat.File{ID: "f2"}), librechat.KindInvalid, "PutFile without a user")
		}},
	}
}

// ---- presets ----

func fullPreset(userID, id string, order int, updated time.Time) *librechat.Preset {
	return &librechat.Preset{
		ID:       id,
		ObjectID: "65f0c0ffee0000000000b" + fmt.Sprintf("%03d", order),
		UserID:   userID,
		Title:    "Preset <" + id + "> ü",
		Endpoint: "openAI",
		Order:    order,
		Fields: map[string]json.RawMessage{
			"model":       json.RawMessage(`"gpt-4o"`),
			"temperature": json.RawMessage(`0.2`),
			"stop":        json.RawMessage(`["END", "\n"]`),
		},
		CreatedAt: updated.Add(-time.Hour),
		UpdatedAt: updated,
	}
}

func checkPreset(t *testing.T, got, want *librechat.Preset) {
	t.Helper()
	if got == nil {
		t.Fatal("got a nil preset")
	}
	if got.ID != want.ID || got.ObjectID != want.ObjectID || got.UserID != want.UserID || got.Title != want.Title ||
		got.Endpoint != want.Endpoint || got.IsDefault != want.IsDefault || got.Order != want.Order {
		t.Errorf("preset = {ID:%q ObjectID:%q UserID:%q Title:%q Endpoint:%q IsDefault:%v Order:%d}, want {ID:%q ObjectID:%q UserID:%q Title:%q Endpoint:%q IsDefault:%v Order:%d}",
			got.ID, got.ObjectID, got.UserID, got.Title, got.Endpoint, got.IsDefault, got.Order,
			want.ID, want.ObjectID, want.UserID, want.Title, want.Endpoint, want.IsDefault, want.Order)
	}
	checkFields(t, "Preset "+want.ID+".Fields", got.Fields, want.Fields)
	checkTime(t, "Preset.CreatedAt", got.CreatedAt, want.CreatedAt)
	checkTime(t, "Preset.UpdatedAt", got.UpdatedAt, want.UpdatedAt)
}

func getPresets(t *testing.T, st librechat.Store, userID string) []*librechat.Preset {
	t.Helper()
	ps, err := st.Presets(ctx(), userID)
	must(t, err, "Presets "+userID)
	return ps
}

func presetIDs(ps []*librechat.Preset) []string {
	ids := make([]string, len(ps))
	for i, p := range ps {
		ids[i] = p.ID
	}
	return ids
}

// defaultPresets returns the ids of the user's default presets.
func defaultPresets(t *testing.T, st librechat.Store, userID string) []string {
	t.Helper()
	var ids []string
	for _, p := range getPresets(t, st, userID) {
		if p.IsDefault {
			ids = append(ids, p.ID)
		}
	}
	return ids
}

func putPreset(t *testing.T, st librechat.Store, p *librechat.Preset) {
	t.Helper()
	must(t, st.PutPreset(ctx(), p), "PutPreset "+p.UserID+"/"+p.ID)
}

func (s suite) presetTests() []test {
	return []test{
		{"EveryFieldRoundTrips", func(t *testing.T, st librechat.Store) {
			full := fullPreset("u1", "p-full", 2, base)
			full.IsDefault = true
			putPreset(t, st, full)
			zero := &librechat.Preset{ID: "p-zero", UserID: "u1"}
			putPreset(t, st, zero)
			ps := getPresets(t, st, "u1")
			if len(ps) != 2 {
				t.Fatalf("Presets = %q, want 2 presets", presetIDs(ps))
			}
			checkPreset(t, ps[0], zero)
			checkPreset(t, ps[1], full)
		}},
		{"Order", func(t *testing.T, st librechat.Store) {
			for _, p := range []*librechat.Preset{
				fullPreset("u1", "a", 1, at(1*time.Minute)),
				fullPreset("u1", "b", 0, at(1*time.Minute)),
				fullPreset("u1", "c", 1, at(3*time.Minute)),
				fullPreset("u1", "d", 0, at(2*time.Minute)),
				fullPreset("u1", "e", -1, at(0)),
				fullPreset("u2", "x", 0, at(5*time.Minute)),
			} {
				putPreset(t, st, p)
			}
			checkIDs(t, "Presets u1", presetIDs(getPresets(t, st, "u1")), []string{"e", "d", "b", "c", "a"})
			checkIDs(t, "Presets u2", presetIDs(getPresets(t, st, "u2")), []string{"x"})
		}},
		{"Replace", func(t *testing.T, st librechat.Store) {
			putPreset(t, st, fullPreset("u1", "p1", 0, base))
			want := &librechat.Preset{ID: "p1", UserID: "u1", Title: "renamed", Order: 3,
				Fields: map[string]json.RawMessage{"model": json.RawMessage(`"o3"`)}, UpdatedAt: at(time.Hour)}
			putPreset(t, st, want)
			ps := getPresets(t, st, "u1")
			if len(ps) != 1 {
				t.Fatalf("Presets = %q after a replacement, want one", presetIDs(ps))
			}
			checkPreset(t, ps[0], want)
		}},
		{"OneDefault", func(t *testing.T, st librechat.Store) {
			for _, id := range []string{"p1", "p2", "p3"} {
				putPreset(t, st, fullPreset("u1", id, 0, base))
			}
			theirs := fullPreset("u2", "q1", 0, base)
			theirs.IsDefault = true
			putPreset(t, st, theirs)

			p1 := fullPreset("u1", "p1", 0, base)
			p1.IsDefault = true
			putPreset(t, st, p1)
			checkIDs(t, "defaults after p1", defaultPresets(t, st, "u1"), []string{"p1"})
			p2 := fullPreset("u1", "p2", 0, base)
			p2.IsDefault = true
			putPreset(t, st, p2)
			checkIDs(t, "defaults after p2", defaultPresets(t, st, "u1"), []string{"p2"})
			putPreset(t, st, fullPreset("u1", "p3", 0, base))
			checkIDs(t, "defaults after a non-default p3", defaultPresets(t, st, "u1"), []string{"p2"})
			putPreset(t, st, p2)
			checkIDs(t, "defaults after p2 again", defaultPresets(t, st, "u1"), []string{"p2"})
			putPreset(t, st, fullPreset("u1", "p2", 0, base))
			checkIDs(t, "defaults after p2 is no longer default", defaultPresets(t, st, "u1"), nil)
			checkIDs(t, "u2's defaults", defaultPresets(t, st, "u2"), []string{"q1"})

			// A rejected PutPreset clears nothing.
			putPreset(t, st, p1)
			stolen := fullPreset("u2", "p1", 0, base)
			stolen.IsDefault = true
			wantKind(t, st.PutPreset(ctx(), stolen), librechat.KindConflict, "PutPreset of another user's id")
			checkIDs(t, "u1's defaults after the rejected PutPreset", defaultPresets(t, st, "u1"), []string{"p1"})
			checkIDs(t, "u2's defaults after the rejected PutPreset", defaultPresets(t, st, "u2"), []string{"q1"})
			checkPreset(t, getPresets(t, st, "u2")[0], theirs)
		}},
		{"ConcurrentDefault", func(t *testing.T, st librechat.Store) {
			errs := race(func(i int) error {
				p := fullPreset("u1", fmt.Sprintf("p%02d", i), i, base)
				p.IsDefault = true
				return st.PutPreset(ctx(), p)
			})
			for i, err := range errs {
				if err != nil {
					t.Fatalf("racer %d: %v", i, err)
				}
			}
			if ps := getPresets(t, st, "u1"); len(ps) != Racers {
				t.Fatalf("Presets has %d presets, want %d", len(ps), Racers)
			}
			if d := defaultPresets(t, st, "u1"); len(d) != 1 {
				t.Fatalf("defaults after concurrent PutPreset = %q, want exactly one", d)
			}
		}},
		{"OtherUser", func(t *testing.T, st librechat.Store) {
			mine := fullPreset("u1", "p1", 0, base)
			putPreset(t, st, mine)
			theirs := fullPreset("u2", "p1", 5, at(time.Hour))
			wantKind(t, st.PutPreset(ctx(), theirs), librechat.KindConflict, "PutPreset of another user's id")
			wantKind(t, st.DeletePreset(ctx(), "u2", "p1"), librechat.KindNotFound, "DeletePreset of another user's preset")
			n, err := st.DeletePresets(ctx(), "u2")
			must(t, err, "DeletePresets of a user with none")
			if n != 0 {
				t.Errorf("DeletePresets of a user with none reported %d", n)
			}
			if ps := getPresets(t, st, "u2"); len(ps) != 0 {
				t.Errorf("Presets u2 = %q, want none", presetIDs(ps))
			}
			ps := getPresets(t, st, "u1")
			if len(ps) != 1 {
				t.Fatalf("Presets u1 = %q, want one", presetIDs(ps))
			}
			checkPreset(t, ps[0], mine)
		}},
		{"Delete", func(t *testing.T, st librechat.Store) {
			for _, id := range []string{"p1", "p2", "p3"} {
				putPreset(t, st, fullPreset("u1", id, 0, base))
			}
			putPreset(t, st, fullPreset("u2", "q1", 0, base))
			must(t, st.DeletePreset(ctx(), "u1", "p2"), "DeletePreset")
			wantKind(t, st.DeletePreset(ctx(), "u1", "p2"), librechat.KindNotFound, "second DeletePreset")
			checkIDSet(t, "Presets after DeletePreset", presetIDs(getPresets(t, st, "u1")), []string{"p1", "p3"})
			n, err := st.DeletePresets(ctx(), "u1")
			must(t, err, "DeletePresets")
			if n != 2 {
				t.Errorf("DeletePresets reported %d, want 2", n)
			}
			checkIDs(t, "Presets u1 after DeletePresets", presetIDs(getPresets(t, st, "u1")), nil)
			checkIDs(t, "Presets u2", presetIDs(getPresets(t, st, "u2")), []string{"q1"})
			putPreset(t, st, fullPreset("u1", "p1", 0, base))
		}},
		{"InvalidInput", func(t *testing.T, st librechat.Store) {
			bad := fullPreset("u1", "p1", 0, base)
			bad.Fields = map[string]json.RawMessage{"model": json.RawMessage(`"unterminated`)}
			wantKind(t, st.PutPreset(ctx(), bad), librechat.KindInvalid, "PutPreset with invalid JSON in Fields")
			wantKind(t, st.PutPreset(ctx(), &librechat.Preset{UserID: "u1"}), librechat.KindInvalid, "PutPreset without an id")
			wantKind(t, st.PutPreset(ctx(), &librechat.Preset{ID: "p2"}), librechat.KindInvalid, "PutPreset without a user")
			checkIDs(t, "Presets after rejected puts", presetIDs(getPresets(t, st, "u1")), nil)
		}},
	}
}

// ---- shared links ----

func fullShare(userID, shareID, conversationID string, created time.Time) *librechat.SharedLink {
	return &librechat.SharedLink{
		ShareID:         shareID,
		ObjectID:        "65f0c0ffee0000000000a" + fmt.Sprintf("%03d", len(shareID)),
		UserID:          userID,
		ConversationID:  conversationID,
		Title:           "Shared <" + shareID + "> ü",
		IsPublic:        true,
		MessageIDs:      []string{"m1", "m2", "m3"},
		TargetMessageID: "m3",
		CreatedAt:       created,
		UpdatedAt:       created.Add(time.Minute),
	}
}

func checkShare(t *testing.T, got, want *librechat.SharedLink) {
	t.Helper()
	if got == nil {
		t.Fatal("got a nil shared link")
	}
	if got.ShareID != want.ShareID || got.ObjectID != want.ObjectID || got.UserID != want.UserID ||
		got.ConversationID != want.ConversationID || got.Title != want.Title || got.IsPublic != want.IsPublic ||
		got.TargetMessageID != want.TargetMessageID {
		t.Errorf("shared link = {ShareID:%q ObjectID:%q UserID:%q ConversationID:%q Title:%q IsPublic:%v TargetMessageID:%q}, want {ShareID:%q ObjectID:%q UserID:%q ConversationID:%q Title:%q IsPublic:%v TargetMessageID:%q}",
			got.ShareID, got.ObjectID, got.UserID, got.ConversationID, got.Title, got.IsPublic, got.TargetMessageID,
			want.ShareID, want.ObjectID, want.UserID, want.ConversationID, want.Title, want.IsPublic, want.TargetMessageID)
	}
	if !sameStrings(got.MessageIDs, want.MessageIDs) {
		t.Errorf("shared link %s.MessageIDs = %q, want %q", want.ShareID, got.MessageIDs, want.MessageIDs)
	}
	checkTime(t, "SharedLink.CreatedAt", got.CreatedAt, want.CreatedAt)
	checkTime(t, "SharedLink.UpdatedAt", got.UpdatedAt, want.UpdatedAt)
}

func putShare(t *testing.T, st librechat.Store, sl *librechat.SharedLink) {
	t.Helper()
	must(t, st.PutShare(ctx(), sl), "PutShare "+sl.UserID+"/"+sl.ShareID)
}

func getShare(t *testing.T, st librechat.Store, shareID string) *librechat.SharedLink {
	t.Helper()
	sl, err := st.Share(ctx(), shareID)
	must(t, err, "Share "+shareID)
	return sl
}

func shareSortKey(sl *librechat.SharedLink, sortBy string) string {
	switch sortBy {
	case librechat.SortTitle:
		return sl.Title
	case librechat.SortUpdatedAt:
		return timeCursorKey(sl.UpdatedAt)
	}
	return timeCursorKey(sl.CreatedAt)
}

// allShares follows the cursors of a share list, checking each cursor is
// the sort key and share id of the page's last link.
func allShares(t *testing.T, st librechat.Store, userID string, q librechat.ShareQuery) []string {
	t.Helper()
	return followPages(t, fmt.Sprintf("Shares %s %+v", userID, q), q.Limit, func(after *librechat.Cursor) ([]string, *librechat.Cursor, error) {
		q.After = after
		links, next, err := st.Shares(ctx(), userID, q)
		ids := make([]string, len(links))
		for i, sl := range links {
			ids[i] = sl.ShareID
		}
		if err == nil && next != nil && len(links) > 0 {
			last := links[len(links)-1]
			if want := shareSortKey(last, q.SortBy); next.Key != want || next.ID != last.ShareID {
				t.Fatalf("next cursor = %+v, want {Key:%q ID:%q}", *next, want, last.ShareID)
			}
		}
		return ids, next, err
	})
}

var shareSortOrders = []string{librechat.SortCreatedAt, librechat.SortUpdatedAt, librechat.SortTitle}

func (s suite) shareTests() []test {
	return []test{
		{"EveryFieldRoundTrips", func(t *testing.T, st librechat.Store) {
			full := fullShare("u1", "s-full", "c1", base)
			putShare(t, st, full)
			checkShare(t, getShare(t, st, "s-full"), full)
			got, err := st.ShareOf(ctx(), "u1", "c1")
			must(t, err, "ShareOf")
			checkShare(t, got, full)

			zero := &librechat.SharedLink{ShareID: "s-zero", UserID: "u1", ConversationID: "c2"}
			putShare(t, st, zero)
			checkShare(t, getShare(t, st, "s-zero"), zero)
			empty := fullShare("u1", "s-empty", "c3", base)
			empty.MessageIDs, empty.IsPublic = []string{}, false
			putShare(t, st, empty)
			checkShare(t, getShare(t, st, "s-empty"), empty)

			links, _, err := st.Shares(ctx(), "u1", librechat.ShareQuery{SortBy: librechat.SortTitle, Asc: true})
			must(t, err, "Shares")
			if len(links) != 3 {
				t.Fatalf("Shares returned %d links, want 3", len(links))
			}
			checkShare(t, links[0], zero)
			checkShare(t, links[1], empty)
			checkShare(t, links[2], full)
		}},
		{"Replace", func(t *testing.T, st librechat.Store) {
			putShare(t, st, fullShare("u1", "s1", "c1", base))
			want := &librechat.SharedLink{ShareID: "s1", UserID: "u1", ConversationID: "c1", Title: "new title",
				MessageIDs: []string{"m9"}, TargetMessageID: "m9", CreatedAt: base, UpdatedAt: at(time.Hour)}
			putShare(t, st, want)
			checkShare(t, getShare(t, st, "s1"), want)
			// A link may move to another conversation of the user.
			want.ConversationID = "c2"
			putShare(t, st, want)
			checkShare(t, getShare(t, st, "s1"), want)
			_, err := st.ShareOf(ctx(), "u1", "c1")
			wantKind(t, err, librechat.KindNotFound, "ShareOf the conversation the link left")
			checkIDs(t, "Shares", allShares(t, st, "u1", librechat.ShareQuery{}), []string{"s1"})
		}},
		{"OneLinkPerConversation", func(t *testing.T, st librechat.Store) {
			first := fullShare("u1", "s1", "c1", base)
			putShare(t, st, first)
			wantKind(t, st.PutShare(ctx(), fullShare("u1", "s2", "c1", at(time.Hour))), librechat.KindConflict,
				"PutShare of a second link for a conversation")
			_, err := st.Share(ctx(), "s2")
			wantKind(t, err, librechat.KindNotFound, "Share of the rejected link")
			got, err := st.ShareOf(ctx(), "u1", "c1")
			must(t, err, "ShareOf")
			checkShare(t, got, first)

			other := fullShare("u1", "s3", "c2", base)
			putShare(t, st, other)
			moved := fullShare("u1", "s3", "c1", base)
			wantKind(t, st.PutShare(ctx(), moved), librechat.KindConflict, "PutShare moving a link onto a shared conversation")
			checkShare(t, getShare(t, st, "s3"), other)

			// Another user's link for the same conversation id is theirs.
			putShare(t, st, fullShare("u2", "s4", "c1", base))

			must(t, st.DeleteShare(ctx(), "u1", "s1"), "DeleteShare")
			putShare(t, st, fullShare("u1", "s2", "c1", at(time.Hour)))
			got, err = st.ShareOf(ctx(), "u1", "c1")
			must(t, err, "ShareOf after re-sharing")
			if got.ShareID != "s2" {
				t.Errorf("ShareOf after re-sharing = %q, want s2", got.ShareID)
			}
		}},
		{"ConcurrentShareOfOneConversation", func(t *testing.T, st librechat.Store) {
			errs := race(func(i int) error {
				return st.PutShare(ctx(), fullShare("u1", fmt.Sprintf("s%02d", i), "c1", base))
			})
			winner := -1
			for i, err := range errs {
				switch {
				case err == nil:
					if winner >= 0 {
						t.Fatalf("PutShare succeeded for racers %d and %d on one conversation", winner, i)
					}
					winner = i
				case librechat.KindOf(err) != librechat.KindConflict:
					t.Fatalf("racer %d: %v (kind %q), want a conflict", i, err, librechat.KindOf(err))
				}
			}
			if winner < 0 {
				t.Fatal("no PutShare succeeded")
			}
			got, err := st.ShareOf(ctx(), "u1", "c1")
			must(t, err, "ShareOf")
			if want := fmt.Sprintf("s%02d", winner); got.ShareID != want {
				t.Errorf("ShareOf = %q, want the winner %q", got.ShareID, want)
			}
			checkIDs(t, "Shares", allShares(t, st, "u1", librechat.ShareQuery{}), []string{fmt.Sprintf("s%02d", winner)})
		}},
		{"OtherUser", func(t *testing.T, st librechat.Store) {
			mine := fullShare("u1", "s1", "c1", base)
			mine.IsPublic = false
			putShare(t, st, mine)
			stolen := fullShare("u2", "s1", "c9", at(time.Hour))
			wantKind(t, st.PutShare(ctx(), stolen), librechat.KindConflict, "PutShare of another user's share id")
			_, err := st.ShareOf(ctx(), "u2", "c1")
			wantKind(t, err, librechat.KindNotFound, "ShareOf another user's conversation")
			_, err = st.ShareOf(ctx(), "u2", "c9")
			wantKind(t, err, librechat.KindNotFound, "ShareOf the rejected link's conversation")
			wantKind(t, st.DeleteShare(ctx(), "u2", "s1"), librechat.KindNotFound, "DeleteShare of another user's link")
			checkIDs(t, "Shares u2", allShares(t, st, "u2", librechat.ShareQuery{}), nil)
			// Share needs no user, and finds links whether public or not.
			checkShare(t, getShare(t, st, "s1"), mine)
		}},
		{"NotFound", func(t *testing.T, st librechat.Store) {
			_, err := st.Share(ctx(), "missing")
			wantKind(t, err, librechat.KindNotFound, "Share of an unknown id")
			_, err = st.ShareOf(ctx(), "u1", "c1")
			wantKind(t, err, librechat.KindNotFound, "ShareOf an unshared conversation")
			wantKind(t, st.DeleteShare(ctx(), "u1", "missing"), librechat.KindNotFound, "DeleteShare of an unknown id")
		}},
		{"ListOrders", func(t *testing.T, st librechat.Store) {
			links := []*librechat.SharedLink{
				{ShareID: "s1", UserID: "u1", ConversationID: "c1", Title: "banana", CreatedAt: at(1 * time.Hour), UpdatedAt: at(40 * time.Hour)},
				{ShareID: "s2", UserID: "u1", ConversationID: "c2", Title: "apple", CreatedAt: at(2 * time.Hour), UpdatedAt: at(10 * time.Hour)},
				{ShareID: "s3", UserID: "u1", ConversationID: "c3", Title: "cherry", CreatedAt: at(3 * time.Hour), UpdatedAt: at(30 * time.Hour)},
				{ShareID: "s4", UserID: "u1", ConversationID: "c4", Title: "date", CreatedAt: at(4 * time.Hour), UpdatedAt: at(20 * time.Hour)},
			}
			for _, sl := range links {
				putShare(t, st, sl)
			}
			putShare(t, st, fullShare("u2", "x1", "c1", at(50*time.Hour)))
			want := map[string][]string{
				librechat.SortCreatedAt: {"s1", "s2", "s3", "s4"},
				librechat.SortUpdatedAt: {"s2", "s4", "s3", "s1"},
				librechat.SortTitle:     {"s2", "s1", "s3", "s4"},
			}
			for _, sortBy := range shareSortOrders {
				asc := want[sortBy]
				desc := slices.Clone(asc)
				slices.Reverse(desc)
				checkIDs(t, sortBy+" ascending", allShares(t, st, "u1", librechat.ShareQuery{SortBy: sortBy, Asc: true}), asc)
				checkIDs(t, sortBy+" descending", allShares(t, st, "u1", librechat.ShareQuery{SortBy: sortBy}), desc)
			}
			checkIDs(t, "default order (createdAt descending)", allShares(t, st, "u1", librechat.ShareQuery{}), []string{"s4", "s3", "s2", "s1"})
		}},
		{"Pagination", func(t *testing.T, st librechat.Store) {
			const n = 60
			var links []*librechat.SharedLink
			for i := range n {
				sl := &librechat.SharedLink{
					ShareID:        fmt.Sprintf("s%02d", (i*23)%n),
					UserID:         "u1",
					ConversationID: fmt.Sprintf("c%02d", i),
					Title:          fmt.Sprintf("title %d", i%5),
					CreatedAt:      at(-time.Duration(i%4) * time.Minute),
					UpdatedAt:      at(time.Duration(i%6) * time.Minute),
				}
				links = append(links, sl)
				putShare(t, st, sl)
			}
			putShare(t, st, fullShare("u2", "other", "c00", base))
			for _, sortBy := range shareSortOrders {
				for _, asc := range []bool{true, false} {
					sorted := slices.Clone(links)
					slices.SortFunc(sorted, func(a, b *librechat.SharedLink) int {
						var c int
						switch sortBy {
						case librechat.SortTitle:
							c = strings.Compare(a.Title, b.Title)
						case librechat.SortUpdatedAt:
							c = cmpInt(a.UpdatedAt.UnixMilli(), b.UpdatedAt.UnixMilli())
						default:
							c = cmpInt(a.CreatedAt.UnixMilli(), b.CreatedAt.UnixMilli())
						}
						if c == 0 {
							c = strings.Compare(a.ShareID, b.ShareID)
						}
						if !asc {
							c = -c
						}
						return c
					})
					want := make([]string, n)
					for i, sl := range sorted {
						want[i] = sl.ShareID
					}
					for _, limit := range []int{1, 7, 0, 60} {
						got := allShares(t, st, "u1", librechat.ShareQuery{SortBy: sortBy, Asc: asc, Limit: limit})
						checkIDs(t, fmt.Sprintf("%s asc=%v limit %d", sortBy, asc, limit), got, want)
					}
				}
			}
		}},
		{"Search", func(t *testing.T, st librechat.Store) {
			for i, tt := range []struct{ id, title string }{
				{"s1", "Hello World"}, {"s2", "say hello"}, {"s3", "Goodbye"}, {"s4", "50% off"}, {"s5", "a_b"}, {"s6", "ab"},
			} {
				sl := fullShare("u1", tt.id, "c"+tt.id, at(time.Duration(i)*time.Minute))
				sl.Title = tt.title
				putShare(t, st, sl)
			}
			theirs := fullShare("u2", "x1", "cx", base)
			theirs.Title = "hello from u2"
			putShare(t, st, theirs)
			search := func(q string, limit int) []string {
				t.Helper()
				return allShares(t, st, "u1", librechat.ShareQuery{Search: q, Limit: limit})
			}
			checkIDs(t, `search "HELLO"`, search("HELLO", 0), []string{"s2", "s1"})
			checkIDs(t, `search "hello", a page at a time`, search("hello", 1), []string{"s2", "s1"})
			checkIDs(t, `search "lo wo"`, search("lo wo", 0), []string{"s1"})
			checkIDs(t, `search "%"`, search("%", 0), []string{"s4"})
			checkIDs(t, `search "_"`, search("_", 0), []string{"s5"})
			checkIDs(t, `search "zzz"`, search("zzz", 0), nil)
		}},
		{"InvalidQuery", func(t *testing.T, st librechat.Store) {
			putShare(t, st, fullShare("u1", "s1", "c1", base))
			_, _, err := st.Shares(ctx(), "u1", librechat.ShareQuery{SortBy: "size"})
			wantKind(t, err, librechat.KindInvalid, "Shares with an unknown sort order")
			for _, sortBy := range []string{"", librechat.SortCreatedAt, librechat.SortUpdatedAt} {
				_, _, err := st.Shares(ctx(), "u1", librechat.ShareQuery{SortBy: sortBy, After: &librechat.Cursor{Key: "yesterday", ID: "s1"}})
				wantKind(t, err, librechat.KindInvalid, "Shares by "+sortBy+" after a cursor key that is no time")
			}
			wantKind(t, st.PutShare(ctx(), &librechat.SharedLink{UserID: "u1", ConversationID: "c2"}), librechat.KindInvalid, "PutShare without a share id")
			wantKind(t, st.PutShare(ctx(), &librechat.SharedLink{ShareID: "s2", ConversationID: "c2"}), librechat.KindInvalid, "PutShare without a user")
			wantKind(t, st.PutShare(ctx(), &librechat.SharedLink{ShareID: "s2", UserID: "u1"}), librechat.KindInvalid, "PutShare without a conversation")
		}},
	}
}

// ---- groups ----

func newGroup(id, name string) *librechat.Group {
	return &librechat.Group{ID: id, Name: name, Description: "about " + name, CreatedAt: base, UpdatedAt: at(time.Minute)}
}

func checkGroup(t *testing.T, got, want *librechat.Group) {
	t.Helper()
	if got == nil {
		t.Fatal("got a nil group")
	}
	if got.ID != want.ID || got.Name != want.Name || got.Description != want.Description {
		t.Errorf("group = {ID:%q Name:%q Description:%q}, want {ID:%q Name:%q Description:%q}",
			got.ID, got.Name, got.Description, want.ID, want.Name, want.Description)
	}
	checkTime(t, "Group.CreatedAt", got.CreatedAt, want.CreatedAt)
	checkTime(t, "Group.UpdatedAt", got.UpdatedAt, want.UpdatedAt)
}

func getGroup(t *testing.T, st librechat.Store, id string) *librechat.Group {
	t.Helper()
	g, err := st.Group(ctx(), id)
	must(t, err, "Group "+id)
	return g
}

func createGroup(t *testing.T, st librechat.Store, g *librechat.Group) {
	t.Helper()
	must(t, st.CreateGroup(ctx(), g), "CreateGroup "+g.ID)
}

func groupNames(t *testing.T, st librechat.Store) []string {
	t.Helper()
	gs, err := st.Groups(ctx())
	must(t, err, "Groups")
	names := make([]string, len(gs))
	for i, g := range gs {
		names[i] = g.Name
	}
	return names
}

func members(t *testing.T, st librechat.Store, groupID string) []string {
	t.Helper()
	ids, err := st.Members(ctx(), groupID)
	must(t, err, "Members "+groupID)
	return ids
}

func groupsOf(t *testing.T, st librechat.Store, userID string) []string {
	t.Helper()
	ids, err := st.GroupsOf(ctx(), userID)
	must(t, err, "GroupsOf "+userID)
	return ids
}

func (s suite) groupTests() []test {
	return []test{
		{"CreateAndGet", func(t *testing.T, st librechat.Store) {
			full := newGroup("g1", "Engineering ü")
			createGroup(t, st, full)
			checkGroup(t, getGroup(t, st, "g1"), full)
			zero := &librechat.Group{ID: "g2", Name: "z"}
			createGroup(t, st, zero)
			checkGroup(t, getGroup(t, st, "g2"), zero)
			_, err := st.Group(ctx(), "missing")
			wantKind(t, err, librechat.KindNotFound, "Group of an unknown id")
		}},
		{"ListByName", func(t *testing.T, st librechat.Store) {
			if names := groupNames(t, st); len(names) != 0 {
				t.Fatalf("Groups of an empty store = %q", names)
			}
			for i, name := range []string{"delta", "Alpha", "charlie", "bravo"} {
				createGroup(t, st, newGroup(fmt.Sprintf("g%d", i), name))
			}
			checkIDs(t, "Groups", groupNames(t, st), []string{"Alpha", "bravo", "charlie", "delta"})
			gs, err := st.Groups(ctx())
			must(t, err, "Groups")
			checkGroup(t, gs[0], newGroup("g1", "Alpha"))
		}},
		{"NameConflict", func(t *testing.T, st librechat.Store) {
			a, b := newGroup("g1", "admins"), newGroup("g2", "editors")
			createGroup(t, st, a)
			createGroup(t, st, b)
			wantKind(t, st.CreateGroup(ctx(), newGroup("g3", "admins")), librechat.KindConflict, "CreateGroup with a taken name")
			wantKind(t, st.CreateGroup(ctx(), newGroup("g1", "other")), librechat.KindConflict, "CreateGroup with a taken id")
			_, err := st.Group(ctx(), "g3")
			wantKind(t, err, librechat.KindNotFound, "Group of the rejected group")

			renamed := newGroup("g2", "admins")
			wantKind(t, st.UpdateGroup(ctx(), renamed), librechat.KindConflict, "UpdateGroup to a taken name")
			checkGroup(t, getGroup(t, st, "g2"), b)

			b.Description, b.UpdatedAt = "changed", at(time.Hour)
			must(t, st.UpdateGroup(ctx(), b), "UpdateGroup keeping the name")
			checkGroup(t, getGroup(t, st, "g2"), b)
			b.Name = "writers"
			must(t, st.UpdateGroup(ctx(), b), "UpdateGroup to a free name")
			checkGroup(t, getGroup(t, st, "g2"), b)
			createGroup(t, st, newGroup("g4", "editors"))
			checkIDs(t, "Groups", groupNames(t, st), []string{"admins", "editors", "writers"})

			wantKind(t, st.UpdateGroup(ctx(), newGroup("missing", "ghost")), librechat.KindNotFound, "UpdateGroup of an unknown id")
			_, err = st.Group(ctx(), "missing")
			wantKind(t, err, librechat.KindNotFound, "Group after UpdateGroup of an unknown id")
		}},
		{"ConcurrentCreateSameName", func(t *testing.T, st librechat.Store) {
			errs := race(func(i int) error {
				return st.CreateGroup(ctx(), newGroup(fmt.Sprintf("g%02d", i), "race"))
			})
			winners := 0
			for i, err := range errs {
				switch {
				case err == nil:
					winners++
				case librechat.KindOf(err) != librechat.KindConflict:
					t.Fatalf("racer %d: %v (kind %q), want a conflict", i, err, librechat.KindOf(err))
				}
			}
			if winners != 1 {
				t.Fatalf("%d concurrent CreateGroup calls with one name succeeded, want 1", winners)
			}
			checkIDs(t, "Groups", groupNames(t, st), []string{"race"})
		}},
		{"Members", func(t *testing.T, st librechat.Store) {
			createGroup(t, st, newGroup("g1", "one"))
			createGroup(t, st, newGroup("g2", "two"))
			for _, m := range [][2]string{{"g1", "u2"}, {"g1", "u1"}, {"g1", "u2"}, {"g2", "u1"}, {"g2", "u3"}} {
				must(t, st.AddMember(ctx(), m[0], m[1]), "AddMember "+m[0]+" "+m[1])
			}
			checkIDSet(t, "Members g1", members(t, st, "g1"), []string{"u1", "u2"})
			checkIDSet(t, "Members g2", members(t, st, "g2"), []string{"u1", "u3"})
			checkIDSet(t, "GroupsOf u1", groupsOf(t, st, "u1"), []string{"g1", "g2"})
			checkIDSet(t, "GroupsOf u2", groupsOf(t, st, "u2"), []string{"g1"})
			checkIDs(t, "GroupsOf a user in none", groupsOf(t, st, "u9"), nil)

			must(t, st.RemoveMember(ctx(), "g1", "u1"), "RemoveMember")
			must(t, st.RemoveMember(ctx(), "g1", "u1"), "RemoveMember again")
			must(t, st.RemoveMember(ctx(), "missing", "u1"), "RemoveMember of an unknown group")
			checkIDSet(t, "Members g1 after RemoveMember", members(t, st, "g1"), []string{"u2"})
			checkIDSet(t, "GroupsOf u1 after RemoveMember", groupsOf(t, st, "u1"), []string{"g2"})

			wantKind(t, st.AddMember(ctx(), "missing", "u1"), librechat.KindNotFound, "AddMember to an unknown group")
			checkIDSet(t, "GroupsOf u1 after a rejected AddMember", groupsOf(t, st, "u1"), []string{"g2"})
		}},
		{"ConcurrentAddMember", func(t *testing.T, st librechat.Store) {
			createGroup(t, st, newGroup("g1", "one"))
			errs := race(func(i int) error { return st.AddMember(ctx(), "g1", fmt.Sprintf("u%d", i%2)) })
			for i, err := range errs {
				if err != nil {
					t.Fatalf("racer %d: %v", i, err)
				}
			}
			checkIDSet(t, "Members", members(t, st, "g1"), []string{"u0", "u1"})
		}},
		{"DeleteCascades", func(t *testing.T, st librechat.Store) {
			createGroup(t, st, newGroup("g1", "one"))
			createGroup(t, st, newGroup("g2", "two"))
			for _, m := range [][2]string{{"g1", "u1"}, {"g1", "u2"}, {"g2", "u1"}} {
				must(t, st.AddMember(ctx(), m[0], m[1]), "AddMember "+m[0]+" "+m[1])
			}
			must(t, st.DeleteGroup(ctx(), "g1"), "DeleteGroup")
			_, err := st.Group(ctx(), "g1")
			wantKind(t, err, librechat.KindNotFound, "Group after DeleteGroup")
			wantKind(t, st.DeleteGroup(ctx(), "g1"), librechat.KindNotFound, "second DeleteGroup")
			wantKind(t, st.AddMember(ctx(), "g1", "u3"), librechat.KindNotFound, "AddMember to a deleted group")
			checkIDs(t, "Members of the deleted group", members(t, st, "g1"), nil)
			checkIDSet(t, "GroupsOf u1", groupsOf(t, st, "u1"), []string{"g2"})
			checkIDs(t, "GroupsOf u2", groupsOf(t, st, "u2"), nil)
			checkIDSet(t, "Members g2", members(t, st, "g2"), []string{"u1"})
			checkIDs(t, "Groups", groupNames(t, st), []string{"two"})

			// Neither the name nor the memberships survive.
			createGroup(t, st, newGroup("g1", "one"))
			checkIDs(t, "Members of the re-created group", members(t, st, "g1"), nil)
			createGroup(t, st, newGroup("g3", "three"))
			wantKind(t, st.DeleteGroup(ctx(), "missing"), librechat.KindNotFound, "DeleteGroup of an unknown id")
		}},
		{"InvalidInput", func(t *testing.T, st librechat.Store) {
			wantKind(t, st.CreateGroup(ctx(), &librechat.Group{Name: "x"}), librechat.KindInvalid, "CreateGroup without an id")
			wantKind(t, st.CreateGroup(ctx(), &librechat.Group{ID: "g1"}), librechat.KindInvalid, "CreateGroup without a name")
		}},
	}
}

// ---- model configurations ----

func newModelConfig(id, scope, scopeID, name string) *librechat.ModelConfig {
	return &librechat.ModelConfig{
		ID:        id,
		Scope:     scope,
		ScopeID:   scopeID,
		Name:      name,
		Spec:      json.RawMessage(`{"model": "gpt-4o", "params": {"temperature": 0.3}, "tools": ["web"], "system": "Be <brief> & ü"}`),
		CreatedAt: base,
		UpdatedAt: at(time.Minute),
		UpdatedBy: "admin-1",
	}
}

func checkModelConfig(t *testing.T, got, want *librechat.ModelConfig) {
	t.Helper()
	if got == nil {
		t.Fatal("got a nil model configuration")
	}
	if got.ID != want.ID || got.Scope != want.Scope || got.ScopeID != want.ScopeID || got.Name != want.Name || got.UpdatedBy != want.UpdatedBy {
		t.Errorf("model configuration = {ID:%q Scope:%q ScopeID:%q Name:%q UpdatedBy:%q}, want {ID:%q Scope:%q ScopeID:%q Name:%q UpdatedBy:%q}",
			got.ID, got.Scope, got.ScopeID, got.Name, got.UpdatedBy, want.ID, want.Scope, want.ScopeID, want.Name, want.UpdatedBy)
	}
	if !sameJSON(got.Spec, want.Spec) {
		t.Errorf("model configuration %s.Spec = %s, want %s", want.ID, got.Spec, want.Spec)
	}
	checkTime(t, "ModelConfig.CreatedAt", got.CreatedAt, want.CreatedAt)
	checkTime(t, "ModelConfig.UpdatedAt", got.UpdatedAt, want.UpdatedAt)
}

func createModelConfig(t *testing.T, st librechat.Store, c *librechat.ModelConfig) {
	t.Helper()
	must(t, st.CreateModelConfig(ctx(), c), "CreateModelConfig "+c.ID)
}

func getModelConfig(t *testing.T, st librechat.Store, id string) *librechat.ModelConfig {
	t.Helper()
	c, err := st.ModelConfig(ctx(), id)
	must(t, err, "ModelConfig "+id)
	return c
}

func modelConfigIDs(t *testing.T, st librechat.Store, scope, scopeID string) []string {
	t.Helper()
	cs, err := st.ModelConfigs(ctx(), scope, scopeID)
	must(t, err, "ModelConfigs "+scope+"/"+scopeID)
	ids := make([]string, len(cs))
	for i, c := range cs {
		ids[i] = c.ID
	}
	return ids
}

func (s suite) modelConfigTests() []test {
	return []test{
		{"EveryFieldRoundTrips", func(t *testing.T, st librechat.Store) {
			full := newModelConfig("m1", librechat.ScopeGroup, "g1", "Fast ü")
			createModelConfig(t, st, full)
			checkModelConfig(t, getModelConfig(t, st, "m1"), full)
			zero := &librechat.ModelConfig{ID: "m2", Scope: librechat.ScopeSystem, Name: "bare"}
			createModelConfig(t, st, zero)
			checkModelConfig(t, getModelConfig(t, st, "m2"), zero)
			cs, err := st.ModelConfigs(ctx(), librechat.ScopeGroup, "g1")
			must(t, err, "ModelConfigs")
			if len(cs) != 1 {
				t.Fatalf("ModelConfigs returned %d, want 1", len(cs))
			}
			checkModelConfig(t, cs[0], full)
			_, err = st.ModelConfig(ctx(), "missing")
			wantKind(t, err, librechat.KindNotFound, "ModelConfig of an unknown id")
		}},
		{"ListByScope", func(t *testing.T, st librechat.Store) {
			for _, c := range []*librechat.ModelConfig{
				newModelConfig("s2", librechat.ScopeSystem, "", "beta"),
				newModelConfig("s1", librechat.ScopeSystem, "", "alpha"),
				newModelConfig("g1b", librechat.ScopeGroup, "g1", "b"),
				newModelConfig("g1a", librechat.ScopeGroup, "g1", "a"),
				newModelConfig("g2a", librechat.ScopeGroup, "g2", "a"),
				newModelConfig("u1a", librechat.ScopeUser, "u1", "alpha"),
				newModelConfig("g1c", librechat.ScopeGroup, "g1", "C"),
			} {
				createModelConfig(t, st, c)
			}
			checkIDs(t, "system", modelConfigIDs(t, st, librechat.ScopeSystem, ""), []string{"s1", "s2"})
			checkIDs(t, "group g1", modelConfigIDs(t, st, librechat.ScopeGroup, "g1"), []string{"g1c", "g1a", "g1b"})
			checkIDs(t, "group g2", modelConfigIDs(t, st, librechat.ScopeGroup, "g2"), []string{"g2a"})
			checkIDs(t, "user u1", modelConfigIDs(t, st, librechat.ScopeUser, "u1"), []string{"u1a"})
			checkIDs(t, "user u2", modelConfigIDs(t, st, librechat.ScopeUser, "u2"), nil)
			checkIDs(t, "user scope with a group id", modelConfigIDs(t, st, librechat.ScopeUser, "g1"), nil)
			checkIDs(t, "every configuration", modelConfigIDs(t, st, "", ""),
				[]string{"g1c", "g1a", "g1b", "g2a", "s1", "s2", "u1a"})
		}},
		{"NameConflict", func(t *testing.T, st librechat.Store) {
			first := newModelConfig("m1", librechat.ScopeGroup, "g1", "fast")
			createModelConfig(t, st, first)
			wantKind(t, st.CreateModelConfig(ctx(), newModelConfig("m2", librechat.ScopeGroup, "g1", "fast")),
				librechat.KindConflict, "CreateModelConfig with a taken name")
			wantKind(t, st.CreateModelConfig(ctx(), newModelConfig("m1", librechat.ScopeGroup, "g1", "other")),
				librechat.KindConflict, "CreateModelConfig with a taken id")
			_, err := st.ModelConfig(ctx(), "m2")
			wantKind(t, err, librechat.KindNotFound, "ModelConfig of the rejected configuration")
			createModelConfig(t, st, newModelConfig("m3", librechat.ScopeGroup, "g2", "fast"))
			createModelConfig(t, st, newModelConfig("m4", librechat.ScopeUser, "g1", "fast"))
			createModelConfig(t, st, newModelConfig("m5", librechat.ScopeSystem, "", "fast"))

			moved := newModelConfig("m3", librechat.ScopeGroup, "g1", "fast")
			wantKind(t, st.UpdateModelConfig(ctx(), moved), librechat.KindConflict, "UpdateModelConfig onto a taken name")
			checkModelConfig(t, getModelConfig(t, st, "m3"), newModelConfig("m3", librechat.ScopeGroup, "g2", "fast"))

			first.Spec, first.UpdatedAt, first.UpdatedBy = json.RawMessage(`{"model": "o3"}`), at(time.Hour), "admin-2"
			must(t, st.UpdateModelConfig(ctx(), first), "UpdateModelConfig keeping the name")
			checkModelConfig(t, getModelConfig(t, st, "m1"), first)
			first.Scope, first.ScopeID, first.Name = librechat.ScopeUser, "u1", "renamed"
			must(t, st.UpdateModelConfig(ctx(), first), "UpdateModelConfig to another scope and name")
			checkModelConfig(t, getModelConfig(t, st, "m1"), first)
			checkIDs(t, "group g1", modelConfigIDs(t, st, librechat.ScopeGroup, "g1"), nil)
			checkIDs(t, "user u1", modelConfigIDs(t, st, librechat.ScopeUser, "u1"), []string{"m1"})
			createModelConfig(t, st, newModelConfig("m6", librechat.ScopeGroup, "g1", "fast"))

			wantKind(t, st.UpdateModelConfig(ctx(), newModelConfig("missing", librechat.ScopeSystem, "", "x")),
				librechat.KindNotFound, "UpdateModelConfig of an unknown id")
			_, err = st.ModelConfig(ctx(), "missing")
			wantKind(t, err, librechat.KindNotFound, "ModelConfig after UpdateModelConfig of an unknown id")
		}},
		{"Delete", func(t *testing.T, st librechat.Store) {
			createModelConfig(t, st, newModelConfig("m1", librechat.ScopeSystem, "", "a"))
			createModelConfig(t, st, newModelConfig("m2", librechat.ScopeSystem, "", "b"))
			must(t, st.DeleteModelConfig(ctx(), "m1"), "DeleteModelConfig")
			_, err := st.ModelConfig(ctx(), "m1")
			wantKind(t, err, librechat.KindNotFound, "ModelConfig after DeleteModelConfig")
			wantKind(t, st.DeleteModelConfig(ctx(), "m1"), librechat.KindNotFound, "second DeleteModelConfig")
			checkIDs(t, "system", modelConfigIDs(t, st, librechat.ScopeSystem, ""), []string{"m2"})
			createModelConfig(t, st, newModelConfig("m3", librechat.ScopeSystem, "", "a"))
		}},
		{"InvalidInput", func(t *testing.T, st librechat.Store) {
			for what, c := range map[string]*librechat.ModelConfig{
				"without an id":                  {Scope: librechat.ScopeSystem, Name: "x"},
				"without a name":                 {ID: "m1", Scope: librechat.ScopeSystem},
				"with an unknown scope":          {ID: "m1", Scope: "team", ScopeID: "t1", Name: "x"},
				"without a scope":                {ID: "m1", Name: "x"},
				"of the system with a scope id":  {ID: "m1", Scope: librechat.ScopeSystem, ScopeID: "g1", Name: "x"},
				"of a group without a scope id":  {ID: "m1", Scope: librechat.ScopeGroup, Name: "x"},
				"of a user without a scope id":   {ID: "m1", Scope: librechat.ScopeUser, Name: "x"},
				"with a spec that is not JSON":   {ID: "m1", Scope: librechat.ScopeSystem, Name: "x", Spec: json.RawMessage(`{"a":`)},
				"with a spec of trailing tokens": {ID: "m1", Scope: librechat.ScopeSystem, Name: "x", Spec: json.RawMessage(`{} {}`)},
			} {
				wantKind(t, st.CreateModelConfig(ctx(), c), librechat.KindInvalid, "CreateModelConfig "+what)
			}
			checkIDs(t, "every configuration", modelConfigIDs(t, st, "", ""), nil)
			createModelConfig(t, st, newModelConfig("m1", librechat.ScopeSystem, "", "x"))
			bad := newModelConfig("m1", librechat.ScopeSystem, "", "x")
			bad.Spec = json.RawMessage(`nope`)
			wantKind(t, st.UpdateModelConfig(ctx(), bad), librechat.KindInvalid, "UpdateModelConfig with a spec that is not JSON")
			checkModelConfig(t, getModelConfig(t, st, "m1"), newModelConfig("m1", librechat.ScopeSystem, "", "x"))
		}},
	}
}

// ---- audit ----

func newAudit(id string, created time.Time) *librechat.AuditEntry {
	return &librechat.AuditEntry{
		ID:        id,
		ActorID:   "admin-1",
		Action:    "group.create",
		Target:    "target-" + id,
		Detail:    json.RawMessage(`{"name": "Engineering", "members": ["u1", "u2"], "n": 2.5}`),
		CreatedAt: created,
	}
}

func checkAudit(t *testing.T, got, want *librechat.AuditEntry) {
	t.Helper()
	if got == nil {
		t.Fatal("got a nil audit entry")
	}
	if got.ID != want.ID || got.ActorID != want.ActorID || got.Action != want.Action || got.Target != want.Target {
		t.Errorf("audit entry = {ID:%q ActorID:%q Action:%q Target:%q}, want {ID:%q ActorID:%q Action:%q Target:%q}",
			got.ID, got.ActorID, got.Action, got.Target, want.ID, want.ActorID, want.Action, want.Target)
	}
	if !sameJSON(got.Detail, want.Detail) {
		t.Errorf("audit entry %s.Detail = %s, want %s", want.ID, got.Detail, want.Detail)
	}
	checkTime(t, "AuditEntry.CreatedAt", got.CreatedAt, want.CreatedAt)
}

// allAudit follows the audit cursors, checking each is the CreatedAt and
// id of the page's last entry.
func allAudit(t *testing.T, st librechat.Store, limit int) []string {
	t.Helper()
	return followPages(t, fmt.Sprintf("Audit limit %d", limit), limit, func(after *librechat.Cursor) ([]string, *librechat.Cursor, error) {
		es, next, err := st.Audit(ctx(), after, limit)
		ids := make([]string, len(es))
		for i, e := range es {
			ids[i] = e.ID
		}
		if err == nil && next != nil && len(es) > 0 {
			last := es[len(es)-1]
			if want := timeCursorKey(last.CreatedAt); next.Key != want || next.ID != last.ID {
				t.Fatalf("next cursor = %+v, want {Key:%q ID:%q}", *next, want, last.ID)
			}
		}
		return ids, next, err
	})
}

func (s suite) auditTests() []test {
	return []test{
		{"AddAndList", func(t *testing.T, st librechat.Store) {
			es, next, err := st.Audit(ctx(), nil, 0)
			must(t, err, "Audit of an empty log")
			if len(es) != 0 || next != nil {
				t.Fatalf("Audit of an empty log = %d entries, cursor %v", len(es), next)
			}
			older := newAudit("a1", base)
			newer := &librechat.AuditEntry{ID: "a2", ActorID: "admin-2", Action: "user.role", Target: "u1", CreatedAt: at(time.Second)}
			must(t, st.AddAudit(ctx(), older), "AddAudit a1")
			must(t, st.AddAudit(ctx(), newer), "AddAudit a2")
			es, next, err = st.Audit(ctx(), nil, 10)
			must(t, err, "Audit")
			if len(es) != 2 || next != nil {
				t.Fatalf("Audit = %d entries, cursor %v; want 2 and none", len(es), next)
			}
			checkAudit(t, es[0], newer)
			checkAudit(t, es[1], older)
		}},
		{"Duplicate", func(t *testing.T, st librechat.Store) {
			first := newAudit("a1", base)
			must(t, st.AddAudit(ctx(), first), "AddAudit")
			second := newAudit("a1", at(time.Hour))
			second.Action = "other"
			wantKind(t, st.AddAudit(ctx(), second), librechat.KindConflict, "AddAudit with a recorded id")
			es, _, err := st.Audit(ctx(), nil, 0)
			must(t, err, "Audit")
			if len(es) != 1 {
				t.Fatalf("Audit has %d entries, want 1", len(es))
			}
			checkAudit(t, es[0], first)
			wantKind(t, st.AddAudit(ctx(), &librechat.AuditEntry{Action: "x"}), librechat.KindInvalid, "AddAudit without an id")
			bad := newAudit("a2", base)
			bad.Detail = json.RawMessage(`{`)
			wantKind(t, st.AddAudit(ctx(), bad), librechat.KindInvalid, "AddAudit with a detail that is not JSON")
		}},
		{"Pagination", func(t *testing.T, st librechat.Store) {
			const n = 60
			var entries []*librechat.AuditEntry
			for i := range n {
				e := newAudit(fmt.Sprintf("a%02d", (i*23)%n), at(time.Duration(i%7)*time.Second))
				entries = append(entries, e)
				must(t, st.AddAudit(ctx(), e), "AddAudit "+e.ID)
			}
			slices.SortFunc(entries, func(a, b *librechat.AuditEntry) int {
				if c := cmpInt(b.CreatedAt.UnixMilli(), a.CreatedAt.UnixMilli()); c != 0 {
					return c
				}
				return strings.Compare(b.ID, a.ID)
			})
			want := make([]string, n)
			for i, e := range entries {
				want[i] = e.ID
			}
			for _, limit := range []int{1, 7, 0, 59, 60, 61} {
				checkIDs(t, fmt.Sprintf("Audit, limit %d", limit), allAudit(t, st, limit), want)
			}
			es, next, err := st.Audit(ctx(), nil, -1)
			must(t, err, "Audit with a negative limit")
			if len(es) != 25 || next == nil {
				t.Fatalf("Audit with a negative limit = %d entries, cursor %v; want 25 and a cursor", len(es), next)
			}
		}},
		{"InvalidCursor", func(t *testing.T, st librechat.Store) {
			must(t, st.AddAudit(ctx(), newAudit("a1", base)), "AddAudit")
			_, _, err := st.Audit(ctx(), &librechat.Cursor{Key: "yesterday", ID: "a1"}, 10)
			wantKind(t, err, librechat.KindInvalid, "Audit after a cursor key that is no time")
		}},
	}
}

// ---- user list ----

// allUsers follows the ListUsers cursors, checking each is the CreatedAt
// and id of the page's last user.
func allUsers(t *testing.T, st librechat.Store, limit int) []string {
	t.Helper()
	return followPages(t, fmt.Sprintf("ListUsers limit %d", limit), limit, func(after *librechat.Cursor) ([]string, *librechat.Cursor, error) {
		us, next, err := st.ListUsers(ctx(), librechat.UserQuery{After: after, Limit: limit})
		ids := make([]string, len(us))
		for i, u := range us {
			ids[i] = u.ID
		}
		if err == nil && next != nil && len(us) > 0 {
			last := us[len(us)-1]
			if want := timeCursorKey(last.CreatedAt); next.Key != want || next.ID != last.ID {
				t.Fatalf("next cursor = %+v, want {Key:%q ID:%q}", *next, want, last.ID)
			}
		}
		return ids, next, err
	})
}

func (s suite) userListTests() []test {
	return []test{
		{"Empty", func(t *testing.T, st librechat.Store) {
			us, next, err := st.ListUsers(ctx(), librechat.UserQuery{})
			must(t, err, "ListUsers of an empty store")
			if len(us) != 0 || next != nil {
				t.Fatalf("ListUsers of an empty store = %d users, cursor %v", len(us), next)
			}
		}},
		{"EveryFieldRoundTrips", func(t *testing.T, st librechat.Store) {
			full := fullUser("u1", "full@example.com")
			createUser(t, st, full)
			plain := plainUser("u2", "Plain@Example.com")
			createUser(t, st, plain)
			us, _, err := st.ListUsers(ctx(), librechat.UserQuery{})
			must(t, err, "ListUsers")
			if len(us) != 2 {
				t.Fatalf("ListUsers returned %d users, want 2", len(us))
			}
			checkUser(t, us[0], full)
			checkUser(t, us[1], plain)
		}},
		{"Pagination", func(t *testing.T, st librechat.Store) {
			const n = 40
			type key struct {
				created time.Time
				id      string
			}
			var keys []key
			for i := range n {
				u := plainUser(fmt.Sprintf("u%02d", (i*17)%n), fmt.Sprintf("user%d@example.com", i))
				switch i % 5 {
				case 0:
					u.CreatedAt = time.Time{} // users without a creation time come first
				default:
					u.CreatedAt = at(time.Duration(i%4) * time.Hour)
				}
				keys = append(keys, key{u.CreatedAt, u.ID})
				createUser(t, st, u)
			}
			slices.SortFunc(keys, func(a, b key) int {
				ac, bc := a.created.UnixMilli(), b.created.UnixMilli()
				if a.created.IsZero() {
					ac = -1 << 62
				}
				if b.created.IsZero() {
					bc = -1 << 62
				}
				if c := cmpInt(ac, bc); c != 0 {
					return c
				}
				return strings.Compare(a.id, b.id)
			})
			want := make([]string, n)
			for i, k := range keys {
				want[i] = k.id
			}
			for _, limit := range []int{1, 3, 8, 0, 39, 40, 41} {
				checkIDs(t, fmt.Sprintf("ListUsers, limit %d", limit), allUsers(t, st, limit), want)
			}
		}},
		{"InvalidCursor", func(t *testing.T, st librechat.Store) {
			createUser(t, st, plainUser("u1", "u1@example.com"))
			_, _, err := st.ListUsers(ctx(), librechat.UserQuery{After: &librechat.Cursor{Key: "yesterday", ID: "u1"}})
			wantKind(t, err, librechat.KindInvalid, "ListUsers after a cursor key that is no time")
		}},
	}
}
