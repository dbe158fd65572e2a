"""Fast in-process tests of verification, manifests and the contract helpers.

The end-to-end tests run the installed ``cinev4`` in a subprocess; these call
the pipeline API in this process, so that ``make mutation`` (which swaps in
mutated modules here, never in a subprocess) sees every check they make.
Each assert is exact: kinds, paths, details, expected and actual values.
"""
from __future__ import annotations

import hashlib
import json
import os
import stat
import unicodedata
from pathlib import Path

import pytest

from cinev4.contracts import atomic
from cinev4.contracts.rules import (
    check_id,
    check_path,
    duplicate_problems,
    manifest_problems,
    nfc,
    path_problems,
    portability_warnings,
    resolve_inside,
    version_outputs_prefix,
)
from cinev4.errors import AlreadyExistsError, ContractError, TransitionRefused, UnsafePathError
from cinev4.pipeline import build_manifest, create_shot, init_project, load_project, verify_shots
from cinev4.pipeline.states import Action, Policy, Status, can_manifest, target_status
from cinev4.pipeline.verify import ManifestTarget, unique_ids, verify_manifest_file, verify_targets

from .conftest import render

OUT = "shots/SH010/outputs/v0001"
MANIFEST = "shots/SH010/manifests/v0001/manifest.json"
FRAMES = [f"{OUT}/sh010.{1001 + i}.exr" for i in range(3)]


def _problems(report) -> list[tuple]:  # type: ignore[no-untyped-def]
    return [(p.kind, p.path, p.detail, p.expected, p.actual) for c in report.checks for p in c.problems]


@pytest.fixture
def shot(tmp_path: Path):  # type: ignore[no-untyped-def]
    """A strict project whose shot SH010 has its manifest (built in this process)."""
    project = init_project(tmp_path / "proj", "FILM01")
    create_shot(project, "SH010")
    render(project.root)
    result = build_manifest(project, "SH010", threads=1)
    assert (result.shot_id, result.version, result.manifest_path, result.artifact_count, result.adopted) == (
        "SH010", "v0001", MANIFEST, 5, False)
    yield load_project(project.root, search=False)
    for dirpath, dirnames, filenames in os.walk(tmp_path):
        for name in filenames:
            os.chmod(os.path.join(dirpath, name), 0o644)


def _size(project, path: str) -> int:  # type: ignore[no-untyped-def]
    return os.stat(project.root / path).st_size


# --- verify: clean, and every kind of problem -------------------------------------------------

def test_a_clean_shot_verifies_with_counts(shot) -> None:  # type: ignore[no-untyped-def]
    report = verify_shots(shot, ["SH010"], threads=1)
    assert report.ok and report.exit_code == 0 and _problems(report) == []
    files = [*FRAMES, f"{OUT}/preview.mp4", f"{OUT}/qc.json"]
    assert report.files_hashed == 5
    assert report.bytes_hashed == sum(_size(shot, p) for p in files)
    check = report.checks[0]
    assert (check.shot_id, check.version, check.manifest_path, check.artifact_count) == ("SH010", "v0001", MANIFEST, 5)
    assert check.total_bytes == report.bytes_hashed
    assert sorted(check.artifact_paths) == sorted(files)
    assert check.manifest_sha256 == hashlib.sha256((shot.root / MANIFEST).read_bytes()).hexdigest()
    assert report.hashes_checked is True


def test_sizes_only_hashes_nothing(shot) -> None:  # type: ignore[no-untyped-def]
    report = verify_shots(shot, ["SH010"], sizes_only=True)
    assert report.ok and report.files_hashed == 0 and report.bytes_hashed == 0 and report.hashes_checked is False


