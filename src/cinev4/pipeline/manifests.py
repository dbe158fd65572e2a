"""Manifest generation: hash a shot version's outputs and pin them, once.

``build_manifest`` scans the current version folder, hashes every file with
the engine, writes ``shots/<SHOT>/manifests/<version>/manifest.json``
canonically, atomically and read-only, never over an existing one, then pins
it in the shot record (``manifest_ref`` = its path and the SHA-256 of its
bytes) and records the artifacts there.

It holds the shot's lock from start to end without waiting for it: of two
runs on the same shot exactly one proceeds, the other fails at once (exit 2).

It never adopts a manifest it did not write. The manifest is first written
as ``shots/<SHOT>/.manifest-<version>.unpinned.tmp``, hard-linked to its final
name, pinned in the shot record, and only then is the first name removed:
while a manifest is unpinned, that second link (the same inode) is the
proof that a cinev4 run wrote it. A run killed before the pin therefore
leaves no manifest, or a complete one with its proof, which the next run
pins after verifying it against the files. Any other manifest found at the layout place and not pinned by the
shot record (planted, copied in, written by hand) is a contract error
(exit 2): it is left as it is, for a person to look at and move aside. A
released shot is never re-manifested, whatever the policy (ADR-0004).

Paths are written NFC-normalised, whatever normalisation the file system
gave the names (macOS: NFD), so the same outputs give the same manifest on
every platform; two files whose names differ only by normalisation are
refused. Names that would break elsewhere (clashing by case only, invalid on
Windows) are written, but warned about in ``ManifestResult.warnings``.
"""
from __future__ import annotations

import os
import stat
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from cinev4.contracts import canonical_bytes, indented_text, layout, validate
from cinev4.contracts.atomic import READ_ONLY, fsync_dir, stale_temp_files, write_once
from cinev4.contracts.rules import check_id, duplicate_problems, manifest_problems, nfc, portability_warnings
from cinev4.contracts.schemas import schema_id
from cinev4.errors import (
    AlreadyExistsError,
    ContractError,
    ShotNotFoundError,
    TransitionRefused,
    UnsafePathError,
    VerificationFailed,
)
from cinev4.pipeline.clock import utc_now
from cinev4.pipeline.gates import seal_refusal
from cinev4.pipeline.hashing import Digest, HashBackend, Progress, hash_beneath, hash_paths
from cinev4.pipeline.locks import shot_lock
from cinev4.pipeline.media import describe_all
from cinev4.pipeline.project import Project
from cinev4.pipeline.released import refuse_if_released
from cinev4.pipeline.report import frame_sequences, manifest_summary
from cinev4.pipeline.scan import ScannedFile, scan_folder
from cinev4.pipeline.staging import StagingUse, digests_with_staging, discard_staging
from cinev4.pipeline.shots import Shot, load_shot, save_shot
from cinev4.pipeline.states import can_manifest

__all__ = ["ManifestResult", "build_manifest", "MANIFEST_SCHEMA"]

MANIFEST_SCHEMA = schema_id("manifest")


