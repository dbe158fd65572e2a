"""No symlink is followed on the staging paths (README "Farm hooks", docs/CONTRACT.md "File layer").

``shots/SHOT/staging`` (or its version folder, or anything inside it) may be a link planted by
mistake or on purpose: ``stage`` refuses to write through it, ``manifest`` never reads staged
claims through it and its clean-up never deletes through it. Real files, the real console
script; the victims are compared byte for byte.
"""
from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

import cinev4.pipeline.staging as staging
from cinev4.errors import UnsafePathError
from cinev4.pipeline import load_project, stage
from cinev4.pipeline.manifests import build_manifest

from helpers import CINEV4, clean_env, make_writable, run_cli

A = "shots/SH1/outputs/v0001/a.exr"
B = "shots/SH2/outputs/v0001/b.exr"
NOT_FOLLOWED = "is a symlink (not followed: no symlink is followed below the project root)"
REFUSED = ": nothing staged (remove it: cinev4 stage makes the staging folders itself)"
IGNORED = ": staged digests ignored, every file is hashed"
LEFT = ": left as it is (the seal removes nothing through a link, nor a link itself); remove it by hand"


@pytest.fixture
def two_shots(tmp_path: Path) -> Iterator[Path]:
    """``cinev4 init p --id P --mutable-outputs``, shots SH1 and SH2 with a file each in v0001."""
    root = tmp_path / "p"
    run_cli("init", str(root), "--id", "P", "--mutable-outputs", cwd=tmp_path)
    for shot, path, data in (("SH1", A, b"frame of SH1\n"), ("SH2", B, b"frame of SH2\n")):
        run_cli("shot", "new", shot, cwd=root)
        (root / path).write_bytes(data)
    yield root
    make_writable(tmp_path)


def _tree(folder: Path) -> dict[str, bytes | str]:
    """Every file (its bytes), link (its target) and folder ('dir') under ``folder``."""
    found: dict[str, bytes | str] = {}
    for dirpath, dirnames, filenames in os.walk(folder):
        for name in dirnames + filenames:
            path = Path(dirpath, name)
            key = path.relative_to(folder).as_posix()
            if path.is_symlink():
                found[key] = f"-> {os.readlink(path)}"
            elif path.is_dir():
                found[key] = "dir"
            else:
                found[key] = path.read_bytes()
    return found


def _warnings(stderr: str) -> list[str]:
    return [line.removeprefix("cinev4: warning: ") for line in stderr.splitlines()
            if line.startswith("cinev4: warning: ")]


def test_a_staging_folder_linked_to_another_shots_outputs_is_never_followed(two_shots: Path) -> None:
    root = two_shots
    run_cli("manifest", "SH2", cwd=root)  # SH2 sealed: its outputs must stay exactly as sealed
    (root / "shots/SH1/staging").symlink_to("../SH2/outputs")
    victim = _tree(root / "shots/SH2")
    assert victim["outputs/v0001/b.exr"] == b"frame of SH2\n"

    refused = run_cli("stage", "SH1", A, cwd=root, expect=2)
    assert refused.stderr == f"cinev4: error: shots/SH1/staging {NOT_FOLLOWED}{REFUSED}\n"
    assert _tree(root / "shots/SH2") == victim  # no record written into SH2's sealed version
    run_cli("verify", "SH2", cwd=root)  # no `extra`

    sealed = run_cli("manifest", "SH1", "--json", cwd=root)
    assert sealed.json()["ok"] is True and sealed.json()["hashed_files"] == 1
    assert _warnings(sealed.stderr) == [f"shots/SH1/staging {NOT_FOLLOWED}{IGNORED}",
                                        f"shots/SH1/staging {NOT_FOLLOWED}{LEFT}"]
    assert _tree(root / "shots/SH2") == victim  # v0001 of SH2 was deleted recursively here
    assert os.readlink(root / "shots/SH1/staging") == "../SH2/outputs"  # the link left as it is
    run_cli("verify", "SH2", "SH1", cwd=root)


