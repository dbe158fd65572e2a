"""Canonical bytes, atomic write-once, media inference, clock."""
from __future__ import annotations

import json
import os
import stat
import threading
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cinev4.contracts.atomic import replace_atomic, stale_temp_files, write_once
from cinev4.contracts.jsonio import canonical_bytes, indented_text, parse_json
from cinev4.errors import AlreadyExistsError, ContractError
from cinev4.pipeline.clock import utc_now
from cinev4.pipeline.media import describe_all, media_type_for, role_for


def test_canonical_bytes_are_sorted_indented_utf8_with_newline() -> None:
    a = canonical_bytes({"b": 1, "a": ["ü", {"z": None, "y": True}]})
    b = canonical_bytes(json.loads(a))
    assert a == b
    assert a.endswith(b"}\n") and not a.endswith(b"\n\n")
    assert a.index(b'"a"') < a.index(b'"b"')
    assert "ü".encode() in a
    assert b'\n  "a": [\n' in a


def _json_dumps_form(doc: object) -> bytes:
    """What canonical_bytes must equal: json.dumps' own indenting encoder."""
    text = json.dumps(doc, sort_keys=True, indent=2, ensure_ascii=False, separators=(",", ": "), allow_nan=False)
    return (text + "\n").encode("utf-8")


# Strings that look like the encoder's separators and joints, so that a replacement that is
# not exact shows.
_TRICKY = st.sampled_from(["}", "{", "},\n      {", ",\n", "\n", "\x00", "\"", "\\", "é", "ş", "\u2028", "",
                           "shots/SH010/outputs/v0001/sh010.1001.exr", " : ", "null"])
_TEXT = st.one_of(_TRICKY, st.text(max_size=8), st.lists(_TRICKY, max_size=4).map("".join))
_SCALAR = st.one_of(_TEXT, st.integers(-2**70, 2**70), st.booleans(), st.none())
_FLAT = st.dictionaries(_TEXT, _SCALAR, max_size=5)
_DOC = st.recursive(st.one_of(_SCALAR, st.lists(_FLAT, max_size=4)),
                    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(_TEXT, inner, max_size=4)),
                    max_leaves=30)


@settings(max_examples=500, deadline=None)
@given(_DOC)
def test_canonical_bytes_are_exactly_what_json_dumps_indents(doc: object) -> None:
    assert canonical_bytes(doc) == _json_dumps_form(doc)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(_TEXT, _DOC, min_size=1, max_size=4), st.data())
def test_a_value_encoded_once_is_written_as_encoding_it_again(doc: dict[str, object], data: st.DataObject) -> None:
    """A manifest's artifacts go into the shot record as the text already made for the manifest."""
    key = data.draw(st.sampled_from(sorted(doc)))
    text = indented_text(doc[key])
    if text is None:  # json's own path (a float, a key that is no string): nothing to give
        return
    assert canonical_bytes(doc, encoded={key: text}) == _json_dumps_form(doc)
    # What is given is written as given: the caller vouches for it (a changed value shows).
    assert canonical_bytes(doc, encoded={key: '"given"'}) == _json_dumps_form({**doc, key: "given"})


def test_canonical_bytes_of_documents_json_indents_itself() -> None:
    # Floats and keys that are not strings take json's own path: the same bytes either way.
    for doc in ({"a": 1.5, "b": [{"x": 2.0}]}, {1: "one", 2: [{"k": 0.5}]}, [{"a": [1, 2]}, {"b": {}}], [[], {}]):
        assert canonical_bytes(doc) == _json_dumps_form(doc)
    artifacts = [{"path": f"shots/SH010/outputs/v0001/a}},\n{{.{i}.exr", "size": i, "sha256": "0" * 64}
                 for i in range(1000)]
    doc = {"artifacts": artifacts, "hash_alg": "sha256"}
    assert canonical_bytes(doc) == _json_dumps_form(doc)


def test_canonical_bytes_refuse_undecodable_names() -> None:
    """A contract error naming every place (never a UnicodeEncodeError, which the command
    line would call an internal error)."""
    from cinev4.errors import ContractError

    with pytest.raises(ContractError) as refused:
        canonical_bytes({"path": "bad\udcff", "list": ["ok", "x\udcfe"], "b\udcfd": 1})
    assert str(refused.value).split("; ") == [
        "$: a key holds text that is not UTF-8 (expected UTF-8 text)",
        "$.path: holds text that is not UTF-8 (expected UTF-8 text)",
        "$.list[1]: holds text that is not UTF-8 (expected UTF-8 text)"]


def test_parse_json_round_trip() -> None:
    assert parse_json(b'{"a": [1, 2.5, "x", null, true]}') == {"a": [1, 2.5, "x", None, True]}


