"""Trust defects found in review, each driven to the fault it was found with:

- a ``shot new`` (or ``init``) that fails on a full disk or is killed midway leaves nothing that a
  later ``verify --all``, ``status`` or ``shot list`` takes for a shot or fails on;
- ``verify --release`` checks a release record's totals against its entries and refuses a shot
  named twice;
- ``init`` never adopts whatever already sits at the stage key's name;
- ``release publish`` names an unknown shot as every other command does.

Faults are injected in a child ``cinev4`` process (a write made to fail with ENOSPC, or the
process SIGKILLed at a given step), so they work for any user, with no tmpfs to mount.
"""
from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from helpers import Result, clean_env, make_writable, rewrite, run_cli

from cinev4.errors import AlreadyExistsError
from cinev4.pipeline import create_shot, init_project, list_shots, load_project, verify_shots
from cinev4.pipeline.stage_key import create_stage_key

RECORD = "releases/R1/release.json"

# A cinev4 run with one fault planted: argv[1] names it, the rest is the command line.
_FAULTY_CINEV4 = r"""
import errno, os, signal, sys

import cinev4.pipeline.project as project
import cinev4.pipeline.shots as shots


def enospc(*args, **kwargs):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(args[0]) if args else None)


def killed(*args, **kwargs):
    os.kill(os.getpid(), signal.SIGKILL)


fault, argv = sys.argv[1], sys.argv[2:]
if fault == "shot-record-enospc":
    shots.write_once = enospc
elif fault == "shot-record-killed":
    shots.write_once = killed
elif fault == "shot-rename-killed":  # the folder is built, shot.json in it: killed before its rename
    real_rename = os.rename

    def rename(src, dst, *args, **kwargs):
        if os.path.basename(str(src)).startswith(".SH010."):
            killed()
        return real_rename(src, dst, *args, **kwargs)

    os.rename = rename
elif fault == "project-record-enospc":
    project.write_once = enospc
elif fault == "stage-key-enospc":
    os.write = enospc
else:
    raise SystemExit(f"unknown fault {fault}")

from cinev4.cli import main

main(argv)
"""


