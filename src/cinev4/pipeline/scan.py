"""Listing the files of a version folder, as contract paths.

Only regular files are outputs. A symlinked file is followed when it stays
inside the project root; a symlink that leads outside it, a symlinked folder
(it could loop, or pull in a whole other tree), a FIFO or a device, and a
name that is no safe contract path (backslash, invalid UTF-8, control
character) are reported as problems, never silently skipped.
"""
from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from cinev4.contracts.rules import path_problems, resolve_inside
from cinev4.errors import UnsafePathError

__all__ = ["ScannedFile", "Scan", "scan_folder"]


@dataclass(frozen=True)
class ScannedFile:
    path: str  # contract path, relative to the project root
    real_path: Path  # where the bytes are (a symlink resolved, checked inside the root)
    size: int


@dataclass
class Scan:
    files: list[ScannedFile] = field(default_factory=list)
    problems: list[tuple[str, str]] = field(default_factory=list)  # (contract path, why)


def scan_folder(root: str | os.PathLike[str], folder: str) -> Scan:
    """Every file under the contract folder ``folder`` (sorted by path); a missing folder scans empty."""
    result = Scan()
    try:
        resolve_inside(root, folder)  # the folder itself (or a parent) may be a symlink out
    except UnsafePathError:
        result.problems.append((folder, "resolves outside the project root (through a symlink)"))
        return result
    base = os.path.join(os.fspath(root), *folder.split("/"))
    if not os.path.isdir(base):
        return result
    _walk(Path(root), base, folder, result)
    result.files.sort(key=lambda f: f.path)
    result.problems.sort()
    return result


def _walk(root: Path, top: str, contract_top: str, result: Scan) -> None:
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
                if entry.is_symlink():
                    try:
                        real = resolve_inside(root, contract_path)
                    except UnsafePathError:
                        result.problems.append((contract_path, "is a symlink that resolves outside the project root"))
                        continue
                    if os.path.isdir(real):
                        result.problems.append((contract_path, "is a symlinked folder (not followed: copy the files instead)"))
                        continue
                    st = os.stat(real)
                else:
                    real = Path(entry.path)
                    st = entry.stat(follow_symlinks=False)
            except OSError as exc:
                result.problems.append((contract_path, f"cannot be read ({exc.strerror})"))
                continue
            if stat.S_ISDIR(st.st_mode):
                pending.append((entry.path, contract_path))
            elif stat.S_ISREG(st.st_mode):
                result.files.append(ScannedFile(contract_path, real, st.st_size))
            else:
                result.problems.append((contract_path, "is not a regular file (FIFO, socket or device)"))
