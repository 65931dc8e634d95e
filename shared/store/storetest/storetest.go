// Package storetest is the conformance suite every librechat.Store adapter
// runs unchanged (SQLite, DynamoDB, Firestore, Cloudflare D1, in-memory
// fakes). An adapter's test calls Run with a function that opens a fresh,
// empty store:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) librechat.Store {
//			st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "db"))
//			if err != nil {
//				t.Fatal(err)
//			}
//			return st
//		})
//	}
//
// Every subtest opens its own store and closes it when it ends; open must
// not close it itself.
//
// Beyond the interface comments in package librechat, the suite pins down
// what adapters must agree on: emails are stored lowercased and looked up
// case-insensitively; times come back in UTC and equal to the stored time at
// least to the millisecond (the zero time stays zero); an empty list or map
// may come back nil; deleting what is absent is not an error; concurrent
// RotateSession, TakeToken, CreateUser and PutSettingIfAbsent calls have
// exactly one winner; UpdateUser never changes a user's Role or Disabled,
// even when it saves a copy read before a SetUserAccess.
//
// For the chat stores it pins down: every method is scoped by user (another
// user's conversation or message is not found, and writing its id is a
// conflict); Fields and Content compare by JSON meaning, not bytes; a list
// page is full whenever it has a next cursor, and the last page has none;
// the cursor key is the last item's sort time formatted as RFC 3339 with
// nanoseconds in UTC, or its title, with its id as tie-breaker; titles sort
// and compare bytewise; search is a case-insensitive (Unicode lower case)
// substring match on the title in which no character is special; invalid
// raw JSON is KindInvalid; a transaction id is recorded at most once;
// concurrent AddTransaction calls lose no update.
//
// For the library stores it pins down: files, presets and shared links are
// scoped by user like conversations (another user's id is not found, and
// writing it is a conflict); Files lists newest first; Presets orders by
// Order, then UpdatedAt descending; concurrent PutPreset calls with
// IsDefault leave exactly one default; a user has at most one link per
// conversation and of concurrent PutShare calls for one conversation
// exactly one wins; Share finds a link whether public or not; share lists
// page and search like conversation lists, with the share id as cursor id;
// group names and (scope, scope id, name) of model configurations are
// unique, and a rejected write changes nothing; Members and GroupsOf may
// come back in any order; ModelConfigs with an empty scope lists every
// configuration by scope, scope id, then name; an unknown scope, a system
// configuration with a scope id or a group or user one without is
// KindInvalid; Audit pages newest first and ListUsers by CreatedAt (the
// zero time first), then id, both with the RFC 3339 time and the id as
// cursor.
//
// For search it pins down: only the user's messages and conversations are
// found; a query matches word prefixes, case-insensitively, every word
// being required; the text of a message is its Text and the text of its
// "text" content parts; deleted and edited text, temporary messages and
// the messages and titles of temporary conversations are not found; no
// query string is an error; messages with more matches rank first, equal
// ones newest first; a conversation with more matching messages ranks
// first, equal ones by UpdatedAt descending; search cursors are opaque,
// pages neither skip nor repeat a result while nothing changes, and a
// cursor the adapter did not make is KindInvalid.
package storetest

import (
	"bytes"
	"context"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lcgo/lcgo/shared/librechat"
)

// Racers is how many goroutines the concurrency subtests start.
const Racers = 16

// Run runs the whole suite as subtests of t.
func Run(t *testing.T, open func(t *testing.T) librechat.Store) {
	s := suite{open: open}
	groups := []struct {
		name  string
		tests []test
	}{
		{"Users", s.userTests()},
		{"Sessions", s.sessionTests()},
		{"Roles", s.roleTests()},
		{"Tokens", s.tokenTests()},
		{"Settings", s.settingTests()},
		{"Conversations", s.conversationTests()},
		{"Messages", s.messageTests()},
		{"Tags", s.tagTests()},
		{"Balances", s.balanceTests()},
		{"Files", s.fileTests()},
		{"Presets", s.presetTests()},
		{"Shares", s.shareTests()},
		{"Groups", s.groupTests()},
		{"ModelConfigs", s.modelConfigTests()},
		{"Audit", s.auditTests()},
		{"UserList", s.userListTests()},
		{"Search", s.searchTests()},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			for _, tc := range g.tests {
				t.Run(tc.name, func(t *testing.T) {
					tc.fn(t, s.fresh(t))
				})
			}
		})
	}
}

type test struct {
	name string
	fn   func(t *testing.T, st librechat.Store)
}

type suite struct {
	open func(t *testing.T) librechat.Store
}

// fresh opens an empty store and closes it when t ends.
func (s suite) fresh(t *testing.T) librechat.Store {
	t.Helper()
	st := s.open(t)
	if st == nil {
		t.Fatal("open returned a nil store")
	}
	t.Cleanup(func() {
		if err := st.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return st
}

// ---- helpers ----

// base is a time with sub-millisecond digits in a non-UTC zone, so adapters
// must convert to UTC and keep at least millisecond precision.
var base = time.Date(2025, 3, 14, 15, 9, 26, 535_897_932, time.FixedZone("UTC+5:30", 5*3600+1800))

func at(d time.Duration) time.Time { return base.Add(d) }

func ctx() context.Context { return context.Background() }

func wantKind(t *testing.T, err error, kind librechat.Kind, what string) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: got no error, want kind %q", what, kind)
	}
	if got := librechat.KindOf(err); got != kind {
		t.Fatalf("%s: got error %v (kind %q), want kind %q", what, err, got, kind)
	}
}

func must(t *testing.T, err error, what string) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// sameTime reports whether got is want as stored: the zero time stays zero;
// anything else comes back in UTC and equal at millisecond precision.
func sameTime(got, want time.Time) error {
	if want.IsZero() {
		if !got.IsZero() {
			return fmt.Errorf("got %v, want the zero time", got)
		}
		return nil
	}
	if got.Location() != time.UTC {
		return fmt.Errorf("got %v in %v, want UTC", got, got.Location())
	}
	if !got.Truncate(time.Millisecond).Equal(want.Truncate(time.Millisecond)) {
		return fmt.Errorf("got %v, want %v (to the millisecond)", got, want.UTC())
	}
	return nil
}

