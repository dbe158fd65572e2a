"""The gates: what a shot must hold to become DONE, and what shots must hold to be released.

- the DONE gate (QC -> DONE): a qc.json holding a JSON object and a preview among
  the current version's outputs, the declared frame range complete and, when the
  policy says so, a manifest of that version that verifies. The same content check
  runs, in a strict project, on what a manifest is about to seal (``seal_refusal``),
  and without hashing for ``cinev4 shot qc``'s hint (``done_needs``);
- the release gate: every shot DONE, its manifest valid and equal (by SHA-256) to the
  one pinned in ``manifest_ref``, and every artifact verified by size and SHA-256;
  read-only: a failed gate changes no shot and writes no record, it reports every
  problem (``releases.publish_release`` runs it first).

The gates read the shot records (``shots``) and verify (``verify``); neither of those
imports this module, so the shot life and the verifier stay free of each other. The
verifier is imported by the gates that verify, not with this module: ``cinev4 manifest``
needs ``seal_refusal`` only, and the verifier's modules are about 3 ms of its start-up.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from cinev4.contracts import layout, read_json_file
from cinev4.errors import ContractError
from cinev4.pipeline.frames import frame_gaps
from cinev4.pipeline.hashing import Progress
from cinev4.pipeline.media import describe_all
from cinev4.pipeline.project import Project
from cinev4.pipeline.report import VerifyReport
from cinev4.pipeline.scan import scan_folder
from cinev4.pipeline.shots import Shot, list_shots, load_shot, transition
from cinev4.pipeline.states import Action, Status

__all__ = [
    "content_gate_reasons",
    "done_gate_reasons",
    "done_needs",
    "seal_refusal",
    "mark_done",
    "GateReport",
    "check_release",
    "done_shot_ids",
]


# ---------------------------------------------------------------- the DONE gate

def content_gate_reasons(project: Project, shot: Shot, paths: Iterable[str]) -> list[str]:
    """What the QC -> DONE gate demands of the files themselves (empty: all there):
    a qc.json holding a JSON object, a preview, and every frame of the declared
    range. ``paths`` are project-relative; the same check runs on the outputs
    (the gate) and, in a strict project, on what a manifest is about to seal."""
    reasons: list[str] = []
    files = list(paths)
    by_role: dict[str, list[str]] = {}
    for path, (_, role) in zip(files, describe_all(files)):
        by_role.setdefault(role or "", []).append(path)
    qc_files = by_role.get("qc", [])
    if not qc_files:
        reasons.append(f"no qc.json (a JSON object: the review's result) among the outputs of {shot.version} "
                       f"({shot.outputs_dir}/)")
    for qc_path in qc_files:
        try:
            qc = read_json_file(project.path(qc_path), "qc", qc_path)
        except ContractError as exc:
            reasons += exc.problems
            continue
        except OSError as exc:
            reasons.append(f"{qc_path}: cannot be read ({exc.strerror})")
            continue
        if not isinstance(qc, dict):
            reasons.append(f"{qc_path}: holds a JSON {_json_kind(qc)}, not a JSON object (the review's result, "
                           f"e.g. {{\"approved\": true}})")
    if not by_role.get("preview"):
        reasons.append(f"no preview (a file named preview.*) among the outputs of {shot.version}")
    expected = shot.frames
    if expected is not None:
        strip = shot.outputs_dir + "/"
        reasons += [f"missing frames: {gap.describe(strip)}" for gap in frame_gaps(files, expected)]
    return reasons


def _json_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    return {str: "string", list: "array", type(None): "null"}.get(type(value), type(value).__name__)


def done_gate_reasons(
    project: Project, shot: Shot, *, threads: int | None = None, progress: Progress | None = None
) -> list[str]:
    """Why ``shot`` may not become DONE (empty: it may): a qc.json holding a JSON
    object and a preview among the current version's outputs, the declared frame
    range complete and, when the policy says so, a manifest of that version that
    verifies."""
    scan = scan_folder(project.root, shot.outputs_dir)
    reasons = content_gate_reasons(project, shot, scan.paths)
    if project.policy.done_requires_manifest:
        if shot.manifest_ref is None:
            reasons.append(f"no manifest for {shot.version} (run: cinev4 manifest {shot.id}); the policy requires one")
        else:
            from cinev4.pipeline.verify import shot_target, verify_targets

            target = shot_target(project, shot)
            assert target is not None
            report = verify_targets([target], threads=threads, progress=progress)
            reasons += [f"manifest does not verify: {p.kind} {p.path}: {p.detail}" for p in report.problems]
    return reasons


def done_needs(project: Project, shot: Shot) -> list[str]:
    """What ``cinev4 shot done`` will still refuse today, read from the files and the
    record without hashing (empty: only the manifest's verification is left)."""
    reasons = content_gate_reasons(project, shot, scan_folder(project.root, shot.outputs_dir).paths)
    if project.policy.done_requires_manifest and shot.manifest_ref is None:
        reasons.append(f"no manifest for {shot.version} (run: cinev4 manifest {shot.id})")
    return reasons


def seal_refusal(project: Project, shot: Shot, paths: Iterable[str]) -> list[str]:
    """In a strict project, why a manifest of ``paths`` must not be written (empty: it
    may): it is sealed once and the DONE gate will need it to hold the qc.json, the
    preview and the whole frame range, so one that lacks them would strand the shot.
    (Without ``done_requires_manifest`` DONE does not verify the manifest: nothing to strand.)"""
    if not (project.policy.strict and project.policy.done_requires_manifest):
        return []
    reasons = content_gate_reasons(project, shot, paths)
    if not reasons:
        return []
    return ([f"shot {shot.id}: manifest refused, nothing written: {r}" for r in reasons]
            + [f"shot {shot.id}: the project is strict: a manifest is written once and shot done needs it to hold "
               f"all of the above; add what is missing to {shot.outputs_dir}/, then run: cinev4 manifest {shot.id}"])


def mark_done(
    project: Project, shot_id: str, *, threads: int | None = None, progress: Progress | None = None,
    reason: str = "QC passed",
) -> Shot:
    """QC -> DONE through the gate (qc.json, preview, verified manifest)."""
    return transition(project, shot_id, Action.DONE, reason,
                      gate=lambda shot: done_gate_reasons(project, shot, threads=threads, progress=progress))


# ---------------------------------------------------------------- the release gate

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


def check_release(
    project: Project,
    shot_ids: list[str],
    *,
    threads: int | None = None,
    progress: Progress | None = None,
) -> GateReport:
    """Run the gate on ``shot_ids``; read-only, whatever the outcome."""
    from cinev4.pipeline.verify import shot_pairs, unique_ids, verify_pairs

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


def done_shot_ids(project: Project) -> list[str]:
    """Every DONE shot of the project, sorted (``release check --all``); ContractError if none."""
    ids = [shot.id for shot in list_shots(project) if shot.status is Status.DONE]
    if not ids:
        raise ContractError(f"project {project.id} has no DONE shot: nothing for the release gate to check")
    return ids
