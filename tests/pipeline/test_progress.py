"""Progress on stderr: one line that fits the terminal (never wraps), plain lines for logs.

The terminal cases run the real command with its stderr on a pseudo-terminal
of 60 columns and read back every byte the terminal received.
"""
from __future__ import annotations

import io
import os
import re
import select
import subprocess
from pathlib import Path

import pytest

from cinev4.progress import LineProgress, TerminalProgress, progress_for
from helpers import CINEV4, clean_env, render, run_cli

class _Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _run_on_pty(args: list[str], cwd: Path, env: dict[str, str]) -> tuple[int, bytes, str]:
    """Run cinev4 with stderr on a pseudo-terminal; return (exit code, the terminal's bytes, stdout)."""
    leader, follower = os.openpty()
    try:
        proc = subprocess.Popen([*CINEV4, *args], cwd=cwd, env=clean_env(env), stdout=subprocess.PIPE,
                                stderr=follower, stdin=subprocess.DEVNULL)
        os.close(follower)
        received = b""
        while True:
            ready, _, _ = select.select([leader], [], [], 30)
            if not ready:
                break
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # EIO: the command closed its end
                break
            if not chunk:
                break
            received += chunk
        stdout, _ = proc.communicate(timeout=30)
        return proc.returncode, received, stdout.decode()
    finally:
        os.close(leader)


@pytest.mark.parametrize("width", [20, 40, 59, 60, 79, 120, 200])
def test_terminal_line_fits_every_width(width: int) -> None:
    clock = _Clock()
    bar = TerminalProgress("verifying", io.StringIO(), clock=clock)
    bar.start(5 * 1024**3, 1240)
    clock.now += 4
    bar.update(2 * 1024**3, 500)
    line = bar.line(width)
    assert len(line) <= width
    assert "ETA" in line  # the last piece ever dropped
    if width >= 60:
        assert "2.0 GiB/5.0 GiB" in line and "500/1240 files" in line and "537 MB/s" in line


def test_terminal_line_keeps_bar_percent_bytes_files_rate_eta_when_wide() -> None:
    clock = _Clock()
    bar = TerminalProgress("verifying", io.StringIO(), clock=clock)
    bar.start(1000 * 10**6, 10)
    clock.now += 2
    bar.update(500 * 10**6, 5)
    assert bar.line(120) == ("verifying   50%  [" + "#" * 20 + "." * 20 + "]  476.8 MiB/953.7 MiB  "
                             "5/10 files  250 MB/s  ETA 0:02")


def test_line_progress_says_a_line_per_interval_and_one_at_the_end() -> None:
    clock = _Clock()
    out = io.StringIO()
    log = LineProgress("verifying", interval_s=10, stream=out, clock=clock)
    log.start(40_000_000, 4)
    clock.now += 5
    log.update(10_000_000, 1)
    assert out.getvalue() == ""
    clock.now += 5
    log.update(20_000_000, 2)
    clock.now += 1
    log.update(30_000_000, 3)
    log.finish()
    assert out.getvalue().splitlines() == [
        "cinev4: verifying: 50%, 19.1 MiB of 38.1 MiB, 2 of 4 files, 2 MB/s, ETA 0:10",
        "cinev4: verifying: 75%, 28.6 MiB of 38.1 MiB, 3 of 4 files, 3 MB/s, ETA 0:04",
    ]


def test_verify_under_a_60_column_pty_never_wraps(manifested: Path) -> None:
    code, received, stdout = _run_on_pty(["verify", "--all"], manifested, {"COLUMNS": "60", "TERM": "xterm"})
    assert code == 0, received
    text = received.decode()
    assert "\x1b" not in text  # redrawn with a carriage return only
    bar_lines = [segment for line in text.replace("\r\n", "\n").split("\n") for segment in line.split("\r")
                 if "ETA" in segment]
    assert bar_lines, text
    assert all(len(segment) <= 59 for segment in bar_lines), bar_lines
    final = bar_lines[-1]
    assert "100%" in final and "5/5 files" in final and "MB/s" in final and "ETA 0:00" in final
    assert stdout.startswith("SH010 v0001: OK")


