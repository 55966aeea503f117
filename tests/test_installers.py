"""packaging/build-installers.sh, run as a release manager runs it, and what it makes, used as
people use it: the bundle's `parley --self-test`, the .deb unpacked into a scratch root and its
`parley --self-test` run from there, what each artefact holds, and a second build's hashes.

Slow (both variants built twice: four PyInstaller runs, two lintian runs); CI runs it, a local
full run only with PARLEY_TEST_INSTALLERS=1. The first build happens once per session, into a
temporary dist folder.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "packaging" / "build-installers.sh"
VERSION = "0.1.0"
# What envelope or escrow code is made of (as tests/test_build_variants.py checks the wheel);
# none may appear anywhere in a standard artefact, nor any module of packaging/warrant-only.txt.
# (Parley's own files only: PyNaCl's bindings in the bundle name the ed25519 functions too.)
WARRANT_MARKERS = (
    b"crypto_scalarmult_ed25519", b"crypto_core_ed25519_scalar", b"open_with_shared_point",
    b"parley-warrant-r", b"lagrange", b"EnvelopeHook",
)  # fmt: skip

# CI (CI=true) always runs these; a developer's full run skips them unless asked for with
# PARLEY_TEST_INSTALLERS=1 (they add minutes of PyInstaller, gzip and lintian on shared cores).
pytestmark = [
    pytest.mark.slow,
    pytest.mark.timeout(3600),
    pytest.mark.skipif(
        not (os.environ.get("CI") or os.environ.get("PARLEY_TEST_INSTALLERS")),
        reason="installer builds run in CI; set PARLEY_TEST_INSTALLERS=1 to run them here",
    ),
]


def _warrant_only_modules() -> list[str]:
    """``parley.crypto.threshold``, ``parley.app.warrant`` ... from packaging/warrant-only.txt."""
    lines = (ROOT / "packaging" / "warrant-only.txt").read_text().splitlines()
    paths = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    return ["parley." + p.removesuffix("/").removesuffix(".py").replace("/", ".") for p in paths]


def _build(out: Path, variant: str, authority: Path, *, lintian: bool) -> dict[str, str]:
    env = {**os.environ, "PARLEY_INSTALLERS_WORK": str(out.parent / f"{out.name}-work")}
    if not lintian:
        env["PARLEY_INSTALLERS_LINTIAN"] = "0"
    cmd = ["bash", str(BUILD), "--variant", variant, "--out", str(out), "--authority",
           str(authority)]  # fmt: skip
    subprocess.run(cmd, check=True, cwd=ROOT, env=env, timeout=1800)
    return {
        line.split()[1]: line.split()[0] for line in (out / "SHA256SUMS").read_text().splitlines()
    }


@pytest.fixture(scope="module")
def authority(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("authority") / "authority"
    subprocess.run([sys.executable, "-m", "parley", "warrant", "authority", "init",
                    "--trustees", "3", "--threshold", "2", "--out", str(out)],
                   check=True, capture_output=True)  # fmt: skip
    return out


VARIANTS = ["standard", "warrant"]


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory, authority: Path) -> Path:
    out = tmp_path_factory.mktemp("installers") / "dist"
    _build(out, "both", authority, lintian=True)
    return out


def _wheel(dist: Path, variant: str) -> Path:
    (wheel,) = [p for p in dist.glob("parley-*.whl") if _variant_of_wheel(p) == variant]
    return wheel


def _variant_of_wheel(path: Path) -> str:
    return "warrant" if "+warrant" in path.name else "standard"


def _deb(dist: Path, variant: str) -> Path:
    package = "parley-warrant" if variant == "warrant" else "parley"
    return dist / f"{package}_{VERSION}+{variant}_amd64.deb"


def _tarball(dist: Path, variant: str) -> Path:
    return dist / f"parley-{VERSION}+{variant}-linux-x86_64.tar.gz"


def _without_emoji_fonts(tmp_path: Path) -> dict[str, str]:
    """A fontconfig that sees only DejaVu: a desktop without any emoji font."""
    conf = tmp_path / "fonts.conf"
    conf.write_text(
        '<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "fonts.dtd">\n<fontconfig>\n'
        "  <dir>/usr/share/fonts/truetype/dejavu</dir>\n"
        f"  <cachedir>{tmp_path / 'fc-cache'}</cachedir>\n</fontconfig>\n"
    )
    return {"FONTCONFIG_FILE": str(conf)}


def _self_test(parley: Path, tmp_path: Path, extra: dict[str, str] | None = None) -> list[str]:
    """Run it as a user without a display would: a clean environment, Qt offscreen."""
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "QT_QPA_PLATFORM": "offscreen",
           "LANG": "C.UTF-8", "TMPDIR": str(tmp_path), **(extra or {})}  # fmt: skip
    done = subprocess.run([str(parley), "--self-test"], capture_output=True, text=True,
                          env=env, timeout=120, check=False)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.splitlines()[-1].startswith("parley self-test: passed in ")
    return done.stdout.splitlines()


def _expected_first_line(variant: str, authority: Path) -> str:
    if variant == "warrant":
        key_id = json.loads((authority / "authority.json").read_text())["key_id"]
        return f"parley self-test: parley {VERSION}, warrant build, authority key id: {key_id}"
    return f"parley self-test: parley {VERSION}, standard build, authority key id: none"


def test_file_names_carry_variant_and_version_and_the_manifest_hashes_them(dist: Path) -> None:
    manifest = json.loads((dist / "MANIFEST.json").read_text())
    listed = {e["file"]: e for e in manifest["artefacts"]}
    for variant in VARIANTS:
        wheel, deb, tarball = _wheel(dist, variant), _deb(dist, variant), _tarball(dist, variant)
        for artefact in (wheel, deb, tarball):
            entry = listed[artefact.name]
            assert entry["sha256"] == hashlib.sha256(artefact.read_bytes()).hexdigest()
            assert entry["variant"] == variant
        wheel_sha = hashlib.sha256(wheel.read_bytes()).hexdigest()
        assert listed[deb.name]["wheel_sha256"] == listed[tarball.name]["wheel_sha256"] == wheel_sha
    assert manifest["source_date_epoch"] > 0 and manifest["build_environment"]["pyinstaller"]


@pytest.mark.parametrize("variant", ["standard", "warrant"])
def test_the_bundle_runs_its_self_test(
    variant: str, dist: Path, authority: Path, tmp_path: Path
) -> None:
    with tarfile.open(_tarball(dist, variant)) as tar:
        tar.extractall(tmp_path / "unpacked", filter="tar")
    parley = tmp_path / "unpacked" / f"parley-{VERSION}+{variant}" / "parley"
    lines = _self_test(parley, tmp_path)
    assert lines[0] == _expected_first_line(variant, authority)
    assert "  ok  emoji drawn in colour by Noto Color Emoji (system font)" in lines
    # On a desktop without an emoji font the bundle registers its own, and emoji draw in colour.
    fonts = parley.parent / "_internal" / "parley" / "resources" / "fonts"
    assert (fonts / "NotoColorEmoji.ttf").stat().st_size > 1_000_000
    assert "SIL OPEN FONT LICENSE" in (fonts / "NotoColorEmoji-LICENSE.txt").read_text().upper()
    lines = _self_test(parley, tmp_path, _without_emoji_fonts(tmp_path))
    assert "  ok  emoji drawn in colour by Noto Color Emoji (bundled font)" in lines


@pytest.mark.parametrize("variant", ["standard", "warrant"])
def test_the_deb_installs_command_entry_handler_icon_and_runs_its_self_test(
    variant: str, dist: Path, authority: Path, tmp_path: Path
) -> None:
    deb, root = _deb(dist, variant), tmp_path / "root"
    subprocess.run(["dpkg-deb", "-x", str(deb), str(root)], check=True)
    package = "parley-warrant" if variant == "warrant" else "parley"
    lines = _self_test(root / "usr" / "bin" / "parley", tmp_path)
    assert lines[0] == _expected_first_line(variant, authority)
    # The package's emoji font is Debian's (Depends), never a copy of its own.
    assert "  ok  emoji drawn in colour by Noto Color Emoji (system font)" in lines
    assert not list(root.rglob("*.ttf"))

    entry = (root / "usr/share/applications" / f"{package}.desktop").read_text()
    assert "Exec=parley %u\n" in entry and "MimeType=x-scheme-handler/parley;\n" in entry
    icon = (root / "usr/share/icons/hicolor/scalable/apps" / f"{package}.svg").read_text()
    assert f"Icon={package}\n" in entry
    fields = subprocess.run(["dpkg-deb", "-f", str(deb)], capture_output=True, text=True,
                            check=True).stdout  # fmt: skip
    assert f"Package: {package}\n" in fields
    assert f"Version: {VERSION}+{variant}\n" in fields
    depends = next(f for f in fields.splitlines() if f.startswith("Depends: "))
    assert "fonts-noto-color-emoji" in depends
    if variant == "warrant":
        assert "Conflicts: parley\n" in fields
        assert "Description: Parley WARRANT BUILD" in fields
        assert "Name=Parley (warrant build)\n" in entry
        assert "WARRANT" in icon  # the badge
    else:
        assert "Conflicts: parley-warrant\n" in fields
        assert "Name=Parley\n" in entry and "WARRANT" not in icon
        assert icon == (ROOT / "resources" / "parley.svg").read_text()
    # Every file is root's, with the fixed modes, and the package passed lintian without errors.
    listing = subprocess.run(["dpkg-deb", "-c", str(deb)], capture_output=True, text=True,
                             check=True).stdout.splitlines()  # fmt: skip
    assert listing and all(" root/root " in line for line in listing)
    assert {line.split()[0] for line in listing} <= {"drwxr-xr-x", "-rw-r--r--", "-rwxr-xr-x",
                                                     "lrwxrwxrwx"}  # fmt: skip


def _all_bytes(tree: Path) -> list[tuple[str, bytes]]:
    """Every file of an unpacked bundle, with the modules inside its PYZ archive unpacked too."""
    found = []
    for path in sorted(tree.rglob("*")):
        if path.is_file() and not path.is_symlink():
            data = path.read_bytes()
            found.append((str(path.relative_to(tree)), data))
    return found


def _pyz_modules(bundle: Path) -> dict[str, bytes]:
    """The PYZ archive's modules (name -> marshalled code), read with the build environment's
    PyInstaller (the reader is not part of the app)."""
    venv_python = ROOT / "build" / "installers" / "venv" / "bin" / "python"
    script = (
        "import sys, json, base64\n"
        "from PyInstaller.archive.readers import CArchiveReader, ZlibArchiveReader\n"
        "pkg = CArchiveReader(sys.argv[1])\n"
        "names = [n for n in pkg.toc if n.startswith('PYZ')]\n"
        "pyz = pkg.open_embedded_archive(names[0])\n"
        "out = {}\n"
        "for name in pyz.toc:\n"
        "    raw = pyz.extract(name, raw=True)\n"
        "    out[name] = base64.b64encode(raw or b'').decode()\n"
        "print(json.dumps(out))\n"
    )
    done = subprocess.run([str(venv_python), "-c", script, str(bundle / "parley")],
                          capture_output=True, text=True, check=True)  # fmt: skip
    import base64

    # PyInstaller 6 stores each module's marshalled code uncompressed: its names are plain bytes.
    return {name: base64.b64decode(raw) for name, raw in json.loads(done.stdout).items()}


def test_the_standard_artefacts_contain_no_warrant_code(dist: Path, tmp_path: Path) -> None:
    import zipfile

    with zipfile.ZipFile(_wheel(dist, "standard")) as wheel:
        names = wheel.namelist()
        contents = [wheel.read(n) for n in names]
    root = tmp_path / "root"
    subprocess.run(["dpkg-deb", "-x", str(_deb(dist, "standard")), str(root)], check=True)
    bundle = root / "usr" / "lib" / "parley"
    files = _all_bytes(root)
    modules = _pyz_modules(bundle)
    assert "parley.ui.main" in modules and "parley.crypto.ratchet" in modules  # the reader works
    every_name = names + [n for n, _ in files] + list(modules)
    as_paths = [m.replace(".", "/") for m in _warrant_only_modules()]
    leaked = [n for n in every_name for m, p in zip(_warrant_only_modules(), as_paths, strict=True)
              if n.startswith(m) or p in n]  # fmt: skip
    assert not leaked
    ours = [data for name, data in files if "/_internal/parley/" in f"/{name}"]
    ours += [code for name, code in modules.items() if name.split(".")[0] == "parley"]
    assert len(ours) > 100
    blobs = contents + ours
    for marker in WARRANT_MARKERS:
        assert not [b for b in blobs if marker in b], marker
    # The same reader finds the warrant modules in the warrant package (the check can fail).
    warrant_root = tmp_path / "warrant-root"
    subprocess.run(["dpkg-deb", "-x", str(_deb(dist, "warrant")), str(warrant_root)], check=True)
    warrant_modules = _pyz_modules(warrant_root / "usr" / "lib" / "parley-warrant")
    assert set(_warrant_only_modules()) & set(warrant_modules)
    assert any(b"EnvelopeHook" in code for code in warrant_modules.values())


def test_the_deb_depends_on_every_library_it_takes_from_the_system(
    dist: Path, tmp_path: Path
) -> None:
    root = tmp_path / "root"
    subprocess.run(["dpkg-deb", "-x", str(_deb(dist, "standard")), str(root)], check=True)
    internal = root / "usr" / "lib" / "parley" / "_internal"
    env = {"LD_LIBRARY_PATH": f"{internal}:{internal / 'PySide6' / 'Qt' / 'lib'}"}
    outside: set[str] = set()
    for path in [root / "usr/lib/parley/parley", *internal.rglob("*.so*")]:
        if path.is_symlink():
            continue
        done = subprocess.run(["ldd", str(path)], capture_output=True, text=True, env=env,
                              check=False)  # fmt: skip
        for line in done.stdout.splitlines():
            assert "not found" not in line, f"{path.name}: {line}"
            if "=>" in line and str(root) not in line:
                outside.add(os.path.realpath(line.split("=>")[1].split()[0]))
    owners = set()
    for lib in outside:
        found = subprocess.run(["dpkg", "-S", lib], capture_output=True, text=True, check=False)
        if found.returncode:  # merged /usr: dpkg knows /lib/... as /usr/lib/... or the reverse
            other = lib.removeprefix("/usr") if lib.startswith("/usr/") else "/usr" + lib
            found = subprocess.run(["dpkg", "-S", other], capture_output=True, text=True,
                                   check=True)  # fmt: skip
        owners.add(found.stdout.split(":")[0])
    fields = subprocess.run(["dpkg-deb", "-f", str(_deb(dist, "standard")), "Depends"],
                            capture_output=True, text=True, check=True).stdout  # fmt: skip
    declared = {d.split()[0] for d in fields.split(",")}
    # libglvnd0 and libglx0 come with libgl1/libegl1
    assert owners - declared <= {"libglvnd0", "libglx0", "libc6"}, owners - declared


def test_a_second_build_gives_the_same_hashes(dist: Path, authority: Path, tmp_path: Path) -> None:
    first = {
        line.split()[1]: line.split()[0] for line in (dist / "SHA256SUMS").read_text().splitlines()
    }
    again = _build(tmp_path / "dist", "both", authority, lintian=False)
    assert again == first
