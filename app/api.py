"""The interface the user interfaces (desktop bridge, headless CLI) use to drive the core.

app/messenger.py implements it. Every method is a coroutine that runs on the core's asyncio thread
(app/runtime.py); the desktop app submits them with ``CoreRuntime.submit`` and never awaits on the
GUI thread. Errors are app.errors.AppError subclasses whose message can be shown to a person.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from parley.app.attachments import CheckedPicture
from parley.app.events import (
    BlockedView,
    ContactView,
    ConversationView,
    Event,
    InviteView,
    KeyStorageInfo,
    MessageView,
    RelayRecordView,
    RequestView,
    SafetyNumberView,
    SearchHit,
    Settings,
)


class MessengerApi(Protocol):
    """An open, unlocked account."""

    display_name: str
    build_variant: str

    def subscribe(self, callback: Callable[[Event], None]) -> None:
        """Call ``callback`` on the core thread for every event from now on."""

    async def start(self) -> None:
        """Connect to the relay (reconnecting with backoff) and catch up on queued messages."""

    async def close(self) -> None:
        """Disconnect and close the store."""

    async def my_invite(self) -> InviteView: ...

    async def add_contact(self, invite: str, display_name: str | None = None) -> ContactView:
        """Add a contact from an invite code or link, fetch its prekey bundle, start the session."""

    async def contacts(self) -> list[ContactView]: ...

    async def conversations(self) -> list[ConversationView]: ...

    async def load_messages(
        self, conversation_id: str, *, before_seq: int | None = None, limit: int = 50
    ) -> list[MessageView]:
        """The newest ``limit`` messages older than ``before_seq``, oldest first."""

    async def send_text(
        self, conversation_id: str, text: str, *, reply_to: str | None = None
    ) -> MessageView:
        """Send a text; ``reply_to`` (a message id of this conversation) quotes that message."""

    async def react(self, message_id: str, emoji: str | None) -> MessageView:
        """Put one emoji on a message (replacing my earlier one), or take mine back (None)."""

    async def prepare_picture(self, path: Path) -> CheckedPicture:
        """Read, check, strip and shrink a picture for sending, without sending it (the
        preview shows what will be sent); raises AttachmentRejected."""

    async def send_picture(
        self,
        conversation_id: str,
        picture: Path | CheckedPicture,
        caption: str = "",
        *,
        reply_to: str | None = None,
    ) -> MessageView:
        """Send a picture (a file, or one ``prepare_picture`` returned) with a caption, quoting
        ``reply_to`` if given; raises AttachmentRejected when it is not an image or too large."""

    async def mark_read(self, conversation_id: str) -> None:
        """Mark the conversation read and send read receipts."""

    async def send_typing(self, conversation_id: str, typing: bool) -> bool:
        """Tell the contact that we started (True) or stopped typing, only when the account's
        typing-indicators setting is on and we are online; never stored, never queued.
        Returns whether it was sent."""

    async def load_attachment(self, attachment_id: str) -> bytes:
        """The decrypted bytes of a picture (kept encrypted in the store)."""

    async def save_attachment(self, attachment_id: str, path: Path) -> None:
        """Decrypt a picture and write its exact bytes to ``path``, a place the user chose:
        the one way plaintext leaves the encrypted store. Raises AppError."""

    async def search(
        self,
        query: str,
        *,
        limit: int = 50,
        before_seq: int | None = None,
        marks: tuple[str, str] = ("[", "]"),
    ) -> list[SearchHit]:
        """Full-text search across all conversations, newest first.

        ``marks`` surround each match in the snippet (the desktop app highlights between them).
        """

    async def safety_number(self, contact_id: str) -> SafetyNumberView: ...

    async def set_verified(self, contact_id: str, verified: bool) -> None: ...

    async def accept_key_change(self, contact_id: str) -> None:
        """Acknowledge a contact's new identity key, which unblocks sending to it."""

    async def requests(self) -> list[RequestView]:
        """Message requests: first messages from identities that are not contacts."""

    async def accept_request(self, contact_id: str, display_name: str | None = None) -> ContactView:
        """Make a request a contact; the delivery receipts held back are sent now."""

    async def delete_request(self, contact_id: str) -> None: ...

    async def block(self, contact_id: str) -> None:
        """Drop (acknowledged, counted, never stored) everything this identity sends."""

    async def blocked(self) -> list[BlockedView]:
        """Blocked identities (by label), with what unblocking gives back and how many
        deliveries from each were dropped unread."""

    async def unblock(self, contact_id: str) -> ContactView:
        """Put a blocked identity back where it was blocked from, never further: a request is
        a request again, a contact the contact it was (same key, same verification). What it
        sent while blocked stays dropped. Raises ContactNotFound, NotBlocked."""

    async def merge_contact(self, source_id: str, into_id: str) -> ContactView:
        """After the user compared safety numbers with ``source_id`` (marked verified): it is
        ``into_id``'s new identity; the contact takes its key, session and history."""

    async def sign_succession(self, new_identity_key: bytes) -> str:
        """A statement, signed by this identity, that ``new_identity_key`` replaces it."""

    async def adopt_succession(self, text: str) -> None:
        """Carry the previous identity's succession statement in every message."""

    async def acknowledge_build(self, contact_id: str) -> None:
        """The user read what writing to this warrant-build contact means (asked only once)."""

    async def relay_record(self, message_id: str) -> RelayRecordView: ...

    async def key_storage(self) -> KeyStorageInfo: ...

    async def settings(self) -> Settings: ...

    async def update_settings(self, settings: Settings) -> None: ...

    async def change_key_storage(self, kind: str, passphrase: str | None = None) -> KeyStorageInfo:
        """Move the database key to the keyring or behind a (new) passphrase (SQLCipher rekey)."""
