"""``parley warrant ...``: the warrant workflow's command line (docs/warrant.md).

Present only where the warrant modules are (the development checkout and the warrant wheel).
Commands are ``parley warrant GROUP ACTION [ARGS]``; each registers a parser in ``COMMANDS``
(issue 10's groups: log, issue, revoke, relay, capture, request, share, open, epoch; in
app/warrant/li_command.py).

Exit codes: 0 success, 2 usage, 6 refused input (a bad file, impossible parameters).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path

from parley.app.warrant import authority
from parley.app.warrant.errors import WarrantError
from parley.app.warrant.li_command import INTERCEPT_COMMANDS

EXIT_OK = 0
EXIT_USAGE = 2
EXIT_REFUSED = 6

Handler = Callable[[argparse.Namespace], int]


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise WarrantError(f"usage: {message}")


def _iso_seconds(text: str) -> int:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO 8601 date and time") from None
    if moment.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{text!r} needs a time zone (for example Z or +00:00)")
    return int(moment.timestamp())


def _authority_init(args: argparse.Namespace) -> int:
    made = authority.init(
        Path(args.out),
        trustees=args.trustees,
        threshold_k=args.threshold,
        epochs=args.epochs,
        epoch_days=args.epoch_days,
        start=args.start,
    )
    print(
        f"authority {made.key_id}: {made.threshold} of {made.trustees} trustees, "
        f"{len(made.epochs)} epochs, written to {args.out}"
    )
    return EXIT_OK


def _authority_verify_share(args: argparse.Namespace) -> int:
    auth = authority.load_authority(Path(args.authority))
    trustee = authority.load_trustee(Path(args.share))
    epochs = authority.verify_trustee(auth, trustee)
    print(
        f"trustee {trustee.index}: {len(epochs)} shares match authority {auth.key_id}'s commitments"
    )
    return EXIT_OK


def _add_authority(sub: argparse._SubParsersAction[_Parser]) -> None:
    group = sub.add_parser("authority", help="authority keys")
    actions = group.add_subparsers(dest="action", required=True, parser_class=_Parser)
    init = actions.add_parser("init", help="deal a new authority's keys among trustees")
    init.add_argument("--trustees", type=int, required=True, metavar="N")
    init.add_argument("--threshold", type=int, required=True, metavar="K")
    init.add_argument("--out", required=True, metavar="DIR")
    init.add_argument("--epochs", type=int, default=authority.DEFAULT_EPOCHS, metavar="E")
    init.add_argument("--epoch-days", type=float, default=authority.DEFAULT_EPOCH_DAYS, metavar="D")
    init.add_argument("--start", type=_iso_seconds, default=None, metavar="ISO")
    init.set_defaults(handler=_authority_init)
    check = actions.add_parser("verify-share", help="a trustee checks its shares (Feldman)")
    check.add_argument("--authority", required=True, metavar="DIR_OR_FILE")
    check.add_argument("--share", required=True, metavar="FILE")
    check.set_defaults(handler=_authority_verify_share)


COMMANDS: list[Callable[[argparse._SubParsersAction[_Parser]], None]] = [
    _add_authority,
    *INTERCEPT_COMMANDS,
]
"""Each adds one group of ``parley warrant`` commands."""


def parser() -> _Parser:
    top = _Parser(prog="parley warrant", description="The warrant build's tools.")
    sub = top.add_subparsers(dest="group", required=True, parser_class=_Parser)
    for add in COMMANDS:
        add(sub)
    return top


def main(argv: Sequence[str] | None = None) -> int:
    """Run one ``parley warrant`` command; returns its exit code."""
    try:
        args = parser().parse_args(list(sys.argv[1:] if argv is None else argv))
    except WarrantError as exc:
        print(f"parley warrant: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except SystemExit as exc:  # --help
        return int(exc.code or 0)
    handler: Handler = args.handler
    try:
        return handler(args)
    except WarrantError as exc:
        print(f"parley warrant: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    except OSError as exc:  # a folder that is a file, a disk that is full: said, not traced
        where = f" ({exc.filename})" if exc.filename else ""
        print(f"parley warrant: {exc.strerror or exc}{where}.", file=sys.stderr)
        return EXIT_REFUSED