def faulty_cli(fault: str, *args: str, cwd: Path) -> Result:
    proc = subprocess.run([sys.executable, "-c", _FAULTY_CINEV4, fault, *args], cwd=cwd, env=clean_env(None),
                          capture_output=True, text=True, timeout=120)
    result = Result(args, proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr, str(result)
    return result


def tree(root: Path) -> list[str]:
    """Every name under ``root`` (hidden ones too), relative and sorted."""
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


def assert_no_shot_anywhere(project: Path) -> None:
    """What every command that lists shots sees after a failed ``shot new``: nothing, and all good."""
    assert run_cli("shot", "list", "--json", cwd=project).json()["shots"] == []
    verify = run_cli("verify", "--all", "--json", cwd=project).json()  # exit 0: nothing failed
    assert (verify["ok"], verify["manifests"]) == (True, [])
    status = run_cli("status", "--json", cwd=project).json()
    assert status["problems"] == [] and status["shots"] == []


# --- 1. shot new and init: all or nothing ----------------------------------------------------------

def test_shot_new_on_a_full_disk_leaves_no_shot_folder(project: Path) -> None:
    before = tree(project / "shots")
    result = faulty_cli("shot-record-enospc", "shot", "new", "SH010", cwd=project)
    assert result.returncode != 0, str(result)
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("cinev4: error: "), str(result)
    assert lines[0].endswith("No space left on device"), str(result)
    assert tree(project / "shots") == before  # no shots/SH010/, no hidden folder either
    assert_no_shot_anywhere(project)
    run_cli("shot", "new", "SH010", cwd=project)  # with room again, the same command works
    assert tree(project / "shots") == ["SH010", "SH010/outputs", "SH010/outputs/v0001", "SH010/shot.json"]


@pytest.mark.parametrize("fault", ["shot-record-killed", "shot-rename-killed"])
def test_shot_new_killed_midway_leaves_nothing_taken_for_a_shot(project: Path, fault: str) -> None:
    result = faulty_cli(fault, "shot", "new", "SH010", cwd=project)
    assert result.returncode == -signal.SIGKILL, str(result)
    assert not (project / "shots/SH010").exists()
    left = [name for name in os.listdir(project / "shots")]
    assert all(name.startswith(".SH010.") and name.endswith(".tmp") for name in left), left  # hidden, if any
    assert_no_shot_anywhere(project)
    # The next shot new of that id makes the shot and removes what the killed run left, once it
    # is a minute old (a younger one may be a live run's, a moment before it locks it).
    for name in left:
        old = time.time() - 120
        os.utime(project / "shots" / name, (old, old))
    run_cli("shot", "new", "SH010", cwd=project)
    assert sorted(os.listdir(project / "shots")) == ["SH010"]
    assert [s["shot_id"] for s in run_cli("shot", "list", "--json", cwd=project).json()["shots"]] == ["SH010"]


def test_a_hidden_folder_holding_a_shot_record_is_no_shot(project: Path) -> None:
    run_cli("shot", "new", "SH010", cwd=project)
    hidden = project / "shots" / ".SH020.0123456789abcdef.tmp"
    (hidden / "outputs/v0001").mkdir(parents=True)
    (hidden / "shot.json").write_bytes((project / "shots/SH010/shot.json").read_bytes())
    listed = run_cli("shot", "list", "--json", cwd=project).json()["shots"]
    assert [s["shot_id"] for s in listed] == ["SH010"]
    run_cli("verify", "--all", cwd=project)
    assert run_cli("status", "--json", cwd=project).json()["problems"] == []
    assert [s.id for s in list_shots(load_project(project))] == ["SH010"]


def test_shot_new_keeps_its_already_exists_error(project: Path) -> None:
    run_cli("shot", "new", "SH010", cwd=project)
    assert run_cli("shot", "new", "SH010", cwd=project, expect=2).stderr == (
        "cinev4: error: shot SH010 already exists (shots/SH010/shot.json)\n")
    with pytest.raises(AlreadyExistsError, match=r"^shot SH010 already exists \(shots/SH010/shot\.json\)$"):
        create_shot(load_project(project), "SH010")


def test_shot_new_over_a_folder_without_record_adopts_it_and_undoes_on_failure(
        project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import cinev4.pipeline.shots as shots

    (project / "shots/SH010").mkdir()  # e.g. left by a cinev4 before this fix: no shot.json
    loaded = load_project(project)

    def enospc(*args: Any, **kwargs: Any) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(shots, "write_once", enospc)
    with pytest.raises(OSError, match="No space left"):
        create_shot(loaded, "SH010")
    assert tree(project / "shots") == ["SH010"]  # as it was: only the folders this call made are gone
    monkeypatch.undo()
    create_shot(loaded, "SH010")
    assert [s.id for s in list_shots(loaded)] == ["SH010"]
    assert (project / "shots/SH010/outputs/v0001").is_dir()


def test_shot_new_in_process_failure_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import cinev4.pipeline.shots as shots

    loaded = init_project(tmp_path / "proj", "FILM01")

    def enospc(*args: Any, **kwargs: Any) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(shots, "write_once", enospc)
    with pytest.raises(OSError):
        create_shot(loaded, "SH010")
    assert os.listdir(tmp_path / "proj/shots") == []
    assert verify_shots(loaded, None).ok  # verify --all: nothing to fail on


def test_init_on_a_full_disk_creates_nothing(tmp_path: Path) -> None:
    result = faulty_cli("project-record-enospc", "init", "film/proj", "--id", "FILM01", cwd=tmp_path)
    assert result.returncode != 0 and len(result.stderr.splitlines()) == 1, str(result)
    assert "No space left on device" in result.stderr
    assert not (tmp_path / "film").exists()  # not even the folders init made for it
    run_cli("init", "film/proj", "--id", "FILM01", cwd=tmp_path)


def test_init_that_cannot_write_its_stage_key_creates_nothing(tmp_path: Path) -> None:
    (tmp_path / "proj").mkdir()
    result = faulty_cli("stage-key-enospc", "init", "proj", "--id", "FILM01", cwd=tmp_path)
    assert result.returncode != 0 and len(result.stderr.splitlines()) == 1, str(result)
    assert "No space left on device" in result.stderr
    assert tree(tmp_path / "proj") == []  # no project.json, no folders, no temporary key file
    run_cli("init", "proj", "--id", "FILM01", cwd=tmp_path)
    assert (tmp_path / "proj/.cinev4-stage.key").stat().st_size == 32


# --- 3. init never adopts what sits at the stage key's name -------------------------------------

def _plant(path: Path, kind: str) -> bytes | None:
    if kind == "folder":
        path.mkdir()
    elif kind == "dangling-symlink":
        path.symlink_to(path.parent / "nowhere")
    elif kind == "symlink-to-a-key":
        target = path.parent.parent / "elsewhere.key"
        target.write_bytes(b"k" * 32)
        os.chmod(target, 0o600)
        path.symlink_to(target)
    elif kind == "world-readable-33-bytes":
        path.write_bytes(b"x" * 33)
        os.chmod(path, 0o644)
    elif kind == "planted-32-byte-key":  # a key somebody else knows: it must never key staging
        path.write_bytes(b"p" * 32)
        os.chmod(path, 0o640)
    return path.read_bytes() if path.is_file() and not path.is_symlink() else None


@pytest.mark.parametrize("kind", ["folder", "dangling-symlink", "symlink-to-a-key", "world-readable-33-bytes",
                                  "planted-32-byte-key"])
def test_init_refuses_whatever_is_at_the_stage_key_name(tmp_path: Path, kind: str) -> None:
    root = tmp_path / "box" / "proj"
    root.mkdir(parents=True)
    key = root / ".cinev4-stage.key"
    planted = _plant(key, kind)
    result = run_cli("init", str(root), "--id", "FILM01", cwd=tmp_path, expect=2)
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"cinev4: error: {key} already exists ("), result.stderr
    assert lines[0].endswith("init makes the project's stage key itself and never adopts one; "
                             "move it away, then run init again"), result.stderr
    assert tree(root) == [".cinev4-stage.key"]  # no project.json, no shots/, no releases/
    assert os.path.lexists(key)
    if planted is not None:
        assert key.read_bytes() == planted
    with pytest.raises(AlreadyExistsError):
        init_project(root, "FILM01")
    assert tree(root) == [".cinev4-stage.key"]
    make_writable(tmp_path)


def test_init_json_refusal_of_a_planted_key(tmp_path: Path) -> None:
    (tmp_path / "proj").mkdir()
    (tmp_path / "proj/.cinev4-stage.key").mkdir()
    report = run_cli("init", "proj", "--id", "FILM01", "--json", cwd=tmp_path, expect=2).json()
    assert (report["ok"], report["exit_code"]) == (False, 2)
    assert len(report["errors"]) == 1 and "never adopts one" in report["errors"][0]


def test_exclusive_stage_key_refuses_a_key_that_appears_meanwhile(tmp_path: Path) -> None:
    key = tmp_path / ".cinev4-stage.key"
    key.write_bytes(b"q" * 32)
    os.chmod(key, 0o640)
    with pytest.raises(AlreadyExistsError, match="never adopts one"):
        create_stage_key(tmp_path, exclusive=True)
    assert create_stage_key(tmp_path) is False  # stage's use: a key already there is the project's
    assert key.read_bytes() == b"q" * 32
    assert sorted(os.listdir(tmp_path)) == [".cinev4-stage.key"]  # no temporary file left


# --- 2. a release record that does not add up ---------------------------------------------------

@pytest.fixture
def delivered(done: Path, tmp_path: Path) -> Path:
    """SH010 DONE and published as R1 to a delivery folder; the delivery's root comes back."""
    dest = tmp_path / "delivery"
    run_cli("release", "publish", "R1", "SH010", "--to", str(dest), cwd=done)
    return dest


def _tamper(record_file: Path, change: Any) -> None:
    record = json.loads(record_file.read_text())
    change(record)
    rewrite(record_file, json.dumps(record, indent=2, sort_keys=True).encode() + b"\n")


def _record_problems(report: dict[str, Any]) -> list[tuple[str, str, Any, Any]]:
    return [(p["kind"], p["path"], p.get("expected"), p.get("actual"))
            for m in report["manifests"] for p in m["problems"]]


@pytest.mark.parametrize("field", ["bytes", "artifacts", "shots"])
def test_verify_release_refuses_totals_that_do_not_add_up(delivered: Path, tmp_path: Path, field: str) -> None:
    record_file = delivered / RECORD
    good = json.loads(record_file.read_text())["totals"][field]
    _tamper(record_file, lambda r: r["totals"].__setitem__(field, good + 7))
    report = run_cli("verify", "--release", str(record_file), "--json", cwd=tmp_path, expect=1).json()
    assert (report["ok"], report["exit_code"]) == (False, 1)
    assert _record_problems(report) == [("totals_mismatch", RECORD, good, good + 7)]
    detail = [p["detail"] for m in report["manifests"] for p in m["problems"]][0]
    why = {"shots": "$.shots holds 1 entries",
           "artifacts": f"the artifact_count of its $.shots entries add up to {good}",
           "bytes": f"the total_bytes of its $.shots entries add up to {good}"}[field]
    assert detail == f"$.totals.{field} is {good + 7}, but {why}: the record was edited"
    text = run_cli("verify", "--release", str(record_file), cwd=tmp_path, expect=1)
    assert text.stderr.startswith("cinev4: error: verification failed: 1 problem(s)"), str(text)
    assert f"totals_mismatch   {RECORD}: $.totals.{field} is {good + 7}" in text.stdout


def test_verify_release_refuses_a_shot_named_twice(delivered: Path, tmp_path: Path) -> None:
    record_file = delivered / RECORD

    def duplicate(record: dict[str, Any]) -> None:  # the totals made to add up: only the duplicate is wrong
        record["shots"].append(dict(record["shots"][0]))
        record["totals"] = {"shots": 2, "artifacts": 2 * record["totals"]["artifacts"],
                            "bytes": 2 * record["totals"]["bytes"]}

    _tamper(record_file, duplicate)
    report = run_cli("verify", "--release", str(record_file), "--json", cwd=tmp_path, expect=1).json()
    assert _record_problems(report) == [("duplicate_shot", RECORD, 1, 2)]
    detail = [p["detail"] for m in report["manifests"] for p in m["problems"]][0]
    assert detail.startswith("$.shots[1] names shot SH010 again (first at $.shots[0])")
    assert "OK:" not in run_cli("verify", "--release", str(record_file), cwd=tmp_path, expect=1).stdout


def test_verify_release_of_the_projects_own_record_checks_totals(delivered: Path, done: Path) -> None:
    record_file = done / RECORD
    run_cli("verify", "--release", str(record_file), cwd=done)  # untouched: verifies
    _tamper(record_file, lambda r: r["totals"].__setitem__("bytes", 1))
    report = run_cli("verify", "--release", str(record_file), "--json", cwd=done, expect=1).json()
    assert [k for k, *_ in _record_problems(report)] == ["totals_mismatch"]


def test_an_untouched_release_record_still_verifies(delivered: Path, tmp_path: Path) -> None:
    report = run_cli("verify", "--release", str(delivered / RECORD), "--json", cwd=tmp_path).json()
    assert (report["ok"], report["exit_code"]) == (True, 0)
    assert [m["shot_id"] for m in report["manifests"]] == ["SH010"]


def test_release_check_and_publish_refuse_a_shot_named_twice(done: Path) -> None:
    for command in (("release", "check"), ("release", "publish", "R1")):
        assert run_cli(*command, "SH010", "SH010", cwd=done, expect=2).stderr == (
            "cinev4: error: shot SH010 is named twice\n")
    assert not (done / "releases/R1").exists()


# --- 4. an unknown shot, said as every command says it ------------------------------------------

def test_release_publish_names_an_unknown_shot_as_every_command_does(done: Path, tmp_path: Path) -> None:
    expected = "cinev4: error: no shot NOPE in project FILM01 (shots/NOPE/shot.json does not exist)\n"
    assert run_cli("shot", "qc", "NOPE", cwd=done, expect=2).stderr == expected
    assert run_cli("release", "check", "NOPE", cwd=done, expect=2).stderr == expected
    assert run_cli("release", "publish", "R1", "NOPE", cwd=done, expect=2).stderr == expected
    assert run_cli("release", "publish", "R1", "SH010", "NOPE", cwd=done, expect=2).stderr == expected
    dest = tmp_path / "delivery"
    assert run_cli("release", "publish", "R1", "SH010", "NOPE", "--to", str(dest), cwd=done,
                   expect=2).stderr == expected
    report = run_cli("release", "publish", "R1", "NOPE", "--json", cwd=done, expect=2).json()
    assert report["errors"] == [expected.removeprefix("cinev4: error: ").rstrip("\n")]
    assert not (done / "releases/R1").exists() and not dest.exists()


# --- fourth review: this session's shot creation ---------------------------------------------------

def test_shot_new_refuses_a_symlink_at_the_shot_folder(project: Path) -> None:
    # It wrote shot.json and outputs/v0001 through the link (into another shot's outputs).
    run_cli("shot", "new", "SH", cwd=project)
    (project / "shots" / "X").symlink_to("SH/outputs/v0001")
    result = run_cli("shot", "new", "X", cwd=project, expect=2)
    assert result.stderr == ("cinev4: error: shots/X is a symlink (not followed: no symlink is followed below the "
                             "project root; a shot is a real folder under shots/)\n")
    assert os.listdir(project / "shots/SH/outputs/v0001") == []


def test_adopting_a_folder_the_loser_leaves_the_winners_folders(project: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    # The run that lost the record removed the outputs folders it had made, which the winner uses.
    from cinev4.errors import AlreadyExistsError
    from cinev4.pipeline import load_project, shots

    (project / "shots" / "AD").mkdir()

    def winner_first(path: Path, raw: bytes, mode: int) -> None:
        path.write_bytes(raw)  # another run's record lands first
        raise AlreadyExistsError(str(path))

    monkeypatch.setattr(shots, "write_once", winner_first)
    with pytest.raises(AlreadyExistsError):
        shots.create_shot(load_project(project, search=False), "AD")
    assert (project / "shots/AD/outputs/v0001").is_dir()


def test_a_fresh_build_folder_is_never_taken_for_a_killed_runs(project: Path) -> None:
    # Another run's clean-up could remove it between its mkdir and its lock.
    from cinev4.pipeline import shots

    fresh = project / "shots" / ".SH010.0123456789abcdef.tmp"
    fresh.mkdir(parents=True)
    shots._remove_stale_builds(project / "shots", "SH010")
    assert fresh.is_dir()
    old = time.time() - 120
    os.utime(fresh, (old, old))
    shots._remove_stale_builds(project / "shots", "SH010")
    assert not fresh.exists()


def test_a_manifest_path_given_from_inside_the_layout(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # as_the_kernel_reads asked for all five layout names in the text given: "manifest.json" was refused.
    from cinev4.contracts.rules import as_the_kernel_reads

    folder = project / "shots/SH010/manifests/v0001"
    folder.mkdir(parents=True)
    monkeypatch.chdir(folder)
    assert as_the_kernel_reads("manifest.json", 5) == Path(os.path.realpath(folder)) / "manifest.json"
    monkeypatch.chdir(project / "shots")
    assert as_the_kernel_reads("SH010/manifests/v0001/manifest.json", 5) == Path(os.path.realpath(folder)) / "manifest.json"
