"""The relay client against a real `parley relay` process: login, prekeys, send, receive, retries.

A few tests need a relay that misbehaves (answers with garbage, or names another relay); those use
a tiny scripted websockets server, because the real relay never does that.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from nacl.signing import SigningKey
from parley.net import errors, wire
from parley.net.client import (
    RESEND_GROUP,
    ClientClosed,
    ClientError,
    RelayClient,
    RequestTimeout,
)
from parley.net.client_backoff import Backoff
from parley.net.client_ledger import DeliveryLedger, Verdict
from parley.net.errors import NetError, RelayRefused
from websockets.asyncio.server import ServerConnection, serve

from .conftest import (
    InProcessRelay,
    Peer,
    PeerFactory,
    RelayFactory,
    RelayProcess,
    message_id,
)


async def _nothing(_: object) -> None:
    """An on_delivery for clients that never receive."""


# -- backoff (pure) ---------------------------------------------------------------------------


def test_backoff_grows_exponentially_to_its_cap_and_resets() -> None:
    backoff = Backoff(base=0.5, maximum=4.0, uniform=lambda low, high: high)
    assert [backoff.next_delay() for _ in range(6)] == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    backoff.reset()
    assert backoff.next_delay() == 0.5


def test_backoff_jitter_spans_zero_to_the_cap() -> None:
    seen: list[tuple[float, float]] = []

    def uniform(low: float, high: float) -> float:
        seen.append((low, high))
        return low

    backoff = Backoff(base=1.0, maximum=8.0, uniform=uniform)
    assert backoff.next_delay() == 0.0
    backoff.next_delay()
    assert seen == [(0.0, 1.0), (0.0, 2.0)]


def test_backoff_survives_a_very_long_outage() -> None:
    backoff = Backoff(base=1.0, maximum=30.0, uniform=lambda low, high: high)
    for _ in range(10_000):
        delay = backoff.next_delay()
    assert delay == 30.0


# -- argument checks --------------------------------------------------------------------------


def test_constructor_rejects_a_malformed_account() -> None:
    with pytest.raises(ValueError, match="32-byte"):
        RelayClient("ws://127.0.0.1:1", b"short", lambda m: m, on_delivery=_nothing)


async def test_send_rejects_malformed_ids_before_touching_the_network() -> None:
    client = RelayClient("ws://127.0.0.1:1", bytes(32), lambda m: m, on_delivery=_nothing)
    with pytest.raises(ValueError, match="16 bytes"):
        await client.send(bytes(32), b"short", b"payload")
    with pytest.raises(ValueError, match="at most"):
        await client.send(bytes(32), message_id(1), bytes(wire.MAX_PAYLOAD + 1))
    await client.close()


async def test_requests_before_start_fail_clearly() -> None:
    client = RelayClient("ws://127.0.0.1:1", bytes(32), lambda m: m, on_delivery=_nothing)
    with pytest.raises(ClientError, match="not started"):
        await client.fetch_bundle(bytes(32))
    await client.close()
    with pytest.raises(ClientClosed):
        await client.start()


def test_client_errors_are_one_tree_with_the_rest_of_net() -> None:
    # The classes live in errors.py; client.py re-exports the very same objects.
    assert (ClientError, RequestTimeout, ClientClosed) == (
        errors.ClientError,
        errors.RequestTimeout,
        errors.ClientClosed,
    )
    assert issubclass(ClientError, NetError)
    assert issubclass(RequestTimeout, ClientError) and issubclass(ClientClosed, ClientError)
    assert "ClientClosed" in (errors.__doc__ or "")


# -- against the real relay -------------------------------------------------------------------


async def test_login_reports_states_and_close_goes_offline(
    relay: RelayProcess, peers: PeerFactory
) -> None:
    alice = await peers(relay.url).start()
    await alice.client.start()  # idempotent: no second connection
    assert alice.client.state == "online"
    assert alice.states[:2] == [("connecting", relay.url), ("online", "")]
    await alice.client.close()
    assert alice.states[-1] == ("offline", "closed")
    assert alice.client.closed


async def test_two_clients_exchange_messages_with_receipts(
    relay: RelayProcess, peers: PeerFactory
) -> None:
    alice = await peers(relay.url).start()
    bob = await peers(relay.url).start()
    receipt = await alice.client.send(bob.account, message_id(1), b"ciphertext one")
    assert receipt.message_id == message_id(1)
    assert receipt.stored_at < receipt.expires_at
    frame = wire.decode_client_frame(receipt.frame)  # "what the relay saw": exactly these bytes
    assert isinstance(frame, wire.Send)
    assert (frame.recipient, frame.message_id, frame.payload) == (
        bob.account,
        message_id(1),
        b"ciphertext one",
    )
    await bob.client.send(alice.account, message_id(2), b"reply")
    [delivered] = await bob.wait_for(1)
    assert (delivered.sender, delivered.message_id, delivered.payload) == (
        alice.account,
        message_id(1),
        b"ciphertext one",
    )
    assert delivered.relay_received_at == receipt.stored_at
    assert (await alice.wait_for(1))[0].payload == b"reply"


async def test_backlog_is_delivered_in_order_then_acknowledged(
    relay: RelayProcess, peers: PeerFactory
) -> None:
    alice = await peers(relay.url).start()
    bob_key = SigningKey.generate()
    bob = await peers(relay.url, bob_key).start()  # registers bob
    await bob.client.close()
    for n in range(150):  # more than the relay's delivery window of 64
        await alice.client.send(bob.account, message_id(n), n.to_bytes(2, "big"))
    bob = await peers(relay.url, bob_key).start()
    delivered = await bob.wait_for(150)
    assert [d.message_id for d in delivered] == [message_id(n) for n in range(150)]
    await bob.client.close()
    # Every one was acknowledged: a new login gets nothing again.
    again = await peers(relay.url, bob_key).start()
    await alice.client.send(again.account, message_id(999), b"marker")
    assert [d.message_id for d in await again.wait_for(1)] == [message_id(999)]


async def test_a_message_the_app_fails_to_commit_is_not_acknowledged(
    relay: RelayProcess, peers: PeerFactory
) -> None:
    alice = await peers(relay.url).start()
    bob_key = SigningKey.generate()
    bob = await peers(relay.url, bob_key).start()
    bob.fail_next = 1
    await alice.client.send(bob.account, message_id(7), b"first try fails")
    async with asyncio.timeout(10):
        while not bob.calls:
            await asyncio.sleep(0.01)
    assert bob.received == []
    await bob.client.close()
    # Not acknowledged, so the relay still has it for the next login.
    bob = await peers(relay.url, bob_key).start()
    assert [d.message_id for d in await bob.wait_for(1)] == [message_id(7)]


async def test_prekeys_publish_fetch_hands_each_one_time_prekey_out_once(
    relay_factory: RelayFactory, peers: PeerFactory
) -> None:
    relay = relay_factory(["--otk-pair-hours", "0"])  # one requester may drain it here
    relay.start()
    low: list[int] = []

    async def on_low(remaining: int) -> None:
        low.append(remaining)

    alice = await peers(relay.url, on_prekeys_low=on_low).start()
    bob = await peers(relay.url).start()
    await alice.client.publish_prekeys(b"signed prekey", [b"otk-1", b"otk-2"])
    assert alice.client.prekey_stock == 2
    first = await bob.client.fetch_bundle(alice.account)
    second = await bob.client.fetch_bundle(alice.account)
    third = await bob.client.fetch_bundle(alice.account)
    assert first.identity_key == alice.account
    assert first.signed_prekey == b"signed prekey"
    assert {first.one_time_prekey, second.one_time_prekey} == {b"otk-1", b"otk-2"}
    assert third.one_time_prekey is None
    async with asyncio.timeout(10):
        while not low or low[-1] != 0:
            await asyncio.sleep(0.01)
    assert 0 in low


async def test_publish_splits_a_large_batch(relay: RelayProcess, peers: PeerFactory) -> None:
    alice = await peers(relay.url).start()
    keys = [i.to_bytes(4, "big") for i in range(wire.MAX_PREKEY_BATCH + 50)]
    await alice.client.publish_prekeys(b"spk", keys)
    assert alice.client.prekey_stock == len(keys)


async def test_fetching_an_unknown_account_is_refused(
    relay: RelayProcess, peers: PeerFactory
) -> None:
    alice = await peers(relay.url).start()
    with pytest.raises(RelayRefused) as refused:
        await alice.client.fetch_bundle(bytes(32))
    assert refused.value.code == "unknown_account"
    with pytest.raises(RelayRefused) as refused:
        await alice.client.send(bytes(32), message_id(1), b"to nobody")
    assert refused.value.code == "unknown_account"


async def test_send_waits_through_an_outage_and_is_stored_once(
    relay: RelayProcess, peers: PeerFactory
) -> None:
    alice = await peers(relay.url).start()
    bob = await peers(relay.url).start()
    relay.kill()
    sending = asyncio.create_task(alice.client.send(bob.account, message_id(5), b"later"))
    async with asyncio.timeout(10):
        while alice.client.state == "online":
            await asyncio.sleep(0.01)
    assert not sending.done()
    relay.start()
    receipt = await sending
    assert receipt.message_id == message_id(5)
    assert [d.payload for d in await bob.wait_for(1)] == [b"later"]


async def test_a_wrong_signature_is_fatal_and_reported(
    relay: RelayProcess, peers: PeerFactory
) -> None:
    impostor = peers(relay.url)
    impostor.key = SigningKey.generate()  # signs with a key that is not its account
    await impostor.client.start()
    with pytest.raises(RelayRefused) as refused:
        await impostor.client.wait_connected(10)
    assert refused.value.code == "bad_signature"
    assert impostor.states[-1][0] == "offline"
    with pytest.raises(RelayRefused):
        await impostor.client.fetch_bundle(bytes(32))


async def test_invite_token_is_required_for_the_first_login_only(
    relay_factory: RelayFactory, peers: PeerFactory
) -> None:
    relay = relay_factory(["--invite-token", "let-me-in"])
    relay.start()
    stranger = peers(relay.url)
    await stranger.client.start()
    with pytest.raises(RelayRefused) as refused:
        await stranger.client.wait_connected(10)
    assert refused.value.code == "invite_required"
    invited = await peers(relay.url, invite_token="let-me-in").start()
    await invited.client.close()
    back = await peers(relay.url, invited.key).start()  # no token the second time
    assert back.client.state == "online"


async def test_wait_connected_times_out_when_no_relay_listens(
    relay: RelayProcess, peers: PeerFactory
) -> None:
    url = relay.url
    relay.kill()  # a port that nothing listens on any more
    alice = peers(url, request_timeout=0.3)
    await alice.client.start()
    with pytest.raises(RequestTimeout, match="connection refused"):
        await alice.client.wait_connected(0.3)
    with pytest.raises(RequestTimeout):
        await alice.client.fetch_bundle(bytes(32))
    assert ("offline", "") not in alice.states
    assert any(state == "offline" and "refused" in detail for state, detail in alice.states)


# -- against a misbehaving relay (scripted) ---------------------------------------------------


@contextlib.asynccontextmanager
async def _scripted(
    handler: Callable[[ServerConnection, str], Awaitable[None]],
) -> AsyncIterator[str]:
    """A websockets server running ``handler(connection, its own url)``; yields its URL."""
    urls: list[str] = []

    async def run(ws: ServerConnection) -> None:
        await handler(ws, urls[0])

    async with serve(run, "127.0.0.1", 0, compression=None) as server:
        urls.append(f"ws://127.0.0.1:{server.sockets[0].getsockname()[1]}")
        yield urls[0]


async def test_a_relay_naming_another_relay_gets_no_signature() -> None:
    signed: list[bytes] = []

    def sign(message: bytes) -> bytes:
        signed.append(message)
        return bytes(64)

    async def impostor(ws: ServerConnection, url: str) -> None:
        await ws.send(wire.encode(wire.Challenge(bytes(32), "ws://somewhere-else:1")))
        await ws.wait_closed()

    async with _scripted(impostor) as url:
        client = RelayClient(url, bytes(32), sign, on_delivery=_nothing)
        await client.start()
        with pytest.raises(RelayRefused, match="somewhere-else"):
            await client.wait_connected(10)
        await client.close()
    assert signed == []


async def test_garbage_from_the_relay_is_ignored_not_fatal(peers: PeerFactory) -> None:
    async def sloppy(ws: ServerConnection, url: str) -> None:
        await ws.send(wire.encode(wire.Challenge(bytes(range(32)), url)))
        auth = wire.decode_client_frame(await ws.recv(decode=False))
        if not isinstance(auth, wire.Auth):
            return
        await ws.send(wire.encode(wire.Welcome(auth.request_id, auth.account, 50)))
        await ws.send(b"\xc1 not msgpack")
        await ws.send("a text frame")
        await ws.send(wire.encode(wire.Deliver(bytes(32), message_id(1), b"after garbage", 1.0)))
        await ws.wait_closed()

    async with _scripted(sloppy) as url:
        peer: Peer = await peers(url).start()
        assert [d.payload for d in await peer.wait_for(1)] == [b"after garbage"]


# -- against an in-process relay with a hand-driven clock -----------------------------------------


async def test_receipts_carry_the_relays_clock_and_expiry_is_honoured(
    inprocess_relay: InProcessRelay, peers: PeerFactory
) -> None:
    url, clock = inprocess_relay.url, inprocess_relay.clock
    alice = await peers(url).start()
    bob_key = SigningKey.generate()
    bob = await peers(url, bob_key).start()
    await bob.client.close()
    receipt = await alice.client.send(bob.account, message_id(1), b"expires")
    assert (receipt.stored_at, receipt.expires_at) == (clock.now, clock.now + 86_400.0)
    clock.now += 86_400.0 + 1
    await alice.client.send(bob.account, message_id(2), b"fresh")
    bob = await peers(url, bob_key).start()
    await bob.wait_for(1)
    # Delivery is oldest first, so an expired message handed out would have come first.
    assert [d.payload for d in bob.received] == [b"fresh"]
    assert bob.received[0].relay_received_at == clock.now


async def test_concurrent_commits_start_in_delivery_order_and_are_all_acknowledged(
    inprocess_relay: InProcessRelay, peers: PeerFactory
) -> None:
    url = inprocess_relay.url
    alice = await peers(url).start()
    bob_key = SigningKey.generate()
    bob = await peers(url, bob_key).start()
    await bob.client.close()
    for n in range(100):
        await alice.client.send(bob.account, message_id(n), b"x")
    bob = await peers(url, bob_key, delivery_concurrency=8).start()
    await bob.wait_for(100)
    assert bob.calls == [message_id(n) for n in range(100)]
    async with asyncio.timeout(10):
        while inprocess_relay.server.store.queued:  # every commit was followed by its ack
            await asyncio.sleep(0.01)


async def test_concurrent_sends_of_one_message_id_join_and_store_once(
    inprocess_relay: InProcessRelay, peers: PeerFactory
) -> None:
    alice = await peers(inprocess_relay.url).start()
    bob = await peers(inprocess_relay.url).start()
    first, second = await asyncio.gather(
        alice.client.send(bob.account, message_id(1), b"once"),
        alice.client.send(bob.account, message_id(1), b"once"),
    )
    assert first == second
    await alice.client.send(bob.account, message_id(2), b"marker")
    assert [d.message_id for d in await bob.wait_for(2)] == [message_id(1), message_id(2)]


async def test_a_send_that_times_out_stops_being_retried(
    relay: RelayProcess, peers: PeerFactory
) -> None:
    alice = await peers(relay.url, send_timeout=0.2).start()
    bob = await peers(relay.url).start()
    relay.kill()
    with pytest.raises(RequestTimeout, match="did not store"):
        await alice.client.send(bob.account, message_id(1), b"given up")
    relay.start()
    await alice.client.wait_connected(15)
    await alice.client.send(bob.account, message_id(2), b"marker")
    # The given-up message was not resent behind the caller's back after the reconnection.
    assert [d.message_id for d in await bob.wait_for(1)] == [message_id(2)]


async def test_a_failing_sign_callback_is_retried_not_fatal(
    relay: RelayProcess, peers: PeerFactory
) -> None:
    peer = peers(relay.url)
    attempts: list[bytes] = []
    real_sign = peer.sign

    def flaky_sign(message: bytes) -> bytes:
        attempts.append(message)
        if len(attempts) == 1:
            raise RuntimeError("the keyring was locked")
        return real_sign(message)

    client = RelayClient(
        relay.url,
        peer.account,
        flaky_sign,
        on_delivery=_nothing,
        backoff=Backoff(base=0.05, maximum=0.2),
    )
    await client.start()
    await client.wait_connected(15)
    assert len(attempts) == 2
    await client.close()


# -- the delivery ledger (pure) ---------------------------------------------------------------


def test_ledger_classifies_copies_of_one_message() -> None:
    ledger = DeliveryLedger(window=8)
    assert ledger.receive(message_id(1)) is Verdict.NEW
    assert ledger.receive(message_id(1)) is Verdict.IN_PROGRESS
    ledger.committed(message_id(1))
    assert ledger.receive(message_id(1)) is Verdict.DUPLICATE
    assert ledger.receive(message_id(2)) is Verdict.NEW
    ledger.failed(message_id(2))
    assert ledger.receive(message_id(2)) is Verdict.NEW  # a failed commit is tried again


def test_ledger_memory_is_bounded_by_its_window() -> None:
    ledger = DeliveryLedger(window=3)
    for n in range(100):
        ledger.receive(message_id(n))
        ledger.committed(message_id(n))
    assert len(ledger) == 3
    assert ledger.receive(message_id(99)) is Verdict.DUPLICATE
    assert ledger.receive(message_id(0)) is Verdict.NEW  # forgotten: the app's store dedupes
    with pytest.raises(ValueError, match="at least one"):
        DeliveryLedger(window=0)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(["deliver", "commit", "fail"]), st.integers(0, 5)),
        max_size=60,
    )
)
def test_ledger_hands_each_message_to_the_app_once_per_failure(
    steps: list[tuple[str, int]],
) -> None:
    """Model: whatever the order of copies, commits and failures, the app is given an id again
    only after its previous attempt failed, never while one is under way or after a commit."""
    ledger = DeliveryLedger(window=16)  # more than the 6 ids used: nothing is forgotten
    handed: dict[int, int] = {}
    failures: dict[int, int] = {}
    under_way: set[int] = set()
    committed: set[int] = set()
    for action, n in steps:
        if action == "deliver":
            verdict = ledger.receive(message_id(n))
            expected = (
                Verdict.DUPLICATE
                if n in committed
                else Verdict.IN_PROGRESS
                if n in under_way
                else Verdict.NEW
            )
            assert verdict is expected
            if verdict is Verdict.NEW:
                handed[n] = handed.get(n, 0) + 1
                under_way.add(n)
        elif n in under_way:  # the app finishes only what it was given
            under_way.discard(n)
            if action == "commit":
                ledger.committed(message_id(n))
                committed.add(n)
            else:
                ledger.failed(message_id(n))
                failures[n] = failures.get(n, 0) + 1
    for n, count in handed.items():
        assert count <= failures.get(n, 0) + 1


async def test_explicit_ack_deletes_and_marks_the_message_as_seen(
    inprocess_relay: InProcessRelay, peers: PeerFactory
) -> None:
    alice = await peers(inprocess_relay.url).start()
    bob = await peers(inprocess_relay.url).start()
    bob.fail_next = 1  # the app commits this one by another path, then acknowledges it itself
    await alice.client.send(bob.account, message_id(1), b"committed elsewhere")
    async with asyncio.timeout(10):
        while not bob.calls:
            await asyncio.sleep(0.01)
    assert inprocess_relay.server.store.queued == 1  # a failed commit is not acknowledged
    await bob.client.ack([message_id(1)])
    async with asyncio.timeout(10):
        while inprocess_relay.server.store.queued:
            await asyncio.sleep(0.01)
    assert bob.received == []


async def test_a_lost_relay_is_reported_with_a_reason(
    relay: RelayProcess, peers: PeerFactory
) -> None:
    alice = await peers(relay.url).start()
    relay.kill()
    async with asyncio.timeout(10):
        while alice.client.state == "online":
            await asyncio.sleep(0.01)
    offline = [detail for state, detail in alice.states if state == "offline"]
    assert offline and all(offline)  # every offline report says why


# -- batched acks and receipts (scripted relays: they show exactly which frames the client sends) --


async def _welcome(ws: ServerConnection, url: str, caps: tuple[str, ...]) -> wire.Auth:
    """Log the client in, announcing ``caps``; return its Auth (which names its own caps)."""
    await ws.send(wire.encode(wire.Challenge(bytes(range(32)), url)))
    auth = wire.decode_client_frame(await ws.recv(decode=False))
    assert isinstance(auth, wire.Auth)
    await ws.send(wire.encode(wire.Welcome(auth.request_id, auth.account, 50, caps=caps)))
    return auth


def _write_at_once(ws: ServerConnection, frames: list[bytes]) -> None:
    """Put ``frames`` on the socket in one write, so the client reads them as one burst."""
    for frame in frames:
        ws.protocol.send_binary(frame)
    ws.transport.write(b"".join(ws.protocol.data_to_send()))


async def _acks(ws: ServerConnection, count: int) -> list[wire.Ack]:
    """Read Ack frames until they name ``count`` message ids."""
    frames: list[wire.Ack] = []
    while sum(len(f.message_ids) for f in frames) < count:
        frame = wire.decode_client_frame(await asyncio.wait_for(ws.recv(decode=False), 10))
        assert isinstance(frame, wire.Ack), frame
        frames.append(frame)
    return frames


async def test_a_batch_of_receipts_resolves_each_pending_send(peers: PeerFactory) -> None:
    auths: list[wire.Auth] = []

    async def batching_relay(ws: ServerConnection, url: str) -> None:
        auths.append(await _welcome(ws, url, (wire.CAP_BATCH,)))
        sends = [wire.decode_client_frame(await ws.recv(decode=False)) for _ in range(3)]
        receipts = [
            wire.Sent(s.request_id, s.message_id, 10.0 + n, 20.0, duplicate=n == 1)
            for n, s in enumerate(sends)
            if isinstance(s, wire.Send)
        ]
        await ws.send(wire.encode(wire.SentBatch(tuple(reversed(receipts)))))
        await ws.wait_closed()

    async with _scripted(batching_relay) as url:
        alice = await peers(url).start()
        got = await asyncio.gather(
            *(alice.client.send(bytes(32), message_id(n), b"m") for n in range(3))
        )
    assert wire.CAP_BATCH in auths[0].caps
    assert [(r.message_id, r.stored_at) for r in got] == [
        (message_id(n), 10.0 + n) for n in range(3)
    ]


async def _receive_all(
    peers: PeerFactory,
    script: Callable[[ServerConnection, str], Awaitable[None]],
    count: int,
    seen: list[list[wire.Ack]],
) -> Peer:
    """Bob against a scripted relay: wait until he committed ``count`` messages and the script
    has read the acks it expects (into ``seen``)."""
    async with _scripted(script) as url:
        bob = await peers(url).start()
        await bob.wait_for(count)
        async with asyncio.timeout(10):
            while not seen:
                await asyncio.sleep(0.01)
    return bob


async def test_a_burst_of_deliveries_is_acknowledged_in_fewer_frames(peers: PeerFactory) -> None:
    seen: list[list[wire.Ack]] = []

    async def batching_relay(ws: ServerConnection, url: str) -> None:
        await _welcome(ws, url, (wire.CAP_BATCH,))
        delivers = [wire.Deliver(bytes(32), message_id(n), b"m", 1.0) for n in range(20)]
        _write_at_once(ws, [wire.encode(d) for d in delivers])
        seen.append(await _acks(ws, 20))
        await ws.wait_closed()

    await _receive_all(peers, batching_relay, 20, seen)
    [frames] = seen
    acked = [mid for frame in frames for mid in frame.message_ids]
    assert sorted(acked) == [message_id(n) for n in range(20)]  # each once, none before commit
    assert len(frames) < 20
    assert max(len(frame.message_ids) for frame in frames) > 1


async def test_a_batch_of_deliveries_reaches_the_app_in_order_and_each_is_acknowledged(
    peers: PeerFactory,
) -> None:
    auths: list[wire.Auth] = []
    seen: list[list[wire.Ack]] = []

    async def batching_relay(ws: ServerConnection, url: str) -> None:
        auths.append(await _welcome(ws, url, (wire.CAP_BATCH,)))
        batch = wire.DeliverBatch(
            tuple(wire.Deliver(bytes(32), message_id(n), b"m%d" % n, 1.0) for n in range(6))
        )
        await ws.send(wire.encode(batch))
        seen.append(await _acks(ws, 6))
        await ws.wait_closed()

    bob = await _receive_all(peers, batching_relay, 6, seen)
    assert wire.CAP_DELIVER_BATCH in auths[0].caps
    assert bob.payloads() == [b"m%d" % n for n in range(6)]
    acked = [mid for frame in seen[0] for mid in frame.message_ids]
    assert sorted(acked) == [message_id(n) for n in range(6)]


async def test_a_relay_without_the_capability_gets_one_ack_per_message(
    peers: PeerFactory,
) -> None:
    seen: list[list[wire.Ack]] = []

    async def old_relay(ws: ServerConnection, url: str) -> None:
        await _welcome(ws, url, ())
        delivers = [wire.Deliver(bytes(32), message_id(n), b"m", 1.0) for n in range(5)]
        _write_at_once(ws, [wire.encode(d) for d in delivers])
        seen.append(await _acks(ws, 5))
        await ws.wait_closed()

    await _receive_all(peers, old_relay, 5, seen)
    assert [frame.message_ids for frame in seen[0]] == [(message_id(n),) for n in range(5)]


async def test_sends_refused_by_the_rate_limit_reach_the_recipient_in_the_order_sent(
    relay_factory: RelayFactory, peers: PeerFactory
) -> None:
    """An app that sends faster than the relay's rate limit, for a while: every message arrives,
    and none is overtaken by a much newer one (a recipient's ratchet drops messages that fall
    too far behind). Retried sends go out in the app's order, with new sends behind them."""
    relay = relay_factory(["--rate", "40", "--burst", "5"])
    relay.start()
    alice = await peers(relay.url).start()
    bob = await peers(relay.url).start()
    count = 60
    ids = [message_id(n) for n in range(count)]
    sends = []
    for n, mid in enumerate(ids):  # ~400 sends/s for 0.15 s, ten times the relay's rate
        sends.append(asyncio.create_task(alice.client.send(bob.account, mid, b"m%d" % n)))
        await asyncio.sleep(0.0025)
    await asyncio.gather(*sends)
    got = [delivery.message_id for delivery in await bob.wait_for(count, timeout=30.0)]
    assert sorted(got) == sorted(ids)
    # Exact order is not promised (a token can refill between two frames of one resent group),
    # but no message may overtake by more than a group (before the fix: by up to 50 places).
    displacement = max(abs(got.index(mid) - n) for n, mid in enumerate(ids))
    assert displacement <= RESEND_GROUP, [int.from_bytes(m, "big") for m in got]


