#!/usr/bin/env bash
# Prepare a fresh Debian (12 or newer) machine for Parley: the system libraries Qt needs, the tools
# the tests use (Xvfb, gnome-keyring under D-Bus), and a virtual environment at .venv in the
# repository root with Parley installed in editable mode. Safe to run again: when neither
# pyproject.toml nor this script changed since the last run (a stamp of both hashes in .venv), it
# does nothing and prints nothing; otherwise it prints only what it installs.
set -euo pipefail
cd "$(dirname "$0")/.."

extras=""
[ "${1:-}" = "--dev" ] && extras="[dev]"
# The stamp names what was installed: a dev install also satisfies a plain one, not the reverse.
stamp_file=.venv/.parley-setup-stamp
stamp="$(cat pyproject.toml scripts/setup.sh | sha256sum | cut -d' ' -f1)"
if [ -x .venv/bin/python ] && [ -f "$stamp_file" ]; then
  read -r done_hash done_extras <"$stamp_file" || true
  if [ "$done_hash" = "$stamp" ] && { [ -z "$extras" ] || [ "${done_extras:-}" = "dev" ]; }; then
    exit 0
  fi
fi

APT_PACKAGES=(
  python3 python3-venv python3-dev
  # Qt 6 (PySide6 wheels) runtime libraries for the xcb and offscreen platforms
  libegl1 libgl1 libglib2.0-0 libfontconfig1 libfreetype6 libdbus-1-3 libxkbcommon0
  libxkbcommon-x11-0 libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-shape0 libxcb-xinerama0
  libxcb-randr0 libxcb-render-util0 libxcb-image0 libxcb-xkb1 libx11-xcb1 fonts-dejavu-core
  # screenshots on a virtual display, and a real Secret Service keyring for the tests
  xvfb xauth dbus dbus-x11 gnome-keyring libsecret-tools
  # the relay's Redis store is tested against a real server (standalone, a 3-node cluster, and
  # TLS with a throwaway CA that the openssl command makes)
  redis-server openssl
  # headless Chromium opens `parley compare`'s report.html in the tests
  chromium
  # a small window manager for the slow real-display test; zbar decodes QR codes from grabs;
  # X's Unicode bitmap fonts, so that twm's title bars in scripts/screenshots.py draw "—"
  twm libzbar0 xfonts-base
  # emoji in messages (Qt falls back to it for colour glyphs)
  fonts-noto-color-emoji
  # packaging/build-installers.sh: Debian's shared libpython for PyInstaller, strip and objdump,
  # lintian (dpkg-deb comes with dpkg; no fakeroot: dpkg-deb --root-owner-group)
  libpython3.11 binutils lintian
)

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  echo "setup: installing Debian packages: ${missing[*]}"
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
fi

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv"
  "$PYTHON" -m venv .venv
  .venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip
fi
echo "setup: installing Parley${extras} into .venv (editable)"
# PYTHONWARNINGS: setuptools' editable-install notice is advice for library authors, not the user.
PYTHONWARNINGS=ignore .venv/bin/python -m pip install -q --disable-pip-version-check -e ".${extras}"
echo "$stamp ${extras:+dev}" >"$stamp_file"
