"""The kernel the engine picks, checked against what the CPU says it offers.

The engine's CPU detection is its own code (cpuid, getauxval, sysctl); here
the operating system's own report (/proc/cpuinfo on Linux) is the
reference, so a broken detection that silently falls back to a slower
kernel fails a test instead of shipping green.
"""
from __future__ import annotations

import platform
from pathlib import Path

import pytest

import cinev4

CPUINFO = Path("/proc/cpuinfo")
MACHINE = platform.machine().lower()
X86 = MACHINE in ("x86_64", "amd64")
ARM64 = MACHINE in ("aarch64", "arm64")


def _linux_cpu_flags() -> set[str] | None:
    """The first CPU's feature flags (x86 ``flags``, ARM ``Features``); None off Linux."""
    try:
        text = CPUINFO.read_text()
    except OSError:
        return None
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("flags", "Features"):
            return set(value.split())
    return None


FLAGS = _linux_cpu_flags()
needs_cpuinfo = pytest.mark.skipif(FLAGS is None, reason="no /proc/cpuinfo here: the OS report is Linux's")

# /proc/cpuinfo flag -> the engine's name for the same feature.
X86_FEATURES = {"sha_ni": "sha", "ssse3": "ssse3", "sse4_1": "sse4.1", "avx2": "avx2", "bmi2": "bmi2",
                "avx512f": "avx512f", "avx512bw": "avx512bw", "avx512vl": "avx512vl"}


@pytest.fixture(autouse=True)
def _engine_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    """The engine's own choice: no forced kernel, lanes or window from the environment."""
    for name in ("CINEV4_KERNEL", "CINEV4_LANE_MIN"):
        monkeypatch.delenv(name, raising=False)


@needs_cpuinfo
@pytest.mark.skipif(not X86, reason="x86-64 features")
def test_x86_features_match_the_kernel_report() -> None:
    assert FLAGS is not None
    seen = set(cinev4.engine_info()["cpu_features"])
    for flag, name in X86_FEATURES.items():
        # AVX-512 and AVX2 also need the OS to save their registers (XGETBV): Linux lists
        # the flag only when it does, so the two reports must agree both ways.
        assert (name in seen) == (flag in FLAGS), (flag, name, sorted(seen))


@needs_cpuinfo
@pytest.mark.skipif(not ARM64, reason="ARMv8 features")
def test_arm_sha2_matches_the_kernel_report() -> None:
    assert FLAGS is not None
    assert ("arm-sha2" in cinev4.engine_info()["cpu_features"]) == ("sha2" in FLAGS)


def _sha_extension_kernel() -> str | None:
    """The kernel that must be chosen where the CPU offers SHA-256 instructions."""
    if FLAGS is None:
        return None
    if X86 and {"sha_ni", "ssse3", "sse4_1"} <= FLAGS:
        return "sha-ni"
    if ARM64 and "sha2" in FLAGS:
        return "armv8-sha2"
    return None


@needs_cpuinfo
def test_a_cpu_with_sha_extensions_gets_the_matching_kernel() -> None:
    expected = _sha_extension_kernel()
    if expected is None:
        pytest.skip("this CPU reports no SHA-256 instructions")
    info = cinev4.engine_info()
    assert info["kernels"][0] == expected, info["kernels"]
    # The single-stream kernel is always the SHA-extension one; multi-buffer lanes come on top
    # only where their calibration measured them faster than it with every lane busy.
    assert info["kernel"] == expected, info
    if info["multibuffer"] is not None:
        lanes = int(info["multibuffer"].rsplit("x", 1)[1])
        assert 1 <= info["lane_break_even"] <= lanes, info


def test_portable_is_never_chosen_where_another_kernel_runs() -> None:
    info = cinev4.engine_info()
    assert info["kernels"][-1] == "portable", info["kernels"]
    if len(info["kernels"]) > 1:
        assert info["kernel"] != "portable", info


def test_cinev4_kernel_forces_the_kernel_and_engine_info_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in cinev4.available_kernels():
        monkeypatch.setenv("CINEV4_KERNEL", name)
        assert cinev4.engine_info()["kernel"] == name


_MAPS_PROBE = """
import sys
import cinev4
def libcrypto_mapped():
    with open("/proc/self/maps") as maps:
        return "libcrypto" in maps.read()
[first] = cinev4.hash_files([sys.argv[1]])
before = libcrypto_mapped()
if sys.argv[2] == "list":
    worked = "libcrypto" in cinev4.engine_info()["kernels"]
else:
    worked = cinev4.hash_files([sys.argv[1]], kernel="libcrypto")[0].sha256 == first.sha256
print(before, libcrypto_mapped(), worked)
"""


@pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="reads which libraries are mapped from /proc")
@pytest.mark.parametrize("then", ["list", "use"])
def test_libcrypto_is_loaded_only_when_a_hardware_kernel_is_missing_or_it_is_asked_for(tmp_path: Path,
                                                                                      then: str) -> None:
    """Loading the system libcrypto costs each process about 1.5 ms of start-up: a hash
    on a CPU with a hardware kernel never loads it; listing or asking for it does."""
    import subprocess
    import sys

    if cinev4.engine_info()["kernel"] not in ("sha-ni", "armv8-sha2"):
        pytest.skip("no hardware SHA-256 kernel here: libcrypto may be the fastest")
    if "libcrypto" not in cinev4.available_kernels():
        pytest.skip("no system libcrypto to load")
    (tmp_path / "f").write_bytes(b"x" * 100_000)
    done = subprocess.run([sys.executable, "-c", _MAPS_PROBE, str(tmp_path / "f"), then],
                          capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["False", "True", "True"]
