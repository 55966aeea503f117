"""Wheels and virtual environments for ``parley compare``.

Each build is installed from its wheel into a clean virtual environment of its own, and the
comparison runs the programs of those installs, never the checkout. Installing must work offline
once the development environment is set up (CI has no reason to download PySide6 twice), so the
dependencies come from a *wheelhouse* made from the development venv itself: every installed
distribution is packed back into a wheel (its files as its RECORD lists them, stored uncompressed,
which is faster to write and to install than deflated), once, under ``build/compare-wheelhouse``.
pip then installs the Parley wheel with ``--no-index --find-links`` and resolves its dependencies
as it would from PyPI; a missing or wrong dependency fails the install, as it would for a user.

Measured on the 2-core CI machine: packing the wheelhouse about 15 s the first time (cached after),
one venv about 6-10 s (mostly PySide6's 230 MB being written), against about 40 s per venv with
pip downloading from PyPI and none at all offline.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import os
import re
import sys
import venv
import zipfile
import zlib
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from parley.app.compare.steps import StepFailed, run_logged


@dataclass(frozen=True, slots=True)
class WheelInfo:
    """One wheel the comparison installs, with what a reader needs to rebuild and check it."""

    variant: str
    path: Path
    sha256: str
    size: int
    version: str


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def inspect_wheel(path: Path, variant: str, step: str, log: Path) -> WheelInfo:
    """Check that ``path`` is a readable wheel of Parley; raise StepFailed otherwise."""
    try:
        with zipfile.ZipFile(path) as zf:
            bad = zf.testzip()
            names = zf.namelist()
    except (OSError, zipfile.BadZipFile, zlib.error) as exc:
        raise StepFailed(step, log, f"{path} is not a readable wheel ({exc})") from None
    if bad is not None:
        raise StepFailed(step, log, f"{path} is damaged: {bad} fails its checksum")
    match = re.match(r"parley-([^-]+)-", path.name)
    if match is None or not any(n.startswith("parley/") for n in names):
        raise StepFailed(step, log, f"{path} is not a Parley wheel")
    return WheelInfo(variant, path, sha256_of(path), path.stat().st_size, match.group(1))


# ---- wheelhouse ----------------------------------------------------------------------------------


def _record_hash(data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"sha256={digest}"


def _wheel_name(dist: metadata.Distribution) -> str | None:
    wheel_meta = dist.read_text("WHEEL") or ""
    tags = [line[4:].strip() for line in wheel_meta.splitlines() if line.startswith("Tag:")]
    if not tags:
        return None
    py, abi, plat = (sorted({t.split("-")[i] for t in tags}) for i in range(3))
    name = re.sub(r"[-_.]+", "_", dist.metadata["Name"]).lower()
    return f"{name}-{dist.version}-{'.'.join(py)}-{'.'.join(abi)}-{'.'.join(plat)}.whl"


def repack(dist: metadata.Distribution, out_dir: Path) -> Path | None:
    """Pack an installed distribution back into a wheel; None for editable or odd installs."""
    name = _wheel_name(dist)
    files = dist.files
    if name is None or files is None or dist.read_text("direct_url.json"):
        return None  # no WHEEL file, no RECORD, or installed from a path/VCS (editable)
    target = out_dir / name
    if target.exists():
        return target
    base = Path(str(dist.locate_file("")))
    rows: list[tuple[str, str, str]] = []
    record_path = ""
    tmp = target.with_suffix(".part")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_STORED) as zf:
        for item in files:
            rel = str(item)
            if rel.startswith("..") or "__pycache__" in rel or rel.endswith(".pyc"):
                continue  # scripts live outside site-packages; pip writes them again
            if rel.endswith(".dist-info/RECORD"):
                record_path = rel
                continue
            if rel.endswith((".dist-info/INSTALLER", ".dist-info/REQUESTED")):
                continue
            data = (base / rel).read_bytes()
            zf.writestr(rel, data)
            rows.append((rel, _record_hash(data), str(len(data))))
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerows([*rows, (record_path, "", "")])
        zf.writestr(record_path, buffer.getvalue())
    tmp.replace(target)
    return target


def ensure_wheelhouse(out_dir: Path) -> Path:
    """Wheels of every distribution installed next to this program (the dev venv), once."""
    out_dir.mkdir(parents=True, exist_ok=True)
    for dist in metadata.distributions():
        repack(dist, out_dir)
    return out_dir


# ---- virtual environments ------------------------------------------------------------------------


def make_venv(wheel: WheelInfo, where: Path, wheelhouse: Path, step: str, log: Path) -> Path:
    """A clean venv at ``where`` with ``wheel`` installed offline; returns its parley program."""
    venv.EnvBuilder(with_pip=False, clear=True, symlinks=os.name != "nt").create(where)
    python = where / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    # This interpreter's pip installs into the other venv (pip >= 22.3: --python).
    command = [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-index"]
    command += ["--find-links", str(wheelhouse), "--no-compile", "--disable-pip-version-check"]
    command += ["-q", str(wheel.path)]
    env = {k: v for k, v in os.environ.items() if k != "PIP_FIND_LINKS"}
    run_logged(command, step, log, timeout=600, env=env)
    program = where / ("Scripts/parley.exe" if os.name == "nt" else "bin/parley")
    if not program.exists():
        raise StepFailed(step, log, f"installing {wheel.path.name} made no parley program")
    return program


def build_wheel(
    repo: Path,
    variant: str,
    out_dir: Path,
    step: str,
    log: Path,
    *,
    authority: Path | None,
    policy: str | None = None,
) -> Path:
    """Build one variant's wheel with the project's build script; return its path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    script = repo / "packaging" / "build.sh"
    command = ["bash", str(script), "--variant", variant, "--out", str(out_dir)]
    if variant == "warrant" and authority is not None:
        command += ["--authority", str(authority)]
    if policy is not None:
        command += ["--policy", policy]
    run_logged(command, step, log, timeout=600, cwd=repo)
    found = sorted(out_dir.glob("parley-*.whl"))
    if len(found) != 1:
        raise StepFailed(step, log, f"the build left {len(found)} wheels in {out_dir}, not one")
    return found[0]
