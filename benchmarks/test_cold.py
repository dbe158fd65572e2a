"""Cold data: every contender starts with the files evicted from the page cache
(``posix_fadvise(DONTNEED)``, not timed), beside the same run's storage limit
(``cat``, or ``dd`` on the halves of one file, on 2 processes) and ``openssl
dgst``; and a cold ``cinev4 verify`` must leave the page cache as it found it
(residency measured with mincore over the files, README "Page cache"). Where root may
cap the disk's read speed (storage_cap), the cold cases run again on storage slower than
one core's SHA-256, as a NAS share is."""
from __future__ import annotations

import ctypes
import ctypes.util
import mmap
import os
import sys
import time
from pathlib import Path
from typing import Any

import pytest

import bench_guards
import bench_harness as bh
import storage_cap
from cinev4.cli.tuning import evict  # what `cinev4 bench --cold` evicts with; _files checks it took

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="evicts with posix_fadvise and measures residency with mincore")

# 100 x 8 MiB frames and one 512 MiB file (the shapes); quick mode: 8 frames, 64 MiB.
FULL = {"frames": bh.Shape("frames", 100, 8 * bh.MIB), "big": bh.Shape("big", 1, 512 * bh.MIB)}
QUICK = {"frames": bh.Shape("frames", 8, 8 * bh.MIB), "big": bh.Shape("big", 1, 64 * bh.MIB)}

_libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
_libc.mmap.restype = ctypes.c_void_p
_libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
_libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
_libc.mincore.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_char_p]