def test_every_artifact_problem_with_expected_and_actual(shot) -> None:  # type: ignore[no-untyped-def]
    frame0, frame1, frame2 = (shot.root / p for p in FRAMES)
    data = bytearray(frame0.read_bytes())
    data[10] ^= 1
    frame0.write_bytes(bytes(data))  # same size, other bytes
    size1 = frame1.stat().st_size
    frame1.write_bytes(frame1.read_bytes()[:-3])  # shrunk
    size2 = frame2.stat().st_size
    frame2.unlink()
    (shot.root / OUT / "stray.tmp").write_bytes(b"12345")
    report = verify_shots(shot, ["SH010"], threads=1)
    assert report.exit_code == 1
    got = _problems(report)
    old = hashlib.sha256(bytes(data[:10]) + bytes([data[10] ^ 1]) + bytes(data[11:])).hexdigest()
    assert sorted(got, key=str) == sorted([
        ("size_differs", FRAMES[1], f"size is {size1 - 3} bytes (expected {size1})", size1, size1 - 3),
        ("missing", FRAMES[2], "listed in the manifest but not on disk", size2, None),
        ("extra", f"{OUT}/stray.tmp", "on disk in the version folder but not in the manifest", None, 5),
        ("hash_differs", FRAMES[0], "content differs from the manifest (sha256)", old,
         hashlib.sha256(bytes(data)).hexdigest()),
    ], key=str)
    assert report.files_hashed == 3  # frame 1001, preview, qc.json (stray.tmp is probed for a move, not counted)
    sizes = verify_shots(shot, ["SH010"], sizes_only=True)
    assert sorted(k for k, *_ in _problems(sizes)) == ["extra", "missing", "size_differs"]


def test_a_moved_artifact_is_reported_once_as_moved(shot) -> None:  # type: ignore[no-untyped-def]
    src = shot.root / FRAMES[1]
    dst = shot.root / OUT / "renamed.exr"
    os.rename(src, dst)
    (shot.root / OUT / "decoy.exr").write_bytes(b"\x00" * dst.stat().st_size)  # same size, other bytes
    report = verify_shots(shot, ["SH010"], threads=1)
    assert _problems(report) == [
        ("moved", FRAMES[1], f"not at its manifest path: the same bytes (size and sha256) are at {OUT}/renamed.exr",
         FRAMES[1], f"{OUT}/renamed.exr"),
        ("extra", f"{OUT}/decoy.exr", "on disk in the version folder but not in the manifest", None,
         dst.stat().st_size),
    ]
    assert report.exit_code == 1
    sizes = verify_shots(shot, ["SH010"], sizes_only=True)  # no hashing: no moved, the plain facts
    assert sorted((k, p) for k, p, *_ in _problems(sizes)) == [
        ("extra", f"{OUT}/decoy.exr"), ("extra", f"{OUT}/renamed.exr"), ("missing", FRAMES[1])]


def test_an_nfd_name_on_disk_is_the_nfc_artifact(tmp_path: Path) -> None:
    project = init_project(tmp_path / "proj", "FILM01")
    create_shot(project, "SH010")
    out = render(project.root)
    name = unicodedata.normalize("NFC", "café.exr")
    (out / name).write_bytes(b"coffee")
    build_manifest(project, "SH010", threads=1)
    os.rename(out / name, out / unicodedata.normalize("NFD", name))
    report = verify_shots(project, ["SH010"], threads=1)
    assert _problems(report) == [] and report.files_hashed == 6


def test_manifest_edited_and_mismatched(shot) -> None:  # type: ignore[no-untyped-def]
    manifest = shot.root / MANIFEST
    os.chmod(manifest, 0o644)
    doc = json.loads(manifest.read_bytes())
    pinned = hashlib.sha256(manifest.read_bytes()).hexdigest()
    doc["project_id"] = "OTHER"
    raw = json.dumps(doc).encode()
    manifest.write_bytes(raw)
    report = verify_shots(shot, ["SH010"], threads=1)
    assert _problems(report) == [
        ("manifest_edited", MANIFEST,
         "the manifest was modified after it was written (its sha256 differs from the pinned one)",
         pinned, hashlib.sha256(raw).hexdigest()),
        ("manifest_mismatch", MANIFEST, "$.project_id is 'OTHER' (expected 'FILM01')", "FILM01", "OTHER"),
    ]
    assert report.exit_code == 2


def test_a_manifest_outside_its_layout_place_is_a_mismatch(shot) -> None:  # type: ignore[no-untyped-def]
    target = ManifestTarget(shot.root, "shots/SH010/manifests/v0002/manifest.json", None, "SH010", "v0001")
    report = verify_targets([target])
    assert _problems(report) == [("manifest_mismatch", "shots/SH010/manifests/v0002/manifest.json",
                                  f"the manifest is not at its layout place {MANIFEST}", None, None)]


