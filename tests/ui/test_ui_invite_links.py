"""parley:// links: one app per profile, the link shown for the person to confirm, never a crash.

The running instance is this test process (a real session, window and local server); a second
start is a real `python -m parley` process that must hand its link over and exit 0.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nacl.pwhash
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from parley.app.invite import Invite
from parley.ui import main as ui_main
from parley.ui import single_instance
from parley.ui.demo import DemoWorld
from parley.ui.errors import StartupFailed, UiError
from parley.ui.invite_dialogs import AddContactDialog
from parley.ui.link_router import LinkRouter
from parley.ui.main_window import MainWindow
from parley.ui.onboarding import UnlockDialog
from parley.ui.single_instance import (
    InstanceServer,
    Request,
    claim_or_forward,
    parse_request,
    socket_name,
)
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from pytestqt.qtbot import QtBot

import parley.__main__ as dispatcher

pytest_plugins = ["ui_fixtures"]  # the fixtures: real core, real relay (see ui_fixtures.py)

WAIT_MS = 30_000
CAROL_PASSPHRASE = "carol's passphrase for tests"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def sockets() -> Iterator[Path]:
    """Stands in for $XDG_RUNTIME_DIR: a 0700 folder with a short path (Unix socket limit)."""
    folder = Path(tempfile.mkdtemp(prefix="parley-t-"))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def second_start(profile: Path, sockets: Path, *args: str) -> subprocess.Popen[str]:
    """`python -m parley ... --profile PROFILE`, as a desktop would start it for a link."""
    env = dict(os.environ, XDG_RUNTIME_DIR=str(sockets), QT_QPA_PLATFORM="offscreen")
    return subprocess.Popen(
        [sys.executable, "-m", "parley", *args, "--profile", str(profile)],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(qtbot: QtBot, process: subprocess.Popen[str]) -> tuple[int, str]:
    """Keep this (the running instance's) event loop turning until the second start exits."""
    qtbot.waitUntil(lambda: process.poll() is not None, timeout=WAIT_MS)
    out, err = process.communicate()
    return process.returncode, out + err


def add_contact_dialogs(window: MainWindow) -> list[AddContactDialog]:
    return [d for d in window.findChildren(AddContactDialog) if d.isVisible()]


async def _carol_invite(base: Path, relay_url: str) -> str:
    """A third person on the demo relay, so that adding her really reaches the relay."""
    from parley.app.account import create_account

    carol = await create_account(
        base / "carol",
        "Carol",
        relay_url,
        key_storage="passphrase",
        passphrase=CAROL_PASSPHRASE,
        argon2_limits=(nacl.pwhash.argon2id.OPSLIMIT_MIN, nacl.pwhash.argon2id.MEMLIMIT_MIN),
    )
    try:
        return (await carol.my_invite()).link
    finally:
        await carol.close()


# ---- the request format -----------------------------------------------------------------------


def test_requests_round_trip() -> None:
    link = "parley://invite/abc"
    assert parse_request(Request(link).encode()) == Request(link)
    assert parse_request(Request().encode()) == Request()
    assert parse_request(b"link \xc3\xa9t\xc3\xa9\n") == Request("\u00e9t\u00e9")


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"show", "not one complete line"),
        (b"show\nshow\n", "not one complete line"),
        (b"link \n", "does not know"),
        (b"link   \n", "does not know"),
        (b"open parley://x\n", "does not know"),
        (b"link \xff\xfe\n", "not UTF-8"),
        (b"link " + b"a" * single_instance.MAX_REQUEST_BYTES + b"\n", "too long"),
    ],
)
def test_malformed_requests_are_refused_with_a_reason(data: bytes, reason: str) -> None:
    with pytest.raises(UiError, match=reason):
        parse_request(data)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_any_bytes_parse_or_are_refused(data: bytes) -> None:
    try:
        request = parse_request(data)
    except UiError:
        return
    assert parse_request(request.encode()) == request


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=6000))
def test_any_link_text_makes_a_well_formed_request_or_is_refused_as_empty(text: str) -> None:
    try:
        request = Request.for_link(text)
    except UiError as error:
        assert not text.replace("\r", " ").replace("\n", " ").replace("\x00", " ").strip()
        assert "empty" in str(error)
        return
    line = request.encode()
    assert len(line) <= single_instance.MAX_REQUEST_BYTES
    assert parse_request(line).link == request.link


