#!/bin/sh
# Build and run the one-big-file benchmark of the prefault helper (tests/c/bench_prefault.c; not
# part of the package, not run by the test suite): in memory, mmap with and without the helper,
# and read, interleaved; wall MB/s and the hashing thread's MB per CPU-second.
#   tests/c/run_prefault_bench.sh FILE [ROUNDS]      (x86-64 with SHA-NI, Linux 5.14+)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
csrc="$here/../../src/cinev4/csrc"
out=${TMPDIR:-/tmp}/cv4_bench_prefault.$$
trap 'rm -f "$out"' EXIT
# shellcheck disable=SC2046
${CC:-cc} $(sh "$here/cflags.sh") \
    "$here/bench_prefault.c" "$csrc/io/cv4_io.c" "$csrc/io/cv4_prefault.c" "$csrc/io/cv4_anchor.c" \
    "$csrc/kernels/sha256_shani.c" "$csrc/kernels/sha256_common.c" "$csrc/kernels/sha256_portable.c" -o "$out" -lpthread
"$out" "$@"
