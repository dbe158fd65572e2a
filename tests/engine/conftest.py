"""Fixtures shared by the engine tests (their helpers are in helpers.py)."""
from __future__ import annotations

import pytest

import cinev4

KERNELS = cinev4.available_kernels()
IO_MODES = ["mmap", "read"]


@pytest.fixture(params=KERNELS)
def kernel(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture(params=IO_MODES)
def io_mode(request: pytest.FixtureRequest) -> str:
    return request.param
