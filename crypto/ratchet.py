"""The Double Ratchet (Signal specification, revision 4) over X25519, HKDF/HMAC-SHA256, XChaCha20.

Pure functions over an immutable state: ``encrypt(state, ...)`` and ``decrypt(state, ...)`` return
a new state and never change the one they were given, so a failure (forged message, duplicate,
refused envelope, bound reached) simply raises and the caller keeps what it had; the store then
writes the new state and the message in one transaction ("commit, then act").

Derivations (byte-exact in docs/protocol.md section 4):

* KDF_RK: ``HKDF-SHA256(salt=root_key, ikm=DH output, info=ROOT_INFO, 64)`` split into the new
  root key and a chain key.
* KDF_CK: ``message_key = HMAC-SHA256(chain_key, 0x01)``, ``next = HMAC-SHA256(chain_key, 0x02)``.
* ENCRYPT: ``HKDF-Expand(prk=message_key, info=MESSAGE_INFO, 56)`` split into an XChaCha20-Poly1305
  key (32) and nonce (24); the spec's Extract step is skipped because the message key is already a
  uniformly random 32-byte PRK (RFC 5869 section 3.3), which saves one HMAC per message.
* Associated data: ``ad || header (40 bytes) || len(extension) (2 bytes) || extension``.

Bounds: one message may move a chain at most ``MAX_SKIP`` (25,000, libsignal's MAX_FORWARD_JUMPS)
keys forward (beyond that it is refused with TooManySkippedMessages, state unchanged, and the app's
session recovery takes over); at most ``MAX_SKIPPED_TOTAL`` (2,000, libsignal's MAX_MESSAGE_KEYS)
skipped keys are kept, the newest: a long jump stores only its last 2,000 keys (the older ones are
stepped over with one HMAC each, never stored), and older keys are evicted first. A message whose
key is gone is refused as a duplicate: it can no longer be read, and a sender cannot force the
receiver to refuse new traffic.

Why NamedTuples and not frozen dataclasses: the state and the message are rebuilt on every message;
a frozen dataclass's ``__init__`` costs about 1.5 us for ten fields (one ``object.__setattr__`` per
field) against 0.35 us for a NamedTuple, which is a third of the whole budget of a steady-state
encrypt (bench/crypto.py). They are equally immutable; their reprs hide key material.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping
from hashlib import sha256 as _sha256
from hmac import digest as _hmac_digest
from types import MappingProxyType
from typing import TYPE_CHECKING, Final, NamedTuple

from nacl.bindings import (
    crypto_aead_xchacha20poly1305_ietf_decrypt as _aead_decrypt,
)
from nacl.bindings import (
    crypto_aead_xchacha20poly1305_ietf_encrypt as _aead_encrypt,
)
from nacl.exceptions import CryptoError as _NaclError
from nacl.utils import random as _system_random
from parley.crypto.encoding import Reader
from parley.crypto.errors import (
    CryptoError,
    DecryptionError,
    DuplicateMessage,
    MalformedData,
    TooManySkippedMessages,
)
from parley.crypto.hooks import MAX_EXTENSION_LEN, MessageKeyHook, Parties
from parley.crypto.kdf import hkdf_sha256
from parley.crypto.keys import DHKeyPair, Rng

if TYPE_CHECKING:
    from hashlib import _Hash as _Sha256


KEY_LEN: Final = 32
TAG_LEN: Final = 16
NONCE_LEN: Final = 24
HEADER_LEN: Final = 40
MAX_SKIP: Final = 25_000
"""Most message keys one message may skip in one receiving chain (libsignal: MAX_FORWARD_JUMPS).

Why 25,000: a direction wedges for good when more messages than this are lost in a row (relay
expiry or quota, a malicious relay); the app then recovers with a fresh session (docs/protocol.md
s5), but a jump this long needs no recovery. Its cost is bounded: stepping over a key is one HMAC
(about 1 us), so the longest jump costs tens of milliseconds (bench/crypto.py ``jump_max_ms``),
and only the newest ``MAX_SKIPPED_TOTAL`` of the skipped keys are stored."""
MAX_SKIPPED_TOTAL: Final = 2000
"""Most skipped message keys kept across all chains, the newest (libsignal: MAX_MESSAGE_KEYS).

