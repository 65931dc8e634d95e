package librechat

import (
	"context"
	"encoding/json"
	"time"
)

// Conversation is one chat of one user. The fields the server reasons about
// are typed; every other field the client keeps on a conversation (model
// parameters such as temperature or promptPrefix, endpointType, agent_id,
// spec, iconURL…) travels in Fields as raw JSON, keyed by its client name.
type Conversation struct {
	ID          string // conversationId (UUID)
	ObjectID    string // the Mongo-shaped _id the client sees
	UserID      string
	Title       string
	Endpoint    string
	Model       string
	IsArchived  bool
	Pinned      bool
	IsTemporary bool
	ExpiredAt   time.Time // zero: never
	Tags        []string
	Fields      map[string]json.RawMessage
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// Message is one node of a conversation's message tree. As with
// Conversation, fields the server does not reason about (files, feedback,
// metadata, quotes, attachments, iconURL…) travel in Fields.
type Message struct {
	ID              string // messageId
	ObjectID        string // _id
	ConversationID  string
	UserID          string
	ParentID        string // parentMessageId; NoParent for a root
	Sender          string
	Text            string
	Content         json.RawMessage // JSON array of content parts, or nil
	IsCreatedByUser bool
	Endpoint        string
	Model           string
	Error           bool
	Unfinished      bool
	IsTemporary     bool
	ExpiredAt       time.Time
	TokenCount      int
	Fields          map[string]json.RawMessage
	CreatedAt       time.Time
	UpdatedAt       time.Time
}

// Tag is a bookmark: a named label a user puts on conversations.
type Tag struct {
	ObjectID    string
	UserID      string
	Name        string
	Description string
	Count       int
	Position    int
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// Conversation list orders.
const (
	SortUpdatedAt = "updatedAt"
	SortCreatedAt = "createdAt"
	SortTitle     = "title"
)

// ConversationQuery selects one page of a user's conversations. Temporary
// conversations are never listed.
type ConversationQuery struct {
	Archived bool     // archived ones only, or unarchived ones only
	Tags     []string // when set: conversations carrying at least one of them
	Search   string   // when set: title contains it, case-insensitively
	SortBy   string   // SortUpdatedAt (default), SortCreatedAt or SortTitle
	Asc      bool
	After    *Cursor // resume after this position
	Limit    int     // <= 0: 25
}

// Cursor is a position in a sorted list: the sort key of the last item
// returned (a time as RFC 3339 with nanoseconds in UTC, or a title) and its
// id as tie-breaker.
type Cursor struct {
	Key string `json:"k"`
	ID  string `json:"i"`
}

// ConversationStore keeps conversations. Every method is scoped by user: a
// conversation of another user is reported as not found.
type ConversationStore interface {
	// PutConversation creates or replaces the conversation (c.UserID, c.ID).
	// It fails with KindConflict when c.ID belongs to another user.
	PutConversation(ctx context.Context, c *Conversation) error
	// Conversation fails with KindNotFound when the user has none with that id.
	Conversation(ctx context.Context, userID, id string) (*Conversation, error)
	// ListConversations returns one page and the cursor of the next page
	// (nil on the last page).
	ListConversations(ctx context.Context, userID string, q ConversationQuery) ([]*Conversation, *Cursor, error)
	// DeleteConversation removes the conversation and its messages and
	// reports how many messages went (KindNotFound when absent).
	DeleteConversation(ctx context.Context, userID, id string) (int, error)
	// DeleteConversations removes every conversation and message of the
	// user and reports how many conversations went.
	DeleteConversations(ctx context.Context, userID string) (int, error)
}

// MessageStore keeps messages. Every method is scoped by user.
type MessageStore interface {
	// PutMessages creates or replaces each message (m.ConversationID, m.ID),
	// all or none. It fails with KindConflict when an id belongs to another
	// user.
	PutMessages(ctx context.Context, msgs ...*Message) error
	// Messages returns a conversation's messages ordered by CreatedAt, then ID.
	Messages(ctx context.Context, userID, conversationID string) ([]*Message, error)
	// Message fails with KindNotFound when absent.
	Message(ctx context.Context, userID, conversationID, id string) (*Message, error)
	// DeleteMessage removes one message (KindNotFound when absent).
	DeleteMessage(ctx context.Context, userID, conversationID, id string) error
}

// TagStore keeps bookmarks.
type TagStore interface {
	// Tags returns the user's tags ordered by Position, then Name.
	Tags(ctx context.Context, userID string) ([]*Tag, error)
	// CreateTag fails with KindConflict when the user has a tag of that name.
	CreateTag(ctx context.Context, t *Tag) error
	// PutTag creates or replaces the tag (t.UserID, t.Name).
	PutTag(ctx context.Context, t *Tag) error
	// DeleteTag fails with KindNotFound when absent.
	DeleteTag(ctx context.Context, userID, name string) error
}

// Balance is a user's token credit account.
type Balance struct {
	UserID              string
	TokenCredits        int64
	AutoRefillEnabled   bool
	RefillIntervalValue int
	RefillIntervalUnit  string
	RefillAmount        int64
	LastRefill          time.Time
}

// Transaction is one change of a balance: spending (negative Amount) for a
// model call, or a grant.
type Transaction struct {
	ID             string
	UserID         string
	ConversationID string
	MessageID      string
	Model          string
	TokenType      string // "prompt", "completion" or "credits"
	RawAmount      int64  // tokens (negative when spent)
	Rate           float64
	Amount         int64 // credits applied to the balance
	Context        string
	CreatedAt      time.Time
}

// BalanceStore keeps balances and their transactions.
type BalanceStore interface {
	// Balance fails with KindNotFound when the user has no balance yet.
	Balance(ctx context.Context, userID string) (*Balance, error)
	// PutBalanceIfAbsent creates b when the user has no balance and returns
	// what is stored afterwards.
	PutBalanceIfAbsent(ctx context.Context, b *Balance) (*Balance, error)
	// AddTransaction records t and adds t.Amount to the user's TokenCredits
	// in one atomic step (creating a zero balance first when there is none),
	// returning the new credits.
	AddTransaction(ctx context.Context, t *Transaction) (int64, error)
	// Transactions lists the user's transactions, oldest first.
	Transactions(ctx context.Context, userID string) ([]*Transaction, error)
}

// ChatStore is what the chat, conversation and message areas need.
type ChatStore interface {
	ConversationStore
	MessageStore
	TagStore
	BalanceStore
}
