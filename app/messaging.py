"""The send and receive pipeline: encrypt and store, decrypt and store, receipts, catch-up.

Commit, then act. Receiving: a delivery is decrypted and its new session state, message (and
picture) are written in ONE transaction; only when that commits does the relay client get to
acknowledge it, and only then are events emitted and a delivery receipt sent. Sending: the
ciphertext, the new session state and the message ("sending") commit together before anything
goes to the relay, and the wire payload waits in relay_records until the relay's durable receipt
replaces it with the frame the relay saw; after a crash, ``pending_outgoing`` finds it again.

Catch-up: the relay client hands up to ``BATCH`` deliveries at once; they queue here and are
committed in batches of up to ``BATCH`` per transaction (one fsync for many messages), yielding
to the event loop between batches so that nothing else starves, with CatchUpProgress events, and
releasing the GIL between messages so that the desktop app's GUI thread is never kept waiting.

Sessions: a contact's stored session is a small record of up to ``MAX_SESSIONS`` sessions, newest
first. Two people who add each other at the same time both start a session; each side keeps the
other's too and decrypts with whichever works, promoting it, so the pair converges on one
(Signal's session records do the same).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import msgpack
from parley.app import contacts as contact_ops
from parley.app import content as content_format
from parley.app import peer_build, recovery, replies, typing_indicators
from parley.app.attachments import check_received
from parley.app.build_hooks import HookProvider, ReceiveHook, provider
from parley.app.errors import AppError, AttachmentRejected, ContentError, SendBlocked
from parley.app.events import (
    CatchUpProgress,
    ContactKeyChanged,
    ConversationChanged,
    Event,
    MessageAdded,
    MessageRefused,
    MessageStatusChanged,
    ReactionChanged,
    RequestChanged,
    TypingChanged,
)
from parley.app.store import (
    attachments,
    contacts,
    conversations,
    messages,
    outbox,
    prekeys,
    relay_records,
    sessions,
)
from parley.app.store import replies as replies_repo
from parley.app.store.attachments import AttachmentMeta, AttachmentRow
from parley.app.store.contacts import ContactRow
from parley.app.store.db import Database
from parley.app.store.errors import NotFound, StoreError
from parley.app.store.messages import NewMessage, Status
from parley.app.store.profile import Store
from parley.app.store.relay_records import RelayRecordRow
from parley.crypto import succession
from parley.crypto.attachment import decrypt_attachment
from parley.crypto.errors import CryptoError, DuplicateMessage, EnvelopeRejected
from parley.crypto.keys import DHKeyPair, IdentityKeyPair
from parley.crypto.notice import is_notice
from parley.crypto.prekeys import OneTimePreKey, SignedPreKey
from parley.crypto.session import Session, accept_session, peek_initial
from parley.crypto.succession import Succession, SuccessionRefused
from parley.crypto.x3dh import X3DHHeader
from parley.net.client_types import Delivery, SendReceipt

from parley.variant import config as variant_config

log = logging.getLogger("parley.app.messaging")

MAX_SESSIONS = 4
RECORD_VERSION = 1
BATCH = 64
STATUS_RANK: dict[Status, int] = {
    "sending": 0,
    "failed": 0,
    "rejected": 0,
    "sent": 1,
    "delivered": 2,
    "read": 3,
}
PENDING_STATE = ("state", "waiting for the relay")


# ---- session records -----------------------------------------------------------------------


def encode_sessions(items: list[Session]) -> bytes:
    """A contact's sessions, newest first, as stored (version byte + msgpack list)."""
    blobs = [s.to_bytes() for s in items[:MAX_SESSIONS]]
    packed: bytes = msgpack.packb(blobs, use_bin_type=True)
    return bytes([RECORD_VERSION]) + packed


