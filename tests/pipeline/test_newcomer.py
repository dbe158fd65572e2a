"""A newcomer following only the README and the error lines never gets stuck.

The first test runs the README's own command list (the block between the
``newcomer-flow`` markers) line by line; the others walk the ways a strict
shot used to get stranded, and the commands that check many shots or a
whole delivery at once.
"""
from __future__ import annotations

import json
import os
import shlex
import shutil
from pathlib import Path

import pytest

from helpers import make_writable, render, run_cli

README = Path(__file__).resolve().parents[2] / "README.md"
# The README, LICENSE and MANIFEST.in are the source tree's: the wheel check and cibuildwheel run
# this suite from a copy of tests/ beside the installed wheel, where they are not.
needs_source_tree = pytest.mark.skipif(not README.is_file(),
                                       reason="reads the source tree's README and packaging files")
OUT = "shots/SH010/outputs/v0001"
MANIFEST = "shots/SH010/manifests/v0001/manifest.json"


def _readme_flow() -> list[str]:
    text = README.read_text(encoding="utf-8")
    block = text.split("<!-- newcomer-flow -->", 1)[1].split("<!-- /newcomer-flow -->", 1)[0]
    return [line for line in block.splitlines() if line and not line.startswith("```")]


def _frames(out: Path, frames: range) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for frame in frames:
        (out / f"sh010.{frame}.exr").write_bytes(f"frame {frame}".encode() * 100)


def _review(out: Path) -> None:
    (out / "qc.json").write_text('{"approved": true}\n')
    (out / "preview.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42 preview")


@pytest.fixture
def here(tmp_path: Path):  # type: ignore[no-untyped-def]
    yield tmp_path
    make_writable(tmp_path)


@needs_source_tree
def test_the_readme_command_list_runs_in_its_order(here: Path) -> None:
    lines = _readme_flow()
    assert lines[0] == "cinev4 init film01 --id FILM01 && cd film01"
    run_cli(*shlex.split(lines[0].split("&&")[0])[1:], cwd=here)
    project = here / "film01"
    steps = 0
    for line in lines[1:]:
        if line.startswith("# the render writes"):
            _frames(project / OUT, range(1001, 1004))
            continue
        if line.startswith("# the review writes"):
            _review(project / OUT)
            continue
        args = shlex.split(line, comments=True)
        assert args[0] == "cinev4", line
        result = run_cli(*args[1:], cwd=project)
        steps += 1
        if args[1:3] == ["shot", "qc"]:  # says what DONE still needs, and what to run next
            assert result.stdout.splitlines() == [
                "SH010: QC (v0001)",
                "  missing for DONE: no qc.json (a JSON object: the review's result) among the outputs of v0001 "
                f"({OUT}/)",
                "  missing for DONE: no preview (a file named preview.*) among the outputs of v0001",
                "  missing for DONE: no manifest for v0001 (run: cinev4 manifest SH010)",
                "next: cinev4 manifest SH010 (once all is there)",
            ]
    assert steps == 7
    delivered = here / "delivery" / "releases" / "R1" / "release.json"
    assert json.loads(delivered.read_text())["shots"][0]["shot_id"] == "SH010"
    assert run_cli("shot", "show", "SH010", "--json", cwd=project).json()["shot"]["status"] == "DONE"


