"""Publishing a release, behind the release gate (``cinev4.pipeline.gates``).

A failed gate changes no shot and writes no record; it reports every problem.

Publishing writes ``releases/<RELEASE>/release.json`` once; the record pins
each shot's manifest (sha256) and the project's policy in force. With a
destination (DEST) the order is: the gate; the copy of the manifests and
artifacts under the same relative paths (``cinev4.pipeline.publish``: never
through a symlink, never overwriting, identical files kept); the copy verified
from DEST's storage; DEST's record; and last the project's record. A run
stopped anywhere is completed by the same call: the files already copied are
kept, and a record DEST already holds for this very release is the one the
project gets. Of two runs publishing one release id at once, one wins and the
other removes what it copied.
"""
from __future__ import annotations

import json
import os
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cinev4 import hash_bytes
from cinev4.contracts import canonical_bytes, layout, parse_document, validate
from cinev4.contracts.atomic import READ_ONLY, write_once
from cinev4.contracts.rules import as_the_kernel_reads, check_id, nfc
from cinev4.contracts.schemas import schema_id
from cinev4.errors import AlreadyExistsError, ContractError, VerificationFailed
from cinev4.pipeline.clock import utc_now
from cinev4.pipeline.hashing import Progress
from cinev4.pipeline.locks import shot_lock
from cinev4.pipeline.project import Project
from cinev4.pipeline.publish import CopyItem, Destination, check_destination
from cinev4.pipeline.report import ManifestCheck, Problem, VerifyReport
from cinev4.pipeline.scan import scan_folder
from cinev4.pipeline.shots import load_shot
from cinev4.pipeline.gates import GateReport, check_release
from cinev4.pipeline.verify import ManifestTarget, unique_ids, verify_targets

__all__ = ["PublishResult", "publish_release", "verify_release_file", "release_record_problems", "RELEASE_SCHEMA",
           "DEFAULT_WAIT_S"]

RELEASE_SCHEMA = schema_id("release")
DEFAULT_WAIT_S = 30.0  # how long publish waits for a shot another process is writing


@dataclass
class PublishResult:
    release_id: str
    record_path: str
    record: dict[str, Any]
    gate: GateReport
    destination: Path | None = None
    copy_report: VerifyReport | None = None
    copied_files: int = 0
    kept_files: int = 0
    removed_temps: list[str] = field(default_factory=list)
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
            out["kept_files"] = self.kept_files
            out["removed_temps"] = self.removed_temps
            out["notes"] = self.notes
            out["copy_verification"] = self.copy_report.to_dict() if self.copy_report else None
        return out


def verify_release_file(
    record_file: str | os.PathLike[str],
    *,
    threads: int | None = None,
    progress: Progress | None = None,
    sizes_only: bool = False,
    resume: bool = False,
) -> VerifyReport:
    """Verify a delivery from its release record (``<root>/releases/<R>/release.json``):
    every manifest the record names, from the record's own root (a delivered folder needs
    no project.json), each manifest's bytes against the record's pin, then every artifact."""
    from cinev4.contracts import load_document

    real = as_the_kernel_reads(record_file, 3)  # ROOT/releases/RELEASE/release.json
    if real.name != layout.RELEASE_FILE or real.parent.parent.name != layout.RELEASES_DIR:
        raise ContractError(f"{record_file}: not at a release record's layout place "
                            f"(expected <root>/releases/<RELEASE>/release.json)")
    root = real.parent.parent.parent
    source = layout.release_record(real.parent.name)
    record = load_document(real, "release", source).data
    if record["release_id"] != real.parent.name:
        raise ContractError(f"{source}: $.release_id: {record['release_id']!r} does not match its folder "
                            f"(expected {real.parent.name!r})")
    targets = [ManifestTarget(root, entry["manifest_path"], entry["manifest_sha256"], entry["shot_id"],
                              entry["version"], record["project_id"], pinned_by=source)
               for entry in record["shots"]]
    report = verify_targets(targets, threads=threads, progress=progress, sizes_only=sizes_only, resume=resume)
    report.notes.append(f"{len(targets)} manifest(s) named by {source} (release {record['release_id']}), "
                        f"verified under {root} against the record's pins")
    for entry, check in zip(record["shots"], report.checks):
        if check.ok and (check.artifact_count, check.total_bytes) != (entry["artifact_count"], entry["total_bytes"]):
            check.add("manifest_mismatch", entry["manifest_path"],
                      f"{source} records {entry['artifact_count']} artifacts, {entry['total_bytes']} bytes; the "
                      f"manifest lists {check.artifact_count}, {check.total_bytes}")
    record_check = ManifestCheck(record["release_id"], None, source)
    for problem in release_record_problems(record, source):
        record_check.add(problem.kind, problem.path, problem.detail, problem.expected, problem.actual)
    if not record_check.ok:
        report.checks.append(record_check)
    return report


