#!/usr/bin/env bash
# Build Parley's distributable artefacts into dist/: the wheel and the source archive. Installers
# for each platform start from the wheel (see packaging/README.md). Run after scripts/setup.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
rm -rf dist && mkdir -p dist
.venv/bin/python -m pip wheel --no-deps --no-build-isolation -q -w dist .
.venv/bin/python - <<'PY'
# The source archive, made by setuptools itself (no extra build tool needed).
import subprocess, sys
subprocess.run([sys.executable, "-c",
    "from setuptools import build_meta as b; print(b.build_sdist('dist'))"], check=True)
PY
ls -l dist