def test_strict_manifest_is_not_sealed_before_the_review_and_says_what_to_do(project: Path) -> None:
    run_cli("shot", "new", "SH010", "--frames", "1001-1004", cwd=project)
    _frames(project / OUT, (1001, 1002, 1004))
    (project / OUT / "qc.json").write_text("42\n")  # parseable JSON, but not a review's result
    refused = run_cli("manifest", "SH010", cwd=project, expect=2)
    prefix = "cinev4: error: shot SH010: manifest refused, nothing written: "
    assert refused.stderr.splitlines() == [
        f"{prefix}{OUT}/qc.json: holds a JSON number, not a JSON object (the review's result, "
        'e.g. {"approved": true})',
        f"{prefix}no preview (a file named preview.*) among the outputs of v0001",
        f"{prefix}missing frames: sh010.[1003].exr: 1 of 4 frames missing (expected 1001-1004)",
        "cinev4: error: shot SH010: the project is strict: a manifest is written once and shot done needs it to "
        f"hold all of the above; add what is missing to {OUT}/, then run: cinev4 manifest SH010",
    ]
    assert refused.stdout == ""
    assert not (project / "shots/SH010/manifests").exists()
    assert run_cli("shot", "show", "SH010", "--json", cwd=project).json()["shot"]["manifest_ref"] is None
    as_json = run_cli("manifest", "SH010", "--json", cwd=project, expect=2).json()
    assert (as_json["ok"], as_json["exit_code"], len(as_json["errors"])) == (False, 2, 4)
    # What was missing is added: the manifest is written, and DONE passes.
    _frames(project / OUT, (1003,))
    _review(project / OUT)
    run_cli("shot", "qc", "SH010", cwd=project)
    run_cli("manifest", "SH010", cwd=project)
    run_cli("shot", "done", "SH010", cwd=project)
    again = run_cli("shot", "done", "SH010", cwd=project, expect=2)
    assert again.stderr == "cinev4: error: shot SH010 is already DONE (v0001): nothing to do\n"


def test_a_non_strict_manifest_is_written_as_the_folder_is(mutable_project: Path) -> None:
    run_cli("shot", "new", "SH010", cwd=mutable_project)
    _frames(mutable_project / OUT, (1001,))
    run_cli("manifest", "SH010", cwd=mutable_project)  # rework comes through new-version there


def test_a_stranded_strict_shot_is_told_the_way_out(project: Path) -> None:
    """A manifest sealed before the review (the non-strict route, or an earlier cinev4): done
    refuses, and the last line names the escape: fail, then a new shot id."""
    run_cli("shot", "new", "SH010", cwd=project)
    render(project)
    run_cli("manifest", "SH010", cwd=project)
    (project / OUT / "notes.txt").write_text("added after the seal")
    run_cli("shot", "qc", "SH010", cwd=project)
    refused = run_cli("shot", "done", "SH010", cwd=project, expect=2)
    assert refused.stderr.splitlines()[-1] == (
        "cinev4: error: shot SH010: the manifest of v0001 is sealed (strict project): restore the files it pins "
        "and remove files added after it; if it cannot pass, fail the shot (cinev4 shot fail SH010 --reason TEXT) "
        "and redo the work under a new shot id (cinev4 shot new NEW_ID)")
    reopen = run_cli("shot", "new-version", "SH010", cwd=project, expect=2)
    assert reopen.stderr.rstrip("\n").endswith(
        "in a strict project the way out is to fail the shot (cinev4 shot fail SH010 --reason TEXT) and redo the "
        "work under a new shot id (cinev4 shot new NEW_ID)")
    run_cli("shot", "fail", "SH010", "--reason", "sealed too early", cwd=project)
    assert run_cli("shot", "reopen", "SH010", cwd=project, expect=2).stderr == (
        "cinev4: error: shot SH010: FAIL is terminal: the project is strict (immutable_outputs: true); "
        "redo the work under a new shot id (cinev4 shot new NEW_ID)\n")
    assert run_cli("shot", "done", "SH010", cwd=project, expect=2).stderr == (
        "cinev4: error: shot SH010: done needs QC, the shot is FAIL; redo the work under a new shot id "
        "(cinev4 shot new NEW_ID)\n")
    assert run_cli("shot", "qc", "SH010", cwd=project, expect=2).stderr == (
        "cinev4: error: shot SH010: qc needs IN_PROGRESS, the shot is FAIL; redo the work under a new shot id "
        "(cinev4 shot new NEW_ID)\n")


