"""``hash_files`` end to end on the three data shapes, beside hashlib, openssl
and sha256sum on the same files, with the page cache warm for everyone."""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import pytest

import bench_guards
import bench_harness as bh
import cinev4

MULTIBUFFER_KERNELS = list(cinev4.engine_info().get("multibuffer_kernels", []))
DEFAULT_THREADS = cinev4.engine_info()["threads"]


def _hash_files(files: bh.FileSet, threads: int, **kwargs: object):  # type: ignore[no-untyped-def]
    paths = files.paths

    def run() -> list[cinev4.FileDigest]:
        results = cinev4.hash_files(paths, threads, **kwargs)
        if not all(r.ok for r in results):
            raise AssertionError(next(r.error for r in results if not r.ok))
        return results

    return run


def _hash_halves(files: bh.FileSet, pool: ThreadPoolExecutor):  # type: ignore[no-untyped-def]
    """The engine's perfectly parallel control: one 1-thread hash_files call per
    half of the files (every other file, so the halves weigh the same), both at
    once in a 2-thread pool."""
    halves = [files.paths[0::2], files.paths[1::2]]

    def run() -> None:
        for results in pool.map(lambda half: cinev4.hash_files(half, 1), halves):
            if not all(r.ok for r in results):
                raise AssertionError(next(r.error for r in results if not r.ok))

    return run


def _without_prefault(func):  # type: ignore[no-untyped-def]
    """``func`` run with the prefault helper off (CINEV4_PREFAULT=0, read at each call).
    The 2-thread guard compares 1 and 2 workers: on 2-3 CPUs a lone worker gets a
    helper on the second core and two workers do not, which would judge the helper,
    not the threading."""

    def run() -> None:
        before = os.environ.get("CINEV4_PREFAULT")
        os.environ["CINEV4_PREFAULT"] = "0"
        try:
            func()
        finally:
            if before is None:
                del os.environ["CINEV4_PREFAULT"]
            else:
                os.environ["CINEV4_PREFAULT"] = before

    return run


def _sample_matches(files: bh.FileSet) -> None:
    """One real digest checked against hashlib: the timings measured real work."""
    first = files.paths[0]
    assert cinev4.hash_file(first).sha256 == bh.hashlib_file(first)


def _cli_vs_fastest(case: bh.Case, cli: str, peers: list[str], threshold: float, what: str) -> list[bh.GuardResult]:
    """``cli`` against the fastest of ``peers`` that ran here (none: a note, no guard)."""
    ran = [n for n in peers if case.times.get(n)]
    if not ran or cli not in case.times:
        case.notes.append(f"{what}: no peer here, or no command line long enough: not checked")
        return []
    return [bh.guard(case, cli, min(ran, key=case.best), threshold, what, engine_speed=True)]


def _cli_vs_sha256sum(case: bh.Case, cli: str, threshold: float) -> list[bh.GuardResult]:
    return _cli_vs_fastest(case, cli, [n for n in case.times if n.startswith("sha256sum")], threshold,
                           "cinev4 hash vs sha256sum")


def _cli_vs_one_stream_tools(case: bh.Case, cli: str) -> list[bh.GuardResult]:
    """One file against the faster of `openssl dgst` and `rhash` (each one stream, as cinev4)."""
    return _cli_vs_fastest(case, cli, ["openssl x1", "rhash x1"], bench_guards.ONE_FILE_CLI_VS_ONE_STREAM_TOOLS,
                           "cinev4 hash vs the faster one-stream tool")


def _engine_vs_hashlib(with_lanes: float) -> float:
    """The engine-vs-hashlib bar on many files: higher where the default plan has lanes."""
    return with_lanes if cinev4.engine_info()["multibuffer"] else bench_guards.ENGINE_VS_HASHLIB_ONE_FILE


def _memory(case: bh.Case, files: bh.FileSet) -> None:
    case.peak_rss_mb = bh.peak_rss_mb(files)
    case.baseline_rss_mb = bh.peak_rss_mb(files, hash_them=False)


def _files_case(files: bh.FileSet, pool: ThreadPoolExecutor, threads: list[int]) -> bh.Case:
    shape = files.shape
    case = bh.Case(f"hash_files: {shape.label}", shape.total_bytes, shape.files)
    for n in threads:
        case.add(f"cinev4 hash_files {n} thread{'s' if n > 1 else ''}", _hash_files(files, n))
    cli = bh.cinev4_argv("hash", *files.names)
    if bh.fits(cli):
        case.add("cinev4 hash (CLI)", bh.processes([cli], files.root))
    else:
        case.notes.append(f"{shape.files:,} names do not fit one command line here: CLI contenders left out")
    case.add_peers(bh.peer_tools(files, pool))
    return case


