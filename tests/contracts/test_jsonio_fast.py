"""parse_json's single-parse path (no object hook; repeated keys ruled out by counting
colons) against the implementation it replaced, kept here verbatim as the reference:
the same document, or the same JsonProblem lines, for every input."""
from __future__ import annotations

import json
import re
from array import array
from itertools import accumulate
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cinev4.contracts import jsonio
from cinev4.contracts.jsonio import MAX_DEPTH, JsonProblem, parse_json

# --- the reference: parse_json as it was before the single-parse path (one object hook call
# per object, a byte pass for the depth and one for 19-digit runs). The helpers that path left
# as they were (the object hook, the refusals, the number parsers) are jsonio's own; what it
# replaced is kept here as it was. ---------------------------------------------------------

_REF_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_REF_NOT_BRACKET = bytes(b for b in range(256) if b not in b"[]{}")
_REF_NOT_BRACKET_OR_QUOTE = bytes(b for b in range(256) if b not in b'[]{}"')
_REF_STEP = bytes.maketrans(b"[{]}", b"\x01\x01\xff\xff")
_REF_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")


def _ref_max_depth(raw: bytes) -> int:
    kept = raw.translate(None, _REF_NOT_BRACKET_OR_QUOTE)
    if b"\\" in raw or kept.count(b'"') % 2:
        structure = _REF_STRING.sub(b"", raw).translate(None, _REF_NOT_BRACKET)
    else:
        kept = kept.replace(b'""', b"")
        structure = b"".join(kept.split(b'"')[::2]) if b'"' in kept else kept
    steps = array("b", structure.translate(_REF_STEP))
    return max(0, max(accumulate(steps), default=0))


def reference_parse_json(raw: bytes, *, integers_only: bool = False,
                         max_bytes: int = jsonio.MAX_DOCUMENT_BYTES) -> Any:
    if len(raw) > max_bytes:
        raise JsonProblem(f"document is {len(raw)} bytes (expected at most {max_bytes})")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise JsonProblem(f"line {line}, byte {exc.start}: not valid UTF-8 (expected UTF-8 text)") from None
    depth = _ref_max_depth(raw)
    if depth > MAX_DEPTH:
        raise JsonProblem(f"$: arrays and objects nest {depth} levels deep (expected at most {MAX_DEPTH})")
    seen_duplicate = [False]
    seen_huge = [False]
    seen_fraction = [False]
    try:
        doc = json.loads(
            text,
            object_pairs_hook=jsonio._object_hook_factory(seen_duplicate),
            parse_constant=jsonio._refuse_constant,
            parse_float=jsonio._float_parser_factory(seen_fraction),
            parse_int=jsonio._int_parser_factory(seen_huge) if jsonio._may_hold_huge_int(raw) else None,
        )
    except json.JSONDecodeError as exc:
        raise JsonProblem(f"line {exc.lineno} column {exc.colno}: invalid JSON ({exc.msg})") from None
    except ValueError as exc:
        raise JsonProblem(f"invalid JSON ({exc})") from None
    if seen_duplicate[0] or seen_huge[0] or (integers_only and seen_fraction[0]) or _REF_SURROGATE_ESCAPE.search(raw):
        problems = jsonio._refusals(doc, integers_only)
        if problems:
            raise JsonProblem(problems)
    return doc


# --- comparing outcomes ----------------------------------------------------------------------


def _typed(value: Any) -> Any:
    """``value`` with every type made visible (1 and 1.0 and True differ; a fraction-form
    number is a float; an object is a plain dict or not), and objects as their ordered
    items: equal docs, equal forms."""
    if isinstance(value, dict):
        return (type(value) is dict, [(key, _typed(item)) for key, item in value.items()])
    if isinstance(value, list):
        return ("array", [_typed(item) for item in value])
    if isinstance(value, float):
        return ("float", repr(float(value)))
    return (type(value).__name__, value)


