#!/usr/bin/env python3
"""Render the main screens of the desktop app into build/screenshots/*.png under Xvfb.

Starts its own X server (``Xvfb :N -screen 0 1280x800x24``), then builds what `parley demo`
builds (an embedded relay and two accounts that know each other), exchanges a few messages and a
picture through the real core and relay, and grabs the windows and dialogs. The README's pictures
are small copies of some of these, committed under docs/images/.

Usage: .venv/bin/python scripts/screenshots.py [--out build/screenshots]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from parley.ui.main_window import MainWindow
    from PySide6.QtWidgets import QWidget

ROOT = Path(__file__).resolve().parent.parent
WAIT_S = 60.0
PASSPHRASE = "screenshot accounts, thrown away"  # noqa: S105 (throwaway accounts)
XVFB = shutil.which("Xvfb") or "/usr/bin/Xvfb"


@contextlib.contextmanager
def xvfb() -> Iterator[str]:
    """A private X display for the duration of the block."""
    for number in range(90, 140):
        if Path(f"/tmp/.X{number}-lock").exists():  # noqa: S108 (the X server's own lock file)
            continue
        display = f":{number}"
        server = subprocess.Popen(  # noqa: S603 (fixed arguments, absolute path)
            [XVFB, display, "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        socket = Path(f"/tmp/.X11-unix/X{number}")  # noqa: S108 (where X servers listen)
        while time.monotonic() < deadline and not socket.exists():
            if server.poll() is not None:
                break
            time.sleep(0.05)
        if server.poll() is not None:
            continue
        try:
            yield display
        finally:
            server.terminate()
            server.wait(timeout=10)
        return
    raise SystemExit("screenshots: no free X display number for Xvfb")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "screenshots")
    args = parser.parse_args()
    if not Path(XVFB).exists():
        print("screenshots: Xvfb is missing (scripts/setup.sh installs it)", file=sys.stderr)
        return 1
    args.out.mkdir(parents=True, exist_ok=True)
    with xvfb() as display:
        os.environ["DISPLAY"] = display
        os.environ["QT_QPA_PLATFORM"] = "xcb"
        # A window manager draws the title bars (the build's name is in them); twm is small.
        twm = shutil.which("twm")
        manager = (
            subprocess.Popen(  # noqa: S603 (a fixed program found on PATH)
                [twm, "-f", str(ROOT / "scripts" / "twmrc")],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            if twm
            else None
        )
        try:
            return render(args.out)
        finally:
            if manager is not None:
                manager.terminate()
                manager.wait(timeout=10)


class Camera:
    """Pumps the Qt event loop while waiting, and saves grabs of widgets."""

    def __init__(self, out: Path) -> None:
        from parley.ui.app_setup import make_application

        self.app = make_application()
        self.out = out

    def wait(self, predicate: Callable[[], bool], what: str) -> None:
        deadline = time.monotonic() + WAIT_S
        while not predicate():
            if time.monotonic() > deadline:
                raise SystemExit(f"screenshots: timed out waiting for {what}")
            self.app.processEvents()
            time.sleep(0.01)

    def settle(self, seconds: float = 0.4) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self.app.processEvents()
            time.sleep(0.01)

    def shoot_screen(self, name: str) -> None:
        """The whole X screen: windows with the window manager's title bars."""
        self.settle(1.0)
        screen = self.app.primaryScreen()
        path = self.out / f"{name}.png"
        screen.grabWindow(0).save(str(path))
        print(f"screenshots: {path}")

    def shoot(self, widget: QWidget, name: str) -> None:
        self.settle()
        path = self.out / f"{name}.png"
        widget.grab().save(str(path))
        print(f"screenshots: {path}")


def sample_picture(path: Path) -> Path:
    from PySide6.QtGui import QColor, QImage, QLinearGradient, QPainter

    picture = QImage(480, 320, QImage.Format.Format_RGB32)
    painter = QPainter(picture)
    gradient = QLinearGradient(0, 0, 480, 320)
    gradient.setColorAt(0, QColor("#ffb347"))
    gradient.setColorAt(1, QColor("#2c6bed"))
    painter.fillRect(picture.rect(), gradient)
    painter.end()
    picture.save(str(path))
    return path


