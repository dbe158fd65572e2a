"""cinev4: a high-throughput SHA-256 engine with write-once manifests.

The hashing engine is compiled (``cinev4._fasthash``); this module re-exports
its public API. Importing ``cinev4`` loads nothing heavier than the engine.
"""
from cinev4._fasthash import (
    FileDigest,
    Sha256,
    available_kernels,
    engine_info,
    hash_bytes,
    hash_file,
    hash_files,
    multibuffer_kernels,
)
from cinev4._version import __version__
from cinev4.errors import (
    CinevError,
    FileChangedError,
    FileTruncatedError,
    HashCancelledError,
    NotRegularFileError,
)

__all__ = [
    "__version__",
    "FileDigest",
    "Sha256",
    "available_kernels",
    "engine_info",
    "hash_bytes",
    "hash_file",
    "hash_files",
    "multibuffer_kernels",
    "CinevError",
    "FileChangedError",
    "FileTruncatedError",
    "HashCancelledError",
    "NotRegularFileError",
]
