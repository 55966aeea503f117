"""The sans-I/O relay core with a hand-driven clock and a real SQLite store in a temp dir."""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import msgpack
import nacl.signing
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from parley.net import wire
from parley.net.relay.limits import RelayConfig
from parley.net.relay.protocol import CLOSE_POLICY, Action, Close, RelayCore, Transmit
from parley.net.relay.store import Queued, SqliteStore, Stored

NAME = "ws://relay.test:1"
T0 = 1_000_000.0
BATCH = (wire.CAP_BATCH,)  # what every Welcome of this relay announces


class Harness:
    """A core plus helpers that speak the wire protocol to it like a client would.

    Write-behind is off unless a test turns it on (``commit_delay``): most tests here check what
    the store holds after each step; test_relay_write_behind.py covers the held path.
    """

    def __init__(self, tmp_path: Path, **config: object) -> None:
        settings = {"commit_delay": 0.0, **config}
        self.config = RelayConfig(name=NAME, **settings)  # type: ignore[arg-type]
        self.store = SqliteStore(
            tmp_path / "relay.sqlite3",
            quota_messages=self.config.quota_messages,
            quota_bytes=self.config.quota_bytes,
            max_prekey_stock=self.config.max_prekey_stock,
        )
        counter = itertools.count(1000)
        self.core = RelayCore(self.config, self.store, rng=lambda n: next(counter).to_bytes(n))
        self.nonces: dict[int, bytes] = {}
        self.ids = itertools.count(1)

    def connect(self, now: float = T0) -> int:
        conn, actions = self.core.connect(now)
        challenge = wire.decode_server_frame(_only(actions).data)
        assert isinstance(challenge, wire.Challenge)
        assert challenge.relay == NAME
        self.nonces[conn] = challenge.nonce
        return conn

    def auth_frame(
        self,
        key: nacl.signing.SigningKey,
        nonce: bytes,
        relay: str = NAME,
        invite: str | None = None,
        caps: tuple[str, ...] = (),
    ) -> bytes:
        signature = key.sign(wire.auth_message(relay, nonce)).signature
        return wire.encode(
            wire.Auth(next(self.ids), bytes(key.verify_key), signature, invite=invite, caps=caps)
        )

    def login(
        self,
        key: nacl.signing.SigningKey,
        now: float = T0,
        invite: str | None = None,
        caps: tuple[str, ...] = (),
    ) -> tuple[int, list[wire.ServerFrame]]:
        conn = self.connect(now)
        auth = self.auth_frame(key, self.nonces[conn], invite=invite, caps=caps)
        frames = self.frames(self.core.receive(conn, auth, now))
        assert isinstance(frames[0], wire.Welcome), frames
        return conn, frames[1:]

    def request(
        self, conn: int, frame: wire.ClientFrame, now: float = T0
    ) -> list[wire.ServerFrame]:
        return self.frames(self.core.receive(conn, wire.encode(frame), now))

    def send(
        self,
        conn: int,
        to: nacl.signing.SigningKey,
        mid: bytes,
        payload: bytes = b"ct",
        now: float = T0,
    ) -> list[wire.ServerFrame]:
        return self.request(
            conn, wire.Send(next(self.ids), bytes(to.verify_key), mid, payload), now
        )

    def frames(self, actions: list[Action], conn: int | None = None) -> list[wire.ServerFrame]:
        """Decode the Transmits (optionally those for one connection); commit as the pump would."""
        if self.store.dirty:
            self.store.commit()
        return [
            wire.Sent(*a.receipt) if a.receipt is not None else wire.decode_server_frame(a.data)
            for a in actions
            if isinstance(a, Transmit) and (conn is None or a.conn == conn)
        ]


def _only(actions: list[Action]) -> Transmit:
    assert len(actions) == 1
    action = actions[0]
    assert isinstance(action, Transmit)
    return action


def _error(frames: list[wire.ServerFrame]) -> wire.Error:
    errors = [f for f in frames if isinstance(f, wire.Error)]
    assert len(errors) == 1, frames
    return errors[0]


def mid(n: int) -> bytes:
    return n.to_bytes(16, "big")


@pytest.fixture
def relay(tmp_path: Path) -> Iterator[Harness]:
    harness = Harness(tmp_path)
    yield harness
    harness.store.close()


alice = nacl.signing.SigningKey(b"a" * 32)
bob = nacl.signing.SigningKey(b"b" * 32)
carol = nacl.signing.SigningKey(b"c" * 32)


# --- authentication -------------------------------------------------------------------------