func checkTime(t *testing.T, field string, got, want time.Time) {
	t.Helper()
	if err := sameTime(got, want); err != nil {
		t.Errorf("%s: %v", field, err)
	}
}

func sameStrings(a, b []string) bool {
	if len(a) == 0 && len(b) == 0 {
		return true
	}
	return reflect.DeepEqual(a, b)
}

func samePermissions(a, b map[string]map[string]bool) bool {
	if len(a) != len(b) {
		return false
	}
	for k, av := range a {
		bv, ok := b[k]
		if !ok || len(av) != len(bv) {
			return false
		}
		for kk, v := range av {
			if w, ok := bv[kk]; !ok || w != v {
				return false
			}
		}
	}
	return true
}

// checkUser compares every field of got against want as it should be stored.
func checkUser(t *testing.T, got, want *librechat.User) {
	t.Helper()
	if got == nil {
		t.Fatal("got a nil user")
	}
	str := func(field, g, w string) {
		t.Helper()
		if g != w {
			t.Errorf("User.%s = %q, want %q", field, g, w)
		}
	}
	boolean := func(field string, g, w bool) {
		t.Helper()
		if g != w {
			t.Errorf("User.%s = %v, want %v", field, g, w)
		}
	}
	str("ID", got.ID, want.ID)
	str("Name", got.Name, want.Name)
	str("Username", got.Username, want.Username)
	str("Email", got.Email, strings.ToLower(want.Email))
	boolean("EmailVerified", got.EmailVerified, want.EmailVerified)
	str("Avatar", got.Avatar, want.Avatar)
	str("Provider", got.Provider, want.Provider)
	str("Role", got.Role, want.Role)
	str("PasswordHash", got.PasswordHash, want.PasswordHash)
	boolean("TwoFactorEnabled", got.TwoFactorEnabled, want.TwoFactorEnabled)
	str("TOTPSecret", got.TOTPSecret, want.TOTPSecret)
	boolean("TermsAccepted", got.TermsAccepted, want.TermsAccepted)
	str("PersonalizationID", got.PersonalizationID, want.PersonalizationID)
	boolean("Memories", got.Memories, want.Memories)
	boolean("Disabled", got.Disabled, want.Disabled)
	if !sameStrings(got.Plugins, want.Plugins) {
		t.Errorf("User.Plugins = %q, want %q", got.Plugins, want.Plugins)
	}
	checkTime(t, "User.CreatedAt", got.CreatedAt, want.CreatedAt)
	checkTime(t, "User.UpdatedAt", got.UpdatedAt, want.UpdatedAt)
	if len(got.BackupCodes) != len(want.BackupCodes) {
		t.Errorf("User.BackupCodes has %d codes, want %d", len(got.BackupCodes), len(want.BackupCodes))
		return
	}
	for i, w := range want.BackupCodes {
		g := got.BackupCodes[i]
		if g.Hash != w.Hash || g.Used != w.Used {
			t.Errorf("User.BackupCodes[%d] = {%q %v}, want {%q %v}", i, g.Hash, g.Used, w.Hash, w.Used)
		}
		switch {
		case w.UsedAt == nil && g.UsedAt != nil:
			t.Errorf("User.BackupCodes[%d].UsedAt = %v, want nil", i, *g.UsedAt)
		case w.UsedAt != nil && g.UsedAt == nil:
			t.Errorf("User.BackupCodes[%d].UsedAt = nil, want %v", i, *w.UsedAt)
		case w.UsedAt != nil:
			checkTime(t, fmt.Sprintf("User.BackupCodes[%d].UsedAt", i), *g.UsedAt, *w.UsedAt)
		}
	}
}

// fullUser has every field set to a non-zero value.
func fullUser(id, email string) *librechat.User {
	used := at(-time.Hour)
	return &librechat.User{
		ID:                id,
		Name:              "Ada Lovelace " + id,
		Username:          "ada_" + id,
		Email:             email,
		EmailVerified:     true,
		Avatar:            "https://example.com/avatars/" + id + ".png",
		Provider:          librechat.ProviderLocal,
		Role:              librechat.RoleAdmin,
		PasswordHash:      "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA",
		TwoFactorEnabled:  true,
		TOTPSecret:        "JBSWY3DPEHPK3PXP",
		BackupCodes:       []librechat.BackupCode{{Hash: "code-a"}, {Hash: "code-b", Used: true, UsedAt: &used}},
		TermsAccepted:     true,
		PersonalizationID: "pers-" + id,
		Memories:          true,
		Plugins:           []string{"google", "dalle"},
		Disabled:          true,
		CreatedAt:         at(-48 * time.Hour),
		UpdatedAt:         at(-24 * time.Hour),
	}
}

// plainUser has only what an ordinary sign-up sets.
func plainUser(id, email string) *librechat.User {
	return &librechat.User{
		ID:        id,
		Name:      "User " + id,
		Username:  "user_" + id,
		Email:     email,
		Provider:  librechat.ProviderLocal,
		Role:      librechat.RoleUser,
		CreatedAt: base,
		UpdatedAt: base,
	}
}

func createUser(t *testing.T, st librechat.Store, u *librechat.User) {
	t.Helper()
	must(t, st.CreateUser(ctx(), u), "CreateUser "+u.ID)
}

func getUser(t *testing.T, st librechat.Store, id string) *librechat.User {
	t.Helper()
	u, err := st.UserByID(ctx(), id)
	must(t, err, "UserByID "+id)
	return u
}

func countUsers(t *testing.T, st librechat.Store) int {
	t.Helper()
	n, err := st.CountUsers(ctx())
	must(t, err, "CountUsers")
	return n
}

// race runs fn in Racers goroutines released together and returns each
// goroutine's result in index order.
func race[T any](fn func(i int) T) []T {
	out := make([]T, Racers)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range Racers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			out[i] = fn(i)
		}()
	}
	close(start)
	wg.Wait()
	return out
}

// ---- users ----

