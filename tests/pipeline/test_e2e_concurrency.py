"""Concurrent writers and killed writers, with real processes."""
from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from helpers import popen_cli, render, run_cli

MANIFEST = "shots/SH010/manifests/v0001/manifest.json"
OUT = "shots/SH010/outputs/v0001"
HAS_PROC = Path("/proc/self/fd").is_dir()


def big_render(root: Path, files: int, size: int) -> Path:
    """Sparse files: large enough for hashing to take a while, no disk used."""
    out = render(root)
    for index in range(files):
        with open(out / f"plate.{2001 + index}.exr", "wb") as handle:
            handle.truncate(size)
            handle.seek(size // 2)
            handle.write(f"frame {index}".encode())
    return out


def assert_no_partial_manifest(root: Path) -> None:
    """Either no manifest, or a complete, valid, read-only one; never a temp file."""
    folder = root / "shots/SH010/manifests/v0001"
    if folder.exists():
        leftovers = [p.name for p in folder.iterdir() if p.name != "manifest.json"]
        # a temp file may remain only if the kill hit between its creation and the link
        for name in leftovers:
            assert name.startswith(".manifest.json.") and name.endswith(".tmp"), leftovers
    manifest = root / MANIFEST
    if manifest.exists():
        data = json.loads(manifest.read_bytes())
        assert data["schema"] == "cinev4/manifest@1" and data["artifacts"]
        assert stat.S_IMODE(manifest.stat().st_mode) == 0o444
    record = json.loads((root / "shots/SH010/shot.json").read_bytes())  # never half-written either
    assert record["id"] == "SH010"


def test_concurrent_manifest_runs_exactly_one_wins(project: Path) -> None:
    run_cli("shot", "new", "SH010", cwd=project)
    big_render(project, files=2, size=128 * 1024 * 1024)
    procs = [popen_cli("manifest", "SH010", "--json", cwd=project) for _ in range(3)]
    outcomes = []
    for proc in procs:
        stdout, stderr = proc.communicate(timeout=120)
        assert "Traceback" not in stderr
        outcomes.append((proc.returncode, stdout, stderr))
    codes = sorted(code for code, _, _ in outcomes)
    assert codes == [0, 2, 2], outcomes
    # A loser that arrives while the winner hashes finds the shot busy; one that arrives after it
    # finds the manifest written: both are exact lines (test_bite.py reaches each deterministically).
    busy = "cinev4: error: shot SH010 is busy: another cinev4 process is writing it (try again when it has finished)"
    exists = ("cinev4: error: shots/SH010/manifests/v0001/manifest.json already exists: "
              "a manifest is written once and never replaced")
    for code, stdout, stderr in outcomes:
        if code == 2:
            assert stderr.splitlines() in ([busy], [exists]), stderr
    winner = next(json.loads(stdout) for code, stdout, _ in outcomes if code == 0)
    record = run_cli("shot", "show", "SH010", "--json", cwd=project).json()["shot"]
    assert record["manifest_ref"]["sha256"] == winner["manifest_sha256"]
    run_cli("verify", "SH010", cwd=project)


def _wait_until_hashing(pid: int, outputs: Path, timeout: float = 30.0) -> bool:
    """True once the process has one of the output files open (the engine is reading)."""
    deadline = time.monotonic() + timeout
    fd_dir = Path(f"/proc/{pid}/fd")
    while time.monotonic() < deadline:
        try:
            for fd in fd_dir.iterdir():
                try:
                    if os.readlink(fd).startswith(str(outputs)):
                        return True
                except OSError:
                    continue
        except OSError:
            return False  # the process is gone
        time.sleep(0.002)
    return False


@pytest.mark.skipif(not HAS_PROC, reason="watches /proc/<pid>/fd to kill the writer while it hashes")
def test_writer_killed_while_hashing_leaves_nothing_and_rerun_succeeds(project: Path) -> None:
    run_cli("shot", "new", "SH010", cwd=project)
    outputs = big_render(project, files=3, size=384 * 1024 * 1024)
    shot_before = (project / "shots/SH010/shot.json").read_bytes()
    proc = popen_cli("manifest", "SH010", "--threads", "1", cwd=project)
    try:
        assert _wait_until_hashing(proc.pid, outputs.resolve()), "the writer never started hashing"
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    assert not (project / MANIFEST).exists()
    # The manifest's folder is made only once the hashing is done: a writer killed while hashing leaves none.
    assert not (project / "shots/SH010/manifests").exists()
    assert (project / "shots/SH010/shot.json").read_bytes() == shot_before
    # the kernel dropped the dead writer's lock: the rerun is not "busy"
    rerun = run_cli("manifest", "SH010", "--json", cwd=project).json()
    assert rerun["adopted"] is False and rerun["artifact_count"] == 8
    run_cli("verify", "SH010", cwd=project)


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")
def test_writer_killed_at_any_moment_never_leaves_a_partial_manifest(project: Path) -> None:
    run_cli("shot", "new", "SH010", cwd=project)
    big_render(project, files=2, size=32 * 1024 * 1024)
    for delay in (0.05, 0.15, 0.25, 0.35, 0.5):
        proc = popen_cli("manifest", "SH010", cwd=project)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=60)
        assert_no_partial_manifest(project)
        if proc.returncode == 0 or (project / MANIFEST).exists():
            break
    # whatever the moment of the kill, a rerun ends with a pinned manifest that verifies
    if not json.loads((project / "shots/SH010/shot.json").read_bytes())["manifest_ref"]:
        run_cli("manifest", "SH010", cwd=project)
    run_cli("verify", "SH010", cwd=project)
    assert not list((project / "shots/SH010/manifests/v0001").glob(".*.tmp"))


