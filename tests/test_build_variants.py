"""packaging/build.sh --variant: the two wheels, what each holds, and the warrant wheel at work.

The standard wheel must hold no envelope or escrow code at all; the warrant wheel must refuse to
build without an authority; and the real warrant wheel, installed into a venv of its own, must run
(its ``parley --version``, its relay and its CLI) against a real relay.
"""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "packaging" / "build.sh"
TIMEOUT_S = 180
MARKERS = (  # what envelope or escrow code is made of; none may appear in the standard wheel
    b"crypto_scalarmult_ed25519",
    b"crypto_core_ed25519_scalar",
    b"open_with_shared_point",
    b"parley-warrant-r",
    b"lagrange",
    b"EnvelopeHook",
)


def warrant_only() -> list[str]:
    lines = (ROOT / "packaging" / "warrant-only.txt").read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def build(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(BUILD), *args],
        capture_output=True, text=True, timeout=TIMEOUT_S, check=False, cwd=ROOT,
        env={**os.environ, "PARLEY_BUILD_PYTHON": sys.executable},
    )  # fmt: skip


@pytest.fixture(scope="module")
def authority(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("authority")
    subprocess.run(
        [sys.executable, "-m", "parley", "warrant", "authority", "init",
         "--trustees", "5", "--threshold", "3", "--out", str(out), "--epochs", "4"],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    return out


@pytest.fixture(scope="module")
def wheels(tmp_path_factory: pytest.TempPathFactory, authority: Path) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("dist")
    for args in (
        ("--variant", "standard"),
        ("--variant", "warrant", "--authority", str(authority)),
    ):
        done = build(*args, "--out", str(out))
        assert done.returncode == 0, done.stderr
    version = __import__("parley").__version__
    return {v: out / f"parley-{version}+{v}-py3-none-any.whl" for v in ("standard", "warrant")}


def names(wheel: Path) -> set[str]:
    with zipfile.ZipFile(wheel) as archive:
        return {n for n in archive.namelist() if ".dist-info/" not in n}


def test_the_wheels_differ_exactly_by_the_warrant_only_files(wheels: dict[str, Path]) -> None:
    standard, warrant = names(wheels["standard"]), names(wheels["warrant"])
    assert standard < warrant
    expected = set()
    for path in warrant_only():
        source = ROOT / path
        files = source.rglob("*.py") if path.endswith("/") else [source]
        expected |= {f"parley/{f.relative_to(ROOT)}" for f in files if f.exists()}
    assert warrant - standard == expected
    assert "parley/crypto/warrant_envelope.py" in expected and "parley/build_config.py" in standard


def test_the_standard_wheel_holds_no_envelope_or_escrow_code(wheels: dict[str, Path]) -> None:
    with zipfile.ZipFile(wheels["standard"]) as archive:
        found = [
            (name, marker.decode())
            for name in archive.namelist()
            for marker in MARKERS
            if marker in archive.read(name)
        ]
        config = archive.read("parley/build_config.py").decode()
    assert found == []
    assert "VARIANT = 'standard'" in config and "AUTHORITY_JSON = ''" in config
    with zipfile.ZipFile(wheels["warrant"]) as archive:
        assert b"open_with_shared_point" in archive.read("parley/crypto/warrant_envelope.py")
        assert "VARIANT = 'warrant'" in archive.read("parley/build_config.py").decode()


def test_a_warrant_build_without_a_valid_authority_is_refused(tmp_path: Path) -> None:
    done = build("--variant", "warrant", "--out", str(tmp_path))
    assert done.returncode == 2 and "needs --authority" in done.stderr
    (tmp_path / "authority.json").write_text('{"format": "parley-warrant-authority-v1"}')
    done = build("--variant", "warrant", "--authority", str(tmp_path), "--out", str(tmp_path))
    assert done.returncode != 0 and "malformed" in done.stderr
    done = build("--variant", "other", "--out", str(tmp_path))
    assert done.returncode == 2
    assert not list(tmp_path.glob("*.whl"))
    assert "Traceback" not in done.stderr


@pytest.fixture(scope="module")
def warrant_venv(tmp_path_factory: pytest.TempPathFactory, wheels: dict[str, Path]) -> Path:
    """A venv holding only the warrant wheel; its dependencies come from the test venv (a .pth
    line, so no network is needed) and the checkout itself is not importable there."""
    venv = tmp_path_factory.mktemp("venv") / "warrant"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    site = Path(
        subprocess.run(
            [str(venv / "bin" / "python"), "-c",
             "import sysconfig; print(sysconfig.get_path('purelib'))"],
            capture_output=True, text=True, check=True,
        ).stdout.strip()
    )  # fmt: skip
    (site / "test-dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install",
         "--no-deps", "-q", str(wheels["warrant"])],
        check=True, timeout=TIMEOUT_S,
    )  # fmt: skip
    return venv / "bin"


@pytest.fixture
def venv_relay(warrant_venv: Path, tmp_path: Path) -> Iterator[str]:
    proc = subprocess.Popen(
        [str(warrant_venv / "parley"), "relay", "--host", "127.0.0.1", "--port", "0",
         "--data", str(tmp_path / "relay")],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=tmp_path,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        assert url.startswith("ws://"), url
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        if proc.stdout is not None:
            proc.stdout.close()


@pytest.mark.slow
def test_the_installed_warrant_wheel_runs_its_clis_against_a_real_relay(
    warrant_venv: Path, venv_relay: str, authority: Path, tmp_path: Path
) -> None:
    env = {**os.environ, "PARLEY_PASSPHRASE": "warrant wheel passphrase"}
    env.pop("PARLEY_BUILD_CONFIG", None)

    def run(*args: str) -> list[str]:
        done = subprocess.run(
            [str(warrant_venv / "parley"), *args],
            capture_output=True, text=True, env=env, timeout=TIMEOUT_S, check=False, cwd=tmp_path,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        return done.stdout.splitlines()

    key_id = __import__("json").loads((authority / "authority.json").read_text())["key_id"]
    version = __import__("parley").__version__
    assert run("--version") == [f"parley {version} (warrant build, authority {key_id})"]
    location = subprocess.run(
        [str(warrant_venv / "python"), "-c", "import parley; print(parley.__file__)"],
        capture_output=True, text=True, check=True, cwd=tmp_path,
    ).stdout  # fmt: skip
    assert str(ROOT) not in location  # the installed wheel, not the checkout
    ann, ben = tmp_path / "ann", tmp_path / "ben"
    run("cli", "--profile", str(ann), "init", "--name", "Ann", "--relay", venv_relay)

    def checkout(*args: str) -> subprocess.CompletedProcess[str]:
        """Ben runs the development checkout: the standard build."""
        done = subprocess.run(
            [sys.executable, "-m", "parley", "cli", "--profile", str(ben), *args],
            capture_output=True, text=True, env=env, timeout=TIMEOUT_S, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        return done

    checkout("init", "--name", "Ben", "--relay", venv_relay)
    code = checkout("invite").stdout.splitlines()[0]
    run("cli", "--profile", str(ann), "add", code)
    run("cli", "--profile", str(ann), "send", "Ben", "sealed to the authority")
    got = checkout("recv", "--count", "1", "--timeout", "30")
    assert got.stdout.rstrip().endswith("sealed to the authority")
    # The installed wheel sealed it: Ben's standard build saw the envelope and said so.
    assert f"Ann uses the warrant build of Parley (authority {key_id})" in got.stderr
    assert run("warrant", "authority", "verify-share", "--authority", str(authority),
               "--share", str(authority / "trustee-1.json"))  # fmt: skip


def test_the_build_is_reproducible(wheels: dict[str, Path], tmp_path: Path) -> None:
    """Built again (another folder, another time), the wheel is the same byte for byte:
    SOURCE_DATE_EPOCH defaults to the last commit's time."""
    done = build("--variant", "standard", "--out", str(tmp_path))
    assert done.returncode == 0, done.stderr
    again = tmp_path / wheels["standard"].name
    assert again.read_bytes() == wheels["standard"].read_bytes()