func (s suite) userTests() []test {
	return []test{
		{"CreateAndGet", func(t *testing.T, st librechat.Store) {
			want := plainUser("u1", "Alice@Example.COM")
			createUser(t, st, want)
			checkUser(t, getUser(t, st, "u1"), want)
			for _, email := range []string{"alice@example.com", "ALICE@EXAMPLE.COM", "Alice@Example.COM"} {
				got, err := st.UserByEmail(ctx(), email)
				must(t, err, "UserByEmail "+email)
				checkUser(t, got, want)
			}
		}},
		{"EveryFieldRoundTrips", func(t *testing.T, st librechat.Store) {
			full := fullUser("u1", "full@example.com")
			createUser(t, st, full)
			checkUser(t, getUser(t, st, "u1"), full)
			got, err := st.UserByEmail(ctx(), "FULL@example.com")
			must(t, err, "UserByEmail")
			checkUser(t, got, full)

			zero := &librechat.User{ID: "u2", Email: "zero@example.com"}
			createUser(t, st, zero)
			checkUser(t, getUser(t, st, "u2"), zero)
		}},
		{"EmptyListsRoundTrip", func(t *testing.T, st librechat.Store) {
			u := plainUser("u1", "empty@example.com")
			u.BackupCodes = []librechat.BackupCode{}
			u.Plugins = []string{}
			createUser(t, st, u)
			checkUser(t, getUser(t, st, "u1"), u)
		}},
		{"ReturnsCopies", func(t *testing.T, st librechat.Store) {
			u := fullUser("u1", "copy@example.com")
			want := fullUser("u1", "copy@example.com")
			createUser(t, st, u)
			u.Name, u.Plugins[0], u.BackupCodes[0].Hash = "changed", "changed", "changed"
			got := getUser(t, st, "u1")
			got.Name, got.Plugins[0], got.BackupCodes[0].Hash = "changed", "changed", "changed"
			checkUser(t, getUser(t, st, "u1"), want)
		}},
		{"NotFound", func(t *testing.T, st librechat.Store) {
			_, err := st.UserByID(ctx(), "missing")
			wantKind(t, err, librechat.KindNotFound, "UserByID of an unknown id")
			_, err = st.UserByEmail(ctx(), "nobody@example.com")
			wantKind(t, err, librechat.KindNotFound, "UserByEmail of an unknown email")
			createUser(t, st, plainUser("u1", "someone@example.com"))
			_, err = st.UserByEmail(ctx(), "someone@example.co")
			wantKind(t, err, librechat.KindNotFound, "UserByEmail of a prefix of an email")
		}},
		{"DuplicateEmail", func(t *testing.T, st librechat.Store) {
			first := plainUser("u1", "dup@example.com")
			createUser(t, st, first)
			err := st.CreateUser(ctx(), plainUser("u2", "DUP@Example.com"))
			wantKind(t, err, librechat.KindConflict, "CreateUser with a taken email in other case")
			if n := countUsers(t, st); n != 1 {
				t.Errorf("CountUsers = %d after a rejected duplicate, want 1", n)
			}
			_, err = st.UserByID(ctx(), "u2")
			wantKind(t, err, librechat.KindNotFound, "UserByID of the rejected user")
			got, err := st.UserByEmail(ctx(), "dup@example.com")
			must(t, err, "UserByEmail")
			checkUser(t, got, first)
		}},
		{"ConcurrentCreateSameEmail", func(t *testing.T, st librechat.Store) {
			errs := race(func(i int) error {
				return st.CreateUser(ctx(), plainUser(fmt.Sprintf("u%d", i), "race@example.com"))
			})
			winner := -1
			for i, err := range errs {
				switch {
				case err == nil:
					if winner >= 0 {
						t.Fatalf("CreateUser succeeded for both u%d and u%d with the same email", winner, i)
					}
					winner = i
				case librechat.KindOf(err) != librechat.KindConflict:
					t.Fatalf("racer %d: %v (kind %q), want a conflict", i, err, librechat.KindOf(err))
				}
			}
			if winner < 0 {
				t.Fatal("no CreateUser succeeded")
			}
			if n := countUsers(t, st); n != 1 {
				t.Errorf("CountUsers = %d, want 1", n)
			}
			got, err := st.UserByEmail(ctx(), "race@example.com")
			must(t, err, "UserByEmail")
			if want := fmt.Sprintf("u%d", winner); got.ID != want {
				t.Errorf("UserByEmail returned %q, want the winner %q", got.ID, want)
			}
		}},
		{"Update", func(t *testing.T, st librechat.Store) {
			createUser(t, st, fullUser("u1", "old@example.com"))
			other := plainUser("u2", "other@example.com")
			createUser(t, st, other)

			// Every field changes but Role and Disabled, which keep what is
			// stored; the other booleans all go from true to false.
			want := plainUser("u1", "New@Example.com")
			want.Name, want.Username = "Renamed", "renamed"
			want.Plugins = []string{"wolfram"}
			usedAt := at(time.Minute)
			want.BackupCodes = []librechat.BackupCode{{Hash: "only", Used: true, UsedAt: &usedAt}}
			want.CreatedAt, want.UpdatedAt = at(-time.Hour), at(time.Hour)
			must(t, st.UpdateUser(ctx(), want), "UpdateUser")

			// UpdateUser leaves the access fields alone.
			want.Role, want.Disabled = librechat.RoleAdmin, true
			checkUser(t, getUser(t, st, "u1"), want)
			got, err := st.UserByEmail(ctx(), "new@example.com")
			must(t, err, "UserByEmail of the new email")
			checkUser(t, got, want)
			_, err = st.UserByEmail(ctx(), "old@example.com")
			wantKind(t, err, librechat.KindNotFound, "UserByEmail of the replaced email")
			checkUser(t, getUser(t, st, "u2"), other)
			if n := countUsers(t, st); n != 2 {
				t.Errorf("CountUsers = %d after UpdateUser, want 2", n)
			}

			// Updating without changing the email is not a conflict with itself.
			want.Name = "Again"
			must(t, st.UpdateUser(ctx(), want), "UpdateUser keeping the email")
			checkUser(t, getUser(t, st, "u1"), want)
		}},
		{"UpdateMissing", func(t *testing.T, st librechat.Store) {
			err := st.UpdateUser(ctx(), plainUser("ghost", "ghost@example.com"))
			wantKind(t, err, librechat.KindNotFound, "UpdateUser of an unknown id")
			_, err = st.UserByID(ctx(), "ghost")
			wantKind(t, err, librechat.KindNotFound, "UserByID after a failed UpdateUser")
			if n := countUsers(t, st); n != 0 {
				t.Errorf("CountUsers = %d, want 0: UpdateUser must not create", n)
			}
		}},
		{"UpdateToTakenEmail", func(t *testing.T, st librechat.Store) {
			a := plainUser("a", "a@example.com")
			b := plainUser("b", "b@example.com")
			createUser(t, st, a)
			createUser(t, st, b)
			changed := plainUser("b", "A@EXAMPLE.COM")
			changed.Name = "should not be stored"
			err := st.UpdateUser(ctx(), changed)
			wantKind(t, err, librechat.KindConflict, "UpdateUser to another user's email")
			checkUser(t, getUser(t, st, "b"), b)
			got, err := st.UserByEmail(ctx(), "a@example.com")
			must(t, err, "UserByEmail")
			checkUser(t, got, a)
		}},
		{"UpdateKeepsAccess", func(t *testing.T, st librechat.Store) {
			createUser(t, st, plainUser("u1", "keep@example.com"))
			// A copy that says USER and enabled must not demote or enable
			// an admin it did not make.
			must(t, st.SetUserAccess(ctx(), "u1", librechat.RoleAdmin, true, at(time.Minute)), "SetUserAccess")
			want := plainUser("u1", "keep@example.com")
			want.Name, want.UpdatedAt = "Renamed", at(time.Hour)
			must(t, st.UpdateUser(ctx(), want), "UpdateUser")
			want.Role, want.Disabled = librechat.RoleAdmin, true
			checkUser(t, getUser(t, st, "u1"), want)
			// And one that says ADMIN and disabled does not promote or
			// disable a user.
			must(t, st.SetUserAccess(ctx(), "u1", librechat.RoleUser, false, at(2*time.Hour)), "SetUserAccess back")
			want.Name, want.UpdatedAt = "Again", at(3*time.Hour)
			must(t, st.UpdateUser(ctx(), want), "UpdateUser again")
			want.Role, want.Disabled = librechat.RoleUser, false
			checkUser(t, getUser(t, st, "u1"), want)
		}},
		{"SetUserAccess", func(t *testing.T, st librechat.Store) {
			full := fullUser("u1", "Full@Example.com")
			createUser(t, st, full)
			other := plainUser("u2", "other@example.com")
			createUser(t, st, other)

			// Only the role, the flag and the update time change.
			want := fullUser("u1", "Full@Example.com")
			want.Role, want.Disabled, want.UpdatedAt = "custom-role", false, at(time.Hour)
			must(t, st.SetUserAccess(ctx(), "u1", "custom-role", false, at(time.Hour)), "SetUserAccess")
			checkUser(t, getUser(t, st, "u1"), want)
			got, err := st.UserByEmail(ctx(), "full@example.com")
			must(t, err, "UserByEmail after SetUserAccess")
			checkUser(t, got, want)

			want.Role, want.Disabled, want.UpdatedAt = librechat.RoleAdmin, true, at(2*time.Hour)
			must(t, st.SetUserAccess(ctx(), "u1", librechat.RoleAdmin, true, at(2*time.Hour)), "SetUserAccess again")
			checkUser(t, getUser(t, st, "u1"), want)

			// Setting what is stored is no error.
			must(t, st.SetUserAccess(ctx(), "u1", librechat.RoleAdmin, true, at(2*time.Hour)), "SetUserAccess unchanged")
			checkUser(t, getUser(t, st, "u1"), want)

			// The zero values are stored as such.
			want.Role, want.Disabled, want.UpdatedAt = "", false, time.Time{}
			must(t, st.SetUserAccess(ctx(), "u1", "", false, time.Time{}), "SetUserAccess of zero values")
			checkUser(t, getUser(t, st, "u1"), want)
			want.Role, want.Disabled, want.UpdatedAt = librechat.RoleUser, true, at(3*time.Hour)
			must(t, st.SetUserAccess(ctx(), "u1", librechat.RoleUser, true, at(3*time.Hour)), "SetUserAccess after zero values")
			checkUser(t, getUser(t, st, "u1"), want)

			checkUser(t, getUser(t, st, "u2"), other)
			if n := countUsers(t, st); n != 2 {
				t.Errorf("CountUsers = %d after SetUserAccess, want 2", n)
			}
		}},
		{"SetUserAccessMissing", func(t *testing.T, st librechat.Store) {
			err := st.SetUserAccess(ctx(), "ghost", librechat.RoleAdmin, true, base)
			wantKind(t, err, librechat.KindNotFound, "SetUserAccess of an unknown id")
			_, err = st.UserByID(ctx(), "ghost")
			wantKind(t, err, librechat.KindNotFound, "UserByID after a failed SetUserAccess")
			if n := countUsers(t, st); n != 0 {
				t.Errorf("CountUsers = %d, want 0: SetUserAccess must not create", n)
			}
			err = st.SetUserAccess(ctx(), "ghost", librechat.RoleUser, false, time.Time{})
			wantKind(t, err, librechat.KindNotFound, "SetUserAccess of an unknown id, zero values")
			_, err = st.UserByID(ctx(), "ghost")
			wantKind(t, err, librechat.KindNotFound, "UserByID after a failed SetUserAccess, zero values")
		}},
		{"StaleUpdateKeepsAccess", func(t *testing.T, st librechat.Store) {
			createUser(t, st, plainUser("u1", "stale@example.com"))
			// A request (a login rehashing the password, say) reads the
			// user; an admin then disables and promotes them; the request
			// saves its copy.
			stale := getUser(t, st, "u1")
			must(t, st.SetUserAccess(ctx(), "u1", librechat.RoleAdmin, true, at(time.Minute)), "SetUserAccess")
			stale.PasswordHash, stale.Name, stale.UpdatedAt = "$argon2id$rehashed", "Renamed", at(2*time.Minute)
			must(t, st.UpdateUser(ctx(), stale), "UpdateUser of the stale copy")

			got := getUser(t, st, "u1")
			if !got.Disabled || got.Role != librechat.RoleAdmin {
				t.Errorf("after a stale UpdateUser: Role %q Disabled %v, want %q true: the admin's change was undone",
					got.Role, got.Disabled, librechat.RoleAdmin)
			}
			want := plainUser("u1", "stale@example.com")
			want.Role, want.Disabled = librechat.RoleAdmin, true
			want.PasswordHash, want.Name, want.UpdatedAt = "$argon2id$rehashed", "Renamed", at(2*time.Minute)
			checkUser(t, got, want)
		}},
		{"ConcurrentUpdateAndSetUserAccess", func(t *testing.T, st librechat.Store) {
			createUser(t, st, plainUser("u1", "busy@example.com"))
			stale := getUser(t, st, "u1")
			// Half the racers save stale copies, half change the access
			// (all to the same values): whatever the order, the access
			// change stays and some stale save's name is stored.
			errs := race(func(i int) error {
				if i%2 == 0 {
					u := *stale
					u.Name = fmt.Sprintf("racer %d", i)
					return st.UpdateUser(ctx(), &u)
				}
				return st.SetUserAccess(ctx(), "u1", librechat.RoleAdmin, true, at(time.Duration(i)*time.Second))
			})
			for i, err := range errs {
				must(t, err, fmt.Sprintf("racer %d", i))
			}
			got := getUser(t, st, "u1")
			if !got.Disabled || got.Role != librechat.RoleAdmin {
				t.Errorf("Role %q Disabled %v after racing saves, want %q true", got.Role, got.Disabled, librechat.RoleAdmin)
			}
			if !strings.HasPrefix(got.Name, "racer ") {
				t.Errorf("Name = %q, want a racer's", got.Name)
			}
		}},
		{"CountUsers", func(t *testing.T, st librechat.Store) {
			if n := countUsers(t, st); n != 0 {
				t.Fatalf("CountUsers of an empty store = %d, want 0", n)
			}
			for i := range 3 {
				createUser(t, st, plainUser(fmt.Sprintf("u%d", i), fmt.Sprintf("u%d@example.com", i)))
				if n := countUsers(t, st); n != i+1 {
					t.Fatalf("CountUsers = %d, want %d", n, i+1)
				}
			}
		}},
	}
}

