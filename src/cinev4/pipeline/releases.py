"""The release gate and publishing.

The gate: every shot DONE, its manifest valid and equal (by SHA-256) to the
one pinned in ``manifest_ref``, and every artifact verified by size and
SHA-256. A failed gate changes no shot and writes no record; it reports every
problem.

Publishing writes ``releases/<RELEASE>/release.json`` once. With a
destination, the manifests and artifacts are first copied there under the same
relative paths, the copy is verified like the source, and only then is the
record written, at the destination and in the project.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cinev4.contracts import canonical_bytes, validate
from cinev4.contracts.atomic import READ_ONLY, fsync_dir, write_once
from cinev4.contracts.rules import check_id
from cinev4.errors import AlreadyExistsError, ContractError, VerificationFailed
from cinev4.pipeline import layout
from cinev4.pipeline.clock import utc_now
from cinev4.pipeline.hashing import Progress
from cinev4.pipeline.locks import shot_lock
from cinev4.pipeline.project import Project
from cinev4.pipeline.report import VerifyReport
from cinev4.pipeline.shots import Shot, load_shot
from cinev4.pipeline.states import Status
from cinev4.pipeline.verify import ManifestTarget, shot_pairs, unique_ids, verify_pairs, verify_targets

__all__ = ["GateReport", "PublishResult", "check_release", "publish_release", "RELEASE_SCHEMA"]

RELEASE_SCHEMA = "cinev4/release@1"


@dataclass
class GateReport:
    """The gate's verdict: the verification report of every shot, gate problems included."""

    shots: list[Shot]
    report: VerifyReport

    @property
    def ok(self) -> bool:
        return self.report.ok

    @property
    def exit_code(self) -> int:
        return self.report.exit_code

    def to_dict(self) -> dict[str, Any]:
        return {"gate": "passed" if self.ok else "failed", **self.report.to_dict()}


@dataclass
class PublishResult:
    release_id: str
    record_path: str
    record: dict[str, Any]
    gate: GateReport
    destination: Path | None = None
    copy_report: VerifyReport | None = None
    copied_files: int = 0
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "ok": True,
            "release_id": self.release_id,
            "record_path": self.record_path,
            "record": self.record,
            "gate": self.gate.to_dict(),
        }
        if self.destination is not None:
            out["destination"] = str(self.destination)
            out["copied_files"] = self.copied_files
            out["copy_verification"] = self.copy_report.to_dict() if self.copy_report else None
        return out


def check_release(
    project: Project,
    shot_ids: list[str],
    *,
    threads: int | None = None,
    progress: Progress | None = None,
) -> GateReport:
    """Run the gate on ``shot_ids``; read-only, whatever the outcome."""
    if not shot_ids:
        raise ContractError("a release needs at least one shot")
    shots = [load_shot(project, shot_id) for shot_id in unique_ids(shot_ids)]
    pairs, _ = shot_pairs(project, shots, skip_unmanifested=False)
    for shot, (_, check) in zip(shots, pairs):
        if shot.status is not Status.DONE:
            check.add("not_done", layout.shot_record(shot.id),
                      f"shot {shot.id} is {shot.status}, a release takes DONE shots only")
    report = verify_pairs(pairs, threads=threads, progress=progress)
    return GateReport(shots, report)


def _release_record(project: Project, release_id: str, gate: GateReport) -> dict[str, Any]:
    entries: list[dict[str, Any]] = []
    for shot, check in zip(gate.shots, gate.report.checks):
        assert shot.manifest_ref is not None and check.manifest_sha256 == shot.manifest_ref["sha256"]
        entries.append({
            "shot_id": shot.id,
            "version": shot.version,
            "manifest_path": shot.manifest_ref["path"],
            "manifest_sha256": shot.manifest_ref["sha256"],
            "artifact_count": check.artifact_count,
            "total_bytes": check.total_bytes,
        })
    entries.sort(key=lambda e: e["shot_id"])
    record = {
        "schema": RELEASE_SCHEMA,
        "release_id": release_id,
        "project_id": project.id,
        "created_utc": utc_now(),
        "shots": entries,
        "totals": {
            "shots": len(entries),
            "artifacts": sum(e["artifact_count"] for e in entries),
            "bytes": sum(e["total_bytes"] for e in entries),
        },
    }
    validate(record, "release", layout.release_record(release_id))
    return record


