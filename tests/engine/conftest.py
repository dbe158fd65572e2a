"""Fixtures shared by the engine tests."""
from __future__ import annotations

import os

import pytest

import cinev4

KERNELS = cinev4.available_kernels()
IO_MODES = ["mmap", "read"]
# The smallest window: boundaries every 64 KiB, so small files cross many.
SMALL_WINDOW = 64 * 1024


@pytest.fixture(params=KERNELS)
def kernel(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture(params=IO_MODES)
def io_mode(request: pytest.FixtureRequest) -> str:
    return request.param


def write_file(path: os.PathLike[str] | str, data: bytes) -> str:
    with open(path, "wb") as handle:
        handle.write(data)
    return os.fspath(path)
