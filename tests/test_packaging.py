"""The built wheel holds one top-level `parley` package and every module of the source tree."""

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SOURCE_PACKAGES = {"app": "parley/app", "crypto": "parley/crypto", "net": "parley/net",
                   "ui": "parley/ui", "parley": "parley"}  # fmt: skip


@pytest.fixture(scope="module")
def wheel_names(tmp_path_factory: pytest.TempPathFactory) -> set[str]:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(out), str(ROOT)],
        check=True, cwd=out,
    )  # fmt: skip
    (wheel,) = out.glob("parley-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        return set(archive.namelist())


def test_only_parley_at_top_level(wheel_names: set[str]) -> None:
    tops = {name.split("/")[0] for name in wheel_names}
    assert {t for t in tops if not t.endswith(".dist-info")} == {"parley"}


def test_every_source_module_is_in_the_wheel(wheel_names: set[str]) -> None:
    missing = [
        f"{dest}/{path.relative_to(ROOT / src)}"
        for src, dest in SOURCE_PACKAGES.items()
        for path in (ROOT / src).rglob("*.py")
        if f"{dest}/{path.relative_to(ROOT / src)}" not in wheel_names
    ]
    assert not missing, f"modules left out of the wheel (add the package to pyproject): {missing}"


def test_console_script_is_declared(wheel_names: set[str]) -> None:
    (entry_points,) = [n for n in wheel_names if n.endswith("entry_points.txt")]
    assert entry_points


def test_desktop_entry_installs_for_the_user(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "XDG_DATA_HOME": str(tmp_path / "data"),
           "PARLEY_BIN": "/opt/parley/bin/parley"}  # fmt: skip
    subprocess.run(
        ["bash", str(ROOT / "packaging" / "install-desktop-entry.sh")], check=True, env=env
    )
    entry = (tmp_path / "data" / "applications" / "parley.desktop").read_text()
    assert "Exec=/opt/parley/bin/parley\n" in entry
    icon = tmp_path / "data" / "icons" / "hicolor" / "scalable" / "apps" / "parley.svg"
    assert icon.read_bytes() == (ROOT / "resources" / "parley.svg").read_bytes()
