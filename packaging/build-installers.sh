#!/usr/bin/env bash
# Build Parley's installers into dist/: per variant, the wheel, a PyInstaller one-folder bundle (as
# a .tar.gz) and a Debian package, plus a manifest with the SHA-256 of each.
#
#   packaging/build-installers.sh --variant standard|warrant|both [--authority DIR] [--out DIR]
#
# --out DIR puts the artefacts elsewhere than dist/ (tests). PARLEY_INSTALLERS_WORK names the
# scratch folder (default build/installers/work); PARLEY_INSTALLERS_LINTIAN=0 skips lintian (the
# tests' second build, whose packages are compared byte for byte with the first).
# --authority DIR (the output of `parley warrant authority init`) is required for the warrant
# variant and passed to packaging/build.sh, which compiles its public parameters in.
# Reproducible: the build tools come from packaging/requirements-build.txt (pinned, hash-checked),
# timestamps from SOURCE_DATE_EPOCH (default: the last commit's time), archives are sorted with
# fixed owners and modes; two builds of one commit on one build image give identical files
# (docs/packaging.md). Needs what scripts/setup.sh installs (dpkg-dev, lintian, fakeroot).
set -euo pipefail
cd "$(dirname "$0")/.."

usage() {
  echo "usage: packaging/build-installers.sh --variant standard|warrant|both [--authority DIR]" \
    "[--out DIR]" >&2
  exit 2
}
variant="" authority="" dist=dist
while (($#)); do
  case $1 in
    --variant) variant=${2:-}; shift 2 || usage ;;
    --authority) authority=${2:-}; shift 2 || usage ;;
    --out) dist=${2:-}; shift 2 || usage ;;
    -h | --help) usage ;;
    *) echo "build-installers: unknown argument $1" >&2; usage ;;
  esac
done
case $variant in
  standard) variants=(standard) ;;
  warrant) variants=(warrant) ;;
  both) variants=(standard warrant) ;;
  *) usage ;;
esac
if [[ " ${variants[*]} " == *" warrant "* ]]; then
  if [[ -z $authority || ! -f $authority/authority.json ]]; then
    echo "build-installers: the warrant variant needs --authority DIR holding authority.json" \
      "(made by 'parley warrant authority init')" >&2
    exit 2
  fi
  authority=$(cd "$authority" && pwd)
fi
for tool in dpkg-deb lintian fakeroot; do
  command -v "$tool" >/dev/null || {
    echo "build-installers: $tool is missing; run scripts/setup.sh" >&2
    exit 1
  }
done

# Everything that could leak the build machine's state into the artefacts is pinned here.
SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct)}
export SOURCE_DATE_EPOCH PYTHONHASHSEED=0 TZ=UTC LC_ALL=C.UTF-8 PYTHONDONTWRITEBYTECODE=1
umask 022

# The build environment: a virtual environment holding exactly the locked, hash-checked files.
work=build/installers
venv=$work/venv
lock_hash=$(cat packaging/requirements-build.txt <(echo "${PYTHON:-/usr/bin/python3}") | sha256sum | cut -d' ' -f1)
# Debian's own Python where there is one: a distribution-built interpreter (stripped, no private
# RUNPATH) that anyone can install at the same version to rebuild; the manifest names it.
if [[ -z ${PYTHON:-} && -x /usr/bin/python3 ]]; then PYTHON=/usr/bin/python3; fi
base_python=${PYTHON:-$(.venv/bin/python -c 'import sys; print(sys._base_executable)')}
if [[ ! -x $venv/bin/python || "$(cat "$venv/.lock-sha256" 2>/dev/null)" != "$lock_hash" ]]; then
  echo "build-installers: making the build environment ($venv) from the lock"
  rm -rf "$venv"
  "$base_python" -m venv "$venv"
  "$venv/bin/python" -m pip install -q --disable-pip-version-check --require-hashes --no-deps \
    --only-binary :all: -r packaging/requirements-build.txt 2>&1 | { grep -v "is ignored: it is neither" || true; }
  echo "$lock_hash" > "$venv/.lock-sha256"
fi

mkdir -p "$dist"
scratch=${PARLEY_INSTALLERS_WORK:-$work/work}
for v in "${variants[@]}"; do
  out=$scratch/$v
  rm -rf "$out" && mkdir -p "$out/wheel"
  # The wheel, by issue 9's build (the standard build takes no authority).
  wheel_args=(--variant "$v" --out "$out/wheel")
  [[ $v == warrant ]] && wheel_args+=(--authority "$authority")
  packaging/build.sh "${wheel_args[@]}" >/dev/null
  "$venv/bin/python" packaging/installers.py --variant "$v" --wheel-dir "$out/wheel" \
    --work "$out" --dist "$dist" $([[ $v == warrant ]] && echo --authority "$authority")
done
"$venv/bin/python" packaging/installers.py --manifest --dist "$dist"
