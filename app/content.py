"""The application message format inside the end-to-end layer: text, picture, receipts, reactions,
typing indicators.

Every session plaintext is one msgpack map (docs/protocol.md, section "app")::

    {"v": 1, "t": "text",      "at": float, "body": str, ["name": str],
                                ["was": bytes(32), ["was_at": int, "was_sig": bytes(64)]]}
    {"v": 1, "t": "picture",   "at": float, "body": str (caption), "pic": {...}, ["name"],
                                ["was", ["was_at", "was_sig"]]}
        pic = {"key": bytes(32), "digest": bytes(32), "data": bytes, "mime": str,
               "w": int, "h": int, "size": int, "file": str}
    {"v": 1, "t": "delivered", "ids": [bytes(16), ...]}
    {"v": 1, "t": "read",      "ids": [bytes(16), ...]}
    {"v": 1, "t": "typing",    "state": "started" | "stopped"}
    {"v": 1, "t": "reaction",  "at": float, "id": bytes(16), "emoji": str, "remove": bool}

A text or picture may quote an earlier message of the conversation (a reply), as Signal's quote
does: ``"reply": {"id": bytes(16), "author": bytes(32), "excerpt": str}``, the quoted message's id,
its author's identity key and up to ``MAX_EXCERPT_CHARS`` of its text, so that the quote can be
shown even where the original is missing. The excerpt is the sender's claim: a receiver that has
the original shows its own copy (app/replies.py). A reaction names its target message by id; a
newer reaction of the same person replaces the older, ``remove`` takes it back. ``emoji`` is one
emoji (``_emoji``: one grapheme of symbols, at most ``MAX_EMOJI_BYTES``).

``name`` tells a first-time recipient what the sender calls itself (shown as a claim in a message
request). ``was`` names a previous identity key of the sender (an account re-created on a new
device); ``was_at`` and ``was_sig`` are the succession statement the old key signed
(crypto/succession.py). Only with a valid statement does the recipient treat the message as a key
change of that contact; a bare ``was`` (what versions before schema 4 sent, still read) is an
unproven claim, and the sender stays a separate message request.
``typing`` is a typing indicator, sent only when the sender's "Send typing indicators" setting is
on (off by default) and never stored (app/typing_indicators.py).
Parsing is strict: unknown keys, wrong types and oversize fields are refused, because a peer's
bytes are untrusted even after they decrypt.

On the wire the map is padded (app/padding.py: ``0x00 || map || 0x80 || zeros`` to a multiple of
160 bytes) so that sizes tell little; ``decode`` also reads the unpadded maps older versions sent.
"""

from __future__ import annotations

import math
import unicodedata
from dataclasses import dataclass, field
from typing import Any

import msgpack
from parley.app import padding
from parley.app.errors import ContentError

VERSION = 1
MAX_BODY_CHARS = 16_000
MAX_NAME_BYTES = 64
MAX_FILE_NAME_CHARS = 255
MAX_RECEIPT_IDS = 512
MAX_PICTURE_DATA = 240 * 1024
MAX_CONTENT_BYTES = 256 * 1024
MAX_DIMENSION = 20_000
MESSAGE_ID_LEN = 16
KEY_LEN = 32
SIGNATURE_LEN = 64
MAX_EXCERPT_CHARS = 200
MAX_EMOJI_BYTES = 64
MIME_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})


@dataclass(frozen=True, slots=True)
class PictureRef:
    """An encrypted picture carried inside the message (its key travels end-to-end)."""

    key: bytes = field(repr=False)
    digest: bytes
    data: bytes = field(repr=False)
    mime: str
    width: int
    height: int
    size: int
    file_name: str


@dataclass(frozen=True, slots=True)
class Quote:
    """What a reply quotes: the message's id, its author's identity key and a bounded excerpt
    of its text (a claim of the sender; the receiver prefers its own copy of the original)."""

    message_id: bytes
    author: bytes
    excerpt: str


@dataclass(frozen=True, slots=True)
class Text:
    sent_at: float
    body: str
    sender_name: str | None = None
    was: bytes | None = None
    was_at: int | None = None
    was_sig: bytes | None = field(default=None, repr=False)
    reply: Quote | None = None


