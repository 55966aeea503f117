"""The README's main command as a newcomer meets it: setup is silent when nothing changed, and
building the package prints no setuptools warning."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_a_second_setup_does_nothing_and_says_nothing() -> None:
    stamp = ROOT / ".venv" / ".parley-setup-stamp"
    if not stamp.is_file():
        pytest.skip("setup.sh has not run in this checkout (CI runs it before the tests)")
    done = subprocess.run(
        ["bash", str(ROOT / "scripts" / "setup.sh"), "--dev"],
        capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    assert done.stdout == "" and done.stderr == ""


def test_the_stamp_covers_the_package_list_and_the_script_itself() -> None:
    """A changed pyproject.toml or setup.sh (a new Debian package) must install again."""
    script = (ROOT / "scripts" / "setup.sh").read_text()
    assert "cat pyproject.toml scripts/setup.sh | sha256sum" in script


def test_building_the_package_prints_no_setuptools_warning(tmp_path: Path) -> None:
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
         "-w", str(tmp_path), str(ROOT)],
        capture_output=True, text=True, timeout=300, check=True,
    )  # fmt: skip
    output = built.stdout + built.stderr
    assert "would be ignored" not in output and "SetuptoolsDeprecationWarning" not in output