def test_a_missing_manifest(shot) -> None:  # type: ignore[no-untyped-def]
    target = ManifestTarget(shot.root, "shots/SH020/manifests/v0001/manifest.json", None, "SH020", "v0001")
    report = verify_targets([target])
    assert _problems(report) == [("manifest_missing", "shots/SH020/manifests/v0001/manifest.json",
                                  "the manifest file does not exist", None, None)]
    assert report.exit_code == 1


def test_unsafe_paths_in_a_manifest_are_never_opened(shot) -> None:  # type: ignore[no-untyped-def]
    manifest = shot.root / MANIFEST
    os.chmod(manifest, 0o644)
    doc = json.loads(manifest.read_bytes())
    doc["artifacts"][0]["path"] = "shots/SH010/outputs/v0001/../../../../etc/passwd"
    doc["artifacts"][1]["path"] = "shots/SH020/outputs/v0001/x.exr"
    manifest.write_bytes(json.dumps(doc).encode())
    report = verify_targets([ManifestTarget(shot.root, MANIFEST, None, "SH010", "v0001")])
    kinds = [(k, p) for k, p, *_ in _problems(report)]
    assert kinds[:2] == [("unsafe_path", MANIFEST), ("unsafe_path", MANIFEST)]
    details = [d for _, _, d, *_ in _problems(report)][:2]
    assert details == [
        f"{MANIFEST}: $.artifacts[0].path: 'shots/SH010/outputs/v0001/../../../../etc/passwd' contains '..' "
        "(expected a path that stays inside the project root)",
        f"{MANIFEST}: $.artifacts[1].path: 'shots/SH020/outputs/v0001/x.exr' is outside the version folder "
        "(expected under shots/SH010/outputs/v0001/)",
    ]
    assert report.exit_code == 2


def test_no_manifest_and_unique_ids(tmp_path: Path) -> None:
    project = init_project(tmp_path / "proj", "FILM01")
    create_shot(project, "SH010")
    report = verify_shots(project, ["SH010"])
    assert _problems(report) == [("no_manifest", OUT, "shot SH010 has no manifest for v0001 (run: cinev4 manifest SH010)",
                                  None, None)]
    everything = verify_shots(project)
    assert everything.checks == [] and everything.notes == ["SH010 v0001: no manifest yet, skipped"]
    assert unique_ids(["A", "B"]) == ["A", "B"]
    with pytest.raises(ContractError, match="^shot A is named twice$"):
        unique_ids(["A", "B", "A"])


def test_verify_manifest_file_reads_the_pin_from_the_shot(shot) -> None:  # type: ignore[no-untyped-def]
    report = verify_manifest_file(shot.root / MANIFEST, threads=1)
    assert report.ok and report.files_hashed == 5 and report.notes == []
    os.chmod(shot.root / "project.json", 0o644)
    os.rename(shot.root / "project.json", shot.root / "project.json.away")
    loose = verify_manifest_file(shot.root / MANIFEST, threads=1)
    assert loose.ok and loose.notes == [
        f"{MANIFEST}: no shot record pins this manifest, so its own bytes were only checked for validity"]
    with pytest.raises(ContractError, match="not at a manifest's layout place"):
        verify_manifest_file(shot.root / "shots" / "SH010" / "shot.json")


# --- the state machine -------------------------------------------------------------------------

STRICT, LOOSE = Policy(), Policy(immutable_outputs=False)
S = Status


