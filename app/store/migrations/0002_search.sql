-- Schema version 2: full-text search over message bodies and attachment file names.
--
-- An external-content FTS5 table: the text lives once, in messages/attachments (through the
-- messages_search_source view); the index holds only tokens. Triggers keep it in step, and the
-- 'rebuild' at the end indexes every message a version-1 database already holds.
-- unicode61 splits on every character that is not a letter or a digit, so URLs
-- ("example.com/path") and file names ("holiday_photo-2024.jpg") fall apart into words;
-- remove_diacritics 2 lets "cafe" find "café".

CREATE VIEW messages_search_source (seq, body, file_name) AS
    SELECT m.seq, m.body, coalesce(a.file_name, '')
    FROM messages AS m LEFT JOIN attachments AS a ON a.id = m.attachment_id;

CREATE VIRTUAL TABLE messages_fts USING fts5 (
    body,
    file_name,
    content = 'messages_search_source',
    content_rowid = 'seq',
    tokenize = 'unicode61 remove_diacritics 2'
);

CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN
    INSERT INTO messages_fts (rowid, body, file_name)
    VALUES (new.seq, new.body,
            coalesce((SELECT file_name FROM attachments WHERE id = new.attachment_id), ''));
END;

CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
    INSERT INTO messages_fts (messages_fts, rowid, body, file_name)
    VALUES ('delete', old.seq, old.body,
            coalesce((SELECT file_name FROM attachments WHERE id = old.attachment_id), ''));
END;

CREATE TRIGGER messages_fts_update AFTER UPDATE OF body, attachment_id ON messages BEGIN
    INSERT INTO messages_fts (messages_fts, rowid, body, file_name)
    VALUES ('delete', old.seq, old.body,
            coalesce((SELECT file_name FROM attachments WHERE id = old.attachment_id), ''));
    INSERT INTO messages_fts (rowid, body, file_name)
    VALUES (new.seq, new.body,
            coalesce((SELECT file_name FROM attachments WHERE id = new.attachment_id), ''));
END;

INSERT INTO messages_fts (messages_fts) VALUES ('rebuild');

-- The index holds each message's attachment file name; renaming an attachment would leave it stale.
CREATE TRIGGER attachments_file_name_fixed BEFORE UPDATE OF file_name ON attachments BEGIN
    SELECT RAISE (ABORT, 'attachment file names never change');
END;
