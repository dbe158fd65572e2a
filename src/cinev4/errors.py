"""Every exception cinev4 defines, each with a stdlib base class and its exit code.

The native engine reports numeric codes; this module turns them into
exceptions that carry the path and a readable reason. As msgspec keeps its
errors in one module, so does cinev4: the optional Dask backend's errors live
here too (re-exported by ``cinev4.distributed``, where users catch them), and
so do the strict JSON reader's ``JsonProblem`` and ``cinev4 hash``'s. Only
exceptions that never leave their module (control flow, underscored) are
defined where they are raised.

As ``click.ClickException.exit_code`` is, each class's exit code is a class
attribute: the command line exits with ``type(error).exit_code`` (1 when
bytes or the release gate fail, 2 for usage and contract errors), so adding
an error class never means editing an isinstance ladder in the CLI.
"""
from __future__ import annotations

import errno as _errno

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (checkers treat the name alike)
if TYPE_CHECKING:  # annotations only: `cinev4 hash` starts without importing typing
    from collections.abc import Iterable
    from typing import ClassVar

__all__ = [
    "EXIT_FAILED",
    "EXIT_CONTRACT",
    "CinevError",
    "LinesError",
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
    "VerificationRefused",
    "HashingFailed",
    "JsonProblem",
    "HashUsageError",
    "ListTooLarge",
    "DaskUnavailableError",
    "DistributedError",
]

# The command line's exit codes (0 is success).
EXIT_FAILED = 1  # bytes differ or cannot be read, or the release gate refuses
EXIT_CONTRACT = 2  # usage, a document that breaks the contract, a refused action


class CinevError(Exception):
    """Base class of every error cinev4 defines.

    ``lines`` is the error for people, one line per problem: here the message;
    ``LinesError`` holds several.
    """

    exit_code: ClassVar[int] = EXIT_CONTRACT

    @property
    def lines(self) -> list[str]:
        return [str(self)]


class LinesError(CinevError):
    """The one payload base: an error made of one readable line per problem,
    each naming what is wrong and what was expected; ``str()`` joins them
    with "; ". Subclasses keep their own names for the lines (``problems``,
    ``reasons``) as aliases."""

    def __init__(self, lines: str | Iterable[str]) -> None:
        self._lines = [lines] if isinstance(lines, str) else list(lines)
        super().__init__("; ".join(self._lines))

    @property
    def lines(self) -> list[str]:
        return self._lines


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
# The command line reads each class's exit_code (cinev4.cli._common.boundary; docs/CONTRACT.md
# "Exit codes"): VerificationFailed and HashingFailed exit 1, every other CinevError exits 2.


class ContractError(LinesError, ValueError):
    """A document or argument breaks the contract (bad JSON, schema, path, id).

    ``problems`` holds one readable line per problem, each naming the file,
    the JSON path and what was expected; ``str()`` joins them.
    """

    problems = LinesError.lines


class JsonProblem(ContractError):
    """The bytes are not one strict JSON document; ``problems`` says where and why
    (without the file's name: the reader of the file adds it)."""


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


class TransitionRefused(LinesError, RuntimeError):
    """A shot state transition is not allowed (by the state machine, the policy or the gate).

    ``reasons`` lists every reason it was refused.
    """

    reasons = LinesError.lines


class VerificationFailed(CinevError, RuntimeError):
    """Bytes on disk do not match a manifest, or the release gate failed.

    ``report`` is the full report (every problem, not only the first). A
    report whose own exit code is 2 (a document it needed breaks the
    contract) makes the error a ``VerificationRefused``, which exits 2: the
    one case where a failed verification does not exit 1.
    """

    exit_code: ClassVar[int] = EXIT_FAILED

    def __new__(cls, message: str = "", report: object = None) -> VerificationFailed:
        if cls is VerificationFailed and getattr(report, "exit_code", EXIT_FAILED) == EXIT_CONTRACT:
            cls = VerificationRefused
        return super().__new__(cls, message)

    def __init__(self, message: str = "", report: object = None) -> None:
        super().__init__(message)
        self.report = report


class VerificationRefused(VerificationFailed):
    """Verification stopped short: a manifest it needed is invalid, belongs
    elsewhere or names an unsafe path, so its files were not trusted enough
    to be checked. A contract error, so it exits 2."""

    exit_code: ClassVar[int] = EXIT_CONTRACT


class HashingFailed(LinesError, RuntimeError):
    """Files could not be hashed as asked: unreadable or changed while being
    staged, or engine settings that disagree on a digest (cinev4 bench).
    Like a failed verification, it exits 1."""

    exit_code: ClassVar[int] = EXIT_FAILED


# --- cinev4 hash (cinev4.hashcli), with GNU sha256sum's messages ----------------


class HashUsageError(CinevError, ValueError):
    """A command line ``sha256sum`` would refuse; the message is GNU's (exit 2,
    where GNU exits 1)."""


class ListTooLarge(CinevError, OSError):
    """A --files-from list over its size limit: reported as an unreadable list (exit 2)."""


# --- the optional Dask backend (cinev4.distributed) ---------------------------


class DaskUnavailableError(CinevError, ImportError):
    """Dask distributed is not installed (it is the optional extra ``cinev4[dask]``)."""


class DistributedError(CinevError, RuntimeError):
    """The cluster cannot do the work: scheduler unreachable, no workers, cinev4 missing on a worker."""


# --- how a command shows an error ---------------------------------------------
# One form for every command, the click ones (cinev4.cli._common.boundary) and
# ``cinev4 hash``, which runs without click: "cinev4: error: LINE" on stderr,
# one physical line per problem, then exit with the error class's exit_code.


def as_cinev_error(exc: CinevError | OSError) -> CinevError:
    """What a command reports for ``exc``: itself when it is a CinevError; an
    OSError that no cinev4 code turned into one as ``PATH: reason`` (exit 2)."""
    if isinstance(exc, CinevError):
        return exc
    where = f"{exc.filename}: " if exc.filename else ""
    return CinevError(f"{where}{exc.strerror or exc}")


def error_lines(error: CinevError) -> list[str]:
    """The error's lines as a command prints them: each one physical line."""
    return [" ".join(line.split()) for line in error.lines] or ["failed"]
