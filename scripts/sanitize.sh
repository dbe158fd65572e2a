#!/usr/bin/env bash
# Builds the engine with AddressSanitizer + UBSan into a scratch venv and runs
# the engine tests under it (the extension is loaded into an uninstrumented
# python, hence LD_PRELOAD). Linux + gcc. Usage: scripts/sanitize.sh [pytest args]
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
python3 -m venv "$work/venv"
"$work/venv/bin/pip" install --quiet "setuptools>=77" "Cython>=3.0" pytest hypothesis numpy click
git -C "$here" ls-files -z | (cd "$here" && xargs -0 cp --parents -t "$work") 2>/dev/null || cp -r "$here/." "$work/"
cd "$work"
CINEV4_SANITIZE=address,undefined "$work/venv/bin/python" setup.py --quiet build_ext --inplace
# handle_sigbus=0: the engine's own SIGBUS recovery must see truncation faults.
LD_PRELOAD="$(gcc -print-file-name=libasan.so):$(gcc -print-file-name=libubsan.so)" \
ASAN_OPTIONS=detect_leaks=0:handle_sigbus=0:allow_user_segv_handler=1 \
UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
PYTHONPATH=src "$work/venv/bin/python" -m pytest tests/engine -q -p no:cacheprovider \
    -k "not sparse and not cli" "$@"
