#!/usr/bin/env bash
# Re-pin the installers' build dependencies (packaging/requirements-build.txt) from pyproject.toml's
# runtime dependencies and packaging/requirements-build.in, with the hash of every published file,
# for every platform the workflows build on (one universal lock: Linux, Windows, macOS; Python 3.11
# and newer). Run by hand when a dependency should move; review the diff; commit it.
# Needs uv (pip install uv, in any scratch environment; it is not a build dependency).
set -euo pipefail
cd "$(dirname "$0")/.."
uv=${UV:-uv}
"$uv" pip compile --universal --python-version 3.11 --generate-hashes --no-header \
  --no-strip-markers \
  --output-file packaging/requirements-build.txt pyproject.toml packaging/requirements-build.in
