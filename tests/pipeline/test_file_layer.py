"""The pipeline's file layer (docs/CONTRACT.md "File layer"): every output is opened beneath the project
root's folder handle and no symlink below the root is followed, by verify and by manifest.

A folder of the version swapped for a symlink to a folder outside, in a loop while verify and
the manifest's hashing run, never gets a byte of the outside file read: the canary outside has
the same name and size as the file inside, so only its digest could show it was read, and no
result ever carries that digest. Each other case asserts the exact problems reported."""
from __future__ import annotations

import hashlib
import json
import os
import sys
import threading
import time
import unicodedata
from collections.abc import Iterator
from pathlib import Path

import pytest

from cinev4.errors import ContractError, UnsafePathError, VerificationFailed
from cinev4.pipeline import build_manifest, create_shot, init_project, load_project, verify_shots
from cinev4.pipeline.hashing import hash_beneath
from cinev4.pipeline.project import Project
from cinev4.pipeline.scan import scan_folder

from helpers import render

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX symlinks and byte names")

OUT = "shots/SH010/outputs/v0001"
OUT2 = "shots/SH020/outputs/v0001"
INSIDE = b"inside!" * 1000
CANARY = b"canary!" * 1000  # the same size: only the digest could tell them apart
CANARY_SHA = hashlib.sha256(CANARY).hexdigest()


@pytest.fixture(params=["auto", "openat-walk"])
def anchor(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("CINEV4_ANCHOR", request.param)
    return str(request.param)


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Project]:
    project = init_project(tmp_path / "proj", "FILM01")
    yield project
    for dirpath, _, filenames in os.walk(tmp_path):
        for name in filenames:
            if not os.path.islink(os.path.join(dirpath, name)):
                os.chmod(os.path.join(dirpath, name), 0o644)


def _shot(project: Project, shot_id: str = "SH010") -> Path:
    create_shot(project, shot_id)
    out = render(project.root, shot_id)
    (out / "sub").mkdir()
    (out / "sub" / "f.exr").write_bytes(INSIDE)
    return out


def _problems(report) -> list[tuple[str, str, str]]:  # type: ignore[no-untyped-def]
    return [(p.kind, p.path, p.detail) for m in report.checks for p in m.problems]


class _Swapper(threading.Thread):
    """Swaps ``folder`` for a symlink to ``outside`` and back, until stopped."""

    def __init__(self, folder: Path, outside: Path) -> None:
        super().__init__(daemon=True)
        self.folder, self.outside, self.swaps = folder, outside, 0
        self.stop = threading.Event()

    def run(self) -> None:
        aside = self.folder.with_name(self.folder.name + ".aside")
        while not self.stop.is_set():
            os.rename(self.folder, aside)
            os.symlink(self.outside, self.folder)
            time.sleep(0.0005)
            os.unlink(self.folder)
            os.rename(aside, self.folder)
            self.swaps += 1
            time.sleep(0.0005)


