"""Every kind of bad input over a raw WebSocket gets its error frame, and the relay keeps serving.

Each test runs next to the ``chatter`` fixture: two well-behaved clients exchanging messages through
the same relay process for the whole test. The fixture proves at teardown (and each test again right
after its bad input) that their messages kept flowing, so a refusal that stalled the event loop,
crashed the process or disturbed other connections fails the test, not just a missing error frame.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import msgpack
import pytest
from nacl.signing import SigningKey
from parley.net import wire
from websockets.exceptions import ConnectionClosed

from .conftest import Chatter, RawConnection, RelayFactory, RelayProcess, message_id

CLOSE_POLICY = 1008
CLOSE_TOO_BIG = 1009


@pytest.fixture(scope="module")
def relay(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RelayProcess]:
    """One relay for the whole module (each test uses fresh accounts): bad input from one test
    must not leave the relay unable to serve the next, which this sharing also checks."""
    process = RelayProcess(tmp_path_factory.mktemp("relay"))
    process.start()
    yield process
    if not process.alive():
        raise AssertionError("the relay died during the bad-input tests")
    process.kill()


async def _logged_in(relay: RelayProcess) -> tuple[RawConnection, SigningKey]:
    raw = await RawConnection.open(relay.url)
    key = SigningKey.generate()
    await raw.login(key)
    return raw, key


async def test_garbage_bytes_get_bad_frame_and_the_connection_survives(
    relay: RelayProcess, chatter: Chatter
) -> None:
    raw = await RawConnection.open(relay.url)
    await raw.ws.send(b"\xc1\xff\x00 definitely not msgpack")
    assert (await raw.error()).code == "bad_frame"
    await chatter.progressed()
    await raw.login(SigningKey.generate())  # the same connection can still log in


async def test_a_text_frame_gets_bad_frame(relay: RelayProcess, chatter: Chatter) -> None:
    raw, _ = await _logged_in(relay)
    await raw.ws.send('{"type": "send"}')
    error = await raw.error()
    assert error.code == "bad_frame"
    assert "binary" in error.reason
    await chatter.progressed()


@pytest.mark.parametrize(
    ("document", "code"),
    [
        ([1, 2, 3], "bad_frame"),  # not a map
        ({"id": 9}, "bad_frame"),  # no type
        ({"type": "teleport", "id": 9}, "unknown_type"),
        ({"type": "deliver", "id": 9}, "unknown_type"),  # a relay-only frame from a client
        ({"type": "send", "id": 9, "to": "alice", "message_id": b"1" * 16}, "bad_frame"),
        ({"type": "fetch", "id": 9, "account": b"short"}, "bad_frame"),
        ({"type": "send", "id": 2**40}, "bad_frame"),  # id out of range
        ({"type": "ping", "id": True}, "bad_frame"),  # bool is not an int
    ],
)
async def test_wrong_schema_gets_its_error(
    relay: RelayProcess, chatter: Chatter, document: object, code: str
) -> None:
    raw, _ = await _logged_in(relay)
    await raw.ws.send(msgpack.packb(document, use_bin_type=True))
    assert (await raw.error()).code == code
    await chatter.progressed()


async def test_the_error_frame_echoes_the_request_id_when_it_can(
    relay: RelayProcess, chatter: Chatter
) -> None:
    raw, _ = await _logged_in(relay)
    await raw.ws.send(msgpack.packb({"type": "fetch", "id": 77, "account": 5}))
    error = await raw.error()
    assert (error.code, error.request_id) == ("bad_frame", 77)


async def test_an_oversize_frame_closes_only_that_connection(
    relay: RelayProcess, chatter: Chatter
) -> None:
    raw, _ = await _logged_in(relay)
    await raw.ws.send(bytes(wire.MAX_FRAME + 1))
    assert await raw.closed_with() == CLOSE_TOO_BIG
    await chatter.progressed()


async def test_an_oversize_payload_inside_a_legal_frame_gets_too_large(
    relay: RelayProcess, chatter: Chatter
) -> None:
    raw, _ = await _logged_in(relay)
    send = {
        "type": "send",
        "id": 3,
        "to": chatter.bob.account,
        "message_id": message_id(1),
        "payload": bytes(wire.MAX_PAYLOAD + 1),
    }
    await raw.ws.send(msgpack.packb(send))
    error = await raw.error()
    assert (error.code, error.request_id) == ("too_large", 3)
    await chatter.progressed()


async def test_send_before_authentication_is_refused(relay: RelayProcess, chatter: Chatter) -> None:
    raw = await RawConnection.open(relay.url)
    reply = await raw.request(wire.Send(5, chatter.bob.account, message_id(1), b"sneaky"))
    assert isinstance(reply, wire.Error)
    assert (reply.code, reply.request_id) == ("unauthenticated", 5)
    assert isinstance(await raw.request(wire.Fetch(6, chatter.bob.account)), wire.Error)
    await chatter.progressed()
    # Nothing reached bob but the bystanders' own messages.
    assert all(d.sender == chatter.alice.account for d in chatter.bob.received)


async def test_a_replayed_challenge_signature_is_refused(
    relay: RelayProcess, chatter: Chatter
) -> None:
    key = SigningKey.generate()
    first = await RawConnection.open(relay.url)
    captured = wire.Auth(1, bytes(key.verify_key), first.signature(key))
    assert isinstance(await first.request(captured), wire.Welcome)
    second = await RawConnection.open(relay.url)
    assert second.challenge.nonce != first.challenge.nonce
    reply = await second.request(captured)  # the same bytes on a fresh connection
    assert isinstance(reply, wire.Error)
    assert reply.code == "bad_signature"
    assert await second.closed_with() == CLOSE_POLICY
    await chatter.progressed()


async def test_a_wrongly_signed_challenge_is_refused(relay: RelayProcess, chatter: Chatter) -> None:
    raw = await RawConnection.open(relay.url)
    victim = chatter.bob.account  # claim someone else's account, sign with our own key
    reply = await raw.request(wire.Auth(1, victim, raw.signature(SigningKey.generate())))
    assert isinstance(reply, wire.Error)
    assert reply.code == "bad_signature"
    assert await raw.closed_with() == CLOSE_POLICY
    await chatter.progressed()


async def test_a_signature_for_another_relay_is_refused(
    relay: RelayProcess, chatter: Chatter
) -> None:
    raw = await RawConnection.open(relay.url)
    key = SigningKey.generate()
    message = wire.auth_message("ws://another-relay:1", raw.challenge.nonce)
    signature = bytes(key.sign(message).signature)
    reply = await raw.request(wire.Auth(1, bytes(key.verify_key), signature))
    assert isinstance(reply, wire.Error)
    assert reply.code == "bad_signature"
    await chatter.progressed()


async def test_an_unsupported_version_is_refused(relay: RelayProcess, chatter: Chatter) -> None:
    raw = await RawConnection.open(relay.url)
    key = SigningKey.generate()
    reply = await raw.request(wire.Auth(1, bytes(key.verify_key), raw.signature(key), version=2))
    assert isinstance(reply, wire.Error)
    assert reply.code == "unsupported_version"
    assert await raw.closed_with() == CLOSE_POLICY


async def test_a_second_auth_is_refused(relay: RelayProcess, chatter: Chatter) -> None:
    raw, key = await _logged_in(relay)
    reply = await raw.request(wire.Auth(9, bytes(key.verify_key), raw.signature(key)))
    assert isinstance(reply, wire.Error)
    assert (reply.code, reply.request_id) == ("already_authenticated", 9)
    assert isinstance(await raw.request(wire.Ping(10)), wire.Pong)  # still logged in


async def test_a_bundle_for_an_unknown_account_is_refused(
    relay: RelayProcess, chatter: Chatter
) -> None:
    raw, _ = await _logged_in(relay)
    reply = await raw.request(wire.Fetch(4, bytes(SigningKey.generate().verify_key)))
    assert isinstance(reply, wire.Error)
    assert (reply.code, reply.request_id) == ("unknown_account", 4)
    await chatter.progressed()


async def test_a_flood_is_rate_limited_without_slowing_anyone_else(
    relay: RelayProcess, chatter: Chatter
) -> None:
    raw, _ = await _logged_in(relay)
    # Three times the default burst of 200, as fast as the socket takes them: only a client
    # slower than 100 pings a second (refilling the bucket) could avoid the limit.
    for n in range(600):
        await raw.ws.send(wire.encode(wire.Ping(n)))
    codes: list[str] = []
    for _ in range(600):
        frame = await raw.frame()
        codes.append(frame.code if isinstance(frame, wire.Error) else "pong")
    assert "rate_limited" in codes
    assert "pong" in codes
    await chatter.progressed()


async def test_too_many_bad_frames_close_the_connection(
    relay: RelayProcess, chatter: Chatter
) -> None:
    raw = await RawConnection.open(relay.url)
    codes: list[str] = []
    with pytest.raises(ConnectionClosed):
        for _ in range(50):
            await raw.ws.send(b"\xc1")
            codes.append((await raw.error()).code)
    assert codes and set(codes) == {"bad_frame"}
    assert len(codes) < 50
    assert raw.ws.close_code == CLOSE_POLICY
    await chatter.progressed()


async def test_too_many_connections_for_one_account(relay: RelayProcess, chatter: Chatter) -> None:
    key = SigningKey.generate()
    held = []
    for _ in range(4):  # the default cap
        raw = await RawConnection.open(relay.url)
        await raw.login(key)
        held.append(raw)
    extra = await RawConnection.open(relay.url)
    reply = await extra.request(wire.Auth(1, bytes(key.verify_key), extra.signature(key)))
    assert isinstance(reply, wire.Error)
    assert reply.code == "too_many_connections"
    assert await extra.closed_with() == CLOSE_POLICY
    assert isinstance(await held[0].request(wire.Ping(2)), wire.Pong)  # the others are kept
    await chatter.progressed()


async def test_an_unauthenticated_connection_is_closed_after_the_timeout(
    relay_factory: RelayFactory,
) -> None:
    relay = relay_factory(["--auth-timeout", "0.3"])
    relay.start()
    idle = await RawConnection.open(relay.url)
    error = await idle.error()
    assert error.code == "auth_timeout"
    assert await idle.closed_with() == CLOSE_POLICY
    # A connection that logs in in time stays.
    ok = await RawConnection.open(relay.url)
    await ok.login(SigningKey.generate())
    await asyncio.sleep(0.6)
    assert isinstance(await ok.request(wire.Ping(3)), wire.Pong)
    assert relay.alive()
