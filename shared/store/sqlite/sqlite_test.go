package sqlite

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/lcgo/lcgo/infra/migrations"
	"github.com/lcgo/lcgo/shared/librechat"
	"github.com/lcgo/lcgo/shared/store/storetest"
)

func openTemp(t *testing.T) (*Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "librechat.db")
	st, err := Open(context.Background(), path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return st, path
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) librechat.Store {
		st, _ := openTemp(t)
		return st
	})
}

type appliedRow struct {
	Version   int
	AppliedAt int64
}

func applied(t *testing.T, st *Store) []appliedRow {
	t.Helper()
	rows, err := st.r.Query(`SELECT version, applied_at FROM schema_migrations ORDER BY version`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []appliedRow
	for rows.Next() {
		var r appliedRow
		if err := rows.Scan(&r.Version, &r.AppliedAt); err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestSchemaMigrationsRecordsEveryVersion(t *testing.T) {
	all, err := migrations.All()
	if err != nil {
		t.Fatal(err)
	}
	if len(all) == 0 {
		t.Fatal("no embedded migrations")
	}
	st, _ := openTemp(t)
	defer st.Close()
	got := applied(t, st)
	if len(got) != len(all) {
		t.Fatalf("schema_migrations has %d rows, want %d", len(got), len(all))
	}
	for i, m := range all {
		if got[i].Version != m.Version {
			t.Errorf("schema_migrations row %d has version %d, want %d", i, got[i].Version, m.Version)
		}
		if age := time.Since(time.UnixMilli(got[i].AppliedAt)); age < 0 || age > time.Minute {
			t.Errorf("version %d applied_at is %v ago, want just now", m.Version, age)
		}
	}
}

func TestReopenAppliesNothingTwice(t *testing.T) {
	ctx := context.Background()
	st, path := openTemp(t)
	before := applied(t, st)
	u := &librechat.User{ID: "u1", Email: "Kept@Example.com", Name: "kept"}
	if err := st.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	if err := st.PutSetting(ctx, "k", []byte("v")); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	time.Sleep(5 * time.Millisecond) // a re-applied migration would get a later applied_at
	for range 2 {
		st, err := Open(ctx, path)
		if err != nil {
			t.Fatalf("re-Open: %v", err)
		}
		if after := applied(t, st); !reflect.DeepEqual(after, before) {
			t.Errorf("schema_migrations changed on re-open:\nbefore %v\nafter  %v", before, after)
		}
		got, err := st.UserByEmail(ctx, "kept@example.com")
		if err != nil || got.Name != "kept" {
			t.Errorf("user after re-open = %+v, %v", got, err)
		}
		if v, err := st.Setting(ctx, "k"); err != nil || string(v) != "v" {
			t.Errorf("setting after re-open = %q, %v", v, err)
		}
		if err := st.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

func TestConcurrentOpenOfOneFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "shared.db")
	const n = 4
	stores := make([]*Store, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			stores[i], errs[i] = Open(context.Background(), path)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("Open %d: %v", i, err)
		}
		defer stores[i].Close()
	}
	all, err := migrations.All()
	if err != nil {
		t.Fatal(err)
	}
	if got := applied(t, stores[0]); len(got) != len(all) {
		t.Fatalf("schema_migrations has %d rows after concurrent opens, want %d", len(got), len(all))
	}
	// Writes through one Store are visible through another.
	if err := stores[1].PutSetting(context.Background(), "k", []byte("v")); err != nil {
		t.Fatal(err)
	}
	if v, err := stores[2].Setting(context.Background(), "k"); err != nil || string(v) != "v" {
		t.Fatalf("Setting through another Store = %q, %v", v, err)
	}
}

func TestFreshDatabaseHasEveryTable(t *testing.T) {
	st, path := openTemp(t)
	defer st.Close()
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("database file: %v", err)
	}

	names := func(kind string) []string {
		rows, err := st.r.Query(`SELECT name FROM sqlite_master WHERE type = ? AND name NOT LIKE 'sqlite_%' ORDER BY name`, kind)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var out []string
		for rows.Next() {
			var s string
			if err := rows.Scan(&s); err != nil {
				t.Fatal(err)
			}
			out = append(out, s)
		}
		return out
	}
	wantTables := []string{
		"audit", "balances", "conversation_tags", "conversations",
		"conversations_fts", "conversations_fts_config", "conversations_fts_data", "conversations_fts_docsize", "conversations_fts_idx",
		"files", "group_members", "groups", "messages",
		"messages_fts", "messages_fts_config", "messages_fts_data", "messages_fts_docsize", "messages_fts_idx",
		"model_configs", "presets", "roles", "schema_migrations",
		"sessions", "settings", "shared_links", "tags", "tokens", "transactions", "users",
	}
	if got := names("table"); !reflect.DeepEqual(got, wantTables) {
		t.Errorf("tables = %v, want %v", got, wantTables)
	}
	gotIndexes := names("index")
	for _, want := range []string{
		"conversation_tags_conversation", "conversations_created", "conversations_title", "conversations_updated",
		"messages_user_conversation", "sessions_user_id", "tags_position", "transactions_user_created", "users_email",
		"audit_created", "files_user_created", "group_members_user", "groups_name", "model_configs_name",
		"presets_default", "presets_order", "shared_links_conversation", "shared_links_created",
		"shared_links_title", "shared_links_updated", "users_created",
	} {
		if i := sort.SearchStrings(gotIndexes, want); i == len(gotIndexes) || gotIndexes[i] != want {
			t.Errorf("index %s missing; have %v", want, gotIndexes)
		}
	}
	for _, ix := range []struct{ table, index string }{
		{"users", "users_email"}, {"presets", "presets_default"}, {"shared_links", "shared_links_conversation"},
		{"groups", "groups_name"}, {"model_configs", "model_configs_name"},
	} {
		var unique int
		if err := st.r.QueryRow(`SELECT "unique" FROM pragma_index_list(?) WHERE name = ?`, ix.table, ix.index).Scan(&unique); err != nil || unique != 1 {
			t.Errorf("%s unique = %d, %v; want 1", ix.index, unique, err)
		}
	}
	if got := names("view"); !reflect.DeepEqual(got, []string{"conversations_searchable", "messages_searchable"}) {
		t.Errorf("views = %v", got)
	}
	if got := names("trigger"); len(got) != 6 {
		t.Errorf("triggers = %v, want the three of each FTS index", got)
	}
}

func TestConnectionSettings(t *testing.T) {
	st, _ := openTemp(t)
	defer st.Close()
	var mode string
	if err := st.w.QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil || !strings.EqualFold(mode, "wal") {
		t.Errorf("journal_mode = %q, %v; want wal", mode, err)
	}
	check := func(what, pragma string, want int, q func(string) (int, error)) {
		t.Helper()
		got, err := q(pragma)
		if err != nil || got != want {
			t.Errorf("%s %s = %d, %v; want %d", what, pragma, got, err, want)
		}
	}
	qw := func(p string) (n int, err error) { err = st.w.QueryRow(`PRAGMA ` + p).Scan(&n); return }
	qr := func(p string) (n int, err error) { err = st.r.QueryRow(`PRAGMA ` + p).Scan(&n); return }
	check("writer", "foreign_keys", 1, qw)
	check("reader", "foreign_keys", 1, qr)
	check("writer", "busy_timeout", 5000, qw)
	check("reader", "busy_timeout", 5000, qr)
	check("reader", "query_only", 1, qr)
	if _, err := st.r.Exec(`INSERT INTO settings (key, value) VALUES ('x', 'y')`); err == nil {
		t.Error("the read pool accepted a write")
	}
}

func TestStoredRepresentation(t *testing.T) {
	ctx := context.Background()
	st, _ := openTemp(t)
	defer st.Close()
	created := time.Date(2025, 1, 2, 3, 4, 5, 678_901_234, time.FixedZone("X", -7*3600))
	used := created.Add(time.Hour)
	u := &librechat.User{
		ID: "u1", Email: "MiXeD@Example.COM", CreatedAt: created,
		BackupCodes: []librechat.BackupCode{{Hash: "h", Used: true, UsedAt: &used}},
		Plugins:     []string{"a"},
	}
	if err := st.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	if u.Email != "MiXeD@Example.COM" {
		t.Errorf("CreateUser changed the caller's Email to %q", u.Email)
	}
	var (
		email, createdType, codes, plugins string
		createdMS                          int64
		updated                            *int64
	)
	err := st.r.QueryRow(`SELECT email, typeof(created_at), created_at, updated_at, backup_codes, plugins FROM users WHERE id = 'u1'`).
		Scan(&email, &createdType, &createdMS, &updated, &codes, &plugins)
	if err != nil {
		t.Fatal(err)
	}
	if email != "mixed@example.com" {
		t.Errorf("stored email = %q, want it lowercased", email)
	}
	if createdType != "integer" || createdMS != created.UnixMilli() {
		t.Errorf("stored created_at = %s %d, want integer %d", createdType, createdMS, created.UnixMilli())
	}
	if updated != nil {
		t.Errorf("stored updated_at = %d, want NULL for the zero time", *updated)
	}
	if want := `[{"codeHash":"h","used":true,"usedAt":` + strconv.FormatInt(used.UnixMilli(), 10) + `}]`; codes != want {
		t.Errorf("stored backup_codes = %s, want %s", codes, want)
	}
	if plugins != `["a"]` {
		t.Errorf("stored plugins = %s, want [\"a\"]", plugins)
	}

	got, err := st.UserByID(ctx, "u1")
	if err != nil {
		t.Fatal(err)
	}
	if !got.CreatedAt.Equal(created.Truncate(time.Millisecond)) || got.CreatedAt.Location() != time.UTC {
		t.Errorf("CreatedAt = %v, want %v in UTC", got.CreatedAt, created.Truncate(time.Millisecond))
	}
	if !got.UpdatedAt.IsZero() {
		t.Errorf("UpdatedAt = %v, want zero", got.UpdatedAt)
	}
}

func TestOpenOddPaths(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "odd ?#% dir")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "data?x=1#frag%20.db")
	st, err := Open(ctx, path)
	if err != nil {
		t.Fatalf("Open(%q): %v", path, err)
	}
	if err := st.PutSetting(ctx, "k", []byte("v")); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("the database is not at the exact path: %v", err)
	}

	for _, p := range []string{"", ":memory:"} {
		if _, err := Open(ctx, p); librechat.KindOf(err) != librechat.KindInvalid {
			t.Errorf("Open(%q) = %v, want kind invalid", p, err)
		}
	}
	if _, err := Open(ctx, filepath.Join(t.TempDir(), "no", "such", "dir", "x.db")); err == nil {
		t.Error("Open in a missing directory succeeded")
	}
}