def test_rerun_adopts_a_complete_manifest_that_was_never_pinned(project: Path) -> None:
    """The writer died between writing the manifest and pinning it in shot.json: what it leaves
    is the manifest and its second link (the proof that cinev4 wrote it, see manifests.py)."""
    run_cli("shot", "new", "SH010", cwd=project)
    render(project)
    first = run_cli("manifest", "SH010", "--json", cwd=project).json()
    shot_file = project / "shots/SH010/shot.json"
    record = json.loads(shot_file.read_bytes())
    record["manifest_ref"], record["artifacts"] = None, []
    shot_file.write_text(json.dumps(record))
    proof = project / "shots/SH010/.manifest-v0001.unpinned.tmp"
    os.link(project / MANIFEST, proof)
    (project / "shots/SH010/manifests/v0001/.manifest.json.abc123.tmp").write_bytes(b'{"half": ')
    adopted = run_cli("manifest", "SH010", "--json", cwd=project).json()
    assert adopted["adopted"] is True and adopted["manifest_sha256"] == first["manifest_sha256"]
    assert sorted(p.name for p in (project / "shots/SH010/manifests/v0001").iterdir()) == ["manifest.json"]
    assert not proof.exists()
    run_cli("verify", "SH010", cwd=project)
    # an unpinned manifest that no longer matches the files is not adopted
    shot_file.write_text(json.dumps(record))
    os.link(project / MANIFEST, proof)
    (project / OUT / "qc.json").write_text('{"approved": false}\n')
    refused = run_cli("manifest", "SH010", cwd=project, expect=2)
    assert "does not verify" in refused.stderr


@pytest.mark.parametrize("argv", [["--version"], ["hash", "pyproject.toml"]])
def test_hash_and_version_do_not_import_the_pipeline(argv: list[str]) -> None:
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "cinev4", *argv],
                          capture_output=True, text=True, cwd=Path(__file__).parents[2], timeout=60)
    assert proc.returncode == 0, proc.stderr[-2000:]
    imported = {line.split("|")[-1].strip() for line in proc.stderr.splitlines() if line.startswith("import time:")}
    heavy = {name for name in imported if name.startswith(("cinev4.pipeline", "cinev4.contracts", "jsonschema_rs"))}
    assert not heavy, heavy


@pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")
@pytest.mark.parametrize("as_json", [False, True])
def test_progress_bar_only_on_a_terminal_and_never_with_json(project: Path, as_json: bool) -> None:
    import pty

    from helpers import CINEV4, clean_env

    run_cli("shot", "new", "SH010", cwd=project)
    big_render(project, files=1, size=64 * 1024 * 1024)
    controller, terminal = pty.openpty()  # stderr is a terminal, stdout a pipe
    args = [*CINEV4, "manifest", "SH010", *(["--json"] if as_json else [])]
    proc = subprocess.Popen(args, cwd=project, env=clean_env(None), stdout=subprocess.PIPE, stderr=terminal)
    os.close(terminal)
    seen = b""
    while True:
        try:
            chunk = os.read(controller, 4096)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        seen += chunk
    os.close(controller)
    stdout, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0
    if as_json:
        assert seen == b"" and json.loads(stdout)["ok"]
    else:
        assert b"hashing" in seen and b"6/6 files" in seen and b"100%" in seen
    # piped stderr (every other test here) never shows a bar
    piped = run_cli("verify", "SH010", cwd=project)
    assert piped.stderr == ""
