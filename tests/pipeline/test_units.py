"""Fast in-process tests of verification, manifests and the contract helpers.

The end-to-end tests run the installed ``cinev4`` in a subprocess; these call
the pipeline API in this process, so that ``make mutation`` (which swaps in
mutated modules here, never in a subprocess) sees every check they make.
Each assert is exact: kinds, paths, details, expected and actual values.
"""
from __future__ import annotations

import errno
import hashlib
import json
import os
import stat
import unicodedata
from pathlib import Path

import pytest

from cinev4.contracts import atomic
from cinev4.contracts.layout import version_outputs_prefix
from cinev4.contracts.rules import (
    check_id,
    check_path,
    duplicate_problems,
    manifest_problems,
    nfc,
    path_problems,
    portability_warnings,
    resolve_inside,
)
from cinev4.errors import AlreadyExistsError, ContractError, TransitionRefused, UnsafePathError
from cinev4.pipeline import build_manifest, create_shot, init_project, load_project, verify_shots
from cinev4.pipeline.states import Action, Policy, Status, can_manifest, target_status
from cinev4.pipeline.verify import ManifestTarget, unique_ids, verify_manifest_file, verify_targets

from helpers import render

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
            if not os.path.islink(os.path.join(dirpath, name)):
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
    # One id where a list is expected: it named the shots S, H, 0, 1, 0 ("no shot S").
    with pytest.raises(TypeError, match=r"^shot ids must be a list of ids, not a single str \('SH010': write "):
        verify_shots(project, "SH010")  # type: ignore[arg-type]


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
    (Action.FAIL, S.DONE, STRICT, "DONE is terminal: the project is strict (immutable_outputs: true)"),
    (Action.FAIL, S.FAIL, LOOSE, "the shot is already FAIL"),
    (Action.REOPEN, S.QC, STRICT, S.IN_PROGRESS),
    (Action.REOPEN, S.IN_PROGRESS, LOOSE, "the shot is already IN_PROGRESS"),
    (Action.REOPEN, S.DONE, STRICT, "DONE is terminal: the project is strict (immutable_outputs: true)"),
    (Action.REOPEN, S.FAIL, STRICT, "FAIL is terminal: the project is strict (immutable_outputs: true)"),
    (Action.REOPEN, S.DONE, LOOSE, S.IN_PROGRESS),
    (Action.REOPEN, S.FAIL, LOOSE, S.IN_PROGRESS),
    (Action.NEW_VERSION, S.IN_PROGRESS, LOOSE, S.IN_PROGRESS),
    (Action.NEW_VERSION, S.IN_PROGRESS, STRICT,
     "new-version needs immutable_outputs: false; the project is strict (immutable_outputs: true)"),
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
                                 "(immutable_outputs: true)")
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


# --- where the bytes are hashed: threads, progress, sizes and backend reach it -------------------

class _Recorder:
    """A HashBackend over this machine's engine that records what it was asked, and can fake a result."""

    def __init__(self, fake: dict[str, object] | None = None) -> None:
        self.calls: list[tuple[list[str], list[int] | None, int | None, bool]] = []
        self.fake = fake or {}

    def hash_files(self, paths, sizes, *, threads, progress):  # type: ignore[no-untyped-def]
        from cinev4.pipeline.hashing import LocalBackend

        self.calls.append((list(paths), None if sizes is None else list(sizes), threads, progress is not None))
        results = list(LocalBackend().hash_files(paths, sizes, threads=threads, progress=progress))
        return [self.fake.get(os.path.basename(r.path), r) for r in results]


class _Progress:
    def __init__(self) -> None:
        self.events: list[tuple] = []

    def start(self, total_bytes: int, total_files: int) -> None:
        self.events.append(("start", total_bytes, total_files))

    def update(self, bytes_done: int, files_done: int) -> None:
        pass

    def finish(self) -> None:
        self.events.append(("finish",))


class _FakeDigest:
    def __init__(self, path: str, size: int, sha256: str | None, error: OSError | None) -> None:
        self.path, self.size, self.sha256, self.error = path, size, sha256, error


def test_verify_passes_threads_progress_sizes_and_backend_on(shot) -> None:  # type: ignore[no-untyped-def]
    backend, progress = _Recorder(), _Progress()
    files = sorted([*FRAMES, f"{OUT}/preview.mp4", f"{OUT}/qc.json"])
    total = sum(_size(shot, p) for p in files)
    for run in (lambda **kw: verify_shots(shot, ["SH010"], **kw),
                lambda **kw: verify_manifest_file(shot.root / MANIFEST, **kw),
                lambda **kw: verify_targets([ManifestTarget(shot.root, MANIFEST, None, "SH010", "v0001")], **kw)):
        backend.calls.clear()
        progress.events.clear()
        report = run(threads=3, progress=progress, backend=backend)
        assert report.ok and report.files_hashed == 5
        [(paths, sizes, threads, with_progress)] = backend.calls
        assert sorted(os.path.relpath(p, os.path.realpath(shot.root)) for p in paths) == files
        assert sizes == [os.stat(p).st_size for p in paths] and threads == 3 and with_progress
        assert progress.events == [("start", total, 5), ("finish",)]


def test_a_digest_error_or_size_change_after_the_stat_is_reported(shot) -> None:  # type: ignore[no-untyped-def]
    name0, name1, name2 = (os.path.basename(p) for p in FRAMES)
    real = os.path.realpath(shot.root / OUT)
    backend = _Recorder({
        name0: _FakeDigest(f"{real}/{name0}", 0, None, OSError(5, "Input/output error")),
        name1: _FakeDigest(f"{real}/{name1}", 7, "0" * 64, None),
        name2: _FakeDigest(f"{real}/{name2}", 0, None, OSError("lost the connection")),
    })
    report = verify_shots(shot, ["SH010"], backend=backend)
    size1 = _size(shot, FRAMES[1])
    assert _problems(report) == [
        ("unreadable", FRAMES[0], "cannot be read (Input/output error)", None, None),
        ("size_differs", FRAMES[1], f"size is 7 bytes (expected {size1})", size1, 7),
        ("unreadable", FRAMES[2], "cannot be read (lost the connection)", None, None),
    ]
    assert report.files_hashed == 3 and report.exit_code == 1
    assert report.bytes_hashed == 7 + _size(shot, f"{OUT}/preview.mp4") + _size(shot, f"{OUT}/qc.json")


def test_a_probe_that_cannot_be_read_is_no_move(shot) -> None:  # type: ignore[no-untyped-def]
    src = shot.root / FRAMES[1]
    os.rename(src, shot.root / OUT / "renamed.exr")
    real = os.path.realpath(shot.root / OUT)
    backend = _Recorder({"renamed.exr": _FakeDigest(f"{real}/renamed.exr", 0, None, OSError(5, "EIO"))})
    report = verify_shots(shot, ["SH010"], backend=backend)
    assert [(k, p) for k, p, *_ in _problems(report)] == [("missing", FRAMES[1]), ("extra", f"{OUT}/renamed.exr")]
    assert report.files_hashed == 4  # the probe is not an artifact hashed


