"""`cinev4 hash` reads what sha256sum reads: files whose size the kernel does not report
(procfs, sysfs) and non-regular files (FIFO, /dev/stdin, process substitution) are read to
EOF on the engine's Sha256. The pipeline keeps refusing them as artifacts."""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest

import cinev4
from cinev4.errors import NotRegularFileError

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="procfs and sysfs are Linux's")
needs_fifo = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="FIFOs are POSIX only")
SHA256SUM = shutil.which("sha256sum")


def cinev4_exe() -> list[str]:
    script = Path(sys.executable).parent / "cinev4"
    return [str(script)] if script.exists() else [sys.executable, "-m", "cinev4"]


def hash_cli(*args: str, **kwargs: object) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([*cinev4_exe(), "hash", *args], capture_output=True, timeout=60, **kwargs)  # type: ignore[call-overload]


@linux_only
def test_proc_file_of_size_zero_is_read_to_eof() -> None:
    assert os.stat("/proc/version").st_size == 0
    content = Path("/proc/version").read_bytes()
    assert content  # the point: size 0, yet content
    out = hash_cli("/proc/version")
    assert out.returncode == 0, out.stderr
    assert out.stdout == f"{hashlib.sha256(content).hexdigest()}  /proc/version\n".encode()


@linux_only
def test_sys_file_whose_size_is_not_its_content() -> None:
    candidates = ["/sys/kernel/mm/transparent_hugepage/enabled", "/sys/kernel/profiling", "/sys/power/state"]
    found = [p for p in candidates if os.path.isfile(p) and os.access(p, os.R_OK)]
    if not found:
        pytest.skip("no readable sysfs file here")
    path = found[0]
    content = Path(path).read_bytes()
    assert os.stat(path).st_size != len(content)
    out = hash_cli(path)
    assert out.returncode == 0, out.stderr
    assert out.stdout == f"{hashlib.sha256(content).hexdigest()}  {path}\n".encode()


@needs_fifo
def test_fifo_is_read_once_to_eof(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    payload = os.urandom(300_000)  # more than a pipe buffer: the writer waits for the reader

    def writer() -> None:
        with open(fifo, "wb") as handle:
            handle.write(payload)

    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    out = hash_cli(str(fifo), "/dev/null", cwd=tmp_path)
    thread.join(10)
    assert out.returncode == 0, out.stderr
    assert out.stdout == (f"{hashlib.sha256(payload).hexdigest()}  {fifo}\n"
                          f"{hashlib.sha256(b'').hexdigest()}  /dev/null\n").encode()


@linux_only
def test_dev_stdin_from_a_pipe() -> None:
    out = hash_cli("/dev/stdin", input=b"through a pipe\n")
    assert out.returncode == 0, out.stderr
    assert out.stdout == f"{hashlib.sha256(b'through a pipe' + bytes([10])).hexdigest()}  /dev/stdin\n".encode()


@pytest.mark.skipif(shutil.which("bash") is None or SHA256SUM is None, reason="needs bash and GNU sha256sum")
def test_process_substitution_matches_sha256sum(tmp_path: Path) -> None:
    exe = " ".join(f"'{part}'" for part in cinev4_exe())
    ours = subprocess.run(["bash", "-c", f"{exe} hash <(printf 'abc')"], capture_output=True, timeout=60)
    theirs = subprocess.run(["bash", "-c", "sha256sum <(printf 'abc')"], capture_output=True, timeout=60)
    assert ours.returncode == 0, ours.stderr
    assert ours.stdout.split()[0] == theirs.stdout.split()[0] == hashlib.sha256(b"abc").hexdigest().encode()


@needs_fifo
def test_engine_refuses_a_fifo_without_opening_it(tmp_path: Path) -> None:
    """The pipeline's path: a FIFO is refused from its stat, never opened, so a writer
    waiting for a reader keeps waiting (an open would let it in and lose its bytes)."""
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    opened = threading.Event()

    def writer() -> None:
        with open(fifo, "wb") as handle:  # blocks until some reader opens the FIFO
            opened.set()
            handle.write(b"x")

    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    result = cinev4.hash_files([fifo, fifo])[0]
    assert isinstance(result.error, NotRegularFileError)
    assert result.error.kind == "FIFO"
    assert not opened.wait(0.5)
    with open(fifo, "rb") as reader:  # let the writer finish
        assert reader.read() == b"x"
    thread.join(10)


def test_sparse_giant_sums_file_refused_before_reading(tmp_path: Path) -> None:
    sums = tmp_path / "SUMS"
    with open(sums, "wb") as handle:
        handle.truncate(100 * 1024**3)
    out = hash_cli("-c", str(sums), cwd=tmp_path)
    assert out.returncode == 2
    assert out.stderr == (f"cinev4: error: {sums}: the file is {100 * 1024**3} bytes (expected a sha256sum file "
                          "of at most 268435456 bytes)\n").encode()


@linux_only
def test_endless_sums_stream_is_cut_at_the_limit() -> None:
    out = hash_cli("-c", "/dev/zero")
    assert out.returncode == 2
    assert out.stderr == (b"cinev4: error: /dev/zero: more than 268435456 bytes (expected a sha256sum file "
                          b"of at most 268435456 bytes)\n")


@needs_fifo
def test_sums_file_from_a_fifo(tmp_path: Path) -> None:
    target = tmp_path / "f"
    target.write_bytes(b"content")
    fifo = tmp_path / "SUMS"
    os.mkfifo(fifo)
    line = f"{hashlib.sha256(b'content').hexdigest()}  f\n".encode()

    def writer() -> None:
        with open(fifo, "wb") as handle:
            handle.write(line)

    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    out = hash_cli("-c", "SUMS", cwd=tmp_path)
    thread.join(10)
    assert (out.returncode, out.stdout) == (0, b"f: OK\n"), out.stderr
