"""Unblocking through a real relay: an identity goes back to exactly what it was when it was
blocked (a request stays a request, a contact keeps its key and verification), what it sent
while blocked stays dropped (even when a relay that kept it plays it again), and the key-change
rules still hold for an unblocked contact."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from parley.app.errors import ContactExists, ContactNotFound, NotBlocked, SendBlocked
from parley.app.events import ContactKeyChanged, ContactUnblocked, RequestChanged
from parley.app.messaging import load_sessions, save_sessions
from parley.net.relay.server import RelayServer

from . import attacker
from .test_core_fixtures import (
    WAIT_S,
    Person,
    blocked_request,
    eventually,
    incoming,
    talking,
)
from .test_core_trust import new_account


def dropped(person: Person) -> object:
    return person.messenger.store.db.one("SELECT dropped FROM contacts WHERE state = 'blocked'")


async def kept_by_the_relay(sender: Person, body: str) -> bytes:
    """A message ``sender``'s own session encrypts to its only contact, as a relay sees it: the
    sender's client moves on from it, so the bytes can be delivered again later (a relay that
    kept a copy after it was acknowledged)."""
    [contact] = await sender.messenger.contacts()
    with sender.messenger.store.transaction() as db:
        sessions = load_sessions(db, contact.id)
        advanced, payload = sessions[0].encrypt(attacker.text(body, name="alice"))
        save_sessions(db, contact.id, [advanced, *sessions[1:]])
    return payload


async def test_an_unblocked_request_is_a_request_again_and_hears_its_next_message(
    pair: tuple[Person, Person],
) -> None:
    dave, bob = pair  # "alice" in the fixture: a stranger to Bob
    conversation, request = await blocked_request(dave, bob)
    for n in range(3):
        await dave.messenger.send_text(conversation, f"blocked {n}")
    await dave.messenger.flush(WAIT_S)
    await eventually(lambda: dropped(bob) == (3,))

    with pytest.raises(ContactExists, match="unblock it first"):
        await bob.messenger.add_contact((await dave.messenger.my_invite()).code)
    with pytest.raises(ContactNotFound):
        await bob.messenger.unblock("0" * 32)
    view = await bob.messenger.unblock(request.contact_id)
    assert view.id == request.contact_id and not view.verified
    assert ContactUnblocked(request.contact_id, "request") in bob.events
    assert any(isinstance(e, RequestChanged) for e in bob.events[-3:])
    # A request again, never a contact; what it sent while blocked is not brought back.
    assert await bob.messenger.blocked() == []
    assert await bob.messenger.contacts() == [] and await bob.messenger.conversations() == []
    [again] = await bob.messenger.requests()
    assert again.contact_id == request.contact_id and again.message_count == 1
    history = await bob.messenger.load_messages(again.conversation_id)
    assert [m.body for m in history] == [
        "first",
        "You unblocked this identity. 3 messages it sent while blocked were dropped unread "
        "and cannot be shown.",
    ]
    # Unblocking what is not blocked is refused, and changes nothing.
    with pytest.raises(NotBlocked, match="is not blocked"):
        await bob.messenger.unblock(request.contact_id)
    assert await bob.messenger.requests() == [again]

    # Dave's next message (same session, still carrying its first-message header) arrives.
    await dave.messenger.send_text(conversation, "sorry, wrong button?")
    await eventually(lambda: "sorry, wrong button?" in incoming(bob))
    assert incoming(bob) == ["first", "sorry, wrong button?"]
    [request] = await bob.messenger.requests()
    assert request.message_count == 2
    assert bob.messenger.store.db.one(
        "SELECT count(*) FROM messages WHERE body LIKE 'blocked%'"
    ) == (0,)


async def test_what_a_blocked_identity_sent_stays_dropped_when_a_relay_plays_it_again(
    pair: tuple[Person, Person],
) -> None:
    dave, bob = pair
    conversation, request = await blocked_request(dave, bob)
    bob_key = bob.messenger.identity.public.to_bytes()
    kept = await kept_by_the_relay(dave, "sent while blocked")
    await attacker.send(dave, bob_key, kept)
    await eventually(lambda: dropped(bob) == (1,))
    await bob.messenger.unblock(request.contact_id)
    # The relay kept the bytes after Bob acknowledged them and delivers them again (as a new
    # message id): the ratchet already went past them, so they are never shown.
    await attacker.send(dave, bob_key, kept)
    await dave.messenger.send_text(conversation, "after the unblock")
    await eventually(lambda: "after the unblock" in incoming(bob))
    assert "sent while blocked" not in incoming(bob)
    assert bob.messenger.store.db.one(
        "SELECT count(*) FROM messages WHERE body = 'sent while blocked'"
    ) == (0,)


async def test_an_unblocked_contact_keeps_its_key_and_its_key_change_rules(
    pair: tuple[Person, Person], relay: RelayServer, tmp_path: Path
) -> None:
    alice, bob, alice_chat, bob_conversation = await talking(pair, "hi, bob")
    [contact] = await bob.messenger.contacts()
    await bob.messenger.set_verified(contact.id, True)
    await bob.messenger.block(contact.id)
    await bob.messenger.block(contact.id)  # twice: it still remembers it was a contact
    assert await bob.messenger.contacts() == [] and await bob.messenger.conversations() == []
    await alice.messenger.send_text(alice_chat, "while blocked")
    await alice.messenger.flush(WAIT_S)
    await eventually(lambda: dropped(bob) == (1,))
    [entry] = await bob.messenger.blocked()
    assert (entry.was, entry.dropped) == ("accepted", 1)
    assert entry.label == f"alice \u00b7 {entry.fingerprint}"  # the name Bob knew
    # Mallory, a blocked stranger, is refused all along (her first message and her next).
    mallory, _ = await new_account(
        relay, tmp_path / "mallory", replaces=alice.messenger.identity.public.to_bytes()
    )
    try:
        await mallory.add_contact((await bob.messenger.my_invite()).code)
        mallory_chat = (await mallory.conversations())[0].id
        await mallory.send_text(mallory_chat, "it's alice, new phone")
        await eventually(lambda: "it's alice, new phone" in incoming(bob))
        [request] = await bob.messenger.requests()
        await bob.messenger.block(request.contact_id)
        await mallory.send_text(mallory_chat, "let me in")
        await mallory.flush(WAIT_S)

        # Unblocking Alice gives back the contact Bob had: same key, still verified.
        unblocked = await bob.messenger.unblock(contact.id)
        assert unblocked == replace(contact, verified=True)
        assert ContactUnblocked(contact.id, "accepted") in bob.events
        [listed] = await bob.messenger.conversations()
        assert listed.id == bob_conversation and listed.verified and not listed.key_changed
        await alice.messenger.send_text(alice_chat, "back again")
        await eventually(lambda: "back again" in incoming(bob))
        assert "while blocked" not in incoming(bob)
        # Mallory is still blocked; her claim to be Alice changed nothing.
        [still] = await bob.messenger.blocked()
        assert still.identity_key_hex == mallory.identity.public.to_bytes().hex()
        assert still.was == "request" and still.label.startswith("\u201calice\u201d (unverified")
        assert "let me in" not in incoming(bob)
        assert (await bob.messenger.contacts())[0].identity_key_hex == contact.identity_key_hex

        # Alice comes back with another key (proven): a key change with its warning, and
        # sending to the verified contact is blocked until Bob accepts it; never a silent swap.
        again, _ = await new_account(relay, tmp_path / "alice-new")
        try:
            await again.adopt_succession(
                await alice.messenger.sign_succession(again.identity.public.to_bytes())
            )
            await again.add_contact((await bob.messenger.my_invite()).code)
            await again.send_text((await again.conversations())[0].id, "new phone, same alice")
            await eventually(lambda: any(isinstance(e, ContactKeyChanged) for e in bob.events))
            [changed] = await bob.messenger.contacts()
            assert changed.id == contact.id and changed.key_changed and not changed.verified
            with pytest.raises(SendBlocked):
                await bob.messenger.send_text(bob_conversation, "who is this?")
        finally:
            await again.close()
    finally:
        await mallory.close()


async def test_search_leaves_out_a_blocked_contact_until_it_is_unblocked(
    pair: tuple[Person, Person],
) -> None:
    """A blocked contact's history is hidden with it, from search too, and found again after
    the unblock."""
    _alice, bob, _alice_chat, _bob_conversation = await talking(pair, "holiday plans in june")

    async def found(text: str) -> list[str]:
        return [hit.message.body for hit in await bob.messenger.search(text)]

    assert await found("holiday") == ["holiday plans in june"]
    [contact] = await bob.messenger.contacts()
    await bob.messenger.block(contact.id)
    assert await found("holiday") == []
    await bob.messenger.unblock(contact.id)
    assert await found("holiday") == ["holiday plans in june"]