@pytest.mark.parametrize("action, status, policy, result", [
    (Action.QC, S.IN_PROGRESS, STRICT, S.QC),
    (Action.QC, S.QC, STRICT, "qc needs IN_PROGRESS, the shot is QC"),
    (Action.DONE, S.QC, STRICT, S.DONE),
    (Action.DONE, S.IN_PROGRESS, STRICT, "done needs QC, the shot is IN_PROGRESS"),
    (Action.FAIL, S.IN_PROGRESS, STRICT, S.FAIL),
    (Action.FAIL, S.QC, STRICT, S.FAIL),
    (Action.FAIL, S.DONE, LOOSE, S.FAIL),
    (Action.FAIL, S.DONE, STRICT, "DONE is terminal: the project is strict (immutable_outputs: true, see ADR-0004)"),
    (Action.FAIL, S.FAIL, LOOSE, "the shot is already FAIL"),
    (Action.REOPEN, S.QC, STRICT, S.IN_PROGRESS),
    (Action.REOPEN, S.IN_PROGRESS, LOOSE, "the shot is already IN_PROGRESS"),
    (Action.REOPEN, S.DONE, STRICT, "DONE is terminal: the project is strict (immutable_outputs: true, see ADR-0004)"),
    (Action.REOPEN, S.FAIL, STRICT, "FAIL is terminal: the project is strict (immutable_outputs: true, see ADR-0004)"),
    (Action.REOPEN, S.DONE, LOOSE, S.IN_PROGRESS),
    (Action.REOPEN, S.FAIL, LOOSE, S.IN_PROGRESS),
    (Action.NEW_VERSION, S.IN_PROGRESS, LOOSE, S.IN_PROGRESS),
    (Action.NEW_VERSION, S.IN_PROGRESS, STRICT,
     "new-version needs immutable_outputs: false; the project is strict (immutable_outputs: true, see ADR-0004)"),
    (Action.NEW_VERSION, S.QC, LOOSE, "new-version needs IN_PROGRESS, the shot is QC (reopen it first)"),
])
def test_target_status(action: Action, status: Status, policy: Policy, result: object) -> None:
    if isinstance(result, Status):
        assert target_status(action, status, policy) is result
    else:
        with pytest.raises(TransitionRefused) as caught:
            target_status(action, status, policy)
        assert str(caught.value) == result


def test_policy_and_can_manifest() -> None:
    assert Policy.from_document({"immutable_outputs": False, "done_requires_manifest": False}) == Policy(False, False)
    assert Policy().strict is True and LOOSE.strict is False
    assert str(S.QC) == "QC" and str(Action.NEW_VERSION) == "new-version"
    can_manifest(S.IN_PROGRESS, STRICT)
    can_manifest(S.QC, STRICT)
    with pytest.raises(TransitionRefused) as strict:
        can_manifest(S.DONE, STRICT)
    assert str(strict.value) == ("the shot is DONE; re-manifesting is refused: the project is strict "
                                 "(immutable_outputs: true, see ADR-0004)")
    with pytest.raises(TransitionRefused) as loose:
        can_manifest(S.DONE, LOOSE)
    assert str(loose.value) == "the shot is DONE; reopen it and start a new version to manifest new outputs"


# --- contract rules ----------------------------------------------------------------------------

@pytest.mark.parametrize("path, problems", [
    ("a/b.exr", []),
    ("/abs/x", ["is absolute (expected a path relative to the project root)"]),
    ("C:x", ["is absolute (expected a path relative to the project root)"]),
    ("a\\b", ["contains a backslash (expected '/' separators)"]),
    ("a/../b", ["contains '..' (expected a path that stays inside the project root)"]),
    ("a//b", ["has an empty or '.' segment (expected a normalised path like a/b/c)"]),
    ("a/./b", ["has an empty or '.' segment (expected a normalised path like a/b/c)"]),
    ("a/", ["has an empty or '.' segment (expected a normalised path like a/b/c)"]),
    ("/a/../b", ["is absolute (expected a path relative to the project root)",
                 "contains '..' (expected a path that stays inside the project root)"]),
    ("a/\udcff", ["is not valid UTF-8 (expected a UTF-8 file name)"]),
    ("a/b\x1f", ["contains a control character (expected printable characters)"]),
    ("a/b\x7f", ["contains a control character (expected printable characters)"]),
])
def test_path_problems(path: str, problems: list[str]) -> None:
    assert path_problems(path) == problems
    if problems:
        with pytest.raises(UnsafePathError) as caught:
            check_path(path, "where")
        assert caught.value.problems == [f"where: {path!r} {p}" for p in problems]
    else:
        check_path(path)


def test_resolve_inside(tmp_path: Path) -> None:
    root = tmp_path / "proj"
    (root / "a").mkdir(parents=True)
    (tmp_path / "proj-evil").mkdir()
    os.symlink(tmp_path / "proj-evil", root / "a" / "sib")
    assert resolve_inside(root, "a/x.bin") == Path(os.path.realpath(root)) / "a" / "x.bin"
    assert resolve_inside(root, "a") == Path(os.path.realpath(root)) / "a"
    with pytest.raises(UnsafePathError) as caught:
        resolve_inside(root, "a/sib/x", "artifact")
    assert caught.value.problems == ["artifact: 'a/sib/x' resolves outside the project root (through a symlink)"]


