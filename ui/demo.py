"""`parley demo`: an embedded relay and two windows with fresh profiles that know each other.

The newcomer's first five minutes: type in the left window, watch the message arrive in the right
one (and the ticks move in the left). Profiles live in a temporary folder that is deleted on exit
unless ``--keep`` is given.
"""

from __future__ import annotations

import argparse
import inspect
import shutil
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from parley.ui.bridge import Submitter
from parley.ui.embedded_relay import EmbeddedRelay
from parley.ui.errors import UiError

if TYPE_CHECKING:
    from parley.ui.session import AccountSession
    from PySide6.QtCore import QRect
    from PySide6.QtGui import QIcon

SETUP_TIMEOUT_S = 60.0


@dataclass
class DemoWorld:
    """A running relay and two profiles that already know each other."""

    base_dir: Path
    relay: EmbeddedRelay
    relay_url: str
    profiles: tuple[Path, Path]


async def _await_if_needed(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value


def create_world(runtime: Submitter, base_dir: Path) -> DemoWorld:
    """Start a relay on 127.0.0.1 (a free port) and create the two demo profiles.

    Blocks the calling thread until both exist (a few seconds at most: key generation and prekey
    upload run on the core thread); callers run it before any window is shown.
    """
    from parley.app.demo import create_demo_pair

    relay = EmbeddedRelay(runtime, base_dir / "relay")
    url = relay.start_ephemeral()
    pair = runtime.submit(_await_if_needed(create_demo_pair(base_dir, url)))
    first, second = pair.result(timeout=SETUP_TIMEOUT_S)
    return DemoWorld(base_dir, relay, url, (Path(first), Path(second)))


def open_sessions(
    runtime: Submitter,
    world: DemoWorld,
    area: QRect | None = None,
    icon: QIcon | None = None,
) -> list[AccountSession]:
    """Open both demo profiles side by side in ``area``, each at the Alice-Bob conversation.

    The windows open on the conversation with the keyboard in the composer, so that a newcomer
    types at once and watches the message arrive in the other window.
    """
    from parley.ui.session import AccountSession
    from PySide6.QtCore import QRect

    sessions = []
    for number, profile in enumerate(world.profiles):
        geometry = None
        if area is not None:
            half = max(480, area.width() // 2 - 12)
            height = min(720, area.height() - 60)
            geometry = QRect(area.left() + 8 + number * (half + 8), area.top() + 30, half, height)
        session = AccountSession(runtime, profile, icon=icon, geometry=geometry)
        session.window_ready.connect(lambda window: window.open_first_conversation())
        session.start()
        sessions.append(session)
    return sessions


def _parse(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="parley demo",
        description="An embedded relay and two windows that already know each other.",
    )
    parser.add_argument("--keep", action="store_true", help="keep the demo profiles on exit")
    return parser.parse_args(list(argv))


def main(argv: Sequence[str]) -> int:
    """Run the demo until either window is closed."""
    args = _parse(argv)
    from parley.app.runtime import CoreRuntime
    from parley.ui.app_setup import make_application, quit_on_signals
    from parley.ui.resources import app_icon

    try:
        app = make_application()
        quit_on_signals(app)
    except UiError as error:
        print(f"parley demo: {error}", file=sys.stderr)
        return 1
    base_dir = Path(tempfile.mkdtemp(prefix="parley-demo-"))
    runtime = CoreRuntime()
    runtime.start()
    sessions: list[AccountSession] = []
    world: DemoWorld | None = None
    try:
        world = create_world(runtime, base_dir)
        print(f"parley demo: relay on {world.relay_url}, profiles in {base_dir}", flush=True)
        area = app.primaryScreen().availableGeometry()
        sessions = open_sessions(runtime, world, area, app_icon())
        for session in sessions:
            session.finished.connect(app.quit)
        return app.exec()
    except Exception as error:  # the demo must explain itself, not dump a trace on a newcomer
        print(f"parley demo: could not start: {error}", file=sys.stderr)
        return 1
    finally:
        for session in sessions:
            session.close()
        if world is not None:
            world.relay.stop()
        runtime.stop()
        if args.keep:
            print(f"parley demo: profiles kept in {base_dir}")
        else:
            shutil.rmtree(base_dir, ignore_errors=True)
