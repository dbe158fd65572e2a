"""Rules the schemas cannot say: path safety, uniqueness, placement."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from cinev4.contracts.rules import (
    check_path,
    duplicate_problems,
    manifest_problems,
    path_problems,
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
