"""The benchmark harness: data shapes, peers, interleaved timing, guards, the table.

Every case times cinev4 beside its peers in the same session. A round runs
every contender once, in an order rotated from round to round, and each
contender's score is its best round (best-of-N, the same fixed N for every
contender of a case, and no extra rounds for a missed guard): on a shared
machine the minimum is the run least disturbed by neighbours, and
interleaving makes a slow stretch hit every contender alike. The case's cinev4 target is the
function pytest-benchmark times (so ``--benchmark-compare`` tracks it); the
peers run in its ``setup``, which pytest-benchmark leaves out of its timing.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import bench_guards

MB = 1_000_000  # throughput unit: MB/s with MB = 10**6 bytes, as openssl speed and fio print
KIB = 1024
MIB = 1024 * 1024
GIB = 1024 * MIB


# --- data shapes -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Shape:
    """A set of files to hash: ``files`` files of ``file_size`` bytes."""

    key: str
    files: int
    file_size: int
    per_folder: int = 0  # files per subfolder; 0: all in one folder

    @property
    def total_bytes(self) -> int:
        return self.files * self.file_size

    @property
    def label(self) -> str:
        if self.files == 1:
            return f"one {size_label(self.file_size)} file"
        return f"{self.files:,} x {size_label(self.file_size)}"


def size_label(size: int) -> str:
    for unit, name in ((GIB, "GiB"), (MIB, "MiB"), (KIB, "KiB")):
        if size >= unit and size % unit == 0:
            return f"{size // unit} {name}"
    return f"{size} B"


FULL_SHAPES = {
    "big": Shape("big", 1, 1 * GIB),
    "frames": Shape("frames", 200, 8 * MIB),
    "small": Shape("small", 20_000, 16 * KIB, per_folder=200),
}
# Quick mode (make test): the same kinds of data, small enough to run in seconds,
# big enough that a process start-up (~50 ms) does not decide a CLI ratio.
QUICK_SHAPES = {
    "big": Shape("big", 1, 192 * MIB),
    "frames": Shape("frames", 24, 8 * MIB),
    "small": Shape("small", 8_000, 16 * KIB, per_folder=200),
}
FULL_BUFFER = 64 * MIB
QUICK_BUFFER = 16 * MIB


@dataclass(frozen=True)
class Settings:
    quick: bool
    rounds: int  # best of N for the data cases
    startup_rounds: int  # best of N for process start-up cases
    buffer_size: int
    shapes: dict[str, Shape]

    @property
    def mode(self) -> str:
        return "quick" if self.quick else "full"


def settings(quick: bool) -> Settings:
    if quick:
        return Settings(True, rounds=3, startup_rounds=10, buffer_size=QUICK_BUFFER, shapes=QUICK_SHAPES)
    return Settings(False, rounds=5, startup_rounds=20, buffer_size=FULL_BUFFER, shapes=FULL_SHAPES)


@dataclass
class FileSet:
    """Files on disk, named relative to ``root`` (short argv for the subprocess peers)."""

    shape: Shape
    root: Path
    names: list[str]

    @property
    def paths(self) -> list[str]:
        return [str(self.root / n) for n in self.names]

    def halves(self) -> tuple[list[str], list[str]]:
        """Two lists of names with about the same bytes, for two peer processes."""
        return self.names[0::2], self.names[1::2]


def shape_names(shape: Shape, prefix: str = "") -> list[str]:
    if shape.key == "frames":
        return [f"{prefix}SH010_comp.{1001 + i:04d}.exr" for i in range(shape.files)]
    if shape.files == 1:
        return [f"{prefix}plate.bin"]
    names = []
    for i in range(shape.files):
        folder = f"d{i // shape.per_folder:03d}/" if shape.per_folder else ""
        names.append(f"{prefix}{folder}f{i:05d}.bin")
    return names


def write_random_files(root: Path, names: list[str], size: int, seed: int) -> None:
    """Incompressible content from numpy's generator, each file distinct."""
    import numpy as np

    rng = np.random.default_rng(seed)
    chunk = 64 * MIB
    for name in names:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "wb") as handle:
            left = size
            while left:
                step = min(chunk, left)
                handle.write(rng.bytes(step))
                left -= step


