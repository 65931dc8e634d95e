-- Accounts. The adapter lowercases email before storing it, so the unique
-- index makes email lookups case-insensitive. Lists and structured fields
-- (backup_codes, plugins) are JSON text. Times are INTEGER unix
-- milliseconds UTC; NULL stands for the zero time.
CREATE TABLE users (
    id                 TEXT    NOT NULL PRIMARY KEY,
    name               TEXT    NOT NULL DEFAULT '',
    username           TEXT    NOT NULL DEFAULT '',
    email              TEXT    NOT NULL,
    email_verified     INTEGER NOT NULL DEFAULT 0,
    avatar             TEXT    NOT NULL DEFAULT '',
    provider           TEXT    NOT NULL DEFAULT '',
    role               TEXT    NOT NULL DEFAULT '',
    password_hash      TEXT    NOT NULL DEFAULT '',
    two_factor_enabled INTEGER NOT NULL DEFAULT 0,
    totp_secret        TEXT    NOT NULL DEFAULT '',
    backup_codes       TEXT    NOT NULL DEFAULT 'null',
    terms_accepted     INTEGER NOT NULL DEFAULT 0,
    personalization_id TEXT    NOT NULL DEFAULT '',
    memories           INTEGER NOT NULL DEFAULT 0,
    plugins            TEXT    NOT NULL DEFAULT 'null',
    disabled           INTEGER NOT NULL DEFAULT 0,
    created_at         INTEGER,
    updated_at         INTEGER
);

CREATE UNIQUE INDEX users_email ON users (email);

-- Refresh-token families: only hashes are kept.
CREATE TABLE sessions (
    id            TEXT NOT NULL PRIMARY KEY,
    user_id       TEXT NOT NULL,
    current_hash  TEXT NOT NULL,
    previous_hash TEXT NOT NULL DEFAULT '',
    rotated_at    INTEGER,
    expires_at    INTEGER,
    created_at    INTEGER
);

CREATE INDEX sessions_user_id ON sessions (user_id);

-- Roles, replaced whole by name. permissions is a JSON object of objects.
CREATE TABLE roles (
    id          TEXT NOT NULL DEFAULT '',
    name        TEXT NOT NULL PRIMARY KEY,
    description TEXT NOT NULL DEFAULT '',
    permissions TEXT NOT NULL DEFAULT 'null'
);

-- One-time tokens, at most one per user and purpose.
CREATE TABLE tokens (
    user_id    TEXT NOT NULL,
    purpose    TEXT NOT NULL,
    hash       TEXT NOT NULL,
    expires_at INTEGER,
    created_at INTEGER,
    PRIMARY KEY (user_id, purpose)
);

-- Small named values.
CREATE TABLE settings (
    key   TEXT NOT NULL PRIMARY KEY,
    value BLOB NOT NULL
);
