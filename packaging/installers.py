"""The steps of packaging/build-installers.sh after the wheel: bundle, tarball, .deb, manifest.

Run by that script with the locked build environment's Python (standard library and PyInstaller
only); never imports Parley itself. Every archive is written in a fixed order with fixed owners,
modes and times (SOURCE_DATE_EPOCH), so that the same inputs give the same bytes.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HERE = ROOT / "packaging"
SDE = int(os.environ.get("SOURCE_DATE_EPOCH", "0"))
MAINTAINER = "Parley developers <parley@users.noreply.github.com>"
# What the bundle takes from the system rather than carrying (PyInstaller leaves out libc and the
# GL/EGL/Wayland/xcb client libraries, which must match the machine's drivers and display server;
# the spec leaves out zlib, bzip2, expat, freetype, libpng, tinfo: Debian forbids embedding them).
# tests/test_installers.py checks this list against the libraries the bundle's files need.
DEPENDS = (
    "libc6 (>= 2.28), libbz2-1.0, libegl1, libexpat1, libfreetype6, libgl1, libpng16-16, "
    "libtinfo6, libwayland-client0, libwayland-cursor0, libwayland-egl1, libxcb1, zlib1g, "
    "fonts-noto-color-emoji"
)
# The colour emoji font (Debian's fonts-noto-color-emoji) and its licence: the .tar.gz bundle
# carries them in parley/resources/fonts/ for systems without one (ui/fonts.py registers it only
# then); the .deb leaves them out and depends on the package instead (Debian policy: no embedded
# font copies). docs/packaging.md.
EMOJI_FONT = Path("/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf")
EMOJI_LICENCE = Path("/usr/share/doc/fonts-noto-color-emoji/copyright")
FONTS_IN_BUNDLE = Path("_internal") / "parley" / "resources" / "fonts"
# Runtime distributions whose licence files go to /usr/share/doc/PACKAGE/licenses/.
LICENSED = (
    "pyside6-essentials", "shiboken6", "pynacl", "websockets", "sqlcipher3", "keyring", "msgpack",
    "segno", "pillow", "python-socks", "cffi", "cryptography", "jeepney", "secretstorage",
    "jaraco-classes", "jaraco-context", "jaraco-functools", "more-itertools", "importlib-metadata",
    "zipp", "backports-tarfile", "pycparser", "pyinstaller", "msgspec",
)  # fmt: skip


def run(cmd: list[str], **kwargs: object) -> None:
    subprocess.run(cmd, check=True, **kwargs)  # type: ignore[call-overload]


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def wheel_version(wheel: Path) -> str:
    """``0.1.0`` from ``parley-0.1.0+standard-py3-none-any.whl`` (the upstream part)."""
    return wheel.name.split("-")[1].split("+")[0]


def normalise(tree: Path) -> None:
    """Fixed modes (0755 directories and executables, 0644 the rest) and times, deepest first."""
    for path in [*sorted(tree.rglob("*"), reverse=True), tree]:
        if path.is_symlink():
            os.utime(path, (SDE, SDE), follow_symlinks=False)
            continue
        if path.is_dir():
            path.chmod(0o755)
        elif ".so" in path.suffixes or path.suffix == ".so":
            path.chmod(0o644)  # shared libraries are mapped, not run (Debian policy 10.2)
        else:
            path.chmod(0o755 if path.stat().st_mode & 0o111 else 0o644)
        os.utime(path, (SDE, SDE))


def _tar_filter(info: tarfile.TarInfo) -> tarfile.TarInfo:
    info.uid = info.gid = 0
    info.uname = info.gname = "root"
    info.mtime = SDE
    return info


def write_tarball(tree: Path, top: str, out: Path) -> None:
    """A .tar.gz of ``tree`` under ``top/``: sorted names, root owner, no gzip name or time."""
    with (
        out.open("wb") as raw,
        gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=SDE, compresslevel=6) as gz,
        tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar,
    ):
        paths = [tree, *sorted(tree.rglob("*"), key=lambda p: p.relative_to(tree).as_posix())]
        for path in paths:
            arcname = "/".join([top, path.relative_to(tree).as_posix()]).rstrip("/.")
            tar.add(path, arcname=arcname or top, recursive=False, filter=_tar_filter)


def build_bundle(variant: str, wheel: Path, work: Path, python: str) -> Path:
    """Install the wheel into a private folder and freeze it with packaging/parley.spec."""
    site = work / "site"
    run([python, "-m", "pip", "install", "-q", "--disable-pip-version-check", "--no-deps",
         "--no-compile", "--target", str(site), str(wheel)])  # fmt: skip
    # PYTHONSAFEPATH and the working folder keep the repository's own parley/ folder (which holds
    # only parley/__init__.py and friends) from shadowing the wheel's package.
    # PYINSTALLER_CONFIG_DIR: a private binary cache (stripped copies), so that two builds on one
    # machine neither race on ~/.cache/pyinstaller (seen: a torn cache index) nor share state.
    env = {
        **os.environ,
        "PARLEY_VARIANT": variant,
        "PYTHONPATH": str(site.resolve()),
        "PYTHONSAFEPATH": "1",
        "PYINSTALLER_CONFIG_DIR": str((work / "pyi-config").resolve()),
    }
    log = work / "pyinstaller.log"
    with log.open("w") as out:
        done = subprocess.run(
            [python, "-m", "PyInstaller", "--noconfirm", "--clean", "--log-level", "WARN",
             "--distpath", str((work / "bundle").resolve()),
             "--workpath", str((work / "pyi").resolve()), str(HERE / "parley.spec")],
            env=env, stdout=out, stderr=subprocess.STDOUT, check=False, cwd=work,
        )  # fmt: skip
    if done.returncode:
        sys.exit(f"build-installers: PyInstaller failed, see {log}:\n{log.read_text()[-3000:]}")
    bundle = work / "bundle" / "parley"
    add_emoji_font(bundle)
    normalise(bundle)
    return bundle


def add_emoji_font(bundle: Path) -> None:
    """Copy the build machine's Noto Color Emoji and its Debian copyright file into the bundle."""
    missing = [p for p in (EMOJI_FONT, EMOJI_LICENCE) if not p.is_file()]
    if missing:
        sys.exit(f"build-installers: {missing[0]} is missing (scripts/setup.sh installs "
                 "fonts-noto-color-emoji)")  # fmt: skip
    fonts = bundle / FONTS_IN_BUNDLE
    fonts.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(EMOJI_FONT, fonts / EMOJI_FONT.name)
    shutil.copyfile(EMOJI_LICENCE, fonts / "NotoColorEmoji-LICENSE.txt")


