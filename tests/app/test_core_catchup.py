"""Catch-up and key upkeep: a backlog in order with progress, prekeys topped up and rotated."""

from __future__ import annotations

import time

from parley.app import account
from parley.app.events import CatchUpProgress, ErrorRaised, MessageAdded
from parley.app.store import prekeys

from .test_core_fixtures import (  # noqa: F401
    WAIT_S,
    Person,
    accept_requests,
    eventually,
    pair_fixture,
    relay_fixture,
)

BACKLOG = 150


async def test_a_backlog_arrives_in_order_with_progress(pair: tuple[Person, Person]) -> None:
    alice, bob = pair
    await alice.messenger.start()
    conversation = (await alice.messenger.conversations())[0].id
    for n in range(BACKLOG):
        await alice.messenger.send_text(conversation, f"backlog {n}")
    await alice.messenger.flush(WAIT_S)
    await bob.messenger.start()
    await eventually(lambda: sum(isinstance(e, MessageAdded) for e in bob.events) == BACKLOG)
    bodies = [e.message.body for e in bob.events if isinstance(e, MessageAdded)]
    assert bodies == [f"backlog {n}" for n in range(BACKLOG)]
    progress = [e for e in bob.events if isinstance(e, CatchUpProgress)]
    assert progress and all(p.done <= p.total for p in progress)
    assert progress[-1].done == BACKLOG
    # Catch-up committed in batches: fewer progress reports than messages.
    assert len(progress) < BACKLOG
    assert await bob.messenger.conversations() == []  # a message request until accepted
    await accept_requests(bob)
    [conversation_view] = await bob.messenger.conversations()
    assert conversation_view.unread == BACKLOG


async def test_one_time_prekeys_are_topped_up_when_the_relay_says_low(
    pair: tuple[Person, Person],
) -> None:
    alice, bob = pair
    await alice.messenger.start()
    await alice.messenger.wait_online(WAIT_S)
    bob_account = bob.messenger.identity.public.to_bytes()
    client = alice.messenger._require_client()
    fetched = 1  # the bundle Alice fetched when she added Bob
    while fetched < account.ONE_TIME_STOCK - account.LOW_STOCK + 1:
        await client.fetch_bundle(bob_account)
        fetched += 1
    local_before = prekeys.count_one_time(bob.messenger.store.db)
    await bob.messenger.start()
    bob_client = bob.messenger._require_client()
    await eventually(lambda: bob_client.prekey_stock == account.ONE_TIME_STOCK)
    db = bob.messenger.store.db
    assert prekeys.count_one_time(db) == local_before + fetched
    assert not prekeys.unpublished_one_time(db)


async def test_an_old_signed_prekey_is_rotated_and_the_previous_kept(
    pair: tuple[Person, Person],
) -> None:
    _alice, bob = pair
    db = bob.messenger.store.db
    first = prekeys.current_signed(db)
    assert not account.rotate_if_old(db, bob.messenger.identity, time.time())
    later = first.created_at + 8 * 24 * 3600
    assert account.rotate_if_old(db, bob.messenger.identity, later)
    second = prekeys.current_signed(db)
    assert second.key_id == first.key_id + 1 and second.created_at == later
    assert prekeys.signed_by_id(db, first.key_id).public_key == first.public_key


async def test_the_owner_is_warned_when_prekeys_are_drained_without_use(
    pair: tuple[Person, Person],
) -> None:
    alice, bob = pair
    await alice.messenger.start()
    await alice.messenger.wait_online(WAIT_S)
    client = alice.messenger._require_client()
    for _ in range(account.DRAIN_WARNING):  # fetched, never written with
        await client.fetch_bundle(bob.messenger.identity.public.to_bytes())
    await bob.reopen()  # the next login publishes, and compares the stocks
    await eventually(
        lambda: any(isinstance(e, ErrorRaised) and "draining" in e.message for e in bob.events)
    )
    [warning] = [e for e in bob.events if isinstance(e, ErrorRaised) and "draining" in e.message]
    assert warning.message.startswith(f"{account.DRAIN_WARNING + 1} of your one-time prekeys")