def decode_sessions(data: bytes) -> list[Session]:
    """Parse ``encode_sessions`` output. Raises StoreError for a damaged record."""
    if not data or data[0] != RECORD_VERSION:
        raise StoreError("A stored session record has an unknown version.")
    try:
        blobs = msgpack.unpackb(data[1:], raw=False, max_array_len=MAX_SESSIONS)
        if not isinstance(blobs, list) or not all(isinstance(b, bytes) for b in blobs):
            raise StoreError("A stored session record is not a list of sessions.")
        return [Session.from_bytes(b) for b in blobs]
    except (CryptoError, ValueError, msgpack.ExtraData) as exc:
        raise StoreError(f"A stored session record is damaged ({exc}).") from exc


def load_sessions(db: Database, contact_id: str) -> list[Session]:
    data = sessions.load(db, contact_id)
    return [] if data is None else decode_sessions(data)


def save_sessions(db: Database, contact_id: str, items: list[Session]) -> None:
    sessions.save(db, contact_id, encode_sessions(items), now=time.time())


# ---- outcomes ------------------------------------------------------------------------------


@dataclass
class Received:
    """What one committed delivery changed, for events and receipts after the commit."""

    events: list[Event] = field(default_factory=list)
    receipt_to: tuple[str, bytes] | None = None  # (contact id, message id) to confirm
    # (contact id, message id, send a notice?) of a message a fresh session would let us read
    undecryptable: tuple[str, bytes, bool] | None = None
    # (contact id, what a verified "cannot decrypt" notice from it asks for)
    resend: tuple[str, recovery.Action] | None = None
    # conversations whose list entry changed: their views are built once per batch (_drain)
    changed: list[str] = field(default_factory=list)


class _Drop(Exception):
    """Internal: a delivery that will never decrypt; it is acknowledged and reported (the
    message completes "A message from X could not be shown: ...").

    ``recoverable``: a fresh session would fix it (app/recovery.py), so a known sender is told.
    """

    def __init__(self, message: str, *, recoverable: bool = False) -> None:
        super().__init__(message)
        self.recoverable = recoverable


class _Duplicate(Exception):
    """Internal: the ratchet has already decrypted this message."""


class _Refused(Exception):
    """Internal: the message decrypted but its warrant envelope was refused (kept as evidence)."""

    def __init__(self, error: EnvelopeRejected) -> None:
        super().__init__(str(error))
        self.error = error


@dataclass
class _Pending:
    delivery: Delivery
    done: asyncio.Future[None]


# ---- the pipeline --------------------------------------------------------------------------


def relay_time(seconds: float) -> str:
    """A relay timestamp as people read it (UTC), with the exact value the relay sent kept."""
    stamp = datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d %H:%M:%S")
    return f"{stamp} UTC ({seconds:.3f})"


