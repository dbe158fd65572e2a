"""Helpers of the tests that drive the real ``cinev4`` executable (tests/pipeline,
tests/contracts): running it, rendering outputs, editing documents by hand.

End-to-end tests run the installed console script in a subprocess, exactly
as a farm hook would, and assert the exit code, stdout and stderr. hashlib
appears here only as the reference the engine's digests are compared with.
Tests import these from here (``from helpers import run_cli``: pytest puts
tests/ on sys.path); the fixtures built on them are in tests/conftest.py.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any


def _cinev4_command() -> list[str]:
    script = Path(sys.executable).parent / ("cinev4.exe" if os.name == "nt" else "cinev4")
    if script.exists():
        return [str(script)]
    found = shutil.which("cinev4")  # pragma: no cover - a venv always has it
    return [found] if found else [sys.executable, "-m", "cinev4"]


CINEV4 = _cinev4_command()


@dataclass
class Result:
    args: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)

    def __str__(self) -> str:
        return f"cinev4 {' '.join(self.args)} -> {self.returncode}\nstdout:\n{self.stdout}\nstderr:\n{self.stderr}"


def clean_env(extra: dict[str, str] | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("SOURCE_DATE_EPOCH", "CINEV4_PROJECT")}
    env.update(extra or {})
    return env


def run_cli(*args: str, cwd: Path, expect: int | None = 0, env: dict[str, str] | None = None,
            timeout: float = 120) -> Result:
    """Run the real cinev4 executable; check the exit code and that no traceback escaped."""
    proc = subprocess.run([*CINEV4, *args], cwd=cwd, env=clean_env(env), capture_output=True, text=True,
                          timeout=timeout)
    result = Result(args, proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr, str(result)
    if expect is not None:
        assert proc.returncode == expect, str(result)
    if proc.returncode in (1, 2) and "Usage:" not in proc.stderr:
        # Errors are whole lines, each starting with the program name (warnings may come first).
        lines = [line for line in proc.stderr.splitlines() if line.strip()]
        errors = [line for line in lines if not line.startswith("cinev4: warning: ")]
        assert errors and all(line.startswith("cinev4: error: ") for line in errors), str(result)
    return result


def popen_cli(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen([*CINEV4, *args], cwd=cwd, env=clean_env(env), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def sha256_of(path: Path) -> str:
    """Reference digest (hashlib), never used by the package itself."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def age(folder: Path, seconds: float = 3600) -> None:
    """Date every file under ``folder`` back, as a render finished earlier would be (a journal
    never trusts a file modified within seconds of being checked)."""
    past = os.stat(folder).st_mtime - seconds
    for path in folder.rglob("*"):
        if path.is_file():
            os.utime(path, (past, past))


def render(root: Path, shot: str = "SH010", version: str = "v0001", frames: int = 3, seed: int = 1) -> Path:
    """What a render task leaves behind: frames, a preview movie and a qc.json."""
    out = root / "shots" / shot / "outputs" / version
    out.mkdir(parents=True, exist_ok=True)
    for index in range(frames):
        (out / f"{shot.lower()}.{1001 + index:04d}.exr").write_bytes(
            hashlib.sha256(f"{seed}-{index}".encode()).digest() * (64 + index))
    (out / "preview.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 4)
    (out / "qc.json").write_text('{"reviewer": "qc-bot", "approved": true}\n')
    return out


def copy_project(source: Path, root: Path) -> None:
    """A copy of a project made by the CLI: links kept as links, modes and mtimes kept (a
    manifest stays read-only, the stage key private); new inodes and ctimes, as a restore."""
    shutil.copytree(source, root, symlinks=True)


def make_writable(folder: Path) -> None:
    """Manifests are read-only; let pytest clean the temporary folder everywhere."""
    for dirpath, dirnames, filenames in os.walk(folder):
        for name in dirnames + filenames:
            path = os.path.join(dirpath, name)
            if not os.path.islink(path):
                os.chmod(path, 0o755 if name in dirnames else 0o644)


def rewrite(path: Path, data: bytes) -> None:
    """Replace a (possibly read-only) file's bytes, as a careless or hostile person would."""
    os.chmod(path, 0o644)
    path.write_bytes(data)


def pin(root: Path, shot: str, manifest: bytes) -> None:
    """Write ``manifest`` as the shot's manifest and pin its hash in shot.json, so a
    test reaches the checks that come after the manifest-hash check."""
    shot_file = root / "shots" / shot / "shot.json"
    record = json.loads(shot_file.read_text())
    target = root / record["manifest_ref"]["path"]
    rewrite(target, manifest)
    record["manifest_ref"]["sha256"] = hashlib.sha256(manifest).hexdigest()
    shot_file.write_text(json.dumps(record, indent=2))