def test_a_folder_swapped_for_a_symlink_outside_is_never_read_through(project: Project, tmp_path: Path,
                                                                      anchor: str) -> None:
    out = _shot(project)
    build_manifest(project, "SH010", threads=1)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "f.exr").write_bytes(CANARY)
    create_shot(project, "SH020")  # sealed while its folder is being swapped
    out2 = render(project.root, "SH020")
    (out2 / "sub").mkdir()
    (out2 / "sub" / "f.exr").write_bytes(INSIDE)
    swappers = [_Swapper(out / "sub", outside), _Swapper(out2 / "sub", outside)]
    allowed = {"missing", "moved", "extra", "unsafe_path", "unreadable"}
    outcomes: set[str] = set()
    sealed = None
    for swapper in swappers:
        swapper.start()
    try:
        deadline = time.monotonic() + 2.0
        while time.monotonic() < deadline:
            report = verify_shots(project, ["SH010"], threads=2)
            kinds = {p.kind for m in report.checks for p in m.problems}
            assert kinds <= allowed, _problems(report)
            assert all(p.actual != CANARY_SHA for m in report.checks for p in m.problems)
            outcomes.add("ok" if report.ok else "problems")
            scan = scan_folder(project.root, "shots/SH020/outputs/v0001")  # what the manifest hashes
            digests = hash_beneath(project.root, [f.path for f in scan.files], total_bytes=0, threads=2)
            assert CANARY_SHA not in {d.sha256 for d in digests}
            if sealed is None:
                try:
                    sealed = build_manifest(project, "SH020", threads=2)
                except (UnsafePathError, VerificationFailed):
                    outcomes.add("manifest refused")
    finally:
        for swapper in swappers:
            swapper.stop.set()
        for swapper in swappers:
            swapper.join()
    assert all(s.swaps > 10 for s in swappers)
    assert "problems" in outcomes  # the race was seen
    if sealed is not None:
        manifest = (project.root / sealed.manifest_path).read_text()
        assert CANARY_SHA not in manifest
        # readdir may miss an entry renamed while it lists the folder (POSIX leaves it
        # unspecified), so "sub" or "sub.aside" can be absent from the seal; whatever
        # of them was sealed holds the inside file's digest.
        swapped = [a for a in json.loads(manifest)["artifacts"] if a["path"].startswith(f"{OUT2}/sub")]
        assert all(a["sha256"] == hashlib.sha256(INSIDE).hexdigest() for a in swapped), swapped
    assert verify_shots(project, ["SH010"]).ok  # the folder is back: clean again


def test_a_symlinked_file_is_refused_by_manifest_and_reported_by_verify(project: Project, anchor: str) -> None:
    out = _shot(project)
    os.symlink("sub/f.exr", out / "link.exr")  # inside the root, and still not followed
    with pytest.raises(UnsafePathError) as refused:
        build_manifest(project, "SH010", threads=1)
    assert refused.value.problems == [f"{OUT}/link.exr is a symlink (not followed: no symlink is followed below "
                                      "the project root; copy the file instead)"]
    os.unlink(out / "link.exr")
    build_manifest(project, "SH010", threads=1)
    (out / "sub" / "g.exr").write_bytes(INSIDE)
    os.unlink(out / "sub" / "f.exr")
    os.symlink("g.exr", out / "sub" / "f.exr")
    assert _problems(verify_shots(project, ["SH010"], threads=1)) == [
        ("unsafe_path", f"{OUT}/sub/f.exr", f"artifact: '{OUT}/sub/f.exr' is a symlink (not followed: no symlink "
                                            "is followed below the project root)"),
        ("unsafe_path", f"{OUT}/sub/f.exr", "in the version folder: is a symlink (not followed: no symlink is "
                                            "followed below the project root; copy the file instead)"),
        ("extra", f"{OUT}/sub/g.exr", "on disk in the version folder but not in the manifest"),
    ]


def test_a_symlinked_version_folder_is_refused_by_manifest_and_reported_by_verify(project: Project,
                                                                                   anchor: str) -> None:
    out = _shot(project)
    build_manifest(project, "SH010", threads=1)
    os.rename(out, out.with_name("v0001.real"))  # inside the project: two shots could seal the same files
    os.symlink("v0001.real", out)
    report = verify_shots(project, ["SH010"], threads=1)
    artifacts = sorted(p for p in project.root.joinpath(OUT).rglob("*") if p.is_file())
    assert len(artifacts) == 6
    assert _problems(report) == [
        ("unsafe_path", f"{OUT}/{p.relative_to(project.root / OUT).as_posix()}",
         f"artifact: '{OUT}/{p.relative_to(project.root / OUT).as_posix()}' is a symlink (not followed: no symlink "
         "is followed below the project root)")
        for p in artifacts
    ] + [("unsafe_path", OUT, "in the version folder: is a symlinked folder (not followed: copy the files instead)")]
    assert report.exit_code == 2


