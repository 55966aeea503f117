"""What the core tells its user interface: immutable views and events, plain dataclasses.

The core emits events on its own asyncio thread; the desktop bridge (ui/bridge.py) turns each into a
queued Qt signal, and the headless CLI prints them. Nothing here holds key material.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:  # errors.py -> store -> keysource imports this module
    from parley.app.errors import AppError

MessageStatus = Literal["sending", "sent", "delivered", "read", "failed", "rejected"]
Direction = Literal["in", "out"]
ConnectionState = Literal["connecting", "online", "offline"]
KeyStorageKind = Literal["keyring", "passphrase"]


@dataclass(frozen=True, slots=True)
class AttachmentView:
    """A picture attached to a message; its bytes are fetched with MessengerApi.load_attachment."""

    id: str
    mime_type: str
    size: int
    width: int
    height: int
    file_name: str


@dataclass(frozen=True, slots=True)
class ReplyView:
    """What a message quotes, as the UI shows it inside the bubble.

    ``found``: the quoted message is in this conversation here, and ``author`` and ``text`` are
    taken from it; otherwise they are the sender's claim (its excerpt), shown as such.
    ``author`` is "You", the contact's name, or "Someone else" (a claim naming neither of you).
    """

    message_id: str
    author: str
    text: str
    found: bool
    picture: bool = False


@dataclass(frozen=True, slots=True)
class ReactionView:
    """One emoji under a message: how many people chose it, and whether you are one of them."""

    emoji: str
    count: int
    mine: bool


@dataclass(frozen=True, slots=True)
class MessageView:
    """One message as the UI shows it.

    ``seq`` is the store's monotonically increasing row number: history is paged by it.
    Times are UNIX seconds (float).
    """

    id: str
    conversation_id: str
    seq: int
    direction: Direction
    sender_name: str
    body: str
    sent_at: float
    received_at: float | None
    status: MessageStatus
    attachment: AttachmentView | None = None
    kind: str = "message"  # "system": a line the app wrote (a key change, a refused message)
    reply: ReplyView | None = None
    reactions: tuple[ReactionView, ...] = ()


@dataclass(frozen=True, slots=True)
class ConversationView:
    """A row of the conversation list."""

    id: str
    contact_id: str
    title: str
    unread: int
    last_message_preview: str
    last_activity: float
    verified: bool
    key_changed: bool
    build_variant: str = "standard"
    """The contact's Parley build as last seen ("standard" or "warrant"): the header's badge."""
    authority_key_id: str = ""
    """For a warrant-build contact, the authority its envelopes are sealed to (hex)."""
    build_acknowledged: bool = False
    """The user has read, once, what writing to this warrant-build contact means."""
    identity_key_hex: str = ""
    """The contact's identity key: the avatar's colour is derived from it (a new key, a new
    colour, as in Signal)."""


@dataclass(frozen=True, slots=True)
class ContactView:
    """A contact: its identity key fingerprint and trust state."""

    id: str
    display_name: str
    identity_key_hex: str
    verified: bool
    key_changed: bool
    build_variant: str


@dataclass(frozen=True, slots=True)
class RequestView:
    """A message request: a stranger's first messages, waiting to be accepted, deleted or blocked.

    ``claimed_name`` is what the stranger calls itself, a claim nobody checked: show it as one
    (``label``), next to ``fingerprint``, the first 16 hex digits of its identity key.
    ``claims_to_replace`` names an existing contact the stranger says it replaces WITHOUT a valid
    succession statement: the two may be merged only after comparing safety numbers.
    """

    contact_id: str
    conversation_id: str
    claimed_name: str | None
    fingerprint: str
    identity_key_hex: str
    first_seen: float
    message_count: int
    preview: str
    claims_to_replace: ContactView | None = None

    @property
    def label(self) -> str:
        name = self.claimed_name
        claim = f"\u201c{name}\u201d (unverified name)" if name else "Unknown"
        return f"{claim} \u00b7 {self.fingerprint}"


@dataclass(frozen=True, slots=True)
class BlockedView:
    """A blocked identity, as the list of blocked people shows it.

    ``label`` names it as the user knew it: a former contact by the name the user gave it, a
    former request by its claimed name (marked as a claim); either way followed by
    ``fingerprint``, the first 16 hex digits of its identity key. ``was`` is what unblocking
    gives back ("accepted": the contact it was; "request": a message request). ``dropped``
    counts the deliveries dropped unread while it was blocked (gone for good).
    """

    contact_id: str
    label: str
    fingerprint: str
    identity_key_hex: str
    was: str
    dropped: int


@dataclass(frozen=True, slots=True)
class SafetyNumberView:
    """60 digits (grouped by the UI in twelve blocks of five) and the bytes to put in a QR code."""

    contact_id: str
    digits: str
    qr_payload: bytes
    verified: bool


@dataclass(frozen=True, slots=True)
class SearchHit:
    """A search result: the message and a snippet with the match."""

    message: MessageView
    conversation_title: str
    snippet: str


@dataclass(frozen=True, slots=True)
class InviteView:
    """My invite: a code to paste and the same as a parley: link (also shown as a QR code)."""

    code: str
    link: str


@dataclass(frozen=True, slots=True)
class KeyStorageInfo:
    """Where the database key lives: never silently weaker than what is said here."""

    kind: KeyStorageKind
    backend: str
    description: str


@dataclass(frozen=True, slots=True)
class RelayRecordView:
    """What the relay received and keeps for one message ("what the relay saw")."""

    message_id: str
    frame_hex: str
    metadata: tuple[tuple[str, str], ...]
    stored_until: float | None
    deleted: bool
    explanation: str


@dataclass(frozen=True, slots=True)
class Settings:
    """User settings shown in the settings dialog."""

    relay_url: str
    auto_lock_minutes: int
    notifications: bool
    proxy_url: str
    typing_indicators: bool = False
    """Send typing indicators to contacts: off unless the person turns it on (privacy)."""


# ---- events ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MessageAdded:
    message: MessageView
    #: From a message request: the sender is no contact, its name only a claim (so the app
    #: shows no notification for it).
    request: bool = False


@dataclass(frozen=True, slots=True)
class MessageStatusChanged:
    conversation_id: str
    message_id: str
    status: MessageStatus


@dataclass(frozen=True, slots=True)
class ReactionChanged:
    """Someone reacted to a message (or took a reaction back): ``message`` with its reactions
    now; ``by`` is "You" or the contact's name, ``emoji`` None for a removal."""

    message: MessageView
    by: str
    emoji: str | None
    mine: bool = False  # my own reaction (``by`` is then "You")


