"""The ratio guards: every threshold the benchmark run enforces, in one place.

A guard compares two contenders timed in the same run, interleaved, each by
its best of N rounds, so a slow or noisy machine moves both sides and the
ratio holds. A ratio is a speed ratio: ``time(reference) / time(contender)``;
1.0 means as fast, 2.0 twice as fast. When a guard misses, its two contenders
are timed again, alternately, up to ``RETRY_ROUNDS`` more times (a neighbour
on a shared core can steal one round; it should not fail the build).
"""
from __future__ import annotations

# cinev4's engine, single stream, against hashlib.file_digest on the same file
# (and the default kernel against hashlib.sha256 on the same in-memory buffer).
ENGINE_VS_HASHLIB = 0.8

# hash_files with 2 threads against its own 1-thread run on the frame sequence.
# Where cores are shared (a VM, a CI runner) two threads may not get two whole
# cores, so the same rounds also time a perfectly parallel control, hashlib in
# a 2-thread pool against hashlib alone, and the guard asks for
# min(THREAD_SCALING_2, THREAD_SCALING_VS_CONTROL x the control's scaling):
# 1.7x where the machine delivers it, else 85% of what the machine delivered.
# (On the 2-vCPU development VM the control scaled 1.67-1.78x and cinev4, whose
# single thread already runs 16 SIMD lanes at ~2.3x hashlib's speed, 0.92-0.96
# of it; a lock that serialised the workers would show ~1.0x, a scheduler that
# left one thread idle at the end ~1.3-1.4x.)
THREAD_SCALING_2 = 1.7
THREAD_SCALING_VS_CONTROL = 0.85

# Where the engine's default plan uses multi-buffer lanes, the frame sequence
# hashed with them against the same rounds with the lanes off (the default
# single-stream kernel forced): the engine's own choice must never lose to the
# kernel it chose against. Measured here (AVX-512 lanes beside a prefetching
# SHA-NI kernel) 1.24x on 24 frames and 1.37x on 200; without SHA-NI, 2-5x.
# The lanes are chosen by an in-cache calibration (>= 1.25x), so on a CPU
# where they only just win the real-data margin can be small: 1.0, not more.
LANES_VS_SINGLE_STREAM = 1.0

# `cinev4 hash` against the faster of one `sha256sum` and two in parallel, on
# every data shape; `cinev4 verify` against `sha256sum -c` the same way.
CLI_VS_SHA256SUM = 1.0

# Verification of a shot (manifest load, scan, hash every artifact) against
# hashlib in a 2-thread pool hashing the same files and nothing else.
VERIFY_VS_HASHLIB_POOL = 0.8

# `cinev4 --version` start-up against `python -c "import click"` with the same
# interpreter (the floor of any click program; click alone is ~2/3 of it):
# at most 1/0.6 = 1.67x that. Catches a heavy import on the CLI path (numpy,
# the pipeline, a schema validator), each 20-100 ms.
STARTUP_VS_CLICK = 0.6

# Peak resident memory of a child process hashing the 1 GiB file (mmap
# windows must keep it bounded), in MB (10**6 bytes).
PEAK_RSS_MB = 100.0

# Extra alternating rounds a missed guard gets before it fails the run (the
# scaling guard gets more: it needs two quiet cores at once, the rarest thing
# on a shared machine).
RETRY_ROUNDS = 3
SCALING_RETRY_ROUNDS = 8
