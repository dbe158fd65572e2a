"""The verification journal: an interrupted ``cinev4 verify --resume`` continues where it stopped.

A journal is a JSON Lines file under ``<root>/.cinev4/`` (a folder no scan
or manifest ever looks at), one per set of manifests verified. Its first line
is a header; every other line records one file hashed: its path relative to
the root, the stat it had just before it was hashed (size, mtime_ns,
ctime_ns, inode, device), when that stat was taken, and its SHA-256. Each
line carries an HMAC-SHA256 of its content (and of the journal's scope) keyed
with a per-user secret: 32 random bytes kept 0600 in the user's cache folder
(``$XDG_CACHE_HOME/cinev4/journal.key``, default ``~/.cache/cinev4/``;
``%LOCALAPPDATA%\\cinev4\\`` on Windows). Anyone can write valid JSON and an
unkeyed checksum; only the same user's own cinev4 run can write a line that
reads back, so only that user's interrupted run is ever trusted.

Who may hold the journal: ``.cinev4/`` is created 0700, and it and each
journal file must belong to the current user and not be a symbolic link
(files are opened ``O_NOFOLLOW`` through the folder's descriptor, then
fstat-checked). Anything else there (a planted symlink, another user's file,
a FIFO) is refused with one warning and never opened for writing, truncated
or written: the verification still runs, in full, without resume (refusing
costs time, never the answer).

Rules, chosen so that a resumed run reports exactly what a full run would:

- a digest is reused only if the file's stat is still exactly the recorded
  one, and the file was not modified within ``RACY_NS`` of being stat'ed (a
  write in the same timestamp tick could otherwise go unseen, as git's
  "racily clean" entries);
- a line cut short at the end of the file is what a SIGKILL or power cut
  leaves mid-append: it is dropped and the file trimmed to its last whole
  line;
- anything else that does not read back exactly (a bad HMAC, a bad
  header, junk) means the journal is damaged: it is discarded with a warning
  and every file is hashed again; nothing in it is trusted;
- files are hashed in batches and each batch's digests are appended (and
  fsync'd) as soon as it ends, so an interrupt loses at most the batch in
  flight (about ``BATCH_SECONDS`` of work);
- a run that completes deletes its journal: the next ``--resume`` starts a
  full verification, never an incremental one that trusts old digests.

The journal wraps whatever hashes the bytes (``hash_batch``), so any backend
of ``cinev4.pipeline.hashing`` resumes the same way.
"""
from __future__ import annotations

import json
import os
import stat
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cinev4.errors import ShotBusyError
from cinev4.pipeline.clock import RACY_NS
from cinev4.pipeline.keyfiles import (KEY_BYTES, KeyFileRefused, keyed_digest, owned_by_me, read_key_file,
                                      same_digest)
from cinev4.pipeline.locks import lock  # Windows: none; the journal is still checked line by line
from cinev4.settings import resolve_threads

if TYPE_CHECKING:
    from cinev4.pipeline.hashing import Digest, Progress

__all__ = ["JOURNAL_DIR", "JOURNAL_FORMAT", "Journal", "open_journal", "hash_resumable", "BatchHasher",
           "journal_key_file", "journal_file_name"]

JOURNAL_DIR = ".cinev4"
JOURNAL_FORMAT = "cinev4/verify-journal@2"  # @2: lines keyed with the user's secret (HMAC-SHA256)
BATCH_SECONDS = 2.0
_FIRST_BATCH_BYTES = 256 << 20
_MIN_BATCH_BYTES = 64 << 20
_MAX_BATCH_BYTES = 16 << 30
_MAX_BATCH_FILES = 8192
# Files per batch, fixed: bounds what a kill can lose to a number of files (and lets tests kill midway).
BATCH_FILES_ENV = "CINEV4_JOURNAL_BATCH_FILES"

# hash_batch(paths, sizes, progress) -> digests in order (see cinev4.pipeline.hashing.hash_paths)
BatchHasher = Callable[[list[str], list[int], "Progress | None"], "Sequence[Digest]"]


_O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)  # Windows has none: it has no unprivileged symlinks either
_O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_O_NONBLOCK = getattr(os, "O_NONBLOCK", 0)  # a FIFO planted at the name must not block the open
_O_DIRECTORY = getattr(os, "O_DIRECTORY", 0)


class _Refused(Exception):
    """The journal (or its key) cannot be trusted or used: verify without resume."""