def release_record_problems(record: dict[str, Any], source: str) -> list[Problem]:
    """What is wrong with a (schema-valid) release record as a whole, whatever its manifests say:
    a shot named twice (``duplicate_shot``: publish names each shot once), or ``totals`` that
    are not the sum of its ``shots`` (``totals_mismatch``). Each entry's own counts are checked
    against its manifest by ``verify_release_file`` (``manifest_mismatch``)."""
    problems: list[Problem] = []
    first: dict[str, int] = {}
    for index, entry in enumerate(record["shots"]):
        shot_id = entry["shot_id"]
        if shot_id in first:
            problems.append(Problem(
                "duplicate_shot", source,
                f"$.shots[{index}] names shot {shot_id} again (first at $.shots[{first[shot_id]}]): a release "
                f"names each shot once, so the record was edited", expected=1,
                actual=sum(1 for e in record["shots"] if e["shot_id"] == shot_id)))
        else:
            first[shot_id] = index
    entries = record["shots"]
    added = {
        "shots": (len(entries), f"$.shots holds {len(entries)} entries"),
        "artifacts": (total := sum(e["artifact_count"] for e in entries),
                      f"the artifact_count of its $.shots entries add up to {total}"),
        "bytes": (total := sum(e["total_bytes"] for e in entries),
                  f"the total_bytes of its $.shots entries add up to {total}"),
    }
    for name, (total, why) in added.items():
        recorded = record["totals"][name]
        if recorded != total:
            problems.append(Problem("totals_mismatch", source, f"$.totals.{name} is {recorded}, but {why}: the "
                                    f"record was edited", expected=total, actual=recorded))
    return problems


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
        "policy": dict(project.data["policy"]),  # the rules in force when it went out
        "shots": entries,
        "totals": {
            "shots": len(entries),
            "artifacts": sum(e["artifact_count"] for e in entries),
            "bytes": sum(e["total_bytes"] for e in entries),
        },
    }
    validate(record, "release", layout.release_record(release_id))
    return record


def _copy_items(project: Project, gate: GateReport) -> list[CopyItem]:
    """What a delivery holds: each verified manifest (its pinned bytes) and its artifacts,
    read from their on-disk names (an NFD name stands for its NFC contract path)."""
    items: list[CopyItem] = []
    for group, shot in enumerate(gate.shots):
        assert shot.manifest_ref is not None
        manifest_path = shot.manifest_ref["path"]
        raw = project.path(manifest_path).read_bytes()
        if hash_bytes(raw) != shot.manifest_ref["sha256"]:
            raise VerificationFailed(f"{manifest_path} changed after the gate verified it; nothing was published")
        data = parse_document(raw, "manifest", manifest_path).data
        outputs = scan_folder(project.root, layout.outputs_dir(shot.id, shot.version))
        on_disk = {nfc(f.path): f.real_path for f in outputs.files}
        for artifact in data["artifacts"]:
            source = on_disk.get(nfc(artifact["path"])) or project.path(artifact["path"])
            items.append(CopyItem(artifact["path"], source, artifact["size"], artifact["sha256"], group))
        items.append(CopyItem(manifest_path, raw, len(raw), shot.manifest_ref["sha256"], group, read_only=True))
    return items


def _conflict_report(gate: GateReport, plan_conflicts: list[tuple[CopyItem, str]], dest: Destination) -> VerifyReport:
    """A report of the conflicts alone: one check per shot that has any."""
    checks = [ManifestCheck(c.shot_id, c.version, c.manifest_path) for c in gate.report.checks]
    for item, why in plan_conflicts:
        checks[item.group].add("conflict", item.contract_path, f"{dest.display(item.contract_path)} {why}")
    return VerifyReport(checks=[c for c in checks if not c.ok])


def _same_release(raw: bytes, record: dict[str, Any]) -> bool:
    """Whether the bytes of a record found at the destination are this release, but for its time."""
    import json

    try:
        found = json.loads(raw)
    except ValueError:
        return False
    if not isinstance(found, dict) or "created_utc" not in found:
        return False
    return {**found, "created_utc": None} == {**record, "created_utc": None}


def _lost_race(release_id: str, where: str, dest: Destination) -> AlreadyExistsError:
    removed = dest.remove_created()
    return AlreadyExistsError(f"{where} already exists: release {release_id} was published by another process "
                              f"meanwhile; this run removed the {removed} file(s) it had copied to {dest.root}")