def _outcome(parse: Any, raw: bytes, integers_only: bool) -> tuple[str, Any]:
    try:
        doc = parse(raw, integers_only=integers_only)
    except JsonProblem as exc:
        return ("refused", exc.problems)
    return ("parsed", _typed(doc))


def _agree(raw: bytes, integers_only: bool = False) -> tuple[str, Any]:
    got = _outcome(parse_json, raw, integers_only)
    assert got == _outcome(reference_parse_json, raw, integers_only), raw
    return got


# --- generated JSON texts ----------------------------------------------------------------------

# Few key names, so that keys repeat often; characters that count (':' for the colon census,
# '"' and '\\' for escapes, brackets for the depth count, ',' for the number estimate).
_KEY_CHARS = st.sampled_from(["a", "b", ":", '"', "\\", "[", "]", "{", "}", ",", " ", "é", "\ud800"])
_KEYS = st.one_of(st.sampled_from(["a", "b", "a:b", ":", "size", "t"]), st.text(_KEY_CHARS, max_size=3))
_STRINGS = st.one_of(
    st.sampled_from(["", "x", "12:30:00", "2024-01-01T00:00:00Z", "]]]]", "[[[[", "{", "a,b", "::",
                     "1234567890123456789012"]),
    st.text(st.sampled_from(["a", "0", "1", ":", '"', "\\", "[", "]", "{", "}", ",", " ", "\n", "é",
                             "\ud800", "\udc00"]), max_size=6),
)
_INTS = st.one_of(
    st.integers(-(10**6), 10**6),
    st.sampled_from([2**63 - 1, 2**63, -(2**63), -(2**63) - 1, 10**18, 10**19, 10**30, -(10**25)]),
    st.integers(-(2**70), 2**70),
)
_NUMBER_TEXTS = st.sampled_from(["6.0", "6e0", "-0.0", "0.5", "1E+2", "1e999", "-1e999", "NaN", "Infinity",
                                 "-Infinity"])
_SPACE = st.sampled_from(["", "", " ", "\n  ", "\t", "\r\n"])


@st.composite
def _json_texts(draw: st.DrawFn, depth: int = 0) -> str:
    """A JSON text (or, with a few raw number texts, one Python's json refuses), with keys
    that may repeat at any depth and strings that may need escapes."""
    space = draw(_SPACE)
    kind = draw(st.sampled_from(["str", "int", "number", "literal", "object", "array"] if depth < 5
                                else ["str", "int", "literal"]))
    if kind == "str":
        return space + json.dumps(draw(_STRINGS), ensure_ascii=draw(st.booleans())) + space
    if kind == "int":
        return space + str(draw(_INTS)) + space
    if kind == "number":
        return space + draw(_NUMBER_TEXTS) + space
    if kind == "literal":
        return space + draw(st.sampled_from(["true", "false", "null"])) + space
    if kind == "array":
        items = draw(st.lists(_json_texts(depth + 1), max_size=4))
        return space + "[" + ",".join(items) + "]" + space
    members = draw(st.lists(st.tuples(_KEYS, _json_texts(depth + 1)), max_size=4))
    sep = draw(st.sampled_from([":", ": ", " : "]))
    return space + "{" + ",".join(json.dumps(k, ensure_ascii=draw(st.booleans())) + sep + v
                                  for k, v in members) + "}" + space


def _encode(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")  # a raw lone surrogate: not valid UTF-8


@settings(max_examples=700, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_json_texts(), st.booleans())
def test_agrees_with_the_reference_on_generated_documents(text: str, integers_only: bool) -> None:
    _agree(_encode(text), integers_only)


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_json_texts(), st.integers(0, 10**6), st.sampled_from(["", "x", '"', "}", ":", "\\", "[", "\xff"]))
def test_agrees_with_the_reference_on_broken_documents(text: str, where: int, insert: str) -> None:
    raw = _encode(text)
    cut = where % (len(raw) + 1)
    _agree(raw[:cut] + insert.encode("latin-1") + raw[cut:])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_json_texts(3), min_size=0, max_size=3), st.integers(60, 70),
       st.sampled_from(["", '"]]]]]]]]]]",', '"[[[[[[",', '{"a": "]]]]}}}}"},']))
