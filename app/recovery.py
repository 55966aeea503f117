"""Automatic session recovery: "cannot decrypt" notices, fresh sessions, resending what is pending.

A conversation direction wedges when a message can never decrypt again: more than 25,000 lost
messages in a row (relay expiry or quota, a malicious relay), lost prekeys, a damaged session.
Signal's answer is the anchor (DecryptionErrorMessage and retry requests): the recipient answers
outside the broken session; the sender starts a fresh session and sends again. Parley:

* The recipient that cannot decrypt a message from a known contact sends a notice signed by its
  identity key and bound to the failed message id and to the sender (crypto/notice.py): once per
  message id, at most ``NOTICE_BURST`` per sender per ``NOTICE_INTERVAL`` (``NoticeLimiter``),
  never for a duplicate, a malformed payload or a stranger.
* The sender honours a notice (``accept_notice``) only if the signature verifies for that contact
  and for us, names one of OUR messages to THAT contact that is not yet delivered, and was not
  honoured before (a replayed notice changes nothing): so a relay can neither forge nor replay one.
  The first such notice starts over (app/messenger.py): a fresh prekey bundle, a new session (X3DH)
  in front of the old ones, and every message to that contact not yet delivered sent again in it,
  under its own id (``undelivered``, at most ``MAX_RESEND``). Within ``RESET_INTERVAL`` of that,
  a notice only sends its one message again in the current session: it is a copy sent before the
  fresh session (still queued at the relay, or on its way) that failed, not the new session. Each
  message id is honoured once, so two peers can never make each other loop.
"""

from __future__ import annotations

import json
import logging
from typing import Final, NamedTuple

from parley.app import content as content_format
from parley.app import replies
from parley.app.store import attachments, messages, settings
from parley.app.store.contacts import ContactRow
from parley.app.store.db import Database
from parley.app.store.errors import NotFound
from parley.app.store.messages import MessageRow
from parley.crypto import notice as notice_format
from parley.crypto.attachment import digest
from parley.crypto.errors import CryptoError
from parley.crypto.keys import IdentityKeyPair, IdentityPublicKey

log = logging.getLogger("parley.app.recovery")

NOTICE_INTERVAL: Final = 60.0
NOTICE_BURST: Final = 16
"""At most this many notices to one sender per NOTICE_INTERVAL (a relay injecting garbage under a
contact's name gets no more out of us)."""
RESET_INTERVAL: Final = 60.0
"""Seconds after a fresh session during which a notice resends its one message, not all."""
MAX_HANDLED: Final = 64
"""Notices remembered per contact as honoured, so that a replay of one changes nothing."""
MAX_RESEND: Final = 1000
"""Most messages sent again after one fresh session (the newest undelivered ones)."""
_SETTING: Final = "recovery.reset."
_UNDELIVERED: Final = ("sending", "sent", "failed")


class NoticeLimiter:
    """Once per message id, at most NOTICE_BURST notices per sender per NOTICE_INTERVAL (kept in
    memory while the app runs)."""

    def __init__(self) -> None:
        self._sent: dict[bytes, list[float]] = {}
        self._ids: dict[bytes, None] = {}  # the last MAX_HANDLED * 4 message ids, oldest first

    def allow(self, sender: bytes, message_id: bytes, now: float) -> bool:
        if message_id in self._ids:
            return False
        recent = [t for t in self._sent.get(sender, []) if 0 <= now - t < NOTICE_INTERVAL]
        if len(recent) >= NOTICE_BURST:
            return False
        self._sent[sender] = [*recent, now]
        self._ids[message_id] = None
        if len(self._ids) > MAX_HANDLED * 4:
            del self._ids[next(iter(self._ids))]
        return True


class Action(NamedTuple):
    """What a verified notice asks for: send ``message_id`` again, in a fresh session (and with
    every other undelivered message) if ``fresh_session``."""

    message_id: bytes
    fresh_session: bool


def make(identity: IdentityKeyPair, sender: bytes, message_id: bytes, now: float) -> bytes:
    """The notice that ``message_id`` from ``sender`` could not be decrypted."""
    return notice_format.make_notice(
        identity, IdentityPublicKey.from_bytes(sender), message_id, int(now)
    )


def accept_notice(
    db: Database,
    contact: ContactRow,
    payload: bytes,
    *,
    identity: IdentityKeyPair,
    conversation_id: str,
    now: float,
) -> Action | None:
    """Decide on a notice from ``contact``: what to do, or None to ignore it.

    Records the decision (inside the caller's transaction), so the same notice never counts twice.
    """
    try:
        notice = notice_format.parse_notice(payload)
        notice.verify(IdentityPublicKey.from_bytes(contact.identity_key), identity.public)
    except CryptoError as exc:
        log.info("ignored a cannot-decrypt notice that does not verify: %s", exc)
        return None
    try:
        row = messages.get(db, notice.message_id)
    except NotFound:
        return None  # not one of our messages (a receipt, or long gone): nothing to resend
    if (
        row.direction != "out"
        or row.conversation_id != conversation_id
        or row.status not in _UNDELIVERED
    ):
        return None  # delivered since, or not ours to this contact: a stale or misdirected notice
    key = _SETTING + contact.id
    last_reset, handled = _load(settings.get(db, key))
    if notice.message_id.hex() in handled:
        return None  # a replay
    fresh = not 0 <= now - last_reset < RESET_INTERVAL
    handled = [*handled, notice.message_id.hex()][-MAX_HANDLED:]
    settings.put(db, key, json.dumps({"at": now if fresh else last_reset, "handled": handled}))
    return Action(notice.message_id, fresh)


def _load(text: str | None) -> tuple[float, list[str]]:
    """(when the last fresh session started, notices honoured) as ``accept_notice`` stored them."""
    try:
        loaded = json.loads(text) if text else {}
        if isinstance(loaded.get("at"), float | int) and isinstance(loaded.get("handled"), list):
            return float(loaded["at"]), [str(h) for h in loaded["handled"]]
    except (ValueError, AttributeError):
        pass  # a damaged entry only forgets which notices were honoured
    return float("-inf"), []


def undelivered(db: Database, conversation_id: str) -> list[MessageRow]:
    """Our messages in the conversation that the contact has not confirmed, oldest first."""
    rows = db.all(
        "SELECT seq, id, conversation_id, direction, sender, body, sent_at, received_at, "
        "status, attachment_id, kind FROM messages WHERE conversation_id = ? AND direction = 'out' "
        "AND status IN ('sending', 'sent', 'failed') "
        "ORDER BY seq DESC LIMIT ?",
        (conversation_id, MAX_RESEND),
    )
    return [messages.parse(r) for r in reversed(rows)]


def rebuild(
    db: Database, row: MessageRow, name: str, previous_identity: bytes | None
) -> content_format.Text | content_format.Picture:
    """The content of one of our stored messages, as it was first sent.

    Raises:
        NotFound: its picture is gone.
    """
    quote = replies.stored_quote(db, row.id)
    if row.attachment_id is None:
        return content_format.Text(row.sent_at, row.body, name, previous_identity, reply=quote)
    stored = attachments.get(db, row.attachment_id)
    meta = stored.meta
    picture = content_format.PictureRef(
        stored.key,
        digest(stored.content),
        stored.content,
        meta.mime_type,
        meta.width,
        meta.height,
        meta.size,
        meta.file_name,
    )
    return content_format.Picture(
        row.sent_at, row.body, picture, name, previous_identity, reply=quote
    )
