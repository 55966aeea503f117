"""`parley --self-test` run as a person (or an installed package's test) runs it: a subprocess."""

import json
import os
import subprocess
import sys
from pathlib import Path

ENV = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}


def _self_test(*extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "parley", "--self-test", *extra],
        capture_output=True, text=True, env=ENV, timeout=60, check=False,
    )  # fmt: skip


def test_self_test_passes_and_says_which_build_it_is() -> None:
    done = _self_test()
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "parley self-test: parley 0.1.0, standard build, authority key id: none"
    assert any("X3DH session and 7 messages through the relay" in line for line in lines)
    assert any(line.startswith("  ok  Qt platform offscreen") for line in lines)
    assert lines[-1].startswith("parley self-test: passed in ")
    # Nothing went wrong quietly on the way out either (a relay flush once ran on a closed store).
    assert done.stderr == ""


def test_self_test_takes_no_arguments() -> None:
    done = _self_test("--verbose")
    assert done.returncode == 2 and done.stderr == "usage: parley --self-test\n"


def test_self_test_is_listed_in_the_usage() -> None:
    done = subprocess.run([sys.executable, "-m", "parley", "--help"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    assert "--self-test" in done.stdout


def test_the_warrant_build_checks_its_envelope_and_names_its_authority(tmp_path: Path) -> None:
    """The dev checkout runs as the warrant build through a generated configuration (the same
    module packaging/build.sh compiles into the warrant wheel)."""
    authority, generated = tmp_path / "authority", tmp_path / "build_config.py"
    subprocess.run([sys.executable, "-m", "parley", "warrant", "authority", "init",
                    "--trustees", "3", "--threshold", "2", "--out", str(authority)],
                   check=True, capture_output=True)  # fmt: skip
    subprocess.run([sys.executable, "-m", "parley.app.warrant.buildconfig", "--variant",
                    "warrant", "--authority", str(authority), "--out", str(generated)],
                   check=True, capture_output=True)  # fmt: skip
    key_id = json.loads((authority / "authority.json").read_text())["key_id"]
    done = subprocess.run(
        [sys.executable, "-m", "parley", "--self-test"],
        capture_output=True, text=True, timeout=60, check=False,
        env={**ENV, "PARLEY_BUILD_CONFIG": str(generated)},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == f"parley self-test: parley 0.1.0, warrant build, authority key id: {key_id}"
    assert any(
        line.startswith("  ok  warrant envelope (") and f"authority {key_id}" in line
        and "missing, altered and misbound envelopes refused" in line
        for line in lines
    )  # fmt: skip