def journal_key_file() -> Path:
    """Where this user's journal secret is kept: the user's cache folder."""
    xdg = os.environ.get("XDG_CACHE_HOME")
    if xdg and os.path.isabs(xdg):
        return Path(xdg) / "cinev4" / "journal.key"
    if os.name == "nt":
        base = os.environ.get("LOCALAPPDATA") or os.path.join(os.path.expanduser("~"), "AppData", "Local")
        return Path(base) / "cinev4" / "journal.key"
    return Path(os.path.expanduser("~")) / ".cache" / "cinev4" / "journal.key"


def _read_key(key_file: Path) -> bytes:
    """The secret in ``key_file``; FileNotFoundError if there is none, _Refused if it is not a safe one."""
    try:
        return read_key_file(key_file, private_bits=0o077, owner_only=True)
    except KeyFileRefused as refused:
        why = {
            "open": f"cannot be opened ({refused.detail})",
            "kind": "is not a regular file of this user",
            "mode": f"is readable by others (mode {refused.detail}), so it is no secret",
            "size": f"is not {KEY_BYTES} bytes",
        }[refused.why]
        raise _Refused(f"the journal key {key_file} {why}; delete it (a new one is made)") from None


def _journal_key() -> bytes:
    """This user's journal secret, created on first use: 32 random bytes, 0600, published
    atomically (a temporary file made O_EXCL, then linked to the name: never a partial key)."""
    key_file = journal_key_file()
    try:
        return _read_key(key_file)
    except FileNotFoundError:
        pass
    folder = key_file.parent
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        tmp = folder / f".journal.key.{os.urandom(8).hex()}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _O_NOFOLLOW | _O_CLOEXEC, 0o600)
        try:
            try:
                os.write(fd, os.urandom(KEY_BYTES))
                os.fsync(fd)
            finally:
                os.close(fd)
            try:
                os.link(tmp, key_file)
            except FileExistsError:
                pass  # another cinev4 run made it a moment ago: use theirs
            except OSError:  # no hard links on this file system: an exclusive rename instead
                if not key_file.exists():
                    os.rename(tmp, key_file)
        finally:
            if tmp.exists():
                os.unlink(tmp)
    except OSError as exc:
        raise _Refused(f"cannot create the journal key {key_file} ({exc.strerror})") from None
    return _read_key(key_file)


def _mac(key: bytes, scope: str, fields: dict[str, Any]) -> str:
    # The scope is in the message, so a line cannot be carried over from another
    # verification's journal.
    message = scope.encode() + b"\n" + json.dumps(fields, sort_keys=True, separators=(",", ":")).encode()
    return keyed_digest(key, message)


def _line(key: bytes, scope: str, fields: dict[str, Any]) -> bytes:
    return (json.dumps({**fields, "check": _mac(key, scope, fields)}, sort_keys=True, separators=(",", ":")).encode()
            + b"\n")


# What json.dumps (ensure_ascii, the default) writes for a string.
_json_text: Callable[[str], str] = json.encoder.encode_basestring_ascii  # type: ignore[attr-defined]


def _entry_line(key: bytes, scope_prefix: bytes, path_key: str, stat: tuple[int, int, int, int, int],
                stat_time_ns: int, sha256: str) -> bytes:
    """``_line`` of a file's entry, the same bytes, written without a json.dumps per line (two
    of them were most of a --resume's own time). Only the path needs escaping; the rest are
    integers and a hex digest. ``scope_prefix``: the scope's bytes and a newline."""
    body = (f'"h":{_json_text(sha256)},"p":{_json_text(path_key)},"s":[{",".join(map(str, stat))}],'
            f'"t":{stat_time_ns}}}').encode()
    return b'{"check":"' + keyed_digest(key, scope_prefix + b"{" + body).encode() + b'",' + body + b"\n"


def _stat_key(st: os.stat_result) -> tuple[int, int, int, int, int]:
    return (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev)


@dataclass(frozen=True)
class _Entry:
    stat: tuple[int, int, int, int, int]
    stat_time_ns: int
    sha256: str


class _Damaged(Exception):
    pass


