"""Strict JSON in, canonical JSON out.

Python's ``json`` module is lenient where a contract must not be: it accepts
duplicate keys (the last one silently wins), ``NaN``/``Infinity``, and str
input of any provenance. Reading here is strict; writing is canonical, so the
same document always gives the same bytes.
"""
from __future__ import annotations

import json
from typing import Any

__all__ = ["JsonProblem", "canonical_bytes", "parse_json", "json_path"]

# A contract document larger than this is not a manifest but an accident (or
# an attack); refuse before reading it all into memory.
MAX_DOCUMENT_BYTES = 512 * 1024 * 1024

# Integers beyond int64 are no size or count any file system has; some
# validators also cannot convert them, so they are refused while parsing.
_INT_LIMIT = 2**63


class JsonProblem(ValueError):
    """The bytes are not one strict JSON document; ``problems`` says where and why."""

    def __init__(self, problems: str | list[str]) -> None:
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__("; ".join(self.problems))


class _Pairs(dict):  # type: ignore[type-arg]
    """A JSON object that remembers the keys it saw more than once."""

    duplicates: list[str]


def _object_hook_factory(seen_duplicate: list[bool]) -> Any:
    def hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        obj = dict(pairs)
        if len(obj) == len(pairs):
            return obj
        # Rare path: remember which keys repeated, to name their JSON paths.
        marked = _Pairs(obj)
        seen: set[str] = set()
        marked.duplicates = [k for k, _ in pairs if k in seen or seen.add(k)]  # type: ignore[func-returns-value]
        seen_duplicate[0] = True
        return marked

    return hook


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):  # 1e999 overflows to infinity
        raise ValueError(f"{text} is out of range for a number")
    return value


def json_path(parts: list[str | int] | tuple[str | int, ...]) -> str:
    """``["artifacts", 3, "sha256"]`` -> ``$.artifacts[3].sha256``."""
    out = "$"
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part.isidentifier():
            out += f".{part}"
        else:
            out += "[" + json.dumps(part, ensure_ascii=False) + "]"
    return out


def _find_duplicates(node: Any, path: list[str | int]) -> list[str]:
    found: list[str] = []
    if isinstance(node, dict):
        for key in getattr(node, "duplicates", ()):
            found.append(f"{json_path(path + [key])}: duplicate key {json.dumps(key)}")
        for key, value in node.items():
            found.extend(_find_duplicates(value, path + [key]))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found.extend(_find_duplicates(value, path + [index]))
    return found


def _find_huge_ints(node: Any, path: list[str | int]) -> list[str]:
    found: list[str] = []
    if isinstance(node, dict):
        for key, value in node.items():
            found.extend(_find_huge_ints(value, path + [key]))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found.extend(_find_huge_ints(value, path + [index]))
    elif isinstance(node, int) and not isinstance(node, bool) and not -_INT_LIMIT <= node < _INT_LIMIT:
        found.append(f"{json_path(path)}: integer {node} is out of range (expected at most 2^63-1)")
    return found


def _int_parser_factory(seen_huge: list[bool]) -> Any:
    def parse_int(text: str) -> int:
        value = int(text)
        if not -_INT_LIMIT <= value < _INT_LIMIT:
            seen_huge[0] = True
        return value

    return parse_int


def parse_json(raw: bytes) -> Any:
    """Parse one strict JSON document from ``raw`` (UTF-8 bytes).

    Raises JsonProblem naming the line and column, or every JSON path that
    repeats a key or holds an absurd integer.
    """
    if len(raw) > MAX_DOCUMENT_BYTES:
        raise JsonProblem(f"document is {len(raw)} bytes (expected at most {MAX_DOCUMENT_BYTES})")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise JsonProblem(f"line {line}, byte {exc.start}: not valid UTF-8 (expected UTF-8 text)") from None
    seen_duplicate = [False]
    seen_huge = [False]
    try:
        doc = json.loads(
            text,
            object_pairs_hook=_object_hook_factory(seen_duplicate),
            parse_constant=_refuse_constant,
            parse_float=_finite_float,
            parse_int=_int_parser_factory(seen_huge),
        )
    except json.JSONDecodeError as exc:
        raise JsonProblem(f"line {exc.lineno} column {exc.colno}: invalid JSON ({exc.msg})") from None
    except ValueError as exc:  # NaN, Infinity, 1e999
        raise JsonProblem(f"invalid JSON ({exc})") from None
    problems: list[str] = []
    if seen_duplicate[0]:
        problems += _find_duplicates(doc, [])
    if seen_huge[0]:
        problems += _find_huge_ints(doc, [])
    if problems:
        raise JsonProblem(problems)
    return doc


def canonical_bytes(doc: Any) -> bytes:
    """The one byte form cinev4 writes: sorted keys, two-space indent, UTF-8
    (not \\u escapes, so paths stay readable), and a trailing newline.

    Lone surrogates (from undecodable file names) cannot be encoded and raise
    UnicodeEncodeError: such names are refused earlier by the path rules.
    """
    text = json.dumps(doc, sort_keys=True, indent=2, ensure_ascii=False, separators=(",", ": "), allow_nan=False)
    return (text + "\n").encode("utf-8")
