"""The whole life of a shot, through the real installed ``cinev4`` executable."""
from __future__ import annotations

import json
import stat
from pathlib import Path

from helpers import render, run_cli, sha256_of


def test_full_life_of_a_shot(project: Path, tmp_path: Path) -> None:
    created = run_cli("shot", "new", "SH010", cwd=project)
    assert "shots/SH010/outputs/v0001/" in created.stdout
    outputs = render(project)  # the render task writes its outputs

    run_cli("shot", "qc", "SH010", cwd=project)
    # a farm hook: one line, exit 0
    manifest = run_cli("manifest", "SH010", "--threads", "2", cwd=project)
    assert len(manifest.stdout.splitlines()) == 1 and "5 artifacts" in manifest.stdout
    run_cli("shot", "done", "SH010", cwd=project)

    shot = run_cli("shot", "show", "SH010", "--json", cwd=project).json()["shot"]
    assert shot["status"] == "DONE"
    assert [h["to"] for h in shot["history"]] == ["IN_PROGRESS", "QC", "DONE"]
    manifest_file = project / shot["manifest_ref"]["path"]
    assert manifest_file == project / "shots/SH010/manifests/v0001/manifest.json"
    assert shot["manifest_ref"]["sha256"] == sha256_of(manifest_file)
    assert stat.S_IMODE(manifest_file.stat().st_mode) == 0o444

    # the manifest: canonical, sorted, every file with its size and the reference digest
    data = json.loads(manifest_file.read_bytes())
    assert manifest_file.read_bytes() == (json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()
    paths = [a["path"] for a in data["artifacts"]]
    assert paths == sorted(paths) and len(paths) == 5
    for artifact in data["artifacts"]:
        on_disk = project / artifact["path"]
        assert artifact["size"] == on_disk.stat().st_size
        assert artifact["sha256"] == sha256_of(on_disk)
    roles = {a["path"].rsplit("/", 1)[1]: a.get("role") for a in data["artifacts"]}
    assert roles["preview.mp4"] == "preview" and roles["qc.json"] == "qc" and roles["sh010.1001.exr"] == "frame"
    assert data["schema"] == "cinev4/manifest@1" and data["created_utc"].endswith("Z")
    assert shot["artifacts"] == data["artifacts"]

    verify = run_cli("verify", "SH010", "--json", cwd=project).json()
    assert verify["ok"] and verify["exit_code"] == 0 and verify["files_hashed"] == 5 and verify["hashes_checked"]
    run_cli("verify", "--all", cwd=project)

    # release without --to
    published = run_cli("release", "publish", "R1", "SH010", "--json", cwd=project).json()
    record_file = project / "releases/R1/release.json"
    record = json.loads(record_file.read_text())
    assert published["record"] == record
    assert record["shots"] == [{
        "shot_id": "SH010", "version": "v0001", "manifest_path": "shots/SH010/manifests/v0001/manifest.json",
        "manifest_sha256": sha256_of(manifest_file), "artifact_count": 5,
        "total_bytes": sum(a["size"] for a in data["artifacts"]),
    }]
    assert record["totals"]["artifacts"] == 5
    assert stat.S_IMODE(record_file.stat().st_mode) == 0o444

    # release with --to: the copy is made, verified, and the record written there too
    dest = tmp_path / "delivery"
    run_cli("release", "publish", "R2", "SH010", "--to", str(dest), cwd=project)
    for path in paths + ["shots/SH010/manifests/v0001/manifest.json", "releases/R2/release.json"]:
        assert (dest / path).is_file(), path
    for path in paths:
        assert sha256_of(dest / path) == sha256_of(project / path)
    assert (dest / "releases/R2/release.json").read_bytes() == (project / "releases/R2/release.json").read_bytes()
    # the delivered copy verifies on its own, pinned by its release record
    copy_report = run_cli("verify", "--manifest", str(dest / "shots/SH010/manifests/v0001/manifest.json"), "--json",
                          cwd=tmp_path).json()
    assert copy_report["ok"] and "releases/R2/release.json" in copy_report["notes"][0]

    status = run_cli("status", "--json", cwd=project).json()
    assert status["counts"] == {"DONE": 1} and status["shots"][0]["artifacts"] == 5
    assert outputs.is_dir()


def test_project_found_by_walking_up_or_by_option(project: Path, tmp_path: Path) -> None:
    run_cli("shot", "new", "SH010", cwd=project)
    deep = project / "shots" / "SH010" / "outputs" / "v0001"
    assert "SH010" in run_cli("shot", "list", cwd=deep).stdout
    assert "SH010" in run_cli("shot", "list", "--project", str(project), cwd=tmp_path).stdout
    assert "SH010" in run_cli("shot", "list", cwd=tmp_path, env={"CINEV4_PROJECT": str(project)}).stdout
    lost = run_cli("status", cwd=tmp_path, expect=2)
    assert "no project.json" in lost.stderr
    wrong = run_cli("status", "--project", str(project / "shots"), cwd=tmp_path, expect=2)
    assert "not a cinev4 project root" in wrong.stderr


def test_same_files_give_the_same_manifest_bytes(tmp_path: Path) -> None:
    epoch = {"SOURCE_DATE_EPOCH": "1714564800"}
    manifests = []
    for name in ("a", "b"):
        root = tmp_path / name
        run_cli("init", str(root), "--id", "FILM01", cwd=tmp_path, env=epoch)
        run_cli("shot", "new", "SH010", cwd=root, env=epoch)
        render(root, frames=4)
        run_cli("manifest", "SH010", cwd=root, env=epoch)
        manifests.append((root / "shots/SH010/manifests/v0001/manifest.json").read_bytes())
    assert manifests[0] == manifests[1]
    assert b'"created_utc": "2024-05-01T12:00:00Z"' in manifests[0]
    assert (tmp_path / "a/project.json").read_bytes() == (tmp_path / "b/project.json").read_bytes()


def test_non_strict_project_reproduces_a_new_version(mutable_project: Path, tmp_path: Path) -> None:
    root = mutable_project
    run_cli("shot", "new", "SH010", cwd=root)
    render(root)
    run_cli("manifest", "SH010", cwd=root)
    run_cli("shot", "qc", "SH010", cwd=root)
    run_cli("shot", "done", "SH010", cwd=root)
    # re-manifesting the same version is refused whatever the policy
    again = run_cli("manifest", "SH010", cwd=root, expect=2)
    assert again.stderr == "cinev4: error: the shot is DONE; reopen it and start a new version to manifest new outputs\n"
    run_cli("shot", "reopen", "SH010", "--reason", "client notes", cwd=root)
    new = run_cli("shot", "new-version", "SH010", "--json", cwd=root).json()["shot"]
    assert new["version"] == "v0002" and new["manifest_ref"] is None and new["status"] == "IN_PROGRESS"
    assert new["history"][-1]["reason"] == "new version v0002 (was v0001)"
    render(root, version="v0002", seed=2)
    run_cli("manifest", "SH010", cwd=root)
    run_cli("shot", "qc", "SH010", cwd=root)
    run_cli("shot", "done", "SH010", cwd=root)
    run_cli("verify", "SH010", cwd=root)
    # the old manifest stays valid for the old version only
    run_cli("verify", "--manifest", str(root / "shots/SH010/manifests/v0001/manifest.json"), cwd=tmp_path)
    # non-strict: DONE -> FAIL -> reopen is allowed
    run_cli("shot", "fail", "SH010", "--reason", "lost the plate", cwd=root)
    failed = run_cli("shot", "show", "SH010", "--json", cwd=root).json()["shot"]
    assert failed["fail_reason"] == "lost the plate"
    reopened = run_cli("shot", "reopen", "SH010", "--json", cwd=root).json()["shot"]
    assert "fail_reason" not in reopened and reopened["history"][-2]["reason"] == "lost the plate"
    run_cli("shot", "qc", "SH010", cwd=root)
    run_cli("shot", "done", "SH010", cwd=root)
    run_cli("release", "publish", "R1", "SH010", cwd=root)
    record = json.loads((root / "releases/R1/release.json").read_text())
    assert record["shots"][0]["version"] == "v0002"
    # released under the non-strict policy: the released version is never re-manifested, but the shot
    # may go on in a new version, and the released v0002 stays pinned by R1 (ADR-0004)
    refused = run_cli("manifest", "SH010", cwd=root, expect=2)
    assert "manifest refused: v0002 of the shot was released (releases/R1/release.json)" in refused.stderr
    run_cli("shot", "reopen", "SH010", "--reason", "client notes after delivery", cwd=root)
    run_cli("shot", "new-version", "SH010", cwd=root)
    render(root, version="v0003", seed=3)
    run_cli("manifest", "SH010", cwd=root)
    run_cli("verify", "--all", cwd=root)
    released_file = root / "shots/SH010/outputs/v0002/preview.mp4"
    released_file.chmod(0o644)
    released_file.write_bytes(b"rewritten after delivery")
    caught = run_cli("verify", "--all", "--json", cwd=root, expect=1).json()
    assert [(p["kind"], p["path"]) for m in caught["manifests"] for p in m["problems"]] == [
        ("size_differs", "shots/SH010/outputs/v0002/preview.mp4")]
    # a strict project, though, never unfreezes a shot: see test_gate_trust


def test_manifest_hook_output_is_machine_readable(project: Path) -> None:
    run_cli("shot", "new", "SH010", cwd=project)
    render(project)
    result = run_cli("manifest", "SH010", "--json", cwd=project).json()
    assert result["ok"] and result["artifact_count"] == 5 and result["adopted"] is False
    assert result["manifest_sha256"] == sha256_of(project / result["manifest_path"])
    listing = run_cli("shot", "list", "--json", cwd=project).json()
    assert listing["shots"][0]["manifest_ref"]["sha256"] == result["manifest_sha256"]


def test_many_shots_verified_in_one_batch(project: Path) -> None:
    for index in range(1, 4):
        shot = f"SH0{index}0"
        run_cli("shot", "new", shot, cwd=project)
        render(project, shot=shot, frames=index * 2, seed=index)
        run_cli("manifest", shot, cwd=project)
    run_cli("shot", "new", "SH099", cwd=project)  # no manifest yet: --all skips it with a note
    report = run_cli("verify", "--all", "--json", cwd=project).json()
    assert report["ok"] and len(report["manifests"]) == 3
    assert report["files_hashed"] == (2 + 2) + (4 + 2) + (6 + 2)  # frames + preview + qc.json
    assert any("SH099" in note for note in report["notes"])
    named = run_cli("verify", "SH010", "SH099", cwd=project, expect=1)
    assert "no_manifest" in named.stdout


def test_x_extension_keys_survive_rewrites_and_unknown_keys_do_not_load(project: Path) -> None:
    run_cli("shot", "new", "SH010", cwd=project)
    shot_file = project / "shots/SH010/shot.json"
    record = json.loads(shot_file.read_text())
    record["x-studio"] = {"department": "comp", "ticket": 4711}
    shot_file.write_text(json.dumps(record))
    run_cli("shot", "qc", "SH010", cwd=project)  # the record is rewritten
    after = json.loads(shot_file.read_text())
    assert after["x-studio"] == {"department": "comp", "ticket": 4711} and after["status"] == "QC"
    project_file = project / "project.json"
    data = json.loads(project_file.read_text())
    data["x-pipeline"] = "v2"
    project_file.write_text(json.dumps(data))
    run_cli("status", cwd=project)
    data["pipeline"] = "v2"
    project_file.write_text(json.dumps(data))
    assert "'pipeline' was unexpected" in run_cli("status", cwd=project, expect=2).stderr
