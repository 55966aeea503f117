#!/usr/bin/env bash
# The README's main command: set up, then start the demo (an embedded relay and two windows).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec .venv/bin/parley demo "$@"