def test_write_once_never_overwrites_and_is_read_only(tmp_path: Path) -> None:
    target = tmp_path / "manifest.json"
    write_once(target, b"first\n")
    assert target.read_bytes() == b"first\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o444
    with pytest.raises(AlreadyExistsError, match="written once"):
        write_once(target, b"second\n")
    assert target.read_bytes() == b"first\n"
    assert stale_temp_files(target) == []  # the losers' temp files are gone too


def test_write_once_concurrent_writers_exactly_one_wins(tmp_path: Path) -> None:
    target = tmp_path / "record.json"
    outcomes: list[str] = []
    barrier = threading.Barrier(8)

    def writer(n: int) -> None:
        barrier.wait()
        try:
            write_once(target, f"writer {n}\n".encode())
            outcomes.append("won")
        except AlreadyExistsError:
            outcomes.append("lost")

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["lost"] * 7 + ["won"]
    assert target.read_bytes().startswith(b"writer ")
    assert [p.name for p in tmp_path.iterdir()] == ["record.json"]


def test_replace_atomic(tmp_path: Path) -> None:
    target = tmp_path / "shot.json"
    replace_atomic(target, b"1\n")
    replace_atomic(target, b"2\n")
    assert target.read_bytes() == b"2\n"
    assert [p.name for p in tmp_path.iterdir()] == ["shot.json"]


@pytest.mark.parametrize(
    "path,media_type,role",
    [
        ("x/preview.mp4", "video/mp4", "preview"),
        ("x/Preview.MOV", "video/quicktime", "preview"),
        ("x/qc.json", "application/json", "qc"),
        ("x/render.log", "text/plain", "log"),
        ("x/sh010.1001.exr", "image/x-exr", "frame"),
        ("x/plate_0042.dpx", "image/x-dpx", "frame"),
        ("x/cover.png", "image/png", None),
        ("x/notes", None, None),
        ("x/.hidden", None, None),
        ("x/plate\u0663.exr", "image/x-exr", "frame"),  # an Arabic-Indic digit is a digit (regex \d)
        ("x/plate\u00b2.exr", "image/x-exr", None),  # a superscript two is not
    ],
)
def test_media_inference(path: str, media_type: str | None, role: str | None) -> None:
    assert media_type_for(path) == media_type
    assert role_for(path) == role


def _role_by_regex(path: str) -> str | None:
    """The rule as first written (a regex on the stem): the reference the sliced one must match."""
    import re

    name = path.rsplit("/", 1)[-1]
    stem, dot, ext = name.rpartition(".")
    stem, ext = (name, "") if not dot or not stem else (stem, "." + ext.lower())
    if stem.lower() == "qc" and ext == ".json":
        return "qc"
    if stem.lower() == "preview":
        return "preview"
    if ext == ".log":
        return "log"
    if ext in {".exr", ".dpx", ".tif", ".tiff", ".png", ".jpg", ".jpeg"} and re.search(r"[._]?\d+$", stem):
        return "frame"
    return None


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from(["a", "sh010", ".", "_", "/", "1001", "\u0663", "\u00b2", "qc", "QC", "preview",
                                 "json", "exr", "EXR", "log", "mp4", "tiff", ""]), max_size=6).map("".join))
def test_roles_follow_the_rule_as_first_written(path: str) -> None:
    assert role_for(path) == _role_by_regex(path)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(st.sampled_from(["a", "sh010", ".", "_", "/", "1001", "7", "\u0663", "qc", "preview", "json",
                                          "exr", "log", "mp4", "mp3", "m4v", "\n"]), max_size=6).map("".join),
                max_size=12))
def test_described_in_bulk_as_one_by_one(paths: list[str]) -> None:
    # Paths of one shape (digits apart) share a description, except where digits sit in the
    # extension: a.mp4 and a.mp3 are one shape, two media types.
    assert describe_all(paths) == [(media_type_for(p), role_for(p)) for p in paths]


def test_described_in_bulk_keeps_digits_of_extensions_apart() -> None:
    assert describe_all(["x/a.mp4", "x/a.mp3", "x/f.1001.exr", "x/f.1002.exr"]) == [
        ("video/mp4", None), (None, None), ("image/x-exr", "frame"), ("image/x-exr", "frame")]


def test_source_date_epoch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    assert utc_now() == "2023-11-14T22:13:20Z"
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "yesterday")
    with pytest.raises(ContractError, match="SOURCE_DATE_EPOCH"):
        utc_now()
    monkeypatch.delenv("SOURCE_DATE_EPOCH")
    assert utc_now().endswith("Z") and len(utc_now()) == 20


def test_umask_does_not_matter_for_read_only(tmp_path: Path) -> None:
    old = os.umask(0o077)
    try:
        write_once(tmp_path / "a", b"x")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "a").stat().st_mode) == 0o444