func TestErrorsCarryOp(t *testing.T) {
	ctx := context.Background()
	st, _ := openTemp(t)
	defer st.Close()
	_, err := st.UserByID(ctx, "missing")
	var e *librechat.Error
	if !asError(err, &e) || e.Op != "sqlite.UserByID" || e.Kind != librechat.KindNotFound {
		t.Errorf("UserByID error = %#v", err)
	}
	if err := st.CreateUser(ctx, &librechat.User{ID: "a", Email: "x@example.com"}); err != nil {
		t.Fatal(err)
	}
	err = st.CreateUser(ctx, &librechat.User{ID: "b", Email: "X@example.com"})
	if !asError(err, &e) || e.Op != "sqlite.CreateUser" || e.Kind != librechat.KindConflict || e.Err == nil {
		t.Errorf("duplicate CreateUser error = %#v", err)
	}
	err = st.CreateUser(ctx, &librechat.User{ID: "a", Email: "other@example.com"})
	if librechat.KindOf(err) != librechat.KindConflict {
		t.Errorf("CreateUser with a taken id = %v, want a conflict", err)
	}
	if err := st.CreateUser(ctx, &librechat.User{Email: "noid@example.com"}); librechat.KindOf(err) != librechat.KindInvalid {
		t.Errorf("CreateUser without an id = %v, want invalid", err)
	}
	if err := st.CreateSession(ctx, &librechat.Session{ID: "s", UserID: "a"}); err != nil {
		t.Fatal(err)
	}
	if err := st.CreateSession(ctx, &librechat.Session{ID: "s", UserID: "a"}); librechat.KindOf(err) != librechat.KindConflict {
		t.Errorf("CreateSession with a taken id = %v, want a conflict", err)
	}

	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := st.UserByID(cctx, "a"); err == nil || librechat.KindOf(err) != librechat.KindOther {
		t.Errorf("UserByID with a cancelled context = %v, want an internal error", err)
	}
}

