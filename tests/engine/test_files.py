"""File hashing through both I/O modes: boundaries, special files, faults."""
from __future__ import annotations

import errno
import hashlib
import os
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import cinev4
from cinev4.errors import FileChangedError, FileTruncatedError, NotRegularFileError

from .helpers import SMALL_WINDOW, write_file

WINDOW_EDGES = sorted(
    {n * SMALL_WINDOW + d for n in (1, 2, 3) for d in (-65, -64, -63, -1, 0, 1, 63, 64, 65)} | {0, 1, 63, 64, 65}
)


def test_lengths_around_window_boundaries(tmp_path: Path, kernel: str, io_mode: str) -> None:
    data = os.urandom(max(WINDOW_EDGES))
    paths = [write_file(tmp_path / f"f{n}", data[:n]) for n in WINDOW_EDGES]
    results = cinev4.hash_files(paths, 2, kernel=kernel, io=io_mode, window=SMALL_WINDOW)
    for n, result in zip(WINDOW_EDGES, results):
        assert result.error is None, result
        assert result.size == n
        assert result.sha256 == hashlib.sha256(data[:n]).hexdigest(), n


def test_every_small_length_both_io_modes(tmp_path: Path, io_mode: str) -> None:
    data = os.urandom(1024)
    paths = [write_file(tmp_path / f"f{n}", data[:n]) for n in range(1025)]
    results = cinev4.hash_files(paths, io=io_mode, window=SMALL_WINDOW)
    assert [r.sha256 for r in results] == [hashlib.sha256(data[:n]).hexdigest() for n in range(1025)]


@settings(max_examples=40, deadline=None, print_blob=True)
@given(length=st.integers(min_value=0, max_value=600_000), seed=st.integers(0, 2**32 - 1),
       windows=st.integers(min_value=1, max_value=4), io_mode=st.sampled_from(["mmap", "read"]))
def test_random_files(tmp_path_factory: pytest.TempPathFactory, length: int, seed: int, windows: int,
                      io_mode: str) -> None:
    import random

    data = random.Random(seed).randbytes(length)
    path = write_file(tmp_path_factory.mktemp("h") / "f", data)
    result = cinev4.hash_file(path, io=io_mode, window=windows * SMALL_WINDOW)
    assert result.sha256 == hashlib.sha256(data).hexdigest()


def test_hash_file_accepts_str_bytes_and_pathlike(tmp_path: Path) -> None:
    path = tmp_path / "x"
    path.write_bytes(b"abc")
    expected = hashlib.sha256(b"abc").hexdigest()
    for form in (path, str(path), os.fsencode(path)):
        result = cinev4.hash_file(form)
        assert result.sha256 == expected
        assert result.path == form


def test_empty_file(tmp_path: Path, io_mode: str) -> None:
    result = cinev4.hash_file(write_file(tmp_path / "empty", b""), io=io_mode)
    assert (result.size, result.sha256) == (0, hashlib.sha256(b"").hexdigest())


def test_missing_file_raises_file_not_found(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError) as info:
        cinev4.hash_file(tmp_path / "missing")
    assert info.value.filename == tmp_path / "missing"


def test_directory_is_a_per_file_error(tmp_path: Path) -> None:
    [result] = cinev4.hash_files([tmp_path])
    assert isinstance(result.error, IsADirectoryError)
    assert result.sha256 is None


