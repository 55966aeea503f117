"""Write-behind (``commit_delay``): a live message is held, and stored only if not acked in time.

The promise under test: a sender's receipt means "stored durably at the relay, or acknowledged by
the recipient (who acks only after its own commit)". The core is driven by hand (no timer: the
server's timer is ``commit_deferred``), so "acked within the window" is a sequence of calls, not a
race; the server-level tests run a real relay process and real clients.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from nacl.signing import SigningKey
from parley.net import wire
from parley.net.relay.limits import MAX_COMMIT_DELAY, RelayConfig
from parley.net.relay.protocol import Transmit
from parley.net.relay.server import DB_NAME, serve_relay
from parley.net.relay.store import SqliteStore

from .conftest import PeerFactory, RawConnection, RelayFactory, message_id
from .test_relay_protocol import BATCH, T0, Harness, alice, bob, mid

DELAY = 0.1


def _held_relay(tmp_path: Path, **config: object) -> Harness:
    return Harness(tmp_path, commit_delay=DELAY, rate_per_second=0, **config)


def test_a_message_acked_within_the_window_is_never_stored_yet_its_sender_gets_the_receipt(
    tmp_path: Path,
) -> None:
    relay = _held_relay(tmp_path)
    bconn, _ = relay.login(bob, caps=BATCH)
    aconn, _ = relay.login(alice, caps=BATCH)
    writes = relay.store._db.total_changes
    forwarded = relay.core.receive(
        aconn, wire.encode(wire.Send(7, bytes(bob.verify_key), mid(1), b"hi")), T0
    )
    assert relay.frames(forwarded, aconn) == []  # no receipt yet: neither stored nor acked
    assert relay.frames(forwarded, bconn) == [
        wire.Deliver(bytes(alice.verify_key), mid(1), b"hi", T0)
    ]
    assert relay.core.deferred_count == 1
    acked = relay.core.receive(bconn, wire.encode(wire.Ack(mid(1))), T0 + 0.01)
    receipt = [a for a in acked if isinstance(a, Transmit) and a.conn == aconn]
    assert [a.after_commit for a in receipt] == [True]  # held to the end of the turn (batching)
    assert relay.frames(acked, aconn) == [wire.Sent(7, mid(1), T0, T0 + relay.config.ttl)]
    assert relay.store._db.total_changes == writes  # not one row written, not even briefly
    assert (relay.store.queued, relay.core.deferred_count) == (0, 0)
    assert relay.core.counters.delivered_total == 1
    assert relay.core.commit_deferred(None, T0 + 1) == []  # nothing left for the timer
    relay.store.close()


def test_a_message_not_acked_in_the_window_is_stored_then_receipted_and_comes_again(
    tmp_path: Path,
) -> None:
    relay = _held_relay(tmp_path)
    bconn, _ = relay.login(bob)
    aconn, _ = relay.login(alice)
    assert len(relay.send(aconn, bob, mid(1), now=T0)) == 1  # the delivery only
    mark = relay.core.deferred_ticket
    relay.send(aconn, bob, mid(2), now=T0 + 0.05)  # arrives after the timer's mark
    stored = relay.core.commit_deferred(mark, T0 + DELAY)
    assert all(isinstance(a, Transmit) and a.after_commit for a in stored)
    # (request ids 1 and 2 were the logins)
    assert relay.frames(stored) == [wire.Sent(3, mid(1), T0, T0 + relay.config.ttl)]
    assert (relay.store.queued, relay.core.deferred_count) == (1, 1)
    relay.core.disconnect(bconn)  # bob never acked: the stored one comes again, then the held one
    bconn, again = relay.login(bob, T0 + 0.2)
    assert [f.message_id for f in again if isinstance(f, wire.Deliver)] == [mid(1), mid(2)]
    assert relay.store.queued == 2
    assert relay.core.deferred_count == 0
    relay.store.close()


def test_a_resend_while_held_is_stored_once_and_answered_as_a_duplicate(tmp_path: Path) -> None:
    relay = _held_relay(tmp_path)
    bconn, _ = relay.login(bob)
    aconn, _ = relay.login(alice)
    relay.send(aconn, bob, mid(1), now=T0)
    again = relay.core.receive(
        aconn, wire.encode(wire.Send(9, bytes(bob.verify_key), mid(1), b"ct")), T0 + 0.05
    )
    assert relay.frames(again, bconn) == []  # no second delivery
    first, duplicate = relay.frames(again, aconn)
    assert isinstance(first, wire.Sent) and not first.duplicate
    assert duplicate == wire.Sent(9, mid(1), T0, T0 + relay.config.ttl, duplicate=True)
    assert relay.store.queued == 1
    assert relay.core.counters.stored_total == 1
    relay.request(bconn, wire.Ack(mid(1)))
    assert relay.store.queued == 0
    relay.store.close()


def test_held_messages_are_stored_before_a_newer_one_that_must_wait(tmp_path: Path) -> None:
    relay = _held_relay(tmp_path, window=1)
    bconn, _ = relay.login(bob)
    aconn, _ = relay.login(alice)
    relay.send(aconn, bob, mid(1))  # held, in flight
    waits = relay.send(aconn, bob, mid(2))  # the window is full: it must be stored
    assert [type(f) for f in waits] == [wire.Sent, wire.Sent]  # both stored, in order
    assert relay.store.queued == 2
    assert relay.core.deferred_count == 0
    refill = relay.request(bconn, wire.Ack(mid(1)))
    assert [f.message_id for f in refill if isinstance(f, wire.Deliver)] == [mid(2)]
    relay.store.close()


def test_held_messages_count_against_the_recipients_quota(tmp_path: Path) -> None:
    relay = _held_relay(tmp_path, quota_messages=2)
    relay.login(bob)
    aconn, _ = relay.login(alice)
    relay.send(aconn, bob, mid(1))
    relay.send(aconn, bob, mid(2))
    assert relay.core.deferred_count == 2
    refused = relay.send(aconn, bob, mid(3))
    assert [f.code for f in refused if isinstance(f, wire.Error)] == ["quota_exceeded"]
    assert len([f for f in refused if isinstance(f, wire.Sent)]) == 2  # the held two, stored
    relay.store.close()


def test_a_store_failure_while_storing_held_messages_keeps_them_held(tmp_path: Path) -> None:
    relay = _held_relay(tmp_path)
    bconn, _ = relay.login(bob)
    aconn, _ = relay.login(alice)
    relay.send(aconn, bob, mid(1), b"x" * 100_000)
    pages = relay.store._db.execute("PRAGMA page_count").fetchone()[0]
    relay.store._db.execute(f"PRAGMA max_page_count = {pages}")  # the disk is full
    failed = relay.frames(relay.core.commit_deferred(None, T0 + 1))
    assert not any(isinstance(f, wire.Sent) for f in failed)  # no receipt promises a lost row
    assert (relay.store.queued, relay.core.deferred_count) == (0, 1)
    relay.store._db.execute("PRAGMA max_page_count = 1000000")
    assert relay.frames(relay.core.commit_deferred(None, T0 + 2), aconn) == [
        wire.Sent(3, mid(1), T0, T0 + relay.config.ttl)
    ]
    relay.request(bconn, wire.Ack(mid(1)))
    assert relay.store.queued == 0
    relay.store.close()


# -- a real relay, real clients -------------------------------------------------------------------


async def test_an_acked_message_is_receipted_without_a_store_write(
    tmp_path: Path, peers: PeerFactory
) -> None:
    # The longest window there is, so that only bob's ack can release alice's receipt.
    config = RelayConfig(rate_per_second=0, commit_delay=MAX_COMMIT_DELAY)
    async with serve_relay("127.0.0.1", 0, tmp_path, config) as server:
        alice_peer = await peers(server.url).start()
        bob_peer = await peers(server.url).start()
        assert isinstance(server.store, SqliteStore)
        writes = server.store._db.total_changes
        receipt = await alice_peer.client.send(bob_peer.account, message_id(1), b"quick")
        assert [d.payload for d in await bob_peer.wait_for(1)] == [b"quick"]
        assert receipt.message_id == message_id(1)
        assert server.store._db.total_changes == writes
        assert server.core.counters.delivered_total == 1


async def test_a_message_not_acked_in_the_window_survives_sigkill_and_is_redelivered(
    relay_factory: RelayFactory, peers: PeerFactory
) -> None:
    relay = relay_factory(["--commit-delay-ms", "50"])
    relay.start()
    bob_key = SigningKey.generate()
    silent_bob = await RawConnection.open(relay.url)  # takes deliveries, never acks
    await silent_bob.login(bob_key)
    alice_peer = await peers(relay.url).start()
    # The receipt can only come from the window closing: stored and committed.
    receipt = await alice_peer.client.send(bytes(bob_key.verify_key), message_id(1), b"kept")
    delivered = await silent_bob.frame()
    assert isinstance(delivered, wire.Deliver) and delivered.message_id == receipt.message_id
    relay.kill()
    relay.start()
    bob_again = await RawConnection.open(relay.url)
    await bob_again.login(bob_key)
    redelivered = await bob_again.frame()
    assert isinstance(redelivered, wire.Deliver)
    assert (redelivered.message_id, redelivered.payload) == (message_id(1), b"kept")
    await bob_again.close()
    await asyncio.gather(silent_bob.close(), return_exceptions=True)


async def test_held_messages_are_stored_when_the_relay_stops(tmp_path: Path) -> None:
    config = RelayConfig(rate_per_second=0, commit_delay=MAX_COMMIT_DELAY)
    bob_key = SigningKey.generate()
    async with serve_relay("127.0.0.1", 0, tmp_path, config) as server:
        silent_bob = await RawConnection.open(server.url)  # takes the delivery, never acks
        await silent_bob.login(bob_key)
        sender = await RawConnection.open(server.url)
        await sender.login(SigningKey.generate())
        send = wire.Send(7, bytes(bob_key.verify_key), message_id(1), b"held at shutdown")
        await sender.ws.send(wire.encode(send))
        assert isinstance(await silent_bob.frame(), wire.Deliver)
        assert server.core.deferred_count == 1  # delivered, held, not stored
    store = SqliteStore(
        tmp_path / DB_NAME, quota_messages=10, quota_bytes=10_000, max_prekey_stock=1
    )
    try:
        queued = store.pending(bytes(bob_key.verify_key), 0, 10, now=0.0)
        assert [(m.message_id, m.payload) for m in queued] == [(message_id(1), b"held at shutdown")]
    finally:
        store.close()