@dataclass
class Journal:
    """An open journal (hold it only inside ``with``: it keeps a lock and a file open)."""

    root: Path  # the real root, paths are recorded relative to it
    file: Path
    scope: str
    _fd: int | None  # None: the journal was refused; this run hashes everything and writes nothing
    _dir_fd: int | None = None  # the .cinev4 folder, opened without following a symlink
    _key: bytes = b""
    entries: dict[str, _Entry] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    reused_files: int = 0
    reused_bytes: int = 0
    hashed_files: int = 0

    @property
    def display_path(self) -> str:
        return f"{JOURNAL_DIR}/{self.file.name}"

    @cached_property
    def _prefix(self) -> str:
        return os.path.join(self.root, "")

    def key(self, real_path: str | os.PathLike[str]) -> str:
        text = os.fspath(real_path)
        prefix = self._prefix
        if text.startswith(prefix) and os.sep == "/":  # a real path under the real root: cut, not walked
            return text[len(prefix):]
        return Path(os.path.relpath(text, self.root)).as_posix()

    def lookup(self, key: str, st: os.stat_result) -> str | None:
        """The recorded digest, if the file's stat is exactly the recorded one and was not racy."""
        entry = self.entries.get(key)
        if entry is None or entry.stat != _stat_key(st):
            return None
        if st.st_mtime_ns >= entry.stat_time_ns - RACY_NS:
            return None
        return entry.sha256

    def record(self, items: Sequence[tuple[str, os.stat_result, int, str]]) -> None:
        """Append (key, stat before hashing, stat time, sha256) lines and make them durable."""
        if not items or self._fd is None:
            return
        scope_prefix = self.scope.encode() + b"\n"
        data = b"".join(_entry_line(self._key, scope_prefix, key, _stat_key(st), stat_time_ns, sha256)
                        for key, st, stat_time_ns, sha256 in items)
        os.write(self._fd, data)
        os.fsync(self._fd)
        for key, st, stat_time_ns, sha256 in items:
            self.entries[key] = _Entry(_stat_key(st), stat_time_ns, sha256)

    def close(self, *, completed: bool) -> None:
        """Release the journal; a completed run deletes it (the next --resume starts afresh)."""
        if self._fd is None:
            return
        if completed:
            try:
                if self._dir_fd is not None:
                    os.unlink(self.file.name, dir_fd=self._dir_fd)
                else:
                    os.unlink(self.file)
            except FileNotFoundError:
                pass
        os.close(self._fd)  # drops the lock too
        if self._dir_fd is not None:
            os.close(self._dir_fd)

    def summary(self) -> dict[str, Any]:
        return {
            "journal": self.display_path,
            "journal_used": self._fd is not None,  # False: refused (see warnings), nothing reused or written
            "reused_files": self.reused_files,
            "reused_bytes": self.reused_bytes,
            "hashed_files": self.hashed_files,
            "warnings": list(self.warnings),
        }


def _parse(raw: bytes, scope: str, key: bytes) -> tuple[dict[str, _Entry], int]:
    """Entries of a journal's bytes and how many bytes of whole lines there are; _Damaged if untrustworthy."""
    good_len = raw.rfind(b"\n") + 1  # whatever follows the last newline is a torn append: dropped
    lines = raw[:good_len].split(b"\n")[:-1]
    if not lines:
        return {}, 0
    entries: dict[str, _Entry] = {}
    for number, line in enumerate(lines, 1):
        try:
            fields = json.loads(line)
            if not isinstance(fields, dict):
                raise ValueError("not an object")
            check = fields.pop("check")
        except (ValueError, KeyError, UnicodeDecodeError):
            raise _Damaged(f"line {number} is not a journal line") from None
        if not isinstance(check, str) or not same_digest(check, _mac(key, scope, fields)):
            raise _Damaged(f"line {number} fails its checksum")  # keyed: not written by this user's cinev4
        if number == 1:
            if fields != {"format": JOURNAL_FORMAT, "scope": scope}:
                raise _Damaged("its header is not this verification's")
            continue
        try:
            stat_key = tuple(int(v) for v in fields["s"])
            sha256 = str(fields["h"])
            if len(stat_key) != 5 or len(sha256) != 64:
                raise ValueError
            entries[str(fields["p"])] = _Entry(stat_key, int(fields["t"]), sha256)  # type: ignore[arg-type]
        except (KeyError, TypeError, ValueError):
            raise _Damaged(f"line {number} has missing or malformed fields") from None
    return entries, good_len


def journal_file_name(scope: Sequence[str]) -> str:
    """The journal's file name (under ``.cinev4/``) for this ``scope``."""
    from cinev4 import hash_bytes

    return f"verify-{_scope_id(scope, hash_bytes)[:16]}.jsonl"


def _scope_id(scope: Sequence[str], hash_bytes: Callable[[bytes], str]) -> str:
    return hash_bytes("\n".join(sorted(scope)).encode())