@pytest.mark.benchmark(group="files")
def test_one_big_file(benchmark, big_file: bh.FileSet, pool, bench_settings: bh.Settings) -> None:
    _sample_matches(big_file)
    bh.warm_page_cache(big_file.paths)
    case = _files_case(big_file, pool, [1])  # one file: one thread hashes it whatever the count
    rhash = bh.tool("rhash")
    if rhash:
        case.add("rhash x1", bh.processes([[rhash, "--sha256", *big_file.names]], big_file.root))
    target = "cinev4 hash_files 1 thread"
    case.measure(benchmark, target, bench_settings.rounds)
    _memory(case, big_file)
    case.record(benchmark)

    results = [bh.guard(case, target, "hashlib 1 thread", bench_guards.ENGINE_VS_HASHLIB_ONE_FILE,
                        "engine vs hashlib", engine_speed=True)]
    results += _cli_vs_sha256sum(case, "cinev4 hash (CLI)", bench_guards.CLI_VS_SHA256SUM)
    results += _cli_vs_one_stream_tools(case, "cinev4 hash (CLI)")
    if case.peak_rss_mb is not None:  # None: no way to measure it here (Windows)
        results.append(bh.guard_peak_rss(case, bench_guards.PEAK_RSS_MB))
    bh.check(results)


@pytest.mark.benchmark(group="files")
def test_frame_sequence(benchmark, frame_shot, pool, bench_settings: bh.Settings) -> None:
    files = frame_shot.files
    _sample_matches(files)
    bh.warm_page_cache(files.paths)
    counts = sorted({1, 2, DEFAULT_THREADS})
    case = _files_case(files, pool, counts)
    target = "cinev4 hash_files 2 threads"
    plan = cinev4.engine_info()
    lanes_off = f"cinev4 hash_files 2 threads {plan['kernel']} (lanes off)"
    if plan["multibuffer"]:
        case.add(lanes_off, _hash_files(files, 2, kernel=plan["kernel"]))
    halves = "cinev4 hash_files 1 thread on each half, side by side"
    case.add(halves, _hash_halves(files, pool))
    for name in ("cinev4 hash_files 1 thread", target, halves):  # the 2-thread guard's three
        case.contenders[name] = _without_prefault(case.contenders[name])
    case.measure(benchmark, target, bench_settings.rounds)
    _memory(case, files)
    case.record(benchmark)

    results = [bh.guard(case, "cinev4 hash_files 1 thread", "hashlib 1 thread",
                        _engine_vs_hashlib(bench_guards.ENGINE_VS_HASHLIB_FRAMES), "engine vs hashlib",
                        engine_speed=True)]
    if (os.cpu_count() or 1) >= 2:
        results += bh.guard_scaling(case, target, "cinev4 hash_files 1 thread", halves,
                                    "hashlib 2-thread pool", "hashlib 1 thread")
    else:
        case.notes.append("one CPU: 2-thread scaling not checked")
    if plan["multibuffer"]:
        results.append(bh.guard(case, target, lanes_off, bench_guards.LANES_VS_SINGLE_STREAM,
                                f"{plan['multibuffer']} lanes vs single stream"))
    else:
        case.notes.append("no multi-buffer lanes in the default plan here: lanes guard not checked")
    results += _cli_vs_sha256sum(case, "cinev4 hash (CLI)", bench_guards.CLI_VS_SHA256SUM)
    bh.check(results)


@pytest.mark.benchmark(group="files")
def test_small_files(benchmark, small_files: bh.FileSet, pool, bench_settings: bh.Settings) -> None:
    _sample_matches(small_files)
    bh.warm_page_cache(small_files.paths)
    case = _files_case(small_files, pool, sorted({1, 2, DEFAULT_THREADS}))
    for kernel in MULTIBUFFER_KERNELS:  # lanes across files: where they are meant to pay
        case.add(f"cinev4 hash_files 2 threads {kernel}", _hash_files(small_files, 2, kernel=kernel))
    target = "cinev4 hash_files 2 threads"
    case.measure(benchmark, target, bench_settings.rounds)
    _memory(case, small_files)
    case.record(benchmark)

    results = [bh.guard(case, "cinev4 hash_files 1 thread", "hashlib 1 thread",
                        _engine_vs_hashlib(bench_guards.ENGINE_VS_HASHLIB_SMALL_FILES), "engine vs hashlib",
                        engine_speed=True)]
    results += _cli_vs_sha256sum(case, "cinev4 hash (CLI)", bench_guards.CLI_VS_SHA256SUM_SMALL_FILES)
    bh.check(results)