def warm_page_cache(paths: list[str]) -> None:
    """Read every byte once so each contender starts from the same (hot) page cache."""
    buf = bytearray(8 * MIB)
    view = memoryview(buf)
    for path in paths:
        with open(path, "rb", buffering=0) as handle:
            while handle.readinto(view):
                pass


# --- contenders --------------------------------------------------------------------------------


def hashlib_file(path: str) -> str:
    with open(path, "rb") as handle:
        if sys.version_info >= (3, 11):
            return hashlib.file_digest(handle, "sha256").hexdigest()
        digest = hashlib.sha256()
        buf = bytearray(256 * KIB)
        view = memoryview(buf)
        while True:
            n = handle.readinto(view)
            if not n:
                return digest.hexdigest()
            digest.update(view[:n])


def hashlib_serial(paths: list[str]) -> Callable[[], object]:
    return lambda: [hashlib_file(p) for p in paths]


def hashlib_pool(paths: list[str], pool: ThreadPoolExecutor) -> Callable[[], object]:
    return lambda: list(pool.map(hashlib_file, paths))


def tool(name: str) -> str | None:
    return shutil.which(name)


def run_processes(argvs: list[list[str]], cwd: Path | str, preexec: Callable[[], None] | None = None) -> None:
    """Start every command at once, wait for all; any failure is an error, not a timing.
    ``preexec``: run in each child before its command (storage_cap.ReadCap.join)."""
    procs: list[subprocess.Popen[bytes]] = []
    try:
        for a in argvs:
            procs.append(subprocess.Popen(a, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                          preexec_fn=preexec))
        for argv, proc in zip(argvs, procs):
            _, err = proc.communicate()
            if proc.returncode != 0:
                raise RuntimeError(f"{argv[0]} failed ({proc.returncode}): {err.decode(errors='replace')[:300]}")
    finally:  # a failure or an interrupt: none of the others is left running (or in a capped cgroup)
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
            if proc.stderr is not None:
                proc.stderr.close()


# Longest command line we pass: Windows caps one at 32,767 characters; POSIX
# systems allow far more (Linux ~2 MB, macOS 1 MB, environment included).
ARGV_LIMIT = 30_000 if os.name == "nt" else 256 * 1024


def fits(argv: list[str]) -> bool:
    return sum(len(a) + 1 for a in argv) <= ARGV_LIMIT


def processes(argvs: list[list[str]], cwd: Path | str,
              preexec: Callable[[], None] | None = None) -> Callable[[], object]:
    return lambda: run_processes(argvs, cwd, preexec)


def cinev4_argv(*args: str) -> list[str]:
    """The console script installed beside this interpreter (what a user runs), else -m."""
    script = Path(sys.executable).with_name("cinev4.exe" if os.name == "nt" else "cinev4")
    if script.exists():
        return [str(script), *args]
    return [sys.executable, "-m", "cinev4", *args]


def peer_tools(files: FileSet, pool: ThreadPoolExecutor) -> dict[str, Callable[[], object]]:
    """hashlib (1 thread, 2-thread pool), openssl and sha256sum (1 process, 2 in parallel)."""
    peers: dict[str, Callable[[], object]] = {"hashlib 1 thread": hashlib_serial(files.paths)}
    several = files.shape.files > 1  # one file cannot be split between threads or processes
    if several:
        peers["hashlib 2-thread pool"] = hashlib_pool(files.paths, pool)
    for name, argv in (("openssl", ["dgst", "-sha256"]), ("sha256sum", [])):
        exe = tool(name)
        if exe is None or not fits([exe, *argv, *files.names]):  # no tool, or too many names for one command line
            continue
        peers[f"{name} x1"] = processes([[exe, *argv, *files.names]], files.root)
        if several:
            first, second = files.halves()
            peers[f"{name} x2"] = processes([[exe, *argv, *first], [exe, *argv, *second]], files.root)
    return peers


