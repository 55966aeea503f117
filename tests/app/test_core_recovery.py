"""Session recovery through a real relay: a wedged direction recovers (a "cannot decrypt" notice,
a fresh session, the undelivered messages sent again), and nobody can forge or replay a notice
to force a reset (docs/protocol.md s5, app/recovery.py)."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from parley.app import recovery
from parley.app.messaging import Pipeline, load_sessions, save_sessions
from parley.app.store import contacts
from parley.crypto import notice as notice_format
from parley.crypto import ratchet
from parley.crypto.keys import IdentityKeyPair
from parley.net.client_types import Delivery

from tests.net.conftest import RelayProcess

from .test_core_fixtures import Person, accept_requests, eventually, incoming, make_person, online

WAIT_S = 30.0


async def statuses(person: Person) -> dict[str, str]:
    [conversation] = await person.messenger.conversations()
    rows = await person.messenger.load_messages(conversation.id, limit=1000)
    return {m.body: m.status for m in rows if m.direction == "out"}


async def _talk(alice: Person, bob: Person) -> str:
    """One message each way, so that both have both chains; returns Alice's conversation id."""
    conversation = (await alice.messenger.conversations())[0].id
    await alice.messenger.send_text(conversation, "hello bob")
    await eventually(lambda: "hello bob" in incoming(bob))
    await accept_requests(bob)  # Alice is a stranger to Bob until he accepts her request
    bob_conversation = (await bob.messenger.conversations())[0].id
    await bob.messenger.send_text(bob_conversation, "hello alice")
    await eventually(lambda: "hello alice" in incoming(alice))
    return conversation


@contextlib.asynccontextmanager
async def over_relay_process(
    tmp_path: Path, args: list[str]
) -> AsyncIterator[tuple[RelayProcess, Person, Person, str]]:
    """A real `parley relay` process run with ``args``, and Alice and Bob talking over it (one
    message each way): (relay, alice, bob, Alice's conversation id). Stopped afterwards."""
    relay = RelayProcess(tmp_path / "relay", args)
    relay.data_dir.mkdir()
    relay.start()
    people: list[Person] = []
    try:
        alice = await make_person(tmp_path, "alice", relay.url)
        bob = await make_person(tmp_path, "bob", relay.url)
        people += [alice, bob]
        await alice.messenger.add_contact((await bob.messenger.my_invite()).code)
        await online(alice, bob)
        yield relay, alice, bob, await _talk(alice, bob)
    finally:
        for person in people:
            await person.messenger.close()
        relay.kill()


async def send_and_settle(
    alice: Person, conversation: str, texts: list[str], settled: tuple[str, ...]
) -> dict[str, str]:
    """Send ``texts``, then wait (bounded) until each has one of the ``settled`` statuses."""
    for text in texts:
        await alice.messenger.send_text(conversation, text)
    for _ in range(int(WAIT_S / 0.1)):
        now = await statuses(alice)
        if all(now.get(t) in settled for t in texts):
            break
        await asyncio.sleep(0.1)
    return now


def _lose(person: Person, count: int) -> None:
    """What a relay that dropped ``count`` of the person's messages leaves behind: the sending
    chain has moved on by ``count`` keys and the recipient got none of them."""
    with person.messenger.store.transaction() as db:
        [contact] = contacts.all_contacts(db)
        [session, *rest] = load_sessions(db, contact.id)
        state = session.ratchet
        chain = state.send_chain
        assert chain is not None
        for _ in range(count):
            chain, _ = ratchet.kdf_chain(chain)
        moved = state._replace(send_chain=chain, send_n=state.send_n + count)
        save_sessions(db, contact.id, [dataclasses.replace(session, ratchet=moved), *rest])


def _session_count(person: Person) -> int:
    db = person.messenger.store.db
    [contact] = contacts.all_contacts(db)
    return len(load_sessions(db, contact.id))