def test_resume_keeps_a_journal_and_reports_it(shot) -> None:  # type: ignore[no-untyped-def]
    first = verify_shots(shot, ["SH010"], resume=True, threads=1)
    assert first.ok and first.resume is not None and first.files_hashed == 5
    plain = verify_shots(shot, ["SH010"], threads=1)
    assert plain.resume is None
    other = init_project(shot.root.parent / "other", "FILM02")
    targets = [ManifestTarget(shot.root, MANIFEST, None, "SH010", "v0001"),
               ManifestTarget(other.root, MANIFEST, None, "SH010", "v0001")]
    with pytest.raises(ContractError, match="^--resume verifies manifests of one root at a time$"):
        verify_targets(targets, resume=True)


def test_missing_frames_of_the_declared_range(tmp_path: Path) -> None:
    from cinev4.pipeline.frames import FrameRange
    from cinev4.pipeline.shots import set_frames

    project = init_project(tmp_path / "proj", "FILM01")
    create_shot(project, "SH010")
    render(project.root)
    build_manifest(project, "SH010", threads=1)  # a strict manifest is sealed only whole: the range comes after
    set_frames(project, "SH010", FrameRange(1001, 1006))
    report = verify_shots(project, ["SH010"], threads=1)
    [(kind, path, detail, expected, actual)] = _problems(report)
    assert (kind, path, expected, actual) == ("missing_frames", f"{OUT}/sh010.####.exr", "1001-1006", [[1004, 1006]])
    assert detail == "frames 1004-1006 missing: 3 of 6 (expected 1001-1006)"
    assert report.exit_code == 1


def test_a_version_folder_problem_is_unsafe(shot) -> None:  # type: ignore[no-untyped-def]
    os.symlink(shot.root / OUT / "qc.json", shot.root / OUT / "sub")  # inside, but no symlink is followed
    os.mkdir(shot.root.parent / "away")
    os.symlink(shot.root.parent / "away", shot.root / OUT / "away")
    report = verify_shots(shot, ["SH010"], threads=1)
    assert _problems(report) == [
        ("unsafe_path", f"{OUT}/away", "in the version folder: is a symlink that resolves outside the project root",
         None, None),
        ("unsafe_path", f"{OUT}/sub", "in the version folder: is a symlink (not followed: no symlink is followed "
         "below the project root; copy the file instead)", None, None),
    ]


def test_an_artifact_symlinked_out_or_replaced_by_a_folder(shot) -> None:  # type: ignore[no-untyped-def]
    frame0, frame1 = shot.root / FRAMES[0], shot.root / FRAMES[1]
    outside = shot.root.parent / "outside.exr"
    outside.write_bytes(frame0.read_bytes())
    frame0.unlink()
    os.symlink(outside, frame0)
    frame1.unlink()
    frame1.mkdir()
    report = verify_targets([ManifestTarget(shot.root, MANIFEST, None, "SH010", "v0001")], sizes_only=True)
    assert _problems(report) == [
        ("unsafe_path", FRAMES[0], f"artifact: {FRAMES[0]!r} resolves outside the project root (through a symlink)",
         None, None),
        ("unreadable", FRAMES[1], "is not a regular file", None, None),
        ("unsafe_path", FRAMES[0], "in the version folder: is a symlink that resolves outside the project root",
         None, None),
    ]


def test_a_manifest_that_is_a_symlink_out_or_not_json(shot) -> None:  # type: ignore[no-untyped-def]
    manifest = shot.root / MANIFEST
    os.chmod(manifest, 0o644)
    raw = manifest.read_bytes()
    manifest.write_bytes(b"{not json")
    report = verify_targets([ManifestTarget(shot.root, MANIFEST, None, "SH010", "v0001")])
    [(kind, path, detail, *_)] = _problems(report)
    assert (kind, path) == ("manifest_invalid", MANIFEST) and detail.startswith(f"{MANIFEST}: ")
    outside = shot.root.parent / "manifest.json"
    outside.write_bytes(raw)
    manifest.unlink()
    os.symlink(outside, manifest)
    escaped = verify_targets([ManifestTarget(shot.root, MANIFEST, None, "SH010", "v0001")])
    assert _problems(escaped) == [("unsafe_path", MANIFEST,
                                   f"{MANIFEST}: $: is a symbolic link (expected a regular file; documents are read "
                                   "without following symlinks)", None, None)]
    assert escaped.checks[0].manifest_sha256 is None and escaped.checks[0].artifact_count == 0


# --- manifests ---------------------------------------------------------------------------------

def test_the_manifest_document_and_result(shot) -> None:  # type: ignore[no-untyped-def]
    doc = json.loads((shot.root / MANIFEST).read_bytes())
    assert sorted(doc) == ["artifacts", "created_utc", "hash_alg", "project_id", "schema", "shot_id", "version"]
    assert (doc["schema"], doc["project_id"], doc["shot_id"], doc["version"], doc["hash_alg"]) == (
        "cinev4/manifest@1", "FILM01", "SH010", "v0001", "sha256")
    files = sorted([*FRAMES, f"{OUT}/preview.mp4", f"{OUT}/qc.json"])
    assert [a["path"] for a in doc["artifacts"]] == files
    for artifact in doc["artifacts"]:
        data = (shot.root / artifact["path"]).read_bytes()
        assert (artifact["size"], artifact["sha256"]) == (len(data), hashlib.sha256(data).hexdigest())
    record = json.loads((shot.root / "shots/SH010/shot.json").read_bytes())
    assert record["manifest_ref"] == {"path": MANIFEST,
                                      "sha256": hashlib.sha256((shot.root / MANIFEST).read_bytes()).hexdigest()}
    assert record["artifacts"] == doc["artifacts"]
    assert sorted(p.name for p in (shot.root / MANIFEST).parent.iterdir()) == ["manifest.json"]


def test_manifest_result_to_dict(tmp_path: Path) -> None:
    project = init_project(tmp_path / "proj", "FILM01")
    create_shot(project, "SH010")
    out = render(project.root)
    (out / "A.txt").write_bytes(b"a")
    (out / "a.txt").write_bytes(b"b")
    backend, progress = _Recorder(), _Progress()
    result = build_manifest(project, "SH010", threads=2, progress=progress, backend=backend)
    [(paths, sizes, threads, with_progress)] = backend.calls
    assert len(paths) == 7 and sizes == [os.stat(p).st_size for p in paths] and threads == 2 and with_progress
    assert progress.events == [("start", sum(sizes), 7), ("finish",)]
    raw = (project.root / MANIFEST).read_bytes()
    assert result.to_dict() == {
        "warnings": [f"'{OUT}/A.txt', '{OUT}/a.txt' differ only by case: they clash on case-insensitive file "
                     "systems (macOS, Windows)"],
        "sequences": [{"pattern": f"{OUT}/sh010.####.exr", "display": f"{OUT}/sh010.[1001-1003].exr (3 files)",
                       "first": 1001, "last": 1003, "count": 3, "ranges": [[1001, 1003]]}],
        "shot_id": "SH010", "version": "v0001", "manifest_path": MANIFEST,
        "manifest_sha256": hashlib.sha256(raw).hexdigest(), "artifact_count": 7,
        "total_bytes": sum(sizes), "adopted": False, "staged_files": 0, "hashed_files": 7,
    }


