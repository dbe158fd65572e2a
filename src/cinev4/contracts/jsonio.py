"""Strict JSON in, canonical JSON out.

Python's ``json`` module is lenient where a contract must not be: it accepts
duplicate keys (the last one silently wins), ``NaN``/``Infinity``, and str
input of any provenance. Reading here is strict; writing is canonical, so the
same document always gives the same bytes.
"""
from __future__ import annotations

import json
import re
from array import array
from itertools import accumulate, chain
from typing import Any

from cinev4.errors import JsonProblem

__all__ = ["JsonProblem", "MAX_DEPTH", "canonical_bytes", "json_path", "max_depth", "parse_json"]

# A contract document larger than this is not a manifest but an accident (or
# an attack); refuse before reading it all into memory.
MAX_DOCUMENT_BYTES = 512 * 1024 * 1024

# Arrays and objects nest at most this deep. cinev4's own documents nest 4
# levels; the limit is counted on the bytes before parsing, so neither the
# parser nor the validator recurses into a hostile document.
MAX_DEPTH = 64

# The parser's guard, for every JSON document read (qc.json too): integers beyond
# int64 are no size or count any file system has, and some validators cannot even
# convert them, so they are refused while parsing. The contract's own ceiling for
# sizes and totals, 2^53-1, is a schema rule (schemas/common.schema.json "size";
# docs/CONTRACT.md "Documents"), judged after parsing.
_INT_LIMIT = 2**63


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


def json_path(parts: list[str | int] | tuple[str | int, ...]) -> str:
    """``["artifacts", 3, "sha256"]`` -> ``$.artifacts[3].sha256``."""
    out = "$"
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part.isidentifier():
            out += f".{part}"
        else:
            # \u escapes for a key no UTF-8 output could print (a lone surrogate).
            out += "[" + json.dumps(part, ensure_ascii=_is_unencodable(part)) + "]"
    return out


def max_depth(raw: bytes) -> int:
    """How deeply the arrays and objects of ``raw`` nest, counted on the bytes
    (strings skipped), so that a hostile document is refused before any
    parser or validator can recurse into it."""
    kept = raw.translate(None, _NOT_BRACKET_OR_QUOTE)
    if b"\\" in raw or kept.count(b'"') % 2:
        # Escapes, or an unclosed string (not JSON): the regex that knows strings skips them.
        structure = _STRING.sub(b"", raw).translate(None, _NOT_BRACKET)
    else:
        # No escape and whole strings, so a string is whatever lies between two quotes. Kept
        # are only the brackets and quotes (a manifest's 2 MB become ~20 KB), where most
        # strings are two adjacent quotes: dropping such pairs keeps every later quote's
        # parity, so the brackets outside strings stay the same.
        kept = kept.replace(b'""', b"")
        structure = b"".join(kept.split(b'"')[::2]) if b'"' in kept else kept
    # Each opener +1, each closer -1 (as signed bytes); the deepest running total, in C.
    steps = array("b", structure.translate(_STEP))
    return max(0, max(accumulate(steps), default=0))


# A JSON string, escapes included (the unrolled form stays linear on long strings).
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKET = bytes(b for b in range(256) if b not in b"[]{}")
_NOT_BRACKET_OR_QUOTE = bytes(b for b in range(256) if b not in b'[]{}"')
_STEP = bytes.maketrans(b"[{]}", b"\x01\x01\xff\xff")


class _Fraction(float):
    """A number written with a fraction or exponent (``6.0``, ``6e0``): JSON
    Schema's "integer" admits it, cinev4's contracts do not."""


# A \uD800-\uDFFF escape: the only way a JSON text can hold a lone surrogate,
# which no UTF-8 consumer (the validator, a file name, the output) can take.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")


