"""Reading a contract document: file -> bounded bytes -> strict JSON -> schema-valid dict.

``read_document_bytes`` is the one way cinev4 opens a JSON document it reads
(project, shot, manifest, release record, qc.json). Whatever sits at the path,
the read ends in one line or in bytes:

- opened ``O_NONBLOCK | O_NOFOLLOW``, so a FIFO never blocks the open and a
  symlink is refused, then ``fstat`` must say "regular file" (a FIFO, device or
  socket is refused without a single read);
- the size limit of the document's kind is checked on ``fstat`` before reading,
  so a 100 GiB sparse file is refused at once, and the read itself stops one
  byte past the limit should the file grow meanwhile;
- parsing then bounds the nesting depth before the parser or the validator can
  recurse (``jsonio.MAX_DEPTH``) and refuses fraction-form numbers, since every
  number in cinev4's contracts is an integer.
"""
from __future__ import annotations

import errno
import os
import stat
from dataclasses import dataclass
from typing import Any

from cinev4.contracts.jsonio import JsonProblem, parse_json
from cinev4.contracts.schemas import DocumentKind, validate
from cinev4.errors import ContractError, UnsafePathError

__all__ = ["Document", "MAX_BYTES", "Record", "load_document", "parse_document", "read_document_beneath",
           "read_document_bytes", "read_json_file"]

_MiB = 1024 * 1024

# The largest document of each kind read. A manifest lists every artifact of a
# version (~200 bytes each: 256 MiB is over a million files); a shot record
# carries the same list; a release record one entry per shot; project.json a
# few lines; qc.json is a review note. Anything larger is an accident or an
# attack, refused before it is read.
MAX_BYTES: dict[str, int] = {
    "manifest": 256 * _MiB,
    "shot": 256 * _MiB,
    "release": 64 * _MiB,
    "project": 1 * _MiB,
    "qc": 16 * _MiB,
    "stage": 64 * _MiB,  # a staging record: the files one render task wrote (~300 bytes each)
}

_KIND_OF_MODE = {
    stat.S_IFIFO: "a FIFO",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFSOCK: "a socket",
    stat.S_IFDIR: "a folder",
}


@dataclass(frozen=True)
class Document:
    """A parsed, schema-valid document and the exact bytes it came from."""

    data: dict[str, Any]
    raw: bytes
    source: str

    @property
    def sha256(self) -> str:
        """SHA-256 of the document's bytes (what ``manifest_ref`` pins)."""
        from cinev4._fasthash import hash_bytes  # the engine is the only hashing path

        return hash_bytes(self.raw)


class Record:
    """A loaded document that names itself by its ``id`` (a project, a shot): its subclasses
    hold the schema-valid ``data`` and read their fields from it."""

    data: dict[str, Any]

    @property
    def id(self) -> str:
        return str(self.data["id"])


def _is_symlink(path: str | os.PathLike[str], dir_fd: int | None) -> bool:
    try:
        return stat.S_ISLNK(os.lstat(path, dir_fd=dir_fd).st_mode)
    except OSError:
        return False


