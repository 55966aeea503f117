-- Schema version 5: replies (a message quoting another) and reactions (an emoji on a message).
--
-- message_replies: what a text or picture quotes, as its sender sent it (docs/protocol.md 8.4):
-- the quoted message's id, its author's identity key and the sender's excerpt of its text. The
-- excerpt is a claim: where the quoted message is stored in the same conversation, the app shows
-- that original instead (app/replies.py). author_side says whose key ``author`` is, worked out
-- when the message was stored: 'out' mine, 'in' the contact's, NULL someone else's (a claim that
-- names nobody in this conversation). A row goes with its message.
CREATE TABLE message_replies (
    message_id   BLOB PRIMARY KEY REFERENCES messages (id) ON DELETE CASCADE,
    quoted_id    BLOB NOT NULL CHECK (length(quoted_id) = 16),
    author       BLOB NOT NULL CHECK (length(author) = 32),
    author_side  TEXT CHECK (author_side IS NULL OR author_side IN ('in', 'out')),
    excerpt      TEXT NOT NULL
) WITHOUT ROWID;

-- reactions: one per person and message ('out' = mine, 'in' = the contact's); a newer reaction
-- replaces the older (by the sender's time ``at``). A removed reaction keeps its row with emoji
-- NULL, so that an older reaction arriving late cannot bring it back.
CREATE TABLE reactions (
    message_id  BLOB NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    side        TEXT NOT NULL CHECK (side IN ('in', 'out')),
    emoji       TEXT,
    at          REAL NOT NULL,
    PRIMARY KEY (message_id, side)
) WITHOUT ROWID;
