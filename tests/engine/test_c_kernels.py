"""The single-stream kernels' own C harness (tests/c/run_kernels.sh): every kernel the CPU
offers against the portable kernel, natively, and armv8-sha2 cross-compiled under qemu; the
two-lane interleaved kernels (sha-ni-x2, armv8-sha2-x2) likewise.

The qemu part needs aarch64-linux-gnu-gcc and qemu-aarch64(-static), which the project does
not install (a clean CI machine skips it): apt-get install gcc-aarch64-linux-gnu qemu-user-static."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

import cinev4

HARNESS = Path(__file__).resolve().parent.parent / "c" / "run_kernels.sh"


def run(*args: str) -> str:
    out = subprocess.run(["sh", str(HARNESS), *args], capture_output=True, text=True, timeout=300)
    text = out.stdout + out.stderr
    assert out.returncode == 0, text[-6000:]
    assert "FAIL" not in out.stdout, text[-6000:]
    return out.stdout


@pytest.mark.skipif(shutil.which("cc") is None, reason="no C compiler (cc)")
def test_kernels_native() -> None:
    stdout = run("--native-only")
    assert "OK:" in stdout
    # The harness selects kernels as cv4_dispatch.c does: it must test what the module offers.
    for name in ("sha-ni", "armv8-sha2"):
        if name in cinev4.available_kernels():
            assert f"kernel {name}" in stdout, stdout
    for name in ("sha-ni-x2", "armv8-sha2-x2"):
        if name in cinev4.multibuffer_kernels():
            assert f"kernel {name:<10} ok" in stdout, stdout


@pytest.mark.skipif(shutil.which("aarch64-linux-gnu-gcc") is None,
                    reason="no aarch64-linux-gnu-gcc (apt-get install gcc-aarch64-linux-gnu)")
@pytest.mark.skipif(shutil.which("qemu-aarch64-static") is None and shutil.which("qemu-aarch64") is None,
                    reason="no qemu-aarch64(-static) (apt-get install qemu-user-static)")
def test_kernels_aarch64_under_qemu() -> None:
    stdout = run("--qemu-only")
    assert "kernel armv8-sha2 ok" in stdout, stdout
    assert "kernel armv8-sha2-x2 ok" in stdout, stdout