// ---- sessions ----

func newSession(id, userID, hash string) *librechat.Session {
	return &librechat.Session{
		ID:          id,
		UserID:      userID,
		CurrentHash: hash,
		ExpiresAt:   at(7 * 24 * time.Hour),
		CreatedAt:   base,
	}
}

func checkSession(t *testing.T, got, want *librechat.Session) {
	t.Helper()
	if got == nil {
		t.Fatal("got a nil session")
	}
	if got.ID != want.ID || got.UserID != want.UserID || got.CurrentHash != want.CurrentHash || got.PreviousHash != want.PreviousHash {
		t.Errorf("session = {ID:%q UserID:%q CurrentHash:%q PreviousHash:%q}, want {ID:%q UserID:%q CurrentHash:%q PreviousHash:%q}",
			got.ID, got.UserID, got.CurrentHash, got.PreviousHash, want.ID, want.UserID, want.CurrentHash, want.PreviousHash)
	}
	checkTime(t, "Session.RotatedAt", got.RotatedAt, want.RotatedAt)
	checkTime(t, "Session.ExpiresAt", got.ExpiresAt, want.ExpiresAt)
	checkTime(t, "Session.CreatedAt", got.CreatedAt, want.CreatedAt)
}

func getSession(t *testing.T, st librechat.Store, id string) *librechat.Session {
	t.Helper()
	ss, err := st.SessionByID(ctx(), id)
	must(t, err, "SessionByID "+id)
	return ss
}

