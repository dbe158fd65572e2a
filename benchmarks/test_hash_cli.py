"""``cinev4 hash`` through its command line on many small files, the shape where
per-file work shows: the same names on one command line for every contender,
timed in interleaved rounds, beside ``openssl dgst`` on one process per core,
``rhash``, ``sha256sum``, and the engine called from a Python process of its
own (``cinev4.hash_files``: what the command costs above the engine)."""
from __future__ import annotations

import os
import sys

import pytest

import bench_guards
import bench_harness as bh

MAX_NAMES = 10_000  # the shape: 10,000 x 16 KiB names on one command line


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def _names_that_fit(files: bh.FileSet) -> list[str]:
    names = files.names[:MAX_NAMES]
    while names and not bh.fits(["openssl", "dgst", "-sha256", *names]):
        names = names[: len(names) // 2]
    return names


@pytest.mark.benchmark(group="hash-cli")
def test_hash_cli_on_many_small_files(benchmark, small_files: bh.FileSet, bench_settings: bh.Settings) -> None:
    names = _names_that_fit(small_files)
    root = small_files.root
    bh.warm_page_cache([str(root / n) for n in names])
    case = bh.Case(f"cinev4 hash CLI: {len(names):,} x {bh.size_label(small_files.shape.file_size)}",
                   len(names) * small_files.shape.file_size, len(names))
    target = "cinev4 hash (CLI)"
    # `python -m cinev4` is the console script's code path (cinev4._console), also where
    # an older install's script still points at the click group.
    case.add(target, bh.processes([[sys.executable, "-m", "cinev4", "hash", *names]], root))
    engine_code = "import sys, cinev4; cinev4.hash_files(sys.argv[1:])"
    case.add("cinev4.hash_files (own process)", bh.processes([[sys.executable, "-c", engine_code, *names]], root))
    cores = _cores()
    openssl, rhash, sha256sum = bh.tool("openssl"), bh.tool("rhash"), bh.tool("sha256sum")
    peer_openssl = f"openssl dgst x{cores} processes"
    if openssl:
        case.add(peer_openssl, bh.processes([[openssl, "dgst", "-sha256", *names[i::cores]] for i in range(cores)],
                                            root))
    if rhash:
        case.add("rhash --sha256", bh.processes([[rhash, "--sha256", *names]], root))
    if sha256sum:
        case.add("sha256sum x1", bh.processes([[sha256sum, *names]], root))
    case.measure(benchmark, target, bench_settings.rounds)
    case.record(benchmark)

    results = [bh.guard(case, target, "cinev4.hash_files (own process)", bench_guards.HASH_CLI_VS_ENGINE_PROCESS,
                        "per-file cost of the command line")]
    if openssl:
        results.append(bh.guard(case, target, peer_openssl, bench_guards.HASH_CLI_VS_OPENSSL_EVERY_CORE,
                                "cinev4 hash vs openssl on every core", engine_speed=True))
    else:
        case.notes.append("no openssl here: that guard not checked")
    if rhash:
        results.append(bh.guard(case, target, "rhash --sha256", bench_guards.HASH_CLI_VS_RHASH,
                                "cinev4 hash vs rhash", engine_speed=True))
    else:
        case.notes.append("no rhash here: that guard not checked")
    bh.check(results)
