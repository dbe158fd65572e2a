"""The verification journal: an interrupted ``cinev4 verify --resume`` continues where it stopped.

A journal is a JSON Lines file under ``<root>/.cinev4/`` (a folder no scan
or manifest ever looks at), one per set of manifests verified. Its first line
is a header; every other line records one file hashed: its path relative to
the root, the stat it had just before it was hashed (size, mtime_ns,
ctime_ns, inode, device), when that stat was taken, and its SHA-256. Each
line carries a checksum of its own content.

Rules, chosen so that a resumed run reports exactly what a full run would:

- a digest is reused only if the file's stat is still exactly the recorded
  one, and the file was not modified within ``RACY_NS`` of being stat'ed (a
  write in the same timestamp tick could otherwise go unseen, as git's
  "racily clean" entries);
- a line cut short at the end of the file is what a SIGKILL or power cut
  leaves mid-append: it is dropped and the file trimmed to its last whole
  line;
- anything else that does not read back exactly (a bad checksum, a bad
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
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cinev4.errors import ShotBusyError

if TYPE_CHECKING:
    from cinev4.pipeline.hashing import Digest, Progress

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no lock, the journal is still checked line by line
    fcntl = None  # type: ignore[assignment]

__all__ = ["JOURNAL_DIR", "JOURNAL_FORMAT", "Journal", "open_journal", "hash_resumable", "BatchHasher"]

JOURNAL_DIR = ".cinev4"
JOURNAL_FORMAT = "cinev4/verify-journal@1"
RACY_NS = 2_000_000_000  # FAT and some network file systems keep mtimes to 2 s
BATCH_SECONDS = 2.0
_FIRST_BATCH_BYTES = 256 << 20
_MIN_BATCH_BYTES = 64 << 20
_MAX_BATCH_BYTES = 16 << 30
_MAX_BATCH_FILES = 8192
# Files per batch, fixed: bounds what a kill can lose to a number of files (and lets tests kill midway).
BATCH_FILES_ENV = "CINEV4_JOURNAL_BATCH_FILES"

# hash_batch(paths, sizes, progress) -> digests in order (see cinev4.pipeline.hashing.hash_paths)
BatchHasher = Callable[[list[Path], list[int], "Progress | None"], "Sequence[Digest]"]


def _checksum(fields: dict[str, Any]) -> str:
    from cinev4 import hash_bytes

    return hash_bytes(json.dumps(fields, sort_keys=True, separators=(",", ":")).encode())[:16]


def _line(fields: dict[str, Any]) -> bytes:
    return json.dumps({**fields, "check": _checksum(fields)}, sort_keys=True, separators=(",", ":")).encode() + b"\n"


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
    _fd: int
    entries: dict[str, _Entry] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    reused_files: int = 0
    reused_bytes: int = 0
    hashed_files: int = 0

    @property
    def display_path(self) -> str:
        return f"{JOURNAL_DIR}/{self.file.name}"

    def key(self, real_path: str | os.PathLike[str]) -> str:
        return Path(os.path.relpath(real_path, self.root)).as_posix()

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
        if not items:
            return
        data = b"".join(
            _line({"p": key, "s": list(_stat_key(st)), "t": stat_time_ns, "h": sha256})
            for key, st, stat_time_ns, sha256 in items
        )
        os.write(self._fd, data)
        os.fsync(self._fd)
        for key, st, stat_time_ns, sha256 in items:
            self.entries[key] = _Entry(_stat_key(st), stat_time_ns, sha256)

    def close(self, *, completed: bool) -> None:
        """Release the journal; a completed run deletes it (the next --resume starts afresh)."""
        if completed:
            try:
                os.unlink(self.file)
            except FileNotFoundError:
                pass
        os.close(self._fd)  # drops the lock too

    def summary(self) -> dict[str, Any]:
        return {
            "journal": self.display_path,
            "reused_files": self.reused_files,
            "reused_bytes": self.reused_bytes,
            "hashed_files": self.hashed_files,
            "warnings": list(self.warnings),
        }


def _parse(raw: bytes, scope: str) -> tuple[dict[str, _Entry], int]:
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
        if check != _checksum(fields):
            raise _Damaged(f"line {number} fails its checksum")
        if number == 1:
            if fields != {"format": JOURNAL_FORMAT, "scope": scope}:
                raise _Damaged("its header is not this verification's")
            continue
        try:
            stat = tuple(int(v) for v in fields["s"])
            sha256 = str(fields["h"])
            if len(stat) != 5 or len(sha256) != 64:
                raise ValueError
            entries[str(fields["p"])] = _Entry(stat, int(fields["t"]), sha256)  # type: ignore[arg-type]
        except (KeyError, TypeError, ValueError):
            raise _Damaged(f"line {number} has missing or malformed fields") from None
    return entries, good_len


def open_journal(root: str | os.PathLike[str], scope: Sequence[str]) -> Journal:
    """The journal of this ``scope`` (the manifests verified) under ``root``, created if new.

    Raises ShotBusyError when another ``verify --resume`` holds it.
    """
    from cinev4 import hash_bytes

    real_root = Path(os.path.realpath(root))
    scope_id = hash_bytes("\n".join(sorted(scope)).encode())
    folder = real_root / JOURNAL_DIR
    folder.mkdir(exist_ok=True)
    file = folder / f"verify-{scope_id[:16]}.jsonl"
    fd = os.open(file, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise ShotBusyError(f"{JOURNAL_DIR}/{file.name} is in use by another cinev4 verify --resume "
                                    f"of the same manifests; wait for it or stop it") from None
        with open(file, "rb") as handle:
            raw = handle.read()
        journal = Journal(real_root, file, scope_id, fd)
        try:
            journal.entries, good_len = _parse(raw, scope_id)
        except _Damaged as exc:
            journal.warnings.append(f"{journal.display_path} is damaged ({exc}): discarded, "
                                    f"every file is hashed again")
            good_len = 0
        if good_len != len(raw):
            os.ftruncate(fd, good_len)
        if good_len == 0:
            os.write(fd, _line({"format": JOURNAL_FORMAT, "scope": scope_id}))
            os.fsync(fd)
        return journal
    except BaseException:
        os.close(fd)
        raise


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
    paths: Sequence[Path],
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
            st: os.stat_result | None = os.stat(path)
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
    min_files = 2 * (threads or os.cpu_count() or 1)  # keep every worker busy within a batch
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
