"""Helpers shared by the engine tests (imported by them; the fixtures stay in conftest.py)."""
from __future__ import annotations

import os

# The smallest window: boundaries every 64 KiB, so small files cross many.
SMALL_WINDOW = 64 * 1024


def write_file(path: os.PathLike[str] | str, data: bytes) -> str:
    with open(path, "wb") as handle:
        handle.write(data)
    return os.fspath(path)
