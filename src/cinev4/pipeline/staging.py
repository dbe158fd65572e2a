"""Staging: hash a render task's files while they are hot, seal the version later.

A farm post-task hook runs ``cinev4 stage SHOT FILE...`` (or ``stage(...)``)
on the files its task just wrote: they are still in that node's page cache,
so hashing them there costs no storage traffic. Each call writes ONE new
record, ``shots/<SHOT>/staging/<version>/<utc>-<host>-<pid>-<random>.json``,
with ``write_once`` (a complete file appears under its final name or none
does): no lock, no shared file appended, so hundreds of tasks on many nodes
(NFS included) stage into one shot at once. The staging folder sits beside
the outputs, never under them: scans, the extras check and releases never
see it, and the seal (``cinev4 manifest``) removes it.

A record holds, for each file, its contract path, size and SHA-256 and the
stat taken before hashing (device, inode, mtime_ns, ctime_ns); the file is
stat'ed again after hashing and left out of the record if anything moved.

A record is a claim made by a render node, trusted only so far:

- it must carry ``check``, the HMAC-SHA256 of its canonical bytes under the
  project's stage key (``<root>/.cinev4-stage.key``: 32 random bytes, mode
  0640, created by ``init``, or by the first ``stage`` of an older project;
  readable by the pipeline's group, never by others, never in the outputs);
- the manifest takes a staged digest only when the file's size, device,
  inode, mtime_ns and ctime_ns are all still the staged ones (ctime cannot
  be set back by a user, so a rewrite with its mtime put back is seen);
- and only when the entry is not racily clean, as git's index entries: a
  file changed in the same file-system timestamp tick as the record was
  written could change again unseen. The record's own mtime, set by the same
  file system's clock with the same granularity (the NFS server's, on NFS),
  is the reference: a file whose mtime or ctime is not strictly older is
  hashed again. Where the record is on another device than the file, the
  stager's clock is all there is, and the verify journal's margin
  (``clock.RACY_NS``) is used instead;
- anything else (a bad checksum, a record of another shot or version, a torn
  or garbage file, no key) is ignored with one warning line, and its files
  are hashed as if nothing had been staged.

The manifest is the same bytes whether its digests came from staging or not.
What no stat can see (a file written again through a shared ``mmap`` page
that was dirty already keeps its mtime and ctime) is not staging's to catch:
stage a file once its writer has closed (or msync'ed) it.

No symlink is followed on the staging paths (docs/CONTRACT.md "File
layer"): the staging folders are opened from the root one name at a time
with ``O_NOFOLLOW | O_DIRECTORY`` (``_Dir``), and every record is written,
read and removed relative to its folder's descriptor, so a folder swapped
for a link between a check and a use is not followed either. A link on the
way is refused by ``stage`` (exit 2, nothing written), makes the manifest
hash every file (a warning), and is left as it is by the seal's clean-up (a
warning): nothing is removed through a link, nor a link standing for a
staging folder. A link inside a staging folder is removed itself.
"""
from __future__ import annotations

import errno
import os
import re
import stat
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cinev4.contracts import canonical_bytes, layout, parse_document, read_document_bytes
from cinev4.contracts.atomic import READ_ONLY, write_once
from cinev4.contracts.rules import check_id, path_problems
from cinev4.contracts.schemas import schema_id
from cinev4.errors import ContractError, ShotNotFoundError, TransitionRefused, UnsafePathError
from cinev4.pipeline.clock import RACY_NS, utc_now
from cinev4.pipeline.folders import CLOEXEC, DIRECTORY, Folder, is_link
from cinev4.pipeline.keyfiles import keyed_digest, same_digest
from cinev4.pipeline.project import Project
from cinev4.pipeline.stage_key import create_stage_key, read_stage_key
from cinev4.pipeline.states import Status

if TYPE_CHECKING:
    from cinev4.pipeline.hashing import Digest
    from cinev4.pipeline.scan import ScannedFile
    from cinev4.pipeline.shots import Shot