def _is_unencodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _refusals(doc: Any, integers_only: bool) -> list[str]:
    """Every repeated key, out-of-range integer, lone surrogate and (when
    ``integers_only``) fraction-form number, with its JSON path; an iterative
    walk, since the depth was bounded before parsing but the width is not."""
    found: list[str] = []
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(doc, ())]
    while stack:
        node, path = stack.pop()
        if isinstance(node, str):
            if _is_unencodable(node):
                found.append(f"{json_path(path)}: a \\u escape leaves a lone surrogate (expected Unicode text)")
        elif isinstance(node, dict):
            for key in getattr(node, "duplicates", ()):
                found.append(f"{json_path(path + (key,))}: duplicate key {json.dumps(key)}")
            for key in node:
                if _is_unencodable(key):
                    shown = key.encode("utf-8", "backslashreplace").decode("ascii", "replace")
                    found.append(f"{json_path(path)}: the key {shown!r} holds a lone surrogate (expected Unicode text)")
            stack.extend((value, path + (key,)) for key, value in reversed(node.items()))
        elif isinstance(node, list):
            stack.extend((value, path + (index,)) for index, value in reversed(list(enumerate(node))))
        elif isinstance(node, _Fraction):
            if integers_only:
                found.append(f"{json_path(path)}: {node!r} is not an integer (written with a fraction or "
                             "exponent; cinev4 documents hold whole numbers only, e.g. 6)")
        elif isinstance(node, int) and not isinstance(node, bool) and not -_INT_LIMIT <= node < _INT_LIMIT:
            found.append(f"{json_path(path)}: integer {node} is out of range (expected at most 2^63-1)")
    return found


# Each byte as what it is to a number: a digit "0", what may stand before a number "L"
# (JSON whitespace, ':', ',', '[' or a minus sign), anything else "x".
_NUMBER_SHAPE = bytes(ord("0") if b in b"0123456789" else ord("L") if b in b" \t\n\r:,[-" else ord("x")
                      for b in range(256))
_NINETEEN_DIGITS = b"0" * 19  # the shortest text of an integer outside int64 (2^63 has 19 digits)


def _may_hold_huge_int(raw: bytes) -> bool:
    """Whether ``raw`` has 19 digits in a row where a number can start: not for the runs
    inside hex digests (a letter or a quote before them), so ints usually parse at C speed."""
    shape = raw.translate(_NUMBER_SHAPE)
    return shape.startswith(_NINETEEN_DIGITS) or b"L" + _NINETEEN_DIGITS in shape


def _int_parser_factory(seen_huge: list[bool]) -> Any:
    def parse_int(text: str) -> int:
        value = int(text)
        if not -_INT_LIMIT <= value < _INT_LIMIT:
            seen_huge[0] = True
        return value

    return parse_int


def _float_parser_factory(seen_fraction: list[bool]) -> Any:
    def parse_float(text: str) -> float:
        value = _Fraction(text)
        if value in (float("inf"), float("-inf")):  # 1e999 overflows to infinity
            raise ValueError(f"{text} is out of range for a number")
        seen_fraction[0] = True
        return value

    return parse_float


def parse_json(raw: bytes, *, integers_only: bool = False, max_bytes: int = MAX_DOCUMENT_BYTES) -> Any:
    """Parse one strict JSON document from ``raw`` (UTF-8 bytes).

    Raises JsonProblem naming the line and column, or every JSON path that
    repeats a key or holds an absurd integer; nesting deeper than
    ``MAX_DEPTH`` is refused before parsing. ``integers_only``: every number
    must be written as an integer (cinev4's own documents hold no other).
    """
    if len(raw) > max_bytes:
        raise JsonProblem(f"document is {len(raw)} bytes (expected at most {max_bytes})")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise JsonProblem(f"line {line}, byte {exc.start}: not valid UTF-8 (expected UTF-8 text)") from None
    depth = max_depth(raw)
    if depth > MAX_DEPTH:
        raise JsonProblem(f"$: arrays and objects nest {depth} levels deep (expected at most {MAX_DEPTH})")
    seen_duplicate = [False]
    seen_huge = [False]
    seen_fraction = [False]
    try:
        doc = json.loads(
            text,
            object_pairs_hook=_object_hook_factory(seen_duplicate),
            parse_constant=_refuse_constant,
            parse_float=_float_parser_factory(seen_fraction),
            # Only a run of 19 digits can reach 2^63: without one, ints parse at C speed.
            parse_int=_int_parser_factory(seen_huge) if _may_hold_huge_int(raw) else None,
        )
    except json.JSONDecodeError as exc:
        raise JsonProblem(f"line {exc.lineno} column {exc.colno}: invalid JSON ({exc.msg})") from None
    except ValueError as exc:  # NaN, Infinity, 1e999
        raise JsonProblem(f"invalid JSON ({exc})") from None
    if seen_duplicate[0] or seen_huge[0] or (integers_only and seen_fraction[0]) or _SURROGATE_ESCAPE.search(raw):
        problems = _refusals(doc, integers_only)
        if problems:
            raise JsonProblem(problems)
    return doc