def tree_size(tree: Path) -> int:
    return sum(p.lstat().st_size for p in tree.rglob("*") if p.is_file() and not p.is_symlink())


# ---- the Debian package ------------------------------------------------------------------------


def deb_names(variant: str) -> dict[str, str]:
    if variant == "warrant":
        return {"package": "parley-warrant", "other": "parley", "icon": "parley-warrant"}
    return {"package": "parley", "other": "parley-warrant", "icon": "parley"}


def control(variant: str, version: str, installed_kib: int, key_id: str | None) -> str:
    names = deb_names(variant)
    if variant == "warrant":
        summary = "Parley WARRANT BUILD: messenger with lawful access (key escrow)"
        body = (
            "THIS IS THE WARRANT BUILD OF PARLEY, NOT THE STANDARD MESSENGER.\n"
            "Every message carries a key envelope for the lawful-access authority\n"
            f"{key_id}: its trustees, acting together under a warrant, can open\n"
            "the messages of a conversation. The app says so in its window title,\n"
            "its About box and to every contact. Built from the same source as the\n"
            "package 'parley', for comparison; 'parley --version' names the build."
        )
    else:
        summary = "end-to-end encrypted desktop messenger (standard build)"
        body = (
            "Parley is a desktop messenger: X3DH and the Double Ratchet on libsodium,\n"
            "a relay that stores and forwards ciphertext it cannot read, history in\n"
            "a SQLCipher database, no phone number. This is the standard build: it\n"
            "contains no lawful-access code."
        )
    description = "\n".join(" " + (line or ".") for line in body.splitlines())
    arch = subprocess.run(["dpkg", "--print-architecture"], capture_output=True, text=True,
                          check=True).stdout.strip()  # fmt: skip
    return (
        f"Package: {names['package']}\n"
        f"Version: {version}+{variant}\n"
        f"Architecture: {arch}\n"
        f"Maintainer: {MAINTAINER}\n"
        f"Installed-Size: {installed_kib}\n"
        f"Depends: {DEPENDS}\n"
        f"Conflicts: {names['other']}\n"
        "Section: net\n"
        "Priority: optional\n"
        f"Description: {summary}\n{description}\n"
    )