__all__ = ["STAGE_SCHEMA", "StageResult", "StagedFile", "StagingUse", "stage", "digests_with_staging",
           "discard_staging"]

STAGE_SCHEMA = schema_id("stage")
_HOST_UNSAFE = re.compile(r"[^A-Za-z0-9.-]+")


# ---------------------------------------------------------------- folders, never through a link

# Folders reached by descriptor where the OS offers dir_fd (POSIX); elsewhere (Windows) by path,
# each name lstat'ed before it is used. _AT is what tests switch off to run the path walk here.
_AT = (bool(DIRECTORY) and {os.open, os.stat, os.mkdir, os.unlink, os.rmdir, os.rename, os.link}
       <= os.supports_dir_fd and os.scandir in os.supports_fd)
_NOT_FOLLOWED = "is a symlink (not followed: no symlink is followed below the project root)"


class _Dir(Folder):
    """A folder below the project root, reached from the root one name at a time without
    following a link (``folders.Folder``), that knows its contract path for messages, makes
    missing sub-folders with an exact mode and writes records once through its handle."""

    __slots__ = ("rel",)

    def __init__(self, rel: str, path: str, fd: int | None) -> None:
        super().__init__(path, fd)
        self.rel = rel  # contract path ('' for the root), for messages

    @classmethod
    def root(cls, root: str | os.PathLike[str]) -> _Dir:
        """The project root itself (reached as given: links above the root are the user's)."""
        path = os.fspath(root)
        if not _AT:
            return cls("", path, None)
        return cls("", path, os.open(path, os.O_RDONLY | DIRECTORY | CLOEXEC))

    def __enter__(self) -> _Dir:
        return self

    def child(self, name: str, *, make: int | None = None) -> _Dir:
        """The sub-folder ``name``, created with exactly mode ``make`` when missing (and
        ``make`` is given). UnsafePathError (naming it) when it is a link or no folder;
        FileNotFoundError when it is missing."""
        rel = f"{self.rel}/{name}" if self.rel else name
        made = False
        for _ in range(3):  # missing, made (or made by another stager meanwhile), opened
            try:
                child = _Dir(rel, *self.reach(name))
                break
            except FileNotFoundError:
                if make is None or made:
                    raise
                try:
                    self.mkdir(name)
                    made = True
                except FileExistsError:
                    pass
            except OSError as exc:
                if exc.errno not in (errno.ELOOP, errno.EMLINK, errno.ENOTDIR):
                    raise
                try:
                    st = self.lstat(name)
                except OSError:
                    raise exc from None
                if is_link(st):
                    raise UnsafePathError(f"{rel} {_NOT_FOLLOWED}") from None
                raise UnsafePathError(f"{rel} is not a folder") from None
        else:  # pragma: no cover - made and removed again twice by others
            raise FileNotFoundError(errno.ENOENT, "vanished while it was made", rel)
        if made and make is not None:
            try:  # exactly this mode, whatever this process's umask (setgid bit included)
                if child.fd is not None:
                    os.fchmod(child.fd, make)
                else:  # Windows
                    os.chmod(child.path, make)
            except BaseException:
                child.close()
                raise
        return child

    def entries(self) -> list[tuple[str, bool]]:
        """(name, is a folder, by the listing's own type, never following a link), listed whole."""
        with os.scandir(self.fd if self.fd is not None else self.path) as listing:
            return [(e.name, e.is_dir(follow_symlinks=False)) for e in listing]

    def unlink(self, name: str) -> None:
        """Remove the file or link ``name`` itself (a link's target is never touched)."""
        target, at = self.at(name)
        try:
            os.unlink(target, **at)
        except (IsADirectoryError, PermissionError):
            if self.fd is not None:
                raise
            os.rmdir(target)  # pragma: no cover - Windows: a folder link or junction goes with rmdir

    def rename(self, name: str, new_name: str) -> None:
        if self.fd is not None:
            os.rename(name, new_name, src_dir_fd=self.fd, dst_dir_fd=self.fd)
        else:
            os.rename(os.path.join(self.path, name), os.path.join(self.path, new_name))

    def write_once(self, name: str, data: bytes, mode: int) -> None:
        """``atomic.write_once`` into this folder: made and published from its descriptor."""
        target, at = self.at(name)
        write_once(target, data, mode, **at)


