#!/usr/bin/env python3
"""Render the desktop app of both builds into build/screenshots/*.png under Xvfb with twm.

Starts its own X server (``Xvfb :N -screen 0 1440x900x24``) and the twm window manager (so that
the title bars, which name the account and the build, are drawn), then once per build, each in
its own process: builds what `parley demo` builds (an embedded relay and two accounts that know
each other), exchanges messages, a reply, a reaction and a picture through the real core and
relay, and grabs the whole screen (title bars included) and the main dialogs. The warrant build
runs from this checkout through a generated build configuration, the way its tests run it
(tests/warrant_build.py: a throw-away authority, ``PARLEY_BUILD_CONFIG``).

With ``--docs`` the pictures the README and docs/warrant.md show are written to docs/images/,
reduced to 256 colours and optimised (each must stay under 300 kB).

Usage: .venv/bin/python scripts/screenshots.py [--out build/screenshots] [--docs]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from parley.ui.main_window import MainWindow
    from PySide6.QtWidgets import QWidget

ROOT = Path(__file__).resolve().parent.parent
WAIT_S = 60.0
PASSPHRASE = "screenshot accounts, thrown away"  # noqa: S105 (throwaway accounts)
XVFB = shutil.which("Xvfb") or "/usr/bin/Xvfb"
SCREEN = "1440x900x24"
#: Each window's size: two side by side, wide enough for the warrant build's header badge.
WINDOW_W, WINDOW_H = 690, 800
#: twm's title bars in X's Unicode "fixed" font (xfonts-base) under a UTF-8 locale: the titles'
#: "—" is drawn, not "_" as in the Latin-1 "fixed" font scripts/twmrc uses for the tests.
TITLE_FONT = 'TitleFont "-misc-fixed-bold-r-normal--13-*-*-*-*-*-*-*"\n'


@contextlib.contextmanager
def xvfb() -> Iterator[str]:
    """A private X display for the duration of the block."""
    for number in range(90, 140):
        if Path(f"/tmp/.X{number}-lock").exists():  # noqa: S108 (the X server's own lock file)
            continue
        display = f":{number}"
        server = subprocess.Popen(  # noqa: S603 (fixed arguments, absolute path)
            [XVFB, display, "-screen", "0", SCREEN, "-nolisten", "tcp"],
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


VARIANTS = ("standard", "warrant")
#: What docs/images/ keeps (README.md and docs/warrant.md show them), by the name rendered.
DOCS = (
    "desktop",
    "desktop-warrant",
    "desktop-mixed",
    "picture-preview",
    "first-run",
    "safety-number",
    "what-the-relay-saw",
    "settings",
    "about-warrant",
)
DOCS_LIMIT = 300_000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "screenshots")
    parser.add_argument("--docs", action="store_true", help="also update docs/images/")
    parser.add_argument("--render", choices=VARIANTS, help=argparse.SUPPRESS)  # the child process
    parser.add_argument("--mixed", choices=("alice", "bob"), help=argparse.SUPPRESS)  # a child too
    parser.add_argument("--relay", help=argparse.SUPPRESS)
    parser.add_argument("--scene", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    if args.render is not None:
        return render(args.out, args.render)
    if args.mixed is not None:
        return render_mixed(args.out, args.mixed, args.relay, args.scene)
    if not Path(XVFB).exists():
        print("screenshots: Xvfb is missing (scripts/setup.sh installs it)", file=sys.stderr)
        return 1
    with xvfb() as display, tempfile.TemporaryDirectory(prefix="parley-shots-") as scratch:
        env = {**os.environ, "DISPLAY": display, "QT_QPA_PLATFORM": "xcb"}
        # A window manager draws the title bars (the build's name is in them); twm is small.
        twm = shutil.which("twm")
        twmrc = Path(scratch) / "twmrc"
        twmrc.write_text((ROOT / "scripts" / "twmrc").read_text() + TITLE_FONT)
        manager = (
            subprocess.Popen(  # noqa: S603 (a fixed program found on PATH)
                [twm, "-f", str(twmrc)],
                env={**env, "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"},
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            if twm
            else None
        )
        try:
            for variant in VARIANTS:
                extra = warrant_config(Path(scratch)) if variant == "warrant" else {}
                done = subprocess.run(  # noqa: S603 (this script, fixed arguments)
                    [sys.executable, __file__, "--render", variant, "--out", str(args.out)],
                    env={**env, **extra},
                    check=False,
                    timeout=600,
                )
                if done.returncode:
                    return done.returncode
            code = mixed_scene(args.out, Path(scratch), env)
            if code:
                return code
        finally:
            if manager is not None:
                manager.terminate()
                manager.wait(timeout=10)
    return publish(args.out) if args.docs else 0


def warrant_config(folder: Path, policy: str = "strict") -> dict[str, str]:
    """A throw-away authority and the build configuration packaging/build.sh would compile into
    the warrant wheel, named in PARLEY_BUILD_CONFIG (as tests/warrant_build.py does)."""
    from parley.app.warrant import authority as authority_files
    from parley.app.warrant.buildconfig import make_config

    from parley import variant

    authority = folder / "authority"
    if not authority.exists():
        start = int(time.time())
        authority_files.init(authority, trustees=5, threshold_k=3, epochs=4, start=start)
    config_file = folder / f"build_config_{policy}.py"
    config_file.write_text(variant.render(make_config("warrant", authority, policy)))
    return {variant.CONFIG_ENV: str(config_file)}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def mixed_command(role: str, port: int, scene: Path, out: Path) -> list[str]:
    relay_url = f"ws://127.0.0.1:{port}"
    return [sys.executable, __file__, "--mixed", role, "--relay", relay_url,
            "--scene", str(scene), "--out", str(out)]  # fmt: skip


def mixed_scene(out: Path, scratch: Path, env: dict[str, str]) -> int:
    """Standard Alice and warrant Bob on one screen: two processes (the build is per process)
    on one `parley relay`. Bob's build is "transitional" so that it reads Alice's messages (the
    default, strict, refuses messages without an envelope: docs/warrant.md)."""
    scene = scratch / "mixed"
    scene.mkdir()
    port = free_port()
    relay = subprocess.Popen(  # noqa: S603 (this interpreter, fixed arguments)
        [sys.executable, "-m", "parley", "relay", "--host", "127.0.0.1", "--port", str(port),
         "--data", str(scene / "relay")],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    warrant = warrant_config(scratch, "transitional")
    try:
        people = [
            subprocess.Popen(  # noqa: S603 (this script, fixed arguments)
                mixed_command(role, port, scene, out), env={**env, **extra}
            )
            for role, extra in (("alice", {}), ("bob", warrant))
        ]
        codes = [person.wait(timeout=300) for person in people]
    finally:
        relay.terminate()
        relay.wait(timeout=10)
    return max(codes)


def publish(out: Path) -> int:
    """docs/images/NAME.png: 256 colours (Pillow's quantizer) and zlib at its best."""
    from PIL import Image

    images = ROOT / "docs" / "images"
    for name in DOCS:
        with Image.open(out / f"{name}.png") as shot:
            small = shot.convert("RGB").quantize(colors=256, dither=Image.Dither.NONE)
        target = images / f"{name}.png"
        small.save(target, optimize=True)
        size = target.stat().st_size
        print(f"screenshots: {target} ({size // 1000} kB)")
        if size > DOCS_LIMIT:
            print(f"screenshots: {target} is over {DOCS_LIMIT // 1000} kB", file=sys.stderr)
            return 1
    return 0


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


def core(camera: Camera, window: MainWindow, coro: Coroutine[Any, Any, Any]) -> Any:
    """Run a call of ``window``'s core and wait for its result (the GUI keeps running)."""
    future = window.bridge.call(coro, None, lambda message: print(f"screenshots: {message}"))
    camera.wait(future.done, "the core")
    return future.result()


def converse(camera: Camera, alice: MainWindow, bob: MainWindow, picture: Path) -> None:
    """A short exchange with a reply, a reaction and a picture, so that the windows show bubbles,
    ticks, a quote, an emoji and a thumbnail; then Bob starts typing (his indicators turned on)."""
    for window in (alice, bob):
        camera.wait(lambda w=window: w.conversations.rowCount() > 0, "the conversations")
        window.resize(WINDOW_W, WINDOW_H)  # side by side on the screen
        window.list.setCurrentIndex(window.conversations.index(0))
    lines = [
        (alice, "Hi! Did the parcel arrive?"),
        (bob, "It did, this morning. Thank you! \U0001f381"),
        (alice, "Great. Is the safety number the same on your side?"),
    ]
    for window, text in lines:
        window.pane.send_text(text)
        camera.settle(0.3)
    question = alice.pane.model.message_at(alice.pane.model.rowCount() - 1)
    conversation = bob.pane.conversation
    if question is None or conversation is None:
        raise SystemExit("screenshots: the conversation did not open")
    camera.wait(lambda: bob.pane.model.row_of_message(question.id) is not None, "the question")
    answer = "Yes: 12 groups, all match. Marking you verified."
    core(camera, bob, bob.bridge.messenger.send_text(conversation.id, answer, reply_to=question.id))
    camera.settle(0.5)
    thanks = bob.pane.model.message_at(bob.pane.model.rowCount() - 1)
    if thanks is not None:
        core(camera, alice, alice.bridge.messenger.react(thanks.id, "\U0001f44d"))
    alice.pane.send_picture(picture)  # the preview opens, with a caption field
    camera.wait(
        lambda: (preview := alice.pane.preview) is not None and preview.prepared is not None,
        "the picture preview",
    )
    preview = alice.pane.preview
    if preview is not None:
        preview.caption.setText("The sunset from the ferry")
        camera.shoot(preview, "picture-preview")
        preview.send.click()
    model = bob.pane.model
    camera.wait(
        lambda: (
            (m := model.message_at(model.rowCount() - 1)) is not None and m.attachment is not None
        ),
        "the picture",
    )
    settings = core(camera, bob, bob.bridge.messenger.settings())
    core(
        camera, bob, bob.bridge.messenger.update_settings(replace(settings, typing_indicators=True))
    )
    bob.pane.typing.sending = True
    bob.pane.composer.edit.setPlainText("Lovely colours! Where was")
    camera.wait(alice.pane.typing.label.isVisible, "Bob typing")
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
        pending = await bob.requests()  # Alice is a stranger to Bob until he accepts her
        if pending:
            await bob.accept_request(pending[0].contact_id)
            break
        await asyncio.sleep(0.01)
    return people


def render(out: Path, variant: str) -> int:
    """One build's screens, in this process (the parent set its build configuration)."""
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
            geometry = QRect(20 + number * (WINDOW_W + 20), 40, WINDOW_W, WINDOW_H)
            profile = base / messenger.display_name.lower()
            session = AccountSession(runtime, profile, icon=app_icon(), geometry=geometry)
            session.adopt(messenger, online=True)
            sessions.append(session)
        alice, bob = (s.window for s in sessions)
        if alice is None or bob is None:
            raise SystemExit("screenshots: a window did not open")
        converse(camera, alice, bob, sample_picture(base / "sunset.png"))
        if variant == "warrant":
            camera.shoot_screen("desktop-warrant")
            about = alice.show_about()
            camera.shoot(about, "about-warrant")
            about.close()
        else:
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


def wait_for_file(camera: Camera, path: Path) -> str:
    camera.wait(path.exists, path.name)
    return path.read_text()


async def meet(messenger: Any, role: str, scene: Path) -> None:
    """Bob publishes his invite and accepts Alice's request; Alice adds him and says hello."""
    if role == "bob":
        (scene / "bob.invite.tmp").write_text((await messenger.my_invite()).code)
        (scene / "bob.invite.tmp").rename(scene / "bob.invite")
        for _ in range(int(WAIT_S / 0.02)):
            pending = await messenger.requests()
            if pending:
                await messenger.accept_request(pending[0].contact_id)
                return
            await asyncio.sleep(0.02)
        raise SystemExit("screenshots: Alice's request never came")
    for _ in range(int(WAIT_S / 0.02)):
        if (scene / "bob.invite").exists():
            break
        await asyncio.sleep(0.02)
    contact = await messenger.add_contact((scene / "bob.invite").read_text())
    conversation = next(c for c in await messenger.conversations() if c.contact_id == contact.id)
    await messenger.send_text(conversation.id, "Hi Bob! Alice here, on the standard build.")


def render_mixed(out: Path, role: str, relay_url: str, scene: Path) -> int:
    """One side of the mixed scene, in this process; Alice's process takes the picture."""
    import nacl.pwhash
    from parley.app.account import create_account
    from parley.app.runtime import CoreRuntime
    from parley.ui.resources import app_icon
    from parley.ui.session import AccountSession
    from PySide6.QtCore import QRect

    camera = Camera(out)
    runtime = CoreRuntime()
    runtime.start()
    name = role.capitalize()
    fast = (nacl.pwhash.argon2id.OPSLIMIT_MIN, nacl.pwhash.argon2id.MEMLIMIT_MIN)
    session: AccountSession | None = None
    try:
        messenger = runtime.submit(
            create_account(
                scene / role,
                name,
                relay_url,
                key_storage="passphrase",
                passphrase=PASSPHRASE,
                argon2_limits=fast,
            )
        ).result(timeout=WAIT_S)
        runtime.submit(meet(messenger, role, scene)).result(timeout=WAIT_S)
        number = 0 if role == "alice" else 1
        geometry = QRect(20 + number * (WINDOW_W + 20), 40, WINDOW_W, WINDOW_H)
        session = AccountSession(runtime, scene / role, icon=app_icon(), geometry=geometry)
        session.adopt(messenger, online=True)
        window = session.window
        if window is None:
            raise SystemExit("screenshots: a window did not open")
        camera.wait(lambda: window.conversations.rowCount() > 0, "the conversation")
        window.list.setCurrentIndex(window.conversations.index(0))
        if role == "bob":
            window.pane.send_text("Hi Alice. I run the warrant build: my title bar says so.")
            camera.settle(1.0)
            (scene / "bob.ready").touch()
            wait_for_file(camera, scene / "shot.done")
            return 0
        camera.wait(lambda: window.pane.model.rowCount() >= 2, "Bob's answer")
        # The standard build asks before the first message it sends to a warrant-build contact.
        window.pane.send_text("What does that mean for what I write to you?")
        camera.wait(lambda: window.pane.notice is not None, "the warrant notice")
        wait_for_file(camera, scene / "bob.ready")
        camera.shoot_screen("desktop-mixed")
        (scene / "shot.done").touch()
        return 0
    finally:
        if session is not None:
            if session.window is not None:
                session.window.closed.disconnect()
            session.close()
        runtime.stop()


if __name__ == "__main__":
    sys.exit(main())
