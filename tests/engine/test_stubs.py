"""The extension's .pyi stub matches the compiled module and types real use."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("mypy")
TESTS = Path(__file__).resolve().parent.parent


def run_mypy(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "mypy", "--no-incremental", *args], capture_output=True,
                          text=True, timeout=300, cwd=TESTS)


def test_stub_matches_the_runtime_module() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "mypy.stubtest", "cinev4._fasthash", "--allowlist",
         str(TESTS / "stubtest_allowlist.txt")],
        capture_output=True, text=True, timeout=300,
    )
    assert out.returncode == 0, out.stdout + out.stderr


def test_stub_types_real_use_and_catches_misuse() -> None:
    ok = run_mypy("--strict", str(TESTS / "typing" / "usage_ok.py"))
    assert ok.returncode == 0, ok.stdout
    bad = run_mypy(str(TESTS / "typing" / "usage_bad.py"))
    assert bad.returncode == 1
    assert bad.stdout.count("error:") == 3, bad.stdout
