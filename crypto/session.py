"""Sessions: X3DH to start, the Double Ratchet to continue, one versioned wire format for both.

A :class:`Session` is what the app stores per contact. The initiator's messages carry the X3DH
header until the first reply arrives (Signal's PreKeyWhisperMessage), because any of them may be the
first to reach the responder; after a reply the header is dropped. The responder starts its session
from the first such message it receives (:func:`accept_session`), after looking up the prekeys the
header names (:func:`peek_initial`).

Wire format (docs/protocol.md section 5), fixed-size fields sliced by hand and length-checked::

    version (1) = 1 || type (1): 1 = initial, 2 = normal
    || [X3DH header (74), initial only] || ratchet message (see ratchet.RatchetMessage)

The ratchet's associated data is the X3DH AD followed by everything before the ratchet message
(version, type, X3DH header), so the AEAD authenticates those bytes too: a flipped bit in the X3DH
header of a later initial message is caught even though that session no longer needs the header.

Sessions are immutable like the ratchet state: every operation returns a new Session and a failure
leaves the caller's untouched, so the app can store the new session and the message together.
"""

from __future__ import annotations

from dataclasses import dataclass

import nacl.utils
from parley.crypto import ratchet, x3dh
from parley.crypto.encoding import Reader
from parley.crypto.errors import CryptoError, DecryptionError, MalformedData
from parley.crypto.hooks import MessageKeyHook, Parties
from parley.crypto.keys import KEY_LEN, IdentityKeyPair, IdentityPublicKey, Rng
from parley.crypto.prekeys import OneTimePreKey, PreKeyBundle, SignedPreKey
from parley.crypto.ratchet import RatchetMessage, RatchetState
from parley.crypto.x3dh import X3DHHeader

WIRE_VERSION = 1
"""First byte of every session message."""
TYPE_INITIAL = 1
"""A message that carries the X3DH header (the initiator's, until the first reply)."""
TYPE_NORMAL = 2
"""A message that carries only the ratchet message."""
STATE_VERSION = 1
"""First byte of a serialised Session."""

AD_LEN = 2 * KEY_LEN
_FLAG_PENDING = 1
_PREFIX_INITIAL = bytes((WIRE_VERSION, TYPE_INITIAL))
_PREFIX_NORMAL = bytes((WIRE_VERSION, TYPE_NORMAL))