def test_fifo_does_not_hang(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    # Runs in a child so a hang would fail the test instead of stalling the suite.
    code = f"import cinev4; r = cinev4.hash_files([{str(fifo)!r}])[0]; print(type(r.error).__name__, r.error.strerror)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=20, check=True)
    assert out.stdout.strip() == "NotRegularFileError not a regular file (FIFO)"


def test_character_device_is_refused() -> None:
    [result] = cinev4.hash_files(["/dev/null"])
    assert isinstance(result.error, NotRegularFileError)
    assert "character device" in result.error.strerror


def test_dangling_symlink(tmp_path: Path) -> None:
    link = tmp_path / "link"
    link.symlink_to(tmp_path / "nowhere")
    [result] = cinev4.hash_files([link])
    assert isinstance(result.error, FileNotFoundError)


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_unreadable_file(tmp_path: Path) -> None:
    path = Path(write_file(tmp_path / "secret", b"x"))
    path.chmod(0)
    [result] = cinev4.hash_files([path])
    assert isinstance(result.error, PermissionError)


def test_embedded_nul_is_refused() -> None:
    with pytest.raises(ValueError, match="embedded null byte"):
        cinev4.hash_files(["a\0b"])


def test_many_files_with_failures_keep_order(tmp_path: Path) -> None:
    rng = __import__("random").Random(7)
    expected: list[str | None] = []
    paths: list[str] = []
    for i in range(1200):
        path = tmp_path / f"d{i % 13}" / f"f{i:05d}"
        if i % 97 == 5:
            expected.append(None)  # never created
        elif i % 101 == 7:
            path.mkdir(parents=True)
            expected.append(None)  # a directory where a file was expected
        else:
            path.parent.mkdir(exist_ok=True)
            data = rng.randbytes(rng.choice([0, 1, 64, 4095, 70_000, 300_000]))
            path.write_bytes(data)
            expected.append(hashlib.sha256(data).hexdigest())
        paths.append(str(path))
    results = cinev4.hash_files(paths, threads=4, window=SMALL_WINDOW)
    assert [r.path for r in results] == paths
    assert [r.sha256 for r in results] == expected
    errors = [(i, type(r.error)) for i, r in enumerate(results) if r.error is not None]
    assert errors == [(i, FileNotFoundError if i % 97 == 5 else IsADirectoryError)
                      for i, e in enumerate(expected) if e is None]


def test_progress_reports_bytes_and_files(tmp_path: Path) -> None:
    paths = [write_file(tmp_path / f"f{i}", os.urandom(200_000)) for i in range(20)]
    seen: list[tuple[int, int]] = []
    cinev4.hash_files(paths, 2, progress=lambda b, f: seen.append((b, f)), progress_interval=0.001)
    assert seen[-1] == (20 * 200_000, 20)
    assert all(a <= b for a, b in zip(seen, seen[1:]))


@pytest.fixture()
def big_file(tmp_path: Path) -> Path:
    path = tmp_path / "big"
    with open(path, "wb") as handle:
        chunk = os.urandom(1 << 20)
        for _ in range(384):
            handle.write(chunk)
    return path


def test_gil_is_released_while_hashing(big_file: Path) -> None:
    """A Python thread keeps counting while the engine hashes."""
    counts = {"during": 0}
    stop = threading.Event()

    def count() -> None:
        while not stop.is_set():
            counts["during"] += 1

    ticker = threading.Thread(target=count)
    ticker.start()
    try:
        # read mode and a progress callback that never runs: the only Python
        # work in this thread is the start and the end of the batch.
        for _ in range(3):
            cinev4.hash_files([big_file], 1, io="read", progress_interval=1.0)
    finally:
        stop.set()
        ticker.join()
    # ~1 GiB hashed: with the GIL held the counter would stay near zero.
    assert counts["during"] > 100_000


def test_truncated_while_mapped_is_a_per_file_error(big_file: Path, tmp_path: Path) -> None:
    other = write_file(tmp_path / "other", b"fine")
    truncated = threading.Event()

    def truncate_early(bytes_done: int, files_done: int) -> None:
        if bytes_done and not truncated.is_set():  # only once the file is open and mapped
            os.truncate(big_file, 1 << 20)
            truncated.set()

    results = cinev4.hash_files([big_file, other], 2, io="mmap", window=SMALL_WINDOW, progress=truncate_early,
                                progress_interval=0.001)
    assert truncated.is_set()
    # Still mid-file (384 MiB): its next window lies past the new end, so the fault is caught there.
    assert type(results[0].error) is FileTruncatedError, results[0]
    assert results[1].sha256 == hashlib.sha256(b"fine").hexdigest()


def test_truncated_by_another_process(big_file: Path, io_mode: str) -> None:
    # The child hashes; this process truncates the file under it.
    code = (
        "import sys, cinev4\n"
        "r = cinev4.hash_files([sys.argv[1]], 1, io=sys.argv[2], window=65536,"
        " progress=lambda b, f: print('started', flush=True) if b else None, progress_interval=0.001)[0]\n"
        "print(type(r.error).__name__)\n"
    )
    with subprocess.Popen([sys.executable, "-c", code, str(big_file), io_mode], stdout=subprocess.PIPE,
                          text=True) as child:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "started"
        os.truncate(big_file, 4096)
        out = [line.strip() for line in child.stdout]
        assert child.wait(timeout=60) == 0
    # mmap: the next access past the new end faults; read: the next read returns nothing early.
    assert out[-1] == "FileTruncatedError"


def test_changed_while_hashing(big_file: Path, io_mode: str) -> None:
    touched = threading.Event()

    def touch(bytes_done: int, files_done: int) -> None:
        if bytes_done and not touched.is_set():  # only once the file is open
            st = os.stat(big_file)
            os.utime(big_file, ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))
            touched.set()

    [result] = cinev4.hash_files([big_file], 1, io=io_mode, window=SMALL_WINDOW, progress=touch,
                                 progress_interval=0.001)
    assert touched.is_set()
    assert isinstance(result.error, FileChangedError)
    assert result.error.errno == errno.EIO


