"""The relay's protocol core, sans-I/O: frames and clock readings in, frames to send out.

The asyncio server (server.py) owns sockets and time; this module owns every decision. Each entry
point takes ``now`` and returns a list of actions: :class:`Transmit` (bytes for one connection) and
:class:`Close`. A Transmit marked ``after_commit`` must not leave before the store's open
transaction is committed (an acknowledgement must never promise more than the disk holds); the
server batches those behind one commit. Deliveries go out at once: a recipient that acknowledges
a message before the commit simply deletes it inside the same open transaction.

Batching (docs/protocol.md s7): a client that announces ``CAP_BATCH`` in its Auth gets its send
receipts as :class:`Transmit` actions carrying ``receipt`` fields instead of encoded bytes, so the
server can pack every receipt of one loop turn for that connection into one ``sent_batch`` frame;
an Ack may name many ids, each freeing its window slot exactly as a single Ack does. A client that
announces ``CAP_DELIVER_BATCH`` gets its deliveries the same way (``delivery`` fields), packed
into ``deliver_batch`` frames.

Flow control: each connection has at most ``window`` unacknowledged deliveries. A connection with
no backlog gets new messages live; otherwise (``backlog`` set) new messages wait in the store and
are read in order, half a window at a time, as acks come in.

Write-behind (``config.commit_delay`` > 0; docs/protocol.md s7): a message whose recipient is
online with room in every connection's window is forwarded at once and *held* in memory, not
stored; its receipt is held too. If the recipient acknowledges it (clients ack only after their own
commit) it is never stored and the receipt goes out at once; otherwise the server calls
:meth:`RelayCore.commit_deferred` after the window and it is stored like any other, the receipt
then waiting for the commit as usual. Either way a receipt means "durable at the relay or at the
recipient", and nothing acknowledged dies with the relay. The storing and deleting of a message,
the relay's largest cost per live message, then disappear for every message acked within the
window. Order is kept: a recipient's held messages are stored, in arrival order, before any later
message of theirs is (and before a new connection of theirs reads the store).
"""

from __future__ import annotations

import hmac
import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

import nacl.exceptions
import nacl.signing
from parley.net import wire
from parley.net.errors import StoreError, UnsupportedVersion, WireError
from parley.net.relay.limits import (
    OneTimePrekeyLimits,
    RelayConfig,
    SharedPrekeyLimits,
    TokenBucket,
)
from parley.net.relay.metrics import Counters
from parley.net.relay.store import (
    Enqueue,
    LoginRequest,
    Queued,
    Refused,
    RelayStore,
    Stored,
)

log = logging.getLogger("parley.relay")

# WebSocket close code for a policy violation (RFC 6455).
CLOSE_POLICY = 1008
# Over a shared store, each connection holds a lease on one of its account's connection slots,
# renewed every third of this; a SIGKILLed relay's slots come free after at most this long.
CONNECTION_LEASE = 60.0


class Transmit(NamedTuple):
    """Send ``data`` (one binary frame) on connection ``conn``.

    When ``receipt`` is set, ``data`` is empty and the frame is that send receipt, which the
    server may pack together with the connection's other receipts of the turn; when ``delivery``
    is set (a client that announced ``CAP_DELIVER_BATCH``), likewise for a delivery.

    A named tuple rather than a frozen dataclass: equally immutable, and built about three times
    faster, which counts on the hot path (two per forwarded message).
    """

    conn: int
    data: bytes
    after_commit: bool = False
    receipt: wire.Receipt | None = None
    delivery: wire.Delivery | None = None

    def __repr__(self) -> str:  # no frame bytes or payloads in logs
        kind = "receipt" if self.receipt else "delivery" if self.delivery else f"{len(self.data)} B"
        return f"Transmit(conn={self.conn}, {kind}, after_commit={self.after_commit})"


@dataclass(frozen=True, slots=True)
class Close:
    """Close connection ``conn`` after the frames already queued for it."""

    conn: int
    code: int
    reason: str


Action = Transmit | Close


def short(account: bytes) -> str:
    """An account shortened for logs: enough to follow one client, not to publish a directory."""
    return account[:4].hex()


@dataclass(eq=False, slots=True)
class _Deferred:
    """A message forwarded live and held in memory (write-behind), not stored yet."""

    ticket: int  # arrival order over all held messages (commit_deferred flushes up to one)
    conn: int  # the sender's connection, where the receipt goes
    batch: bool  # the sender reads receipts in sent_batch frames
    sender: bytes
    payload: bytes = field(repr=False)
    receipt: wire.Receipt