def test_a_staging_folder_linked_outside_the_project_is_never_followed(two_shots: Path, tmp_path: Path) -> None:
    root = two_shots
    outside = tmp_path / "x"
    (outside / "v0001" / "deep").mkdir(parents=True)
    (outside / "v0001" / "keep.json").write_bytes(b'{"not": "a record"}\n')
    (outside / "v0001" / "deep" / "data.bin").write_bytes(bytes(range(256)))
    (root / "shots/SH1/staging").symlink_to(outside)
    before = _tree(outside)
    key = root / ".cinev4-stage.key"
    key.unlink()  # an older project: stage would make the key first; refused, it makes nothing

    refused = run_cli("stage", "SH1", A, cwd=root, expect=2)
    assert refused.stderr == f"cinev4: error: shots/SH1/staging {NOT_FOLLOWED}{REFUSED}\n"
    assert _tree(outside) == before and not key.exists()

    sealed = run_cli("manifest", "SH1", cwd=root)
    assert _warnings(sealed.stderr) == [f"shots/SH1/staging {NOT_FOLLOWED}{IGNORED}",
                                        f"shots/SH1/staging {NOT_FOLLOWED}{LEFT}"]
    assert _tree(outside) == before  # /tmp/x/v0001 was deleted recursively here
    assert (root / "shots/SH1/staging").is_symlink()


def test_a_version_staging_folder_that_is_a_link_is_refused_and_left(two_shots: Path) -> None:
    root = two_shots
    (root / "shots/SH1/staging").mkdir()
    (root / "shots/SH1/staging/v0001").symlink_to("../../SH2/outputs/v0001")
    victim = _tree(root / "shots/SH2")
    refused = run_cli("stage", "SH1", A, cwd=root, expect=2)
    assert refused.stderr == f"cinev4: error: shots/SH1/staging/v0001 {NOT_FOLLOWED}{REFUSED}\n"
    sealed = run_cli("manifest", "SH1", cwd=root)
    assert _warnings(sealed.stderr) == [f"shots/SH1/staging/v0001 {NOT_FOLLOWED}{IGNORED}",
                                        f"shots/SH1/staging/v0001 {NOT_FOLLOWED}{LEFT}"]
    assert _tree(root / "shots/SH2") == victim
    assert (root / "shots/SH1/staging/v0001").is_symlink()


def test_links_inside_the_staging_folder_are_removed_themselves_never_their_targets(
        two_shots: Path, tmp_path: Path) -> None:
    root = two_shots
    run_cli("stage", "SH1", A, cwd=root)
    folder = root / "shots/SH1/staging/v0001"
    [record] = [p for p in folder.iterdir()]
    outside = tmp_path / "outside"
    (outside / "tree").mkdir(parents=True)
    (outside / "tree" / "f.bin").write_bytes(b"outside\n")
    (outside / "record.json").write_bytes(record.read_bytes())  # a genuine record, reached by a link
    (folder / "sub").symlink_to("../../../SH2/outputs")  # a link as a sub-folder
    (folder / "out").symlink_to(outside / "tree")
    (folder / "linked.json").symlink_to(outside / "record.json")
    (folder / "deep" / "er").mkdir(parents=True)  # a real sub-folder holding links
    (folder / "deep" / "er" / "l").symlink_to(root / "shots/SH2/outputs/v0001")
    (folder / "deep" / "b.exr").symlink_to(root / B)
    victims = (_tree(root / "shots/SH2"), _tree(outside))

    sealed = run_cli("manifest", "SH1", "--json", cwd=root)
    assert (sealed.json()["staged_files"], sealed.json()["hashed_files"]) == (1, 0)  # the real record used
    assert _warnings(sealed.stderr) == [
        "shots/SH1/staging/v0001/linked.json ignored, its files are hashed: not a staging record "
        "(shots/SH1/staging/v0001/linked.json: $: is a symbolic link (expected a regular file; documents "
        "are read without following symlinks))"]
    assert (_tree(root / "shots/SH2"), _tree(outside)) == victims
    assert not (root / "shots/SH1/staging").exists()  # every link removed itself, then the folders


