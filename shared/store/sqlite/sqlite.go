// Package sqlite is the storage adapter for a local SQLite file, in pure Go
// (modernc.org/sqlite, no cgo). It applies the versioned schema from
// infra/migrations on Open and implements librechat.Store.
//
// Writes go through a single connection, so writers of one process queue in
// Go instead of polling SQLite's lock; reads use a separate pool of read-only
// connections, which WAL mode lets run alongside the writer. Explicit
// transactions begin IMMEDIATE and every connection waits up to busy_timeout
// for a lock held by another process.
package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"time"

	msqlite "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/lcgo/lcgo/infra/migrations"
	"github.com/lcgo/lcgo/shared/librechat"
)

// busyTimeout is how long a statement waits for another process's lock.
const (
	busyTimeout   = 5 * time.Second
	busyTimeoutMS = "5000"
)

// Store is a librechat.Store backed by one SQLite database file.
type Store struct {
	w *sql.DB // one connection: every write
	r *sql.DB // read-only connections
}

var _ librechat.Store = (*Store)(nil)

// Open opens (creating if needed) the database file at path, which must be a
// file path, not ":memory:"; its directory must exist. It switches the file
// to WAL, turns on foreign keys and applies every migration not yet recorded
// in schema_migrations, each in its own transaction. Re-opening an up-to-date
// file applies nothing.
func Open(ctx context.Context, path string) (*Store, error) {
	const op = "sqlite.Open"
	if path == "" || path == ":memory:" {
		return nil, withOp(librechat.E(librechat.KindInvalid, "sqlite: path must be a plain file path"), op)
	}
	base := "file:" + escapePath(path) + "?_pragma=busy_timeout(" + busyTimeoutMS + ")&_pragma=foreign_keys(1)"

	w, err := sql.Open("sqlite", base+"&_pragma=synchronous(NORMAL)&_txlock=immediate")
	if err != nil {
		return nil, librechat.Wrap(librechat.KindOther, op, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	if err := w.PingContext(ctx); err != nil {
		w.Close()
		return nil, librechat.Wrap(librechat.KindOther, op, err)
	}
	if err := setWAL(ctx, w); err != nil {
		w.Close()
		return nil, librechat.Wrap(librechat.KindOther, op, err)
	}
	if err := migrate(ctx, w); err != nil {
		w.Close()
		return nil, librechat.Wrap(librechat.KindOther, op, err)
	}

	r, err := sql.Open("sqlite", base+"&_pragma=query_only(1)")
	if err != nil {
		w.Close()
		return nil, librechat.Wrap(librechat.KindOther, op, err)
	}
	n := max(4, runtime.GOMAXPROCS(0))
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)
	if err := r.PingContext(ctx); err != nil {
		r.Close()
		w.Close()
		return nil, librechat.Wrap(librechat.KindOther, op, err)
	}
	return &Store{w: w, r: r}, nil
}

// Close closes both connection pools.
func (s *Store) Close() error {
	err := errors.Join(s.r.Close(), s.w.Close())
	if err != nil {
		return librechat.Wrap(librechat.KindOther, "sqlite.Close", err)
	}
	return nil
}

// escapePath makes path safe inside a SQLite URI filename, where '%' starts
// an escape and '?' and '#' end the path.
func escapePath(path string) string {
	return strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(path)
}

// setWAL switches the file to WAL journaling, which then persists in the
// file for every later connection. The switch needs an exclusive lock and
// SQLite reports SQLITE_BUSY at once, without waiting, when another
// connection is opening the same file, so it is retried here for as long as
// busy_timeout would wait.
func setWAL(ctx context.Context, db *sql.DB) error {
	const step = 10 * time.Millisecond
	deadline := time.Now().Add(busyTimeout)
	for {
		var mode string
		err := db.QueryRowContext(ctx, `PRAGMA journal_mode = WAL`).Scan(&mode)
		if err == nil {
			if !strings.EqualFold(mode, "wal") {
				return errors.New("journal_mode is " + mode + ", not wal")
			}
			return nil
		}
		if !isBusy(err) || time.Now().Add(step).After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(step):
		}
	}
}

