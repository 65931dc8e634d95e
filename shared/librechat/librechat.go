// Package librechat is the vocabulary of the project: the domain types the
// LibreChat client sees, the small storage interfaces the API areas use, and
// the error kinds. It imports nothing else of this module.
package librechat

import (
	"context"
	"time"
)

// Special identifiers from the LibreChat client.
const (
	NoParent = "00000000-0000-0000-0000-000000000000"

	RoleUser  = "USER"
	RoleAdmin = "ADMIN"

	ProviderLocal = "local"
)

// Clock tells the time. Tests inject a fixed or stepping clock.
type Clock interface {
	Now() time.Time
}

// IDs generates identifiers. ObjectID returns 24 lowercase hex characters
// (the shape of Mongo ids the client expects for users, roles, tags);
// UUID returns a random RFC 4122 version 4 string.
type IDs interface {
	ObjectID() string
	UUID() string
}

// User is an account. Email is stored lowercased and is unique.
type User struct {
	ID                string
	Name              string
	Username          string
	Email             string
	EmailVerified     bool
	Avatar            string // empty: none
	Provider          string
	Role              string
	PasswordHash      string // argon2id PHC string, or an imported bcrypt hash
	TwoFactorEnabled  bool
	TOTPSecret        string       // base32; set while enabling and when enabled
	BackupCodes       []BackupCode // hashed
	TermsAccepted     bool
	PersonalizationID string
	Memories          bool
	Plugins           []string
	Disabled          bool // set by an admin: no login, no refresh
	CreatedAt         time.Time
	UpdatedAt         time.Time
}

// BackupCode is one two-factor backup code, kept only as a hash.
type BackupCode struct {
	Hash   string     `json:"codeHash"`
	Used   bool       `json:"used"`
	UsedAt *time.Time `json:"usedAt"`
}

// Session is one login's refresh-token family. Only hashes of refresh tokens
// are stored: the current one, and the one it replaced (accepted again for a
// short grace window so two tabs refreshing at once do not log each other out).
type Session struct {
	ID           string
	UserID       string
	CurrentHash  string
	PreviousHash string
	RotatedAt    time.Time
	ExpiresAt    time.Time
	CreatedAt    time.Time
}

// Role holds the permission switches the client reads from /api/roles/:name.
type Role struct {
	ID          string
	Name        string
	Description string
	Permissions map[string]map[string]bool
}

// Token is a one-time token (password reset, email verification), kept as a hash.
type Token struct {
	UserID    string
	Purpose   string
	Hash      string
	ExpiresAt time.Time
	CreatedAt time.Time
}

// Token purposes.
const (
	TokenPasswordReset = "password_reset"
	TokenVerifyEmail   = "verify_email"
)

// UserStore keeps accounts.
type UserStore interface {
	// CreateUser fails with KindConflict when the email is taken.
	CreateUser(ctx context.Context, u *User) error
	// UserByID and UserByEmail fail with KindNotFound when there is none.
	UserByID(ctx context.Context, id string) (*User, error)
	UserByEmail(ctx context.Context, email string) (*User, error)
	// UpdateUser replaces the stored user with the same ID (KindNotFound if absent;
	// KindConflict if the new email is taken), except Role and Disabled: those
	// keep whatever is stored, whatever u holds. A request that read the user
	// before an admin changed their access therefore cannot undo that change
	// by saving its copy. Change them with SetUserAccess.
	UpdateUser(ctx context.Context, u *User) error
	// SetUserAccess sets the stored user's Role, Disabled and UpdatedAt (to
	// at) and nothing else, in one write that never creates a user
	// (KindNotFound if absent). An UpdateUser racing it, even with a copy read
	// before, leaves what SetUserAccess stored.
	SetUserAccess(ctx context.Context, id, role string, disabled bool, at time.Time) error
	// CountUsers counts every account.
	CountUsers(ctx context.Context) (int, error)
}

// SessionStore keeps refresh-token families.
type SessionStore interface {
	CreateSession(ctx context.Context, s *Session) error
	// SessionByID fails with KindNotFound when there is none.
	SessionByID(ctx context.Context, id string) (*Session, error)
	// RotateSession sets CurrentHash to next and PreviousHash to the old
	// current, stamping RotatedAt, only if the stored CurrentHash equals
	// expect; otherwise it fails with KindConflict (KindNotFound if absent).
	RotateSession(ctx context.Context, id, expect, next string, at time.Time) error
	DeleteSession(ctx context.Context, id string) error
	// DeleteUserSessions ends every login of a user.
	DeleteUserSessions(ctx context.Context, userID string) error
}

// RoleStore keeps roles.
type RoleStore interface {
	// RoleByName fails with KindNotFound when there is none.
	RoleByName(ctx context.Context, name string) (*Role, error)
	// PutRole creates or replaces the role with r.Name.
	PutRole(ctx context.Context, r *Role) error
}

// TokenStore keeps one-time tokens.
type TokenStore interface {
	// PutToken replaces any token of the same user and purpose.
	PutToken(ctx context.Context, t *Token) error
	// TakeToken returns and deletes the user's token of that purpose
	// (KindNotFound if none). Expiry is the caller's to check.
	TakeToken(ctx context.Context, userID, purpose string) (*Token, error)
}

// SettingStore keeps small named values: per-user settings such as
// favorites, and process-wide ones such as generated secrets.
type SettingStore interface {
	// Setting fails with KindNotFound when the key is unset.
	Setting(ctx context.Context, key string) ([]byte, error)
	PutSetting(ctx context.Context, key string, value []byte) error
	// PutSettingIfAbsent stores value only when the key is unset and returns
	// what is stored afterwards (the winner, when two callers race).
	PutSettingIfAbsent(ctx context.Context, key string, value []byte) ([]byte, error)
}

// Store is everything an adapter provides. Areas depend on the narrower
// interfaces above.
type Store interface {
	UserStore
	SessionStore
	RoleStore
	TokenStore
	SettingStore
	ChatStore
	LibraryStore
	Close() error
}
