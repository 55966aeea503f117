"""Fixtures for the lawful-interception tests: the `parley warrant` CLI as a subprocess, an
authority directory, an audit log, and relays run with ``--lawful-intercept``."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.net.conftest import RelayFactory, RelayProcess, peers, relay_factory  # noqa: F401

CLI_TIMEOUT = 60.0


@dataclass
class Result:
    code: int
    out: str
    err: str


def warrant(*args: str | Path) -> Result:
    """Run `parley warrant ARGS` as its own process."""
    proc = subprocess.run(
        [sys.executable, "-m", "parley", "warrant", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT,
        env=dict(os.environ, PYTHONUNBUFFERED="1"),
        check=False,
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)


def ok(*args: str | Path) -> str:
    """Run a warrant command that must succeed; return its stdout."""
    result = warrant(*args)
    assert result.code == 0, f"parley warrant {args[:2]} failed: {result.err}"
    assert "Traceback" not in result.err
    return result.out


def refused(*args: str | Path) -> str:
    """Run a warrant command that must refuse with one sentence; return that sentence."""
    result = warrant(*args)
    assert result.code == 6, f"expected a refusal, got {result.code}: {result.out}{result.err}"
    assert "Traceback" not in result.err
    lines = result.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("parley warrant: "), result.err
    sentence = lines[0].removeprefix("parley warrant: ")
    assert sentence.endswith((".", ")")) and not re.search(r"\.\s+[A-Z]", sentence), sentence
    return lines[0]


def make_authority(
    folder: Path, *, epochs: int = 4, epoch_days: float = 1.0, start: float | None = None
) -> Path:
    """A real authority, 3 of 5 trustees, made by `parley warrant authority init` (issue 9)."""
    begin = time.time() - 86_400 if start is None else start
    iso = datetime.fromtimestamp(int(begin), UTC).isoformat()
    ok(
        "authority", "init", "--trustees", "5", "--threshold", "3", "--out", folder,
        "--epochs", str(epochs), "--epoch-days", str(epoch_days), "--start", iso,
    )  # fmt: skip
    return folder


@pytest.fixture(scope="session")
def authority_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One authority for the log, HI1 and capture tests (each makes its own log)."""
    return make_authority(tmp_path_factory.mktemp("li") / "authority")


@pytest.fixture
def log_dir(tmp_path: Path, authority_dir: Path) -> Path:
    folder = tmp_path / "log"
    ok("log", "init", "--log", folder, "--authority", authority_dir)
    return folder


def issue(
    authority_dir: Path,
    log_dir: Path,
    out: Path,
    *,
    liid: str,
    target: bytes,
    start: float,
    end: float,
) -> Path:
    ok(
        "issue", "--authority", authority_dir, "--log", log_dir, "--liid", liid,
        "--target", target.hex(), "--start", str(int(start)), "--end", str(int(end)), "--out", out,
    )  # fmt: skip
    return out


def wait_until(predicate: Callable[[], bool], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.1)


def li_relay(factory: RelayFactory, authority_dir: Path, *extra: str) -> RelayProcess:
    relay = factory(["--lawful-intercept", str(authority_dir / "authority.json"), *extra])
    relay.start()
    return relay


def relay_state(relay: RelayProcess, liid: str) -> str | None:
    """The state the relay itself reports for a LIID (its status file), or None."""
    try:
        status = json.loads((relay.data_dir / "lawful-intercept" / "status.json").read_text())
    except (OSError, ValueError):
        return None
    for w in status["warrants"]:
        if w["liid"] == liid:
            return str(w["state"])
    return None
