"""Parley's cryptography against the raw libsodium/hashlib calls it is made of, in the same run.

Why ratios: absolute microseconds depend on the machine; the ratio to the primitives underneath
says what Parley's Python around them costs. Every figure is the best mean of several rounds
(bench/_common.best_of). The ratchet state is immutable, so the same state can encrypt or decrypt
the same message again and again: each timed call does exactly one steady-state step or one DH step.

Figures (one JSON line, last):

- ``steady_encrypt_ratio``, ``steady_decrypt_ratio``: ``ratchet.encrypt``, ``ratchet.decrypt`` of a
  256-byte message on an established chain, over ONE raw XChaCha20-Poly1305 encryption of the
  same 256 bytes (``raw_aead_256_us``). The ratchet does that AEAD call plus four HMAC-SHA256
  computations (chain step and the key/nonce expansion), so 1.0 is unreachable by construction.
- ``dh_step_ratio``: decrypting the first message of a new chain (a DH ratchet step: X25519 key
  generation, two X25519, two HKDF, then the chain step and the AEAD) over the same raw calls made
  directly.
- ``x3dh_ratio``: ``x3dh.initiate`` plus ``x3dh.respond`` over their raw calls (Ed25519 signature
  check, key conversions, key generation, eight X25519, two HKDF).
- ``jump_max_ms``, ``jump_ratio``: decrypting a message that arrives after ``ratchet.MAX_SKIP``
  (25,000) lost messages of its chain, the longest jump accepted; the ratio is over the raw calls
  the same work needs (one one-shot HMAC per key stepped over, two HMACs per key kept, one AEAD).
  ``jump_1000_ms``: the same after 1,000 lost messages (the old bound).
- absolute ``*_us``: microseconds per call.

PARLEY_BENCH_QUICK=1 shrinks the iteration counts so the test suite can check the output's shape.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import platform
from collections.abc import Callable

from _common import best_of, emit
from nacl.bindings import (
    crypto_aead_xchacha20poly1305_ietf_decrypt,
    crypto_aead_xchacha20poly1305_ietf_encrypt,
    crypto_scalarmult,
    crypto_scalarmult_base,
    crypto_sign_ed25519_pk_to_curve25519,
    crypto_sign_ed25519_sk_to_curve25519,
    crypto_sign_open,
    crypto_sign_seed_keypair,
)
from nacl.utils import random
from parley.crypto import ratchet, x3dh
from parley.crypto.kdf import hkdf_sha256, hmac_sha256
from parley.crypto.keys import DHKeyPair, IdentityKeyPair
from parley.crypto.prekeys import (
    PreKeyBundle,
    SignedPreKey,
    generate_one_time_prekeys,
    signed_prekey_message,
)

QUICK = os.environ.get("PARLEY_BENCH_QUICK") == "1"
NUMBER = 20 if QUICK else 500  # calls per round for the cheap operations
SLOW_NUMBER = 5 if QUICK else 40  # calls per round for the ones doing X25519
REPEAT = 2 if QUICK else 41  # many short rounds: the best of them dodges bursts of other load
AD = bytes(64)


def _us(func: Callable[[], object], number: int = NUMBER) -> float:
    return best_of(func, repeat=REPEAT, number=number) * 1e6


def _pair_us(
    ours: Callable[[], object], raw: Callable[[], object], number: int
) -> tuple[float, float]:
    """Best microseconds of each, measured in alternating rounds.

    Other work on the machine comes and goes; alternating the rounds lets both sides of a ratio
    see the same conditions, which matters more than the absolute figures.
    """
    best_ours = best_raw = float("inf")
    for _ in range(REPEAT):
        best_ours = min(best_ours, best_of(ours, repeat=1, number=number))
        best_raw = min(best_raw, best_of(raw, repeat=1, number=number))
    return best_ours * 1e6, best_raw * 1e6


def _conversation() -> tuple[ratchet.RatchetState, ratchet.RatchetState]:
    """Alice and Bob after one message each way, so both have both chains."""
    prekey = DHKeyPair.generate()
    secret = random(32)
    alice = ratchet.initialise_sender(secret, prekey.public)
    bob = ratchet.initialise_receiver(secret, prekey)
    alice, message = ratchet.encrypt(alice, b"hello", AD)
    bob, _ = ratchet.decrypt(bob, message, AD)
    bob, message = ratchet.encrypt(bob, b"hello", AD)
    alice, _ = ratchet.decrypt(alice, message, AD)
    return alice, bob


def steady(size: int) -> tuple[float, float, float]:
    """Microseconds of a steady-state encrypt, a decrypt and one raw AEAD call, ``size`` bytes.

    Alice's first message after Bob's reply starts her new chain (Bob's decrypt of it is a DH
    step); the second one is on that chain, so decrypting it is the steady state.
    """
    alice, bob = _conversation()
    payload = os.urandom(size)
    alice, first = ratchet.encrypt(alice, payload, AD)
    bob, _ = ratchet.decrypt(bob, first, AD)
    _, message = ratchet.encrypt(alice, payload, AD)
    key, nonce = os.urandom(32), os.urandom(24)

    def raw() -> bytes:
        return crypto_aead_xchacha20poly1305_ietf_encrypt(payload, AD, nonce, key)

    encrypt_us, raw_us = _pair_us(lambda: ratchet.encrypt(alice, payload, AD), raw, NUMBER)
    decrypt_us, raw_again_us = _pair_us(lambda: ratchet.decrypt(bob, message, AD), raw, NUMBER)
    return encrypt_us, decrypt_us, min(raw_us, raw_again_us)


def dh_step() -> tuple[float, float]:
    """(Parley, raw) microseconds of decrypting a message that carries a new ratchet key."""
    alice, bob = _conversation()
    alice, message = ratchet.encrypt(alice, b"x" * 256, AD)
    bob, _ = ratchet.decrypt(bob, message, AD)
    bob, reply = ratchet.encrypt(bob, b"y" * 256, AD)  # Bob's new ratchet key

    own_private, their_public, root = alice.dh_self.private, reply.dh, alice.root_key
    aad = AD + reply.header_bytes() + b"\x00\x00"
    key, nonce = os.urandom(32), os.urandom(24)
    ciphertext = crypto_aead_xchacha20poly1305_ietf_encrypt(b"y" * 256, aad, nonce, key)

    def raw() -> None:
        okm = hkdf_sha256(
            crypto_scalarmult(own_private, their_public), salt=root, info=b"i", length=64
        )
        new_private = random(32)
        crypto_scalarmult_base(new_private)
        hkdf_sha256(
            crypto_scalarmult(new_private, their_public), salt=okm[:32], info=b"i", length=64
        )
        chain = okm[32:]
        message_key = hmac_sha256(chain, b"\x01")
        hmac_sha256(chain, b"\x02")
        t1 = hmac_sha256(message_key, b"info\x01")
        hmac_sha256(message_key, t1 + b"info\x02")
        crypto_aead_xchacha20poly1305_ietf_decrypt(ciphertext, aad, nonce, key)

    return _pair_us(lambda: ratchet.decrypt(alice, reply, AD), raw, SLOW_NUMBER)


def jump(lost: int) -> tuple[float, float]:
    """(Parley, raw) milliseconds of decrypting a message sent after ``lost`` lost ones."""
    alice, bob = _conversation()
    alice, first = ratchet.encrypt(alice, b"x" * 256, AD)
    bob, _ = ratchet.decrypt(bob, first, AD)
    chain = alice.send_chain
    assert chain is not None
    for _ in range(lost):
        chain, _ = ratchet.kdf_chain(chain)
    _, message = ratchet.encrypt(alice._replace(send_chain=chain, send_n=1 + lost), b"y" * 256, AD)
    kept = min(lost, ratchet.MAX_SKIPPED_TOTAL)
    start = bob.recv_chain
    assert start is not None
    key, nonce = os.urandom(32), os.urandom(24)
    ciphertext = crypto_aead_xchacha20poly1305_ietf_encrypt(b"y" * 256, AD, nonce, key)

    def raw() -> None:
        chain = start
        for _ in range(lost - kept):
            chain = hmac.digest(chain, b"\x02", "sha256")
        for _ in range(kept + 1):
            hmac.digest(chain, b"\x01", "sha256")
            chain = hmac.digest(chain, b"\x02", "sha256")
        crypto_aead_xchacha20poly1305_ietf_decrypt(ciphertext, AD, nonce, key)

    number = 1 if QUICK else 3
    ours_us, raw_us = _pair_us(lambda: ratchet.decrypt(bob, message, AD), raw, number)
    return ours_us / 1000, raw_us / 1000


def handshake() -> tuple[float, float]:
    """(Parley, raw) microseconds of X3DH initiate plus respond, with a one-time prekey."""
    alice, bob = IdentityKeyPair.generate(), IdentityKeyPair.generate()
    signed = SignedPreKey.generate(bob, 1, 1_790_000_000)
    one_time = generate_one_time_prekeys(1, 1)[0]
    bundle = PreKeyBundle(bob.public, signed.public(), one_time.public())
    header = x3dh.initiate(alice, bundle).header

    spk_private, spk_public = signed.key_pair.private, signed.key_pair.public

    def parley() -> None:
        x3dh.initiate(alice, bundle)
        x3dh.respond(bob, signed, one_time, header)

    signed_message = signed_prekey_message(signed.id, signed.created_at, spk_public)
    signature = signed.signature
    bob_ed, alice_ed = bob.public.to_bytes(), alice.public.to_bytes()
    alice_sk = crypto_sign_seed_keypair(alice.seed)[1]
    bob_sk = crypto_sign_seed_keypair(bob.seed)[1]
    opk_private, opk_public = one_time.key_pair.private, one_time.key_pair.public

    def raw() -> None:
        # initiate: verify the bundle, convert keys, make the ephemeral key, four DH, HKDF
        crypto_sign_open(signature + signed_message, bob_ed)
        ik_a = crypto_sign_ed25519_sk_to_curve25519(alice_sk)
        crypto_scalarmult_base(ik_a)
        ephemeral = random(32)
        ek_pub = crypto_scalarmult_base(ephemeral)
        ik_b_pub = crypto_sign_ed25519_pk_to_curve25519(bob_ed)
        outputs = (
            crypto_scalarmult(ik_a, spk_public),
            crypto_scalarmult(ephemeral, ik_b_pub),
            crypto_scalarmult(ephemeral, spk_public),
            crypto_scalarmult(ephemeral, opk_public),
        )
        hkdf_sha256(b"\xff" * 32 + b"".join(outputs), salt=bytes(32), info=b"i", length=32)
        # respond: convert keys, four DH, HKDF
        ik_b = crypto_sign_ed25519_sk_to_curve25519(bob_sk)
        crypto_scalarmult_base(ik_b)
        ik_a_pub = crypto_sign_ed25519_pk_to_curve25519(alice_ed)
        outputs = (
            crypto_scalarmult(spk_private, ik_a_pub),
            crypto_scalarmult(ik_b, ek_pub),
            crypto_scalarmult(spk_private, ek_pub),
            crypto_scalarmult(opk_private, ek_pub),
        )
        hkdf_sha256(b"\xff" * 32 + b"".join(outputs), salt=bytes(32), info=b"i", length=32)

    return _pair_us(parley, raw, SLOW_NUMBER)


def main() -> None:
    print(f"Parley crypto bench on {platform.python_implementation()} {platform.python_version()}")
    encrypt_256, decrypt_256, raw_256 = steady(256)
    encrypt_1k, decrypt_1k, raw_1k = steady(1024)
    step_us, step_raw_us = dh_step()
    x3dh_us, x3dh_raw_us = handshake()
    jump_max_ms, jump_raw_ms = jump(ratchet.MAX_SKIP)
    jump_1000_ms, _ = jump(1000)
    print(f"raw XChaCha20-Poly1305, 256 B   {raw_256:8.2f} us")
    print(f"ratchet encrypt 256 B           {encrypt_256:8.2f} us  ({encrypt_256 / raw_256:.2f}x)")
    print(f"ratchet decrypt 256 B           {decrypt_256:8.2f} us  ({decrypt_256 / raw_256:.2f}x)")
    print(f"raw XChaCha20-Poly1305, 1 KiB   {raw_1k:8.2f} us")
    print(f"ratchet encrypt / decrypt 1 KiB {encrypt_1k:8.2f} / {decrypt_1k:.2f} us")
    print(f"DH ratchet step                 {step_us:8.2f} us  (raw calls {step_raw_us:.2f} us)")
    print(f"X3DH initiate + respond         {x3dh_us:8.2f} us  (raw calls {x3dh_raw_us:.2f} us)")
    print(
        f"decrypt after {ratchet.MAX_SKIP} lost        {jump_max_ms:8.2f} ms  "
        f"(raw calls {jump_raw_ms:.2f} ms); after 1000 lost {jump_1000_ms:.2f} ms"
    )
    print(f"hashlib backend: {hashlib.sha256().name}; quick mode: {QUICK}")
    emit(
        {
            "steady_encrypt_ratio": round(encrypt_256 / raw_256, 3),
            "steady_decrypt_ratio": round(decrypt_256 / raw_256, 3),
            "dh_step_ratio": round(step_us / step_raw_us, 3),
            "x3dh_ratio": round(x3dh_us / x3dh_raw_us, 3),
            "encrypt_256_us": round(encrypt_256, 3),
            "decrypt_256_us": round(decrypt_256, 3),
            "encrypt_1k_us": round(encrypt_1k, 3),
            "decrypt_1k_us": round(decrypt_1k, 3),
            "dh_step_us": round(step_us, 3),
            "x3dh_us": round(x3dh_us, 3),
            "raw_aead_256_us": round(raw_256, 3),
            "jump_max_ms": round(jump_max_ms, 3),
            "jump_ratio": round(jump_max_ms / jump_raw_ms, 3),
            "jump_1000_ms": round(jump_1000_ms, 3),
            "quick": int(QUICK),
        }
    )


if __name__ == "__main__":
    main()
