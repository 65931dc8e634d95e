-- Conversations, keyed by their globally unique conversationId and owned by
-- user_id. tags is a JSON array of names; fields is a JSON object whose
-- values are the client's raw JSON. created_at and updated_at are list sort
-- keys and therefore NOT NULL: the zero time is stored as its own unix
-- milliseconds (-62135596800000), which sorts before every real time.
-- expired_at is NULL for the zero time, like every other time.
CREATE TABLE conversations (
    id           TEXT    NOT NULL PRIMARY KEY,
    object_id    TEXT    NOT NULL DEFAULT '',
    user_id      TEXT    NOT NULL,
    title        TEXT    NOT NULL DEFAULT '',
    endpoint     TEXT    NOT NULL DEFAULT '',
    model        TEXT    NOT NULL DEFAULT '',
    is_archived  INTEGER NOT NULL DEFAULT 0,
    pinned       INTEGER NOT NULL DEFAULT 0,
    is_temporary INTEGER NOT NULL DEFAULT 0,
    expired_at   INTEGER,
    tags         TEXT    NOT NULL DEFAULT 'null',
    fields       TEXT    NOT NULL DEFAULT 'null',
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
);

-- One index per list order. The equality prefix (user, temporary, archived)
-- selects the rows a list may show; the sort key and the id tie-breaker
-- follow, so a page is one range scan that resumes after its cursor.
CREATE INDEX conversations_updated ON conversations (user_id, is_temporary, is_archived, updated_at, id);
CREATE INDEX conversations_created ON conversations (user_id, is_temporary, is_archived, created_at, id);
CREATE INDEX conversations_title   ON conversations (user_id, is_temporary, is_archived, title, id);

-- One row per (user, tag, conversation), rewritten together with the
-- conversation's tags column, so that a tag filter is an index lookup.
CREATE TABLE conversation_tags (
    user_id         TEXT NOT NULL,
    tag             TEXT NOT NULL,
    conversation_id TEXT NOT NULL,
    PRIMARY KEY (user_id, tag, conversation_id)
);

CREATE INDEX conversation_tags_conversation ON conversation_tags (conversation_id);

-- Messages, keyed by conversation and messageId and owned by user_id.
-- content is the JSON array of content parts, NULL for none; fields is a
-- JSON object of raw JSON values. Times are unix milliseconds, NULL for the
-- zero time.
CREATE TABLE messages (
    conversation_id    TEXT    NOT NULL,
    id                 TEXT    NOT NULL,
    object_id          TEXT    NOT NULL DEFAULT '',
    user_id            TEXT    NOT NULL,
    parent_id          TEXT    NOT NULL DEFAULT '',
    sender             TEXT    NOT NULL DEFAULT '',
    text               TEXT    NOT NULL DEFAULT '',
    content            TEXT,
    is_created_by_user INTEGER NOT NULL DEFAULT 0,
    endpoint           TEXT    NOT NULL DEFAULT '',
    model              TEXT    NOT NULL DEFAULT '',
    error              INTEGER NOT NULL DEFAULT 0,
    unfinished         INTEGER NOT NULL DEFAULT 0,
    is_temporary       INTEGER NOT NULL DEFAULT 0,
    expired_at         INTEGER,
    token_count        INTEGER NOT NULL DEFAULT 0,
    fields             TEXT    NOT NULL DEFAULT 'null',
    created_at         INTEGER,
    updated_at         INTEGER,
    PRIMARY KEY (conversation_id, id)
);

-- Serves a conversation's messages in order, and deleting a conversation's
-- or a user's messages.
CREATE INDEX messages_user_conversation ON messages (user_id, conversation_id, created_at, id);

-- Bookmarks: one name per user.
CREATE TABLE tags (
    user_id     TEXT    NOT NULL,
    name        TEXT    NOT NULL,
    object_id   TEXT    NOT NULL DEFAULT '',
    description TEXT    NOT NULL DEFAULT '',
    count       INTEGER NOT NULL DEFAULT 0,
    position    INTEGER NOT NULL DEFAULT 0,
    created_at  INTEGER,
    updated_at  INTEGER,
    PRIMARY KEY (user_id, name)
);

CREATE INDEX tags_position ON tags (user_id, position, name);

-- Token credit accounts, one per user.
CREATE TABLE balances (
    user_id               TEXT    NOT NULL PRIMARY KEY,
    token_credits         INTEGER NOT NULL DEFAULT 0,
    auto_refill_enabled   INTEGER NOT NULL DEFAULT 0,
    refill_interval_value INTEGER NOT NULL DEFAULT 0,
    refill_interval_unit  TEXT    NOT NULL DEFAULT '',
    refill_amount         INTEGER NOT NULL DEFAULT 0,
    last_refill           INTEGER
);

-- Every change of a balance, written in the same transaction as the change.
CREATE TABLE transactions (
    id              TEXT    NOT NULL PRIMARY KEY,
    user_id         TEXT    NOT NULL,
    conversation_id TEXT    NOT NULL DEFAULT '',
    message_id      TEXT    NOT NULL DEFAULT '',
    model           TEXT    NOT NULL DEFAULT '',
    token_type      TEXT    NOT NULL DEFAULT '',
    raw_amount      INTEGER NOT NULL DEFAULT 0,
    rate            REAL    NOT NULL DEFAULT 0,
    amount          INTEGER NOT NULL DEFAULT 0,
    context         TEXT    NOT NULL DEFAULT '',
    created_at      INTEGER
);

CREATE INDEX transactions_user_created ON transactions (user_id, created_at, id);
