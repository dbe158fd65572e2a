"""A gate that checks evidence, not a field (issue 11, item 8), through the real CLI.

Each test edits the project's documents as a careless or hostile person
would (shot.json set to DONE by hand, a manifest edited and re-pinned, a
strict project switched to mutable after a release, a deleted shot.json, a
manifest planted before ``cinev4 manifest``) and checks that the edit is
caught, with the exit code of docs/CONTRACT.md "Exit codes".
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from helpers import pin, render, rewrite, run_cli

MANIFEST = "shots/SH010/manifests/v0001/manifest.json"
RECORD = "shots/SH010/shot.json"


def problems(report: dict[str, Any]) -> list[tuple[str, str]]:
    return [(p["kind"], p["path"]) for m in report["manifests"] for p in m["problems"]]


def edit_json(path: Path, **changes: Any) -> None:
    data = json.loads(path.read_bytes())
    data.update(changes)
    os.chmod(path, 0o644)
    path.write_text(json.dumps(data, indent=2))


def test_done_set_by_hand_is_refused_by_the_gate_and_reported(project: Path) -> None:
    run_cli("shot", "new", "SH010", cwd=project)
    render(project)
    run_cli("manifest", "SH010", cwd=project)
    edit_json(project / RECORD, status="DONE")  # history: only "created", no QC at all
    unearned = ("the status is DONE but the history ends at IN_PROGRESS: the status was edited, "
                "not earned by a transition")
    for command in (("release", "check", "SH010"), ("release", "publish", "R1", "SH010"), ("verify", "SH010"),
                    ("verify", "--all")):
        report = run_cli(*command, "--json", cwd=project, expect=1).json()
        assert problems(report) == [("status_unearned", RECORD)], command
    assert not (project / "releases/R1").exists()
    status = run_cli("status", "--json", cwd=project).json()
    assert status["problems"] == [{"shot_id": "SH010", "kind": "status_unearned", "path": RECORD, "detail": unearned}]
    text = run_cli("status", cwd=project)
    assert text.stderr.splitlines() == [f"cinev4: warning: SH010: status_unearned {RECORD}: {unearned}"]


def test_done_by_a_transition_the_machine_never_makes_is_refused(manifested: Path) -> None:
    record = json.loads((manifested / RECORD).read_bytes())
    forged = {**record["history"][-1], "from": "QC", "to": "DONE", "reason": "QC passed"}
    # QC -> DONE, but of another version: DONE is earned by the current version's gate only
    edit_json(manifested / RECORD, status="DONE", history=[*record["history"], {**forged, "version": "v0009"}])
    report = run_cli("release", "check", "SH010", "--json", cwd=manifested, expect=1).json()
    assert problems(report) == [("status_unearned", RECORD)]
    assert "no QC -> DONE transition of v0001" in report["manifests"][0]["problems"][0]["detail"]
    # the real gate, then, makes it DONE and the release check passes
    edit_json(manifested / RECORD, status="QC", history=record["history"])
    run_cli("shot", "done", "SH010", cwd=manifested)
    run_cli("release", "check", "SH010", cwd=manifested)


def test_manifest_edited_and_repinned_after_release_is_caught(done: Path) -> None:
    run_cli("release", "publish", "R1", "SH010", cwd=done)
    released = json.loads((done / "releases/R1/release.json").read_bytes())["shots"][0]["manifest_sha256"]
    manifest = json.loads((done / MANIFEST).read_bytes())
    manifest["artifacts"] = [a for a in manifest["artifacts"] if not a["path"].endswith("qc.json")]
    (done / "shots/SH010/outputs/v0001/qc.json").unlink()  # the files agree with the edited manifest
    edited = json.dumps(manifest, indent=2, sort_keys=True).encode()
    pin(done, "SH010", edited)  # and shot.json pins the edited bytes
    for command in (("verify", "SH010"), ("verify", "--all"), ("release", "check", "SH010")):
        report = run_cli(*command, "--json", cwd=done, expect=1).json()
        assert problems(report) == [("manifest_edited", MANIFEST)], command
        (problem,) = report["manifests"][0]["problems"]
        assert problem["expected"] == released and problem["actual"] == hashlib.sha256(edited).hexdigest()
        assert "releases/R1/release.json pinned another sha256" in problem["detail"]


def test_released_shot_is_immutable_whatever_project_json_says(done: Path) -> None:
    run_cli("release", "publish", "R1", "SH010", cwd=done)
    edit_json(done / "project.json", policy={**json.loads((done / "project.json").read_bytes())["policy"],
                                             "immutable_outputs": False})
    before = (done / RECORD).read_bytes()
    for action in (("reopen", "SH010"), ("fail", "SH010", "--reason", "x"), ("new-version", "SH010")):
        result = run_cli("shot", *action, cwd=done, expect=2)
        assert result.stderr.splitlines() == [
            f"cinev4: error: shot SH010: {action[0]} refused: the shot was released under the strict policy "
            f"(releases/R1/release.json) and what was released that way is immutable whatever project.json says; "
            f"to rework it, create a new shot"]
    result = run_cli("manifest", "SH010", cwd=done, expect=2)
    assert result.stderr.splitlines() == [
        "cinev4: error: shot SH010: manifest refused: v0001 of the shot was released (releases/R1/release.json) "
        "and what was released that way is immutable whatever project.json says; start a new version "
        "(non-strict projects) or create a new shot"]
    assert (done / RECORD).read_bytes() == before


def test_rewritten_earlier_release_is_caught_by_verify_all(mutable_project: Path, tmp_path: Path) -> None:
    """A release published before shots were frozen (an older cinev4): the shot moved on to v0002,
    and the released v0001 was rewritten. verify --all still checks v0001 against R1."""
    root = mutable_project
    run_cli("shot", "new", "SH010", cwd=root)
    render(root)
    for step in (("manifest", "SH010"), ("shot", "qc", "SH010"), ("shot", "done", "SH010"),
                 ("release", "publish", "R1", "SH010")):
        run_cli(*step, cwd=root)
    (root / "releases/R1").rename(tmp_path / "R1")  # as if released before this rule existed
    for step in (("shot", "reopen", "SH010"), ("shot", "new-version", "SH010")):
        run_cli(*step, cwd=root)
    render(root, version="v0002", seed=2)
    for step in (("manifest", "SH010"), ("shot", "qc", "SH010"), ("shot", "done", "SH010")):
        run_cli(*step, cwd=root)
    (tmp_path / "R1").rename(root / "releases/R1")
    run_cli("verify", "--all", cwd=root)
    frame = "shots/SH010/outputs/v0001/sh010.1001.exr"
    data = bytearray((root / frame).read_bytes())
    data[0] ^= 1
    rewrite(root / frame, bytes(data))
    report = run_cli("verify", "--all", "--json", cwd=root, expect=1).json()
    assert problems(report) == [("hash_differs", frame)]
    assert [(m["version"], m["ok"]) for m in report["manifests"]] == [("v0002", True), ("v0001", False)]
    assert problems(run_cli("verify", "SH010", "--json", cwd=root, expect=1).json()) == [("hash_differs", frame)]


def test_shot_folder_without_its_record_is_reported(done: Path) -> None:
    run_cli("shot", "new", "SH020", cwd=done)
    render(done, shot="SH020")
    (done / "shots/SH020/shot.json").unlink()
    (done / "shots/.snapshot").mkdir()  # hidden folders (file-server snapshots) are not shots
    report = run_cli("verify", "--all", "--json", cwd=done, expect=1).json()
    assert problems(report) == [("no_shot_record", "shots/SH020/shot.json")]
    assert [m["shot_id"] for m in report["manifests"]] == ["SH010", "SH020"]
    detail = ("shots/SH020/ has no shot.json: the shot and its outputs are tracked by no record "
              "(restore its shot.json, or remove the folder)")
    status = run_cli("status", "--json", cwd=done).json()
    assert status["problems"] == [{"shot_id": "SH020", "kind": "no_shot_record", "path": "shots/SH020/shot.json",
                                   "detail": detail}]
    assert run_cli("status", cwd=done).stderr.splitlines() == [
        f"cinev4: warning: SH020: no_shot_record shots/SH020/shot.json: {detail}"]
    run_cli("verify", "SH010", cwd=done)  # naming shots checks those shots only


def test_planted_manifest_is_never_adopted(project: Path) -> None:
    run_cli("shot", "new", "SH010", cwd=project)
    out = render(project)
    artifacts = [{"path": f"shots/SH010/outputs/v0001/{p.name}", "size": p.stat().st_size,
                  "sha256": hashlib.sha256(p.read_bytes()).hexdigest(), "role": "preview"}
                 for p in sorted(out.iterdir())]  # true sizes and digests, wrong roles, not canonical
    planted = {"schema": "cinev4/manifest@1", "project_id": "FILM01", "shot_id": "SH010", "version": "v0001",
               "created_utc": "2024-01-01T00:00:00Z", "hash_alg": "sha256", "artifacts": artifacts}
    target = project / MANIFEST
    target.parent.mkdir(parents=True)
    target.write_text(json.dumps(planted, indent=4))
    before = target.read_bytes()
    result = run_cli("manifest", "SH010", cwd=project, expect=2)
    assert result.stderr.splitlines() == [
        f"cinev4: error: {MANIFEST} exists but the shot record does not pin it and cinev4 did not write it: it is "
        f"never adopted; look at it, move it out of shots/SH010/manifests/, then run cinev4 manifest SH010 again"]
    assert target.read_bytes() == before and os.stat(target).st_mode & 0o222  # left as it was, for a person
    assert json.loads((project / RECORD).read_bytes())["manifest_ref"] is None
    target.rename(project / "planted.json")
    written = run_cli("manifest", "SH010", "--json", cwd=project).json()
    assert written["adopted"] is False and written["artifact_count"] == 5
    assert sorted(p.name for p in target.parent.iterdir()) == ["manifest.json"]