@dataclass(eq=False, slots=True)
class _Staged:
    """A send waiting for the end of the turn to be stored with the turn's others."""

    conn: int
    batch: bool
    request_id: int
    item: Enqueue


@dataclass(eq=False, slots=True)
class StagedBatch:
    """A turn's gathered writes: what ``RelayStore.write_batch`` takes, and whose sends."""

    acks: list[tuple[bytes, list[bytes]]]
    entries: list[_Staged]

    @property
    def sends(self) -> list[Enqueue]:
        return [entry.item for entry in self.entries]

    @property
    def empty(self) -> bool:
        return not self.acks and not self.entries


@dataclass(eq=False, slots=True)
class _DeferredQueue:
    """One recipient's held messages, in arrival order, and their payload bytes (for the quota)."""

    entries: dict[bytes, _Deferred] = field(default_factory=dict)
    size: int = 0


@dataclass(eq=False)
class _Conn:
    """Mutable per-connection state (one per WebSocket; kept small for idle-connection memory)."""

    id: int
    nonce: bytes | None
    opened_at: float
    account: bytes | None = None
    bad_frames: int = 0
    cursor: int = 0  # the highest queue seq handed to this connection
    backlog: bool = True  # messages may wait in the store beyond ``cursor``
    inflight: set[bytes] = field(default_factory=set)
    closing: bool = False
    batch: bool = False  # the client understands sent_batch frames
    deliver_batch: bool = False  # the client understands deliver_batch frames


