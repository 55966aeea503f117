-- Schema version 4: message requests, blocking, proven key changes, system lines, replay cache.
--
-- contacts.state: 'accepted' (a contact), 'request' (a stranger's first messages, waiting for the
-- user to accept, delete or block), 'blocked' (deliveries from this identity are acknowledged and
-- dropped; ``dropped`` counts them). Contacts that exist before this version stay 'accepted'.
-- contacts.claimed_name: the name a stranger gave itself (a claim, never trusted as a name).
-- contacts.claims_was: an identity key the sender claimed to replace WITHOUT a valid succession
-- statement (the user may merge the two after comparing safety numbers).
-- contacts.succession_at: the time of the last succession statement accepted for this contact; a
-- later statement must carry a later time (no replay of an older rebinding).
ALTER TABLE contacts ADD COLUMN state TEXT NOT NULL DEFAULT 'accepted'
    CHECK (state IN ('accepted', 'request', 'blocked'));
ALTER TABLE contacts ADD COLUMN claimed_name TEXT;
ALTER TABLE contacts ADD COLUMN claims_was BLOB CHECK (claims_was IS NULL OR length(claims_was) = 32);
ALTER TABLE contacts ADD COLUMN succession_at INTEGER;
ALTER TABLE contacts ADD COLUMN dropped INTEGER NOT NULL DEFAULT 0 CHECK (dropped >= 0);
CREATE INDEX contacts_by_identity_key ON contacts (identity_key);

-- A 'system' line is written by this app into a conversation (a key change, a message that
-- could not be shown); it is never sent, never receipted, and stored as already read.
ALTER TABLE messages ADD COLUMN kind TEXT NOT NULL DEFAULT 'message'
    CHECK (kind IN ('message', 'system'));

-- First messages accepted with each signed prekey (X3DH replay cache). A first message whose
-- (sender, ephemeral key, signed prekey id) is here is a replay and never starts a session. A row
-- lives as long as its signed prekey is kept (grace period included): once the prekey is deleted
-- no first message naming it can be accepted at all, so the row goes with it.
CREATE TABLE x3dh_replay (
    sender            BLOB NOT NULL CHECK (length(sender) = 32),
    ephemeral         BLOB NOT NULL CHECK (length(ephemeral) = 32),
    signed_prekey_id  INTEGER NOT NULL REFERENCES signed_prekeys (key_id) ON DELETE CASCADE,
    seen_at           REAL NOT NULL,
    PRIMARY KEY (sender, ephemeral, signed_prekey_id)
) WITHOUT ROWID;
CREATE INDEX x3dh_replay_by_prekey ON x3dh_replay (signed_prekey_id);
