#!/bin/sh
# Build and run tests/c/test_lane_restore.c against the scheduler's own sources (Linux/macOS).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
csrc="$here/../../src/cinev4/csrc"
out=${TMPDIR:-/tmp}/cv4_test_lane_restore.$$
CC=${CC:-cc}
trap 'rm -f "$out"' EXIT
$CC -O2 -std=c11 -D_GNU_SOURCE -Wall -Wextra -Wno-unused-parameter -Wno-unused-function -Werror -I"$csrc" \
    "$here/test_lane_restore.c" "$csrc/cv4_lanes.c" "$csrc/cv4_io.c" "$csrc/cv4_anchor.c" "$csrc/cv4_prefault.c" "$csrc/cv4_batch.c" \
    "$csrc/sha256_common.c" \
    "$csrc/sha256_portable.c" -o "$out" -lcrypto -lpthread
"$out"
