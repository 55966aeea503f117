"""Exceptions raised by parley.crypto. Messages are written to be shown to a person.

Exception tree::

    CryptoError                      base of everything raised here
    ├── MalformedData                bytes that do not parse (wrong length, version, encoding)
    ├── InvalidSignature             a signature (prekey bundle, identity) does not verify
    ├── InvalidKey                   a public key is not a valid point or is of low order
    ├── PreKeyMismatch               an X3DH first message names prekeys other than those given
    └── DecryptionError              a message cannot be decrypted; the ratchet state is unchanged
        ├── DuplicateMessage         the message was already decrypted (replay or duplicate)
        ├── TooManySkippedMessages   accepting it would store more skipped keys than allowed
        └── EnvelopeRejected         the message-key hook (the warrant envelope check) refused it
"""


class CryptoError(Exception):
    """Base class of every error raised by parley.crypto."""


class MalformedData(CryptoError):
    """Serialised data (a key, bundle, header, message or stored state) does not parse."""


class InvalidSignature(CryptoError):
    """A signature does not verify under the expected identity key."""


class InvalidKey(CryptoError):
    """A public key is unusable: not on the curve, of small order, or of the wrong size."""


class PreKeyMismatch(CryptoError):
    """An X3DH first message names a signed or one-time prekey other than the one supplied."""


class DecryptionError(CryptoError):
    """A message could not be decrypted. The session state the caller holds is unchanged."""


class DuplicateMessage(DecryptionError):
    """The message was already received and decrypted once."""


class TooManySkippedMessages(DecryptionError):
    """The message is too far ahead: a skipped-key bound (per chain or in total) is reached."""


class EnvelopeRejected(DecryptionError):
    """The message-key hook refused the message (for example a missing or forged envelope).

    ``reason`` is a short code the app records with the evidence: "missing", "malformed",
    "other-authority", "other-epoch" or "mismatch" (docs/warrant.md).
    """

    def __init__(self, message: str, reason: str = "mismatch") -> None:
        super().__init__(message)
        self.reason = reason
