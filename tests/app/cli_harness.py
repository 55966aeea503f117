"""Running ``parley cli`` and ``parley relay`` as a user does: real subprocesses, real files.

Every CLI run is checked for what must never reach a user: a Python traceback, SQLCipher's own
log lines, asyncio's "Task exception was never retrieved", or a failure without a reason.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from parley.app import cli

PASSPHRASE = "cli test passphrase"
TIMEOUT_S = 60
NEVER_ON_STDERR = ("Traceback", "ERROR CORE", "never retrieved", "internal error")


@contextlib.contextmanager
def relay_process(data: Path, *extra: str) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """A `parley relay` on 127.0.0.1 and a free port; yields (url, process), stopped after."""
    command = [sys.executable, "-m", "parley", "relay", "--host", "127.0.0.1", "--port", "0"]
    data.parent.mkdir(parents=True, exist_ok=True)
    log = (data.parent / f"{data.name}.log").open("w")  # the operator's log, for a failing test
    proc = subprocess.Popen(
        [*command, "--data", str(data), *extra],
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
    )
    log.close()
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        assert url.startswith("ws://"), url
        yield url, proc
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        if proc.stdout is not None:
            proc.stdout.close()


def run(
    profile: Path,
    *args: str | bytes,
    passphrase: str | None = PASSPHRASE,
    timeout: float = TIMEOUT_S,
) -> subprocess.CompletedProcess[str]:
    """One `parley cli --profile PROFILE ARGS...` run; fails the test on a traceback."""
    env = {k: v for k, v in os.environ.items() if k not in (cli.PASSPHRASE_ENV, cli.LOG_ENV)}
    if passphrase is not None:
        env[cli.PASSPHRASE_ENV] = passphrase
    result = subprocess.run(
        [sys.executable, "-m", "parley", "cli", "--profile", str(profile), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        check=False,
    )
    assert_clean_stderr(result)
    return result


def assert_clean_stderr(result: subprocess.CompletedProcess[str]) -> None:
    """No traceback or library noise; a failure says why in words."""
    for bad in NEVER_ON_STDERR:
        assert bad not in result.stderr, result.stderr
    if result.returncode not in (0, cli.EXIT_TIMEOUT):
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        assert lines, f"exit {result.returncode} without a message"
        assert all(line.startswith("parley cli: ") for line in lines), result.stderr
        assert not any(line.rstrip().endswith(":") for line in lines), result.stderr


def ok(result: subprocess.CompletedProcess[str]) -> list[str]:
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()