def desktop_entry(variant: str, key_id: str | None) -> str:
    lines = (ROOT / "resources" / "parley.desktop").read_text(encoding="utf-8").splitlines()
    if "Exec=parley %u" not in lines:
        sys.exit("build-installers: resources/parley.desktop has no 'Exec=parley %u' line")
    if variant == "warrant":
        replace = {
            "Name=": "Name=Parley (warrant build)",
            "GenericName=": "GenericName=Messenger with lawful access",
            "Comment=": f"Comment=Messages can be opened under a warrant by authority {key_id}",
            "Icon=": "Icon=parley-warrant",
        }
        lines = [next((v for k, v in replace.items() if line.startswith(k)), line)
                 for line in lines]  # fmt: skip
    return "\n".join(lines) + "\n"


def warrant_icon() -> str:
    """The app icon with a badge that no one can take for the standard build's."""
    base = (ROOT / "resources" / "parley.svg").read_text(encoding="utf-8")
    badge = (HERE / "warrant-badge.svg").read_text(encoding="utf-8")
    inner = badge.split("<!-- badge -->")[1]
    return base.replace("<title>Parley</title>", "<title>Parley (warrant build)</title>").replace(
        "</svg>", inner.strip() + "\n</svg>"
    )


def copyright_file(variant: str) -> str:
    names = deb_names(variant)
    mit = (ROOT / "packaging" / "debian-copyright").read_text(encoding="utf-8")
    return mit.replace("@PACKAGE@", names["package"])


def gz_bytes(data: bytes) -> bytes:
    return gzip.compress(data, compresslevel=9, mtime=0)  # as gzip -n: no time in the header


def copy_licences(dest: Path) -> None:
    import importlib.metadata as md

    for dist in md.distributions():
        name = str(dist.metadata["Name"]).lower().replace("_", "-").replace(".", "-")
        if name not in LICENSED:
            continue
        for file in dist.files or []:
            stem = Path(str(file)).name.upper()
            if stem.startswith(("LICENSE", "LICENCE", "COPYING", "NOTICE")) or (
                "licenses" in Path(str(file)).parts
            ):
                src = Path(str(file.locate()))
                if src.is_file():
                    target = dest / name / Path(str(file)).name
                    target.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(src, target)