def test_login_registers_an_account_once(relay: Harness) -> None:
    conn = relay.connect()
    auth = relay.auth_frame(alice, relay.nonces[conn])
    first = relay.frames(relay.core.receive(conn, auth, T0))
    assert first == [wire.Welcome(1, bytes(alice.verify_key), 0, registered=True, caps=BATCH)]
    conn2 = relay.connect()
    again = relay.frames(
        relay.core.receive(conn2, relay.auth_frame(alice, relay.nonces[conn2]), T0)
    )
    assert again[0] == wire.Welcome(2, bytes(alice.verify_key), 0, registered=False, caps=BATCH)
    assert relay.core.counters.authenticated == 2


@pytest.mark.parametrize("case", ["wrong key", "other relay", "other nonce"])
def test_a_bad_signature_is_refused_and_the_connection_closed(relay: Harness, case: str) -> None:
    conn = relay.connect()
    nonce = relay.nonces[conn]
    signed_by = alice
    relay_name = NAME
    if case == "other relay":
        relay_name = "ws://elsewhere:1"
    elif case == "other nonce":
        nonce = bytes(32)
    signature = signed_by.sign(wire.auth_message(relay_name, nonce)).signature
    account = bytes((bob if case == "wrong key" else alice).verify_key)
    actions = relay.core.receive(conn, wire.encode(wire.Auth(5, account, signature)), T0)
    assert _error(relay.frames(actions)) == wire.Error(
        "bad_signature", _error(relay.frames(actions)).reason, 5
    )
    assert Close(conn, CLOSE_POLICY, "bad_signature") in actions
    assert relay.core.counters.authenticated == 0


def test_a_replayed_challenge_answer_is_refused(relay: Harness) -> None:
    first = relay.connect()
    answer = relay.auth_frame(alice, relay.nonces[first])
    relay.frames(relay.core.receive(first, answer, T0))
    second = relay.connect()
    actions = relay.core.receive(second, answer, T0)
    assert _error(relay.frames(actions)).code == "bad_signature"
    # and on the same connection, the nonce is single use
    third = relay.connect()
    relay.core.receive(third, relay.auth_frame(bob, bytes(32)), T0)  # wrong answer burns it
    assert relay.core.receive(third, relay.auth_frame(bob, relay.nonces[third]), T0) == []


def test_requests_before_login_are_refused(relay: Harness) -> None:
    conn = relay.connect()
    frames = relay.request(conn, wire.Send(3, bytes(bob.verify_key), mid(1), b"x"))
    assert _error(frames).code == "unauthenticated"
    assert _error(frames).request_id == 3
    assert _error(relay.request(conn, wire.Ack(mid(1)))).code == "unauthenticated"


def test_a_second_auth_is_refused(relay: Harness) -> None:
    conn, _ = relay.login(alice)
    frames = relay.frames(relay.core.receive(conn, relay.auth_frame(alice, bytes(32)), T0))
    assert _error(frames).code == "already_authenticated"


def test_unauthenticated_connections_time_out(relay: Harness) -> None:
    idle = relay.connect(T0)
    later = relay.connect(T0 + 5)
    assert relay.core.tick(T0 + relay.config.auth_timeout - 1) == []
    actions = relay.core.tick(T0 + relay.config.auth_timeout)
    assert _error(relay.frames(actions, idle)).code == "auth_timeout"
    assert Close(idle, CLOSE_POLICY, "auth_timeout") in actions
    assert relay.frames(actions, later) == []


def test_an_invite_token_gates_only_the_first_login(tmp_path: Path) -> None:
    relay = Harness(tmp_path, invite_token="sesame")
    conn = relay.connect()
    actions = relay.core.receive(conn, relay.auth_frame(alice, relay.nonces[conn]), T0)
    assert _error(relay.frames(actions)).code == "invite_required"
    conn = relay.connect()
    wrong = relay.auth_frame(alice, relay.nonces[conn], invite="sesamE")
    assert _error(relay.frames(relay.core.receive(conn, wrong, T0))).code == "invite_required"
    relay.login(alice, invite="sesame")
    relay.login(alice)  # known now: no token needed
    relay.store.close()


def test_the_connection_cap_per_account(tmp_path: Path) -> None:
    relay = Harness(tmp_path, max_connections_per_account=2)
    relay.login(alice)
    relay.login(alice)
    conn = relay.connect()
    actions = relay.core.receive(conn, relay.auth_frame(alice, relay.nonces[conn]), T0)
    assert _error(relay.frames(actions)).code == "too_many_connections"
    assert any(isinstance(a, Close) for a in actions)
    relay.core.disconnect(1)  # the first one leaves: room again
    relay.login(alice)
    relay.store.close()


