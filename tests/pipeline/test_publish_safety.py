"""Publishing with --to as a hostile or unlucky user meets it: files already in DEST, symlinks
planted in DEST, DEST inside the project (through a symlink, a bind mount), kill -9 mid-copy,
a crash between the two records, two publishes racing for one release id, a busy shot, modes,
NFD names, and explicit manifest paths. Real files, real processes, real signals."""
from __future__ import annotations

import ctypes
import hashlib
import json
import mmap
import os
import shutil
import signal
import stat
import subprocess
import time
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from cinev4.pipeline.publish import CopyItem, Destination

from helpers import make_writable, popen_cli, render, run_cli, sha256_of

# Every finding here needs POSIX: flock, SIGSTOP/SIGKILL, symlinks without privileges, umask, mount.
pytestmark = pytest.mark.skipif(os.name == "nt", reason="POSIX locks, signals, symlinks and modes")
fcntl = pytest.importorskip("fcntl")

OUT = "shots/SH010/outputs/v0001"
MANIFEST = "shots/SH010/manifests/v0001/manifest.json"
RECORD = "releases/R1/release.json"


def make_done(root: Path, shot: str = "SH010", plate_bytes: int = 0, plates: int = 0) -> None:
    """A DONE shot; ``plates`` extra frames of ``plate_bytes`` random bytes each make the copy take a while."""
    run_cli("shot", "new", shot, cwd=root)
    out = render(root, shot)
    for index in range(plates):
        (out / f"plate.{2001 + index}.exr").write_bytes(os.urandom(plate_bytes))
    run_cli("shot", "qc", shot, cwd=root)
    run_cli("manifest", shot, cwd=root)
    run_cli("shot", "done", shot, cwd=root)


@pytest.fixture(scope="module")
def done_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One DONE project made through the CLI (as conftest's ``done``), copied for each test."""
    base = tmp_path_factory.mktemp("template")
    root = base / "proj"
    run_cli("init", str(root), "--id", "FILM01", cwd=base)
    make_done(root)
    return root


@pytest.fixture
def done(done_template: Path, tmp_path: Path) -> Iterator[Path]:
    """A fresh copy of the DONE project: SH010 with its manifest, in this test's own folder."""
    root = tmp_path / "proj"
    shutil.copytree(done_template, root, symlinks=True)
    yield root
    make_writable(tmp_path)


def temps_in(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*.tmp") if ".cinev4-publish-" in p.name] if folder.exists() else []


def files_in(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): sha256_of(p) for p in sorted(folder.rglob("*")) if p.is_file()}


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("cinev4: error: ")]


@contextmanager
def shot_locked(root: Path, *shots: str) -> Iterator[None]:
    """Hold the shots' locks, as another cinev4 process writing them would."""
    fds = [os.open(root / "shots" / shot, os.O_RDONLY) for shot in shots]
    try:
        for fd in fds:
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        for fd in fds:
            os.close(fd)


# --- 1. never overwrite, keep identical files, never through a symlink ------------------------

def test_a_different_file_in_dest_is_a_conflict_and_is_not_overwritten(done: Path, tmp_path: Path) -> None:
    dest = tmp_path / "delivery"
    theirs = dest / OUT / "sh010.1002.exr"
    theirs.parent.mkdir(parents=True)
    theirs.write_bytes(b"another vendor's frame" * 100)
    same_size = dest / OUT / "qc.json"
    same_size.write_bytes(b"x" * (done / OUT / "qc.json").stat().st_size)  # same size, other bytes
    before = files_in(dest)
    result = run_cli("release", "publish", "R1", "SH010", "--to", str(dest), "--json", cwd=done, expect=1)
    problems = [p for m in result.json()["manifests"] for p in m["problems"]]
    assert sorted((p["kind"], p["path"]) for p in problems) == [
        ("conflict", f"{OUT}/qc.json"), ("conflict", f"{OUT}/sh010.1002.exr")]
    assert error_lines(result.stderr) == [
        f"cinev4: error: release R1 not published: 2 file(s) already in {dest} differ (conflict); "
        "nothing was overwritten"]
    assert files_in(dest) == before  # nothing written, nothing overwritten
    assert not (done / RECORD).exists()