def _deliver(
    project: Project,
    gate: GateReport,
    release_id: str,
    record: dict[str, Any],
    dest: Destination,
    result: PublishResult,
    *,
    threads: int | None,
    progress: Progress | None,
    copy_progress: Progress | None,
) -> bytes:
    """Copy the release into DEST, verify the copy from DEST's storage, write DEST's record;
    the record's bytes come back for the project's copy (from DEST's record when this
    release was already delivered there by a run that stopped before the project's record)."""
    record_path = layout.release_record(release_id)
    raw = canonical_bytes(record)
    found = dest.read(record_path)
    if found is not None:
        if not _same_release(found, record):
            check = ManifestCheck(release_id, None, record_path)
            check.add("conflict", record_path, f"{dest.display(record_path)} is the record of another "
                      f"release {release_id} already delivered there; not overwritten")
            report = VerifyReport(checks=[check])
            raise VerificationFailed(f"release {release_id} not published: {dest.display(record_path)} records "
                                     "another release of that id; nothing was written", report=report)
        raw = found  # finishing a delivery a stopped run made: the project gets the very same record
        result.notes.append(f"{dest.display(record_path)} was already there: the delivery is completed")
    items = _copy_items(project, gate)
    plan = dest.plan(items, threads=threads)
    if plan.conflicts:
        report = _conflict_report(gate, plan.conflicts, dest)
        raise VerificationFailed(f"release {release_id} not published: {len(plan.conflicts)} file(s) already in "
                                 f"{dest.root} differ (conflict); nothing was overwritten", report=report)
    if copy_progress is not None:
        copy_progress.start(sum(i.size for i in plan.to_write), len(plan.to_write))
    copied_bytes = 0
    try:
        for done, item in enumerate(plan.to_write, 1):
            try:
                dest.write(item)
            except FileExistsError:
                # Appeared since the plan: another run. Kept if identical, else a conflict.
                again = dest.plan([item], threads=threads)
                if again.conflicts:
                    raise VerificationFailed(
                        f"release {release_id} not published: {dest.display(item.contract_path)} appeared "
                        "meanwhile with other content (conflict); nothing was overwritten",
                        report=_conflict_report(gate, again.conflicts, dest)) from None
            copied_bytes += item.size
            if copy_progress is not None:
                copy_progress.update(copied_bytes, done)
    finally:
        if copy_progress is not None:
            copy_progress.finish()
    dest.sync()
    result.copied_files = len(dest.created_files)
    result.kept_files = len(plan.kept)
    dest.drop_cached([i.contract_path for i in items])
    targets = [
        ManifestTarget(dest.root, s.manifest_ref["path"], s.manifest_ref["sha256"], s.id, s.version, project.id)
        for s in gate.shots if s.manifest_ref is not None
    ]
    result.copy_report = verify_targets(targets, threads=threads, progress=progress)
    if not result.copy_report.ok:
        removed = dest.remove_created()
        raise VerificationFailed(
            f"release {release_id} not published: the copy at {dest.root} does not verify "
            f"({result.copy_report.failure()}); the {removed} file(s) this run copied were removed",
            report=result.copy_report)
    if found is None:
        try:
            dest.write(CopyItem(record_path, raw, len(raw), hash_bytes(raw), read_only=True))
        except FileExistsError:
            raise _lost_race(release_id, dest.display(record_path), dest) from None
        dest.sync()
    result.removed_temps = list(dest.removed_temps)
    return raw


def _refuse_published(project: Project, release_id: str) -> None:
    record_path = layout.release_record(release_id)
    if project.path(record_path).exists():
        raise AlreadyExistsError(f"{record_path} already exists: release {release_id} is already published "
                                 "(records are written once)")


def publish_release(
    project: Project,
    release_id: str,
    shot_ids: list[str],
    *,
    destination: str | os.PathLike[str] | None = None,
    threads: int | None = None,
    progress: Progress | None = None,
    wait_s: float = DEFAULT_WAIT_S,
    copy_progress: Progress | None = None,
) -> PublishResult:
    """Gate, (copy, verify the copy from DEST's storage, write DEST's record,) then
    write the project's record once. The same call after a crash at any point
    completes the release; ``wait_s``: how long a shot busy in another process
    is waited for; ``copy_progress`` is told the bytes copied to DEST."""
    check_id(release_id, "release id")
    record_path = layout.release_record(release_id)
    record_real = project.path(record_path)
    _refuse_published(project, release_id)
    dest_root = Path(destination).absolute() if destination is not None else None
    if dest_root is not None:
        check_destination(project.root, dest_root)  # a misplaced DEST is refused before any wait
    with ExitStack() as stack:
        # Hold every shot's lock so no transition or manifest slips in between
        # the gate and the record.
        for shot_id in unique_ids(shot_ids):
            folder = project.path(layout.shot_dir(check_id(shot_id, "shot id")))
            if not (folder / layout.SHOT_FILE).is_file():
                load_shot(project, shot_id)  # raises ShotNotFoundError with the message every command gives
            stack.enter_context(shot_lock(folder, shot_id, wait_s=wait_s))
        _refuse_published(project, release_id)  # the run waited for may have been this release's
        gate = check_release(project, shot_ids, threads=threads, progress=progress)
        if not gate.ok:
            raise VerificationFailed(f"release {release_id} not published: the gate failed: {gate.report.failure()}",
                                     report=gate)
        record = _release_record(project, release_id, gate)
        result = PublishResult(release_id, record_path, record, gate, destination=dest_root)
        raw = canonical_bytes(record)
        dest: Destination | None = None
        if dest_root is not None:
            dest = stack.enter_context(Destination.open(dest_root, project.root))
            raw = _deliver(project, gate, release_id, record, dest, result, threads=threads, progress=progress,
                           copy_progress=copy_progress)
            result.record = json.loads(raw)
        record_real.parent.mkdir(parents=True, exist_ok=True)
        try:
            write_once(record_real, raw, mode=READ_ONLY)
        except AlreadyExistsError:
            if dest is None:
                raise
            raise _lost_race(release_id, record_path, dest) from None
        return result
