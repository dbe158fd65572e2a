#!/bin/sh
# Build and run the multi-buffer SHA-256 kernel test + micro-benchmark (not part of the package).
#   tests/c/run_mb.sh [--quick] [--no-bench] [--bench-only] [--reps N]
# The kernel files are compiled exactly as setup.py does (cflags.sh: no -m flags, warnings as errors here).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
csrc="$root/src/cinev4/csrc"
out=${TMPDIR:-/tmp}/cv4_test_mb.$$
CC=${CC:-cc}
trap 'rm -f "$out"' EXIT
# shellcheck disable=SC2046
$CC $(sh "$here/cflags.sh") \
    "$here/test_mb.c" "$csrc/kernels/sha256_mb_avx2.c" "$csrc/kernels/sha256_mb_avx512.c" \
    "$csrc/kernels/sha256_shani_x2.c" "$csrc/kernels/sha256_common.c" \
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
