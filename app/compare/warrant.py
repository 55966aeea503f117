"""The warrant steps of a comparison run, as separate processes of the warrant tools.

Everything here runs ``parley warrant ...`` (the authority, the relay operator's HI1 commands, the
trustees, the agency and the audit log) as programs, never by importing the warrant modules, so
that this package stays importable in the standard wheel, which leaves those modules out. Each
step first checks that the tool it needs exists in the install at hand; when it does not, the step
returns a :class:`NotRun` with the reason, and the report shows that reason in each cell it
would have filled.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from parley.app.compare.steps import NotRun

PROBE_TIMEOUT_S = 60.0


def _help(command: list[str], cwd: Path) -> str | None:
    """The help text of a command, or None when the command does not exist there."""
    try:
        done = subprocess.run(  # noqa: S603 (our own programs)
            [*command, "--help"],
            capture_output=True,
            text=True,
            timeout=PROBE_TIMEOUT_S,
            cwd=cwd,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout + done.stderr if done.returncode == 0 else None


@dataclass(frozen=True, slots=True)
class Tools:
    """Where the warrant tools are, or why they are not."""

    warrant: list[str] | None  # the `parley warrant` command line prefix
    missing: NotRun | None
    relay_capture: bool  # `parley relay --lawful-intercept` exists in the relay's install


def probe(parley: list[str], relay: list[str], cwd: Path) -> Tools:
    """Find `parley warrant` (run from ``parley``) and the relay's capture option."""
    relay_help = _help([*relay, "relay"], cwd) or ""
    capture = "--lawful-intercept" in relay_help
    if _help([*parley, "warrant"], cwd) is None:
        reason = "the `parley warrant` tools are not in this install (issue 9/10 not landed)"
        return Tools(None, NotRun(reason), capture)
    return Tools([*parley, "warrant"], None, capture)