func asError(err error, target **librechat.Error) bool { return errors.As(err, target) }

func TestMigrationsList(t *testing.T) {
	all, err := migrations.All()
	if err != nil {
		t.Fatal(err)
	}
	if all[0].Version != 1 || all[0].Name != "0001_init.sql" {
		t.Fatalf("first migration = %d %q, want 1 0001_init.sql", all[0].Version, all[0].Name)
	}
	for i, m := range all {
		if m.Version != i+1 {
			t.Errorf("migration %q has version %d, want %d (versions are contiguous)", m.Name, m.Version, i+1)
		}
		upper := strings.ToUpper(m.SQL)
		for _, banned := range []string{"PRAGMA", "ATTACH"} {
			if strings.Contains(upper, banned) {
				t.Errorf("migration %q contains %s, which D1 does not accept", m.Name, banned)
			}
		}
	}

	ms, err := migrations.List(fstest.MapFS{
		"0010_ten.sql":  {Data: []byte("CREATE TABLE ten (x);")},
		"0002_two.sql":  {Data: []byte("CREATE TABLE two (x);")},
		"0001_one.sql":  {Data: []byte("CREATE TABLE one (x);")},
		"README.md":     {Data: []byte("not a migration")},
		"0003_three.sq": {Data: []byte("not a migration either")},
	})
	if err != nil {
		t.Fatal(err)
	}
	var versions []int
	for _, m := range ms {
		versions = append(versions, m.Version)
	}
	if !reflect.DeepEqual(versions, []int{1, 2, 10}) {
		t.Fatalf("versions = %v, want [1 2 10]", versions)
	}
	if ms[2].Name != "0010_ten.sql" || ms[2].SQL != "CREATE TABLE ten (x);" {
		t.Fatalf("last migration = %+v", ms[2])
	}

	for name, fsys := range map[string]fstest.MapFS{
		"no prefix":    {"init.sql": {}},
		"no separator": {"0001init.sql": {}},
		"zero":         {"0000_zero.sql": {}},
		"duplicate":    {"0001_a.sql": {}, "1_b.sql": {}},
	} {
		if _, err := migrations.List(fsys); err == nil {
			t.Errorf("%s: List succeeded, want an error", name)
		}
	}
}
