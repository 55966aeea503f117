"""The relay stores, one suite for both: SQLite (embedded) and Redis (a real redis-server).

Tests that take ``open_store`` run against each backend; ``open_store(...)`` called twice opens the
same data again (a reopen). SQLite-only tests (WAL mode, schema versions, transactions) take the
``tmp_path`` SQLite file directly.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from parley.net.errors import StoreError
from parley.net.relay.store import (
    Enqueue,
    Login,
    LoginRequest,
    Queued,
    Refused,
    RelayStore,
    SqliteStore,
    Stored,
)
from parley.net.relay.store_redis import RedisStore, decode_wake

from tests.redis_server import RedisClusterServers, RedisServer

ALICE = b"a" * 32
BOB = b"b" * 32

OpenStore = Callable[..., RelayStore]


def open_sqlite(path: Path, quota_messages: int = 100, quota_bytes: int = 10_000) -> SqliteStore:
    return SqliteStore(
        path / "relay.sqlite3",
        quota_messages=quota_messages,
        quota_bytes=quota_bytes,
        max_prekey_stock=50,
    )


@pytest.fixture(params=["sqlite", "redis", pytest.param("redis-cluster", marks=pytest.mark.slow)])
def open_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[OpenStore]:
    opened: list[RelayStore] = []
    url = ""
    if request.param == "redis":
        server: RedisServer = request.getfixturevalue("redis_server")
        server.cli("flushall")
        url = server.url
    elif request.param == "redis-cluster":
        cluster: RedisClusterServers = request.getfixturevalue("redis_cluster")
        for node in cluster.nodes:
            node.cli("flushall")
        url = cluster.url

    def make(quota_messages: int = 100, quota_bytes: int = 10_000) -> RelayStore:
        store: RelayStore
        if request.param == "sqlite":
            store = open_sqlite(tmp_path, quota_messages, quota_bytes)
        else:
            store = RedisStore(
                url,
                quota_messages=quota_messages,
                quota_bytes=quota_bytes,
                max_prekey_stock=50,
                publisher="test",
            )
        opened.append(store)
        return store

    yield make
    for store in opened:
        store.close()


@pytest.fixture
def store(open_store: OpenStore) -> RelayStore:
    return open_store()


def mid(n: int) -> bytes:
    return n.to_bytes(16, "big")


def test_committed_messages_survive_a_reopen(open_store: OpenStore) -> None:
    store = open_store()
    stored = store.enqueue(BOB, ALICE, mid(1), b"ct", now=10.0, expires_at=20.0)
    assert stored == Stored(1, 10.0, 20.0, duplicate=False)
    store.register(BOB)
    store.commit()
    assert not store.dirty
    store.close()
    reopened = open_store()
    assert reopened.pending(BOB, 0, 10, now=11.0) == [Queued(1, ALICE, mid(1), b"ct", 10.0)]
    assert reopened.is_registered(BOB)
    assert reopened.usage(BOB) == (1, 2)


def test_uncommitted_writes_are_lost_on_close_as_after_a_crash(tmp_path: Path) -> None:
    store = open_sqlite(tmp_path)
    store.enqueue(BOB, ALICE, mid(1), b"kept", now=1.0, expires_at=99.0)
    store.commit()
    store.enqueue(BOB, ALICE, mid(2), b"lost", now=2.0, expires_at=99.0)
    store.ack(BOB, mid(1))
    store.close()  # no commit
    reopened = open_sqlite(tmp_path)
    assert [q.message_id for q in reopened.pending(BOB, 0, 10, now=3.0)] == [mid(1)]
    reopened.close()


def test_the_database_is_in_wal_mode(tmp_path: Path) -> None:
    open_sqlite(tmp_path).close()
    with sqlite3.connect(tmp_path / "relay.sqlite3") as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_insert_is_idempotent_per_recipient_and_message_id(store: RelayStore) -> None:
    first = store.enqueue(BOB, ALICE, mid(1), b"ct", now=1.0, expires_at=9.0)
    again = store.enqueue(BOB, ALICE, mid(1), b"ct", now=5.0, expires_at=13.0)
    assert again == Stored(first.seq, 1.0, 9.0, duplicate=True)  # type: ignore[union-attr]
    assert store.queued == 1
    other_recipient = store.enqueue(ALICE, BOB, mid(1), b"ct", now=5.0, expires_at=13.0)
    assert isinstance(other_recipient, Stored)
    assert not other_recipient.duplicate
    conflict = store.enqueue(BOB, b"c" * 32, mid(1), b"ct", now=5.0, expires_at=13.0)
    assert isinstance(conflict, Refused)
    assert conflict.code == "message_id_conflict"


def test_ack_deletes_once(store: RelayStore) -> None:
    store.enqueue(BOB, ALICE, mid(1), b"ct", now=1.0, expires_at=9.0)
    assert not store.ack(ALICE, mid(1))  # only the recipient's ack counts
    assert store.ack(BOB, mid(1))
    assert not store.ack(BOB, mid(1))
    assert store.queued == 0


def test_a_batched_ack_deletes_only_the_recipients_listed_messages(
    open_store: OpenStore,
) -> None:
    store = open_store(quota_messages=3)
    for n in range(3):
        store.enqueue(BOB, ALICE, mid(n), b"x" * 10, now=1.0, expires_at=9.0)
    store.enqueue(ALICE, BOB, mid(9), b"ct", now=1.0, expires_at=9.0)
    assert store.ack_many(BOB, [mid(0), mid(2), mid(7), mid(9)]) == 2  # 7 unknown, 9 is alice's
    assert store.ack_many(BOB, []) == 0
    assert store.queued == 2
    assert store.usage(BOB) == (1, 10)
    assert [q.message_id for q in store.pending(BOB, 0, 10, now=1.0)] == [mid(1)]
    # The freed quota is usable at once: two more fit beside the one left.
    assert all(
        isinstance(store.enqueue(BOB, ALICE, mid(n), b"y", now=1.0, expires_at=9.0), Stored)
        for n in (3, 4)
    )


def test_pending_is_ordered_paged_and_skips_expired(store: RelayStore) -> None:
    for n in range(5):
        store.enqueue(BOB, ALICE, mid(n), bytes([n]), now=float(n), expires_at=10.0 + n)
    page = store.pending(BOB, 0, 2, now=10.5)  # mid(0) expired at 10.0
    assert [q.message_id for q in page] == [mid(1), mid(2)]
    rest = store.pending(BOB, page[-1].seq, 10, now=10.5)
    assert [q.message_id for q in rest] == [mid(3), mid(4)]


def test_a_login_registers_claims_a_slot_and_reads_the_queue_in_one_call(
    store: RelayStore,
) -> None:
    def login(conn: int, *, may_register: bool = True, here: int = 0, after: int = 0) -> Login:
        return store.login(LoginRequest(ALICE, conn, may_register, here, 2, 60.0, after, 2, 10.5))

    # A new account without the invite: refused, and nothing is registered or claimed.
    assert login(1, may_register=False) == Login("invite_required", False, 0, [])
    assert not store.is_registered(ALICE)
    for n in range(4):
        store.enqueue(ALICE, BOB, mid(n), bytes([n]), now=float(n), expires_at=10.0 + n)
    store.publish_prekeys(ALICE, b"s" * 32, (b"k1", b"k2", b"k3"))
    # With it: registered, the stock, and the first page (mid(0) expired at 10.0; room for 2).
    first = login(1)
    assert (first.refused, first.new, first.prekeys) == (None, True, 3)
    assert [q.message_id for q in first.rows] == [mid(1), mid(2)]
    assert first.rows[0].sender == BOB and first.rows[0].payload == b"\x01"
    assert store.is_registered(ALICE)
    # Known now: no invite needed, not new; the page starts after the cursor it is given.
    second = login(2, may_register=False, here=1, after=first.rows[-1].seq)
    assert (second.refused, second.new) == (None, False)
    assert [q.message_id for q in second.rows] == [mid(3)]
    # The cap, counted here: refused, nothing read.
    assert login(3, here=2) == Login("too_many_connections", False, 0, [])
    if store.shared:  # and counted over every process sharing the store (the two leases above)
        assert login(4, here=0) == Login("too_many_connections", False, 0, [])
        store.release_connection(ALICE, 1)
        assert login(4, here=0).refused is None


def test_expire_deletes_and_frees_quota(open_store: OpenStore) -> None:
    store = open_store(quota_messages=2)
    store.enqueue(BOB, ALICE, mid(1), b"x", now=1.0, expires_at=5.0)
    store.enqueue(BOB, ALICE, mid(2), b"x", now=2.0, expires_at=50.0)
    assert isinstance(store.enqueue(BOB, ALICE, mid(3), b"x", now=3.0, expires_at=9.0), Refused)
    assert store.expire(5.0) == 1
    assert store.queued == 1
    assert isinstance(store.enqueue(BOB, ALICE, mid(3), b"x", now=6.0, expires_at=9.0), Stored)
    assert store.usage(BOB) == (2, 2)


def test_quota_counts_survive_a_reopen(open_store: OpenStore) -> None:
    store = open_store(quota_bytes=10)
    store.enqueue(BOB, ALICE, mid(1), b"123456", now=1.0, expires_at=9.0)
    store.commit()
    store.close()
    store = open_store(quota_bytes=10)
    refused = store.enqueue(BOB, ALICE, mid(2), b"12345", now=1.0, expires_at=9.0)
    assert isinstance(refused, Refused)
    assert refused.code == "quota_exceeded"


def test_rollback_forgets_writes_and_caches(tmp_path: Path) -> None:
    store = open_sqlite(tmp_path)
    store.register(ALICE)
    store.enqueue(BOB, ALICE, mid(1), b"x", now=1.0, expires_at=9.0)
    store.rollback()
    assert not store.is_registered(ALICE)
    assert store.queued == 0
    assert store.pending(BOB, 0, 10, now=2.0) == []


def test_prekeys_are_taken_oldest_first_and_deleted(store: RelayStore) -> None:
    assert store.take_bundle(ALICE) is None
    assert store.publish_prekeys(ALICE, b"spk1", (b"k1", b"k2")) == 2
    assert store.publish_prekeys(ALICE, b"spk2", (b"k3",)) == 3
    bundles = [store.take_bundle(ALICE) for _ in range(4)]
    assert [(b.signed_prekey, b.one_time_prekey, b.remaining) for b in bundles if b] == [
        (b"spk2", b"k1", 2),
        (b"spk2", b"k2", 1),
        (b"spk2", b"k3", 0),
        (b"spk2", None, 0),
    ]


def test_a_newer_schema_is_refused(tmp_path: Path) -> None:
    open_sqlite(tmp_path).close()
    with sqlite3.connect(tmp_path / "relay.sqlite3") as db:
        db.execute("PRAGMA user_version = 99")
    with pytest.raises(StoreError, match="newer relay"):
        open_sqlite(tmp_path)


def test_a_corrupt_file_is_a_store_error(tmp_path: Path) -> None:
    (tmp_path / "relay.sqlite3").write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreError, match="cannot open"):
        open_sqlite(tmp_path)


def test_a_prekey_already_stocked_is_not_stocked_again(store: RelayStore) -> None:
    assert store.publish_prekeys(ALICE, b"spk", (b"k1", b"k2")) == 2
    # A retried publish (its reply was lost) and a batch that repeats itself add nothing twice.
    assert store.publish_prekeys(ALICE, b"spk", (b"k1", b"k2")) == 2
    assert store.publish_prekeys(ALICE, b"spk", (b"k3", b"k2", b"k3")) == 3
    assert store.new_prekeys(ALICE, (b"k1", b"k4", b"k4")) == (b"k4",)
    assert store.new_prekeys(BOB, (b"k1",)) == (b"k1",)  # stock is per account
    handed_out = [store.take_bundle(ALICE) for _ in range(4)]
    assert [b.one_time_prekey for b in handed_out if b] == [b"k1", b"k2", b"k3", None]


def test_a_version_1_database_keeps_one_copy_of_each_prekey(tmp_path: Path) -> None:
    open_sqlite(tmp_path).close()
    with sqlite3.connect(tmp_path / "relay.sqlite3") as db:
        db.execute("DROP INDEX one_time_unique")
        db.executemany(
            "INSERT INTO one_time_prekeys (account, prekey) VALUES (?, ?)",
            [(ALICE, b"k1"), (ALICE, b"k1"), (ALICE, b"k2"), (BOB, b"k1")],
        )
        db.execute("PRAGMA user_version = 1")
    store = open_sqlite(tmp_path)
    assert (store.prekey_count(ALICE), store.prekey_count(BOB)) == (2, 1)
    assert store.publish_prekeys(ALICE, b"spk", (b"k2",)) == 2
    store.close()


def test_the_wal_is_checkpointed_off_the_relays_thread(tmp_path: Path) -> None:
    store = open_sqlite(tmp_path, quota_messages=10_000, quota_bytes=10**8)
    # The relay's own connection never checkpoints inside a commit (that stalled the loop).
    assert store._db.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 0
    for n in range(2000):
        store.enqueue(BOB, ALICE, mid(n), bytes(300), now=1.0, expires_at=9.0)
        if n % 100 == 99:
            store.commit()
    deadline = time.monotonic() + 15
    while store.checkpoints == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert store.checkpoints > 0
    store.close()
    reopened = open_sqlite(tmp_path)
    assert reopened.usage(BOB)[0] == 2000
    reopened.close()


def test_a_write_batch_applies_its_acks_first_then_each_send_in_order(
    open_store: OpenStore,
) -> None:
    # The core gathers a turn's writes into one batch (one Redis round trip): the outcome must be
    # exactly that of the same calls made one by one.
    store = open_store(quota_messages=3)
    for n in range(3):
        store.enqueue(BOB, ALICE, mid(n), b"x", now=1.0, expires_at=9.0)
    deleted, results = store.write_batch(
        [(BOB, [mid(0), mid(7)]), (ALICE, [])],
        [
            Enqueue(BOB, ALICE, mid(10), b"a", 2.0, 9.0),  # fits: the ack freed a place first
            Enqueue(ALICE, BOB, mid(11), b"b", 2.0, 9.0),
            Enqueue(BOB, ALICE, mid(10), b"a", 3.0, 12.0),  # the same send again: a duplicate
            Enqueue(BOB, b"c" * 32, mid(10), b"c", 3.0, 9.0),  # another sender's id: conflict
            Enqueue(BOB, ALICE, mid(12), b"d", 2.0, 9.0),  # Bob's queue is full again
        ],
    )
    assert deleted == 1
    first, other, again, conflict, full = results
    assert isinstance(first, Stored) and not first.duplicate
    assert isinstance(other, Stored) and not other.duplicate
    assert again == Stored(first.seq, 2.0, 9.0, duplicate=True)
    assert isinstance(conflict, Refused) and conflict.code == "message_id_conflict"
    assert isinstance(full, Refused) and full.code == "quota_exceeded"
    assert [q.message_id for q in store.pending(BOB, 0, 10, now=2.0)] == [mid(1), mid(2), mid(10)]
    assert store.queued == 4
    assert store.write_batch([], []) == (0, [])


def test_a_batch_costs_one_script_call_per_recipient_on_redis(redis_server: RedisServer) -> None:
    redis_server.cli("flushall")
    redis_server.cli("config", "resetstat")
    store = RedisStore(
        redis_server.url, quota_messages=100, quota_bytes=100_000, max_prekey_stock=5, publisher="t"
    )
    try:
        store.enqueue(ALICE, BOB, mid(99), b"x", now=1.0, expires_at=9.0)
        redis_server.cli("config", "resetstat")
        sends = [
            Enqueue(BOB if n % 2 else ALICE, b"c" * 32, mid(n), b"x", 1.0, 9.0) for n in range(20)
        ]
        deleted, results = store.write_batch([(ALICE, [mid(99)])], sends)
        assert deleted == 1
        assert all(isinstance(r, Stored) for r in results)
        stats = redis_server.cli("info", "commandstats")
        evalsha = next(line for line in stats.splitlines() if line.startswith("cmdstat_evalsha:"))
        assert "calls=3," in evalsha  # one ack script, one enqueue script per recipient
    finally:
        store.close()


@pytest.mark.parametrize(
    "data",
    [b"", b"\xc1", b"plain-publisher-id", b"\x91\x01", b"\x92\xa1p\x93\x01\x02\x03",
     b"\x92\xa1p\x93\xb0" + b"m" * 16 + b"\x01\xa3abc", b"\x92\xa1p\xc0"],
)  # fmt: skip
def test_an_unreadable_wake_up_means_read_the_queue(data: bytes) -> None:
    # Whatever another process (or anything else with access to Redis) publishes, the reader
    # never fails: it falls back to reading the queue, which is always right.
    publisher, fresh = decode_wake(data)
    assert fresh is None
    assert isinstance(publisher, bytes)


def test_the_async_batch_write_has_the_same_outcome(open_store: OpenStore) -> None:
    # The server writes batches with write_batch_async (over Redis: its own link, so its loop
    # goes on meanwhile); it must mean exactly what write_batch means.
    import asyncio

    store = open_store(quota_messages=2)
    store.enqueue(BOB, ALICE, mid(0), b"x", now=1.0, expires_at=9.0)
    sends = [Enqueue(BOB, ALICE, mid(n), b"y", 2.0, 9.0) for n in (1, 2, 1)]

    async def write() -> tuple[int, list[Stored | Refused]]:
        try:
            return await store.write_batch_async([(BOB, [mid(0)])], sends)
        finally:
            await store.aclose()

    deleted, (first, second, again) = asyncio.run(write())
    assert deleted == 1
    assert isinstance(first, Stored) and isinstance(second, Stored)
    assert again == Stored(first.seq, 2.0, 9.0, duplicate=True)
    assert [q.message_id for q in store.pending(BOB, 0, 10, now=2.0)] == [mid(1), mid(2)]


def test_a_batch_reloads_its_scripts_after_redis_forgot_them(redis_server: RedisServer) -> None:
    # A restarted or flushed Redis has no scripts: the batch loads them and runs again, once.
    import asyncio

    redis_server.cli("flushall")
    store = RedisStore(
        redis_server.url, quota_messages=100, quota_bytes=100_000, max_prekey_stock=5, publisher="t"
    )
    try:
        sends = [
            Enqueue(BOB if n % 2 else ALICE, b"c" * 32, mid(n), b"x", 1.0, 9.0) for n in range(4)
        ]
        redis_server.cli("script", "flush")
        _, results = store.write_batch([], sends[:2])
        assert all(isinstance(r, Stored) for r in results)
        redis_server.cli("script", "flush")

        async def write() -> tuple[int, list[Stored | Refused]]:
            try:
                return await store.write_batch_async([], sends[2:])
            finally:
                await store.aclose()

        _, results = asyncio.run(write())
        assert all(isinstance(r, Stored) for r in results)
        assert len(store.pending(ALICE, 0, 10, now=1.0)) == 2
        assert len(store.pending(BOB, 0, 10, now=1.0)) == 2
    finally:
        store.close()