@dataclass(frozen=True)
class Session:
    """One end of a conversation with one remote identity.

    Attributes:
        ratchet: the Double Ratchet state (its repr hides key material).
        associated_data: the X3DH AD, ``IK_initiator || IK_responder``, bound into every message.
        remote_identity: who is at the other end (as X3DH established it).
        pending_header: for an initiator that has not yet heard back, the X3DH header that every
            outgoing message carries; None once a reply decrypted, and always None for a responder.
    """

    ratchet: RatchetState
    associated_data: bytes
    remote_identity: IdentityPublicKey
    pending_header: X3DHHeader | None

    def encrypt(
        self, plaintext: bytes, hook: MessageKeyHook | None = None
    ) -> tuple[Session, bytes]:
        """Encrypt one message; return the new session and the wire bytes.

        Raises:
            CryptoError: the ratchet cannot send (see ``ratchet.encrypt``).
        """
        if self.pending_header is None:
            prefix = _PREFIX_NORMAL
        else:
            prefix = _PREFIX_INITIAL + self.pending_header.to_bytes()
        state, message = ratchet.encrypt(
            self.ratchet, plaintext, self.associated_data + prefix, hook, self._parties(True)
        )
        wire = prefix + message.to_bytes()
        return Session(state, self.associated_data, self.remote_identity, self.pending_header), wire

    def decrypt(
        self,
        message_bytes: bytes,
        hook: MessageKeyHook | None = None,
        *,
        rng: Rng = nacl.utils.random,
    ) -> tuple[Session, bytes]:
        """Decrypt one message of this conversation; return the new session and the plaintext.

        An initial message is accepted here too (the initiator keeps sending them until it hears
        back); its X3DH header must name this session's remote identity. A message that starts a
        *different* session fails to decrypt here and should go to :func:`accept_session`.

        Raises:
            MalformedData: the bytes are not a Parley session message.
            DecryptionError: and its subclasses, as ``ratchet.decrypt`` raises them.
        """
        header, prefix, message = _parse(message_bytes)
        if header is not None and header.identity_key != self.remote_identity:
            raise DecryptionError("This message starts a session with someone else.")
        state, plaintext = ratchet.decrypt(
            self.ratchet,
            message,
            self.associated_data + prefix,
            hook,
            parties=self._parties(False),
            rng=rng,
        )
        return Session(state, self.associated_data, self.remote_identity, None), plaintext

    def local_identity(self) -> bytes:
        """Our own identity key: the half of the X3DH AD that is not the remote identity."""
        ad = self.associated_data
        remote = self.remote_identity.to_bytes()
        return ad[KEY_LEN:] if ad[:KEY_LEN] == remote else ad[:KEY_LEN]

    def _parties(self, sending: bool) -> Parties:
        local, remote = self.local_identity(), self.remote_identity.to_bytes()
        return Parties(local, remote) if sending else Parties(remote, local)

    def to_bytes(self) -> bytes:
        """Serialise for the encrypted store (docs/protocol.md section 5)."""
        pending = self.pending_header
        return b"".join(
            (
                bytes((STATE_VERSION, _FLAG_PENDING if pending is not None else 0)),
                self.remote_identity.to_bytes(),
                self.associated_data,
                b"" if pending is None else pending.to_bytes(),
                self.ratchet.to_bytes(),
            )
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> Session:
        """Parse what ``to_bytes`` wrote.

        Raises:
            MalformedData: wrong version, flags or length, an AD that does not name the remote
                identity, or a malformed ratchet state.
        """
        reader = Reader(data, "a stored session")
        reader.version(STATE_VERSION)
        flags = reader.u8()
        if flags & ~_FLAG_PENDING:
            raise MalformedData("The stored session has unknown flags.")
        try:
            remote = IdentityPublicKey.from_bytes(reader.take(KEY_LEN))
            associated_data = reader.take(AD_LEN)
            pending = (
                X3DHHeader.from_bytes(reader.take(x3dh.HEADER_LEN))
                if flags & _FLAG_PENDING
                else None
            )
        except MalformedData:
            raise
        except CryptoError as exc:
            raise MalformedData("The stored session holds an unusable key.") from exc
        if remote.to_bytes() not in (associated_data[:KEY_LEN], associated_data[KEY_LEN:]):
            raise MalformedData("The stored session's associated data does not name its contact.")
        prefix = 2 + KEY_LEN + AD_LEN + (x3dh.HEADER_LEN if pending is not None else 0)
        state = RatchetState.from_bytes(bytes(data[prefix:]))
        return cls(state, associated_data, remote, pending)


def initiate_session(
    identity: IdentityKeyPair, bundle: PreKeyBundle, rng: Rng = nacl.utils.random
) -> Session:
    """Start a session from someone's prekey bundle (its signature is verified first).

    Raises:
        InvalidSignature: the bundle's signed prekey is not signed by its identity key.
        InvalidKey: a key in the bundle is unusable.
    """
    started = x3dh.initiate(identity, bundle, rng)
    state = ratchet.initialise_sender(started.shared_secret, started.their_signed_prekey, rng=rng)
    return Session(state, started.associated_data, started.their_identity, started.header)


def peek_initial(message_bytes: bytes) -> X3DHHeader | None:
    """The X3DH header of an initial message (None for a normal one), without decrypting.

    The app uses the header's prekey ids to look up its signed and one-time prekeys, and its
    identity key to see who is writing, before calling :func:`accept_session`.

    Raises:
        MalformedData: the bytes are not a Parley session message.
    """
    header, _, _ = _parse(message_bytes)
    return header


def ratchet_message_of(message_bytes: bytes) -> RatchetMessage:
    """The ratchet message (header, extension, ciphertext) inside a session message.

    Raises:
        MalformedData: the bytes are not a Parley session message.
    """
    _, _, message = _parse(message_bytes)
    return message


def accept_session(
    identity: IdentityKeyPair,
    signed_prekey: SignedPreKey,
    one_time_prekey: OneTimePreKey | None,
    message_bytes: bytes,
    hook: MessageKeyHook | None = None,
    *,
    rng: Rng = nacl.utils.random,
) -> tuple[Session, bytes]:
    """Start the responder's session from an initial message and decrypt that message.

    The app deletes the one-time prekey only after it has stored the returned session.

    Raises:
        MalformedData: not an initial message, or malformed.
        PreKeyMismatch: the prekeys given are not the ones the header names.
        InvalidKey: the initiator's keys are unusable.
        DecryptionError: the message does not decrypt (forged, or made for other prekeys).
    """
    header, prefix, message = _parse(message_bytes)
    if header is None:
        raise MalformedData("This message does not start a session (it has no X3DH header).")
    response = x3dh.respond(identity, signed_prekey, one_time_prekey, header)
    initial = ratchet.initialise_receiver(response.shared_secret, signed_prekey.key_pair)
    parties = Parties(response.their_identity.to_bytes(), identity.public.to_bytes())
    state, plaintext = ratchet.decrypt(
        initial, message, response.associated_data + prefix, hook, parties=parties, rng=rng
    )
    return Session(state, response.associated_data, response.their_identity, None), plaintext


def _parse(data: bytes) -> tuple[X3DHHeader | None, bytes, RatchetMessage]:
    """Split a wire message into X3DH header (initial only), prefix and ratchet message.

    The prefix (version, type and the X3DH header bytes) is appended to the session's associated
    data, so that the AEAD also authenticates the message type and the X3DH header.
    """
    if not isinstance(data, bytes):
        raise MalformedData(f"A session message must be bytes, not {type(data).__name__}.")
    if len(data) < 2:
        raise MalformedData("The message is too short to be a Parley message.")
    if data[0] != WIRE_VERSION:
        raise MalformedData(
            f"The message has version {data[0]}; this Parley reads version {WIRE_VERSION}."
        )
    kind = data[1]
    if kind == TYPE_NORMAL:
        return None, _PREFIX_NORMAL, RatchetMessage.from_bytes(data[2:])
    if kind == TYPE_INITIAL:
        end = 2 + x3dh.HEADER_LEN
        if len(data) < end:
            raise MalformedData("The initial message is too short to hold its X3DH header.")
        try:
            header = X3DHHeader.from_bytes(data[2:end])
        except MalformedData:
            raise
        except CryptoError as exc:
            raise MalformedData("The initial message's X3DH header holds an unusable key.") from exc
        return header, data[:end], RatchetMessage.from_bytes(data[end:])
    raise MalformedData(f"Unknown message type {kind}.")
