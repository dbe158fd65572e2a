"""Copying a release into its destination folder (DEST) without ever losing data there.

What publishing asks of this module, and how each is kept:

- **Where**: DEST is never inside the project, and the project never inside
  DEST, judged by the (device, inode) of every folder above each one, found
  through ``..`` (``check_destination``): a symlink or a bind mount cannot
  disguise either.
- **No symlink followed**: DEST is opened once; every folder under it is
  opened (or created) one name at a time from its parent's descriptor with
  ``O_NOFOLLOW``, so a symlink planted inside DEST is refused and nothing is
  written through it.
- **Never overwrite**: each file is written to a temporary
  ``.NAME.cinev4-publish-<pid>-<random>.tmp`` beside its target (created
  ``O_EXCL | O_NOFOLLOW``, and locked while it is written), fsync'd, then
  renamed without replacing (``rename_noreplace``); the folders are fsync'd.
- **Resume**: a file already at its place with the expected size and SHA-256
  is kept; one that differs is a conflict and nothing is written (``plan``).
  A temporary that no live writer holds locked was left by a killed run and
  is removed.
- **Verify what the storage holds**: the written pages are dropped from the
  page cache (``posix_fadvise(DONTNEED)``) so the verification that follows
  reads the bytes back from the destination's storage.

Where the OS has no folder descriptors (Windows) folders are reached by path,
each name checked not to be a symlink or junction first, and a rename never
replaces an existing file there anyway.
"""
from __future__ import annotations

import errno
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from cinev4.contracts.atomic import fsync_dir
from cinev4.errors import ContractError, UnsafePathError
from cinev4.pipeline.folders import BINARY, CLOEXEC, DIR_FLAGS, DIRECTORY, NOFOLLOW, Folder, is_link
from cinev4.pipeline.hashing import hash_paths
from cinev4.pipeline.locks import HAVE_FLOCK, lock  # Windows: none, but an open temp cannot be deleted

__all__ = ["CopyItem", "CopyPlan", "Destination", "check_destination", "drop_cached_pages", "is_publish_temp"]

# Climbing to the parents needs no read permission where O_PATH exists (Linux).
_CLIMB_FLAGS = getattr(os, "O_PATH", os.O_RDONLY) | DIRECTORY | CLOEXEC
# Folders reached by descriptor (POSIX); elsewhere (Windows) by checked paths.
_AT = {os.open, os.stat, os.mkdir, os.unlink, os.rmdir} <= os.supports_dir_fd
_TEMP_PATTERN = re.compile(r"\A\..+\.cinev4-publish-[0-9]+-[0-9a-f]{8}\.tmp\Z", re.S)
_COPY_CHUNK = 64 * 1024 * 1024
_READ_CHUNK = 8 * 1024 * 1024
# copy_file_range errors that mean "not between these two files": fall back to read/write.
_NO_COPY_RANGE = {errno.EXDEV, errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EBADF}


def is_publish_temp(name: str) -> bool:
    """Whether a file name is one of publish's temporaries."""
    return _TEMP_PATTERN.match(name) is not None


def _temp_name(name: str) -> str:
    stem = os.fsencode(name)[:180].decode(errors="ignore") or "file"  # room for the suffix in NAME_MAX
    return f".{stem}.cinev4-publish-{os.getpid()}-{os.urandom(4).hex()}.tmp"


def drop_cached_pages(fd: int) -> None:
    """Ask the kernel to forget the file's (clean, fsync'd) pages, so the next read
    comes from the storage. Advice only: where it is not offered, nothing happens."""
    if hasattr(os, "posix_fadvise"):
        try:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        except OSError:
            pass


# --- where DEST may be -------------------------------------------------------------------------

def _ancestry(folder: Path) -> list[tuple[int, int]]:
    """(st_dev, st_ino) of ``folder`` and of every folder above it up to the top.

    Where folders can be opened the climb goes through ``..`` from the folder
    actually reached: the physical parents, whatever symlink or bind mount led
    there. Elsewhere (Windows), or above a folder this user may not open, it
    climbs the fully resolved path.
    """
    def resolved(start: Path) -> list[tuple[int, int]]:
        real = Path(os.path.realpath(start))
        return [(st.st_dev, st.st_ino) for st in (os.stat(p) for p in (real, *real.parents))]

    if not _AT:
        return resolved(folder)
    chain: list[tuple[int, int]] = []
    current = os.open(folder, _CLIMB_FLAGS)  # the path the user gave may pass through symlinks
    try:
        while True:
            st = os.fstat(current)
            identity = (st.st_dev, st.st_ino)
            if chain and identity == chain[-1]:
                return chain  # '/' is its own parent
            chain.append(identity)
            try:
                parent = os.open("..", _CLIMB_FLAGS, dir_fd=current)
            except PermissionError:
                return chain + resolved(folder)[len(chain):]
            os.close(current)
            current = parent
    finally:
        os.close(current)


