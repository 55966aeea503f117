"""Succession statements: the byte layout, the signature, and the freshness rules."""

from __future__ import annotations

import pytest
from parley.crypto import succession
from parley.crypto.keys import IdentityKeyPair
from parley.crypto.succession import Succession, SuccessionRefused

NOW = 1_800_000_000
DAY = 24 * 3600


def keys() -> tuple[IdentityKeyPair, bytes]:
    return IdentityKeyPair.generate(), IdentityKeyPair.generate().public.to_bytes()


def test_the_statement_bytes_are_the_documented_ones() -> None:
    old, new = keys()
    statement = succession.sign(old, new, NOW)
    data = statement.to_bytes()
    assert len(data) == succession.STATEMENT_LEN == 136
    assert data[:32] == old.public.to_bytes() and data[32:64] == new
    assert data[64:72] == NOW.to_bytes(8, "big")
    signed = b"parley-succession-v1" + old.public.to_bytes() + new + NOW.to_bytes(8, "big")
    old.public.verify(signed, data[72:])
    assert Succession.from_bytes(data) == statement
    succession.check(statement, old=old.public.to_bytes(), new=new, now=NOW)


def test_wrong_signer_keys_and_times_are_refused() -> None:
    old, new = keys()
    good = succession.sign(old, new, NOW)
    other, _ = keys()
    forged = Succession(good.old, new, NOW, succession.sign(other, new, NOW).signature)
    cases = [
        (forged, "not signed by the old key"),
        (Succession(good.old, new, NOW + 1, good.signature), "not signed by the old key"),
        (succession.sign(old, new, NOW + 2 * DAY), "in the future"),
        (succession.sign(old, new, NOW - 31 * DAY), "more than 30 days old"),
    ]
    for statement, reason in cases:
        with pytest.raises(SuccessionRefused, match=reason):
            succession.check(statement, old=old.public.to_bytes(), new=new, now=NOW)
    with pytest.raises(SuccessionRefused, match="other identity keys"):
        succession.check(good, old=old.public.to_bytes(), new=other.public.to_bytes(), now=NOW)
    with pytest.raises(SuccessionRefused, match="not newer"):
        succession.check(good, old=old.public.to_bytes(), new=new, now=NOW, after=NOW)
    with pytest.raises(SuccessionRefused, match="136 bytes"):
        Succession.from_bytes(good.to_bytes()[:-1])
    with pytest.raises(SuccessionRefused, match="succeed itself"):
        succession.sign(old, old.public.to_bytes(), NOW)
