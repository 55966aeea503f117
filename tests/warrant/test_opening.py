"""Opening captured traffic end to end: a real relay with --lawful-intercept, real clients sending
warrant-build (enveloped) and standard session messages through it, and every role's command as
its own process (`parley warrant issue | relay activate | capture export | request | share |
open | epoch delete`). One test per property of the design note's table.

The senders build their session messages with the warrant build's own hook
(crypto/warrant_envelope.EnvelopeHook), exactly what a warrant-build client attaches; the honest
recipient checks every envelope before the relay's capture is used.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nacl.bindings as sodium
import nacl.utils
import pytest
from nacl.signing import SigningKey
from parley.app.warrant.authority import load_authority
from parley.crypto.keys import IdentityKeyPair
from parley.crypto.prekeys import PreKeyBundle, SignedPreKey
from parley.crypto.session import Session, accept_session, initiate_session
from parley.crypto.warrant_envelope import EnvelopeHook

from tests.net.conftest import Peer, RelayProcess, message_id
from tests.warrant.conftest import (
    issue,
    make_authority,
    ok,
    refused,
    relay_state,
    wait_until,
)

TRUSTEES = range(1, 6)


@dataclass
class Person:
    identity: IdentityKeyPair = field(default_factory=IdentityKeyPair.generate)

    @property
    def account(self) -> bytes:
        return self.identity.public.to_bytes()

    @property
    def key(self) -> SigningKey:
        return SigningKey(self.identity.seed)


def _hook(authority_dir: Path) -> EnvelopeHook:
    auth = load_authority(authority_dir).envelope_key()
    return EnvelopeHook(
        auth,
        auth.epoch_at(time.time()),
        frozenset(e.number for e in auth.epochs),
        require=True,
    )


def _conversation(
    sender: Person, recipient: Person, texts: list[bytes], hook: EnvelopeHook | None
) -> list[bytes]:
    """The session messages ``sender`` sends, each decrypted (and its envelope checked) by the
    honest recipient before the test relays it."""
    spk = SignedPreKey.generate(recipient.identity, 1, int(time.time()))
    bundle = PreKeyBundle(recipient.identity.public, spk.public(), None)
    session: Session = initiate_session(sender.identity, bundle)
    wires = []
    theirs: Session | None = None
    for text in texts:
        session, wire = session.encrypt(text, hook)
        if theirs is None:
            theirs, plain = accept_session(recipient.identity, spk, None, wire, hook)
        else:
            theirs, plain = theirs.decrypt(wire, hook)
        assert plain == text
        wires.append(wire)
    return wires


async def _relay_all(url: str, batches: list[tuple[Person, Person, list[bytes]]]) -> None:
    peers: dict[bytes, Peer] = {}
    try:
        for sender, recipient, _ in batches:
            for person in (sender, recipient):
                if person.account not in peers:
                    peers[person.account] = await Peer(url, person.key).start()
        expected: dict[bytes, int] = {}
        n = 0
        for sender, recipient, wires in batches:
            for wire in wires:
                n += 1
                await peers[sender.account].client.send(recipient.account, message_id(n), wire)
                expected[recipient.account] = expected.get(recipient.account, 0) + 1
        for account, count in expected.items():
            await peers[account].wait_for(count)
    finally:
        for peer in peers.values():
            await peer.client.close()


@dataclass
class World:
    tmp: Path
    authority: Path
    log: Path
    relay: RelayProcess
    warrant: Path
    export: Path
    target: Person
    friend: Person
    stranger: Person

    def trustee(self, i: int) -> Path:
        return self.authority / f"trustee-{i}.json"

    def log_args(self) -> tuple[str | Path, ...]:
        return ("--log", self.log, "--authority", self.authority)

    def request(self, name: str, *extra: str, warrant: Path | None = None) -> Path:
        out = self.tmp / f"{name}.request.json"
        ok("request", *self.log_args(), "--warrant", warrant or self.warrant,
           "--capture", self.export, *extra, "--out", out)  # fmt: skip
        return out

    def share(self, request: Path, i: int) -> Path:
        out = self.tmp / f"{request.stem}.answer{i}.json"
        ok("share", *self.log_args(), "--trustee", self.trustee(i), "--request", request,
           "--out", out)  # fmt: skip
        return out

    def refused_by_every_trustee(
        self, request: Path, trustees: range | tuple[int, ...] = TRUSTEES
    ) -> list[str]:
        lines = []
        for i in trustees:
            out = self.tmp / f"{request.stem}.refused{i}.json"
            lines.append(refused("share", *self.log_args(), "--trustee", self.trustee(i),
                                 "--request", request, "--out", out))  # fmt: skip
            assert not out.exists()
        return lines

    def open(self, request: Path, answers: list[Path]) -> dict[str, Any]:
        args = [a for p in answers for a in ("--answer", str(p))]
        out = ok("open", *self.log_args(), "--request", request, *args, "--json")
        result: dict[str, Any] = json.loads(out)
        return result


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """One relay, authority, log and warrant; the target talks (warrant build) with a friend, two
    strangers talk too; the capture is exported once."""
    tmp = tmp_path_factory.mktemp("opening")
    authority = make_authority(tmp / "authority")
    log = tmp / "log"
    ok("log", "init", "--log", log, "--authority", authority)
    relay = RelayProcess(tmp / "relay", ["--lawful-intercept", str(authority / "authority.json")])
    relay.data_dir.mkdir()
    relay.start()
    try:
        target, friend, stranger, other = Person(), Person(), Person(), Person()
        now = time.time()
        warrant = issue(authority, log, tmp / "warrant.json", liid="LIID-T",
                        target=target.account, start=now - 60, end=now + 3600)  # fmt: skip
        ok("relay", "activate", "--relay-data", relay.data_dir, "--log", log,
           "--authority", authority, "--warrant", warrant)  # fmt: skip
        wait_until(lambda: relay_state(relay, "LIID-T") == "active")
        hook = _hook(authority)
        asyncio.run(
            _relay_all(
                relay.url,
                [
                    (
                        target,
                        friend,
                        _conversation(target, friend, [b"meet at 6", b"bring it"], hook),
                    ),
                    (friend, target, _conversation(friend, target, [b"ok"], hook)),
                    (stranger, other, _conversation(stranger, other, [b"private"], hook)),
                ],
            )
        )
        export = tmp / "export.json"
        ok("capture", "export", "--relay-data", relay.data_dir, "--liid", "LIID-T", "--out", export)
        assert len(json.loads(export.read_text())["records"]) == 3
        yield World(tmp, authority, log, relay, warrant, export, target, friend, stranger)
    finally:
        relay.kill()


def test_k_trustees_open_and_k_minus_1_do_not(world: World) -> None:
    request = world.request("k")
    answers = [world.share(request, i) for i in (1, 3, 5)]
    result = world.open(request, answers)
    texts = [bytes.fromhex(m["plaintext_hex"]) for m in result["messages"]]
    assert texts == [b"meet at 6", b"bring it", b"ok"]
    assert result["answered_by"] == [1, 3, 5]
    # K - 1 answers: refused, naming how many were missing; nothing is printed.
    line = refused("open", *world.log_args(), "--request", request,
                   "--answer", answers[0], "--answer", answers[1])  # fmt: skip
    assert "Only 2 valid trustee answers, 3 needed" in line
    # Every request and answer is in the public log.
    shown = ok("log", "show", "--log", world.log)
    assert shown.count(" answer ") >= 3 and " request " in shown
    ok("log", "verify", *world.log_args())


def test_a_single_record_is_opened_alone(world: World) -> None:
    request = world.request("one", "--record", "2")
    result = world.open(request, [world.share(request, i) for i in (2, 3, 4)])
    assert len(result["messages"]) == 1
    assert b"bring it" in bytes.fromhex(result["messages"][0]["plaintext_hex"])


def test_cheating_trustee_is_named(world: World) -> None:
    request = world.request("cheat")
    answers = [world.share(request, i) for i in (1, 2, 3, 4)]
    # Trustee 2 answers with another scalar and a proof made with it.
    from parley.crypto import dleq

    forged = json.loads(answers[1].read_text())
    for partial in forged["partials"]:
        wrong = bytes(sodium.crypto_core_ed25519_scalar_reduce(nacl.utils.random(64)))
        point = bytes.fromhex(partial["d"])  # any valid point stands in for R in the forged proof
        partial["d"] = dleq.partial_point(wrong, point).hex()
        partial["proof"] = dleq.prove(wrong, point, bytes.fromhex(partial["d"]), b"x").hex()
    answers[1].write_text(json.dumps(forged))
    result = world.open(request, answers)
    assert result["answered_by"] == [1, 3, 4]
    assert "trustee 2 cheated" in result["cheaters"]["2"]
    line = refused("open", *world.log_args(), "--request", request,
                   *[a for p in answers[:3] for a in ("--answer", str(p))])  # fmt: skip
    assert "trustee 2 cheated" in line and "Only 2 valid" in line


def test_unlogged_request_is_refused_by_every_trustee(world: World) -> None:
    request = world.request("logged")
    forged = json.loads(request.read_text())
    forged["request_id"] = "00" * 32
    forged["entry"]["request_id"] = "00" * 32
    unlogged = world.tmp / "unlogged.request.json"
    unlogged.write_text(json.dumps(forged))
    for line in world.refused_by_every_trustee(unlogged, (1, 5)):
        assert "not in the audit log" in line


def test_request_is_refused_when_the_log_cannot_append(world: World) -> None:
    key = world.log / "log-signing.key"
    saved = key.read_bytes()
    key.unlink()
    out = world.tmp / "never.request.json"
    try:
        line = refused("request", *world.log_args(), "--warrant", world.warrant,
                       "--capture", world.export, "--out", out)  # fmt: skip
    finally:
        key.write_bytes(saved)
    assert "signing key" in line
    assert not out.exists()


def test_bad_relay_signature_is_refused_by_every_trustee(world: World) -> None:
    export = json.loads(world.export.read_text())
    # The agency swaps in another message's content under the first record's attestation.
    export["records"][0]["cc"] = export["records"][1]["cc"]
    tampered = world.tmp / "tampered-export.json"
    tampered.write_text(json.dumps(export))
    out = world.tmp / "tampered.request.json"
    ok("request", *world.log_args(), "--warrant", world.warrant, "--capture", tampered,
       "--record", "1", "--out", out)  # fmt: skip
    for line in world.refused_by_every_trustee(out, (2, 4)):
        assert "Record 1" in line and "not the content the relay signed" in line
    # A forged attestation (another sender written in) fails the relay's signature.
    export = json.loads(world.export.read_text())
    export["records"][0]["attestation"]["sender"] = world.stranger.account.hex()
    tampered.write_text(json.dumps(export))
    out2 = world.tmp / "forged-sender.request.json"
    ok("request", *world.log_args(), "--warrant", world.warrant, "--capture", tampered,
       "--record", "1", "--out", out2)  # fmt: skip
    for line in world.refused_by_every_trustee(out2, (1, 3)):
        assert "signature does not verify" in line


def test_other_target_or_time_is_refused_by_every_trustee(world: World) -> None:
    now = time.time()
    # A logged warrant for someone else: the target's records are not in its scope.
    other = issue(world.authority, world.log, world.tmp / "other.json", liid="LIID-T",
                  target=world.stranger.account, start=now - 60, end=now + 3600)  # fmt: skip
    ok("relay", "activate", "--relay-data", world.relay.data_dir, *world.log_args(),
       "--warrant", other)  # fmt: skip
    request = world.request("other-target", warrant=other)
    for line in world.refused_by_every_trustee(request):
        assert "not a message of the warrant's target" in line
    # The same target and LIID, but a window that ended before the capture (a modified warrant).
    narrow = issue(world.authority, world.log, world.tmp / "narrow.json", liid="LIID-T",
                   target=world.target.account, start=now - 600, end=now - 300)  # fmt: skip
    request = world.request("narrow", warrant=narrow)
    for line in world.refused_by_every_trustee(request):
        assert "outside the warrant's window" in line


def test_standard_build_capture_opens_nothing(world: World, tmp_path: Path) -> None:
    """Standard-build clients attach no envelope: the capture holds ciphertext nobody can open."""
    sender, recipient = Person(), Person()
    now = time.time()
    warrant = issue(world.authority, world.log, tmp_path / "std.json", liid="LIID-STD",
                    target=sender.account, start=now - 60, end=now + 3600)  # fmt: skip
    ok("relay", "activate", "--relay-data", world.relay.data_dir, *world.log_args(),
       "--warrant", warrant)  # fmt: skip
    wait_until(lambda: relay_state(world.relay, "LIID-STD") == "active")
    asyncio.run(
        _relay_all(
            world.relay.url, [(sender, recipient, _conversation(sender, recipient, [b"std"], None))]
        )
    )
    export = tmp_path / "std-export.json"
    ok("capture", "export", "--relay-data", world.relay.data_dir, "--liid", "LIID-STD",
       "--out", export)  # fmt: skip
    records = json.loads(export.read_text())["records"]
    assert len(records) == 1 and b"std" not in bytes.fromhex(records[0]["cc"])
    out = tmp_path / "std.request.json"
    ok("request", *world.log_args(), "--warrant", warrant, "--capture", export, "--out", out)
    for line in world.refused_by_every_trustee(out, (1, 2)):
        assert "no usable warrant envelope" in line


def test_deleted_epoch_cannot_be_opened(tmp_path: Path) -> None:
    """Epochs of 4 seconds: traffic of one epoch opens; after its end every trustee deletes its
    share (logged), and the same capture can no longer be opened by anyone."""
    authority = make_authority(tmp_path / "authority", epochs=60, epoch_days=4 / 86_400,
                               start=time.time() - 8)  # fmt: skip
    log = tmp_path / "log"
    ok("log", "init", "--log", log, "--authority", authority)
    relay = RelayProcess(
        tmp_path / "relay", ["--lawful-intercept", str(authority / "authority.json")]
    )
    relay.data_dir.mkdir()
    relay.start()
    try:
        target, friend = Person(), Person()
        now = time.time()
        warrant = issue(authority, log, tmp_path / "w.json", liid="LIID-E",
                        target=target.account, start=now - 60, end=now + 3600)  # fmt: skip
        ok("relay", "activate", "--relay-data", relay.data_dir, "--log", log,
           "--authority", authority, "--warrant", warrant)  # fmt: skip
        wait_until(lambda: relay_state(relay, "LIID-E") == "active")
        hook = _hook(authority)
        asyncio.run(
            _relay_all(
                relay.url, [(target, friend, _conversation(target, friend, [b"epoch"], hook))]
            )
        )
        export = tmp_path / "export.json"
        ok("capture", "export", "--relay-data", relay.data_dir, "--liid", "LIID-E", "--out", export)
    finally:
        relay.kill()
    cc = bytes.fromhex(json.loads(export.read_text())["records"][0]["cc"])
    from parley.crypto.session import ratchet_message_of
    from parley.crypto.warrant_envelope import parse

    epoch = parse(ratchet_message_of(cc).extension).epoch
    auth_args = ("--log", log, "--authority", authority)
    # Before deletion: still inside its retention period, the trustee refuses to delete.
    line = refused("epoch", "delete", *auth_args, "--trustee", authority / "trustee-1.json",
                   "--epoch", str(epoch), "--retention-days", "1")  # fmt: skip
    assert "retention period" in line
    wait_until(lambda: time.time() >= load_authority(authority).epoch(epoch).end, timeout=10)
    for i in TRUSTEES:
        ok("epoch", "delete", *auth_args, "--trustee", authority / f"trustee-{i}.json",
           "--epoch", str(epoch))  # fmt: skip
    assert ok("log", "show", "--log", log).count("epoch_deleted") == 5
    request = tmp_path / "r.json"
    ok("request", *auth_args, "--warrant", warrant, "--capture", export, "--out", request)
    for i in TRUSTEES:
        line = refused("share", *auth_args, "--trustee", authority / f"trustee-{i}.json",
                       "--request", request, "--out", tmp_path / f"a{i}.json")  # fmt: skip
        assert f"epoch {epoch}" in line and "no longer holds" in line


def test_a_log_forged_without_the_keys_is_refused(world: World, tmp_path: Path) -> None:
    """Someone who can write the log's file but holds neither the authority's nor the log's key
    (say, the LEA) rebuilds it: entry 0 names their own log key, an unlogged request is slipped
    in, every head re-signed with their key. The trustees check entry 0's authority signature."""
    from parley.app.warrant.log import AuditLog

    request = world.request("genuine")
    forged_request = json.loads(request.read_text())
    forged_request["request_id"] = "11" * 32
    forged_request["entry"]["request_id"] = "11" * 32
    bogus = tmp_path / "bogus.request.json"
    bogus.write_text(json.dumps(forged_request))
    mine = SigningKey.generate()
    with AuditLog(world.log) as log:
        entries = [json.loads(data) for _, data in log.entries()]
    entries[0]["log_key"] = bytes(mine.verify_key).hex()
    entries.append(forged_request["entry"])
    forged = tmp_path / "forged-log"
    forged.mkdir()
    (forged / "log-signing.key").write_text(bytes(mine).hex())
    with AuditLog(forged, create=True) as log:
        for entry in entries:
            log.append(entry, mine)
    line = refused("share", "--log", forged, "--authority", world.authority,
                   "--trustee", world.trustee(1), "--request", bogus,
                   "--out", tmp_path / "a1.json")  # fmt: skip
    assert "not signed by this authority" in line
    assert "not signed by this authority" in refused("log", "verify", "--log", forged,
                                                      "--authority", world.authority)  # fmt: skip