async def test_a_direction_wedged_by_25001_lost_messages_recovers(
    pair: tuple[Person, Person],
) -> None:
    alice, bob = pair
    await online(alice, bob)
    conversation = await _talk(alice, bob)
    _lose(alice, ratchet.MAX_SKIP + 1)
    for n in range(3):
        await alice.messenger.send_text(conversation, f"after the gap {n}")
    # Bob cannot decrypt them (25,001 keys ahead), tells Alice, who starts a fresh session and
    # sends them again: they arrive, in order, once each.
    await eventually(lambda: len(incoming(bob)) == 4, WAIT_S)
    assert incoming(bob) == ["hello bob"] + [f"after the gap {n}" for n in range(3)]
    for _ in range(int(WAIT_S / 0.1)):
        if set((await statuses(alice)).values()) == {"delivered"}:
            break
        await asyncio.sleep(0.1)
    assert set((await statuses(alice)).values()) == {"delivered"}
    assert _session_count(alice) == 2  # one fresh session in front of the wedged one
    # The conversation goes on both ways.
    bob_conversation = (await bob.messenger.conversations())[0].id
    await bob.messenger.send_text(bob_conversation, "welcome back")
    await alice.messenger.send_text(conversation, "thanks")
    await eventually(lambda: "welcome back" in incoming(alice) and "thanks" in incoming(bob))
    assert _session_count(alice) == 2


async def test_a_forged_or_replayed_notice_forces_no_reset(pair: tuple[Person, Person]) -> None:
    alice, bob = pair
    await online(alice, bob)
    conversation = await _talk(alice, bob)
    await bob.messenger.close()  # Bob is away: what Alice sends now stays undelivered
    pending = await alice.messenger.send_text(conversation, "are you there?")
    delivered_id = next(
        m.id for m in await alice.messenger.load_messages(conversation) if m.body == "hello bob"
    )
    alice_key = alice.messenger.identity.public
    bob_identity = bob.messenger.identity
    mallory = IdentityKeyPair.generate()
    carol = IdentityKeyPair.generate().public
    at = 1_790_000_000
    forged = {
        "signed by someone else": notice_format.make_notice(
            mallory, alice_key, bytes.fromhex(pending.id), at
        ),
        "about a message to someone else": notice_format.make_notice(
            bob_identity, carol, bytes.fromhex(pending.id), at
        ),
        "about a message that is not Alice's": notice_format.make_notice(
            bob_identity, alice_key, bytes(16), at
        ),
        "about a delivered message": notice_format.make_notice(
            bob_identity, alice_key, bytes.fromhex(delivered_id), at
        ),
        "a bad signature": notice_format.PREFIX + bytes.fromhex(pending.id) + bytes(8 + 64),
        "truncated": notice_format.PREFIX + bytes.fromhex(pending.id),
    }
    pipeline = alice.messenger.pipeline
    bob_account = bob_identity.public.to_bytes()
    before = alice.messenger.store.db.one("SELECT state FROM sessions")

    async def deliver(payload: bytes) -> None:
        # What a malicious relay can do: hand Alice anything, naming Bob as its sender.
        await pipeline.on_delivery(Delivery(Pipeline.new_message_id(), bob_account, payload, 0.0))

    for payload in forged.values():
        await deliver(payload)
    await asyncio.sleep(0.5)
    assert alice.messenger.store.db.one("SELECT state FROM sessions") == before
    # The genuine notice (Bob's key, Alice's undelivered message) does start a fresh session...
    genuine = notice_format.make_notice(bob_identity, alice_key, bytes.fromhex(pending.id), at)
    await deliver(genuine)
    await eventually(lambda: _session_count(alice) == 2)
    # ...once: its replay changes nothing, and another genuine notice within the reset interval
    # only sends its one message again, in the same fresh session (no loop of new sessions).
    second = await alice.messenger.send_text(conversation, "still there?")
    await deliver(genuine)
    await deliver(notice_format.make_notice(bob_identity, alice_key, bytes.fromhex(second.id), at))
    await asyncio.sleep(0.5)
    assert _session_count(alice) == 2
    # Bob comes back and reads everything in the fresh session.
    await bob.reopen()
    await eventually(lambda: "are you there?" in incoming(bob) and "still there?" in incoming(bob))
    assert incoming(bob).count("are you there?") == 1 and incoming(bob).count("still there?") == 1


