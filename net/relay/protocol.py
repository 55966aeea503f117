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
an Ack may name many ids, each freeing its window slot exactly as a single Ack does.

Flow control: each connection has at most ``window`` unacknowledged deliveries. A connection with
no backlog gets new messages live; otherwise (``backlog`` set) new messages wait in the store and
are read in order, half a window at a time, as acks come in.
"""

from __future__ import annotations

import hmac
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field

import nacl.exceptions
import nacl.signing
from parley.net import wire
from parley.net.errors import StoreError, UnsupportedVersion, WireError
from parley.net.relay.limits import RelayConfig, TokenBucket
from parley.net.relay.metrics import Counters
from parley.net.relay.store import Refused, RelayStore

log = logging.getLogger("parley.relay")

# WebSocket close code for a policy violation (RFC 6455).
CLOSE_POLICY = 1008


@dataclass(frozen=True, slots=True)
class Transmit:
    """Send ``data`` (one binary frame) on connection ``conn``.

    When ``receipt`` is set, ``data`` is empty and the frame is that send receipt, which the
    server may pack together with the connection's other receipts of the turn.
    """

    conn: int
    data: bytes = field(repr=False)
    after_commit: bool = False
    receipt: wire.Receipt | None = None


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
        self._next_id = 1
        self._next_expiry = 0.0
        self._debug = log.isEnabledFor(logging.DEBUG)
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
            peers = self._by_account.get(conn.account, [])
            if conn in peers:
                peers.remove(conn)
            if not peers:
                self._by_account.pop(conn.account, None)
            log.info("disconnect %s conn=%d", short(conn.account), conn.id)

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
        return actions

    # --- frames -----------------------------------------------------------------------------

    def receive(self, conn_id: int, data: bytes | str, now: float) -> list[Action]:
        """One WebSocket message arrived on ``conn_id``; return what to send in reply."""
        conn = self._conns.get(conn_id)
        if conn is None or conn.closing:
            return []
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
        if type(frame) is not wire.Ack and account and not self._take_token(account, now):
            return self._refuse(
                conn,
                "rate_limited",
                f"more than {self.config.rate_per_second:g} requests per second; slow down",
                request_id,
            )
        try:
            return self._handlers[type(frame)](conn, frame, now)
        except StoreError as exc:
            return self._store_failed(conn, exc, request_id, now)

    def _store_failed(
        self, conn: _Conn, exc: StoreError, request_id: int | None, now: float
    ) -> list[Action]:
        log.error("store failure: %s", exc)
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
        bucket = self._buckets.get(account)
        if bucket is None:
            bucket = self._buckets[account] = TokenBucket.full(
                self.config.rate_per_second, self.config.rate_burst, now
            )
        return bucket.take(now)

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
        registered = False
        if not self.store.is_registered(account):
            token = self.config.invite_token
            if token is not None and not hmac.compare_digest(
                (frame.invite or "").encode(), token.encode()
            ):
                return self._refuse(
                    conn,
                    "invite_required",
                    "this relay needs a valid invite token",
                    rid,
                    close=True,
                )
            self.store.register(account)
            registered = True
        peers = self._by_account.setdefault(account, [])
        if len(peers) >= self.config.max_connections_per_account:
            return self._refuse(
                conn,
                "too_many_connections",
                f"at most {self.config.max_connections_per_account} connections per account",
                rid,
                close=True,
            )
        conn.account = account
        conn.batch = wire.CAP_BATCH in frame.caps
        peers.append(conn)
        self.counters.authenticated += 1
        log.info("login %s conn=%d%s", short(account), conn.id, " (new)" if registered else "")
        welcome = wire.Welcome(
            rid, account, self.store.prekey_count(account), registered, (wire.CAP_BATCH,)
        )
        actions: list[Action] = [Transmit(conn.id, wire.encode(welcome), after_commit=True)]
        return actions + self._pull(conn, now)

    def _on_send(self, conn: _Conn, frame: wire.Send, now: float) -> list[Action]:
        sender = conn.account
        if sender is None:  # pragma: no cover - receive() only dispatches after login
            return []
        recipient = frame.recipient
        if not self.store.is_registered(recipient):
            return self._refuse(
                conn,
                "unknown_account",
                "no such account on this relay",
                frame.request_id,
                message_id=frame.message_id,
            )
        result = self.store.enqueue(
            recipient,
            sender,
            frame.message_id,
            frame.payload,
            now=now,
            expires_at=now + self.config.ttl,
        )
        if isinstance(result, Refused):
            return self._refuse(
                conn, result.code, result.reason, frame.request_id, message_id=frame.message_id
            )
        # The two frames of a forward are packed straight from their fields (no frame objects):
        # this is the relay's hottest path.
        receipt = (
            frame.request_id,
            frame.message_id,
            result.stored_at,
            result.expires_at,
            result.duplicate,
        )
        sent = (
            Transmit(conn.id, b"", True, receipt)
            if conn.batch
            else Transmit(conn.id, wire.encode_sent(*receipt), True)
        )
        actions: list[Action] = [sent]
        if result.duplicate:
            return actions
        self.counters.stored_total += 1
        if self._debug:
            log.debug("queued %s -> %s", short(sender), short(recipient))
        deliver: bytes | None = None
        for peer in self._by_account.get(recipient, ()):
            if peer.backlog or len(peer.inflight) >= self.config.window:
                peer.backlog = True
                continue
            if deliver is None:
                deliver = wire.encode_deliver(sender, frame.message_id, frame.payload, now)
            peer.inflight.add(frame.message_id)
            peer.cursor = result.seq
            actions.append(Transmit(peer.id, deliver))
        return actions

    def _on_ack(self, conn: _Conn, frame: wire.Ack, now: float) -> list[Action]:
        account = conn.account
        if account is None:  # pragma: no cover - receive() only dispatches after login
            return []
        peers = self._by_account.get(account, ())
        for message_id in frame.message_ids:
            if self.store.ack(account, message_id):
                self.counters.delivered_total += 1
            for peer in peers:
                peer.inflight.discard(message_id)
        actions: list[Action] = []
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
        rows = self.store.pending(conn.account, conn.cursor, room, now)
        actions: list[Action] = []
        for row in rows:
            conn.inflight.add(row.message_id)
            conn.cursor = row.seq
            deliver = wire.encode_deliver(row.sender, row.message_id, row.payload, row.stored_at)
            actions.append(Transmit(conn.id, deliver))
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
        bundle = self.store.take_bundle(owner) if self.store.is_registered(owner) else None
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