def _open_folder(folder: Path) -> int | None:
    """A descriptor of ``.cinev4/`` (created 0700), checked: a real folder of this user.
    None where folders cannot be opened (Windows); _Refused when it is not ours."""
    try:
        os.mkdir(folder, 0o700)
    except FileExistsError:
        pass
    except OSError as exc:
        raise _Refused(f"{JOURNAL_DIR}/ cannot be created ({exc.strerror})") from None
    if not _O_DIRECTORY or os.open not in os.supports_dir_fd:
        st = os.lstat(folder)  # pragma: no cover - Windows: no directory descriptors
        if not stat.S_ISDIR(st.st_mode):  # pragma: no cover
            raise _Refused(f"{JOURNAL_DIR} is not a folder")
        return None  # pragma: no cover
    try:
        dir_fd = os.open(folder, os.O_RDONLY | _O_DIRECTORY | _O_NOFOLLOW | _O_CLOEXEC)
    except OSError as exc:
        what = "a symbolic link" if os.path.islink(folder) else f"not a folder that can be opened ({exc.strerror})"
        raise _Refused(f"{JOURNAL_DIR} is {what}") from None
    st = os.fstat(dir_fd)
    if not owned_by_me(st):
        os.close(dir_fd)
        raise _Refused(f"{JOURNAL_DIR}/ belongs to another user (uid {st.st_uid})")
    if stat.S_IMODE(st.st_mode) & 0o077:
        os.fchmod(dir_fd, 0o700)  # ours, made before journals were private (or under a loose umask)
    return dir_fd


def _open_file(folder: Path, name: str, dir_fd: int | None) -> int:
    """The journal file, opened without following a symlink and without truncating anything,
    checked to be a regular file of this user; _Refused otherwise (nothing written)."""
    display = f"{JOURNAL_DIR}/{name}"
    flags = os.O_RDWR | os.O_CREAT | os.O_APPEND | _O_NOFOLLOW | _O_CLOEXEC | _O_NONBLOCK
    try:
        if dir_fd is not None:
            fd = os.open(name, flags, 0o600, dir_fd=dir_fd)
        else:  # pragma: no cover - Windows
            fd = os.open(folder / name, flags | getattr(os, "O_BINARY", 0), 0o600)
    except OSError as exc:
        linked = dir_fd is not None and os.path.islink(os.path.join(folder, name))
        what = "a symbolic link" if linked else f"not usable ({exc.strerror})"
        raise _Refused(f"{display} is {what}") from None
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode) or not owned_by_me(st):
        os.close(fd)
        what = "not a regular file" if not stat.S_ISREG(st.st_mode) else f"owned by another user (uid {st.st_uid})"
        raise _Refused(f"{display} is {what}")
    return fd


def _refused(journal: Journal, why: str) -> Journal:
    journal.warnings.append(f"{why}: refused and left untouched; verifying without resume (every file is hashed)")
    return journal


def open_journal(root: str | os.PathLike[str], scope: Sequence[str]) -> Journal:
    """The journal of this ``scope`` (the manifests verified) under ``root``, created if new.

    A journal that cannot be trusted (a symlink, another user's file or
    folder, no key) comes back refused: it records nothing, and its single
    warning says why. Raises ShotBusyError when another ``verify --resume``
    holds it.
    """
    from cinev4 import hash_bytes

    real_root = Path(os.path.realpath(root))
    scope_id = _scope_id(scope, hash_bytes)
    folder = real_root / JOURNAL_DIR
    name = journal_file_name(scope)
    file = folder / name
    try:
        key = _journal_key()
        dir_fd = _open_folder(folder)
    except _Refused as exc:
        return _refused(Journal(real_root, file, scope_id, None), str(exc))
    try:
        fd = _open_file(folder, name, dir_fd)
    except _Refused as exc:
        if dir_fd is not None:
            os.close(dir_fd)
        return _refused(Journal(real_root, file, scope_id, None), str(exc))
    try:
        if not lock(fd):
            raise ShotBusyError(f"{JOURNAL_DIR}/{file.name} is in use by another cinev4 verify --resume "
                                f"of the same manifests; wait for it or stop it")
        raw = _read_all(fd)
        journal = Journal(real_root, file, scope_id, fd, dir_fd, key)
        try:
            journal.entries, good_len = _parse(raw, scope_id, key)
        except _Damaged as exc:
            journal.warnings.append(f"{journal.display_path} is damaged ({exc}): discarded, "
                                    f"every file is hashed again")
            good_len = 0
        if good_len != len(raw):
            os.ftruncate(fd, good_len)  # our own file (checked above), never a symlink's target
        if good_len == 0:
            os.write(fd, _line(key, scope_id, {"format": JOURNAL_FORMAT, "scope": scope_id}))
            os.fsync(fd)
        return journal
    except BaseException:
        os.close(fd)
        if dir_fd is not None:
            os.close(dir_fd)
        raise


