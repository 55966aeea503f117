-- Schema version 6: the outbox of payloads that are not messages (reactions).
--
-- A reaction is sent under its own random relay message id and is never a row of ``messages``;
-- until the relay confirms it has stored it, its encrypted payload waits here, so that a
-- reaction made offline, or just before the app closed, is sent at the next login like a
-- message is (app/messaging.py pending_outgoing).
CREATE TABLE outbox (
    id          BLOB PRIMARY KEY CHECK (length(id) = 16),
    recipient   BLOB NOT NULL CHECK (length(recipient) = 32),
    payload     BLOB NOT NULL,
    created_at  REAL NOT NULL
) WITHOUT ROWID;
