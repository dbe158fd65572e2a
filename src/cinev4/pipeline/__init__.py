"""The pipeline: projects, shots and their life, manifests, verification, releases.

A typed Python API; the ``cinev4`` command line only wraps it. Every function
raises a ``cinev4.errors.CinevError`` subclass on refusal or failure:
``VerificationFailed`` when bytes do not match (exit 1 on the command line),
``ContractError``, ``TransitionRefused`` and the like otherwise (exit 2).
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# name -> submodule. Resolved on first access (PEP 562) so that a command
# importing one submodule does not pay for all of them.
_EXPORTS = {
    "Action": "states",
    "GateReport": "gates",
    "ManifestCheck": "report",
    "ManifestResult": "manifests",
    "Policy": "states",
    "Problem": "report",
    "Progress": "hashing",
    "Project": "project",
    "PublishResult": "releases",
    "Shot": "shots",
    "Status": "states",
    "VerifyReport": "report",
    "build_manifest": "manifests",
    "check_release": "gates",
    "create_shot": "shots",
    "find_project_root": "project",
    "init_project": "project",
    "list_shots": "shots",
    "load_project": "project",
    "load_shot": "shots",
    "mark_done": "gates",
    "mark_fail": "shots",
    "mark_qc": "shots",
    "new_version": "shots",
    "publish_release": "releases",
    "reopen": "shots",
    "stage": "staging",
    "verify_manifest_file": "verify",
    "verify_shots": "verify",
}

if TYPE_CHECKING:
    from cinev4.pipeline.gates import GateReport, check_release, mark_done
    from cinev4.pipeline.hashing import Progress
    from cinev4.pipeline.manifests import ManifestResult, build_manifest
    from cinev4.pipeline.project import Project, find_project_root, init_project, load_project
    from cinev4.pipeline.releases import PublishResult, publish_release
    from cinev4.pipeline.report import ManifestCheck, Problem, VerifyReport
    from cinev4.pipeline.shots import (
        Shot,
        create_shot,
        list_shots,
        load_shot,
        mark_fail,
        mark_qc,
        new_version,
        reopen,
    )
    from cinev4.pipeline.staging import stage
    from cinev4.pipeline.states import Action, Policy, Status
    from cinev4.pipeline.verify import verify_manifest_file, verify_shots


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'cinev4.pipeline' has no attribute {name!r}")
    return getattr(importlib.import_module(f"cinev4.pipeline.{module}"), name)


def __dir__() -> list[str]:
    return sorted(__all__)


__all__ = [
    "Action",
    "GateReport",
    "ManifestCheck",
    "ManifestResult",
    "Policy",
    "Problem",
    "Progress",
    "Project",
    "PublishResult",
    "Shot",
    "Status",
    "VerifyReport",
    "build_manifest",
    "check_release",
    "create_shot",
    "find_project_root",
    "init_project",
    "list_shots",
    "load_project",
    "load_shot",
    "mark_done",
    "mark_fail",
    "mark_qc",
    "new_version",
    "publish_release",
    "reopen",
    "stage",
    "verify_manifest_file",
    "verify_shots",
]
