"""First-message attacks through a real relay: burning one-time prekeys, replaying them."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from parley.app.account import open_account
from parley.app.events import MessageRefused
from parley.crypto import ratchet
from parley.crypto.session import peek_initial
from parley.net.relay.server import RelayServer

from . import attacker
from .test_core_fixtures import (
    PASSPHRASE,
    WAIT_S,
    Person,
    accept_requests,
    eventually,
    incoming,
    make_person,
)


async def test_a_forged_first_message_does_not_burn_the_one_time_prekey(
    pair: tuple[Person, Person], relay: RelayServer, tmp_path: Path
) -> None:
    alice, bob = pair
    await bob.messenger.close()  # offline: the relay queues everything for Bob
    # Alice writes her first message while her client is not connected: it waits in her store.
    await alice.messenger.close()
    alice.messenger = await open_account(alice.profile, passphrase=PASSPHRASE)
    alice.listen()
    conversation = (await alice.messenger.conversations())[0].id
    await alice.messenger.send_text(conversation, "the genuine first message")
    [(_, _, payload)] = alice.messenger.pipeline.pending_outgoing()
    header = peek_initial(payload)
    assert header is not None and header.one_time_prekey_id is not None
    named = header.one_time_prekey_id

    # Mallory names the same one-time prekey id (ids are sequential) in a forged first message,
    # which reaches Bob first.
    mallory = await make_person(tmp_path, "mallory", relay.url)
    await mallory.messenger.start()
    await mallory.messenger.wait_online(WAIT_S)
    bob_key = bob.messenger.identity.public.to_bytes()
    forged = attacker.session_from(
        mallory, await attacker.bundle_for(mallory, bob_key, one_time=named)
    )
    _, forged_payload = forged.encrypt(attacker.text("burn it"))
    assert peek_initial(forged_payload).one_time_prekey_id == named  # type: ignore[union-attr]
    await attacker.send(mallory, bob_key, forged_payload)
    await mallory.messenger.close()

    await alice.messenger.start()
    await alice.messenger.wait_online(WAIT_S)
    await alice.messenger.flush(WAIT_S)
    await bob.reopen()
    await eventually(lambda: incoming(bob) == ["the genuine first message"])
    refused = [e for e in bob.events if isinstance(e, MessageRefused)]
    assert len(refused) == 1 and refused[0].conversation_id is None
    assert "could not be shown: it could not be decrypted" in refused[0].text
    # The key is gone now that the genuine message used it, and only once.
    assert bob.messenger.store.db.one(
        "SELECT count(*) FROM one_time_prekeys WHERE key_id = ?", (named,)
    ) == (0,)


async def test_a_replayed_first_message_without_a_one_time_prekey_is_refused(
    pair: tuple[Person, Person],
) -> None:
    alice, bob = pair
    for person in (alice, bob):
        await person.messenger.start()
        await person.messenger.wait_online(WAIT_S)
    bob_key = bob.messenger.identity.public.to_bytes()
    # Alice's session starts from a bundle without a one-time prekey (the relay ran out).
    bundle = await attacker.bundle_for(alice, bob_key, one_time="none")
    session = attacker.session_from(alice, bundle)
    alice_row = (await alice.messenger.contacts())[0]
    from parley.app.messaging import save_sessions

    save_sessions(alice.messenger.store.db, alice_row.id, [session])
    conversation = (await alice.messenger.conversations())[0].id
    first = await alice.messenger.send_text(conversation, "one")
    await eventually(lambda: incoming(bob) == ["one"])
    await accept_requests(bob)
    bob_conversation = (await bob.messenger.conversations())[0].id
    # The conversation moves on, past the ratchet's duplicate window (it remembers the last
    # MAX_PAST_RATCHET_KEYS ratchet keys of the other side): one ratchet step per round trip.
    rounds = ratchet.MAX_PAST_RATCHET_KEYS + 2
    for n in range(rounds):
        await bob.messenger.send_text(bob_conversation, f"b{n}")
        await eventually(lambda n=n: f"b{n}" in incoming(alice))  # type: ignore[misc]
        await alice.messenger.send_text(conversation, f"a{n}")
        await eventually(lambda n=n: f"a{n}" in incoming(bob))  # type: ignore[misc]

    # The first message again, with a new message id (a malicious relay, or Alice's account).
    seen = await bob.messenger.relay_record(first.id)
    replay = bytes.fromhex(seen.frame_hex)
    assert peek_initial(replay) is not None
    await alice.messenger._require_client().send(bob_key, os.urandom(16), replay)
    await asyncio.sleep(1.0)
    await bob.messenger.send_text(bob_conversation, "still the live session")
    await eventually(lambda: "still the live session" in incoming(alice))
    history = [m.body for m in await bob.messenger.load_messages(bob_conversation, limit=500)]
    exchange = [body for n in range(rounds) for body in (f"b{n}", f"a{n}")]
    assert history == ["one", *exchange, "still the live session"]
    assert bob.messenger.store.db.one("SELECT count(*) FROM x3dh_replay") == (1,)
