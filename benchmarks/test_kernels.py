"""Kernel throughput: each available single-stream kernel on an in-memory buffer,
beside hashlib.sha256 on the same buffer (no I/O on either side)."""
from __future__ import annotations

import hashlib

import pytest

import bench_guards
import bench_harness as bh
import cinev4

KERNELS = cinev4.available_kernels()
DEFAULT_KERNEL = cinev4.engine_info()["kernel"]


@pytest.mark.benchmark(group="kernels")
@pytest.mark.parametrize("kernel", KERNELS)
def test_kernel_throughput(benchmark, kernel: str, buffer: bytes, bench_settings: bh.Settings) -> None:
    expected = hashlib.sha256(buffer).hexdigest()
    assert cinev4.hash_bytes(buffer, kernel=kernel) == expected

    mine = f"cinev4 kernel {kernel}"
    case = bh.Case(f"kernel {kernel}, {bh.size_label(len(buffer))} buffer", total_bytes=len(buffer))
    case.add(mine, lambda: cinev4.hash_bytes(buffer, kernel=kernel))
    case.add("hashlib.sha256", lambda: hashlib.sha256(buffer).digest())
    case.measure(benchmark, mine, bench_settings.rounds)
    case.record(benchmark)

    if kernel == DEFAULT_KERNEL:  # the kernel users get; slower fallbacks are reported only
        bh.check([bh.guard(case, mine, "hashlib.sha256", bench_guards.KERNEL_VS_HASHLIB, "default kernel vs hashlib",
                           engine_speed=True)])
