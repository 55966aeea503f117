"""Key changes: a verified contact's new identity blocks sending until the user accepts it."""

from __future__ import annotations

from pathlib import Path

import pytest
from parley.app.account import create_account
from parley.app.errors import SendBlocked
from parley.app.events import ContactKeyChanged, MessageAdded
from parley.net.relay.server import RelayServer

from .test_core_fixtures import (  # noqa: F401
    FAST,
    PASSPHRASE,
    WAIT_S,
    Person,
    eventually,
    pair_fixture,
    relay_fixture,
)


async def test_key_change_blocks_a_verified_contact_until_accepted(
    pair: tuple[Person, Person], relay: RelayServer, tmp_path: Path
) -> None:
    alice, bob = pair
    for person in (alice, bob):
        await person.messenger.start()
        await person.messenger.wait_online(WAIT_S)
    conversation = (await alice.messenger.conversations())[0].id
    await alice.messenger.send_text(conversation, "hi, it's alice")
    await eventually(lambda: any(isinstance(e, MessageAdded) for e in bob.events))
    [contact] = await bob.messenger.contacts()
    mine = await bob.messenger.safety_number(contact.id)
    theirs = await alice.messenger.safety_number((await alice.messenger.contacts())[0].id)
    assert mine.digits == theirs.digits and len(mine.digits) == 60
    await bob.messenger.set_verified(contact.id, True)

    # Alice loses her profile and starts again with a new identity that names the old one.
    old_key = alice.messenger.identity.public.to_bytes()
    await alice.messenger.close()
    again = await create_account(
        tmp_path / "alice-new",
        "alice",
        relay.url,
        key_storage="passphrase",
        passphrase=PASSPHRASE,
        argon2_limits=FAST,
        replaces=old_key,
    )
    alice.messenger = again  # closed by the fixture
    again.subscribe(alice.events.append)
    await again.add_contact((await bob.messenger.my_invite()).code)
    await again.send_text((await again.conversations())[0].id, "new phone, same alice")
    await eventually(lambda: any(isinstance(e, ContactKeyChanged) for e in bob.events))

    [changed] = await bob.messenger.contacts()
    assert changed.id == contact.id and changed.key_changed and not changed.verified
    assert changed.identity_key_hex == again.identity.public.to_bytes().hex()
    bob_conversation = (await bob.messenger.conversations())[0]
    assert bob_conversation.key_changed
    bodies = [m.body for m in await bob.messenger.load_messages(bob_conversation.id)]
    assert bodies == ["hi, it's alice", "new phone, same alice"]
    with pytest.raises(SendBlocked, match="safety number changed"):
        await bob.messenger.send_text(bob_conversation.id, "who is this?")
    assert len(await bob.messenger.load_messages(bob_conversation.id)) == 2

    await bob.messenger.accept_key_change(contact.id)
    await bob.messenger.send_text(bob_conversation.id, "welcome back")
    await eventually(
        lambda: (
            len([e for e in alice.events if False]) == 0
            and bool(again.store.db.one("SELECT 1 FROM messages WHERE body = 'welcome back'"))
        )
    )


async def test_an_unverified_contact_is_flagged_but_not_blocked(
    pair: tuple[Person, Person], relay: RelayServer, tmp_path: Path
) -> None:
    alice, bob = pair
    for person in (alice, bob):
        await person.messenger.start()
    await alice.messenger.send_text((await alice.messenger.conversations())[0].id, "one")
    await eventually(lambda: any(isinstance(e, MessageAdded) for e in bob.events))
    again = await create_account(
        tmp_path / "alice-new",
        "alice",
        relay.url,
        key_storage="passphrase",
        passphrase=PASSPHRASE,
        argon2_limits=FAST,
        replaces=alice.messenger.identity.public.to_bytes(),
    )
    try:
        await again.add_contact((await bob.messenger.my_invite()).code)
        await again.send_text((await again.conversations())[0].id, "two")
        await eventually(lambda: any(isinstance(e, ContactKeyChanged) for e in bob.events))
        bob_conversation = (await bob.messenger.conversations())[0]
        assert bob_conversation.key_changed and not bob_conversation.verified
        sent = await bob.messenger.send_text(bob_conversation.id, "still fine")
        assert sent.status == "sending"
    finally:
        await again.close()