def test_agrees_on_nesting_near_the_limit(inner: list[str], levels: int, before: str) -> None:
    """Deep nesting with brackets in strings before it: the depth is counted outside strings."""
    body = "[" + ",".join(inner) + "]"
    _agree(_encode("[" + before + "[" * levels + body + "]" * levels + "]"))


def _long(items: list[str], more: str = "") -> bytes:
    """An object whose array is long enough to be counted at C speed by the census."""
    return _encode('{"artifacts": [' + ",".join(items) + "]" + more + "}")


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 200), st.integers(0, 199), _json_texts(2), st.booleans())
def test_agrees_on_long_arrays_with_one_odd_item(count: int, where: int, odd: str, dense: bool) -> None:
    """Arrays past the census' item-by-item limit, with one item of any kind somewhere in them
    (an object with a repeated key, a string, a nested array): counted or not, same outcome."""
    item = '{"media_type": "image/x-exr", "path": "f.%04d.exr", "size": 1024}' if not dense else "[1, 2, 3]"
    items = [item] * count
    items.insert(where % (count + 1), odd)
    _agree(_long(items))
    _agree(_long(items, ', "x": 1, "x": {"k": 1, "l": 2}'))


# --- by hand: where a count could be fooled ----------------------------------------------------


@pytest.mark.parametrize("raw, problems", [
    (b'{"a":1,"a":2}', ['$.a: duplicate key "a"']),
    (b'[{"a":1,"a":2}]', ['$[0].a: duplicate key "a"']),
    (b'[[], [{"x": [{"a": 1}, {"a": 1, "a": 2}]}]]', ['$[1][0].x[1].a: duplicate key "a"']),
    (b'{"a:b": 1, "a:b": 2}', ['$["a:b"]: duplicate key "a:b"']),
    (b'{"t": "12:30", "t": "12:31"}', ['$.t: duplicate key "t"']),
    (b'{"a\\":b": 1, "a\\":b": 2}', ['$["a\\":b"]: duplicate key "a\\":b"']),
    # a colon the bytes do not show (\u003a) must not pay for a dropped key
    (b'{"a": 1, "a": "\\u003a"}', ['$.a: duplicate key "a"']),
    (b'{"a": 1, "a": "\\u003A\\\\"}', ['$.a: duplicate key "a"']),
    (b'[{"t": "x"}, {"t": 1, "t": "\\"\\u003a"}]', ['$[1].t: duplicate key "t"']),
    (b'{"a": "x", "b": "y:z", "a": "w"}', ['$.a: duplicate key "a"']),
    # a dropped object's keys, and a string whose length could pay for them
    (_long(['{"k": 1}'] * 100 + ['"xx"'], ', "b": 1, "b": {"k": 1}'), ['$.b: duplicate key "b"']),
    (_long(['{"k": 1}'] * 100 + ['{"k": 1, "k": 2}']), ['$.artifacts[100].k: duplicate key "k"']),
    (_long(['{"p": "x:y"}'] * 100 + ['{"p": "x", "p": "y"}']), ['$.artifacts[100].p: duplicate key "p"']),
    (_long(['{"n": {"k": 1}}'] * 100 + ['{"n": {"k": 1, "k": 2}}']), ['$.artifacts[100].n.k: duplicate key "k"']),
    (b'{"a": [' + b"1," * 3000 + b'18446744073709551616]}', ["$.a[3000]: integer 18446744073709551616 is out of "
                                                              "range (expected at most 2^63-1)"]),
    (_long(['{"size": 5}'] * 100 + ['{"size": -9223372036854775809}']),
     ["$.artifacts[100].size: integer -9223372036854775809 is out of range (expected at most 2^63-1)"]),
    # few numbers in many bytes: the integers go through the parse_int hook, not the byte test
    (b'{"a": "' + b"x" * 4000 + b'", "n": 9223372036854775808}',
     ["$.n: integer 9223372036854775808 is out of range (expected at most 2^63-1)"]),
    (_long(['{"path": "' + "p" * 300 + '", "size": 5}'] * 100 + ['{"size": -99999999999999999999}']),
     ["$.artifacts[100].size: integer -99999999999999999999 is out of range (expected at most 2^63-1)"]),
])
def test_refusals_by_hand(raw: bytes, problems: list[str]) -> None:
    with pytest.raises(JsonProblem) as caught:
        parse_json(raw)
    assert caught.value.problems == problems
    assert _agree(raw) == ("refused", problems)