def read_document_bytes(path: str | os.PathLike[str], kind: str, source: str | None = None, *,
                        dir_fd: int | None = None) -> bytes:
    """The bytes of the ``kind`` document at ``path`` (relative to ``dir_fd``
    when given), read only if it is a regular file (no symlink) within
    ``MAX_BYTES[kind]``.

    A missing or unreadable file is an OSError, left to the caller; a file
    that is not a document (FIFO, device, symlink, folder, too big) is a
    ContractError naming ``source`` (default: the path as given).
    """
    where = source if source is not None else os.fspath(path)
    limit = MAX_BYTES[kind]
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags | getattr(os, "O_BINARY", 0), dir_fd=dir_fd)
    except OSError as exc:
        if exc.errno == errno.ELOOP and _is_symlink(path, dir_fd):
            raise UnsafePathError(f"{where}: $: is a symbolic link (expected a regular file; documents are "
                                "read without following symlinks)") from None
        raise
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            what = _KIND_OF_MODE.get(stat.S_IFMT(info.st_mode), "not a regular file")
            raise ContractError(f"{where}: $: is {what} (expected a regular file)")
        if info.st_size > limit:
            raise ContractError(f"{where}: $: the file is {info.st_size} bytes (expected at most {limit} "
                                f"bytes for a {kind} document)")
        chunks: list[bytes] = []
        total = 0
        while total <= limit:
            chunk = os.read(fd, min(limit + 1 - total, 16 * _MiB))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
    finally:
        os.close(fd)
    if total > limit:
        raise ContractError(f"{where}: $: the file grew past {limit} bytes while being read (expected at most "
                            f"{limit} bytes for a {kind} document)")
    return b"".join(chunks)


def read_document_beneath(root: str | os.PathLike[str], contract_path: str, kind: str,
                          source: str | None = None) -> bytes:
    """``read_document_bytes`` of the document at ``contract_path`` under ``root``,
    reached without following a symlink at any step below the root (each folder
    opened from its parent's descriptor with ``O_NOFOLLOW``): what is read is
    what the path names, even if a folder is swapped for a symlink meanwhile.

    UnsafePathError when a step is a symlink (or not a folder); a missing step is
    FileNotFoundError. Where folders cannot be opened by descriptor (Windows),
    the joined path is read, the document itself still never through a symlink.
    """
    where = source if source is not None else contract_path
    *folders, name = contract_path.split("/")
    if os.open not in os.supports_dir_fd:  # pragma: no cover - Windows
        return read_document_bytes(os.path.join(root, *folders, name), kind, where)
    flags = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(root, flags)
    try:
        for depth, folder in enumerate(folders, 1):
            try:
                child = os.open(folder, flags | getattr(os, "O_NOFOLLOW", 0), dir_fd=fd)
            except OSError as exc:
                if exc.errno in (errno.ELOOP, errno.ENOTDIR) and _is_symlink(folder, fd):
                    step = "/".join(folders[:depth])
                    raise UnsafePathError(f"{where}: {step} is a symbolic link (no symlink is followed below "
                                          f"the project root)") from None
                raise
            os.close(fd)
            fd = child
        return read_document_bytes(name, kind, where, dir_fd=fd)
    finally:
        os.close(fd)


def read_json_file(path: str | os.PathLike[str], kind: str, source: str | None = None) -> Any:
    """A JSON document that has no cinev4 schema (qc.json), read as safely as
    a contract: numbers may be fractions there. ContractError on any refusal."""
    where = source if source is not None else os.fspath(path)
    raw = read_document_bytes(path, kind, where)
    try:
        return parse_json(raw, max_bytes=MAX_BYTES[kind])
    except JsonProblem as exc:
        raise ContractError([f"{where}: {problem}" for problem in exc.problems]) from None


def parse_document(raw: bytes, kind: DocumentKind, source: str) -> Document:
    """Parse and validate ``raw``; ContractError names ``source`` in every line."""
    try:
        data = parse_json(raw, integers_only=True, max_bytes=MAX_BYTES.get(kind, 256 * _MiB))
    except JsonProblem as exc:
        raise ContractError([f"{source}: {problem}" for problem in exc.problems]) from None
    validate(data, kind, source)
    return Document(data=data, raw=raw, source=source)


def load_document(path: str | os.PathLike[str], kind: DocumentKind, source: str | None = None) -> Document:
    """Read ``path`` (through ``read_document_bytes``) and validate it as a ``kind`` document.

    ``source`` is how errors name the file (default: the path as given). A
    missing or unreadable file is an OSError, left to the caller, which knows
    whether "missing" is a usage error or a verification failure.
    """
    where = source if source is not None else os.fspath(path)
    return parse_document(read_document_bytes(path, kind, where), kind, where)