def test_stage_never_writes_through_a_folder_swapped_for_a_link_while_it_hashes(
        two_shots: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import cinev4

    root = two_shots
    stage(load_project(root), "SH1", [root / A])  # the staging folders exist, real
    real_hash_files = cinev4.hash_files

    def hash_then_swap(files: list[str], threads: int | None = None) -> list[cinev4.FileDigest]:
        digests = real_hash_files(files, threads)
        (root / "shots/SH1/staging").rename(root / "shots/SH1/staging-moved")
        (root / "shots/SH1/staging").symlink_to("../SH2/outputs")  # after the check, before the write
        return digests

    monkeypatch.setattr(cinev4, "hash_files", hash_then_swap)
    victim = _tree(root / "shots/SH2")
    with pytest.raises(UnsafePathError) as refused:
        stage(load_project(root), "SH1", [root / A])
    assert refused.value.problems == [f"shots/SH1/staging {NOT_FOLLOWED}{REFUSED}"]
    assert _tree(root / "shots/SH2") == victim


def test_the_seal_never_removes_through_a_folder_swapped_for_a_link_before_its_rename(
        two_shots: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = two_shots
    run_cli("stage", "SH1", A, cwd=root)
    folder = root / "shots/SH1/staging/v0001"
    outside = tmp_path / "victim"
    outside.mkdir()
    (outside / "precious.bin").write_bytes(b"precious\n")
    real_lstat = staging._Dir.lstat

    def lstat_then_swap(self: staging._Dir, name: str) -> os.stat_result:
        st = real_lstat(self, name)
        if name == "v0001" and folder.is_dir() and not folder.is_symlink():
            folder.rename(tmp_path / "moved")
            folder.symlink_to(outside)  # after the look, before the rename
        return st

    monkeypatch.setattr(staging._Dir, "lstat", lstat_then_swap)
    leftovers = staging.discard_staging(load_project(root), "SH1", "v0001")
    assert leftovers == [f"shots/SH1/staging/v0001 {NOT_FOLLOWED}{LEFT}"]
    assert _tree(outside) == {"precious.bin": b"precious\n"}
    assert os.readlink(folder) == str(outside)  # put back as it was


def test_the_path_walk_where_folders_have_no_descriptors_refuses_links_too(
        two_shots: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Windows reaches the folders by path, each name lstat'ed first: the same walk, run here."""
    monkeypatch.setattr(staging, "_AT", False)
    root = two_shots
    project = load_project(root)
    result = stage(project, "SH2", [root / B])  # made and written by path
    assert result.ok and (root / str(result.record_path)).is_file()
    outside = tmp_path / "x"
    (outside / "v0001").mkdir(parents=True)
    (outside / "v0001" / "f.bin").write_bytes(b"outside\n")
    (root / "shots/SH1/staging").symlink_to(outside)
    with pytest.raises(UnsafePathError) as refused:
        stage(project, "SH1", [root / A])
    assert refused.value.problems == [f"shots/SH1/staging {NOT_FOLLOWED}{REFUSED}"]
    sealed = build_manifest(project, "SH1")
    assert sealed.warnings == (f"shots/SH1/staging {NOT_FOLLOWED}{IGNORED}",
                               f"shots/SH1/staging {NOT_FOLLOWED}{LEFT}")
    assert _tree(outside) == {"v0001": "dir", "v0001/f.bin": b"outside\n"}
    (root / "shots/SH2/staging/v0001/sub").symlink_to(outside)
    sealed = build_manifest(project, "SH2")
    assert (sealed.staged_files, sealed.hashed_files, sealed.warnings) == (1, 0, ())
    assert _tree(outside) == {"v0001": "dir", "v0001/f.bin": b"outside\n"}
    assert not (root / "shots/SH2/staging").exists()


@pytest.mark.parametrize("given", ["shots/SH1/out\0puts/v0001/a.exr", "shots/SH1/outputs/v0001/a\0.exr"])
def test_a_nul_in_a_listed_path_is_one_clear_refusal(two_shots: Path, given: str) -> None:
    proc = subprocess.run([*CINEV4, "stage", "SH1", "--files-from", "-"], cwd=two_shots, env=clean_env(None),
                          input=f"{given}\n", capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr == (f"cinev4: error: {given}: {given!r} contains a control character "
                           f"(expected printable characters)\n")
    assert not (two_shots / "shots/SH1/staging").exists()