# --- abuse and limits -----------------------------------------------------------------------


def test_garbage_gets_errors_then_a_close(tmp_path: Path) -> None:
    relay = Harness(tmp_path, max_bad_frames=3)
    conn, _ = relay.login(alice)
    for data in (b"\xc1", "text"):
        actions = relay.core.receive(conn, data, T0)
        assert _error(relay.frames(actions)).code == "bad_frame"
        assert not any(isinstance(a, Close) for a in actions)
    actions = relay.core.receive(conn, wire.encode(wire.Pong(1)), T0)
    assert _error(relay.frames(actions)).code == "unknown_type"
    assert Close(conn, CLOSE_POLICY, "unknown_type") in actions
    assert relay.core.receive(conn, wire.encode(wire.Ping(1)), T0) == []  # closing: ignored
    assert relay.core.counters.refused_by_code["bad_frame"] == 2
    relay.store.close()


def test_the_rate_limit_refills_with_time(tmp_path: Path) -> None:
    relay = Harness(tmp_path, rate_per_second=2.0, rate_burst=3.0)
    conn, _ = relay.login(alice)
    replies = [relay.request(conn, wire.Ping(i), T0)[0] for i in range(4)]
    assert replies[:3] == [wire.Pong(0), wire.Pong(1), wire.Pong(2)]
    assert isinstance(replies[3], wire.Error)
    assert replies[3].code == "rate_limited"
    assert replies[3].request_id == 3
    assert relay.request(conn, wire.Ping(9), T0 + 0.5) == [wire.Pong(9)]
    # the bucket is per account: a second connection shares it
    other, _ = relay.login(alice, T0 + 0.5)
    assert _error(relay.request(other, wire.Ping(10), T0 + 0.5)).code == "rate_limited"
    relay.store.close()


def test_acks_are_never_rate_limited(tmp_path: Path) -> None:
    relay = Harness(tmp_path, rate_per_second=1.0, rate_burst=1.0, window=100)
    bconn, _ = relay.login(bob)
    relay.core.disconnect(bconn)
    aconn, _ = relay.login(alice)
    for n in range(5):
        relay.send(aconn, bob, mid(n), now=T0 + n)
    bconn, deliveries = relay.login(bob, T0 + 10)
    assert len(deliveries) == 5
    for n in range(5):
        assert relay.request(bconn, wire.Ack(mid(n)), T0 + 10) == []
    assert relay.store.queued == 0
    relay.store.close()


# --- messages -------------------------------------------------------------------------------


def test_live_delivery_carries_the_authenticated_sender(relay: Harness) -> None:
    bconn, _ = relay.login(bob)
    aconn, _ = relay.login(alice)
    actions = relay.core.receive(
        aconn, wire.encode(wire.Send(7, bytes(bob.verify_key), mid(1), b"hi")), T0
    )
    sent = [a for a in actions if isinstance(a, Transmit) and a.conn == aconn]
    assert [a.after_commit for a in sent] == [True]  # the ack waits for the commit
    frames = relay.frames(actions)
    assert frames[0] == wire.Sent(7, mid(1), T0, T0 + relay.config.ttl)
    assert relay.frames(actions, bconn) == [
        wire.Deliver(bytes(alice.verify_key), mid(1), b"hi", T0)
    ]
    assert relay.store.queued == 1
    relay.request(bconn, wire.Ack(mid(1)))
    assert relay.store.queued == 0
    assert relay.core.counters.delivered_total == 1


def test_offline_messages_wait_and_drain_in_order(relay: Harness) -> None:
    relay.core.disconnect(relay.login(bob)[0])
    aconn, _ = relay.login(alice)
    for n in range(3):
        relay.send(aconn, bob, mid(n), bytes([n]), now=T0 + n)
    _, deliveries = relay.login(bob, T0 + 5)
    assert deliveries == [
        wire.Deliver(bytes(alice.verify_key), mid(n), bytes([n]), T0 + n) for n in range(3)
    ]


def test_unacknowledged_messages_come_again_after_a_reconnect(relay: Harness) -> None:
    bconn, _ = relay.login(bob)
    aconn, _ = relay.login(alice)
    relay.send(aconn, bob, mid(1))
    relay.core.disconnect(bconn)
    _, again = relay.login(bob)
    assert [f.message_id for f in again if isinstance(f, wire.Deliver)] == [mid(1)]


