"""A file truncated while it is hashed in a multi-buffer lane: the fault is
pinned on that one file, and every other file's digest is still hashlib's.

The truncation lands from the progress callback (the engine's own thread
calls it while the workers hash), once bytes were hashed and before any file
could end: every file is far larger than what one step hashes, so the
victim is always mid-file, and with mmap io its next window lies past the
new end of file. Two places a fault can land are covered:

- inside a kernel step (lanes kept to the end, CINEV4_LANE_MIN=1): the other
  lanes' states must come back as they were before the step;
- while a lane is drained single-stream (CINEV4_LANE_MIN above the lane
  count: every lane drains once the queue is empty): the other lanes' states
  must be left alone (they hold the progress of steps already taken).

Removing the restore after a fault inside a step cannot be caught through
the shipped kernels: each loads the lane states into registers and stores
them once, at the end of a call, so a fault inside a call leaves the states
as they were. The C harness tests/c/test_lane_restore.c (run below) drives
the scheduler with a kernel that stores them block by block, as a future
kernel may; it fails when the restore is removed.
"""
from __future__ import annotations

import ctypes.util
import hashlib
import os
import random
import shutil
import subprocess
import threading
from pathlib import Path

import pytest

import cinev4
from cinev4.errors import FileTruncatedError

from .helpers import SMALL_WINDOW, write_file

MB_KERNELS = cinev4.multibuffer_kernels()
pytestmark = [
    pytest.mark.skipif(not MB_KERNELS, reason="this CPU offers no multi-buffer kernel"),
    pytest.mark.skipif(os.name == "nt", reason="no mmap io on Windows (a mapped file cannot be truncated there)"),
]

ROUNDS = 3  # a few rounds: the truncation lands at a different point each time


@pytest.fixture(params=MB_KERNELS or ["none"])
def mb_kernel(request: pytest.FixtureRequest) -> str:
    return request.param


def _lanes(kernel: str) -> int:
    return int(kernel.rsplit("x", 1)[1])  # avx512-x16: 16 lanes


ATTEMPTS = 4  # per round: on a loaded machine the first progress report can come after a file ended


def _hash_with_a_truncation(paths: list[str], victim: str, kernel: str) -> list[cinev4.FileDigest] | None:
    """The results of hashing ``paths`` with ``victim`` truncated mid-hash, or None when the
    first progress report came too late (a file had already ended: the setting this test needs
    did not happen, so nothing was truncated and the round is tried again with new files)."""
    truncated = threading.Event()
    too_late = threading.Event()

    def truncate_once_started(bytes_done: int, files_done: int) -> None:
        if bytes_done and not truncated.is_set() and not too_late.is_set():
            if files_done:
                too_late.set()
                return
            os.truncate(victim, 4096)
            truncated.set()

    results = cinev4.hash_files(paths, 1, kernel=kernel, io="mmap", window=SMALL_WINDOW * 16,
                                progress=truncate_once_started, progress_interval=0.0005)
    if too_late.is_set():
        return None
    assert truncated.is_set()
    return results


def _check_the_others(results: list[cinev4.FileDigest], contents: dict[str, bytes], victim: str) -> None:
    by_path = {r.path: r for r in results}
    assert isinstance(by_path[victim].error, FileTruncatedError), by_path[victim]
    for path, data in contents.items():
        result = by_path[path]
        assert result.error is None, result
        assert result.sha256 == hashlib.sha256(data).hexdigest(), (path, result)


def test_truncation_inside_a_step_spoils_no_other_lane(tmp_path: Path, mb_kernel: str,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CINEV4_LANE_MIN", "1")  # never drain: every file stays in the lanes to its end
    rng = random.Random(19)
    for round_ in range(ROUNDS):
        for attempt in range(ATTEMPTS):
            # One file per lane, all the same size, so every lane is mid-file when the truncation lands
            # (no file waits in the queue: it would be opened after the truncation, at its new size).
            lanes = _lanes(mb_kernel)
            contents = {}
            for i in range(lanes):
                data = rng.randbytes(6 << 20)
                contents[write_file(tmp_path / f"r{round_}-{attempt}-f{i:02d}", data)] = data
            victim = sorted(contents)[rng.randrange(lanes)]
            results = _hash_with_a_truncation(list(contents), victim, mb_kernel)
            if results is not None:
                break
        else:
            pytest.fail(f"in {ATTEMPTS} attempts a file always ended before the first progress report")
        del contents[victim]
        _check_the_others(results, contents, victim)


def test_truncation_while_a_lane_drains_spoils_no_other_lane(tmp_path: Path, mb_kernel: str,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CINEV4_LANE_MIN", "17")  # more than any kernel's lanes: drain once the queue is empty
    rng = random.Random(23)
    for round_ in range(ROUNDS):
        # Fewer files than lanes, so the queue is empty from the start. The victim, largest, is taken
        # first (largest first) and drained first, while the others wait in their lanes. (sha-ni-x2
        # has room for one beside the victim, and two files fill its two lanes: they are stepped
        # until one ends, so there the fault lands in a step; files of 4 MiB and more outlast the
        # first progress report.)
        others = min(6, _lanes(mb_kernel) - 1)
        for attempt in range(ATTEMPTS):
            victim = write_file(tmp_path / f"r{round_}-{attempt}-victim", rng.randbytes(32 << 20))
            contents = {write_file(tmp_path / f"r{round_}-{attempt}-f{i:02d}", data): data
                        for i, data in enumerate(rng.randbytes(rng.randrange(4 << 20, 8 << 20))
                                                 for _ in range(others))}
            results = _hash_with_a_truncation([victim, *contents], victim, mb_kernel)
            if results is not None:
                break
        else:
            pytest.fail(f"in {ATTEMPTS} attempts a file always ended before the first progress report")
        _check_the_others(results, contents, victim)


RESTORE_HARNESS = Path(__file__).resolve().parent.parent / "c" / "run_lane_restore.sh"


@pytest.mark.skipif(shutil.which("cc") is None, reason="no C compiler")
@pytest.mark.skipif(ctypes.util.find_library("crypto") is None, reason="the harness links OpenSSL's libcrypto")
def test_the_restore_after_a_fault_inside_a_step_c_harness() -> None:
    out = subprocess.run(["sh", str(RESTORE_HARNESS)], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert out.stdout.splitlines() == [f"PASS lane {lane}: error 0, digest matches OpenSSL" for lane in (1, 2, 3)]