def _nearest_existing(path: Path) -> Path:
    for candidate in (path, *path.parents):
        if candidate.is_dir():
            return candidate
    return Path(path.anchor or "/")


def check_destination(project_root: Path, dest: Path) -> None:
    """Refuse a DEST inside the project (or equal to it) and a project inside DEST.

    Before DEST exists, its nearest existing folder stands for it (DEST will be
    created inside). ContractError (exit 2) names the two folders.
    """
    nearest = _nearest_existing(dest)
    project_chain = _ancestry(project_root)
    dest_chain = _ancestry(nearest)
    if project_chain[0] in dest_chain:
        raise ContractError(f"--to {dest}: the destination is inside the project {project_root} "
                            "(a delivery goes outside the project it comes from)")
    if nearest == dest and dest_chain[0] in project_chain:
        raise ContractError(f"--to {dest}: the project {project_root} is inside the destination "
                            "(a delivery goes outside the project it comes from)")


# --- the destination folder, through descriptors -----------------------------------------------

@dataclass(frozen=True)
class CopyItem:
    """One file to deliver: where it goes under DEST, where its bytes come from, what it must be."""

    contract_path: str
    source: Path | bytes  # a file in the project (its on-disk name), or the exact bytes
    size: int
    sha256: str
    group: int = 0  # which report check a conflict is filed under
    read_only: bool = False  # True: 0444 exactly; False: the source's permission bits, under the umask


@dataclass
class CopyPlan:
    """What DEST already holds: files to write, identical files to keep, conflicts (item, why)."""

    to_write: list[CopyItem] = field(default_factory=list)
    kept: list[CopyItem] = field(default_factory=list)
    conflicts: list[tuple[CopyItem, str]] = field(default_factory=list)


