"""Multi-buffer kernels through the lane scheduler, against hashlib."""
from __future__ import annotations

import hashlib
import json
import os
import random
import subprocess
import sys
import threading
from pathlib import Path

import pytest

import cinev4
from cinev4.errors import FileTruncatedError, NotRegularFileError

from .helpers import SMALL_WINDOW, write_file

MB_KERNELS = cinev4.multibuffer_kernels()
pytestmark = pytest.mark.skipif(not MB_KERNELS, reason="this CPU offers no multi-buffer kernel")


@pytest.fixture(params=MB_KERNELS or ["none"])
def mb_kernel(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture(params=["1", "calibrated"], ids=["lanes-always", "lanes-calibrated"])
def lane_min(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """1 keeps every file in lanes to the end; calibrated drains the last few single-stream."""
    if request.param == "1":
        monkeypatch.setenv("CINEV4_LANE_MIN", "1")
    else:
        monkeypatch.delenv("CINEV4_LANE_MIN", raising=False)
    return request.param


def check(results: list[cinev4.FileDigest], contents: list[bytes | None]) -> None:
    for result, data in zip(results, contents):
        if data is None:
            assert result.error is not None, result
        else:
            assert result.error is None, result
            assert result.size == len(data)
            assert result.sha256 == hashlib.sha256(data).hexdigest(), (result.path, len(data))


VECTORS = json.loads((Path(__file__).parent.parent / "data" / "nist_sha256.json").read_text())["vectors"]


def test_nist_vectors_side_by_side_in_the_lanes(tmp_path: Path, mb_kernel: str, lane_min: str) -> None:
    """Every published vector as a file, all in flight together: each lane its own message."""
    contents = [bytes.fromhex(v["message_hex"]) * v["repeat"] for v in VECTORS]
    paths = [write_file(tmp_path / f"v{i}", c) for i, c in enumerate(contents)]
    results = cinev4.hash_files(paths, 1, kernel=mb_kernel)
    assert [r.sha256 for r in results] == [v["sha256"] for v in VECTORS]


def test_every_length_0_to_300(tmp_path: Path, mb_kernel: str, lane_min: str, io_mode: str) -> None:
    pool = os.urandom(300)
    contents = [pool[:n] for n in range(301)]
    paths = [write_file(tmp_path / f"f{n}", c) for n, c in enumerate(contents)]
    check(cinev4.hash_files(paths, 2, kernel=mb_kernel, io=io_mode), contents)


@pytest.mark.parametrize("count", [1, 3, 7, 8, 9, 15, 16, 17, 40])
def test_fewer_and_more_files_than_lanes(tmp_path: Path, mb_kernel: str, lane_min: str, count: int) -> None:
    rng = random.Random(count)
    contents = [rng.randbytes(rng.randrange(0, 300_000)) for _ in range(count)]
    paths = [write_file(tmp_path / f"f{i}", c) for i, c in enumerate(contents)]
    check(cinev4.hash_files(paths, 1, kernel=mb_kernel, window=SMALL_WINDOW * 4), contents)


def test_random_lengths_up_to_several_mib(tmp_path: Path, mb_kernel: str, lane_min: str, io_mode: str) -> None:
    rng = random.Random(5)
    contents = [rng.randbytes(rng.choice([rng.randrange(0, 2000), rng.randrange(0, 5 << 20)])) for _ in range(50)]
    paths = [write_file(tmp_path / f"f{i}", c) for i, c in enumerate(contents)]
    check(cinev4.hash_files(paths, 2, kernel=mb_kernel, io=io_mode, window=SMALL_WINDOW * 16), contents)


def test_one_byte_beside_100_mib(tmp_path: Path, mb_kernel: str, lane_min: str) -> None:
    rng = random.Random(9)
    big = rng.randbytes(100 << 20)
    contents: list[bytes] = [b"x", big] + [rng.randbytes(rng.randrange(0, 70_000)) for _ in range(60)]
    paths = [write_file(tmp_path / f"f{i}", c) for i, c in enumerate(contents)]
    check(cinev4.hash_files(paths, 1, kernel=mb_kernel), contents)


# The last stream out of the lanes goes on with the file window instead of its
# lane's window (cv4_lanes.c, lane_drain): lengths around both window sizes, the
# widening taking effect mid-file, truncation after it, in both I/O modes. Reading,
# 16 lanes share a 1 MiB window (64 KiB each); mapping, each lane maps 2 MiB
# (CV4_LANE_MIN_MAPPED_WINDOW), so a 4 MiB window is what the last stream widens to.
LANE_AND_FILE_WINDOW = {"read": (SMALL_WINDOW, SMALL_WINDOW * 16), "mmap": (2 << 20, 4 << 20)}


def _around_both_windows(lane: int, window: int) -> list[int]:
    return [lane - 1, lane, lane + 1, window - 1, window, window + 1, lane + window - 1, lane + window,
            lane + window + 63, 3 * window + 65]


@pytest.mark.parametrize("step", range(10))
def test_last_stream_goes_on_with_the_file_window(tmp_path: Path, mb_kernel: str, io_mode: str, step: int) -> None:
    lane, window = LANE_AND_FILE_WINDOW[io_mode]
    length = _around_both_windows(lane, window)[step]
    contents = [random.Random(length).randbytes(length)]
    paths = [write_file(tmp_path / "one", contents[0])]
    check(cinev4.hash_files(paths, 1, kernel=mb_kernel, io=io_mode, window=window), contents)


def test_last_stream_widens_after_its_neighbours_end(tmp_path: Path, mb_kernel: str, io_mode: str) -> None:
    """Short files end while a long one is mid-file; it drains from where it is."""
    lane, window = LANE_AND_FILE_WINDOW[io_mode]
    rng = random.Random(21)
    contents = [rng.randbytes(n) for n in (3 * window + 4097, 100, lane * 3 + 5, 0, window)]
    paths = [write_file(tmp_path / f"f{i}", c) for i, c in enumerate(contents)]
    check(cinev4.hash_files(paths, 1, kernel=mb_kernel, io=io_mode, window=window), contents)


def test_last_stream_truncated_after_it_widened(tmp_path: Path, mb_kernel: str, io_mode: str) -> None:
    lane, window = LANE_AND_FILE_WINDOW[io_mode]
    victim = Path(write_file(tmp_path / "victim", os.urandom(96 << 20)))
    done = threading.Event()

    def truncate_victim(bytes_done: int, files_done: int) -> None:
        if bytes_done > lane + window and not done.is_set():
            os.truncate(victim, lane + 2 * window + 1)
            done.set()

    [result] = cinev4.hash_files([str(victim)], 1, kernel=mb_kernel, io=io_mode, window=window,
                                 progress=truncate_victim, progress_interval=0.001)
    assert done.is_set()
    assert type(result.error) is FileTruncatedError, result


@pytest.mark.parametrize("window", [(2 << 20) - SMALL_WINDOW, 2 << 20, 8 << 20])
def test_mapped_lanes_at_2_mib_or_the_whole_window(tmp_path: Path, mb_kernel: str, lane_min: str,
                                                                 window: int) -> None:
    rng = random.Random(window)
    sizes = [(2 << 20) - 1, 2 << 20, (2 << 20) + 1, (4 << 20) + 65, 3 * window + 1, 300_000, 0, 1]
    contents = [rng.randbytes(n) for n in sizes * 3]
    paths = [write_file(tmp_path / f"f{i}", c) for i, c in enumerate(contents)]
    check(cinev4.hash_files(paths, 2, kernel=mb_kernel, io="mmap", window=window), contents)


def test_bad_files_share_lanes_with_good_ones(tmp_path: Path, mb_kernel: str, lane_min: str) -> None:
    rng = random.Random(3)
    contents: list[bytes | None] = []
    paths: list[str] = []
    for i in range(40):
        path = tmp_path / f"f{i}"
        if i % 10 == 3:
            contents.append(None)  # missing
        elif i % 10 == 6:
            path.mkdir()
            contents.append(None)
        elif i % 10 == 8:
            os.mkfifo(path)
            contents.append(None)
        else:
            data = rng.randbytes(rng.randrange(0, 400_000))
            write_file(path, data)
            contents.append(data)
        paths.append(str(path))
    results = cinev4.hash_files(paths, 2, kernel=mb_kernel)
    check(results, contents)
    assert isinstance(results[8].error, NotRegularFileError)
    assert isinstance(results[6].error, IsADirectoryError)


def test_file_truncated_while_in_a_lane(tmp_path: Path, mb_kernel: str) -> None:
    rng = random.Random(11)
    victim = Path(write_file(tmp_path / "victim", rng.randbytes(192 << 20)))
    contents: list[bytes | None] = [None] + [rng.randbytes(8 << 20) for _ in range(15)]
    paths = [str(victim)] + [write_file(tmp_path / f"f{i}", c) for i, c in enumerate(contents[1:])]  # type: ignore[arg-type]
    done = threading.Event()

    def truncate_victim(bytes_done: int, files_done: int) -> None:
        if bytes_done and not done.is_set():
            os.truncate(victim, 1 << 20)
            done.set()

    results = cinev4.hash_files(paths, 1, kernel=mb_kernel, io="mmap", window=SMALL_WINDOW * 16,
                                progress=truncate_victim, progress_interval=0.001)
    assert done.is_set()
    assert type(results[0].error) is FileTruncatedError, results[0]  # mid-file: its next window faults
    check(results[1:], contents[1:])


def test_default_plan_matches_hashlib_on_a_frame_sequence(tmp_path: Path) -> None:
    frame = os.urandom(3 << 20)
    contents = [frame[i:] + frame[:i] for i in range(24)]
    paths = [write_file(tmp_path / f"shot.{i:04d}.exr", c) for i, c in enumerate(contents)]
    check(cinev4.hash_files(paths), contents)


def test_engine_info_reports_the_lanes() -> None:
    info = cinev4.engine_info()
    assert info["multibuffer_kernels"] == MB_KERNELS
    if info["multibuffer"] is not None:
        assert info["multibuffer"] in MB_KERNELS
        assert 1 <= info["lane_break_even"] <= 17


def test_multibuffer_kernel_is_refused_for_one_buffer(mb_kernel: str) -> None:
    with pytest.raises(ValueError, match="multi-buffer kernel"):
        cinev4.hash_bytes(b"abc", kernel=mb_kernel)


def test_version_names_every_lane_kernel_and_the_forced_one(mb_kernel: str) -> None:
    env = {**os.environ, "CINEV4_KERNEL": mb_kernel}
    env.pop("CINEV4_LANE_MIN", None)
    out = subprocess.run([sys.executable, "-m", "cinev4", "--version"], capture_output=True, text=True, check=True,
                         env=env).stdout
    listed = next(line for line in out.splitlines() if line.startswith("kernels available: "))
    assert listed.removeprefix("kernels available: ").split(", ") == cinev4.available_kernels() + MB_KERNELS
    assert f", lanes {mb_kernel} (from " in out, out
