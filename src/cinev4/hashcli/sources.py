"""Where ``cinev4 hash`` gets its file names beyond the command line:
``--files-from`` lists and ``-r`` folders.

``--files-from FILE`` holds one name per line (NUL-separated with ``-z``, as
``find -print0`` writes them; ``-`` is standard input); empty names are
skipped; a NUL byte in a list read by lines is refused (no name holds one).
``-r`` replaces each folder among the names by every regular file below it,
sorted by path bytes. Without ``-L`` the walk is the engine's native
one (``scan_tree``: folder handles, no symbolic link followed; links, FIFOs,
sockets and devices below the folder are left out). With ``-L`` links are
followed by an iterative ``os.scandir`` walk (a link back to a folder above
ends there). A folder that cannot be listed is one error line.
"""
from __future__ import annotations

import os
import stat

from cinev4.errors import ListTooLarge

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (checkers treat the name alike)
if TYPE_CHECKING:  # annotations only: `cinev4 hash` starts without collections
    from collections.abc import Callable

# A names list is read whole: 256 MiB is millions of names.
MAX_LIST_BYTES = 256 * 1024 * 1024


class NulInName(ValueError):
    """A list read by lines (no ``-z``) whose name on line ``line`` holds a NUL byte:
    no file has such a name; most likely a NUL-separated list (``find -print0``)."""

    def __init__(self, line: int) -> None:
        super().__init__(f"line {line}: a name holds a NUL byte")
        self.line = line


def read_name_list(source: bytes, zero: bool) -> list[bytes]:
    """The names in a --files-from list (raises OSError when it cannot be read,
    NulInName when a line holds a NUL byte)."""
    fd = 0 if source == b"-" else os.open(source, os.O_RDONLY | getattr(os, "O_BINARY", 0))
    try:
        parts = []
        size = 0
        while True:
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                break
            size += len(chunk)
            if size > MAX_LIST_BYTES:
                raise ListTooLarge(f"more than {MAX_LIST_BYTES} bytes of names")
            parts.append(chunk)
    finally:
        if fd != 0:
            os.close(fd)
    data = b"".join(parts)
    if zero:
        return [name for name in data.split(b"\0") if name]
    names = data.split(b"\n")
    if b"\0" in data:
        raise NulInName(next(number for number, name in enumerate(names, 1) if b"\0" in name))
    return [name for name in names if name]


def _join(folder: bytes, relative: bytes) -> bytes:
    return folder + relative if folder.endswith(b"/") else folder + b"/" + relative


def _walk_native(folder: bytes, report: Callable[[bytes, OSError], None]) -> list[bytes]:
    from cinev4._fasthash import scan_tree

    try:
        _status, paths, _sizes, others = scan_tree(folder, b"", False)  # the files are sized when opened
    except OSError as exc:
        report(folder, exc)
        return []
    for relative, what, code in others:
        if code:  # a folder that could not be listed (or an entry that could not be read)
            report(_join(folder, relative), OSError(code, os.strerror(code)))
    return sorted(_join(folder, os.fsencode(relative)) for relative in paths)


def _walk_following(folder: bytes, report: Callable[[bytes, OSError], None]) -> list[bytes]:
    found: list[bytes] = []
    # Each folder with the folders above it: a link back to one of them is a loop, not descended.
    stack: list[tuple[bytes, frozenset[tuple[int, int]]]] = [(folder, frozenset())]
    while stack:
        current, above = stack.pop()
        try:
            info = os.stat(current)
            key = (info.st_dev, info.st_ino)
            if key in above:
                continue
            with os.scandir(current) as entries:
                listed = [entry.name for entry in entries]
        except OSError as exc:
            report(current, exc)
            continue
        below = above | {key}
        for name in listed:
            path = _join(current, name)  # type: ignore[arg-type]
            try:
                mode = os.stat(path).st_mode
            except OSError:
                found.append(path)  # a dangling link: hashing it reports the error
                continue
            if stat.S_ISDIR(mode):
                stack.append((path, below))
            elif stat.S_ISREG(mode):
                found.append(path)
    return sorted(found)


def expand_folders(names: list[bytes], follow: bool, report: Callable[[bytes, OSError], None]) -> list[bytes]:
    """``names`` with each folder replaced by the sorted regular files below it."""
    expanded: list[bytes] = []
    for name in names:
        if name != b"-" and os.path.isdir(name):
            expanded.extend(_walk_following(name, report) if follow else _walk_native(name, report))
        else:
            expanded.append(name)
    return expanded