def test_notices_go_once_per_message_and_at_most_a_burst_a_minute() -> None:
    limiter = recovery.NoticeLimiter()
    bob, carol = b"b" * 32, b"c" * 32
    assert limiter.allow(bob, bytes(16), 100.0)
    assert not limiter.allow(bob, bytes(16), 100.0)  # the same message never twice
    for n in range(1, recovery.NOTICE_BURST):
        assert limiter.allow(bob, n.to_bytes(16, "big"), 100.0 + n)
    assert not limiter.allow(bob, b"x" * 16, 130.0)  # the burst is spent for this minute
    assert limiter.allow(carol, b"x" * 16, 130.0)  # another sender is not held back
    assert limiter.allow(bob, b"y" * 16, 100.0 + recovery.NOTICE_INTERVAL + 1)


async def test_messages_lost_to_the_relays_expiry_come_back_in_a_fresh_session(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A real `parley relay` process whose time-to-live drops six messages Bob never fetched.

    MAX_SKIP is scaled down to 5 so that six expired messages wedge the direction as 25,001
    would (the relay's expiry is what is under test, not the count)."""
    monkeypatch.setattr(ratchet, "MAX_SKIP", 5)
    offset = tmp_path / "relay-clock-offset"
    offset.write_text("0")
    args = ["--test-clock-offset-file", str(offset)]
    async with over_relay_process(tmp_path, args) as (_relay, alice, bob, conversation):
        await bob.messenger.close()
        lost = [f"lost {n}" for n in range(6)]
        await send_and_settle(alice, conversation, lost, ("sent",))
        offset.write_text(str(15 * 86_400))  # past the 14-day time-to-live
        await asyncio.sleep(2.5)  # the relay reads the offset once a second
        await bob.reopen()
        await asyncio.sleep(1.0)
        assert incoming(bob) == []  # the relay let them expire
        await alice.messenger.send_text(conversation, "after the expiry")
        await eventually(lambda: len(incoming(bob)) == 7, WAIT_S)
        assert incoming(bob) == [*lost, "after the expiry"]


async def test_messages_refused_by_the_relays_quota_come_back_in_a_fresh_session(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A real `parley relay` process with a queue of 3 messages per account: Bob is away, the last
    three or more of Alice's six messages are refused (failed), which skips them in Bob's chain.
    MAX_SKIP is scaled down to 2 so that this wedges the direction as 25,001 lost messages would;
    the fresh session then carries the refused ones too (the relay is restarted with the default
    quota first, so that the resend burst itself fits)."""
    monkeypatch.setattr(ratchet, "MAX_SKIP", 2)
    async with over_relay_process(tmp_path, ["--quota-messages", "3"]) as talk:
        relay, alice, bob, conversation = talk
        await bob.messenger.close()
        texts = [f"while away {n}" for n in range(6)]
        now = await send_and_settle(alice, conversation, texts, ("sent", "failed"))
        # The queue also holds Alice's receipt for "hello alice" if Bob left before it came.
        refused = [t for t in texts if now[t] == "failed"]
        assert len(refused) >= 3 and refused == texts[-len(refused) :]
        # The operator raises the quota (a restart on the same data), so that the resend burst
        # is not refused in turn; Alice's client reconnects by itself.
        relay.kill()
        relay.extra_args = []
        relay.start()
        await alice.messenger.wait_online(WAIT_S)
        await bob.reopen()
        await eventually(lambda: len(incoming(bob)) == 6 - len(refused))  # what the relay kept
        await alice.messenger.send_text(conversation, "back?")
        await eventually(lambda: len(incoming(bob)) == 7, WAIT_S)
        assert sorted(incoming(bob)) == sorted([*texts, "back?"])
        for _ in range(int(WAIT_S / 0.1)):
            if set((await statuses(alice)).values()) == {"delivered"}:
                break
            await asyncio.sleep(0.1)
        assert set((await statuses(alice)).values()) == {"delivered"}