@dataclass(frozen=True, slots=True)
class ConversationChanged:
    conversation: ConversationView


@dataclass(frozen=True, slots=True)
class ContactKeyChanged:
    contact_id: str
    conversation_id: str


@dataclass(frozen=True, slots=True)
class RequestChanged:
    """A message request appeared or received another message."""

    request: RequestView


@dataclass(frozen=True, slots=True)
class RequestRemoved:
    """A request was accepted (it is a contact now), deleted, merged or blocked; "blocked" is
    also what blocking an accepted contact says (it leaves the conversation list)."""

    contact_id: str
    outcome: str  # "accepted", "deleted", "blocked", "merged"


@dataclass(frozen=True, slots=True)
class ContactUnblocked:
    """A blocked identity was unblocked; ``state`` is where it went back to: "request" (a
    message request again, to accept or not) or "accepted" (the contact it was before)."""

    contact_id: str
    state: str


@dataclass(frozen=True, slots=True)
class MessageRefused:
    """A delivery was taken from the relay but cannot be shown; ``text`` says so to a person.

    ``conversation_id`` is the contact's or request's conversation (where a system line was
    written), or None when the sender is unknown.
    """

    conversation_id: str | None
    sender: str
    reason: str

    @property
    def text(self) -> str:
        return f"A message from {self.sender} could not be shown: {self.reason}"


@dataclass(frozen=True, slots=True)
class TypingChanged:
    """An accepted contact started or stopped typing in ``conversation_id`` (never stored; a
    "started" that is not refreshed expires after app/typing_indicators.SHOWN_FOR_S)."""

    conversation_id: str
    display_name: str
    typing: bool


@dataclass(frozen=True, slots=True)
class ConnectionChanged:
    state: ConnectionState
    detail: str
    #: Offline: seconds until the next attempt (None: not retrying, or not known).
    retry_in: float | None = None


@dataclass(frozen=True, slots=True)
class CatchUpProgress:
    done: int
    total: int


@dataclass(frozen=True, slots=True)
class Locked:
    """The account was locked (auto-lock or by the user): the UI shows the unlock screen."""


@dataclass(frozen=True, slots=True)
class ContactBuildChanged:
    """A contact's messages show another build than recorded (no silent escrow): tell the user.

    ``build_variant`` is "warrant" when its messages carry a warrant envelope (``authority_key_id``
    names the authority), "standard" when a warrant build receives one without.
    """

    contact_id: str
    conversation_id: str
    display_name: str
    build_variant: str
    authority_key_id: str
    explanation: str


@dataclass(frozen=True, slots=True)
class ErrorRaised:
    """Something failed in the background; ``message`` is written to be shown to a person.

    ``error`` is the AppError behind it when there is one; a StorageError (a damaged store, a
    full disk) means the account cannot go on working, so a headless caller stops with its
    exit code rather than carrying on.
    """

    message: str
    error: AppError | None = None


Event = (
    MessageAdded
    | MessageStatusChanged
    | ReactionChanged
    | ConversationChanged
    | ContactKeyChanged
    | RequestChanged
    | RequestRemoved
    | ContactUnblocked
    | MessageRefused
    | TypingChanged
    | ContactBuildChanged
    | ConnectionChanged
    | CatchUpProgress
    | Locked
    | ErrorRaised
)
