"""Kernel throughput: each available single-stream kernel on an in-memory buffer,
beside hashlib.sha256 on the same buffer (no I/O on either side); and every
multi-buffer kernel (sha-ni-x2, avx512-x16, ...) forced on the frame sequence
beside the engine's calibrated choice."""
from __future__ import annotations

import hashlib

import pytest

import bench_guards
import bench_harness as bh
import cinev4

KERNELS = cinev4.available_kernels()
DEFAULT_KERNEL = cinev4.engine_info()["kernel"]
MULTIBUFFER_KERNELS = cinev4.multibuffer_kernels()


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


def _hash_files_with(paths: list[str], kernel: str | None):  # type: ignore[no-untyped-def]
    def run() -> None:
        results = cinev4.hash_files(paths, 1, kernel=kernel)
        if not all(r.ok for r in results):
            raise AssertionError(next(r.error for r in results if not r.ok))

    return run


@pytest.mark.benchmark(group="kernels")
@pytest.mark.skipif(not MULTIBUFFER_KERNELS, reason="this CPU runs no multi-buffer kernel")
def test_calibrated_lane_choice(benchmark, frame_files: bh.FileSet, bench_settings: bh.Settings) -> None:
    """One thread on the frame sequence: the one-stream kernel and every lane kernel forced,
    beside the engine's own choice (the lane calibration's, cv4_mb_calibrate)."""
    files = frame_files
    assert cinev4.hash_file(files.paths[0]).sha256 == bh.hashlib_file(files.paths[0])
    bh.warm_page_cache(files.paths)
    case = bh.Case(f"lane kernels, 1 thread: {files.shape.label}", files.shape.total_bytes, files.shape.files)
    target = "cinev4 hash_files (calibrated choice)"
    case.add(target, _hash_files_with(files.paths, None))
    forced = [f"cinev4 {DEFAULT_KERNEL} (one stream)"] + [f"cinev4 {k} lanes" for k in MULTIBUFFER_KERNELS]
    for name, kernel in zip(forced, [DEFAULT_KERNEL, *MULTIBUFFER_KERNELS]):
        case.add(name, _hash_files_with(files.paths, kernel))
    case.measure(benchmark, target, bench_settings.rounds)
    plan = cinev4.engine_info()
    case.notes.append(f"calibrated choice: {plan['multibuffer'] or 'no lanes'} beside {plan['kernel']}")
    case.record(benchmark)
    best = max(forced, key=case.mb_per_s)
    results = [bh.guard(case, target, best, bench_guards.CALIBRATED_VS_BEST_KERNEL,
                        "calibrated lane choice vs the best kernel forced")]
    if plan["multibuffer"]:
        results.append(bh.guard(case, target, forced[0], bench_guards.LANES_VS_SINGLE_STREAM,
                                f"calibrated {plan['multibuffer']} lanes vs one stream"))
    else:
        case.notes.append("the calibration kept one stream here: lanes-vs-one-stream guard not checked")
    bh.check(results)
