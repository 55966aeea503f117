#!/usr/bin/env bash
# Register Parley with a Linux desktop for the current user: the menu entry, the icon, and the
# parley:// link handler (a clicked invite link runs `parley LINK`: the open app, or a new one,
# shows the add-contact dialog for the person to confirm). Uses the parley command of .venv
# unless PARLEY_BIN names another. Run again to update; remove the two files (and the
# x-scheme-handler/parley line of ~/.config/mimeapps.list) to undo.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${PARLEY_BIN:-$PWD/.venv/bin/parley}
apps=${XDG_DATA_HOME:-$HOME/.local/share}/applications
icons=${XDG_DATA_HOME:-$HOME/.local/share}/icons/hicolor/scalable/apps

# The desktop entry spec quotes arguments with its own escaping rules; a path that would need
# them is refused rather than written wrong. Spaces are fine: the path is then quoted.
case $bin in
  *[\"\`\$\\]* | *$'\n'*)
    echo "install-desktop-entry: the path $bin holds a quote, \$, \` or backslash;" \
      "install Parley elsewhere or set PARLEY_BIN" >&2
    exit 1 ;;
esac
exec_bin=$bin
[[ $bin == *[[:space:]]* ]] && exec_bin="\"$bin\""
grep -qx 'Exec=parley %u' resources/parley.desktop || {
  echo "install-desktop-entry: resources/parley.desktop has no 'Exec=parley %u' line" >&2
  exit 1
}

mkdir -p "$apps" "$icons"
cp resources/parley.svg "$icons/parley.svg"
while IFS= read -r line; do
  [[ $line == 'Exec=parley %u' ]] && line="Exec=$exec_bin %u"
  printf '%s\n' "$line"
done < resources/parley.desktop > "$apps/parley.desktop"
if command -v update-desktop-database >/dev/null; then update-desktop-database "$apps"; fi
if command -v xdg-mime >/dev/null; then
  xdg-mime default parley.desktop x-scheme-handler/parley
  echo "parley:// links now open Parley"
else
  echo "xdg-mime not found: the desktop learns the parley:// handler from the entry's MimeType"
fi
echo "installed $apps/parley.desktop and $icons/parley.svg"
