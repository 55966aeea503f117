"""Steps of a comparison run: each one logs to its own file, and a failure names both.

A step that fails raises :class:`StepFailed`; ``parley compare`` then prints which step failed and
where its log is, and leaves no report behind (the run writes into a temporary folder that is only
renamed to the requested one when every step has passed).
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path


class StepFailed(Exception):
    """A step of the run failed; ``log`` holds what its programs printed."""

    def __init__(self, step: str, log: Path, reason: str) -> None:
        super().__init__(f"step '{step}' failed: {reason} (log: {log})")
        self.step = step
        self.log = log
        self.reason = reason


@dataclass(frozen=True, slots=True)
class NotRun:
    """A part of the comparison this run could not do, and why (shown as such, never hidden)."""

    reason: str


def tail(path: Path, lines: int = 12) -> str:
    """The last lines of a log, for an error message."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.rstrip().splitlines()[-lines:])


def run_logged(
    command: Sequence[str],
    step: str,
    log: Path,
    *,
    timeout: float,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    stdin: str | None = None,
    ok_codes: tuple[int, ...] = (0,),
) -> subprocess.CompletedProcess[str]:
    """Run a program, append its command line and output to ``log``; StepFailed if it fails."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("a", encoding="utf-8") as fh:
        fh.write(f"$ {' '.join(command)}\n")
        fh.flush()
        try:
            done = subprocess.run(  # noqa: S603 (our own programs, never a shell)
                list(command),
                cwd=cwd,
                env=env if env is not None else dict(os.environ),
                input=stdin,
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired:
            fh.write(f"(timed out after {timeout:g} s)\n")
            raise StepFailed(step, log, f"{command[0]} did not finish in {timeout:g} s") from None
        except OSError as exc:
            fh.write(f"(could not start: {exc})\n")
            raise StepFailed(step, log, f"cannot run {command[0]}: {exc}") from None
        fh.write(done.stdout)
        fh.write(done.stderr)
        fh.write(f"(exit code {done.returncode})\n")
    if done.returncode not in ok_codes:
        last = (done.stderr or done.stdout).strip().splitlines()
        hint = last[-1] if last else f"exit code {done.returncode}"
        raise StepFailed(step, log, f"{Path(command[0]).name} failed: {hint}")
    return done