def test_done_before_qc_says_to_run_qc(project: Path) -> None:
    run_cli("shot", "new", "SH010", cwd=project)
    assert run_cli("shot", "done", "SH010", cwd=project, expect=2).stderr == (
        "cinev4: error: shot SH010: done needs QC, the shot is IN_PROGRESS; first: cinev4 shot qc SH010\n")
    run_cli("shot", "qc", "SH010", cwd=project)
    assert run_cli("shot", "qc", "SH010", cwd=project, expect=2).stderr == (
        "cinev4: error: shot SH010 is already QC (v0001): next: cinev4 shot done SH010\n")


def _done_shot(project: Path, shot: str) -> None:
    run_cli("shot", "new", shot, cwd=project)
    render(project, shot=shot)
    run_cli("shot", "qc", shot, cwd=project)
    run_cli("manifest", shot, cwd=project)
    run_cli("shot", "done", shot, cwd=project)


@pytest.fixture(scope="module")
def two_done_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One strict project with SH010 and SH020 DONE, made through the CLI once per module."""
    base = tmp_path_factory.mktemp("two-done")
    root = base / "proj"
    run_cli("init", str(root), "--id", "FILM01", cwd=base)
    _done_shot(root, "SH010")
    _done_shot(root, "SH020")
    return root


@pytest.fixture
def two_done(two_done_template: Path, tmp_path: Path):  # type: ignore[no-untyped-def]
    """A fresh copy of that project, in this test's own folder."""
    root = tmp_path / "proj"
    shutil.copytree(two_done_template, root, symlinks=True)
    yield root
    make_writable(tmp_path)


def test_verify_all_leaves_fail_shots_out_and_release_check_all_takes_done_shots(two_done: Path) -> None:
    project = two_done
    run_cli("shot", "new", "SH030", cwd=project)
    render(project, shot="SH030")
    run_cli("manifest", "SH030", cwd=project)
    (project / "shots/SH030/outputs/v0001/sh030.1001.exr").write_bytes(b"broken render")
    run_cli("shot", "fail", "SH030", "--reason", "broken render", cwd=project)

    text = run_cli("verify", "--all", cwd=project)
    assert "SH030 v0001: SKIPPED  FAIL shot left out (--include-failed verifies it too)" in text.stdout
    assert text.stdout.splitlines()[-1] == ("OK: 2 manifest(s), 10 artifact(s) verified (size and SHA-256); "
                                            "1 FAIL shot(s) left out")
    report = run_cli("verify", "--all", "--json", cwd=project).json()
    assert report["skipped"] == [{"shot_id": "SH030", "status": "FAIL", "version": "v0001",
                                  "reason": "FAIL shot left out (--include-failed verifies it too)"}]
    assert [m["shot_id"] for m in report["manifests"]] == ["SH010", "SH020"]
    failed = run_cli("verify", "--all", "--include-failed", "--json", cwd=project, expect=1).json()
    assert [m["shot_id"] for m in failed["manifests"] if not m["ok"]] == ["SH030"]
    assert failed["skipped"] == []
    assert run_cli("verify", "SH010", "--include-failed", cwd=project, expect=2).stderr == (
        "cinev4: error: --include-failed goes with --all (named shots are verified whatever their state) "
        "(see: cinev4 verify --help)\n")

    gate = run_cli("release", "check", "--all", "--json", cwd=project).json()
    assert [m["shot_id"] for m in gate["manifests"]] == ["SH010", "SH020"]
    assert (gate["ok"], gate["exit_code"], gate["gate"]) == (True, 0, "passed")
    assert run_cli("release", "check", "--all", "SH010", cwd=project, expect=2).stderr == (
        "cinev4: error: name shots, or give --all (every DONE shot), one of them (see: cinev4 release check --help)\n")


