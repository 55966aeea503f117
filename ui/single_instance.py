"""One running app per profile: a second `parley` hands its request to the first and exits.

Two processes cannot share one SQLCipher profile, and a person who clicks a ``parley://`` link
while Parley is open expects the open window to show it. So the first process listens on a local
socket named after its profile (QLocalServer: a Unix socket in a folder only this user can enter,
a named pipe on Windows); a later process connects, sends one request line, waits for ``ok`` and
exits 0.

Requests, one UTF-8 line each, at most ``MAX_REQUEST_BYTES``::

    show\\n            bring the window (or the unlock screen) to the front
    link <text>\\n     the same, then offer the link (an invite) to the person

A socket left behind by a crashed instance answers nobody: ``claim_or_forward`` then removes it
and listens in its place.
"""

from __future__ import annotations

import hashlib
import logging
import os
import stat
import sys
import tempfile
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from parley.ui.errors import StartupFailed, UiError
from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtNetwork import QAbstractSocket, QLocalServer, QLocalSocket

log = logging.getLogger(__name__)

MAX_REQUEST_BYTES = 4096
#: The longest link a request carries (an invite is at most 1024 characters: app/invite.py).
MAX_LINK_BYTES = MAX_REQUEST_BYTES - len(b"link \n")
CONNECT_TIMEOUT_MS = 2000
#: The running instance answers from its event loop, which never blocks for long.
REPLY_TIMEOUT_MS = 5000
REPLY = b"ok\n"
#: A client that connects and says nothing is dropped after this long.
IDLE_CLIENT_MS = 5000


@dataclass(frozen=True)
class Request:
    """What a second start asks of the running instance; ``link`` is None for a plain start."""

    link: str | None = None

    @classmethod
    def for_link(cls, text: str) -> Request:
        """A request for any text given as a link: made one line and cut to a sane length.

        The running instance validates the link and explains what is wrong with it; this only
        keeps the request itself well formed, so that even a mangled link reaches the person.
        """
        line = "".join(" " if ch in "\r\n\x00" else ch for ch in text).strip()
        if not line:
            raise UiError("The link is empty.")
        return cls(line.encode("utf-8")[:MAX_LINK_BYTES].decode("utf-8", "ignore"))

    def encode(self) -> bytes:
        """The request line; raises UiError when the link cannot be sent as one line."""
        if self.link is None:
            return b"show\n"
        if not self.link.strip():
            raise UiError("The link is empty.")
        if any(ch in self.link for ch in "\r\n\x00"):
            raise UiError("A link must be one line of text.")
        line = b"link " + self.link.encode("utf-8") + b"\n"
        if len(line) > MAX_REQUEST_BYTES:
            raise UiError("This link is too long to be a Parley link.")
        return line


def parse_request(data: bytes) -> Request:
    """Parse one request line (with its newline).

    Raises:
        UiError: not one complete line, too long, not UTF-8, or an unknown request.
    """
    if len(data) > MAX_REQUEST_BYTES:
        raise UiError("The request from another Parley process is too long.")
    if not data.endswith(b"\n") or data.count(b"\n") != 1:
        raise UiError("The request from another Parley process is not one complete line.")
    try:
        line = data[:-1].decode("utf-8")
    except UnicodeDecodeError as error:
        raise UiError("The request from another Parley process is not UTF-8 text.") from error
    if line == "show":
        return Request()
    link = line.removeprefix("link ")
    if link != line and link.strip() and not any(ch in link for ch in "\r\x00"):
        return Request(link)
    raise UiError("Another Parley process sent a request this version does not know.")


def _is_private_dir(info: os.stat_result | None, uid: int) -> bool:
    return (
        info is not None
        and stat.S_ISDIR(info.st_mode)
        and info.st_uid == uid
        and info.st_mode & 0o077 == 0
    )


def _private_dir() -> Path:
    """A folder only this user can enter: $XDG_RUNTIME_DIR, else a 0700 folder in the temp dir.

    Raises:
        StartupFailed: the temp folder's ``parley-<uid>`` exists but is not ours alone (someone
        could otherwise put a socket there and receive the links meant for us).
    """
    uid = os.getuid()
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime:
        candidate = Path(runtime)
        try:
            info = candidate.stat()
        except OSError:
            info = None
        if _is_private_dir(info, uid):
            return candidate
    folder = Path(tempfile.gettempdir()) / f"parley-{uid}"
    try:
        folder.mkdir(mode=0o700, exist_ok=True)
        info = folder.lstat()
    except OSError as error:
        raise StartupFailed(f"Cannot create the folder {folder}: {error.strerror}.") from error
    if not _is_private_dir(info, uid):
        raise StartupFailed(
            f"The folder {folder} is not private to you (another owner, or open to others). "
            "Remove it, then start Parley again."
        )
    return folder