def test_a_copy_that_does_not_verify_is_removed_and_records_nothing(done: Path, tmp_path: Path) -> None:
    dest = tmp_path / "delivery"
    stray = dest / OUT / "notes.txt"  # not in the manifest: the delivered version folder cannot verify
    stray.parent.mkdir(parents=True)
    stray.write_text("left here by hand\n")
    result = run_cli("release", "publish", "R1", "SH010", "--to", str(dest), "--json", cwd=done, expect=1)
    problems = [(p["kind"], p["path"]) for m in result.json()["manifests"] for p in m["problems"]]
    assert problems == [("extra", f"{OUT}/notes.txt")]
    assert error_lines(result.stderr) == [
        f"cinev4: error: release R1 not published: the copy at {dest} does not verify (1 problem(s) in 1 of 1 "
        "manifest(s) (size and SHA-256)); the 6 file(s) this run copied were removed"]
    assert sorted(str(p.relative_to(dest)) for p in dest.rglob("*")) == [
        "shots", "shots/SH010", "shots/SH010/outputs", f"{OUT}", f"{OUT}/notes.txt"]
    assert not (done / RECORD).exists()


def test_identical_files_in_dest_are_kept_so_a_rerun_resumes(done: Path, tmp_path: Path) -> None:
    dest = tmp_path / "delivery"
    (dest / OUT).mkdir(parents=True)
    for name in ("sh010.1001.exr", "preview.mp4"):  # what an interrupted publish had copied
        shutil.copy2(done / OUT / name, dest / OUT / name)
    kept_inode = (dest / OUT / "preview.mp4").stat().st_ino
    result = run_cli("release", "publish", "R1", "SH010", "--to", str(dest), "--json", cwd=done).json()
    assert (result["copied_files"], result["kept_files"]) == (4, 2)  # 3 artifacts + the manifest; 2 kept
    assert (dest / OUT / "preview.mp4").stat().st_ino == kept_inode
    delivered = {k: v for k, v in files_in(done).items() if k.startswith(("shots/SH010/outputs/", MANIFEST))}
    assert files_in(dest) == {**delivered, RECORD: sha256_of(done / RECORD)}
    assert (dest / RECORD).read_bytes() == (done / RECORD).read_bytes()