def test_a_resend_is_not_duplicated(relay: Harness) -> None:
    relay.login(bob)
    aconn, _ = relay.login(alice)
    first = relay.send(aconn, bob, mid(1), now=T0)
    second = relay.send(aconn, bob, mid(1), now=T0 + 30)
    assert isinstance(first[0], wire.Sent)
    assert first[0] == wire.Sent(first[0].request_id, mid(1), T0, T0 + relay.config.ttl)
    assert isinstance(second[0], wire.Sent)
    assert second[0].duplicate
    assert second[0].stored_at == T0
    assert len(second) == 1  # no second delivery
    assert relay.store.queued == 1
    assert relay.core.counters.stored_total == 1


def test_the_same_id_from_another_sender_is_a_conflict(relay: Harness) -> None:
    relay.login(bob)
    relay.login(carol)
    aconn, _ = relay.login(alice)
    cconn, _ = relay.login(carol)
    relay.send(aconn, bob, mid(1))
    error = _error(relay.send(cconn, bob, mid(1)))
    assert error.code == "message_id_conflict"
    assert error.message_id == mid(1)


def test_sending_to_an_unknown_account_is_refused(relay: Harness) -> None:
    aconn, _ = relay.login(alice)
    assert _error(relay.send(aconn, bob, mid(1))).code == "unknown_account"


def test_the_quota_counts_messages_and_bytes(tmp_path: Path) -> None:
    relay = Harness(tmp_path, quota_messages=2, quota_bytes=10)
    relay.core.disconnect(relay.login(bob)[0])
    aconn, _ = relay.login(alice)
    assert isinstance(relay.send(aconn, bob, mid(1), b"12345678")[0], wire.Sent)
    assert _error(relay.send(aconn, bob, mid(2), b"123")).code == "quota_exceeded"
    assert isinstance(relay.send(aconn, bob, mid(3), b"12")[0], wire.Sent)
    error = _error(relay.send(aconn, bob, mid(4), b""))
    assert (error.code, error.message_id) == ("quota_exceeded", mid(4))
    resend = relay.send(aconn, bob, mid(3), b"12")  # a resend of a queued one is still fine
    assert isinstance(resend[0], wire.Sent)
    assert resend[0].duplicate
    bconn, deliveries = relay.login(bob)
    assert isinstance(deliveries[0], wire.Deliver)
    relay.request(bconn, wire.Ack(deliveries[0].message_id))
    assert isinstance(relay.send(aconn, bob, mid(5), b"")[0], wire.Sent)
    relay.store.close()


def test_messages_expire_after_the_ttl(tmp_path: Path) -> None:
    relay = Harness(tmp_path, ttl=100.0, expire_interval=50.0)
    relay.core.disconnect(relay.login(bob)[0])
    aconn, _ = relay.login(alice)
    relay.send(aconn, bob, mid(1), now=T0)
    relay.send(aconn, bob, mid(2), now=T0 + 60)
    # at T0 + 100 the first has expired (not yet swept): it is never delivered
    _, deliveries = relay.login(bob, T0 + 100)
    assert [f.message_id for f in deliveries if isinstance(f, wire.Deliver)] == [mid(2)]
    relay.core.tick(T0 + 100)
    relay.store.commit()
    assert relay.core.counters.expired_total == 1
    assert relay.store.queued == 1
    relay.store.close()


def test_flow_control_bounds_deliveries_in_flight(tmp_path: Path) -> None:
    relay = Harness(tmp_path, window=4, rate_per_second=0)
    relay.core.disconnect(relay.login(bob)[0])
    aconn, _ = relay.login(alice)
    for n in range(10):
        relay.send(aconn, bob, mid(n))
    bconn, first = relay.login(bob)
    assert [f.message_id for f in first] == [mid(n) for n in range(4)]  # type: ignore[union-attr]
    assert relay.request(bconn, wire.Ack(mid(0))) == []  # 3 in flight: above half a window
    refill = relay.request(bconn, wire.Ack(mid(1)))  # 2 in flight: top up to 4
    assert [f.message_id for f in refill] == [mid(4), mid(5)]  # type: ignore[union-attr]
    # a live message while a backlog waits goes behind it, in order
    live = relay.send(aconn, bob, mid(10))
    assert [type(f) for f in live] == [wire.Sent]
    delivered = [mid(n) for n in range(6)]
    for n in range(2, 11):
        for frame in relay.request(bconn, wire.Ack(mid(n))):
            assert isinstance(frame, wire.Deliver)
            delivered.append(frame.message_id)
    assert delivered == [mid(n) for n in range(11)]
    # backlog drained: the next message goes out live
    assert [type(f) for f in relay.send(aconn, bob, mid(11))] == [wire.Sent, wire.Deliver]
    relay.store.close()


