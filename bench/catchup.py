"""Catch-up throughput: queued messages through a real relay, decrypted and stored.

``measure_catchup(count)``: Alice sends ``count`` messages to Bob while Bob is offline (through a
relay running in-process on 127.0.0.1 with rate limits and quotas lifted); then Bob's messenger
starts and the clock runs from its ``start()`` until the last message is committed to his
SQLCipher store (decrypted, stored with its session state, acknowledged in batches). The figure is
messages per second over that span, connection and login included. Sending is not timed.

Run alone it prints one JSON line last: ``{"catchup_messages": N, "catchup_msgs_per_s": R}``;
PARLEY_BENCH_QUICK=1 uses 200 messages instead of 10,000.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

import nacl.pwhash
from _common import emit
from parley.app.account import create_account, open_account
from parley.app.events import Event, MessageAdded
from parley.net.relay.limits import RelayConfig
from parley.net.relay.server import serve_relay

FULL = 10_000
QUICK = 200
SEND_CONCURRENCY = 256
FAST_KDF = (nacl.pwhash.argon2id.OPSLIMIT_MIN, nacl.pwhash.argon2id.MEMLIMIT_MIN)
PASSPHRASE = "bench passphrase"
TIMEOUT_S = 600.0


def log(message: str) -> None:
    print(f"bench/catchup.py: {message}", file=sys.stderr, flush=True)


async def _measure(count: int, base: Path) -> float:
    config = RelayConfig(
        rate_per_second=0, quota_messages=count + 100, quota_bytes=count * 4096 + (1 << 20)
    )
    async with serve_relay("127.0.0.1", 0, base / "relay", config) as relay:
        people = []
        for name in ("alice", "bob"):
            people.append(
                await create_account(
                    base / name,
                    name,
                    relay.url,
                    key_storage="passphrase",
                    passphrase=PASSPHRASE,
                    argon2_limits=FAST_KDF,
                )
            )
        alice, bob = people
        invite = await bob.my_invite()
        await bob.close()  # offline while the backlog builds up
        await alice.add_contact(invite.code)
        conversation = (await alice.conversations())[0].id
        for start in range(0, count, SEND_CONCURRENCY):
            for n in range(start, min(count, start + SEND_CONCURRENCY)):
                await alice.send_text(conversation, f"backlog message {n}")
            await alice.flush(TIMEOUT_S)
        await alice.close()
        log(f"{count} messages queued on the relay")
        bob = await open_account(base / "bob", passphrase=PASSPHRASE)
        received = 0
        done = asyncio.Event()

        def on_event(event: Event) -> None:
            nonlocal received
            if isinstance(event, MessageAdded):
                received += 1
                if received == count:
                    done.set()

        bob.subscribe(on_event)
        began = time.perf_counter()
        await bob.start()
        async with asyncio.timeout(TIMEOUT_S):
            await done.wait()
        elapsed = time.perf_counter() - began
        await bob.close()
    return count / elapsed


def measure_catchup(count: int) -> float:
    """Messages per second for Bob to catch up on ``count`` queued messages (see module doc)."""
    with tempfile.TemporaryDirectory(prefix="parley-bench-catchup-") as folder:
        return asyncio.run(_measure(count, Path(folder)))


def main() -> None:
    count = QUICK if os.environ.get("PARLEY_BENCH_QUICK") == "1" else FULL
    rate = measure_catchup(count)
    emit({"catchup_messages": count, "catchup_msgs_per_s": round(rate, 1)})


if __name__ == "__main__":
    main()
