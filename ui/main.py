"""`parley` / `parley app`: open (or create) a profile and show the desktop app."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from parley.ui.errors import UiError


def _parse(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="parley app", description="The Parley desktop app.")
    parser.add_argument(
        "--profile",
        type=Path,
        default=None,
        help="profile folder (default: the per-user data folder)",
    )
    return parser.parse_args(list(argv))


def main(argv: Sequence[str]) -> int:
    """Run the app until the person quits; returns the process exit code."""
    args = _parse(argv)
    from parley.app.account import default_profile_dir
    from parley.app.runtime import CoreRuntime
    from parley.ui.app_setup import make_application, quit_on_signals
    from parley.ui.embedded_relay import EmbeddedRelay
    from parley.ui.resources import app_icon
    from parley.ui.session import AccountSession

    try:
        app = make_application()
        quit_on_signals(app)
    except UiError as error:
        print(f"parley: {error}", file=sys.stderr)
        return 1
    profile: Path = args.profile or default_profile_dir()
    runtime = CoreRuntime()
    runtime.start()
    relay = EmbeddedRelay(runtime, profile / "embedded-relay")
    session = AccountSession(runtime, profile, icon=app_icon(), ensure_relay=relay.ensure)
    session.finished.connect(app.quit)
    session.start()
    try:
        return app.exec()
    finally:
        session.close()
        relay.stop()
        runtime.stop()