class Pipeline:
    """Send and receive for one open account.

    Args:
        store: the open store.
        identity: our identity key pair.
        emit: called with each event after its change committed.
        confirm: called after a commit with (contact id, message ids) to send delivery receipts.
        notify: called after a commit with (contact id, message id, send a notice?) for a message
            from a contact that a fresh session would let us read: the relay client must let its
            resend in, and (once per message, a few a minute per sender) a "cannot decrypt" notice
            goes out (app/recovery.py).
        resend: called after a commit with (contact id, recovery.Action) when a verified notice
            asks to send a message again (in a fresh session, with all that is not delivered).
    """

    def __init__(
        self,
        store: Store,
        identity: IdentityKeyPair,
        emit: Callable[[Event], None],
        confirm: Callable[[str, list[bytes]], None],
        hooks: HookProvider | None = None,
        *,
        notify: Callable[[str, bytes, bool], None] | None = None,
        resend: Callable[[str, recovery.Action], None] | None = None,
    ) -> None:
        self.db = store.db
        self.hooks = provider() if hooks is None else hooks
        self.variant = variant_config().variant
        self.identity = identity
        self._emit = emit
        self._confirm = confirm
        self._notify = notify
        self._resend = resend
        self._notices = recovery.NoticeLimiter()
        self._queue: list[_Pending] = []
        self._worker: asyncio.Task[None] | None = None
        self._done = 0  # deliveries committed since the last login (CatchUpProgress)
        self._reporting = False

    # -- receiving ---------------------------------------------------------------------------

    async def on_delivery(self, delivery: Delivery) -> None:
        """The relay client's callback: returns once the delivery is committed (or dropped)."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue.append(_Pending(delivery, done))
        if self._worker is None or self._worker.done():
            self._worker = asyncio.create_task(self._drain(), name="parley-catch-up")
        await done

    async def _drain(self) -> None:
        while self._queue:
            batch, self._queue = self._queue[:BATCH], self._queue[BATCH:]
            results = self._commit_batch(batch)
            for pending, outcome in zip(batch, results, strict=True):
                if isinstance(outcome, BaseException):
                    pending.done.set_exception(outcome)
                else:
                    pending.done.set_result(None)
            self._done += len(batch)
            receipts: dict[str, list[bytes]] = {}
            changed: dict[str, None] = {}
            for outcome in results:
                if isinstance(outcome, Received):
                    for event in outcome.events:
                        self._emit(event)
                    changed.update(dict.fromkeys(outcome.changed))
                    if outcome.receipt_to is not None:
                        receipts.setdefault(outcome.receipt_to[0], []).append(outcome.receipt_to[1])
            # One list entry per conversation and batch, built after the commit: per message it
            # was 16% of a catch-up's core time (bench/ui.py, py-spy), for views the list
            # replaced at once.
            for conversation_id in changed:
                try:
                    conversation = conversations.get(self.db, conversation_id)
                    view = contact_ops.conversation_view(self.db, conversation)
                except (NotFound, StoreError) as exc:  # gone meanwhile, or unreadable: no entry
                    log.warning("a changed conversation could not be listed: %s", exc)
                    continue
                self._emit(ConversationChanged(view))
            if len(batch) > 1 or self._queue or self._reporting:
                # A burst is reported until a report with done == total closes it.
                self._reporting = bool(self._queue)
                self._emit(CatchUpProgress(self._done, self._done + len(self._queue)))
            for contact_id, ids in receipts.items():
                self._confirm(contact_id, ids)
            self._recover(results)
            await asyncio.sleep(0)  # let the UI, sends and the relay client run between batches

    def _recover(self, results: list[Received | BaseException]) -> None:
        for outcome in results:
            if not isinstance(outcome, Received):
                continue
            if outcome.undecryptable is not None and self._notify is not None:
                self._notify(*outcome.undecryptable)
            if outcome.resend is not None and self._resend is not None:
                self._resend(*outcome.resend)

    async def stop(self) -> None:
        """Stop committing (before the store closes); queued deliveries stay unacknowledged."""
        worker, self._worker = self._worker, None
        if worker is not None and not worker.done():
            worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await worker
        for pending in self._queue:
            if not pending.done.done():
                pending.done.cancel()
        self._queue = []

    def new_connection(self) -> None:
        """Count catch-up progress from zero again (called at every login to the relay)."""
        self._done = 0

    def _commit_batch(self, batch: list[_Pending]) -> list[Received | BaseException]:
        results: list[Received | BaseException] = []
        try:
            with self.db.transaction():
                for pending in batch:
                    # Hand the GIL over between messages: a GUI thread waiting for it (to paint,
                    # or to ask a delegate for a row's size) gets it now instead of at the next
                    # forced switch; in bench/ui.py this cut the longest GUI stall by ~5 ms.
                    time.sleep(0)
                    try:
                        with self.db.transaction():  # a savepoint: one bad message stays alone
                            receive = (
                                self._notice
                                if is_notice(pending.delivery.payload)
                                else self._receive_one
                            )
                            results.append(receive(pending.delivery))
                    except (AppError, StoreError) as exc:
                        results.append(exc)
        except StoreError as exc:  # the commit itself failed: nothing is acknowledged
            return [exc for _ in batch]
        return results

    def _receive_one(self, delivery: Delivery) -> Received:
        out = Received()
        if messages.exists(self.db, delivery.message_id):
            return out  # a redelivery of a committed message: acknowledge, nothing else
        contact = contacts.find_by_identity_key(self.db, delivery.sender)
        if contact is not None and contact.state == "blocked":
            self._drop_blocked(delivery, contact)  # acknowledged, counted, never stored
            return out
        hook = self.hooks.for_receiving(delivery.relay_received_at)
        opened = self._open_delivery(out, delivery, contact, hook)
        if opened is None:
            return out
        known, plaintext, first = opened
        try:
            body: content_format.Content | None = content_format.decode(plaintext)
            reason = ""
        except ContentError as exc:
            body, reason = None, str(exc)
        if body is None or isinstance(
            body, content_format.Receipt | content_format.Reaction | content_format.Typing
        ):
            if contact is not None:  # the ratchet moved on; a stranger gets nothing stored
                self._keep_session(contact, known, first)
                out.events += peer_build.note_sender_build(
                    self.db, contact, hook.sender_variant(), self.variant
                )
            if body is None:
                self._refused(out, contact, delivery.sender, reason)
            elif contact is None:
                pass
            elif isinstance(body, content_format.Receipt):
                self._apply_receipt(out, contact, body)
            elif isinstance(body, content_format.Typing):
                self._typing(out, delivery, contact, body)
            elif contact.state == "accepted":  # a request's reactions act on nothing here
                self._apply_reaction(out, contact, body)
            return out
        if contact is None:
            contact = self._new_sender(out, delivery.sender, body)
        self._keep_session(contact, known, first)
        out.events += peer_build.note_sender_build(
            self.db, contact, hook.sender_variant(), self.variant
        )
        self._store_incoming(out, contact, delivery, body, hook.outcome())
        return out

    def _drop_blocked(self, delivery: Delivery, contact: ContactRow) -> None:
        """Count a blocked identity's delivery and throw it away unread. It is decrypted (as a
        stranger's would be) only to move the session past it, the plaintext discarded at
        once: after an unblock the session is in step, so the person's next message opens,
        and these bytes played again by a relay that kept them are duplicates, never shown."""
        try:
            with self.db.transaction():
                hook = self.hooks.for_receiving(delivery.relay_received_at)
                known, _discarded, first = self._decrypt(delivery, contact, hook)
                self._keep_session(contact, known, first)
        except _Duplicate:
            return  # already counted when it first came
        except (_Drop, _Refused):
            pass  # it could not move the session on; it is dropped all the same
        contacts.count_dropped(self.db, contact.id)

    def _typing(
        self, out: Received, delivery: Delivery, contact: ContactRow, body: content_format.Typing
    ) -> None:
        """A typing indicator is never stored, and only an accepted contact's is shown (never a
        request's; a stranger's never gets here, a blocked one's was dropped unread).
        One that waited at the relay longer than it would be shown (we were offline) is stale."""
        fresh = time.time() - delivery.relay_received_at < typing_indicators.SHOWN_FOR_S
        if contact.state == "accepted" and fresh:
            conversation = contact_ops.conversation_of(self.db, contact.id)
            typing = body.state == "started"
            out.events.append(TypingChanged(conversation.id, contact.display_name, typing))

    def _keep_session(
        self, contact: ContactRow, known: list[Session], first: X3DHHeader | None
    ) -> None:
        """Store the sessions; for a first message, in the same transaction, delete the
        one-time prekey it used and remember it in the replay cache (docs/protocol.md)."""
        save_sessions(self.db, contact.id, known)
        if first is not None:
            if first.one_time_prekey_id is not None:
                prekeys.delete_one_time(self.db, first.one_time_prekey_id)
            prekeys.remember_first_message(
                self.db,
                first.identity_key.to_bytes(),
                first.ephemeral_key,
                first.signed_prekey_id,
                time.time(),
            )

    def _open_delivery(
        self, out: Received, delivery: Delivery, contact: ContactRow | None, hook: ReceiveHook
    ) -> tuple[list[Session], bytes, X3DHHeader | None] | None:
        """Decrypt, or say why not (a duplicate, a drop, a refused envelope kept as evidence)."""
        try:
            with self.db.transaction():  # nothing a failed attempt wrote survives it
                return self._decrypt(delivery, contact, hook)
        except _Duplicate:
            return None
        except _Drop as drop:
            if drop.recoverable and contact is not None and contact.state == "accepted":
                notify = self._notices.allow(delivery.sender, delivery.message_id, time.time())
                out.undecryptable = (contact.id, delivery.message_id, notify)
                # Said, but not as a line in the conversation: the sender is asked for a fresh
                # session and sends it again, so the message itself will be shown.
                reason = f"{drop} It is being asked for again in a fresh session."
                self._refused(out, contact, delivery.sender, reason, line=False)
            else:
                self._refused(out, contact, delivery.sender, str(drop))
            return None
        except _Refused as refused:
            when = relay_time(delivery.relay_received_at)
            out.events += peer_build.store_refused(self.db, contact, delivery, refused.error, when)
            return None

    def _decrypt(
        self, delivery: Delivery, contact: ContactRow | None, hook: ReceiveHook
    ) -> tuple[list[Session], bytes, X3DHHeader | None]:
        """Decrypt with a known session (promoting it) or start the responder's session.

        Returns the sessions to store, the plaintext, and the X3DH header when a new session was
        started (its one-time prekey is deleted only when the caller stores the session).

        Raises:
            _Duplicate: the ratchet already decrypted this message, or it replays a first
                message that already started a session.
            _Drop: the message cannot be decrypted and never will be.
            _Refused: it decrypted, and the hook refused its envelope.
        """
        try:
            header = peek_initial(delivery.payload)
        except CryptoError:
            raise _Drop("it is not a Parley message.") from None
        known = load_sessions(self.db, contact.id) if contact is not None else []
        for index, candidate in enumerate(known):
            try:
                session, plaintext = candidate.decrypt(delivery.payload, hook)
            except DuplicateMessage:
                raise _Duplicate from None
            except EnvelopeRejected as exc:  # only after the AEAD verified: this session's
                raise _Refused(exc) from None
            except CryptoError:
                continue
            return [session, *known[:index], *known[index + 1 :]], plaintext, None
        if header is None or header.identity_key.to_bytes() != delivery.sender:
            raise _Drop(
                "it could not be decrypted (no session with this sender can open it).",
                recoverable=header is None,
            )
        if prekeys.first_message_seen(
            self.db, delivery.sender, header.ephemeral_key, header.signed_prekey_id
        ):
            # A replayed first message: it must never start a session again (and never push a
            # session that has moved on out of first place).
            log.info("a replayed first message was discarded")
            raise _Duplicate
        try:
            signed = prekeys.signed_by_id(self.db, header.signed_prekey_id)
            one_time = None
            if header.one_time_prekey_id is not None:
                row = prekeys.one_time_by_id(self.db, header.one_time_prekey_id)
                one_time = OneTimePreKey(row.key_id, DHKeyPair.from_private(row.private_key))
        except NotFound:
            raise _Drop(
                "it was made for keys this device does not have (used, expired or never issued).",
                recoverable=True,
            ) from None
        spk = SignedPreKey(
            signed.key_id,
            DHKeyPair.from_private(signed.private_key),
            signed.signature,
            int(signed.created_at),
        )
        try:
            session, plaintext = accept_session(
                self.identity, spk, one_time, delivery.payload, hook
            )
        except EnvelopeRejected as exc:
            raise _Refused(exc) from None
        except CryptoError:
            raise _Drop(
                "it could not be decrypted (damaged or forged).", recoverable=True
            ) from None
        return [session, *known], plaintext, header

    def _notice(self, delivery: Delivery) -> Received:
        """A "cannot decrypt" notice: a fresh session if it verifies and is due (app/recovery)."""
        out = Received()
        contact = contacts.find_by_identity_key(self.db, delivery.sender)
        if contact is None or contact.state != "accepted":
            log.info("ignored a cannot-decrypt notice from someone who is not a contact")
            return out
        conversation = contact_ops.conversation_of(self.db, contact.id)
        action = recovery.accept_notice(
            self.db,
            contact,
            delivery.payload,
            identity=self.identity,
            conversation_id=conversation.id,
            now=time.time(),
        )
        if action is not None:
            out.resend = (contact.id, action)
        return out

    def _refused(
        self,
        out: Received,
        contact: ContactRow | None,
        sender: bytes,
        reason: str,
        *,
        line: bool = True,
    ) -> Received:
        """Tell the user a delivery could not be shown: an event, and (``line``) a system line in
        the contact's (or request's) conversation when the sender is known."""
        conversation_id = None
        if contact is None:
            label = f"an unknown sender ({contact_ops.fingerprint(sender)})"
        elif not line:
            label = contact_ops.display_label(contact)
            conversation_id = contact_ops.conversation_of(self.db, contact.id).id
        else:
            label = contact_ops.display_label(contact)
            conversation = contact_ops.conversation_of(self.db, contact.id)
            conversation_id = conversation.id
            text = MessageRefused(conversation_id, label, reason).text
            row = contact_ops.system_line(self.db, conversation.id, text, time.time())
            view = contact_ops.message_view(self.db, row)
            out.events.append(MessageAdded(view, request=contact.state == "request"))
            self._changed(out, contact)
        log.info("refused a delivery: %s", reason)
        out.events.append(MessageRefused(conversation_id, label, reason))
        return out

    def _new_sender(
        self, out: Received, sender: bytes, body: content_format.Text | content_format.Picture
    ) -> ContactRow:
        """A first message from an identity we do not know: a proven key change of a contact
        (a valid succession statement), or else a message request."""
        claims_was = None
        if body.was is not None:
            previous = contacts.find_by_identity_key(self.db, body.was)
            if previous is not None and previous.state == "accepted":
                try:
                    statement = self._proven_succession(previous, sender, body)
                except CryptoError as exc:
                    log.info("an unproven key change was refused: %s", exc)
                    claims_was = body.was
                else:
                    line = contact_ops.rebind(
                        self.db,
                        previous,
                        sender,
                        "proven by a succession statement signed with the old key",
                        time.time(),
                    )
                    contacts.set_succession(self.db, previous.id, statement.at)
                    conversation = contact_ops.conversation_of(self.db, previous.id)
                    out.events.append(MessageAdded(contact_ops.message_view(self.db, line)))
                    out.events.append(ContactKeyChanged(previous.id, conversation.id))
                    return contacts.get(self.db, previous.id)
        name = body.sender_name
        row, _ = contact_ops.create(
            self.db,
            sender,
            name or f"Unknown {sender.hex()[:8]}",
            state="request",
            claimed_name=name,
            claims_was=claims_was,
        )
        return row

    @staticmethod
    def _proven_succession(
        previous: ContactRow, sender: bytes, body: content_format.Text | content_format.Picture
    ) -> Succession:
        """The message's succession statement, checked: it must prove previous -> sender now.

        Raises:
            SuccessionRefused: there is none, or it is forged, stale or older than the last one.
        """
        if body.was is None or body.was_at is None or body.was_sig is None:
            raise SuccessionRefused("The key change carries no succession statement.")
        statement = Succession(body.was, sender, body.was_at, body.was_sig)
        succession.check(
            statement,
            old=previous.identity_key,
            new=sender,
            now=time.time(),
            after=previous.succession_at,
        )
        return statement

    def _apply_receipt(
        self, out: Received, contact: ContactRow, receipt: content_format.Receipt
    ) -> None:
        status: Status = "delivered" if receipt.kind == "delivered" else "read"
        conversation = contact_ops.conversation_of(self.db, contact.id)
        for message_id in receipt.message_ids:
            try:
                row = messages.get(self.db, message_id)
            except NotFound:
                continue
            if row.conversation_id != conversation.id or row.direction != "out":
                continue  # a receipt names only messages we sent to this contact
            # The contact's device has it, so it acknowledged it to the relay, which deleted it:
            # "what the relay saw" must say so, not show the stored-until date.
            with contextlib.suppress(NotFound):
                relay_records.mark_deleted(self.db, message_id)
            if STATUS_RANK[status] > STATUS_RANK[row.status]:
                messages.set_status(self.db, message_id, status)
                out.events.append(MessageStatusChanged(conversation.id, message_id.hex(), status))

    def _apply_reaction(
        self, out: Received, contact: ContactRow, reaction: content_format.Reaction
    ) -> None:
        """A contact's reaction, to a message of its own conversation only (app/replies.py)."""
        conversation = contact_ops.conversation_of(self.db, contact.id)
        row = replies.target(self.db, conversation.id, reaction.message_id)
        if row is None:
            log.info("a reaction to a message outside its conversation was ignored")
            return
        emoji = None if reaction.remove else reaction.emoji
        if replies_repo.set_reaction(self.db, row.id, "in", emoji, reaction.sent_at):
            view = contact_ops.message_view(self.db, row)
            out.events.append(ReactionChanged(view, contact.display_name, emoji))

    def _store_incoming(
        self,
        out: Received,
        contact: ContactRow,
        delivery: Delivery,
        body: content_format.Text | content_format.Picture,
        extension: tuple[str, str],
    ) -> None:
        now = time.time()
        conversation = contact_ops.conversation_of(self.db, contact.id)
        attachment_id = None
        text = body.body if isinstance(body, content_format.Text) else body.caption
        if isinstance(body, content_format.Picture):
            try:
                attachment_id = self._store_picture(body.picture, now)
            except (CryptoError, AttachmentRejected) as exc:
                self._refused(out, contact, delivery.sender, f"its picture was refused ({exc})")
                return
        row = messages.add(
            self.db,
            NewMessage(
                delivery.message_id,
                conversation.id,
                "in",
                contact.display_name,
                text,
                body.sent_at,
                now,
                "delivered",
                attachment_id,
            ),
        )
        if row is None:
            return
        if body.reply is not None:
            side = replies.side_of(
                body.reply.author, self.identity.public.to_bytes(), delivery.sender
            )
            replies.store_quote(self.db, row.id, body.reply, side)
        relay_records.record(
            self.db,
            RelayRecordRow(
                delivery.message_id,
                "in",
                delivery.payload,
                (
                    ("sender account", delivery.sender.hex()),
                    ("payload bytes", str(len(delivery.payload))),
                    ("relay received at", relay_time(delivery.relay_received_at)),
                    extension,
                ),
                now,
                None,
                True,
            ),
        )
        conversations.touch(self.db, conversation.id, now, add_unread=1)
        view = contact_ops.message_view(self.db, row, fresh=True)
        out.events.append(MessageAdded(view, request=contact.state == "request"))
        self._changed(out, contact)
        if contact.state == "accepted":  # nothing goes back to a request until it is accepted
            out.receipt_to = (contact.id, delivery.message_id)

    def _changed(self, out: Received, contact: ContactRow) -> None:
        """The event for the conversation list, or for the requests list."""
        if contact.state == "request":
            out.events.append(RequestChanged(contact_ops.request_view(self.db, contact)))
            return
        out.changed.append(contact_ops.conversation_of(self.db, contact.id).id)

    def _store_picture(self, ref: content_format.PictureRef, now: float) -> str:
        """Decrypt and check a received picture and store it. Raises CryptoError or
        AttachmentRejected when it is refused."""
        plain = decrypt_attachment(ref.key, ref.digest, ref.data)
        checked = check_received(plain, ref.file_name or "picture")
        attachment_id = contact_ops.new_id()
        meta = AttachmentMeta(
            attachment_id,
            checked.mime_type,
            len(plain),
            checked.width,
            checked.height,
            ref.file_name,
            now,
        )
        attachments.add(self.db, AttachmentRow(meta, ref.key, ref.data))
        return attachment_id

    # -- sending -----------------------------------------------------------------------------

    def encrypt_for(self, contact: ContactRow, plaintext: bytes) -> bytes:
        """Encrypt with the contact's newest session and store the advanced state.

        Call inside the transaction that also stores what was sent.

        Raises:
            SendBlocked: the contact's verified key changed and the change is not accepted.
        """
        if contact.state != "accepted":
            raise SendBlocked(
                f"{contact_ops.display_label(contact)} is a message request: accept it before "
                "anything is sent back."
            )
        if contact_ops.send_blocked(self.db, contact):
            raise SendBlocked(
                f"{contact.display_name}'s safety number changed. Compare it again and accept the "
                "new key before sending."
            )
        known = load_sessions(self.db, contact.id)
        if not known:
            raise AppError(f"There is no session with {contact.display_name} yet.")
        try:
            session, wire_bytes = known[0].encrypt(plaintext, self.hooks.for_sending(time.time()))
        except CryptoError as exc:
            raise AppError(f"Cannot encrypt for {contact.display_name}: {exc}") from exc
        save_sessions(self.db, contact.id, [session, *known[1:]])
        return wire_bytes

    def queue_outgoing(self, message: NewMessage, payload: bytes) -> None:
        """Keep the payload until the relay stores it (found again by ``pending_outgoing``)."""
        self.queue_outgoing_id(message.id, payload)

    def queue_outgoing_id(self, message_id: bytes, payload: bytes) -> None:
        relay_records.record(
            self.db,
            RelayRecordRow(message_id, "out", payload, (PENDING_STATE,), time.time(), None, False),
        )

    def queue_again(self, message_id: bytes, payload: bytes) -> None:
        """Replace a message's payload (re-encrypted in a fresh session) and send it again."""
        self.queue_outgoing_id(message_id, payload)
        messages.set_status(self.db, message_id, "sending")

    def pending_outgoing(self) -> list[tuple[bytes, bytes, bytes]]:
        """(message id, recipient account, payload) of every message the relay has not stored."""
        rows = self.db.all(
            "SELECT r.message_id, c.identity_key, r.frame FROM relay_records AS r "
            "JOIN messages AS m ON m.id = r.message_id "
            "JOIN conversations AS v ON v.id = m.conversation_id "
            "JOIN contacts AS c ON c.id = v.contact_id "
            "WHERE r.direction = 'out' AND r.stored_until IS NULL AND m.status = 'sending' "
            "ORDER BY m.seq"
        )
        waiting = [(bytes(r[0]), bytes(r[1]), bytes(r[2])) for r in rows]
        return waiting + outbox.pending(self.db)  # and reactions not stored yet

    def queue_reaction(self, wire_id: bytes, recipient: bytes, payload: bytes) -> None:
        """Keep a reaction's payload until the relay stores it (sent again after a restart)."""
        outbox.add(self.db, wire_id, recipient, payload, time.time())

    def record_stored(self, receipt: SendReceipt, recipient: bytes) -> Status | None:
        """The relay stored the message: keep what it saw, and move "sending" to "sent"."""
        with self.db.transaction():
            if outbox.remove(self.db, receipt.message_id):
                return None  # a reaction: nothing else to record
            row = messages.get(self.db, receipt.message_id)
            relay_records.record(
                self.db,
                RelayRecordRow(
                    receipt.message_id,
                    "out",
                    receipt.frame,
                    (
                        ("recipient account", recipient.hex()),
                        ("frame bytes", str(len(receipt.frame))),
                        ("relay stored at", relay_time(receipt.stored_at)),
                    ),
                    time.time(),
                    receipt.expires_at,
                    # The contact's receipt can overtake the relay's: then it is gone already.
                    row.status in ("delivered", "read"),
                ),
            )
            if row.status == "sending":
                messages.set_status(self.db, receipt.message_id, "sent")
                return "sent"
        return None

    def record_failed(self, message_id: bytes) -> bool:
        """The relay refused it for good; False when it was not a message (a reaction)."""
        if outbox.remove(self.db, message_id):
            return False
        with contextlib.suppress(NotFound):
            messages.set_status(self.db, message_id, "failed")
        return True

    @staticmethod
    def new_message_id() -> bytes:
        return os.urandom(messages.MESSAGE_ID_BYTES)
