"""SIGKILL the relay mid-flow and start it again on the same data directory.

What must hold: every message whose ``sent`` receipt reached its sender is delivered after the
restart (the relay commits before it acknowledges); senders resend what was not acknowledged, with
the same message id, and the relay stores it once; a message redelivered because its ack died with
the relay reaches the app's ``on_delivery`` only once.
"""

from __future__ import annotations

import asyncio
import urllib.request

from nacl.signing import SigningKey
from parley.net.client import Delivery, SendReceipt

from .conftest import PeerFactory, RelayProcess, message_id


def _delivered_total(relay: RelayProcess) -> float:
    with urllib.request.urlopen(relay.http_url + "/metrics", timeout=10) as response:
        for line in response.read().decode().splitlines():
            if line.startswith("parley_relay_delivered_total "):
                return float(line.split()[1])
    raise AssertionError("no delivered_total metric")


async def test_queued_messages_survive_sigkill(relay: RelayProcess, peers: PeerFactory) -> None:
    alice = await peers(relay.url).start()
    bob_key = SigningKey.generate()
    bob = await peers(relay.url, bob_key).start()
    await bob.client.close()
    receipts = await asyncio.gather(
        *(alice.client.send(bob.account, message_id(n), n.to_bytes(4, "big")) for n in range(100))
    )
    relay.kill()  # right after the last receipt: no clean shutdown, no final commit
    relay.start()
    bob = await peers(relay.url, bob_key).start()
    await bob.wait_for(100)
    assert {d.message_id for d in bob.received} == {r.message_id for r in receipts}
    assert len(bob.received) == 100


async def test_sigkill_mid_flow_loses_nothing_acknowledged_and_duplicates_nothing(
    relay: RelayProcess, peers: PeerFactory
) -> None:
    alice = await peers(relay.url).start()
    bob = await peers(relay.url).start()
    total = 200
    receipts: list[SendReceipt] = []
    gate = asyncio.Semaphore(8)  # several sends in flight when the relay dies

    async def send(n: int) -> None:
        async with gate:
            receipts.append(await alice.client.send(bob.account, message_id(n), b"m%d" % n))

    sending = [asyncio.create_task(send(n)) for n in range(total)]
    async with asyncio.timeout(20):
        while len(receipts) < total // 3:
            await asyncio.sleep(0.005)
    acknowledged_before_kill = {r.message_id for r in receipts}
    relay.kill()
    relay.start()
    await asyncio.gather(*sending)  # everything unacknowledged was resent and is now stored
    await bob.wait_for(total)
    delivered = [d.message_id for d in bob.received]
    assert acknowledged_before_kill <= set(delivered)
    assert sorted(delivered) == [message_id(n) for n in range(total)]  # each exactly once
    assert len(bob.calls) == len(set(bob.calls))  # on_delivery never saw a duplicate


async def test_a_redelivered_message_reaches_the_app_once(
    relay: RelayProcess, peers: PeerFactory
) -> None:
    alice = await peers(relay.url).start()
    bob = await peers(relay.url).start()
    killed = asyncio.Event()

    def crash_before_the_ack(delivery: Delivery) -> None:
        # The app has committed; the client has not acknowledged yet. The relay dies now. Either
        # its store holds the message (the restarted relay delivers it again) or, if it died
        # before its group commit, alice never got a receipt and sends it again: both ways bob's
        # client sees the message a second time.
        if not killed.is_set():
            relay.kill()
            killed.set()

    bob.after_commit = crash_before_the_ack
    sending = asyncio.create_task(
        alice.client.send(bob.account, message_id(1), b"exactly once, please")
    )
    await killed.wait()
    relay.start()
    await sending
    async with asyncio.timeout(20):
        while await asyncio.to_thread(_delivered_total, relay) < 1:
            await asyncio.sleep(0.05)  # the restarted relay redelivered it and got its ack
    assert bob.calls == [message_id(1)]
    assert [d.payload for d in bob.received] == [b"exactly once, please"]
    # The conversation goes on normally after the crash.
    await alice.client.send(bob.account, message_id(2), b"after")
    assert [d.message_id for d in await bob.wait_for(2)] == [message_id(1), message_id(2)]