def resident_bytes(paths: list[str]) -> int:
    """Bytes of these files in the page cache (mincore on mappings never touched)."""
    total = 0
    for path in paths:
        size = os.path.getsize(path)
        if not size:
            continue
        fd = os.open(path, os.O_RDONLY)
        try:
            addr = _libc.mmap(None, size, mmap.PROT_READ, mmap.MAP_SHARED, fd, 0)
            if addr in (None, ctypes.c_void_p(-1).value):
                raise OSError(ctypes.get_errno(), f"mmap {path}")
            try:
                vec = ctypes.create_string_buffer((size + mmap.PAGESIZE - 1) // mmap.PAGESIZE)
                if _libc.mincore(addr, size, vec) != 0:
                    raise OSError(ctypes.get_errno(), f"mincore {path}")
                total += sum(b & 1 for b in vec.raw) * mmap.PAGESIZE
            finally:
                _libc.munmap(addr, size)
        finally:
            os.close(fd)
    return total


def _files(data_root: Path, settings: bh.Settings, key: str, seed: int) -> bh.FileSet:
    shape = (QUICK if settings.quick else FULL)[key]
    folder = data_root / f"cold-{key}-{settings.mode}"
    marker = folder / f".complete-{shape.files}x{shape.file_size}"
    names = bh.shape_names(shape)
    if not marker.exists():
        folder.mkdir(parents=True, exist_ok=True)
        bh.write_random_files(folder, names, shape.file_size, seed)
        marker.touch()
    files = bh.FileSet(shape, folder, names)
    evict(files.paths)
    if resident_bytes(files.paths) > shape.total_bytes // 100:
        pytest.skip("this file system keeps files in memory (tmpfs?): no cold data to measure")
    return files


@pytest.fixture(scope="module")
def cold_frames(data_root: Path, bench_settings: bh.Settings) -> bh.FileSet:
    return _files(data_root, bench_settings, "frames", seed=11)


@pytest.fixture(scope="module")
def cold_big(data_root: Path, bench_settings: bh.Settings) -> bh.FileSet:
    return _files(data_root, bench_settings, "big", seed=12)


def measure_cold(case: bh.Case, benchmark: Any, target: str, rounds: int, paths: list[str]) -> None:
    """``Case.measure`` with every contender's round preceded by an eviction (not timed)."""
    case.target = target
    others = [n for n in case.contenders if n != target]
    counter = iter(range(1 << 30))

    def setup() -> None:
        k = next(counter) % max(1, len(others))
        for name in others[k:] + others[:k]:
            evict(paths)
            case.time_one(name)
        evict(paths)

    def timed_target() -> object:
        start = time.perf_counter()
        result = case.contenders[target]()
        case.times[target].append(time.perf_counter() - start)
        return result

    benchmark.pedantic(timed_target, setup=setup, rounds=rounds, iterations=1, warmup_rounds=0)
    while len(case.times[target]) < rounds:  # --benchmark-disable ran the target once
        setup()
        timed_target()
    bh.RESULTS.append(case)


def _openssl(argvs: list[list[str]]) -> list[list[str]]:
    return [["openssl", "dgst", "-sha256", *names] for names in argvs]


@pytest.mark.benchmark(group="cold")
def test_cold_frames(benchmark: Any, cold_frames: bh.FileSet, bench_settings: bh.Settings) -> None:
    files = cold_frames
    case = bh.Case(f"cold: {files.shape.label}", files.shape.total_bytes, files.shape.files)
    target = "cinev4 hash (CLI)"
    case.add(target, bh.processes([bh.cinev4_argv("hash", *files.names)], files.root))
    halves = [list(h) for h in files.halves()]
    storage = "cat 2 processes"
    case.add(storage, bh.processes([["cat", *h] for h in halves], files.root))
    if bh.tool("openssl"):
        case.add("openssl dgst 2 processes", bh.processes(_openssl(halves), files.root))
    measure_cold(case, benchmark, target, bench_settings.rounds, files.paths)
    case.record(benchmark)
    bar = bench_guards.COLD_FRAMES_VS_CAT_QUICK if bench_settings.quick else bench_guards.COLD_FRAMES_VS_CAT
    bh.check([bh.guard(case, target, storage, bar, "cold frames: cinev4 hash vs the storage's limit")])


@pytest.mark.benchmark(group="cold")
def test_cold_one_file(benchmark: Any, cold_big: bh.FileSet, bench_settings: bh.Settings) -> None:
    files = cold_big
    case = bh.Case(f"cold: {files.shape.label}", files.shape.total_bytes, 1)
    target = "cinev4 hash (CLI)"
    case.add(target, bh.processes([bh.cinev4_argv("hash", *files.names)], files.root))
    half = files.shape.file_size // bh.MIB // 2
    storage = "dd halves 2 processes"
    case.add(storage, bh.processes([["dd", f"if={files.names[0]}", "of=/dev/null", "bs=1M", f"skip={skip}",
                                     f"count={half}", "status=none"] for skip in (0, half)], files.root))
    if bh.tool("openssl"):
        case.add("openssl dgst 1 process", bh.processes(_openssl([files.names]), files.root))
    measure_cold(case, benchmark, target, bench_settings.rounds, files.paths)
    case.record(benchmark)
    bar = bench_guards.COLD_ONE_FILE_VS_DD_QUICK if bench_settings.quick else bench_guards.COLD_ONE_FILE_VS_DD
    bh.check([bh.guard(case, target, storage, bar, "cold file: cinev4 hash vs the storage's limit")])


@pytest.mark.benchmark(group="cold")
def test_cold_verify_leaves_the_page_cache(benchmark: Any, frame_shot: Any, bench_settings: bh.Settings) -> None:
    if frame_shot.project_root is None:
        pytest.skip(frame_shot.skip_reason)
    files = frame_shot.files
    paths = files.paths
    evict(paths)
    if resident_bytes(paths) > files.shape.total_bytes // 100:
        pytest.skip("this file system keeps files in memory (tmpfs?): no cold data to measure")
    case = bh.Case(f"cold verify: {files.shape.label}", files.shape.total_bytes, files.shape.files)
    target = "cinev4 verify (CLI)"
    env = {k: v for k, v in os.environ.items() if k != "CINEV4_CACHE"}  # the pipeline's default
    argv = bh.cinev4_argv("verify", frame_shot.shot_id)

    def verify() -> None:
        import subprocess

        subprocess.run(argv, cwd=frame_shot.project_root, env=env, check=True, stdout=subprocess.DEVNULL)

    case.add(target, verify)
    measure_cold(case, benchmark, target, bench_settings.rounds, paths)
    # The last round ran on evicted files: whatever is resident now, the verify left there.
    grown = resident_bytes(paths) / files.shape.total_bytes
    case.notes.append(f"a cold verify left {grown:.1%} of the bytes it read in the page cache")
    case.record(benchmark)
    bh.check([bh.record_guard(case, "page cache left as found (share of the bytes read not left cached)",
                              1.0 - grown, bench_guards.COLD_VERIFY_LEFT_UNCACHED, target)])


@pytest.mark.benchmark(group="cold")
@pytest.mark.parametrize("key", ["frames", "big"])
def test_cold_on_capped_storage(benchmark: Any, key: str, request: pytest.FixtureRequest,
                                bench_settings: bh.Settings) -> None:
    """The same cold cases on storage slower than one core's SHA-256 (a NAS share, a disk
    array): the disk's reads capped at ``CAPPED_READ_BYTES_PER_S`` for each contender
    (storage_cap), where the issue's bar, 0.9x of cat's speed, is judged. Full mode only: at
    that speed the data takes seconds a command."""
    if bench_settings.quick:
        pytest.skip("full mode only (make bench): capped reads of the full shapes take seconds a command")
    files: bh.FileSet = request.getfixturevalue("cold_frames" if key == "frames" else "cold_big")
    why_not = storage_cap.unavailable(files.root)
    if why_not:
        pytest.skip(why_not)
    cap_bps = bench_guards.CAPPED_READ_BYTES_PER_S
    case = bh.Case(f"cold, reads capped at {cap_bps // 1_000_000} MB/s: {files.shape.label}",
                   files.shape.total_bytes, files.shape.files)
    with storage_cap.ReadCap(files.root, cap_bps) as cap:
        target = "cinev4 hash (CLI)"
        case.add(target, bh.processes([bh.cinev4_argv("hash", *files.names)], files.root, cap.join))
        # One reader per core; one file is one reader (the cap is the disk's, not the reader's).
        groups = [list(h) for h in files.halves()] if files.shape.files > 1 else [files.names]
        storage = f"cat {len(groups)} process{'es' if len(groups) > 1 else ''}"
        case.add(storage, bh.processes([["cat", *g] for g in groups], files.root, cap.join))
        if bh.tool("openssl"):
            case.add(f"openssl dgst {len(groups)} process{'es' if len(groups) > 1 else ''}",
                     bh.processes(_openssl(groups), files.root, cap.join))
        measure_cold(case, benchmark, target, bench_settings.rounds, files.paths)
    cat_speed = files.shape.total_bytes / case.best(storage)
    case.notes.append(f"{storage} read at {cat_speed / 1e6:.0f} MB/s under the {cap_bps / 1e6:.0f} MB/s cap")
    case.record(benchmark)
    if cat_speed > 1.5 * cap_bps:
        pytest.skip(f"the cap did not hold: {storage} read at {cat_speed / 1e6:.0f} MB/s")
    bh.check([bh.guard(case, target, storage, bench_guards.COLD_CAPPED_VS_CAT,
                       f"cold {key}, storage capped: cinev4 hash vs the storage's limit")])
