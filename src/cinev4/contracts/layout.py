"""The on-disk layout (docs/CONTRACT.md "Project layout"), as contract paths (relative, '/'):
part of the contract, so it lives here, and every other module (contract rules, pipeline,
CLI) builds and reads paths through these functions and names.

    project.json
    shots/<SHOT>/shot.json
    shots/<SHOT>/outputs/<version>/...
    shots/<SHOT>/manifests/<version>/manifest.json
    shots/<SHOT>/staging/<version>/<record>.json     digests staged by render hooks, until the seal
    releases/<RELEASE>/release.json
    .cinev4-stage.key                                the project's staging secret (group-readable)

Ids are checked as safe folder names (cinev4.contracts.rules.check_id) before
they get here.
"""
from __future__ import annotations

import re

__all__ = [
    "LAYOUT_VERSION",
    "PROJECT_FILE",
    "SHOTS_DIR",
    "SHOT_FILE",
    "RELEASES_DIR",
    "RELEASE_FILE",
    "FIRST_VERSION",
    "shot_dir",
    "shot_record",
    "outputs_dir",
    "version_outputs_prefix",
    "manifest_file",
    "staging_dir",
    "STAGE_KEY_FILE",
    "release_record",
    "next_version",
    "parse_manifest_location",
]

LAYOUT_VERSION = "v4"  # project.json's "version": the layout below
PROJECT_FILE = "project.json"
SHOTS_DIR = "shots"
SHOT_FILE = "shot.json"
RELEASES_DIR = "releases"
RELEASE_FILE = "release.json"
FIRST_VERSION = "v0001"


def shot_dir(shot_id: str) -> str:
    return f"{SHOTS_DIR}/{shot_id}"


def shot_record(shot_id: str) -> str:
    return f"{SHOTS_DIR}/{shot_id}/{SHOT_FILE}"


def outputs_dir(shot_id: str, version: str) -> str:
    return f"{SHOTS_DIR}/{shot_id}/outputs/{version}"


def version_outputs_prefix(shot_id: str, version: str) -> str:
    """``outputs_dir`` with its trailing '/': every artifact path of the version starts with it."""
    return f"{outputs_dir(shot_id, version)}/"


def manifest_file(shot_id: str, version: str) -> str:
    return f"{SHOTS_DIR}/{shot_id}/manifests/{version}/manifest.json"


def staging_dir(shot_id: str, version: str) -> str:
    """Where render hooks stage digests of a version: beside its outputs, never under them,
    so a scan, the extras check and a release never see a staging record."""
    return f"{SHOTS_DIR}/{shot_id}/staging/{version}"


# Not under .cinev4/: that folder is private to the user running verify --resume (0700),
# while this key must be readable by every render node of the pipeline's group.
STAGE_KEY_FILE = ".cinev4-stage.key"


def release_record(release_id: str) -> str:
    return f"{RELEASES_DIR}/{release_id}/{RELEASE_FILE}"


def next_version(version: str) -> str:
    """``v0001`` -> ``v0002`` (the width grows past v9999)."""
    return f"v{int(version[1:]) + 1:04d}"


_MANIFEST_LOCATION = re.compile(r"(?:^|/)shots/([^/]+)/manifests/([^/]+)/manifest\.json$")


def parse_manifest_location(posix_path: str) -> tuple[str, str, str] | None:
    """``/x/y/shots/SH010/manifests/v0001/manifest.json`` -> (``/x/y``, SH010, v0001).

    A manifest found at its layout place tells where its root is; that lets
    ``verify --manifest`` check a delivered copy that has no project.json.
    """
    match = _MANIFEST_LOCATION.search(posix_path)
    if match is None:
        return None
    root = posix_path[: match.start()] or ("/" if posix_path.startswith("/") else ".")
    return root, match.group(1), match.group(2)
