"""HKDF-SHA256 and HMAC-SHA256 (crypto/kdf.py) against RFC 5869 and their documented limits."""

from __future__ import annotations

from typing import Any

import pytest
from parley.crypto.errors import CryptoError
from parley.crypto.kdf import (
    constant_time_equal,
    hkdf_expand,
    hkdf_extract,
    hkdf_sha256,
    hmac_sha256,
)

from .vectors_util import load_vectors

RFC5869 = load_vectors("rfc5869.json")["cases"]


@pytest.mark.parametrize("case", RFC5869, ids=[c["name"] for c in RFC5869])
def test_rfc5869_sha256(case: dict[str, Any]) -> None:
    ikm, salt, info = (bytes.fromhex(case[k]) for k in ("ikm", "salt", "info"))
    prk = hkdf_extract(salt, ikm)
    assert prk.hex() == case["prk"]
    assert hkdf_expand(prk, info, case["length"]).hex() == case["okm"]
    assert hkdf_sha256(ikm, salt=salt, info=info, length=case["length"]).hex() == case["okm"]


def test_rfc4231_case_2_hmac() -> None:
    # RFC 4231, test case 2: a short key and the message "what do ya want for nothing?".
    mac = hmac_sha256(b"Jefe", b"what do ya want for nothing?")
    assert mac.hex() == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"


@pytest.mark.parametrize("length", [0, -1, 255 * 32 + 1])
def test_expand_refuses_impossible_lengths(length: int) -> None:
    with pytest.raises(CryptoError, match="between 1 and 8160"):
        hkdf_expand(bytes(32), b"", length)


def test_expand_longest_output_is_a_prefix_extension() -> None:
    prk = bytes(range(32))
    longest = hkdf_expand(prk, b"info", 255 * 32)
    assert len(longest) == 255 * 32
    assert hkdf_expand(prk, b"info", 33) == longest[:33]


def test_constant_time_equal() -> None:
    assert constant_time_equal(b"abc", b"abc")
    assert not constant_time_equal(b"abc", b"abd")
    assert not constant_time_equal(b"abc", b"ab")
