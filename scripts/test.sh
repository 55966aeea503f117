#!/usr/bin/env bash
# The README's test command: set up everything on a fresh Debian machine, then run every check.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --dev
exec scripts/check.sh "$@"
