"""X3DH against an independent implementation: the PyPI package ``x3dh`` (python-x3dh).

python-x3dh can be configured to match Parley almost entirely: Ed25519 identity keys
(``IdentityKeyFormat.ED_25519``, converted to X25519 for DH exactly as Parley does), SHA-256,
Parley's info string, the 32-byte 0xFF prefix and zero salt, and an ``_encode_public_key`` hook
that decides both what the signed prekey signature covers and how identity keys enter the
associated data. Two differences remain, bridged here and nowhere else:

- Parley signs ``domain || id || created_at || key`` rather than ``Encode(key)``; the hook returns
  that message for a fixed id and creation time, so both libraries sign and verify the same bytes.
- python-x3dh names prekeys by their public keys and has no ids, and its headers and bundles are
  Python tuples, not bytes; the test translates ids <-> keys and compares SK and AD, the values
  that must agree bit for bit.

The agreement is run in both directions, and the KDF alone is compared on random DH outputs.

The reference is configured with the specification's literal constants (docs/protocol.md s2 and
s3: the info string and the signed prekey message), written here and never imported from the
code under test, so a changed constant in crypto/ fails these tests.
"""

from __future__ import annotations

import asyncio
import struct

import pytest
import x3dh
from hypothesis import given, settings
from hypothesis import strategies as st
from parley.crypto.errors import InvalidSignature
from parley.crypto.keys import IdentityKeyPair
from parley.crypto.prekeys import (
    OneTimePreKey,
    OneTimePreKeyPublic,
    PreKeyBundle,
    SignedPreKey,
    SignedPreKeyPublic,
    generate_one_time_prekeys,
)
from parley.crypto.x3dh import X3DHHeader, derive_shared_secret, initiate, respond
from x3dh.crypto_provider import HashFunction
from x3dh.crypto_provider_cryptography import CryptoProviderImpl
from x3dh.identity_key_pair import IdentityKeyPairSeed
from x3dh.pre_key_pair import PreKeyPair

from .vectors_util import fixed_rng

SPK_ID = 1
SPK_CREATED_AT = 1_700_000_000
# The specification's constants (docs/protocol.md s2, s3), pinned here on purpose.
SPEC_KDF_INFO = b"Parley X3DH v1"
SPEC_SPK_DOMAIN = b"Parley signed prekey v1\x00"


def spec_signed_prekey_message(prekey_id: int, created_at: int, public: bytes) -> bytes:
    """SPKMessage = "Parley signed prekey v1" || 0x00 || u32 id || u64 created_at || SPK_pub."""
    return SPEC_SPK_DOMAIN + struct.pack(">IQ", prekey_id, created_at) + public


class ParleyCompatibleState(x3dh.BaseState):
    """python-x3dh configured with Parley's encodings (see the module docstring)."""

    @staticmethod
    def _encode_public_key(key_format: x3dh.IdentityKeyFormat, pub: bytes) -> bytes:
        if key_format is x3dh.IdentityKeyFormat.CURVE_25519:  # only ever used for the signed prekey
            return spec_signed_prekey_message(SPK_ID, SPK_CREATED_AT, pub)
        return pub  # identity keys enter AD as the raw 32-byte Ed25519 key, as in Parley


def reference_state(identity: IdentityKeyPair) -> ParleyCompatibleState:
    state = ParleyCompatibleState.create(
        x3dh.IdentityKeyFormat.ED_25519,
        x3dh.HashFunction.SHA_256,
        SPEC_KDF_INFO,
        IdentityKeyPairSeed(identity.to_bytes()),
    )
    assert isinstance(state, ParleyCompatibleState)
    return state