def test_keyboard_interrupt_stops_the_batch(big_file: Path) -> None:
    def interrupt(bytes_done: int, files_done: int) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        cinev4.hash_files([big_file] * 8, 2, window=SMALL_WINDOW, progress=interrupt, progress_interval=0.001)


def test_sparse_file_over_4_gib(tmp_path: Path) -> None:
    path = tmp_path / "sparse"
    with open(path, "wb") as handle:
        handle.truncate(4 << 30)
        handle.seek(4 << 30)
        handle.write(b"\x01")
    if os.stat(path).st_blocks * 512 > (1 << 20):
        pytest.skip("this file system does not make sparse files")
    # In a child, so its peak RSS is this hash's alone. VmHWM, not ru_maxrss:
    # Linux carries ru_maxrss across exec, so it would count the pytest parent.
    code = (
        "import sys, cinev4\n"
        "r = cinev4.hash_file(sys.argv[1])\n"
        "hwm = [l.split()[1] for l in open('/proc/self/status') if l.startswith('VmHWM:')]\n"
        "print(r.size, r.sha256, hwm[0] if hwm else 0)\n"
    )
    size, digest, peak_rss_kib = subprocess.run(
        [sys.executable, "-c", code, str(path)], capture_output=True, text=True, check=True, timeout=300
    ).stdout.split()
    assert int(size) == (4 << 30) + 1
    # sha256 of 4 GiB of zeros then 0x01, computed once with hashlib.
    assert digest == "d6cba2fb80a815340cd82d98754730a8e86af2d14a136d3b20bbc1e13ece5c11"
    if sys.platform.startswith("linux"):
        assert 0 < int(peak_rss_kib) < 100 * 1024


def test_bad_settings_are_clear_errors(tmp_path: Path) -> None:
    path = write_file(tmp_path / "f", b"x")
    with pytest.raises(ValueError, match="window must be a multiple of 64 KiB"):
        cinev4.hash_file(path, window=1000)
    with pytest.raises(ValueError, match="unknown I/O mode"):
        cinev4.hash_file(path, io="carrier-pigeon")
    with pytest.raises(ValueError, match="threads must be at least 1"):
        cinev4.hash_files([path], 0)
    assert stat.S_ISREG(os.stat(path).st_mode)


def test_results_pickle_with_their_errors(tmp_path: Path) -> None:
    import pickle

    good = write_file(tmp_path / "good", b"abc")
    results = cinev4.hash_files([good, tmp_path / "missing", "/dev/null", tmp_path])
    again = pickle.loads(pickle.dumps(results))
    assert again == results
    assert again[0].sha256 == hashlib.sha256(b"abc").hexdigest()
    assert isinstance(again[1].error, FileNotFoundError)
    assert isinstance(again[2].error, NotRegularFileError) and again[2].error.kind == "character device"
    assert isinstance(again[3].error, IsADirectoryError)
