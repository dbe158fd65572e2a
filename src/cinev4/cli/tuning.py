"""Measure which engine settings are fastest on this machine (``cinev4 bench``).

On data it writes to a temporary folder (page cache warm), it times, best of
N interleaved rounds: every kernel (one stream in memory, and ``hash_files``
over many files, where multi-buffer kernels work), the I/O modes at several
window sizes, and several thread counts. Each stage keeps the winners of the
stages before it. The result names the best settings as the environment
variables the engine reads (CINEV4_KERNEL, CINEV4_IO, CINEV4_WINDOW,
CINEV4_THREADS). Standard library and the engine only: no numpy here.
"""
from __future__ import annotations

import os
import platform
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import cinev4
from cinev4.settings import WINDOW_UNIT, resolve_threads
from cinev4.sizes import format_size, parse_size

__all__ = [
    "DEFAULT_SIZE", "WINDOWS", "Measurement", "BenchReport", "run_bench", "parse_size",
    "QUEUE_DEPTHS", "ColdReport", "run_cold_bench", "evict", "read_in_parallel",
]

MB = 1_000_000
KIB = 1024
MIB = 1024 * KIB
DEFAULT_SIZE = 512 * MIB
WINDOWS = (1 * MIB, 4 * MIB, 8 * MIB, 32 * MIB)
FRAME_SIZE = 8 * MIB
SMALL_SIZE = 16 * KIB
BUFFER_MAX = 64 * MIB
# A forced setting must beat the engine's own choice by this much to be
# recommended over leaving the variable unset (ties are noise).
MARGIN = 1.03


def _threads_label(count: int) -> str:
    return f"{count} thread{'s' if count != 1 else ''}"


@dataclass
class Measurement:
    """One setting timed on one data set: its best round."""

    stage: str  # "kernel (memory)", "kernel", "io", "threads"
    label: str
    data: str
    settings: dict[str, Any]
    bytes: int
    files: int
    seconds: float

    @property
    def mb_per_s(self) -> float:
        return self.bytes / self.seconds / MB

    @property
    def files_per_s(self) -> float:
        return self.files / self.seconds

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["mb_per_s"] = round(self.mb_per_s, 1)
        out["files_per_s"] = round(self.files_per_s, 1)
        out["seconds"] = round(self.seconds, 6)
        return out


@dataclass
class BenchReport:
    size: int
    rounds: int
    engine: dict[str, Any]
    machine: dict[str, Any]
    measurements: list[Measurement] = field(default_factory=list)
    best: dict[str, Any] = field(default_factory=dict)  # kernel, io, window, threads (None: leave unset)
    notes: list[str] = field(default_factory=list)

    def env(self) -> dict[str, str | None]:
        """The best settings as environment variables; None: leave it unset (the engine's choice won)."""
        window = self.best.get("window")
        threads = self.best.get("threads")
        return {
            "CINEV4_KERNEL": self.best.get("kernel"),
            "CINEV4_IO": self.best.get("io"),
            "CINEV4_WINDOW": format_size(window, "setting") if window else None,
            "CINEV4_THREADS": str(threads) if threads else None,
        }

    def env_lines(self) -> list[str]:
        lines = []
        for name, value in self.env().items():
            lines.append(f"export {name}={value}" if value is not None else f"unset {name}")
        return lines

    def to_dict(self) -> dict[str, Any]:
        return {
            "size": self.size,
            "rounds": self.rounds,
            "engine": self.engine,
            "machine": self.machine,
            "measurements": [m.to_dict() for m in self.measurements],
            "best": self.best,
            "env": self.env(),
            "notes": self.notes,
        }


@dataclass
class _DataSet:
    name: str
    paths: list[str]
    bytes: int

    @property
    def files(self) -> int:
        return len(self.paths)


def _write(path: Path, size: int) -> None:
    with open(path, "wb") as handle:
        left = size
        while left:
            step = min(left, 4 * MIB)
            handle.write(os.urandom(step))
            left -= step