@dataclass(frozen=True, slots=True)
class Picture:
    sent_at: float
    caption: str
    picture: PictureRef
    sender_name: str | None = None
    was: bytes | None = None
    was_at: int | None = None
    was_sig: bytes | None = field(default=None, repr=False)
    reply: Quote | None = None


@dataclass(frozen=True, slots=True)
class Reaction:
    """One person's emoji on a message of the conversation (``remove``: take it back)."""

    sent_at: float
    message_id: bytes
    emoji: str
    remove: bool = False


@dataclass(frozen=True, slots=True)
class Receipt:
    """``kind`` "delivered" (committed on the recipient's disk) or "read" (seen by a person)."""

    kind: str
    message_ids: tuple[bytes, ...]


@dataclass(frozen=True, slots=True)
class Typing:
    """A typing indicator: ``state`` "started" (refreshed every few seconds) or "stopped"."""

    state: str


TYPING_STATES = frozenset({"started", "stopped"})

Content = Text | Picture | Receipt | Reaction | Typing


def excerpt(text: str) -> str:
    """The start of ``text`` as a quote carries it: at most ``MAX_EXCERPT_CHARS`` characters."""
    if len(text) <= MAX_EXCERPT_CHARS:
        return text
    return text[: MAX_EXCERPT_CHARS - 1].rstrip() + "\u2026"


def encode(content: Content) -> bytes:
    """The padded msgpack bytes of ``content`` (validated the same way ``decode`` validates)."""
    obj: dict[str, Any] = {"v": VERSION}
    if isinstance(content, Receipt):
        obj |= {"t": content.kind, "ids": list(content.message_ids)}
    elif isinstance(content, Typing):
        obj |= {"t": "typing", "state": content.state}
    elif isinstance(content, Reaction):
        obj |= {
            "t": "reaction",
            "at": content.sent_at,
            "id": content.message_id,
            "emoji": content.emoji,
            "remove": content.remove,
        }
    else:
        obj |= {"at": content.sent_at}
        if isinstance(content, Text):
            obj |= {"t": "text", "body": content.body}
        else:
            p = content.picture
            obj |= {
                "t": "picture",
                "body": content.caption,
                "pic": {
                    "key": p.key,
                    "digest": p.digest,
                    "data": p.data,
                    "mime": p.mime,
                    "w": p.width,
                    "h": p.height,
                    "size": p.size,
                    "file": p.file_name,
                },
            }
        if content.sender_name is not None:
            obj["name"] = content.sender_name
        if content.was is not None:
            obj["was"] = content.was
        if content.was_at is not None and content.was_sig is not None:
            obj |= {"was_at": content.was_at, "was_sig": content.was_sig}
        if content.reply is not None:
            q = content.reply
            obj["reply"] = {"id": q.message_id, "author": q.author, "excerpt": q.excerpt}
    data: bytes = msgpack.packb(obj, use_bin_type=True)
    decode(data)  # one definition of valid: never send what a peer would refuse
    return padding.pad(data)


