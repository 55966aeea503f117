"""The warrant build's cost, measured against the standard build in the same run.

* ``pipeline_ratio``: messages per second through the whole pipeline (encrypt + store, a real
  relay on 127.0.0.1, decrypt + store, delivery receipts back), standard build divided by warrant
  build, on the same two accounts and the same conversation (the pipelines' hooks are switched).
  Rounds come in adjacent pairs, one per build, in alternating order; the figure is the median of
  the pairs' ratios, so that load from the rest of the machine, which drifts over minutes, hits
  both sides of each pair alike (``pipeline_*_msgs_per_s`` are each build's best round). Goal
  <= 1.25.
* ``seal_us`` / ``check_us``: one envelope sealed by the sender / rebuilt and compared by the
  recipient (crypto/warrant_envelope.py), best mean over many calls.
* ``extra_bytes``: wire bytes of the same message from the same session state, warrant minus
  standard. Goal <= 100.
* ``open_ms``: one captured message opened with K = 3 of N = 5 trustees' shares (each trustee's
  D_i = w_i·R, Lagrange combination, opening), without the workflow of issue 10. Goal <= 20.

The lawful-interception figures (``capture_overhead_ratio``, ``request_to_open_ms``,
``log_append_us``, ``log_verify_ms_10k`` and their context) come from bench/warrant_intercept.py,
whose docstring says how each is measured.

One JSON line last. PARLEY_BENCH_QUICK=1 runs a small version (tests/test_bench_warrant.py).
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import nacl.pwhash
import nacl.utils
import warrant_intercept
from _common import best_of, emit
from parley.app import build_hooks
from parley.app.account import create_account
from parley.app.events import Event, MessageAdded
from parley.app.warrant import authority as authority_files
from parley.app.warrant import direct_open
from parley.app.warrant.buildconfig import make_config
from parley.crypto.hooks import Parties
from parley.crypto.keys import IdentityKeyPair
from parley.crypto.prekeys import PreKeyBundle, SignedPreKey
from parley.crypto.session import initiate_session
from parley.crypto.warrant_envelope import EnvelopeHook
from parley.net.relay.limits import RelayConfig
from parley.net.relay.server import serve_relay

from parley.variant import STANDARD, BuildConfig

QUICK = os.environ.get("PARLEY_BENCH_QUICK") == "1"
MESSAGES = 20 if QUICK else 200
ROUNDS = 1 if QUICK else 6
CALLS = 50 if QUICK else 2000
OPENS = 5 if QUICK else 200
FAST_KDF = (nacl.pwhash.argon2id.OPSLIMIT_MIN, nacl.pwhash.argon2id.MEMLIMIT_MIN)
PASSPHRASE = "bench passphrase"
TIMEOUT_S = 600.0


def log(message: str) -> None:
    print(f"bench/warrant.py: {message}", file=sys.stderr, flush=True)


async def _round(alice: Any, bob: Any, conversation: str, built: BuildConfig, n: int) -> float:
    for person in (alice, bob):
        person.pipeline.hooks = build_hooks.provider(built)
    received = 0
    done = asyncio.Event()

    def on_event(event: Event) -> None:
        nonlocal received
        if isinstance(event, MessageAdded) and event.message.direction == "in":
            received += 1
            if received == n:
                done.set()

    bob.subscribe(on_event)
    began = time.perf_counter()
    for i in range(n):
        await alice.send_text(conversation, f"message {i} of a round of the warrant bench")
    async with asyncio.timeout(TIMEOUT_S):
        await done.wait()
    elapsed = time.perf_counter() - began
    bob._subscribers.remove(on_event)
    await alice.flush(TIMEOUT_S)
    await bob.flush(TIMEOUT_S)  # the receipts, so that they do not spill into the next round
    return n / elapsed


async def _pipeline(base: Path, warrant: BuildConfig) -> tuple[float, float, float]:
    config = RelayConfig(rate_per_second=0, quota_messages=1 << 20, quota_bytes=1 << 30)
    async with serve_relay("127.0.0.1", 0, base / "relay", config) as relay:
        people = [
            await create_account(
                base / name,
                name,
                relay.url,
                key_storage="passphrase",
                passphrase=PASSPHRASE,
                argon2_limits=FAST_KDF,
            )
            for name in ("alice", "bob")
        ]
        alice, bob = people
        try:
            for person in people:
                person.pipeline.hooks = build_hooks.provider(warrant)
            await alice.add_contact((await bob.my_invite()).code)
            for person in people:
                await person.start()
                await person.wait_online(TIMEOUT_S)
            conversation = (await alice.conversations())[0].id
            await _round(alice, bob, conversation, warrant, 3)  # warm up: session, prekeys
            rates: dict[str, float] = {"standard": 0.0, "warrant": 0.0}
            ratios: list[float] = []
            for number in range(ROUNDS):
                # A pair of adjacent rounds sees the same load from the rest of the machine; the
                # order alternates so that neither build always runs second.
                order = (STANDARD, warrant) if number % 2 == 0 else (warrant, STANDARD)
                pair: dict[str, float] = {}
                for built in order:
                    rate = await _round(alice, bob, conversation, built, MESSAGES)
                    pair[built.variant] = rate
                    rates[built.variant] = max(rates[built.variant], rate)
                    log(f"{built.variant}: {rate:.0f} messages/s")
                ratios.append(pair["standard"] / pair["warrant"])
        finally:
            for person in people:
                await person.close()
    return rates["standard"], rates["warrant"], statistics.median(ratios)


def _envelope_costs(hooks: Any) -> tuple[float, float, int]:
    now = time.time()
    sealer: EnvelopeHook = hooks.for_sending(now)
    checker = hooks.for_receiving(now)
    key, header = nacl.utils.random(32), nacl.utils.random(40)
    parties = Parties(nacl.utils.random(32), nacl.utils.random(32))
    envelope = sealer.seal(key, header, parties)
    seal_s = best_of(lambda: sealer.seal(key, header, parties), repeat=3, number=CALLS)
    check_s = best_of(lambda: checker.check(key, header, parties, envelope), repeat=3, number=CALLS)
    alice, bob = IdentityKeyPair.generate(), IdentityKeyPair.generate()
    spk = SignedPreKey.generate(bob, 1, int(now))
    session = initiate_session(alice, PreKeyBundle(bob.public, spk.public(), None))
    _, plain = session.encrypt(b"the same message")
    _, sealed = session.encrypt(b"the same message", sealer)
    return seal_s * 1e6, check_s * 1e6, len(sealed) - len(plain)


def _open_cost(folder: Path, warrant: BuildConfig, hooks: Any) -> float:
    auth = authority_files.load_authority(folder)
    trustees = [authority_files.load_trustee(folder / f"trustee-{i}.json") for i in (1, 3, 5)]
    alice, bob = IdentityKeyPair.generate(), IdentityKeyPair.generate()
    spk = SignedPreKey.generate(bob, 1, int(time.time()))
    session = initiate_session(alice, PreKeyBundle(bob.public, spk.public(), None))
    _, frame = session.encrypt(b"captured", hooks.for_sending(time.time()))
    sender, recipient = alice.public.to_bytes(), bob.public.to_bytes()
    seconds = best_of(
        lambda: direct_open.open_message(auth, trustees, frame, sender, recipient),
        repeat=3,
        number=OPENS,
    )
    return seconds * 1000


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="parley-bench-warrant-") as name:
        base = Path(name)
        authority_files.init(
            base / "authority", trustees=5, threshold_k=3, epochs=2, start=int(time.time()) - 60
        )
        warrant = make_config("warrant", base / "authority", "strict")
        hooks = build_hooks.provider(warrant)
        seal_us, check_us, extra = _envelope_costs(hooks)
        open_ms = _open_cost(base / "authority", warrant, hooks)
        standard_rate, warrant_rate, ratio = asyncio.run(_pipeline(base, warrant))
    interception = warrant_intercept.figures()
    emit(
        {
            **interception,
            "pipeline_ratio": round(ratio, 3),
            "pipeline_standard_msgs_per_s": round(standard_rate, 1),
            "pipeline_warrant_msgs_per_s": round(warrant_rate, 1),
            "pipeline_messages": MESSAGES,
            "pipeline_rounds": ROUNDS,
            "seal_us": round(seal_us, 1),
            "check_us": round(check_us, 1),
            "extra_bytes": extra,
            "open_ms": round(open_ms, 3),
            "open_k": 3,
            "open_n": 5,
            "quick": int(QUICK),
        }
    )


if __name__ == "__main__":
    main()
