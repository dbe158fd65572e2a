"""`cinev4 hash` writes each line as soon as its file and all before it are done (in input
order), so an interrupt leaves every finished line printed; lines are whole even when two
commands share one pipe; a full disk is one line and exit 1; a closed pipe ends quietly."""
from __future__ import annotations

import hashlib
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

posix_only = pytest.mark.skipif(os.name != "posix", reason="signals, /dev/full and xargs are POSIX")


def cinev4_exe() -> list[str]:
    script = Path(sys.executable).parent / "cinev4"
    return [str(script)] if script.exists() else [sys.executable, "-m", "cinev4"]


@pytest.fixture()
def frames(tmp_path: Path) -> list[Path]:
    """24 frames of 6 MiB each (different contents, slightly different sizes: the
    engine must not reorder them by size)."""
    block = os.urandom(1 << 20)
    paths = []
    for i in range(24):
        path = tmp_path / f"sh010.{i:04d}.exr"
        path.write_bytes(bytes([i]) * (i + 1) + block * 6)
        paths.append(path)
    return paths


def expected_line(path: Path) -> bytes:
    return f"{hashlib.sha256(path.read_bytes()).hexdigest()}  {path}\n".encode()


def slow_hash(*args: str, launcher: list[str] | None = None) -> subprocess.Popen[bytes]:
    # One thread on the portable kernel: the run lasts long enough to watch.
    return subprocess.Popen([*(launcher or cinev4_exe()), "hash", "--threads", "1", "--kernel", "portable", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def finish(child: subprocess.Popen[bytes]) -> tuple[bytes, bytes]:
    """The rest of stdout and all of stderr. Through the same buffered readers as the
    readline() before: communicate() reads the raw pipes and would lose lines that
    readline() had already buffered."""
    assert child.stdout is not None and child.stderr is not None
    rest = child.stdout.read()
    err = child.stderr.read()
    child.wait(timeout=120)
    return rest, err


def test_first_line_arrives_while_later_files_are_hashed(frames: list[Path]) -> None:
    with slow_hash(*map(str, frames)) as child:
        assert child.stdout is not None
        first = child.stdout.readline()
        still_running = child.poll() is None
        rest, err = finish(child)
    assert still_running
    assert first == expected_line(frames[0])
    assert first + rest == b"".join(expected_line(p) for p in frames)
    assert (child.returncode, err) == (0, b"")


# The click group's `hash` (an older console script) and `python -m cinev4` (cinev4._console,
# the console script now: no click).
LAUNCHERS = {"click-group": None, "console": [sys.executable, "-m", "cinev4"]}


@posix_only
@pytest.mark.parametrize("launcher", list(LAUNCHERS))
@pytest.mark.parametrize("signame, code, word", [("SIGINT", 130, b"interrupted"), ("SIGTERM", 143, b"terminated")])
def test_interrupt_leaves_every_finished_line(frames: list[Path], launcher: str, signame: str, code: int,
                                              word: bytes) -> None:
    with slow_hash(*map(str, frames), launcher=LAUNCHERS[launcher]) as child:
        assert child.stdout is not None
        first = child.stdout.readline()
        child.send_signal(getattr(signal, signame))
        rest, err = finish(child)
    printed = (first + rest).splitlines(keepends=True)
    assert child.returncode == code
    assert err == b"cinev4: " + word + b"\n"
    assert 1 <= len(printed) < len(frames)
    assert printed == [expected_line(p) for p in frames[:len(printed)]]


@posix_only
def test_check_lines_also_stream(frames: list[Path], tmp_path: Path) -> None:
    sums = tmp_path / "SUMS"
    sums.write_bytes(b"".join(expected_line(p) for p in frames))
    with slow_hash("-c", str(sums)) as child:
        assert child.stdout is not None
        first = child.stdout.readline()
        still_running = child.poll() is None
        rest, err = finish(child)
    assert still_running
    assert first == f"{frames[0]}: OK\n".encode()
    assert first + rest == b"".join(f"{p}: OK\n".encode() for p in frames)


@posix_only
def test_two_commands_on_one_pipe_never_split_a_line(tmp_path: Path) -> None:
    folder = tmp_path / "tmp"
    folder.mkdir()
    for i in range(500):
        (folder / f"{i:040d}").touch()  # long names: 40 KiB of lines per command
    script = (f"find tmp tmp tmp -type f | xargs -n500 -P2 {' '.join(cinev4_exe())} hash")
    out = subprocess.run(["sh", "-c", script], cwd=tmp_path, capture_output=True, timeout=120)
    assert (out.returncode, out.stderr) == (0, b"")
    lines = out.stdout.split(b"\n")
    assert lines.pop() == b""
    assert len(lines) == 1500
    assert all(re.fullmatch(rb"[0-9a-f]{64}  tmp/\d{40}", line) for line in lines)


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_write_error_is_one_line_and_exit_1(tmp_path: Path) -> None:
    names = []
    for i in range(3):
        (tmp_path / f"f{i}").write_bytes(b"x")
        names.append(f"f{i}")
    with open("/dev/full", "wb") as full:
        out = subprocess.run([*cinev4_exe(), "hash", *names], cwd=tmp_path, stdout=full, stderr=subprocess.PIPE,
                             timeout=60)
    assert out.returncode == 1
    assert out.stderr == b"cinev4: write error\n"  # as GNU's: the reason only when closing stdout fails


@posix_only
def test_closed_pipe_ends_quietly(tmp_path: Path) -> None:
    for i in range(2000):
        (tmp_path / f"f{i:05d}").write_bytes(b"x")
    names = sorted(p.name for p in tmp_path.iterdir())
    with subprocess.Popen([*cinev4_exe(), "hash", *names], cwd=tmp_path, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE) as child:
        assert child.stdout is not None and child.stderr is not None
        first = child.stdout.readline()
        child.stdout.close()  # `| head -1`
        err = child.stderr.read()
        child.wait(timeout=60)
    assert first == f"{hashlib.sha256(b'x').hexdigest()}  f00000\n".encode()
    assert err == b""
    assert child.returncode == -signal.SIGPIPE  # as sha256sum: ended by the signal, no message


def test_console_script_runs_hash_without_click(tmp_path: Path) -> None:
    (tmp_path / "f").write_bytes(b"abc")
    code = ("import sys\nfrom cinev4._console import main\n"
            "try:\n    main(['hash', 'f'])\nexcept SystemExit as stop:\n"
            "    print(stop.code, sorted(m for m in sys.modules if m.split('.')[0] == 'click'))")
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, timeout=60)
    assert out.stdout == f"{hashlib.sha256(b'abc').hexdigest()}  f\n0 []\n".encode()
    assert out.stderr == b""