def test_socket_names_are_per_profile_and_private(tmp_path: Path, sockets: Path) -> None:
    first = socket_name(tmp_path / "one", sockets)
    assert first == socket_name(tmp_path / "x" / ".." / "one", sockets)
    assert first != socket_name(tmp_path / "two", sockets)
    assert Path(first).parent == sockets and "one" not in Path(first).name
    assert len(first.encode()) < 100  # within the Unix socket path limit


def test_a_shared_socket_folder_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    monkeypatch.setattr(tempfile, "gettempdir", lambda: str(tmp_path))
    open_folder = tmp_path / f"parley-{os.getuid()}"
    open_folder.mkdir(mode=0o777)
    open_folder.chmod(0o777)
    with pytest.raises(StartupFailed, match="not private"):
        socket_name(tmp_path / "profile")
    open_folder.chmod(0o700)
    assert Path(socket_name(tmp_path / "profile")).parent == open_folder


# ---- the command line ---------------------------------------------------------------------------


def test_the_command_takes_a_link_and_refuses_other_words(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert ui_main._parse(["parley://invite/abc"]).link == "parley://invite/abc"
    assert ui_main._parse(["--profile", "p", "PARLEY://invite/abc"]).link == "PARLEY://invite/abc"
    assert ui_main._parse([]).link is None
    with pytest.raises(SystemExit) as exit_info:
        ui_main._parse(["https://example.org"])
    assert exit_info.value.code == 2
    assert "is not a parley:// link" in capsys.readouterr().err
    assert dispatcher.main(["nonsense"]) == 2
    assert "unknown subcommand 'nonsense'" in capsys.readouterr().err


# ---- the local server -------------------------------------------------------------------------


def test_a_stale_socket_is_taken_over(qtbot: QtBot, tmp_path: Path, sockets: Path) -> None:
    from parley.ui.app_setup import make_application

    make_application()
    name = socket_name(tmp_path / "profile", sockets)
    crashed = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    crashed.bind(name)  # bound and closed without unlinking: what a crash leaves behind
    crashed.close()
    assert Path(name).exists()
    server = claim_or_forward(name, Request())
    assert server is not None
    try:
        client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        client.connect(name)  # the new instance listens on it
        client.close()
    finally:
        server.close()
    assert not Path(name).exists()


def test_the_server_answers_good_requests_and_drops_bad_ones(
    qtbot: QtBot, tmp_path: Path, sockets: Path
) -> None:
    from parley.ui.app_setup import make_application

    make_application()
    name = socket_name(tmp_path / "profile", sockets)
    server = InstanceServer(name)
    assert server.listen()
    received: list[Request] = []
    server.requested.connect(received.append)

    def exchange(data: bytes) -> bytes:
        client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        client.connect(name)
        client.sendall(data)
        client.setblocking(False)
        reply = bytearray()
        closed = False

        def answered() -> bool:
            nonlocal closed
            try:
                chunk = client.recv(64)
            except BlockingIOError:
                return False
            closed = not chunk
            reply.extend(chunk)
            return closed

        qtbot.waitUntil(answered, timeout=WAIT_MS)
        client.close()
        return bytes(reply)

    try:
        assert exchange(b"\xff\xfe garbage\n") == b""  # dropped, nothing emitted
        assert exchange(b"x" * (single_instance.MAX_REQUEST_BYTES + 1)) == b""
        assert received == []
        assert exchange(b"link parley://invite/abc\n") == b"ok\n"
        assert received == [Request("parley://invite/abc")]
    finally:
        server.close()


def test_an_instance_that_never_answers_is_reported(
    tmp_path: Path, sockets: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from parley.ui.app_setup import make_application

    make_application()
    monkeypatch.setattr(single_instance, "REPLY_TIMEOUT_MS", 100)
    name = socket_name(tmp_path / "profile", sockets)
    hung = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    hung.bind(name)
    hung.listen()  # accepts connections (the kernel does), never reads or answers
    try:
        with pytest.raises(StartupFailed, match="does not answer"):
            claim_or_forward(name, Request("parley://invite/abc"))
    finally:
        hung.close()


# ---- the app ----------------------------------------------------------------------------------


def open_with_router(qtbot: QtBot, runtime: Any, profile: Path) -> tuple[Any, LinkRouter]:
    from parley.ui.session import AccountSession

    session = AccountSession(runtime, profile)
    return session, LinkRouter(session)


def close(session: Any) -> None:
    if session.window is not None:
        session.window.closed.disconnect()
        session.window.close()
    session.close()


def test_a_link_given_at_start_is_offered_once_the_window_opens_and_added_on_confirm(
    qtbot: QtBot, runtime: Any, world: DemoWorld
) -> None:
    link = runtime.submit(_carol_invite(world.base_dir, world.relay_url)).result(WAIT_MS / 1000)
    session, router = open_with_router(qtbot, runtime, world.profiles[0])
    router.offer(link)  # before the profile is open: kept until the window is ready
    assert router.pending == [link]
    session.start()
    qtbot.waitUntil(lambda: session.window is not None, timeout=WAIT_MS)
    window = session.window
    assert isinstance(window, MainWindow)
    qtbot.waitUntil(lambda: len(add_contact_dialogs(window)) == 1, timeout=WAIT_MS)
    assert router.pending == []
    dialog = add_contact_dialogs(window)[0]
    assert dialog.invite.toPlainText() == link
    assert "Carol" in dialog.preview.text() and world.relay_url in dialog.preview.text()
    assert dialog.name.placeholderText() == "Carol"
    assert not dialog.error.isVisible()
    qtbot.waitUntil(lambda: window.conversations.rowCount() == 1, timeout=WAIT_MS)
    QTest.mouseClick(dialog.add, Qt.MouseButton.LeftButton)  # the person confirms
    qtbot.waitUntil(lambda: window.conversations.rowCount() == 2, timeout=WAIT_MS)
    titles = {window.conversations.conversation_at(r).title for r in range(2)}  # type: ignore[union-attr]
    assert "Carol" in titles
    close(session)


def test_a_link_waits_behind_the_unlock_screen(
    qtbot: QtBot, runtime: Any, world: DemoWorld
) -> None:
    runtime.submit(_carol_invite(world.base_dir, world.relay_url)).result(WAIT_MS / 1000)
    session, router = open_with_router(qtbot, runtime, world.base_dir / "carol")
    session.start()
    qtbot.waitUntil(lambda: isinstance(session.dialog, UnlockDialog), timeout=WAIT_MS)
    unlock = session.dialog
    assert isinstance(unlock, UnlockDialog)
    link = Invite(bytes(range(32)), world.relay_url, "<b>Dave</b>").link
    router.handle(Request(link))  # as if clicked while Parley is locked
    assert router.pending == [link]
    QTest.keyClicks(unlock.passphrase, CAROL_PASSPHRASE)
    QTest.mouseClick(unlock.unlock, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: session.window is not None, timeout=WAIT_MS)
    window = session.window
    assert isinstance(window, MainWindow)
    qtbot.waitUntil(lambda: len(add_contact_dialogs(window)) == 1, timeout=WAIT_MS)
    dialog = add_contact_dialogs(window)[0]
    assert dialog.invite.toPlainText() == link
    assert "\u201c<b>Dave</b>\u201d" in dialog.preview.text()  # shown as typed, never as markup
    assert dialog.preview.textFormat() == Qt.TextFormat.PlainText
    close(session)


def test_a_second_start_hands_its_link_to_the_running_window(
    qtbot: QtBot, runtime: Any, world: DemoWorld, sockets: Path
) -> None:
    profile = world.profiles[0]
    server = claim_or_forward(socket_name(profile, sockets), Request())
    assert server is not None
    session, router = open_with_router(qtbot, runtime, profile)
    server.requested.connect(router.handle)
    session.start()
    qtbot.waitUntil(lambda: session.window is not None, timeout=WAIT_MS)
    window = session.window
    assert isinstance(window, MainWindow)
    try:
        # A plain second start only brings the window forward.
        code, output = finish(qtbot, second_start(profile, sockets))
        assert code == 0, output
        assert "handed over" in output
        assert add_contact_dialogs(window) == []

        # A damaged link (as `parley %u` passes it, no subcommand) reaches the window, explained.
        damaged = "parley://invite/not-a-real-invite"
        code, output = finish(qtbot, second_start(profile, sockets, damaged))
        assert code == 0, output
        qtbot.waitUntil(lambda: len(add_contact_dialogs(window)) == 1, timeout=WAIT_MS)
        dialog = add_contact_dialogs(window)[0]
        assert dialog.invite.toPlainText() == damaged
        assert dialog.error.isVisible() and "not a valid invite" in dialog.error.text()
        assert not dialog.preview.isVisible()
        dialog.reject()
        assert window.conversations.rowCount() == 1  # nothing was added

        # `parley app LINK` is the same; so is a link with a line break or an odd case.
        code, output = finish(qtbot, second_start(profile, sockets, "app", "PARLEY:x\ny"))
        assert code == 0, output
        qtbot.waitUntil(lambda: len(add_contact_dialogs(window)) == 1, timeout=WAIT_MS)
        assert add_contact_dialogs(window)[0].invite.toPlainText() == "PARLEY:x y"
    finally:
        server.close()
        close(session)