def test_manifest_and_duplicate_problems() -> None:
    doc = {"shot_id": "SH010", "version": "v0001", "artifacts": [
        {"path": f"{OUT}/a.exr"}, {"path": f"{OUT}/a.exr"}, {"path": "shots/SH010/outputs/v0002/b.exr"},
        {"path": unicodedata.normalize("NFD", f"{OUT}/é.exr")}, {"path": f"{OUT}/../x"}]}
    assert manifest_problems(doc, "m.json") == [
        "m.json: $.artifacts[2].path: 'shots/SH010/outputs/v0002/b.exr' is outside the version folder "
        "(expected under shots/SH010/outputs/v0001/)",
        f"m.json: $.artifacts[3].path: {doc['artifacts'][3]['path']!r} is not NFC-normalised Unicode "
        f"(expected {nfc(doc['artifacts'][3]['path'])!r})",
        f"m.json: $.artifacts[4].path: '{OUT}/../x' contains '..' (expected a path that stays inside the project root)",
        f"m.json: path '{OUT}/a.exr' is listed 2 times (expected once)",
    ]
    assert duplicate_problems(["b", "a", "b", "a", "a"]) == [
        "artifacts: path 'a' is listed 3 times (expected once)", "artifacts: path 'b' is listed 2 times (expected once)"]
    assert version_outputs_prefix("SH010", "v0002") == "shots/SH010/outputs/v0002/"


def test_portability_warnings() -> None:
    assert portability_warnings(["a/B.exr", "a/b.exr", "a/c.exr"]) == [
        "'a/B.exr', 'a/b.exr' differ only by case: they clash on case-insensitive file systems (macOS, Windows)"]
    assert portability_warnings(["x/a:b", "x/a:b", "x/CON.txt", "x/end.", "x/end ", "x/ok"]) == [
        "'x/a:b' contains ':': it cannot be created on Windows",
        "'x/CON.txt' is a reserved device name: it cannot be created on Windows",
        "'x/end.' ends with a space or a dot: it cannot be created on Windows",
        "'x/end ' ends with a space or a dot: it cannot be created on Windows",
    ]
    assert portability_warnings(["Dir/a", "dir/b"]) == [
        "'Dir', 'dir' differ only by case: they clash on case-insensitive file systems (macOS, Windows)"]
    assert portability_warnings(["com1x/a", "lpt9 .txt"]) == [
        "'lpt9 .txt' is a reserved device name: it cannot be created on Windows"]


def test_check_id() -> None:
    assert check_id("SH010") == "SH010"
    with pytest.raises(ContractError, match=r"^shot id '\.\./x' is not a safe name \(expected "):
        check_id("../x", "shot id")


# --- atomic writes -----------------------------------------------------------------------------

def test_write_once_and_replace_atomic(tmp_path: Path) -> None:
    target = tmp_path / "doc.json"
    atomic.write_once(target, b"one")
    assert target.read_bytes() == b"one" and stat.S_IMODE(target.stat().st_mode) == atomic.READ_ONLY
    with pytest.raises(AlreadyExistsError) as caught:
        atomic.write_once(target, b"two")
    assert str(caught.value) == f"{target} already exists (written once, never overwritten)"
    atomic.write_once(tmp_path / "rw.json", b"x", mode=0o640)
    assert stat.S_IMODE((tmp_path / "rw.json").stat().st_mode) == 0o640
    record = tmp_path / "shot.json"
    atomic.replace_atomic(record, b"v1")
    atomic.replace_atomic(record, b"v2")
    assert record.read_bytes() == b"v2" and stat.S_IMODE(record.stat().st_mode) == 0o644
    assert sorted(p.name for p in tmp_path.iterdir()) == ["doc.json", "rw.json", "shot.json"]
    (tmp_path / ".doc.json.abc.tmp").write_bytes(b"")
    (tmp_path / ".doc.json.def.tmp").write_bytes(b"")
    assert atomic.stale_temp_files(target) == [tmp_path / ".doc.json.abc.tmp", tmp_path / ".doc.json.def.tmp"]
    assert atomic.stale_temp_files(tmp_path / "nowhere" / "x") == []
