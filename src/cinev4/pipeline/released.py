"""What the project's release records pin, and what that forbids.

A release record (``releases/<RELEASE>/release.json``) is written once and
names, for each shot, the manifest released and its SHA-256, and the policy
in force. Those pins outlive every mutable document: ``verify`` checks each
released manifest against every record that names it (a manifest edited and
re-pinned in shot.json is still caught). A released version is never
re-manifested; a shot released under the strict policy is frozen (no reopen,
fail or new version), whatever ``project.json`` says later. Only a shot whose
every release pinned ``immutable_outputs: false`` follows the non-strict rules
of a project that is still non-strict: it may continue in a new version while
its released versions stay pinned (ADR-0004).
"""
from __future__ import annotations

import os
from dataclasses import dataclass

from cinev4.contracts import layout, load_document
from cinev4.errors import TransitionRefused
from cinev4.pipeline.project import Project

__all__ = ["ReleasePin", "release_pins", "refuse_if_released"]


@dataclass(frozen=True)
class ReleasePin:
    """One shot's manifest as one release record pins it."""

    release_id: str
    record_path: str  # contract path of the release record
    shot_id: str
    version: str
    manifest_path: str
    manifest_sha256: str
    strict: bool  # released under immutable_outputs: true (a record without its policy counts as strict)


def release_pins(project: Project, shot_id: str | None = None) -> list[ReleasePin]:
    """Every pin of every release record under ``releases/`` (of ``shot_id`` only, when given),
    in release order. A record that breaks its schema is a ContractError: nothing it pins could
    be checked."""
    folder = project.root / layout.RELEASES_DIR
    if not folder.is_dir():
        return []
    pins: list[ReleasePin] = []
    for name in sorted(entry.name for entry in os.scandir(folder) if entry.is_dir()):
        record_path = layout.release_record(name)
        record_file = project.root / record_path
        if not record_file.is_file():
            continue  # a folder without its record is no release (a publish in progress, or never finished)
        record = load_document(record_file, "release", record_path).data
        strict = bool(record.get("policy", {}).get("immutable_outputs", True))
        for entry in record["shots"]:
            if shot_id is None or entry["shot_id"] == shot_id:
                pins.append(ReleasePin(record["release_id"], record_path, entry["shot_id"], entry["version"],
                                       entry["manifest_path"], entry["manifest_sha256"], strict))
    return pins


def refuse_if_released(project: Project, shot_id: str, action: str, version: str | None = None) -> None:
    """TransitionRefused (exit 2) when a release record forbids ``action`` on ``shot_id``.

    ``manifest`` of a released ``version`` is always refused. Any other action
    is refused when a record naming the shot was published under the strict
    policy: what went out as final stays final, even if project.json is later
    made mutable. A shot released only under the non-strict policy is left to
    the state machine and the project's policy now.
    """
    pins = release_pins(project, shot_id)
    if action == "manifest":
        blocking = [pin for pin in pins if pin.version == version]
        why = f"{version} of the shot was released"
        way_out = "start a new version (non-strict projects) or create a new shot"
    else:
        blocking = [pin for pin in pins if pin.strict]
        why = "the shot was released under the strict policy"
        way_out = "to rework it, create a new shot"
    records = sorted({pin.record_path for pin in blocking})
    if records:
        raise TransitionRefused(
            f"shot {shot_id}: {action} refused: {why} ({', '.join(records)}) and what was released that way is "
            f"immutable whatever project.json says; {way_out}"
        )