func (s suite) withUsers(t *testing.T, st librechat.Store, ids ...string) {
	t.Helper()
	for _, id := range ids {
		createUser(t, st, plainUser(id, id+"@example.com"))
	}
}

func (s suite) sessionTests() []test {
	return []test{
		{"CreateAndGet", func(t *testing.T, st librechat.Store) {
			s.withUsers(t, st, "u1")
			want := newSession("s1", "u1", "h0")
			must(t, st.CreateSession(ctx(), want), "CreateSession")
			checkSession(t, getSession(t, st, "s1"), want)

			full := newSession("s2", "u1", "cur")
			full.PreviousHash, full.RotatedAt = "prev", at(time.Second)
			must(t, st.CreateSession(ctx(), full), "CreateSession with every field")
			checkSession(t, getSession(t, st, "s2"), full)
		}},
		{"NotFound", func(t *testing.T, st librechat.Store) {
			_, err := st.SessionByID(ctx(), "missing")
			wantKind(t, err, librechat.KindNotFound, "SessionByID of an unknown id")
		}},
		{"Rotate", func(t *testing.T, st librechat.Store) {
			s.withUsers(t, st, "u1")
			want := newSession("s1", "u1", "h0")
			must(t, st.CreateSession(ctx(), want), "CreateSession")

			must(t, st.RotateSession(ctx(), "s1", "h0", "h1", at(time.Minute)), "RotateSession h0->h1")
			want.CurrentHash, want.PreviousHash, want.RotatedAt = "h1", "h0", at(time.Minute)
			checkSession(t, getSession(t, st, "s1"), want)

			err := st.RotateSession(ctx(), "s1", "h0", "stale", at(2*time.Minute))
			wantKind(t, err, librechat.KindConflict, "RotateSession with a stale expected hash")
			checkSession(t, getSession(t, st, "s1"), want)

			err = st.RotateSession(ctx(), "s1", "nonsense", "stale", at(2*time.Minute))
			wantKind(t, err, librechat.KindConflict, "RotateSession with a wrong expected hash")
			checkSession(t, getSession(t, st, "s1"), want)

			must(t, st.RotateSession(ctx(), "s1", "h1", "h2", at(3*time.Minute)), "RotateSession h1->h2")
			want.CurrentHash, want.PreviousHash, want.RotatedAt = "h2", "h1", at(3*time.Minute)
			checkSession(t, getSession(t, st, "s1"), want)
		}},
		{"RotateMissing", func(t *testing.T, st librechat.Store) {
			err := st.RotateSession(ctx(), "missing", "h0", "h1", base)
			wantKind(t, err, librechat.KindNotFound, "RotateSession of an unknown id")
			_, err = st.SessionByID(ctx(), "missing")
			wantKind(t, err, librechat.KindNotFound, "SessionByID after RotateSession of an unknown id")
		}},
		{"RotateOnlyTouchesOneSession", func(t *testing.T, st librechat.Store) {
			s.withUsers(t, st, "u1")
			a, b := newSession("a", "u1", "same"), newSession("b", "u1", "same")
			must(t, st.CreateSession(ctx(), a), "CreateSession a")
			must(t, st.CreateSession(ctx(), b), "CreateSession b")
			must(t, st.RotateSession(ctx(), "a", "same", "next", at(time.Minute)), "RotateSession a")
			checkSession(t, getSession(t, st, "b"), b)
		}},
		{"ConcurrentRotate", func(t *testing.T, st librechat.Store) {
			s.withUsers(t, st, "u1")
			must(t, st.CreateSession(ctx(), newSession("s1", "u1", "h0")), "CreateSession")
			errs := race(func(i int) error {
				return st.RotateSession(ctx(), "s1", "h0", fmt.Sprintf("next-%d", i), at(time.Duration(i+1)*time.Second))
			})
			winner := -1
			for i, err := range errs {
				switch {
				case err == nil:
					if winner >= 0 {
						t.Fatalf("RotateSession succeeded for racers %d and %d with the same expected hash", winner, i)
					}
					winner = i
				case librechat.KindOf(err) != librechat.KindConflict:
					t.Fatalf("racer %d: %v (kind %q), want a conflict", i, err, librechat.KindOf(err))
				}
			}
			if winner < 0 {
				t.Fatal("no RotateSession succeeded")
			}
			want := newSession("s1", "u1", fmt.Sprintf("next-%d", winner))
			want.PreviousHash, want.RotatedAt = "h0", at(time.Duration(winner+1)*time.Second)
			checkSession(t, getSession(t, st, "s1"), want)
		}},
		{"Delete", func(t *testing.T, st librechat.Store) {
			s.withUsers(t, st, "u1")
			keep := newSession("keep", "u1", "hk")
			must(t, st.CreateSession(ctx(), newSession("gone", "u1", "hg")), "CreateSession gone")
			must(t, st.CreateSession(ctx(), keep), "CreateSession keep")
			must(t, st.DeleteSession(ctx(), "gone"), "DeleteSession")
			_, err := st.SessionByID(ctx(), "gone")
			wantKind(t, err, librechat.KindNotFound, "SessionByID after DeleteSession")
			err = st.RotateSession(ctx(), "gone", "hg", "new", base)
			wantKind(t, err, librechat.KindNotFound, "RotateSession after DeleteSession")
			checkSession(t, getSession(t, st, "keep"), keep)
			must(t, st.DeleteSession(ctx(), "gone"), "DeleteSession of an absent session")
		}},
		{"DeleteUserSessions", func(t *testing.T, st librechat.Store) {
			s.withUsers(t, st, "u1", "u2")
			for _, ss := range []*librechat.Session{newSession("a1", "u1", "x"), newSession("a2", "u1", "y")} {
				must(t, st.CreateSession(ctx(), ss), "CreateSession "+ss.ID)
			}
			b1 := newSession("b1", "u2", "z")
			must(t, st.CreateSession(ctx(), b1), "CreateSession b1")

			must(t, st.DeleteUserSessions(ctx(), "u1"), "DeleteUserSessions")
			for _, id := range []string{"a1", "a2"} {
				_, err := st.SessionByID(ctx(), id)
				wantKind(t, err, librechat.KindNotFound, "SessionByID "+id+" after DeleteUserSessions")
			}
			checkSession(t, getSession(t, st, "b1"), b1)
			must(t, st.DeleteUserSessions(ctx(), "u1"), "DeleteUserSessions of a user with none")
			must(t, st.DeleteUserSessions(ctx(), "nobody"), "DeleteUserSessions of an unknown user")
			checkSession(t, getSession(t, st, "b1"), b1)
		}},
	}
}

