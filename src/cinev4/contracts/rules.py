"""The contract rules a JSON Schema cannot say, in one place.

- path safety: a contract path is relative, POSIX, stays inside the project
  root (also through symlinks), and is valid UTF-8 without control characters;
- uniqueness: an artifact path appears once per manifest;
- placement: a manifest lists only files of its own shot version's folder;
- safe ids: shot, release and project ids become folder names, so they are
  checked (against the schema's own ``safe_id`` definition) before any path
  is built from them.

Unicode normalisation of paths (NFC) is deliberately not checked here yet.
"""
from __future__ import annotations

import os
import re
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from cinev4.contracts.jsonio import json_path
from cinev4.contracts.schemas import is_valid_ref, schema
from cinev4.errors import ContractError, UnsafePathError

__all__ = [
    "path_problems",
    "check_path",
    "resolve_inside",
    "duplicate_problems",
    "manifest_problems",
    "check_id",
    "version_outputs_prefix",
]

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_SURROGATE = re.compile("[\ud800-\udfff]")
_DRIVE = re.compile(r"^[A-Za-z]:")


def path_problems(path: str) -> list[str]:
    """What makes ``path`` unsafe as a contract path (empty list: safe syntax).

    Only the text is judged here; where it points is ``resolve_inside``'s job.
    """
    problems: list[str] = []
    if path.startswith("/") or _DRIVE.match(path):
        problems.append("is absolute (expected a path relative to the project root)")
    if "\\" in path:
        problems.append("contains a backslash (expected '/' separators)")
    segments = path.split("/")
    if ".." in segments:
        problems.append("contains '..' (expected a path that stays inside the project root)")
    if any(segment in ("", ".") for segment in segments) and not problems:
        problems.append("has an empty or '.' segment (expected a normalised path like a/b/c)")
    if _SURROGATE.search(path):
        problems.append("is not valid UTF-8 (expected a UTF-8 file name)")
    if _CONTROL.search(path):
        problems.append("contains a control character (expected printable characters)")
    return problems


def check_path(path: str, source: str = "path") -> None:
    """Raise UnsafePathError if ``path`` is not a safe contract path."""
    problems = path_problems(path)
    if problems:
        raise UnsafePathError([f"{source}: {path!r} {problem}" for problem in problems])


def resolve_inside(root: str | os.PathLike[str], path: str, source: str = "path") -> Path:
    """The real location of the contract ``path`` under ``root``.

    Raises UnsafePathError when the text is unsafe or when it resolves,
    through any symlink on the way, outside the root. The returned path is
    the resolved one, so that what is read later is what was checked here.
    The file need not exist (a missing artifact is the verifier's business).
    """
    check_path(path, source)
    real_root = os.path.realpath(root)
    target = os.path.realpath(os.path.join(real_root, *path.split("/")))
    if os.path.commonpath([real_root, target]) != real_root:
        raise UnsafePathError(f"{source}: {path!r} resolves outside the project root (through a symlink)")
    return Path(target)


def duplicate_problems(paths: Iterable[str], source: str = "artifacts") -> list[str]:
    """One line per path listed more than once."""
    return [f"{source}: path {path!r} is listed {count} times (expected once)"
            for path, count in sorted(Counter(paths).items()) if count > 1]


def version_outputs_prefix(shot_id: str, version: str) -> str:
    """Where a shot version's artifacts live (the layout of SPEC section 2)."""
    return f"shots/{shot_id}/outputs/{version}/"


def manifest_problems(doc: dict[str, Any], source: str) -> list[str]:
    """Rule violations of a schema-valid manifest: unsafe, repeated or misplaced paths."""
    prefix = version_outputs_prefix(doc["shot_id"], doc["version"])
    problems: list[str] = []
    for index, artifact in enumerate(doc["artifacts"]):
        where = f"{source}: {json_path(['artifacts', index, 'path'])}"
        path = artifact["path"]
        found = path_problems(path)
        problems += [f"{where}: {path!r} {problem}" for problem in found]
        if not found and not path.startswith(prefix):
            problems.append(f"{where}: {path!r} is outside the version folder (expected under {prefix})")
    problems += duplicate_problems((a["path"] for a in doc["artifacts"]), source)
    return problems


def check_id(value: str, what: str = "id") -> str:
    """Return ``value`` if it is a safe id (it becomes a folder name), else raise.

    The rule itself is the schema's ``safe_id`` definition, not a copy of it.
    """
    if not is_valid_ref(value, "common.schema.json#/$defs/safe_id"):
        expected = schema("common")["$defs"]["safe_id"]["description"]
        raise ContractError(f"{what} {value!r} is not a safe name (expected {expected})")
    return value
