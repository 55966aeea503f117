"""Full-text search: accents, URLs, file names, hostile input, prefix, newest-first paging."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from parley.app.store import attachments, contacts, conversations, messages, search
from parley.app.store.db import Database
from parley.app.store.profile import Store

from .conftest import fast_passphrase


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    """One store with a small known corpus, shared by the read-only tests of this module."""
    store = Store.create(tmp_path_factory.mktemp("search") / "p", fast_passphrase())
    db = store.db
    for cid in ("c1", "c2"):
        contacts.add(db, contacts.ContactRow(cid, cid, os.urandom(32), False, False, 1, "standard"))
        conversations.add(db, conversations.ConversationRow("v" + cid, cid, 0, 1.0))
    meta = attachments.AttachmentMeta("a1", "image/jpeg", 1, 1, 1, "holiday_photo-2024.jpg", 1.0)
    attachments.add(db, attachments.AttachmentRow(meta, os.urandom(32), b"x"))
    bodies = [
        ("vc1", "Shall we meet at the café?", None),
        ("vc1", "The link is https://example.com/path?q=1", None),
        ("vc2", "", "a1"),
        ("vc2", "Über naïve résumé", None),
        ("vc1", 'He said "hello" AND left OR NEAR(stayed) *', None),
    ]
    for n, (conv, body, att) in enumerate(bodies, start=1):
        messages.add(
            db,
            messages.NewMessage(
                n.to_bytes(16, "big"), conv, "in", "x", body, float(n), None, "delivered", att
            ),
        )
    yield db
    store.close()


def seqs(db: Database, text: str, **kwargs: object) -> list[int]:
    return [hit.message.seq for hit in search.search(db, text, **kwargs)]  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("cafe", [1]),
        ("café", [1]),
        ("CAFÉ", [1]),
        ("example", [2]),
        ("path", [2]),
        ("example.com/path", [2]),
        ("https", [2]),
        ("holiday", [3]),
        ("photo", [3]),
        ("2024", [3]),
        ("jpg", [3]),
        ("holiday_photo-2024.jpg", [3]),
        ("uber naive resume", [4]),
        ("exam", [2]),  # prefix on the last term
        ("meet caf", [1]),
        ("hello", [5]),
        ("nothing-like-this", []),
        ("meet t", []),  # a one-letter last word is a whole word, not a prefix
    ],
)
def test_word_splitting(corpus: Database, query: str, expected: list[int]) -> None:
    assert seqs(corpus, query) == expected


@pytest.mark.parametrize(
    "query",
    [
        '"',
        '"hello',
        "AND",
        "OR NEAR",
        "*",
        "hello OR",
        "NEAR(a b)",
        "^",
        "body:hello",
        "(",
        ")",
        "-",
        "'",
        "\\",
        "\x00",
        "  ",
        "",
        "a" * 5000,
        "x " * 100,
    ],
)
def test_hostile_queries_never_raise(corpus: Database, query: str) -> None:
    search.search(corpus, query)


def test_operators_are_plain_words(corpus: Database) -> None:
    assert seqs(corpus, "AND") == [5]
    assert seqs(corpus, '"hello" AND') == [5]
    assert seqs(corpus, "hello OR cafe") == []  # OR is a word here, and all words must match


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=60))
def test_any_text_is_a_safe_query(text: str) -> None:
    query = search.to_fts_query(text)
    assert query is None or query.count('"') % 2 == 0


@settings(max_examples=60, deadline=None)
@given(text=st.text(max_size=40))
def test_any_text_searches_without_error(corpus: Database, text: str) -> None:
    for hit in search.search(corpus, text, limit=5):
        assert hit.message.seq >= 1


_TEXT = st.text(
    alphabet=st.characters(codec="latin-1", categories=("L", "N", "P", "Z", "S")), max_size=40
)


@settings(max_examples=60, deadline=None)
@given(body=_TEXT)
def test_every_word_of_a_stored_body_is_found(corpus: Database, body: str) -> None:
    """Whatever the text, searching for any of its words (or a prefix of the last) finds it."""
    with corpus.transaction():
        stored = messages.add(
            corpus,
            messages.NewMessage(os.urandom(16), "vc1", "in", "x", body, 9.0, None, "delivered"),
        )
        assert stored is not None
        for word in search.index_words(body)[:5]:
            hits = search.search(corpus, word, limit=1)
            assert [h.message.seq for h in hits] == [stored.seq], word
        # Leave the shared corpus as it was for the other tests.
        messages.delete(corpus, stored.id)


def test_newest_first_with_cursor_and_conversation_filter(tmp_path: Path) -> None:
    store = Store.create(tmp_path / "p", fast_passphrase())
    db = store.db
    contacts.add(db, contacts.ContactRow("c", "c", os.urandom(32), False, False, 1, "standard"))
    conversations.add(db, conversations.ConversationRow("v", "c", 0, 1.0))
    contacts.add(db, contacts.ContactRow("d", "d", os.urandom(32), False, False, 1, "standard"))
    conversations.add(db, conversations.ConversationRow("w", "d", 0, 1.0))
    batch = [
        messages.NewMessage(
            n.to_bytes(16, "big"), "v" if n % 2 else "w", "in", "x", f"ping {n}", n, None, "sent"
        )
        for n in range(1, 26)
    ]
    messages.add_many(db, batch)
    first = search.search(db, "ping", limit=10)
    assert [h.message.seq for h in first] == list(range(25, 15, -1))
    second = seqs(db, "ping", limit=10, before_seq=first[-1].message.seq)
    assert second == list(range(15, 5, -1))
    assert seqs(db, "ping", conversation_id="w", limit=3) == [24, 22, 20]
    assert first[0].snippet == "[ping] 25"
    assert search.search(db, "ping", mark_start="<", mark_end=">")[0].snippet == "<ping> 25"
    # Deleting and editing keep the index in step (triggers).
    messages.delete(db, batch[-1].id)
    assert seqs(db, "25") == []
    db.execute("UPDATE messages SET body = 'pong' WHERE seq = 24")
    assert seqs(db, "ping", limit=1) == [23]
    assert seqs(db, "pong") == [24]
    store.close()


def test_search_walks_the_index_newest_first(corpus: Database) -> None:
    plan = corpus.all(
        "EXPLAIN QUERY PLAN SELECT m.seq FROM messages_fts JOIN messages AS m "
        "ON m.seq = messages_fts.rowid WHERE messages_fts MATCH ? AND messages_fts.rowid < ? "
        "ORDER BY messages_fts.rowid DESC LIMIT ?",
        ("x", 10, 5),
    )
    detail = " ".join(str(row[-1]) for row in plan)
    assert "TEMP B-TREE" not in detail
