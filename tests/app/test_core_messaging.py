"""Two accounts on a real relay: first message, receipts, duplicates, pictures, search."""

from __future__ import annotations

import asyncio
import io
import re
from pathlib import Path

import pytest
from parley.app.errors import AppError, AttachmentRejected
from parley.app.events import MessageAdded, MessageStatusChanged
from parley.app.messaging import decode_sessions
from parley.app.store.errors import StoreError
from parley.net import wire
from parley.net.client_types import Delivery
from PIL import Image

from .test_core_fixtures import (  # noqa: F401
    Person,
    accept_requests,
    eventually,
    pair_fixture,
    relay_fixture,
)

WAIT_S = 20.0


def added(person: Person) -> list[MessageAdded]:
    return [e for e in person.events if isinstance(e, MessageAdded) and e.message.direction == "in"]


async def test_first_message_while_the_peer_is_offline_then_receipts(
    pair: tuple[Person, Person],
) -> None:
    alice, bob = pair
    # Bob's account was registered online; close it so that the relay really has to queue.
    await bob.messenger.close()
    await alice.messenger.start()
    await alice.messenger.wait_online(WAIT_S)
    conversation = (await alice.messenger.conversations())[0]
    sent = await alice.messenger.send_text(conversation.id, "hello bob, café at 5?")
    assert sent.status == "sending"
    await eventually(
        lambda: any(
            isinstance(e, MessageStatusChanged) and e.status == "sent" for e in alice.events
        )
    )
    await bob.reopen()
    await eventually(lambda: added(bob))
    got = added(bob)[0].message
    assert (got.body, got.id) == ("hello bob, café at 5?", sent.id)
    # Bob never added Alice: a message request, her name shown as a claim; nothing goes back.
    assert await bob.messenger.conversations() == []
    [request] = await bob.messenger.requests()
    assert (request.claimed_name, request.message_count) == ("alice", 1)
    await asyncio.sleep(0.5)
    await bob.messenger.flush(WAIT_S)
    assert not [
        e for e in alice.events if isinstance(e, MessageStatusChanged) and e.status == "delivered"
    ]
    await bob.messenger.accept_request(request.contact_id)
    bob_conversations = await bob.messenger.conversations()
    assert [c.title for c in bob_conversations] == ["alice"]
    assert bob_conversations[0].unread == 1
    await eventually(
        lambda: any(
            isinstance(e, MessageStatusChanged) and e.status == "delivered" for e in alice.events
        )
    )
    await bob.messenger.mark_read(bob_conversations[0].id)
    await eventually(
        lambda: any(
            isinstance(e, MessageStatusChanged) and e.status == "read" for e in alice.events
        )
    )
    [stored] = await alice.messenger.load_messages(conversation.id)
    assert stored.status == "read"
    # Bob answers over the session Alice started; Alice sees it in the same conversation.
    await bob.messenger.send_text(bob_conversations[0].id, "yes, see you there")
    await eventually(lambda: added(alice))
    assert added(alice)[0].message.conversation_id == conversation.id
    hits = await bob.messenger.search("cafe")
    assert [h.message.body for h in hits] == ["hello bob, café at 5?"]
    record = await alice.messenger.relay_record(sent.id)
    assert record.stored_until is not None and record.frame_hex
    assert "hello" not in bytes.fromhex(record.frame_hex).decode("latin-1")
    seen = await bob.messenger.relay_record(got.id)
    assert seen.deleted and (
        "sender account",
        alice.messenger.identity.public.to_bytes().hex(),
    ) in (seen.metadata)
    (received_at,) = [value for key, value in seen.metadata if key == "relay received at"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC \(\d+\.\d{3}\)", received_at)
    assert not [e for e in alice.events + bob.events if type(e).__name__ == "ErrorRaised"]


async def _started(*people: Person) -> None:
    for person in people:
        await person.messenger.start()
        await person.messenger.wait_online(WAIT_S)


async def test_both_add_each_other_and_write_at_once_then_converge(
    pair: tuple[Person, Person],
) -> None:
    alice, bob = pair
    await bob.messenger.add_contact((await alice.messenger.my_invite()).link)
    await _started(alice, bob)
    a_conv = (await alice.messenger.conversations())[0].id
    b_conv = (await bob.messenger.conversations())[0].id
    await alice.messenger.send_text(a_conv, "from alice 1")
    await bob.messenger.send_text(b_conv, "from bob 1")
    await eventually(lambda: added(alice) and added(bob))
    for n in range(2, 5):
        await alice.messenger.send_text(a_conv, f"from alice {n}")
        await bob.messenger.send_text(b_conv, f"from bob {n}")
    await eventually(lambda: len(added(alice)) == 4 and len(added(bob)) == 4)
    assert [m.message.body for m in added(bob)] == [f"from alice {n}" for n in range(1, 5)]
    assert len(await bob.messenger.conversations()) == 1


async def test_a_redelivered_message_is_stored_once(pair: tuple[Person, Person]) -> None:
    alice, bob = pair
    await _started(alice, bob)
    conversation = (await alice.messenger.conversations())[0].id
    await alice.messenger.send_text(conversation, "only once")
    await eventually(lambda: added(bob))
    # The frame the relay saw replaces the pending payload once the relay's receipt is in (with
    # write-behind that can come after Bob already has the message).
    record = await alice.messenger.relay_record(added(bob)[0].message.id)
    for _ in range(int(WAIT_S / 0.05)):
        if record.stored_until is not None:
            break
        await asyncio.sleep(0.05)
        record = await alice.messenger.relay_record(added(bob)[0].message.id)
    # The same delivery again, as the relay would redeliver after a lost acknowledgement.

    frame = wire.decode_client_frame(bytes.fromhex(record.frame_hex))
    assert isinstance(frame, wire.Send)
    again = Delivery(
        frame.message_id, alice.messenger.identity.public.to_bytes(), frame.payload, 0.0
    )
    await bob.messenger.pipeline.on_delivery(again)
    await accept_requests(bob)
    bob_conv = (await bob.messenger.conversations())[0].id
    assert [m.body for m in await bob.messenger.load_messages(bob_conv)] == ["only once"]
    assert len(added(bob)) == 1


async def test_pictures_are_decoded_not_trusted_by_name(
    pair: tuple[Person, Person], tmp_path: Path
) -> None:
    alice, bob = pair
    await _started(alice, bob)
    conversation = (await alice.messenger.conversations())[0].id
    png = tmp_path / "holiday.png"
    Image.new("RGB", (64, 48), (200, 30, 30)).save(png)
    sent = await alice.messenger.send_picture(conversation, png)
    assert sent.attachment is not None and (sent.attachment.width, sent.attachment.height) == (
        64,
        48,
    )
    await eventually(lambda: added(bob))
    got = added(bob)[0].message
    assert got.attachment is not None and got.attachment.mime_type == "image/png"
    data = await bob.messenger.load_attachment(got.attachment.id)
    with Image.open(io.BytesIO(data)) as image:
        assert image.size == (64, 48) and image.getpixel((3, 3)) == (200, 30, 30)
    assert [h.message.id for h in await bob.messenger.search("holiday")] == [got.id]

    fake = tmp_path / "fake.png"
    fake.write_bytes(b"\x89PNG\r\n\x1a\n" + b"not really a picture" * 10)
    with pytest.raises(AttachmentRejected, match=r"not a picture|damaged"):
        await alice.messenger.send_picture(conversation, fake)
    huge = tmp_path / "huge.png"
    huge.write_bytes(b"\0" * (10 * 1024 * 1024 + 1))
    with pytest.raises(AttachmentRejected, match="10 MiB"):
        await alice.messenger.send_picture(conversation, huge)
    assert len(await alice.messenger.load_messages(conversation)) == 1


async def test_a_prepared_picture_goes_with_its_caption_and_saves_byte_for_byte(
    pair: tuple[Person, Person], tmp_path: Path
) -> None:
    alice, bob = pair
    await _started(alice, bob)
    conversation = (await alice.messenger.conversations())[0].id
    jpeg = tmp_path / "beach.jpg"
    Image.new("RGB", (80, 60), (20, 120, 220)).save(jpeg, "JPEG", quality=95)
    prepared = await alice.messenger.prepare_picture(jpeg)
    assert prepared.source_size == jpeg.stat().st_size and prepared.file_name == "beach.jpg"
    assert await alice.messenger.load_messages(conversation) == []  # preparing sends nothing
    sent = await alice.messenger.send_picture(conversation, prepared, "  the beach at noon ")
    assert sent.body == "the beach at noon"
    await eventually(lambda: added(bob))
    got = added(bob)[0].message
    assert got.body == "the beach at noon" and got.attachment is not None
    assert [h.message.id for h in await bob.messenger.search("noon")] == [got.id]

    # Saving writes exactly the bytes that were sent, where the user chose.
    target = tmp_path / "saved" / "beach.jpg"
    target.parent.mkdir()
    await bob.messenger.save_attachment(got.attachment.id, target)
    assert target.read_bytes() == prepared.data
    assert [p.name for p in target.parent.iterdir()] == ["beach.jpg"]
    with pytest.raises(AppError, match=r"^Could not save beach.jpg: No such file or directory\.$"):
        await bob.messenger.save_attachment(got.attachment.id, tmp_path / "gone" / "beach.jpg")
    with pytest.raises(AppError, match="is a folder"):
        await bob.messenger.save_attachment(got.attachment.id, target.parent)
    with pytest.raises(AppError, match="caption is at most"):
        await alice.messenger.send_picture(conversation, prepared, "x" * 16_001)


@pytest.mark.parametrize(
    "data", [b"", b"\x02\x90", b"\x01", b"\x01\xc1", b"\x01\x91\x01", b"\x01\x91\xc4\x03abc"]
)
def test_a_damaged_session_record_is_refused(data: bytes) -> None:
    with pytest.raises(StoreError, match="session record"):
        decode_sessions(data)
