"""``parley crypto-demo``: two in-process parties run X3DH and talk through the Double Ratchet.

A demonstration of the cryptography alone, for the README and for anyone checking the protocol
by eye: no network, no store, no UI. It prints what each step does and what goes over the wire
(sizes and message types, never key material), including a message delivered out of order and a
replay that is refused. ``--seed`` fixes the randomness so that the output is reproducible.
"""

from __future__ import annotations

import argparse
import hashlib
import time
from collections.abc import Callable, Sequence

import nacl.utils
from parley.crypto.errors import DuplicateMessage
from parley.crypto.keys import IdentityKeyPair
from parley.crypto.prekeys import PreKeyBundle, SignedPreKey, generate_one_time_prekeys
from parley.crypto.session import Session, accept_session, initiate_session, peek_initial

Rng = Callable[[int], bytes]


def _seeded_rng(seed: str) -> Rng:
    """SHA-256 in counter mode: reproducible output for a given seed (never for real keys)."""
    counter = 0

    def rng(n: int) -> bytes:
        nonlocal counter
        out = b""
        while len(out) < n:
            counter += 1
            out += hashlib.sha256(seed.encode() + counter.to_bytes(8, "big")).digest()
        return out[:n]

    return rng


def _describe(wire: bytes) -> str:
    kind = "initial (carries the X3DH header)" if peek_initial(wire) else "normal"
    return f"{len(wire)} bytes, {kind}"


def run(rng: Rng, now: int, say: Callable[[str], None]) -> None:
    """Play the conversation, reporting each step through ``say``.

    Raises:
        CryptoError: only if the cryptography is broken; the demo checks every plaintext.
    """
    alice_id = IdentityKeyPair.generate(rng)
    bob_id = IdentityKeyPair.generate(rng)
    say(f"Alice's identity key: {alice_id.public.fingerprint_hex()[:16]}...")
    say(f"Bob's identity key:   {bob_id.public.fingerprint_hex()[:16]}...")

    signed = SignedPreKey.generate(bob_id, 1, now, rng)
    one_time = generate_one_time_prekeys(1, 1, rng)[0]
    bundle = PreKeyBundle(bob_id.public, signed.public(), one_time.public())
    say("Bob publishes a prekey bundle: signed prekey 1 and one-time prekey 1.")

    alice = initiate_session(alice_id, bundle, rng)
    say("Alice verifies the bundle's signature and runs X3DH (four DH, one HKDF).")

    alice, first = alice.encrypt(b"Hi Bob, it's Alice.")
    alice, second = alice.encrypt(b"Are you there?")
    say(f"Alice -> Bob: message 1, {_describe(first)}")
    say(f"Alice -> Bob: message 2, {_describe(second)}")

    header = peek_initial(second)
    if header is None:  # cannot happen: Alice has not heard back yet
        raise RuntimeError("Alice's message lacks its X3DH header.")
    say(
        f"Message 2 arrives first. Bob reads its X3DH header: signed prekey "
        f"{header.signed_prekey_id}, one-time prekey {header.one_time_prekey_id}."
    )
    bob, text = accept_session(bob_id, signed, one_time, second, rng=rng)
    _show(say, "Bob", text, b"Are you there?")
    say("Bob deletes one-time prekey 1 now that the session is stored.")
    bob, text = bob.decrypt(first, rng=rng)
    _show(say, "Bob (late message 1, from a skipped key)", text, b"Hi Bob, it's Alice.")

    try:
        bob.decrypt(first, rng=rng)
    except DuplicateMessage as exc:
        say(f"A replay of message 1 is refused: {exc}")
    else:
        raise RuntimeError("A replayed message was accepted.")

    bob, reply = bob.encrypt(b"Hello Alice, yes.")
    say(f"Bob -> Alice: {_describe(reply)} (new ratchet key: a DH ratchet step)")
    alice, text = alice.decrypt(reply, rng=rng)
    _show(say, "Alice", text, b"Hello Alice, yes.")

    alice, third = alice.encrypt(b"Great, the ratchet turned.")
    say(f"Alice -> Bob: {_describe(third)}; the X3DH header is no longer sent.")
    bob = Session.from_bytes(bob.to_bytes())
    say("Bob's session goes through its stored form (as after a restart) and carries on.")
    bob, text = bob.decrypt(third, rng=rng)
    _show(say, "Bob", text, b"Great, the ratchet turned.")


def _show(say: Callable[[str], None], who: str, text: bytes, expected: bytes) -> None:
    if text != expected:
        raise RuntimeError(f"{who} decrypted the wrong text.")
    say(f"{who} reads: {text.decode()!r}")


def main(argv: Sequence[str]) -> int:
    """Entry point of ``parley crypto-demo``; returns the process exit code."""
    parser = argparse.ArgumentParser(
        prog="parley crypto-demo",
        description="Two in-process parties run X3DH and exchange messages both ways.",
    )
    parser.add_argument("--seed", help="fix the randomness (reproducible output; demo only)")
    args = parser.parse_args(list(argv))
    rng: Rng = nacl.utils.random if args.seed is None else _seeded_rng(args.seed)
    now = 1_790_000_000 if args.seed is not None else int(time.time())
    run(rng, now, print)
    print("Done: every message decrypted exactly once, on both sides.")
    return 0