def test_a_symlinked_shot_folder_is_reported_by_verify(project: Project, anchor: str, tmp_path: Path) -> None:
    out = _shot(project)
    build_manifest(project, "SH010", threads=1)
    shot = out.parents[1]
    os.rename(shot, tmp_path / "elsewhere")
    os.symlink(tmp_path / "elsewhere", shot)
    with pytest.raises(UnsafePathError) as refused:
        verify_shots(load_project(project.root, search=False), ["SH010"], threads=1)
    assert refused.value.problems == ["path: 'shots/SH010' resolves outside the project root (through a symlink)"]
    os.unlink(shot)  # a shot folder symlinked inside the project: not even its manifest is read through it
    os.rename(tmp_path / "elsewhere", project.root / "SH010.real")
    os.symlink("../SH010.real", shot)
    report = verify_shots(load_project(project.root, search=False), ["SH010"], threads=1)
    manifest = "shots/SH010/manifests/v0001/manifest.json"
    assert _problems(report) == [
        ("unsafe_path", manifest, f"{manifest}: shots/SH010 is a symbolic link (no symlink is followed below the "
                                  "project root)")]
    assert report.exit_code == 2


def test_a_symlinked_shot_folder_is_no_shot_for_the_whole_project(project: Project, tmp_path: Path) -> None:
    # It made status and shot list fail for every shot (its record was read through the link).
    _shot(project)
    os.symlink("SH010", project.root / "shots" / "linkA")
    from cinev4.pipeline.shots import list_shots, unrecorded_shot_problems

    assert [shot.id for shot in list_shots(project)] == ["SH010"]
    assert [(name, p.kind, p.path) for name, p in unrecorded_shot_problems(project)] == [
        ("linkA", "unsafe_path", "shots/linkA")]
    report = verify_shots(load_project(project.root, search=False), None, threads=1, sizes_only=True)
    assert ("unsafe_path", "shots/linkA", "shots/linkA is a symlink (not followed: no symlink is followed below "
            "the project root; a shot is a real folder under shots/)") in _problems(report)
    assert report.exit_code == 2


def test_a_manifest_path_through_link_dotdot_is_the_tree_the_kernel_opens(project: Project, tmp_path: Path) -> None:
    # os.path.abspath dropped "zz/.." as text and verified the project beside the link, not the
    # changed copy that opening the path reaches: OK for bytes that differ.
    import shutil

    from cinev4.contracts.rules import as_the_kernel_reads
    from cinev4.pipeline.verify import verify_manifest_file

    _shot(project)
    build_manifest(project, "SH010", threads=1)
    other = tmp_path / "other"
    (other / "sub").mkdir(parents=True)
    shutil.copytree(project.root, other / project.root.name, symlinks=True)
    changed = other / project.root.name / "shots/SH010/outputs/v0001/sub/f.exr"
    changed.chmod(0o644)
    changed.write_bytes(INSIDE + b"!")
    (project.root.parent / "zz").symlink_to(other / "sub")
    given = project.root.parent / "zz" / ".." / project.root.name / "shots/SH010/manifests/v0001/manifest.json"
    assert as_the_kernel_reads(given, 5) == (other / project.root.name / "shots/SH010/manifests/v0001/manifest.json")
    report = verify_manifest_file(given, threads=1)
    assert [(p.kind, p.path) for p in report.checks[0].problems] == [
        ("size_differs", "shots/SH010/outputs/v0001/sub/f.exr")]
    with pytest.raises(ContractError, match=r"the layout's last 5 names must be given plainly \(no '\.\.' among them\)"):
        verify_manifest_file(project.root / "shots/SH010/manifests/v0001/../v0001/manifest.json", threads=1)


