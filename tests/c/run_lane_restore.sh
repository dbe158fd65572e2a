#!/bin/sh
# Build and run tests/c/test_lane_restore.c against the scheduler's own sources (Linux/macOS).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
csrc="$here/../../src/cinev4/csrc"
out=${TMPDIR:-/tmp}/cv4_test_lane_restore.$$
CC=${CC:-cc}
trap 'rm -f "$out"' EXIT
# shellcheck disable=SC2046
$CC $(sh "$here/cflags.sh") \
    "$here/test_lane_restore.c" "$csrc/batch/cv4_lanes.c" "$csrc/batch/cv4_batch.c" \
    "$csrc/io/cv4_io.c" "$csrc/io/cv4_anchor.c" "$csrc/io/cv4_prefault.c" \
    "$csrc/kernels/sha256_common.c" "$csrc/kernels/sha256_portable.c" -o "$out" -lcrypto -lpthread
"$out"
