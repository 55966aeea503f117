"""Lawful-interception formats shared by the relay and the warrant tools: warrants, HI1 orders and
capture records, each a canonical JSON object with an Ed25519 signature (docs/warrant.md).

Only the relay's ``--lawful-intercept`` option and the warrant tools (app/warrant/) import this
module; the standard relay never does. It treats message payloads as bytes, like the rest of net/.

Canonical form: ``json.dumps(obj, sort_keys=True, separators=(",", ":"))`` as UTF-8, bytes as
lowercase hex, times as integers (Unix seconds, or microseconds where named ``*_us``). A signature
covers ``domain || 0x00 || canonical(body)`` where the body is the object without its
``signature`` field; every kind has its own domain, so no signature can be replayed as another.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import nacl.exceptions
import nacl.signing
from parley.net.errors import InterceptError

WARRANT_DOMAIN = b"parley-warrant-v1"
REVOCATION_DOMAIN = b"parley-warrant-revocation-v1"
RECORD_DOMAIN = b"parley-capture-record-v1"
ACCOUNT_HEX = 64
Json = dict[str, Any]


def canonical(obj: Json) -> bytes:
    """The canonical bytes of a JSON object (sorted keys, no spaces, UTF-8)."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def digest(obj: Json) -> str:
    """SHA-256 of the canonical form, hex: the name a warrant or record goes by."""
    return hashlib.sha256(canonical(obj)).hexdigest()


def body_of(signed: Json) -> Json:
    """The object without its signature."""
    return {k: v for k, v in signed.items() if k != "signature"}


def sign(domain: bytes, body: Json, key: nacl.signing.SigningKey) -> Json:
    """The body with a ``signature`` field over the domain and its canonical form."""
    signature = key.sign(domain + b"\x00" + canonical(body)).signature
    return {**body, "signature": signature.hex()}


def verify(domain: bytes, signed: Json, public_key: bytes, what: str) -> Json:
    """The body, if the signature verifies under ``public_key``.

    Raises:
        InterceptError: the signature is missing, malformed or does not verify.
    """
    try:
        signature = bytes.fromhex(signed["signature"])
        nacl.signing.VerifyKey(public_key).verify(
            domain + b"\x00" + canonical(body_of(signed)), signature
        )
    except (KeyError, TypeError, ValueError, nacl.exceptions.CryptoError) as exc:
        raise InterceptError(f"The {what}'s signature does not verify.") from exc
    return body_of(signed)


def check_warrant(signed: Any, authority_key: bytes) -> Json:
    """A warrant's body after its authority signature and fields are checked.

    Fields: ``liid`` (text), ``target`` (the target identifier: a relay account, 64 hex),
    ``start``/``end`` (Unix seconds, the lawful window ``[start, end)``), ``authority`` (key id),
    ``salt`` (hex; hides the target in the log's commitment), ``issued_at``.

    Raises:
        InterceptError: a field is missing or wrong, or the authority did not sign it.
    """
    if not isinstance(signed, dict):
        raise InterceptError("The warrant is not a JSON object.")
    body = verify(WARRANT_DOMAIN, signed, authority_key, "warrant")
    liid, target = body.get("liid"), body.get("target")
    start, end = body.get("start"), body.get("end")
    if not isinstance(liid, str) or not liid or len(liid) > 64:
        raise InterceptError("The warrant has no LIID (1 to 64 characters).")
    if not isinstance(target, str) or len(target) != ACCOUNT_HEX:
        raise InterceptError("The warrant's target is not a relay account (64 hex digits).")
    if not isinstance(start, int) or not isinstance(end, int) or end <= start:
        raise InterceptError("The warrant's window is not a start before an end in Unix seconds.")
    return body


def check_revocation(signed: Any, authority_key: bytes) -> Json:
    """A revocation (``liid``, ``warrant``: the warrant's digest) after its signature is checked."""
    if not isinstance(signed, dict):
        raise InterceptError("The revocation is not a JSON object.")
    body = verify(REVOCATION_DOMAIN, signed, authority_key, "revocation")
    if not isinstance(body.get("liid"), str) or not isinstance(body.get("warrant"), str):
        raise InterceptError("The revocation does not name a LIID and a warrant.")
    return body


def record_body(
    liid: str,
    *,
    sender: bytes,
    recipient: bytes,
    message_id: bytes,
    arrival_us: int,
    payload: bytes,
    relay_key: bytes,
) -> Json:
    """The attestation a relay signs for one captured message.

    IRI (intercept-related information): ``sender`` (the account the relay authenticated),
    ``recipient``, ``message_id``, ``arrival_us``, ``size``; the CC (content) is identified by
    ``cc_sha256`` and travels beside the record. ``relay`` names the signing key.
    """
    return {
        "kind": "capture",
        "liid": liid,
        "sender": sender.hex(),
        "recipient": recipient.hex(),
        "message_id": message_id.hex(),
        "arrival_us": arrival_us,
        "size": len(payload),
        "cc_sha256": hashlib.sha256(payload).hexdigest(),
        "relay": relay_key.hex(),
    }


def check_record(record: Any, relay_key: bytes) -> tuple[Json, bytes]:
    """An exported record's attestation and its CC bytes, after the relay's signature and the
    content hash are checked (``record`` is ``{"attestation": signed body, "cc": hex}``).

    Raises:
        InterceptError: malformed, not signed by ``relay_key``, or not the content it signed.
    """
    try:
        attestation, cc = record["attestation"], bytes.fromhex(record["cc"])
    except (KeyError, TypeError, ValueError) as exc:
        raise InterceptError("The capture record has no attestation or content.") from exc
    if not isinstance(attestation, dict) or attestation.get("relay") != relay_key.hex():
        raise InterceptError("The capture record was not signed by the relay named in the log.")
    body = verify(RECORD_DOMAIN, attestation, relay_key, "capture record")
    if body.get("cc_sha256") != hashlib.sha256(cc).hexdigest() or body.get("size") != len(cc):
        raise InterceptError("The capture record's content is not the content the relay signed.")
    return body, cc
