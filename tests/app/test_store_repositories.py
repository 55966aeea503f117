"""Repository functions: round trips, paging, prekey consumption, strict parsing of stored rows."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from parley.app.store import (
    attachments,
    contacts,
    conversations,
    identity,
    messages,
    prekeys,
    relay_records,
    sessions,
)
from parley.app.store import settings as settings_repo
from parley.app.store.db import Database
from parley.app.store.errors import ConstraintViolation, MalformedRow, NotFound, StoreError
from parley.app.store.profile import Store
from parley.crypto.prekeys import PREVIOUS_KEY_GRACE

from .conftest import fast_passphrase


@pytest.fixture
def db(profile: Path) -> Iterator[Database]:
    store = Store.create(profile, fast_passphrase())
    yield store.db
    store.close()


def contact(contact_id: str = "c1", name: str = "Bob") -> contacts.ContactRow:
    return contacts.ContactRow(contact_id, name, os.urandom(32), False, False, 10.0, "standard")


def setup_conversation(db: Database, contact_id: str = "c1", conversation_id: str = "v1") -> None:
    contacts.add(db, contact(contact_id))
    conversations.add(db, conversations.ConversationRow(conversation_id, contact_id, 0, 1.0))


def message(n: int, conversation_id: str = "v1", body: str = "") -> messages.NewMessage:
    return messages.NewMessage(
        n.to_bytes(16, "big"), conversation_id, "out", "me", body or f"m{n}", n, None, "sent"
    )


def test_identity(db: Database) -> None:
    with pytest.raises(NotFound):
        identity.load(db)
    row = identity.IdentityRow(os.urandom(32), "Me", "ws://127.0.0.1:1", 5.0)
    identity.save(db, row)
    assert identity.load(db) == row
    assert row.seed.hex() not in repr(row)
    identity.update(db, display_name="New name")
    assert identity.load(db).display_name == "New name"
    assert identity.load(db).relay_url == row.relay_url


def test_signed_prekeys_are_kept_for_the_grace_period_after_their_replacement(
    db: Database,
) -> None:
    day = 24 * 3600.0

    def spk(key_id: int, created_at: float) -> prekeys.SignedPrekeyRow:
        return prekeys.SignedPrekeyRow(
            key_id, os.urandom(32), os.urandom(32), os.urandom(64), created_at, True
        )

    with pytest.raises(NotFound):
        prekeys.current_signed(db)
    # Weekly rotations: key 1 (day 7) is replaced on day 14; a first message naming it may sit
    # on the relay for its 14-day TTL, so it must outlive several rotations (it was deleted at
    # the next one, day 21).
    for key_id in (1, 2, 3, 4, 5):
        prekeys.rotate_signed(db, spk(key_id, key_id * 7 * day))
    assert prekeys.current_signed(db).key_id == 5
    assert [prekeys.signed_by_id(db, k).key_id for k in (1, 2, 3, 4)] == [1, 2, 3, 4]
    assert prekeys.signed_by_id(db, 4).is_current is False
    # Day 14 + 30: key 1 has been retired for the full grace period and goes; key 2 stays.
    prekeys.rotate_signed(db, spk(6, 14 * day + PREVIOUS_KEY_GRACE))
    with pytest.raises(NotFound):
        prekeys.signed_by_id(db, 1)
    assert prekeys.signed_by_id(db, 2).key_id == 2
    assert 30 * day <= PREVIOUS_KEY_GRACE  # longer than the relay's 14-day TTL, as Signal


def test_the_replay_cache_lives_as_long_as_its_signed_prekey(db: Database) -> None:
    def spk(key_id: int, created_at: float) -> prekeys.SignedPrekeyRow:
        return prekeys.SignedPrekeyRow(
            key_id, os.urandom(32), os.urandom(32), os.urandom(64), created_at, True
        )

    sender, ephemeral = os.urandom(32), os.urandom(32)
    prekeys.rotate_signed(db, spk(1, 0.0))
    prekeys.remember_first_message(db, sender, ephemeral, 1, 1.0)
    prekeys.remember_first_message(db, sender, ephemeral, 1, 2.0)  # idempotent
    assert prekeys.first_message_seen(db, sender, ephemeral, 1)
    assert not prekeys.first_message_seen(db, sender, os.urandom(32), 1)
    prekeys.rotate_signed(db, spk(2, 10.0))  # key 1 is replaced, kept for the grace period
    assert prekeys.first_message_seen(db, sender, ephemeral, 1)
    prekeys.rotate_signed(db, spk(3, 10.0 + PREVIOUS_KEY_GRACE))  # key 1 goes, and its rows
    assert not prekeys.first_message_seen(db, sender, ephemeral, 1)
    assert db.one("SELECT count(*) FROM x3dh_replay") == (0,)


def test_one_time_prekeys_are_consumed_once(db: Database) -> None:
    rows = [prekeys.OneTimePrekeyRow(i, os.urandom(32), os.urandom(32), False) for i in range(5)]
    prekeys.add_one_time(db, rows)
    assert prekeys.next_one_time_id(db) == 5
    assert prekeys.one_time_by_id(db, 2) == rows[2]
    assert prekeys.count_one_time(db) == 5  # reading does not consume
    prekeys.delete_one_time(db, 2)
    with pytest.raises(NotFound, match="already used"):
        prekeys.one_time_by_id(db, 2)
    assert prekeys.count_one_time(db) == 4
    prekeys.mark_published(db, [0, 1])
    assert [r.key_id for r in prekeys.unpublished_one_time(db)] == [3, 4]
    for key_id in (0, 1, 3, 4):
        prekeys.delete_one_time(db, key_id)
    assert prekeys.next_one_time_id(db) == 5  # ids are never reused, even when all are gone


def test_contacts_and_key_change(db: Database) -> None:
    row = contact()
    contacts.add(db, row)
    assert contacts.get(db, "c1") == row
    assert contacts.find_by_identity_key(db, row.identity_key) == row
    contacts.set_verified(db, "c1", True)
    new_key = os.urandom(32)
    contacts.record_key_change(db, "c1", new_key)
    changed = contacts.get(db, "c1")
    assert (changed.identity_key, changed.key_changed, changed.verified) == (new_key, True, False)
    contacts.accept_key_change(db, "c1")
    assert contacts.get(db, "c1").key_changed is False
    contacts.set_display_name(db, "c1", "Robert")
    assert [c.display_name for c in contacts.all_contacts(db)] == ["Robert"]
    with pytest.raises(NotFound):
        contacts.set_verified(db, "nobody", True)


def test_sessions(db: Database) -> None:
    contacts.add(db, contact())
    assert sessions.load(db, "c1") is None
    sessions.save(db, "c1", b"one", now=1.0)
    sessions.save(db, "c1", b"two", now=2.0)
    assert sessions.load(db, "c1") == b"two"
    sessions.delete(db, "c1")
    assert sessions.load(db, "c1") is None


def test_conversations(db: Database) -> None:
    setup_conversation(db)
    setup_conversation(db, "c2", "v2")
    conversations.touch(db, "v1", 50.0, add_unread=2)
    conversations.touch(db, "v1", 40.0)  # never moves back
    assert conversations.get(db, "v1") == conversations.ConversationRow("v1", "c1", 2, 50.0)
    assert [c.id for c in conversations.all_conversations(db)] == ["v1", "v2"]
    conversations.mark_read(db, "v1")
    assert conversations.get(db, "v1").unread == 0
    assert conversations.for_contact(db, "c2") is not None
    with pytest.raises(NotFound):
        conversations.touch(db, "nope", 1.0)


def test_messages_add_drops_duplicates(db: Database) -> None:
    setup_conversation(db)
    first = messages.add(db, message(1))
    assert first is not None and first.seq >= 1
    assert messages.add(db, message(1)) is None
    assert messages.get(db, message(1).id) == first
    messages.set_status(db, first.id, "delivered")
    assert messages.get(db, first.id).status == "delivered"
    # Only an id clash counts as a duplicate; any other broken constraint still raises.
    bad = messages.NewMessage(bytes(16), "v1", "in", "x", "y", 1.0, None, "lost")  # type: ignore[arg-type]
    with pytest.raises(ConstraintViolation, match="CHECK constraint"):
        messages.add(db, bad)
    with pytest.raises(StoreError, match="16 bytes"):
        messages.add(db, messages.NewMessage(b"short", "v1", "in", "x", "y", 1.0, None, "sent"))


def test_paging_walks_back_through_a_conversation(db: Database) -> None:
    setup_conversation(db)
    setup_conversation(db, "c2", "v2")
    batch = [message(n, "v1" if n % 3 else "v2") for n in range(1, 301)]
    messages.add_many(db, batch)
    expected = [m.id for m in batch if m.conversation_id == "v1"]
    seen: list[bytes] = []
    before: int | None = None
    while page := messages.page(db, "v1", before_seq=before, limit=50):
        assert [m.seq for m in page] == sorted(m.seq for m in page)
        seen = [m.id for m in page] + seen
        before = page[0].seq
    assert seen == expected
    latest = messages.latest(db, "v1")
    assert latest is not None and latest.id == expected[-1]
    with pytest.raises(StoreError):
        messages.page(db, "v1", limit=0)


def test_paging_uses_the_conversation_index(db: Database) -> None:
    plan = db.all(
        "EXPLAIN QUERY PLAN SELECT seq FROM messages WHERE conversation_id = ? AND seq < ? "
        "ORDER BY seq DESC LIMIT ?",
        ("v1", 10, 50),
    )
    detail = " ".join(str(row[-1]) for row in plan)
    assert "messages_by_conversation" in detail
    assert "TEMP B-TREE" not in detail


def test_seq_never_goes_backwards_after_deletion(db: Database) -> None:
    setup_conversation(db)
    last = messages.add(db, message(1))
    assert last is not None
    messages.delete(db, last.id)
    again = messages.add(db, message(2))
    assert again is not None and again.seq > last.seq


def test_attachments(db: Database) -> None:
    meta = attachments.AttachmentMeta("a1", "image/png", 3, 1, 1, "pic.png", 1.0)
    row = attachments.AttachmentRow(meta, os.urandom(32), b"\x01\x02\x03")
    attachments.add(db, row)
    assert attachments.get(db, "a1") == row
    assert attachments.get_meta(db, "a1") == meta
    assert row.key.hex() not in repr(row)
    with pytest.raises(NotFound):
        attachments.get(db, "a2")


def test_settings(db: Database) -> None:
    assert settings_repo.get_int(db, "n", 7) == 7
    settings_repo.put(db, "n", "12")
    assert settings_repo.get_int(db, "n", 7) == 12
    settings_repo.put_bool(db, "b", True)
    assert settings_repo.get_bool(db, "b", False) is True
    settings_repo.put(db, "n", "twelve")
    with pytest.raises(MalformedRow, match="not an integer"):
        settings_repo.get_int(db, "n", 7)
    settings_repo.delete(db, "n")
    assert settings_repo.get(db, "n") is None


def test_relay_records(db: Database) -> None:
    row = relay_records.RelayRecordRow(
        bytes(16), "out", b"\x00frame", (("to", "abc"), ("size", "6")), 1.0, 99.0, False
    )
    relay_records.record(db, row)
    assert relay_records.get(db, bytes(16)) == row
    relay_records.mark_deleted(db, bytes(16))
    assert relay_records.get(db, bytes(16)).deleted is True


@pytest.mark.parametrize(
    ("sql", "params", "read", "column"),
    [
        (
            "INSERT INTO contacts (id, display_name, identity_key, verified, key_changed, "
            "first_seen, build_variant) VALUES ('c9', x'00', ?, 0, 0, 1.0, 'standard')",
            (bytes(32),),
            lambda db: contacts.get(db, "c9"),
            "display_name",
        ),
        (
            "INSERT INTO sessions VALUES ('c1', 'text, not bytes', 1.0)",
            (),
            lambda db: sessions.load(db, "c1"),
            "state",
        ),
        (
            "INSERT INTO relay_records VALUES (?, 'in', x'00', '{\"not\": \"pairs\"}', 1, NULL, 0)",
            (bytes(16),),
            lambda db: relay_records.get(db, bytes(16)),
            "metadata",
        ),
        (
            "INSERT INTO conversations VALUES ('v9', 'c1', 0, 'yesterday')",
            (),
            lambda db: conversations.get(db, "v9"),
            "last_activity",
        ),
    ],
    ids=["contact-name-blob", "session-text", "relay-metadata", "conversation-time"],
)
def test_malformed_rows_raise_clearly(
    db: Database, sql: str, params: tuple[bytes, ...], read: object, column: str
) -> None:
    contacts.add(db, contact())
    db.execute(sql, params)
    with pytest.raises(MalformedRow, match=column):
        read(db)  # type: ignore[operator]
