"""The Messenger: one open account, implementing app/api.py's MessengerApi on the core thread.

It owns the store, the relay client and the pipeline (app/messaging.py) and turns user requests
into transactions and relay calls. Every public coroutine runs on the core's event loop; events
go to subscribers on that same thread, after the change they describe has committed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from parley.app import account as prekey_ops
from parley.app import contacts as contact_ops
from parley.app import content as content_format
from parley.app import invite as invite_format
from parley.app import peer_build, recovery, replies
from parley.app.attachments import CheckedPicture, prepare_picture, write_file
from parley.app.errors import (
    AppError,
    ContactExists,
    ContactNotFound,
    ContentError,
    NetworkError,
    NotBlocked,
    from_store,
)
from parley.app.events import (
    BlockedView,
    ConnectionChanged,
    ConnectionState,
    ContactUnblocked,
    ContactView,
    ConversationChanged,
    ConversationView,
    ErrorRaised,
    Event,
    InviteView,
    KeyStorageInfo,
    Locked,
    MessageAdded,
    MessageStatusChanged,
    MessageView,
    ReactionChanged,
    RelayRecordView,
    RequestChanged,
    RequestRemoved,
    RequestView,
    SafetyNumberView,
    SearchHit,
    Settings,
)
from parley.app.messaging import BATCH, Pipeline, load_sessions, save_sessions
from parley.app.proxy import proxy_choice
from parley.app.store import (
    attachments,
    contacts,
    conversations,
    messages,
    prekeys,
    relay_records,
)
from parley.app.store import identity as identity_repo
from parley.app.store import replies as replies_repo
from parley.app.store import search as search_repo
from parley.app.store import settings as settings_repo
from parley.app.store.attachments import AttachmentMeta, AttachmentRow
from parley.app.store.contacts import ContactRow
from parley.app.store.conversations import ConversationRow
from parley.app.store.errors import StoreError
from parley.app.store.keysource import KeyringSource, KeySource, PassphraseSource
from parley.app.store.messages import NewMessage
from parley.app.store.profile import Store
from parley.crypto import succession
from parley.crypto.attachment import decrypt_attachment, digest, encrypt_attachment
from parley.crypto.errors import CryptoError
from parley.crypto.keys import IdentityKeyPair, IdentityPublicKey
from parley.crypto.prekeys import PreKeyBundle
from parley.crypto.session import Session, initiate_session
from parley.crypto.succession import Succession
from parley.net.client import ClientError, Delivery, RelayClient
from parley.net.client_backoff import Backoff
from parley.net.errors import RelayRefused

from parley.variant import BUILD_VARIANT
from parley.variant import config as build_config

log = logging.getLogger("parley.app.messenger")

RECEIPT_BATCH = 256
SUCCESSION_SETTING = "identity.succession"
#: Per account, off unless turned on in Settings (app/typing_indicators.py says why).
TYPING_SETTING = "privacy.typing_indicators"
SUCCESSION_PREFIX = "parley-succession:"
CONNECTION_STATES: tuple[ConnectionState, ...] = ("connecting", "online", "offline")
REQUEST_TIMEOUT_S = 15.0
RECONNECT_SETTLE_S = 5.0
"""How long a reconnection (new relay URL or proxy) waits for the old connection's tasks."""
EXPLANATION = (
    "The relay keeps only this: an opaque ciphertext, who it is for, who sent it (the accounts "
    "are public identity keys) and when. It deletes the message once the recipient confirms it, "
    "or when it expires. It never sees the text, the picture, or any key that opens them."
)


def _hex_id(value: str, what: str) -> bytes:
    try:
        raw = bytes.fromhex(value)
    except ValueError:
        raw = b""
    if len(raw) != messages.MESSAGE_ID_BYTES:
        raise ContactNotFound(f"{value!r} is not a {what} id.")
    return raw