def _walk(root: str | os.PathLike[str], rel: str, *, make: int | None = None, made_from: int = 0) -> _Dir:
    """The folder ``rel`` (a contract path) under ``root``, each step opened without following
    a link (``_Dir.child``); the steps from index ``made_from`` on are made (mode ``make``)
    when missing. UnsafePathError names the first step that is a link or no folder."""
    current = _Dir.root(root)
    try:
        for index, name in enumerate(rel.split("/")):
            step = current.child(name, make=make if index >= made_from else None)
            current.close()
            current = step
    except BaseException:
        current.close()
        raise
    return current


def _refuse_links_on_the_way(root: str | os.PathLike[str], rel: str) -> None:
    """UnsafePathError when a folder of ``rel`` that exists is a link or no folder (the steps
    after the first missing one cannot be either)."""
    current = _Dir.root(root)
    try:
        for name in rel.split("/"):
            try:
                step = current.child(name)
            except FileNotFoundError:
                return
            current.close()
            current = step
    finally:
        current.close()


def _clear(folder: _Dir) -> None:
    """Remove everything in ``folder`` (the folder itself stays), never following a link: a
    file or link is unlinked itself, a sub-folder is opened without following (a folder
    swapped for a link since it was listed is unlinked as a link), emptied, then removed.
    An explicit stack, no recursion: any depth is removed."""
    stack: list[tuple[_Dir, list[tuple[str, bool]]]] = [(folder, folder.entries())]
    try:
        while stack:
            current, entries = stack[-1]
            if not entries:
                stack.pop()
                if stack:  # a sub-folder, empty now
                    current.close()
                    stack[-1][0].rmdir(current.rel.rsplit("/", 1)[-1])
                continue
            name, is_folder = entries.pop()
            if is_folder:
                try:
                    sub = current.child(name)
                except FileNotFoundError:
                    continue
                except UnsafePathError:  # a link (or a file) now: it goes itself, never its target
                    current.unlink(name)
                    continue
                stack.append((sub, sub.entries()))
                continue
            try:
                current.unlink(name)
            except FileNotFoundError:
                pass
    finally:
        for opened, _ in stack[1:]:
            opened.close()


# ---------------------------------------------------------------- the key

def _check(key: bytes, body: dict[str, Any]) -> str:
    """The record's keyed checksum: HMAC-SHA256 of its canonical bytes without ``check``."""
    return keyed_digest(key, canonical_bytes(body))


# ---------------------------------------------------------------- staging

@dataclass(frozen=True)
class StagedFile:
    path: str  # contract path
    size: int
    sha256: str


@dataclass(frozen=True)
class StageResult:
    """What one ``stage`` call did: the record it wrote (None when no file could be
    staged) and one line per file left out (unreadable, or changed while hashed)."""

    shot_id: str
    version: str
    record_path: str | None
    files: tuple[StagedFile, ...]
    failures: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.failures

    @property
    def total_bytes(self) -> int:
        return sum(f.size for f in self.files)

    def to_dict(self) -> dict[str, Any]:
        return {
            "shot_id": self.shot_id,
            "version": self.version,
            "record_path": self.record_path,
            "staged_files": len(self.files),
            "staged_bytes": self.total_bytes,
            "files": [{"path": f.path, "size": f.size, "sha256": f.sha256} for f in self.files],
            "failures": list(self.failures),
        }


def _identity(st: os.stat_result) -> tuple[int, int, int, int, int]:
    return (st.st_size, st.st_dev, st.st_ino, st.st_mtime_ns, st.st_ctime_ns)