def build_deb(
    variant: str, version: str, bundle: Path, work: Path, *, dist: Path, key_id: str | None
) -> Path:
    names = deb_names(variant)
    pkg = names["package"]
    stage = work / "deb"
    shutil.rmtree(stage, ignore_errors=True)
    lib = stage / "usr" / "lib" / pkg
    shutil.copytree(bundle, lib, symlinks=True)
    shutil.rmtree(lib / FONTS_IN_BUNDLE)  # Depends: fonts-noto-color-emoji instead
    (stage / "usr" / "bin").mkdir(parents=True)
    (stage / "usr" / "bin" / "parley").symlink_to(f"../lib/{pkg}/parley")
    share = stage / "usr" / "share"
    (share / "applications").mkdir(parents=True)
    (share / "applications" / f"{pkg}.desktop").write_text(desktop_entry(variant, key_id))
    icons = share / "icons" / "hicolor" / "scalable" / "apps"
    icons.mkdir(parents=True)
    icon = (
        warrant_icon() if variant == "warrant" else (ROOT / "resources" / "parley.svg").read_text()
    )
    (icons / f"{names['icon']}.svg").write_text(icon)
    doc = share / "doc" / pkg
    doc.mkdir(parents=True)
    (doc / "copyright").write_text(copyright_file(variant))
    changelog = (HERE / "debian-changelog").read_text().replace("@PACKAGE@", pkg)
    changelog = changelog.replace("@VERSION@", f"{version}+{variant}")
    (doc / "changelog.gz").write_bytes(gz_bytes(changelog.encode()))
    copy_licences(doc / "licenses")
    man = share / "man" / "man1"
    man.mkdir(parents=True)
    page = (HERE / "parley.1").read_text().replace("@VERSION@", version)
    page = page.replace("@VARIANT@", "warrant build" if variant == "warrant" else "standard build")
    (man / "parley.1.gz").write_bytes(gz_bytes(page.encode()))
    overrides = HERE / "lintian-overrides"
    (share / "lintian" / "overrides").mkdir(parents=True)
    (share / "lintian" / "overrides" / pkg).write_text(
        overrides.read_text().replace("@PACKAGE@", pkg)
    )

    files = sorted(p for p in stage.rglob("*") if p.is_file() and not p.is_symlink())
    installed_kib = sum((p.stat().st_size + 1023) // 1024 for p in files)
    debian = stage / "DEBIAN"
    debian.mkdir()
    (debian / "control").write_text(control(variant, version, installed_kib, key_id))
    (debian / "md5sums").write_text(
        "".join(
            f"{hashlib.md5(p.read_bytes()).hexdigest()}  {p.relative_to(stage).as_posix()}\n"  # noqa: S324
            for p in files
        )
    )
    normalise(stage)
    out = dist / f"{pkg}_{version}+{variant}_{control_arch()}.deb"
    # --root-owner-group: every file root:root without fakeroot. gzip rather than xz: xz -6 on one
    # thread (its output depends on the thread count) took minutes on a shared two-core machine;
    # gzip's output is a function of the input and the level, and every dpkg reads it.
    run(["dpkg-deb", "--root-owner-group", "-Zgzip", "-z9", "--build",
         str(stage), str(out)], stdout=subprocess.DEVNULL)  # fmt: skip
    return out


def control_arch() -> str:
    return subprocess.run(["dpkg", "--print-architecture"], capture_output=True, text=True,
                          check=True).stdout.strip()  # fmt: skip


def lintian(deb: Path, work: Path) -> None:
    done = subprocess.run(["lintian", "--fail-on", "error", "--tag-display-limit", "0",
                           str(deb)], capture_output=True, text=True, check=False)  # fmt: skip
    (work / "lintian.txt").write_text(done.stdout + done.stderr)
    if done.returncode:
        sys.exit(f"build-installers: lintian found errors in {deb.name}:\n{done.stdout}")


# ---- the manifest ------------------------------------------------------------------------------


def manifest(dist: Path) -> None:
    """dist/MANIFEST.json and dist/SHA256SUMS: every artefact, its variant and its wheel."""
    entries = []
    for path in sorted(dist.iterdir()):
        if path.name in ("MANIFEST.json", "SHA256SUMS") or not path.is_file():
            continue
        meta_file = path.parent / ".meta" / (path.name + ".json")
        meta = json.loads(meta_file.read_text()) if meta_file.is_file() else {}
        entries.append({"file": path.name, "sha256": sha256(path), "size": path.stat().st_size,
                        **meta})  # fmt: skip
    commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                            cwd=ROOT, check=False).stdout.strip()  # fmt: skip
    dirty = bool(subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                                capture_output=True, text=True, cwd=ROOT,
                                check=False).stdout.strip())  # fmt: skip
    from importlib.metadata import version

    doc = {
        "commit": commit,
        "dirty": dirty,
        "source_date_epoch": SDE,
        "build_environment": {
            "python": platform.python_version(),
            "pyinstaller": version("pyinstaller"),
            "requirements_sha256": sha256(HERE / "requirements-build.txt"),
            "os": _os_release(),
            "machine": platform.machine(),
        },
        "artefacts": entries,
    }
    (dist / "MANIFEST.json").write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n")
    (dist / "SHA256SUMS").write_text("".join(f"{e['sha256']}  {e['file']}\n" for e in entries))
    for e in entries:
        print(f"{e['sha256']}  {e['file']}")


