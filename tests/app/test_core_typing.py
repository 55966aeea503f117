"""Typing indicators through the real pipeline and a real relay: nothing goes out with the setting
off (the default), an accepted contact's is shown and never stored, a stranger's, a request's
and a blocked identity's never are, and a stale one (it waited at the relay) is not shown."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest
from parley.app import typing_indicators
from parley.app.events import RequestChanged, TypingChanged
from parley.net.relay.server import RelayServer

from .test_core_fixtures import WAIT_S, Person, eventually, online, talking


def typing_events(person: Person) -> list[TypingChanged]:
    return [e for e in person.events if isinstance(e, TypingChanged)]


async def turn_on(person: Person) -> None:
    settings = await person.messenger.settings()
    assert settings.typing_indicators is False  # off by default
    await person.messenger.update_settings(dataclasses.replace(settings, typing_indicators=True))
    assert (await person.messenger.settings()).typing_indicators is True


def stored(relay: RelayServer) -> int:
    return relay.core.counters.stored_total


def message_rows(person: Person) -> int:
    row = person.messenger.store.db.one("SELECT count(*) FROM messages")
    assert row is not None
    return int(row[0])


async def test_nothing_is_sent_with_the_setting_off_and_an_accepted_contacts_is_shown(
    pair: tuple[Person, Person], relay: RelayServer
) -> None:
    alice, bob, conversation, _theirs = await talking(pair)
    await alice.messenger.flush(WAIT_S)
    await asyncio.sleep(0.5)
    before, rows = stored(relay), message_rows(bob)
    assert await alice.messenger.send_typing(conversation, True) is False
    await asyncio.sleep(0.5)
    assert stored(relay) == before  # not even padded ciphertext reached the relay

    await turn_on(alice)
    assert await alice.messenger.send_typing(conversation, True) is True
    assert stored(relay) == before + 1
    await eventually(lambda: typing_events(bob))
    [started] = typing_events(bob)
    bob_conversation = (await bob.messenger.conversations())[0]
    assert started == TypingChanged(bob_conversation.id, bob_conversation.title, True)
    assert await alice.messenger.send_typing(conversation, False) is True
    await eventually(lambda: len(typing_events(bob)) == 2)
    assert typing_events(bob)[1].typing is False
    # Never stored, never unread, never answered with a delivery receipt.
    assert message_rows(bob) == rows
    assert (await bob.messenger.conversations())[0].unread == bob_conversation.unread
    await asyncio.sleep(0.5)
    assert stored(relay) == before + 2
    # The sessions moved on in step: the next text still reads.
    await alice.messenger.send_text(conversation, "after typing")
    await eventually(lambda: message_rows(bob) == rows + 1)


async def test_a_strangers_a_requests_and_a_blocked_identitys_typing_is_never_shown(
    pair: tuple[Person, Person], relay: RelayServer
) -> None:
    dave, bob = pair  # Dave added Bob; Bob never added Dave
    await online(dave, bob)
    await turn_on(dave)
    conversation = (await dave.messenger.conversations())[0].id
    before = stored(relay)
    assert await dave.messenger.send_typing(conversation, True) is True  # a stranger's first
    await eventually(lambda: relay.core.counters.delivered_total > 0)
    await asyncio.sleep(0.3)
    assert await bob.messenger.requests() == []  # a typing indicator makes no request
    await dave.messenger.send_text(conversation, "hi, it's Dave")
    await eventually(lambda: any(isinstance(e, RequestChanged) for e in bob.events))
    assert await dave.messenger.send_typing(conversation, True) is True  # a request's
    [request] = await bob.messenger.requests()
    await bob.messenger.block(request.contact_id)
    assert await dave.messenger.send_typing(conversation, True) is True  # a blocked one's
    await dave.messenger.flush(WAIT_S)
    await eventually(lambda: relay.core.counters.delivered_total >= 4)
    await asyncio.sleep(0.3)
    assert stored(relay) == before + 4
    assert typing_events(bob) == []
    assert message_rows(bob) == 1  # Dave's text only


async def test_a_typing_indicator_that_waited_at_the_relay_is_not_shown(
    pair: tuple[Person, Person], monkeypatch: pytest.MonkeyPatch
) -> None:
    alice, bob, conversation, _theirs = await talking(pair)
    await turn_on(alice)
    monkeypatch.setattr(typing_indicators, "SHOWN_FOR_S", 0.5)
    await bob.messenger.close()  # Bob goes offline; the relay keeps what Alice sends
    assert await alice.messenger.send_typing(conversation, True) is True
    await asyncio.sleep(1.0)
    await bob.reopen()
    await alice.messenger.send_text(conversation, "are you there?")
    await eventually(lambda: message_rows(bob) == 2)
    assert typing_events(bob) == []
