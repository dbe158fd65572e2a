#!/bin/sh
# Build and run the single-stream SHA-256 kernel test (tests/c/test_kernels.c; not part of the package).
#   tests/c/run_kernels.sh [--native-only | --qemu-only] [--quick]
#
# native: $CC (default cc) on this machine; covers portable + sha-ni and sha-ni-x2 (x86-64 with
#         SHA-NI) or armv8-sha2 and armv8-sha2-x2 (AArch64 with the SHA-2 extension).
# qemu:   cross-compiled with aarch64-linux-gnu-gcc (-static) and run under qemu-aarch64(-static),
#         whose default CPU ("max") has the SHA-2 extension: covers armv8-sha2 on an x86-64 host,
#         and the run fails unless that kernel was detected and tested.
#         This part is OPTIONAL: CI (`make test`) runs on a clean Debian image without the cross
#         toolchain (the Makefile installs nothing). Locally/in an optional CI job:
#           apt-get install -y gcc-aarch64-linux-gnu qemu-user-static
#         When either tool is missing the qemu part prints "SKIP qemu: ..." and, with
#         --qemu-only, exits 77. qemu timings are meaningless: this is a correctness check only.
# The kernel files are compiled with setup.py's flags (cflags.sh: no -m/-march flags), warnings as errors.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
csrc="$root/src/cinev4/csrc"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/cv4_test_kernels.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

native=1 qemu=1
args=""
for a in "$@"; do
  case "$a" in
    --native-only) qemu=0 ;;
    --qemu-only) native=0 ;;
    --quick) args="$args --quick" ;;
    *) echo "usage: $0 [--native-only | --qemu-only] [--quick]" >&2; exit 2 ;;
  esac
done

flags=$(sh "$here/cflags.sh")
k="$csrc/kernels"
srcs="$here/test_kernels.c $k/sha256_common.c $k/sha256_portable.c $k/sha256_shani.c $k/sha256_armv8.c
      $k/sha256_shani_x2.c $k/sha256_armv8_x2.c $k/cv4_cpu.c"

status=0
if [ $native = 1 ]; then
  CC=${CC:-cc}
  echo "== native ($CC, $(uname -m))"
  # shellcheck disable=SC2086
  $CC $flags $srcs -o "$tmp/native"
  # shellcheck disable=SC2086
  "$tmp/native" $args || status=1
fi

if [ $qemu = 1 ]; then
  cross=${CROSS_CC:-aarch64-linux-gnu-gcc}
  emu=""
  for e in qemu-aarch64-static qemu-aarch64; do
    if command -v "$e" >/dev/null 2>&1; then emu=$e; break; fi
  done
  if ! command -v "$cross" >/dev/null 2>&1; then
    echo "SKIP qemu: no $cross (apt-get install gcc-aarch64-linux-gnu)"
    [ $native = 0 ] && exit 77
  elif [ -z "$emu" ]; then
    echo "SKIP qemu: no qemu-aarch64-static/qemu-aarch64 (apt-get install qemu-user-static)"
    [ $native = 0 ] && exit 77
  else
    echo "== qemu ($cross -static, $emu, default CPU)"
    # shellcheck disable=SC2086
    $cross $flags -static $srcs -o "$tmp/aarch64"
    # shellcheck disable=SC2086
    "$emu" "$tmp/aarch64" --require armv8-sha2 --require armv8-sha2-x2 $args || status=1
  fi
fi
exit $status