# --- prekeys --------------------------------------------------------------------------------


def test_each_one_time_prekey_is_handed_out_once(tmp_path: Path) -> None:
    # One requester drains the stock here: the fetch limits (tested below) are off.
    relay = Harness(tmp_path, prekey_low_threshold=2, otk_pair_interval=0)
    bconn, _ = relay.login(bob)
    published = relay.request(bconn, wire.Publish(1, b"spk", (b"k1", b"k2", b"k3")))
    assert published == [wire.Published(1, 3)]
    aconn, _ = relay.login(alice)
    bob_id = bytes(bob.verify_key)
    got = []
    for n in range(4):
        actions = relay.core.receive(aconn, wire.encode(wire.Fetch(n, bob_id)), T0)
        bundle = relay.frames(actions, aconn)[0]
        assert isinstance(bundle, wire.Bundle)
        assert (bundle.identity_key, bundle.signed_prekey) == (bob_id, b"spk")
        got.append(bundle.one_time_prekey)
        if n == 1:  # stock fell to 1, below 2: the owner is told
            assert relay.frames(actions, bconn) == [wire.PrekeysLow(1, 2)]
        if n == 0:
            assert relay.frames(actions, bconn) == []
    assert got == [b"k1", b"k2", b"k3", None]
    relay.login(bob)
    assert relay.store.prekey_count(bob_id) == 0
    relay.store.close()


def test_one_time_prekey_limits_refill_with_time(tmp_path: Path) -> None:
    relay = Harness(tmp_path, otk_per_requester=2, otk_per_target=100)
    bconn, _ = relay.login(bob)
    keys = tuple(b"k%d" % n for n in range(10))
    relay.request(bconn, wire.Publish(1, b"spk", keys))
    aconn, _ = relay.login(alice)
    bob_id = bytes(bob.verify_key)

    def fetch(n: int, now: float) -> bytes | None:
        [bundle] = relay.frames(
            relay.core.receive(aconn, wire.encode(wire.Fetch(n, bob_id)), now), aconn
        )
        assert isinstance(bundle, wire.Bundle) and bundle.signed_prekey == b"spk"
        return bundle.one_time_prekey

    assert [fetch(n, T0) for n in range(3)] == [b"k0", None, None]  # one per pair per day
    assert fetch(3, T0 + 86_400) == b"k1"  # a day later, one more
    assert fetch(4, T0 + 2 * 86_400) == b"k2"
    assert relay.core.counters.otk_withheld_total == 2
    relay.store.close()


def test_fetching_an_unknown_account_is_an_error(relay: Harness) -> None:
    aconn, _ = relay.login(alice)
    relay.login(bob)  # registered but never published
    for who in (bob, carol):
        error = _error(relay.request(aconn, wire.Fetch(4, bytes(who.verify_key))))
        assert (error.code, error.request_id) == ("unknown_account", 4)


def test_the_prekey_stock_is_capped(tmp_path: Path) -> None:
    relay = Harness(tmp_path, max_prekey_stock=3)
    conn, _ = relay.login(alice)
    assert relay.request(conn, wire.Publish(1, b"s", (b"1", b"2"))) == [wire.Published(1, 2)]
    assert _error(relay.request(conn, wire.Publish(2, b"s", (b"3", b"4")))).code == "quota_exceeded"
    assert relay.request(conn, wire.Publish(3, b"s2", (b"3",))) == [wire.Published(3, 3)]
    relay.store.close()


def test_a_retried_publish_is_not_counted_against_the_stock(tmp_path: Path) -> None:
    relay = Harness(tmp_path, max_prekey_stock=3)
    conn, _ = relay.login(alice)
    keys = (b"1", b"2", b"3")
    assert relay.request(conn, wire.Publish(1, b"s", keys)) == [wire.Published(1, 3)]
    # The reply was lost and the client publishes the same keys again: stored once, no refusal.
    assert relay.request(conn, wire.Publish(2, b"s", keys)) == [wire.Published(2, 3)]
    assert relay.store.prekey_count(bytes(alice.verify_key)) == 3
    relay.store.close()


def test_metrics_render_counts_without_identities(relay: Harness) -> None:
    relay.login(alice)
    text = relay.core.counters.render(relay.store.queued)
    assert "parley_relay_authenticated 1" in text
    assert bytes(alice.verify_key).hex()[:8] not in text


