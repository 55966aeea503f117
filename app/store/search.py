"""Full-text search over message bodies and attachment file names (FTS5, migration 0002).

User input is never handed to FTS5's query language as such. ``to_fts_query`` keeps only the
letters and digits of each whitespace-separated word and quotes them, so quotes, AND/OR/NOT/NEAR,
``*``, ``^``, parentheses and column filters are plain text; a word holding punctuation
("example.com") becomes a phrase of its parts, which is how the index tokenized it. The last word
is a prefix match so that results appear while typing (unless it is a single letter). Results
are newest first (FTS5 walks its index by descending rowid = seq and stops after the page).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from parley.app.store.db import Database
from parley.app.store.errors import StoreError
from parley.app.store.messages import MAX_PAGE, MessageRow, parse

MAX_TERMS = 16
MAX_QUERY_CHARS = 1000


_SELECT = (
    "SELECT m.seq, m.id, m.conversation_id, m.direction, m.sender, m.body, m.sent_at, "
    "m.received_at, m.status, m.attachment_id, m.kind, snippet(messages_fts, -1, ?, ?, '…', 12) "
    "FROM messages_fts JOIN messages AS m ON m.seq = messages_fts.rowid "
    "WHERE messages_fts MATCH ? AND messages_fts.rowid < ? "
)
_SEARCH_ALL = _SELECT + "ORDER BY messages_fts.rowid DESC LIMIT ?"
# Not a blocked identity's conversation: its history is hidden with it until it is unblocked.
_NOT_BLOCKED = (
    "AND m.conversation_id NOT IN (SELECT v.id FROM conversations AS v JOIN contacts AS c "
    "ON c.id = v.contact_id WHERE c.state = 'blocked') "
)
_SEARCH_UNBLOCKED = _SELECT + _NOT_BLOCKED + "ORDER BY messages_fts.rowid DESC LIMIT ?"
_SEARCH_ONE = _SELECT + "AND m.conversation_id = ? ORDER BY messages_fts.rowid DESC LIMIT ?"


@dataclass(frozen=True, slots=True)
class SearchResult:
    """One hit: the message and a snippet with the matches between ``mark_start``/``mark_end``."""

    message: MessageRow
    snippet: str


def _is_token_char(char: str) -> bool:
    # unicode61's default token categories: letters, numbers, private use ("L* N* Co").
    category = unicodedata.category(char)
    return category[0] in "LN" or category == "Co"


def index_words(text: str) -> list[str]:
    """Split ``text`` the way the index's unicode61 tokenizer does (without case folding).

    Everything else (space, punctuation, symbols, marks, the quote character) separates words,
    so the words returned can be quoted safely.
    """
    words: list[str] = []
    current: list[str] = []
    for char in text:
        if _is_token_char(char):
            current.append(char)
        elif current:
            words.append("".join(current))
            current = []
    if current:
        words.append("".join(current))
    return words


def to_fts_query(text: str) -> str | None:
    """Turn free user input into a safe FTS5 query, or None when it holds no searchable word."""
    phrases: list[str] = []
    words_of_last: list[str] = []
    for chunk in text[:MAX_QUERY_CHARS].split():
        words = index_words(chunk)
        if words and len(phrases) < MAX_TERMS:
            phrases.append('"' + " ".join(words) + '"')
            words_of_last = words
    if not phrases:
        return None
    # A one-letter prefix would match a large part of the vocabulary and is not indexed (see
    # migration 0003); the letter is then matched as a whole word.
    if len(words_of_last[-1]) > 1:
        phrases[-1] += "*"
    return " ".join(phrases)


def search(
    db: Database,
    text: str,
    *,
    conversation_id: str | None = None,
    unblocked_only: bool = False,
    before_seq: int | None = None,
    limit: int = 50,
    mark_start: str = "[",
    mark_end: str = "]",
) -> list[SearchResult]:
    """Messages matching ``text``, newest first, older than ``before_seq`` (a paging cursor); in
    one conversation, or in every conversation (with ``unblocked_only``, every one but a blocked
    identity's)."""
    if not 0 < limit <= MAX_PAGE:
        raise StoreError(f"A page holds 1..{MAX_PAGE} results.")
    query = to_fts_query(text)
    if query is None:
        return []
    cursor = (1 << 63) - 1 if before_seq is None else before_seq
    if conversation_id is None:
        sql = _SEARCH_UNBLOCKED if unblocked_only else _SEARCH_ALL
        rows = db.all(sql, (mark_start, mark_end, query, cursor, limit))
    else:
        rows = db.all(_SEARCH_ONE, (mark_start, mark_end, query, cursor, conversation_id, limit))
    results = []
    for row in rows:
        snippet = row[-1]
        results.append(SearchResult(parse(row[:-1]), snippet if isinstance(snippet, str) else ""))
    return results