def test_release_check_all_without_done_shots(project: Path) -> None:
    run_cli("shot", "new", "SH010", cwd=project)
    assert run_cli("release", "check", "--all", cwd=project, expect=2).stderr == (
        "cinev4: error: project FILM01 has no DONE shot: nothing for the release gate to check\n")


def test_a_delivery_verifies_from_its_release_record(two_done: Path, tmp_path: Path) -> None:
    project = two_done
    dest = tmp_path / "delivery"
    run_cli("release", "publish", "R1", "SH010", "SH020", "--to", str(dest), cwd=project)
    record = dest / "releases" / "R1" / "release.json"
    elsewhere = tmp_path  # not inside any project: the delivery needs no project.json
    report = run_cli("verify", "--release", str(record), "--json", cwd=elsewhere).json()
    assert (report["ok"], report["exit_code"]) == (True, 0)
    assert [(m["shot_id"], m["ok"]) for m in report["manifests"]] == [("SH010", True), ("SH020", True)]
    assert report["notes"][-1] == (f"2 manifest(s) named by releases/R1/release.json (release R1), verified under "
                                   f"{dest} against the record's pins")
    # Both manifests by --manifest, given twice: both verified (not only the last).
    both = run_cli("verify", "--manifest", str(dest / MANIFEST),
                   "--manifest", str(dest / "shots/SH020/manifests/v0001/manifest.json"), "--json", cwd=elsewhere)
    assert [m["shot_id"] for m in both.json()["manifests"]] == ["SH010", "SH020"]
    # A frame damaged in the delivery, and a delivered manifest re-written: exit 1, each named.
    frame = dest / "shots/SH020/outputs/v0001/sh020.1002.exr"
    os.chmod(frame, 0o644)
    frame.write_bytes(b"damaged in transit")
    manifest = dest / MANIFEST
    os.chmod(manifest, 0o644)
    manifest.write_bytes(manifest.read_bytes() + b"\n")
    damaged = run_cli("verify", "--release", str(record), "--json", cwd=elsewhere, expect=1).json()
    kinds = {(m["shot_id"], p["kind"]) for m in damaged["manifests"] for p in m["problems"]}
    assert kinds == {("SH010", "manifest_edited"), ("SH020", "size_differs")}
    text = run_cli("verify", "--release", str(record), cwd=elsewhere, expect=1)
    assert text.stderr == ("cinev4: error: verification failed: 2 problem(s) in 2 of 2 manifest(s) "
                           "(size and SHA-256)\n")


def test_verify_release_refuses_a_path_that_is_not_a_release_record(tmp_path: Path) -> None:
    stray = tmp_path / "release.json"
    stray.write_text("{}")
    assert run_cli("verify", "--release", str(stray), cwd=tmp_path, expect=2).stderr == (
        f"cinev4: error: {stray}: not at a release record's layout place "
        "(expected <root>/releases/<RELEASE>/release.json)\n")


# --- install, packaging, completion ------------------------------------------------------------

REPO = README.parent


def test_shell_completion_offers_the_projects_shot_ids(project: Path) -> None:
    for shot in ("SH010", "SH020", "XY100"):
        run_cli("shot", "new", shot, cwd=project)
    (project / "shots" / "SH030").mkdir()  # a folder without shot.json is not a shot
    env = {"_CINEV4_COMPLETE": "bash_complete", "COMP_WORDS": "cinev4 verify SH", "COMP_CWORD": "2"}
    result = run_cli(cwd=project, env=env)
    assert result.stdout.splitlines() == ["plain,SH010", "plain,SH020"]
    env.update(COMP_WORDS="cinev4 shot done", COMP_CWORD="3")  # nothing typed yet: every shot
    assert run_cli(cwd=project, env=env).stdout.splitlines() == ["plain,SH010", "plain,SH020", "plain,XY100"]
    script = run_cli(cwd=project, env={"_CINEV4_COMPLETE": "bash_source"}).stdout
    assert "_CINEV4_COMPLETE=bash_complete" in script
    if README.is_file():  # and the README tells how to install it
        assert "_CINEV4_COMPLETE=bash_source cinev4" in README.read_text(encoding="utf-8")


