"""Fixed-size binary fields: the one place crypto/ slices bytes by hand.

Keys, signatures and headers are fixed-size cryptographic fields, for which the architecture allows
hand-written slicing instead of a general serializer. Every parser in crypto/ reads through
:class:`Reader` so that a truncated or extended input is always refused the same way, with
:class:`~parley.crypto.errors.MalformedData` and a message naming what was being read, and never
with an ``IndexError`` or ``struct.error`` escaping to the caller.
"""

from __future__ import annotations

import struct
from collections.abc import Callable

from parley.crypto.errors import CryptoError, MalformedData

_U8 = struct.Struct(">B")
_U32 = struct.Struct(">I")
_U64 = struct.Struct(">Q")

U32_MAX = 0xFFFF_FFFF
U64_MAX = 0xFFFF_FFFF_FFFF_FFFF


class Reader:
    """Reads big-endian fixed-size fields from a byte string, refusing truncation and excess.

    Args:
        data: the bytes to parse.
        what: a short description of the format ("a signed prekey"), used in error messages.
    """

    def __init__(self, data: bytes, what: str) -> None:
        if not isinstance(data, bytes | bytearray | memoryview):
            raise MalformedData(f"Expected bytes for {what}, got {type(data).__name__}.")
        self._data = bytes(data)
        self._pos = 0
        self._what = what

    def take(self, length: int) -> bytes:
        """Return the next ``length`` bytes, or raise MalformedData if fewer remain."""
        end = self._pos + length
        if end > len(self._data):
            raise MalformedData(
                f"The data for {self._what} is truncated ({len(self._data)} bytes is too short)."
            )
        chunk = self._data[self._pos : end]
        self._pos = end
        return chunk

    def u8(self) -> int:
        """Read one unsigned byte."""
        return int(_U8.unpack(self.take(1))[0])

    def u32(self) -> int:
        """Read a big-endian unsigned 32-bit integer."""
        return int(_U32.unpack(self.take(4))[0])

    def u64(self) -> int:
        """Read a big-endian unsigned 64-bit integer."""
        return int(_U64.unpack(self.take(8))[0])

    def version(self, expected: int) -> None:
        """Read the version byte and refuse any other value than ``expected``."""
        found = self.u8()
        if found != expected:
            raise MalformedData(
                f"Unsupported version {found} for {self._what} (this client reads {expected})."
            )

    def finish(self) -> None:
        """Refuse trailing bytes: every format here has exactly one valid length per variant."""
        if self._pos != len(self._data):
            raise MalformedData(
                f"The data for {self._what} has {len(self._data) - self._pos} unexpected "
                "trailing bytes."
            )


def u8(value: int) -> bytes:
    """Encode one unsigned byte."""
    return _U8.pack(value)


def u32(value: int) -> bytes:
    """Encode a big-endian unsigned 32-bit integer."""
    return _U32.pack(value)


def u64(value: int) -> bytes:
    """Encode a big-endian unsigned 64-bit integer."""
    return _U64.pack(value)


def check_u32(value: int, what: str) -> None:
    """Refuse ids that do not fit the 4-byte wire field, before anything is built from them."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= U32_MAX:
        raise CryptoError(f"{what} must be an integer between 0 and {U32_MAX}, got {value!r}.")


def check_u64(value: int, what: str) -> None:
    """Refuse times that do not fit the 8-byte wire field."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= U64_MAX:
        raise CryptoError(f"{what} must be an integer between 0 and {U64_MAX}, got {value!r}.")


def random_bytes(rng: Callable[[int], bytes], length: int) -> bytes:
    """Draw ``length`` bytes from an injectable random source and check that it obliged.

    A fixed-randomness source used for golden vectors could run dry or return the wrong size;
    using short key material silently would be far worse than failing loudly.
    """
    data = rng(length)
    if not isinstance(data, bytes) or len(data) != length:
        raise CryptoError(f"The random source returned the wrong amount of data ({length} wanted).")
    return data