Why 2,000: it bounds a stored ratchet state to 2,000 * 68 bytes = 136 KB whatever the peer or the
relay does, and a message delivered more than 2,000 places late is rare enough (the reference
client lets a message be overtaken by at most 16, net/client.py) to be lost instead."""
MAX_PAST_RATCHET_KEYS: Final = 64
"""Remote ratchet keys remembered after the ratchet moved on, to recognise late duplicates."""
MAX_COUNTER: Final = 0xFFFFFFFF

ROOT_INFO: Final = b"Parley v1 ratchet root"
MESSAGE_INFO: Final = b"Parley v1 message key"
STATE_VERSION: Final = 1

_CK_MESSAGE: Final = b"\x01"
_CK_NEXT: Final = b"\x02"
_HEADER = struct.Struct(">32sII")
_EXT_LEN = struct.Struct(">H")
_STATE_FIXED = struct.Struct(">BB32s32s32s32s32sIII")
_COUNT = struct.Struct(">H")
_SKIPPED_ENTRY = struct.Struct(">32sI32s")
_FLAG_REMOTE: Final = 1
_FLAG_SEND: Final = 2
_FLAG_RECV: Final = 4
_ZERO_KEY: Final = bytes(KEY_LEN)
_EXPAND_1: Final = MESSAGE_INFO + b"\x01"
_EXPAND_2: Final = MESSAGE_INFO + b"\x02"
_SHA256_BLOCK: Final = 64
_STEP_ONLY: Final = "sha256"
_IPAD: Final = bytes(i ^ 0x36 for i in range(256))
_OPAD: Final = bytes(i ^ 0x5C for i in range(256))
SkippedKeys = Mapping[tuple[bytes, int], bytes]
"""Skipped message keys by (remote ratchet key, message number), oldest first; never mutated."""
_NO_SKIPPED: SkippedKeys = MappingProxyType({})
NO_PARTIES: Final = Parties(b"", b"")
"""Parties passed to a hook when the caller names none (the ratchet alone, in its own tests)."""


def kdf_root(root_key: bytes, dh_output: bytes) -> tuple[bytes, bytes]:
    """KDF_RK: mix a DH output into the root chain; return (new root key, new chain key)."""
    okm = hkdf_sha256(dh_output, salt=root_key, info=ROOT_INFO, length=2 * KEY_LEN)
    return okm[:KEY_LEN], okm[KEY_LEN:]


def kdf_chain(chain_key: bytes) -> tuple[bytes, bytes]:
    """KDF_CK: step a sending or receiving chain; return (next chain key, message key).

    Both outputs are HMAC-SHA256 under the same key, so the key's inner and outer pads are hashed
    once and the two HMACs continue from copies (``_hmac_pads``): half the cost of two calls to
    ``kdf.hmac_sha256``, on the path every message takes. tests/crypto/test_ratchet.py checks it
    against ``kdf.hmac_sha256``.
    """
    inner, outer = _hmac_pads(chain_key)
    inner_next = inner.copy()
    inner_next.update(_CK_NEXT)
    outer_next = outer.copy()
    outer_next.update(inner_next.digest())
    inner.update(_CK_MESSAGE)
    outer.update(inner.digest())
    return outer_next.digest(), outer.digest()


def message_cipher_key(message_key: bytes) -> tuple[bytes, bytes]:
    """Derive the XChaCha20-Poly1305 (key, nonce) of one message from its message key.

    ``HKDF-Expand(message_key, MESSAGE_INFO, 56)``: its two HMAC blocks written out over shared
    pads (as in ``kdf_chain``), because this runs for every message.
    """
    inner, outer = _hmac_pads(message_key)
    inner_1 = inner.copy()
    inner_1.update(_EXPAND_1)
    outer_1 = outer.copy()
    outer_1.update(inner_1.digest())
    t1 = outer_1.digest()
    inner.update(t1 + _EXPAND_2)
    outer.update(inner.digest())
    return t1, outer.digest()[:NONCE_LEN]


def _hmac_pads(key: bytes) -> tuple[_Sha256, _Sha256]:
    """HMAC-SHA256 (RFC 2104) for a key of at most one block: the hashes of key^ipad, key^opad.

    Every key passed here is a 32-byte chain or message key, so the RFC's hashing of keys longer
    than the 64-byte block never applies.
    """
    block = key + bytes(_SHA256_BLOCK - len(key))
    return _sha256(block.translate(_IPAD)), _sha256(block.translate(_OPAD))


class RatchetMessage(NamedTuple):
    """One encrypted message: the ratchet header (dh, pn, n), the hook's extension, ciphertext.

    Wire form (``to_bytes``): ``dh (32) || pn (u32 BE) || n (u32 BE) || ext_len (u16 BE) || ext ||
    ciphertext`` where the ciphertext ends with the 16-byte Poly1305 tag.
    """

    dh: bytes
    pn: int
    n: int
    extension: bytes
    ciphertext: bytes

    def header_bytes(self) -> bytes:
        """The 40-byte header as it is authenticated: ``dh || pn || n``."""
        return _HEADER.pack(self.dh, self.pn, self.n)

    def to_bytes(self) -> bytes:
        """Serialise for the wire (see the class docstring)."""
        return b"".join(
            (
                _HEADER.pack(self.dh, self.pn, self.n),
                _EXT_LEN.pack(len(self.extension)),
                self.extension,
                self.ciphertext,
            )
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> RatchetMessage:
        """Parse the wire form.

        Raises:
            MalformedData: too short, or the extension length points past the end.
        """
        if not isinstance(data, bytes):
            raise MalformedData(f"A ratchet message must be bytes, not {type(data).__name__}.")
        if len(data) < HEADER_LEN + _EXT_LEN.size + TAG_LEN:
            raise MalformedData("The message is too short to be a Parley ratchet message.")
        dh, pn, n = _HEADER.unpack_from(data)
        (ext_len,) = _EXT_LEN.unpack_from(data, HEADER_LEN)
        start = HEADER_LEN + _EXT_LEN.size
        if len(data) - start - ext_len < TAG_LEN:
            raise MalformedData("The message's extension length is larger than the message.")
        return cls(dh, pn, n, bytes(data[start : start + ext_len]), bytes(data[start + ext_len :]))


class RatchetState(NamedTuple):
    """Everything one party keeps for one conversation; never changed once built.

    Fields follow the specification's names: ``dh_self`` (DHs), ``dh_remote`` (DHr), ``root_key``
    (RK), ``send_chain``/``recv_chain`` (CKs/CKr), ``send_n``/``recv_n`` (Ns/Nr), ``prev_send_n``
    (PN), ``skipped`` (MKSKIPPED, oldest first) and ``past_remote`` (earlier DHr values, newest
    last, to recognise duplicates of messages from chains the ratchet has left).
    """

    dh_self: DHKeyPair
    dh_remote: bytes | None
    root_key: bytes
    send_chain: bytes | None
    recv_chain: bytes | None
    send_n: int
    recv_n: int
    prev_send_n: int
    skipped: SkippedKeys
    past_remote: tuple[bytes, ...]

    def __repr__(self) -> str:
        return (
            f"RatchetState(send_n={self.send_n}, recv_n={self.recv_n}, "
            f"prev_send_n={self.prev_send_n}, skipped={len(self.skipped)})"
        )

    def to_bytes(self) -> bytes:
        """Serialise for the encrypted store, with a version byte first (docs/protocol.md s4)."""
        flags = (
            (_FLAG_REMOTE if self.dh_remote is not None else 0)
            | (_FLAG_SEND if self.send_chain is not None else 0)
            | (_FLAG_RECV if self.recv_chain is not None else 0)
        )
        parts = [
            _STATE_FIXED.pack(
                STATE_VERSION,
                flags,
                self.dh_self.private,
                self.dh_remote or _ZERO_KEY,
                self.root_key,
                self.send_chain or _ZERO_KEY,
                self.recv_chain or _ZERO_KEY,
                self.send_n,
                self.recv_n,
                self.prev_send_n,
            ),
            _COUNT.pack(len(self.past_remote)),
            *self.past_remote,
            _COUNT.pack(len(self.skipped)),
        ]
        parts.extend(_SKIPPED_ENTRY.pack(dh, n, mk) for (dh, n), mk in self.skipped.items())
        return b"".join(parts)

    @classmethod
    def from_bytes(cls, data: bytes) -> RatchetState:
        """Parse what ``to_bytes`` wrote.

        Raises:
            MalformedData: unknown version, wrong length, bad flags or counts out of bounds.
        """
        return _parse_state(data)


def initialise_sender(
    shared_secret: bytes, their_ratchet_key: bytes, *, rng: Rng = _system_random
) -> RatchetState:
    """RatchetInitAlice: the X3DH initiator starts with a sending chain towards Bob's prekey.

    Args:
        shared_secret: the 32-byte X3DH output SK.
        their_ratchet_key: the responder's signed prekey (public), its first ratchet key.
        rng: randomness for the first ratchet key pair (fixed only in golden vectors).
    """
    _check_key(shared_secret, "shared secret")
    _check_key(their_ratchet_key, "remote ratchet key")
    dh_self = DHKeyPair.generate(rng=rng)
    root_key, send_chain = kdf_root(shared_secret, dh_self.dh(their_ratchet_key))
    return RatchetState(
        dh_self, their_ratchet_key, root_key, send_chain, None, 0, 0, 0, _NO_SKIPPED, ()
    )


def initialise_receiver(shared_secret: bytes, own_ratchet_key: DHKeyPair) -> RatchetState:
    """RatchetInitBob: the responder waits for the first message, its signed prekey as DHs."""
    _check_key(shared_secret, "shared secret")
    return RatchetState(own_ratchet_key, None, shared_secret, None, None, 0, 0, 0, _NO_SKIPPED, ())


def encrypt(
    state: RatchetState,
    plaintext: bytes,
    ad: bytes,
    hook: MessageKeyHook | None = None,
    parties: Parties = NO_PARTIES,
) -> tuple[RatchetState, RatchetMessage]:
    """RatchetEncrypt: encrypt one message on the sending chain.

    Args:
        state: the sender's current state (not modified).
        plaintext: the bytes to encrypt.
        ad: associated data fixed for the session (the X3DH AD).
        hook: optional message-key hook; its extension is authenticated with the header.
        parties: the sender's and recipient's identity keys, passed on to the hook.

    Returns:
        The new state and the message.

    Raises:
        CryptoError: no sending chain yet (a responder must receive before it sends), the chain is
            exhausted, or the hook's extension is too long.
    """
    chain = state.send_chain
    if chain is None:
        raise CryptoError("This conversation cannot send yet: wait for the first message.")
    n = state.send_n
    if n >= MAX_COUNTER:
        raise CryptoError("This sending chain is exhausted; a reply is needed to continue.")
    next_chain, message_key = kdf_chain(chain)
    dh = state.dh_self.public
    header = _HEADER.pack(dh, state.prev_send_n, n)
    extension = b"" if hook is None else hook.seal(message_key, header, parties)
    if len(extension) > MAX_EXTENSION_LEN:
        raise CryptoError("The message-key hook produced an extension longer than 65535 bytes.")
    key, nonce = message_cipher_key(message_key)
    ciphertext = _aead_encrypt(
        plaintext, ad + header + _EXT_LEN.pack(len(extension)) + extension, nonce, key
    )
    new_state = RatchetState(
        state.dh_self,
        state.dh_remote,
        state.root_key,
        next_chain,
        state.recv_chain,
        n + 1,
        state.recv_n,
        state.prev_send_n,
        state.skipped,
        state.past_remote,
    )
    return new_state, RatchetMessage(dh, state.prev_send_n, n, extension, ciphertext)


def decrypt(
    state: RatchetState,
    message: RatchetMessage,
    ad: bytes,
    hook: MessageKeyHook | None = None,
    *,
    parties: Parties = NO_PARTIES,
    rng: Rng = _system_random,
) -> tuple[RatchetState, bytes]:
    """RatchetDecrypt: decrypt one message, stepping the DH ratchet if it carries a new key.

    Args:
        state: the receiver's current state (not modified, whatever happens).
        message: the parsed message.
        ad: associated data fixed for the session (the X3DH AD).
        hook: optional message-key hook; it runs after the AEAD verified and may refuse.
        parties: the sender's and recipient's identity keys, passed on to the hook.
        rng: randomness for the new ratchet key pair of a DH step.

    Returns:
        The new state and the plaintext.

    Raises:
        DuplicateMessage: the message was decrypted before (or its key was evicted).
        TooManySkippedMessages: it would skip more than MAX_SKIP keys in one chain.
        EnvelopeRejected: the hook refused it.
        DecryptionError: anything else (forged, corrupted, not for this conversation).
    """
    dh = message.dh
    n = message.n
    header = _HEADER.pack(dh, message.pn, n)
    aad = ad + header + _EXT_LEN.pack(len(message.extension)) + message.extension
    skipped = state.skipped
    if skipped:
        message_key = skipped.get((dh, n))
        if message_key is not None:
            plaintext = _open(message_key, message, aad, header, (hook, parties))
            remaining = dict(skipped)
            del remaining[(dh, n)]
            return state._replace(skipped=MappingProxyType(remaining)), plaintext
    if dh == state.dh_remote:
        chain = state.recv_chain
        if chain is None:
            raise DecryptionError("This message cannot belong to this conversation.")
        if n < state.recv_n:
            raise DuplicateMessage(_DUPLICATE)
        if n == state.recv_n:  # the steady state: next message in order, nothing to skip
            next_chain, message_key = kdf_chain(chain)
            plaintext = _open(message_key, message, aad, header, (hook, parties))
            new_state = RatchetState(
                state.dh_self,
                dh,
                state.root_key,
                state.send_chain,
                next_chain,
                state.send_n,
                n + 1,
                state.prev_send_n,
                skipped,
                state.past_remote,
            )
            return new_state, plaintext
        new_skipped = dict(skipped)
        chain = _skip(new_skipped, dh, chain, state.recv_n, n)
        next_chain, message_key = kdf_chain(chain)
        plaintext = _open(message_key, message, aad, header, (hook, parties))
        new_state = state._replace(recv_chain=next_chain, recv_n=n + 1, skipped=_evict(new_skipped))
        return new_state, plaintext
    if dh in state.past_remote:
        raise DuplicateMessage(_DUPLICATE)
    return _dh_step(state, message, aad=aad, header=header, hook=hook, parties=parties, rng=rng)


_DUPLICATE = "This message was already received, or it arrived too late to be decrypted."


def _dh_step(
    state: RatchetState,
    message: RatchetMessage,
    *,
    aad: bytes,
    header: bytes,
    hook: MessageKeyHook | None,
    parties: Parties,
    rng: Rng,
) -> tuple[RatchetState, bytes]:
    """The DH ratchet step of RatchetDecrypt, then the message on the new receiving chain."""
    dh = message.dh
    if message.n > MAX_SKIP:
        raise TooManySkippedMessages(_too_many(message.n))
    new_skipped = dict(state.skipped)
    past_remote = state.past_remote
    if state.dh_remote is not None:
        if state.recv_chain is not None:
            _skip(new_skipped, state.dh_remote, state.recv_chain, state.recv_n, message.pn)
        past_remote = (*past_remote, state.dh_remote)[-MAX_PAST_RATCHET_KEYS:]
    try:
        root_key, recv_chain = kdf_root(state.root_key, state.dh_self.dh(dh))
        dh_self = DHKeyPair.generate(rng=rng)
        root_key, send_chain = kdf_root(root_key, dh_self.dh(dh))
    except (CryptoError, _NaclError) as exc:
        raise DecryptionError("The message carries an unusable ratchet key.") from exc
    recv_chain = _skip(new_skipped, dh, recv_chain, 0, message.n)
    recv_chain, message_key = kdf_chain(recv_chain)
    plaintext = _open(message_key, message, aad, header, (hook, parties))
    new_state = RatchetState(
        dh_self,
        dh,
        root_key,
        send_chain,
        recv_chain,
        0,
        message.n + 1,
        state.send_n,
        _evict(new_skipped),
        past_remote,
    )
    return new_state, plaintext


def _open(
    message_key: bytes,
    message: RatchetMessage,
    aad: bytes,
    header: bytes,
    hooked: tuple[MessageKeyHook | None, Parties],
) -> bytes:
    """Authenticate and decrypt, then let the hook look at the verified extension."""
    hook, parties = hooked
    key, nonce = message_cipher_key(message_key)
    try:
        plaintext: bytes = _aead_decrypt(message.ciphertext, aad, nonce, key)
    except _NaclError as exc:
        raise DecryptionError(
            "The message could not be authenticated: it was altered or is not for this "
            "conversation."
        ) from exc
    if hook is not None:
        hook.check(message_key, header, parties, message.extension)
    return plaintext


def _skip(
    skipped: dict[tuple[bytes, int], bytes], dh: bytes, chain: bytes, start: int, until: int
) -> bytes:
    """Step over messages ``start`` to ``until - 1``; return the chain key at ``until``.

    Only the keys of the newest ``MAX_SKIPPED_TOTAL`` of them are stored: the older ones would be
    evicted by ``_evict`` anyway, so for them only the next chain key (``HMAC(ck, 0x02)``, one
    one-shot HMAC) is computed, which halves the cost of a long jump. Mutates only ``skipped``, a
    fresh copy owned by the caller.
    """
    if until - start > MAX_SKIP:
        raise TooManySkippedMessages(_too_many(until - start))
    kept_from = max(start, until - MAX_SKIPPED_TOTAL)
    for _ in range(start, kept_from):
        chain = _hmac_digest(chain, _CK_NEXT, _STEP_ONLY)
    for i in range(kept_from, until):
        chain, skipped[(dh, i)] = kdf_chain(chain)
    return chain


def _evict(skipped: dict[tuple[bytes, int], bytes]) -> SkippedKeys:
    """Drop the oldest skipped keys beyond MAX_SKIPPED_TOTAL (dicts keep insertion order)."""
    excess = len(skipped) - MAX_SKIPPED_TOTAL
    if excess > 0:
        for key in list(skipped)[:excess]:
            del skipped[key]
    return MappingProxyType(skipped)


def _too_many(count: int) -> str:
    return (
        f"The message is {count} messages ahead of the last one received; at most {MAX_SKIP} "
        "can be skipped, so it cannot be decrypted."
    )


def _check_key(value: bytes, what: str) -> None:
    if not isinstance(value, bytes) or len(value) != KEY_LEN:
        raise MalformedData(f"The {what} must be exactly {KEY_LEN} bytes.")


def _parse_state(data: bytes) -> RatchetState:
    reader = Reader(data, "a stored ratchet state")
    reader.version(STATE_VERSION)
    flags = reader.u8()
    if flags & ~(_FLAG_REMOTE | _FLAG_SEND | _FLAG_RECV):
        raise MalformedData("The stored ratchet state has unknown flags.")
    private, remote, root, send, recv = (reader.take(KEY_LEN) for _ in range(5))
    send_n, recv_n, prev_n = reader.u32(), reader.u32(), reader.u32()
    past_count = int(_COUNT.unpack(reader.take(_COUNT.size))[0])
    if past_count > MAX_PAST_RATCHET_KEYS:
        raise MalformedData("The stored ratchet state remembers too many past ratchet keys.")
    past = tuple(reader.take(KEY_LEN) for _ in range(past_count))
    skipped_count = int(_COUNT.unpack(reader.take(_COUNT.size))[0])
    if skipped_count > MAX_SKIPPED_TOTAL:
        raise MalformedData("The stored ratchet state holds too many skipped message keys.")
    skipped: dict[tuple[bytes, int], bytes] = {}
    for _ in range(skipped_count):
        dh, n, mk = reader.take(KEY_LEN), reader.u32(), reader.take(KEY_LEN)
        skipped[(dh, n)] = mk
    reader.finish()
    if len(skipped) != skipped_count:
        raise MalformedData("The stored ratchet state lists a skipped message key twice.")
    try:
        dh_self = DHKeyPair.from_private(private)
    except CryptoError as exc:
        raise MalformedData("The stored ratchet state holds an unusable private key.") from exc
    return RatchetState(
        dh_self,
        remote if flags & _FLAG_REMOTE else None,
        root,
        send if flags & _FLAG_SEND else None,
        recv if flags & _FLAG_RECV else None,
        send_n,
        recv_n,
        prev_n,
        MappingProxyType(skipped) if skipped else _NO_SKIPPED,
        past,
    )


def decrypt_with_key(message: RatchetMessage, message_key: bytes, ad: bytes) -> bytes:
    """Decrypt one message with its message key alone, no ratchet state (lawful opening: the key
    comes from the warrant envelope, docs/warrant.md).

    Raises:
        DecryptionError: the key or the associated data is not this message's.
    """
    header = message.header_bytes()
    aad = ad + header + _EXT_LEN.pack(len(message.extension)) + message.extension
    return _open(message_key, message, aad, header, (None, NO_PARTIES))