def test_dumb_terminal_gets_no_bar_and_no_control_characters(manifested: Path) -> None:
    code, received, _ = _run_on_pty(["verify", "--all"], manifested, {"COLUMNS": "60", "TERM": "dumb"})
    assert code == 0
    assert received == b""
    code, received, _ = _run_on_pty(["verify", "--all", "--progress"], manifested,
                                    {"COLUMNS": "60", "TERM": "dumb"})
    assert code == 0
    assert b"\r" not in received.replace(b"\r\n", b"\n") and b"\x1b" not in received
    assert received.decode().replace("\r\n", "\n").startswith("cinev4: verifying: 100%")


def test_off_a_terminal_progress_prints_plain_lines_to_stderr(manifested: Path) -> None:
    silent = run_cli("verify", "--all", cwd=manifested)
    assert silent.stderr == ""
    # The default interval (10 s) is longer than this run: only the line at the end.
    once = run_cli("verify", "--all", "--progress", "--json", cwd=manifested)
    assert once.json()["ok"] is True
    lines = once.stderr.splitlines()
    assert len(lines) == 1, lines
    assert re.fullmatch(r"cinev4: verifying: 100%, [\d.]+ (B|KiB) of [\d.]+ (B|KiB), 5 of 5 files, \d+ MB/s, "
                        r"ETA 0:00", lines[0]), lines
    every = run_cli("verify", "--all", cwd=manifested, env={"CINEV4_PROGRESS": "1", "CINEV4_PROGRESS_INTERVAL": "0"})
    assert len(every.stderr.splitlines()) >= 2  # a line at each update, and one at the end
    assert all(line.startswith("cinev4: verifying: ") for line in every.stderr.splitlines())


def test_progress_zero_turns_it_off_even_on_a_terminal(manifested: Path) -> None:
    code, received, _ = _run_on_pty(["verify", "--all", "--progress"], manifested,
                                    {"COLUMNS": "60", "TERM": "xterm", "CINEV4_PROGRESS": "0"})
    assert code == 0
    assert received == b""


def test_bad_progress_settings_are_one_line_at_start_up(tmp_path: Path) -> None:
    result = run_cli("--version", cwd=tmp_path, expect=2, env={"CINEV4_PROGRESS_INTERVAL": "soon"})
    assert result.stderr == ("cinev4: error: CINEV4_PROGRESS_INTERVAL='soon': expected a number of seconds "
                             "from 0 to 86400\n")


def test_progress_for_chooses_by_terminal_and_request(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CINEV4_PROGRESS", raising=False)
    assert progress_for("x", as_json=False, requested=False) is None  # pytest's stderr is not a terminal
    assert isinstance(progress_for("x", as_json=True, requested=True), LineProgress)
    monkeypatch.setenv("CINEV4_PROGRESS", "1")
    assert isinstance(progress_for("x"), LineProgress)


def test_the_progress_module_needs_no_click() -> None:
    """``cinev4 hash`` starts without click; its progress must not bring it in."""
    import subprocess
    import sys

    code = "import sys, cinev4.progress; assert 'click' not in sys.modules, 'click imported'"
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)



@pytest.mark.parametrize("columns", ["\u00b2", "\u0663\u0660", "0", "-5", "wide"])
def test_a_columns_value_that_is_no_width_falls_back_to_the_terminal(
        columns: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # '²' passes str.isdigit and failed int(): an internal error under every progress bar.
    from cinev4.progress import terminal_width

    monkeypatch.setenv("COLUMNS", columns)
    leader, follower = os.openpty()
    try:
        with open(follower, "w", closefd=False) as stream:
            assert terminal_width(stream) == (os.get_terminal_size(follower).columns or 80)
    finally:
        os.close(leader)
        os.close(follower)


def test_columns_sets_the_width(monkeypatch: pytest.MonkeyPatch) -> None:
    from cinev4.progress import terminal_width

    monkeypatch.setenv("COLUMNS", "61")
    assert terminal_width(io.StringIO()) == 61
