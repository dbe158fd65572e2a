"""Rules the schemas cannot say: path safety, uniqueness, placement."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from hypothesis import given, settings
from hypothesis import strategies as st

import cinev4.contracts.rules as rules
from cinev4.contracts.rules import (
    all_plain,
    check_path,
    duplicate_problems,
    manifest_problems,
    path_problems,
    portability_warnings,
    resolve_inside,
)
from cinev4.errors import UnsafePathError


@pytest.mark.parametrize(
    "path,fragment",
    [
        ("/etc/passwd", "absolute"),
        ("C:/Windows/system32", "absolute"),
        ("c:relative", "absolute"),
        ("../outside", "'..'"),
        ("shots/../../x", "'..'"),
        ("shots/SH010/..", "'..'"),
        ("shots\\SH010\\f.exr", "backslash"),
        ("shots//f.exr", "empty or '.'"),
        ("shots/./f.exr", "empty or '.'"),
        ("shots/f.exr/", "empty or '.'"),
        ("shots/\udcff.exr", "UTF-8"),
        ("shots/a\nb.exr", "control character"),
        ("shots/a\x00b", "control character"),
    ],
)
def test_unsafe_paths(path: str, fragment: str) -> None:
    problems = path_problems(path)
    assert any(fragment in p for p in problems), problems
    with pytest.raises(UnsafePathError):
        check_path(path)


@pytest.mark.parametrize("path", ["a", "shots/SH010/outputs/v0001/f.1001.exr", "x/..y/z..", "ünï/cødé.exr", "take:2/a"])
def test_safe_paths(path: str) -> None:
    assert path_problems(path) == []


def test_resolve_inside_follows_symlinks_and_refuses_escapes(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "a").mkdir(parents=True)
    (root / "a" / "real.bin").write_bytes(b"x")
    outside = tmp_path / "secret.bin"
    outside.write_bytes(b"s")
    os.symlink(root / "a" / "real.bin", root / "a" / "inner-link.bin")
    os.symlink(outside, root / "a" / "outer-link.bin")
    os.symlink(tmp_path, root / "a" / "up")
    assert resolve_inside(root, "a/inner-link.bin") == (root / "a" / "real.bin").resolve()
    assert resolve_inside(root, "a/missing.bin").name == "missing.bin"  # existence is not its business
    for escaping in ("a/outer-link.bin", "a/up/secret.bin"):
        with pytest.raises(UnsafePathError, match="outside the project root"):
            resolve_inside(root, escaping)
    with pytest.raises(UnsafePathError):
        resolve_inside(root, "../secret.bin")


def test_duplicates() -> None:
    assert duplicate_problems(["a", "b", "a", "a"]) == ["artifacts: path 'a' is listed 3 times (expected once)"]
    assert duplicate_problems(["a", "b"]) == []


def test_manifest_paths_must_stay_in_their_version_folder() -> None:
    def manifest(*paths: str) -> dict:  # type: ignore[type-arg]
        return {"shot_id": "SH010", "version": "v0002",
                "artifacts": [{"path": p, "size": 1, "sha256": "0" * 64} for p in paths]}

    assert manifest_problems(manifest("shots/SH010/outputs/v0002/a.exr"), "m") == []
    problems = manifest_problems(manifest(
        "shots/SH010/outputs/v0001/a.exr",  # an older version
        "project.json",
        "shots/SH020/outputs/v0002/a.exr",  # another shot
        "/abs/a.exr",
        "shots/SH010/outputs/v0002/b.exr",
        "shots/SH010/outputs/v0002/b.exr",
    ), "m")
    text = "\n".join(problems)
    assert text.count("outside the version folder") == 3
    assert "absolute" in text and "listed 2 times" in text
    assert "m: $.artifacts[3].path" in text


# Path texts built from the pieces the rules care about, so that most lists mix plain paths
# with a few broken ones (a dot segment, '//', a backslash, a control character, a drive).
_PIECES = st.sampled_from(["a", "b", "SH010", "f.exr", ".", "..", ".hidden", "", "/", "\\", "\n", "\x00", "\x7f",
                           "C:", ":", "\u00e9", "e\u0301", "\udcff", " ", "v0001"])
_PATHS = st.lists(st.lists(_PIECES, max_size=5).map("/".join), max_size=8)
_PREFIX = "shots/SH010/outputs/v0001/"


def _one_by_one(paths: list[str], prefix: str) -> bool:
    return all(not path_problems(p) and p.startswith(prefix) for p in paths)


@settings(max_examples=600, deadline=None)
@given(_PATHS, st.sampled_from(["", "a/", _PREFIX]), st.booleans())
def test_all_plain_never_passes_a_path_the_rules_refuse(paths: list[str], prefix: str, placed: bool) -> None:
    if placed:
        paths = [prefix + p for p in paths]
    if all_plain(paths, prefix):
        assert _one_by_one(paths, prefix), paths
    # It gives up (False) only on what needs the per-path rules: non-ASCII, a segment
    # starting with '.', a ':'; on anything else it agrees with them exactly.
    simple = all(p.isascii() and ":" not in p and not any(seg.startswith(".") for seg in p.split("/")) for p in paths)
    if simple:
        assert all_plain(paths, prefix) == _one_by_one(paths, prefix), paths


@pytest.mark.parametrize("bad", ["", "/a", "a/", "a//b", "a/./b", "a/../b", "..", "a\\b", "a\nb", "a\tb",
                                 "C:/x", "a/\x7f"])
def test_all_plain_refuses_each_kind_of_broken_path_among_plain_ones(bad: str) -> None:
    plain = [f"{_PREFIX}f.{i:04d}.exr" for i in range(50)]
    assert all_plain(plain, _PREFIX)
    assert not all_plain(plain[:25] + [bad] + plain[25:])
    assert not all_plain(plain + ["shots/SH020/outputs/v0001/f.exr"], _PREFIX)  # placed elsewhere


@settings(max_examples=300, deadline=None)
@given(_PATHS)
def test_manifest_problems_are_the_same_with_and_without_the_bulk_check(tail: list[str]) -> None:
    doc = {"shot_id": "SH010", "version": "v0001",
           "artifacts": [{"path": _PREFIX + p} for p in tail] + [{"path": p} for p in tail[:2]]}
    fast = manifest_problems(doc, "m")
    original = rules.all_plain
    rules.all_plain = lambda paths, prefix="": False  # every path through the per-path rules
    try:
        slow = manifest_problems(doc, "m")
    finally:
        rules.all_plain = original
    assert fast == slow


_NAMES = st.sampled_from(["a", "A", "b", "sh010.1001.exr", "SH010.1001.EXR", "con", "CON.txt", "aux1", "com1.exr",
                          "lpt9", "nul ", "x.", "x ", "q?", "a:b", "<", "é", "e\u0301", "console.exr", "Auxiliary"])


@settings(max_examples=600, deadline=None)
@given(st.lists(st.lists(_NAMES, min_size=1, max_size=4).map("/".join), max_size=8))
def test_portability_warnings_in_bulk_are_those_found_path_by_path(paths: list[str]) -> None:
    found = portability_warnings(paths)
    original = rules._portable_in_bulk
    rules._portable_in_bulk = lambda paths: False  # every path looked at one by one
    try:
        assert found == portability_warnings(paths)
    finally:
        rules._portable_in_bulk = original


def test_a_case_clash_between_folders_is_found_among_many_plain_paths() -> None:
    paths = [f"out/Plates/f.{i:04d}.exr" for i in range(500)] + ["out/plates/extra.exr"]
    (warning,) = portability_warnings(paths)
    assert "'out/Plates', 'out/plates' differ only by case" in warning
    assert portability_warnings(paths[:-1]) == []


@pytest.mark.parametrize("odd", ["out/x./f.exr", "out/x /f.exr", "out/f.exr.", "out/f.exr ", "out/a?b.exr",
                                 "out/CON.exr", "out/lpt1/f.exr", "out/F.0001.exr"])
def test_each_name_windows_or_case_refuses_is_warned_about_among_plain_ones(odd: str) -> None:
    plain = [f"out/f.{i:04d}.exr" for i in range(200)]
    assert portability_warnings(plain) == []
    assert portability_warnings(plain + [odd]) != []
