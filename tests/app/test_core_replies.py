"""Replies and reactions through a real relay, with attackers who hand-make their content.

A quote shows the ORIGINAL when this device has it in the same conversation: a forged excerpt of
a real message cannot put words in your mouth. A reaction touches only a message of the
conversation it arrived in, and a message request's reactions touch nothing. Both are kept in the
encrypted store and survive a restart."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from parley.app import contacts as contact_ops
from parley.app import content as content_format
from parley.app import recovery, replies
from parley.app.account import open_account
from parley.app.errors import AppError, ContactNotFound, ContentError
from parley.app.events import MessageAdded, MessageView, ReactionChanged, ReactionView
from parley.app.messaging import Pipeline
from parley.app.store import contacts, messages
from parley.app.store.messages import NewMessage
from parley.app.store.profile import Store
from parley.net.relay.server import RelayServer
from PIL import Image

from . import attacker
from .conftest import fast_passphrase
from .test_core_fixtures import (  # noqa: F401
    PASSPHRASE,
    WAIT_S,
    Person,
    accept_requests,
    eventually,
    make_person,
    pair_fixture,
    relay_fixture,
)

THUMBS = "\U0001f44d"
HEART = "\u2764\ufe0f"


def incoming(person: Person) -> list[MessageView]:
    return [
        e.message
        for e in person.events
        if isinstance(e, MessageAdded)
        and e.message.direction == "in"
        and e.message.kind == "message"
    ]


def reactions_seen(person: Person) -> list[ReactionChanged]:
    return [e for e in person.events if isinstance(e, ReactionChanged)]


async def talking(pair: tuple[Person, Person]) -> tuple[Person, Person, str, str]:
    """Alice wrote to Bob, Bob accepted: (alice, bob, Alice's conversation, Bob's conversation)."""
    alice, bob = pair
    for person in (alice, bob):
        await person.messenger.start()
        await person.messenger.wait_online(WAIT_S)
    mine = (await alice.messenger.conversations())[0].id
    await alice.messenger.send_text(mine, "hi bob")
    await eventually(lambda: len(incoming(bob)) == 1)
    await accept_requests(bob)
    return alice, bob, mine, (await bob.messenger.conversations())[0].id


async def forge(person: Person, recipient: bytes, item: content_format.Content) -> None:
    """``person`` sends hand-made content in its real session with ``recipient``."""
    messenger = person.messenger
    with messenger.store.transaction() as db:
        contact = contacts.find_by_identity_key(db, recipient)
        assert contact is not None
        payload = messenger.pipeline.encrypt_for(contact, content_format.encode(item))
    client = messenger._client
    assert client is not None
    await client.send(recipient, Pipeline.new_message_id(), payload)


async def also_carol(
    alice: Person, relay: RelayServer, base: Path, text: str
) -> tuple[Person, str, MessageView]:
    """Carol, whom Alice adds and sends ``text``: (carol, Alice's conversation with her, it)."""
    before = {c.id for c in await alice.messenger.conversations()}
    carol = await make_person(base, "carol", relay.url)
    await carol.messenger.start()
    await carol.messenger.wait_online(WAIT_S)
    await alice.messenger.add_contact((await carol.messenger.my_invite()).code)
    chat = next(c.id for c in await alice.messenger.conversations() if c.id not in before)
    sent = await alice.messenger.send_text(chat, text)
    await eventually(lambda: len(incoming(carol)) == 1)
    return carol, chat, sent


async def history(person: Person, conversation: str) -> list[MessageView]:
    return await person.messenger.load_messages(conversation)


async def test_a_reply_quotes_the_original_and_survives_a_restart(
    pair: tuple[Person, Person], tmp_path: Path
) -> None:
    alice, bob, alice_chat, bob_chat = await talking(pair)
    [greeting] = incoming(bob)
    sent = await bob.messenger.send_text(bob_chat, "hello to you too", reply_to=greeting.id)
    assert sent.reply is not None
    assert (sent.reply.author, sent.reply.text, sent.reply.found) == ("alice", "hi bob", True)
    await eventually(lambda: len(incoming(alice)) == 1)
    [reply] = incoming(alice)
    assert reply.body == "hello to you too" and reply.reply is not None
    assert reply.reply.message_id == greeting.id
    assert (reply.reply.author, reply.reply.text, reply.reply.found) == ("You", "hi bob", True)
    # A reply names a message of this conversation only; anything else is refused before sending.
    with pytest.raises(ContactNotFound):
        await bob.messenger.send_text(bob_chat, "x", reply_to="00" * 16)
    with pytest.raises(ContactNotFound):
        await bob.messenger.send_text(bob_chat, "x", reply_to="not hex")
    # A picture can be a reply too; a quoted picture without caption says so.
    image = tmp_path / "menu.png"
    Image.new("RGB", (12, 8), "green").save(image)
    shot = await bob.messenger.send_picture(bob_chat, image, "the menu", reply_to=greeting.id)
    await eventually(lambda: len(incoming(alice)) == 2)
    assert incoming(alice)[1].reply == reply.reply
    back = await alice.messenger.send_picture(alice_chat, image, reply_to=incoming(alice)[1].id)
    assert back.reply is not None and (back.reply.text, back.reply.picture) == ("the menu", True)
    assert shot.reply is not None and shot.reply.author == "alice"
    await alice.reopen()
    stored = await history(alice, alice_chat)
    assert [m.reply for m in stored if m.body == "hello to you too"] == [reply.reply]
    [hit] = await alice.messenger.search("hello")
    assert hit.message.reply == reply.reply


async def test_a_forged_quote_cannot_put_words_in_your_mouth(
    pair: tuple[Person, Person], relay: RelayServer, tmp_path: Path
) -> None:
    alice, bob, alice_chat, _ = await talking(pair)
    alice_key = alice.messenger.identity.public.to_bytes()
    bob_key = bob.messenger.identity.public.to_bytes()
    [said] = [m for m in await history(alice, alice_chat) if m.body == "hi bob"]
    # Alice also talks to Carol; Bob learnt the id of one of those messages somehow.
    carol, _, secret = await also_carol(alice, relay, tmp_path, "the door code is 4711")

    def quoting(message_id: str, author: bytes, claim: str) -> content_format.Text:
        quote = content_format.Quote(bytes.fromhex(message_id), author, claim)
        return content_format.Text(time.time(), "as you said:", "bob", reply=quote)

    await forge(bob, alice_key, quoting(said.id, alice_key, "I owe Bob 1000 euros"))
    await forge(bob, alice_key, quoting(secret.id, alice_key, "guess"))
    await forge(bob, alice_key, quoting("ab" * 16, alice_key, "you promised me a pony"))
    await forge(bob, alice_key, quoting("cd" * 16, b"\x07" * 32, "Carol said so"))
    await forge(bob, alice_key, quoting("ef" * 16, bob_key, "my own words"))
    await eventually(lambda: len(incoming(alice)) == 5)
    quotes = [m.reply for m in incoming(alice)]
    assert all(q is not None for q in quotes)
    shown = [(q.author, q.text, q.found) for q in quotes if q is not None]
    assert shown == [
        ("You", "hi bob", True),  # the real message, not the forged excerpt
        ("You", "guess", False),  # another conversation's message shows nothing of it
        ("You", "you promised me a pony", False),  # an unknown id: the claim, marked as one
        ("Someone else", "Carol said so", False),
        ("bob", "my own words", False),
    ]
    # Nothing of Carol's message shows in Bob's conversation (its text, not the random ids).
    shown_text = [
        m.body + (m.reply.text if m.reply else "") for m in await history(alice, alice_chat)
    ]
    assert all("4711" not in text for text in shown_text)
    await carol.messenger.close()


async def test_one_reaction_per_person_replaced_and_removed_and_kept(
    pair: tuple[Person, Person],
) -> None:
    alice, bob, alice_chat, _ = await talking(pair)
    [greeting] = incoming(bob)
    await bob.messenger.react(greeting.id, THUMBS)
    await eventually(lambda: len(reactions_seen(alice)) == 1)
    assert reactions_seen(alice)[-1].message.reactions == (ReactionView(THUMBS, 1, False),)
    assert reactions_seen(alice)[-1].by == "bob"
    await bob.messenger.react(greeting.id, HEART)  # replaces his thumbs up
    await eventually(lambda: len(reactions_seen(alice)) == 2)
    assert reactions_seen(alice)[-1].message.reactions == (ReactionView(HEART, 1, False),)
    mine = await alice.messenger.react(greeting.id, HEART)
    assert mine.reactions == (ReactionView(HEART, 2, True),)
    await eventually(lambda: len(reactions_seen(bob)) == 3)  # his two, then hers
    assert reactions_seen(bob)[-1].message.reactions == (ReactionView(HEART, 2, True),)
    await bob.messenger.react(greeting.id, None)  # takes his back
    await eventually(lambda: len(reactions_seen(alice)) == 4)
    assert reactions_seen(alice)[-1].message.reactions == (ReactionView(HEART, 1, True),)
    assert reactions_seen(alice)[-1].emoji is None
    # Taking back what is not there sends nothing; bad emoji never leave.
    await bob.messenger.react(greeting.id, None)
    with pytest.raises(ContentError):
        await bob.messenger.react(greeting.id, "lol")
    with pytest.raises(AppError):
        await bob.messenger.react("00" * 16, THUMBS)
    await bob.messenger.flush(WAIT_S)
    await alice.reopen()
    [kept] = [m for m in await history(alice, alice_chat) if m.body == "hi bob"]
    assert kept.reactions == (ReactionView(HEART, 1, True),)
    assert [h.message.reactions for h in await alice.messenger.search("bob")] == [kept.reactions]


async def test_reactions_touch_nothing_outside_their_conversation(
    pair: tuple[Person, Person], relay: RelayServer, tmp_path: Path
) -> None:
    alice, bob, alice_chat, _ = await talking(pair)
    alice_key = alice.messenger.identity.public.to_bytes()
    [greeting] = [m for m in await history(alice, alice_chat) if m.body == "hi bob"]
    carol, carol_chat, to_carol = await also_carol(alice, relay, tmp_path, "for carol only")

    def reaction(message_id: str, emoji: str = THUMBS) -> content_format.Reaction:
        return content_format.Reaction(time.time(), bytes.fromhex(message_id), emoji)

    # Bob, a contact, reacts to a message of Alice's conversation with Carol and to unknown ids.
    await forge(bob, alice_key, reaction(to_carol.id))
    await forge(bob, alice_key, reaction("ab" * 16))
    # Mallory, a stranger (a message request once her first message arrives), reacts to
    # Alice's message to Bob: she must not be able to put anything under it.
    mallory = await make_person(tmp_path, "mallory", relay.url)
    await mallory.messenger.start()
    await mallory.messenger.wait_online(WAIT_S)
    session = attacker.session_from(mallory, await attacker.bundle_for(mallory, alice_key))
    _, first = session.encrypt(attacker.text("hello alice, it's mallory"))
    await attacker.send(mallory, alice_key, first)
    for target in (greeting.id, to_carol.id):
        _, payload = session.encrypt(content_format.encode(reaction(target)))
        await attacker.send(mallory, alice_key, payload)
    # ...and a stranger's first message that is only a reaction makes nothing at all.
    eve = await make_person(tmp_path, "eve", relay.url)
    await eve.messenger.start()
    await eve.messenger.wait_online(WAIT_S)
    eve_session = attacker.session_from(eve, await attacker.bundle_for(eve, alice_key))
    _, eve_payload = eve_session.encrypt(content_format.encode(reaction(greeting.id)))
    await attacker.send(eve, alice_key, eve_payload)
    # A control message after all of them: once it is in, the others were handled.
    await forge(bob, alice_key, content_format.Text(time.time(), "done", "bob"))
    await eventually(lambda: [m.body for m in incoming(alice)][-1:] == ["done"])
    assert reactions_seen(alice) == []
    for message in await history(alice, alice_chat) + await history(alice, carol_chat):
        assert message.reactions == (), message.body
    assert alice.messenger.store.db.one("SELECT count(*) FROM reactions") == (0,)
    [request] = await alice.messenger.requests()  # Mallory's; Eve's reaction made nothing
    assert request.claimed_name == "mallory"
    for person in (carol, mallory, eve):
        await person.messenger.close()


async def test_a_reaction_made_offline_is_sent_after_a_restart(
    pair: tuple[Person, Person],
) -> None:
    alice, bob, _, _ = await talking(pair)
    [greeting] = incoming(bob)
    # Bob's app opens without reaching the relay, he reacts, and closes it again.
    await bob.messenger.close()
    offline = await open_account(bob.profile, passphrase=PASSPHRASE)
    shown = await offline.react(greeting.id, THUMBS)
    assert shown.reactions == (ReactionView(THUMBS, 1, True),)
    await offline.close()
    assert reactions_seen(alice) == []
    await bob.reopen()  # online again: what waited is sent
    await eventually(lambda: len(reactions_seen(alice)) == 1)
    assert reactions_seen(alice)[0].message.reactions == (ReactionView(THUMBS, 1, False),)
    await bob.messenger.flush(WAIT_S)
    assert bob.messenger.store.db.one("SELECT count(*) FROM outbox") == (0,)


def test_a_reply_sent_again_in_a_fresh_session_keeps_its_quote(tmp_path: Path) -> None:
    """Session recovery rebuilds what was sent from the store (app/recovery.py): the quote too."""
    store = Store.create(tmp_path / "profile", fast_passphrase())
    db = store.db
    _contact, conversation = contact_ops.create(db, b"k" * 32, "Bob")
    messages.add(
        db, NewMessage(b"o" * 16, conversation.id, "in", "Bob", "lunch?", 1.0, 1.0, "delivered")
    )
    mine = messages.add(
        db, NewMessage(b"r" * 16, conversation.id, "out", "Me", "yes", 2.0, None, "sending")
    )
    assert mine is not None
    quote = content_format.Quote(b"o" * 16, b"k" * 32, "lunch?")
    replies.store_quote(db, mine.id, quote, "in")
    again = recovery.rebuild(db, mine, "Me", None)
    assert isinstance(again, content_format.Text) and again.reply == quote
    assert content_format.decode(content_format.encode(again)) == again
    store.close()