def _refuse_unless_open(project: Project, shot: Shot) -> None:
    """Staging is for a version still being produced or reviewed, never for a sealed one."""
    if shot.manifest_ref is not None or os.path.lexists(project.root / shot.manifest_path):
        raise TransitionRefused(f"{shot.id} {shot.version} is sealed ({shot.manifest_path} exists): staging into "
                                f"it is refused; its digests are pinned already")
    if shot.status not in (Status.IN_PROGRESS, Status.QC):
        raise TransitionRefused(f"{shot.id} is {shot.status}: staging is allowed while IN_PROGRESS or QC")


def _contract_path(real_root: str, outputs_dir: str, given: str | os.PathLike[str]) -> tuple[str, os.stat_result]:
    """The contract path of a file given on the command line, and its lstat; UnsafePathError
    (one line) unless it is a regular file, no symlink, inside the version's outputs folder."""
    shown = os.fspath(given)
    # Joined, not normalised: "link/.." is for the file system to resolve (os.path.abspath would
    # drop it as text, naming another file than the one opening the path opens).
    absolute = os.path.join(os.getcwd(), shown)
    if "\0" in absolute:  # no system call takes a NUL: judged on the text, as one in the file name is
        relative = Path(os.path.relpath(absolute, real_root)).as_posix()
        raise UnsafePathError(f"{shown}: {relative!r} {path_problems(relative)[-1]}")
    # The folder is resolved (the project may be reached through a mounted or linked path);
    # the file itself must not be a link: what is staged is what the scan will list.
    real = os.path.join(os.path.realpath(os.path.dirname(absolute)), os.path.basename(absolute))
    relative = os.path.relpath(real, real_root)
    contract_path = Path(relative).as_posix()
    if relative.startswith(os.pardir) or not contract_path.startswith(outputs_dir + "/"):
        raise UnsafePathError(f"{shown}: not inside {outputs_dir}/ (the shot's current version folder): "
                              f"only its outputs are staged")
    problems = path_problems(contract_path)
    if problems:
        raise UnsafePathError(f"{shown}: {contract_path!r} {problems[0]}")
    try:
        st = os.lstat(real)
    except OSError as exc:
        raise UnsafePathError(f"{shown}: cannot be staged ({exc.strerror})") from None
    if stat.S_ISLNK(st.st_mode):
        raise UnsafePathError(f"{shown}: is a symbolic link (staging takes the regular files the render wrote)")
    if not stat.S_ISREG(st.st_mode):
        raise UnsafePathError(f"{shown}: is not a regular file")
    return contract_path, st


def _staging_mode(project: Project, shot: Shot) -> int:
    """The outputs folder's permissions, for the staging folders: every render node that may
    write the outputs (often as another user of the pipeline's group) may stage. Read from the
    folder reached without following a link, as the staging folders are checked: UnsafePathError
    (nothing written yet) when one on the way to either is a link."""
    try:
        with _walk(project.root, shot.outputs_dir) as outputs:
            st = os.fstat(outputs.fd) if outputs.fd is not None else os.stat(outputs.path)
        _refuse_links_on_the_way(project.root, layout.staging_dir(shot.id, shot.version))
    except UnsafePathError as exc:
        raise UnsafePathError(f"{exc.problems[0]}: nothing staged (remove it: cinev4 stage makes the staging "
                              f"folders itself)") from None
    return stat.S_IMODE(st.st_mode)


def _open_staging_folder(project: Project, shot: Shot, mode: int) -> _Dir:
    """The version's staging folder, opened from the root one name at a time without following
    a link, ``staging/`` and the version's folder made with exactly ``mode`` when missing."""
    return _walk(project.root, layout.staging_dir(shot.id, shot.version), make=mode, made_from=2)


def _record_name() -> str:
    import socket  # only stagers name records: the manifest command does not pay for it

    host = _HOST_UNSAFE.sub("-", socket.gethostname()).strip("-.")[:48] or "host"
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    return f"{stamp}-{host}-{os.getpid()}-{os.urandom(6).hex()}.json"