def canonical_bytes(doc: Any) -> bytes:
    """The one byte form cinev4 writes: sorted keys, two-space indent, UTF-8
    (not \\u escapes, so paths stay readable), and a trailing newline.

    Lone surrogates (from undecodable file names) cannot be encoded and raise
    UnicodeEncodeError: such names are refused earlier by the path rules.
    """
    try:
        text = _indented(doc, 0)
    except _NotPlain:  # keys that are not strings, floats: json's own indenting encoder
        text = json.dumps(doc, sort_keys=True, indent=2, ensure_ascii=False, separators=(",", ": "), allow_nan=False)
    return (text + "\n").encode("utf-8")


# json.dumps indents in pure Python (its C encoder cannot indent): 0.5 s for a manifest of
# 100,000 artifacts, written twice (manifest.json and shot.json). The same text is built
# here from the C encoder, which writes a list of flat objects (all a manifest's artifacts)
# in one call; the indentation is then put in by replacing separators, which is exact because
# that encoder escapes every control character inside strings: a raw newline or NUL in its
# output is always one of the separators below. tests/contracts/test_contract_io.py holds it
# to json.dumps.
_PLAIN_TYPES = (str, int, bool, type(None))  # floats take json's own path (allow_nan, repr)
_C_ENCODE = json.encoder.c_make_encoder  # type: ignore[attr-defined]


class _NotPlain(Exception):
    pass


def _scalar(value: Any) -> str:
    if type(value) not in _PLAIN_TYPES:
        raise _NotPlain
    return json.dumps(value, ensure_ascii=False)


def _indented(value: Any, depth: int) -> str:
    """``value`` as json.dumps(sort_keys=True, indent=2, ensure_ascii=False) writes it at ``depth``."""
    if isinstance(value, dict) and value:
        if not all(type(key) is str for key in value):
            raise _NotPlain
        inner = "\n" + "  " * (depth + 1)
        items = [f"{_scalar(key)}: {_indented(item, depth + 1)}" for key, item in sorted(value.items())]
        return "{" + inner + ("," + inner).join(items) + "\n" + "  " * depth + "}"
    if isinstance(value, list) and value:
        if _flat_objects(value):
            return _indented_flat_objects(value, depth)
        inner = "\n" + "  " * (depth + 1)
        return "[" + inner + ("," + inner).join(_indented(item, depth + 1) for item in value) + "\n" + "  " * depth + "]"
    if isinstance(value, (dict, list)):
        return "{}" if isinstance(value, dict) else "[]"
    return _scalar(value)


def _flat_objects(items: list[Any]) -> bool:
    """Whether ``items`` are all non-empty objects of string keys and plain scalar values
    (the types gathered by C iteration, not a Python loop over 500,000 values)."""
    if set(map(type, items)) != {dict} or not all(items):
        return False
    keys = set(map(type, chain.from_iterable(items)))
    values = set(map(type, chain.from_iterable(map(dict.values, items))))
    return keys == {str} and values.issubset(_PLAIN_TYPES)


def _indented_flat_objects(items: list[dict[str, Any]], depth: int) -> str:
    item_pad, key_pad = "  " * (depth + 1), "  " * (depth + 2)
    # One C call, each key already on its own indented line: '[{"a": 1,\n      "b": 2},\n      {"a": 3, ...}]'.
    encode = _C_ENCODE(None, None, json.encoder.encode_basestring, None, ": ", ",\n" + key_pad, True, False, False)
    text = "".join(encode(items, 0))[2:-2]
    # Values are scalars, so "}" never ends a value: "},\n<pad>{" is always the end of one object
    # and the start of the next (a raw newline is always a separator).
    text = text.replace(f"}},\n{key_pad}{{", f"\n{item_pad}}},\n{item_pad}{{\n{key_pad}")
    return f"[\n{item_pad}{{\n{key_pad}{text}\n{item_pad}}}\n{'  ' * depth}]"

