package librechat

import (
	"context"
	"encoding/json"
	"time"
)

// File is an uploaded file: a message attachment or an avatar. Its bytes
// live in blob storage under StorageKey; the record says what they are.
type File struct {
	ID             string // file_id (UUID)
	ObjectID       string // _id
	UserID         string
	TempFileID     string // the client's provisional id
	Filename       string
	Filepath       string // URL the browser fetches
	StorageKey     string // key in blob storage
	Source         string // "local", "s3"
	Type           string // MIME type, as sniffed
	Bytes          int64
	Width, Height  int    // images only
	Context        string // "message_attachment", "avatar"
	ConversationID string
	Text           string // extracted text of a text document, for the model
	Embedded       bool
	Fields         map[string]json.RawMessage
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// FileStore keeps file records. Every method is scoped by user.
type FileStore interface {
	// PutFile creates or replaces the record (f.UserID, f.ID); KindConflict
	// when the id belongs to another user.
	PutFile(ctx context.Context, f *File) error
	// File fails with KindNotFound when the user has no file with that id.
	File(ctx context.Context, userID, id string) (*File, error)
	// Files lists the user's files, newest first.
	Files(ctx context.Context, userID string) ([]*File, error)
	// DeleteFile fails with KindNotFound when absent.
	DeleteFile(ctx context.Context, userID, id string) error
}

// Preset is a saved set of conversation settings.
type Preset struct {
	ID        string // presetId
	ObjectID  string
	UserID    string
	Title     string
	Endpoint  string
	IsDefault bool // defaultPreset
	Order     int
	Fields    map[string]json.RawMessage // every other setting
	CreatedAt time.Time
	UpdatedAt time.Time
}

// PresetStore keeps presets. Every method is scoped by user.
type PresetStore interface {
	// Presets lists the user's presets by Order, then UpdatedAt descending.
	Presets(ctx context.Context, userID string) ([]*Preset, error)
	// PutPreset creates or replaces (p.UserID, p.ID); when p.IsDefault it
	// clears the flag on the user's other presets in the same step.
	// KindConflict when the id belongs to another user.
	PutPreset(ctx context.Context, p *Preset) error
	// DeletePreset fails with KindNotFound when absent.
	DeletePreset(ctx context.Context, userID, id string) error
	// DeletePresets removes all of the user's presets and reports how many.
	DeletePresets(ctx context.Context, userID string) (int, error)
}

// SharedLink publishes a snapshot of a conversation, read-only, by ShareID.
type SharedLink struct {
	ShareID         string
	ObjectID        string
	UserID          string
	ConversationID  string
	Title           string
	IsPublic        bool
	MessageIDs      []string // the snapshot: messages shared, up to TargetMessageID
	TargetMessageID string
	CreatedAt       time.Time
	UpdatedAt       time.Time
}

// ShareQuery selects one page of a user's shared links.
type ShareQuery struct {
	SortBy string // SortCreatedAt (default), SortUpdatedAt or SortTitle
	Asc    bool
	Search string // title contains it, case-insensitively
	After  *Cursor
	Limit  int // <= 0: 25
}

// ShareStore keeps shared links.
type ShareStore interface {
	// PutShare creates or replaces the link with s.ShareID; KindConflict
	// when the share id belongs to another user, or the user already has a
	// different link for the conversation.
	PutShare(ctx context.Context, s *SharedLink) error
	// Share finds a link by its id alone (the public view), whether
	// IsPublic or not: the caller checks it; KindNotFound.
	Share(ctx context.Context, shareID string) (*SharedLink, error)
	// ShareOf finds the user's link for a conversation; KindNotFound.
	ShareOf(ctx context.Context, userID, conversationID string) (*SharedLink, error)
	// Shares lists one page of the user's links and the next cursor.
	Shares(ctx context.Context, userID string, q ShareQuery) ([]*SharedLink, *Cursor, error)
	// DeleteShare fails with KindNotFound when the user has no such link.
	DeleteShare(ctx context.Context, userID, shareID string) error
}

// Group is a named set of users, for model configurations.
type Group struct {
	ID          string
	Name        string // unique
	Description string
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// GroupStore keeps groups and memberships.
type GroupStore interface {
	// CreateGroup fails with KindConflict when the name is taken.
	CreateGroup(ctx context.Context, g *Group) error
	// UpdateGroup replaces a group (KindNotFound; KindConflict on a taken name).
	UpdateGroup(ctx context.Context, g *Group) error
	// Group fails with KindNotFound.
	Group(ctx context.Context, id string) (*Group, error)
	// Groups lists every group by name.
	Groups(ctx context.Context) ([]*Group, error)
	// DeleteGroup removes the group and its memberships (KindNotFound).
	DeleteGroup(ctx context.Context, id string) error
	// AddMember is idempotent; KindNotFound when the group is absent.
	AddMember(ctx context.Context, groupID, userID string) error
	// RemoveMember is idempotent.
	RemoveMember(ctx context.Context, groupID, userID string) error
	// Members lists the user ids of a group.
	Members(ctx context.Context, groupID string) ([]string, error)
	// GroupsOf lists the ids of the groups a user belongs to.
	GroupsOf(ctx context.Context, userID string) ([]string, error)
}

// Model configuration scopes.
const (
	ScopeSystem = "system"
	ScopeGroup  = "group"
	ScopeUser   = "user"
)

// ModelConfig is a predefined model configuration at one scope. Its
// behaviour (parameters, constraints, tools, system message) is in Spec,
// whose shape package modelcfg owns.
type ModelConfig struct {
	ID        string
	Scope     string // ScopeSystem, ScopeGroup or ScopeUser
	ScopeID   string // the group or user id; "" for system
	Name      string // unique within (Scope, ScopeID)
	Spec      json.RawMessage
	CreatedAt time.Time
	UpdatedAt time.Time
	UpdatedBy string
}

// ModelConfigStore keeps model configurations.
type ModelConfigStore interface {
	// CreateModelConfig fails with KindConflict when (Scope, ScopeID, Name) is
	// taken, and with KindInvalid on an unknown scope, a ScopeSystem one with
	// a ScopeID, or a group or user one without.
	CreateModelConfig(ctx context.Context, c *ModelConfig) error
	// UpdateModelConfig replaces one by ID (KindNotFound; KindConflict on a taken name).
	UpdateModelConfig(ctx context.Context, c *ModelConfig) error
	// ModelConfig fails with KindNotFound.
	ModelConfig(ctx context.Context, id string) (*ModelConfig, error)
	// ModelConfigs lists one scope's configurations by name; scopeID "" with
	// ScopeSystem. An empty scope lists every configuration, by scope,
	// scope id, then name.
	ModelConfigs(ctx context.Context, scope, scopeID string) ([]*ModelConfig, error)
	// DeleteModelConfig fails with KindNotFound.
	DeleteModelConfig(ctx context.Context, id string) error
}

// AuditEntry records one change made through the admin API.
type AuditEntry struct {
	ID        string
	ActorID   string
	Action    string // e.g. "user.role", "group.create", "modelconfig.update"
	Target    string // the id changed
	Detail    json.RawMessage
	CreatedAt time.Time
}

// AuditStore keeps the audit log.
type AuditStore interface {
	AddAudit(ctx context.Context, e *AuditEntry) error
	// Audit lists entries newest first, one page at a time.
	Audit(ctx context.Context, after *Cursor, limit int) ([]*AuditEntry, *Cursor, error)
}

// UserQuery selects one page of users for the admin API, by creation time.
type UserQuery struct {
	After *Cursor
	Limit int // <= 0: 25
}

// UserLister lists accounts.
type UserLister interface {
	ListUsers(ctx context.Context, q UserQuery) ([]*User, *Cursor, error)
}

// SearchHit is one message found by search, with its conversation's title.
type SearchHit struct {
	Message *Message
	Title   string
}

// Searcher finds a user's messages and conversations by text: ranked,
// matching word prefixes, never another user's rows. Every word of q must
// match; q is plain text, never query syntax, and no q is an error (one
// without words finds nothing). A message is found by its Text and the text
// of its "text" content parts; temporary messages and conversations are
// never found. The cursors are opaque positions in the ranked results
// (limit <= 0: 25): pages neither skip nor repeat a result while the user's
// messages do not change between requests.
type Searcher interface {
	// SearchMessages pages through the user's messages matching q.
	SearchMessages(ctx context.Context, userID, q string, after *Cursor, limit int) ([]SearchHit, *Cursor, error)
	// SearchConversations lists the user's conversations whose title or
	// messages match q, each once; more matching messages rank higher.
	SearchConversations(ctx context.Context, userID, q string, after *Cursor, limit int) ([]*Conversation, *Cursor, error)
}

// LibraryStore is what the files, presets, share, admin and search
// features need.
type LibraryStore interface {
	FileStore
	PresetStore
	ShareStore
	GroupStore
	ModelConfigStore
	AuditStore
	UserLister
	Searcher
}