@dataclass(frozen=True)
class ManifestResult:
    shot_id: str
    version: str
    manifest_path: str
    manifest_sha256: str
    artifact_count: int
    total_bytes: int
    adopted: bool = False  # True: a manifest an interrupted cinev4 run wrote (and linked) was verified and pinned
    artifact_paths: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()  # names that break on other platforms (case clashes, Windows)
    staged_files: int = 0  # digests taken from render hooks' staging records (cinev4 stage)
    hashed_files: int = 0  # files hashed by this run

    def to_dict(self) -> dict[str, Any]:
        return {
            "warnings": list(self.warnings),
            "sequences": frame_sequences(self.artifact_paths),
            **manifest_summary(self),
            "adopted": self.adopted,
            "staged_files": self.staged_files,
            "hashed_files": self.hashed_files,
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
    if not (folder / layout.SHOT_FILE).is_file():
        raise ShotNotFoundError(f"no shot {shot_id} in project {project.id} ({layout.shot_record(shot_id)} does not exist)")
    with shot_lock(folder, shot_id, wait_s=0.0):
        shot = load_shot(project, shot_id)
        refuse_if_released(project, shot_id, "manifest", shot.version)
        can_manifest(shot.status, project.policy)
        manifest_path = shot.manifest_path
        manifest_real = project.path(manifest_path)
        proof = folder / f".manifest-{shot.version}.unpinned.tmp"
        for stale in [*stale_temp_files(manifest_real), *stale_temp_files(folder / layout.SHOT_FILE)]:
            stale.unlink()  # left by a killed writer; we hold the lock, so nobody else writes them
        if os.path.lexists(manifest_real):
            return seal_staging(project, _existing_manifest(project, shot, proof, threads=threads,
                                                            progress=progress, backend=backend), None)
        if os.path.lexists(proof):
            proof.unlink()  # a killed run's, from before its link: no manifest came of it
        staging = StagingUse()
        data = _manifest_document(project, shot, threads=threads, progress=progress, backend=backend,
                                  staging=staging)
        # The artifacts are written twice, into the manifest and the shot record: encoded once.
        artifacts_text = indented_text(data["artifacts"])
        encoded = None if artifacts_text is None else {"artifacts": artifacts_text}
        raw = canonical_bytes(data, encoded=encoded)
        os.makedirs(manifest_real.parent, exist_ok=True)
        linked = _write_with_proof(manifest_real, proof, raw)
        result = _pin(project, shot, data, raw, adopted=False, encoded=encoded)
        if linked:
            _drop_proof(proof)
        return seal_staging(project, result, staging)


def _write_with_proof(manifest_real: Path, proof: Path, raw: bytes) -> bool:
    """Write the manifest once, keeping ``proof`` as a second link to it until the pin;
    False where the file system has no hard links (no proof there)."""
    return write_once(manifest_real, raw, mode=READ_ONLY, proof=proof)


def _drop_proof(proof: Path) -> None:
    try:
        proof.unlink()
    except FileNotFoundError:
        pass
    fsync_dir(proof.parent)


def _is_proof_of(proof: Path, manifest_real: Path) -> bool:
    """Whether ``proof`` is a second link to the manifest itself (the same inode), as only a
    cinev4 run killed between its link and its pin leaves it."""
    try:
        a, b = os.lstat(proof), os.lstat(manifest_real)
    except OSError:
        return False
    return stat.S_ISREG(a.st_mode) and (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)


def seal_staging(project: Project, result: ManifestResult, use: StagingUse | None) -> ManifestResult:
    """The version is sealed: remove its staging records and tell where the manifest's digests
    came from (``use`` None: an adopted manifest, every file verified by hashing)."""
    leftovers = discard_staging(project, result.shot_id, result.version)
    if use is None:
        use = StagingUse(0, result.artifact_count)
    return replace(result, staged_files=use.staged_files, hashed_files=use.hashed_files,
                   warnings=(*result.warnings, *use.warnings, *leftovers))


def _manifest_document(project: Project, shot: Shot, *, threads: int | None, progress: Progress | None,
                       backend: HashBackend | None = None, staging: StagingUse | None = None) -> dict[str, Any]:
    scan = scan_folder(project.root, shot.outputs_dir)
    if scan.problems:
        raise UnsafePathError([f"{path} {why}" for path, why in scan.problems])
    if not scan.paths:
        raise ContractError(f"{shot.outputs_dir}/ is empty or missing: a manifest lists at least one artifact "
                            f"(the render writes its outputs there)")
    refusal = seal_refusal(project, shot, scan.paths)  # before any byte is hashed
    if refusal:
        raise TransitionRefused(refusal)

    def hash_scanned(files: list[ScannedFile]) -> Sequence[Digest]:
        if backend is None:  # the folder's rows from the engine: each file opened beneath the root, no symlink followed
            return hash_beneath(project.root, [f.path for f in files], total_bytes=sum(f.size for f in files),
                                threads=threads, progress=progress, sizes=[f.size for f in files])
        return hash_paths([f.real_path for f in files], total_bytes=sum(f.size for f in files),
                          threads=threads, progress=progress, sizes=[f.size for f in files], backend=backend)

    # Files still exactly as a render hook staged them keep its digest (cinev4 stage); the rest are hashed.
    files = scan.files
    digests = digests_with_staging(project, shot, files, hash_scanned, staging or StagingUse())
    failures = []
    artifacts = []
    ascii_only = "".join(scan.paths).isascii()  # ASCII text is its own NFC: no normalisation call per path
    for scanned, digest, (media_type, role) in zip(files, digests, describe_all(scan.paths)):
        if digest.error is not None:
            reason = getattr(digest.error, "strerror", None) or str(digest.error)
            failures.append(f"{scanned.path}: cannot be read ({reason})")
        elif digest.size != scanned.size:
            failures.append(f"{scanned.path}: changed while the folder was scanned ({scanned.size} -> {digest.size} bytes)")
        else:
            artifact: dict[str, Any] = {"path": scanned.path if ascii_only else nfc(scanned.path),
                                        "size": digest.size, "sha256": digest.sha256}
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


def _pin(project: Project, shot: Shot, data: dict[str, Any], raw: bytes, *, adopted: bool,
         encoded: Mapping[str, str] | None = None) -> ManifestResult:
    """Pin the manifest ``raw`` (``data``) in the shot record (``encoded``: the text of
    ``data["artifacts"]``, when the manifest's writer made it)."""
    from cinev4 import hash_bytes

    manifest_sha256 = hash_bytes(raw)
    shot.data["manifest_ref"] = {"path": shot.manifest_path, "sha256": manifest_sha256}
    shot.data["artifacts"] = data["artifacts"]
    save_shot(project, shot, encoded=encoded)
    paths = tuple(a["path"] for a in data["artifacts"])
    return ManifestResult(shot.id, shot.version, shot.manifest_path, manifest_sha256,
                          len(data["artifacts"]), sum(a["size"] for a in data["artifacts"]), adopted,
                          paths, tuple(portability_warnings(paths)))


def _existing_manifest(project: Project, shot: Shot, proof: Path, *, threads: int | None,
                       progress: Progress | None, backend: HashBackend | None = None) -> ManifestResult:
    """A manifest already exists for this version: refuse, or pin the one a killed cinev4 run wrote."""
    manifest_real = project.path(shot.manifest_path)
    if shot.manifest_ref is not None:
        if _is_proof_of(proof, manifest_real):
            _drop_proof(proof)  # the pin was written, only the cleanup was missed
        raise AlreadyExistsError(
            f"{shot.manifest_path} already exists: a manifest is written once and never replaced"
            + ("" if project.policy.strict else
               f" (to pin new outputs: cinev4 shot reopen/new-version {shot.id}, then cinev4 manifest {shot.id})")
        )
    if not _is_proof_of(proof, manifest_real):
        raise ContractError(
            f"{shot.manifest_path} exists but the shot record does not pin it and cinev4 did not write it: "
            f"it is never adopted; look at it, move it out of shots/{shot.id}/manifests/, then run "
            f"cinev4 manifest {shot.id} again"
        )
    # Written by a cinev4 run that died before its pin. Pin it only if it
    # verifies against the files now on disk, exactly as written.
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
    result = _pin(project, shot, data, raw, adopted=True)
    _drop_proof(proof)
    return result
