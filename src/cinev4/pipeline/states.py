"""The life of a shot (docs/CONTRACT.md "Shot states") as a pure state machine: no I/O here.

    IN_PROGRESS --qc--> QC --done (gate)--> DONE
         ^               |
         +----reopen-----+         (rework: always allowed)
    IN_PROGRESS, QC --fail--> FAIL
    DONE, FAIL --reopen--> IN_PROGRESS        only when immutable_outputs is false
    DONE --fail--> FAIL                       only when immutable_outputs is false
    new-version (IN_PROGRESS, next version)   only when immutable_outputs is false

Under the strict policy (immutable_outputs: true, ADR-0004) DONE and FAIL are
terminal. The QC -> DONE gate itself (qc.json, preview, manifest) needs the
files and lives in cinev4.pipeline.gates.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum, auto
from typing import TYPE_CHECKING, Any

from cinev4.contracts.schemas import schema
from cinev4.errors import TransitionRefused

__all__ = ["Status", "Action", "Policy", "target_status", "can_manifest", "unearned_status"]


class _TextEnum(str, Enum):
    """An enum that prints as its value (in messages and JSON alike)."""

    def __str__(self) -> str:
        return str(self.value)


if TYPE_CHECKING:
    class Status(_TextEnum):
        # The names this code refers to, for the type checker only; the values are the schema's.
        IN_PROGRESS = auto()
        QC = auto()
        DONE = auto()
        FAIL = auto()
else:
    # A shot's status: the values of the shot schema's "status" definition, read from it,
    # so that the schema is the one place they are stated.
    Status = _TextEnum("Status", [(value, value) for value in schema("shot")["$defs"]["status"]["enum"]],
                       module=__name__, qualname="Status")


class Action(_TextEnum):
    QC = "qc"
    DONE = "done"
    FAIL = "fail"
    REOPEN = "reopen"
    NEW_VERSION = "new-version"


@dataclass(frozen=True)
class Policy:
    """The project's policy block, as the state machine needs it."""

    immutable_outputs: bool = True
    done_requires_manifest: bool = True

    @property
    def strict(self) -> bool:
        return self.immutable_outputs

    def to_document(self) -> dict[str, Any]:
        """The policy block ``init`` writes into project.json: the defaults are this class's."""
        return {
            "hash_alg": "sha256",
            "path_mode": "relative",
            "immutable_outputs": self.immutable_outputs,
            "done_requires_manifest": self.done_requires_manifest,
        }

    @classmethod
    def from_document(cls, policy: dict[str, Any]) -> Policy:
        return cls(
            immutable_outputs=bool(policy["immutable_outputs"]),
            done_requires_manifest=bool(policy["done_requires_manifest"]),
        )


_STRICT_HINT = "the project is strict (immutable_outputs: true)"


def target_status(action: Action, status: Status, policy: Policy) -> Status:
    """The status ``action`` leads to from ``status``, or TransitionRefused saying why."""
    S = Status
    if action is Action.QC:
        if status is S.IN_PROGRESS:
            return S.QC
        raise TransitionRefused(f"qc needs IN_PROGRESS, the shot is {status}")
    if action is Action.DONE:
        if status is S.QC:
            return S.DONE
        raise TransitionRefused(f"done needs QC, the shot is {status}")
    if action is Action.FAIL:
        if status in (S.IN_PROGRESS, S.QC):
            return S.FAIL
        if status is S.DONE and not policy.strict:
            return S.FAIL
        if status is S.FAIL:
            raise TransitionRefused("the shot is already FAIL")
        raise TransitionRefused(f"DONE is terminal: {_STRICT_HINT}")
    if action is Action.REOPEN:
        if status is S.QC:
            return S.IN_PROGRESS  # rework, under any policy
        if status is S.IN_PROGRESS:
            raise TransitionRefused("the shot is already IN_PROGRESS")
        if policy.strict:
            raise TransitionRefused(f"{status} is terminal: {_STRICT_HINT}")
        return S.IN_PROGRESS
    if action is Action.NEW_VERSION:
        if policy.strict:
            raise TransitionRefused(f"new-version needs immutable_outputs: false; {_STRICT_HINT}")
        if status is not S.IN_PROGRESS:
            raise TransitionRefused(f"new-version needs IN_PROGRESS, the shot is {status} (reopen it first)")
        return S.IN_PROGRESS
    raise TransitionRefused(f"unknown action {action!r}")  # pragma: no cover


def can_manifest(status: Status, policy: Policy) -> None:
    """Raise TransitionRefused unless a manifest may be written in ``status``.

    A manifest pins the outputs being produced or reviewed; a DONE or FAIL
    shot is not re-manifested (under a non-strict policy: reopen, then
    new-version, then manifest the new version).
    """
    if status in (Status.IN_PROGRESS, Status.QC):
        return
    if policy.strict:
        raise TransitionRefused(f"the shot is {status}; re-manifesting is refused: {_STRICT_HINT}")
    raise TransitionRefused(f"the shot is {status}; reopen it and start a new version to manifest new outputs")


def unearned_status(status: Status, version: str, history: Sequence[dict[str, Any]]) -> list[str]:
    """Why ``status`` is not earned by ``history`` (empty: it is).

    The status field alone is one edit away from DONE; the history is the
    evidence. It must be a chain (each transition starts where the previous
    one ended, the first from nothing), the status must be where its last
    transition leads, and DONE must be reached by QC -> DONE on the current
    version (the only way the gate gives it).
    """
    reasons: list[str] = []
    previous: str | None = None
    for number, entry in enumerate(history, 1):
        if entry["from"] != previous:
            reasons.append(f"history entry {number} starts from {entry['from']} but the one before it "
                           f"ends at {previous}: the history was edited")
            break
        previous = entry["to"]
    last_to = history[-1]["to"] if history else None
    if last_to != status.value:
        reasons.append(f"the status is {status} but the history ends at {last_to}: "
                       f"the status was edited, not earned by a transition")
    elif status is Status.DONE:
        last = history[-1]
        if last["from"] != Status.QC.value or last.get("version") != version:
            reasons.append(f"DONE is not earned: the history has no QC -> DONE transition of {version} "
                           f"as its last entry (only cinev4 shot done, through its gate, makes a shot DONE)")
    return reasons