def stage(
    project: Project,
    shot_id: str,
    paths: Iterable[str | os.PathLike[str]],
    *,
    threads: int | None = None,
) -> StageResult:
    """Hash ``paths`` (files of the shot's current version folder) and write one staging record.

    Raises (nothing written) when the shot is sealed or not IN_PROGRESS/QC
    (TransitionRefused), or when any path is outside the version's outputs
    folder, a symlink or no regular file (UnsafePathError, one line each). A
    file that cannot be read or that changed while it was hashed is left out
    and named in ``StageResult.failures``; the others are staged.
    """
    from cinev4 import hash_files
    from cinev4.pipeline.shots import load_shot

    check_id(shot_id, "shot id")
    if not (project.root / layout.shot_record(shot_id)).is_file():
        raise ShotNotFoundError(f"no shot {shot_id} in project {project.id} ({layout.shot_record(shot_id)} does not exist)")
    shot = load_shot(project, shot_id)
    _refuse_unless_open(project, shot)
    real_root = os.path.realpath(project.root)
    chosen: dict[str, tuple[str, os.stat_result, int]] = {}  # contract path -> (real path, stat, stat time)
    problems: list[str] = []
    for given in paths:
        stat_time_ns = time.time_ns()
        try:
            contract_path, st = _contract_path(real_root, shot.outputs_dir, given)
        except UnsafePathError as exc:
            problems.extend(exc.problems)
            continue
        chosen.setdefault(contract_path, (os.path.join(real_root, *contract_path.split("/")), st, stat_time_ns))
    if problems:
        raise UnsafePathError(problems)
    if not chosen:
        raise ContractError("nothing to stage: name the files the render task wrote (PATH... or --files-from)")
    mode = _staging_mode(project, shot)  # before anything is hashed or written: a link on the way is refused
    try:
        key = read_stage_key(project.root)
    except FileNotFoundError:
        create_stage_key(project.root)  # a project made before staging existed
        key = read_stage_key(project.root)

    order = sorted(chosen)
    digests = hash_files([chosen[p][0] for p in order], threads)
    entries: list[dict[str, Any]] = []
    staged: list[StagedFile] = []
    failures: list[str] = []
    for contract_path, digest in zip(order, digests):
        real_path, before, stat_time_ns = chosen[contract_path]
        if digest.error is not None or digest.sha256 is None:
            reason = getattr(digest.error, "strerror", None) or str(digest.error)
            failures.append(f"{contract_path}: cannot be read ({reason}): not staged")
            continue
        try:
            after = os.lstat(real_path)
        except OSError as exc:
            failures.append(f"{contract_path}: vanished while it was hashed ({exc.strerror}): not staged")
            continue
        if _identity(after) != _identity(before) or digest.size != before.st_size:
            failures.append(f"{contract_path}: changed while it was hashed: not staged (the manifest hashes it)")
            continue
        entries.append({"path": contract_path, "size": before.st_size, "sha256": digest.sha256,
                        "device": before.st_dev, "inode": before.st_ino, "mtime_ns": before.st_mtime_ns,
                        "ctime_ns": before.st_ctime_ns, "stat_time_ns": stat_time_ns})
        staged.append(StagedFile(contract_path, before.st_size, digest.sha256))
    if not entries:
        return StageResult(shot.id, shot.version, None, (), tuple(failures))

    body: dict[str, Any] = {"schema": STAGE_SCHEMA, "project_id": project.id, "shot_id": shot.id,
                            "version": shot.version, "created_utc": utc_now(), "files": entries}
    document = {**body, "check": _check(key, body)}
    raw = canonical_bytes(document)
    parse_document(raw, "stage", "staging record")  # the schema is the contract, for writers too
    folder_rel = layout.staging_dir(shot.id, shot.version)
    name = _record_name()
    record_rel = f"{folder_rel}/{name}"
    try:
        # Opened (and made) from the root one name at a time, never through a link, and written
        # through that folder's descriptor: a folder swapped for a link meanwhile is not followed.
        folder = _open_staging_folder(project, shot, mode)
    except UnsafePathError as exc:  # swapped for a link since it was looked at
        raise UnsafePathError(f"{exc.problems[0]}: nothing staged (remove it: cinev4 stage makes the staging "
                              f"folders itself)") from None
    except FileNotFoundError:
        _refuse_if_sealed_meanwhile(project, shot)
        raise
    with folder:
        try:
            folder.write_once(name, raw, READ_ONLY)
        except FileNotFoundError:
            _refuse_if_sealed_meanwhile(project, shot)  # the seal took the folder away meanwhile
            raise
        # No lock is shared with the seal, so look again: a record that lands after the
        # manifest was written would never be read; take it back and say so.
        if os.path.lexists(project.root / shot.manifest_path):
            try:
                folder.unlink(name)
            except FileNotFoundError:
                pass  # the seal's clean-up took it already
            raise _sealed_meanwhile(shot)
    return StageResult(shot.id, shot.version, record_rel, tuple(staged), tuple(failures))


