"""Atomic file writes: nobody ever sees a half-written contract document.

Both helpers write a temporary file in the destination folder (same file
system, so the final step is atomic), fsync it, publish it in one step, then
fsync the folder so the new name survives a power cut.

- ``write_once``: publishes with ``os.link``, which fails if the name exists:
  of two concurrent writers exactly one wins, and nothing is overwritten.
- ``replace_atomic``: publishes with ``os.replace`` (for mutable records such
  as shot.json).
- ``rename_noreplace``: the same no-overwrite step for a temporary file the
  caller wrote itself, between names relative to an open folder descriptor
  (``renameat2(RENAME_NOREPLACE)`` where the kernel offers it, else a link).

A writer killed at any point leaves at most a hidden ``.NAME.*.tmp`` file,
never a partial document under the real name.
"""
from __future__ import annotations

import errno
import os
from collections.abc import Callable
from pathlib import Path

from cinev4.errors import AlreadyExistsError

__all__ = ["write_once", "replace_atomic", "rename_noreplace", "fsync_dir", "stale_temp_files", "READ_ONLY"]

READ_ONLY = 0o444

# Errors that mean "this file system has no hard links" (FAT, some SMB mounts).
_NO_LINKS = {errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK}


def fsync_dir(folder: str | os.PathLike[str]) -> None:
    """Make a folder's new entries durable (a no-op where folders cannot be opened)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # Windows cannot open a folder this way; NTFS journals names
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _new_temp(path: Path, dir_fd: int | None = None) -> tuple[int, Path]:
    """A new, empty, private file beside ``path`` with a random hidden name (what
    tempfile.mkstemp makes, without importing tempfile: with shutil, bz2 and lzma
    it costs every writing command about 2.5 ms of start-up)."""
    flags = os.O_RDWR | os.O_CREAT | os.O_EXCL
    # As mkstemp: never through a symlink, not inherited, and on Windows in binary mode (the
    # C runtime would otherwise write every "\n" of a document as "\r\n").
    for name in ("O_NOFOLLOW", "O_CLOEXEC", "O_NOINHERIT", "O_BINARY"):
        flags |= getattr(os, name, 0)
    for _ in range(100):
        tmp = path.parent / f".{path.name}.{os.urandom(6).hex()}.tmp"
        try:
            return os.open(tmp, flags, 0o600, dir_fd=dir_fd), tmp
        except FileExistsError:
            continue  # 48 random bits taken already: another name
    raise FileExistsError(errno.EEXIST, "no free temporary name", str(path.parent))


def _temp_file(path: Path, data: bytes, mode: int, name: Path | None = None, dir_fd: int | None = None) -> Path:
    """``data`` in a new file beside ``path``, fsynced and made exactly ``mode``: a random
    hidden name, or ``name`` (created exclusively, never through a symlink)."""
    if name is None:
        fd, tmp = _new_temp(path, dir_fd)
    else:
        fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
                     | getattr(os, "O_BINARY", 0), mode)
        tmp = name
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            if hasattr(os, "fchmod"):
                os.fchmod(handle.fileno(), mode)  # exactly this mode, whatever the umask
            os.fsync(handle.fileno())
        if not hasattr(os, "fchmod"):  # pragma: no cover - Windows
            os.chmod(tmp, mode)
    except BaseException:
        os.unlink(tmp, dir_fd=dir_fd)
        raise
    return tmp


def stale_temp_files(path: str | os.PathLike[str]) -> list[Path]:
    """Temporary files a killed writer of ``path`` may have left behind."""
    path = Path(path)
    if not path.parent.is_dir():
        return []
    return sorted(path.parent.glob(f".{path.name}.*.tmp"))


def write_once(path: str | os.PathLike[str], data: bytes, mode: int = READ_ONLY, *,
               proof: str | os.PathLike[str] | None = None, dir_fd: int | None = None) -> bool:
    """Create ``path`` holding ``data``, atomically; never replace an existing file.

    Raises AlreadyExistsError if ``path`` exists (also when another process
    created it a moment before: the link is the arbiter).

    ``proof``: the temporary file gets this name (created exclusively, its folder
    fsynced before the link) and is kept after the link, a second link to the
    document until the caller removes it: what lets a later run tell a document
    its own killed run wrote from one somebody else put there (the manifest's pin).
    Returns False only where the file system has no hard links: the document is
    then written all the same, and no proof is left.

    ``dir_fd``: ``path`` is a name in the folder open as ``dir_fd``, and every step is
    made from that descriptor, so a folder swapped for a symlink meanwhile is never
    written through (no ``proof`` then).
    """
    if dir_fd is not None and proof is not None:
        raise ValueError("write_once: proof is not taken with dir_fd")
    path = Path(path)
    tmp = _temp_file(path, data, mode, None if proof is None else Path(proof), dir_fd)
    linked = False
    try:
        if proof is not None:
            fsync_dir(tmp.parent)  # the proof must outlive a power cut as surely as the document
        try:
            os.link(tmp, path, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
            linked = True
        except FileExistsError:
            raise AlreadyExistsError(f"{path} already exists (written once, never overwritten)") from None
        except OSError as exc:
            if exc.errno not in _NO_LINKS:
                raise
            # No hard links here: reserve the name exclusively, then swap the
            # complete file in. A writer killed between the two steps leaves
            # an empty file (invalid JSON, so never mistaken for a document).
            try:
                os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, mode, dir_fd=dir_fd))
            except FileExistsError:
                raise AlreadyExistsError(f"{path} already exists (written once, never overwritten)") from None
            os.replace(tmp, path, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
    finally:
        if proof is None or not linked:
            try:
                os.unlink(tmp, dir_fd=dir_fd)
            except FileNotFoundError:
                pass  # replaced onto the reserved name
    if dir_fd is None:
        fsync_dir(path.parent)
    else:
        try:
            os.fsync(dir_fd)
        except OSError:
            pass
    return linked


def replace_atomic(path: str | os.PathLike[str], data: bytes, mode: int = 0o644) -> None:
    """Write ``path`` (new or existing) so readers see the old or the new bytes, never a mix."""
    path = Path(path)
    tmp = _temp_file(path, data, mode)
    try:
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
    fsync_dir(path.parent)


_RENAME_NOREPLACE = 1  # linux/fs.h
_renameat2_fn: Callable[..., int] | None = None
_renameat2_looked_up = False


def _renameat2() -> Callable[..., int] | None:
    """libc's renameat2 (glibc >= 2.28), looked up once; None where there is none."""
    global _renameat2_fn, _renameat2_looked_up
    if not _renameat2_looked_up:
        _renameat2_looked_up = True
        if os.name == "posix":
            import ctypes

            try:
                function = ctypes.CDLL(None, use_errno=True).renameat2
            except (AttributeError, OSError):
                pass
            else:
                function.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
                function.restype = ctypes.c_int
                _renameat2_fn = function
    return _renameat2_fn


def rename_noreplace(temp_name: str, name: str, dir_fd: int) -> None:
    """Rename ``temp_name`` to ``name`` in the folder ``dir_fd``, never replacing a file.

    Raises FileExistsError when ``name`` exists (also when another process
    created it a moment before: the kernel is the arbiter). Neither name may
    contain a ``/``: the folder descriptor fixes where both are.
    """
    function = _renameat2()
    if function is not None:
        import ctypes

        if function(dir_fd, os.fsencode(temp_name), dir_fd, os.fsencode(name), _RENAME_NOREPLACE) == 0:
            return
        err = ctypes.get_errno()
        if err not in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP, errno.EOPNOTSUPP):  # else: no support here
            raise OSError(err, os.strerror(err), name)
    try:
        os.link(temp_name, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd, follow_symlinks=False)
    except OSError as exc:
        if exc.errno not in _NO_LINKS:
            raise
        # No hard links either: reserve the name exclusively, then move the
        # complete file onto the reservation (see write_once).
        os.close(os.open(name, os.O_CREAT | os.O_EXCL | os.O_WRONLY | os.O_NOFOLLOW, 0o600, dir_fd=dir_fd))
        os.rename(temp_name, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
        return
    os.unlink(temp_name, dir_fd=dir_fd)
