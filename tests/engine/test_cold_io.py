"""Cold data and the page cache (README "Page cache"): with cache="drop" the
pages a batch read that were not resident before are dropped once hashed, and
pages resident before stay. Residency is measured with mincore(2) on an
untouched mapping of each file, as the engine does."""
from __future__ import annotations

import ctypes
import ctypes.util
import hashlib
import mmap
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

import cinev4
from cinev4._fasthash import check_files, hash_files_under
from cinev4.cli import tuning
from cinev4.errors import FileTruncatedError

from .helpers import SMALL_WINDOW, write_file

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="mincore/posix_fadvise residency as Linux reports it")

_libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
_libc.mmap.restype = ctypes.c_void_p
_libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
_libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
_libc.mincore.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_char_p]
PAGE = mmap.PAGESIZE
MAP_FAILED = ctypes.c_void_p(-1).value


def resident_fraction(path: Path | str) -> float:
    """Share of the file's pages in the page cache (mincore on a mapping never touched)."""
    size = os.path.getsize(path)
    pages = (size + PAGE - 1) // PAGE
    fd = os.open(path, os.O_RDONLY)
    try:
        addr = _libc.mmap(None, size, mmap.PROT_READ, mmap.MAP_SHARED, fd, 0)
        assert addr not in (None, MAP_FAILED), os.strerror(ctypes.get_errno())
        try:
            vec = ctypes.create_string_buffer(pages)
            assert _libc.mincore(addr, size, vec) == 0, os.strerror(ctypes.get_errno())
            return sum(b & 1 for b in vec.raw) / pages
        finally:
            _libc.munmap(addr, size)
    finally:
        os.close(fd)


def evict(path: Path | str) -> None:
    """Drops the file from the page cache, as ``cinev4 bench --cold`` does."""
    tuning.evict([os.fspath(path)])
    if resident_fraction(path) > 0.01:
        pytest.skip("this file system keeps files in memory (tmpfs?): nothing to evict")


def warm(path: Path | str) -> None:
    with open(path, "rb") as handle:
        while handle.read(1 << 20):
            pass


@pytest.fixture
def frames(tmp_path: Path) -> list[Path]:
    """Files of several windows each, a small one and one of a few pages."""
    sizes = [6 << 20, 3 << 20, 300 * 1024, 5 * PAGE + 7]
    paths = [Path(write_file(tmp_path / f"f{i}", os.urandom(n))) for i, n in enumerate(sizes)]
    for p in paths:
        evict(p)
    return paths


def digests_of(paths: list[Path]) -> list[str]:
    return [hashlib.sha256(p.read_bytes()).hexdigest() for p in paths]


@pytest.mark.parametrize("io", ["mmap", "read"])
@pytest.mark.parametrize("threads", [1, 2])
def test_drop_leaves_cold_files_cold(frames: list[Path], io: str, threads: int) -> None:
    results = cinev4.hash_files(frames, threads, io=io, window=SMALL_WINDOW * 16, cache="drop")
    fractions = [resident_fraction(p) for p in frames]
    expected = digests_of(frames)  # reads them: after the measure
    assert [r.sha256 for r in results] == expected
    assert max(fractions) < 0.02, fractions


def test_keep_leaves_what_was_read_resident(frames: list[Path]) -> None:
    cinev4.hash_files(frames, 1, io="mmap", window=SMALL_WINDOW * 16, cache="keep")
    assert min(resident_fraction(p) for p in frames) > 0.9


@pytest.mark.parametrize("io", ["mmap", "read"])
def test_drop_keeps_resident_pages(frames: list[Path], io: str) -> None:
    """A warm file stays warm; in a half-warm file only the cold half is dropped."""
    whole, half = frames[0], frames[1]
    warm(whole)
    fd = os.open(half, os.O_RDONLY)
    try:  # the first MiB, and no more: no kernel read-ahead still landing once measured
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_RANDOM)
        assert len(os.pread(fd, 1 << 20, 0)) == 1 << 20
    finally:
        os.close(fd)
    before = resident_fraction(half)
    assert 0.2 < before < 0.99
    cinev4.hash_files([whole, half], 1, io=io, window=SMALL_WINDOW * 4, cache="drop")
    assert resident_fraction(whole) > 0.99
    assert abs(resident_fraction(half) - before) < 0.02