def test_help_texts_name_no_file_the_package_does_not_ship(tmp_path: Path) -> None:
    for command in (("init",), ("shot", "qc"), ("verify",), ("manifest",), ("release", "check")):
        text = run_cli(*command, "--help", cwd=tmp_path).stdout
        assert "docs/" not in text and ".md" not in text and "README" not in text, command


@pytest.mark.skipif(not (REPO / "Makefile").is_file(), reason="runs from the source tree")
def test_make_demo_installs_runtime_dependencies_only_and_says_where_the_command_is(tmp_path: Path) -> None:
    import subprocess

    venv = tmp_path / "venv"  # never created: make -n only prints what it would run
    plan = subprocess.run(["make", "-n", "-C", str(REPO), "demo", f"VENV={venv}"], capture_output=True, text=True,
                          check=True).stdout
    installs = [line for line in plan.splitlines() if "pip install" in line and "--upgrade pip" not in line]
    assert installs == [f"{venv}/bin/python -m pip install --quiet ."]
    assert f"run {venv}/bin/cinev4 --help" in plan
    test_plan = subprocess.run(["make", "-n", "-C", str(REPO), "test", f"VENV={venv}"], capture_output=True,
                               text=True, check=True).stdout
    assert f"{venv}/bin/python -m pip install --quiet '.[test]'" in test_plan
    sources = subprocess.run(["make", "-n", "-p", "-C", str(REPO), f"VENV={venv}"], capture_output=True, text=True,
                             check=False).stdout
    (line,) = [line for line in sources.splitlines() if line.startswith("SOURCES :=")]
    assert "src/cinev4/_fasthash.pyx" in line and "_fasthash.c" not in line.replace("_fasthash.c ", "").split()


@needs_source_tree
def test_packaging_metadata_licence_and_sdist_contents() -> None:
    import sys

    if sys.version_info < (3, 11):
        pytest.skip("tomllib")
    import tomllib

    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["license"] == "MIT" and project["license-files"] == ["LICENSE"]
    assert "MIT License" in (REPO / "LICENSE").read_text(encoding="utf-8")
    assert "Programming Language :: Python :: 3.13" in project["classifiers"]
    assert not [c for c in project["classifiers"] if c.startswith("License ::")]  # the expression says it
    assert set(project["urls"]) == {"Homepage", "Documentation", "Source", "Issues"}
    manifest_in = (REPO / "MANIFEST.in").read_text(encoding="utf-8").splitlines()
    assert "recursive-include tests *.py *.json *.md *.txt *.c *.sh" in manifest_in
    assert "recursive-include docs *.md" in manifest_in
    readme = README.read_text(encoding="utf-8")
    assert "pip install 'cinev4[dask]'" not in readme and "pip install '.[dask]'" in readme
    assert "## For users: install" in readme and ".venv/bin/cinev4" in readme


def test_help_of_the_package_shows_python_signatures_once() -> None:
    import pydoc

    import cinev4

    text = pydoc.render_doc(cinev4, renderer=pydoc.plaintext)
    assert "double " not in text and "__pyx" not in text and "cython" not in text.lower()
    assert text.count("hash_files(paths, threads=None, *, kernel=None") == 1  # not a second, C-typed copy


def test_a_strict_project_that_does_not_need_a_manifest_for_done_seals_as_is(project: Path) -> None:
    from helpers import rewrite

    record = json.loads((project / "project.json").read_text())
    record["policy"]["done_requires_manifest"] = False  # DONE never verifies the manifest: nothing to strand
    rewrite(project / "project.json", json.dumps(record).encode())
    run_cli("shot", "new", "SH010", cwd=project)
    _frames(project / OUT, (1001,))
    run_cli("manifest", "SH010", cwd=project)