// migrate creates schema_migrations and applies the pending migrations in
// version order, each in its own (immediate) transaction together with the
// row that records it.
func migrate(ctx context.Context, db *sql.DB) error {
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER NOT NULL PRIMARY KEY,
		applied_at INTEGER NOT NULL
	)`); err != nil {
		return err
	}
	all, err := migrations.All()
	if err != nil {
		return err
	}
	for _, m := range all {
		if err := applyMigration(ctx, db, m); err != nil {
			return fmt.Errorf("migration %s: %w", m.Name, err)
		}
	}
	return nil
}

func applyMigration(ctx context.Context, db *sql.DB, m migrations.Migration) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations WHERE version = ?`, m.Version).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return nil
	}
	if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`,
		m.Version, time.Now().UnixMilli()); err != nil {
		return err
	}
	return tx.Commit()
}

// ---- errors and conversions ----

func withOp(e *librechat.Error, op string) *librechat.Error {
	e.Op = op
	return e
}

func notFound(op, msg string) error {
	return withOp(librechat.E(librechat.KindNotFound, "%s", msg), op)
}

func conflict(op, msg string, cause error) error {
	e := withOp(librechat.E(librechat.KindConflict, "%s", msg), op)
	e.Err = cause
	return e
}

func invalid(op, msg string) error {
	return withOp(librechat.E(librechat.KindInvalid, "%s", msg), op)
}

func other(op string, err error) error {
	return librechat.Wrap(librechat.KindOther, op, err)
}

// isUnique reports a UNIQUE or PRIMARY KEY constraint violation.
func isUnique(err error) bool {
	var se *msqlite.Error
	if !errors.As(err, &se) {
		return false
	}
	switch se.Code() {
	case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
		return true
	}
	return false
}

// isBusy reports SQLITE_BUSY or one of its extended codes.
func isBusy(err error) bool {
	var se *msqlite.Error
	return errors.As(err, &se) && se.Code()&0xff == sqlite3.SQLITE_BUSY
}

// msOf stores a time as unix milliseconds; the zero time is NULL.
func msOf(t time.Time) sql.NullInt64 {
	if t.IsZero() {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: t.UnixMilli(), Valid: true}
}

// timeOf reads unix milliseconds back as a UTC time; NULL is the zero time.
func timeOf(n sql.NullInt64) time.Time {
	if !n.Valid {
		return time.Time{}
	}
	return time.UnixMilli(n.Int64).UTC()
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// backupCode is the stored form of librechat.BackupCode: usedAt in unix
// milliseconds, like every other time in the database.
type backupCode struct {
	Hash   string `json:"codeHash"`
	Used   bool   `json:"used"`
	UsedAt *int64 `json:"usedAt"`
}

func encodeBackupCodes(codes []librechat.BackupCode) (string, error) {
	if codes == nil {
		return "null", nil
	}
	out := make([]backupCode, len(codes))
	for i, c := range codes {
		out[i] = backupCode{Hash: c.Hash, Used: c.Used}
		if c.UsedAt != nil {
			ms := c.UsedAt.UnixMilli()
			out[i].UsedAt = &ms
		}
	}
	b, err := json.Marshal(out)
	return string(b), err
}

func decodeBackupCodes(s string) ([]librechat.BackupCode, error) {
	var in []backupCode
	if err := json.Unmarshal([]byte(s), &in); err != nil {
		return nil, err
	}
	if in == nil {
		return nil, nil
	}
	out := make([]librechat.BackupCode, len(in))
	for i, c := range in {
		out[i] = librechat.BackupCode{Hash: c.Hash, Used: c.Used}
		if c.UsedAt != nil {
			t := time.UnixMilli(*c.UsedAt).UTC()
			out[i].UsedAt = &t
		}
	}
	return out, nil
}

func encodeJSON(v any) (string, error) {
	b, err := json.Marshal(v)
	return string(b), err
}

// ---- users ----

const userColumns = `id, name, username, email, email_verified, avatar, provider, role,
	password_hash, two_factor_enabled, totp_secret, backup_codes, terms_accepted,
	personalization_id, memories, plugins, disabled, created_at, updated_at`

// userArgs returns the values of userColumns, in order, for u.
func userArgs(u *librechat.User) ([]any, error) {
	codes, err := encodeBackupCodes(u.BackupCodes)
	if err != nil {
		return nil, err
	}
	plugins, err := encodeJSON(u.Plugins)
	if err != nil {
		return nil, err
	}
	return []any{
		u.ID, u.Name, u.Username, strings.ToLower(u.Email), boolInt(u.EmailVerified), u.Avatar, u.Provider, u.Role,
		u.PasswordHash, boolInt(u.TwoFactorEnabled), u.TOTPSecret, codes, boolInt(u.TermsAccepted),
		u.PersonalizationID, boolInt(u.Memories), plugins, boolInt(u.Disabled), msOf(u.CreatedAt), msOf(u.UpdatedAt),
	}, nil
}

func scanUser(row scanner) (*librechat.User, error) {
	var (
		u                    librechat.User
		codes, plugins       string
		created, updated     sql.NullInt64
		verified, twoFA, tos int
		memories, disabled   int
	)
	err := row.Scan(&u.ID, &u.Name, &u.Username, &u.Email, &verified, &u.Avatar, &u.Provider, &u.Role,
		&u.PasswordHash, &twoFA, &u.TOTPSecret, &codes, &tos,
		&u.PersonalizationID, &memories, &plugins, &disabled, &created, &updated)
	if err != nil {
		return nil, err
	}
	u.EmailVerified, u.TwoFactorEnabled, u.TermsAccepted = verified != 0, twoFA != 0, tos != 0
	u.Memories, u.Disabled = memories != 0, disabled != 0
	u.CreatedAt, u.UpdatedAt = timeOf(created), timeOf(updated)
	if u.BackupCodes, err = decodeBackupCodes(codes); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(plugins), &u.Plugins); err != nil {
		return nil, err
	}
	return &u, nil
}

// CreateUser stores a new account with its email lowercased. It fails with
// KindConflict when the email (or the id) is taken.
func (s *Store) CreateUser(ctx context.Context, u *librechat.User) error {
	const op = "sqlite.CreateUser"
	if u == nil || u.ID == "" {
		return invalid(op, "user id is required")
	}
	args, err := userArgs(u)
	if err != nil {
		return other(op, err)
	}
	_, err = s.w.ExecContext(ctx, `INSERT INTO users (`+userColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, args...)
	if isUnique(err) {
		return conflict(op, "a user with this email already exists", err)
	}
	if err != nil {
		return other(op, err)
	}
	return nil
}

// UserByID fails with KindNotFound when there is no such user.
func (s *Store) UserByID(ctx context.Context, id string) (*librechat.User, error) {
	const op = "sqlite.UserByID"
	u, err := scanUser(s.r.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound(op, "user not found")
	}
	if err != nil {
		return nil, other(op, err)
	}
	return u, nil
}

// UserByEmail looks the email up case-insensitively; it fails with
// KindNotFound when there is no such user.
func (s *Store) UserByEmail(ctx context.Context, email string) (*librechat.User, error) {
	const op = "sqlite.UserByEmail"
	u, err := scanUser(s.r.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE email = ?`, strings.ToLower(email)))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound(op, "user not found")
	}
	if err != nil {
		return nil, other(op, err)
	}
	return u, nil
}