def engine_accelerated() -> bool:
    """False only where ``portable`` is the one kernel this CPU can run: engine-speed
    guards are then reported as SKIP (a known gap, printed in the table) rather than
    failing every run there. The kernel in use does not count: a CPU detection that
    fell back to ``portable``, or ``CINEV4_KERNEL=portable``, on a CPU that offers
    more is judged, and fails (tests/engine/test_kernel_choice.py checks the choice)."""
    import cinev4

    return cinev4.available_kernels() != ["portable"]


# --- interleaved timing ------------------------------------------------------------------------


@dataclass
class Case:
    """One benchmark case: contenders timed alternately on the same data."""

    name: str
    total_bytes: int = 0
    files: int = 0
    target: str = ""
    contenders: dict[str, Callable[[], object]] = field(default_factory=dict)
    times: dict[str, list[float]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    peak_rss_mb: float | None = None
    baseline_rss_mb: float | None = None

    def add(self, name: str, func: Callable[[], object]) -> None:
        self.contenders[name] = func
        self.times.setdefault(name, [])

    def add_peers(self, peers: dict[str, Callable[[], object]]) -> None:
        for name, func in peers.items():
            self.add(name, func)

    def time_one(self, name: str) -> None:
        func = self.contenders[name]
        start = time.perf_counter()
        func()
        self.times[name].append(time.perf_counter() - start)

    def round(self, names: list[str], rotation: int) -> None:
        if not names:
            return
        k = rotation % len(names)
        for name in names[k:] + names[:k]:
            self.time_one(name)

    def measure(self, benchmark: Any, target: str, rounds: int) -> None:
        """Time ``target`` with pytest-benchmark, the other contenders in its setup."""
        self.target = target
        others = [n for n in self.contenders if n != target]
        counter = iter(range(1 << 30))
        target_func = self.contenders[target]

        def setup() -> None:
            self.round(others, next(counter))

        def timed_target() -> object:
            start = time.perf_counter()
            result = target_func()
            self.times[target].append(time.perf_counter() - start)
            return result

        benchmark.pedantic(timed_target, setup=setup, rounds=rounds, iterations=1, warmup_rounds=0)
        # --benchmark-disable runs the target once: finish the best-of-N here.
        while len(self.times[target]) < rounds:
            self.round(list(self.contenders), len(self.times[target]))
        RESULTS.append(self)

    def best(self, name: str) -> float:
        return min(self.times[name])

    def ratio(self, contender: str, reference: str) -> float:
        """Speed of ``contender`` over ``reference`` (best rounds): > 1 means faster."""
        return self.best(reference) / self.best(contender)

    def mb_per_s(self, name: str) -> float:
        return self.total_bytes / self.best(name) / MB

    def files_per_s(self, name: str) -> float:
        return self.files / self.best(name)

    def record(self, benchmark: Any) -> None:
        """Ratios of every cinev4 contender against every peer, into extra_info."""
        info = benchmark.extra_info
        info["case"] = self.name
        info["bytes"] = self.total_bytes
        info["files"] = self.files
        info["best_s"] = {n: round(self.best(n), 6) for n in self.times if self.times[n]}
        if self.total_bytes:
            info["mb_per_s"] = {n: round(self.mb_per_s(n), 1) for n in self.times if self.times[n]}
        if self.files:
            info["files_per_s"] = {n: round(self.files_per_s(n), 1) for n in self.times if self.times[n]}
        ratios = {}
        for mine in (n for n in self.times if n.startswith("cinev4") and self.times[n]):
            for peer in (n for n in self.times if not n.startswith("cinev4") and self.times[n]):
                ratios[f"{mine} / {peer}"] = round(self.ratio(mine, peer), 3)
        info["ratios"] = ratios
        if self.peak_rss_mb is not None:
            info["peak_rss_mb"] = round(self.peak_rss_mb, 1)


# --- guards ------------------------------------------------------------------------------------


@dataclass
class GuardResult:
    case: str
    text: str
    ratio: float
    threshold: float
    passed: bool
    skipped: bool = False

    @property
    def status(self) -> str:
        return "SKIP" if self.skipped else "PASS" if self.passed else "FAIL"


GUARDS: list[GuardResult] = []
RESULTS: list[Case] = []


def guard(case: Case, contender: str, reference: str, threshold: float, what: str,
          engine_speed: bool = False) -> GuardResult:
    """``contender`` must be at least ``threshold`` times as fast as ``reference``.

    Judged once, on the rounds already measured (the same fixed number for
    both sides, interleaved, each side's best round): a miss is not retried,
    since retrying only misses leans towards passing.
    ``engine_speed``: a guard on the kernel's speed, skipped (SKIP, with the
    measured ratio) where ``portable`` is the only kernel this CPU can run."""
    ratio = case.ratio(contender, reference)
    if engine_speed and not engine_accelerated():
        result = GuardResult(case.name, f"{what}: {contender} vs {reference} = {ratio:.2f}x (need >= "
                             f"{threshold:.2f}x; not judged: portable is the only kernel this CPU can run)",
                             ratio, threshold, True, skipped=True)
        GUARDS.append(result)
        return result
    return record_guard(case, what, ratio, threshold, f"{contender} vs {reference}")


def guard_scaling(case: Case, two: str, one: str, halves: str, control_two: str,
                  control_one: str) -> list[GuardResult]:
    """hash_files' own threading, judged in two parts against controls timed in
    the same rounds, so that neither part depends on how much a second vCPU
    can give this kernel:

    * ``halves`` (the same engine, 1 thread, on each half of the files, the two
      calls side by side in a 2-thread pool) against ``one``: at least
      THREAD_SCALING_FLOOR. A lock or a held GIL that serialises the engine
      gives ~1.0x here.
    * ``two`` (hash_files sharing the work out itself) against ``halves``: at
      least THREADS_VS_HALVES. A worker left idle, or work handed out badly,
      shows here; cores that are SMT siblings, or a kernel that already fills
      the core's SHA unit, slow both sides alike.

    Where the perfectly parallel control (``control_two``: hashlib in a 2-thread
    pool, against ``control_one``: hashlib alone) scaled under
    CONTROL_MIN_SCALING the run had no second core to give: both parts are
    reported as not judged (SKIP, with the numbers) rather than judged against
    nothing."""
    control = case.ratio(control_two, control_one)
    parallel = case.ratio(halves, one)
    shared = case.ratio(two, halves)
    checks = [(f"2-thread engine scaling (control {control:.2f}x)", parallel,
               bench_guards.THREAD_SCALING_FLOOR, f"{halves} vs {one}"),
              ("hash_files' 2 threads vs the engine on halves side by side", shared,
               bench_guards.THREADS_VS_HALVES, f"{two} vs {halves}")]
    if control < bench_guards.CONTROL_MIN_SCALING:
        results = []
        for what, ratio, threshold, pair in checks:
            result = GuardResult(case.name, f"{what}: {pair} = {ratio:.2f}x (not judged: the control scaled "
                                 f"under {bench_guards.CONTROL_MIN_SCALING:.2f}x, no second core was free)",
                                 ratio, threshold, True, skipped=True)
            GUARDS.append(result)
            results.append(result)
        return results
    return [record_guard(case, what, ratio, threshold, pair) for what, ratio, threshold, pair in checks]


def record_guard(case: Case, what: str, ratio: float, threshold: float, pair: str) -> GuardResult:
    passed = ratio >= threshold
    text = f"{what}: {pair} = {ratio:.2f}x (need >= {threshold:.2f}x)"
    result = GuardResult(case.name, text, ratio, threshold, passed)
    GUARDS.append(result)
    return result


def guard_peak_rss(case: Case, limit_mb: float) -> GuardResult:
    """The peak RSS measured for ``case`` must stay under ``limit_mb``."""
    peak = case.peak_rss_mb or 0.0
    result = GuardResult(case.name, f"peak RSS of a child hashing it: {peak:.1f} MB (limit {limit_mb:.0f} MB)",
                         limit_mb / peak if peak else float("inf"), 1.0, peak < limit_mb)
    GUARDS.append(result)
    return result


def check(results: list[GuardResult]) -> None:
    failed = [r.text for r in results if not r.passed]
    assert not failed, "cinev4 fell below a ratio guard: " + "; ".join(failed)


# --- memory ------------------------------------------------------------------------------------

_RSS_CHILD = """
import sys
import cinev4
paths = sys.argv[2:]
if sys.argv[1] == "hash":
    results = cinev4.hash_files(paths)
    bad = [r for r in results if not r.ok]
    if bad:
        sys.exit(f"hash failed: {bad[0].path}: {bad[0].error}")
try:  # Linux: this process's own high-water mark (ru_maxrss would carry the parent's over exec)
    with open("/proc/self/status") as status:
        print(next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmHWM:")))
except OSError:
    import resource
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(peak if sys.platform == "darwin" else peak * 1024)
"""


def peak_rss_mb(files: FileSet, hash_them: bool = True) -> float | None:
    """Peak RSS (MB) of a fresh child process that imports cinev4 and hashes ``files``.

    A child, so the benchmark process's own memory (numpy, the data writer)
    does not count; the peak covers mapped file pages while they are resident.
    None where neither /proc nor ``resource`` exists (Windows)."""
    if not os.path.exists("/proc/self/status"):
        try:
            import resource  # noqa: F401  (POSIX only)
        except ImportError:
            return None
    argv = [sys.executable, "-c", _RSS_CHILD, "hash" if hash_them else "import", *files.names]
    out = subprocess.run(argv, cwd=files.root, capture_output=True, text=True, check=True).stdout
    return int(out.strip()) / MB


# --- the printed table -------------------------------------------------------------------------


def table_lines(mode: str) -> list[str]:
    lines = [
        f"cinev4 benchmarks ({mode} mode; best of N interleaved rounds; MB = 10^6 bytes; "
        "'x' columns: speed of cinev4 over that row, > 1 = cinev4 faster)"
    ]
    header = f"{'case':<30} {'contender':<40} {'best s':>8} {'MB/s':>8} {'files/s':>10} {'api x':>7} {'cli x':>7}"
    lines += [header, "-" * len(header)]
    for case in RESULTS:
        cli = next((n for n in case.times if n.startswith("cinev4") and "CLI" in n and case.times[n]), None)
        first = True
        for name, times in case.times.items():
            if not times:
                continue
            mbps = f"{case.mb_per_s(name):8.0f}" if case.total_bytes else f"{'':8}"
            fps = f"{case.files_per_s(name):10.1f}" if case.files else f"{'':10}"
            api_x = cli_x = ""
            if name == case.target:
                api_x = "target"
            elif not name.startswith("cinev4") or name == cli:
                api_x = f"{case.ratio(case.target, name):.2f}"
            if cli and name != cli and not name.startswith("cinev4"):
                cli_x = f"{case.ratio(cli, name):.2f}"
            label = case.name if first else ""
            lines.append(f"{label:<30} {name:<40} {min(times):8.3f} {mbps} {fps} {api_x:>7} {cli_x:>7}")
            first = False
        if case.peak_rss_mb is not None:
            base = f" (import alone {case.baseline_rss_mb:.1f} MB)" if case.baseline_rss_mb else ""
            lines.append(f"{'':<30} peak RSS, child hashing it: {case.peak_rss_mb:.1f} MB{base}")
        for note in case.notes:
            lines.append(f"{'':<30} note: {note}")
    if GUARDS:
        lines.append("ratio guards (thresholds: benchmarks/bench_guards.py):")
        for g in GUARDS:
            lines.append(f"  {g.status}  [{g.case}] {g.text}")
    return lines
