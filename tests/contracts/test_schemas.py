"""The shipped JSON Schemas: well-formed, installed, and strict where they must be."""
from __future__ import annotations

import copy
import json
from importlib import resources
from typing import Any

import pytest

from cinev4.contracts import parse_document
from cinev4.contracts.schemas import SCHEMA_BASE, schema, schema_problems
from cinev4.errors import ContractError

SHA = "a" * 64
NAMES = ["common", "artifact", "project", "shot", "manifest", "release"]


def valid(kind: str) -> dict[str, Any]:
    artifact = {"path": "shots/SH010/outputs/v0001/preview.mp4", "size": 12, "sha256": SHA,
                "media_type": "video/mp4", "role": "preview"}
    docs: dict[str, dict[str, Any]] = {
        "project": {"id": "FILM01", "version": "v4", "created_utc": "2024-05-01T12:00:00Z",
                    "policy": {"hash_alg": "sha256", "path_mode": "relative", "immutable_outputs": True,
                               "done_requires_manifest": True},
                    "name": "Film", "tags": ["feature"]},
        "shot": {"id": "SH010", "project_id": "FILM01", "status": "IN_PROGRESS", "version": "v0001",
                 "artifacts": [artifact], "manifest_ref": {"path": "shots/SH010/manifests/v0001/manifest.json",
                                                           "sha256": SHA},
                 "history": [{"utc": "2024-05-01T12:00:00Z", "from": None, "to": "IN_PROGRESS",
                              "reason": "created", "version": "v0001"}]},
        "artifact": artifact,
        "manifest": {"schema": "cinev4/manifest@1", "project_id": "FILM01", "shot_id": "SH010",
                     "version": "v0001", "created_utc": "2024-05-01T12:00:00Z", "hash_alg": "sha256",
                     "artifacts": [artifact]},
        "release": {"schema": "cinev4/release@1", "release_id": "R1", "project_id": "FILM01",
                    "created_utc": "2024-05-01T12:00:00.123Z",
                    "shots": [{"shot_id": "SH010", "version": "v0001",
                               "manifest_path": "shots/SH010/manifests/v0001/manifest.json",
                               "manifest_sha256": SHA, "artifact_count": 1, "total_bytes": 12}],
                    "totals": {"shots": 1, "artifacts": 1, "bytes": 12}},
    }
    return copy.deepcopy(docs[kind])