class RelayCore:
    """All relay decisions; one instance serves every connection of one relay process.

    Args:
        config: the operator's limits.
        store: where accounts, prekeys and queues live.
        rng: the source of challenge nonces (a parameter so tests can fix it).
    """

    def __init__(
        self,
        config: RelayConfig,
        store: RelayStore,
        rng: Callable[[int], bytes] = os.urandom,
    ) -> None:
        self.config = config
        self.store = store
        self.counters = Counters()
        self._rng = rng
        self._conns: dict[int, _Conn] = {}
        self._by_account: dict[bytes, list[_Conn]] = {}
        self._buckets: dict[bytes, TokenBucket] = {}
        self._otk_limits: OneTimePrekeyLimits | SharedPrekeyLimits = (
            SharedPrekeyLimits(config, store) if store.shared else OneTimePrekeyLimits(config)
        )
        self._next_id = 1
        self._next_expiry = 0.0
        self._deferred: dict[bytes, _DeferredQueue] = {}
        self._deferred_count = 0
        self._ticket = 0
        # Held messages stored during the current entry point: if the store then fails, they are
        # held again (their receipts died with the failed call, and the rollback drops the rows).
        self._journal: list[tuple[bytes, bytes, _Deferred]] = []
        self._debug = log.isEnabledFor(logging.DEBUG)
        self._shared = store.shared
        # With a networked store (Redis) each call is a round trip: the server sets this, and a
        # turn's sends are then stored together by ``store_staged`` (one round trip).
        self.stage_sends = False
        self._staged: list[_Staged] = []
        self._staged_for: set[bytes] = set()
        self._staged_acks: dict[bytes, list[bytes]] = {}
        self._in_flight_for: set[bytes] = set()  # recipients of the batch being written
        self._leases: dict[bytes, int] = {}  # rate-limit tokens leased from a shared store
        self._next_renewal = 0.0
        # Told when an account gets its first connection here, and when its last one closes: a
        # server over a shared store subscribes to the account's wake-ups (net/relay/wakeups.py).
        self.presence: Callable[[bytes, bool], None] | None = None
        # Lawful interception (net/relay/capture.py) sets this; the standard relay leaves it None
        # and the capture code is never imported. Called with (sender, recipient, message id,
        # payload, now) for every send an authenticated account makes.
        self.tap: Callable[[bytes, bytes, bytes, bytes, float], None] | None = None
        self._handlers: dict[type[wire.ClientFrame], Callable[..., list[Action]]] = {
            wire.Send: self._on_send,
            wire.Ack: self._on_ack,
            wire.Publish: self._on_publish,
            wire.Fetch: self._on_fetch,
            wire.Ping: self._on_ping,
        }

    # --- connection lifecycle ---------------------------------------------------------------

    def connect(self, now: float) -> tuple[int, list[Action]]:
        """A new WebSocket is open: allocate its id and send the challenge."""
        nonce = self._rng(wire.NONCE_LEN)
        conn = _Conn(self._next_id, nonce, now)
        self._next_id += 1
        self._conns[conn.id] = conn
        self.counters.connections += 1
        challenge = wire.encode(wire.Challenge(nonce, self.config.name))
        return conn.id, [Transmit(conn.id, challenge)]

    def disconnect(self, conn_id: int) -> None:
        """The WebSocket is gone; its unacknowledged deliveries stay queued for next time."""
        conn = self._conns.pop(conn_id, None)
        if conn is None:
            return
        self.counters.connections -= 1
        if conn.account is not None:
            self.counters.authenticated -= 1
            if self._shared:
                try:
                    self.store.release_connection(conn.account, conn.id)
                except StoreError as exc:  # the lease runs out by itself
                    log.error("could not release a connection lease: %s", exc)
            peers = self._by_account.get(conn.account, [])
            if conn in peers:
                peers.remove(conn)
            if not peers:
                self._by_account.pop(conn.account, None)
                if self.presence is not None:
                    self.presence(conn.account, False)
            log.info("disconnect %s conn=%d", short(conn.account), conn.id)

    @property
    def deferred_count(self) -> int:
        """How many messages are held in memory (write-behind), not stored yet."""
        return self._deferred_count

    @property
    def deferred_ticket(self) -> int:
        """The ticket of the newest held message; ``commit_deferred(upto)`` takes such a mark."""
        return self._ticket

    def commit_deferred(self, upto: int | None, now: float) -> list[Action]:
        """Store the held messages with a ticket up to ``upto`` (all of them for None).

        The server calls this once a message has been held for the commit window, and with None
        when it stops. Their receipts come back marked ``after_commit``: they leave after the
        store's next commit. If the store fails, every message of this call stays held and the
        delivery streams restart (:meth:`recover`).
        """
        self._journal.clear()
        actions: list[Action] = []
        try:
            for recipient in list(self._deferred):
                actions += self._store_deferred(recipient, upto)
        except StoreError as exc:
            log.error("store failure while storing held messages: %s", exc)
            self._restore_journal()
            return self.recover(now)
        return actions

    def tick(self, now: float) -> list[Action]:
        """Periodic work: close connections that never authenticated, expire old messages."""
        actions: list[Action] = []
        deadline = now - self.config.auth_timeout
        for conn in list(self._conns.values()):
            if conn.account is None and not conn.closing and conn.opened_at <= deadline:
                actions += self._refuse(
                    conn, "auth_timeout", "no valid authentication in time", close=True
                )
        if now >= self._next_expiry:
            self._next_expiry = now + self.config.expire_interval
            try:
                expired = self.store.expire(now)
            except StoreError as exc:
                log.error("expiry sweep failed: %s", exc)
                expired = 0
            if expired:
                self.counters.expired_total += expired
                log.info("expired %d messages", expired)
        for account, bucket in list(self._buckets.items()):
            if account not in self._by_account and bucket.is_full(now):
                del self._buckets[account]
        self._otk_limits.forget_idle(now)
        if self._shared and now >= self._next_renewal:
            self._next_renewal = now + CONNECTION_LEASE / 3
            for account in [a for a in self._leases if a not in self._by_account]:
                del self._leases[account]
            live = [(c.account, c.id) for c in self._conns.values() if c.account is not None]
            try:
                self.store.renew_connections(live, CONNECTION_LEASE)
            except StoreError as exc:
                log.error("could not renew connection leases: %s", exc)
        return actions

    def wake(
        self, account: bytes, now: float, fresh: Sequence[Queued] | None = None
    ) -> list[Action]:
        """Another relay process stored messages for ``account``: forward them to its
        connections here. ``fresh`` are those messages when the wake-up carried them: a
        connection takes them straight if they continue its stream (``seq == cursor + 1``,
        contiguous, room in its window); otherwise, or without them, it reads its queue from its
        own cursor, so nothing is delivered twice by this."""
        actions: list[Action] = []
        ordered = sorted(fresh, key=lambda row: row.seq) if fresh else None
        try:
            for conn in self._by_account.get(account, ()):
                if conn.closing:
                    continue
                if ordered is not None and not conn.backlog:
                    rows = [row for row in ordered if row.seq > conn.cursor]
                    if _continues(rows, conn.cursor, self.config.window - len(conn.inflight)):
                        self.counters.wake_forwarded_total += len(rows)
                        for row in rows:
                            conn.inflight.add(row.message_id)
                            conn.cursor = row.seq
                            delivery = (row.sender, row.message_id, row.payload, row.stored_at)
                            actions.append(_deliver(conn, delivery))
                        continue
                conn.backlog = True
                actions += self._pull(conn, now)
        except StoreError as exc:
            log.error("store failure while reading a woken queue: %s", exc)
        return actions

    # --- frames -----------------------------------------------------------------------------

    def receive(self, conn_id: int, data: bytes | str, now: float) -> list[Action]:
        """One WebSocket message arrived on ``conn_id``; return what to send in reply."""
        conn = self._conns.get(conn_id)
        if conn is None or conn.closing:
            return []
        self._journal.clear()
        try:
            frame = wire.decode_client_frame(data)
        except WireError as exc:
            conn.bad_frames += 1
            # A peer on another protocol version cannot do anything useful here: end it now.
            close = (
                conn.bad_frames >= self.config.max_bad_frames or exc.code == UnsupportedVersion.code
            )
            return self._refuse(conn, exc.code, exc.reason, exc.request_id, close=close)
        if conn.account is None:
            if type(frame) is wire.Auth:
                try:
                    return self._on_auth(conn, frame, now)
                except StoreError as exc:
                    return self._store_failed(conn, exc, frame.request_id, now)
            conn.bad_frames += 1  # requests before login count as abuse, like garbage
            return self._refuse(
                conn,
                "unauthenticated",
                "authenticate first",
                getattr(frame, "request_id", None),
                close=conn.bad_frames >= self.config.max_bad_frames,
            )
        return self._dispatch(conn, frame, now)

    def _dispatch(self, conn: _Conn, frame: wire.ClientFrame, now: float) -> list[Action]:
        """Handle a request from a logged-in connection: rate limit, then its handler."""
        request_id = getattr(frame, "request_id", None)
        if type(frame) is wire.Auth:
            return self._refuse(conn, "already_authenticated", "already logged in", request_id)
        account = conn.account
        try:  # a shared store also holds the rate limit: its failure is a store failure too
            if type(frame) is not wire.Ack and account and not self._take_token(account, now):
                return self._refuse(
                    conn,
                    "rate_limited",
                    f"more than {self.config.rate_per_second:g} requests per second; slow down",
                    request_id,
                )
            return self._handlers[type(frame)](conn, frame, now)
        except StoreError as exc:
            return self._store_failed(conn, exc, request_id, now)

    def _store_failed(
        self, conn: _Conn, exc: StoreError, request_id: int | None, now: float
    ) -> list[Action]:
        log.error("store failure: %s", exc)
        self._restore_journal()
        actions = self._refuse(
            conn,
            "internal",
            "the relay could not store this; nothing was kept, try again",
            request_id,
        )
        return actions + self.recover(now)

    def recover(self, now: float) -> list[Action]:
        """After a store failure: drop uncommitted writes and restart every delivery stream.

        The rollback may have removed rows that were already delivered, and may let new rows
        reuse their sequence numbers; so each connection forgets its cursor and window and reads
        its queue again from the start. Some messages arrive twice, which at-least-once delivery
        allows (clients drop duplicates by message id); none is skipped.
        """
        self.store.rollback()
        actions: list[Action] = []
        for conn in self._conns.values():
            if conn.account is not None and not conn.closing:
                conn.cursor = 0
                conn.inflight.clear()
                conn.backlog = True
                try:
                    actions += self._pull(conn, now)
                except StoreError as exc:
                    log.error("store failure while recovering: %s", exc)
                    break
        return actions

    def _take_token(self, account: bytes, now: float) -> bool:
        if self.config.rate_per_second == 0:
            return True
        if self._shared:
            return self._take_shared_token(account)
        bucket = self._buckets.get(account)
        if bucket is None:
            bucket = self._buckets[account] = TokenBucket.full(
                self.config.rate_per_second, self.config.rate_burst, now
            )
        return bucket.take(now)

    def _take_shared_token(self, account: bytes) -> bool:
        """One bucket per account over every relay process (in the shared store), taken in
        leases of a tenth of a second's worth, so that a request costs a store round trip only
        once per lease. An account spread over P processes can exceed its rate by at most P
        leases at a time (docs/relay.md)."""
        lease = self._leases.get(account, 0)
        if lease > 0:
            self._leases[account] = lease - 1
            return True
        config = self.config
        want = max(1, int(config.rate_per_second / 10))
        granted = self.store.take_tokens(account, want, config.rate_per_second, config.rate_burst)
        self._leases[account] = max(0, granted - 1)
        return granted > 0

    def _refuse(
        self,
        conn: _Conn,
        code: str,
        reason: str,
        request_id: int | None = None,
        *,
        close: bool = False,
        message_id: bytes | None = None,
    ) -> list[Action]:
        """An error frame (and a close if the refusal ends the connection), counted and logged."""
        self.counters.refused_total += 1
        self.counters.refused_by_code[code] += 1
        who = short(conn.account) if conn.account else "-"
        log.info("refused %s conn=%d code=%s%s", who, conn.id, code, " (closing)" if close else "")
        frame = wire.encode(wire.Error(code, reason, request_id, message_id))
        actions: list[Action] = [Transmit(conn.id, frame)]
        if close:
            conn.closing = True
            actions.append(Close(conn.id, CLOSE_POLICY, code))
        return actions

    def _on_auth(self, conn: _Conn, frame: wire.Auth, now: float) -> list[Action]:
        nonce, conn.nonce = conn.nonce, None  # single use, whatever happens next
        rid = frame.request_id
        if nonce is None:
            return self._refuse(
                conn, "bad_signature", "the challenge was already used", rid, close=True
            )
        message = wire.auth_message(self.config.name, nonce)
        try:
            nacl.signing.VerifyKey(frame.account).verify(message, frame.signature)
        except (nacl.exceptions.CryptoError, ValueError, TypeError):
            return self._refuse(
                conn,
                "bad_signature",
                "the signature does not verify for this account, relay and challenge",
                rid,
                close=True,
            )
        account = frame.account
        token = self.config.invite_token
        may_register = token is None or hmac.compare_digest(
            (frame.invite or "").encode(), token.encode()
        )
        limit = self.config.max_connections_per_account
        # Held (write-behind) messages for the account are stored before the new connection
        # reads its queue, and only once the login is accepted: then the read comes after.
        room = 0 if account in self._deferred else self.config.window - len(conn.inflight)
        here = len(self._by_account.get(account, ()))
        login = self.store.login(
            LoginRequest(
                account,
                conn.id,
                may_register,
                here,
                limit,
                CONNECTION_LEASE,
                conn.cursor,
                room,
                now,
            )
        )
        if login.refused == "invite_required":
            return self._refuse(
                conn, "invite_required", "this relay needs a valid invite token", rid, close=True
            )
        if login.refused is not None:
            return self._refuse(
                conn,
                "too_many_connections",
                f"at most {limit} connections per account",
                rid,
                close=True,
            )
        conn.account = account
        conn.batch = wire.CAP_BATCH in frame.caps
        conn.deliver_batch = wire.CAP_DELIVER_BATCH in frame.caps
        peers = self._by_account.setdefault(account, [])
        peers.append(conn)
        if len(peers) == 1 and self.presence is not None:
            self.presence(account, True)
        self.counters.authenticated += 1
        log.info("login %s conn=%d%s", short(account), conn.id, " (new)" if login.new else "")
        welcome = wire.Welcome(rid, account, login.prekeys, login.new, (wire.CAP_BATCH,))
        actions: list[Action] = [Transmit(conn.id, wire.encode(welcome), after_commit=True)]
        if account in self._deferred:  # the new connection reads them from the store, in order
            actions += self._store_deferred(account, None)
            return actions + self._pull(conn, now)
        return actions + (self._take_rows(conn, login.rows, room) if room > 0 else [])

    def _on_send(self, conn: _Conn, frame: wire.Send, now: float) -> list[Action]:
        sender = conn.account
        if sender is None:  # pragma: no cover - receive() only dispatches after login
            return []
        recipient = frame.recipient
        if self.tap is not None:
            self.tap(sender, recipient, frame.message_id, frame.payload, now)
        staged = recipient in self._staged_for or recipient in self._in_flight_for
        peers = self._by_account.get(recipient)
        if (
            not staged
            and peers
            and self.config.commit_delay
            and self._can_hold(recipient, peers, frame)
        ):
            return self._hold(conn, sender, frame, peers, now)
        if not self.store.is_registered(recipient):
            return self._refuse(
                conn,
                "unknown_account",
                "no such account on this relay",
                frame.request_id,
                message_id=frame.message_id,
            )
        item = Enqueue(
            recipient, sender, frame.message_id, frame.payload, now, now + self.config.ttl
        )
        if self.stage_sends and (staged or recipient not in self._deferred):
            # Gathered and stored at the end of the turn in one store round trip; the receipt
            # waits for that end anyway, and so would a live delivery.
            self._staged.append(_Staged(conn.id, conn.batch, frame.request_id, item))
            self._staged_for.add(recipient)
            return []
        # Held messages for this recipient are older: they take their sequence numbers first.
        actions: list[Action] = (
            self._store_deferred(recipient, None) if recipient in self._deferred else []
        )
        result = self.store.enqueue(
            recipient,
            sender,
            frame.message_id,
            frame.payload,
            now=now,
            expires_at=item.expires_at,
        )
        return actions + self._forward(conn.id, conn.batch, frame.request_id, item, result)

    @property
    def staged_count(self) -> int:
        """How many sends and acknowledging accounts wait for ``take_staged`` (only with
        ``stage_sends``)."""
        return len(self._staged) + len(self._staged_acks)

    def take_staged(self) -> StagedBatch:
        """The writes gathered since the last call, for the server to pass to the store's
        ``write_batch`` (it may do so off the loop) and then to ``finish_staged``. Until then
        their recipients' later sends are staged too (never forwarded live ahead of them)."""
        batch = StagedBatch(list(self._staged_acks.items()), self._staged)
        self._in_flight_for |= self._staged_for
        self._staged, self._staged_acks, self._staged_for = [], {}, set()
        return batch

    def finish_staged(
        self,
        batch: StagedBatch,
        outcome: tuple[int, list[Stored | Refused]] | StoreError,
        now: float,
    ) -> list[Action]:
        """The sends' receipts and live deliveries once ``write_batch`` returned ``outcome``.
        If the store failed, each send is answered ``internal`` (a retry is idempotent by message
        id) and the delivery streams restart (an ack that did not apply means a redelivery,
        which at-least-once delivery allows)."""
        self._in_flight_for.clear()
        if isinstance(outcome, StoreError):
            log.error("store failure while storing a turn's sends: %s", outcome)
            actions: list[Action] = []
            for entry in batch.entries:
                conn = self._conns.get(entry.conn)
                if conn is not None and not conn.closing:
                    actions += self._refuse(
                        conn,
                        "internal",
                        "the relay could not store this; try again",
                        entry.request_id,
                        message_id=entry.item.message_id,
                    )
            return actions + self.recover(now)
        deleted, results = outcome
        self.counters.delivered_total += deleted
        actions = []
        for entry, result in zip(batch.entries, results, strict=True):
            actions += self._forward(entry.conn, entry.batch, entry.request_id, entry.item, result)
        return actions

    def store_staged(self, now: float) -> list[Action]:
        """``take_staged``, ``write_batch`` and ``finish_staged`` in one synchronous call."""
        batch = self.take_staged()
        if batch.empty:
            self._in_flight_for.clear()
            return []
        outcome: tuple[int, list[Stored | Refused]] | StoreError
        try:
            outcome = self.store.write_batch(batch.acks, batch.sends)
        except StoreError as exc:
            outcome = exc
        return self.finish_staged(batch, outcome, now)

    def _forward(
        self, conn_id: int, batch: bool, request_id: int, item: Enqueue, result: Stored | Refused
    ) -> list[Action]:
        """The receipt of a stored send (or its refusal), and its live deliveries."""
        if isinstance(result, Refused):
            conn = self._conns.get(conn_id)
            if conn is None:  # gone before its staged send was stored: nobody to tell
                return []
            return self._refuse(
                conn, result.code, result.reason, request_id, message_id=item.message_id
            )
        # The two frames of a forward are packed straight from their fields (no frame objects):
        # this is the relay's hottest path.
        message_id = item.message_id
        receipt = (request_id, message_id, result.stored_at, result.expires_at, result.duplicate)
        actions: list[Action] = [_receipt(conn_id, batch, receipt)]
        if result.duplicate:
            return actions
        self.counters.stored_total += 1
        if self._debug:
            log.debug("queued %s -> %s", short(item.sender), short(item.recipient))
        delivery = (item.sender, message_id, item.payload, item.now)
        for peer in self._by_account.get(item.recipient, ()):
            if peer.backlog or len(peer.inflight) >= self.config.window:
                peer.backlog = True
                continue
            if self._shared and result.seq != peer.cursor + 1:
                # Another process may have stored a message in between: read the queue instead.
                peer.backlog = True
                actions += self._pull(peer, item.now)
                continue
            peer.inflight.add(message_id)
            peer.cursor = result.seq
            actions.append(_deliver(peer, delivery))
        return actions

    def _can_hold(self, recipient: bytes, peers: list[_Conn], frame: wire.Send) -> bool:
        """Whether this send may be forwarded live and held instead of stored (write-behind).

        Only when every connection of the recipient takes it live (no backlog, room in the
        window), so no connection has to read it from the store; only when the id is not in
        flight or held already (a resend: the store's idempotency answers it); and only within
        the recipient's quota, counting what is held.
        """
        window = self.config.window
        message_id = frame.message_id
        for peer in peers:
            if peer.backlog or len(peer.inflight) >= window or message_id in peer.inflight:
                return False
        held = self._deferred.get(recipient)
        count, size = self.store.usage(recipient)
        size += len(frame.payload)
        if held is not None:
            if message_id in held.entries:
                return False
            count += len(held.entries)
            size += held.size
        return count < self.config.quota_messages and size <= self.config.quota_bytes

    def _hold(
        self, conn: _Conn, sender: bytes, frame: wire.Send, peers: list[_Conn], now: float
    ) -> list[Action]:
        """Forward a send live and hold it (and its receipt) in memory; see the module doc."""
        self._ticket += 1
        message_id, payload = frame.message_id, frame.payload
        receipt = (frame.request_id, message_id, now, now + self.config.ttl, False)
        queue = self._deferred.get(frame.recipient)
        if queue is None:
            queue = self._deferred[frame.recipient] = _DeferredQueue()
        queue.entries[message_id] = _Deferred(
            self._ticket, conn.id, conn.batch, sender, payload, receipt
        )
        queue.size += len(payload)
        self._deferred_count += 1
        self.counters.stored_total += 1
        if self._debug:
            log.debug("held %s -> %s", short(sender), short(frame.recipient))
        delivery = (sender, message_id, payload, now)
        actions: list[Action] = []
        for peer in peers:
            peer.inflight.add(message_id)
            actions.append(_deliver(peer, delivery))
        return actions

    def _store_deferred(self, recipient: bytes, upto: int | None) -> list[Action]:
        """Store ``recipient``'s held messages (those with a ticket up to ``upto``), in order.

        Each gets its sequence number now; a connection that has it in flight moves its cursor
        past it (it must not read it again), which is exact because nothing newer for this
        recipient is stored before the held messages are. Receipts wait for the commit.
        """
        queue = self._deferred.get(recipient)
        if queue is None:
            return []
        actions: list[Action] = []
        peers = self._by_account.get(recipient, ())
        stored: list[bytes] = []
        for message_id, held in queue.entries.items():
            if upto is not None and held.ticket > upto:
                break
            _, _, stored_at, expires_at, _ = held.receipt
            result = self.store.enqueue(
                recipient,
                held.sender,
                message_id,
                held.payload,
                now=stored_at,
                expires_at=expires_at,
            )
            stored.append(message_id)
            if isinstance(result, Refused):  # only if the store changed under the relay's feet
                self.counters.refused_total += 1
                self.counters.refused_by_code[result.code] += 1
                error = wire.Error(result.code, result.reason, held.receipt[0], message_id)
                actions.append(Transmit(held.conn, wire.encode(error), after_commit=True))
                continue
            for peer in peers:
                if not peer.backlog and message_id in peer.inflight and result.seq > peer.cursor:
                    if self._shared and result.seq != peer.cursor + 1:
                        peer.backlog = True  # another process's message may lie in between
                    else:
                        peer.cursor = result.seq
            receipt = (
                held.receipt[0],
                message_id,
                result.stored_at,
                result.expires_at,
                result.duplicate,
            )
            actions.append(_receipt(held.conn, held.batch, receipt))
        for message_id in stored:
            held = queue.entries.pop(message_id)
            queue.size -= len(held.payload)
            self._journal.append((recipient, message_id, held))
        self._deferred_count -= len(stored)
        if not queue.entries:
            del self._deferred[recipient]
        return actions

    def _restore_journal(self) -> None:
        """Hold again, in their order, the messages stored by a call that then failed."""
        journal, self._journal = self._journal, []
        restored: dict[bytes, dict[bytes, _Deferred]] = {}
        for recipient, message_id, held in journal:
            restored.setdefault(recipient, {})[message_id] = held
        for recipient, entries in restored.items():
            queue = self._deferred.get(recipient) or _DeferredQueue()
            queue.entries = {**entries, **queue.entries}
            queue.size += sum(len(held.payload) for held in entries.values())
            self._deferred[recipient] = queue
            self._deferred_count += len(entries)

    def _on_ack(self, conn: _Conn, frame: wire.Ack, now: float) -> list[Action]:
        account = conn.account
        if account is None:  # pragma: no cover - receive() only dispatches after login
            return []
        peers = self._by_account.get(account, ())
        queue = self._deferred.get(account)
        actions: list[Action] = []
        stored: list[bytes] = []
        for message_id in frame.message_ids:
            if queue is not None and (held := queue.entries.pop(message_id, None)) is not None:
                # Acknowledged before it was stored: it never will be; its receipt goes now.
                queue.size -= len(held.payload)
                self._deferred_count -= 1
                self.counters.delivered_total += 1
                actions.append(_receipt(held.conn, held.batch, held.receipt))
            else:
                stored.append(message_id)
            for peer in peers:
                peer.inflight.discard(message_id)
        if queue is not None and not queue.entries:
            del self._deferred[account]
        if stored:
            if self.stage_sends:  # deleted at the end of the turn, with the turn's sends
                self._staged_acks.setdefault(account, []).extend(stored)
            else:
                self.counters.delivered_total += self.store.ack_many(account, stored)
        for peer in peers:
            if peer.backlog and len(peer.inflight) <= self.config.window // 2:
                actions += self._pull(peer, now)
        return actions

    def _pull(self, conn: _Conn, now: float) -> list[Action]:
        """Read the next queued messages for ``conn`` into its free window, oldest first."""
        if conn.account is None:  # pragma: no cover
            return []
        room = self.config.window - len(conn.inflight)
        if room <= 0:
            return []
        return self._take_rows(conn, self.store.pending(conn.account, conn.cursor, room, now), room)

    def _take_rows(self, conn: _Conn, rows: list[Queued], room: int) -> list[Action]:
        """Deliver a page of ``conn``'s queue read for ``room`` free slots of its window."""
        self.counters.queue_reads_total += 1
        actions: list[Action] = []
        for row in rows:
            conn.inflight.add(row.message_id)
            conn.cursor = row.seq
            actions.append(_deliver(conn, (row.sender, row.message_id, row.payload, row.stored_at)))
        if len(rows) < room:
            conn.backlog = False
        return actions

    def _on_publish(self, conn: _Conn, frame: wire.Publish, now: float) -> list[Action]:
        account = conn.account
        if account is None:  # pragma: no cover
            return []
        stock = self.store.prekey_count(account)
        # Keys already stocked (a publish retried after a lost reply) are ignored, not counted.
        fresh = self.store.new_prekeys(account, frame.one_time_prekeys)
        if stock + len(fresh) > self.config.max_prekey_stock:
            return self._refuse(
                conn,
                "quota_exceeded",
                f"at most {self.config.max_prekey_stock} one-time prekeys may be stored "
                f"({stock} are)",
                frame.request_id,
            )
        stock = self.store.publish_prekeys(account, frame.signed_prekey, fresh)
        log.info("published %s prekeys=%d", short(account), stock)
        reply = wire.encode(wire.Published(frame.request_id, stock))
        return [Transmit(conn.id, reply, after_commit=True)]

    def _on_fetch(self, conn: _Conn, frame: wire.Fetch, now: float) -> list[Action]:
        owner = frame.account
        bundle = None
        if self.store.is_registered(owner):
            requester = conn.account or b""
            # Over a fetch limit the signed prekey alone: the stock stays for everyone else.
            one_time = requester == owner or self._otk_limits.allow(requester, owner, now)
            bundle = self.store.take_bundle(owner, one_time=one_time)
            if not one_time:
                self.counters.otk_withheld_total += 1
        if bundle is None:
            return self._refuse(
                conn, "unknown_account", "no prekeys published for that account", frame.request_id
            )
        reply = wire.Bundle(frame.request_id, owner, bundle.signed_prekey, bundle.one_time_prekey)
        actions: list[Action] = [Transmit(conn.id, wire.encode(reply), after_commit=True)]
        threshold = self.config.prekey_low_threshold
        if bundle.one_time_prekey is not None and bundle.remaining < threshold:
            low = wire.encode(wire.PrekeysLow(bundle.remaining, threshold))
            actions += [
                Transmit(peer.id, low, after_commit=True)
                for peer in self._by_account.get(owner, ())
            ]
        return actions

    def _on_ping(self, conn: _Conn, frame: wire.Ping, now: float) -> list[Action]:
        return [Transmit(conn.id, wire.encode(wire.Pong(frame.request_id)))]


def _continues(rows: Sequence[Queued], cursor: int, room: int) -> bool:
    """Whether ``rows`` (ascending) follow ``cursor`` without a gap and fit in ``room``."""
    return len(rows) <= room and all(row.seq == cursor + 1 + i for i, row in enumerate(rows))


def _receipt(conn_id: int, batch: bool, receipt: wire.Receipt) -> Transmit:
    """A send receipt for ``conn_id``: a field to pack into ``sent_batch``, or a ``sent`` frame."""
    if batch:
        return Transmit(conn_id, b"", True, receipt)
    return Transmit(conn_id, wire.encode_sent(*receipt), True)


def _deliver(conn: _Conn, delivery: wire.Delivery) -> Transmit:
    """A delivery for ``conn``: fields to pack into ``deliver_batch``, or a ``deliver`` frame."""
    if conn.deliver_batch:
        return Transmit(conn.id, b"", False, None, delivery)
    return Transmit(conn.id, wire.encode_deliver(*delivery))
