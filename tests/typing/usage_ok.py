"""Typed use of the public API: mypy --strict must accept it."""
from __future__ import annotations

from pathlib import Path

import cinev4


def digests(paths: list[Path]) -> dict[str, str]:
    out: dict[str, str] = {}
    for result in cinev4.hash_files(paths, threads=2, io="mmap", progress=lambda b, f: None):
        if result.ok and result.sha256 is not None:
            out[str(result.path)] = result.sha256
        elif result.error is not None:
            print(result.error.errno, result.error.strerror)
    return out


hasher = cinev4.Sha256(b"abc", kernel="portable")
hasher.update(memoryview(b"def"))
hex_digest: str = hasher.hexdigest()
info = cinev4.engine_info()
kernel_name: str = info["kernel"]
size: int = cinev4.hash_file("x").size
windowed: str | None = cinev4.hash_file("x", window="8M").sha256
one: str = cinev4.hash_file("x").sha256  # failure raises: its result always holds the digest