def test_manifest_refusals(tmp_path: Path) -> None:
    from cinev4.errors import ShotNotFoundError, VerificationFailed

    project = init_project(tmp_path / "proj", "FILM01")
    with pytest.raises(ShotNotFoundError) as missing:
        build_manifest(project, "SH404")
    assert str(missing.value) == "no shot SH404 in project FILM01 (shots/SH404/shot.json does not exist)"
    create_shot(project, "SH010")
    with pytest.raises(ContractError) as empty:
        build_manifest(project, "SH010")
    assert str(empty.value) == (f"{OUT}/ is empty or missing: a manifest lists at least one artifact "
                                "(the render writes its outputs there)")
    out = render(project.root)
    real = os.path.realpath(out)
    backend = _Recorder({"sh010.1001.exr": _FakeDigest(f"{real}/sh010.1001.exr", 0, None, OSError(5, "EIO")),
                         "sh010.1002.exr": _FakeDigest(f"{real}/sh010.1002.exr", 9, "0" * 64, None),
                         "qc.json": _FakeDigest(f"{real}/qc.json", 0, None, OSError("gone"))})
    with pytest.raises(VerificationFailed) as failed:
        build_manifest(project, "SH010", backend=backend)
    size = (out / "sh010.1002.exr").stat().st_size
    assert str(failed.value) == (f"no manifest written for SH010 v0001: {OUT}/qc.json: cannot be read (gone); "
                                 f"{OUT}/sh010.1001.exr: cannot be read (EIO); "
                                 f"{OUT}/sh010.1002.exr: changed while the folder was scanned ({size} -> 9 bytes)")
    assert not (project.root / MANIFEST).exists()
    os.symlink(project.root / "shots", out / "up")
    with pytest.raises(UnsafePathError) as unsafe:
        build_manifest(project, "SH010")
    assert unsafe.value.problems == [f"{OUT}/up is a symlinked folder (not followed: copy the files instead)"]
    os.unlink(out / "up")
    nfd = unicodedata.normalize("NFD", "é.txt")
    (out / "é.txt").write_bytes(b"1")
    (out / nfd).write_bytes(b"2")
    with pytest.raises(UnsafePathError) as clash:
        build_manifest(project, "SH010")
    assert clash.value.problems == [f"{OUT}/: path '{OUT}/é.txt' is listed 2 times (expected once) after Unicode "
                                    "(NFC) normalisation: rename one of the files"]


def test_a_second_manifest_and_the_adoption_of_an_unpinned_one(shot) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(AlreadyExistsError) as again:
        build_manifest(shot, "SH010")
    assert str(again.value) == f"{MANIFEST} already exists: a manifest is written once and never replaced"
    record_file = shot.root / "shots/SH010/shot.json"
    record = json.loads(record_file.read_bytes())
    pinned = record["manifest_ref"]
    record["manifest_ref"], record["artifacts"] = None, []
    record_file.write_text(json.dumps(record))
    with pytest.raises(ContractError) as stranger:
        build_manifest(shot, "SH010")
    assert str(stranger.value) == (
        f"{MANIFEST} exists but the shot record does not pin it and cinev4 did not write it: it is never adopted; "
        "look at it, move it out of shots/SH010/manifests/, then run cinev4 manifest SH010 again")
    proof = shot.root / "shots/SH010/.manifest-v0001.unpinned.tmp"  # the second link a cinev4 writer keeps
    os.link(shot.root / MANIFEST, proof)
    (shot.root / FRAMES[0]).write_bytes(b"changed")
    with pytest.raises(AlreadyExistsError) as stale:
        build_manifest(shot, "SH010")
    assert str(stale.value).startswith(f"{MANIFEST} exists but is not pinned in the shot record and does not verify "
                                       f"(size_differs {FRAMES[0]}: size is 7 bytes (expected ")
    assert str(stale.value).endswith("it was left by an interrupted run on other files: move it aside, then run "
                                     "cinev4 manifest SH010 again")
    render(shot.root)
    adopted = build_manifest(shot, "SH010", threads=1)
    assert adopted.adopted is True and adopted.manifest_sha256 == pinned["sha256"]
    assert json.loads(record_file.read_bytes())["manifest_ref"] == pinned
    assert not proof.exists()
    # the pin was written but the proof was left: the next run drops it, and refuses
    os.link(shot.root / MANIFEST, proof)
    with pytest.raises(AlreadyExistsError):
        build_manifest(shot, "SH010")
    assert not proof.exists()


# --- documents ---------------------------------------------------------------------------------

def test_read_document_bytes_refuses_what_is_no_document(tmp_path: Path) -> None:
    from cinev4.contracts import read_document_bytes
    from cinev4.contracts.documents import MAX_BYTES, load_document, read_json_file

    good = tmp_path / "qc.json"
    good.write_bytes(b'{"approved": true, "score": 0.5}')
    assert read_document_bytes(good, "manifest") == good.read_bytes()
    assert read_json_file(good, "manifest") == {"approved": True, "score": 0.5}
    os.mkfifo(tmp_path / "fifo")
    with pytest.raises(ContractError) as fifo:
        read_document_bytes(tmp_path / "fifo", "manifest", "where")
    assert fifo.value.problems == ["where: $: is a FIFO (expected a regular file)"]
    with pytest.raises(ContractError) as folder:
        read_document_bytes(tmp_path, "manifest")
    assert folder.value.problems == [f"{tmp_path}: $: is a folder (expected a regular file)"]
    os.symlink(good, tmp_path / "link")
    with pytest.raises(ContractError) as link:
        read_document_bytes(tmp_path / "link", "manifest")
    assert link.value.problems == [f"{tmp_path / 'link'}: $: is a symbolic link (expected a regular file; documents "
                                   "are read without following symlinks)"]
    limit = MAX_BYTES["project"]
    big = tmp_path / "big.json"
    big.write_bytes(b" " * (limit + 1))
    with pytest.raises(ContractError) as too_big:
        read_document_bytes(big, "project", "project.json")
    assert too_big.value.problems == [f"project.json: $: the file is {limit + 1} bytes (expected at most {limit} "
                                      "bytes for a project document)"]
    exact = tmp_path / "exact.json"
    exact.write_bytes(b" " * limit)
    assert len(read_document_bytes(exact, "project")) == limit
    with pytest.raises(FileNotFoundError):
        read_document_bytes(tmp_path / "nothere", "manifest")
    bad = tmp_path / "bad.json"
    bad.write_bytes(b'{"a": 1, "a": 2}')
    with pytest.raises(ContractError) as duplicate:
        read_json_file(bad, "manifest", "qc.json")
    assert all(line.startswith("qc.json: ") for line in duplicate.value.problems) and duplicate.value.problems
    with pytest.raises(ContractError) as invalid:
        load_document(good, "manifest")
    assert all(line.startswith(f"{good}: ") for line in invalid.value.problems) and invalid.value.problems


def test_rename_noreplace(tmp_path: Path) -> None:
    fd = os.open(tmp_path, os.O_RDONLY)
    try:
        (tmp_path / "tmp1").write_bytes(b"one")
        atomic.rename_noreplace("tmp1", "final", fd)
        assert (tmp_path / "final").read_bytes() == b"one" and not (tmp_path / "tmp1").exists()
        (tmp_path / "tmp2").write_bytes(b"two")
        with pytest.raises(FileExistsError):
            atomic.rename_noreplace("tmp2", "final", fd)
        assert (tmp_path / "final").read_bytes() == b"one" and (tmp_path / "tmp2").read_bytes() == b"two"
        with pytest.raises(FileNotFoundError):
            atomic.rename_noreplace("nothere", "other", fd)
    finally:
        os.close(fd)


