-- Full-text search over message text and conversation titles, with FTS5.
--
-- messages.search_text is the text a user sees in a message: its text, then
-- the text of each "text" content part that differs from it, one per line.
-- The adapter computes it when it stores a message; the UPDATE below fills
-- it in for the messages stored before this migration.
--
-- Each FTS5 index takes its content from a view of the rows that may be
-- found: temporary messages and conversations are left out. Triggers keep
-- the index in step with the table in the statement that changes the row,
-- so inserts, edits and deletes (one message, one conversation or all of a
-- user's) reach the index in the same transaction. Queries join back to
-- the table by rowid and filter by user there.
ALTER TABLE messages ADD COLUMN search_text TEXT NOT NULL DEFAULT '';

UPDATE messages SET search_text = trim(
    text || char(10) || coalesce((
        SELECT group_concat(part, char(10)) FROM (
            SELECT CASE
                WHEN json_each.type <> 'object' THEN NULL
                WHEN json_extract(json_each.value, '$.type') IS NOT 'text' THEN NULL
                WHEN json_type(json_each.value, '$.text') = 'text' THEN json_extract(json_each.value, '$.text')
                WHEN json_type(json_each.value, '$.text') = 'object' THEN json_extract(json_each.value, '$.text.value')
            END AS part
            FROM json_each(CASE WHEN json_type(messages.content) = 'array' THEN messages.content END)
        )
        WHERE part IS NOT NULL AND trim(part) <> '' AND part <> messages.text
    ), ''),
    char(10))
WHERE text <> '' OR content IS NOT NULL;

CREATE VIEW messages_searchable (message_rowid, search_text) AS
    SELECT rowid, search_text FROM messages WHERE is_temporary = 0;

CREATE VIRTUAL TABLE messages_fts USING fts5(
    search_text,
    content = 'messages_searchable',
    content_rowid = 'message_rowid',
    tokenize = 'unicode61 remove_diacritics 2'
);

INSERT INTO messages_fts (messages_fts) VALUES ('rebuild');

CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages
WHEN new.is_temporary = 0
BEGIN
    INSERT INTO messages_fts (rowid, search_text) VALUES (new.rowid, new.search_text);
END;

CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages
WHEN old.is_temporary = 0
BEGIN
    INSERT INTO messages_fts (messages_fts, rowid, search_text) VALUES ('delete', old.rowid, old.search_text);
END;

CREATE TRIGGER messages_fts_update AFTER UPDATE OF search_text, is_temporary ON messages
WHEN old.search_text IS NOT new.search_text OR old.is_temporary IS NOT new.is_temporary
BEGIN
    INSERT INTO messages_fts (messages_fts, rowid, search_text)
        SELECT 'delete', old.rowid, old.search_text WHERE old.is_temporary = 0;
    INSERT INTO messages_fts (rowid, search_text)
        SELECT new.rowid, new.search_text WHERE new.is_temporary = 0;
END;

CREATE VIEW conversations_searchable (conversation_rowid, title) AS
    SELECT rowid, title FROM conversations WHERE is_temporary = 0;

CREATE VIRTUAL TABLE conversations_fts USING fts5(
    title,
    content = 'conversations_searchable',
    content_rowid = 'conversation_rowid',
    tokenize = 'unicode61 remove_diacritics 2'
);

INSERT INTO conversations_fts (conversations_fts) VALUES ('rebuild');

CREATE TRIGGER conversations_fts_insert AFTER INSERT ON conversations
WHEN new.is_temporary = 0
BEGIN
    INSERT INTO conversations_fts (rowid, title) VALUES (new.rowid, new.title);
END;

CREATE TRIGGER conversations_fts_delete AFTER DELETE ON conversations
WHEN old.is_temporary = 0
BEGIN
    INSERT INTO conversations_fts (conversations_fts, rowid, title) VALUES ('delete', old.rowid, old.title);
END;

CREATE TRIGGER conversations_fts_update AFTER UPDATE OF title, is_temporary ON conversations
WHEN old.title IS NOT new.title OR old.is_temporary IS NOT new.is_temporary
BEGIN
    INSERT INTO conversations_fts (conversations_fts, rowid, title)
        SELECT 'delete', old.rowid, old.title WHERE old.is_temporary = 0;
    INSERT INTO conversations_fts (rowid, title)
        SELECT new.rowid, new.title WHERE new.is_temporary = 0;
END;
