"""Strict JSON in, canonical JSON out.

Python's ``json`` module is lenient where a contract must not be: it accepts
duplicate keys (the last one silently wins), ``NaN``/``Infinity``, and str
input of any provenance. Reading here is strict; writing is canonical, so the
same document always gives the same bytes.
"""
from __future__ import annotations

import gc
import json
import re
from array import array
from itertools import accumulate, chain
from operator import countOf
from collections.abc import Iterator, Mapping
from typing import Any

from cinev4.errors import JsonProblem

__all__ = ["JsonProblem", "MAX_DEPTH", "canonical_bytes", "indented_text", "json_path", "max_depth", "not_utf8_problems",
           "parse_json"]

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
    return _depth(_brackets(raw, raw.translate(None, _NOT_BRACKET_OR_QUOTE)))


def _brackets(raw: bytes, kept: bytes) -> bytes:
    """The brackets of ``raw`` that stand outside strings, in order; ``kept`` is ``raw``
    with all but its brackets and quotes deleted."""
    if b"\\" in raw or kept.count(b'"') % 2:
        # Escapes, or an unclosed string (not JSON): the regex that knows strings skips them.
        return _STRING.sub(b"", raw).translate(None, _NOT_BRACKET)
    # No escape and whole strings, so a string is whatever lies between two quotes. Kept
    # are only the brackets and quotes (a manifest's 2 MB become ~20 KB), where most
    # strings are two adjacent quotes: dropping such pairs keeps every later quote's
    # parity, so the brackets outside strings stay the same.
    kept = kept.replace(b'""', b"")
    return b"".join(kept.split(b'"')[::2]) if b'"' in kept else kept


def _depth(brackets: bytes) -> int:
    """The deepest nesting of a string of brackets: each opener +1, each closer -1 (as
    signed bytes); the deepest running total, in C."""
    steps = array("b", brackets.translate(_STEP))
    return max(0, max(accumulate(steps), default=0))


def _nests_within(brackets: bytes, limit: int) -> bool:
    """True when ``brackets`` surely nest at most ``limit`` deep; False when that is not
    known (then ``_depth`` counts). Cheaper than ``_depth`` on wide documents: a manifest's
    200,000 brackets take three rounds of one ``bytes.replace`` each.

    Each round deletes every adjacent opener-closer pair. The running totals of what stays
    are the same as before at each kept bracket; a deleted pair held the totals p+1, p, and
    p stays reached (by the bracket before the pair, or by a run of deleted pairs that starts
    at a kept bracket or at the start, total 0). So a round lowers the deepest total by at
    most 1, and brackets that are all gone after k rounds nested at most k deep."""
    level = brackets.translate(_PAIR)
    for _ in range(limit):
        if not level:
            return True
        inner = level.replace(b"()", b"")
        if 2 * len(inner) > len(level):  # less than half went: counting is cheaper than more rounds
            return False
        level = inner
    return not level


# A JSON string, escapes included (the unrolled form stays linear on long strings).
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKET = bytes(b for b in range(256) if b not in b"[]{}")
_NOT_BRACKET_OR_QUOTE = bytes(b for b in range(256) if b not in b'[]{}"')
_STEP = bytes.maketrans(b"[{]}", b"\x01\x01\xff\xff")
_PAIR = bytes.maketrans(b"[{]}", b"(())")


class _Fraction(float):
    """A number written with a fraction or exponent (``6.0``, ``6e0``): JSON
    Schema's "integer" admits it, cinev4's contracts do not."""


def _is_unencodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _nodes(doc: Any) -> Iterator[tuple[Any, tuple[str | int, ...]]]:
    """Every value of ``doc`` with its path, in document order; an iterative walk,
    since documents are wide (and a parsed one's depth was bounded, not its width)."""
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(doc, ())]
    while stack:
        node, path = stack.pop()
        yield node, path
        if isinstance(node, dict):
            stack.extend((value, path + (key,)) for key, value in reversed(node.items()))
        elif isinstance(node, (list, tuple)):
            stack.extend((value, path + (index,)) for index, value in reversed(list(enumerate(node))))


