"""The lawful-interception figures of bench/warrant.py (issue 10), which adds them to its JSON line.


- ``capture_overhead_ratio``: relay throughput (delivered messages per second, bench/relay.py's
  closed loop and load generator) with ``--lawful-intercept`` and one active warrant for one
  target among ``li_users`` (100) users, over the same relay without the option. The runs
  alternate off, on, off, on (two rounds; one in quick mode) and the best of each counts, so a
  noisy neighbour on the shared machine hurts both alike. ``captured_records`` is what the
  capture store held afterwards (the target's share of the traffic, signed record by record).
- ``request_to_open_ms``: one captured message, K = 3 of N = 5: the LEA's logged request, three
  trustees' checks, answers with DLEQ proofs and log entries, and the LEA's verification,
  combination and decryption, all in this process (no process start-up counted); best of 5.
- ``log_append_us``: one audit-log append (entry, Merkle frontier, signed tree head, SQLite
  commit), mean over ``log_appends`` appends.
- ``log_verify_ms_10k``: ``parley warrant log verify``'s work on a log of ``log_entries`` entries
  (10,000; one in five a warrant commitment whose authority signature is checked), best of 3.

PARLEY_BENCH_QUICK=1 shrinks every count so the test suite can check the output's shape quickly.
"""

from __future__ import annotations

import asyncio
import json
import os
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import relay as relay_bench
from nacl.signing import SigningKey
from parley.app.warrant import audit, hi1, opening
from parley.app.warrant import authority as authority_files
from parley.app.warrant.authority import Authority, load_trustee
from parley.app.warrant.log import AuditLog, load_log_key
from parley.app.warrant.params import load_signing_key
from parley.crypto.keys import IdentityKeyPair
from parley.crypto.prekeys import PreKeyBundle, SignedPreKey
from parley.crypto.session import initiate_session
from parley.crypto.warrant_envelope import EnvelopeHook
from parley.net.relay import capture
from parley.net.relay import lawful_intercept as li

QUICK = os.environ.get("PARLEY_BENCH_QUICK") == "1"
LI_USERS = 8 if QUICK else 100
ROUNDS = 1 if QUICK else 2
LOG_ENTRIES = 500 if QUICK else 10_000
LOG_APPENDS = 100 if QUICK else 2_000


def _setup_authority(folder: Path) -> tuple[Authority, Path]:
    auth = authority_files.init(
        folder / "authority", trustees=5, threshold_k=3, epochs=2, start=int(time.time()) - 60
    )
    log_dir = folder / "log"
    audit.init_log(log_dir, auth, load_signing_key(folder / "authority"))
    return auth, log_dir


def _issue(auth: Authority, folder: Path, log_dir: Path, liid: str, target: bytes) -> li.Json:
    warrant, entry = audit.issue_warrant(
        auth,
        load_signing_key(folder / "authority"),
        liid=liid,
        target=target.hex(),
        start=int(time.time()) - 60,
        end=int(time.time()) + 3600,
    )
    with AuditLog(log_dir) as log:
        log.append(entry, load_log_key(log_dir))
    return warrant


# -- capture overhead -----------------------------------------------------------------------------


