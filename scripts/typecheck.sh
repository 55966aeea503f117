#!/usr/bin/env bash
# mypy --strict over the installed layout. mypy cannot follow setuptools' editable import hook, so
# build/typecheck/parley mirrors the package with symbolic links (new modules appear at once).
# tests/ and bench/ are checked apart: bench/crypto.py and the tests/crypto package share a name.
# Every step runs even when an earlier one fails, so one run shows all the errors.
set -uo pipefail
cd "$(dirname "$0")/.."
tree=build/typecheck/parley
rm -rf build/typecheck && mkdir -p "$tree"
for f in parley/*.py parley/py.typed; do ln -s "$PWD/$f" "$tree/$(basename "$f")"; done
for pkg in app crypto net ui resources; do ln -s "$PWD/$pkg" "$tree/$pkg"; done
status=0
MYPYPATH=build/typecheck .venv/bin/mypy --strict -p parley || status=1
MYPYPATH=build/typecheck .venv/bin/mypy --strict tests || status=1
MYPYPATH=build/typecheck:bench .venv/bin/mypy --strict bench || status=1
MYPYPATH=build/typecheck .venv/bin/mypy --strict packaging/installers.py packaging/parley_entry.py \
  || status=1
exit $status