def test_a_flood_before_login_is_closed(tmp_path: Path) -> None:
    relay = Harness(tmp_path, max_bad_frames=3)
    conn = relay.connect()
    closes = [
        any(isinstance(a, Close) for a in relay.core.receive(conn, wire.encode(wire.Ping(n)), T0))
        for n in range(3)
    ]
    assert closes == [False, False, True]
    relay.store.close()


def test_a_full_disk_is_an_internal_error_and_nothing_is_skipped(tmp_path: Path) -> None:
    relay = Harness(tmp_path, window=100)
    bconn, _ = relay.login(bob)
    aconn, _ = relay.login(alice)
    relay.send(aconn, bob, mid(0), b"small")
    pages = relay.store._db.execute("PRAGMA page_count").fetchone()[0]
    relay.store._db.execute(f"PRAGMA max_page_count = {pages}")  # the disk is full
    actions = relay.core.receive(
        aconn, wire.encode(wire.Send(9, bytes(bob.verify_key), mid(1), b"x" * 100_000)), T0
    )
    error = _error(relay.frames(actions, aconn))
    assert (error.code, error.request_id) == ("internal", 9)
    # bob's stream restarted from the queue: the committed message comes again, nothing lost
    assert [f.message_id for f in relay.frames(actions, bconn)] == [mid(0)]  # type: ignore[union-attr]
    relay.store._db.execute("PRAGMA max_page_count = 1000000")
    assert isinstance(relay.send(aconn, bob, mid(1), b"x" * 100_000)[0], wire.Sent)
    relay.store.close()


def test_another_protocol_version_is_refused_and_closed(relay: Harness) -> None:
    conn = relay.connect()
    auth = wire.Auth(3, bytes(alice.verify_key), bytes(64), version=2)
    actions = relay.core.receive(conn, wire.encode(auth), T0)
    error = _error(relay.frames(actions))
    assert (error.code, error.request_id) == ("unsupported_version", 3)
    assert Close(conn, CLOSE_POLICY, "unsupported_version") in actions


# --- a model-based check of queueing and flow control ----------------------------------------

# "send" is listed three times so that backlogs longer than the window are common; "commit" is
# the write-behind timer storing every held message (a no-op without write-behind).
OPS = st.lists(
    st.sampled_from(
        ["send", "send", "send", "resend", "connect", "disconnect", "ack", "ack_all", "commit"]
    ),
    max_size=40,
)


@settings(max_examples=100, deadline=None)
@given(ops=OPS, window=st.integers(1, 3), commit_delay=st.sampled_from([0.0, 0.1]))
# A live message must queue behind a backlog even when the window has room.
@example(ops=["send"] * 4 + ["connect", "ack", "send"], window=3, commit_delay=0.0)
# Held messages are stored before a newer one that must wait, and before a new login reads.
@example(
    ops=["connect", "send", "send", "send", "disconnect", "connect"], window=2, commit_delay=0.1
)
@example(ops=["connect", "send", "commit", "send", "ack", "send"], window=1, commit_delay=0.1)
@example(ops=["connect", "send", "disconnect", "connect"], window=2, commit_delay=0.1)
def test_every_stored_message_is_delivered_in_order_within_the_window(
    tmp_path_factory: pytest.TempPathFactory, ops: list[str], window: int, commit_delay: float
) -> None:
    relay = Harness(
        tmp_path_factory.mktemp("model"),
        window=window,
        rate_per_second=0,
        commit_delay=commit_delay,
    )
    relay.core.disconnect(relay.login(bob)[0])
    aconn, _ = relay.login(alice)
    stored: list[bytes] = []
    acked: set[bytes] = set()
    bconn: int | None = None
    inflight: list[bytes] = []
    sends: Counter[bytes] = Counter()  # each send or resend gets exactly one receipt, ever
    receipts: Counter[bytes] = Counter()

    def route(actions: list[Action]) -> None:
        for frame in relay.frames(actions, aconn):
            assert isinstance(frame, wire.Sent), frame
            receipts[frame.message_id] += 1
        if bconn is None:
            return
        for frame in relay.frames(actions, bconn):
            if isinstance(frame, wire.Deliver):
                if inflight:  # within one connection, deliveries follow the queue order
                    assert stored.index(frame.message_id) > stored.index(inflight[-1])
                inflight.append(frame.message_id)
        assert len(inflight) <= window

    def act(op: str) -> None:
        nonlocal bconn, inflight
        if op in ("send", "resend"):
            reuse = op == "resend" and stored
            message = stored[-1] if reuse else mid(len(stored))
            sends[message] += 1
            if not reuse:
                stored.append(message)
            route(
                relay.core.receive(
                    aconn, wire.encode(wire.Send(1, bytes(bob.verify_key), message, b"m")), T0
                )
            )
        elif op == "connect" and bconn is None:
            bconn = relay.connect()
            inflight = []
            route(relay.core.receive(bconn, relay.auth_frame(bob, relay.nonces[bconn]), T0))
        elif op == "disconnect" and bconn is not None:
            relay.core.disconnect(bconn)
            bconn = None
        elif op == "commit":
            route(relay.core.commit_deferred(None, T0))
        elif op in ("ack", "ack_all") and bconn is not None and inflight:
            count = len(inflight) if op == "ack_all" else 1
            for message in inflight[:count]:
                acked.add(message)
                inflight.remove(message)
                route(relay.core.receive(bconn, wire.encode(wire.Ack(message)), T0))

    for op in ops:
        act(op)
    # finally bob stays online and acknowledges everything: nothing stored may be missing
    if bconn is None:
        act("connect")
    while inflight:
        act("ack_all")
    assert acked == set(stored)
    assert relay.store.queued == 0
    assert relay.core.deferred_count == 0
    assert receipts == sends
    relay.store.close()