def _sealed_meanwhile(shot: Shot) -> TransitionRefused:
    return TransitionRefused(f"{shot.id} {shot.version} was sealed while staging ({shot.manifest_path} exists): "
                             f"nothing staged")


def _refuse_if_sealed_meanwhile(project: Project, shot: Shot) -> None:
    if os.path.lexists(project.root / shot.manifest_path):
        raise _sealed_meanwhile(shot) from None


# ---------------------------------------------------------------- the seal

@dataclass
class StagingUse:
    """How a manifest got its digests: from staging records, or hashed."""

    staged_files: int = 0
    hashed_files: int = 0
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Claim:
    identity: tuple[int, int, int, int, int]  # size, device, inode, mtime_ns, ctime_ns
    sha256: str
    stat_time_ns: int
    record_mtime_ns: int
    record_dev: int


@dataclass(frozen=True)
class _StagedDigest:
    """A staged digest in the shape the manifest reads (see ``hashing.Digest``)."""

    path: str
    size: int
    sha256: str
    error: OSError | None = None


def _racy(claim: _Claim, st: os.stat_result) -> bool:
    """Whether the file was changed too close to its staging for its stat to prove anything."""
    changed_ns = max(st.st_mtime_ns, st.st_ctime_ns)
    if claim.record_dev == st.st_dev:
        return changed_ns >= claim.record_mtime_ns  # the file system's own clock and granularity
    return changed_ns >= claim.stat_time_ns - RACY_NS


def _read_claims(project: Project, shot: Shot, warnings: list[str]) -> dict[str, list[_Claim]]:
    """Contract path -> the claims of every trustworthy record of the shot's version, newest first."""
    folder_rel = layout.staging_dir(shot.id, shot.version)
    try:
        # From the root one name at a time, never through a link; the records are then named
        # relative to the folder's descriptor, so a folder swapped for a link is not followed.
        folder = _walk(project.root, folder_rel)
    except FileNotFoundError:
        return {}
    except UnsafePathError as exc:
        warnings.append(f"{exc.problems[0]}: staged digests ignored, every file is hashed")
        return {}
    except OSError as exc:
        warnings.append(f"{folder_rel}/ cannot be listed ({exc.strerror}): staged digests ignored, every file is hashed")
        return {}
    with folder:
        return _claims_in(project, shot, folder, warnings)


