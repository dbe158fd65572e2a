"""The pipeline's one door to the native engine, with progress reporting.

Files are hashed in one ``hash_files`` batch (all cores, GIL released), so a
shot of many small frames runs as fast as one of a few large movies.

Where the bytes are hashed is a ``HashBackend``: this machine's engine by
default, or another one (``cinev4.pipeline.dask_backend.DaskBackend`` spreads the files
over a Dask cluster). A backend takes the files and their expected sizes and
returns one ``Digest`` per file, in order, with per-file errors; wrappers (a
journal, a cache) can stand in front of any backend.
"""
from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Protocol

__all__ = ["Digest", "HashBackend", "LocalBackend", "Progress", "ProgressCallback", "hash_beneath", "hash_paths"]

ProgressCallback = Callable[[int, int], object]  # (bytes_done, files_done)


class Progress(Protocol):
    """What a caller (the CLI's progress bar) is told while files are hashed."""

    def start(self, total_bytes: int, total_files: int) -> None: ...

    def update(self, bytes_done: int, files_done: int) -> None: ...

    def finish(self) -> None: ...


class Digest(Protocol):
    """One file's result as the pipeline reads it (``cinev4.FileDigest`` or a backend's own)."""

    @property
    def path(self) -> str | bytes | os.PathLike[str] | os.PathLike[bytes]: ...

    @property
    def size(self) -> int: ...

    @property
    def sha256(self) -> str | None: ...

    @property
    def error(self) -> OSError | None: ...


class HashBackend(Protocol):
    """Hashes a list of files somewhere and returns their digests in input order.

    ``sizes`` are the sizes the caller expects (from a stat or a manifest),
    or None, for backends that split work by bytes; the digest's own size is
    what was actually read. A file that cannot be read is a digest with ``error`` set,
    never an exception and never a missing entry.
    """

    def hash_files(
        self,
        paths: Sequence[str],
        sizes: Sequence[int] | None,
        *,
        threads: int | None,
        progress: ProgressCallback | None,
    ) -> Sequence[Digest]: ...


class LocalBackend:
    """This machine's native engine: one ``hash_files`` batch on every core."""

    def hash_files(
        self,
        paths: Sequence[str],
        sizes: Sequence[int] | None,
        *,
        threads: int | None,
        progress: ProgressCallback | None,
    ) -> Sequence[Digest]:
        from cinev4 import hash_files
        from cinev4.settings import pipeline_cache_mode

        return hash_files(list(paths), threads, progress=progress, cache=pipeline_cache_mode())


def hash_paths(
    paths: Sequence[str | os.PathLike[str]],
    *,
    total_bytes: int,
    threads: int | None = None,
    progress: Progress | None = None,
    sizes: Sequence[int] | None = None,
    backend: HashBackend | None = None,
) -> Sequence[Digest]:
    """Digests of ``paths`` in order; per-file errors are in each digest's ``error``.

    ``sizes`` (the expected size of each file) lets a distributed backend
    balance its batches without a second stat of every file; when it is not
    given the backend stats the files itself (see ``cinev4.pipeline.dask_backend``).
    """
    if not paths:
        return []
    engine = backend if backend is not None else LocalBackend()
    names = [os.fspath(p) for p in paths]
    if progress is None:
        return engine.hash_files(names, sizes, threads=threads, progress=None)
    progress.start(total_bytes, len(paths))
    try:
        return engine.hash_files(names, sizes, threads=threads, progress=progress.update)
    finally:
        progress.finish()


def hash_beneath(
    root: str | os.PathLike[str],
    paths: Sequence[str],
    *,
    total_bytes: int,
    threads: int | None = None,
    progress: Progress | None = None,
    sizes: Sequence[int] | None = None,
) -> Sequence[Digest]:
    """``hash_paths`` on this machine for contract ``paths`` under ``root``: each file
    opened beneath the root's folder handle, no symlink followed (docs/CONTRACT.md "File layer");
    a symlink on the way is that file's error. ``sizes`` only order the work."""
    from cinev4._fasthash import hash_files_under

    if not paths:
        return []
    if progress is None:
        return hash_files_under(root, paths, sizes, threads)
    progress.start(total_bytes, len(paths))
    try:
        return hash_files_under(root, paths, sizes, threads, progress=progress.update)
    finally:
        progress.finish()
