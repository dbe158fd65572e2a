"""One output shape: every ``--json`` document is an object with ``ok`` and ``exit_code``
plus the command's own fields, for successes, failures, refusals and usage errors alike;
and every error is one ``cinev4: error:`` line (click's usage errors included)."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from helpers import render, run_cli

OUT = "shots/SH010/outputs/v0001"


def _document(*args: str, cwd: Path, expect: int) -> dict:  # type: ignore[type-arg]
    result = run_cli(*args, "--json", cwd=cwd, expect=expect)
    document = json.loads(result.stdout)
    assert isinstance(document, dict), args
    assert (document["ok"], document["exit_code"]) == (expect == 0, expect), args
    return document


def test_every_command_prints_one_object_with_ok_and_exit_code(tmp_path: Path) -> None:
    project = tmp_path / "proj"
    init = _document("init", str(project), "--id", "FILM01", cwd=tmp_path, expect=0)
    assert init["project"]["id"] == "FILM01"
    assert _document("shot", "new", "SH010", cwd=project, expect=0)["shot"]["id"] == "SH010"
    render(project)
    assert _document("shot", "frames", "SH010", "1001-1003", cwd=project, expect=0)["shot"]["frames"] == {
        "first": 1001, "last": 1003}
    qc = _document("shot", "qc", "SH010", cwd=project, expect=0)
    assert qc["done_needs"] == ["no manifest for v0001 (run: cinev4 manifest SH010)"]
    assert qc["next"] == "cinev4 manifest SH010"
    status = _document("status", cwd=project, expect=0)
    assert status["shots"][0]["on_disk"] == {"files": 5, "bytes": sum(
        f.stat().st_size for f in (project / OUT).iterdir())}
    assert _document("manifest", "SH010", cwd=project, expect=0)["artifact_count"] == 5
    assert _document("shot", "list", cwd=project, expect=0)["shots"][0]["shot_id"] == "SH010"
    assert _document("shot", "show", "SH010", cwd=project, expect=0)["shot"]["status"] == "QC"
    assert _document("verify", "SH010", cwd=project, expect=0)["manifests"][0]["ok"] is True
    assert _document("shot", "done", "SH010", cwd=project, expect=0)["shot"]["status"] == "DONE"
    assert _document("release", "check", "--all", cwd=project, expect=0)["gate"] == "passed"
    assert _document("release", "publish", "R1", "SH010", cwd=project, expect=0)["release_id"] == "R1"
    assert "best" in _document("bench", "--size", "1M", "--rounds", "1", cwd=project, expect=0)

    # Failures and refusals: the same envelope, the exit code inside it.
    frame = project / OUT / "sh010.1001.exr"
    os.chmod(frame, 0o644)
    frame.write_bytes(b"changed")
    assert _document("verify", "--all", cwd=project, expect=1)["manifests"][0]["ok"] is False
    assert _document("release", "check", "SH010", cwd=project, expect=1)["gate"] == "failed"
    refused = _document("shot", "done", "SH010", cwd=project, expect=2)
    assert refused["errors"] == ["shot SH010 is already DONE (v0001): nothing to do"]
    assert _document("shot", "show", "SH999", cwd=project, expect=2)["errors"][0].startswith("no shot SH999")
    assert _document("status", cwd=tmp_path, expect=2)["errors"]  # no project here


@pytest.mark.parametrize(("args", "line"), [
    (("verify", "--bogus"), "No such option '--bogus'. (see: cinev4 verify --help)"),
    (("verify",), "name shots, or give --all, --manifest PATH or --release PATH (exactly one of them) "
                  "(see: cinev4 verify --help)"),
    (("shot", "qc"), "Missing argument 'SHOT'. (see: cinev4 shot qc --help)"),
    (("frobnicate",), "No such command 'frobnicate'. (see: cinev4 --help)"),
    (("verify", "--threads", "0", "SH010"), "Invalid value for '--threads': 0 is not in the range 1<=x<=1024. "
                                            "(see: cinev4 verify --help)"),
])
def test_usage_errors_are_one_line_and_with_json_an_object_too(tmp_path: Path, args: tuple[str, ...],
                                                               line: str) -> None:
    text = run_cli(*args, cwd=tmp_path, expect=2)
    assert text.stderr == f"cinev4: error: {line}\n"
    assert text.stdout == ""
    as_json = run_cli(*args, "--json", cwd=tmp_path, expect=2)
    assert as_json.stderr == f"cinev4: error: {line}\n"
    assert json.loads(as_json.stdout) == {"ok": False, "exit_code": 2, "errors": [line]}


@pytest.mark.parametrize("args", [(), ("shot",), ("release",)])
def test_a_group_alone_prints_its_help(tmp_path: Path, args: tuple[str, ...]) -> None:
    result = run_cli(*args, cwd=tmp_path, expect=0)
    assert result.stdout.startswith(f"Usage: {' '.join(('cinev4', *args))} [OPTIONS] COMMAND [ARGS]...\n")
    assert result.stderr == ""
