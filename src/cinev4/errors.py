"""Exceptions raised by cinev4, all with dotted names and a stdlib base class.

The native engine reports numeric codes; this module turns them into
exceptions that carry the path and a readable reason.
"""
from __future__ import annotations

import errno as _errno

__all__ = [
    "CinevError",
    "FileChangedError",
    "FileTruncatedError",
    "NotRegularFileError",
    "HashCancelledError",
]


class CinevError(Exception):
    """Base class of every error cinev4 defines."""


class FileChangedError(CinevError, OSError):
    """The file's size or modification time changed while it was being hashed."""

    def __init__(self, filename: str | bytes | None = None) -> None:
        OSError.__init__(self, _errno.EIO, "file changed while being hashed", filename)


class FileTruncatedError(CinevError, OSError):
    """The file shrank while it was being hashed (the mapped pages vanished)."""

    def __init__(self, filename: str | bytes | None = None) -> None:
        OSError.__init__(self, _errno.EIO, "file truncated while being hashed", filename)


class NotRegularFileError(CinevError, OSError):
    """The path names a FIFO, socket or device: only regular files are hashed."""

    def __init__(self, filename: str | bytes | None = None, kind: str = "special file") -> None:
        OSError.__init__(self, _errno.EINVAL, f"not a regular file ({kind})", filename)


class HashCancelledError(CinevError, OSError):
    """The batch was interrupted before this file was hashed."""

    def __init__(self, filename: str | bytes | None = None) -> None:
        OSError.__init__(self, _errno.ECANCELED, "hashing cancelled", filename)