// ---- roles ----

func checkRole(t *testing.T, got, want *librechat.Role) {
	t.Helper()
	if got == nil {
		t.Fatal("got a nil role")
	}
	if got.ID != want.ID || got.Name != want.Name || got.Description != want.Description {
		t.Errorf("role = {ID:%q Name:%q Description:%q}, want {ID:%q Name:%q Description:%q}",
			got.ID, got.Name, got.Description, want.ID, want.Name, want.Description)
	}
	if !samePermissions(got.Permissions, want.Permissions) {
		t.Errorf("role %q permissions = %v, want %v", want.Name, got.Permissions, want.Permissions)
	}
}

func getRole(t *testing.T, st librechat.Store, name string) *librechat.Role {
	t.Helper()
	r, err := st.RoleByName(ctx(), name)
	must(t, err, "RoleByName "+name)
	return r
}

func (s suite) roleTests() []test {
	return []test{
		{"NotFound", func(t *testing.T, st librechat.Store) {
			_, err := st.RoleByName(ctx(), librechat.RoleUser)
			wantKind(t, err, librechat.KindNotFound, "RoleByName of an unknown role")
		}},
		{"PutAndGet", func(t *testing.T, st librechat.Store) {
			want := &librechat.Role{
				ID:          "65f0c0ffee0000000000a001",
				Name:        librechat.RoleUser,
				Description: "ordinary users",
				Permissions: map[string]map[string]bool{
					"PROMPTS":   {"USE": true, "CREATE": true, "SHARED_GLOBAL": false},
					"BOOKMARKS": {"USE": true},
					"AGENTS":    {"USE": false, "CREATE": false},
				},
			}
			must(t, st.PutRole(ctx(), want), "PutRole")
			checkRole(t, getRole(t, st, librechat.RoleUser), want)
			_, err := st.RoleByName(ctx(), "user")
			wantKind(t, err, librechat.KindNotFound, "RoleByName is exact, not case-insensitive")
		}},
		{"EmptyPermissions", func(t *testing.T, st librechat.Store) {
			want := &librechat.Role{ID: "r1", Name: "EMPTY"}
			must(t, st.PutRole(ctx(), want), "PutRole")
			checkRole(t, getRole(t, st, "EMPTY"), want)
		}},
		{"Replace", func(t *testing.T, st librechat.Store) {
			admin := &librechat.Role{ID: "r-admin", Name: librechat.RoleAdmin, Permissions: map[string]map[string]bool{"PROMPTS": {"USE": true}}}
			must(t, st.PutRole(ctx(), admin), "PutRole admin")
			must(t, st.PutRole(ctx(), &librechat.Role{
				ID: "r-user", Name: librechat.RoleUser, Description: "before",
				Permissions: map[string]map[string]bool{"PROMPTS": {"USE": true, "CREATE": true}, "AGENTS": {"USE": true}},
			}), "PutRole user")

			replaced := &librechat.Role{
				ID: "r-user-2", Name: librechat.RoleUser, Description: "after",
				Permissions: map[string]map[string]bool{"PROMPTS": {"USE": false}},
			}
			must(t, st.PutRole(ctx(), replaced), "PutRole replacing user")
			checkRole(t, getRole(t, st, librechat.RoleUser), replaced)
			checkRole(t, getRole(t, st, librechat.RoleAdmin), admin)
		}},
		{"ReturnsCopies", func(t *testing.T, st librechat.Store) {
			in := &librechat.Role{ID: "r1", Name: "R", Permissions: map[string]map[string]bool{"P": {"USE": true}}}
			must(t, st.PutRole(ctx(), in), "PutRole")
			in.Permissions["P"]["USE"] = false
			in.Permissions["Q"] = map[string]bool{"USE": true}
			got := getRole(t, st, "R")
			got.Permissions["P"]["USE"] = false
			checkRole(t, getRole(t, st, "R"), &librechat.Role{ID: "r1", Name: "R", Permissions: map[string]map[string]bool{"P": {"USE": true}}})
		}},
	}
}

