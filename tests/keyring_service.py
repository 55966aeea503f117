"""The real Secret Service keyring for tests: a private D-Bus bus and gnome-keyring.

A pytest plugin (registered in tests/conftest.py) so that tests/app and tests/ui share one keyring
per test session. The keyring is gnome-keyring's Secret Service on a private D-Bus session bus
started here, with HOME/XDG folders in a temp directory so that nothing of the user's own keyring
is touched. If the daemons cannot be started the tests FAIL with the reason (the brief forbids
skipping them).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import keyring.backends.SecretService
import pytest

_STARTUP_SECONDS = 20.0


def _fail(message: str) -> None:
    pytest.fail(f"Cannot start the Secret Service test keyring: {message}", pytrace=False)


# A real round trip (store, read back, delete) through the Secret Service backend, run in a child
# process with a timeout: if the probe reaches gnome-keyring before the password on its stdin has
# unlocked the login collection, the backend waits forever for an unlock prompt that no one can
# answer. A child can be abandoned; an in-process call cannot.
_PROBE = """
import keyring.backends.SecretService as s
k = s.Keyring()
k.set_password("parley-test-probe", "probe", "ok")
assert k.get_password("parley-test-probe", "probe") == "ok"
k.delete_password("parley-test-probe", "probe")
"""
_PROBE_SECONDS = 5.0
_ATTEMPTS = 3


def _probe(env: dict[str, str]) -> str | None:
    """Return None when the keyring works, else why not."""
    try:
        done = subprocess.run(
            [sys.executable, "-c", _PROBE],
            env=env,
            capture_output=True,
            text=True,
            timeout=_PROBE_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return f"no answer within {_PROBE_SECONDS:.0f} s"
    return None if done.returncode == 0 else (done.stderr.strip().splitlines() or ["failed"])[-1]


def _start_gnome_keyring(env: dict[str, str]) -> subprocess.Popen[str]:
    secrets = subprocess.Popen(
        ["gnome-keyring-daemon", "--foreground", "--unlock", "--components=secrets"],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env,
        text=True,
    )
    if secrets.stdin is not None:
        secrets.stdin.write("parley-test-keyring-password")
        secrets.stdin.close()
    return secrets


def _stop(proc: subprocess.Popen[str]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    for stream in (proc.stdout, proc.stderr):
        if stream is not None:
            stream.close()


def _keyring_that_answers(env: dict[str, str], home: Path) -> subprocess.Popen[str]:
    """Start gnome-keyring, restarting it on a fresh data folder if it never answers the probe."""
    reasons: list[str] = []
    for attempt in range(_ATTEMPTS):
        env["XDG_DATA_HOME"] = str(home / f"data-{attempt}")
        secrets = _start_gnome_keyring(env)
        deadline = time.monotonic() + _STARTUP_SECONDS
        while time.monotonic() < deadline and secrets.poll() is None:
            reason = _probe(env)
            if reason is None:
                return secrets
            time.sleep(0.1)
        reasons.append(f"attempt {attempt + 1}: {reason}")
        _stop(secrets)
    _fail("gnome-keyring never answered a store/read/delete round trip: " + "; ".join(reasons))
    raise AssertionError("unreachable")  # _fail raises


@pytest.fixture(scope="session")
def secret_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """A private dbus-daemon + gnome-keyring-daemon for the whole test session."""
    for tool in ("dbus-daemon", "gnome-keyring-daemon"):
        if shutil.which(tool) is None:
            _fail(f"{tool} is not installed (run scripts/setup.sh)")
    home = tmp_path_factory.mktemp("keyring-home")
    runtime = home / "run"
    runtime.mkdir(mode=0o700)
    saved = {
        k: os.environ.get(k)
        for k in (
            "DBUS_SESSION_BUS_ADDRESS",
            "HOME",
            "XDG_DATA_HOME",
            "XDG_RUNTIME_DIR",
            "XDG_CONFIG_HOME",
            "XDG_CACHE_HOME",
        )
    }
    env = dict(
        os.environ,
        HOME=str(home),
        XDG_DATA_HOME=str(home / "data"),
        XDG_RUNTIME_DIR=str(runtime),
        XDG_CONFIG_HOME=str(home / "config"),
        XDG_CACHE_HOME=str(home / "cache"),
    )
    bus = subprocess.Popen(
        ["dbus-daemon", "--session", "--nofork", "--nopidfile", "--print-address=1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        text=True,
    )
    daemons: list[subprocess.Popen[str]] = [bus]
    try:
        address = bus.stdout.readline().strip() if bus.stdout else ""
        if not address:
            _fail(f"dbus-daemon printed no address ({bus.stderr.read() if bus.stderr else ''})")
        env["DBUS_SESSION_BUS_ADDRESS"] = address
        secrets = _keyring_that_answers(env, home)
        daemons.append(secrets)
        os.environ.update({k: env[k] for k in saved})
        yield
    finally:
        for proc in reversed(daemons):
            _stop(proc)
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@pytest.fixture
def secret_keyring(secret_service: None) -> keyring.backends.SecretService.Keyring:
    """The Secret Service backend, chosen explicitly (never the user's keyring configuration)."""
    return keyring.backends.SecretService.Keyring()  # type: ignore[no-untyped-call]
