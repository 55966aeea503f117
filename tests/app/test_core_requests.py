"""Message requests and refused content through a real relay.

A stranger's first message is a request (its name only a claim); nothing goes back until it is
accepted; a block is enforced in the core; every delivery that cannot be shown is reported."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from parley.app import content as content_format
from parley.app.events import (
    ConversationChanged,
    MessageRefused,
    MessageStatusChanged,
    RequestChanged,
)
from parley.crypto.attachment import encrypt_attachment
from parley.net.relay.server import RelayServer

from . import attacker
from .test_core_fixtures import (
    WAIT_S,
    Person,
    blocked_request,
    eventually,
    incoming,
    make_person,
    online,
)


def statuses(person: Person, status: str) -> list[str]:
    return [
        e.message_id
        for e in person.events
        if isinstance(e, MessageStatusChanged) and e.status == status
    ]


async def test_a_stranger_is_a_request_and_hears_nothing_until_accepted(
    pair: tuple[Person, Person],
) -> None:
    dave, bob = pair  # "alice" in the fixture: a stranger to Bob who calls herself "alice"
    await online(dave, bob)
    conversation = (await dave.messenger.conversations())[0].id
    sent = await dave.messenger.send_text(conversation, "hi, it's your friend")
    await eventually(lambda: incoming(bob) == ["hi, it's your friend"])
    assert await bob.messenger.contacts() == []
    assert await bob.messenger.conversations() == []
    assert not [e for e in bob.events if isinstance(e, ConversationChanged)]
    [request] = await bob.messenger.requests()
    assert any(isinstance(e, RequestChanged) for e in bob.events)
    key = dave.messenger.identity.public.to_bytes().hex()
    assert request.claimed_name == "alice" and request.identity_key_hex == key
    assert request.fingerprint == " ".join(key[i : i + 4] for i in range(0, 16, 4))
    assert request.label == f"\u201calice\u201d (unverified name) \u00b7 {request.fingerprint}"
    # No delivery receipt (and no read receipt) goes back to a request.
    await bob.messenger.mark_read(request.conversation_id)
    await asyncio.sleep(1.0)
    await bob.messenger.flush(WAIT_S)
    assert statuses(dave, "delivered") == [] and statuses(dave, "read") == []
    # Accepting makes a contact (named as Bob chooses) and sends the held-back receipt.
    contact = await bob.messenger.accept_request(request.contact_id, "Dave from work")
    assert contact.display_name == "Dave from work"
    await eventually(lambda: sent.id in statuses(dave, "delivered"))
    [listed] = await bob.messenger.conversations()
    assert listed.title == "Dave from work" and await bob.messenger.requests() == []


async def test_a_blocked_identity_is_acknowledged_and_dropped(
    pair: tuple[Person, Person],
) -> None:
    dave, bob = pair
    conversation, request = await blocked_request(dave, bob)
    assert await bob.messenger.requests() == [] and await bob.messenger.contacts() == []
    for n in range(3):
        await dave.messenger.send_text(conversation, f"blocked {n}")
    await dave.messenger.flush(WAIT_S)
    await eventually(lambda: bob.messenger.store.db.one("SELECT dropped FROM contacts") == (3,))
    [blocked] = await bob.messenger.blocked()
    assert blocked.identity_key_hex == dave.messenger.identity.public.to_bytes().hex()
    assert blocked.dropped == 3 and blocked.was == "request"
    assert blocked.label == f"\u201calice\u201d (unverified name) \u00b7 {request.fingerprint}"
    assert incoming(bob) == ["first"]
    assert bob.messenger.store.db.one(
        "SELECT count(*) FROM messages WHERE body LIKE 'blocked%'"
    ) == (0,)
    assert statuses(dave, "delivered") == []
    # The relay was told: nothing waits for Bob after a restart.
    await bob.reopen()
    await asyncio.sleep(1.0)
    assert incoming(bob) == [] and bob.messenger.store.db.one("SELECT dropped FROM contacts") == (
        3,
    )


async def test_a_deleted_request_is_gone(pair: tuple[Person, Person]) -> None:
    dave, bob = pair
    await online(dave, bob)
    await dave.messenger.send_text((await dave.messenger.conversations())[0].id, "spam")
    await eventually(lambda: incoming(bob) == ["spam"])
    [request] = await bob.messenger.requests()
    await bob.messenger.delete_request(request.contact_id)
    assert await bob.messenger.requests() == []
    assert bob.messenger.store.db.one("SELECT count(*) FROM messages") == (0,)
    assert bob.messenger.store.db.one("SELECT count(*) FROM contacts") == (0,)


async def test_every_class_of_refused_content_is_reported(
    pair: tuple[Person, Person], relay: RelayServer, tmp_path: Path
) -> None:
    _, bob = pair
    mallory = await make_person(tmp_path, "mallory", relay.url)
    await online(mallory, bob)
    # Bob knows Mallory: he added her, so her messages land in a conversation.
    contact = await bob.messenger.add_contact((await mallory.messenger.my_invite()).code)
    bob_key = bob.messenger.identity.public.to_bytes()

    async def forge(plaintext: bytes, *, tamper: bool = False) -> None:
        session = attacker.session_from(mallory, await attacker.bundle_for(mallory, bob_key))
        _, payload = session.encrypt(plaintext)
        if tamper:
            payload = payload[:-1] + bytes([payload[-1] ^ 1])
        await attacker.send(mallory, bob_key, payload)

    not_a_picture = encrypt_attachment(b"this is not an image at all")
    ref = content_format.PictureRef(
        not_a_picture.key,
        not_a_picture.digest,
        not_a_picture.ciphertext,
        "image/png",
        4,
        4,
        len(b"this is not an image at all"),
        "cat.png",
    )
    await forge(attacker.text("damaged in transit"), tamper=True)
    await forge(attacker.raw({"v": 1, "t": "text", "at": 1.0, "body": "x" * 16_001}))
    await forge(content_format.encode(content_format.Picture(time.time(), "", ref, "mallory")))
    await forge(b"\xc1 not msgpack")
    await forge(attacker.text("and a fine one"))
    await eventually(lambda: "and a fine one" in incoming(bob))
    await eventually(lambda: len([e for e in bob.events if isinstance(e, MessageRefused)]) == 4)
    refused = [e for e in bob.events if isinstance(e, MessageRefused)]
    reasons = [e.reason for e in refused]
    assert "could not be decrypted" in reasons[0]
    assert "at most 16000 characters" in reasons[1]
    assert "picture was refused" in reasons[2]
    assert "not valid msgpack" in reasons[3]
    conversation = next(
        c for c in await bob.messenger.conversations() if c.contact_id == contact.id
    )
    assert all(e.conversation_id == conversation.id and e.sender == "mallory" for e in refused)
    assert refused[0].text.startswith("A message from mallory could not be shown: ")
    # An undecryptable message from a contact is asked for again (session recovery), so it gets
    # no line in the conversation; the others do.
    assert "asked for again in a fresh session" in reasons[0]
    history = await bob.messenger.load_messages(conversation.id)
    lines = [m.body for m in history if m.kind == "system"]
    assert lines == [e.text for e in refused[1:]]
    assert [m.body for m in history if m.kind == "message"] == ["and a fine one"]
    await mallory.messenger.close()
