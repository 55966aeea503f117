"""`parley` / `parley app [LINK]`: open (or create) a profile and show the desktop app.

One process per profile (ui/single_instance.py): a second start, typically a ``parley://`` link
clicked in a browser or a mail client, hands its link to the running window and exits 0. A link
is never acted on by itself: once the profile is open (or created, or unlocked), the add-contact
dialog shows it, and the person confirms.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from parley.ui.errors import UiError

LINK_SCHEME = "parley:"


def is_link(text: str) -> bool:
    """True for anything that claims to be a Parley link (validated later, with a reason)."""
    return text[: len(LINK_SCHEME)].lower() == LINK_SCHEME


def _link(text: str) -> str:
    if not is_link(text):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a parley:// link (an invite link starts with parley://invite/)"
        )
    return text


def _parse(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="parley app", description="The Parley desktop app.")
    parser.add_argument(
        "--profile",
        type=Path,
        default=None,
        help="profile folder (default: the per-user data folder)",
    )
    parser.add_argument(
        "link",
        nargs="?",
        type=_link,
        default=None,
        metavar="LINK",
        help="a parley://invite/ link: shown in the add-contact dialog for you to confirm",
    )
    return parser.parse_args(list(argv))


def main(argv: Sequence[str]) -> int:
    """Run the app until the person quits (or hand over to the running one); the exit code."""
    args = _parse(argv)
    from parley.app.account import default_profile_dir
    from parley.app.runtime import CoreRuntime
    from parley.ui.app_setup import make_application, quit_on_signals
    from parley.ui.embedded_relay import EmbeddedRelay
    from parley.ui.link_router import LinkRouter
    from parley.ui.resources import app_icon
    from parley.ui.session import AccountSession
    from parley.ui.single_instance import Request, claim_or_forward, socket_name

    profile: Path = args.profile or default_profile_dir()
    try:
        app = make_application()
        request = Request.for_link(args.link) if args.link is not None else Request()
        server = claim_or_forward(socket_name(profile), request)
    except UiError as error:
        print(f"parley: {error}", file=sys.stderr)
        return 1
    if server is None:
        print("parley: handed over to the Parley already open for this profile")
        return 0
    quit_on_signals(app)
    runtime = CoreRuntime()
    runtime.start()
    relay = EmbeddedRelay(runtime, profile / "embedded-relay")
    session = AccountSession(runtime, profile, icon=app_icon(), ensure_relay=relay.ensure)
    router = LinkRouter(session)
    server.requested.connect(router.handle)
    if request.link is not None:
        router.offer(request.link)
    session.finished.connect(app.quit)
    session.start()
    try:
        return app.exec()
    finally:
        server.close()
        session.close()
        relay.stop()
        runtime.stop()