def test_hash_files_keeps_by_default(frames: list[Path], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CINEV4_CACHE", raising=False)
    cinev4.hash_files(frames[:1], 1)
    assert resident_fraction(frames[0]) > 0.9


def test_the_variable_overrides_the_default(frames: list[Path], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CINEV4_CACHE", "drop")
    cinev4.hash_files(frames[:1], 1)
    assert resident_fraction(frames[0]) < 0.02
    monkeypatch.setenv("CINEV4_CACHE", "keep")
    hash_files_under(frames[1].parent, [frames[1].name], [frames[1].stat().st_size], 1)
    assert resident_fraction(frames[1]) > 0.9


def test_pipeline_entry_points_drop_by_default(frames: list[Path], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CINEV4_CACHE", raising=False)
    root = frames[0].parent
    names = [p.name for p in frames]
    sizes = [p.stat().st_size for p in frames]
    expected = digests_of(frames)
    for p in frames:
        evict(p)
    results = hash_files_under(root, names[:2], sizes[:2], 2)
    problems, hashed, _ = check_files(root, names[2:], sizes[2:], expected[2:], 2)
    fractions = [resident_fraction(p) for p in frames]
    assert [r.sha256 for r in results] == expected[:2]
    assert (problems, hashed) == ([], 2)
    assert max(fractions) < 0.02, fractions


def test_sizes_only_and_refused_files_are_left_cold(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Files read ahead by the batch but never hashed (a size that differs) are dropped at
    their close; an open-only check (verify --sizes-only) reads nothing ahead at all."""
    monkeypatch.setenv("CINEV4_QUEUE_DEPTH", "4")
    paths = [Path(write_file(tmp_path / f"s{i}", os.urandom(1 << 20))) for i in range(6)]
    for p in paths:
        evict(p)
    names = [p.name for p in paths]
    sizes = [p.stat().st_size for p in paths]
    problems, hashed, _ = check_files(tmp_path, names, sizes, None, 1)
    assert (problems, hashed) == ([], 0)
    assert max(resident_fraction(p) for p in paths) == 0.0
    wrong = [s + 1 for s in sizes]
    problems, hashed, _ = check_files(tmp_path, names, wrong, ["0" * 64] * len(names), 1)
    assert [(index, kind) for index, kind, *_ in problems] == [(i, "size_differs") for i in range(6)]
    assert max(resident_fraction(p) for p in paths) < 0.02


@pytest.mark.parametrize("io", ["mmap", "read"])
@pytest.mark.parametrize("window", [SMALL_WINDOW, SMALL_WINDOW * 16, 8 << 20])
def test_digests_identical_across_modes(frames: list[Path], io: str, window: int) -> None:
    keep = cinev4.hash_files(frames, 2, io=io, window=window, cache="keep")
    for p in frames:
        evict(p)
    drop = cinev4.hash_files(frames, 2, io=io, window=window, cache="drop")
    assert [r.sha256 for r in drop] == [r.sha256 for r in keep] == digests_of(frames)


@pytest.mark.parametrize("depth", ["0", "1", "2", "7"])
@pytest.mark.parametrize("kernel", [cinev4.available_kernels()[0], *cinev4.multibuffer_kernels()[:1]])
def test_digests_identical_across_queue_depths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                              depth: str, kernel: str) -> None:
    """Reads in flight ahead, within files and across them, change nothing but timing;
    with cache="drop" the files read ahead are dropped too."""
    monkeypatch.setenv("CINEV4_QUEUE_DEPTH", depth)
    sizes = [1 << 20] * 9 + [5 * SMALL_WINDOW + 3, 300 * 1024, 100]
    paths = [Path(write_file(tmp_path / f"g{i}", os.urandom(n))) for i, n in enumerate(sizes)]
    expected = digests_of(paths)
    for p in paths:
        evict(p)
    results = cinev4.hash_files(paths, 2, kernel=kernel, window=SMALL_WINDOW * 2, cache="drop")
    fractions = [resident_fraction(p) for p in paths]
    assert [r.sha256 for r in results] == expected
    assert max(fractions) < 0.02, fractions


def test_engine_info_names_the_queue_depth(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CINEV4_QUEUE_DEPTH", "5")
    assert cinev4.engine_info()["queue_depth"] == 5
    monkeypatch.delenv("CINEV4_QUEUE_DEPTH")
    assert cinev4.engine_info()["queue_depth"] == 2


@pytest.mark.parametrize(("setting", "left"), [(None, "resident"), ("drop", "cold")])
def test_cinev4_hash_keeps_like_sha256sum_unless_asked(frames: list[Path], setting: str | None, left: str) -> None:
    env = {k: v for k, v in os.environ.items() if k != "CINEV4_CACHE"}
    if setting:
        env["CINEV4_CACHE"] = setting
    expected = digests_of(frames[:2])
    for p in frames[:2]:
        evict(p)
    script = Path(sys.executable).parent / "cinev4"
    argv = [str(script)] if script.exists() else [sys.executable, "-m", "cinev4"]
    out = subprocess.run([*argv, "hash", frames[0].name, frames[1].name], cwd=frames[0].parent, env=env,
                         capture_output=True, timeout=120)
    assert (out.returncode, out.stderr) == (0, b"")
    fractions = [resident_fraction(p) for p in frames[:2]]
    assert [line.split()[0] for line in out.stdout.decode().splitlines()] == expected
    if left == "resident":
        assert min(fractions) > 0.9, fractions
    else:
        assert max(fractions) < 0.02, fractions


def test_unknown_cache_mode_is_refused(frames: list[Path]) -> None:
    with pytest.raises(ValueError, match=r"^unknown cache mode 'cold'; choose one of: keep, drop$"):
        cinev4.hash_files(frames, 1, cache="cold")  # type: ignore[arg-type]


def test_engine_info_names_the_cache_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CINEV4_CACHE", "drop")
    info = cinev4.engine_info()
    assert (info["cache"], info["cache_modes"]) == ("drop", ["keep", "drop"])


@pytest.mark.parametrize("io", ["mmap", "read"])
def test_truncated_while_read_is_still_a_file_error(tmp_path: Path, io: str) -> None:
    big = Path(write_file(tmp_path / "big", os.urandom(32 << 20)))
    evict(big)
    truncated = threading.Event()

    def truncate_early(bytes_done: int, files_done: int) -> None:
        if bytes_done and not truncated.is_set():
            os.truncate(big, 1 << 20)
            truncated.set()

    [result] = cinev4.hash_files([big], 1, io=io, window=SMALL_WINDOW * 4, cache="drop",
                                 progress=truncate_early, progress_interval=0.001)
    assert truncated.is_set()
    assert type(result.error) is FileTruncatedError, result


def _cachestat_here() -> bool:
    major, minor = (int(x) for x in os.uname().release.split(".")[:2])
    return (major, minor) >= (6, 5)  # the engine's residency probe (cachestat) came in Linux 6.5


@pytest.mark.skipif(not cinev4.engine_info()["multibuffer"], reason="no multi-buffer kernel on this CPU")
def test_calibrated_lanes_are_set_aside_for_a_batch_that_starts_cold(tmp_path: Path) -> None:
    """Lanes read a window of many files in turn: cold, that is many short streams where one
    sequential stream per thread reads faster. A batch whose first files (1 MiB or more) are
    not in the page cache runs one file per thread; warm, or with lanes asked for by name,
    the lanes run. Every digest is the same either way."""
    from cinev4._fasthash import last_batch_plan

    if not _cachestat_here():
        pytest.skip("no cachestat (Linux < 6.5): the engine cannot tell cold data, the lanes stay")
    lanes = cinev4.engine_info()["multibuffer"]
    paths = [Path(write_file(tmp_path / f"frame.{i}.exr", os.urandom((2 << 20) + i))) for i in range(12)]
    expected = [hashlib.sha256(p.read_bytes()).hexdigest() for p in paths]
    for p in paths:
        evict(p)
    assert [d.sha256 for d in cinev4.hash_files(paths, 2)] == expected
    assert last_batch_plan() == "single (cold data)"
    for p in paths:
        warm(p)
    assert [d.sha256 for d in cinev4.hash_files(paths, 2)] == expected
    assert last_batch_plan() == "lanes"
    for p in paths:
        evict(p)
    assert [d.sha256 for d in cinev4.hash_files(paths, 2, kernel=lanes)] == expected
    assert last_batch_plan() == "lanes"  # asked for by name: always used
    small = [Path(write_file(tmp_path / f"small.{i}", os.urandom(64 * 1024))) for i in range(12)]
    for p in small:
        evict(p)
    cinev4.hash_files(small, 2)
    assert last_batch_plan() == "lanes"  # small files are read in one request either way
