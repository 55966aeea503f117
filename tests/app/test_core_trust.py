"""Key changes through a real relay: only a succession statement signed by the old identity key
rebinds a contact; a bare claim (or a forged or stale statement) makes a separate message request
that the user may merge only after comparing safety numbers."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from parley.app.account import create_account
from parley.app.errors import AppError, ContentError, SendBlocked
from parley.app.events import ContactKeyChanged
from parley.app.messenger import Messenger
from parley.crypto import succession
from parley.crypto.keys import IdentityKeyPair
from parley.net.relay.server import RelayServer

from .test_core_fixtures import (
    FAST,
    PASSPHRASE,
    WAIT_S,
    Person,
    eventually,
    incoming,
    talking,
)


async def new_account(
    relay: RelayServer, folder: Path, *, replaces: bytes | None = None
) -> tuple[Messenger, list[object]]:
    messenger = await create_account(
        folder,
        "alice",
        relay.url,
        key_storage="passphrase",
        passphrase=PASSPHRASE,
        argon2_limits=FAST,
        replaces=replaces,
    )
    events: list[object] = []
    messenger.subscribe(events.append)
    return messenger, events


async def test_an_unproven_was_claim_does_not_take_over_the_contact(
    pair: tuple[Person, Person], relay: RelayServer, tmp_path: Path
) -> None:
    alice, bob, _mine, bob_conversation = await talking(pair, "hi, alice")
    [before] = await bob.messenger.contacts()
    # Mallory knows Alice's public identity key (it is in her invite) and claims to be her.
    mallory, _ = await new_account(
        relay, tmp_path / "mallory", replaces=alice.messenger.identity.public.to_bytes()
    )
    try:
        await mallory.add_contact((await bob.messenger.my_invite()).code)
        await mallory.send_text((await mallory.conversations())[0].id, "it's me, new phone")
        await eventually(lambda: "it's me, new phone" in incoming(bob))
        # Alice's contact is untouched and nothing of Mallory's is in her conversation.
        assert await bob.messenger.contacts() == [before]
        history = [m.body for m in await bob.messenger.load_messages(bob_conversation)]
        assert history == ["hi, alice"]
        assert not [e for e in bob.events if isinstance(e, ContactKeyChanged)]
        # Mallory is a separate message request that claims, unproven, to replace Alice.
        [request] = await bob.messenger.requests()
        assert request.identity_key_hex == mallory.identity.public.to_bytes().hex()
        assert request.claims_to_replace is not None
        assert request.claims_to_replace.id == before.id
        # Merging needs compared safety numbers (the request marked verified) first.
        with pytest.raises(AppError, match="Compare safety numbers"):
            await bob.messenger.merge_contact(request.contact_id, before.id)
        # Bob's next message still goes to the real Alice, and only to her.
        await bob.messenger.send_text(bob_conversation, "for alice only")
        await eventually(lambda: "for alice only" in incoming(alice))
        await bob.messenger.flush(WAIT_S)
        assert mallory.store.db.one("SELECT count(*) FROM messages WHERE direction = 'in'") == (0,)
    finally:
        await mallory.close()


async def test_forged_and_stale_succession_statements_are_refused(
    pair: tuple[Person, Person], relay: RelayServer, tmp_path: Path
) -> None:
    alice, bob, _mine, bob_conversation = await talking(pair, "hi, alice")
    [before] = await bob.messenger.contacts()
    old = alice.messenger.identity.public.to_bytes()
    mallory, _ = await new_account(relay, tmp_path / "mallory")
    try:
        mallory_key = mallory.identity.public.to_bytes()
        # Signed by the wrong key (Mallory's own), then a real but 31-day-old statement.
        forged = succession.sign(IdentityKeyPair.generate(), mallory_key, int(time.time()))
        forged = succession.Succession(old, mallory_key, forged.at, forged.signature)
        stale = succession.sign(
            alice.messenger.identity, mallory_key, int(time.time()) - 31 * 24 * 3600
        )
        with pytest.raises(ContentError, match="more than 30 days old"):
            await mallory.adopt_succession("parley-succession:" + stale.to_bytes().hex())
        await mallory.add_contact((await bob.messenger.my_invite()).code)
        conversation = (await mallory.conversations())[0].id
        for statement, body in ((forged, "forged"), (stale, "stale")):
            mallory.succession = statement  # an attacker's client skips its own checks
            await mallory.send_text(conversation, body)
        await eventually(lambda: incoming(bob)[-2:] == ["forged", "stale"])
        assert await bob.messenger.contacts() == [before]
        history = [m.body for m in await bob.messenger.load_messages(bob_conversation)]
        assert history == ["hi, alice"]
        [request] = await bob.messenger.requests()
        assert request.message_count == 2
    finally:
        await mallory.close()


async def test_a_proven_key_change_blocks_a_verified_contact_until_accepted(
    pair: tuple[Person, Person], relay: RelayServer, tmp_path: Path
) -> None:
    alice, bob, _mine, _theirs = await talking(pair, "hi, alice")
    [contact] = await bob.messenger.contacts()
    mine = await bob.messenger.safety_number(contact.id)
    theirs = await alice.messenger.safety_number((await alice.messenger.contacts())[0].id)
    assert mine.digits == theirs.digits and len(mine.digits) == 60
    await bob.messenger.set_verified(contact.id, True)

    # Alice moves to a new device: the new account exists first, the old one signs for it.
    again, _ = await new_account(relay, tmp_path / "alice-new")
    statement = await alice.messenger.sign_succession(again.identity.public.to_bytes())
    await alice.messenger.close()
    alice.messenger = again  # closed by the fixture
    again.subscribe(alice.events.append)
    await again.adopt_succession(statement)
    await again.add_contact((await bob.messenger.my_invite()).code)
    await again.send_text((await again.conversations())[0].id, "new phone, same alice")
    await eventually(lambda: any(isinstance(e, ContactKeyChanged) for e in bob.events))

    [changed] = await bob.messenger.contacts()
    assert changed.id == contact.id and changed.key_changed and not changed.verified
    assert changed.identity_key_hex == again.identity.public.to_bytes().hex()
    assert await bob.messenger.requests() == []
    conversation = (await bob.messenger.conversations())[0]
    assert conversation.key_changed
    history = await bob.messenger.load_messages(conversation.id)
    assert [m.kind for m in history] == ["message", "system", "message"]
    assert "identity key changed" in history[1].body and "blocked" in history[1].body
    assert history[2].body == "new phone, same alice"
    with pytest.raises(SendBlocked, match="safety number changed"):
        await bob.messenger.send_text(conversation.id, "who is this?")
    assert len(await bob.messenger.load_messages(conversation.id)) == 3

    await bob.messenger.accept_key_change(contact.id)
    await bob.messenger.send_text(conversation.id, "welcome back")
    await eventually(
        lambda: bool(again.store.db.one("SELECT 1 FROM messages WHERE body = 'welcome back'"))
    )


async def test_an_unverified_contact_sees_the_change_but_is_not_blocked(
    pair: tuple[Person, Person], relay: RelayServer, tmp_path: Path
) -> None:
    alice, bob, _mine, _theirs = await talking(pair, "hi, alice")
    again, _ = await new_account(relay, tmp_path / "alice-new")
    try:
        await again.adopt_succession(
            await alice.messenger.sign_succession(again.identity.public.to_bytes())
        )
        await again.add_contact((await bob.messenger.my_invite()).code)
        await again.send_text((await again.conversations())[0].id, "two")
        await eventually(lambda: any(isinstance(e, ContactKeyChanged) for e in bob.events))
        conversation = (await bob.messenger.conversations())[0]
        assert conversation.key_changed and not conversation.verified
        history = await bob.messenger.load_messages(conversation.id)
        assert [m.kind for m in history] == ["message", "system", "message"]
        assert "Compare safety numbers again." in history[1].body
        sent = await bob.messenger.send_text(conversation.id, "still fine")
        assert sent.status == "sending"
        # The same statement played again (a second new identity cannot reuse it either).
        assert (await bob.messenger.contacts())[
            0
        ].identity_key_hex == again.identity.public.to_bytes().hex()
    finally:
        await again.close()


async def test_a_request_is_merged_only_after_comparing_safety_numbers(
    pair: tuple[Person, Person], relay: RelayServer, tmp_path: Path
) -> None:
    alice, bob, _mine, bob_conversation = await talking(pair, "hi, alice")
    [contact] = await bob.messenger.contacts()
    # Alice lost her old device: no succession statement, only her word.
    again, _ = await new_account(
        relay, tmp_path / "alice-new", replaces=alice.messenger.identity.public.to_bytes()
    )
    await alice.messenger.close()
    alice.messenger = again
    await again.add_contact((await bob.messenger.my_invite()).code)
    await again.send_text((await again.conversations())[0].id, "lost my phone")
    await eventually(lambda: "lost my phone" in incoming(bob))
    [request] = await bob.messenger.requests()
    assert request.claims_to_replace is not None and request.claims_to_replace.id == contact.id
    # Bob and the new Alice compare safety numbers (in person), then Bob merges.
    mine = await bob.messenger.safety_number(request.contact_id)
    theirs = await again.safety_number((await again.contacts())[0].id)
    assert mine.digits == theirs.digits
    await bob.messenger.set_verified(request.contact_id, True)
    merged = await bob.messenger.merge_contact(request.contact_id, contact.id)
    assert merged.id == contact.id and merged.verified and not merged.key_changed
    assert merged.identity_key_hex == again.identity.public.to_bytes().hex()
    assert await bob.messenger.requests() == []
    history = await bob.messenger.load_messages(bob_conversation)
    assert [m.body for m in history if m.kind == "message"] == ["hi, alice", "lost my phone"]
    assert "merged" in history[-1].body and history[-1].kind == "system"
    await bob.messenger.send_text(bob_conversation, "hello again")
    await eventually(
        lambda: bool(again.store.db.one("SELECT 1 FROM messages WHERE body = 'hello again'"))
    )
