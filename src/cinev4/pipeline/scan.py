"""Listing the files of a version folder, as contract paths.

Only regular files are outputs, and no symlink below the project root is
followed (docs/CONTRACT.md "File layer"): the engine walks the folder from a directory
handle of the root (``cinev4._fasthash.scan_tree``: iterative, one folder
open at a time, one ``fstatat(AT_SYMLINK_NOFOLLOW)`` per entry). A symlinked
file or folder, a symlinked version folder, a FIFO or a device, and a name
that is no safe contract path (backslash, invalid UTF-8, control character)
are reported as problems, never silently skipped. Where the engine has no
native scan (Windows) the same walk runs here, on ``os.scandir``.
"""
from __future__ import annotations

import errno
import os
import stat
import sys
from dataclasses import dataclass, field
from pathlib import Path

from cinev4.contracts.rules import path_problems, resolve_inside
from cinev4.errors import UnsafePathError

__all__ = ["ScannedFile", "Scan", "scan_folder"]


@dataclass(frozen=True)
class ScannedFile:
    path: str  # contract path, relative to the project root
    root: str  # the project root, as given to scan_folder
    size: int

    @property
    def real_path(self) -> Path:
        """Where the bytes are: below the root, reached through no symlink (none is followed)."""
        return Path(self.root, *self.path.split("/"))


@dataclass
class Scan:
    files: list[ScannedFile] = field(default_factory=list)
    problems: list[tuple[str, str]] = field(default_factory=list)  # (contract path, why)


_NOT_REGULAR = "is not a regular file (FIFO, socket or device)"
_SYMLINK = "is a symlink (not followed: no symlink is followed below the project root; copy the file instead)"
_REPARSE_POINT = 0x400  # FILE_ATTRIBUTE_REPARSE_POINT (Windows symlinks and junctions)


def scan_folder(root: str | os.PathLike[str], folder: str) -> Scan:
    """Every file under the contract folder ``folder`` (sorted by path); a missing folder scans empty."""
    if sys.platform == "win32":
        return _scan_python(root, folder)
    from cinev4._fasthash import scan_tree

    result = Scan()
    root_text = os.fspath(root)
    status, files, others = scan_tree(root_text, folder)
    if status == "symlink":  # the version folder itself, or a folder above it
        result.problems.append((folder, _symlink_why(root, folder, folder=True)))
        return result
    while files:  # popped, so the engine's rows are freed as the scan's are made (a million entries)
        raw, size = files.pop()
        contract_path = os.fsdecode(raw)
        unsafe = path_problems(contract_path)
        if unsafe:
            result.problems.append((contract_path, unsafe[0]))
        else:
            result.files.append(ScannedFile(contract_path, root_text, size))
    for raw, what, code in others:
        contract_path = os.fsdecode(raw)
        unsafe = path_problems(contract_path)
        if unsafe:
            result.problems.append((contract_path, unsafe[0]))
        elif what == "symlink":
            result.problems.append((contract_path, _symlink_why(root, contract_path)))
        elif what == "unlistable":
            result.problems.append((contract_path, f"cannot be listed ({os.strerror(code)})"))
        elif what == "unreadable":
            result.problems.append((contract_path, f"cannot be read ({os.strerror(code)})"))
        else:
            result.problems.append((contract_path, _NOT_REGULAR))
    result.files.sort(key=lambda f: f.path)
    result.problems.sort()
    return result


def _symlink_why(root: str | os.PathLike[str], contract_path: str, *, folder: bool = False) -> str:
    """Why a symlink found by the scan is refused, in the words of where it leads (it is
    never followed to be read: this only names the problem)."""
    try:
        real = resolve_inside(root, contract_path)
    except UnsafePathError:
        if folder:
            return "resolves outside the project root (through a symlink)"
        return "is a symlink that resolves outside the project root"
    except OSError:  # changed again while it was looked at (a symlink swapped in and out)
        return _SYMLINK
    try:
        st = os.stat(real)
    except OSError as exc:
        return f"cannot be read ({exc.strerror})"
    if stat.S_ISDIR(st.st_mode):
        return "is a symlinked folder (not followed: copy the files instead)"
    return _SYMLINK


def _scan_python(root: str | os.PathLike[str], folder: str) -> Scan:
    """The same scan on ``os.scandir`` (Windows, where the engine has none)."""
    result = Scan()
    try:
        resolve_inside(root, folder)  # the folder itself (or a parent) may be a symlink out
    except UnsafePathError:
        result.problems.append((folder, "resolves outside the project root (through a symlink)"))
        return result
    base = os.path.join(os.fspath(root), *folder.split("/"))
    if not os.path.isdir(base):
        return result
    _walk(os.fspath(root), base, folder, result)
    result.files.sort(key=lambda f: f.path)
    result.problems.sort()
    return result


def _walk(root: str, top: str, contract_top: str, result: Scan) -> None:
    """List ``top`` and every folder below it with an explicit stack, not by
    recursion: an output tree thousands of folders deep is listed like a flat one."""
    pending = [(top, contract_top)]
    while pending:
        directory, contract_dir = pending.pop()
        try:
            with os.scandir(directory) as listing:
                entries = sorted(listing, key=lambda e: e.name)
        except OSError as exc:
            result.problems.append((contract_dir, f"cannot be listed ({exc.strerror})"))
            continue
        for entry in entries:
            contract_path = f"{contract_dir}/{entry.name}"
            unsafe = path_problems(contract_path)
            if unsafe:
                result.problems.append((contract_path, unsafe[0]))
                continue
            try:
                st = entry.stat(follow_symlinks=False)
                if entry.is_symlink() or getattr(st, "st_file_attributes", 0) & _REPARSE_POINT:  # junctions too
                    result.problems.append((contract_path, _symlink_why(root, contract_path)))
                    continue
            except OSError as exc:
                if exc.errno == errno.ENOENT:
                    continue  # removed since it was listed
                result.problems.append((contract_path, f"cannot be read ({exc.strerror})"))
                continue
            if stat.S_ISDIR(st.st_mode):
                pending.append((entry.path, contract_path))
            elif stat.S_ISREG(st.st_mode):
                result.files.append(ScannedFile(contract_path, root, st.st_size))
            else:
                result.problems.append((contract_path, _NOT_REGULAR))
