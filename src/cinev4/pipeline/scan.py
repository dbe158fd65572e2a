"""Listing the files of a version folder, as contract paths.

Only regular files are outputs, and no symlink below the project root is
followed (docs/CONTRACT.md "File layer"): the engine walks the folder from a directory
handle of the root (``cinev4._fasthash.scan_tree``: iterative, one folder
open at a time, one ``fstatat(AT_SYMLINK_NOFOLLOW)`` per entry, or the listing's
own type when no size is asked). A symlinked
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
from typing import NamedTuple

from cinev4.contracts.rules import all_plain, path_problems, resolve_inside
from cinev4.errors import UnsafePathError
from cinev4.pipeline.folders import is_link

__all__ = ["ScannedFile", "Scan", "scan_folder"]


class ScannedFile(NamedTuple):  # a tuple: a manifest of 100,000 files makes 100,000 of them
    path: str  # contract path, relative to the project root
    root: str  # the project root, as given to scan_folder
    size: int

    @property
    def real_path(self) -> Path:
        """Where the bytes are: below the root, reached through no symlink (none is followed)."""
        return Path(self.root, *self.path.split("/"))


@dataclass
class Scan:
    """The files as two columns, sorted by path (no object per file: a verify of 100,000
    files only compares the columns), and the problems."""

    paths: list[str] = field(default_factory=list)  # contract paths, relative to the project root
    sizes: list[int] | None = field(default_factory=list)  # None: scanned with sizes=False
    problems: list[tuple[str, str]] = field(default_factory=list)  # (contract path, why)
    root: str = ""  # the project root, as given to scan_folder

    @property
    def files(self) -> list[ScannedFile]:
        """The files as objects, for the callers that hold them one by one."""
        if self.sizes is None:
            raise ValueError("scanned without sizes: no files to give")
        return [ScannedFile(path, self.root, size) for path, size in zip(self.paths, self.sizes)]


_NOT_REGULAR = "is not a regular file (FIFO, socket or device)"
_SYMLINK = "is a symlink (not followed: no symlink is followed below the project root; copy the file instead)"


def scan_folder(root: str | os.PathLike[str], folder: str, *, sizes: bool = True) -> Scan:
    """Every file under the contract folder ``folder`` (sorted by path); a missing folder scans
    empty. ``sizes=False``: no size is asked of each file (no stat per file where the file
    system tells the entry's type in the listing), and ``Scan.sizes`` may be None."""
    if sys.platform == "win32":
        return _scan_python(root, folder)
    from cinev4._fasthash import scan_tree

    root_text = os.fspath(root)
    result = Scan(root=root_text, sizes=[] if sizes else None)
    status, paths, sized, others = scan_tree(root_text, folder, sizes)
    if status == "symlink":  # the version folder itself, or a folder above it
        result.problems.append((folder, _symlink_why(root, folder, folder=True)))
        return result
    # The engine sorted the columns by their bytes: for UTF-8 names that is the code point order
    # sorted() gives, and a name that is not UTF-8 is a problem, not a file.
    if all_plain(paths):  # the common case, judged in bulk
        result.paths, result.sizes = paths, sized
    else:
        for index, path in enumerate(paths):
            unsafe = path_problems(path)
            if unsafe:
                result.problems.append((path, unsafe[0]))
            else:
                result.paths.append(path)
                if sized is not None and result.sizes is not None:
                    result.sizes.append(sized[index])
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
    result = Scan(root=os.fspath(root))
    try:
        resolve_inside(root, folder)  # the folder itself (or a parent) may be a symlink out
    except UnsafePathError:
        result.problems.append((folder, "resolves outside the project root (through a symlink)"))
        return result
    base = os.path.join(os.fspath(root), *folder.split("/"))
    if not os.path.isdir(base):
        return result
    files: list[tuple[str, int]] = []
    _walk(os.fspath(root), base, folder, result, files)
    files.sort()
    result.paths = [path for path, _ in files]
    result.sizes = [size for _, size in files]
    result.problems.sort()
    return result


def _walk(root: str, top: str, contract_top: str, result: Scan, files: list[tuple[str, int]]) -> None:
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
                if entry.is_symlink() or is_link(st):  # junctions too
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
                files.append((contract_path, st.st_size))
            else:
                result.problems.append((contract_path, _NOT_REGULAR))