def _wait(predicate: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(0.05)


def _active(data_dir: Path) -> bool:
    try:
        status = json.loads((data_dir / capture.LI_DIR / capture.STATUS).read_text())
    except (OSError, ValueError):
        return False
    return any(w["state"] == "active" for w in status["warrants"])


def _records(data_dir: Path) -> int:
    return len(capture.export(data_dir, "BENCH")[1])


async def capture_overhead(folder: Path) -> dict[str, float | int]:
    auth, log_dir = _setup_authority(folder)
    relay_bench.PAIRS = LI_USERS // 2
    keys = [SigningKey.generate() for _ in range(LI_USERS)]
    warrant = _issue(auth, folder, log_dir, "BENCH", bytes(keys[0].verify_key))
    best = {"off": 0.0, "on": 0.0}
    records = 0
    for round_ in range(ROUNDS):
        for mode in ("off", "on"):
            data_dir = folder / f"relay-{mode}-{round_}"
            extra = ["--lawful-intercept", str(folder / "authority" / "authority.json")]
            server = relay_bench.start_relay(data_dir, extra if mode == "on" else ())
            try:
                if mode == "on":
                    with AuditLog(log_dir) as log:
                        hi1.activate(data_dir, log, load_log_key(log_dir), auth, warrant)
                    _wait(partial(_active, data_dir), "the warrant's activation")
                rate, _, _ = await relay_bench.relay_saturation(server, keys)
            finally:
                server.stop()
            best[mode] = max(best[mode], rate)
            if mode == "on":
                records = _records(data_dir)
    return {
        "capture_overhead_ratio": best["on"] / best["off"],
        "capture_off_msgs_per_s": best["off"],
        "capture_on_msgs_per_s": best["on"],
        "captured_records": records,
        "li_users": LI_USERS,
    }


# -- request to open ------------------------------------------------------------------------------


def _captured_message(auth: Authority, relay_key: SigningKey) -> tuple[li.Json, bytes]:
    """One warrant-build session message from a target to a friend, as the relay records it."""
    target, friend = IdentityKeyPair.generate(), IdentityKeyPair.generate()
    key = auth.envelope_key()
    hook = EnvelopeHook(
        key, key.epoch_at(time.time()), frozenset(e.number for e in key.epochs), require=True
    )
    spk = SignedPreKey.generate(friend, 1, int(time.time()))
    session = initiate_session(target, PreKeyBundle(friend.public, spk.public(), None))
    _, wire = session.encrypt(b"bench message", hook)
    body = li.record_body(
        "OPEN",
        sender=target.public.to_bytes(),
        recipient=friend.public.to_bytes(),
        message_id=os.urandom(16),
        arrival_us=int(time.time() * 1e6),
        payload=wire,
        relay_key=bytes(relay_key.verify_key),
    )
    record: li.Json = {"attestation": li.sign(li.RECORD_DOMAIN, body, relay_key), "cc": wire.hex()}
    return record, target.public.to_bytes()


def request_to_open(folder: Path) -> dict[str, float]:
    auth, log_dir = _setup_authority(folder)
    relay_key = SigningKey.generate()
    record, target = _captured_message(auth, relay_key)
    warrant = _issue(auth, folder, log_dir, "OPEN", target)
    log_key = load_log_key(log_dir)
    with AuditLog(log_dir) as log:
        log.append(
            {
                "kind": "hi1",
                "action": "activate",
                "warrant": li.digest(warrant),
                "liid": "OPEN",
                "relay": bytes(relay_key.verify_key).hex(),
                "at": int(time.time()),
            },
            log_key,
        )
    export = {"kind": "capture-export", "liid": "OPEN", "relay": "", "records": [record]}
    trustees = [load_trustee(folder / "authority" / f"trustee-{i}.json") for i in (1, 3, 5)]
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        with AuditLog(log_dir) as log:
            request = opening.make_request(log, log_key, auth, warrant, export, record_numbers=None)
            answers = [opening.answer(log, log_key, auth, t, request) for t in trustees]
            opened = opening.combine_and_open(log, auth, request, answers)
        best = min(best, time.perf_counter() - start)
        if opened.plaintexts[0][1] != b"bench message":
            raise RuntimeError("the opening did not recover the message")
    return {"request_to_open_ms": best * 1000}


# -- the audit log --------------------------------------------------------------------------------


def audit_log(folder: Path) -> dict[str, float | int]:
    auth, log_dir = _setup_authority(folder)
    key = load_signing_key(folder / "authority")
    log_key = load_log_key(log_dir)
    with AuditLog(log_dir) as log:
        start = time.perf_counter()
        for i in range(LOG_APPENDS):
            log.append(
                {
                    "kind": "answer",
                    "request_id": f"{i:064x}",
                    "trustee": 1 + i % 5,
                    "answer_sha256": "cc" * 32,
                    "answered_at": i,
                },
                log_key,
            )
        append_us = (time.perf_counter() - start) / LOG_APPENDS * 1e6
        i = 0
        while log.size < LOG_ENTRIES:
            i += 1
            if i % 5 == 0:
                _, entry = audit.issue_warrant(
                    auth, key, liid=f"L{i}", target="ab" * 32, start=0, end=10
                )
            else:
                entry = {"kind": "request", "request_id": f"{i:064x}", "warrant": "aa" * 32,
                         "records": ["bb" * 32], "filed_at": i}  # fmt: skip
            log.append(entry, log_key)
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        report = audit.verify_log(log_dir, auth)
        best = min(best, time.perf_counter() - start)
    return {
        "log_append_us": append_us,
        "log_verify_ms_10k": best * 1000,
        "log_entries": report.size,
        "log_appends": LOG_APPENDS,
    }


def figures() -> dict[str, float | int]:
    """Every interception figure (bench/warrant.py merges them into its one JSON line)."""
    result: dict[str, float | int] = {}
    with tempfile.TemporaryDirectory(prefix="parley-bench-intercept-") as tmp:
        folder = Path(tmp)
        result.update(audit_log(folder / "log"))
        result.update(request_to_open(folder / "open"))
        result.update(asyncio.run(capture_overhead(folder / "capture")))
    return result
