#!/usr/bin/env bash
# Everything CI checks: ruff, ruff format, mypy --strict, then every test. Run after setup.sh --dev.
set -euo pipefail
cd "$(dirname "$0")/.."
export QT_QPA_PLATFORM=offscreen

echo "== ruff check"; .venv/bin/ruff check .
echo "== ruff format --check"; .venv/bin/ruff format --check .
echo "== mypy --strict"; scripts/typecheck.sh
echo "== pytest"
# -p no:cacheprovider keeps a fresh clone free of stray files; xdist is not used: the relay and
# keyring tests run real servers and two cores are all CI has.
.venv/bin/python -m pytest -q -p no:cacheprovider "$@"
