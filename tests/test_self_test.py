"""`parley --self-test` run as a person (or an installed package's test) runs it: a subprocess."""

import os
import subprocess
import sys

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
