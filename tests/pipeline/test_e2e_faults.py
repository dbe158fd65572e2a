"""Bad input and faults, each for real through the installed CLI: a clear
one-line error, exit 1 or 2, and nothing half-written."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from helpers import pin, render, rewrite, run_cli

MANIFEST = "shots/SH010/manifests/v0001/manifest.json"
OUT = "shots/SH010/outputs/v0001"


def problems(result) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    return [(p["kind"], p["path"]) for m in result.json()["manifests"] for p in m["problems"]]


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


# --- verification failures: exit 1, every problem reported ---------------------------------------

def test_manifest_edited_by_one_byte(done: Path) -> None:
    manifest = done / MANIFEST
    data = bytearray(manifest.read_bytes())
    data[data.index(b'"FILM01"') + 1] = ord("G")  # project id FILM01 -> GILM01
    rewrite(manifest, bytes(data))
    result = run_cli("verify", "SH010", "--json", cwd=done, expect=2)  # edited, and now of another project
    kinds = {k for k, _ in problems(result)}
    assert {"manifest_edited", "manifest_mismatch"} <= kinds
    # an edit that keeps it valid and of this shot: exit 1
    data[data.index(b'"GILM01"') + 1] = ord("F")
    body = bytes(data).replace(b'"hash_alg": "sha256"', b'"hash_alg": "sha256" ')
    rewrite(manifest, body)
    result = run_cli("verify", "SH010", "--json", cwd=done, expect=1)
    assert problems(result) == [("manifest_edited", MANIFEST)]
    gate = run_cli("release", "check", "SH010", cwd=done, expect=1)
    assert "manifest_edited" in gate.stdout and gate.stderr.startswith("cinev4: error: release gate failed")


def test_artifact_changes_all_reported_together(done: Path) -> None:
    out = done / OUT
    frame = out / "sh010.1001.exr"
    data = bytearray(frame.read_bytes())
    data[100] ^= 0x01  # one bit, same size
    frame.write_bytes(bytes(data))
    (out / "sh010.1002.exr").unlink()
    (out / "sh010.1003.exr").write_bytes(b"short")
    (out / "stray.tmp").write_bytes(b"left behind")
    (out / "sub").mkdir()
    (out / "sub" / "deep.txt").write_bytes(b"x")
    result = run_cli("verify", "SH010", "--json", cwd=done, expect=1)
    assert sorted(problems(result)) == sorted([
        ("hash_differs", f"{OUT}/sh010.1001.exr"),
        ("missing", f"{OUT}/sh010.1002.exr"),
        ("size_differs", f"{OUT}/sh010.1003.exr"),
        ("extra", f"{OUT}/stray.tmp"),
        ("extra", f"{OUT}/sub/deep.txt"),
    ])
    text = run_cli("verify", "SH010", cwd=done, expect=1)
    assert text.stdout.count("\n  ") == 5 and "FAILED: 5 problem(s)" in text.stdout
    assert len(text.stderr.splitlines()) == 1


def test_sizes_only_says_no_hash_was_checked(done: Path) -> None:
    frame = done / OUT / "sh010.1001.exr"
    data = bytearray(frame.read_bytes())
    data[0] ^= 0xFF
    frame.write_bytes(bytes(data))
    quick = run_cli("verify", "SH010", "--sizes-only", cwd=done)  # same size: not caught, and it says so
    assert "NO SHA-256 was checked" in quick.stdout
    report = run_cli("verify", "SH010", "--sizes-only", "--json", cwd=done).json()
    assert report["hashes_checked"] is False and report["files_hashed"] == 0
    run_cli("verify", "SH010", cwd=done, expect=1)  # the full check catches it
    frame.unlink()
    run_cli("verify", "SH010", "--sizes-only", cwd=done, expect=1)


def test_failed_gate_changes_no_shot_and_writes_no_record(done: Path, tmp_path: Path) -> None:
    run_cli("shot", "new", "SH020", cwd=done)  # not DONE, no manifest
    before = snapshot(done)
    dest = tmp_path / "dest"
    result = run_cli("release", "publish", "R1", "SH010", "SH020", "--to", str(dest), "--json", cwd=done, expect=1)
    kinds = {k for k, _ in problems(result)}
    assert kinds == {"not_done", "no_manifest"}
    assert snapshot(done) == before
    assert not (done / "releases/R1").exists() and not dest.exists()
    (done / OUT / "qc.json").write_text('{"approved": false}\n')
    run_cli("release", "publish", "R1", "SH010", cwd=done, expect=1)
    assert not (done / "releases/R1").exists()


def test_release_written_once(done: Path) -> None:
    run_cli("release", "publish", "R1", "SH010", cwd=done)
    again = run_cli("release", "publish", "R1", "SH010", cwd=done, expect=2)
    assert "already exists" in again.stderr
    run_cli("release", "publish", "../R2", "SH010", cwd=done, expect=2)
    run_cli("release", "publish", "R3", "SH010", "SH010", cwd=done, expect=2)  # a shot named twice


# --- hostile manifests: exit 2, nothing outside the root is read --------------------------------

@pytest.mark.parametrize(
    "path,fragment",
    [
        ("/etc/hostname", "absolute"),
        ("shots/SH010/outputs/v0001/../../../../../etc/hostname", "'..'"),
        ("shots\\SH010\\outputs\\v0001\\qc.json", "backslash"),
        ("project.json", "outside the version folder"),
        ("shots/SH010/outputs/v0001/qc.json", "listed 2 times"),
    ],
)
def test_hostile_manifest_paths(done: Path, path: str, fragment: str) -> None:
    data = json.loads((done / MANIFEST).read_bytes())
    qc = next(a for a in data["artifacts"] if a["path"].endswith("qc.json"))
    data["artifacts"].append({**qc, "path": path})
    pin(done, "SH010", json.dumps(data, indent=2).encode())
    result = run_cli("verify", "SH010", "--json", cwd=done, expect=2)
    details = [p["detail"] for m in result.json()["manifests"] for p in m["problems"]]
    assert any(fragment in d for d in details), details
    assert all(p["kind"] == "unsafe_path" for m in result.json()["manifests"] for p in m["problems"])
    run_cli("release", "check", "SH010", cwd=done, expect=2)


def test_artifact_replaced_by_symlink_out_of_root(done: Path, tmp_path: Path) -> None:
    frame = done / OUT / "sh010.1001.exr"
    outside = tmp_path / "outside.exr"
    outside.write_bytes(frame.read_bytes())  # same bytes: only the location is wrong
    frame.unlink()
    os.symlink(outside, frame)
    result = run_cli("verify", "SH010", "--json", cwd=done, expect=2)
    assert ("unsafe_path", f"{OUT}/sh010.1001.exr") in problems(result)


def test_manifest_refuses_symlink_out_of_root(project: Path, tmp_path: Path) -> None:
    run_cli("shot", "new", "SH010", cwd=project)
    out = render(project)
    (tmp_path / "secret").write_bytes(b"not yours")
    os.symlink(tmp_path / "secret", out / "link.exr")
    result = run_cli("manifest", "SH010", cwd=project, expect=2)
    assert "link.exr is a symlink that resolves outside the project root" in result.stderr
    assert not (project / MANIFEST).exists()
    (out / "link.exr").unlink()
    os.symlink(out / "qc.json", out / "inner-link.json")  # inside the root: not followed either
    inner = run_cli("manifest", "SH010", cwd=project, expect=2)
    assert inner.stderr == (f"cinev4: error: {OUT}/inner-link.json is a symlink (not followed: no symlink is "
                            "followed below the project root; copy the file instead)\n")
    (out / "inner-link.json").unlink()
    run_cli("manifest", "SH010", cwd=project)
    run_cli("verify", "SH010", cwd=project)


def test_manifest_refuses_symlinked_version_folder(project: Path, tmp_path: Path) -> None:
    run_cli("shot", "new", "SH010", cwd=project)
    elsewhere = render(tmp_path / "elsewhere")
    version = project / OUT
    version.rmdir()
    os.symlink(elsewhere, version)
    result = run_cli("manifest", "SH010", cwd=project, expect=2)
    assert "outside the project root" in result.stderr
    assert not (project / MANIFEST).exists()


def test_manifest_refuses_undecodable_and_control_file_names(project: Path) -> None:
    run_cli("shot", "new", "SH010", cwd=project)
    out = render(project)
    bad = os.fsencode(out) + b"/frame\xff.exr"
    with open(bad, "wb") as handle:
        handle.write(b"x")
    result = run_cli("manifest", "SH010", cwd=project, expect=2)
    assert "not valid UTF-8" in result.stderr
    os.unlink(bad)
    (out / "new\nline.exr").write_bytes(b"x")
    result = run_cli("manifest", "SH010", cwd=project, expect=2)
    assert "control character" in result.stderr and len(result.stderr.splitlines()) == 1
    (out / "new\nline.exr").unlink()
    (out / "back\\slash.exr").write_bytes(b"x")
    run_cli("manifest", "SH010", cwd=project, expect=2)
    assert not (project / MANIFEST).exists()


def test_empty_version_folder_is_an_error(project: Path) -> None:
    run_cli("shot", "new", "SH010", cwd=project)
    result = run_cli("manifest", "SH010", cwd=project, expect=2)
    assert "is empty" in result.stderr
    assert not (project / MANIFEST).exists() and not (project / "shots/SH010/manifests/v0001").exists()


def test_fifo_in_outputs_is_refused(project: Path) -> None:
    run_cli("shot", "new", "SH010", cwd=project)
    out = render(project)
    os.mkfifo(out / "pipe.exr")
    result = run_cli("manifest", "SH010", cwd=project, expect=2, timeout=30)
    assert "not a regular file" in result.stderr


# --- broken documents: exit 2 with file, JSON path and expectation --------------------------------

def _edit_shot(root: Path, change) -> None:  # type: ignore[no-untyped-def]
    shot_file = root / "shots/SH010/shot.json"
    record = json.loads(shot_file.read_text())
    change(record)
    shot_file.write_text(json.dumps(record))


@pytest.mark.parametrize(
    "edit,fragment",
    [
        (lambda r: r.pop("status"), '$: "status" is a required property'),
        (lambda r: r.update(status=3), "$.status"),
        (lambda r: r.update(version="1"), "$.version"),
        (lambda r: r["history"][0].update(utc="2024-05-01 12:00:00"), "$.history[0].utc"),
        (lambda r: r.update(colour="red"), "'colour' was unexpected"),
        (lambda r: r.update(project_id="OTHER"), "$.project_id: 'OTHER' is not this project"),
        (lambda r: r.update(id="SH020"), "does not match its folder"),
    ],
)
def test_broken_shot_record(manifested: Path, edit, fragment: str) -> None:  # type: ignore[no-untyped-def]
    _edit_shot(manifested, edit)
    result = run_cli("shot", "show", "SH010", cwd=manifested, expect=2)
    assert "shots/SH010/shot.json" in result.stderr and fragment in result.stderr
    run_cli("verify", "SH010", cwd=manifested, expect=2)


def test_invalid_utf8_and_json_and_duplicate_keys(manifested: Path) -> None:
    shot_file = manifested / "shots/SH010/shot.json"
    good = shot_file.read_bytes()
    shot_file.write_bytes(good.replace(b'"created"', b'"cr\xe9ated"'))
    result = run_cli("shot", "show", "SH010", cwd=manifested, expect=2)
    assert "shots/SH010/shot.json: line" in result.stderr and "not valid UTF-8" in result.stderr
    shot_file.write_bytes(good[:-10])
    assert "invalid JSON" in run_cli("shot", "qc", "SH010", cwd=manifested, expect=2).stderr
    shot_file.write_bytes(good.replace(b'"status": "QC"', b'"status": "QC", "status": "DONE"'))
    assert '$.status: duplicate key "status"' in run_cli("status", cwd=manifested, expect=2).stderr
    shot_file.write_bytes(good)
    project_file = manifested / "project.json"
    project_file.write_bytes(project_file.read_bytes().replace(b'"relative"', b'"absolute"'))
    result = run_cli("status", "--json", cwd=manifested, expect=2)
    assert "project.json: $.policy.path_mode" in result.stderr
    assert result.json()["ok"] is False and result.json()["exit_code"] == 2


def test_manifest_invalid_after_creation(done: Path) -> None:
    manifest = done / MANIFEST
    data = json.loads(manifest.read_bytes())
    data["artifacts"][0]["sha256"] = data["artifacts"][0]["sha256"].upper()
    data["artifacts"][1]["size"] = -1
    data["extra_field"] = True
    pin(done, "SH010", json.dumps(data).encode())
    result = run_cli("verify", "SH010", "--json", cwd=done, expect=2)
    details = " | ".join(p["detail"] for m in result.json()["manifests"] for p in m["problems"])
    assert "$.artifacts[0].sha256" in details and "$.artifacts[1].size" in details and "extra_field" in details
    pin(done, "SH010", b"\xff\xfe not json")
    run_cli("verify", "SH010", cwd=done, expect=2)


def test_unsafe_shot_ids_create_nothing(project: Path) -> None:
    before = sorted(p.name for p in (project / "shots").iterdir())
    for bad in ["../escape", "a/b", ".hidden", "-rf", "sp ace", "x" * 65, "ÄÖ"]:
        result = run_cli("shot", "new", "--", bad, cwd=project, expect=2)
        assert "is not a safe name" in result.stderr
    assert sorted(p.name for p in (project / "shots").iterdir()) == before
    assert not (project.parent / "escape").exists()
    run_cli("manifest", "../../etc", cwd=project, expect=2)
    run_cli("verify", "../SH010", cwd=project, expect=2)


# An argument that is not UTF-8 reaches Python as a str with a lone surrogate ("\udcff"
# for the byte 0xff), which the schema validator cannot even read.
NOT_UTF8 = "SH0\udcff"


@pytest.mark.parametrize("command", [["shot", "new"], ["shot", "qc"], ["shot", "done"], ["manifest"], ["verify"],
                                     ["release", "check"], ["release", "publish", "R1"], ["init", "--id"]],
                         ids=" ".join)
def test_an_id_that_is_not_utf8_is_one_line_exit_2(project: Path, command: list[str]) -> None:
    before = sorted(str(p.relative_to(project)) for p in project.rglob("*"))
    args = [*command, NOT_UTF8] if command != ["init", "--id"] else ["init", "fresh", "--id", NOT_UTF8]
    result = run_cli(*args, cwd=project, expect=2)
    [line] = result.stderr.splitlines()
    assert line.startswith("cinev4: error: ") and "'SH0\\udcff' is not a safe name" in line, line
    assert sorted(str(p.relative_to(project)) for p in project.rglob("*")) == before


def test_a_release_id_that_is_not_utf8_is_refused(project: Path) -> None:
    result = run_cli("release", "publish", "R\udcfe", "SH010", cwd=project, expect=2)
    assert "release id 'R\\udcfe' is not a safe name" in result.stderr


@pytest.mark.parametrize("command", [["shot", "qc", "SH010", "--reason"], ["shot", "fail", "SH010", "--reason"]],
                         ids=" ".join)
def test_free_text_that_is_not_utf8_is_one_line_exit_2(project: Path, command: list[str]) -> None:
    run_cli("shot", "new", "SH010", cwd=project)
    render(project)
    before = (project / "shots/SH010/shot.json").read_bytes()
    result = run_cli(*command, "why\udcff", cwd=project, expect=2)
    lines = result.stderr.splitlines()  # one line per field that holds it (fail: the history and fail_reason)
    assert lines and all(line.startswith("cinev4: error: $.") and line.endswith(
        "holds text that is not UTF-8 (expected UTF-8 text)") for line in lines), lines
    assert any("reason" in line for line in lines), lines
    assert (project / "shots/SH010/shot.json").read_bytes() == before


def test_a_project_name_that_is_not_utf8_makes_no_folder(tmp_path: Path) -> None:
    result = run_cli("init", "proj", "--id", "FILM01", "--name", "bad\udcff", cwd=tmp_path, expect=2)
    assert result.stderr.splitlines() == [
        "cinev4: error: $.name: holds text that is not UTF-8 (expected UTF-8 text)"], result.stderr
    assert not (tmp_path / "proj").exists()


# '²' and '٣' pass str.isdigit (int('²') raised, '٣' was read as 3); 253402300800 is year 10000,
# which no date-time of the schemas can hold (it failed as two schema errors blaming shot.json).
@pytest.mark.parametrize("epoch", ["tomorrow", "\u00b2", "\u0663", "-1", "1e9", "253402300800"])
def test_source_date_epoch_malformed(project: Path, epoch: str) -> None:
    result = run_cli("shot", "new", "SH010", cwd=project, env={"SOURCE_DATE_EPOCH": epoch}, expect=2)
    assert result.stderr.splitlines() == [
        f"cinev4: error: SOURCE_DATE_EPOCH={epoch!r} is not valid (expected a non-negative integer of seconds, "
        "at most 253402300799: 9999-12-31T23:59:59Z)"], result.stderr
    assert not (project / "shots/SH010/shot.json").exists()


def test_source_date_epoch_last_second(project: Path) -> None:
    run_cli("shot", "new", "SH010", cwd=project, env={"SOURCE_DATE_EPOCH": "253402300799"})
    assert '"9999-12-31T23:59:59Z"' in (project / "shots/SH010/shot.json").read_text()


@pytest.mark.parametrize("reason", ["line1\nline2", "\x01\x1b[31mred", "tab\there", "del\x7f", "c1\x85"])
@pytest.mark.parametrize("command", [("shot", "fail", "SH010"), ("shot", "qc", "SH010")])
def test_a_reason_with_control_characters_is_refused(project: Path, command: tuple[str, ...], reason: str) -> None:
    # Accepted before: `shot show` then printed the newline and the escape sequence raw.
    run_cli("shot", "new", "SH010", cwd=project)
    render(project)
    before = (project / "shots/SH010/shot.json").read_bytes()
    result = run_cli(*command, "--reason", reason, cwd=project, expect=2)
    [line] = result.stderr.splitlines()
    assert line.startswith("cinev4: error: a reason is one line of text without control characters (it holds "), line
    assert (project / "shots/SH010/shot.json").read_bytes() == before


def test_api_arguments_of_the_wrong_type_are_type_errors(project: Path) -> None:
    from cinev4.pipeline import create_shot, load_project
    from cinev4.pipeline.shots import mark_fail

    loaded = load_project(project, search=False)
    with pytest.raises(TypeError, match="^frames must be a FrameRange"):
        create_shot(loaded, "SH020", "1-10")  # type: ignore[arg-type]
    assert not (project / "shots/SH020").exists()
    create_shot(loaded, "SH010")
    with pytest.raises(TypeError, match="^a reason is text"):
        mark_fail(loaded, "SH010", None)  # type: ignore[arg-type]
    from cinev4.pipeline import init_project

    with pytest.raises(TypeError, match="^mutable_outputs must be True or False, not 'no'$"):
        init_project(project.parent / "other", "FILM02", mutable_outputs="no")  # type: ignore[arg-type]
    assert not (project.parent / "other").exists()


def test_init_twice_and_bad_project_id(project: Path, tmp_path: Path) -> None:
    assert "already exists" in run_cli("init", str(project), "--id", "OTHER", cwd=tmp_path, expect=2).stderr
    run_cli("init", str(tmp_path / "x"), "--id", "../bad", cwd=tmp_path, expect=2)
    assert not (tmp_path / "x" / "project.json").exists()


# --- refused transitions: exit 2 with the reason --------------------------------------------------

def test_refused_transitions(project: Path) -> None:
    run_cli("shot", "new", "SH010", cwd=project)
    assert "done needs QC, the shot is IN_PROGRESS" in run_cli("shot", "done", "SH010", cwd=project, expect=2).stderr
    assert "already IN_PROGRESS" in run_cli("shot", "reopen", "SH010", cwd=project, expect=2).stderr
    assert "immutable_outputs" in run_cli("shot", "new-version", "SH010", cwd=project, expect=2).stderr
    run_cli("shot", "fail", "SH010", cwd=project, expect=2)  # --reason is required (usage error)
    assert "already exists" in run_cli("shot", "new", "SH010", cwd=project, expect=2).stderr
    assert "no shot SH404" in run_cli("shot", "qc", "SH404", cwd=project, expect=2).stderr
    run_cli("shot", "fail", "SH010", "--reason", "render crashed", cwd=project)
    for command in (("shot", "reopen", "SH010"), ("shot", "qc", "SH010"), ("manifest", "SH010")):
        result = run_cli(*command, cwd=project, expect=2)
        assert "FAIL" in result.stderr
    history = run_cli("shot", "show", "SH010", "--json", cwd=project).json()["shot"]["history"]
    assert [h["to"] for h in history] == ["IN_PROGRESS", "FAIL"]  # refusals leave no trace


def test_done_gate_lists_every_reason(project: Path) -> None:
    run_cli("shot", "new", "SH010", cwd=project)
    (project / OUT / "frame.0001.exr").write_bytes(b"frame")
    (project / OUT / "qc.json").write_bytes(b'{"approved": true,}')
    run_cli("shot", "qc", "SH010", cwd=project)
    result = run_cli("shot", "done", "SH010", cwd=project, expect=2)
    lines = result.stderr.splitlines()
    assert len(lines) == 4, lines
    assert "qc.json: line 1" in lines[0] and "no preview" in lines[1] and "no manifest" in lines[2]
    assert lines[3] == ("cinev4: error: shot SH010: add what is missing to shots/SH010/outputs/v0001/, then: "
                        "cinev4 manifest SH010, cinev4 shot done SH010")
    render(project)
    run_cli("manifest", "SH010", cwd=project)
    (project / OUT / "preview.mp4").write_bytes(b"changed after the manifest")
    result = run_cli("shot", "done", "SH010", cwd=project, expect=2)
    assert "manifest does not verify: size_differs" in result.stderr
    assert run_cli("shot", "show", "SH010", "--json", cwd=project).json()["shot"]["status"] == "QC"


def test_strict_done_is_final(done: Path) -> None:
    strict = "the project is strict (immutable_outputs: true)"
    forward = "new work goes under a new shot id (cinev4 shot new NEW_ID)"
    for command, error in (
        (("shot", "reopen", "SH010"), f"shot SH010: DONE is terminal: {strict}; {forward}"),
        (("shot", "fail", "SH010", "--reason", "x"), f"shot SH010: DONE is terminal: {strict}; {forward}"),
        (("manifest", "SH010"), f"the shot is DONE; re-manifesting is refused: {strict}"),
        (("shot", "new-version", "SH010"),
         f"shot SH010: new-version needs immutable_outputs: false; {strict}; {forward}"),
    ):
        result = run_cli(*command, cwd=done, expect=2)
        assert result.stderr == f"cinev4: error: {error}\n", command