class Destination:
    """DEST, opened once; its folders and files reached only from it, one name at a time.

    It remembers what this run created (files by identity, folders by name),
    so that a run that must give way can remove exactly that and nothing else.
    """

    def __init__(self, root: Path, top: Folder) -> None:
        self.root = root
        self._folders: dict[str, Folder] = {"": top}
        self._swept: set[str] = set()
        self._changed: set[str] = set()  # folders whose entries changed: fsync'd by sync()
        self.created_files: list[tuple[str, tuple[int, int]]] = []
        self.created_folders: list[str] = []
        self.removed_temps: list[str] = []

    @classmethod
    def open(cls, root: Path, project_root: Path) -> Destination:
        """Open (creating it if needed) DEST after checking where it is."""
        check_destination(project_root, root)
        if not root.is_dir():
            root.mkdir(parents=True, exist_ok=True)
            fsync_dir(root.parent)
        check_destination(project_root, root)  # the folder as it now exists
        # DEST itself may be a path through the user's own symlinks; below it, none is followed.
        top = Folder(str(root), os.open(root, DIR_FLAGS & ~NOFOLLOW) if _AT else None)
        return cls(root, top)

    def __enter__(self) -> Destination:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        for folder in self._folders.values():
            folder.close()
        self._folders.clear()

    def display(self, contract_path: str) -> str:
        return str(self.root.joinpath(*contract_path.split("/"))) if contract_path else str(self.root)

    def _refusal(self, contract_path: str, parent: Folder, name: str) -> ContractError:
        try:
            link = is_link(parent.lstat(name))
        except OSError:
            link = False
        if link:
            return UnsafePathError(f"{self.display(contract_path)} is a symlink: refused (publish never writes "
                                   "through a symlink inside the destination; remove it or choose another --to)")
        return ContractError(f"{self.display(contract_path)} is in the way at the destination: not a folder")

    def folder(self, contract_dir: str, *, create: bool) -> Folder | None:
        """A folder under DEST (created when ``create``), or None when absent."""
        if contract_dir in self._folders:
            return self._folders[contract_dir]
        parent_dir, _, name = contract_dir.rpartition("/")
        parent = self.folder(parent_dir, create=create)
        if parent is None:
            return None
        try:
            try:
                folder = parent.open_child(name)
            except FileNotFoundError:
                if not create:
                    return None
                try:
                    parent.mkdir(name)
                    self.created_folders.append(contract_dir)
                    self._changed.add(parent_dir)
                except FileExistsError:
                    pass  # another publish made it a moment ago
                folder = parent.open_child(name)
        except OSError as exc:
            if exc.errno in (errno.ELOOP, errno.ENOTDIR, errno.EMLINK):
                raise self._refusal(contract_dir, parent, name) from None
            # Named from DEST: the call saw only the name relative to its parent's handle.
            raise OSError(exc.errno, exc.strerror, self.display(contract_dir)) from None
        self._folders[contract_dir] = folder
        return folder

    def lstat(self, contract_path: str) -> os.stat_result | None:
        """What is at ``contract_path`` (a symlink there is refused), or None."""
        parent_dir, _, name = contract_path.rpartition("/")
        folder = self.folder(parent_dir, create=False)
        if folder is None:
            return None
        try:
            st = folder.lstat(name)
        except FileNotFoundError:
            return None
        if is_link(st):
            raise self._refusal(contract_path, folder, name)
        return st

    def read(self, contract_path: str) -> bytes | None:
        """The bytes of a file under DEST (never through a symlink), or None when absent."""
        parent_dir, _, name = contract_path.rpartition("/")
        folder = self.folder(parent_dir, create=False)
        if folder is None:
            return None
        try:
            fd = folder.open_file(name, os.O_RDONLY)
        except FileNotFoundError:
            return None
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise self._refusal(contract_path, folder, name) from None
            raise
        with os.fdopen(fd, "rb") as handle:
            return handle.read()

    def sweep(self, contract_dir: str) -> None:
        """Remove the temporaries that killed runs left in a folder (once per folder)."""
        if contract_dir in self._swept:
            return
        self._swept.add(contract_dir)
        folder = self.folder(contract_dir, create=False)
        if folder is None:
            return
        for name in folder.names():
            if is_publish_temp(name) and _remove_if_abandoned(folder, name):
                self.removed_temps.append(f"{contract_dir}/{name}")
                self._changed.add(contract_dir)

    def write(self, item: CopyItem) -> None:
        """Create ``item.contract_path`` with the item's bytes; FileExistsError if the name is taken."""
        parent_dir, _, name = item.contract_path.rpartition("/")
        folder = self.folder(parent_dir, create=True)
        assert folder is not None
        self.sweep(parent_dir)
        source_fd = None if isinstance(item.source, bytes) else os.open(item.source, os.O_RDONLY | CLOEXEC | BINARY)
        try:
            if item.read_only or source_fd is None:
                mode = 0o444
            else:
                mode = stat.S_IMODE(os.fstat(source_fd).st_mode)  # the kernel applies the umask
            temp, fd = _create_temp(folder, name, mode)
            try:
                if isinstance(item.source, bytes):
                    _write_all(fd, item.source)
                else:
                    assert source_fd is not None
                    _copy_bytes(source_fd, fd)
                if item.read_only and hasattr(os, "fchmod"):
                    os.fchmod(fd, 0o444)  # exactly, whatever the umask
                os.fsync(fd)
                drop_cached_pages(fd)
                st = os.fstat(fd)
                folder.rename_noreplace(temp, name)
            except BaseException:
                try:
                    folder.unlink(temp)
                except OSError:
                    pass
                raise
            finally:
                os.close(fd)
        finally:
            if source_fd is not None:
                os.close(source_fd)
        self.created_files.append((item.contract_path, (st.st_dev, st.st_ino)))
        self._changed.add(parent_dir)

    def drop_cached(self, contract_paths: list[str]) -> None:
        """Drop the cached pages of files under DEST, so that reading them reads the storage."""
        for contract_path in contract_paths:
            parent_dir, _, name = contract_path.rpartition("/")
            folder = self.folder(parent_dir, create=False)
            if folder is None:
                continue
            try:
                fd = folder.open_file(name, os.O_RDONLY)
            except OSError:
                continue  # the verification will report it
            try:
                drop_cached_pages(fd)
            finally:
                os.close(fd)

    def sync(self) -> None:
        """Make every new name durable: fsync each folder whose entries changed."""
        for contract_dir in sorted(self._changed):
            folder = self._folders.get(contract_dir)
            if folder is not None:
                folder.fsync()
        self._changed.clear()

    def remove_created(self) -> int:
        """Remove the files and (then empty) folders this run created; how many files."""
        removed = 0
        for contract_path, identity in reversed(self.created_files):
            parent_dir, _, name = contract_path.rpartition("/")
            folder = self._folders[parent_dir]
            try:
                st = folder.lstat(name)
            except FileNotFoundError:
                continue
            if (st.st_dev, st.st_ino) == identity:  # still the file this run wrote
                folder.unlink(name)
                removed += 1
                self._changed.add(parent_dir)
        self.created_files.clear()
        for contract_dir in reversed(self.created_folders):
            parent_dir, _, name = contract_dir.rpartition("/")
            try:
                self._folders.pop(contract_dir).close()
                self._folders[parent_dir].rmdir(name)
                self._changed.add(parent_dir)
            except (OSError, KeyError):
                pass  # not empty: another run's files are there
        self.created_folders.clear()
        self.sync()
        return removed

    def plan(self, items: list[CopyItem], *, threads: int | None = None) -> CopyPlan:
        """Sort the items into files to write, identical files to keep, and conflicts."""
        result = CopyPlan()
        same_size: list[CopyItem] = []
        for item in items:
            st = self.lstat(item.contract_path)
            if st is None:
                result.to_write.append(item)
            elif not stat.S_ISREG(st.st_mode):
                result.conflicts.append((item, "is in the way at the destination: not a regular file"))
            elif st.st_size != item.size:
                result.conflicts.append((item, f"already at the destination with other content "
                                               f"({st.st_size} bytes, expected {item.size}); not overwritten"))
            else:
                same_size.append(item)
        self.drop_cached([i.contract_path for i in same_size])
        digests = hash_paths([self.display(i.contract_path) for i in same_size],
                             total_bytes=sum(i.size for i in same_size), threads=threads)
        for item, digest in zip(same_size, digests):
            if digest.error is not None or digest.sha256 is None:
                reason = getattr(digest.error, "strerror", None) or str(digest.error)
                result.conflicts.append((item, f"already at the destination and cannot be read ({reason})"))
            elif digest.sha256 != item.sha256:
                result.conflicts.append((item, "already at the destination with other content (sha256); "
                                               "not overwritten"))
            else:
                result.kept.append(item)
        return result


