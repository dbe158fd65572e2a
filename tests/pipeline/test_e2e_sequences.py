"""Frame ranges, moved files and portable names, for real through the installed CLI."""
from __future__ import annotations

import json
import unicodedata
from pathlib import Path

from cinev4.contracts.rules import manifest_problems, portability_warnings

from helpers import render, run_cli

OUT = "shots/SH010/outputs/v0001"


def kinds(result) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    return [(p["kind"], p["path"]) for m in result.json()["manifests"] for p in m["problems"]]


# --- frame sequences -----------------------------------------------------------------------------

def test_expected_frames_gate_and_verify_report_missing_ranges(project: Path) -> None:
    created = run_cli("shot", "new", "SH010", "--frames", "1001-1012", cwd=project)
    assert "frames 1001-1012" in created.stdout
    out = render(project, frames=12)
    for frame in (1004, 1005, 1009):  # never rendered
        (out / f"sh010.{frame}.exr").unlink()
    run_cli("shot", "qc", "SH010", cwd=project)
    # A strict project's manifest is sealed once: one that the DONE gate would refuse is not written.
    sealed = run_cli("manifest", "SH010", cwd=project, expect=2)
    assert sealed.stderr.splitlines()[0] == ("cinev4: error: shot SH010: manifest refused, nothing written: missing "
                                             "frames: sh010.[1004-1005,1009].exr: 3 of 12 frames missing "
                                             "(expected 1001-1012)")
    assert not (project / "shots/SH010/manifests/v0001/manifest.json").exists()
    # Without the range it is written; the range declared again, the gate and verify see the holes.
    run_cli("shot", "frames", "SH010", "--clear", cwd=project)
    manifest = run_cli("manifest", "SH010", cwd=project)
    run_cli("shot", "frames", "SH010", "1001-1012", cwd=project)
    assert "preview.mp4, qc.json, sh010.[1001-1003,1006-1008,1010-1012].exr (9 files)" in manifest.stdout
    assert len(manifest.stdout.splitlines()) == 1

    refused = run_cli("shot", "done", "SH010", cwd=project, expect=2)
    assert ("missing frames: sh010.[1004-1005,1009].exr: 3 of 12 frames missing (expected 1001-1012)"
            in refused.stderr)

    result = run_cli("verify", "SH010", "--json", cwd=project, expect=1)
    (check,) = result.json()["manifests"]
    (problem,) = check["problems"]
    assert problem["kind"] == "missing_frames" and problem["path"] == f"{OUT}/sh010.####.exr"
    assert problem["actual"] == [[1004, 1005], [1009, 1009]] and problem["expected"] == "1001-1012"
    assert problem["detail"] == "frames 1004-1005,1009 missing: 3 of 12 (expected 1001-1012)"
    assert check["sequences"][0]["ranges"] == [[1001, 1003], [1006, 1008], [1010, 1012]]

    # Declaring what was actually rendered (a cut-down shot) lets the gate pass.
    run_cli("shot", "frames", "SH010", "1010-1012", cwd=project)
    assert json.loads((project / "shots/SH010/shot.json").read_text())["frames"] == {"first": 1010, "last": 1012}
    run_cli("verify", "SH010", cwd=project)
    run_cli("shot", "done", "SH010", cwd=project)
    assert run_cli("shot", "frames", "SH010", "--clear", cwd=project, expect=2).stderr.startswith("cinev4: error: ")
    status = run_cli("status", cwd=project)
    assert "frames 1010-1012: preview.mp4, qc.json, sh010.[1001-1003,1006-1008,1010-1012].exr (9 files)" in status.stdout


def test_missing_frames_collapse_in_text_and_stay_per_file_in_json(manifested: Path) -> None:
    out = manifested / OUT
    (out / "sh010.1001.exr").unlink()
    (out / "sh010.1002.exr").unlink()
    text = run_cli("verify", "SH010", cwd=manifested, expect=1)
    assert f"  missing           {OUT}/sh010.[1001-1002].exr (2 files): listed in the manifest but not on disk" in text.stdout
    assert text.stdout.count("\n  ") == 1
    result = run_cli("verify", "SH010", "--json", cwd=manifested, expect=1)
    assert kinds(result) == [("missing", f"{OUT}/sh010.1001.exr"), ("missing", f"{OUT}/sh010.1002.exr")]
    (seq,) = result.json()["manifests"][0]["problem_sequences"]
    assert seq["kind"] == "missing" and seq["ranges"] == [[1001, 1002]] and seq["count"] == 2


def test_bad_frame_ranges_are_usage_errors(project: Path) -> None:
    assert "FIRST-LAST" in run_cli("shot", "new", "SH010", "--frames", "1240-1001x", cwd=project, expect=2).stderr
    run_cli("shot", "new", "SH010", cwd=project)
    run_cli("shot", "frames", "SH010", cwd=project, expect=2)


# --- moved files ---------------------------------------------------------------------------------

