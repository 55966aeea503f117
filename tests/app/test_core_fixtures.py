"""Shared fixtures and helpers of the core tests: a real in-process relay on 127.0.0.1 port 0 and
accounts with real SQLCipher stores (Argon2id at libsodium's minimum cost to keep the suite fast).

The fixtures ``relay`` and ``pair`` reach every test under tests/app through its conftest.py;
the helpers (``make_person``, ``online``, ``talking``, ``incoming``...) are imported from here.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path

import nacl.pwhash
import pytest
from parley.app.account import create_account, open_account
from parley.app.events import Event, MessageAdded, RequestView
from parley.app.messenger import Messenger
from parley.net.relay.limits import RelayConfig
from parley.net.relay.server import RelayServer, serve_relay

FAST = (nacl.pwhash.argon2id.OPSLIMIT_MIN, nacl.pwhash.argon2id.MEMLIMIT_MIN)
PASSPHRASE = "a test passphrase"
WAIT_S = 20.0


@dataclass
class Person:
    """One account under test, with every event it emitted."""

    profile: Path
    messenger: Messenger
    events: list[Event] = field(default_factory=list)

    def listen(self) -> None:
        self.messenger.subscribe(self.events.append)

    async def reopen(self) -> None:
        await self.messenger.close()
        self.messenger = await open_account(self.profile, passphrase=PASSPHRASE)
        self.events = []
        self.listen()
        await self.messenger.start()
        await self.messenger.wait_online(WAIT_S)


async def make_person(base: Path, name: str, relay_url: str) -> Person:
    messenger = await create_account(
        base / name,
        name,
        relay_url,
        key_storage="passphrase",
        passphrase=PASSPHRASE,
        argon2_limits=FAST,
    )
    person = Person(base / name, messenger)
    person.listen()
    return person


async def eventually(check: Callable[[], object], timeout: float = WAIT_S) -> None:
    """Wait until ``check()`` is truthy (polling the loop), or fail with what it returned."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        if asyncio.get_running_loop().time() > deadline:
            pytest.fail(f"condition not met within {timeout} s")
        await asyncio.sleep(0.02)


async def accept_requests(person: Person) -> None:
    """Accept every message request (a first message from someone the person never added)."""
    for request in await person.messenger.requests():
        await person.messenger.accept_request(request.contact_id)
    await asyncio.sleep(0)  # the held-back receipts start on their way...
    if person.messenger._client is not None:
        await person.messenger.flush(WAIT_S)  # ...and reach the relay before the test goes on


def incoming(person: Person, *, system: bool = False) -> list[str]:
    """The bodies of the messages that reached ``person``, in order (the app's own system lines
    too when ``system``)."""
    return [
        e.message.body
        for e in person.events
        if isinstance(e, MessageAdded)
        and e.message.direction == "in"
        and (system or e.message.kind == "message")
    ]


async def online(*people: Person) -> None:
    """Connect each to the relay and wait until it is logged in."""
    for person in people:
        await person.messenger.start()
        await person.messenger.wait_online(WAIT_S)


async def blocked_request(stranger: Person, person: Person) -> tuple[str, RequestView]:
    """Both online; ``stranger`` (whom ``person`` never added) sends "first", which arrives as a
    message request, and ``person`` blocks it. Returns the stranger's conversation id and the
    request as it was before the block."""
    await online(stranger, person)
    conversation = (await stranger.messenger.conversations())[0].id
    await stranger.messenger.send_text(conversation, "first")
    await eventually(lambda: incoming(person) == ["first"])
    [request] = await person.messenger.requests()
    await person.messenger.block(request.contact_id)
    return conversation, request


async def talking(
    pair: tuple[Person, Person], greeting: str = "hi, bob"
) -> tuple[Person, Person, str, str]:
    """Both online, Alice greets Bob and Bob accepts her request:
    (alice, bob, Alice's conversation id, Bob's conversation id)."""
    alice, bob = pair
    await online(alice, bob)
    mine = (await alice.messenger.conversations())[0].id
    await alice.messenger.send_text(mine, greeting)
    await eventually(lambda: greeting in incoming(bob))
    await accept_requests(bob)
    return alice, bob, mine, (await bob.messenger.conversations())[0].id


@pytest.fixture(name="relay")
async def relay_fixture(tmp_path: Path) -> AsyncIterator[RelayServer]:
    # These tests drain prekey stocks on purpose; the relay's fetch limits have their own tests
    # (tests/net/test_client.py), so they are off here.
    config = RelayConfig(otk_per_requester=0, otk_per_target=0, otk_pair_interval=0)
    async with serve_relay("127.0.0.1", 0, tmp_path / "relay", config) as server:
        yield server


@pytest.fixture(name="pair")
async def pair_fixture(tmp_path: Path, relay: RelayServer) -> AsyncIterator[tuple[Person, Person]]:
    """Alice and Bob on the relay; Alice has added Bob's invite (Bob does not know her yet)."""
    alice = await make_person(tmp_path, "alice", relay.url)
    bob = await make_person(tmp_path, "bob", relay.url)
    invite = await bob.messenger.my_invite()
    await alice.messenger.add_contact(invite.code)
    try:
        yield alice, bob
    finally:
        await alice.messenger.close()
        await bob.messenger.close()