def _create_temp(folder: Folder, name: str, mode: int) -> tuple[str, int]:
    """A new temporary beside ``name``, created exclusively and locked while this process lives."""
    while True:
        temp = _temp_name(name)
        fd = folder.open_file(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
        if not HAVE_FLOCK:  # pragma: no cover - Windows: an open file cannot be deleted anyway
            return temp, fd
        # Held until the descriptor closes (a kill included): a sweeping run
        # sees the temporary is alive and leaves it alone.
        lock(fd, wait=True)
        try:
            ours = folder.lstat(temp).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            ours = False
        if ours:
            return temp, fd
        os.close(fd)  # swept away between its creation and the lock: take another name


def _remove_if_abandoned(folder: Folder, name: str) -> bool:
    """Remove a temporary that no live publish holds; whether it was removed."""
    try:
        fd = folder.open_file(name, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError:
        return False  # not ours to judge (a symlink, a FIFO, gone)
    try:
        if not lock(fd):
            return False  # a live publish holds it: it is being written now
        try:
            same = folder.lstat(name).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            return False
        if not same or not stat.S_ISREG(os.fstat(fd).st_mode):
            return False
        if not HAVE_FLOCK:  # pragma: no cover - Windows: no deleting a file that is open
            os.close(fd)
            fd = -1
        try:
            folder.unlink(name)
        except OSError:
            return False  # in use (Windows) or already gone
        return True
    finally:
        if fd >= 0:
            os.close(fd)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _copy_bytes(source_fd: int, target_fd: int) -> None:
    """Copy a whole file: in the kernel (copy_file_range, a reflink where the file
    system offers one) where possible, else through a buffer."""
    if hasattr(os, "copy_file_range"):
        try:
            while os.copy_file_range(source_fd, target_fd, _COPY_CHUNK):
                pass
            return
        except OSError as exc:
            if exc.errno not in _NO_COPY_RANGE:
                raise
            # Carry on from the offsets reached: copy_file_range moved both.
    while True:
        block = os.read(source_fd, _READ_CHUNK)
        if not block:
            return
        _write_all(target_fd, block)