// ---- tokens ----

func newToken(userID, purpose, hash string) *librechat.Token {
	return &librechat.Token{UserID: userID, Purpose: purpose, Hash: hash, ExpiresAt: at(15 * time.Minute), CreatedAt: base}
}

func checkToken(t *testing.T, got, want *librechat.Token) {
	t.Helper()
	if got == nil {
		t.Fatal("got a nil token")
	}
	if got.UserID != want.UserID || got.Purpose != want.Purpose || got.Hash != want.Hash {
		t.Errorf("token = {UserID:%q Purpose:%q Hash:%q}, want {UserID:%q Purpose:%q Hash:%q}",
			got.UserID, got.Purpose, got.Hash, want.UserID, want.Purpose, want.Hash)
	}
	checkTime(t, "Token.ExpiresAt", got.ExpiresAt, want.ExpiresAt)
	checkTime(t, "Token.CreatedAt", got.CreatedAt, want.CreatedAt)
}

func takeToken(t *testing.T, st librechat.Store, userID, purpose string) *librechat.Token {
	t.Helper()
	tok, err := st.TakeToken(ctx(), userID, purpose)
	must(t, err, "TakeToken "+userID+"/"+purpose)
	return tok
}

func (s suite) tokenTests() []test {
	return []test{
		{"TakeMissing", func(t *testing.T, st librechat.Store) {
			_, err := st.TakeToken(ctx(), "u1", librechat.TokenPasswordReset)
			wantKind(t, err, librechat.KindNotFound, "TakeToken with none stored")
		}},
		{"PutAndTake", func(t *testing.T, st librechat.Store) {
			s.withUsers(t, st, "u1")
			want := newToken("u1", librechat.TokenPasswordReset, "hash-1")
			must(t, st.PutToken(ctx(), want), "PutToken")
			checkToken(t, takeToken(t, st, "u1", librechat.TokenPasswordReset), want)
			_, err := st.TakeToken(ctx(), "u1", librechat.TokenPasswordReset)
			wantKind(t, err, librechat.KindNotFound, "second TakeToken")
		}},
		{"ExpiredIsStillReturned", func(t *testing.T, st librechat.Store) {
			s.withUsers(t, st, "u1")
			want := newToken("u1", librechat.TokenVerifyEmail, "old")
			want.ExpiresAt = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
			must(t, st.PutToken(ctx(), want), "PutToken")
			checkToken(t, takeToken(t, st, "u1", librechat.TokenVerifyEmail), want)
		}},
		{"PutReplaces", func(t *testing.T, st librechat.Store) {
			s.withUsers(t, st, "u1")
			must(t, st.PutToken(ctx(), newToken("u1", librechat.TokenPasswordReset, "first")), "PutToken first")
			second := newToken("u1", librechat.TokenPasswordReset, "second")
			second.ExpiresAt, second.CreatedAt = at(time.Hour), at(time.Minute)
			must(t, st.PutToken(ctx(), second), "PutToken second")
			checkToken(t, takeToken(t, st, "u1", librechat.TokenPasswordReset), second)
			_, err := st.TakeToken(ctx(), "u1", librechat.TokenPasswordReset)
			wantKind(t, err, librechat.KindNotFound, "TakeToken after the replacement was taken")
		}},
		{"OthersUntouched", func(t *testing.T, st librechat.Store) {
			s.withUsers(t, st, "u1", "u2")
			tokens := []*librechat.Token{
				newToken("u1", librechat.TokenPasswordReset, "u1-reset"),
				newToken("u1", librechat.TokenVerifyEmail, "u1-verify"),
				newToken("u2", librechat.TokenPasswordReset, "u2-reset"),
				newToken("u2", librechat.TokenVerifyEmail, "u2-verify"),
			}
			for _, tok := range tokens {
				must(t, st.PutToken(ctx(), tok), "PutToken "+tok.Hash)
			}
			// Replacing one must not touch the others either.
			repl := newToken("u1", librechat.TokenPasswordReset, "u1-reset-2")
			must(t, st.PutToken(ctx(), repl), "PutToken replacement")
			tokens[0] = repl
			for _, want := range tokens {
				checkToken(t, takeToken(t, st, want.UserID, want.Purpose), want)
			}
			for _, want := range tokens {
				_, err := st.TakeToken(ctx(), want.UserID, want.Purpose)
				wantKind(t, err, librechat.KindNotFound, "TakeToken "+want.Hash+" again")
			}
		}},
		{"ConcurrentTake", func(t *testing.T, st librechat.Store) {
			s.withUsers(t, st, "u1")
			want := newToken("u1", librechat.TokenPasswordReset, "only-once")
			must(t, st.PutToken(ctx(), want), "PutToken")
			type result struct {
				tok *librechat.Token
				err error
			}
			results := race(func(int) result {
				tok, err := st.TakeToken(ctx(), "u1", librechat.TokenPasswordReset)
				return result{tok, err}
			})
			winners := 0
			for i, r := range results {
				switch {
				case r.err == nil:
					winners++
					checkToken(t, r.tok, want)
				case librechat.KindOf(r.err) != librechat.KindNotFound:
					t.Errorf("racer %d: %v (kind %q), want not found", i, r.err, librechat.KindOf(r.err))
				}
			}
			if winners != 1 {
				t.Fatalf("%d concurrent TakeToken calls got the token, want exactly 1", winners)
			}
		}},
	}
}

