"""Farm hooks: ``cinev4 stage`` hashes at render time, ``cinev4 manifest`` seals later.

Real files, the real console script, real concurrent processes and a real
``kill -9``. hashlib is only the reference digests are checked against.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import signal
import stat
import subprocess
import time
from pathlib import Path

import pytest

from cinev4.contracts import canonical_bytes
from cinev4.pipeline import load_project, stage
from cinev4.pipeline.manifests import build_manifest
from cinev4.pipeline.staging import STAGE_SCHEMA, StageResult, _Claim, _racy

from helpers import CINEV4, popen_cli, render, run_cli, sha256_of

OUT = "shots/SH010/outputs/v0001"
STAGING = "shots/SH010/staging/v0001"
EPOCH = {"SOURCE_DATE_EPOCH": "1700000000"}
ZEROS_512MIB_SHA256 = "9acca8e8c22201155389f65abbf6bc9723edc7384ead80503839f49dcc56d767"  # hashlib, once
RECORD_NAME = re.compile(r"^[0-9]{8}T[0-9]{6}Z-[A-Za-z0-9.-]+-[0-9]+-[0-9a-f]{12}\.json$")


def _rendered(root: Path, frames: int = 3) -> list[str]:
    run_cli("shot", "new", "SH010", cwd=root)
    out = render(root, frames=frames)
    return sorted(f"{OUT}/{p.name}" for p in out.iterdir())


def _records(root: Path) -> list[Path]:
    folder = root / STAGING
    return sorted(p for p in folder.iterdir() if not p.name.startswith(".")) if folder.is_dir() else []


def _manifest(root: Path, env: dict[str, str] | None = None, expect: int = 0) -> tuple[dict, list[str]]:
    result = run_cli("manifest", "SH010", "--json", cwd=root, env=env, expect=expect)
    warnings = [line for line in result.stderr.splitlines() if line.startswith("cinev4: warning: ")]
    return result.json(), warnings


def _artifact_digests(root: Path) -> dict[str, str]:
    data = json.loads((root / "shots/SH010/manifests/v0001/manifest.json").read_text())
    return {a["path"]: a["sha256"] for a in data["artifacts"]}


def _forged_record(root: Path, name: str, key: bytes, path: str, sha256: str) -> None:
    """A record in the right shape, for ``path`` as it is on disk now, keyed with ``key``."""
    st = os.stat(root / path)
    body = {"schema": STAGE_SCHEMA, "project_id": "FILM01", "shot_id": "SH010", "version": "v0001",
            "created_utc": "2024-01-01T00:00:00Z",
            "files": [{"path": path, "size": st.st_size, "sha256": sha256, "device": st.st_dev,
                       "inode": st.st_ino, "mtime_ns": st.st_mtime_ns, "ctime_ns": st.st_ctime_ns,
                       "stat_time_ns": time.time_ns()}]}
    check = hmac.new(key, canonical_bytes(body), hashlib.sha256).hexdigest()
    (root / STAGING).mkdir(parents=True, exist_ok=True)
    (root / STAGING / name).write_bytes(canonical_bytes({**body, "check": check}))


def test_staged_frames_are_not_hashed_again_and_the_records_go_at_the_seal(project: Path) -> None:
    paths = _rendered(project)
    result = run_cli("stage", "SH010", *paths, "--json", cwd=project)
    report = result.json()
    assert (report["ok"], report["exit_code"], report["staged_files"], report["failures"]) == (True, 0, 5, [])
    assert {f["path"]: f["sha256"] for f in report["files"]} == {p: sha256_of(project / p) for p in paths}
    [record] = _records(project)
    assert RECORD_NAME.match(record.name), record.name
    assert report["record_path"] == f"{STAGING}/{record.name}"
    assert stat.S_IMODE(record.stat().st_mode) == 0o444
    text = run_cli("stage", "SH010", paths[0], cwd=project).stdout
    assert re.fullmatch(rf"SH010 v0001: staged 1 file \(1\.0 KiB\) in {STAGING}/\S+\.json\n", text), text
    run_cli("shot", "qc", "SH010", cwd=project)  # staging is allowed in QC too
    run_cli("stage", "SH010", paths[1], cwd=project)
    assert len(_records(project)) == 3

    manifest, warnings = _manifest(project)
    assert (manifest["staged_files"], manifest["hashed_files"], warnings) == (5, 0, [])
    assert _artifact_digests(project) == {p: sha256_of(project / p) for p in paths}
    assert not (project / "shots/SH010/staging").exists()  # consumed by the seal
    run_cli("verify", "SH010", cwd=project)  # no extras: staging never was under the outputs
    run_cli("shot", "done", "SH010", cwd=project)


def test_the_manifest_is_the_same_bytes_with_and_without_staging(tmp_path: Path) -> None:
    roots = []
    for name in ("staged", "hashed"):
        root = tmp_path / name
        run_cli("init", str(root), "--id", "FILM01", cwd=tmp_path)
        roots.append(root)
    paths = _rendered(roots[0], frames=4)
    _rendered(roots[1], frames=4)
    run_cli("stage", "SH010", *paths, cwd=roots[0])
    staged, _ = _manifest(roots[0], env=EPOCH)
    hashed, _ = _manifest(roots[1], env=EPOCH)
    assert (staged["staged_files"], staged["hashed_files"]) == (6, 0)
    assert (hashed["staged_files"], hashed["hashed_files"]) == (0, 6)
    manifest = "shots/SH010/manifests/v0001/manifest.json"
    assert (roots[0] / manifest).read_bytes() == (roots[1] / manifest).read_bytes()
    assert staged["manifest_sha256"] == hashed["manifest_sha256"]


def test_a_frame_rewritten_with_its_size_and_mtime_put_back_is_hashed_again(project: Path) -> None:
    paths = _rendered(project)
    frame = project / paths[0]
    run_cli("stage", "SH010", *paths, cwd=project)
    before = os.stat(frame)
    old = frame.read_bytes()
    time.sleep(0.02)  # past the kernel's timestamp tick: the rewrite gets a new ctime
    frame.write_bytes(bytes(b ^ 0xFF for b in old))  # same size, other bytes, same inode
    os.utime(frame, ns=(before.st_atime_ns, before.st_mtime_ns))  # mtime put back; ctime cannot be
    after = os.stat(frame)
    assert (after.st_size, after.st_ino, after.st_mtime_ns) == (before.st_size, before.st_ino, before.st_mtime_ns)

    manifest, warnings = _manifest(project)
    assert (manifest["staged_files"], manifest["hashed_files"]) == (4, 1)
    assert warnings == [f"cinev4: warning: {paths[0]} changed after it was staged (ctime_ns differ): "
                        f"its staged digest is ignored, the file is hashed"]
    assert _artifact_digests(project)[paths[0]] == sha256_of(frame) != hashlib.sha256(old).hexdigest()


def test_a_record_forged_with_another_key_or_edited_is_ignored(project: Path) -> None:
    paths = _rendered(project)
    lie = "0" * 64
    _forged_record(project, "forged.json", b"k" * 32, paths[0], lie)
    run_cli("stage", "SH010", paths[1], cwd=project)
    [genuine] = [p for p in _records(project) if p.name != "forged.json"]
    edited = json.loads(genuine.read_text())
    edited["files"][0]["sha256"] = lie  # the claim changed, the checksum kept
    (project / STAGING / "edited.json").write_text(json.dumps(edited))
    genuine.unlink()

    manifest, warnings = _manifest(project)
    assert (manifest["staged_files"], manifest["hashed_files"]) == (0, 5)
    assert warnings == [
        f"cinev4: warning: {STAGING}/{name} ignored, its files are hashed: it fails its keyed checksum "
        f"(not written by cinev4 stage with this project's key)" for name in ("edited.json", "forged.json")]
    assert lie not in _artifact_digests(project).values()
    assert _artifact_digests(project) == {p: sha256_of(project / p) for p in paths}


def test_torn_and_garbage_records_are_ignored_the_good_one_is_used(project: Path) -> None:
    paths = _rendered(project)
    run_cli("stage", "SH010", paths[0], cwd=project)
    folder = project / STAGING
    (folder / "empty.json").write_bytes(b"")  # a reservation a killed writer left (no hard links)
    (folder / "torn.json").write_bytes(_records(project)[-1].read_bytes()[:100])
    (folder / ".x.json.1234.tmp").write_bytes(b"{")  # a writer's temporary: not a record, never read

    manifest, warnings = _manifest(project)
    assert (manifest["staged_files"], manifest["hashed_files"]) == (1, 4)
    assert len(warnings) == 2, warnings
    assert warnings[0].startswith(f"cinev4: warning: {STAGING}/empty.json ignored, its files are hashed: "
                                  f"not a staging record (")
    assert warnings[1].startswith(f"cinev4: warning: {STAGING}/torn.json ignored, its files are hashed: "
                                  f"not a staging record (")


def test_staging_into_a_sealed_version_is_refused(manifested: Path) -> None:
    result = run_cli("stage", "SH010", f"{OUT}/preview.mp4", cwd=manifested, expect=2)
    assert result.stderr == ("cinev4: error: SH010 v0001 is sealed (shots/SH010/manifests/v0001/manifest.json "
                             "exists): staging into it is refused; its digests are pinned already\n")
    assert not (manifested / "shots/SH010/staging").exists()


def test_staging_is_refused_outside_the_outputs_for_links_and_in_done_or_fail(project: Path, tmp_path: Path) -> None:
    paths = _rendered(project)
    (project / OUT / "link.exr").symlink_to(project / paths[0])
    outside = run_cli("stage", "SH010", "project.json", paths[0], cwd=project, expect=2)
    assert outside.stderr == ("cinev4: error: project.json: not inside shots/SH010/outputs/v0001/ (the shot's "
                              "current version folder): only its outputs are staged\n")
    linked = run_cli("stage", "SH010", f"{OUT}/link.exr", cwd=project, expect=2)
    assert linked.stderr == (f"cinev4: error: {OUT}/link.exr: is a symbolic link (staging takes the regular "
                             f"files the render wrote)\n")
    nothing = run_cli("stage", "SH010", cwd=project, expect=2)
    assert "name the files to stage (PATH... or --files-from FILE)" in nothing.stderr
    assert not (project / "shots/SH010/staging").exists()
    run_cli("shot", "fail", "SH010", "--reason", "render crashed", cwd=project)
    failed = run_cli("stage", "SH010", paths[0], cwd=project, expect=2)
    assert failed.stderr == "cinev4: error: SH010 is FAIL: staging is allowed while IN_PROGRESS or QC\n"


def test_files_from_standard_input_and_absolute_paths(project: Path) -> None:
    paths = _rendered(project)
    listing = "".join(f"{project / p}\n" for p in paths) + "\n"
    proc = subprocess.run([*CINEV4, "stage", "SH010", "--files-from", "-", "--json"],
                          cwd=project / OUT, input=listing, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["staged_files"] == 5


def test_the_stage_key_is_made_at_init_group_readable_and_on_first_stage_for_older_projects(project: Path) -> None:
    key = project / ".cinev4-stage.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o640 and key.stat().st_size == 32
    paths = _rendered(project)
    key.unlink()  # a project made before staging existed
    run_cli("stage", "SH010", paths[0], cwd=project)
    assert stat.S_IMODE(key.stat().st_mode) == 0o640 and key.stat().st_size == 32
    os.chmod(key, 0o644)  # readable by everyone: no secret, nothing staged under it
    refused = run_cli("stage", "SH010", paths[0], cwd=project, expect=2)
    assert refused.stderr == ("cinev4: error: .cinev4-stage.key is open to others (mode 644), so it is no secret: "
                              "chmod 640 it (then restage) or delete it (a new one is made)\n")
    manifest, warnings = _manifest(project)
    assert (manifest["staged_files"], manifest["hashed_files"]) == (0, 5)
    assert warnings == ["cinev4: warning: .cinev4-stage.key is open to others (mode 644), so it is no secret: "
                        "chmod 640 it (then restage) or delete it (a new one is made); staging records ignored, "
                        "every file is hashed"]


def test_concurrent_stagers_each_keep_their_record(project: Path) -> None:
    paths = _rendered(project, frames=48)  # 48 frames + preview + qc.json: 50 tasks, one file each
    procs = [popen_cli("stage", "SH010", path, cwd=project) for path in paths]
    outcomes = [(proc.wait(timeout=120), proc.stderr.read() if proc.stderr else "") for proc in procs]
    for proc in procs:
        for stream in (proc.stdout, proc.stderr):
            if stream:
                stream.close()
    assert outcomes == [(0, "")] * 50
    records = _records(project)
    assert len(records) == 50 and not list((project / STAGING).glob(".*"))
    staged = sorted(json.loads(r.read_text())["files"][0]["path"] for r in records)
    assert staged == paths
    manifest, warnings = _manifest(project)
    assert (manifest["staged_files"], manifest["hashed_files"], warnings) == (50, 0, [])


def _wait_until_open(pid: int, path: Path, timeout: float = 30.0) -> bool:
    """Whether process ``pid`` opened ``path`` (its /proc fd table) before ``timeout``."""
    fds = Path(f"/proc/{pid}/fd")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if any(os.readlink(fd) == str(path) for fd in fds.iterdir()):
                return True
        except OSError:
            pass  # an fd closed while listed
        time.sleep(0.005)
    return False


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc to see when the stager hashes")
def test_kill_9_while_staging_leaves_no_record_and_a_rerun_stages(project: Path) -> None:
    run_cli("shot", "new", "SH010", cwd=project)
    big = project / OUT / "big.0001.exr"
    big.parent.mkdir(parents=True, exist_ok=True)
    with open(big, "wb") as handle:  # sparse: 512 MiB hashed on one thread, little disk
        handle.truncate(512 << 20)
    proc = popen_cli("stage", "SH010", str(big), "--threads", "1", cwd=project)
    assert _wait_until_open(proc.pid, big), "the stager never opened the file"
    proc.send_signal(signal.SIGKILL)  # while it hashes: before any record is written
    assert proc.wait(timeout=30) == -signal.SIGKILL
    for stream in (proc.stdout, proc.stderr):
        if stream:
            stream.close()
    assert _records(project) == []  # nothing under a final name: at most a hidden temporary
    run_cli("stage", "SH010", str(big), cwd=project)
    [record] = _records(project)
    assert json.loads(record.read_text())["files"][0]["sha256"] == ZEROS_512MIB_SHA256


def test_a_racily_staged_file_is_hashed_again_without_a_warning(project: Path) -> None:
    paths = _rendered(project)
    root = load_project(project)
    result = stage(root, "SH010", [project / p for p in paths], threads=2)
    assert isinstance(result, StageResult) and result.ok and len(result.files) == 5
    [record] = _records(project)
    first_change = min(os.stat(project / p).st_ctime_ns for p in paths)
    # The record as if written in the timestamp tick of the first file: every file changed at or
    # after it, so no file's stat proves it was not changed again after it was hashed.
    os.utime(record, ns=(first_change, first_change))
    manifest = build_manifest(root, "SH010")
    assert (manifest.staged_files, manifest.hashed_files, manifest.warnings) == (0, 5, ())


def test_the_racy_rule_uses_the_file_systems_clock_and_else_the_journal_margin() -> None:
    class St:  # the file now: changed (ctime) at 5_000 ns
        st_dev, st_mtime_ns, st_ctime_ns = 7, 1_000, 5_000

    same_device = _Claim((0, 7, 0, 1_000, 5_000), "0" * 64, stat_time_ns=0, record_mtime_ns=5_000, record_dev=7)
    assert _racy(same_device, St()) is True  # changed in the record's own tick
    assert _racy(_Claim(same_device.identity, "0" * 64, 0, 5_001, 7), St()) is False  # a later tick
    other_device = _Claim((0, 7, 0, 1_000, 5_000), "0" * 64, stat_time_ns=2_000_005_000, record_mtime_ns=0,
                          record_dev=8)
    assert _racy(other_device, St()) is True  # within clock.RACY_NS (2 s) of the stager's stat
    assert _racy(_Claim(other_device.identity, "0" * 64, 2_000_005_001, 0, 8), St()) is False


@pytest.mark.slow
# 200 processes take about a minute on a 2-core machine: opt-in, kept out of the default run's budget.
@pytest.mark.skipif(os.environ.get("CINEV4_STRESS") != "1", reason="200 concurrent stagers: set CINEV4_STRESS=1")
def test_two_hundred_concurrent_stagers(project: Path) -> None:
    paths = _rendered(project, frames=198)
    procs = [popen_cli("stage", "SH010", path, cwd=project) for path in paths]
    codes = [proc.wait(timeout=600) for proc in procs]
    for proc in procs:
        for stream in (proc.stdout, proc.stderr):
            if stream:
                stream.close()
    assert codes == [0] * 200
    assert len(_records(project)) == 200
    manifest, _ = _manifest(project)
    assert (manifest["staged_files"], manifest["hashed_files"]) == (200, 0)


def test_staging_folders_take_the_outputs_folders_permissions(project: Path) -> None:
    paths = _rendered(project)
    os.chmod(project / OUT, 0o2775)  # a farm's group folder: setgid, group-writable
    old_umask = os.umask(0o077)
    try:
        result = stage(load_project(project), "SH010", [project / paths[0]])
    finally:
        os.umask(old_umask)
    assert result.record_path is not None and result.ok
    for folder in ("shots/SH010/staging", STAGING):
        assert stat.S_IMODE(os.stat(project / folder).st_mode) == 0o2775, folder


def test_a_file_changed_while_it_is_hashed_is_left_out(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import cinev4

    paths = _rendered(project)
    real_hash_files = cinev4.hash_files

    def hash_then_touch(files: list[str], threads: int | None = None) -> list[cinev4.FileDigest]:
        digests = real_hash_files(files, threads)
        time.sleep(0.02)  # past the timestamp tick
        with open(project / paths[0], "ab") as handle:  # the render writes on while the hook hashes
            handle.write(b"more")
        return digests

    monkeypatch.setattr(cinev4, "hash_files", hash_then_touch)
    result = stage(load_project(project), "SH010", [project / p for p in paths])
    assert result.failures == (f"{paths[0]}: changed while it was hashed: not staged (the manifest hashes it)",)
    assert not result.ok and sorted(f.path for f in result.files) == paths[1:]
    [record] = _records(project)
    assert sorted(f["path"] for f in json.loads(record.read_text())["files"]) == paths[1:]
