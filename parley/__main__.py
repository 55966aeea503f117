"""The `parley` command: one entry point whose subcommands live in the layer that owns them.

Subcommands are imported lazily so that `parley relay` never loads Qt and `parley cli` never opens a
window.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from collections.abc import Callable, Sequence

# subcommand -> (module, function, one-line help). Each function takes the remaining argv and
# returns a process exit code.
SUBCOMMANDS: dict[str, tuple[str, str, str]] = {
    "app": ("parley.ui.main", "main", "open the desktop app (the default)"),
    "demo": ("parley.ui.demo", "main", "embedded relay and two windows that know each other"),
    "relay": ("parley.net.relay.command", "main", "run a relay server"),
    "cli": ("parley.app.cli", "main", "headless client for scripts and tests"),
    "crypto-demo": ("parley.app.crypto_demo", "main", "two parties exchange messages in-process"),
    "compare": ("parley.app.compare.command", "main", "compare the standard and warrant builds"),
}
if importlib.util.find_spec("parley.app.warrant") is not None:
    # Only the development checkout and the warrant wheel hold the warrant workflow.
    SUBCOMMANDS["warrant"] = ("parley.app.warrant.command", "main", "warrant build tools")


def _usage() -> str:
    lines = ["usage: parley [SUBCOMMAND] [ARGS...]", "       parley parley://invite/...", ""]
    lines += ["subcommands:"]
    lines += [f"  {name:<12} {info[2]}" for name, info in SUBCOMMANDS.items()]
    lines += ["", "  --version    print the version and the build variant (and authority key id)"]
    lines += ["  --self-test  check this installation end to end (prints the build variant)"]
    lines += ["", "A parley:// link opens the app (or the one already open) to add that contact."]
    return "\n".join(lines)


def _is_link(arg: str) -> bool:
    """A parley: link goes to the app, which validates it (a desktop opens them as `parley %u`)."""
    from parley.ui.main import is_link  # no Qt at import: the app's module only parses arguments

    return is_link(arg)


def main(argv: Sequence[str] | None = None) -> int:
    """Dispatch to a subcommand; with no subcommand, open the desktop app."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] in ("-h", "--help"):
        print(_usage())
        return 0
    if args[:1] in (["--version"], ["-V"]):
        from parley import __version__
        from parley.variant import version_line

        print(version_line(__version__))
        return 0
    if args and args[0] == "--self-test":
        from parley.ui.self_test import main as self_test

        return self_test(args[1:])
    name = args.pop(0) if args and args[0] in SUBCOMMANDS else "app"
    if args[:1] and not args[0].startswith("-") and name == "app" and not _is_link(args[0]):
        print(f"parley: unknown subcommand {args[0]!r}\n\n{_usage()}", file=sys.stderr)
        return 2
    module_name, func_name, _ = SUBCOMMANDS[name]
    entry: Callable[[list[str]], int] = getattr(importlib.import_module(module_name), func_name)
    return entry(args)


if __name__ == "__main__":
    sys.exit(main())