def decode(data: bytes) -> Content:
    """Parse and validate application message bytes, padded or not. Raises ContentError."""
    if not isinstance(data, bytes) or len(data) > padding.padded_length(MAX_CONTENT_BYTES):
        raise ContentError("The message is larger than any Parley message can be.")
    data = padding.unpad(data)
    if len(data) > MAX_CONTENT_BYTES:
        raise ContentError("The message is larger than any Parley message can be.")
    try:
        obj = msgpack.unpackb(
            data,
            raw=False,
            strict_map_key=True,
            max_bin_len=MAX_CONTENT_BYTES,
            max_str_len=MAX_BODY_CHARS * 4,
            max_array_len=MAX_RECEIPT_IDS,
            max_map_len=16,
        )
    except Exception as exc:  # msgpack raises many types for malformed input
        raise ContentError(f"The message is not valid msgpack ({type(exc).__name__}).") from exc
    if not isinstance(obj, dict):
        raise ContentError("The message is not a map.")
    if obj.get("v") != VERSION:
        raise ContentError(f"The message has version {obj.get('v')!r}; this Parley reads 1.")
    kind = obj.get("t")
    if kind in ("delivered", "read"):
        _keys(obj, {"v", "t", "ids"}, {"v", "t", "ids"})
        ids = obj["ids"]
        if not isinstance(ids, list) or not ids:
            raise ContentError("A receipt lists one or more message ids.")
        for item in ids:
            _bin(item, MESSAGE_ID_LEN, "a receipt's message id")
        return Receipt(kind, tuple(ids))
    if kind == "typing":
        return _typing(obj)
    if kind == "text":
        _keys(obj, {"v", "t", "at", "body"}, {"v", "t", "at", "body", "name", "reply", *_WAS})
        return Text(
            _time(obj["at"]), _body(obj["body"]), _name(obj), *_was(obj), _quote(obj.get("reply"))
        )
    if kind == "picture":
        _keys(
            obj,
            {"v", "t", "at", "body", "pic"},
            {"v", "t", "at", "body", "pic", "name", "reply", *_WAS},
        )
        return Picture(
            _time(obj["at"]),
            _body(obj["body"]),
            _picture(obj["pic"]),
            _name(obj),
            *_was(obj),
            _quote(obj.get("reply")),
        )
    if kind == "reaction":
        return _reaction(obj)
    raise ContentError(f"Unknown message type {kind!r}.")


def _reaction(obj: dict[str, Any]) -> Reaction:
    names = {"v", "t", "at", "id", "emoji", "remove"}
    _keys(obj, names, names)
    if not isinstance(obj["remove"], bool):
        raise ContentError("A reaction's remove flag is true or false.")
    return Reaction(
        _time(obj["at"]),
        _bin(obj["id"], MESSAGE_ID_LEN, "a reaction's message id"),
        check_emoji(obj["emoji"]),
        obj["remove"],
    )


def _typing(obj: dict[str, Any]) -> Typing:
    _keys(obj, {"v", "t", "state"}, {"v", "t", "state"})
    if obj["state"] not in TYPING_STATES:
        raise ContentError("A typing indicator is 'started' or 'stopped'.")
    return Typing(str(obj["state"]))


def _keys(obj: dict[str, Any], required: set[str], allowed: set[str]) -> None:
    keys = set(obj)
    if not required <= keys:
        raise ContentError(f"The message lacks {sorted(required - keys)}.")
    if not keys <= allowed:
        raise ContentError(f"The message has unknown fields {sorted(keys - allowed)}.")


def _bin(value: object, length: int, what: str) -> bytes:
    if not isinstance(value, bytes) or len(value) != length:
        raise ContentError(f"{what[0].upper()}{what[1:]} must be {length} bytes.")
    return value


def _int(value: object, low: int, high: int, what: str) -> int:
    if type(value) is not int or not low <= value <= high:
        raise ContentError(f"{what} must be a whole number from {low} to {high}.")
    return value