# --- batched acks and receipts ------------------------------------------------------------------


def test_a_batched_ack_frees_each_window_slot_and_deletes_each_message(tmp_path: Path) -> None:
    relay = Harness(tmp_path, window=4, rate_per_second=0)
    relay.core.disconnect(relay.login(bob)[0])
    aconn, _ = relay.login(alice)
    for n in range(10):
        relay.send(aconn, bob, mid(n))
    bconn, first = relay.login(bob, caps=BATCH)
    assert [f.message_id for f in first] == [mid(n) for n in range(4)]  # type: ignore[union-attr]
    # One frame acknowledges all four: the window is empty, so it refills with four more.
    refill = relay.request(bconn, wire.Ack(mid(0), (mid(1), mid(2), mid(3))))
    assert [f.message_id for f in refill] == [mid(n) for n in range(4, 8)]  # type: ignore[union-attr]
    assert relay.core.counters.delivered_total == 4
    relay.core.disconnect(bconn)
    # Each acknowledged message is gone from the store: a new login starts at the fifth.
    _, again = relay.login(bob, caps=BATCH)
    assert [f.message_id for f in again] == [mid(n) for n in range(4, 8)]  # type: ignore[union-attr]
    relay.store.close()


def test_only_a_client_that_announced_batching_gets_batchable_receipts(relay: Harness) -> None:
    relay.login(bob)
    old, _ = relay.login(alice)
    new, _ = relay.login(carol, caps=(wire.CAP_BATCH, "some-future-cap"))
    for conn, n in ((old, 1), (new, 2)):
        frame = wire.Send(next(relay.ids), bytes(bob.verify_key), mid(n), b"ct")
        [sent, _deliver] = relay.core.receive(conn, wire.encode(frame), T0)
        assert isinstance(sent, Transmit)
        assert sent.after_commit
        if conn == old:  # the encoded single frame, exactly as before batching existed
            assert sent.receipt is None
            assert isinstance(wire.decode_server_frame(sent.data), wire.Sent)
        else:  # fields the server packs with the turn's other receipts
            assert sent.data == b""
            assert sent.receipt is not None
            assert sent.receipt[:2] == (frame.request_id, mid(2))


def _ack_with_more(more: object) -> bytes:
    return bytes(msgpack.packb({"type": "ack", "message_id": mid(0), "more": more}))


@pytest.mark.parametrize(
    ("more", "code"),
    [
        ([mid(n) for n in range(1, wire.MAX_ACK_BATCH + 1)], "too_large"),
        ([mid(1), b"short"], "bad_frame"),
        ([mid(1), "not bytes"], "bad_frame"),
        ([mid(1), mid(1)], "bad_frame"),
        ([mid(0)], "bad_frame"),
        (mid(1), "bad_frame"),
    ],
    ids=["257 ids", "wrong size", "not bytes", "duplicate", "repeats the first", "not a list"],
)
def test_a_malformed_batched_ack_gets_an_error_and_acknowledges_nothing(
    relay: Harness, more: object, code: str
) -> None:
    relay.core.disconnect(relay.login(bob)[0])
    aconn, _ = relay.login(alice)
    relay.send(aconn, bob, mid(0))
    relay.send(aconn, bob, mid(1))
    bconn, first = relay.login(bob, caps=BATCH)
    assert len(first) == 2
    assert _error(relay.frames(relay.core.receive(bconn, _ack_with_more(more), T0))).code == code
    assert relay.core.counters.delivered_total == 0
    relay.core.disconnect(bconn)
    _, again = relay.login(bob, caps=BATCH)
    assert [f.message_id for f in again] == [mid(0), mid(1)]  # type: ignore[union-attr]