def test_a_moved_file_is_reported_once_as_moved(manifested: Path) -> None:
    out = manifested / OUT
    (out / "renamed").mkdir()
    (out / "sh010.1002.exr").rename(out / "renamed" / "sh010_1002.exr")
    result = run_cli("verify", "SH010", "--json", cwd=manifested, expect=1)
    (problem,) = result.json()["manifests"][0]["problems"]
    assert problem["kind"] == "moved"
    assert problem["expected"] == problem["path"] == f"{OUT}/sh010.1002.exr"
    assert problem["actual"] == f"{OUT}/renamed/sh010_1002.exr"
    text = run_cli("verify", "SH010", cwd=manifested, expect=1)
    assert f"moved             {OUT}/sh010.1002.exr: " in text.stdout and f"are at {OUT}/renamed/sh010_1002.exr" in text.stdout


def test_a_moved_and_changed_file_is_missing_and_extra(manifested: Path) -> None:
    out = manifested / OUT
    data = bytearray((out / "sh010.1002.exr").read_bytes())
    data[0] ^= 1  # same size, other bytes: not the same artifact
    (out / "sh010.1002.exr").unlink()
    (out / "other.exr").write_bytes(bytes(data))
    (out / "sh010.1003.exr").rename(out / "copy_a.exr")
    result = run_cli("verify", "SH010", "--json", cwd=manifested, expect=1)
    assert sorted(kinds(result)) == sorted([
        ("missing", f"{OUT}/sh010.1002.exr"), ("extra", f"{OUT}/other.exr"), ("moved", f"{OUT}/sh010.1003.exr"),
    ])


# --- portable paths ------------------------------------------------------------------------------

def test_nfd_names_on_disk_are_the_same_artifacts(project: Path) -> None:
    run_cli("shot", "new", "SH010", cwd=project)
    out = render(project)
    nfc_name = "çekim_ön.0001.exr"
    nfd_name = unicodedata.normalize("NFD", nfc_name)
    assert nfd_name != nfc_name
    (out / nfd_name).write_bytes(b"written by a Mac")  # macOS names files NFD
    result = run_cli("manifest", "SH010", "--json", cwd=project)
    assert result.json()["warnings"] == []
    manifest = json.loads((project / result.json()["manifest_path"]).read_text())
    assert f"{OUT}/{nfc_name}" in [a["path"] for a in manifest["artifacts"]]  # written NFC
    run_cli("verify", "SH010", cwd=project)
    # copied to a Linux box that keeps the NFC spelling: still the same artifact
    (out / nfd_name).rename(out / nfc_name)
    run_cli("verify", "SH010", cwd=project)


def test_names_differing_only_by_normalisation_are_refused(project: Path) -> None:
    run_cli("shot", "new", "SH010", cwd=project)
    out = render(project)
    (out / "é.exr").write_bytes(b"a")
    (out / unicodedata.normalize("NFD", "é.exr")).write_bytes(b"b")
    result = run_cli("manifest", "SH010", cwd=project, expect=2)
    assert "NFC" in result.stderr
    assert not (project / "shots/SH010/manifests/v0001/manifest.json").exists()


def test_case_clashes_and_windows_names_are_warned_at_manifest_time(project: Path) -> None:
    run_cli("shot", "new", "SH010", cwd=project)
    out = render(project)
    (out / "Preview.MP4").write_bytes(b"x")
    (out / "aux.txt").write_bytes(b"x")
    (out / "what?.exr").write_bytes(b"x")
    (out / "Beauty").mkdir()
    (out / "beauty").mkdir()
    (out / "Beauty" / "a.exr").write_bytes(b"x")
    (out / "beauty" / "b.exr").write_bytes(b"x")
    result = run_cli("manifest", "SH010", cwd=project)
    warnings = result.stderr.splitlines()
    assert all(line.startswith("cinev4: warning: ") for line in warnings) and len(warnings) == 4
    assert any("/Preview.MP4', '" in w and "differ only by case" in w for w in warnings)
    assert any(f"'{OUT}/Beauty', '{OUT}/beauty' differ only by case" in w for w in warnings)
    assert any("aux.txt" in w and "reserved device name" in w for w in warnings)
    assert any("what?.exr" in w and "cannot be created on Windows" in w for w in warnings)
    assert len(result.stdout.splitlines()) == 1
    run_cli("verify", "SH010", cwd=project)


def test_portability_rules() -> None:
    assert portability_warnings(["a/b.exr", "a/c.exr"]) == []
    assert portability_warnings(["a/trailing. ", "a/CON", "a/com1.log", "a/console.txt"]) == [
        "'a/trailing. ' ends with a space or a dot: it cannot be created on Windows",
        "'a/CON' is a reserved device name: it cannot be created on Windows",
        "'a/com1.log' is a reserved device name: it cannot be created on Windows",
    ]
    doc = {"shot_id": "S", "version": "v0001",
           "artifacts": [{"path": unicodedata.normalize("NFD", "shots/S/outputs/v0001/é.exr")}]}
    (problem,) = manifest_problems(doc, "m.json")
    assert "not NFC-normalised" in problem