// ---- settings ----

func getSetting(t *testing.T, st librechat.Store, key string) []byte {
	t.Helper()
	v, err := st.Setting(ctx(), key)
	must(t, err, "Setting "+key)
	return v
}

func checkBytes(t *testing.T, what string, got, want []byte) {
	t.Helper()
	if !bytes.Equal(got, want) {
		t.Errorf("%s = %q, want %q", what, got, want)
	}
}

func (s suite) settingTests() []test {
	return []test{
		{"Missing", func(t *testing.T, st librechat.Store) {
			_, err := st.Setting(ctx(), "missing")
			wantKind(t, err, librechat.KindNotFound, "Setting of an unset key")
		}},
		{"PutAndOverwrite", func(t *testing.T, st librechat.Store) {
			must(t, st.PutSetting(ctx(), "k", []byte("v1")), "PutSetting")
			must(t, st.PutSetting(ctx(), "other", []byte("o")), "PutSetting other")
			checkBytes(t, "Setting k", getSetting(t, st, "k"), []byte("v1"))
			must(t, st.PutSetting(ctx(), "k", []byte("v2, longer")), "PutSetting overwrite")
			checkBytes(t, "Setting k after overwrite", getSetting(t, st, "k"), []byte("v2, longer"))
			checkBytes(t, "Setting other", getSetting(t, st, "other"), []byte("o"))
		}},
		{"BinaryAndEmptyValues", func(t *testing.T, st librechat.Store) {
			bin := []byte{0, 1, 2, 0xff, 0xfe, 0, '"', '\\', '\n'}
			must(t, st.PutSetting(ctx(), "bin", bin), "PutSetting binary")
			checkBytes(t, "Setting bin", getSetting(t, st, "bin"), bin)
			must(t, st.PutSetting(ctx(), "empty", []byte{}), "PutSetting empty")
			if v := getSetting(t, st, "empty"); len(v) != 0 {
				t.Errorf("Setting empty = %q, want an empty value", v)
			}
			key := "user:65f0c0ffee0000000000a001:favorites/ü"
			must(t, st.PutSetting(ctx(), key, []byte(`[{"model":"gpt"}]`)), "PutSetting with an odd key")
			checkBytes(t, "Setting with an odd key", getSetting(t, st, key), []byte(`[{"model":"gpt"}]`))
		}},
		{"ReturnsCopies", func(t *testing.T, st librechat.Store) {
			in := []byte("abc")
			must(t, st.PutSetting(ctx(), "k", in), "PutSetting")
			in[0] = 'X'
			got := getSetting(t, st, "k")
			got[1] = 'Y'
			checkBytes(t, "Setting k", getSetting(t, st, "k"), []byte("abc"))
		}},
		{"IfAbsent", func(t *testing.T, st librechat.Store) {
			v, err := st.PutSettingIfAbsent(ctx(), "secret", []byte("first"))
			must(t, err, "PutSettingIfAbsent on an unset key")
			checkBytes(t, "PutSettingIfAbsent result", v, []byte("first"))
			v, err = st.PutSettingIfAbsent(ctx(), "secret", []byte("second"))
			must(t, err, "PutSettingIfAbsent on a set key")
			checkBytes(t, "PutSettingIfAbsent result on a set key", v, []byte("first"))
			checkBytes(t, "Setting secret", getSetting(t, st, "secret"), []byte("first"))

			must(t, st.PutSetting(ctx(), "secret", []byte("overwritten")), "PutSetting")
			v, err = st.PutSettingIfAbsent(ctx(), "secret", []byte("third"))
			must(t, err, "PutSettingIfAbsent after PutSetting")
			checkBytes(t, "PutSettingIfAbsent result after PutSetting", v, []byte("overwritten"))

			must(t, st.PutSetting(ctx(), "preset", []byte("p")), "PutSetting preset")
			v, err = st.PutSettingIfAbsent(ctx(), "preset", []byte("q"))
			must(t, err, "PutSettingIfAbsent on a key set by PutSetting")
			checkBytes(t, "PutSettingIfAbsent result on a preset key", v, []byte("p"))
		}},
		{"ConcurrentIfAbsent", func(t *testing.T, st librechat.Store) {
			type result struct {
				v   []byte
				err error
			}
			results := race(func(i int) result {
				v, err := st.PutSettingIfAbsent(ctx(), "jwt-secret", fmt.Appendf(nil, "candidate-%d", i))
				return result{v, err}
			})
			var winner []byte
			for i, r := range results {
				if r.err != nil {
					t.Fatalf("racer %d: %v", i, r.err)
				}
				if winner == nil {
					winner = r.v
				}
				if !bytes.Equal(r.v, winner) {
					t.Fatalf("racer %d got %q, another got %q: every racer must get the single winner", i, r.v, winner)
				}
			}
			candidate := false
			for i := range Racers {
				candidate = candidate || bytes.Equal(winner, fmt.Appendf(nil, "candidate-%d", i))
			}
			if !candidate {
				t.Fatalf("winning value %q is none of the candidates", winner)
			}
			checkBytes(t, "Setting after the race", getSetting(t, st, "jwt-secret"), winner)
		}},
	}
}