class Messenger:
    """An open, unlocked account (see app/api.py for what each method promises)."""

    build_variant: str = BUILD_VARIANT

    def __init__(self, store: Store, identity: IdentityKeyPair, source: KeySource) -> None:
        self.store = store
        self.identity = identity
        self._source = source
        row = identity_repo.load(store.db)
        self.display_name = row.display_name
        self.relay_url = row.relay_url
        self._subscribers: list[Callable[[Event], None]] = []
        self._tasks: set[asyncio.Task[Any]] = set()
        self._in_flight: set[bytes] = set()
        self._publishing = asyncio.Lock()
        self._resending: dict[str, asyncio.Lock] = {}  # by contact id (_send_again)
        self._receipts = 0  # receipts being encrypted or sent
        self._client: RelayClient | None = None
        self._online = False  # logged in to the relay right now (typing indicators need it)
        self._closed = False
        self.pipeline = Pipeline(
            store,
            identity,
            self._emit,
            self._confirm,
            notify=self._on_undecryptable,
            resend=self._on_notice,
        )
        replaces = settings_repo.get(store.db, prekey_ops.REPLACES_SETTING)
        # Told to contacts in every message: this account replaces that identity (content.py);
        # proven only by a succession statement the old identity signed (adopt_succession).
        self.previous_identity = None if replaces is None else bytes.fromhex(replaces)
        stored = settings_repo.get(store.db, SUCCESSION_SETTING)
        self.succession = None if stored is None else Succession.from_bytes(bytes.fromhex(stored))
        self.backoff = Backoff(base=0.2, maximum=5.0)
        self.send_timeout = 60.0

    def __repr__(self) -> str:
        return f"Messenger({self.display_name!r}, {str(self.store.folder)!r})"

    # ---- events and tasks ------------------------------------------------------------------

    def subscribe(self, callback: Callable[[Event], None]) -> None:
        self._subscribers.append(callback)

    def _emit(self, event: Event) -> None:
        for callback in list(self._subscribers):
            try:
                callback(event)
            except Exception:
                log.exception("an event subscriber failed")

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        async def guarded() -> None:
            try:
                await coro
            except asyncio.CancelledError:
                raise
            except (AppError, StoreError) as exc:
                if self._closed:
                    return  # work cut short by close() (its connection went away): no error
                error = from_store(exc) if isinstance(exc, StoreError) else exc
                self._emit(ErrorRaised(str(error), error))
            except Exception as exc:
                log.exception("background work failed")
                self._emit_error(f"Something went wrong in the background ({exc}).")

        task = asyncio.get_running_loop().create_task(guarded())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _emit_error(self, message: str) -> None:
        self._emit(ErrorRaised(message))

    # ---- life cycle ------------------------------------------------------------------------

    async def start(self) -> None:
        """Connect (and keep reconnecting); publish prekeys and resend what waits, once online."""
        if self._closed:
            raise AppError("This account was closed; open it again.")
        if self._client is not None:
            return
        self._client = RelayClient(
            self.relay_url,
            self.identity.public.to_bytes(),
            self.identity.sign,
            on_delivery=self._on_delivery,
            on_state=self._on_state,
            on_prekeys_low=self._on_prekeys_low,
            backoff=self.backoff,
            delivery_concurrency=BATCH,  # one full batch can be in flight
            request_timeout=REQUEST_TIMEOUT_S,
            send_timeout=self.send_timeout,
            proxy=proxy_choice(settings_repo.get(self.store.db, "net.proxy_url") or ""),
        )
        await self._client.start()

    async def _on_delivery(self, delivery: Delivery) -> None:
        """Commit one delivery; a store that cannot commit (damaged, disk full) is reported.

        The delivery stays unacknowledged, so the relay keeps it and nothing is lost.
        """
        try:
            await self.pipeline.on_delivery(delivery)
        except StoreError as exc:
            error = from_store(exc)
            self._emit(ErrorRaised(f"A message could not be saved: {error}", error))
            raise

    async def _reconnect(self) -> None:
        """Apply a new relay URL or proxy now rather than at the next start.

        The old connection is closed first and its tasks (sends, receipts, prekey uploads) are
        allowed to settle, so a message still in flight leaves ``_in_flight`` before the new
        login resends everything that waits: nothing is skipped, nothing is sent twice.
        """
        old, self._client = self._client, None
        if old is None:
            return
        await old.close()
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=RECONNECT_SETTLE_S)
        await self.start()

    async def wait_online(self, timeout: float) -> None:
        """Wait until logged in to the relay. Raises NetworkError."""
        try:
            await self._require_client().wait_connected(timeout)
        except RelayRefused as exc:
            raise NetworkError(f"The relay at {self.relay_url} refused us: {exc.reason}.") from exc
        except ClientError as exc:
            raise NetworkError(f"Cannot reach the relay at {self.relay_url}: {exc}.") from exc

    def _require_client(self) -> RelayClient:
        if self._client is None:
            raise NetworkError("Not connected: start the messenger first.")
        return self._client

    def _on_state(self, state: str, detail: str) -> None:
        self._online = state == "online"
        retry_in = self._client.retry_delay if self._client is not None else None
        for known in CONNECTION_STATES:
            if state == known:
                self._emit(
                    ConnectionChanged(known, detail, retry_in if known == "offline" else None)
                )
        if state == "online":
            self.pipeline.new_connection()
            self._spawn(self._after_login())

    async def _after_login(self) -> None:
        await self.publish_prekeys(timeout=REQUEST_TIMEOUT_S)
        for message_id, recipient, payload in self.pipeline.pending_outgoing():
            self._launch(message_id, recipient, payload)

    async def close(self) -> None:
        """Disconnect, finish background work and close the store; idempotent."""
        if self._closed:
            return
        self._closed = True
        if self._client is not None:
            await self._client.close()
        await self.pipeline.stop()
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self.store.close()

    async def lock(self) -> None:
        """Close the account and tell the UI to show the unlock screen."""
        await self.close()
        self._emit(Locked())

    async def flush(self, timeout: float) -> None:
        """Wait (bounded) until no message or receipt is on its way to the relay (the CLI calls
        this before exiting, so that a script's ``send`` returns once the relay has it)."""
        deadline = time.monotonic() + timeout
        while (self._in_flight or self._receipts) and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        if self._in_flight or self._receipts:
            raise NetworkError("The relay did not store every message in time; they stay queued.")

    # ---- prekeys ---------------------------------------------------------------------------

    async def publish_prekeys(self, *, timeout: float) -> None:
        """Rotate an old signed prekey, then publish it with any unpublished one-time prekeys.

        Publications are serialised (login, create and a low stock can all ask at once) so that
        no one-time prekey is published twice.
        """
        async with self._publishing:
            await self._publish(timeout)

    async def _publish(self, timeout: float) -> None:
        with self.store.transaction() as db:
            prekey_ops.rotate_if_old(db, self.identity, time.time())
            spk, blobs, ids = prekey_ops.publication(db)
        # The warrant build says so in its prekey bundle too (signed; docs/warrant.md).
        spk = peer_build.tag_signed_prekey(spk, build_config().authority_key_id, self.identity)
        client = self._require_client()
        try:
            async with asyncio.timeout(timeout):
                await client.publish_prekeys(spk, blobs)
        except (TimeoutError, ClientError, RelayRefused) as exc:
            # asyncio's own TimeoutError says nothing: the client knows why it is not online.
            reason = str(exc) or client.last_error or f"no answer within {timeout:g} s"
            raise NetworkError(
                f"Cannot publish keys to the relay at {self.relay_url}: {reason}."
            ) from exc
        if ids:
            prekeys.mark_published(self.store.db, ids)
        if client.prekey_stock is not None:
            warning = prekey_ops.drain_warning(self.store.db, client.prekey_stock)
            if warning:
                self._emit(ErrorRaised(warning))

    async def _on_prekeys_low(self, stock: int) -> None:
        async with self._publishing:
            client = self._require_client()
            # The stock may have been topped up since the relay counted it.
            current = stock if client.prekey_stock is None else client.prekey_stock
            waiting = len(prekeys.unpublished_one_time(self.store.db))
            missing = prekey_ops.ONE_TIME_STOCK - current - waiting
            if current >= prekey_ops.LOW_STOCK and not waiting:
                return
            if missing > 0:
                with self.store.transaction() as db:
                    prekey_ops.add_one_time_prekeys(db, missing)
            await self._publish(REQUEST_TIMEOUT_S)

    # ---- contacts --------------------------------------------------------------------------

    async def my_invite(self) -> InviteView:
        me = invite_format.Invite(
            self.identity.public.to_bytes(),
            self.relay_url,
            self.display_name,
            build_config().authority_key_id,  # the warrant build says so in its invite
        )
        return InviteView(me.code, me.link)

    async def add_contact(self, invite: str, display_name: str | None = None) -> ContactView:
        parsed = invite_format.parse(invite)
        if parsed.identity_key == self.identity.public.to_bytes():
            raise ContactExists("This is your own invite.")
        existing = contacts.find_by_identity_key(self.store.db, parsed.identity_key)
        if existing is not None and existing.state == "request":
            # Adding someone whose request is waiting accepts it (with the session it started).
            return await self.accept_request(existing.id, display_name or parsed.display_name)
        if existing is not None and existing.state == "blocked":
            raise ContactExists(
                "You blocked this identity; unblock it first (Parley > Blocked people…; or "
                "`parley cli unblock`)."
            )
        if existing is not None:
            raise ContactExists(f"{existing.display_name} is already in your contacts.")
        name = (display_name or parsed.display_name).strip() or parsed.display_name
        session, bundle_authority = await self._fresh_session(parsed.identity_key, name)
        # The invite or the bundle may say "warrant build"; either is enough to say so.
        authority = parsed.authority_key_id or bundle_authority
        with self.store.transaction() as db:
            row, conversation = contact_ops.create(
                db, parsed.identity_key, name, build_variant="warrant" if authority else "standard"
            )
            if authority:
                contact_ops.set_build(db, row.id, "warrant", authority)
                row = contacts.get(db, row.id)
            save_sessions(db, row.id, [session])
            view = contact_ops.conversation_view(db, conversation)
        self._emit(ConversationChanged(view))
        return contact_ops.contact_view(row)

    async def _fresh_session(self, identity_key: bytes, name: str) -> tuple[Session, str]:
        """X3DH from a freshly fetched prekey bundle, and the authority key id its build tag
        names ("" for the standard build). Raises NetworkError."""
        try:
            fetched = await self._require_client().fetch_bundle(identity_key)
        except RelayRefused as exc:
            raise NetworkError(
                f"The relay does not know {name} ({exc.reason}). Are you on the same relay?"
            ) from exc
        except ClientError as exc:
            raise NetworkError(f"Cannot fetch {name}'s keys from the relay: {exc}") from exc
        if fetched.identity_key != identity_key:
            raise NetworkError(f"The relay returned keys of someone else instead of {name}'s.")
        try:
            record, authority = peer_build.split_signed_prekey(
                fetched.signed_prekey, IdentityPublicKey.from_bytes(fetched.identity_key)
            )
            bundle = PreKeyBundle.from_parts(fetched.identity_key, record, fetched.one_time_prekey)
            return initiate_session(self.identity, bundle), authority
        except CryptoError as exc:
            raise NetworkError(f"{name}'s published keys are invalid ({exc}).") from exc

    async def contact(self, contact_id: str) -> ContactView:
        """One contact, request or blocked identity by id. Raises ContactNotFound."""
        return contact_ops.contact_view(self._contact(contact_id))

    async def contacts(self) -> list[ContactView]:
        return [contact_ops.contact_view(r) for r in contacts.all_contacts(self.store.db)]

    async def conversations(self) -> list[ConversationView]:
        db = self.store.db
        accepted = {c.id for c in contacts.all_contacts(db)}
        return [
            contact_ops.conversation_view(db, r)
            for r in conversations.all_conversations(db)
            if r.contact_id in accepted
        ]

    # ---- message requests, blocking, merging, succession -----------------------------------

    async def requests(self) -> list[RequestView]:
        db = self.store.db
        rows = contacts.all_contacts(db, "request")
        views = [contact_ops.request_view(db, r) for r in rows]
        return sorted(views, key=lambda v: v.first_seen)

    def _request(self, contact_id: str) -> ContactRow:
        row = self._contact(contact_id)
        if row.state != "request":
            raise ContactNotFound(f"There is no message request {contact_id!r}.")
        return row

    async def accept_request(self, contact_id: str, display_name: str | None = None) -> ContactView:
        row = self._request(contact_id)
        name = (display_name or "").strip() or row.display_name
        with self.store.transaction() as db:
            contacts.set_state(db, row.id, "accepted")
            contacts.set_display_name(db, row.id, name)
            conversation = contact_ops.conversation_of(db, row.id)
            ids = [
                bytes(r[0])
                for r in db.all(
                    "SELECT id FROM messages WHERE conversation_id = ? AND direction = 'in' "
                    "AND kind = 'message' ORDER BY seq",
                    (conversation.id,),
                )
            ]
            accepted = contacts.get(db, row.id)
            view = contact_ops.conversation_view(db, conversation)
        self._emit(RequestRemoved(row.id, "accepted"))
        self._emit(ConversationChanged(view))
        if ids:  # the delivery receipts held back while it was a request
            self._confirm(row.id, ids)
        return contact_ops.contact_view(accepted)

    async def delete_request(self, contact_id: str) -> None:
        row = self._request(contact_id)
        with self.store.transaction() as db:
            contacts.delete(db, row.id)
        self._emit(RequestRemoved(row.id, "deleted"))

    async def block(self, contact_id: str) -> None:
        row = self._contact(contact_id)
        if row.state == "blocked":
            return  # already blocked: it keeps the state it was blocked from
        with self.store.transaction() as db:
            # Its history stays (hidden with it), and so do its sessions: whatever it sends from
            # now on is acknowledged to the relay, counted and dropped unread, the ratchet moved
            # past it so that an unblock finds the session in step (app/messaging.py).
            contacts.block(db, row.id)
        self._emit(RequestRemoved(row.id, "blocked"))

    async def unblock(self, contact_id: str) -> ContactView:
        """Unblock an identity: it goes back to exactly what it was when it was blocked, and is
        never promoted. A message request is a request again (to accept, delete or block); a
        contact is the contact it was, with the same identity key and the same verification
        (the key cannot have changed meanwhile: nothing it sent was taken in). An identity
        blocked before schema version 7, whose earlier state was not recorded, becomes a
        request. What it sent while blocked was dropped unread and acknowledged to the relay,
        which deleted it: that is gone for good, and a line in its conversation says how much.

        Raises ContactNotFound (no such id), NotBlocked (it is not blocked; nothing changes),
        ContactExists (another contact or request now holds the same identity key)."""
        row = self._contact(contact_id)
        if row.state != "blocked":
            raise NotBlocked(f"{contact_ops.display_label(row)} is not blocked.")
        with self.store.transaction() as db:
            holder = contacts.find_by_identity_key(db, row.identity_key)
            if holder is not None and holder.id != row.id and holder.state != "blocked":
                raise ContactExists(
                    f"{contact_ops.display_label(holder)} already has this identity key."
                )
            dropped = contacts.dropped(db, row.id)
            state = contacts.unblock(db, row.id)
            conversation = contact_ops.conversation_of(db, row.id)
            text = "You unblocked this identity."
            if dropped:
                what = "1 message it sent" if dropped == 1 else f"{dropped} messages it sent"
                were = "was" if dropped == 1 else "were"
                text += f" {what} while blocked {were} dropped unread and cannot be shown."
            line = contact_ops.system_line(db, conversation.id, text, time.time())
            line_view = contact_ops.message_view(db, line)
            unblocked = contacts.get(db, row.id)
            if state == "accepted":
                changed: Event = ConversationChanged(
                    contact_ops.conversation_view(db, conversation)
                )
            else:
                changed = RequestChanged(contact_ops.request_view(db, unblocked))
        self._emit(ContactUnblocked(row.id, state))
        self._emit(MessageAdded(line_view))
        self._emit(changed)
        return contact_ops.contact_view(unblocked)

    async def blocked(self) -> list[BlockedView]:
        db = self.store.db
        return [contact_ops.blocked_view(db, r) for r in contacts.all_contacts(db, "blocked")]

    async def merge_contact(self, source_id: str, into_id: str) -> ContactView:
        source, into = self._contact(source_id), self._contact(into_id)
        if into.state != "accepted" or source.state == "blocked" or source.id == into.id:
            raise AppError("Merge a message request (or contact) into a different contact.")
        if not source.verified:
            raise AppError(
                "Compare safety numbers with the new identity first, and mark it verified if "
                "they match; only then can it be merged into an existing contact."
            )
        with self.store.transaction() as db:
            line = contact_ops.merge(db, source, into, time.time())
            line_view = contact_ops.message_view(db, line)
            merged = contacts.get(db, into.id)
            view = contact_ops.conversation_view(db, contact_ops.conversation_of(db, into.id))
        if source.state == "request":
            self._emit(RequestRemoved(source.id, "merged"))
        self._emit(MessageAdded(line_view))
        self._emit(ConversationChanged(view))
        return contact_ops.contact_view(merged)

    async def sign_succession(self, new_identity_key: bytes) -> str:
        """A statement, signed by this (old) identity, that ``new_identity_key`` replaces it;
        give it to the new account (``adopt_succession``) before this one is gone."""
        try:
            statement = succession.sign(self.identity, new_identity_key, int(time.time()))
        except CryptoError as exc:
            raise AppError(f"Cannot sign a succession: {exc}") from exc
        return SUCCESSION_PREFIX + statement.to_bytes().hex()

    async def adopt_succession(self, text: str) -> None:
        """Carry a succession statement from this account's previous identity in every message
        (checked first: it must name this identity and be fresh)."""
        raw = text.strip().removeprefix(SUCCESSION_PREFIX)
        try:
            statement = Succession.from_bytes(bytes.fromhex(raw))
            succession.check(
                statement,
                old=statement.old,
                new=self.identity.public.to_bytes(),
                now=time.time(),
            )
        except ValueError as exc:
            raise ContentError("A succession statement is written in hexadecimal.") from exc
        except CryptoError as exc:
            raise ContentError(f"This succession statement cannot be used: {exc}") from exc
        with self.store.transaction() as db:
            settings_repo.put(db, SUCCESSION_SETTING, statement.to_bytes().hex())
        self.succession = statement

    def _contact(self, contact_id: str) -> ContactRow:
        try:
            return contacts.get(self.store.db, contact_id)
        except StoreError as exc:
            raise from_store(exc) from exc

    async def safety_number(self, contact_id: str) -> SafetyNumberView:
        return contact_ops.safety_view(self.identity.public, self._contact(contact_id))

    async def set_verified(self, contact_id: str, verified: bool) -> None:
        self._contact(contact_id)
        contacts.set_verified(self.store.db, contact_id, verified)
        self._conversation_changed(contact_id)

    async def accept_key_change(self, contact_id: str) -> None:
        self._contact(contact_id)
        with self.store.transaction() as db:
            contact_ops.accept_key_change(db, contact_id)
        self._conversation_changed(contact_id)

    async def acknowledge_build(self, contact_id: str) -> None:
        self._contact(contact_id)
        with self.store.transaction() as db:
            contact_ops.acknowledge_build(db, contact_id)
        self._conversation_changed(contact_id)

    def _conversation_changed(self, contact_id: str) -> None:
        db = self.store.db
        self._emit(
            ConversationChanged(
                contact_ops.conversation_view(db, contact_ops.conversation_of(db, contact_id))
            )
        )

    # ---- messages --------------------------------------------------------------------------

    def _conversation(self, conversation_id: str) -> tuple[ConversationRow, ContactRow]:
        try:
            row = conversations.get(self.store.db, conversation_id)
            return row, contacts.get(self.store.db, row.contact_id)
        except StoreError as exc:
            raise from_store(exc) from exc

    async def load_messages(
        self, conversation_id: str, *, before_seq: int | None = None, limit: int = 50
    ) -> list[MessageView]:
        self._conversation(conversation_id)
        db = self.store.db
        rows = messages.page(db, conversation_id, before_seq=before_seq, limit=limit)
        return contact_ops.message_views(db, rows)

    async def send_text(
        self, conversation_id: str, text: str, *, reply_to: str | None = None
    ) -> MessageView:
        if not text.strip():
            raise AppError("There is nothing to send.")
        if len(text) > content_format.MAX_BODY_CHARS:
            raise AppError(f"A message is at most {content_format.MAX_BODY_CHARS} characters.")
        quote = None if reply_to is None else self._quote(conversation_id, reply_to)
        now = time.time()
        body = content_format.Text(now, text, self.display_name, *self._was(), quote)
        return self._send(conversation_id, body, None)

    def _quote(self, conversation_id: str, reply_to: str) -> content_format.Quote:
        """The quote of a message of this conversation. Raises ContactNotFound."""
        self._conversation(conversation_id)
        quote, _side = replies.quote_for(
            self.store.db,
            conversation_id,
            _hex_id(reply_to, "message"),
            self.identity.public.to_bytes(),
        )
        return quote

    async def react(self, message_id: str, emoji: str | None) -> MessageView:
        """Put ``emoji`` on a message of a conversation (replacing my earlier reaction to it),
        or take my reaction back (None); the contact is told in the background."""
        raw = _hex_id(message_id, "message")
        try:
            row = messages.get(self.store.db, raw)
        except StoreError as exc:
            raise from_store(exc) from exc
        if row.kind != "message":
            raise AppError("Only messages take reactions, not the lines Parley writes itself.")
        if emoji is not None:
            content_format.check_emoji(emoji)
        _conversation, contact = self._conversation(row.conversation_id)
        now = time.time()
        with self.store.transaction() as db:
            before = replies_repo.reactions_of(db, [raw]).get(raw, [])
            previous = next((r.emoji for r in before if r.side == "out"), None)
            if emoji is None and previous is None:
                return contact_ops.message_view(db, row)  # nothing to take back
            reaction = content_format.Reaction(
                now, raw, emoji or previous or "", remove=emoji is None
            )
            payload = self.pipeline.encrypt_for(contact, content_format.encode(reaction))
            replies_repo.set_reaction(db, raw, "out", emoji, now)
            # Kept until the relay stores it, and sent again after a restart (app/store/outbox).
            wire_id = Pipeline.new_message_id()
            self.pipeline.queue_reaction(wire_id, contact.identity_key, payload)
            view = contact_ops.message_view(db, row)
        self._emit(ReactionChanged(view, replies.YOU, emoji, mine=True))
        self._launch(wire_id, contact.identity_key, payload)
        return view

    def _was(self) -> tuple[bytes | None, int | None, bytes | None]:
        """What every message says about a previous identity: the succession statement if this
        account has one, else the bare (unproven) claim, else nothing."""
        if self.succession is not None:
            return self.succession.old, self.succession.at, self.succession.signature
        return self.previous_identity, None, None

    async def prepare_picture(self, path: Path) -> CheckedPicture:
        return await asyncio.get_running_loop().run_in_executor(None, prepare_picture, path)

    async def send_picture(
        self,
        conversation_id: str,
        picture: Path | CheckedPicture,
        caption: str = "",
        *,
        reply_to: str | None = None,
    ) -> MessageView:
        if len(caption) > content_format.MAX_BODY_CHARS:
            raise AppError(f"A caption is at most {content_format.MAX_BODY_CHARS} characters.")
        quote = None if reply_to is None else self._quote(conversation_id, reply_to)
        checked = (
            picture if isinstance(picture, CheckedPicture) else await self.prepare_picture(picture)
        )
        sealed = encrypt_attachment(checked.data)
        ref = content_format.PictureRef(
            sealed.key,
            sealed.digest,
            sealed.ciphertext,
            checked.mime_type,
            checked.width,
            checked.height,
            len(checked.data),
            checked.file_name,
        )
        body = content_format.Picture(
            time.time(), caption.strip(), ref, self.display_name, *self._was(), quote
        )
        meta = AttachmentMeta(
            contact_ops.new_id(),
            checked.mime_type,
            len(checked.data),
            checked.width,
            checked.height,
            checked.file_name,
            time.time(),
        )
        return self._send(conversation_id, body, AttachmentRow(meta, sealed.key, sealed.ciphertext))

    def _send(
        self,
        conversation_id: str,
        body: content_format.Text | content_format.Picture,
        attachment: AttachmentRow | None,
    ) -> MessageView:
        """Commit (session, message, payload), then hand the payload to the relay in the
        background: the view returns at once with status "sending"."""
        conversation, contact = self._conversation(conversation_id)
        message_id = Pipeline.new_message_id()
        text = body.body if isinstance(body, content_format.Text) else body.caption
        with self.store.transaction() as db:
            payload = self.pipeline.encrypt_for(contact, content_format.encode(body))
            if attachment is not None:
                attachments.add(db, attachment)
            new = NewMessage(
                message_id,
                conversation.id,
                "out",
                self.display_name,
                text,
                body.sent_at,
                None,
                "sending",
                None if attachment is None else attachment.meta.id,
            )
            row = messages.add(db, new)
            if row is None:
                raise AppError("A message id clashed; nothing was sent. Try again.")
            if body.reply is not None:
                me = self.identity.public.to_bytes()
                side = replies.side_of(body.reply.author, me, contact.identity_key)
                replies.store_quote(db, message_id, body.reply, side)
            self.pipeline.queue_outgoing(new, payload)
            conversations.touch(db, conversation.id, body.sent_at)
            view = contact_ops.message_view(db, row)
            conversation_view = contact_ops.conversation_view(
                db, conversations.get(db, conversation.id)
            )
        self._emit(MessageAdded(view))
        self._emit(ConversationChanged(conversation_view))
        if self._client is not None:
            self._launch(message_id, contact.identity_key, payload)
        return view

    def _launch(self, message_id: bytes, recipient: bytes, payload: bytes) -> None:
        if message_id in self._in_flight or self._client is None:
            return
        self._in_flight.add(message_id)
        self._spawn(self._deliver(message_id, recipient, payload))

    async def _deliver(self, message_id: bytes, recipient: bytes, payload: bytes) -> None:
        try:
            receipt = await self._require_client().send(recipient, message_id, payload)
        except RelayRefused as exc:
            if not self.pipeline.record_failed(message_id):
                raise NetworkError(f"The relay refused a reaction: {exc.reason}") from exc
            row = messages.get(self.store.db, message_id)
            self._emit(MessageStatusChanged(row.conversation_id, message_id.hex(), "failed"))
            raise NetworkError(f"The relay refused a message: {exc.reason}") from exc
        except ClientError:
            return  # stays "sending"; sent again after the next login
        finally:
            self._in_flight.discard(message_id)
        status = self.pipeline.record_stored(receipt, recipient)
        if status is not None:
            row = messages.get(self.store.db, message_id)
            self._emit(MessageStatusChanged(row.conversation_id, message_id.hex(), status))

    # ---- session recovery (app/recovery.py) ----------------------------------------------------

    def _on_undecryptable(self, contact_id: str, message_id: bytes, notify: bool) -> None:
        self._spawn(self._send_notice(contact_id, message_id, notify))

    async def _send_notice(self, contact_id: str, message_id: bytes, notify: bool) -> None:
        """Let the resend of ``message_id`` in and, if ``notify``, tell the sender it cannot be
        decrypted (best effort, never stored)."""
        client = self._client
        if client is None:
            return
        contact = contacts.get(self.store.db, contact_id)
        with contextlib.suppress(ClientError, RelayRefused):
            await client.release([message_id])  # its resend comes under the same id
            if notify and not contact_ops.send_blocked(self.store.db, contact):
                notice = recovery.make(self.identity, contact.identity_key, message_id, time.time())
                await client.send(contact.identity_key, Pipeline.new_message_id(), notice)

    def _on_notice(self, contact_id: str, action: recovery.Action) -> None:
        self._spawn(self._send_again(contact_id, action))

    async def _send_again(self, contact_id: str, action: recovery.Action) -> None:
        """Send a message again after a verified notice: in a fresh session together with every
        other undelivered message, or alone in the current one (app/recovery.py).

        One contact's resends run one after the other, in the order the notices came: a message
        sent alone must wait for the fresh session a notice before it is still fetching keys for,
        or it would go out in the wedged session again.
        """
        lock = self._resending.setdefault(contact_id, asyncio.Lock())
        async with lock:
            await self._send_again_now(contact_id, action)

    async def _send_again_now(self, contact_id: str, action: recovery.Action) -> None:
        contact = contacts.get(self.store.db, contact_id)
        session = None
        if action.fresh_session:
            session, _ = await self._fresh_session(contact.identity_key, contact.display_name)
        resent: list[tuple[bytes, bytes]] = []
        with self.store.transaction() as db:
            contact = contacts.get(db, contact_id)
            if contact_ops.send_blocked(db, contact):
                return  # the user must accept the new key first; sending then starts anew
            conversation = contact_ops.conversation_of(db, contact.id)
            if session is not None:
                save_sessions(db, contact.id, [session, *load_sessions(db, contact.id)])
                rows = recovery.undelivered(db, conversation.id)
            else:
                rows = [messages.get(db, action.message_id)]
            for row in rows:
                try:
                    body = recovery.rebuild(db, row, self.display_name, self.previous_identity)
                except StoreError:
                    continue  # its picture is gone: it cannot be sent again
                payload = self.pipeline.encrypt_for(contact, content_format.encode(body))
                self.pipeline.queue_again(row.id, payload)
                resent.append((row.id, payload))
        log.info(
            "a contact could not decrypt; %s, %d messages sent again",
            "fresh session" if session is not None else "same session",
            len(resent),
        )
        for message_id, payload in resent:
            self._emit(MessageStatusChanged(conversation.id, message_id.hex(), "sending"))
            self._launch(message_id, contact.identity_key, payload)

    def _confirm(self, contact_id: str, ids: list[bytes]) -> None:
        self._receipt_soon(contact_id, "delivered", ids)

    def _receipt_soon(self, contact_id: str, kind: str, ids: list[bytes]) -> None:
        """Send a receipt in the background, counted from now: ``flush`` waits for it even
        before its task first runs (``recv --count 1`` used to exit in that gap)."""
        if self._client is None:
            return
        self._receipts += 1
        self._spawn(self._send_receipt(contact_id, kind, ids))

    async def _send_receipt(self, contact_id: str, kind: str, ids: list[bytes]) -> None:
        """Receipts are best effort: encrypted like messages, never stored as messages.

        Spawned by ``_receipt_soon`` only, which counted it in ``_receipts``."""
        client = self._client
        try:
            if client is None:
                return
            for start in range(0, len(ids), RECEIPT_BATCH):
                chunk = tuple(ids[start : start + RECEIPT_BATCH])
                with self.store.transaction() as db:
                    contact = contacts.get(db, contact_id)
                    if contact.state != "accepted" or contact_ops.send_blocked(db, contact):
                        return  # no receipts to a request, a block, or an unaccepted key
                    plaintext = content_format.encode(content_format.Receipt(kind, chunk))
                    payload = self.pipeline.encrypt_for(contact, plaintext)
                with contextlib.suppress(ClientError, RelayRefused):
                    await client.send(contact.identity_key, Pipeline.new_message_id(), payload)
        finally:
            self._receipts -= 1

    async def mark_read(self, conversation_id: str) -> None:
        conversation, contact = self._conversation(conversation_id)
        with self.store.transaction() as db:
            rows = db.all(
                "SELECT id FROM messages WHERE conversation_id = ? AND direction = 'in' "
                "AND status != 'read' ORDER BY seq",
                (conversation.id,),
            )
            ids = [bytes(r[0]) for r in rows]
            for message_id in ids:
                messages.set_status(db, message_id, "read")
            conversations.mark_read(db, conversation.id)
            view = contact_ops.conversation_view(db, conversations.get(db, conversation.id))
        for message_id in ids:
            self._emit(MessageStatusChanged(conversation.id, message_id.hex(), "read"))
        self._emit(ConversationChanged(view))
        if ids:
            self._receipt_soon(contact.id, "read", ids)

    async def send_typing(self, conversation_id: str, typing: bool) -> bool:
        """Best effort and never queued: a typing indicator that waits for a reconnection would
        be stale, so nothing is sent offline (and nothing at all with the setting off)."""
        client = self._client
        if client is None or not self._online:
            return False
        if not settings_repo.get_bool(self.store.db, TYPING_SETTING, False):
            return False
        _conversation, contact = self._conversation(conversation_id)
        state = "started" if typing else "stopped"
        with self.store.transaction() as db:
            if contact.state != "accepted" or contact_ops.send_blocked(db, contact):
                return False
            plaintext = content_format.encode(content_format.Typing(state))
            payload = self.pipeline.encrypt_for(contact, plaintext)
        try:
            await client.send(contact.identity_key, Pipeline.new_message_id(), payload)
        except (ClientError, RelayRefused):
            return False
        return True

    async def load_attachment(self, attachment_id: str) -> bytes:
        try:
            row = attachments.get(self.store.db, attachment_id)
        except StoreError as exc:
            raise from_store(exc) from exc
        try:
            return decrypt_attachment(row.key, digest(row.content), row.content)
        except CryptoError as exc:
            raise AppError(f"The stored picture is damaged ({exc}).") from exc

    async def save_attachment(self, attachment_id: str, path: Path) -> None:
        data = await self.load_attachment(attachment_id)
        await asyncio.get_running_loop().run_in_executor(None, write_file, path, data)

    async def search(
        self,
        query: str,
        *,
        limit: int = 50,
        before_seq: int | None = None,
        marks: tuple[str, str] = ("[", "]"),
    ) -> list[SearchHit]:
        db = self.store.db
        titles: dict[str, str] = {}
        hits = []
        found = search_repo.search(
            db,
            query,
            unblocked_only=True,  # a blocked identity's history is hidden with it
            before_seq=before_seq,
            limit=limit,
            mark_start=marks[0],
            mark_end=marks[1],
        )
        for result in found:
            conversation_id = result.message.conversation_id
            if conversation_id not in titles:
                contact_id = conversations.get(db, conversation_id).contact_id
                titles[conversation_id] = contacts.get(db, contact_id).display_name
            view = contact_ops.message_view(db, result.message)
            hits.append(SearchHit(view, titles[conversation_id], result.snippet))
        return hits

    async def relay_record(self, message_id: str) -> RelayRecordView:
        try:
            row = relay_records.get(self.store.db, _hex_id(message_id, "message"))
        except StoreError as exc:
            raise from_store(exc) from exc
        pending = row.direction == "out" and row.stored_until is None
        explanation = (
            "Not yet stored by the relay: these are the encrypted bytes waiting to be sent."
            if pending
            else EXPLANATION
        )
        return RelayRecordView(
            row.message_id.hex(),
            row.frame.hex(),
            row.metadata,
            row.stored_until,
            row.deleted,
            explanation,
        )

    # ---- settings and key storage ------------------------------------------------------------

    async def key_storage(self) -> KeyStorageInfo:
        return self.store.key_storage()

    async def settings(self) -> Settings:
        db = self.store.db
        return Settings(
            self.relay_url,
            settings_repo.get_int(db, "ui.auto_lock_minutes", 0),
            settings_repo.get_bool(db, "ui.notifications", True),
            settings_repo.get(db, "net.proxy_url") or "",
            settings_repo.get_bool(db, TYPING_SETTING, False),
        )

    async def update_settings(self, settings: Settings) -> None:
        if settings.auto_lock_minutes < 0:
            raise AppError("Auto-lock minutes cannot be negative.")
        invite_format.Invite(bytes(32), settings.relay_url, self.display_name)  # URL check
        proxy_choice(settings.proxy_url)  # refused before anything is saved
        before = await self.settings()
        with self.store.transaction() as db:
            settings_repo.put(db, "ui.auto_lock_minutes", str(settings.auto_lock_minutes))
            settings_repo.put_bool(db, "ui.notifications", settings.notifications)
            settings_repo.put(db, "net.proxy_url", settings.proxy_url)
            settings_repo.put_bool(db, TYPING_SETTING, settings.typing_indicators)
            if settings.relay_url != self.relay_url:
                identity_repo.update(db, relay_url=settings.relay_url)
        self.relay_url = settings.relay_url
        if (settings.relay_url, settings.proxy_url) != (before.relay_url, before.proxy_url):
            await self._reconnect()

    async def change_key_storage(self, kind: str, passphrase: str | None = None) -> KeyStorageInfo:
        source: KeySource
        if kind == "keyring":
            source = KeyringSource()
        elif kind == "passphrase" and passphrase and len(passphrase) >= 8:
            source = PassphraseSource(passphrase)
        else:
            raise AppError("Choose the keyring, or a passphrase of at least 8 characters.")
        try:
            info = self.store.change_key_source(source)
        except StoreError as exc:
            raise from_store(exc) from exc
        self._source = source
        (self.store.folder / prekey_ops.DEMO_PASSPHRASE_FILE).unlink(missing_ok=True)
        return info
