#!/usr/bin/env bash
# Register Parley with a Linux desktop for the current user: the menu entry and the icon. (The app
# does not open parley:// invite links yet, so the entry claims no link handler.) Uses the parley command of .venv unless
# PARLEY_BIN names another. Run again to update; remove the three files to undo.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${PARLEY_BIN:-$PWD/.venv/bin/parley}
apps=${XDG_DATA_HOME:-$HOME/.local/share}/applications
icons=${XDG_DATA_HOME:-$HOME/.local/share}/icons/hicolor/scalable/apps
mkdir -p "$apps" "$icons"
cp resources/parley.svg "$icons/parley.svg"
sed "s|^Exec=parley$|Exec=$bin|" resources/parley.desktop > "$apps/parley.desktop"
command -v update-desktop-database >/dev/null && update-desktop-database "$apps" || true
echo "installed $apps/parley.desktop and $icons/parley.svg"
