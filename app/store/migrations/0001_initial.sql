-- Parley store, schema version 1: every table the messenger keeps.
-- Applied by migrate.py inside one transaction; PRAGMA user_version records the result.

CREATE TABLE identity (
    id            INTEGER PRIMARY KEY CHECK (id = 1),
    seed          BLOB NOT NULL CHECK (length(seed) = 32),
    display_name  TEXT NOT NULL,
    relay_url     TEXT NOT NULL,
    created_at    REAL NOT NULL
);

CREATE TABLE signed_prekeys (
    key_id       INTEGER PRIMARY KEY CHECK (key_id >= 0),
    private_key  BLOB NOT NULL CHECK (length(private_key) = 32),
    public_key   BLOB NOT NULL CHECK (length(public_key) = 32),
    signature    BLOB NOT NULL CHECK (length(signature) = 64),
    created_at   REAL NOT NULL,
    is_current   INTEGER NOT NULL CHECK (is_current IN (0, 1))
);

CREATE TABLE one_time_prekeys (
    key_id       INTEGER PRIMARY KEY CHECK (key_id >= 0),
    private_key  BLOB NOT NULL CHECK (length(private_key) = 32),
    public_key   BLOB NOT NULL CHECK (length(public_key) = 32),
    published    INTEGER NOT NULL DEFAULT 0 CHECK (published IN (0, 1))
);

CREATE TABLE contacts (
    id             TEXT PRIMARY KEY,
    display_name   TEXT NOT NULL,
    identity_key   BLOB NOT NULL CHECK (length(identity_key) = 32),
    verified       INTEGER NOT NULL DEFAULT 0 CHECK (verified IN (0, 1)),
    key_changed    INTEGER NOT NULL DEFAULT 0 CHECK (key_changed IN (0, 1)),
    first_seen     REAL NOT NULL,
    build_variant  TEXT NOT NULL
);

CREATE TABLE sessions (
    contact_id  TEXT PRIMARY KEY REFERENCES contacts (id) ON DELETE CASCADE,
    state       BLOB NOT NULL,
    updated_at  REAL NOT NULL
);

CREATE TABLE conversations (
    id             TEXT PRIMARY KEY,
    contact_id     TEXT NOT NULL UNIQUE REFERENCES contacts (id) ON DELETE CASCADE,
    unread         INTEGER NOT NULL DEFAULT 0 CHECK (unread >= 0),
    last_activity  REAL NOT NULL
);

CREATE TABLE attachments (
    id          TEXT PRIMARY KEY,
    mime_type   TEXT NOT NULL,
    size        INTEGER NOT NULL CHECK (size >= 0),
    width       INTEGER NOT NULL CHECK (width >= 0),
    height      INTEGER NOT NULL CHECK (height >= 0),
    file_name   TEXT NOT NULL,
    key         BLOB NOT NULL CHECK (length(key) = 32),
    content     BLOB NOT NULL,
    created_at  REAL NOT NULL
);

-- seq is the paging key: AUTOINCREMENT so that it never goes backwards, even after deletions.
CREATE TABLE messages (
    seq              INTEGER PRIMARY KEY AUTOINCREMENT,
    id               BLOB NOT NULL UNIQUE CHECK (length(id) = 16),
    conversation_id  TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    direction        TEXT NOT NULL CHECK (direction IN ('in', 'out')),
    sender           TEXT NOT NULL,
    body             TEXT NOT NULL,
    sent_at          REAL NOT NULL,
    received_at      REAL,
    status           TEXT NOT NULL
                     CHECK (status IN ('sending', 'sent', 'delivered', 'read', 'failed', 'rejected')),
    attachment_id    TEXT REFERENCES attachments (id)
);

CREATE INDEX messages_by_conversation ON messages (conversation_id, seq);
CREATE INDEX messages_by_attachment ON messages (attachment_id) WHERE attachment_id IS NOT NULL;

CREATE TABLE settings (
    key    TEXT PRIMARY KEY,
    value  TEXT NOT NULL
);

CREATE TABLE relay_records (
    message_id    BLOB PRIMARY KEY CHECK (length(message_id) = 16),
    direction     TEXT NOT NULL CHECK (direction IN ('in', 'out')),
    frame         BLOB NOT NULL,
    metadata      TEXT NOT NULL,
    recorded_at   REAL NOT NULL,
    stored_until  REAL,
    deleted       INTEGER NOT NULL DEFAULT 0 CHECK (deleted IN (0, 1))
);