@pytest.mark.parametrize("use_one_time", [True, False])
def test_reference_initiator_parley_responder(use_one_time: bool) -> None:
    alice = IdentityKeyPair.generate(fixed_rng(b"diff alice"))
    bob = IdentityKeyPair.generate(fixed_rng(b"diff bob"))
    signed = SignedPreKey.generate(bob, SPK_ID, SPK_CREATED_AT, fixed_rng(b"diff spk"))
    (one_time,) = generate_one_time_prekeys(42, 1, fixed_rng(b"diff otpk"))
    reference_bundle = x3dh.Bundle(
        identity_key=bob.public.to_bytes(),
        signed_pre_key=signed.key_pair.public,
        signed_pre_key_sig=signed.signature,
        pre_keys=frozenset({one_time.key_pair.public} if use_one_time else set()),
    )
    secret, ad, header = asyncio.run(
        reference_state(alice).get_shared_secret_active(
            reference_bundle, require_pre_key=use_one_time
        )
    )
    assert header.signed_pre_key == signed.key_pair.public
    parley_header = X3DHHeader.from_bytes(
        X3DHHeader(
            identity_key=alice.public,
            ephemeral_key=header.ephemeral_key,
            signed_prekey_id=SPK_ID,
            one_time_prekey_id=one_time.id if header.pre_key is not None else None,
        ).to_bytes()
    )
    assert header.identity_key == alice.public.to_bytes()
    response = respond(bob, signed, one_time if use_one_time else None, parley_header)
    assert response.shared_secret == secret
    assert response.associated_data == ad


@pytest.mark.parametrize("use_one_time", [True, False])
def test_parley_initiator_reference_responder(use_one_time: bool) -> None:
    alice = IdentityKeyPair.generate(fixed_rng(b"diff alice 2"))
    bob = IdentityKeyPair.generate(fixed_rng(b"diff bob 2"))
    bob_state = reference_state(bob)
    bob_state.generate_pre_keys(1)
    published = bob_state.bundle
    (one_time_public,) = published.pre_keys
    bundle = PreKeyBundle(
        identity_key=bob.public,
        # python-x3dh's own signature (by its own Ed25519 signer) must verify under Parley's rules.
        signed_prekey=SignedPreKeyPublic(
            SPK_ID, published.signed_pre_key, published.signed_pre_key_sig, SPK_CREATED_AT
        ),
        one_time_prekey=OneTimePreKeyPublic(9, one_time_public) if use_one_time else None,
    )
    initiation = initiate(alice, bundle, fixed_rng(b"diff ephemeral"))
    reference_header = x3dh.Header(
        identity_key=initiation.header.identity_key.to_bytes(),
        ephemeral_key=initiation.header.ephemeral_key,
        signed_pre_key=initiation.their_signed_prekey,
        pre_key=one_time_public if initiation.header.one_time_prekey_id is not None else None,
    )
    secret, ad, _ = asyncio.run(
        bob_state.get_shared_secret_passive(reference_header, require_pre_key=use_one_time)
    )
    assert initiation.shared_secret == secret
    assert initiation.associated_data == ad


def test_signatures_are_interchangeable() -> None:
    # python-x3dh signs with its own Ed25519 code (xeddsa); Parley verifies those signatures, and a
    # tampered one fails under both.
    bob = IdentityKeyPair.generate(fixed_rng(b"diff signer"))
    published = reference_state(bob).bundle
    good = SignedPreKeyPublic(
        SPK_ID, published.signed_pre_key, published.signed_pre_key_sig, SPK_CREATED_AT
    )
    good.verify(bob.public)
    relabelled = SignedPreKeyPublic(
        SPK_ID + 1, published.signed_pre_key, published.signed_pre_key_sig, SPK_CREATED_AT
    )
    with pytest.raises(InvalidSignature, match="not signed by this identity"):
        relabelled.verify(bob.public)


@settings(max_examples=50, deadline=None)
@given(
    dh_outputs=st.lists(st.binary(min_size=32, max_size=32), min_size=3, max_size=4),
)
def test_kdf_matches_on_random_dh_outputs(dh_outputs: list[bytes]) -> None:
    reference = asyncio.run(
        CryptoProviderImpl.hkdf_derive(
            HashFunction.SHA_256, 32, bytes(32), SPEC_KDF_INFO, b"\xff" * 32 + b"".join(dh_outputs)
        )
    )
    assert derive_shared_secret(tuple(dh_outputs)) == reference


def test_one_time_prekey_private_form_is_what_reference_uses() -> None:
    # Both libraries derive an X25519 public key from the same 32 private bytes.
    (key,) = generate_one_time_prekeys(1, 1, fixed_rng(b"diff pk"))
    assert PreKeyPair(priv=key.key_pair.private).pub == key.key_pair.public
    assert OneTimePreKey.from_bytes(key.to_bytes()) == key
