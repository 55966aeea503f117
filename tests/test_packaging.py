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


def _install(tmp_path: Path, parley_bin: str, path: str = "/usr/bin:/bin") -> str:
    """Run the installer for a user whose home is ``tmp_path``; return the entry it wrote."""
    env = {"PATH": path, "HOME": str(tmp_path), "XDG_DATA_HOME": str(tmp_path / "data"),
           "PARLEY_BIN": parley_bin}  # fmt: skip
    subprocess.run(
        ["bash", str(ROOT / "packaging" / "install-desktop-entry.sh")], check=True, env=env
    )
    return (tmp_path / "data" / "applications" / "parley.desktop").read_text()


def test_desktop_entry_installs_for_the_user_as_the_link_handler(tmp_path: Path) -> None:
    entry = _install(tmp_path, "/opt/parley/bin/parley")
    assert "Exec=/opt/parley/bin/parley %u\n" in entry
    assert "MimeType=x-scheme-handler/parley;\n" in entry
    assert entry.count("Exec=") == 1
    icon = tmp_path / "data" / "icons" / "hicolor" / "scalable" / "apps" / "parley.svg"
    assert icon.read_bytes() == (ROOT / "resources" / "parley.svg").read_bytes()


def test_desktop_entry_quotes_a_path_with_spaces_and_refuses_one_it_cannot_quote(
    tmp_path: Path,
) -> None:
    entry = _install(tmp_path, "/home/ada/my apps/parley")
    assert 'Exec="/home/ada/my apps/parley" %u\n' in entry
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "PARLEY_BIN": '/opt/"odd"/parley'}
    refused = subprocess.run(
        ["bash", str(ROOT / "packaging" / "install-desktop-entry.sh")],
        env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert refused.returncode == 1 and "quote" in refused.stderr


def test_desktop_entry_makes_parley_the_default_link_handler(tmp_path: Path) -> None:
    """xdg-utils is not installed in CI: a stand-in records how the installer calls xdg-mime."""
    tools = tmp_path / "tools"
    tools.mkdir()
    calls = tmp_path / "calls"
    for tool in ("xdg-mime", "update-desktop-database"):
        (tools / tool).write_text(f'#!/bin/sh\necho "{tool} $*" >> "{calls}"\n')
        (tools / tool).chmod(0o755)
    _install(tmp_path, "/opt/parley/bin/parley", path=f"{tools}:/usr/bin:/bin")
    assert calls.read_text().splitlines() == [
        f"update-desktop-database {tmp_path / 'data' / 'applications'}",
        "xdg-mime default parley.desktop x-scheme-handler/parley",
    ]


def test_the_installers_lock_pins_every_runtime_dependency_with_hashes() -> None:
    """packaging/requirements-build.txt (packaging/lock.sh) must follow pyproject's dependencies:
    a dependency added there and not re-locked would be missing from every installer."""
    import re
    import tomllib

    pins: dict[str, int] = {}
    current = ""
    for line in (ROOT / "packaging" / "requirements-build.txt").read_text().splitlines():
        if line and not line.startswith((" ", "#")):
            assert "==" in line, f"not pinned: {line}"
            current = line.split("==")[0].strip().lower()
            pins.setdefault(current, 0)
        elif "--hash=sha256:" in line:
            pins[current] += 1
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    needed = {
        re.split(r"[<>=!~;\[ ]", dep)[0].lower().replace("_", "-")
        for dep in project["dependencies"]
    }
    assert needed | {"pyinstaller"} <= set(pins), needed - set(pins)
    assert all(count > 0 for count in pins.values()), pins
