"""The prefault helper (on by default, CINEV4_PREFAULT=0 turns it off): where a batch leaves
a core per worker idle, a helper thread faults in the next mapped window while
the worker hashes the current one."""
from __future__ import annotations

import hashlib
import os
import random
import sys
import threading
from pathlib import Path

import pytest

import cinev4
from cinev4.errors import FileTruncatedError

from .helpers import SMALL_WINDOW, write_file

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="MADV_POPULATE_READ is Linux's")


def usable_cpus() -> int:
    return len(os.sched_getaffinity(0))


@pytest.fixture(params=["1", "0"], ids=["prefault-on", "prefault-off"])
def prefault(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("CINEV4_PREFAULT", request.param)
    return request.param


@pytest.mark.parametrize("kernel_name", [None, *cinev4.available_kernels()[:1], *cinev4.multibuffer_kernels()])
def test_many_windows_give_hashlib_digests(tmp_path: Path, prefault: str, kernel_name: str | None) -> None:
    rng = random.Random(15)
    contents = [rng.randbytes(n) for n in (40 * SMALL_WINDOW + 13, 3 * SMALL_WINDOW, SMALL_WINDOW + 1, 5000)]
    paths = [write_file(tmp_path / f"f{i}", c) for i, c in enumerate(contents)]
    results = cinev4.hash_files(paths, 1, kernel=kernel_name, io="mmap", window=SMALL_WINDOW)
    assert [r.sha256 for r in results] == [hashlib.sha256(c).hexdigest() for c in contents]


@pytest.mark.parametrize("kernel_name", [*cinev4.available_kernels()[:1], *cinev4.multibuffer_kernels()[:1]])
def test_truncated_ahead_of_the_hashing_thread(tmp_path: Path, prefault: str, kernel_name: str) -> None:
    """The helper meets the lost pages first (an error, no signal); the worker's own fault
    guard then reports the file as truncated."""
    big = Path(write_file(tmp_path / "big", os.urandom(64 << 20)))
    truncated = threading.Event()

    def truncate_early(bytes_done: int, files_done: int) -> None:
        if bytes_done and not truncated.is_set():
            os.truncate(big, 1 << 20)
            truncated.set()

    [result] = cinev4.hash_files([big], 1, kernel=kernel_name, io="mmap", window=SMALL_WINDOW * 4,
                                 progress=truncate_early, progress_interval=0.001)
    assert truncated.is_set()
    assert type(result.error) is FileTruncatedError, result


@pytest.mark.skipif(usable_cpus() < 2, reason="the helper runs only where a core is left idle")
def test_the_helper_runs_only_where_a_core_is_idle(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = os.urandom(48 << 20)
    files = [write_file(tmp_path / f"big{i}", data) for i in range(usable_cpus())]

    def threads_while_hashing(threads: int, env: str | None) -> int:
        if env is None:
            monkeypatch.delenv("CINEV4_PREFAULT", raising=False)
        else:
            monkeypatch.setenv("CINEV4_PREFAULT", env)
        seen: list[int] = []

        def count(bytes_done: int, files_done: int) -> None:
            if bytes_done and not files_done:
                seen.append(len(os.listdir("/proc/self/task")))

        # One stream: lanes would take every file into the first worker's lanes at once.
        cinev4.hash_files(files[:threads], threads, kernel=cinev4.available_kernels()[0], io="mmap",
                          window=SMALL_WINDOW, progress=count, progress_interval=0.001)
        assert seen, "no progress call while hashing"
        return max(seen)

    base = len(os.listdir("/proc/self/task"))
    assert threads_while_hashing(1, None) == base + 2  # on by default: the worker and its helper
    assert threads_while_hashing(1, "0") == base + 1  # the worker alone
    assert threads_while_hashing(1, "1") == base + 2
    many = usable_cpus()  # every core hashing: no helper (a worker left without a file may have ended)
    assert threads_while_hashing(many, "1") <= base + many


@pytest.mark.skipif(usable_cpus() < 2, reason="the helper runs only where a core is left idle")
def test_no_helper_for_a_batch_of_small_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A hook hashing small files pays no helper thread: none of them spans a window."""
    monkeypatch.delenv("CINEV4_PREFAULT", raising=False)
    files = [write_file(tmp_path / f"f{i}", os.urandom(SMALL_WINDOW)) for i in range(3000)]
    big = write_file(tmp_path / "big", os.urandom(SMALL_WINDOW * 64))
    base = len(os.listdir("/proc/self/task"))

    def most_threads(paths: list[str]) -> int:
        seen: list[int] = []

        def count(bytes_done: int, files_done: int) -> None:
            if bytes_done:
                seen.append(len(os.listdir("/proc/self/task")))

        cinev4.hash_files(paths, 1, kernel=cinev4.available_kernels()[0], io="mmap", window=SMALL_WINDOW * 2,
                          progress=count, progress_interval=0.001)
        assert seen, "no progress call while hashing"
        return max(seen)

    assert most_threads(files) == base + 1  # the worker alone
    assert most_threads([big, *files]) == base + 2  # one file of 64 windows: the worker and its helper


COUNTING_FADVISE = r"""
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>

/* Counts POSIX_FADV_WILLNEED advice past a file's first bytes (the advice inside
 * a file; a next file's head is asked for at offset 0) and reports it at exit. */
static long inside;

int posix_fadvise(int fd, off_t offset, off_t len, int advice)
{
    static int (*next_fadvise)(int, off_t, off_t, int);
    if (!next_fadvise)
        next_fadvise = (int (*)(int, off_t, off_t, int))dlsym(RTLD_NEXT, "posix_fadvise");
    if (advice == POSIX_FADV_WILLNEED && offset > 0)
        __atomic_add_fetch(&inside, 1, __ATOMIC_RELAXED);
    return next_fadvise(fd, offset, len, advice);
}

__attribute__((destructor)) static void report(void)
{
    fprintf(stderr, "willneed-inside=%ld\n", inside);
}
"""

EVICT_AND_HASH = """
import os, sys
import cinev4
path = sys.argv[1]
fd = os.open(path, os.O_RDONLY)
os.fsync(fd)  # just written: dirty pages are not dropped
os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
os.close(fd)
[result] = cinev4.hash_files([path], 1, kernel=cinev4.available_kernels()[0], io="mmap", window="1M")
print(result.sha256)
"""


@pytest.mark.skipif(usable_cpus() < 2, reason="the helper runs only where a core is left idle")
def test_with_the_helper_the_hashing_thread_gives_no_read_ahead_advice(tmp_path: Path) -> None:
    """Where the helper maps and faults in the next window, the hashing thread does not also
    advise the kernel to read ahead inside the file (on one cold file that advice cost more
    than it gave); without the helper it still does. A preloaded shim counts the advice."""
    import shutil
    import subprocess

    if shutil.which("cc") is None:
        pytest.skip("no C compiler for the counting shim")
    (tmp_path / "count.c").write_text(COUNTING_FADVISE)
    shim = tmp_path / "count.so"
    subprocess.run(["cc", "-shared", "-fPIC", "-O1", "-o", str(shim), str(tmp_path / "count.c"), "-ldl"],
                   check=True, capture_output=True)
    data = os.urandom(24 << 20)
    path = write_file(tmp_path / "plate.bin", data)

    def advice_inside(prefault: str) -> int:
        env = {**os.environ, "LD_PRELOAD": str(shim), "CINEV4_PREFAULT": prefault}
        done = subprocess.run([sys.executable, "-c", EVICT_AND_HASH, path], env=env, capture_output=True,
                              text=True, check=True)
        assert done.stdout.strip() == hashlib.sha256(data).hexdigest()
        [count] = [line for line in done.stderr.splitlines() if line.startswith("willneed-inside=")]
        return int(count.partition("=")[2])

    without_helper = advice_inside("0")
    if without_helper == 0:
        pytest.skip("the file stayed in the page cache (tmpfs?): no read-ahead advice is given for it")
    assert advice_inside("1") == 0