@pytest.mark.parametrize("raw", [
    b'{"a:b": 1, "b": "c:d", "t": "2024-01-01T00:00:00Z", "u": "::", "v": ":"}',
    b'{"a": "\\"", "b": "\\\\", "c": "\\u003a", "d": "]]]"}',
    b'["a", ":", "[", "]", "{", "}", "\\"]"]',
    b'{"k": ["x:y", {"z": "1:2"}], "e": {}, "f": []}',
    b'{"x": 9223372036854775807, "y": -9223372036854775808, "z": 1234567890123456789}',
    _long(['{"p": "c:/x", "size": 1}'] * 100),  # colons in strings the census leaves unread
    _long(['{"size": 9223372036854775807}'] * 100),
    b"[" * MAX_DEPTH + b"]" * MAX_DEPTH,
    b'"a:b"', b"0", b"[]", b"{}", b"null",
])
def test_accepted_by_hand(raw: bytes) -> None:
    assert _agree(raw)[0] == "parsed"
    assert parse_json(raw) == json.loads(raw)


def _manifest_like(count: int, reason: str = "QC notes, [v2]") -> bytes:
    artifacts = [{"media_type": "image/x-exr", "path": f"shots/SH010/outputs/v0001/sh010.{i:07d}.exr",
                  "role": "frame", "sha256": f"{i:064x}", "size": 16384 + i} for i in range(count)]
    history = [{"from": None, "reason": f"step {i}: {reason}", "to": "QC", "utc": "2024-01-01T00:00:00Z",
                "version": "v0001"} for i in range(20)]
    return jsonio.canonical_bytes({"artifacts": artifacts, "created_utc": "2024-01-01T00:00:00Z",
                                   "history": history, "manifest_ref": {"path": "m.json", "sha256": "0" * 64},
                                   "frames": {"first": 1, "last": count}, "x-note": "a:b"})


