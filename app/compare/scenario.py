"""The scripted conversation, the same on both builds.

Alice and Bob (two user processes of one build) exchange texts and pictures online, then Bob goes
offline and the relay holds Alice's messages until he returns; replies in alternation make the
Double Ratchet take a Diffie-Hellman step at every change of speaker; Bob rotates his signed
prekey halfway and the conversation carries on. Every message is checked at the recipient (its id
and its exact text), and its cost is taken from the sender: the time to encrypt and commit it, the
time until the relay confirmed storing it, and the size of the exact frame the relay received.
"""

from __future__ import annotations

import hashlib
import random
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from parley.app.compare import relay_view
from parley.app.compare.procs import AgentProc
from parley.app.compare.progress import Phase
from parley.app.compare.steps import StepFailed

RECV_TIMEOUT_S = 30.0


@dataclass
class Sent:
    """One message of the script and what the run measured for it."""

    build: str
    sender: str
    recipient: str
    kind: str  # "text" | "picture"
    mode: str  # "online" | "offline"
    id: str
    text: str
    encrypt_ms: float
    stored_ms: float
    frame_bytes: int = 0
    received: bool = False


@dataclass
class Side:
    """One build's half of the run: its two users and everything they did."""

    variant: str
    python: Path
    program: Path
    users: dict[str, AgentProc] = field(default_factory=dict)
    status: dict[str, dict[str, Any]] = field(default_factory=dict)
    sent: list[Sent] = field(default_factory=list)
    seen: dict[str, int] = field(default_factory=dict)
    errors_seen: dict[str, int] = field(default_factory=dict)
    dh_turns: int = 0
    offline_snapshot: dict[str, Any] = field(default_factory=dict)
    rotation: dict[str, Any] = field(default_factory=dict)
    last_sender: str = ""

    def user(self, name: str) -> AgentProc:
        return self.users[name]


def make_picture(path: Path, seed: int) -> Path:
    """A fixed, noisy picture (noise resists compression, like a photo); the same on every run."""
    from PIL import Image

    rng = random.Random(seed)  # noqa: S311 (a fixed test picture, not a secret)
    image = Image.new("RGB", (160, 120))
    image.putdata([(rng.randrange(256), rng.randrange(256), 128) for _ in range(160 * 120)])
    image.save(path, "PNG")
    return path


def token(build: str, index: int) -> str:
    """A message text no one could guess, to search for in what the relay kept."""
    digest = hashlib.sha256(f"{build}:{index}".encode()).hexdigest()[:16]
    return f"Message {index} of the {build} run, marker {digest}"


def send(side: Side, step: str, sender: str, recipient: str, **what: Any) -> Sent:
    agent = side.user(sender)
    answer = agent.call(step, "send", to=recipient, **what)
    record = agent.call(step, "relay_record", id=answer["id"])
    kind = "picture" if what.get("picture") else "text"
    sent = Sent(
        side.variant,
        sender,
        recipient,
        kind,
        "online",
        answer["id"],
        str(what.get("text", "")),
        float(answer["encrypt_ms"]),
        float(answer["stored_ms"]),
        len(record["frame_hex"]) // 2,
    )
    if side.last_sender and side.last_sender != sender:
        side.dh_turns += 1  # a change of speaker: the replier's ratchet takes a DH step
    side.last_sender = sender
    side.sent.append(sent)
    return sent


def receive(side: Side, step: str, recipient: str, expected: list[Sent]) -> None:
    """Wait for ``expected`` at ``recipient``; each must arrive with its exact text."""
    agent = side.user(recipient)
    since = side.seen.get(recipient, 0)
    answer = agent.call(
        step,
        "recv",
        timeout=RECV_TIMEOUT_S + 5,
        count=len(expected),
        since=since,
        errors_since=side.errors_seen.get(recipient, 0),
    )
    got = {m["id"]: m for m in answer["messages"]}
    side.seen[recipient] = since + len(answer["messages"])
    side.errors_seen[recipient] = side.errors_seen.get(recipient, 0) + len(answer["errors"])
    for sent in expected:
        message = got.get(sent.id)
        if message is None:
            errors = "; ".join(answer["errors"]) or "nothing arrived"
            raise StepFailed(step, agent.log, f"{recipient} did not receive {sent.id}: {errors}")
        if sent.kind == "text" and message["body"] != sent.text:
            raise StepFailed(step, agent.log, f"{recipient} received {sent.id} altered")
        sent.received = True


def converse(side: Side, messages: int, work: Path, phase: Phase, step: str) -> None:
    """Run the script on one build; ``messages`` is the number of messages it sends in all."""
    quarter = max(2, messages // 4)
    count = 0

    def text() -> str:
        nonlocal count
        count += 1
        return token(side.variant, count)

    # 1. Online, one direction (the first message also starts the session: X3DH).
    batch = [send(side, step, "Alice", "Bob", text=text()) for _ in range(quarter)]
    receive(side, step, "Bob", batch)
    phase.advance(len(batch))
    # 2. Turns: every change of speaker is a Diffie-Hellman ratchet step.
    speaker, other = "Bob", "Alice"
    for _ in range(quarter):
        receive(side, step, other, [send(side, step, speaker, other, text=text())])
        speaker, other = other, speaker
        phase.advance()
    # 3. A picture each way.
    picture = make_picture(work / f"picture-{side.variant}.png", seed=11)
    receive(side, step, "Bob", [send(side, step, "Alice", "Bob", picture=str(picture))])
    receive(side, step, "Alice", [send(side, step, "Bob", "Alice", picture=str(picture))])
    phase.advance(2)
    # 4. Offline delivery: Bob is away, the relay holds Alice's messages until he is back.
    side.user("Bob").call(step, "offline")
    held = [send(side, step, "Alice", "Bob", text=text()) for _ in range(quarter)]
    for sent in held:
        sent.mode = "offline"
    side.offline_snapshot = relay_view.snapshot(side_relay_dir(side))
    side.user("Bob").call(step, "online")
    receive(side, step, "Bob", held)
    phase.advance(len(held))
    # 5. Bob rotates his signed prekey; the relay must now hand out the new one.
    bob_id = side.status["Bob"]["identity"]
    before = relay_view.snapshot(side_relay_dir(side))["signed_prekeys"].get(bob_id)
    ids = side.user("Bob").call(step, "rotate_spk")
    after = relay_view.snapshot(side_relay_dir(side))["signed_prekeys"].get(bob_id)
    side.rotation = {"key_ids": ids, "relay_before": before, "relay_after": after}
    if before == after:
        raise StepFailed(step, side.user("Bob").log, "the relay still serves the old signed prekey")
    # 6. The rest, in turns again, after the rotation.
    while len(side.sent) < messages:
        receive(side, step, other, [send(side, step, speaker, other, text=text())])
        speaker, other = other, speaker
        phase.advance()


def side_relay_dir(side: Side) -> Path:
    return side.users["Alice"].relay.data


def steal_device(side: Side, name: str, work: Path, step: str) -> Path:
    """Copy ``name``'s profile while the account is closed, as a thief copying a laptop would."""
    agent = side.user(name)
    agent.call(step, "offline")
    stolen = work / f"stolen-{side.variant}-{name.lower()}"
    shutil.copytree(work / f"{side.variant}-{name.lower()}", stolen)
    agent.call(step, "online")
    return stolen