async def test_one_time_prekey_fetches_are_limited_per_requester_and_per_target(
    relay_factory: RelayFactory, peers: PeerFactory
) -> None:
    """An account that fetches a target's bundle over and over (or many targets) no longer
    drains stocks: over a limit the bundle holds the signed prekey alone (it got every one of
    the stock before)."""
    relay = relay_factory(["--otk-per-requester", "5", "--otk-per-target", "3"])
    relay.start()
    targets = [await peers(relay.url).start() for _ in range(7)]
    for n, target in enumerate(targets):
        keys = [b"otk-%d-%d" % (n, i) for i in range(20)]
        await target.client.publish_prekeys(b"signed prekey", keys)
    thief = await peers(relay.url).start()
    # The same target again and again: one one-time prekey per day for this pair.
    again = [await thief.client.fetch_bundle(targets[0].account) for _ in range(10)]
    assert sum(b.one_time_prekey is not None for b in again) == 1
    assert all(b.signed_prekey == b"signed prekey" for b in again)
    # Many targets: 5 one-time prekeys per hour for one requester, whoever the targets are.
    spread = [await thief.client.fetch_bundle(t.account) for t in targets[1:]]
    assert [b.one_time_prekey is not None for b in spread] == [True] * 4 + [False] * 2
    # Many requesters (Sybils) against one target: 3 per hour from one stock.
    sybils = [await peers(relay.url).start() for _ in range(5)]
    taken = [await s.client.fetch_bundle(targets[6].account) for s in sybils]
    assert [b.one_time_prekey is not None for b in taken] == [True] * 3 + [False] * 2
    await targets[6].client.publish_prekeys(b"signed prekey", [])
    assert targets[6].client.prekey_stock == 17  # 20 - 3: the stock survived