def test_a_symlinked_manifest_or_manifest_folder_is_never_read(project: Project, tmp_path: Path) -> None:
    """Even a symlink to a byte-identical copy inside the root: the manifest read is anchored too."""
    _shot(project)
    build_manifest(project, "SH010", threads=1)
    manifest = "shots/SH010/manifests/v0001/manifest.json"
    real = project.root / manifest
    os.rename(real, project.root / "copy.json")
    os.symlink("../../../../copy.json", real)
    report = verify_shots(project, ["SH010"], threads=1)
    assert _problems(report) == [
        ("unsafe_path", manifest, f"{manifest}: $: is a symbolic link (expected a regular file; documents are "
                                       "read without following symlinks)")]
    os.unlink(real)
    os.rename(project.root / "copy.json", real)  # the real manifest back, then its folder moved behind a symlink
    assert _problems(verify_shots(project, ["SH010"], threads=1)) == []
    folder = real.parent
    os.rename(folder, project.root / "manifests-v0001")
    os.symlink("../../../manifests-v0001", folder)
    report = verify_shots(project, ["SH010"], threads=1)
    assert _problems(report) == [
        ("unsafe_path", manifest, f"{manifest}: shots/SH010/manifests/v0001 is a symbolic link (no symlink is "
                                  "followed below the project root)")]


def test_every_printable_byte_in_names_seals_and_verifies(project: Project, anchor: str) -> None:
    create_shot(project, "SH010")
    out = render(project.root)
    names = [bytes([b]) for b in range(0x20, 0x7F) if chr(b) not in "/\\."] + [b"...", b".hidden", b"a b"]
    for name in names:
        with open(os.path.join(os.fsencode(out), b"n" + name), "wb") as handle:
            handle.write(name)
    result = build_manifest(project, "SH010", threads=2)
    assert result.artifact_count == 5 + len(names)
    assert verify_shots(project, ["SH010"], threads=2).ok


def test_names_with_control_or_undecodable_bytes_are_refused_by_manifest(project: Project, anchor: str) -> None:
    create_shot(project, "SH010")
    out = render(project.root)
    bad = [bytes([b]) for b in list(range(1, 0x20)) + [0x7F] + list(range(0x80, 0x100))] + [b"back\\slash"]
    for name in bad:
        with open(os.path.join(os.fsencode(out), b"n" + name), "wb") as handle:
            handle.write(b"x")
    with pytest.raises(UnsafePathError) as refused:
        build_manifest(project, "SH010", threads=1)
    why = {0x5C: "contains a backslash (expected '/' separators)"}
    expected = []
    for name in bad:
        path = f"{OUT}/" + os.fsdecode(b"n" + name)
        if b"\\" in name:
            reason = why[0x5C]
        elif name[0] >= 0x80:
            reason = "is not valid UTF-8 (expected a UTF-8 file name)"
        else:
            reason = "contains a control character (expected printable characters)"
        expected.append(f"{path} {reason}")
    assert refused.value.problems == sorted(expected)


def test_nfd_names_seal_as_nfc_and_verify(project: Project, anchor: str) -> None:
    create_shot(project, "SH010")
    out = render(project.root)
    nfd = unicodedata.normalize("NFD", "plan\u00e9te.exr")
    (out / nfd).write_bytes(b"planet")
    result = build_manifest(project, "SH010", threads=1)
    assert f"{OUT}/plan\u00e9te.exr" in result.artifact_paths
    assert verify_shots(project, ["SH010"], threads=1).ok


def test_zero_byte_files_seal_and_a_grown_one_differs_in_size(project: Project, anchor: str) -> None:
    create_shot(project, "SH010")
    out = render(project.root)
    (out / "empty.txt").write_bytes(b"")
    result = build_manifest(project, "SH010", threads=1)
    assert result.artifact_count == 6
    assert verify_shots(project, ["SH010"], threads=1).ok
    assert verify_shots(project, ["SH010"], sizes_only=True).ok
    (out / "empty.txt").write_bytes(b"x")
    for sizes_only in (False, True):
        report = verify_shots(project, ["SH010"], threads=1, sizes_only=sizes_only)
        assert _problems(report) == [("size_differs", f"{OUT}/empty.txt", "size is 1 bytes (expected 0)")]
