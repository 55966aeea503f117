"""Durability: restart both clients and the relay mid-conversation and lose nothing; and the
files on disk never hold a message's plaintext."""

from __future__ import annotations

import contextlib
from pathlib import Path

from parley.app.events import MessageAdded
from parley.net.relay.server import serve_relay

from .test_core_fixtures import WAIT_S, Person, accept_requests, eventually, make_person


def bodies_in(person: Person) -> list[str]:
    return [
        e.message.body
        for e in person.events
        if isinstance(e, MessageAdded) and e.message.direction == "in"
    ]


async def test_restart_everything_mid_conversation_and_lose_nothing(tmp_path: Path) -> None:
    data = tmp_path / "relay"
    async with contextlib.AsyncExitStack() as stack:
        relay = await stack.enter_async_context(serve_relay("127.0.0.1", 0, data))
        port = int(relay.url.rsplit(":", 1)[1])
        alice = await make_person(tmp_path, "alice", relay.url)
        bob = await make_person(tmp_path, "bob", relay.url)
        await alice.messenger.add_contact((await bob.messenger.my_invite()).code)
        await bob.messenger.start()
        conversation = (await alice.messenger.conversations())[0].id
        await alice.messenger.send_text(conversation, "before 1")
        await eventually(lambda: bodies_in(bob) == ["before 1"])

        # Bob goes away; Alice writes two more that wait on the relay.
        await bob.messenger.close()
        for text in ("queued 1", "queued 2"):
            await alice.messenger.send_text(conversation, text)
        await alice.messenger.flush(WAIT_S)
        # The relay stops; Alice writes one more that can only wait in her own store.
        await stack.aclose()
        stranded = await alice.messenger.send_text(conversation, "written offline")
        assert stranded.status == "sending"
        waiting = await alice.messenger.relay_record(stranded.id)
        assert waiting.stored_until is None and "Not yet stored" in waiting.explanation
        await alice.messenger.close()

    async with serve_relay("127.0.0.1", port, data):
        await alice.reopen()
        await bob.reopen()
        await eventually(lambda: bodies_in(bob) == ["queued 1", "queued 2", "written offline"])
        await accept_requests(bob)
        bob_conversation = (await bob.messenger.conversations())[0].id
        await bob.messenger.send_text(bob_conversation, "got them all")
        await eventually(lambda: bodies_in(alice) == ["got them all"])
        history = [m.body for m in await bob.messenger.load_messages(bob_conversation)]
        assert history == ["before 1", "queued 1", "queued 2", "written offline", "got them all"]
        # Bob's delivery receipts reach Alice's restarted client too.
        db = alice.messenger.store.db
        await eventually(
            lambda: (
                [r[0] for r in db.all("SELECT status FROM messages WHERE direction = 'out'")]
                == ["delivered"] * 4
            )
        )
        secrets = ["before 1", "queued 1", "written offline", "got them all"]
        await alice.messenger.close()
        await bob.messenger.close()

    for person in (alice, bob):
        files = [p for p in person.profile.iterdir() if p.name.startswith("store.db")]
        assert any(p.name == "store.db" for p in files)
        for path in files:
            raw = path.read_bytes()
            for secret in secrets:
                assert secret.encode() not in raw, f"{secret!r} in {path.name}"


async def test_the_wal_never_holds_plaintext_while_open(tmp_path: Path) -> None:
    async with serve_relay("127.0.0.1", 0, tmp_path / "relay") as relay:
        alice = await make_person(tmp_path, "alice", relay.url)
        bob = await make_person(tmp_path, "bob", relay.url)
        await alice.messenger.add_contact((await bob.messenger.my_invite()).code)
        await bob.messenger.start()
        conversation = (await alice.messenger.conversations())[0].id
        await alice.messenger.send_text(conversation, "zebra crossing at noon")
        await eventually(lambda: bodies_in(bob) == ["zebra crossing at noon"])
        wal = bob.profile / "store.db-wal"
        assert wal.exists() and wal.stat().st_size > 0  # the message is in the WAL right now
        assert b"zebra" not in wal.read_bytes()
        assert b"zebra" not in (alice.profile / "store.db-wal").read_bytes()
        await alice.messenger.close()
        await bob.messenger.close()