def test_a_symlink_inside_dest_is_refused_and_nothing_is_written_through_it(done: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    victim = elsewhere / "SH010/outputs/v0001/sh010.1001.exr"
    victim.parent.mkdir(parents=True)
    victim.write_bytes(b"precious, not part of any delivery")
    dest = tmp_path / "delivery"
    (dest / "shots").mkdir(parents=True)
    os.symlink(elsewhere, dest / "shots" / "SH010")
    result = run_cli("release", "publish", "R1", "SH010", "--to", str(dest), cwd=done, expect=2)
    assert error_lines(result.stderr) == [
        f"cinev4: error: {dest}/shots/SH010 is a symlink: refused (publish never writes through a symlink "
        "inside the destination; remove it or choose another --to)"]
    assert victim.read_bytes() == b"precious, not part of any delivery"
    assert [p.name for p in elsewhere.rglob("*") if p.is_file()] == ["sh010.1001.exr"]
    assert not (done / RECORD).exists() and not (dest / "releases").exists()


def test_a_symlinked_file_in_dest_is_refused(done: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside.exr"
    outside.write_bytes(b"keep me")
    dest = tmp_path / "delivery"
    (dest / OUT).mkdir(parents=True)
    os.symlink(outside, dest / OUT / "sh010.1003.exr")
    result = run_cli("release", "publish", "R1", "SH010", "--to", str(dest), cwd=done, expect=2)
    assert error_lines(result.stderr) == [
        f"cinev4: error: {dest}/{OUT}/sh010.1003.exr is a symlink: refused (publish never writes through a "
        "symlink inside the destination; remove it or choose another --to)"]
    assert outside.read_bytes() == b"keep me"
    assert sorted(p.name for p in (dest / OUT).iterdir()) == ["sh010.1003.exr"]


def test_a_temporary_a_live_publish_holds_is_left_alone_a_dead_ones_is_removed(done: Path, tmp_path: Path) -> None:
    dest = tmp_path / "delivery"
    folder = dest / "releases/R1"
    folder.mkdir(parents=True)
    live = folder / ".release.json.cinev4-publish-1-0000abcd.tmp"
    dead = folder / ".release.json.cinev4-publish-2-0000dcba.tmp"
    dead.write_bytes(b"half a record")
    live.write_bytes(b"being written")
    fd = os.open(live, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # as the publish writing it holds it
        result = run_cli("release", "publish", "R1", "SH010", "--to", str(dest), cwd=done)
    finally:
        os.close(fd)
    assert f"removed 1 temporary file(s) an interrupted publish left in {dest}" in result.stdout
    assert sorted(p.name for p in folder.iterdir()) == [live.name, "release.json"]


# --- 2. the copy is verified from the destination's storage -----------------------------------

def resident_pages(path: Path) -> int:
    """How many of the file's pages are in the page cache (mincore on a mapping that touches none)."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.mmap.restype = ctypes.c_void_p
    libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
    libc.mincore.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_char_p]
    libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
    size = path.stat().st_size
    pages = (size + mmap.PAGESIZE - 1) // mmap.PAGESIZE
    with open(path, "rb") as handle:
        address = libc.mmap(None, size, mmap.PROT_READ, mmap.MAP_SHARED, handle.fileno(), 0)
        assert address not in (None, ctypes.c_void_p(-1).value), ctypes.get_errno()
        try:
            vector = ctypes.create_string_buffer(pages)
            assert libc.mincore(address, size, vector) == 0, ctypes.get_errno()
            return sum(byte & 1 for byte in vector.raw)
        finally:
            libc.munmap(address, size)


@pytest.mark.skipif(not hasattr(os, "posix_fadvise"), reason="no posix_fadvise on this OS")
def test_written_files_leave_no_pages_in_the_cache(tmp_path: Path) -> None:
    project_root = tmp_path / "proj"
    project_root.mkdir()
    source = tmp_path / "frame.exr"
    data = os.urandom(8 * 1024 * 1024)
    source.write_bytes(data)
    with Destination.open(tmp_path / "delivery", project_root) as dest:
        dest.write(CopyItem("shots/S/frame.exr", source, len(data), hashlib.sha256(data).hexdigest()))
    delivered = tmp_path / "delivery/shots/S/frame.exr"
    assert resident_pages(delivered) == 0  # what reads it next reads the storage
    assert delivered.read_bytes() == data
    assert resident_pages(delivered) == len(data) // mmap.PAGESIZE  # the measure sees cached pages


@pytest.mark.parametrize("kernel_call", [True, False], ids=["renameat2", "link"])
def test_rename_noreplace_never_replaces(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kernel_call: bool) -> None:
    from cinev4.contracts import atomic

    if not kernel_call:
        monkeypatch.setattr(atomic, "_renameat2", lambda: None)  # as on a libc without renameat2
    elif atomic._renameat2() is None:
        pytest.skip("this libc has no renameat2")
    (tmp_path / "temp").write_bytes(b"new")
    (tmp_path / "taken").write_bytes(b"old")
    fd = os.open(tmp_path, os.O_RDONLY)
    try:
        with pytest.raises(FileExistsError):
            atomic.rename_noreplace("temp", "taken", fd)
        assert (tmp_path / "taken").read_bytes() == b"old"
        atomic.rename_noreplace("temp", "free", fd)
    finally:
        os.close(fd)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["free", "taken"]


# --- 3. where DEST may be ----------------------------------------------------------------------

def _refused_inside(result_stderr: str, dest: Path, root: Path) -> None:
    assert error_lines(result_stderr) == [
        f"cinev4: error: --to {dest}: the destination is inside the project {root} "
        "(a delivery goes outside the project it comes from)"]


def test_dest_inside_the_project_is_refused(done: Path, tmp_path: Path) -> None:
    run_cli("shot", "new", "SH020", cwd=done)
    sealed = done / "shots/SH020/outputs/v0001"
    for dest in (sealed, done, done / "deliveries/new"):
        result = run_cli("release", "publish", "R1", "SH010", "--to", str(dest), cwd=done, expect=2)
        _refused_inside(result.stderr, dest, done)
    assert list(sealed.iterdir()) == [] and not (done / "deliveries").exists()
    # the project inside DEST
    result = run_cli("release", "publish", "R1", "SH010", "--to", str(tmp_path), cwd=done, expect=2)
    assert error_lines(result.stderr) == [
        f"cinev4: error: --to {tmp_path}: the project {done} is inside the destination "
        "(a delivery goes outside the project it comes from)"]
    assert not (done / RECORD).exists() and not (tmp_path / "releases").exists()


def test_a_symlinked_dest_pointing_into_the_project_is_refused(done: Path, tmp_path: Path) -> None:
    link = tmp_path / "innocent-looking"
    os.symlink(done / "shots", link)
    for dest in (link, link / "SH010/outputs/v0001", link / "new-folder"):
        result = run_cli("release", "publish", "R1", "SH010", "--to", str(dest), cwd=done, expect=2)
        _refused_inside(result.stderr, dest, done)
    assert not (done / "shots/new-folder").exists() and not (done / RECORD).exists()


@contextmanager
def bind_mount(source: Path, target: Path) -> Iterator[None]:
    target.mkdir()
    try:
        mounted = subprocess.run(["mount", "--bind", str(source), str(target)], capture_output=True, text=True)
    except FileNotFoundError:
        pytest.skip("no mount command here: a bind mount cannot be made")
    if mounted.returncode != 0:
        pytest.skip(f"mount --bind needs root and mount rights: {mounted.stderr.strip()}")
    try:
        yield
    finally:
        subprocess.run(["umount", str(target)], check=True)


def test_dest_reaching_the_project_through_a_bind_mount_is_refused(done: Path, tmp_path: Path) -> None:
    frame = done / OUT / "sh010.1001.exr"
    before = (frame.read_bytes(), stat.S_IMODE(frame.stat().st_mode))
    mount_point = tmp_path / "bound"
    with bind_mount(done, mount_point):
        result = run_cli("release", "publish", "R1", "SH010", "--to", str(mount_point), cwd=done, expect=2)
        _refused_inside(result.stderr, mount_point, done)
        result = run_cli("release", "publish", "R1", "SH010", "--to", str(mount_point / "shots"), cwd=done, expect=2)
        _refused_inside(result.stderr, mount_point / "shots", done)
    assert (frame.read_bytes(), stat.S_IMODE(frame.stat().st_mode)) == before
    assert not (done / RECORD).exists()


# --- 1. kill -9 mid-copy, then the same command --------------------------------------------------

def test_kill_9_mid_copy_then_the_same_command_completes(project: Path, tmp_path: Path) -> None:
    make_done(project, plate_bytes=12 * 1024 * 1024, plates=4)
    dest = tmp_path / "delivery"
    args = ("release", "publish", "R1", "SH010", "--to", str(dest))
    # Stop the publish the moment a temporary exists in DEST, check it is still there while the
    # process is frozen (else let it run on and look again), then kill -9.
    left_behind: list[Path] = []
    for _attempt in range(5):
        shutil.rmtree(dest, ignore_errors=True)
        proc = popen_cli(*args, cwd=project)
        deadline = time.monotonic() + 60
        while proc.poll() is None and time.monotonic() < deadline and not left_behind:
            if temps_in(dest):
                proc.send_signal(signal.SIGSTOP)
                left_behind = temps_in(dest)
                if not left_behind:
                    proc.send_signal(signal.SIGCONT)
        if proc.poll() is None:
            proc.kill()
        proc.communicate()
        if left_behind:
            break
    assert left_behind, "the publish never showed a temporary file in DEST"
    assert proc.returncode == -signal.SIGKILL
    assert not (project / RECORD).exists() and not (dest / RECORD).exists()
    again = run_cli(*args, cwd=project)
    assert f"removed {len(left_behind)} temporary file(s) an interrupted publish left in {dest}" in again.stdout
    assert temps_in(dest) == []
    assert (dest / RECORD).read_bytes() == (project / RECORD).read_bytes()
    run_cli("verify", "--manifest", str(dest / MANIFEST), cwd=tmp_path)


# --- 4. commit order, reruns, races, a busy shot ------------------------------------------------

def test_dest_record_first_then_the_rerun_finishes_the_project_record(done: Path, tmp_path: Path) -> None:
    dest = tmp_path / "delivery"
    first = run_cli("release", "publish", "R1", "SH010", "--to", str(dest), "--json", cwd=done).json()
    record = json.loads((done / RECORD).read_text())
    assert record["policy"] == json.loads((done / "project.json").read_text())["policy"]
    assert first["record"] == record
    # A crash between DEST's record and the project's leaves exactly this state:
    (done / RECORD).chmod(0o644)
    (done / RECORD).unlink()
    again = run_cli("release", "publish", "R1", "SH010", "--to", str(dest), cwd=done)
    assert f"note: {dest}/{RECORD} was already there: the delivery is completed" in again.stdout
    assert "copied 0 files" in again.stdout and "6 already there and identical (kept)" in again.stdout
    assert (done / RECORD).read_bytes() == (dest / RECORD).read_bytes()  # the same record, its time included
    assert stat.S_IMODE((done / RECORD).stat().st_mode) == 0o444
    assert stat.S_IMODE((dest / RECORD).stat().st_mode) == 0o444
    # once the project has it: already published
    third = run_cli("release", "publish", "R1", "SH010", "--to", str(dest), cwd=done, expect=2)
    assert error_lines(third.stderr) == [
        f"cinev4: error: {RECORD} already exists: release R1 is already published (records are written once)"]


def test_a_project_record_that_cannot_be_written_is_completed_by_the_same_command(done: Path, tmp_path: Path) -> None:
    dest = tmp_path / "delivery"
    blocker = done / "releases/R1"
    blocker.write_text("a file where the release folder goes\n")  # the project's record cannot be written
    args = ("release", "publish", "R1", "SH010", "--to", str(dest))
    failed = run_cli(*args, cwd=done, expect=2)
    assert error_lines(failed.stderr) == [f"cinev4: error: {blocker}: File exists"]
    assert (dest / RECORD).is_file() and not (done / RECORD).exists()  # DEST's record went first
    blocker.unlink()
    again = run_cli(*args, cwd=done)
    assert f"note: {dest}/{RECORD} was already there: the delivery is completed" in again.stdout
    assert (done / RECORD).read_bytes() == (dest / RECORD).read_bytes()


def test_the_record_schema_checks_the_pinned_policy_and_accepts_older_records_without_it(done: Path) -> None:
    from cinev4.contracts import validate
    from cinev4.errors import ContractError

    run_cli("release", "publish", "R1", "SH010", cwd=done)
    record = json.loads((done / RECORD).read_text())
    validate(record, "release", RECORD)
    validate({k: v for k, v in record.items() if k != "policy"}, "release", RECORD)  # written before policy was
    record["policy"]["hash_alg"] = "md5"
    with pytest.raises(ContractError, match=r"\$\.policy\.hash_alg"):
        validate(record, "release", RECORD)
    del record["policy"]["hash_alg"]
    with pytest.raises(ContractError, match="hash_alg"):
        validate(record, "release", RECORD)


def test_a_different_record_of_the_same_id_in_dest_is_a_conflict(done: Path, tmp_path: Path) -> None:
    dest = tmp_path / "delivery"
    (dest / "releases/R1").mkdir(parents=True)
    (dest / RECORD).write_text('{"release_id": "R1", "created_utc": "2020-01-01T00:00:00Z"}\n')
    result = run_cli("release", "publish", "R1", "SH010", "--to", str(dest), "--json", cwd=done, expect=1)
    problems = [p for m in result.json()["manifests"] for p in m["problems"]]
    assert [(p["kind"], p["path"]) for p in problems] == [("conflict", RECORD)]
    assert sorted(p.name for p in dest.rglob("*")) == ["R1", "release.json", "releases"]
    assert not (done / RECORD).exists()


def test_a_publish_that_loses_the_race_for_the_record_removes_its_copy(project: Path, tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """The lost race made certain: the loser (in this process) is past its "already
    delivered?" read when the winner (a real second process) publishes the same id."""
    from cinev4.errors import AlreadyExistsError
    from cinev4.pipeline import releases
    from cinev4.pipeline.project import load_project

    make_done(project, "SH010", plate_bytes=1024 * 1024, plates=3)
    make_done(project, "SH020", plate_bytes=1024 * 1024, plates=3)
    dest = tmp_path / "delivery"
    verify_copy = releases.verify_targets

    def winner_publishes_meanwhile(*args: object, **kwargs: object) -> object:
        run_cli("release", "publish", "R1", "SH010", "--to", str(dest), cwd=project)
        return verify_copy(*args, **kwargs)

    monkeypatch.setattr(releases, "verify_targets", winner_publishes_meanwhile)
    with pytest.raises(AlreadyExistsError) as lost:
        releases.publish_release(load_project(project, search=False), "R1", ["SH020"], destination=dest, threads=1)
    assert lost.value.exit_code == 2
    # The loser had copied its shot: 3 frames, 3 plates, the preview, qc.json and the manifest.
    assert str(lost.value) == (f"{dest}/{RECORD} already exists: release R1 was published by another process "
                               f"meanwhile; this run removed the 9 file(s) it had copied to {dest}")
    record = json.loads((project / RECORD).read_text())
    assert [s["shot_id"] for s in record["shots"]] == ["SH010"]
    assert (dest / RECORD).read_bytes() == (project / RECORD).read_bytes()
    assert not (dest / "shots/SH020").exists()  # every file and folder the loser made is gone
    assert temps_in(dest) == []
    run_cli("verify", "--manifest", str(dest / "shots/SH010/manifests/v0001/manifest.json"), cwd=tmp_path)


# How the loser of two concurrent publishes of one id learns it lost depends on
# where the winner is when it looks; each way leaves the winner's delivery whole.
LOST_RACE = ("already exists: release R1 was published by another process meanwhile; "
             "this run removed the 9 file(s) it had copied to")
SAW_THE_WINNERS_RECORD = "records another release of that id; nothing was written"
CAME_AFTER_THE_WINNER = "already exists: release R1 is already published (records are written once)"


def test_two_publishes_of_one_release_id_one_wins_the_loser_leaves_nothing(project: Path, tmp_path: Path) -> None:
    make_done(project, "SH010", plate_bytes=4 * 1024 * 1024, plates=3)
    make_done(project, "SH020", plate_bytes=4 * 1024 * 1024, plates=3)
    dest = tmp_path / "delivery"
    # Both start while another process holds both shots, so both are usually past the
    # "already published?" check when the locks go: then they race for the record.
    with shot_locked(project, "SH010", "SH020"):
        procs = {shot: popen_cli("release", "publish", "R1", shot, "--to", str(dest), cwd=project)
                 for shot in ("SH010", "SH020")}
        time.sleep(1.0)
    outcomes = {shot: (proc.wait(timeout=120), *proc.communicate()) for shot, proc in procs.items()}
    winners = [shot for shot, (rc, _, _) in outcomes.items() if rc == 0]
    assert len(winners) == 1, outcomes
    loser = "SH020" if winners == ["SH010"] else "SH010"
    rc, _, stderr = outcomes[loser]
    [line] = error_lines(stderr)
    assert ((rc, LOST_RACE in line) == (2, True) or (rc, SAW_THE_WINNERS_RECORD in line) == (1, True)
            or (rc, CAME_AFTER_THE_WINNER in line) == (2, True)), outcomes
    record = json.loads((project / RECORD).read_text())
    assert [s["shot_id"] for s in record["shots"]] == winners
    assert (dest / RECORD).read_bytes() == (project / RECORD).read_bytes()
    assert not (dest / "shots" / loser).exists()  # every file and folder the loser made is gone
    assert temps_in(dest) == []
    run_cli("verify", "--manifest", str(dest / f"shots/{winners[0]}/manifests/v0001/manifest.json"), cwd=tmp_path)


def test_a_busy_shot_is_waited_for_then_one_clear_line(done: Path, tmp_path: Path) -> None:
    with shot_locked(done, "SH010"):
        started = time.monotonic()
        result = run_cli("release", "publish", "R1", "SH010", "--wait", "0.5", cwd=done, expect=2)
        waited = time.monotonic() - started
    assert waited >= 0.5
    assert error_lines(result.stderr) == [
        "cinev4: error: shot SH010 is busy: another cinev4 process is writing it "
        "(waited 0.5 s; try again when it has finished)"]
    assert not (done / RECORD).exists()
    with shot_locked(done, "SH010"):
        proc = popen_cli("release", "publish", "R1", "SH010", "--to", str(tmp_path / "d"), cwd=done)
        time.sleep(0.5)
        assert proc.poll() is None  # still waiting (default --wait 30)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert (done / RECORD).is_file()


@pytest.mark.parametrize("wait", ["nan", "NaN", "-1", "86401", "inf"])
def test_a_wait_that_is_no_number_of_seconds_is_refused(done: Path, wait: str) -> None:
    # FloatRange let nan through, and a busy shot was then waited for without end.
    with shot_locked(done, "SH010"):
        result = run_cli("release", "publish", "R1", "SH010", "--wait", wait, cwd=done, expect=2, timeout=30)
    [line] = error_lines(result.stderr)
    assert line.startswith("cinev4: error: Invalid value for '--wait': "), line
    assert not (done / RECORD).exists()


def test_the_lock_refuses_a_wait_of_nan() -> None:
    from cinev4.pipeline.locks import shot_lock

    with pytest.raises(ValueError, match="wait_s must be a finite number of seconds >= 0, not nan"):
        with shot_lock(".", "SH010", wait_s=float("nan")):
            pass


def test_a_destination_that_cannot_be_written_is_named_in_the_error(done: Path, tmp_path: Path) -> None:
    # It said "shots: Operation not permitted": a name relative to a folder handle, not DEST's path.
    import shutil
    import subprocess

    dest = tmp_path / "delivery"
    dest.mkdir()
    if os.geteuid() == 0:  # root writes through the mode bits: the immutable flag stops it
        if shutil.which("chattr") is None or subprocess.run(["chattr", "+i", str(dest)],
                                                            capture_output=True).returncode != 0:
            pytest.skip("root here and no immutable flag on this file system")
        undo = ["chattr", "-i", str(dest)]
    else:
        dest.chmod(0o555)
        undo = ["chmod", "755", str(dest)]
    try:
        result = run_cli("release", "publish", "R1", "SH010", "--to", str(dest), cwd=done, expect=2)
    finally:
        subprocess.run(undo, check=True)
    [line] = error_lines(result.stderr)
    assert line.startswith(f"cinev4: error: {dest / 'shots'}: "), line
    assert not (done / RECORD).exists() and list(dest.iterdir()) == []


# --- 5. modes, NFD names ------------------------------------------------------------------------

def test_delivered_files_keep_the_source_bits_under_the_umask(done: Path, tmp_path: Path) -> None:
    (done / OUT / "sh010.1002.exr").chmod(0o640)
    dest = tmp_path / "delivery"
    old = os.umask(0o022)
    try:
        run_cli("release", "publish", "R1", "SH010", "--to", str(dest), cwd=done)
    finally:
        os.umask(old)
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in dest.rglob("*") if p.is_file()}
    assert modes == {"preview.mp4": 0o644, "qc.json": 0o644, "sh010.1001.exr": 0o644, "sh010.1002.exr": 0o640,
                     "sh010.1003.exr": 0o644, "manifest.json": 0o444, "release.json": 0o444}


def test_nfd_named_outputs_publish_with_to(project: Path, tmp_path: Path) -> None:
    run_cli("shot", "new", "SH010", cwd=project)
    out = render(project)
    nfc_name = "séquence_é.exr"
    nfd_name = unicodedata.normalize("NFD", nfc_name)
    (out / nfd_name).write_bytes(b"written by a Mac" * 50)  # macOS names files NFD
    run_cli("shot", "qc", "SH010", cwd=project)
    run_cli("manifest", "SH010", cwd=project)
    run_cli("shot", "done", "SH010", cwd=project)
    dest = tmp_path / "delivery"
    run_cli("release", "publish", "R1", "SH010", "--to", str(dest), cwd=project)
    assert (dest / OUT / nfc_name).read_bytes() == b"written by a Mac" * 50  # under its contract (NFC) name
    run_cli("verify", "--manifest", str(dest / MANIFEST), cwd=tmp_path)


# --- 7. explicit paths win ----------------------------------------------------------------------

def test_verify_manifest_is_never_redirected_by_cinev4_project(done: Path, tmp_path: Path) -> None:
    dest = tmp_path / "delivery"
    run_cli("release", "publish", "R1", "SH010", "--to", str(dest), cwd=done)
    frame = dest / OUT / "sh010.1002.exr"
    frame.write_bytes(b"\0" * frame.stat().st_size)  # the delivery is damaged, the project is not
    env = {"CINEV4_PROJECT": str(done)}
    result = run_cli("verify", "--manifest", str(dest / MANIFEST), "--json", cwd=tmp_path, env=env, expect=1)
    problems = [(p["kind"], p["path"]) for m in result.json()["manifests"] for p in m["problems"]]
    assert problems == [("hash_differs", f"{OUT}/sh010.1002.exr")]
    contradiction = run_cli("verify", "--manifest", str(dest / MANIFEST), "--project", str(done), cwd=tmp_path,
                            expect=2)
    assert error_lines(contradiction.stderr) == [
        f"cinev4: error: --project {done} is not the root of --manifest {dest / MANIFEST} (its root is {dest}); "
        "give one or the other"]
    # the project's own manifest with its own root: agreed, verified
    run_cli("verify", "--manifest", str(done / MANIFEST), "--project", str(done), cwd=tmp_path, env=env)
