"""Validation of documents against the package's JSON Schemas (draft 2020-12).

The schema files in ``cinev4/schemas/`` are the single source of truth: this
module only loads them and runs them through the validator; it restates none
of their rules. The validator is jsonschema-rs (Rust): it supports draft
2020-12 and imports in ~15-20 ms, against ~60-90 ms for the pure-Python
``jsonschema`` (measured with ``python -X importtime``), which matters to a
farm hook that runs once per render task. It is imported on first use only.
"""
from __future__ import annotations

import json
import os
import re
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from cinev4.contracts.jsonio import json_path

if TYPE_CHECKING:
    from typing import Literal

    DocumentKind = Literal["project", "shot", "artifact", "manifest", "release", "stage"]
else:
    DocumentKind = str

__all__ = ["DocumentKind", "SCHEMA_BASE", "schema", "schema_id", "schema_problems", "validate", "is_valid_ref"]

SCHEMA_BASE = "https://cinev4.invalid/schemas/"
_SCHEMA_FILES = ("common", "artifact", "project", "shot", "manifest", "release", "stage")
_MAX_MESSAGE = 240
_KEPT_HEAD = 60  # of a message cut short, the start of the value; the rest of the room is its end
# A control character the validator copies into its message from the document (a key
# "\n"): written as its escape, so that every problem stays one printable line.
_CONTROL = re.compile("[\x00-\x1f\x7f]")
_SCHEMA_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "schemas")


@lru_cache(maxsize=None)
def schema(name: str) -> dict[str, Any]:
    """The parsed schema ``name`` ("manifest", "common", ...) as shipped."""
    if name not in _SCHEMA_FILES:
        raise KeyError(f"no schema named {name!r}")
    try:
        # Beside the package's modules, as installed: read without importlib.resources,
        # whose import (tempfile, zipfile, ...) is ~5 ms of every command's start-up.
        with open(os.path.join(_SCHEMA_DIR, f"{name}.schema.json"), encoding="utf-8") as handle:
            text = handle.read()
    except OSError:  # the package is not files on disk (a zip import): ask its loader
        from importlib import resources

        text = (resources.files("cinev4") / "schemas" / f"{name}.schema.json").read_text(encoding="utf-8")
    return json.loads(text)  # type: ignore[no-any-return]


def schema_id(kind: DocumentKind) -> str:
    """The ``schema`` value a document of ``kind`` carries (``cinev4/manifest@1``): its schema's const."""
    return str(schema(kind)["properties"]["schema"]["const"])


@lru_cache(maxsize=None)
def _registry() -> Any:
    import jsonschema_rs

    return jsonschema_rs.Registry([(SCHEMA_BASE + f"{name}.schema.json", schema(name)) for name in _SCHEMA_FILES])


@lru_cache(maxsize=None)
def _validator(schema_ref: str) -> Any:
    import jsonschema_rs

    # validate_formats: in draft 2020-12 "format" is only an annotation unless
    # asked for; date-time must really be a date (no month 13).
    return jsonschema_rs.Draft202012Validator(
        {"$ref": SCHEMA_BASE + schema_ref}, registry=_registry(), validate_formats=True
    )


@lru_cache(maxsize=None)
def _expectations() -> dict[str, str]:
    """pattern -> description, gathered from every schema, so that a pattern
    failure can say what was expected in words rather than as a regex."""
    found: dict[str, str] = {}

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("pattern"), str) and isinstance(node.get("description"), str):
                found[node["pattern"]] = node["description"]
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    for name in _SCHEMA_FILES:
        walk(schema(name))
    return found


def _describe(error: Any) -> str:
    message = _CONTROL.sub(lambda found: found.group().encode("unicode_escape").decode("ascii"), str(error.message))
    pattern = getattr(error.kind, "pattern", None)
    if isinstance(pattern, str) and pattern in _expectations():
        # Say it in words; the regex stays in the schema for those who want it.
        message = message.replace(f' does not match "{pattern}"', " is not valid")
        message += f" (expected {_expectations()[pattern]})"
    if len(message) > _MAX_MESSAGE:
        # The value comes first and the rule it breaks last ("... is longer than 4096
        # characters"): the value is cut short, the rule kept.
        message = message[:_KEPT_HEAD] + "..." + message[-(_MAX_MESSAGE - _KEPT_HEAD - 3):]
    return f"{json_path(list(error.instance_path))}: {message}"


def schema_problems(doc: Any, kind: DocumentKind) -> list[str]:
    """Every schema violation of ``doc`` as ``"$.json.path: message"`` lines."""
    try:
        return [_describe(error) for error in _validator(f"{kind}.schema.json").iter_errors(doc)]
    except UnicodeEncodeError:
        # A str holding a lone surrogate (a command-line argument or file name that is not
        # UTF-8, as Python decodes it) is no JSON text: the validator cannot even read it.
        from cinev4.contracts.jsonio import NOT_UTF8, not_utf8_problems

        return not_utf8_problems(doc) or [f"$: {NOT_UTF8}"]


def is_valid_ref(value: Any, ref: str) -> bool:
    """Whether ``value`` matches the schema at ``ref`` (e.g. "common.schema.json#/$defs/safe_id")."""
    try:
        return bool(_validator(ref).is_valid(value))
    except UnicodeEncodeError:
        return False


def validate(doc: Any, kind: DocumentKind, source: str) -> None:
    """Raise ContractError listing every violation, each prefixed by ``source``."""
    try:
        if _validator(f"{kind}.schema.json").is_valid(doc):
            return  # the common case, without collecting errors (a third faster on a big manifest)
    except UnicodeEncodeError:
        pass  # schema_problems says so
    problems = schema_problems(doc, kind)
    if problems:
        from cinev4.errors import ContractError

        raise ContractError([f"{source}: {problem}" for problem in problems])
