"""Invites: who I am and where to reach me, as a code to paste or a ``parley://invite/`` link.

Binary layout (docs/protocol.md, section "app")::

    version (1) = 1 || identity key (32, Ed25519) || url length (1) || relay URL (UTF-8)
    || name length (1) || display name (UTF-8) || checksum (4)

The warrant build writes version 2, which adds the authority key id (8 bytes) before the checksum,
so that whoever adds the contact sees the build before the first message (docs/warrant.md). The
standard build's invites stay version 1; both versions are read.

The checksum is the first 4 bytes of BLAKE2b-256 (libsodium's generichash) over everything before
it. It is not a security check (an attacker who edits the invite simply recomputes it): it turns
a mistyped or truncated code into a clear "this code is damaged" instead of a contact with a
wrong key. Trust in the key comes from comparing safety numbers. The text form is RFC 4648 base32
without padding, lowercase: case-insensitive, no look-alike symbols, and it survives being read
aloud; dashes and whitespace are ignored when parsing so codes can be grouped for display.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import re
import urllib.parse
from dataclasses import dataclass

import nacl.bindings
from parley.app.errors import InvalidInvite

VERSION = 1
VERSION_WARRANT = 2
AUTHORITY_ID_LEN = 8
KEY_LEN = 32
CHECKSUM_LEN = 4
MAX_URL_BYTES = 200
MAX_NAME_BYTES = 64
LINK_PREFIX = "parley://invite/"
MAX_CODE_CHARS = 1024
_URL_RE = re.compile(r"^wss?://[^\s/?#]+(/[^\s]*)?$")


def _port_ok(url: str) -> bool:
    """Whether the URL's host and port parse (a port is 1..65535)."""
    try:
        parts = urllib.parse.urlsplit(url)
        return bool(parts.hostname) and parts.port != 0
    except ValueError:  # "Port out of range 0-65535", a port that is not a number
        return False


@dataclass(frozen=True, slots=True)
class Invite:
    """A parsed invite; ``identity_key`` is the contact's Ed25519 identity (and relay account)."""

    identity_key: bytes
    relay_url: str
    display_name: str
    authority_key_id: str = ""
    """Hex key id of the warrant build's authority; "" for the standard build."""

    def __post_init__(self) -> None:
        if not isinstance(self.identity_key, bytes) or len(self.identity_key) != KEY_LEN:
            raise InvalidInvite("An invite's identity key must be 32 bytes.")
        if (
            not _URL_RE.match(self.relay_url)
            or len(self.relay_url.encode()) > MAX_URL_BYTES
            or not _port_ok(self.relay_url)
        ):
            raise InvalidInvite(
                f"The relay address {self.relay_url!r} is not a ws:// or wss:// URL with a host "
                f"and a port from 1 to 65535, of at most {MAX_URL_BYTES} bytes."
            )
        name = self.display_name
        if not name.strip() or len(name.encode()) > MAX_NAME_BYTES or not name.isprintable():
            raise InvalidInvite(
                f"A display name must be 1 to {MAX_NAME_BYTES} bytes of printable text."
            )
        if self.authority_key_id and len(self.authority_key_id) != 2 * AUTHORITY_ID_LEN:
            raise InvalidInvite("An invite's authority key id must be 8 bytes.")

    @property
    def build_variant(self) -> str:
        return "warrant" if self.authority_key_id else "standard"

    def to_bytes(self) -> bytes:
        """The versioned binary form, checksum included."""
        url, name = self.relay_url.encode(), self.display_name.encode()
        version = VERSION_WARRANT if self.authority_key_id else VERSION
        body = bytes([version]) + self.identity_key + bytes([len(url)]) + url
        body += bytes([len(name)]) + name
        if self.authority_key_id:
            body += bytes.fromhex(self.authority_key_id)
        return body + _checksum(body)

    @property
    def code(self) -> str:
        """The text code to paste (lowercase base32, no padding)."""
        return base64.b32encode(self.to_bytes()).decode("ascii").rstrip("=").lower()

    @property
    def link(self) -> str:
        """The same invite as a ``parley://invite/<code>`` link."""
        return LINK_PREFIX + self.code


def _checksum(body: bytes) -> bytes:
    return nacl.bindings.crypto_generichash_blake2b_salt_personal(body, digest_size=32)[
        :CHECKSUM_LEN
    ]


def from_bytes(data: bytes) -> Invite:
    """Parse the binary form. Raises InvalidInvite for anything malformed."""
    if len(data) < 1 + KEY_LEN + 1 + 1 + CHECKSUM_LEN:
        raise InvalidInvite("This invite is too short: it was probably cut off when copied.")
    body, checksum = data[:-CHECKSUM_LEN], data[-CHECKSUM_LEN:]
    if not hmac.compare_digest(_checksum(body), checksum):
        raise InvalidInvite("This invite is damaged (its checksum does not match): copy it again.")
    if body[0] not in (VERSION, VERSION_WARRANT):
        raise InvalidInvite(f"This invite has version {body[0]}; this Parley reads 1 and 2.")
    authority = ""
    if body[0] == VERSION_WARRANT:
        if len(body) < 1 + KEY_LEN + 2 + AUTHORITY_ID_LEN:
            raise InvalidInvite("This invite is malformed (the authority key id is cut off).")
        body, authority = body[:-AUTHORITY_ID_LEN], body[-AUTHORITY_ID_LEN:].hex()
    key = body[1 : 1 + KEY_LEN]
    pos = 1 + KEY_LEN
    url_len = body[pos]
    url_raw = body[pos + 1 : pos + 1 + url_len]
    pos += 1 + url_len
    if len(url_raw) != url_len or pos >= len(body):
        raise InvalidInvite("This invite is malformed (the relay address is cut off).")
    name_len = body[pos]
    name_raw = body[pos + 1 :]
    if len(name_raw) != name_len:
        raise InvalidInvite("This invite is malformed (the display name has the wrong length).")
    try:
        return Invite(key, url_raw.decode("utf-8"), name_raw.decode("utf-8"), authority)
    except UnicodeDecodeError as exc:
        raise InvalidInvite("This invite is malformed (text that is not UTF-8).") from exc


def parse(text: str) -> Invite:
    """Parse an invite code or link as a person pasted it (spaces, dashes and case ignored).

    Raises:
        InvalidInvite: empty, not base32, damaged, or of an unknown version.
    """
    if not isinstance(text, str):
        raise InvalidInvite("An invite is text.")
    cleaned = text.strip()
    if not cleaned:
        raise InvalidInvite("Paste an invite code or a parley://invite/ link.")
    if len(cleaned) > MAX_CODE_CHARS:
        raise InvalidInvite("This is too long to be an invite.")
    if cleaned.lower().startswith(LINK_PREFIX):
        cleaned = cleaned[len(LINK_PREFIX) :]
    elif cleaned.lower().startswith("parley:"):
        raise InvalidInvite("This parley: link is not an invite (expected parley://invite/…).")
    code = re.sub(r"[\s-]", "", cleaned).upper()
    if not re.fullmatch(r"[A-Z2-7]+", code):
        raise InvalidInvite("This is not an invite code: it holds characters a code never has.")
    try:
        data = base64.b32decode(code + "=" * (-len(code) % 8))
    except binascii.Error as exc:
        raise InvalidInvite("This invite code has the wrong length: copy it again.") from exc
    return from_bytes(data)
