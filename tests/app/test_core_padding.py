"""Padding inside the encryption, through a real relay: a receipt and a short text cannot be told
apart by size, and messages of older versions (unpadded) still read."""

from __future__ import annotations

import msgpack
from parley.app import padding
from parley.app.account import open_account
from parley.app.events import MessageAdded, MessageStatusChanged
from parley.app.messaging import Pipeline
from parley.app.store import contacts
from parley.net.client_types import Delivery

from .test_core_fixtures import (  # noqa: F401
    PASSPHRASE,
    Person,
    accept_requests,
    eventually,
    pair_fixture,
    relay_fixture,
)

WAIT_S = 20.0


async def _tap(person: Person) -> list[Delivery]:
    """Open ``person`` again, recording every delivery as the relay hands it over (before the app
    decrypts it)."""
    await person.messenger.close()
    person.messenger = await open_account(person.profile, passphrase=PASSPHRASE)
    person.listen()
    seen: list[Delivery] = []
    pipeline = person.messenger.pipeline
    commit = pipeline.on_delivery

    async def tapped(delivery: Delivery) -> None:
        seen.append(delivery)
        await commit(delivery)

    pipeline.on_delivery = tapped  # type: ignore[method-assign]
    return seen


def _added(person: Person) -> list[MessageAdded]:
    return [e for e in person.events if isinstance(e, MessageAdded) and e.message.direction == "in"]


async def test_a_receipt_and_a_short_text_have_the_same_size_on_the_wire(
    pair: tuple[Person, Person],
) -> None:
    alice, bob = pair
    at_alice = await _tap(alice)
    for person in (alice, bob):
        await person.messenger.start()
        await person.messenger.wait_online(WAIT_S)
    conversation = (await alice.messenger.conversations())[0].id
    await alice.messenger.send_text(conversation, "hi bob")
    await eventually(lambda: _added(bob))
    await accept_requests(bob)  # the receipt goes only once Bob accepts Alice's request
    # Bob's delivery receipt for "hi bob" and his short answer travel the same chain to Alice.
    await eventually(
        lambda: any(
            isinstance(e, MessageStatusChanged) and e.status == "delivered" for e in alice.events
        )
    )
    await bob.messenger.send_text(_added(bob)[0].message.conversation_id, "ok, see you at 5")
    await eventually(lambda: _added(alice))
    receipt_size, text_size = (len(d.payload) for d in at_alice[:2])
    assert receipt_size == text_size, "a receipt and a short text differ in size on the wire"
    # One 160-byte block plus the session message around it (60 bytes), not the old 99-byte
    # receipt; a text of 300 characters takes more than one block.
    assert text_size == padding.BLOCK + 60
    await bob.messenger.send_text(_added(bob)[0].message.conversation_id, "x" * 300)
    await eventually(lambda: len(_added(alice)) == 2)
    assert len(at_alice[-1].payload) > padding.BLOCK + 60


async def test_an_unpadded_message_of_an_older_version_still_reads(
    pair: tuple[Person, Person],
) -> None:
    alice, bob = pair
    for person in (alice, bob):
        await person.messenger.start()
        await person.messenger.wait_online(WAIT_S)
    messenger = alice.messenger
    old_format = msgpack.packb(
        {"v": 1, "t": "text", "at": 1_790_000_000.0, "body": "from an older Parley", "name": "a"},
        use_bin_type=True,
    )
    with messenger.store.transaction() as db:
        [contact] = contacts.all_contacts(db)
        payload = messenger.pipeline.encrypt_for(contact, old_format)
    client = messenger._client
    assert client is not None
    await client.send(contact.identity_key, Pipeline.new_message_id(), payload)
    await eventually(lambda: _added(bob))
    assert _added(bob)[0].message.body == "from an older Parley"
