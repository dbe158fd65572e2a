"""Faults of the Python API found in review: one ``Sha256`` fed from several
threads, files that report size 0 but have content (/proc), an ordered batch
closed or iterated from two threads, and a digest column split in the wrong
places."""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Literal

import pytest

import cinev4
from cinev4._fasthash import check_files, hash_files_ordered, hash_files_under

ALL_KERNELS = cinev4.available_kernels() + cinev4.multibuffer_kernels()
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()


def _run_threads(target: Any, count: int, timeout: float = 60.0) -> None:
    threads = [threading.Thread(target=target, args=(n,), daemon=True) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    assert not any(thread.is_alive() for thread in threads), "threads still running: hung"


# --- 1. one Sha256, many threads -------------------------------------------------------


@pytest.mark.parametrize("kernel", cinev4.available_kernels())
def test_sha256_updated_from_many_threads_equals_hashlib(kernel: str) -> None:
    chunk = os.urandom(1 << 20)
    hasher = cinev4.Sha256(kernel=kernel)
    errors: list[BaseException] = []

    def feed(_: int) -> None:
        try:
            for _ in range(20):
                hasher.update(chunk)
        except BaseException as exc:  # pragma: no cover - the failure being tested for
            errors.append(exc)

    _run_threads(feed, 8)
    assert errors == []
    # Identical chunks: any order of the 160 updates gives the same message.
    assert hasher.hexdigest() == hashlib.sha256(chunk * 160).hexdigest()


def test_sha256_small_and_large_updates_from_many_threads() -> None:
    """Updates under 2 KiB keep the GIL, larger ones release it: both kinds at once.
    One byte value throughout, so any order of the chunks is the same message."""
    small = b"\xab" * 100
    large = b"\xab" * 100_000
    hasher = cinev4.Sha256()

    def feed(n: int) -> None:
        for _ in range(200):
            hasher.update(small if n % 2 else large)

    _run_threads(feed, 6)
    assert hasher.digest() == hashlib.sha256(b"\xab" * (600 * 100 + 600 * 100_000)).digest()


def test_sha256_digest_racing_updates_is_atomic() -> None:
    """A digest() while other threads update: each update lands wholly before it
    or is refused after it, so the digest is of a whole number of chunks."""
    chunk = os.urandom(1 << 20)
    for _ in range(3):
        hasher = cinev4.Sha256()
        landed: list[int] = []
        refused: list[int] = []
        start = threading.Event()
        digests: list[bytes] = []

        def feed(n: int) -> None:
            start.wait()
            for _ in range(30):
                try:
                    hasher.update(chunk)
                except ValueError:
                    refused.append(n)
                    return
                landed.append(n)

        def finish(_: int) -> None:
            start.wait()
            time.sleep(0.02)
            digests.append(hasher.digest())

        threads = [threading.Thread(target=feed, args=(n,), daemon=True) for n in range(6)]
        threads.append(threading.Thread(target=finish, args=(0,), daemon=True))
        for thread in threads:
            thread.start()
        start.set()
        for thread in threads:
            thread.join(60)
        assert not any(thread.is_alive() for thread in threads)
        assert len(digests) == 1
        assert digests[0] == hashlib.sha256(chunk * len(landed)).digest()
        assert hasher.digest() == digests[0]  # finished: the same answer again
        with pytest.raises(ValueError, match="after digest"):
            hasher.update(b"x")


# --- 2. regular files that report size 0 (/proc) -----------------------------------------

needs_proc = pytest.mark.skipif(not os.path.exists("/proc/self/maps"), reason="no /proc here")


def _read(path: str) -> bytes:
    with open(path, "rb") as f:
        return f.read()


def _stable_proc_files() -> list[str]:
    """/proc files whose content does not change while the test runs."""
    return [p for p in ("/proc/version", "/proc/filesystems", "/proc/self/cmdline") if os.path.exists(p)]


@pytest.fixture()
def long_cmdline() -> Any:
    """A process whose /proc/PID/cmdline (size 0 there) holds more than one window:
    (path, content) for lengths that are and are not a whole number of 64 KiB windows."""
    made = []

    def spawn(length: int) -> tuple[str, bytes]:
        # argv: python, -c, code, then filler args; each arg ends with a NUL.
        code = "import sys, time; sys.stdin.read()"
        head = [sys.executable, "-c", code]
        used = sum(len(os.fsencode(a)) + 1 for a in head)
        rest = length - used
        args = []
        while rest > 0:
            piece = min(rest, 60_000)  # each argument stays under MAX_ARG_STRLEN
            args.append("a" * (piece - 1))
            rest -= piece
        proc = subprocess.Popen(head + args, stdin=subprocess.PIPE)
        made.append(proc)
        path = f"/proc/{proc.pid}/cmdline"
        deadline = time.monotonic() + 10
        while True:
            content = _read(path)
            if len(content) == length or time.monotonic() > deadline:
                break
            time.sleep(0.01)  # still exec'ing
        assert len(content) == length
        assert os.stat(path).st_size == 0
        return path, content

    yield spawn
    for proc in made:
        proc.stdin.close()  # type: ignore[union-attr]
        proc.wait(10)


@needs_proc
def test_hash_file_reads_a_proc_file_to_its_end() -> None:
    for path in _stable_proc_files():
        content = _read(path)
        assert content, path
        result = cinev4.hash_file(path)
        assert result.sha256 == hashlib.sha256(content).hexdigest(), path
        assert result.size == len(content)
        assert result.sha256 != EMPTY_SHA256


@needs_proc
@pytest.mark.parametrize("kernel", ALL_KERNELS)
@pytest.mark.parametrize("io", ["mmap", "read"])
def test_hash_files_reads_size_zero_files_whole(kernel: str, io: Literal["mmap", "read"], long_cmdline: Any, tmp_path: Path) -> None:
    files = [long_cmdline(3 * 65536 + 1000), long_cmdline(2 * 65536), long_cmdline(65536 - 10)]
    files += [(p, _read(p)) for p in _stable_proc_files()]
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    normal = tmp_path / "normal"
    normal.write_bytes(os.urandom(300_000))
    files += [(str(empty), b""), (str(normal), normal.read_bytes())]
    paths = [p for p, _ in files] * 3  # enough to keep the lanes busy
    results = cinev4.hash_files(paths, 2, kernel=kernel, io=io, window="64K")
    for result, (path, content) in zip(results, files * 3):
        assert result.error is None, (path, result)
        assert result.sha256 == hashlib.sha256(content).hexdigest(), path
        assert result.size == len(content), path


@needs_proc
def test_proc_maps_is_not_the_empty_digest() -> None:
    (result,) = cinev4.hash_files(["/proc/self/maps"])
    assert result.error is None
    assert result.size > 0
    assert result.sha256 != EMPTY_SHA256


@needs_proc
def test_ordered_results_read_size_zero_files_whole() -> None:
    files = [(p, _read(p)) for p in _stable_proc_files()]
    results = [r for block in hash_files_ordered([p for p, _ in files], 2) for r in block]
    assert [(r.size, r.sha256) for r in results] == [(len(c), hashlib.sha256(c).hexdigest()) for _, c in files]
    start, digests, special = hash_files_ordered([p for p, _ in files], 2).next_block()
    assert start == 0 and special == {}  # sizes are the bytes read: nothing left to read again
    assert digests == b"".join(hashlib.sha256(c).digest() for _, c in files)


@needs_proc
def test_anchored_entry_points_read_size_zero_files_whole() -> None:
    content = _read("/proc/version")
    (result,) = hash_files_under("/proc", ["version"])
    assert (result.size, result.sha256) == (len(content), hashlib.sha256(content).hexdigest())
    assert check_files("/proc", ["version"], [0], [hashlib.sha256(content).hexdigest()]) == ([], 1, len(content))
    problems, _, _ = check_files("/proc", ["version"], [0], [EMPTY_SHA256])
    assert [(i, kind) for i, kind, *_ in problems] == [(0, "hash_differs")]


# --- 3. one ordered batch, two threads ---------------------------------------------------


@pytest.fixture()
def big_files(tmp_path: Path) -> list[str]:
    paths = []
    for i in range(4):
        path = tmp_path / f"big{i}"
        with open(path, "wb") as f:
            f.truncate(300 << 20)  # sparse: no disk written, still 300 MiB to hash
        paths.append(str(path))
    return paths


def test_close_from_another_thread_while_iterating(big_files: list[str]) -> None:
    for bulk in (False, True):
        # 16 x 300 MiB: still running at 0.2 s on any machine (the review's repro had 4).
        ordered = hash_files_ordered([big_files[0]] * 16, threads=2)
        outcome: dict[str, Any] = {}

        def iterate() -> None:
            try:
                if bulk:
                    blocks = []
                    while True:
                        try:
                            blocks.append(ordered.next_block())
                        except StopIteration:
                            break
                    outcome["blocks"] = blocks
                else:
                    outcome["blocks"] = [b for b in ordered]
            except BaseException as exc:  # pragma: no cover - the failure being tested for
                outcome["error"] = exc

        iterating = threading.Thread(target=iterate, daemon=True)
        iterating.start()
        time.sleep(0.2)
        closing = threading.Thread(target=ordered.close, daemon=True)
        started = time.monotonic()
        closing.start()
        closing.join(10)
        assert not closing.is_alive(), "close() hung"
        assert time.monotonic() - started < 5
        iterating.join(10)
        assert not iterating.is_alive(), "the iterating thread hung after close()"
        assert "error" not in outcome, outcome.get("error")
        given = sum(len(b) if not bulk else len(b[1]) // 32 for b in outcome["blocks"])
        assert given < 16  # cancelled: not every file was given
        with pytest.raises(StopIteration):
            next(ordered)
        ordered.close()  # idempotent


def test_close_from_the_main_thread_while_another_waits(big_files: list[str]) -> None:
    ordered = hash_files_ordered(big_files * 4, threads=2)
    done = threading.Event()
    outcome: list[Any] = []

    def iterate() -> None:
        try:
            outcome.append(list(ordered))
        except BaseException as exc:  # pragma: no cover
            outcome.append(exc)
        done.set()

    threading.Thread(target=iterate, daemon=True).start()
    time.sleep(0.2)
    started = time.monotonic()
    ordered.close()
    assert time.monotonic() - started < 5
    assert done.wait(10), "the iterating thread hung after close()"
    assert isinstance(outcome[0], list)


@pytest.mark.parametrize("bulk", [False, True])
def test_two_threads_iterating_share_the_results(tmp_path: Path, bulk: bool) -> None:
    paths = []
    for i in range(12):
        path = tmp_path / f"f{i:02d}"
        with open(path, "wb") as f:
            f.truncate((8 + 2 * i) << 20)
        paths.append(str(path))
    for _ in range(2):
        ordered = hash_files_ordered(paths, threads=2, interval=0.01)
        seen: list[list[Any]] = [[], []]
        errors: list[BaseException] = []

        def iterate(n: int) -> None:
            try:
                if bulk:
                    while True:
                        try:
                            start, digests, special = ordered.next_block()
                        except StopIteration:
                            return
                        seen[n] += [(start + k, digests[32 * k:32 * k + 32]) for k in range(len(digests) // 32)]
                        assert special == {}
                else:
                    for block in ordered:
                        seen[n] += [(paths.index(str(r.path)), r.digest) for r in block]
            except BaseException as exc:  # pragma: no cover
                errors.append(exc)

        _run_threads(iterate, 2, timeout=60)
        assert errors == []
        got = sorted(seen[0] + seen[1])
        assert [i for i, _ in got] == list(range(len(paths)))  # each file delivered once
        for i, digest in got:
            assert digest == hashlib.sha256(bytes((8 + 2 * i) << 20)).digest()


def test_close_while_two_threads_wait(big_files: list[str]) -> None:
    ordered = hash_files_ordered(big_files * 4, threads=2)
    results: list[Any] = []

    def iterate(_: int) -> None:
        try:
            results.append(list(ordered))
        except BaseException as exc:  # pragma: no cover
            results.append(exc)

    threads = [threading.Thread(target=iterate, args=(n,), daemon=True) for n in range(2)]
    for thread in threads:
        thread.start()
    time.sleep(0.2)
    ordered.close()
    for thread in threads:
        thread.join(10)
    assert not any(thread.is_alive() for thread in threads), "an iterating thread hung after close()"
    assert all(isinstance(r, list) for r in results), results


# --- 4. the digest column of check_files ------------------------------------------------


@pytest.fixture()
def two_files(tmp_path: Path) -> tuple[Path, list[str], list[int], list[str]]:
    (tmp_path / "a").write_bytes(b"alpha")
    (tmp_path / "b").write_bytes(b"beta")
    return tmp_path, ["a", "b"], [5, 4], [hashlib.sha256(b"alpha").hexdigest(), hashlib.sha256(b"beta").hexdigest()]


def test_check_files_accepts_a_good_column(two_files: Any) -> None:
    root, paths, sizes, digests = two_files
    assert check_files(root, paths, sizes, digests) == ([], 2, 9)
    assert check_files(root, paths, sizes, [d.upper() for d in digests]) == ([], 2, 9)


def test_check_files_refuses_digests_split_in_the_wrong_place(two_files: Any) -> None:
    root, paths, sizes, digests = two_files
    joined = "".join(digests)
    shifted = [joined[:66], joined[66:]]  # 66 and 62 hex digits: they join to the right column
    with pytest.raises(ValueError, match=r"digest 0 .*66"):
        check_files(root, paths, sizes, shifted)
    shifted = [joined[:62], joined[62:]]
    with pytest.raises(ValueError, match=r"digest 0 .*62"):
        check_files(root, paths, sizes, shifted)


def test_check_files_refuses_blanks_and_other_characters(two_files: Any) -> None:
    root, paths, sizes, digests = two_files
    spaced = " ".join(digests[1][k:k + 2] for k in range(0, 64, 2))[:64]  # "30 8c ...": 64 characters
    with pytest.raises(ValueError, match=r"digest 1 "):
        check_files(root, paths, sizes, [digests[0], spaced])
    with pytest.raises(ValueError, match=r"digest 1 "):
        check_files(root, paths, sizes, [digests[0], "g" * 64])
    with pytest.raises(ValueError, match=r"digest 0 "):
        check_files(root, paths, sizes, ["\u00e9" * 64, digests[1]])
    with pytest.raises(ValueError, match=r"digest 1 "):
        check_files(root, paths, sizes, [digests[0], digests[1][:-1] + "\n"])


def test_check_files_names_one_wrong_length_digest(two_files: Any) -> None:
    root, paths, sizes, digests = two_files
    with pytest.raises(ValueError) as info:
        check_files(root, paths[:1], sizes[:1], [digests[0] + "ab"])
    message = str(info.value)
    assert "1 paths but 1 digests" not in message
    assert "digest 0" in message and "66" in message


def test_check_files_counts_the_digests(two_files: Any) -> None:
    root, paths, sizes, digests = two_files
    with pytest.raises(ValueError, match="2 paths but 1 digests"):
        check_files(root, paths, sizes, digests[:1])
    with pytest.raises(ValueError, match="2 paths but 3 digests"):
        check_files(root, paths, sizes, digests + digests[:1])
    with pytest.raises(TypeError, match="digest 0"):
        check_files(root, paths, sizes, [bytes.fromhex(d) for d in digests])  # type: ignore[misc]


@pytest.mark.parametrize("name", ["sha-ni\0x", "avx2-x8\0", "\0"])
def test_a_kernel_name_holding_a_nul_is_refused(tmp_path: Any, name: str) -> None:
    # The C look-up stopped at the NUL: 'sha-ni\0x' ran sha-ni.
    target = tmp_path / "f"
    target.write_bytes(b"x")
    for call in (lambda: cinev4.hash_files([str(target)], kernel=name), lambda: cinev4.Sha256(b"x", kernel=name),
                 lambda: cinev4.hash_bytes(b"x", kernel=name)):
        with pytest.raises(ValueError, match=r"unknown or unavailable kernel .* \(a kernel name holds no NUL\)$"):
            call()