def socket_name(profile: Path, folder: Path | None = None) -> str:
    """The profile's server name: a socket path on Unix, a pipe name on Windows.

    The profile path is hashed so that the name stays short (Unix socket paths are limited to
    about 100 bytes) and reveals nothing of the folder's name.
    """
    digest = hashlib.sha256(os.fsencode(profile.expanduser().resolve())).hexdigest()[:24]
    name = f"parley-{digest}"
    if sys.platform == "win32":
        return name
    return str((folder if folder is not None else _private_dir()) / f"{name}.sock")


def forward(name: str, request: Request) -> bool:
    """Hand ``request`` to the instance listening on ``name``; False when none answers.

    Raises:
        StartupFailed: an instance took the connection but never confirmed (it hangs); starting
        a second one on the same profile would fail anyway.
    """
    line = request.encode()
    client = QLocalSocket()
    try:
        client.connectToServer(name)
        if not client.waitForConnected(CONNECT_TIMEOUT_MS):
            return False
        client.write(line)
        client.flush()
        reply = b""
        while len(reply) < len(REPLY):
            if not client.bytesAvailable() and not client.waitForReadyRead(REPLY_TIMEOUT_MS):
                break
            reply += bytes(client.readAll().data())
        if reply != REPLY:
            raise StartupFailed(
                "Parley is already running for this profile but does not answer. Close it (or "
                "end the process), then try again."
            )
        return True
    finally:
        client.abort()


class InstanceServer(QObject):
    """The running instance's end: emits ``requested`` for each valid request, on the GUI thread.

    Malformed requests are logged and dropped: whatever a local process sends, the app does not
    crash.
    """

    requested = Signal(object)  # Request

    def __init__(self, name: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.name = name
        self._server = QLocalServer(self)
        self._server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
        self._server.newConnection.connect(self._accept)
        self._buffers: dict[QLocalSocket, bytes] = {}

    def listen(self) -> bool:
        """Listen on ``name``; False when the name is taken (a live or stale instance)."""
        if self._server.listen(self.name):
            return True
        if self._server.serverError() == QAbstractSocket.SocketError.AddressInUseError:
            return False
        raise StartupFailed(
            f"Cannot listen for other Parley starts on {self.name}: {self._server.errorString()}"
        )

    def take_over(self) -> None:
        """Remove a stale socket left by a crashed instance, then listen in its place."""
        QLocalServer.removeServer(self.name)
        if not self._server.listen(self.name):
            raise StartupFailed(
                f"Cannot listen for other Parley starts on {self.name}: "
                f"{self._server.errorString()}"
            )

    def close(self) -> None:
        """Stop listening (the socket file is removed)."""
        self._server.close()

    def _accept(self) -> None:
        while self._server.hasPendingConnections():
            client = self._server.nextPendingConnection()
            self._buffers[client] = b""
            client.readyRead.connect(partial(self._read, client))
            client.disconnected.connect(partial(self._drop, client))
            client.disconnected.connect(client.deleteLater)
            # A client that never finishes its line must not hold a connection forever.
            QTimer.singleShot(IDLE_CLIENT_MS, client, partial(self._drop, client))

    def _read(self, client: QLocalSocket) -> None:
        if client not in self._buffers:
            return
        data = self._buffers[client] + bytes(client.readAll().data())
        self._buffers[client] = data
        if b"\n" not in data and len(data) <= MAX_REQUEST_BYTES:
            return  # the rest of the line is on its way
        try:
            request = parse_request(data)
        except UiError as error:
            log.warning("ignored a request from another process: %s", error)
            self._drop(client)
            return
        self._buffers.pop(client, None)
        client.write(REPLY)
        client.flush()
        client.disconnectFromServer()
        self.requested.emit(request)

    def _drop(self, client: QLocalSocket) -> None:
        if self._buffers.pop(client, None) is not None:
            client.abort()


def claim_or_forward(name: str, request: Request) -> InstanceServer | None:
    """Become the profile's instance, or hand ``request`` to the one running.

    Returns the listening server, or None when a running instance took the request (the caller
    then exits 0). Asking first matters on Windows, where a second server could listen on the same
    pipe name; a name that is taken but answers nobody is a socket left by a crash, taken over.

    Raises:
        StartupFailed: a running instance hangs, or the socket cannot be created.
    """
    if forward(name, request):
        return None
    server = InstanceServer(name)
    if server.listen():
        return server
    if forward(name, request):  # another start won the race between our two attempts
        server.deleteLater()
        return None
    log.info("taking over the stale instance socket %s", name)
    server.take_over()
    return server