# --- the history as evidence -------------------------------------------------------------------

def _step(frm: str | None, to: str, version: str = "v0001") -> dict:
    return {"from": frm, "to": to, "version": version}


def test_unearned_status() -> None:
    from cinev4.pipeline.states import unearned_status

    earned = [_step(None, "IN_PROGRESS"), _step("IN_PROGRESS", "QC"), _step("QC", "DONE")]
    assert unearned_status(S.DONE, "v0001", earned) == []
    assert unearned_status(S.QC, "v0001", earned[:2]) == []
    assert unearned_status(S.IN_PROGRESS, "v0001", earned[:1]) == []
    assert unearned_status(S.DONE, "v0001", [_step(None, "IN_PROGRESS"), _step("QC", "DONE")]) == [
        "history entry 2 starts from QC but the one before it ends at IN_PROGRESS: the history was edited"]
    assert unearned_status(S.DONE, "v0001", [_step("IN_PROGRESS", "DONE")]) == [
        "history entry 1 starts from IN_PROGRESS but the one before it ends at None: the history was edited",
        "DONE is not earned: the history has no QC -> DONE transition of v0001 as its last entry (only cinev4 shot "
        "done, through its gate, makes a shot DONE)"]
    assert unearned_status(S.DONE, "v0001", earned[:2]) == [
        "the status is DONE but the history ends at QC: the status was edited, not earned by a transition"]
    assert unearned_status(S.QC, "v0001", []) == [
        "the status is QC but the history ends at None: the status was edited, not earned by a transition"]
    assert unearned_status(S.DONE, "v0002", earned) == [
        "DONE is not earned: the history has no QC -> DONE transition of v0002 as its last entry (only cinev4 shot "
        "done, through its gate, makes a shot DONE)"]


# --- verify_manifest_file: the pin from a shot record, a release record, or none ---------------

