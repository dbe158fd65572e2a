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
    "ContractError",
    "UnsafePathError",
    "ProjectNotFoundError",
    "ShotNotFoundError",
    "AlreadyExistsError",
    "ShotBusyError",
    "TransitionRefused",
    "VerificationFailed",
]


class CinevError(Exception):
    """Base class of every error cinev4 defines."""


class _EngineFileError(CinevError, OSError):
    """A per-file engine error; pickles by its own constructor arguments, so
    results can cross process boundaries (Dask workers, multiprocessing)."""

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.filename,))


class FileChangedError(_EngineFileError):
    """The file's size or modification time changed while it was being hashed."""

    def __init__(self, filename: str | bytes | None = None) -> None:
        OSError.__init__(self, _errno.EIO, "file changed while being hashed", filename)


class FileTruncatedError(_EngineFileError):
    """The file shrank while it was being hashed (the mapped pages vanished)."""

    def __init__(self, filename: str | bytes | None = None) -> None:
        OSError.__init__(self, _errno.EIO, "file truncated while being hashed", filename)


class NotRegularFileError(_EngineFileError):
    """The path names a FIFO, socket or device: only regular files are hashed."""

    def __init__(self, filename: str | bytes | None = None, kind: str = "special file") -> None:
        OSError.__init__(self, _errno.EINVAL, f"not a regular file ({kind})", filename)
        self.kind = kind

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.filename, self.kind))


class HashCancelledError(_EngineFileError):
    """The batch was interrupted before this file was hashed."""

    def __init__(self, filename: str | bytes | None = None) -> None:
        OSError.__init__(self, _errno.ECANCELED, "hashing cancelled", filename)


# --- contracts and pipeline -------------------------------------------------
# The CLI maps these to exit codes (cinev4.cli._common.to_command_error; docs/CONTRACT.md
# "Exit codes"): VerificationFailed exits 1, every other CinevError exits 2.


class ContractError(CinevError, ValueError):
    """A document or argument breaks the contract (bad JSON, schema, path, id).

    ``problems`` holds one readable line per problem, each naming the file,
    the JSON path and what was expected; ``str()`` joins them.
    """

    def __init__(self, problems: str | list[str]) -> None:
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__("; ".join(self.problems))


class UnsafePathError(ContractError):
    """A path is absolute, climbs out with '..', uses backslashes, repeats, or
    resolves (through a symlink) outside the project root."""


class ProjectNotFoundError(CinevError, FileNotFoundError):
    """No project.json in the given folder or any folder above it."""


class ShotNotFoundError(CinevError, LookupError):
    """The project has no shot of that id."""


class AlreadyExistsError(CinevError, FileExistsError):
    """A write-once document (project, manifest, release record) already exists."""


class ShotBusyError(CinevError, BlockingIOError):
    """Another cinev4 process holds the shot's lock (e.g. a concurrent manifest run)."""


class TransitionRefused(CinevError, RuntimeError):
    """A shot state transition is not allowed (by the state machine, the policy or the gate).

    ``reasons`` lists every reason it was refused.
    """

    def __init__(self, reasons: str | list[str]) -> None:
        self.reasons = [reasons] if isinstance(reasons, str) else list(reasons)
        super().__init__("; ".join(self.reasons))


class VerificationFailed(CinevError, RuntimeError):
    """Bytes on disk do not match a manifest, or the release gate failed.

    ``report`` is the full report (every problem, not only the first).
    """

    def __init__(self, message: str, report: object = None) -> None:
        super().__init__(message)
        self.report = report
