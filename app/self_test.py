"""``parley --self-test``, the core half: does this build of Parley work, end to end, here?

An installed bundle or package runs it to show that everything it needs was packed: a temporary
SQLCipher store (checked to hold no readable SQLite header), a real relay on 127.0.0.1 in the same
process, and two fresh accounts that publish their prekeys, start a session by X3DH and exchange
messages in both directions, so that both sides take several Double Ratchet steps. Nothing touches
the person's profile or keyring (the stores use a throw-away passphrase at Argon2id's minimum cost)
and everything is removed afterwards. The warrant build adds its envelope check
(app/warrant/self_test.py); the user interface adds its own (ui/self_test.py).
"""

from __future__ import annotations

import asyncio
import importlib
import itertools
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import nacl.pwhash
from parley.app.account import create_account
from parley.app.errors import AppError
from parley.app.events import Event, MessageAdded
from parley.app.messenger import Messenger
from parley.app.store.profile import DB_NAME

from parley.variant import config

LOOPBACK = "127.0.0.1"
STEP_TIMEOUT_S = 10.0
# Who sends each message, in order: every change of direction is a DH ratchet step on both sides.
SCRIPT = ("alice", "alice", "bob", "alice", "bob", "bob", "alice")
SQLITE_MAGIC = b"SQLite format 3\x00"
PASSPHRASE = "parley self-test - throw-away"  # noqa: S105 (a temporary store, removed at the end)


class SelfTestFailed(AppError):
    """A step of the self-test did not do what it should; the message says which."""


@dataclass
class Report:
    """What the self-test did, one line per step, for the person who ran it."""

    steps: list[str] = field(default_factory=list)

    def add(self, line: str) -> None:
        self.steps.append(line)


class _Inbox:
    """Incoming messages of one account, awaited one at a time."""

    def __init__(self) -> None:
        self.bodies: list[str] = []
        self._arrived = asyncio.Event()

    def on_event(self, event: Event) -> None:
        if isinstance(event, MessageAdded) and event.message.direction == "in":
            self.bodies.append(event.message.body)
            self._arrived.set()

    async def wait_for(self, count: int) -> None:
        async with asyncio.timeout(STEP_TIMEOUT_S):
            while len(self.bodies) < count:
                self._arrived.clear()
                await self._arrived.wait()


def _check_encrypted(profile: Path) -> None:
    header = (profile / DB_NAME).read_bytes()[: len(SQLITE_MAGIC)]
    if header == SQLITE_MAGIC:
        raise SelfTestFailed(f"the store {profile / DB_NAME} is not encrypted")


async def run_core(report: Report, extra: Callable[[Report], None] | None = None) -> None:
    """Run every core step in a temporary folder; raise SelfTestFailed (or AppError) on failure.

    ``extra`` runs after the messages went through (the warrant build's envelope check).
    """
    from parley.net.relay.server import serve_relay

    with tempfile.TemporaryDirectory(prefix="parley-self-test-") as tmp:
        base = Path(tmp)
        async with serve_relay(LOOPBACK, 0, base / "relay") as relay:
            report.add(f"relay listening on {relay.url}")
            accounts: dict[str, Messenger] = {}
            inboxes = {"alice": _Inbox(), "bob": _Inbox()}
            try:
                for name in ("alice", "bob"):
                    accounts[name] = await create_account(
                        base / name,
                        name.title(),
                        relay.url,
                        key_storage="passphrase",
                        passphrase=PASSPHRASE,
                        argon2_limits=(
                            nacl.pwhash.argon2id.OPSLIMIT_MIN,
                            nacl.pwhash.argon2id.MEMLIMIT_MIN,
                        ),
                    )
                    accounts[name].subscribe(inboxes[name].on_event)
                    _check_encrypted(base / name)
                report.add("two accounts created: encrypted stores, prekeys published")
                await _exchange(accounts, inboxes, report)
                if extra is not None:
                    extra(report)
            finally:
                for messenger in accounts.values():
                    await messenger.close()


async def _exchange(
    accounts: dict[str, Messenger], inboxes: dict[str, _Inbox], report: Report
) -> None:
    alice, bob = accounts["alice"], accounts["bob"]
    await alice.add_contact((await bob.my_invite()).code)
    await bob.add_contact((await alice.my_invite()).code)
    conversations = {
        name: (await messenger.conversations())[0].id for name, messenger in accounts.items()
    }
    expected: dict[str, list[str]] = {"alice": [], "bob": []}
    for number, sender in enumerate(SCRIPT, start=1):
        receiver = "bob" if sender == "alice" else "alice"
        body = f"self-test message {number} from {sender}"
        await accounts[sender].send_text(conversations[sender], body)
        expected[receiver].append(body)
        await inboxes[receiver].wait_for(len(expected[receiver]))
    for name, inbox in inboxes.items():
        if inbox.bodies != expected[name]:
            raise SelfTestFailed(f"{name} received {inbox.bodies!r}, not {expected[name]!r}")
    turns = sum(1 for a, b in itertools.pairwise(SCRIPT) if a != b)
    report.add(
        f"X3DH session and {len(SCRIPT)} messages through the relay "
        f"({turns} changes of direction, each a Double Ratchet step on both sides)"
    )


def _warrant_check() -> Callable[[Report], None] | None:
    """The warrant build's envelope check (its module is absent from the standard build)."""
    if not config().is_warrant:
        return None
    warrant = importlib.import_module("parley.app.warrant.self_test")
    return lambda report: report.add(warrant.check())


def run(extra: Callable[[Report], None] | None = None) -> Report:
    """Run the core self-test on a fresh event loop; returns the report, raises on failure.

    ``extra`` defaults to this build's own additional check (the warrant build's envelope check).
    """
    extra = extra or _warrant_check()
    report = Report()
    started = time.monotonic()
    try:
        asyncio.run(run_core(report, extra))
    except TimeoutError as exc:
        raise SelfTestFailed("a message did not arrive within 10 s") from exc
    report.add(f"core checks took {time.monotonic() - started:.2f} s")
    return report