def test_verify_manifest_file_project_root_must_be_its_root(shot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert verify_manifest_file(shot.root / MANIFEST, project_root=shot.root, threads=1).ok
    with pytest.raises(ContractError) as other:
        verify_manifest_file(shot.root / MANIFEST, project_root=tmp_path)
    assert str(other.value) == (f"--project {tmp_path} is not the root of --manifest {shot.root / MANIFEST} "
                                f"(its root is {shot.root}); give one or the other")
    with pytest.raises(ContractError):
        verify_manifest_file(shot.root / MANIFEST, project_root=tmp_path / "nothere")


def test_verify_manifest_file_checks_the_pin_and_the_frames(tmp_path: Path) -> None:
    from cinev4.pipeline.frames import FrameRange
    from cinev4.pipeline.shots import set_frames

    project = init_project(tmp_path / "proj", "FILM01")
    create_shot(project, "SH010")
    render(project.root)
    build_manifest(project, "SH010", threads=1)  # a strict manifest is sealed only whole: the range comes after
    set_frames(project, "SH010", FrameRange(1001, 1004))
    manifest = project.root / MANIFEST
    report = verify_manifest_file(manifest, threads=1)
    assert [(k, p) for k, p, *_ in _problems(report)] == [("missing_frames", f"{OUT}/sh010.####.exr")]
    assert report.checks[0].shot_id == "SH010" and report.checks[0].version == "v0001"
    os.chmod(manifest, 0o644)
    manifest.write_bytes(manifest.read_bytes() + b" ")
    edited = verify_manifest_file(manifest, threads=1)
    assert [k for k, *_ in _problems(edited)] == ["manifest_edited", "missing_frames"]
    assert [(p.shot_id, p.version) for p in edited.checks] == [("SH010", "v0001")]


def test_verify_manifest_file_of_another_shot_record(tmp_path: Path) -> None:
    project = init_project(tmp_path / "proj", "FILM01")
    create_shot(project, "SH010")
    render(project.root)
    build_manifest(project, "SH010", threads=1)
    copy = tmp_path / "copy"
    import shutil

    shutil.copytree(project.root / "shots", copy / "shots")
    (copy / "project.json").write_bytes((project.root / "project.json").read_bytes())
    os.chmod(copy / "shots/SH010/shot.json", 0o644)
    (copy / "shots/SH010/shot.json").unlink()
    report = verify_manifest_file(copy / MANIFEST, threads=1)
    assert report.ok and report.notes == [
        f"{MANIFEST}: no shot record pins this manifest, so its own bytes were only checked for validity"]


def test_a_shot_folder_without_its_record_is_reported(shot) -> None:  # type: ignore[no-untyped-def]
    (shot.root / "shots" / "SH020").mkdir()
    report = verify_shots(shot, threads=1)
    assert [(c.shot_id, [(p.kind, p.path) for p in c.problems]) for c in report.checks] == [
        ("SH010", []), ("SH020", [("no_shot_record", "shots/SH020/shot.json")])]
    named = verify_shots(shot, ["SH010"], threads=1)
    assert [c.shot_id for c in named.checks] == ["SH010"] and named.ok


# --- strict JSON -------------------------------------------------------------------------------

def _json_problems(raw: bytes, **kwargs: object) -> list[str]:
    from cinev4.contracts.jsonio import JsonProblem, parse_json

    with pytest.raises(JsonProblem) as caught:
        parse_json(raw, **kwargs)  # type: ignore[arg-type]
    assert str(caught.value) == "; ".join(caught.value.problems)
    return caught.value.problems


def test_parse_json_accepts_strict_json() -> None:
    from cinev4.contracts.jsonio import parse_json

    assert parse_json(b'{"a": [1, -2, 9223372036854775807, -9223372036854775808], "b": {"c": null}}') == {
        "a": [1, -2, 2**63 - 1, -(2**63)], "b": {"c": None}}
    assert parse_json(b'{"x": 0.5, "y": true, "z": "\\u00e9"}') == {"x": 0.5, "y": True, "z": "é"}
    assert parse_json(b"[1]" + b" " * 10, max_bytes=13) == [1]
    from cinev4.contracts.jsonio import MAX_DEPTH

    nested = parse_json(b"[" * MAX_DEPTH + b"]" * MAX_DEPTH)  # exactly the limit
    for _ in range(MAX_DEPTH - 1):
        [nested] = nested
    assert nested == []
    doc = parse_json(b'{"k": 6.0}')
    assert doc == {"k": 6.0} and type(doc["k"]).__name__ == "_Fraction"


def test_parse_json_refusals() -> None:
    from cinev4.contracts.jsonio import MAX_DEPTH

    assert _json_problems(b"[1] ", max_bytes=3) == ["document is 4 bytes (expected at most 3)"]
    assert _json_problems(b'{"a":\n"\xff"}') == ["line 2, byte 7: not valid UTF-8 (expected UTF-8 text)"]
    deep = b"[" * (MAX_DEPTH + 1) + b"]" * (MAX_DEPTH + 1)
    assert _json_problems(deep) == [f"$: arrays and objects nest {MAX_DEPTH + 1} levels deep (expected at most {MAX_DEPTH})"]
    assert _json_problems(b'["[[[[", {"a": 1}') == ["line 1 column 18: invalid JSON (Expecting ',' delimiter)"]
    assert _json_problems(b"[NaN]") == ["invalid JSON (NaN is not valid JSON)"]
    assert _json_problems(b"[-Infinity]") == ["invalid JSON (-Infinity is not valid JSON)"]
    assert _json_problems(b"[1e999]") == ["invalid JSON (1e999 is out of range for a number)"]
    assert _json_problems(b'{"a": 1, "b": {"c": 1, "c": 2, "d-e": 1, "d-e": 2}, "a": 3}') == [
        '$.a: duplicate key "a"', '$.b.c: duplicate key "c"', '$.b["d-e"]: duplicate key "d-e"']
    assert _json_problems(b'{"n": [1, 9223372036854775808, -9223372036854775809]}') == [
        "$.n[1]: integer 9223372036854775808 is out of range (expected at most 2^63-1)",
        "$.n[2]: integer -9223372036854775809 is out of range (expected at most 2^63-1)"]
    fraction = ("is not an integer (written with a fraction or exponent; cinev4 documents hold whole "
                "numbers only, e.g. 6)")
    assert _json_problems(b'{"size": 6.0, "n": [1, 6e0], "ok": true}', integers_only=True) == [
        f"$.size: 6.0 {fraction}", f"$.n[1]: 6.0 {fraction}"]


def test_json_path_and_depth_and_canonical_bytes() -> None:
    from cinev4.contracts.jsonio import canonical_bytes, json_path, max_depth

    assert json_path(["artifacts", 3, "sha256"]) == "$.artifacts[3].sha256"
    assert json_path([]) == "$"
    assert json_path(["a b", "é", 0]) == '$["a b"].é[0]'
    assert max_depth(b'{"a": ["[[[", {"b": []}], "c": "\\"]"}') == 4
    assert max_depth(b"1") == 0
    assert max_depth(b"[][][]") == 1
    assert canonical_bytes({"b": 1, "a": ["é", {"d": None}]}) == (
        '{\n  "a": [\n    "é",\n    {\n      "d": null\n    }\n  ],\n  "b": 1\n}\n').encode()
    with pytest.raises(ValueError):
        canonical_bytes({"x": float("nan")})


def test_json_problem_holds_one_or_many() -> None:
    from cinev4.contracts.jsonio import JsonProblem

    assert JsonProblem("one").problems == ["one"] and str(JsonProblem("one")) == "one"
    assert JsonProblem(["a", "b"]).problems == ["a", "b"] and str(JsonProblem(["a", "b"])) == "a; b"


def test_write_once_names_its_temporary_beside_the_target(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import re

    sources: list[str] = []
    real_link = os.link

    def recording_link(src, dst, *args, **kwargs):  # type: ignore[no-untyped-def]
        sources.append(os.fspath(src))
        return real_link(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "link", recording_link)
    atomic.write_once(tmp_path / "m.json", b"x")
    [source] = sources
    assert os.path.dirname(source) == str(tmp_path)
    assert re.fullmatch(r"\.m\.json\.[^/]+\.tmp", os.path.basename(source)), source


def test_write_once_without_hard_links(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:

    def no_links(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise OSError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(os, "link", no_links)
    target = tmp_path / "m.json"
    atomic.write_once(target, b"complete", mode=0o640)
    assert target.read_bytes() == b"complete" and stat.S_IMODE(target.stat().st_mode) == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.json"]
    with pytest.raises(AlreadyExistsError) as caught:
        atomic.write_once(target, b"other")
    assert str(caught.value) == f"{target} already exists (written once, never overwritten)"
    assert target.read_bytes() == b"complete" and sorted(p.name for p in tmp_path.iterdir()) == ["m.json"]

    def broken(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(os, "link", broken)
    with pytest.raises(OSError) as io_error:
        atomic.write_once(tmp_path / "n.json", b"x")
    assert io_error.value.errno == errno.EIO
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.json"]


def test_a_failed_temporary_write_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def failing_fsync(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", failing_fsync)
    for write in (atomic.write_once, atomic.replace_atomic):
        with pytest.raises(OSError, match="No space left on device"):
            write(tmp_path / "doc.json", b"data")
        assert list(tmp_path.iterdir()) == []


def test_schema_problems_are_described_with_what_is_expected() -> None:
    from cinev4.contracts.schemas import schema_problems

    doc = {"schema": "cinev4/manifest@1", "project_id": "FILM 01", "shot_id": "SH010", "version": "v0001",
           "created_utc": "2026-01-01T00:00:00Z", "hash_alg": "sha256",
           "artifacts": [{"path": "shots/SH010/outputs/v0001/a", "size": 1, "sha256": "x" * 300}]}
    safe_id = ("a safe folder name: 1-64 characters, letters, digits, '_', '-' or '.', starting with a letter "
               "or digit")
    # A long message is cut to 240 characters in the value's middle: the rule broken, in words, stays whole.
    assert schema_problems(doc, "manifest") == [
        f'$.project_id: "FILM 01" is not valid (expected {safe_id})',
        '$.artifacts[0].sha256: "' + "x" * 59 + "..." + "x" * 116
        + '" is not valid (expected 64 lowercase hexadecimal characters)',
    ]


def test_resolve_inside_checks_the_text_first(tmp_path: Path) -> None:
    with pytest.raises(UnsafePathError) as caught:
        resolve_inside(tmp_path, "a/../b", "artifact")
    assert caught.value.problems == ["artifact: 'a/../b' contains '..' (expected a path that stays inside the project root)"]
    assert resolve_inside(tmp_path, "a/b/c") == Path(os.path.realpath(tmp_path)) / "a" / "b" / "c"


def test_windows_device_names_and_case_clashes() -> None:
    assert portability_warnings(["x/con .txt", "x/aux.tar.gz", "x/Prn", "x/nul.a.b", "x/conx", "x/LPT1.x. "]) == [
        "'x/con .txt' is a reserved device name: it cannot be created on Windows",
        "'x/aux.tar.gz' is a reserved device name: it cannot be created on Windows",
        "'x/Prn' is a reserved device name: it cannot be created on Windows",
        "'x/nul.a.b' is a reserved device name: it cannot be created on Windows",
        "'x/LPT1.x. ' ends with a space or a dot: it cannot be created on Windows",
    ]
    assert portability_warnings(["É/a", "é/a"]) == [
        "'É', 'é' differ only by case: they clash on case-insensitive file systems (macOS, Windows)",
        "'É/a', 'é/a' differ only by case: they clash on case-insensitive file systems (macOS, Windows)"]


def test_check_id_names_what_is_expected() -> None:
    from cinev4.contracts.schemas import schema

    expected = schema("common")["$defs"]["safe_id"]["description"]
    with pytest.raises(ContractError) as caught:
        check_id("a/b")
    assert str(caught.value) == f"id 'a/b' is not a safe name (expected {expected})"


def test_policy_reads_both_fields() -> None:
    assert Policy.from_document({"immutable_outputs": True, "done_requires_manifest": False}) == Policy(True, False)
    assert Policy.from_document({"immutable_outputs": False, "done_requires_manifest": True}) == Policy(False, True)


def test_rename_noreplace_without_renameat2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:

    monkeypatch.setattr(atomic, "_renameat2", lambda: None)  # an older libc: hard links decide
    fd = os.open(tmp_path, os.O_RDONLY)
    try:
        (tmp_path / "t1").write_bytes(b"one")
        atomic.rename_noreplace("t1", "final", fd)
        assert sorted(p.name for p in tmp_path.iterdir()) == ["final"] and (tmp_path / "final").read_bytes() == b"one"
        (tmp_path / "t2").write_bytes(b"two")
        with pytest.raises(FileExistsError):
            atomic.rename_noreplace("t2", "final", fd)
        assert (tmp_path / "final").read_bytes() == b"one"
        os.symlink("final", tmp_path / "link")
        (tmp_path / "t3").write_bytes(b"three")
        atomic.rename_noreplace("t3", "new", fd)
        assert (tmp_path / "new").read_bytes() == b"three" and not (tmp_path / "t3").exists()

        def no_links(*args, **kwargs):  # type: ignore[no-untyped-def]
            raise OSError(errno.EPERM, "Operation not permitted")

        monkeypatch.setattr(os, "link", no_links)  # no hard links either: reserve, then rename onto it
        (tmp_path / "t4").write_bytes(b"four")
        atomic.rename_noreplace("t4", "fourth", fd)
        assert (tmp_path / "fourth").read_bytes() == b"four" and not (tmp_path / "t4").exists()
        (tmp_path / "t5").write_bytes(b"five")
        with pytest.raises(FileExistsError):
            atomic.rename_noreplace("t5", "fourth", fd)
        assert (tmp_path / "fourth").read_bytes() == b"four" and (tmp_path / "t5").read_bytes() == b"five"

        def broken(*args, **kwargs):  # type: ignore[no-untyped-def]
            raise OSError(errno.EIO, "Input/output error")

        monkeypatch.setattr(os, "link", broken)
        with pytest.raises(OSError) as io_error:
            atomic.rename_noreplace("t5", "fifth", fd)
        assert io_error.value.errno == errno.EIO and not (tmp_path / "fifth").exists()
    finally:
        os.close(fd)


def test_rename_noreplace_reports_renameat2_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import ctypes

    def failing(*args: object) -> int:
        ctypes.set_errno(errno.EACCES)
        return -1

    monkeypatch.setattr(atomic, "_renameat2", lambda: failing)
    fd = os.open(tmp_path, os.O_RDONLY)
    try:
        (tmp_path / "t").write_bytes(b"x")
        with pytest.raises(PermissionError) as caught:
            atomic.rename_noreplace("t", "final", fd)
        assert (caught.value.errno, caught.value.strerror, caught.value.filename) == (
            errno.EACCES, os.strerror(errno.EACCES), "final")

        def unsupported(*args: object) -> int:
            ctypes.set_errno(errno.EINVAL)  # a file system without RENAME_NOREPLACE: hard links decide
            return -1

        monkeypatch.setattr(atomic, "_renameat2", lambda: unsupported)
        atomic.rename_noreplace("t", "final", fd)
        assert sorted(p.name for p in tmp_path.iterdir()) == ["final"]
    finally:
        os.close(fd)


# --- releases: the pin a delivered copy carries ------------------------------------------------

@pytest.fixture
def released(shot):  # type: ignore[no-untyped-def]
    from cinev4.pipeline import mark_done, mark_qc, publish_release

    mark_qc(shot, "SH010")
    mark_done(shot, "SH010", threads=1)
    publish_release(shot, "R1", ["SH010"], threads=1)
    return shot


def test_a_delivered_copy_is_checked_against_its_release_record(released, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import shutil

    copy = tmp_path / "delivered"
    shutil.copytree(released.root / "shots", copy / "shots")
    shutil.copytree(released.root / "releases", copy / "releases")
    for dirpath, _, filenames in os.walk(copy):
        for name in filenames:
            os.chmod(os.path.join(dirpath, name), 0o644)
    for record in (copy / "shots").glob("*/shot.json"):
        record.unlink()
    report = verify_manifest_file(copy / MANIFEST, threads=1)
    assert report.ok and report.notes == [f"{MANIFEST}: its own bytes were checked against the pin in "
                                          "releases/R1/release.json"]
    manifest = copy / MANIFEST
    manifest.write_bytes(manifest.read_bytes() + b"\n")
    edited = verify_manifest_file(manifest, threads=1)
    assert [(k, p) for k, p, *_ in _problems(edited)] == [("manifest_edited", MANIFEST)]
    other = copy / "shots/SH020/manifests/v0001/manifest.json"
    other.parent.mkdir(parents=True)
    other.write_bytes(b"{}")
    unpinned = verify_manifest_file(other)
    assert unpinned.notes == ["shots/SH020/manifests/v0001/manifest.json: no shot record pins this manifest, so its "
                              "own bytes were only checked for validity"]


def test_an_earlier_released_manifest_is_verified_with_the_shot(released) -> None:  # type: ignore[no-untyped-def]
    record_file = released.root / "shots/SH010/shot.json"
    os.chmod(record_file, 0o644)
    record = json.loads(record_file.read_bytes())
    release = json.loads((released.root / "releases/R1/release.json").read_bytes())
    # as if the shot had moved on to v0002 (by hand: cinev4 refuses it): R1's v0001 manifest is still checked
    record["version"], record["manifest_ref"] = "v0002", None
    record_file.write_text(json.dumps(record))
    manifest = released.root / MANIFEST
    os.chmod(manifest, 0o644)
    manifest.write_bytes(manifest.read_bytes() + b" ")
    report = verify_shots(released, ["SH010"], sizes_only=True)
    pinned = release["shots"][0]["manifest_sha256"]
    checks = [(c.shot_id, c.version, c.manifest_path) for c in report.checks]
    assert checks == [("SH010", "v0002", None), ("SH010", "v0001", MANIFEST)]
    assert [(k, p, d, e) for k, p, d, e, _ in _problems(report) if k == "manifest_edited"] == [
        ("manifest_edited", MANIFEST, "the manifest was modified after it was written (its sha256 differs from "
         "the one releases/R1/release.json pins)", pinned)]


# --- how files are opened: flags that make the reads and writes safe ---------------------------

def _recording_open(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int, object]]:
    calls: list[tuple[str, int, object]] = []
    real_open = os.open

    def recording(path, flags, mode=0o777, *args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append((os.path.basename(os.fsdecode(path)), flags, mode))
        return real_open(path, flags, mode, *args, **kwargs)

    monkeypatch.setattr(os, "open", recording)
    return calls


def test_documents_are_opened_without_following_links_or_blocking(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from cinev4.contracts import read_document_bytes

    (tmp_path / "doc.json").write_bytes(b"{}")
    calls = _recording_open(monkeypatch)
    assert read_document_bytes(tmp_path / "doc.json", "manifest") == b"{}"
    [(name, flags, _)] = calls
    wanted = os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
    assert name == "doc.json" and flags & wanted == wanted and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT) == 0


def test_the_manifest_is_written_exclusively_and_read_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = init_project(tmp_path / "proj", "FILM01")
    create_shot(project, "SH010")
    render(project.root)
    calls = _recording_open(monkeypatch)
    build_manifest(project, "SH010", threads=1)
    proof = [(flags, mode) for name, flags, mode in calls if name == ".manifest-v0001.unpinned.tmp"]
    wanted = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
    assert len(proof) == 1 and proof[0][0] & wanted == wanted and proof[0][1] == 0o444
    assert stat.S_IMODE((project.root / MANIFEST).stat().st_mode) == 0o444


def test_build_manifest_clears_what_killed_writers_left(tmp_path: Path) -> None:
    project = init_project(tmp_path / "proj", "FILM01")
    create_shot(project, "SH010")
    render(project.root)
    shot_dir = project.root / "shots" / "SH010"
    (shot_dir / "manifests" / "v0001").mkdir(parents=True)
    left = [shot_dir / ".shot.json.abc.tmp", shot_dir / "manifests/v0001/.manifest.json.def.tmp",
            shot_dir / ".manifest-v0001.unpinned.tmp"]
    for path in left:
        path.write_bytes(b'{"half": ')
    keep = shot_dir / "notes.txt"
    keep.write_bytes(b"mine")
    build_manifest(project, "SH010", threads=1)
    assert [p.exists() for p in left] == [False, False, False] and keep.read_bytes() == b"mine"
    assert sorted(p.name for p in (shot_dir / "manifests/v0001").iterdir()) == ["manifest.json"]


def test_resume_and_adoption_pass_threads_progress_and_backend_on(shot) -> None:  # type: ignore[no-untyped-def]
    backend, progress = _Recorder(), _Progress()
    report = verify_shots(shot, ["SH010"], resume=True, threads=2, progress=progress, backend=backend)
    assert report.ok and report.resume is not None
    assert [(len(p), s is not None, t, w) for p, s, t, w in backend.calls] == [(5, True, 2, True)]
    assert [sorted(os.stat(x).st_size for x in p) == sorted(s) for p, s, _, _ in backend.calls] == [True]
    assert progress.events[0] == ("start", report.bytes_hashed, 5) and progress.events[-1] == ("finish",)
    record_file = shot.root / "shots/SH010/shot.json"
    record = json.loads(record_file.read_bytes())
    record["manifest_ref"], record["artifacts"] = None, []
    record_file.write_text(json.dumps(record))
    os.link(shot.root / MANIFEST, shot.root / "shots/SH010/.manifest-v0001.unpinned.tmp")
    backend.calls.clear()
    adopted = build_manifest(shot, "SH010", threads=3, progress=_Progress(), backend=backend)
    assert adopted.adopted is True and [(len(p), t, w) for p, _, t, w in backend.calls] == [(5, 3, True)]


def test_the_already_exists_message_of_a_loose_project(tmp_path: Path) -> None:
    project = init_project(tmp_path / "proj", "FILM01", mutable_outputs=True)
    create_shot(project, "SH010")
    render(project.root)
    build_manifest(project, "SH010", threads=1)
    with pytest.raises(AlreadyExistsError) as caught:
        build_manifest(project, "SH010")
    assert str(caught.value) == (f"{MANIFEST} already exists: a manifest is written once and never replaced (to pin new "
                                 "outputs: cinev4 shot reopen/new-version SH010, then cinev4 manifest SH010)")


def test_a_released_shot_is_never_manifested_again(released) -> None:  # type: ignore[no-untyped-def]
    from cinev4.errors import CinevError

    with pytest.raises(CinevError) as caught:
        build_manifest(released, "SH010")
    assert "manifest refused: v0001 of the shot was released (releases/R1/release.json)" in str(caught.value)
    with pytest.raises(ContractError) as bad_id:
        build_manifest(released, "../SH010")
    assert str(bad_id.value).startswith("shot id '../SH010' is not a safe name (expected ")


def test_lone_surrogates_are_refused_in_keys_and_values() -> None:
    from cinev4.contracts.jsonio import parse_json

    assert _json_problems(b'{"a\\ud800": 1, "b": {"c\\udfff": 2}}') == [
        "$: the key 'a\\\\ud800' holds a lone surrogate (expected Unicode text)",
        "$.b: the key 'c\\\\udfff' holds a lone surrogate (expected Unicode text)"]
    assert _json_problems(b'{"a": ["x\\udc80", "ok"], "b": "\\uD800"}') == [
        "$.a[0]: a \\u escape leaves a lone surrogate (expected Unicode text)",
        "$.b: a \\u escape leaves a lone surrogate (expected Unicode text)"]
    assert parse_json(b'{"ok": "\\ud83d\\ude00", "n": 2}') == {"ok": "\U0001F600", "n": 2}


# --- verify in process: the manifest itself unreadable, not a document, or without a version ----

def test_a_manifest_that_is_unreadable_or_no_document(shot) -> None:  # type: ignore[no-untyped-def]
    import shutil

    target = ManifestTarget(shot.root, MANIFEST, None, "SH010", "v0001")
    folder = (shot.root / MANIFEST).parent
    raw = (shot.root / MANIFEST).read_bytes()
    shutil.rmtree(folder)
    folder.write_bytes(b"a file where the manifest's folder was")
    report = verify_targets([target])
    assert _problems(report) == [("unreadable", MANIFEST, "the manifest cannot be read (Not a directory)", None, None)]
    assert report.exit_code == 1
    folder.unlink()
    folder.mkdir()
    os.mkfifo(shot.root / MANIFEST)
    fifo = verify_targets([target])
    assert _problems(fifo) == [("manifest_invalid", MANIFEST, f"{MANIFEST}: $: is a FIFO (expected a regular file)",
                                None, None)]
    os.unlink(shot.root / MANIFEST)
    (shot.root / MANIFEST).write_bytes(raw)
    assert verify_targets([target], threads=1).ok


def test_an_artifact_that_loops_is_unreadable(shot) -> None:  # type: ignore[no-untyped-def]
    frame = shot.root / FRAMES[0]
    frame.unlink()
    os.symlink(frame.name, frame)
    report = verify_targets([ManifestTarget(shot.root, MANIFEST, None, "SH010", "v0001")], sizes_only=True)
    loop = os.strerror(errno.ELOOP)
    assert _problems(report) == [
        ("unreadable", FRAMES[0], f"cannot be read ({loop})", None, None),
        ("unsafe_path", FRAMES[0], f"in the version folder: cannot be read ({loop})", None, None),
    ]


def test_a_manifest_without_a_version_takes_it_from_its_place(shot) -> None:  # type: ignore[no-untyped-def]
    manifest = shot.root / MANIFEST
    os.chmod(manifest, 0o644)
    doc = json.loads(manifest.read_bytes())
    del doc["version"]
    manifest.write_bytes(json.dumps(doc).encode())
    placed = verify_targets([ManifestTarget(shot.root, MANIFEST, None, "SH010", None)], threads=1)
    assert placed.ok and placed.checks[0].version == "v0001" and placed.files_hashed == 5
    elsewhere = "releases/R9/manifest.json"
    (shot.root / "releases/R9").mkdir(parents=True)
    (shot.root / elsewhere).write_bytes(json.dumps(doc).encode())
    nowhere = verify_targets([ManifestTarget(shot.root, elsewhere, None, "SH010", None)])
    assert _problems(nowhere) == [(
        "manifest_invalid", elsewhere, f'{elsewhere}: $: no "version", and the manifest is not at a layout place that '
        "names one (shots/<SHOT>/manifests/<version>/manifest.json)", None, None)]


def test_an_unsafe_artifact_path_inside_the_version_prefix_is_never_touched(shot) -> None:  # type: ignore[no-untyped-def]
    manifest = shot.root / MANIFEST
    os.chmod(manifest, 0o644)
    doc = json.loads(manifest.read_bytes())
    assert doc["artifacts"][0]["path"] == f"{OUT}/preview.mp4"
    doc["artifacts"][0]["path"] = f"{OUT}/x/../preview.mp4"
    manifest.write_bytes(json.dumps(doc).encode())
    report = verify_targets([ManifestTarget(shot.root, MANIFEST, None, "SH010", "v0001")], sizes_only=True)
    assert _problems(report) == [
        ("unsafe_path", MANIFEST, f"{MANIFEST}: $.artifacts[0].path: '{OUT}/x/../preview.mp4' contains '..' "
         "(expected a path that stays inside the project root)", None, None),
        ("extra", f"{OUT}/preview.mp4", "on disk in the version folder but not in the manifest", None,
         _size(shot, f"{OUT}/preview.mp4")),
    ]


def test_a_status_not_earned_is_reported_by_verify(shot) -> None:  # type: ignore[no-untyped-def]
    record_file = shot.root / "shots/SH010/shot.json"
    record = json.loads(record_file.read_bytes())
    record["status"] = "DONE"
    record_file.write_text(json.dumps(record))
    report = verify_shots(shot, ["SH010"], threads=1)
    assert [(k, p, d) for k, p, d, _, _ in _problems(report)] == [
        ("status_unearned", "shots/SH010/shot.json",
         "the status is DONE but the history ends at IN_PROGRESS: the status was edited, not earned by a transition")]
    assert report.checks[0].version == "v0001" and report.checks[0].manifest_path == MANIFEST
    everything = verify_shots(shot, threads=1)
    assert [k for k, *_ in _problems(everything)] == ["status_unearned"]


# --- boundaries the mutation run showed untested -----------------------------------------------

def test_edges_of_depth_integers_names_and_paths(tmp_path: Path) -> None:
    from cinev4.contracts.jsonio import max_depth, parse_json

    assert max_depth(b"[][[]]") == 2 and max_depth(b"[[]][]") == 2
    assert _json_problems(b"[9223372036854775808]") == [
        "$[0]: integer 9223372036854775808 is out of range (expected at most 2^63-1)"]
    assert parse_json(b"[-9223372036854775808]") == [-(2**63)]
    assert portability_warnings(["x/CONX", "x/ß", "x/ss"]) == []
    assert resolve_inside(tmp_path, "a b/c d.exr") == Path(os.path.realpath(tmp_path)) / "a b" / "c d.exr"


def test_a_proof_that_is_a_copy_is_no_proof(shot) -> None:  # type: ignore[no-untyped-def]
    record_file = shot.root / "shots/SH010/shot.json"
    record = json.loads(record_file.read_bytes())
    record["manifest_ref"], record["artifacts"] = None, []
    record_file.write_text(json.dumps(record))
    (shot.root / "shots/SH010/.manifest-v0001.unpinned.tmp").write_bytes((shot.root / MANIFEST).read_bytes())
    with pytest.raises(ContractError, match="exists but the shot record does not pin it and cinev4 did not write it"):
        build_manifest(shot, "SH010")


def test_replace_atomic_cleans_up_when_the_rename_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def failing_replace(*args: object) -> None:
        raise OSError(18, "Invalid cross-device link")

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(OSError, match="Invalid cross-device link"):
        atomic.replace_atomic(tmp_path / "shot.json", b"x")
    assert list(tmp_path.iterdir()) == []


def test_a_manifest_of_another_version_than_the_shot(shot) -> None:  # type: ignore[no-untyped-def]
    manifest = shot.root / MANIFEST
    os.chmod(manifest, 0o644)
    doc = json.loads(manifest.read_bytes())
    doc["version"] = "v0002"
    raw = json.dumps(doc).encode()
    manifest.write_bytes(raw)
    record_file = shot.root / "shots/SH010/shot.json"
    record = json.loads(record_file.read_bytes())
    record["manifest_ref"]["sha256"] = hashlib.sha256(raw).hexdigest()
    record_file.write_text(json.dumps(record))
    report = verify_shots(shot, ["SH010"], sizes_only=True)
    assert [(k, p, d) for k, p, d, _, _ in _problems(report)][0] == (
        "manifest_mismatch", MANIFEST, "$.version is 'v0002' (expected 'v0001')")


# --- many problems: each added once, moves paired in one pass -----------------------------------

def test_a_check_keeps_each_problem_once_however_it_is_added() -> None:
    from cinev4.pipeline.report import ManifestCheck, Problem

    gap = Problem("missing_frames", f"{OUT}/sh010.####.exr", "frames 1004 missing", "1001-1012", [[1004, 1004]])
    check = ManifestCheck("SH010", "v0001", MANIFEST, problems=[gap])
    check.add(gap.kind, gap.path, gap.detail, gap.expected, [[1004, 1004]])  # a list inside: compared by value
    check.add("extra", f"{OUT}/a.tmp", "on disk", actual=1)
    check.add("extra", f"{OUT}/a.tmp", "on disk", actual=1)
    early = [Problem("missing", FRAMES[0], "gone", 3), Problem("missing", FRAMES[0], "gone", 3),
             Problem("extra", f"{OUT}/a.tmp", "on disk", actual=1)]
    check.insert(1, early)
    assert [(p.kind, p.path) for p in check.problems] == [
        ("missing_frames", gap.path), ("missing", FRAMES[0]), ("extra", f"{OUT}/a.tmp")]
    check.retain(check.problems[1:])
    check.add(gap.kind, gap.path, gap.detail, gap.expected, gap.actual)  # retained away: added again
    assert [p.kind for p in check.problems] == ["missing", "extra", "missing_frames"]


def test_a_renamed_folder_is_reported_as_moves_paired_in_path_order(shot) -> None:  # type: ignore[no-untyped-def]
    out = shot.root / OUT
    twin = out / "sh010.1003.exr"
    os.chmod(twin, 0o644)
    twin.write_bytes((out / "sh010.1002.exr").read_bytes())  # two artifacts with the same bytes
    os.chmod(out, 0o755)
    (out / "moved").mkdir()
    for path in FRAMES:
        name = path.rsplit("/", 1)[1]
        os.rename(out / name, out / "moved" / name)
    report = verify_shots(shot, ["SH010"], threads=1)
    found = sorted((p.kind, p.path, p.actual) for p in report.checks[0].problems)
    # moved/1002 and moved/1003 hold 1002's bytes: 1002 takes the first of them in path order;
    # 1003's own bytes are nowhere, so it is missing and the second copy is an extra.
    assert found == sorted([("moved", FRAMES[0], f"{OUT}/moved/sh010.1001.exr"),
                            ("moved", FRAMES[1], f"{OUT}/moved/sh010.1002.exr"),
                            ("missing", FRAMES[2], None),
                            ("extra", f"{OUT}/moved/sh010.1003.exr", os.path.getsize(out / "moved/sh010.1003.exr"))])
