"""An attacker for the core tests: a real account on the real relay that sends hand-made payloads.

It speaks the relay protocol through the app's own relay client (so the relay authenticates it as
itself), but builds its session messages by hand: forged X3DH first messages, tampered bytes and
content that a well-behaved Parley would never send.
"""

from __future__ import annotations

import os
import time
from typing import Any

import msgpack
from parley.app import content as content_format
from parley.crypto.keys import DHKeyPair
from parley.crypto.prekeys import OneTimePreKey, PreKeyBundle
from parley.crypto.session import Session, initiate_session

from .test_core_fixtures import Person


async def bundle_for(
    attacker: Person, target: bytes, *, one_time: str | int = "fetched"
) -> PreKeyBundle:
    """The target's bundle from the relay; ``one_time`` = "none" drops the one-time prekey, an
    int puts a made-up one-time prekey with that id in its place (a forgery naming that id)."""
    fetched = await attacker.messenger._require_client().fetch_bundle(target)
    otk: bytes | None = fetched.one_time_prekey
    if one_time == "none":
        otk = None
    elif isinstance(one_time, int):
        otk = OneTimePreKey(one_time, DHKeyPair.generate()).public().to_bytes()
    return PreKeyBundle.from_parts(fetched.identity_key, fetched.signed_prekey, otk)


def session_from(attacker: Person, bundle: PreKeyBundle) -> Session:
    return initiate_session(attacker.messenger.identity, bundle)


async def send(attacker: Person, target: bytes, payload: bytes) -> bytes:
    """Hand ``payload`` to the relay for ``target`` as the attacker's account; the message id."""
    message_id = os.urandom(16)
    await attacker.messenger._require_client().send(target, message_id, payload)
    return message_id


def text(body: str, *, name: str | None = "mallory", **extra: Any) -> bytes:
    """Valid text content (``extra`` sets was/was_at/was_sig)."""
    return content_format.encode(content_format.Text(time.time(), body, name, **extra))


def raw(obj: object) -> bytes:
    """Content bytes that skip the encoder's checks."""
    data: bytes = msgpack.packb(obj, use_bin_type=True)
    return data
