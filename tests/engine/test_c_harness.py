"""The multi-buffer kernels' own C harness (block-level and whole-message
checks against OpenSSL), built and run as part of the suite."""
from __future__ import annotations

import ctypes.util
import shutil
import subprocess
from pathlib import Path

import pytest

import cinev4

HARNESS = Path(__file__).resolve().parent.parent / "c" / "run_mb.sh"


@pytest.mark.skipif(shutil.which("cc") is None, reason="no C compiler")
@pytest.mark.skipif(ctypes.util.find_library("crypto") is None, reason="the harness links OpenSSL's libcrypto")
@pytest.mark.skipif(not cinev4.multibuffer_kernels(), reason="this CPU runs no multi-buffer kernel")
def test_multibuffer_c_harness() -> None:
    out = subprocess.run(["sh", str(HARNESS), "--quick", "--no-bench"], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert "FAIL" not in out.stdout
    # The harness picks kernels from the CPU as cv4_dispatch.c does: it must test every one offered.
    for name in cinev4.multibuffer_kernels():
        assert f"{name:<11} blocks: ok   messages: ok" in out.stdout, out.stdout[-3000:]