@pytest.mark.parametrize("name", NAMES)
def test_schema_is_installed_valid_2020_12_with_matching_id(name: str) -> None:
    import jsonschema_rs

    text = (resources.files("cinev4") / "schemas" / f"{name}.schema.json").read_text(encoding="utf-8")
    document = json.loads(text)
    assert document["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert document["$id"] == f"{SCHEMA_BASE}{name}.schema.json"
    assert jsonschema_rs.meta.is_valid(document)


@pytest.mark.parametrize("kind", ["project", "shot", "artifact", "manifest", "release"])
def test_valid_documents_pass(kind: str) -> None:
    assert schema_problems(valid(kind), kind) == []


def _set(doc: dict[str, Any], dotted: str, value: Any) -> dict[str, Any]:
    *parents, last = dotted.split(".")
    node: Any = doc
    for part in parents:
        node = node[int(part)] if part.isdigit() else node[part]
    if value is _DELETE:
        del node[last]
    else:
        node[int(last) if last.isdigit() else last] = value
    return doc


_DELETE = object()

BAD = [
    # (kind, field, value, fragment expected in the message, JSON path expected)
    ("manifest", "shot_id", _DELETE, "required", "$"),
    ("manifest", "artifacts", [], "less than 1 item", "$.artifacts"),
    ("manifest", "created_utc", "2024-05-01T12:00:00", "ending in Z", "$.created_utc"),
    ("manifest", "created_utc", "2024-05-01T12:00:00+00:00", "ending in Z", "$.created_utc"),
    ("manifest", "created_utc", "2024-13-01T12:00:00Z", "date-time", "$.created_utc"),
    ("manifest", "artifacts.0.sha256", "A" * 64, "64 lowercase hexadecimal", "$.artifacts[0].sha256"),
    ("manifest", "artifacts.0.sha256", "a" * 63, "64 lowercase hexadecimal", "$.artifacts[0].sha256"),
    ("manifest", "artifacts.0.size", -1, "minimum", "$.artifacts[0].size"),
    ("manifest", "artifacts.0.size", 2**60, "maximum", "$.artifacts[0].size"),
    ("manifest", "artifacts.0.size", "12", "integer", "$.artifacts[0].size"),
    ("manifest", "artifacts.0.size", 1.5, "integer", "$.artifacts[0].size"),
    ("manifest", "artifacts.0.size", True, "integer", "$.artifacts[0].size"),
    ("manifest", "artifacts.0.path", 7, "string", "$.artifacts[0].path"),
    ("manifest", "artifacts.0.role", "Preview!", "what the file is for", "$.artifacts[0].role"),
    ("manifest", "hash_alg", "md5", "sha256", "$.hash_alg"),
    ("manifest", "schema", "cinev4/manifest@2", "manifest@1", "$.schema"),
    ("manifest", "comment", "hi", "'comment' was unexpected", "$"),
    ("manifest", "x-studio", "hi", "'x-studio' was unexpected", "$"),  # closed: no extensions
    ("manifest", "artifacts.0.owner", "me", "'owner' was unexpected", "$.artifacts[0]"),
    ("manifest", "version", "v0000", "version folder", "$.version"),
    ("manifest", "shot_id", "../SH010", "safe folder name", "$.shot_id"),
    ("project", "policy.hash_alg", "md5", "sha256", "$.policy.hash_alg"),
    ("project", "policy.immutable_outputs", "yes", "boolean", "$.policy.immutable_outputs"),
    ("project", "policy.colour", "aces", "'colour' was unexpected", "$.policy"),
    ("project", "id", "", "safe folder name", "$.id"),
    ("project", "nmae", "typo", "'nmae' was unexpected", "$"),
    ("shot", "status", "APPROVED", "IN_PROGRESS", "$.status"),
    ("shot", "status", "FAIL", "fail_reason", "$"),  # FAIL needs its reason
    ("shot", "history", [], "less than 1 item", "$.history"),
    ("shot", "manifest_ref", {"path": "x"}, "oneOf", "$.manifest_ref"),
    ("release", "totals.bytes", -5, "minimum", "$.totals.bytes"),
    ("release", "shots.0.manifest_sha256", "zz", "64 lowercase hexadecimal", "$.shots[0].manifest_sha256"),
]


@pytest.mark.parametrize("kind,field,value,fragment,path", BAD, ids=[f"{b[0]}-{b[1]}-{b[2]!r:.20}" for b in BAD])
def test_bad_documents_name_path_and_expectation(kind: str, field: str, value: Any, fragment: str, path: str) -> None:
    doc = _set(valid(kind), field, value)
    raw = json.dumps(doc).encode()
    with pytest.raises(ContractError) as caught:
        parse_document(raw, kind, "some/file.json")  # type: ignore[arg-type]
    lines = caught.value.problems
    assert all(line.startswith("some/file.json: $") for line in lines), lines
    assert any(line.startswith(f"some/file.json: {path}: ") and fragment in line for line in lines), lines


@pytest.mark.parametrize("kind", ["project", "shot"])
def test_x_extension_keys_are_kept_in_project_and_shot(kind: str) -> None:
    doc = valid(kind)
    doc["x-studio"] = {"department": "comp"}
    assert schema_problems(doc, kind) == []


@pytest.mark.parametrize(
    "raw,fragment",
    [
        (b'{"id": "A", "id": "B"}', '$.id: duplicate key "id"'),
        (b'{"a": {"b": 1, "b": 2}}', '$.a.b: duplicate key "b"'),
        (b'{"size": NaN}', "NaN is not valid JSON"),
        (b'{"size": Infinity}', "Infinity is not valid JSON"),
        (b'{"size": 1e999999}', "out of range"),
        (b'{"size": 123456789012345678901234567890}', "$.size: integer"),
        (b'{"a": "\xff\xfe"}', "not valid UTF-8"),
        (b'\xef\xbb\xbf{}', "invalid JSON"),  # a BOM is not JSON
        (b'{"a": 1,}', "line 1 column"),
        (b"", "invalid JSON"),
        (b"{} {}", "invalid JSON"),
    ],
)
def test_strict_json(raw: bytes, fragment: str) -> None:
    with pytest.raises(ContractError) as caught:
        parse_document(raw, "manifest", "m.json")
    assert any(line.startswith("m.json: ") and fragment in line for line in caught.value.problems), caught.value.problems


def test_every_problem_is_reported_not_only_the_first() -> None:
    doc = valid("manifest")
    doc["hash_alg"] = "md5"
    doc["artifacts"][0]["size"] = -3
    doc["created_utc"] = "yesterday"
    with pytest.raises(ContractError) as caught:
        parse_document(json.dumps(doc).encode(), "manifest", "m.json")
    text = "\n".join(caught.value.problems)
    for path in ("$.hash_alg", "$.artifacts[0].size", "$.created_utc"):
        assert path in text


def test_schemas_are_the_single_source_of_the_safe_id_rule() -> None:
    # rules.check_id reads the pattern from the schema rather than copying it
    from cinev4.contracts.rules import check_id

    assert schema("common")["$defs"]["safe_id"]["pattern"].startswith("^")
    assert check_id("SH_010.a-b") == "SH_010.a-b"
    for bad in ["", ".hidden", "a/b", "..", "a b", "x" * 65, "é"]:
        with pytest.raises(ContractError):
            check_id(bad)


def test_a_control_character_the_validator_quotes_stays_escaped_on_one_line() -> None:
    # jsonschema-rs copies an unexpected key into its message as it is: a key "\n" would
    # break the one-line problem (found by tests/contracts/test_fuzz_documents.py).
    with pytest.raises(ContractError) as caught:
        parse_document(b'{"\\n": null, "a\\u007f\\t": 1}', "project", "doc.json")
    assert caught.value.problems[-1] == (
        "doc.json: $: Additional properties are not allowed ('\\n', 'a\\x7f\\t' were unexpected)")


def test_text_that_is_not_utf8_is_a_contract_problem_not_a_crash() -> None:
    """A str with a lone surrogate (a non-UTF-8 argument or name, as Python decodes it) is no
    JSON text: every entry point of the schemas says so instead of raising UnicodeEncodeError."""
    from cinev4.contracts.schemas import is_valid_ref, schema_problems, validate
    from cinev4.errors import ContractError

    assert is_valid_ref("SH0\udcff", "common.schema.json#/$defs/safe_id") is False
    assert is_valid_ref("SH010", "common.schema.json#/$defs/safe_id") is True
    doc = {"schema": "cinev4/project@1", "project_id": "F\udcfe"}
    assert schema_problems(doc, "project") == ["$.project_id: holds text that is not UTF-8 (expected UTF-8 text)"]
    with pytest.raises(ContractError, match=r"^project\.json: \$\.project_id: holds text that is not UTF-8"):
        validate(doc, "project", "project.json")


def test_a_long_value_is_cut_short_and_the_rule_it_breaks_kept() -> None:
    # The message was cut at its end: a 4,200-character path never said it broke maxLength.
    doc = valid("manifest")
    doc["artifacts"][0]["path"] = "shots/SH010/outputs/v0001/" + "d/" * 2100 + "f.exr"
    [problem] = [p for p in schema_problems(doc, "manifest") if p.startswith("$.artifacts[0].path")]
    assert problem.endswith('/d/d/f.exr" is longer than 4096 characters'), problem
    assert '$.artifacts[0].path: "shots/SH010/outputs/v0001/d/d/' in problem and "..." in problem
    assert len(problem) < 300
