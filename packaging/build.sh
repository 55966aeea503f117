#!/usr/bin/env bash
# Build one variant of Parley as a wheel (docs/warrant.md, packaging/README.md):
#
#   packaging/build.sh --variant standard|warrant [--authority DIR] [--out DIR]
#                      [--policy strict|transitional] [--sdist]
#
# The wheel is named parley-<version>+<variant>-py3-none-any.whl and left in DIR (default dist/).
# The build copies the source tree to a staging folder, writes the generated module
# parley/build_config.py there (the variant; for the warrant build the authority's public
# parameters and the mixed-traffic policy), and for the standard build removes every file listed
# in packaging/warrant-only.txt, so that the standard wheel holds no envelope or escrow code at all.
# A warrant build without --authority is refused. SOURCE_DATE_EPOCH (default: the last commit's
# time) fixes the timestamps inside the wheel. Run after scripts/setup.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
py=${PARLEY_BUILD_PYTHON:-$root/.venv/bin/python}
variant="" authority="" out=dist policy=strict sdist=0
usage() { sed -n 2,6p "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
while [ $# -gt 0 ]; do
    case "$1" in
        --variant) variant=${2:-}; shift 2 || usage ;;
        --authority) authority=${2:-}; shift 2 || usage ;;
        --out) out=${2:-}; shift 2 || usage ;;
        --policy) policy=${2:-}; shift 2 || usage ;;
        --sdist) sdist=1; shift ;;
        -h|--help) usage ;;
        *) echo "build.sh: unknown argument $1" >&2; usage ;;
    esac
done
case "$variant" in
    standard|warrant) ;;
    *) echo "build.sh: --variant must be standard or warrant" >&2; usage ;;
esac
if [ "$variant" = warrant ] && [ -z "$authority" ]; then
    echo "build.sh: a warrant build needs --authority DIR (from 'parley warrant authority init');" \
         "it is never built with a placeholder key" >&2
    exit 2
fi
if [ "$variant" = standard ] && [ -n "$authority" ]; then
    echo "build.sh: the standard build embeds no authority; drop --authority" >&2
    exit 2
fi
if [ -n "$authority" ]; then
    if [ ! -f "$authority/authority.json" ]; then
        echo "build.sh: $authority holds no authority.json (make one with 'parley warrant authority init')" >&2
        exit 2
    fi
    authority=$(cd "$authority" && pwd)
fi
mkdir -p "$out" && out=$(cd "$out" && pwd)
if [ -z "${SOURCE_DATE_EPOCH:-}" ]; then
    SOURCE_DATE_EPOCH=$(git log -1 --format=%ct 2>/dev/null || echo 315532800)
fi
export SOURCE_DATE_EPOCH

stage=$(mktemp -d "${TMPDIR:-/tmp}/parley-build.XXXXXX")
trap 'rm -rf "$stage"' EXIT
# The tracked tree plus new files not yet committed (never ignored ones: .venv, build/, dist/).
git ls-files -z --cached --others --exclude-standard | while IFS= read -r -d '' f; do
    [ -e "$f" ] && printf '%s\0' "$f"
done | tar --null -T - -cf - | tar -xf - -C "$stage"
rm -f "$stage/parley/build_config.py"

args=(--variant "$variant" --policy "$policy" --out "$stage/parley/build_config.py")
[ -n "$authority" ] && args+=(--authority "$authority")
"$py" -m parley.app.warrant.buildconfig "${args[@]}"

if [ "$variant" = standard ]; then
    grep -v '^\s*\(#\|$\)' packaging/warrant-only.txt | while read -r path; do
        rm -rf "${stage:?}/$path"
        if [ "${path%/}" != "$path" ]; then   # a whole package: drop it from pyproject's list
            pkg="parley.$(echo "${path%/}" | tr / .)"
            sed -i "/^\s*\"${pkg//./\\.}\",/d" "$stage/pyproject.toml"
        fi
    done
fi
sed -i -E "s/^version = \"([^\"+]+)\"/version = \"\\1+$variant\"/" "$stage/pyproject.toml"
rm -f "$out"/parley-*+"$variant"-py3-none-any.whl
"$py" -m pip wheel --no-deps --no-build-isolation -q -w "$out" "$stage"
if [ "$sdist" = 1 ]; then
    (cd "$root" && "$py" -c "from setuptools import build_meta as b; print(b.build_sdist('$out'))")
fi
ls -l "$out"/parley-*+"$variant"-py3-none-any.whl
