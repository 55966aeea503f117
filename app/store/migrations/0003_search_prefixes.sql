-- Schema version 3: prefix indexes for search-as-you-type.
--
-- The last word of every search is a prefix match. Without a prefix index FTS5 answers "ca*" by
-- merging the full document lists of every indexed word starting with "ca" before it can return
-- the newest hit: on a million messages a two-letter prefix took over half a second. With the
-- 2- and 3-character prefixes indexed, those short prefixes are one list like a whole word;
-- longer prefixes match few enough words to merge quickly. One-letter prefixes are not indexed:
-- search.py does not prefix-match a one-letter last word at all.
--
-- The triggers of version 2 name the table, not a particular instance of it, so they keep
-- working with the table recreated here.

DROP TABLE messages_fts;

CREATE VIRTUAL TABLE messages_fts USING fts5 (
    body,
    file_name,
    content = 'messages_search_source',
    content_rowid = 'seq',
    tokenize = 'unicode61 remove_diacritics 2',
    prefix = '2 3'
);

INSERT INTO messages_fts (messages_fts) VALUES ('rebuild');