def _refusals(doc: Any, integers_only: bool) -> list[str]:
    """Every repeated key, out-of-range integer, lone surrogate and (when
    ``integers_only``) fraction-form number, with its JSON path."""
    found: list[str] = []
    for node, path in _nodes(doc):
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
        if len(text) < 19:  # at most 18 digits, so below 10^18 < 2^63: no range test
            return int(text)
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

    The document is read once, by the C parser with no hook for objects, and
    proved free of repeated keys by counting (``_layout``, ``_census``); one the
    count cannot clear is read again with the hook that names each repeated key.
    """
    if len(raw) > max_bytes:
        raise JsonProblem(f"document is {len(raw)} bytes (expected at most {max_bytes})")
    escaped = b"\\" in raw  # memchr
    # source: raw without the escapes that hide a quote (\"), for the layout
    source, colon_escape, surrogate_escape = _unescape(raw) if escaped else (raw, False, False)
    brackets, colons, commas, quotes = _layout(source, escaped)  # its buffers are gone before the text exists
    del source
    text = _decode(raw)
    depth = 0 if _nests_within(brackets, MAX_DEPTH) else _depth(brackets)
    if escaped and depth > MAX_DEPTH:
        depth = max_depth(raw)  # the count that holds for any bytes names the depth
    if depth > MAX_DEPTH:
        raise _too_deep(depth)
    # Integers beyond int64 are caught by the parse_int hook, whose call costs ~150 ns an
    # integer, or ruled out beforehand by _may_hold_huge_int, ~1.3 ns a byte. The hook is
    # taken where numbers are few (a manifest: one in ~230 bytes). Their count is bounded by
    # the layout: in JSON, numbers and literals = keys + commas + 1 - strings - empty
    # arrays and objects (each value but the top one is a key's or an array's; an object or
    # array of n > 0 values holds n - 1 commas), and colons and commas in strings only add.
    # Only the cost depends on this choice: either way every integer is judged.
    if (colons + commas + 1 - quotes // 2) * _BYTES_PER_HOOKED_INT < len(raw):
        hook_ints = True
    else:
        hook_ints = _may_hold_huge_int(raw)
    recount = raw if escaped else None
    # A \u003a escape is a colon in the text that the bytes do not show: the count cannot tell.
    if not colon_escape:
        doc, _, seen_huge, seen_fraction = _read(text, hook_ints, name_duplicates=False, recount=recount)
        del text  # as large as the document: freed before the census, as json.loads(raw) frees its own
        keys, colons_in_strings = _census(doc, brackets.count(b"{"))
        # In JSON outside strings a ':' stands after each key and nowhere else, so the raw
        # colons are the keys written plus the colons inside strings. A string's text holds
        # the colons of its bytes (escapes write none but \u003a, ruled out above), so
        # colons_in_strings, counted in some parsed strings, each read once, is at most the
        # colons inside strings; keys (each parsed object's len, each object counted once)
        # is at most the keys written, and less exactly when a repeated key was dropped.
        # Equality leaves no repeated key.
        if keys == colons - colons_in_strings:
            # A \uD800-\uDFFF escape is the only way a JSON text can hold a lone surrogate,
            # which no UTF-8 consumer (the validator, a file name, the output) can take.
            if seen_huge or (integers_only and seen_fraction) or surrogate_escape:
                problems = _refusals(doc, integers_only)
                if problems:
                    raise JsonProblem(problems)
            return doc
        # A repeated key, or colons in strings the census did not read: read it again, naming keys.
        text = _decode(raw)
    doc, seen_duplicate, seen_huge, seen_fraction = _read(text, hook_ints, name_duplicates=True, recount=recount)
    if seen_duplicate or seen_huge or (integers_only and seen_fraction) or surrogate_escape:
        problems = _refusals(doc, integers_only)
        if problems:
            raise JsonProblem(problems)
    return doc


def _too_deep(depth: int) -> JsonProblem:
    return JsonProblem(f"$: arrays and objects nest {depth} levels deep (expected at most {MAX_DEPTH})")


def _decode(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise JsonProblem(f"line {line}, byte {exc.start}: not valid UTF-8 (expected UTF-8 text)") from None


# The parse_int hook is taken when the document has fewer numbers than one per this many
# bytes (the hook's ~150 ns an integer against the byte test's ~1.3 ns a byte).
_BYTES_PER_HOOKED_INT = 128


def _read(text: str, hook_ints: bool, *, name_duplicates: bool, recount: bytes | None) -> tuple[Any, bool, bool, bool]:
    """``json.loads`` with cinev4's hooks: (document, a key repeated, an integer beyond
    int64, a fraction-form number). ``name_duplicates``: objects go through the hook that
    remembers repeated keys (else the C parser builds them, the last repeat winning).

    ``recount``: the bytes, when their depth was counted for JSON only (escapes): if they
    are not JSON, the depth that holds for any bytes decides between the two refusals."""
    seen_duplicate = [False]
    seen_huge = [False]
    seen_fraction = [False]
    try:
        doc = json.loads(
            text,
            object_pairs_hook=_object_hook_factory(seen_duplicate) if name_duplicates else None,
            parse_constant=_refuse_constant,
            parse_float=_float_parser_factory(seen_fraction),
            parse_int=_int_parser_factory(seen_huge) if hook_ints else None,
        )
    except json.JSONDecodeError as exc:
        problem = f"line {exc.lineno} column {exc.colno}: invalid JSON ({exc.msg})"
    except ValueError as exc:  # NaN, Infinity, 1e999
        problem = f"invalid JSON ({exc})"
    else:
        return doc, seen_duplicate[0], seen_huge[0], seen_fraction[0]
    if recount is not None:
        depth = max_depth(recount)
        if depth > MAX_DEPTH:
            raise _too_deep(depth)
    raise JsonProblem(problem)


# Kept by the layout pass: quotes, brackets, colons and commas.
_NOT_LAYOUT = bytes(b for b in range(256) if b not in b'"[]{}:,')


def _layout(source: bytes, escaped: bool) -> tuple[bytes, int, int, int]:
    """One pass over the bytes: (the brackets outside strings; the colons; the commas; the
    quotes around strings). ``source`` is the document, or (``escaped``) the document
    less its \\" escapes (``_unescape``).

    Without escapes the brackets are max_depth's, whatever the bytes. With them, the
    brackets are those outside strings if the document is JSON; parse_json asks max_depth
    where it may not be."""
    kept = source.translate(None, _NOT_LAYOUT)  # a manifest's 23 MB become ~3 MB
    marks = kept.translate(None, b":,")  # brackets and quotes: what max_depth keeps
    colons = kept.count(b":")
    commas = len(kept) - len(marks) - colons
    brackets = marks.translate(None, b'"')
    quotes = len(marks) - len(brackets)
    if quotes != 2 * marks.count(b'""'):
        # Some run of quotes is odd: a string holds a bracket, or one is left open.
        brackets = _brackets(source.translate(None, b"\\") if escaped else source, marks)
    # Else every run of quotes is even, so _brackets' replace deletes every quote: its
    # answer is the marks without their quotes.
    return brackets, colons, commas, quotes


def _unescape(raw: bytes) -> tuple[bytes, bool, bool]:
    """(``raw`` less its \\" escapes; whether a \\u escape writes a colon, \\u003a; whether
    one writes a surrogate, \\ud800-\\udfff). As a JSON string reads them, a backslash
    starts an escape and the next byte belongs to it (so the quote of \\\\" closes a
    string): the backslashes left hide no quote. They are found by memchr, so a document
    with a few escapes costs little more than one without."""
    pieces = []
    start = 0
    colon = surrogate = False
    at = raw.find(b"\\")
    while at >= 0:
        code = raw[at + 1:at + 2]
        if code == b'"':
            pieces.append(raw[start:at])
            start = at + 2
        elif code == b"u":
            hexa = raw[at + 2:at + 4].lower()
            colon = colon or hexa == b"00" and raw[at + 4:at + 6].lower() == b"3a"
            surrogate = surrogate or hexa[:1] == b"d" and hexa[1:] in (b"8", b"9", b"a", b"b", b"c", b"d", b"e", b"f")
        at = raw.find(b"\\", at + 2)
    if not pieces:
        return raw, colon, surrogate
    pieces.append(raw[start:])
    return b"".join(pieces), colon, surrogate


# Arrays longer than this are counted at C speed (their objects' strings go unread);
# shorter ones item by item, so that e.g. a shot's history, timestamps and all, is read.
_SHORT = 64


def _census(doc: Any, objects: int) -> tuple[int, int]:
    """(keys, colons): the keys of every object in ``doc`` (each object's len, each object
    counted once) and the colons in the strings read on the way (each string read once).

    ``objects`` is how many objects the text holds: once as many are counted, the long
    arrays (wherever they are) are left unread. An object skipped by mistake only lowers
    the keys, which sends parse_json to its slow path, never past a repeated key."""
    keys = colons = found = 0
    todo = [doc]
    arrays: list[list[Any]] = []
    while True:
        while todo:
            node = todo.pop()
            kind = type(node)
            if kind is str:
                if ":" in node:
                    colons += node.count(":")
            elif kind is dict:
                found += 1
                keys += len(node)
                todo.extend(node.values())
            elif kind is list:
                if len(node) > _SHORT:
                    arrays.append(node)
                else:
                    todo.extend(node)
        if found >= objects or not arrays:
            return keys, colons
        items = arrays.pop()
        if countOf(map(type, items), dict) != len(items):  # not all objects: item by item
            todo.extend(items)
            continue
        keys += sum(map(len, items))
        found += len(items)
        if found < objects:
            # CPython tracks a dict for the garbage collector once it holds a container,
            # so an untracked one holds no object to find.
            todo.extend(chain.from_iterable(map(dict.values, filter(gc.is_tracked, items))))


def canonical_bytes(doc: Any, *, encoded: Mapping[str, str] | None = None) -> bytes:
    """The one byte form cinev4 writes: sorted keys, two-space indent, UTF-8
    (not \\u escapes, so paths stay readable), and a trailing newline.

    A lone surrogate (a command-line argument that is not UTF-8, as Python decodes
    it) cannot be written: JsonProblem names every place that holds one. File names
    are refused before by the path rules.

    ``encoded``: the text of some of the top-level values of ``doc``, as
    ``indented_text`` gave it, taken as it is instead of being encoded again (a
    manifest's artifacts, written into the shot record too: 20 ms of 10,000 files).
    The caller vouches that those values have not changed since.
    """
    try:
        text = _indented(doc, 0, encoded)
    except _NotPlain:  # keys that are not strings, floats: json's own indenting encoder
        text = json.dumps(doc, sort_keys=True, indent=2, ensure_ascii=False, separators=(",", ": "), allow_nan=False)
    try:
        return (text + "\n").encode("utf-8")
    except UnicodeEncodeError:
        raise JsonProblem(not_utf8_problems(doc)) from None


NOT_UTF8 = "holds text that is not UTF-8 (expected UTF-8 text)"


def not_utf8_problems(doc: Any) -> list[str]:
    """Every string and key of ``doc`` that holds a lone surrogate, as ``"$.path: ..."``
    lines. Empty when there is none."""
    found: list[str] = []
    for node, path in _nodes(doc):
        if isinstance(node, str):
            if _is_unencodable(node):
                found.append(f"{json_path(path)}: {NOT_UTF8}")
        elif isinstance(node, dict):
            found += [f"{json_path(path)}: a key {NOT_UTF8}" for key in node
                      if isinstance(key, str) and _is_unencodable(key)]
    return found


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


def indented_text(value: Any, depth: int = 1) -> str | None:
    """``value``'s text as ``canonical_bytes`` writes it at ``depth`` (1: a top-level key's
    value), for its ``encoded``; None where that writer would take json's own path."""
    try:
        return _indented(value, depth)
    except _NotPlain:
        return None


def _indented(value: Any, depth: int, encoded: Mapping[str, str] | None = None) -> str:
    """``value`` as json.dumps(sort_keys=True, indent=2, ensure_ascii=False) writes it at ``depth``
    (``encoded``: the text of some of its keys' values, given)."""
    if isinstance(value, dict) and value:
        if not all(type(key) is str for key in value):
            raise _NotPlain
        inner = "\n" + "  " * (depth + 1)
        given = encoded or {}
        items = [f"{_scalar(key)}: {given[key] if key in given else _indented(item, depth + 1)}"
                 for key, item in sorted(value.items())]
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

