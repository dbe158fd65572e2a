"""Type stub of the compiled engine ``cinev4._fasthash``."""
from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from typing import Literal, TypedDict, Union, final, overload, type_check_only

from typing_extensions import Buffer, disjoint_base

_Path = Union[str, bytes, os.PathLike[str], os.PathLike[bytes]]
_IOMode = Literal["auto", "mmap", "read"]
_CacheMode = Literal["keep", "drop"]
# Bytes as an int, or a size text such as "8M" or "512K" (the forms CINEV4_WINDOW accepts).
_Window = Union[int, str]

@type_check_only
class EngineInfo(TypedDict):
    version: str
    kernel: str
    kernels: list[str]
    multibuffer_kernels: list[str]
    multibuffer: str | None
    lane_break_even: int | None
    cpu_features: list[str]
    io_mode: str
    io_modes: list[str]
    window_bytes: int
    cache: str
    cache_modes: list[str]
    queue_depth: int
    prefault: bool  # the helper that faults in the next mapped window can run here (on, and Linux 5.14+)
    threads: int
    anchor: str  # openat2, openat-walk (POSIX without openat2, or CINEV4_ANCHOR) or path (Windows)

@disjoint_base
class FileDigest:
    """One file's result: the digest, or the error that stopped it."""

    @property
    def path(self) -> _Path: ...
    @property
    def size(self) -> int: ...
    @property
    def sha256(self) -> str | None: ...
    @property
    def digest(self) -> bytes | None: ...
    @property
    def error(self) -> OSError | None: ...
    @property
    def ok(self) -> bool: ...
    def __init__(self, path: _Path, size: int, digest: bytes | None, error: OSError | None) -> None: ...
    def __eq__(self, other: object, /) -> bool: ...
    __hash__: None  # type: ignore[assignment]

class HashedFile(FileDigest):
    """What ``hash_file`` returns: a ``FileDigest`` that succeeded (a failure raises),
    so ``sha256`` and ``digest`` are never None. For typing only: at run time the
    object is a ``FileDigest``."""

    @property
    def sha256(self) -> str: ...
    @property
    def digest(self) -> bytes: ...
    @property
    def error(self) -> None: ...

@disjoint_base
class Sha256:
    """Incremental SHA-256 on the engine's kernel. One object may be fed from
    several threads (as hashlib's): each update is applied whole, one at a time;
    ``digest()`` covers the updates finished before it, and an update after it
    raises ValueError."""

    def __init__(self, data: Buffer | None = None, *, kernel: str | None = None) -> None: ...
    def update(self, data: Buffer) -> None: ...
    def digest(self) -> bytes: ...
    def hexdigest(self) -> str: ...

IO_MODES: tuple[str, ...]
DEFAULT_IO: str
DEFAULT_WINDOW: int
WINDOW_UNIT: int  # a window is a whole number of these (64 KiB)

CACHE_MODES: tuple[str, ...]
DEFAULT_QUEUE_DEPTH: int

def engine_info() -> EngineInfo: ...
def default_threads() -> int: ...
def available_kernels() -> list[str]: ...
def multibuffer_kernels() -> list[str]: ...
def hash_bytes(data: Buffer, *, kernel: str | None = None) -> str: ...
def hash_file(
    path: _Path,
    *,
    kernel: str | None = None,
    io: _IOMode | None = None,
    window: _Window | None = None,
    cache: _CacheMode | None = None,
) -> HashedFile: ...
def last_batch_plan() -> Literal["lanes", "single", "single (cold data)"] | None: ...
def hash_files(
    paths: Iterable[_Path],
    threads: int | None = None,
    *,
    kernel: str | None = None,
    io: _IOMode | None = None,
    window: _Window | None = None,
    progress: Callable[[int, int], object] | None = None,
    progress_interval: float = 0.1,
    cache: _CacheMode | None = None,
) -> list[FileDigest]: ...

# --- Results in input order, as they complete (cinev4 hash streams its lines) ---

@final
class OrderedResults:
    """Iterator over a running batch: lists of FileDigest, in input order, as they complete.

    Threads: ``close()`` may come from any thread; while another thread waits for
    results it cancels the workers and returns at once, and that thread's
    iteration ends with StopIteration (the results not yet given are dropped).
    Two threads iterating one object share its results, each file given once."""

    def __iter__(self) -> OrderedResults: ...
    def __next__(self) -> list[FileDigest]: ...
    def next_block(self) -> tuple[int, bytes, dict[int, FileDigest]]: ...
    def close(self) -> None:
        """Cancel the workers and free the batch (idempotent): the iteration ends."""

def hash_files_ordered(
    paths: Iterable[_Path],
    threads: int | None = None,
    *,
    kernel: str | None = None,
    io: _IOMode | None = None,
    window: _Window | None = None,
    progress: Callable[[int, int], object] | None = None,
    interval: float = 0.05,
    cache: _CacheMode | None = None,
) -> OrderedResults: ...

# --- Anchored file layer: files opened beneath one root, no symlink followed ---

ANCHOR_CHOICES: tuple[str, ...]

def anchor_mode() -> str: ...
@overload
def scan_tree(
    root: _Path, folder: _Path, sizes: Literal[True] = True
) -> tuple[str, list[str], list[int], list[tuple[bytes, str, int]]]: ...
@overload
def scan_tree(
    root: _Path, folder: _Path, sizes: Literal[False]
) -> tuple[str, list[str], None, list[tuple[bytes, str, int]]]: ...
@overload
def scan_tree(
    root: _Path, folder: _Path, sizes: bool
) -> tuple[str, list[str], list[int] | None, list[tuple[bytes, str, int]]]: ...
def check_files(
    root: _Path,
    paths: Iterable[_Path],
    sizes: Iterable[int],
    # Each a str of exactly 64 hex digits: another length, a blank or a non-hex
    # character is a ValueError naming its index (a non-str, a TypeError).
    digests: Iterable[str] | None = None,
    threads: int | None = None,
    *,
    kernel: str | None = None,
    io: _IOMode | None = None,
    window: _Window | None = None,
    progress: Callable[[int, int], object] | None = None,
    progress_interval: float = 0.1,
    cache: _CacheMode | None = None,
) -> tuple[list[tuple[int, str, int, str | None, OSError | None]], int, int]: ...
def hash_files_under(
    root: _Path,
    paths: Iterable[_Path],
    sizes: Iterable[int] | None = None,
    threads: int | None = None,
    *,
    kernel: str | None = None,
    io: _IOMode | None = None,
    window: _Window | None = None,
    progress: Callable[[int, int], object] | None = None,
    progress_interval: float = 0.1,
    cache: _CacheMode | None = None,
) -> list[FileDigest]: ...
def format_sum_lines(
    names: list[bytes], start: int, digests: bytes, middle: bytes, end: bytes, refuse_escapes: bool = True
) -> bytes | None: ...
