"""The proxy setting is real: the relay connection goes through an HTTP CONNECT or SOCKS5 proxy.

Both proxies are small but real servers on 127.0.0.1 written here (nothing is mocked): they record
where each tunnel leads and copy bytes both ways, so the test can prove that the messages crossed
the proxy and not a direct connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import struct
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import pytest
from parley.app.errors import AppError
from parley.app.events import MessageAdded
from parley.app.proxy import proxy_choice
from parley.net.relay.server import RelayServer

from .test_core_fixtures import WAIT_S, Person, eventually, pair_fixture, relay_fixture  # noqa: F401


@dataclass
class Proxy:
    """A running proxy: its URL and the (host, port) of every tunnel it opened."""

    url: str
    tunnels: list[tuple[str, int]] = field(default_factory=list)


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError, asyncio.CancelledError):
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    writer.close()


async def _tunnel(
    proxy: Proxy, host: str, port: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> asyncio.StreamWriter | None:
    proxy.tunnels.append((host, port))
    up_reader, up_writer = await asyncio.open_connection(host, port)
    await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))
    return up_writer


async def _http_connect(proxy: Proxy, r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
    request = await r.readuntil(b"\r\n\r\n")
    method, target, _ = request.split(b"\r\n", 1)[0].split(b" ", 2)
    if method != b"CONNECT":
        w.write(b"HTTP/1.1 405 Method Not Allowed\r\n\r\n")
        w.close()
        return
    host, port = target.decode().rsplit(":", 1)
    w.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
    await w.drain()
    await _tunnel(proxy, host, int(port), r, w)


async def _socks5(proxy: Proxy, r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
    version, n_methods = await r.readexactly(2)
    methods = await r.readexactly(n_methods)
    if version != 5 or 0 not in methods:
        w.close()
        return
    w.write(b"\x05\x00")  # no authentication
    _, command, _, atyp = await r.readexactly(4)
    if atyp == 1:
        host = str(ipaddress.IPv4Address(await r.readexactly(4)))
    elif atyp == 3:
        host = (await r.readexactly((await r.readexactly(1))[0])).decode()
    else:
        host = str(ipaddress.IPv6Address(await r.readexactly(16)))
    (port,) = struct.unpack(">H", await r.readexactly(2))
    if command != 1:
        w.write(b"\x05\x07\x00\x01" + bytes(6))
        w.close()
        return
    w.write(b"\x05\x00\x00\x01" + bytes(6))
    await w.drain()
    await _tunnel(proxy, host, port, r, w)


@contextlib.asynccontextmanager
async def running_proxy(kind: str) -> AsyncIterator[Proxy]:
    proxy = Proxy("")
    handler = _http_connect if kind == "http" else _socks5

    async def serve(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
            await handler(proxy, r, w)

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    proxy.url = f"{kind}://127.0.0.1:{port}"
    async with server:
        yield proxy
        server.close()


@pytest.mark.parametrize("kind", ["http", "socks5"])
async def test_messages_travel_through_the_configured_proxy(
    kind: str, pair: tuple[Person, Person], relay: RelayServer
) -> None:
    alice, bob = pair
    relay_address = urlsplit(relay.url)
    async with running_proxy(kind) as proxy:
        settings = await alice.messenger.settings()
        await alice.messenger.update_settings(
            type(settings)(
                settings.relay_url, settings.auto_lock_minutes, settings.notifications, proxy.url
            )
        )
        await alice.messenger.wait_online(WAIT_S)
        await eventually(lambda: proxy.tunnels)
        (conversation,) = await alice.messenger.conversations()
        await alice.messenger.send_text(conversation.id, "through the proxy")
        await eventually(
            lambda: any(
                isinstance(e, MessageAdded) and e.message.body == "through the proxy"
                for e in bob.events
            )
        )
        assert (relay_address.hostname, relay_address.port) in proxy.tunnels
        assert (await alice.messenger.settings()).proxy_url == proxy.url


async def test_an_unusable_proxy_setting_is_refused_and_not_saved(
    pair: tuple[Person, Person],
) -> None:
    alice, _ = pair
    settings = await alice.messenger.settings()
    with pytest.raises(AppError, match="port"):
        await alice.messenger.update_settings(
            type(settings)(
                settings.relay_url,
                settings.auto_lock_minutes,
                settings.notifications,
                "socks5h://127.0.0.1",
            )
        )
    assert (await alice.messenger.settings()).proxy_url == settings.proxy_url


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", True),
        ("  ", True),
        ("direct", None),
        ("DIRECT", None),
        ("socks5h://127.0.0.1:9050", "socks5h://127.0.0.1:9050"),
        ("http://user:secret@proxy.example:3128", "http://user:secret@proxy.example:3128"),
    ],
)
def test_proxy_choices(text: str, expected: object) -> None:
    assert proxy_choice(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "ftp://proxy:21",
        "proxy.example:3128",
        "socks5://:1080",
        "http://proxy.example",
        "http://proxy.example:99999",
        "http://proxy.example:3128/path",
        "socks5://" + "a" * 3000 + ":1",
    ],
)
def test_unusable_proxy_addresses_are_refused(text: str) -> None:
    with pytest.raises(AppError):
        proxy_choice(text)
