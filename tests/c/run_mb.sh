#!/bin/sh
# Build and run the multi-buffer SHA-256 kernel test + micro-benchmark (not part of the package).
#   tests/c/run_mb.sh [--quick] [--no-bench] [--bench-only] [--reps N]
# The kernel files are compiled exactly as setup.py does (no -m flags, warnings as errors here).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
csrc="$root/src/cinev4/csrc"
out=${TMPDIR:-/tmp}/cv4_test_mb.$$
CC=${CC:-cc}
trap 'rm -f "$out"' EXIT
$CC -O3 -std=c11 -Wall -Wextra -Wno-unused-parameter -Wno-unused-function -Werror \
    -I"$csrc" "$here/test_mb.c" "$csrc/sha256_mb_avx2.c" "$csrc/sha256_mb_avx512.c" "$csrc/sha256_shani_x2.c" \
    "$csrc/sha256_common.c" \
    -o "$out" -lcrypto
status=0
"$out" "$@" || status=$?
case " $* " in
  *" --no-bench "*) ;;
  *) if command -v openssl >/dev/null 2>&1; then
       echo; echo "openssl speed -bytes 16384 -seconds 3 sha256 (single stream, same run):"
       openssl speed -bytes 16384 -seconds 3 sha256 2>/dev/null | tail -n 2
     fi ;;
esac
exit $status
