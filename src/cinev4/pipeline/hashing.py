"""The pipeline's one door to the native engine, with progress reporting.

Files are hashed in one ``hash_files`` batch (all cores, GIL released), so a
shot of many small frames runs as fast as one of a few large movies.
"""
from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from cinev4._fasthash import FileDigest

__all__ = ["Progress", "hash_paths"]


class Progress(Protocol):
    """What a caller (the CLI's progress bar) is told while files are hashed."""

    def start(self, total_bytes: int, total_files: int) -> None: ...

    def update(self, bytes_done: int, files_done: int) -> None: ...

    def finish(self) -> None: ...


def hash_paths(
    paths: Sequence[str | os.PathLike[str]],
    *,
    total_bytes: int,
    threads: int | None = None,
    progress: Progress | None = None,
) -> list[FileDigest]:
    """Digests of ``paths`` in order; per-file errors are in each ``FileDigest.error``."""
    from cinev4 import hash_files

    if not paths:
        return []
    if progress is None:
        return hash_files([os.fspath(p) for p in paths], threads)
    progress.start(total_bytes, len(paths))
    try:
        return hash_files([os.fspath(p) for p in paths], threads, progress=progress.update)
    finally:
        progress.finish()
