-- Schema version 7: unblocking.
--
-- contacts.blocked_from: the state a blocked identity was in when it was blocked ('accepted' or
-- 'request'), so that unblocking puts it back exactly there and never promotes it: a request stays
-- a request to accept, a contact stays the contact it was (its key and verification untouched).
-- NULL while it is not blocked, and for identities blocked before this version (nobody recorded
-- what they were): those become message requests again when unblocked, the safe choice.
ALTER TABLE contacts ADD COLUMN blocked_from TEXT
    CHECK (blocked_from IS NULL OR blocked_from IN ('accepted', 'request'));