def _copy_file(source: Path, destination: Path, mode: int | None = None) -> None:
    """Copy through a temporary file and an atomic rename: the destination holds
    the old bytes or the new ones, never a mix; fsync'd, as a delivery must be."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{destination.name}.", suffix=".tmp", dir=destination.parent)
    try:
        with open(source, "rb") as reader, os.fdopen(fd, "wb") as writer:
            shutil.copyfileobj(reader, writer, 8 * 1024 * 1024)
            writer.flush()
            os.fsync(writer.fileno())
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, destination)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _copy_release(project: Project, gate: GateReport, destination: Path) -> int:
    copied = 0
    folders: set[Path] = set()
    for shot, check in zip(gate.shots, gate.report.checks):
        assert shot.manifest_ref is not None
        # The artifacts of the verified manifest itself, not the (mutable) shot record's copy.
        contract_paths = [(path, None) for path in check.artifact_paths] + [(shot.manifest_ref["path"], READ_ONLY)]
        for contract_path, mode in contract_paths:
            target = destination.joinpath(*contract_path.split("/"))
            _copy_file(project.path(contract_path), target, mode)
            folders.add(target.parent)
            copied += 1
    for folder in folders:
        fsync_dir(folder)
    return copied


def publish_release(
    project: Project,
    release_id: str,
    shot_ids: list[str],
    *,
    destination: str | os.PathLike[str] | None = None,
    threads: int | None = None,
    progress: Progress | None = None,
) -> PublishResult:
    """Gate, (copy and verify the copy,) then write the release record once."""
    check_id(release_id, "release id")
    record_path = layout.release_record(release_id)
    record_real = project.path(record_path)
    if record_real.exists():
        raise AlreadyExistsError(f"{record_path} already exists: release {release_id} was published (records are written once)")
    dest: Path | None = None
    if destination is not None:
        dest = Path(destination).absolute()
        if os.path.realpath(dest) == os.path.realpath(project.root):
            raise ContractError("--to must not be the project root itself")
        if dest.joinpath(*record_path.split("/")).exists():
            raise AlreadyExistsError(f"{dest / record_path} already exists at the destination")
    with ExitStack() as stack:
        # Hold every shot's lock so no transition or manifest slips in between
        # the gate and the record.
        for shot_id in unique_ids(shot_ids):
            stack.enter_context(shot_lock(project.path(layout.shot_dir(check_id(shot_id, "shot id"))), shot_id))
        gate = check_release(project, shot_ids, threads=threads, progress=progress)
        if not gate.ok:
            raise VerificationFailed(f"release {release_id} not published: the gate failed: {gate.report.failure()}", report=gate)
        record = _release_record(project, release_id, gate)
        raw = canonical_bytes(record)
        result = PublishResult(release_id, record_path, record, gate, destination=dest)
        if dest is not None:
            result.copied_files = _copy_release(project, gate, dest)
            targets = [
                ManifestTarget(dest, s.manifest_ref["path"], s.manifest_ref["sha256"], s.id, s.version, project.id)
                for s in gate.shots if s.manifest_ref is not None
            ]
            result.copy_report = verify_targets(targets, threads=threads, progress=progress)
            if not result.copy_report.ok:
                raise VerificationFailed(
                    f"release {release_id} not published: the copy at {dest} does not verify: "
                    f"{result.copy_report.failure()}", report=result.copy_report)
        record_real.parent.mkdir(parents=True, exist_ok=True)
        write_once(record_real, raw, mode=READ_ONLY)
        if dest is not None:
            dest_record = dest.joinpath(*record_path.split("/"))
            dest_record.parent.mkdir(parents=True, exist_ok=True)
            write_once(dest_record, raw, mode=READ_ONLY)
        return result