def _read_all(fd: int) -> bytes:
    chunks: list[bytes] = []
    offset = 0
    while True:
        chunk = os.pread(fd, 1 << 20, offset) if hasattr(os, "pread") else _read_at(fd, offset)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        offset += len(chunk)


def _read_at(fd: int, offset: int) -> bytes:  # pragma: no cover - Windows has no pread
    os.lseek(fd, offset, os.SEEK_SET)
    return os.read(fd, 1 << 20)


class _Offset:
    """Progress of one batch seen as progress of the whole run (the bar starts once and never jumps back)."""

    def __init__(self, outer: Progress, bytes_before: int, files_before: int) -> None:
        self._outer, self._bytes, self._files = outer, bytes_before, files_before

    def start(self, total_bytes: int, total_files: int) -> None:
        pass

    def update(self, bytes_done: int, files_done: int) -> None:
        self._outer.update(self._bytes + bytes_done, self._files + files_done)

    def finish(self) -> None:
        pass


def _batch_files_override() -> int | None:
    value = os.environ.get(BATCH_FILES_ENV)
    if not value:
        return None
    try:
        count = int(value)
    except ValueError:
        count = 0
    if count < 1:
        from cinev4.errors import ContractError

        raise ContractError(f"{BATCH_FILES_ENV}={value!r}: expected a whole number of files >= 1")
    return count


def hash_resumable(
    journal: Journal,
    paths: Sequence[str],
    sizes: Sequence[int],
    hash_batch: BatchHasher,
    *,
    progress: Progress | None = None,
    threads: int | None = None,
) -> list[Digest]:
    """Digests of ``paths`` in order: the journal's where still valid, ``hash_batch``'s for the rest,
    each batch recorded in the journal as soon as it is hashed."""
    from cinev4._fasthash import FileDigest

    results: list[Digest | None] = [None] * len(paths)
    todo: list[tuple[int, str, os.stat_result | None, int]] = []  # (index, key, stat, stat time)
    reused_bytes = 0
    for index, path in enumerate(paths):
        key = journal.key(path)
        stat_time = time.time_ns()
        try:
            st: os.stat_result | None = os.stat(path, follow_symlinks=False)  # a link is no journaled file
        except OSError:
            st = None  # hashed anyway: the engine reports the error for this file
        sha256 = journal.lookup(key, st) if st is not None else None
        if sha256 is not None and st is not None:
            results[index] = FileDigest(os.fspath(path), st.st_size, bytes.fromhex(sha256), None)
            journal.reused_files += 1
            reused_bytes += st.st_size
        else:
            todo.append((index, key, st, stat_time))
    journal.reused_bytes += reused_bytes
    total = sum(sizes)
    fixed_files = _batch_files_override()
    min_files = 2 * resolve_threads(threads)  # keep every worker busy within a batch
    budget = _FIRST_BATCH_BYTES
    done_bytes, done_files = reused_bytes, len(paths) - len(todo)
    if progress is not None:
        progress.start(total, len(paths))
        progress.update(done_bytes, done_files)
    try:
        position = 0
        while position < len(todo):
            end, batch_bytes = position, 0
            while end < len(todo):
                if fixed_files is not None:
                    if end - position >= fixed_files:
                        break
                elif end - position >= _MAX_BATCH_FILES or (batch_bytes >= budget and end - position >= min_files):
                    break
                batch_bytes += sizes[todo[end][0]]
                end += 1
            batch = todo[position:end]
            started = time.monotonic()
            inner = _Offset(progress, done_bytes, done_files) if progress is not None else None
            digests = hash_batch([paths[i] for i, _, _, _ in batch], [sizes[i] for i, _, _, _ in batch], inner)
            elapsed = time.monotonic() - started
            finished = []
            for (index, key, st, stat_time), digest in zip(batch, digests):
                results[index] = digest
                if digest.error is None and st is not None and digest.sha256 is not None and digest.size == st.st_size:
                    finished.append((key, st, stat_time, digest.sha256))
            journal.record(finished)
            journal.hashed_files += len(batch)
            done_bytes += batch_bytes
            done_files += len(batch)
            if elapsed > 0 and batch_bytes:
                budget = int(min(max(batch_bytes / elapsed * BATCH_SECONDS, _MIN_BATCH_BYTES), _MAX_BATCH_BYTES))
            position = end
    finally:
        if progress is not None:
            progress.finish()
    assert all(r is not None for r in results)
    return results  # type: ignore[return-value]
