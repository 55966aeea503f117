"""Padding of application messages inside the end-to-end encryption (docs/protocol.md s8).

Without it the relay (and anyone watching the wire) reads the exact size of every message: a
delivery receipt was always 99 bytes, a short text a few bytes more, so receipts, "ok" and a
typed sentence were told apart by length alone. Padded plaintext::

    0x00 || content || 0x80 || 0x00 ... 0x00        (total: the smallest multiple of BLOCK)

The encoding is Signal's (PushTransportDetails: ISO/IEC 7816-4, ``0x80`` then zeros) with a
leading ``0x00``: an unpadded message of older Parley versions is a msgpack map, whose first byte
is never ``0x00``, so both still read (``unpad`` returns those unchanged). A receiver accepts any
number of zeros, so the length rule can change without a format change.

The length rule: at least one 160-byte block (Signal's block), so every receipt of a few ids and
every text of up to about 110 characters has one size; above that, Padme (Nikitin et al., "Reducing
metadata leakage from encrypted files and communication with PURBs", PETS 2019), which keeps the
top ``floor(log2(log2 L)) + 1`` bits of the length ``L``: at most 12 % more bytes and O(log log L)
bits of the size left to read. Measured on bench/padding.py's realistic mix (docs/protocol.md s8):
Signal's 160-byte blocks throughout cost 13.8 % more bytes and leave a picture's size readable to
160 bytes; Padme alone costs 2.0 % but gives receipts and short texts 11 different sizes; this
rule costs 12.5 % and gives them one.
"""

from __future__ import annotations

from typing import Final

from parley.app.errors import ContentError

BLOCK: Final = 160
"""The smallest padded plaintext (Signal's message padding block)."""
MARKER: Final = 0x00
"""First byte of a padded plaintext; never the first byte of an unpadded (msgpack map) one."""
_END: Final = 0x80


def padme(length: int) -> int:
    """Padme: ``length`` rounded up so that only its top ``floor(log2(E)) + 1`` bits are set,
    ``E = floor(log2(length))``."""
    if length < 2:
        return length
    exponent = length.bit_length() - 1
    kept = exponent.bit_length()  # floor(log2(exponent)) + 1
    mask = (1 << (exponent - kept)) - 1
    return (length + mask) & ~mask


def padded_length(length: int) -> int:
    """The size of ``length`` content bytes once padded (marker and end byte included)."""
    return max(BLOCK, padme(length + 2))


def pad(content: bytes) -> bytes:
    """``0x00 || content || 0x80 || zeros``, ``padded_length(len(content))`` bytes long."""
    filler = padded_length(len(content)) - len(content) - 2
    return b"".join((bytes((MARKER,)), content, bytes((_END,)), bytes(filler)))


def unpad(data: bytes) -> bytes:
    """The content of a padded plaintext; an unpadded (older) one is returned as it is.

    Raises:
        ContentError: it starts as a padded plaintext but its padding is not ``0x80`` then zeros.
    """
    if not data or data[0] != MARKER:
        return data
    end = len(data.rstrip(b"\x00")) - 1
    if end < 1 or data[end] != _END:
        raise ContentError("The message's padding is damaged.")
    return data[1:end]