def converse(camera: Camera, alice: MainWindow, bob: MainWindow, picture: Path) -> None:
    """A short exchange and a picture, so that the windows show bubbles, ticks and a thumbnail."""
    for window in (alice, bob):
        camera.wait(lambda w=window: w.conversations.rowCount() > 0, "the conversations")
        window.resize(620, 700)  # side by side on the 1280-pixel screen
        window.list.setCurrentIndex(window.conversations.index(0))
    lines = [
        (alice, "Hi! Did the parcel arrive?"),
        (bob, "It did, this morning. Thank you!"),
        (alice, "Great. Is the safety number the same on your side?"),
        (bob, "Yes: 12 groups, all match. Marking you verified."),
    ]
    for window, text in lines:
        window.pane.send_text(text)
        camera.settle(0.3)
    alice.pane.send_picture(picture)
    model = bob.pane.model
    camera.wait(
        lambda: (
            (m := model.message_at(model.rowCount() - 1)) is not None and m.attachment is not None
        ),
        "the picture",
    )
    camera.settle(1.0)


def shoot_dialogs(camera: Camera, alice: MainWindow) -> None:
    from parley.ui.onboarding import OnboardingDialog

    conversation = alice.pane.conversation
    first = alice.pane.model.message_at(0)
    if conversation is None or first is None:
        raise SystemExit("screenshots: the conversation did not open")
    safety = alice.show_safety_number(conversation.contact_id, conversation.title)
    camera.wait(lambda: safety.view is not None, "the safety number")
    camera.shoot(safety, "safety-number")
    safety.close()
    record = alice.pane.show_relay_record(first)
    camera.wait(lambda: record.record is not None or record.error.isVisible(), "the record")
    camera.shoot(record, "what-the-relay-saw")
    record.close()
    invite = alice.show_invite()
    camera.wait(invite.copy.isEnabled, "the invite")
    camera.shoot(invite, "my-invite")
    invite.close()
    settings_dialog = alice.show_settings()
    camera.wait(lambda: settings_dialog.key_info is not None, "the settings")
    camera.shoot(settings_dialog, "settings")
    settings_dialog.close()
    onboarding = OnboardingDialog()
    onboarding.display_name.setText("Ada")
    onboarding.show()
    camera.shoot(onboarding, "first-run")
    onboarding.close()


async def introduce(base: Path, relay_url: str) -> list[Any]:
    """Alice and Bob, created by the real core; Alice adds Bob's invite and greets him."""
    import nacl.pwhash
    from parley.app.account import create_account

    fast = (nacl.pwhash.argon2id.OPSLIMIT_MIN, nacl.pwhash.argon2id.MEMLIMIT_MIN)
    people = [
        await create_account(
            base / name.lower(),
            name,
            relay_url,
            key_storage="passphrase",
            passphrase=PASSPHRASE,
            argon2_limits=fast,
        )
        for name in ("Alice", "Bob")
    ]
    alice, bob = people
    contact = await alice.add_contact((await bob.my_invite()).code)
    conversation = next(c for c in await alice.conversations() if c.contact_id == contact.id)
    await alice.send_text(conversation.id, "Hi Bob! This is Alice, on Parley.")
    for _ in range(3000):
        if await bob.conversations():
            break
        await asyncio.sleep(0.01)
    return people


def render(out: Path) -> int:
    from parley.app.runtime import CoreRuntime
    from parley.ui.embedded_relay import EmbeddedRelay
    from parley.ui.resources import app_icon
    from parley.ui.session import AccountSession
    from PySide6.QtCore import QRect

    camera = Camera(out)
    base = Path(tempfile.mkdtemp(prefix="parley-shots-"))
    runtime = CoreRuntime()
    runtime.start()
    sessions: list[AccountSession] = []
    relay = EmbeddedRelay(runtime, base / "relay")
    try:
        relay_url = relay.start_ephemeral()
        people = runtime.submit(introduce(base, relay_url)).result(timeout=WAIT_S)
        for number, messenger in enumerate(people):
            geometry = QRect(20 + number * 640, 40, 620, 700)
            profile = base / messenger.display_name.lower()
            session = AccountSession(runtime, profile, icon=app_icon(), geometry=geometry)
            session.adopt(messenger, online=True)
            sessions.append(session)
        alice, bob = (s.window for s in sessions)
        if alice is None or bob is None:
            raise SystemExit("screenshots: a window did not open")
        converse(camera, alice, bob, sample_picture(base / "sunset.png"))
        camera.shoot_screen("desktop")
        camera.shoot(alice, "main-window-sender")
        camera.shoot(bob, "main-window-recipient")
        shoot_dialogs(camera, alice)
    finally:
        for session in sessions:
            if session.window is not None:
                session.window.closed.disconnect()
            session.close()
        relay.stop()
        runtime.stop()
        shutil.rmtree(base, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
