"""Sanity of the libsodium bindings Parley relies on: RFC 7748 (X25519) and RFC 8032 (Ed25519).

Each vector runs through the raw binding and through the Parley wrapper that uses it, so a wrapper
that passed arguments in the wrong order or sliced a signature wrongly would fail here.
"""

from __future__ import annotations

from typing import Any

import pytest
from nacl.bindings import (
    crypto_scalarmult,
    crypto_scalarmult_base,
    crypto_sign,
    crypto_sign_open,
    crypto_sign_seed_keypair,
)
from parley.crypto.keys import DHKeyPair, IdentityKeyPair, IdentityPublicKey

from .vectors_util import load_vectors

RFC7748 = load_vectors("rfc7748.json")
RFC8032 = load_vectors("rfc8032.json")["cases"]
h = bytes.fromhex


@pytest.mark.parametrize("case", RFC7748["scalarmult"])
def test_rfc7748_scalarmult(case: dict[str, str]) -> None:
    out = crypto_scalarmult(h(case["scalar"]), h(case["u"]))
    assert out.hex() == case["output"]
    assert DHKeyPair.from_private(h(case["scalar"])).dh(h(case["u"])).hex() == case["output"]


def test_rfc7748_iterations() -> None:
    vectors = RFC7748["iterated"]
    k = u = h(vectors["start"])
    for i in range(1000):
        k, u = crypto_scalarmult(k, u), k
        if i == 0:
            assert k.hex() == vectors["after_1"]
    assert k.hex() == vectors["after_1000"]


def test_rfc7748_diffie_hellman() -> None:
    v = RFC7748["diffie_hellman"]
    alice = DHKeyPair.from_private(h(v["alice_private"]))
    bob = DHKeyPair.from_private(h(v["bob_private"]))
    assert alice.public.hex() == v["alice_public"]
    assert bob.public.hex() == v["bob_public"]
    assert crypto_scalarmult_base(h(v["alice_private"])).hex() == v["alice_public"]
    assert alice.dh(bob.public).hex() == v["shared"]
    assert bob.dh(alice.public).hex() == v["shared"]


@pytest.mark.parametrize("case", RFC8032, ids=[c["name"] for c in RFC8032])
def test_rfc8032_ed25519(case: dict[str, Any]) -> None:
    seed, message, signature = h(case["secret_key"]), h(case["message"]), h(case["signature"])
    public, secret = crypto_sign_seed_keypair(seed)
    assert public.hex() == case["public_key"]
    assert crypto_sign(message, secret)[:64] == signature
    assert crypto_sign_open(signature + message, public) == message

    identity = IdentityKeyPair(seed)
    assert identity.public.to_bytes().hex() == case["public_key"]
    assert identity.sign(message) == signature
    IdentityPublicKey.from_bytes(public).verify(message, signature)


@pytest.mark.parametrize("case", RFC8032, ids=[c["name"] for c in RFC8032])
def test_ed25519_to_x25519_conversion_agrees_on_both_halves(case: dict[str, Any]) -> None:
    # The private map (seed -> X25519 scalar) and the public map (Ed25519 point -> X25519 u) must
    # land on the same key pair, or X3DH's DH1/DH2 would differ between the two parties.
    identity = IdentityKeyPair(h(case["secret_key"]))
    assert identity.dh_key_pair().public == identity.public.x25519()
