"""Manifest generation: hash a shot version's outputs and pin them, once.

``build_manifest`` scans the current version folder, hashes every file with
the engine, writes ``shots/<SHOT>/manifests/<version>/manifest.json``
canonically, atomically and read-only, never over an existing one, then pins
it in the shot record (``manifest_ref`` = its path and the SHA-256 of its
bytes) and records the artifacts there.

It holds the shot's lock from start to end without waiting for it: of two
runs on the same shot exactly one proceeds, the other fails at once (exit 2).
A run killed at any point leaves no manifest, or a complete one that the next
run adopts after verifying it against the files.

Paths are written NFC-normalised, whatever normalisation the file system
gave the names (macOS: NFD), so the same outputs give the same manifest on
every platform; two files whose names differ only by normalisation are
refused. Names that would break elsewhere (clashing by case only, invalid on
Windows) are written, but warned about in ``ManifestResult.warnings``.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from cinev4.contracts import canonical_bytes, validate
from cinev4.contracts.atomic import READ_ONLY, stale_temp_files, write_once
from cinev4.contracts.rules import check_id, duplicate_problems, manifest_problems, nfc, portability_warnings
from cinev4.errors import AlreadyExistsError, ContractError, ShotNotFoundError, UnsafePathError, VerificationFailed
from cinev4.pipeline import layout
from cinev4.pipeline.clock import utc_now
from cinev4.pipeline.hashing import HashBackend, Progress, hash_paths
from cinev4.pipeline.locks import shot_lock
from cinev4.pipeline.media import media_type_for, role_for
from cinev4.pipeline.project import Project
from cinev4.pipeline.scan import scan_folder
from cinev4.pipeline.shots import Shot, load_shot, save_shot
from cinev4.pipeline.states import can_manifest

__all__ = ["ManifestResult", "build_manifest", "MANIFEST_SCHEMA"]

MANIFEST_SCHEMA = "cinev4/manifest@1"


@dataclass(frozen=True)
class ManifestResult:
    shot_id: str
    version: str
    manifest_path: str
    manifest_sha256: str
    artifact_count: int
    total_bytes: int
    adopted: bool = False  # True: a complete manifest left by an interrupted run was verified and pinned
    artifact_paths: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()  # names that break on other platforms (case clashes, Windows)

    def to_dict(self) -> dict[str, Any]:
        from cinev4.pipeline.frames import FrameSequence, collapse

        return {
            "warnings": list(self.warnings),
            "sequences": [e.to_dict() for e in collapse(self.artifact_paths) if isinstance(e, FrameSequence)],
            "shot_id": self.shot_id,
            "version": self.version,
            "manifest_path": self.manifest_path,
            "manifest_sha256": self.manifest_sha256,
            "artifact_count": self.artifact_count,
            "total_bytes": self.total_bytes,
            "adopted": self.adopted,
        }


def build_manifest(
    project: Project,
    shot_id: str,
    *,
    threads: int | None = None,
    progress: Progress | None = None,
    backend: HashBackend | None = None,
) -> ManifestResult:
    """Hash the shot's current version folder and write its manifest once
    (``backend``: where the bytes are hashed, default this machine)."""
    folder = project.path(layout.shot_dir(check_id(shot_id, "shot id")))
    if not (folder / "shot.json").is_file():
        raise ShotNotFoundError(f"no shot {shot_id} in project {project.id} ({layout.shot_record(shot_id)} does not exist)")
    with shot_lock(folder, shot_id, wait_s=0.0):
        shot = load_shot(project, shot_id)
        can_manifest(shot.status, project.policy)
        manifest_path = shot.manifest_path
        manifest_real = project.path(manifest_path)
        for stale in [*stale_temp_files(manifest_real), *stale_temp_files(folder / "shot.json")]:
            stale.unlink()  # left by a killed writer; we hold the lock, so nobody else writes them
        if manifest_real.exists():
            return _existing_manifest(project, shot, threads=threads, progress=progress, backend=backend)
        data = _manifest_document(project, shot, threads=threads, progress=progress, backend=backend)
        raw = canonical_bytes(data)
        os.makedirs(manifest_real.parent, exist_ok=True)
        write_once(manifest_real, raw, mode=READ_ONLY)
        return _pin(project, shot, data, raw, adopted=False)


def _manifest_document(project: Project, shot: Shot, *, threads: int | None, progress: Progress | None,
                       backend: HashBackend | None = None) -> dict[str, Any]:
    scan = scan_folder(project.root, shot.outputs_dir)
    if scan.problems:
        raise UnsafePathError([f"{path} {why}" for path, why in scan.problems])
    if not scan.files:
        raise ContractError(f"{shot.outputs_dir}/ is empty or missing: a manifest lists at least one artifact "
                            f"(the render writes its outputs there)")
    digests = hash_paths([f.real_path for f in scan.files], total_bytes=sum(f.size for f in scan.files),
                         threads=threads, progress=progress, sizes=[f.size for f in scan.files], backend=backend)
    failures = []
    artifacts = []
    for scanned, digest in zip(scan.files, digests):
        if digest.error is not None:
            reason = getattr(digest.error, "strerror", None) or str(digest.error)
            failures.append(f"{scanned.path}: cannot be read ({reason})")
        elif digest.size != scanned.size:
            failures.append(f"{scanned.path}: changed while the folder was scanned ({scanned.size} -> {digest.size} bytes)")
        else:
            artifact: dict[str, Any] = {"path": nfc(scanned.path), "size": digest.size, "sha256": digest.sha256}
            media_type, role = media_type_for(scanned.path), role_for(scanned.path)
            if media_type:
                artifact["media_type"] = media_type
            if role:
                artifact["role"] = role
            artifacts.append(artifact)
    if failures:
        raise VerificationFailed(f"no manifest written for {shot.id} {shot.version}: " + "; ".join(failures))
    clashes = duplicate_problems((a["path"] for a in artifacts), f"{shot.outputs_dir}/")
    if clashes:  # two names on disk, one name once NFC-normalised: a manifest cannot tell them apart
        raise UnsafePathError([f"{line} after Unicode (NFC) normalisation: rename one of the files"
                               for line in clashes])
    data = {
        "schema": MANIFEST_SCHEMA,
        "project_id": project.id,
        "shot_id": shot.id,
        "version": shot.version,
        "created_utc": utc_now(),
        "hash_alg": "sha256",
        "artifacts": sorted(artifacts, key=lambda a: a["path"]),
    }
    validate(data, "manifest", shot.manifest_path)
    problems = manifest_problems(data, shot.manifest_path)
    if problems:  # pragma: no cover - the scan already refused unsafe names
        raise UnsafePathError(problems)
    return data


def _pin(project: Project, shot: Shot, data: dict[str, Any], raw: bytes, *, adopted: bool) -> ManifestResult:
    from cinev4 import hash_bytes

    manifest_sha256 = hash_bytes(raw)
    shot.data["manifest_ref"] = {"path": shot.manifest_path, "sha256": manifest_sha256}
    shot.data["artifacts"] = data["artifacts"]
    save_shot(project, shot)
    paths = tuple(a["path"] for a in data["artifacts"])
    return ManifestResult(shot.id, shot.version, shot.manifest_path, manifest_sha256,
                          len(data["artifacts"]), sum(a["size"] for a in data["artifacts"]), adopted,
                          paths, tuple(portability_warnings(paths)))


def _existing_manifest(project: Project, shot: Shot, *, threads: int | None, progress: Progress | None,
                       backend: HashBackend | None = None) -> ManifestResult:
    """A manifest already exists for this version: refuse, or adopt one left by a killed run."""
    if shot.manifest_ref is not None:
        raise AlreadyExistsError(
            f"{shot.manifest_path} already exists: a manifest is written once and never replaced"
            + ("" if project.policy.strict else
               f" (to pin new outputs: cinev4 shot reopen/new-version {shot.id}, then cinev4 manifest {shot.id})")
        )
    # Written but never pinned: the writer died between the two steps. Pin it
    # only if it verifies against the files now on disk, exactly as written.
    from cinev4.pipeline.verify import ManifestTarget, verify_targets

    target = ManifestTarget(project.root, shot.manifest_path, None, shot.id, shot.version, project.id)
    report = verify_targets([target], threads=threads, progress=progress, backend=backend)
    if not report.ok:
        details = "; ".join(f"{p.kind} {p.path}: {p.detail}" for p in report.problems[:5])
        raise AlreadyExistsError(
            f"{shot.manifest_path} exists but is not pinned in the shot record and does not verify ({details}); "
            f"it was left by an interrupted run on other files: move it aside, then run cinev4 manifest {shot.id} again"
        )
    from cinev4.contracts import parse_document, read_document_bytes

    raw = read_document_bytes(project.path(shot.manifest_path), "manifest", shot.manifest_path)

    data = parse_document(raw, "manifest", shot.manifest_path).data
    return _pin(project, shot, data, raw, adopted=True)