def _plan_sizes(total: int) -> tuple[int, int, int]:
    """(big file, frames total, small files total) adding up to about ``total``."""
    unit = WINDOW_UNIT  # keeps the big file a whole number of windows
    small = max(SMALL_SIZE * 16, total // 16 // SMALL_SIZE * SMALL_SIZE)
    rest = max(2 * unit, total - small)
    big = max(unit, rest // 2 // unit * unit)
    return big, max(unit, rest - big), small


# Free space the test data leaves at least: a tenth of the file system, at most 1 GiB (the
# disk is somebody's: a render node's scratch, a NAS).
_SPARE_FRACTION = 0.1
_SPARE_MAX = 1 << 30


def _refuse_what_does_not_fit(size: int, directory: str | os.PathLike[str] | None) -> None:
    """OSError (ENOSPC) before writing anything when ``size`` bytes of test data would not
    leave that much free: a mistyped --size must not fill a disk."""
    import errno
    import shutil

    folder = os.fspath(directory) if directory is not None else tempfile.gettempdir()
    usage = shutil.disk_usage(folder)
    spare = min(int(usage.total * _SPARE_FRACTION), _SPARE_MAX)
    if size > usage.free - spare:
        raise OSError(errno.ENOSPC, f"{format_size(size, 'exact')} of test data would leave less than "
                      f"{format_size(spare)} free there ({format_size(usage.free)} free): choose a smaller "
                      f"--size or another --dir", folder)


@contextmanager
def _data(folder: Path, total: int) -> Iterator[tuple[_DataSet, _DataSet, _DataSet]]:
    big_size, frames_total, small_total = _plan_sizes(total)
    big = folder / "plate.bin"
    _write(big, big_size)
    frame_size = min(FRAME_SIZE, frames_total)
    frames = []
    for i in range(max(1, frames_total // frame_size)):
        path = folder / "frames" / f"frame.{1001 + i:04d}.exr"
        path.parent.mkdir(exist_ok=True)
        _write(path, frame_size)
        frames.append(str(path))
    small = []
    for i in range(small_total // SMALL_SIZE):
        path = folder / "small" / f"d{i // 256:03d}" / f"f{i:05d}.bin"
        path.parent.mkdir(parents=True, exist_ok=True)
        _write(path, SMALL_SIZE)
        small.append(str(path))
    yield (
        _DataSet(f"one {format_size(big_size, 'exact')} file", [str(big)], big_size),
        _DataSet(f"{len(frames)} x {format_size(frame_size, 'exact')}", frames, len(frames) * frame_size),
        _DataSet(f"{len(small):,} x {format_size(SMALL_SIZE, 'exact')}", small, len(small) * SMALL_SIZE),
    )


def _warm(paths: list[str]) -> None:
    buf = bytearray(4 * MIB)
    for path in paths:
        with open(path, "rb", buffering=0) as handle:
            while handle.readinto(buf):
                pass


class _Timer:
    """Best-of-N timing of several candidates, rounds interleaved (order rotated)."""

    def __init__(self, rounds: int, check: Callable[[str, object], None]) -> None:
        self.rounds = rounds
        self.check = check

    def best(self, candidates: dict[str, Callable[[], object]]) -> dict[str, float]:
        names = list(candidates)
        times: dict[str, float] = {n: float("inf") for n in names}
        for r in range(self.rounds):
            k = r % len(names)
            for name in names[k:] + names[:k]:
                start = time.perf_counter()
                result = candidates[name]()
                times[name] = min(times[name], time.perf_counter() - start)
                self.check(name, result)
        return times


def _hash_buffer(buffer: bytes, kernel: str) -> Callable[[], object]:
    return lambda: cinev4.hash_bytes(buffer, kernel=kernel)


def _digests(results: list[Any]) -> list[str]:
    bad = [r for r in results if not r.ok]
    if bad:
        raise OSError(f"{bad[0].path}: {bad[0].error}")
    return [r.sha256 for r in results]


def run_bench(
    size: int = DEFAULT_SIZE,
    *,
    rounds: int = 3,
    directory: str | os.PathLike[str] | None = None,
    say: Callable[[str], None] | None = None,
) -> BenchReport:
    """Measure kernels, I/O modes and windows, and thread counts on ``size`` bytes of data."""
    say = say or (lambda _text: None)
    info = cinev4.engine_info()
    cpus = resolve_threads()  # the engine's default: CINEV4_THREADS, else the usable CPUs
    report = BenchReport(
        size=size,
        rounds=rounds,
        engine=dict(info),
        machine={"platform": platform.platform(), "machine": platform.machine(), "cpus": os.cpu_count(),
                 "usable_cpus": cpus},
    )
    reference: dict[tuple[str, ...], list[str]] = {}

    def hashing(data: _DataSet, threads: int | None, **settings: Any) -> Callable[[], object]:
        return lambda: (data.paths, _digests(cinev4.hash_files(data.paths, threads, **settings)))

    def check(_name: str, result: object) -> None:
        """Every setting must give the same digests (a benchmark of wrong answers is worthless)."""
        if not isinstance(result, tuple):
            return
        paths, digests = result
        key = tuple(paths)
        if reference.setdefault(key, digests) != digests:
            raise AssertionError(f"settings {_name!r} gave different digests than another setting")

    timer = _Timer(rounds, check)
    _refuse_what_does_not_fit(size, directory)
    with tempfile.TemporaryDirectory(prefix="cinev4-bench-", dir=directory) as tmp:
        say(f"writing {format_size(size, 'exact')} of test data in {tmp}")
        with _data(Path(tmp), size) as (big, frames, small):
            _warm(big.paths + frames.paths + small.paths)

            # 1. Kernels, one stream in memory: the kernel alone, no I/O.
            say("kernels, one stream in memory")
            buffer_size = max(64 * KIB, min(BUFFER_MAX, big.bytes))
            with open(big.paths[0], "rb") as handle:
                buffer = handle.read(buffer_size)
            singles = list(info["kernels"])
            times = timer.best({k: _hash_buffer(buffer, k) for k in singles})
            for k in singles:
                report.measurements.append(Measurement("kernel (memory)", k,
                                                       f"{format_size(len(buffer), 'exact')} buffer",
                                                       {"kernel": k}, len(buffer), 1, times[k]))

            # 2. Kernels inside hash_files on many files (multi-buffer kernels work here).
            say("kernels, hash_files on many files")
            many = [frames, small]
            names: list[str | None] = [None, *singles, *info.get("multibuffer_kernels", [])]
            kernel_total = {str(k): 0.0 for k in names}
            for data in many:
                times = timer.best({str(n): hashing(data, None, kernel=n) for n in names})
                for name in names:
                    label = "auto" if name is None else name
                    kernel_total[str(name)] += times[str(name)]
                    report.measurements.append(Measurement("kernel", label, data.name, {"kernel": name},
                                                           data.bytes, data.files, times[str(name)]))
            auto_time = kernel_total["None"]
            forced = min((str(k) for k in names if k is not None), key=lambda k: kernel_total[k])
            best_kernel = forced if kernel_total[forced] * MARGIN < auto_time else None
            report.best["kernel"] = best_kernel

            # 3. I/O modes and windows: one big file on one thread, and the frames on every thread.
            say("I/O modes and window sizes")
            configs = [(io, w) for io in info.get("io_modes", ["mmap", "read"]) for w in WINDOWS]
            io_total = {c: 0.0 for c in configs}
            for data, threads in ((big, 1), (frames, None)):
                times = timer.best({f"{io} {w}": hashing(data, threads, kernel=best_kernel, io=io, window=w)
                                    for io, w in configs})
                for io, w in configs:
                    seconds = times[f"{io} {w}"]
                    io_total[(io, w)] += seconds
                    report.measurements.append(Measurement(
                        "io", f"{io} {format_size(w, 'exact')}", f"{data.name}, {_threads_label(threads or cpus)}",
                        {"io": io, "window": w}, data.bytes, data.files, seconds))
            best_io, best_window = min(configs, key=lambda c: io_total[c])
            report.best["io"] = best_io
            report.best["window"] = best_window

            # 4. Thread counts on many files, with the winners so far.
            say("thread counts")
            counts = sorted({1, cpus, 2 * cpus, *(2 ** i for i in range(1, 8) if 2 ** i <= cpus)})
            thread_total = {n: 0.0 for n in counts}
            for data in many:
                times = timer.best({str(n): hashing(data, n, kernel=best_kernel, io=best_io, window=best_window)
                                    for n in counts})
                for n in counts:
                    thread_total[n] += times[str(n)]
                    report.measurements.append(Measurement("threads", _threads_label(n),
                                                           data.name, {"threads": n}, data.bytes, data.files,
                                                           times[str(n)]))
            fastest = min(counts, key=lambda n: thread_total[n])
            # Fewer threads when they are as fast: less contention for the rest of the machine.
            report.best["threads"] = min(n for n in counts if thread_total[n] <= thread_total[fastest] * MARGIN)
    if best_kernel is None:
        own = info["kernel"] + (f" + {info['multibuffer']} lanes" if info.get("multibuffer") else "")
        report.notes.append(f"CINEV4_KERNEL left unset: the engine's own choice ({own}) "
                            f"was within {round((MARGIN - 1) * 100)}% of the best forced kernel ({forced})")
    report.notes.append("timed with the data in the page cache: these are CPU-bound settings; "
                        "for cold storage run it with --dir on that storage and compare")
    return report


# --- cinev4 bench --cold: storage-bound settings --------------------------------

QUEUE_DEPTHS = (0, 1, 2, 4, 8)


def evict(paths: list[str]) -> None:
    """Drops the files from the page cache (POSIX_FADV_DONTNEED, no root needed);
    dirty pages are written back first, so they go too."""
    for path in paths:
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)


def read_in_parallel(paths: list[str], readers: int) -> None:
    """The storage's own speed: ``readers`` threads each reading its share of the
    files into one 1 MiB buffer (as ``cat`` does; the reads release the GIL)."""
    import threading

    def read(share: list[str]) -> None:
        buf = bytearray(MIB)
        for path in share:
            with open(path, "rb", buffering=0) as handle:
                while handle.readinto(buf):
                    pass

    workers = [threading.Thread(target=read, args=(paths[i::readers],)) for i in range(readers)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()


@contextmanager
def _queue_depth(depth: int) -> Iterator[None]:
    before = os.environ.get("CINEV4_QUEUE_DEPTH")
    os.environ["CINEV4_QUEUE_DEPTH"] = str(depth)
    try:
        yield
    finally:
        if before is None:
            del os.environ["CINEV4_QUEUE_DEPTH"]
        else:
            os.environ["CINEV4_QUEUE_DEPTH"] = before


@dataclass
class ColdReport:
    size: int
    rounds: int
    engine: dict[str, Any]
    storage_seconds: float = 0.0     # median of the parallel readers
    readers: int = 0
    measurements: list[Measurement] = field(default_factory=list)  # stage "cold"; median of rounds
    best: dict[str, Any] = field(default_factory=dict)  # threads, queue_depth, kernel (None: leave unset)
    notes: list[str] = field(default_factory=list)

    @property
    def storage_mb_per_s(self) -> float:
        return self.size / self.storage_seconds / MB

    def env(self) -> dict[str, str | None]:
        return {"CINEV4_THREADS": None if self.best.get("threads") is None else str(self.best["threads"]),
                "CINEV4_QUEUE_DEPTH": None if self.best.get("queue_depth") is None else str(self.best["queue_depth"]),
                "CINEV4_KERNEL": self.best.get("kernel")}

    def env_lines(self) -> list[str]:
        return [f"export {n}={v}" if v is not None else f"unset {n}" for n, v in self.env().items()]

    def to_dict(self) -> dict[str, Any]:
        return {"size": self.size, "rounds": self.rounds, "engine": self.engine,
                "storage": {"readers": self.readers, "seconds": round(self.storage_seconds, 6),
                            "mb_per_s": round(self.storage_mb_per_s, 1)},
                "measurements": [m.to_dict() for m in self.measurements], "best": self.best,
                "env": self.env(), "notes": self.notes}


def run_cold_bench(size: int = DEFAULT_SIZE, *, rounds: int = 3, directory: Path | None = None,
                   say: Callable[[str], None] = lambda _text: None) -> ColdReport:
    """Frames of 8 MiB (``size`` in all), evicted from the page cache before every
    command; interleaved rounds, the median of each (cold reads vary more than warm
    ones). Times parallel readers (one per usable CPU: the storage's speed) and
    ``hash_files`` at 1 and 2 threads per CPU and every queue depth (with the lanes
    and, where the engine has them, without), and recommends the fastest, or leaves
    a variable unset where the engine's default was within 3%."""
    import statistics

    if not hasattr(os, "posix_fadvise"):
        raise OSError("cinev4 bench --cold evicts data with posix_fadvise, which this system lacks")
    info = cinev4.engine_info()
    cpus = resolve_threads()  # the engine's default: CINEV4_THREADS, else the usable CPUs
    report = ColdReport(size=size, rounds=rounds, engine=dict(info), readers=cpus)
    _refuse_what_does_not_fit(size, directory)
    with tempfile.TemporaryDirectory(prefix="cinev4-bench-cold-", dir=directory) as tmp:
        say("writing test data")
        frame = min(FRAME_SIZE, max(64 * KIB, size))
        paths = []
        for i in range(max(1, size // frame)):
            path = Path(tmp) / f"frame.{1001 + i:04d}.exr"
            _write(path, frame)
            paths.append(str(path))
        report.size = total = len(paths) * frame
        data = f"{len(paths)} x {format_size(frame, 'exact')}, evicted"
        evict(paths)
        expected: list[str] | None = None
        # Lanes across files read many files' small windows at once; cold, the single-stream
        # kernel (a whole window per file) measured faster on the development VM: both are timed.
        kernels: list[str | None] = [None, info["kernel"]] if info.get("multibuffer") else [None]
        configs = [(t, d, k) for k in kernels for t in sorted({cpus, 2 * cpus}) for d in QUEUE_DEPTHS]
        times: dict[Any, list[float]] = {"storage": [], **{c: [] for c in configs}}
        for round_ in range(rounds):
            say(f"round {round_ + 1} of {rounds}")
            for key in times:
                evict(paths)
                start = time.perf_counter()
                if key == "storage":
                    read_in_parallel(paths, cpus)
                    times[key].append(time.perf_counter() - start)
                    continue
                threads, depth, kernel = key
                with _queue_depth(depth):
                    results = cinev4.hash_files(paths, threads, kernel=kernel, cache="keep")
                times[key].append(time.perf_counter() - start)
                digests = _digests(results)
                if expected is None:
                    expected = digests
                assert digests == expected, f"threads {threads}, queue depth {depth}: the digests differ"
        evict(paths)
    report.storage_seconds = statistics.median(times["storage"])
    median = {c: statistics.median(times[c]) for c in configs}
    for threads, depth, kernel in configs:
        lanes = f", {kernel} (lanes off)" if kernel else ""
        report.measurements.append(Measurement("cold", f"{_threads_label(threads)}, depth {depth}{lanes}", data,
                                               {"threads": threads, "queue_depth": depth, "kernel": kernel},
                                               total, len(paths), median[(threads, depth, kernel)]))
    fastest = min(configs, key=lambda c: median[c])
    default = (cpus, int(info.get("queue_depth", 2)), None)
    if default in median and median[default] <= median[fastest] * MARGIN:
        report.best = {"threads": None, "queue_depth": None, "kernel": None}
    else:
        report.best = {"threads": None if fastest[0] == cpus else fastest[0],
                       "queue_depth": None if fastest[1] == default[1] else fastest[1],
                       "kernel": fastest[2]}
    ratio = report.storage_seconds / median[fastest]
    report.notes.append(f"fastest cinev4 setting ran at {ratio:.2f}x the speed of {cpus} parallel readers "
                        f"(medians of {rounds} rounds, data evicted before each)")
    return report
