#!/usr/bin/env bash
# Prepare a fresh Debian (12 or newer) machine for Parley: the system libraries Qt needs, the tools
# the tests use (Xvfb, gnome-keyring under D-Bus), and a virtual environment at .venv in the
# repository root with Parley installed in editable mode. Safe to run again: it only installs what
# is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  python3 python3-venv python3-dev
  # Qt 6 (PySide6 wheels) runtime libraries for the xcb and offscreen platforms
  libegl1 libgl1 libglib2.0-0 libfontconfig1 libfreetype6 libdbus-1-3 libxkbcommon0
  libxkbcommon-x11-0 libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-shape0 libxcb-xinerama0
  libxcb-randr0 libxcb-render-util0 libxcb-image0 libxcb-xkb1 libx11-xcb1 fonts-dejavu-core
  # screenshots on a virtual display, and a real Secret Service keyring for the tests
  xvfb xauth dbus dbus-x11 gnome-keyring libsecret-tools
  # the relay's Redis store is tested against a real server (standalone and a 3-node cluster)
  redis-server
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
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip
extras=""
[ "${1:-}" = "--dev" ] && extras="[dev]"
.venv/bin/python -m pip install -q --disable-pip-version-check -e ".${extras}"
