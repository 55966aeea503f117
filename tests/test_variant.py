"""parley/variant.py: the generated configuration, read once; ``parley --version``."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from parley import __version__, variant
from tests.warrant_build import WarrantBuild


def version(env: dict[str, str]) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "parley", "--version"],
        capture_output=True, text=True, env=env, timeout=60, check=True,
    )  # fmt: skip
    return done.stdout


def test_the_checkout_is_the_standard_build() -> None:
    env = {k: v for k, v in os.environ.items() if k != variant.CONFIG_ENV}
    assert version(env) == f"parley {__version__} (standard build)\n"
    assert variant.config() == variant.STANDARD


def test_the_warrant_configuration_names_its_authority(warrant_build: WarrantBuild) -> None:
    assert variant.config().is_warrant
    assert version(dict(os.environ)) == (
        f"parley {__version__} (warrant build, authority {warrant_build.key_id})\n"
    )
    assert variant.version_line(__version__).endswith(f"authority {warrant_build.key_id})")


def test_a_warrant_configuration_without_an_authority_is_refused(tmp_path: Path) -> None:
    with pytest.raises(variant.BuildConfigError, match="must embed its authority"):
        variant.BuildConfig("warrant")
    broken = tmp_path / "build_config.py"
    broken.write_text("VARIANT = 'warrant'\n")
    with pytest.raises(variant.BuildConfigError, match="incomplete"):
        variant.load_file(broken)
