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
"""
from __future__ import annotations

import os
import re
import stat
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cinev4.contracts import canonical_bytes, layout, parse_document, read_document_bytes
from cinev4.contracts.atomic import READ_ONLY, fsync_dir, write_once
from cinev4.contracts.rules import check_id, path_problems
from cinev4.contracts.schemas import schema_id
from cinev4.errors import ContractError, ShotNotFoundError, TransitionRefused, UnsafePathError
from cinev4.pipeline.clock import RACY_NS, utc_now
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
    absolute = os.path.abspath(shown)
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


def _make_staging_folder(folder: Path, outputs: Path) -> None:
    """Create the staging folders with the outputs folder's permissions: every render node
    that may write the outputs (often as another user of the pipeline's group) may stage."""
    mode = stat.S_IMODE(os.stat(outputs).st_mode)
    for level in (folder.parent, folder):
        try:
            os.mkdir(level)
        except FileExistsError:
            continue
        os.chmod(level, mode)  # exactly, whatever this process's umask (setgid bit included)


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
    folder = project.path(folder_rel)
    _make_staging_folder(folder, project.root / shot.outputs_dir)
    record_rel = f"{folder_rel}/{_record_name()}"
    record = folder / record_rel.rsplit("/", 1)[1]
    try:
        write_once(record, raw, mode=READ_ONLY)
    except FileNotFoundError:
        if os.path.lexists(project.root / shot.manifest_path):  # the seal took the folder away meanwhile
            raise TransitionRefused(f"{shot.id} {shot.version} was sealed while staging "
                                    f"({shot.manifest_path} exists): nothing staged") from None
        raise
    # No lock is shared with the seal, so look again: a record that lands after the
    # manifest was written would never be read; take it back and say so.
    if os.path.lexists(project.root / shot.manifest_path):
        record.unlink()
        raise TransitionRefused(f"{shot.id} {shot.version} was sealed while staging ({shot.manifest_path} exists): "
                                f"nothing staged")
    return StageResult(shot.id, shot.version, record_rel, tuple(staged), tuple(failures))


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
    folder = project.root / folder_rel
    try:
        names = sorted(n for n in os.listdir(folder) if n.endswith(".json") and not n.startswith("."))
    except FileNotFoundError:
        return {}
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
            st = os.lstat(folder / name)
            data = parse_document(read_document_bytes(folder / name, "stage", record_rel), "stage", record_rel).data
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
    for index, scanned in enumerate(files):
        found = claims.get(scanned.path)
        if found:
            try:
                st: os.stat_result | None = os.stat(scanned.real_path)
            except OSError:
                st = None  # hashed: the engine reports the error for this file
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
    if todo:
        hashed = hash_rest([files[i] for i in todo])
        for index, digest in zip(todo, hashed):
            results[index] = digest
    use.staged_files = len(files) - len(todo)
    use.hashed_files = len(todo)
    assert all(r is not None for r in results)
    return results  # type: ignore[return-value]


def _remove_records(folder: Path) -> None:
    """Remove a staging folder: its records (and any temporary a killed stager left) are
    files; anything else in it (never made by cinev4) goes through shutil.rmtree, which
    costs every seal about 2 ms of imports when it is not needed."""
    with os.scandir(folder) as listing:
        entries = list(listing)  # listed whole first: removing while listing may skip entries
    for entry in entries:
        if entry.is_dir(follow_symlinks=False):
            import shutil

            shutil.rmtree(entry.path)
        else:
            os.unlink(entry.path)
    os.rmdir(folder)


def discard_staging(project: Project, shot_id: str, version: str) -> list[str]:
    """After the seal: remove the version's staging records (never read again). The folder
    is first renamed aside, so a late stager cannot race the removal. Warnings, if any."""
    folder_rel = layout.staging_dir(shot_id, version)
    folder = project.root / folder_rel
    if not os.path.lexists(folder):
        return []
    aside = folder.parent / f".sealed-{version}-{os.urandom(6).hex()}"
    try:
        os.rename(folder, aside)
        if os.path.islink(aside):
            os.unlink(aside)
        else:
            _remove_records(aside)
        fsync_dir(folder.parent)
    except OSError as exc:
        return [f"{folder_rel}/ could not be removed after the seal ({exc.strerror}): it is never read again, "
                f"remove it by hand"]
    try:
        os.rmdir(folder.parent)  # shots/<SHOT>/staging/, when no other version stages
    except OSError:
        pass  # not empty (another version stages) or already gone
    return []
