"""End to end through a real `parley relay` process: live and offline exchange, TTL, quota, and the
operator's endpoints and log.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from nacl.signing import SigningKey
from parley.net.errors import RelayRefused

from .conftest import PeerFactory, RelayFactory, RelayProcess, http_get, message_id, metric

DAY = 86_400.0


async def test_live_and_offline_exchange_in_both_directions(
    relay: RelayProcess, peers: PeerFactory
) -> None:
    alice = await peers(relay.url).start()
    bob_key = SigningKey.generate()
    bob = await peers(relay.url, bob_key).start()
    # Live, both ways, interleaved.
    for n in range(5):
        await alice.client.send(bob.account, message_id(n), f"a{n}".encode())
        await bob.client.send(alice.account, message_id(100 + n), f"b{n}".encode())
    await bob.wait_for(5)
    await alice.wait_for(5)
    assert bob.payloads() == [f"a{n}".encode() for n in range(5)]
    assert alice.payloads() == [f"b{n}".encode() for n in range(5)]
    # Bob goes offline; alice keeps writing; bob comes back and catches up in order.
    await bob.client.close()
    for n in range(5, 25):
        await alice.client.send(bob.account, message_id(n), f"a{n}".encode())
    bob = await peers(relay.url, bob_key).start()
    await bob.wait_for(20)
    assert bob.payloads() == [f"a{n}".encode() for n in range(5, 25)]
    # And the conversation carries on live.
    await bob.client.send(alice.account, message_id(200), b"back")
    assert (await alice.wait_for(6))[-1].payload == b"back"


async def test_a_resent_message_id_is_stored_once(relay: RelayProcess, peers: PeerFactory) -> None:
    alice = await peers(relay.url).start()
    bob_key = SigningKey.generate()
    bob = await peers(relay.url, bob_key).start()
    await bob.client.close()
    first = await alice.client.send(bob.account, message_id(1), b"once")
    again = await alice.client.send(bob.account, message_id(1), b"once")  # a retry after a loss
    assert again.stored_at == first.stored_at
    await alice.client.send(bob.account, message_id(2), b"marker")
    bob = await peers(relay.url, bob_key).start()
    await bob.wait_for(2)
    assert [d.message_id for d in bob.received] == [message_id(1), message_id(2)]


async def test_messages_expire_after_their_time_to_live(
    relay_factory: RelayFactory, tmp_path: Path, peers: PeerFactory
) -> None:
    clock = tmp_path / "clock-offset"
    clock.write_text("0")
    relay = relay_factory(["--ttl-days", "1", "--test-clock-offset-file", str(clock)])
    relay.start()
    alice = await peers(relay.url).start()
    bob_key = SigningKey.generate()
    carol = await peers(relay.url).start()
    bob = await peers(relay.url, bob_key).start()
    await bob.client.close()
    doomed = await alice.client.send(bob.account, message_id(1), b"too late")
    assert doomed.expires_at == pytest.approx(doomed.stored_at + DAY)
    clock.write_text(str(DAY + 60))  # the relay re-reads it about once a second
    probe = 0
    while True:  # wait until the relay's clock has jumped, as its own receipts show
        probe += 1
        receipt = await alice.client.send(carol.account, message_id(1000 + probe), b"probe")
        if receipt.stored_at > doomed.expires_at:
            break
        await asyncio.sleep(0.1)
    await alice.client.send(bob.account, message_id(2), b"in time")
    bob = await peers(relay.url, bob_key).start()
    await bob.wait_for(1)
    # Delivery is oldest first, so an expired message handed out would have come first.
    assert bob.payloads() == [b"in time"]


async def test_the_per_recipient_quota_refuses_then_recovers(
    relay_factory: RelayFactory, peers: PeerFactory
) -> None:
    relay = relay_factory(["--quota-messages", "3"])
    relay.start()
    alice = await peers(relay.url).start()
    bob_key = SigningKey.generate()
    bob = await peers(relay.url, bob_key).start()
    await bob.client.close()
    for n in range(3):
        await alice.client.send(bob.account, message_id(n), b"fits")
    with pytest.raises(RelayRefused) as refused:
        await alice.client.send(bob.account, message_id(3), b"one too many")
    assert refused.value.code == "quota_exceeded"
    assert "quota" in str(refused.value)
    bob = await peers(relay.url, bob_key).start()
    await bob.wait_for(3)  # draining (and acknowledging) frees the quota
    for _ in range(100):
        try:
            await alice.client.send(bob.account, message_id(4), b"fits again")
            break
        except RelayRefused:  # the last acknowledgements may still be on their way
            await asyncio.sleep(0.05)
    assert (await bob.wait_for(4))[-1].payload == b"fits again"


async def test_health_and_metrics_endpoints_answer(relay: RelayProcess, peers: PeerFactory) -> None:
    status, body = await http_get(relay.http_url + "/health")
    assert status == 200
    assert body.strip() == "ok"
    alice = await peers(relay.url).start()
    bob = await peers(relay.url).start()
    await alice.client.send(bob.account, message_id(1), b"counted")
    await bob.wait_for(1)
    with pytest.raises(RelayRefused):
        await alice.client.fetch_bundle(bytes(32))
    status, text = await http_get(relay.http_url + "/metrics")
    assert status == 200
    assert metric(text, "parley_relay_authenticated") == 2
    assert metric(text, "parley_relay_stored_total") == 1
    assert metric(text, "parley_relay_refused_total") >= 1
    assert 'parley_relay_refused_by_code_total{code="unknown_account"} 1' in text


async def test_the_operators_log_never_contains_message_content(
    relay: RelayProcess, peers: PeerFactory
) -> None:
    alice = await peers(relay.url).start()
    bob = await peers(relay.url).start()
    secret = b"SECRET-PAYLOAD-MARKER"
    await alice.client.publish_prekeys(b"PREKEY-MARKER", [b"OTK-MARKER"])
    await alice.client.send(bob.account, message_id(1), secret)
    await bob.wait_for(1)
    await alice.client.close()
    await bob.client.close()
    relay.terminate()  # flushes and joins the log readers
    log = "\n".join(relay.lines)
    assert log  # the relay did log the events...
    for marker in ("SECRET-PAYLOAD-MARKER", "PREKEY-MARKER", "OTK-MARKER", secret.hex()):
        assert marker not in log  # ...but never what it carried
    assert alice.account.hex() not in log  # accounts appear at most shortened