// UpdateUser replaces every field of the stored user with u.ID but role
// and disabled, which only SetUserAccess writes.
func (s *Store) UpdateUser(ctx context.Context, u *librechat.User) error {
	const op = "sqlite.UpdateUser"
	if u == nil || u.ID == "" {
		return invalid(op, "user id is required")
	}
	codes, err := encodeBackupCodes(u.BackupCodes)
	if err != nil {
		return other(op, err)
	}
	plugins, err := encodeJSON(u.Plugins)
	if err != nil {
		return other(op, err)
	}
	res, err := s.w.ExecContext(ctx, `UPDATE users SET
		name = ?, username = ?, email = ?, email_verified = ?, avatar = ?, provider = ?,
		password_hash = ?, two_factor_enabled = ?, totp_secret = ?, backup_codes = ?, terms_accepted = ?,
		personalization_id = ?, memories = ?, plugins = ?, created_at = ?, updated_at = ?
		WHERE id = ?`,
		u.Name, u.Username, strings.ToLower(u.Email), boolInt(u.EmailVerified), u.Avatar, u.Provider,
		u.PasswordHash, boolInt(u.TwoFactorEnabled), u.TOTPSecret, codes, boolInt(u.TermsAccepted),
		u.PersonalizationID, boolInt(u.Memories), plugins, msOf(u.CreatedAt), msOf(u.UpdatedAt),
		u.ID)
	if isUnique(err) {
		return conflict(op, "a user with this email already exists", err)
	}
	if err != nil {
		return other(op, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return other(op, err)
	}
	if n == 0 {
		return notFound(op, "user not found")
	}
	return nil
}

// SetUserAccess writes only role, disabled and updated_at of the user with
// that id, in one statement.
func (s *Store) SetUserAccess(ctx context.Context, id, role string, disabled bool, at time.Time) error {
	const op = "sqlite.SetUserAccess"
	res, err := s.w.ExecContext(ctx, `UPDATE users SET role = ?, disabled = ?, updated_at = ? WHERE id = ?`,
		role, boolInt(disabled), msOf(at), id)
	if err != nil {
		return other(op, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return other(op, err)
	}
	if n == 0 {
		return notFound(op, "user not found")
	}
	return nil
}

// CountUsers counts every account.
func (s *Store) CountUsers(ctx context.Context) (int, error) {
	var n int
	if err := s.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM users`).Scan(&n); err != nil {
		return 0, other("sqlite.CountUsers", err)
	}
	return n, nil
}

// ---- sessions ----

// CreateSession stores a new session; an existing id is KindConflict.
func (s *Store) CreateSession(ctx context.Context, ss *librechat.Session) error {
	const op = "sqlite.CreateSession"
	if ss == nil || ss.ID == "" {
		return invalid(op, "session id is required")
	}
	_, err := s.w.ExecContext(ctx, `INSERT INTO sessions
		(id, user_id, current_hash, previous_hash, rotated_at, expires_at, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`,
		ss.ID, ss.UserID, ss.CurrentHash, ss.PreviousHash, msOf(ss.RotatedAt), msOf(ss.ExpiresAt), msOf(ss.CreatedAt))
	if isUnique(err) {
		return conflict(op, "session already exists", err)
	}
	if err != nil {
		return other(op, err)
	}
	return nil
}

// SessionByID fails with KindNotFound when there is no such session.
func (s *Store) SessionByID(ctx context.Context, id string) (*librechat.Session, error) {
	const op = "sqlite.SessionByID"
	var (
		ss                        librechat.Session
		rotated, expires, created sql.NullInt64
	)
	err := s.r.QueryRowContext(ctx, `SELECT id, user_id, current_hash, previous_hash, rotated_at, expires_at, created_at
		FROM sessions WHERE id = ?`, id).
		Scan(&ss.ID, &ss.UserID, &ss.CurrentHash, &ss.PreviousHash, &rotated, &expires, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound(op, "session not found")
	}
	if err != nil {
		return nil, other(op, err)
	}
	ss.RotatedAt, ss.ExpiresAt, ss.CreatedAt = timeOf(rotated), timeOf(expires), timeOf(created)
	return &ss, nil
}

// RotateSession is one compare-and-swap statement: it changes the row only
// while current_hash still equals expect.
func (s *Store) RotateSession(ctx context.Context, id, expect, next string, at time.Time) error {
	const op = "sqlite.RotateSession"
	res, err := s.w.ExecContext(ctx, `UPDATE sessions
		SET previous_hash = current_hash, current_hash = ?, rotated_at = ?
		WHERE id = ? AND current_hash = ?`, next, msOf(at), id, expect)
	if err != nil {
		return other(op, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return other(op, err)
	}
	if n == 1 {
		return nil
	}
	var one int
	err = s.r.QueryRowContext(ctx, `SELECT 1 FROM sessions WHERE id = ?`, id).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return notFound(op, "session not found")
	}
	if err != nil {
		return other(op, err)
	}
	return conflict(op, "session was rotated by another request", nil)
}

// DeleteSession removes a session; removing an absent one is not an error.
func (s *Store) DeleteSession(ctx context.Context, id string) error {
	if _, err := s.w.ExecContext(ctx, `DELETE FROM sessions WHERE id = ?`, id); err != nil {
		return other("sqlite.DeleteSession", err)
	}
	return nil
}

// DeleteUserSessions removes every session of userID.
func (s *Store) DeleteUserSessions(ctx context.Context, userID string) error {
	if _, err := s.w.ExecContext(ctx, `DELETE FROM sessions WHERE user_id = ?`, userID); err != nil {
		return other("sqlite.DeleteUserSessions", err)
	}
	return nil
}

// ---- roles ----

// RoleByName fails with KindNotFound when there is no such role.
func (s *Store) RoleByName(ctx context.Context, name string) (*librechat.Role, error) {
	const op = "sqlite.RoleByName"
	var (
		r     librechat.Role
		perms string
	)
	err := s.r.QueryRowContext(ctx, `SELECT id, name, description, permissions FROM roles WHERE name = ?`, name).
		Scan(&r.ID, &r.Name, &r.Description, &perms)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound(op, "role not found")
	}
	if err != nil {
		return nil, other(op, err)
	}
	if err := json.Unmarshal([]byte(perms), &r.Permissions); err != nil {
		return nil, other(op, err)
	}
	return &r, nil
}

// PutRole creates or wholly replaces the role named r.Name.
func (s *Store) PutRole(ctx context.Context, r *librechat.Role) error {
	const op = "sqlite.PutRole"
	if r == nil || r.Name == "" {
		return invalid(op, "role name is required")
	}
	perms, err := encodeJSON(r.Permissions)
	if err != nil {
		return other(op, err)
	}
	_, err = s.w.ExecContext(ctx, `INSERT INTO roles (id, name, description, permissions) VALUES (?, ?, ?, ?)
		ON CONFLICT (name) DO UPDATE SET
			id = excluded.id, description = excluded.description, permissions = excluded.permissions`,
		r.ID, r.Name, r.Description, perms)
	if err != nil {
		return other(op, err)
	}
	return nil
}

// ---- tokens ----

// PutToken stores t, replacing any token of the same user and purpose.
func (s *Store) PutToken(ctx context.Context, t *librechat.Token) error {
	const op = "sqlite.PutToken"
	if t == nil || t.UserID == "" || t.Purpose == "" {
		return invalid(op, "token user and purpose are required")
	}
	_, err := s.w.ExecContext(ctx, `INSERT INTO tokens (user_id, purpose, hash, expires_at, created_at)
		VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (user_id, purpose) DO UPDATE SET
			hash = excluded.hash, expires_at = excluded.expires_at, created_at = excluded.created_at`,
		t.UserID, t.Purpose, t.Hash, msOf(t.ExpiresAt), msOf(t.CreatedAt))
	if err != nil {
		return other(op, err)
	}
	return nil
}

// TakeToken deletes and returns the token in one statement, so of several
// concurrent callers exactly one receives it.
func (s *Store) TakeToken(ctx context.Context, userID, purpose string) (*librechat.Token, error) {
	const op = "sqlite.TakeToken"
	t := librechat.Token{UserID: userID, Purpose: purpose}
	var expires, created sql.NullInt64
	err := s.w.QueryRowContext(ctx, `DELETE FROM tokens WHERE user_id = ? AND purpose = ?
		RETURNING hash, expires_at, created_at`, userID, purpose).Scan(&t.Hash, &expires, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound(op, "token not found")
	}
	if err != nil {
		return nil, other(op, err)
	}
	t.ExpiresAt, t.CreatedAt = timeOf(expires), timeOf(created)
	return &t, nil
}

// ---- settings ----

// Setting fails with KindNotFound when the key is unset.
func (s *Store) Setting(ctx context.Context, key string) ([]byte, error) {
	const op = "sqlite.Setting"
	var v []byte
	err := s.r.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = ?`, key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound(op, "setting not found")
	}
	if err != nil {
		return nil, other(op, err)
	}
	if v == nil {
		v = []byte{}
	}
	return v, nil
}

// PutSetting sets key to value, replacing any previous value.
func (s *Store) PutSetting(ctx context.Context, key string, value []byte) error {
	const op = "sqlite.PutSetting"
	if key == "" {
		return invalid(op, "setting key is required")
	}
	if value == nil {
		value = []byte{}
	}
	_, err := s.w.ExecContext(ctx, `INSERT INTO settings (key, value) VALUES (?, ?)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value`, key, value)
	if err != nil {
		return other(op, err)
	}
	return nil
}

// PutSettingIfAbsent inserts value unless key is set and returns the stored
// value, in one transaction.
func (s *Store) PutSettingIfAbsent(ctx context.Context, key string, value []byte) ([]byte, error) {
	const op = "sqlite.PutSettingIfAbsent"
	if key == "" {
		return nil, invalid(op, "setting key is required")
	}
	if value == nil {
		value = []byte{}
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return nil, other(op, err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `INSERT INTO settings (key, value) VALUES (?, ?)
		ON CONFLICT (key) DO NOTHING`, key, value); err != nil {
		return nil, other(op, err)
	}
	var v []byte
	if err := tx.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = ?`, key).Scan(&v); err != nil {
		return nil, other(op, err)
	}
	if err := tx.Commit(); err != nil {
		return nil, other(op, err)
	}
	if v == nil {
		v = []byte{}
	}
	return v, nil
}