def _claims_in(project: Project, shot: Shot, folder: _Dir, warnings: list[str]) -> dict[str, list[_Claim]]:
    folder_rel = folder.rel
    try:
        names = sorted(n for n, _ in folder.entries() if n.endswith(".json") and not n.startswith("."))
    except OSError as exc:
        warnings.append(f"{folder_rel}/ cannot be listed ({exc.strerror}): staged digests ignored, every file is hashed")
        return {}
    if not names:
        return {}
    try:
        key = read_stage_key(project.root)
    except FileNotFoundError:
        warnings.append(f"{len(names)} staging record(s) in {folder_rel}/ but no stage key "
                        f"({layout.STAGE_KEY_FILE}): ignored, every file is hashed")
        return {}
    except ContractError as exc:
        warnings.append(f"{exc.problems[0]}; staging records ignored, every file is hashed")
        return {}
    claims: dict[str, list[_Claim]] = {}
    for name in names:
        record_rel = f"{folder_rel}/{name}"
        ignored = f"{record_rel} ignored, its files are hashed"
        try:
            st = folder.lstat(name)
            target, at = folder.at(name)  # opened O_NOFOLLOW: a record that is a link is refused
            data = parse_document(read_document_bytes(target, "stage", record_rel, **at), "stage", record_rel).data
        except ContractError as exc:
            warnings.append(f"{ignored}: not a staging record ({exc.problems[0]})")
            continue
        except OSError as exc:
            warnings.append(f"{ignored}: cannot be read ({exc.strerror})")
            continue
        body = {k: v for k, v in data.items() if k != "check"}
        if not same_digest(str(data["check"]), _check(key, body)):
            warnings.append(f"{ignored}: it fails its keyed checksum (not written by cinev4 stage "
                            f"with this project's key)")
            continue
        if (data["project_id"], data["shot_id"], data["version"]) != (project.id, shot.id, shot.version):
            warnings.append(f"{ignored}: it stages {data['project_id']}/{data['shot_id']} {data['version']}, "
                            f"not this version")
            continue
        for entry in data["files"]:
            claims.setdefault(entry["path"], []).append(_Claim(
                (entry["size"], entry["device"], entry["inode"], entry["mtime_ns"], entry["ctime_ns"]),
                entry["sha256"], entry["stat_time_ns"], st.st_mtime_ns, st.st_dev))
    for found in claims.values():
        found.sort(key=lambda c: c.record_mtime_ns, reverse=True)
    return claims


_FIELDS = ("size", "device", "inode", "mtime_ns", "ctime_ns")


def digests_with_staging(
    project: Project,
    shot: Shot,
    files: Sequence[ScannedFile],
    hash_rest: Callable[[list[ScannedFile]], Sequence[Digest]],
    use: StagingUse,
) -> list[Digest]:
    """Digests of ``files`` in order: a staged digest where a trustworthy record holds one
    for the file exactly as it is now and not racily, ``hash_rest``'s for every other file."""
    claims = _read_claims(project, shot, use.warnings)
    results: list[Digest | None] = [None] * len(files)
    todo: list[int] = []
    folders = _Folders(project.root)
    try:
        for index, scanned in enumerate(files):
            found = claims.get(scanned.path)
            if found:
                # The file as the engine will open it: reached from the root, no link followed
                # (None: hashed, and the engine reports the problem for this file).
                st = folders.lstat_file(scanned.path)
                matching = [c for c in found if st is not None and c.identity == _identity(st)]
                usable = [c for c in matching if st is not None and not _racy(c, st)]
                if usable and st is not None:
                    results[index] = _StagedDigest(os.fspath(scanned.real_path), st.st_size, usable[0].sha256)
                    continue
                if st is not None and not matching:
                    moved = [name for name, old, new in zip(_FIELDS, found[0].identity, _identity(st)) if old != new]
                    use.warnings.append(f"{scanned.path} changed after it was staged ({', '.join(moved)} differ): "
                                        f"its staged digest is ignored, the file is hashed")
            todo.append(index)
    finally:
        folders.close()
    if todo:
        hashed = hash_rest([files[i] for i in todo])
        for index, digest in zip(todo, hashed):
            results[index] = digest
    use.staged_files = len(files) - len(todo)
    use.hashed_files = len(todo)
    assert all(r is not None for r in results)
    return results  # type: ignore[return-value]


