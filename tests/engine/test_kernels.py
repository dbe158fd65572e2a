"""Every kernel against published vectors and against hashlib."""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import cinev4

VECTORS = json.loads((Path(__file__).parent.parent / "data" / "nist_sha256.json").read_text())["vectors"]


def test_the_portable_kernel_is_always_offered() -> None:
    assert "portable" in cinev4.available_kernels()


def test_engine_info_names_the_kernel_in_use() -> None:
    info = cinev4.engine_info()
    assert info["kernel"] in info["kernels"]
    assert info["io_mode"] == (os.environ.get("CINEV4_IO") or "mmap")  # mmap unless forced
    assert info["threads"] >= 1


@pytest.mark.parametrize("vector", VECTORS, ids=[v["name"] for v in VECTORS])
def test_nist_vectors(kernel: str, vector: dict) -> None:
    message = bytes.fromhex(vector["message_hex"]) * vector["repeat"]
    assert cinev4.hash_bytes(message, kernel=kernel) == vector["sha256"]


def test_every_length_up_to_1024(kernel: str) -> None:
    data = os.urandom(1024)
    for length in range(1025):
        assert cinev4.hash_bytes(data[:length], kernel=kernel) == hashlib.sha256(data[:length]).hexdigest(), length


def test_buffer_protocol_objects(kernel: str) -> None:
    np = pytest.importorskip("numpy")
    array = np.arange(100_000, dtype=np.uint32)
    expected = hashlib.sha256(array.tobytes()).hexdigest()
    assert cinev4.hash_bytes(array, kernel=kernel) == expected
    assert cinev4.hash_bytes(memoryview(array.tobytes()), kernel=kernel) == expected
    assert cinev4.hash_bytes(bytearray(array.tobytes()), kernel=kernel) == expected


def test_non_contiguous_buffer_is_refused() -> None:
    np = pytest.importorskip("numpy")
    with pytest.raises((BufferError, ValueError), match="contiguous"):
        cinev4.hash_bytes(np.arange(100, dtype=np.uint8)[::2])


def test_unknown_kernel_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="unknown or unavailable kernel 'nope'"):
        cinev4.hash_bytes(b"x", kernel="nope")


@settings(max_examples=200, deadline=None, print_blob=True)
@given(data=st.binary(max_size=5000), cuts=st.lists(st.integers(min_value=0, max_value=5000), max_size=8))
def test_any_chunking_gives_the_one_shot_digest(data: bytes, cuts: list[int]) -> None:
    expected = hashlib.sha256(data).hexdigest()
    for kernel in cinev4.available_kernels():
        hasher = cinev4.Sha256(kernel=kernel)
        start = 0
        for cut in sorted(c % (len(data) + 1) for c in cuts):
            hasher.update(data[start:cut])
            start = cut
        hasher.update(data[start:])
        assert hasher.hexdigest() == expected


def test_digest_is_final() -> None:
    hasher = cinev4.Sha256(b"abc")
    assert hasher.hexdigest() == hasher.hexdigest() == hashlib.sha256(b"abc").hexdigest()
    with pytest.raises(ValueError):
        hasher.update(b"more")


def test_forced_kernel_via_environment(tmp_path: Path) -> None:
    import subprocess
    import sys

    for kernel in cinev4.available_kernels():
        out = subprocess.run(
            [sys.executable, "-c", "import cinev4; print(cinev4.engine_info()['kernel'])"],
            env={**os.environ, "CINEV4_KERNEL": kernel},
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        assert out == kernel
