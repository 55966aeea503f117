"""The proxy setting: which proxy the relay connection goes through, validated before it is saved.

Three choices, written in one text field of the settings:

- empty: the system's proxy settings (the ``https_proxy``/``http_proxy``/``all_proxy`` and
  ``no_proxy`` environment variables, as websockets reads them), which is what people behind a
  company proxy expect without configuring anything;
- ``direct``: never a proxy, whatever the environment says;
- a URL: ``socks5h://host:port`` (names resolved by the proxy, the choice for Tor, which listens on
  127.0.0.1:9050), ``socks5://``, ``socks4a://``, ``socks4://``, ``http://`` or ``https://``
  (HTTP CONNECT), optionally with ``user:password@``.

The result is what ``RelayClient(proxy=...)`` passes to ``websockets.connect``: ``True`` for the
system settings, ``None`` for none, or the URL.
"""

from __future__ import annotations

from typing import Literal
from urllib.parse import urlsplit

from parley.app.errors import AppError

DIRECT = "direct"
SCHEMES = ("socks5h", "socks5", "socks4a", "socks4", "http", "https")
MAX_LENGTH = 2048

ProxyChoice = str | Literal[True] | None


def proxy_choice(setting: str) -> ProxyChoice:
    """Turn the text of the proxy setting into what the relay client uses.

    Raises:
        AppError: the text is neither empty, ``direct``, nor a proxy URL Parley can use.
    """
    text = setting.strip()
    if not text:
        return True
    if text.lower() == DIRECT:
        return None
    if len(text) > MAX_LENGTH:
        raise AppError("The proxy address is too long.")
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise AppError(f"The proxy address {text!r} is not a valid URL ({exc}).") from exc
    if parts.scheme.lower() not in SCHEMES:
        raise AppError(
            f"The proxy address must start with one of {', '.join(s + '://' for s in SCHEMES)}; "
            f"leave it empty for the system's settings, or write {DIRECT!r} for none."
        )
    if not parts.hostname:
        raise AppError(f"The proxy address {text!r} names no host.")
    if port is None:
        raise AppError(
            f"The proxy address {text!r} needs a port (for Tor: socks5h://127.0.0.1:9050)."
        )
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise AppError(f"The proxy address {text!r} must not have a path, query or fragment.")
    return text