def _os_release() -> str:
    try:
        fields = dict(
            line.split("=", 1)
            for line in Path("/etc/os-release").read_text().splitlines()
            if "=" in line
        )
        return fields.get("PRETTY_NAME", "").strip('"')
    except OSError:
        return platform.platform()


def write_meta(dist: Path, artefact: Path, data: dict[str, object]) -> None:
    meta = dist / ".meta"
    meta.mkdir(exist_ok=True)
    (meta / (artefact.name + ".json")).write_text(json.dumps(data, sort_keys=True))


def build_variant(args: argparse.Namespace) -> None:
    variant: str = args.variant
    work, dist = Path(args.work), Path(args.dist)
    (wheel,) = Path(args.wheel_dir).glob("parley-*.whl")
    version = wheel_version(wheel)
    key_id = None
    if variant == "warrant":
        key_id = str(json.loads((Path(args.authority) / "authority.json").read_text())["key_id"])
    # Leftovers of an earlier build of this variant would end up in the manifest.
    for old in dist.glob(f"*+{variant}*"):
        old.unlink()
    wheel_out = dist / wheel.name
    shutil.copyfile(wheel, wheel_out)
    os.utime(wheel_out, (SDE, SDE))
    wheel_sha = sha256(wheel_out)
    common = {"variant": variant, "version": version, "authority_key_id": key_id}
    write_meta(dist, wheel_out, {**common, "kind": "wheel"})

    bundle = build_bundle(variant, wheel, work, sys.executable)
    size = tree_size(bundle)
    tarball = dist / f"parley-{version}+{variant}-linux-{platform.machine()}.tar.gz"
    write_tarball(bundle, f"parley-{version}+{variant}", tarball)
    write_meta(dist, tarball, {**common, "kind": "bundle", "wheel": wheel.name,
                               "wheel_sha256": wheel_sha, "unpacked_bytes": size})  # fmt: skip
    deb = build_deb(variant, version, bundle, work, dist=dist, key_id=key_id)
    if os.environ.get("PARLEY_INSTALLERS_LINTIAN", "1") != "0":
        lintian(deb, work)
    write_meta(dist, deb, {**common, "kind": "deb", "wheel": wheel.name,
                           "wheel_sha256": wheel_sha, "unpacked_bytes": size})  # fmt: skip
    print(f"build-installers: {variant}: bundle {size / 2**20:.1f} MiB unpacked, "
          f"{tarball.name}, {deb.name}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--variant", choices=("standard", "warrant"))
    parser.add_argument("--wheel-dir")
    parser.add_argument("--work")
    parser.add_argument("--dist", required=True)
    parser.add_argument("--authority")
    parser.add_argument("--manifest", action="store_true")
    args = parser.parse_args()
    if args.manifest:
        manifest(Path(args.dist))
    else:
        build_variant(args)


if __name__ == "__main__":
    main()
