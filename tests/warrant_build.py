"""The ``warrant_build`` fixture: this process (and the subprocesses it starts) become the warrant
build, through a configuration generated exactly as packaging/build.sh generates it.

The development checkout is the standard build. The fixture makes a real authority (3 of 5
trustees, weekly epochs starting a day ago), renders the generated module with the build's own
generator into a temporary file, installs it in this process (``parley.variant.install``) and
names it in ``PARLEY_BUILD_CONFIG`` for subprocesses; afterwards the standard configuration is back.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from parley.app.warrant import authority as authority_files
from parley.app.warrant.buildconfig import make_config

from parley import variant


@dataclass(frozen=True)
class WarrantBuild:
    config: variant.BuildConfig
    authority_dir: Path
    config_file: Path

    @property
    def key_id(self) -> str:
        return self.config.authority_key_id


@pytest.fixture(scope="session")
def warrant_authority(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("warrant-authority")
    authority_files.init(out, trustees=5, threshold_k=3, epochs=4, start=int(time.time()) - 86400)
    return out


def install_build(
    monkeypatch: pytest.MonkeyPatch, authority_dir: Path, folder: Path, policy: str = "strict"
) -> WarrantBuild:
    config = make_config("warrant", authority_dir, policy)
    config_file = folder / f"build_config_{policy}.py"
    config_file.write_text(variant.render(config), encoding="utf-8")
    loaded = variant.load_file(config_file)
    assert loaded == config
    monkeypatch.setenv(variant.CONFIG_ENV, str(config_file))
    monkeypatch.setattr(variant, "_CONFIG", loaded)  # the standard build is back at teardown
    return WarrantBuild(loaded, authority_dir, config_file)


@pytest.fixture
def warrant_build(
    monkeypatch: pytest.MonkeyPatch, warrant_authority: Path, tmp_path: Path
) -> Iterator[WarrantBuild]:
    """The warrant build with the default ("strict") mixed-traffic policy."""
    yield install_build(monkeypatch, warrant_authority, tmp_path)
