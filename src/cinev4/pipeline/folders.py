"""Folder handles that never follow a link, shared by publishing and staging.

A ``Folder`` is a folder below some root that was reached one name at a time
from its parent. Where the OS offers ``dir_fd`` (POSIX) it is held by its
descriptor, opened ``O_NOFOLLOW | O_DIRECTORY``, and everything in it is named
relative to that descriptor: a folder swapped for a symlink after it was
opened is never followed. Elsewhere (Windows) it is held by its path, and each
name is lstat'ed before use so that a symlink or junction is refused there too.

Publishing (DEST) and staging (the staging records under ``shots/``) both need
exactly this; what only one of them needs stays in its own module.
"""
from __future__ import annotations

import errno
import os
import stat
from typing import Any

from cinev4.contracts.atomic import rename_noreplace

__all__ = ["BINARY", "CLOEXEC", "DIRECTORY", "DIR_FLAGS", "NOFOLLOW", "REPARSE_POINT", "Folder", "is_link"]

NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)  # Windows has none: names are lstat'ed there instead
CLOEXEC = getattr(os, "O_CLOEXEC", 0)
DIRECTORY = getattr(os, "O_DIRECTORY", 0)
BINARY = getattr(os, "O_BINARY", 0)  # Windows: no newline translation
DIR_FLAGS = os.O_RDONLY | DIRECTORY | NOFOLLOW | CLOEXEC
REPARSE_POINT = 0x400  # FILE_ATTRIBUTE_REPARSE_POINT (Windows symlinks and junctions)


def is_link(st: os.stat_result) -> bool:
    """A symlink, or (Windows) any reparse point: a junction redirects as a symlink does."""
    return stat.S_ISLNK(st.st_mode) or bool(getattr(st, "st_file_attributes", 0) & REPARSE_POINT)


class Folder:
    """A folder reached without following a link: its descriptor where the OS offers ``dir_fd``
    (POSIX), else (``fd`` None, Windows) its path, each name checked not to be a link before
    use. Everything in it is named relative to it."""

    __slots__ = ("path", "fd")

    def __init__(self, path: str, fd: int | None = None) -> None:
        self.path = path
        self.fd = fd

    def __enter__(self) -> Folder:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None

    def at(self, name: str) -> tuple[str, dict[str, Any]]:
        """How to name ``name`` in this folder: (name, {dir_fd}) or (full path, {})."""
        if self.fd is None:
            return os.path.join(self.path, name), {}
        return name, {"dir_fd": self.fd}

    def lstat(self, name: str) -> os.stat_result:
        target, at = self.at(name)
        return os.stat(target, follow_symlinks=False, **at)

    def reach(self, name: str) -> tuple[str, int | None]:
        """The path and handle of the sub-folder ``name``, never through a link: OSError
        ELOOP, EMLINK or ENOTDIR (which one depends on the OS: lstat it to tell a link from
        a file) when it is a link or no folder, FileNotFoundError when it is missing."""
        target, at = self.at(name)
        if self.fd is not None:
            return os.path.join(self.path, name), os.open(target, DIR_FLAGS, **at)
        st = os.stat(target, follow_symlinks=False)
        if is_link(st) or not stat.S_ISDIR(st.st_mode):
            raise NotADirectoryError(errno.ENOTDIR, "not a folder", target)
        return target, None

    def open_child(self, name: str) -> Folder:
        """The sub-folder ``name`` (see ``reach``)."""
        return Folder(*self.reach(name))

    def open_file(self, name: str, flags: int, mode: int = 0o777) -> int:
        """Open a file in this folder, never through a link."""
        target, at = self.at(name)
        if self.fd is None and not flags & os.O_EXCL:
            if is_link(os.stat(target, follow_symlinks=False)):
                raise OSError(errno.ELOOP, "is a symlink", target)
        return os.open(target, flags | NOFOLLOW | CLOEXEC | BINARY, mode, **at)

    def names(self) -> list[str]:
        return os.listdir(self.fd if self.fd is not None else self.path)

    def unlink(self, name: str) -> None:
        target, at = self.at(name)
        os.unlink(target, **at)

    def mkdir(self, name: str) -> None:
        target, at = self.at(name)
        os.mkdir(target, 0o777, **at)

    def rmdir(self, name: str) -> None:
        target, at = self.at(name)
        os.rmdir(target, **at)

    def rename_noreplace(self, name: str, new_name: str) -> None:
        """Rename, never replacing what is at ``new_name`` (FileExistsError)."""
        if self.fd is not None:
            rename_noreplace(name, new_name, self.fd)
        else:  # pragma: no cover - Windows: a rename never replaces an existing file there
            os.rename(os.path.join(self.path, name), os.path.join(self.path, new_name))

    def fsync(self) -> None:
        """fsync the folder (its new and removed names), where it has a handle; best effort."""
        if self.fd is not None:
            try:
                os.fsync(self.fd)
            except OSError:
                pass
