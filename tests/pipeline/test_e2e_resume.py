"""Resumable verification and clean interrupts, for real: the installed CLI is killed
(SIGKILL), interrupted (SIGINT) and terminated (SIGTERM) while it hashes, then resumed.

The long hashes are sparse files (gigabytes of zeros that take no disk space), one
file per journal batch (CINEV4_JOURNAL_BATCH_FILES=1) and one thread, so a signal
lands midway on any machine.
"""
from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cinev4.pipeline.journal import JOURNAL_DIR

from helpers import age, make_writable, popen_cli, render, run_cli

pytestmark = pytest.mark.skipif(os.name == "nt", reason="POSIX signals")

FRAMES = 8
FRAME_BYTES = 192 << 20
ONE_BY_ONE = {"CINEV4_JOURNAL_BATCH_FILES": "1"}


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A manifested shot of FRAMES sparse frames (distinct bytes at their starts), dated an hour back."""
    base = tmp_path_factory.mktemp("resume")
    root = base / "proj"
    run_cli("init", str(root), "--id", "FILM01", cwd=base)
    run_cli("shot", "new", "SH010", cwd=root)
    out = render(root, frames=0)
    for index in range(FRAMES):
        with open(out / f"sh010.{1001 + index:04d}.exr", "wb") as handle:
            handle.write(f"frame {index}".encode())
            handle.truncate(FRAME_BYTES)
    age(out)
    run_cli("shot", "qc", "SH010", cwd=root)
    run_cli("manifest", "SH010", cwd=root)
    yield root
    make_writable(base)


@pytest.fixture(scope="module")
def full_report(big: Path) -> dict[str, Any]:
    """What a plain, uninterrupted verification reports."""
    return run_cli("verify", "SH010", "--json", cwd=big).json()  # type: ignore[no-any-return]


def journal_files(root: Path) -> list[Path]:
    folder = root / JOURNAL_DIR
    return sorted(folder.glob("verify-*.jsonl")) if folder.is_dir() else []


def journal_entries(root: Path) -> int:
    (journal,) = journal_files(root)
    return journal.read_bytes().count(b"\n") - 1  # whole lines, less the header


def start_and_wait_for(root: Path, entries: int) -> Any:
    """Start ``verify --resume`` and return once the journal holds ``entries`` digests."""
    proc = popen_cli("verify", "SH010", "--resume", "--json", "--threads", "1", cwd=root, env=ONE_BY_ONE)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        files = journal_files(root)
        if files and files[0].read_bytes().count(b"\n") - 1 >= entries:
            return proc
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.002)
    proc.kill()
    raise AssertionError("the journal never filled")


def without_resume(report: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in report.items() if k != "resume"}


def resume_and_compare(root: Path, full: dict[str, Any], journaled: int) -> dict[str, Any]:
    result = run_cli("verify", "SH010", "--resume", "--json", cwd=root)
    report = result.json()
    assert without_resume(report) == full
    total = FRAMES + 2  # frames, preview.mp4, qc.json
    assert report["resume"]["reused_files"] == journaled
    assert report["resume"]["hashed_files"] == total - journaled
    assert report["resume"]["warnings"] == [] and result.stderr == ""
    assert journal_files(root) == []  # a completed run deletes its journal
    return report  # type: ignore[no-any-return]


def test_sigkill_midway_then_resume_hashes_only_what_was_left(big: Path, full_report: dict[str, Any]) -> None:
    proc = start_and_wait_for(big, 2)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    journaled = journal_entries(big)
    assert 2 <= journaled < FRAMES  # midway
    resume_and_compare(big, full_report, journaled)
    # and a resumed run that finds no journal is a full run
    assert resume_and_compare(big, full_report, 0)["resume"]["hashed_files"] == FRAMES + 2


@pytest.mark.parametrize("signum, code, line", [(signal.SIGINT, 130, "cinev4: interrupted"),
                                                (signal.SIGTERM, 143, "cinev4: terminated"),
                                                (signal.SIGHUP, 129, "cinev4: hung up")])
def test_interrupt_keeps_the_journal_and_exits_with_one_line(
    big: Path, full_report: dict[str, Any], signum: int, code: int, line: str
) -> None:
    proc = start_and_wait_for(big, 1)
    sent = time.monotonic()
    proc.send_signal(signum)
    stdout, stderr = proc.communicate(timeout=30)
    assert time.monotonic() - sent < 1.0  # the workers stop within a second
    # click ends the terminal's "^C" line with a newline before the message: hence strip()
    assert proc.returncode == code and stderr.strip() == line
    # --json: still one document (docs/CONTRACT.md), saying why there is no report
    assert json.loads(stdout) == {"errors": [line.removeprefix("cinev4: ")], "exit_code": code, "ok": False}
    journaled = journal_entries(big)
    assert 1 <= journaled < FRAMES
    run_cli("verify", "SH010", "--sizes-only", cwd=big)  # .cinev4/ is no output: nothing extra
    resume_and_compare(big, full_report, journaled)


def test_a_hangup_the_caller_ignores_stays_ignored(big: Path, full_report: dict[str, Any]) -> None:
    # `nohup cinev4 verify ...`: the run must outlive its terminal.
    import subprocess

    from helpers import CINEV4, clean_env

    proc = subprocess.Popen([*CINEV4, "verify", "SH010", "--resume", "--json", "--threads", "1"], cwd=big,
                            env=clean_env(ONE_BY_ONE), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGHUP, signal.SIG_IGN))
    deadline = time.monotonic() + 60
    while not journal_files(big) and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.002)
    proc.send_signal(signal.SIGHUP)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 0 and stderr == "", stderr
    assert without_resume(json.loads(stdout)) == full_report


def test_damaged_journal_is_discarded_with_a_warning(big: Path, full_report: dict[str, Any]) -> None:
    proc = start_and_wait_for(big, 2)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)
    (journal,) = journal_files(big)
    lines = journal.read_bytes().split(b"\n")
    entry = json.loads(lines[1])
    entry["h"] = "0" * 64  # a lie about a digest, in a well-formed line: its checksum gives it away
    lines[1] = json.dumps(entry, sort_keys=True, separators=(",", ":")).encode()
    journal.write_bytes(b"\n".join(lines))
    result = run_cli("verify", "SH010", "--resume", "--json", cwd=big)
    assert without_resume(result.json()) == full_report
    assert result.json()["resume"]["reused_files"] == 0
    (warning,) = result.stderr.splitlines()
    assert warning.startswith(f"cinev4: warning: {JOURNAL_DIR}/verify-") and "is damaged (line 2 fails its checksum)" in warning
    assert journal_files(big) == []


def test_junk_in_the_journal_and_a_torn_last_line(big: Path, full_report: dict[str, Any]) -> None:
    proc = start_and_wait_for(big, 2)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)
    (journal,) = journal_files(big)
    whole = journal.read_bytes()
    whole = whole[: whole.rfind(b"\n") + 1]
    journaled = whole.count(b"\n") - 1
    journal.write_bytes(whole + b'{"p":"shots/SH010/outp')  # what a kill mid-append leaves: dropped quietly
    resume_and_compare(big, full_report, journaled)
    proc = start_and_wait_for(big, 1)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)
    (journal,) = journal_files(big)
    journal.write_bytes(journal.read_bytes() + b"\x00\xff garbage\n")
    result = run_cli("verify", "SH010", "--resume", "--json", cwd=big)
    assert result.json()["resume"]["reused_files"] == 0 and "is damaged (line" in result.stderr


def test_a_file_changed_since_it_was_journaled_is_hashed_again(big: Path, full_report: dict[str, Any]) -> None:
    proc = start_and_wait_for(big, 2)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)
    (journal,) = journal_files(big)
    victim_path = json.loads(journal.read_bytes().split(b"\n")[1])["p"]
    victim = big / victim_path
    os.chmod(victim, 0o644)
    st = os.stat(victim)
    with open(victim, "r+b") as handle:  # same size, same mtime, other bytes: only the ctime tells
        first = handle.read(1)
        handle.seek(0)
        handle.write(bytes([first[0] ^ 1]))
    os.utime(victim, ns=(st.st_atime_ns, st.st_mtime_ns))
    result = run_cli("verify", "SH010", "--resume", "--json", cwd=big, expect=1)
    problems = [(p["kind"], p["path"]) for m in result.json()["manifests"] for p in m["problems"]]
    assert problems == [("hash_differs", victim_path)]
    with open(victim, "r+b") as handle:  # put the bytes back for the other tests
        handle.write(first)
    age(victim.parent)
    run_cli("verify", "SH010", cwd=big)


@pytest.mark.parametrize("signum, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_interrupted_manifest_writes_nothing(project: Path, signum: int, code: int) -> None:
    run_cli("shot", "new", "SH010", cwd=project)
    out = render(project)
    with open(out / "plate.exr", "wb") as handle:
        handle.truncate(6 << 30)  # several seconds of hashing on one thread
    before = (project / "shots/SH010/shot.json").read_bytes()
    proc = popen_cli("manifest", "SH010", "--threads", "1", cwd=project)
    time.sleep(1.0)
    assert proc.poll() is None
    sent = time.monotonic()
    proc.send_signal(signum)
    stdout, stderr = proc.communicate(timeout=30)
    assert time.monotonic() - sent < 1.0
    assert proc.returncode == code and stdout == "" and len(stderr.split()) == 2 and "Traceback" not in stderr
    assert (project / "shots/SH010/shot.json").read_bytes() == before
    # The manifest's folder is made only once the hashing is done: a run stopped while hashing leaves none.
    assert not (project / "shots/SH010/manifests").exists()