class _Folders:
    """The folders of a version's files, each opened once from its parent without following
    a link (None: it could not be, and its files are hashed, the engine naming the problem)."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self._root = root
        self._open: dict[str, _Dir | None] = {}

    def _folder(self, rel: str) -> _Dir | None:
        if rel not in self._open:
            folder: _Dir | None = None
            try:
                if "/" not in rel:
                    folder = _walk(self._root, rel)
                else:
                    parent_rel, name = rel.rsplit("/", 1)
                    parent = self._folder(parent_rel)
                    folder = parent.child(name) if parent is not None else None
            except (OSError, UnsafePathError):
                folder = None
            self._open[rel] = folder
        return self._open[rel]

    def lstat_file(self, contract_path: str) -> os.stat_result | None:
        """The lstat of the regular file at ``contract_path``; None for anything else."""
        parent_rel, name = contract_path.rsplit("/", 1)
        folder = self._folder(parent_rel)
        if folder is None:
            return None
        try:
            st = folder.lstat(name)
        except OSError:
            return None
        return st if stat.S_ISREG(st.st_mode) else None

    def close(self) -> None:
        for folder in self._open.values():
            if folder is not None:
                folder.close()
        self._open.clear()


def discard_staging(project: Project, shot_id: str, version: str) -> list[str]:
    """After the seal: remove the version's staging records (never read again). The folder
    is first renamed aside, so a late stager cannot race the removal. Warnings, if any.

    Nothing is followed or removed through a link: the folders are opened from the root one
    name at a time (``_Dir``), and what is removed is named relative to their descriptors. A
    staging folder (or a folder above it) that is a link or no folder is left as it is, with
    a warning; a link inside the staging folder is removed itself, never what it points to."""
    folder_rel = layout.staging_dir(shot_id, version)
    shot_rel, staging_name, _ = folder_rel.rsplit("/", 2)
    try:
        shot_dir = _walk(project.root, shot_rel)
    except FileNotFoundError:
        return []
    except (OSError, UnsafePathError) as exc:
        return [_left(folder_rel, exc)]
    with shot_dir:
        try:
            staging = shot_dir.child(staging_name)
        except FileNotFoundError:
            return []
        except (OSError, UnsafePathError) as exc:
            return [_left(folder_rel, exc)]
        with staging:
            try:
                if not _discard_version(staging, version):
                    return []
            except (OSError, UnsafePathError) as exc:
                return [_left(folder_rel, exc)]
        try:
            shot_dir.rmdir(staging_name)  # shots/<SHOT>/staging/, when no other version stages
        except OSError:
            pass  # not empty (another version stages) or already gone
    return []


def _left(folder_rel: str, exc: OSError | UnsafePathError) -> str:
    """The warning for a staging folder the seal could not (or would not) remove."""
    if isinstance(exc, UnsafePathError):
        return (f"{exc.problems[0]}: left as it is (the seal removes nothing through a link, nor a link "
                f"itself); remove it by hand")
    return (f"{folder_rel}/ could not be removed after the seal ({exc.strerror}): it is never read again, "
            f"remove it by hand")


def _discard_version(staging: _Dir, version: str) -> bool:
    """Rename the version's folder aside, empty it through its descriptor and remove it; False
    when there is none. UnsafePathError (left as it is) when it is a link or no folder."""
    try:
        st = staging.lstat(version)
    except FileNotFoundError:
        return False
    rel = f"{staging.rel}/{version}"
    if is_link(st):
        raise UnsafePathError(f"{rel} {_NOT_FOLLOWED}")
    if not stat.S_ISDIR(st.st_mode):
        raise UnsafePathError(f"{rel} is not a folder")
    aside = f".sealed-{version}-{os.urandom(6).hex()}"
    staging.rename(version, aside)
    try:
        folder = staging.child(aside)
    except UnsafePathError as exc:
        # Swapped for a link (or a file) between the look and the rename: put it back as it
        # was, never following it nor replacing anything (a name taken meanwhile keeps it aside).
        try:
            staging.rename_noreplace(aside, version)
        except OSError:
            pass
        raise UnsafePathError(exc.problems[0].replace(f"{staging.rel}/{aside}", rel)) from None
    with folder:
        _clear(folder)
    staging.rmdir(aside)
    staging.fsync()
    return True
