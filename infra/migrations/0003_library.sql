-- Files, presets, shared links, groups, model configurations, the audit log
-- and the admin user list. As in 0002, a time that is a list sort key is
-- NOT NULL and keeps the zero time as its own unix milliseconds
-- (-62135596800000); every other time is NULL for the zero time. Lists and
-- maps are JSON text; raw JSON values are stored verbatim.

-- Uploaded files, keyed by their globally unique file_id and owned by
-- user_id. fields is a JSON object of raw JSON values.
CREATE TABLE files (
    id              TEXT    NOT NULL PRIMARY KEY,
    user_id         TEXT    NOT NULL,
    object_id       TEXT    NOT NULL DEFAULT '',
    temp_file_id    TEXT    NOT NULL DEFAULT '',
    filename        TEXT    NOT NULL DEFAULT '',
    filepath        TEXT    NOT NULL DEFAULT '',
    storage_key     TEXT    NOT NULL DEFAULT '',
    source          TEXT    NOT NULL DEFAULT '',
    type            TEXT    NOT NULL DEFAULT '',
    bytes           INTEGER NOT NULL DEFAULT 0,
    width           INTEGER NOT NULL DEFAULT 0,
    height          INTEGER NOT NULL DEFAULT 0,
    context         TEXT    NOT NULL DEFAULT '',
    conversation_id TEXT    NOT NULL DEFAULT '',
    text            TEXT    NOT NULL DEFAULT '',
    embedded        INTEGER NOT NULL DEFAULT 0,
    fields          TEXT    NOT NULL DEFAULT 'null',
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER
);

-- A user's files, newest first, walked backwards.
CREATE INDEX files_user_created ON files (user_id, created_at, id);

-- Presets, keyed by their globally unique presetId and owned by user_id.
-- position is the client's "order". At most one default per user.
CREATE TABLE presets (
    id         TEXT    NOT NULL PRIMARY KEY,
    user_id    TEXT    NOT NULL,
    object_id  TEXT    NOT NULL DEFAULT '',
    title      TEXT    NOT NULL DEFAULT '',
    endpoint   TEXT    NOT NULL DEFAULT '',
    is_default INTEGER NOT NULL DEFAULT 0,
    position   INTEGER NOT NULL DEFAULT 0,
    fields     TEXT    NOT NULL DEFAULT 'null',
    created_at INTEGER,
    updated_at INTEGER NOT NULL
);

-- A user's presets in list order: by position, the newest update first.
CREATE INDEX presets_order ON presets (user_id, position, updated_at DESC, id);
CREATE UNIQUE INDEX presets_default ON presets (user_id) WHERE is_default = 1;

-- Shared links, keyed by share_id; one link per user and conversation.
-- message_ids is a JSON array.
CREATE TABLE shared_links (
    share_id          TEXT    NOT NULL PRIMARY KEY,
    user_id           TEXT    NOT NULL,
    conversation_id   TEXT    NOT NULL,
    object_id         TEXT    NOT NULL DEFAULT '',
    title             TEXT    NOT NULL DEFAULT '',
    is_public         INTEGER NOT NULL DEFAULT 0,
    message_ids       TEXT    NOT NULL DEFAULT 'null',
    target_message_id TEXT    NOT NULL DEFAULT '',
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL
);

CREATE UNIQUE INDEX shared_links_conversation ON shared_links (user_id, conversation_id);
-- One index per list order, sort key then id, as for conversations.
CREATE INDEX shared_links_created ON shared_links (user_id, created_at, share_id);
CREATE INDEX shared_links_updated ON shared_links (user_id, updated_at, share_id);
CREATE INDEX shared_links_title   ON shared_links (user_id, title, share_id);

-- Groups of users, by unique name.
CREATE TABLE groups (
    id          TEXT NOT NULL PRIMARY KEY,
    name        TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    created_at  INTEGER,
    updated_at  INTEGER
);

CREATE UNIQUE INDEX groups_name ON groups (name);

-- Memberships, deleted together with their group.
CREATE TABLE group_members (
    group_id TEXT NOT NULL,
    user_id  TEXT NOT NULL,
    PRIMARY KEY (group_id, user_id)
);

CREATE INDEX group_members_user ON group_members (user_id, group_id);

-- Model configurations: one name per scope and scope id (the group or user
-- id, '' for the system scope). spec is raw JSON, NULL for none.
CREATE TABLE model_configs (
    id         TEXT NOT NULL PRIMARY KEY,
    scope      TEXT NOT NULL,
    scope_id   TEXT NOT NULL DEFAULT '',
    name       TEXT NOT NULL,
    spec       TEXT,
    created_at INTEGER,
    updated_at INTEGER,
    updated_by TEXT NOT NULL DEFAULT ''
);

CREATE UNIQUE INDEX model_configs_name ON model_configs (scope, scope_id, name);

-- The admin audit log, listed newest first. detail is raw JSON, NULL for none.
CREATE TABLE audit (
    id         TEXT    NOT NULL PRIMARY KEY,
    actor_id   TEXT    NOT NULL DEFAULT '',
    action     TEXT    NOT NULL DEFAULT '',
    target     TEXT    NOT NULL DEFAULT '',
    detail     TEXT,
    created_at INTEGER NOT NULL
);

CREATE INDEX audit_created ON audit (created_at, id);

-- The admin user list, by creation time (NULL, the zero time, first).
CREATE INDEX users_created ON users (created_at, id);
