"""The seed's contract, accepted as written: a document holding exactly the seed's MUST
fields is valid; cinev4's additions are written, never required of others."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from cinev4.contracts import parse_document
from cinev4.contracts.schemas import schema
from cinev4.errors import ContractError

from helpers import pin, run_cli

MANIFEST = "shots/SH010/manifests/v0001/manifest.json"
SEED_MANIFEST_FIELDS = {"schema", "project_id", "shot_id", "created_utc", "hash_alg", "artifacts"}
SEED_ARTIFACT_FIELDS = {"path", "size", "sha256"}
SEED_PROJECT_FIELDS = {"id", "version", "created_utc", "policy"}
SEED_POLICY_FIELDS = {"hash_alg", "path_mode", "immutable_outputs", "done_requires_manifest"}


def _seed_manifest(written: dict) -> dict:  # type: ignore[type-arg]
    """Exactly the seed's minimum, taken from a manifest cinev4 wrote."""
    minimum = {key: written[key] for key in SEED_MANIFEST_FIELDS}
    minimum["artifacts"] = [{key: a[key] for key in SEED_ARTIFACT_FIELDS} for a in written["artifacts"]]
    return minimum


def test_schemas_require_exactly_the_seed_minimum() -> None:
    assert set(schema("manifest")["required"]) == SEED_MANIFEST_FIELDS
    assert set(schema("artifact")["required"]) == SEED_ARTIFACT_FIELDS
    assert set(schema("project")["required"]) == SEED_PROJECT_FIELDS
    assert set(schema("project")["properties"]["policy"]["required"]) == SEED_POLICY_FIELDS


def test_seed_minimum_manifest_is_valid() -> None:
    doc = {"schema": "cinev4/manifest@1", "project_id": "FILM01", "shot_id": "SH010",
           "created_utc": "2024-05-01T12:00:00Z", "hash_alg": "sha256",
           "artifacts": [{"path": "shots/SH010/outputs/v0001/preview.mp4", "size": 6, "sha256": "0" * 64}]}
    assert parse_document(json.dumps(doc).encode(), "manifest", "m").data == doc
    for missing in sorted(SEED_MANIFEST_FIELDS):
        partial = {k: v for k, v in doc.items() if k != missing}
        with pytest.raises(ContractError, match=rf'^m: \$: "{missing}" is a required property$'):
            parse_document(json.dumps(partial).encode(), "manifest", "m")


def test_seed_minimum_project_is_valid() -> None:
    doc = {"id": "FILM01", "version": "v4", "created_utc": "2024-05-01T12:00:00Z",
           "policy": {"hash_alg": "sha256", "path_mode": "relative", "immutable_outputs": True,
                      "done_requires_manifest": True}}
    assert parse_document(json.dumps(doc).encode(), "project", "p").data == doc


def test_seed_minimum_manifest_verifies_its_version_from_the_layout(manifested: Path) -> None:
    written = json.loads((manifested / MANIFEST).read_text())
    assert written["version"] == "v0001"  # cinev4 keeps writing it
    pin(manifested, "SH010", json.dumps(_seed_manifest(written), indent=2).encode())
    result = run_cli("verify", "SH010", "--json", cwd=manifested)
    check = result.json()["manifests"][0]
    assert (check["ok"], check["version"], check["artifact_count"]) == (True, "v0001", 5)
    run_cli("verify", "--manifest", str(manifested / MANIFEST), cwd=manifested)
    run_cli("shot", "done", "SH010", cwd=manifested)
    run_cli("release", "check", "SH010", cwd=manifested)


def test_seed_minimum_project_json_is_a_project(tmp_path: Path) -> None:
    root = tmp_path / "seedproj"
    root.mkdir()
    (root / "project.json").write_text(json.dumps(
        {"id": "FILM09", "version": "v4", "created_utc": "2024-05-01T12:00:00Z",
         "policy": {"hash_alg": "sha256", "path_mode": "relative", "immutable_outputs": True,
                    "done_requires_manifest": True}}))
    run_cli("shot", "new", "SH010", cwd=root)
    assert "project FILM09" in run_cli("status", cwd=root).stdout