def _time(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ContentError("The message's time is not a number.")
    if not math.isfinite(value) or value < 0:
        raise ContentError("The message's time is not a valid timestamp.")
    return float(value)


def _body(value: object) -> str:
    if not isinstance(value, str) or len(value) > MAX_BODY_CHARS:
        raise ContentError(f"A message text is at most {MAX_BODY_CHARS} characters.")
    return value


def _name(obj: dict[str, Any]) -> str | None:
    name = obj.get("name")
    if name is None:
        return None
    if not isinstance(name, str) or not name.strip() or len(name.encode()) > MAX_NAME_BYTES:
        raise ContentError(f"A sender name is 1 to {MAX_NAME_BYTES} bytes of text.")
    return name


_WAS = ("was", "was_at", "was_sig")


def _was(obj: dict[str, Any]) -> tuple[bytes | None, int | None, bytes | None]:
    """The previous identity and its succession statement (time, signature), each optional."""
    value = obj.get("was")
    was = None if value is None else _bin(value, KEY_LEN, "a previous identity key")
    if "was_at" not in obj and "was_sig" not in obj:
        return was, None, None
    if was is None or "was_at" not in obj or "was_sig" not in obj:
        raise ContentError("A succession statement has a previous key, a time and a signature.")
    return (
        was,
        _int(obj["was_at"], 0, 2**63 - 1, "A succession statement's time"),
        _bin(obj["was_sig"], SIGNATURE_LEN, "a succession signature"),
    )


def _picture(value: object) -> PictureRef:
    if not isinstance(value, dict):
        raise ContentError("A picture's description is not a map.")
    names = {"key", "digest", "data", "mime", "w", "h", "size", "file"}
    _keys(value, names, names)
    data = value["data"]
    if not isinstance(data, bytes) or not data or len(data) > MAX_PICTURE_DATA + 64:
        raise ContentError("A picture's data is missing or too large.")
    mime = value["mime"]
    if mime not in MIME_TYPES:
        raise ContentError(f"Pictures are PNG, JPEG, GIF or WebP, not {mime!r}.")
    file_name = value["file"]
    if not isinstance(file_name, str) or len(file_name) > MAX_FILE_NAME_CHARS:
        raise ContentError("A picture's file name is at most 255 characters of text.")
    return PictureRef(
        _bin(value["key"], KEY_LEN, "a picture key"),
        _bin(value["digest"], KEY_LEN, "a picture digest"),
        data,
        str(mime),
        _int(value["w"], 1, MAX_DIMENSION, "A picture's width"),
        _int(value["h"], 1, MAX_DIMENSION, "A picture's height"),
        _int(value["size"], 1, MAX_PICTURE_DATA, "A picture's size"),
        file_name,
    )


def _quote(value: object) -> Quote | None:
    """A reply's quote, or None when the message quotes nothing."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ContentError("A reply's quote is not a map.")
    names = {"id", "author", "excerpt"}
    _keys(value, names, names)
    text = value["excerpt"]
    if not isinstance(text, str) or len(text) > MAX_EXCERPT_CHARS:
        raise ContentError(f"A quoted excerpt is at most {MAX_EXCERPT_CHARS} characters of text.")
    return Quote(
        _bin(value["id"], MESSAGE_ID_LEN, "a quoted message id"),
        _bin(value["author"], KEY_LEN, "a quoted author's identity key"),
        text,
    )


_ZWJ = "\u200d"
_KEYCAP = "\u20e3"
_SKIN_TONES = range(0x1F3FB, 0x1F400)
_TAGS = range(0xE0020, 0xE0080)
_REGIONAL = range(0x1F1E6, 0x1F200)


def check_emoji(value: object) -> str:
    """One emoji: a single grapheme of symbols, at most ``MAX_EMOJI_BYTES`` bytes.

    Accepted: a symbol (category So) with variation selectors, a skin tone, tag characters (a
    subdivision flag) and further symbols joined by ZWJ (a family); a flag (two regional
    indicators); a keycap (0-9, # or * with U+20E3). Letters, spaces, control and format
    characters, or two emoji side by side are refused: a reaction is a small picture, not text.
    """
    if not isinstance(value, str) or not value or len(value.encode()) > MAX_EMOJI_BYTES:
        raise ContentError(f"A reaction is one emoji of at most {MAX_EMOJI_BYTES} bytes.")
    first = value[0]
    if first in "0123456789#*" and value in (first + _KEYCAP, first + "\ufe0f" + _KEYCAP):
        return value
    if unicodedata.category(first) != "So":
        raise ContentError("A reaction is one emoji, not text.")
    previous = first
    for position, char in enumerate(value[1:], start=1):
        code = ord(char)
        joined = previous == _ZWJ and unicodedata.category(char) == "So"
        flag = position == 1 and ord(first) in _REGIONAL and code in _REGIONAL
        modifier = (
            unicodedata.category(char) in ("Mn", "Me") or code in _SKIN_TONES or code in _TAGS
        )
        if not (joined or flag or modifier or (char == _ZWJ and previous != _ZWJ)):
            raise ContentError("A reaction is one emoji, not several or text.")
        previous = char
    if previous == _ZWJ:
        raise ContentError("A reaction is one emoji, not several or text.")
    return value