def test_a_wake_up_with_the_messages_forwards_them_and_a_gap_reads_the_queue(
    relay: Harness,
) -> None:
    # Another relay process stored messages for Bob (here: straight into the store) and its
    # wake-up carried them. If they continue Bob's stream they go out without a queue read; a
    # missing one in between (a lost or reordered wake-up) makes the core read the queue.
    bconn, _ = relay.login(bob)
    sender = bytes(alice.verify_key)

    def stored(n: int) -> Queued:
        result = relay.store.enqueue(
            bytes(bob.verify_key), sender, mid(n), bytes([n]), now=T0, expires_at=T0 + 99
        )
        assert isinstance(result, Stored)
        return Queued(result.seq, sender, mid(n), bytes([n]), T0)

    reads = relay.core.counters.queue_reads_total
    first = [stored(1), stored(2)]
    frames = relay.frames(relay.core.wake(bytes(bob.verify_key), T0, first), bconn)
    assert [f.message_id for f in frames if isinstance(f, wire.Deliver)] == [mid(1), mid(2)]
    assert relay.core.counters.queue_reads_total == reads
    assert relay.core.counters.wake_forwarded_total == 2
    again = relay.frames(relay.core.wake(bytes(bob.verify_key), T0, first), bconn)
    assert again == []  # a wake-up heard twice delivers nothing twice
    skipped, last = stored(3), stored(4)
    frames = relay.frames(relay.core.wake(bytes(bob.verify_key), T0, [last]), bconn)
    assert [f.message_id for f in frames if isinstance(f, wire.Deliver)] == [mid(3), mid(4)]
    assert relay.core.counters.queue_reads_total == reads + 1
    assert skipped.seq < last.seq


def test_staged_sends_are_stored_at_the_end_of_the_turn_in_arrival_order(relay: Harness) -> None:
    # Over a networked store the server stages a turn's sends and stores them in one batch: the
    # receipts, deliveries and sequence order must be those of storing them one by one.
    relay.core.stage_sends = True
    relay.core.disconnect(relay.login(bob)[0])
    aconn, _ = relay.login(alice)
    assert relay.send(aconn, bob, mid(1), b"one") == []  # nothing until the end of the turn
    bconn, _ = relay.login(bob)  # Bob comes back within the same turn
    assert relay.send(aconn, bob, mid(2), b"two") == []
    assert relay.send(aconn, bob, mid(1), b"one") == []  # a resend within the turn
    assert relay.core.staged_count == 3
    frames = relay.frames(relay.core.store_staged(T0))
    assert relay.core.staged_count == 0
    receipts = [f for f in frames if isinstance(f, wire.Sent)]
    assert [(r.message_id, r.duplicate) for r in receipts] == [
        (mid(1), False),
        (mid(2), False),
        (mid(1), True),
    ]
    delivered = [f.message_id for f in frames if isinstance(f, wire.Deliver)]
    assert delivered == [mid(1), mid(2)]
    relay.request(bconn, wire.Ack(mid(1)))
    relay.request(bconn, wire.Ack(mid(2)))
    assert relay.store.queued == 2  # the acks are staged too ...
    relay.frames(relay.core.store_staged(T0))
    assert relay.store.queued == 0  # ... and applied with the turn's batch


def test_a_send_arriving_while_its_recipients_batch_is_written_waits_behind_it(
    tmp_path: Path,
) -> None:
    # The server writes a batch off the loop; a live-forwardable send for the same recipient
    # that arrives meanwhile must not overtake the message still being written.
    relay = Harness(tmp_path, commit_delay=0.05)
    relay.core.stage_sends = True
    bconn, _ = relay.login(bob)
    aconn, _ = relay.login(alice)
    relay.core.disconnect(bconn)
    assert relay.send(aconn, bob, mid(1), b"first") == []
    bconn, _ = relay.login(bob)
    in_flight = relay.core.take_staged()  # being written on the writer thread
    assert relay.send(aconn, bob, mid(2), b"second") == []  # staged, not held and forwarded
    outcome = relay.store.write_batch(in_flight.acks, in_flight.sends)
    first = relay.frames(relay.core.finish_staged(in_flight, outcome, T0), bconn)
    second = relay.frames(relay.core.store_staged(T0), bconn)
    delivered = [f.message_id for f in first + second if isinstance(f, wire.Deliver)]
    assert delivered == [mid(1), mid(2)]
    relay.store.close()