@pytest.mark.parametrize("count", [0, 10, 1000])
@pytest.mark.parametrize("reason", ["QC notes, [v2]", 'the "flicker" at C:\\shots\\a\tb ]}'])
def test_cinev4_documents_are_read_once(count: int, reason: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A manifest- or shot-like document (timestamps, colons and brackets in strings, escapes,
    a long array of artifacts) is cleared by the count: no second read with the object hook."""
    reads: list[bool] = []
    read = jsonio._read

    def counted(text: str, hook_ints: bool, *, name_duplicates: bool, **more: Any) -> Any:
        reads.append(name_duplicates)
        return read(text, hook_ints, name_duplicates=name_duplicates, **more)

    monkeypatch.setattr(jsonio, "_read", counted)
    raw = _manifest_like(count, reason)
    assert parse_json(raw, integers_only=True) == json.loads(raw)
    assert reads == [False]
    reads.clear()  # a colon written as \u003a is one the bytes do not show: read again, naming keys
    raw = raw.replace(b'"utc": "2024-01-01T00:00:00Z"', b'"utc": "2024-01-01T00\\u003a00:00Z"')
    assert parse_json(raw, integers_only=True) == json.loads(raw)
    assert reads == [True]


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(55, 75), st.lists(st.tuples(st.integers(0, 10**6), st.sampled_from(
    ["\\", '\\"', "\\\\", '"', '"]]]]"', '"\\"[[', "\\u005b", ":", '"a": 1'])), max_size=4))
def test_agrees_on_deep_nesting_with_stray_escapes(levels: int, inserts: list[tuple[int, str]]) -> None:
    """Backslashes and quotes anywhere around a nesting near the limit, inside strings or
    not (not JSON, mostly): the depth named, or the parser's complaint, is the reference's."""
    raw = '["a\\"b", ' + "[" * levels + '"x\\\\"' + "]" * levels + ', "\\\\[", "c"]'
    for where, piece in inserts:
        cut = where % (len(raw) + 1)
        raw = raw[:cut] + piece + raw[cut:]
    _agree(raw.encode())


def test_the_census_counts_every_object_once() -> None:
    doc = json.loads(_long(['{"a": 1, "b": {"c": [1, {"d": 2}]}}'] * 100, ', "x": {"y": "1:2:3"}'))
    keys, colons = jsonio._census(doc, 1 + 100 * 3 + 1)
    assert keys == 2 + 100 * 4 + 1  # the top object's 2, 100 x (a, b, c, d), y
    assert colons == 2  # "1:2:3": the long array's strings are not read
    assert jsonio._census(doc, 10**9) == (keys, colons)  # looking further finds no more


@settings(max_examples=1000, deadline=None)
@given(st.lists(st.sampled_from([b"[", b"]", b"{", b"}"]), max_size=300), st.integers(0, 70))
def test_nests_within_never_passes_a_deeper_nesting(pieces: list[bytes], limit: int) -> None:
    brackets = b"".join(pieces)
    if jsonio._nests_within(brackets, limit):
        assert jsonio._depth(brackets) <= limit


@settings(max_examples=1000, deadline=None)
@given(st.lists(st.sampled_from([b"[", b"]", b"{", b"}", b'"', b'""', b"a", b":", b",", b"x:y"]), max_size=40))
def test_layout_brackets_are_max_depths(pieces: list[bytes]) -> None:
    """Without a backslash, any bytes: the layout's brackets are max_depth's."""
    raw = b"".join(pieces)
    brackets, colons, commas, quotes = jsonio._layout(raw, False)
    kept = raw.translate(None, bytes(b for b in range(256) if b not in b'[]{}"'))
    assert brackets == jsonio._brackets(raw, kept)
    assert jsonio._depth(brackets) == _ref_max_depth(raw)
    assert (colons, commas, quotes) == (raw.count(b":"), raw.count(b","), raw.count(b'"'))


class _Members(list):  # type: ignore[type-arg]
    """An object's (key, value) pairs, every one kept."""


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_json_texts())
def test_layout_of_json_with_escapes(text: str) -> None:
    """With backslashes, for JSON: the brackets outside strings (as the regex that knows
    escapes finds them), every colon and comma, two quotes a string."""
    raw = _encode(text)
    try:  # every pair kept, repeated keys too: an object is a _Members list
        doc = json.loads(raw.decode("utf-8"), object_pairs_hook=_Members)
    except (UnicodeDecodeError, ValueError):
        return
    source, colon_escape, surrogate_escape = jsonio._unescape(raw)
    assert colon_escape == bool(re.search(rb"(?<!\\)(?:\\\\)*\\u003[aA]", raw))
    assert surrogate_escape == bool(re.search(rb"(?<!\\)(?:\\\\)*\\u[dD][89a-fA-F]", raw))
    brackets, colons, commas, quotes = jsonio._layout(source, b"\\" in raw)
    assert brackets == _REF_STRING.sub(b"", raw).translate(None, _REF_NOT_BRACKET)
    assert (colons, commas) == (raw.count(b":"), raw.count(b","))
    strings = 0
    stack = [doc]
    while stack:
        node = stack.pop()
        if isinstance(node, _Members):
            strings += len(node)
            stack += [value for _, value in node]
        elif isinstance(node, list):
            stack += node
        else:
            strings += isinstance(node, str)
    assert quotes == 2 * strings
