"""Start-up checks of every CINEV4_* variable, and the last boundary: one line and exit 2."""
from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from cinev4.settings import environment_problems, parse_window

from helpers import CINEV4, clean_env, run_cli

BAD_SETTINGS = [
    ("CINEV4_THREADS", "abc", "expected a whole number from 1 to 1024"),
    ("CINEV4_THREADS", "0", "expected a whole number from 1 to 1024, not 0"),
    ("CINEV4_WINDOW", "1", "window must be a multiple of 64 KiB between 64 KiB and 1 GiB, not 1"),
    ("CINEV4_WINDOW", "8X", "window '8X' is not a size (expected bytes, or a number with K, M or G, e.g. 8M)"),
    ("CINEV4_IO", "foo", "expected one of: 'auto', 'mmap', 'read'"),
    ("CINEV4_CACHE", "cold", "expected one of: 'keep', 'drop'"),
    ("CINEV4_QUEUE_DEPTH", "65", "expected a whole number from 0 to 64"),
    ("CINEV4_KERNEL", "foo", "unknown or unavailable kernel; this CPU offers: "),
    ("CINEV4_LANE_MIN", "-3", "expected a whole number from 1 to 1024"),
    ("CINEV4_PREFAULT", "yes", "expected one of: '0', '1'"),
    ("CINEV4_JOURNAL_BATCH_FILES", "many", "expected a whole number from 1 to 2147483647"),
    ("CINEV4_DEBUG", "maybe", "expected one of: '1', 'true', 'yes', 'on', '0', 'false', 'no', 'off'"),
]
COMMANDS = [("--version",), ("verify", "--all"), ("manifest", "SH010"), ("hash", "-"), ("status",)]


@pytest.mark.parametrize(("name", "value", "why"), BAD_SETTINGS, ids=[f"{n}={v}" for n, v, _ in BAD_SETTINGS])
def test_bad_setting_is_one_line_exit_2_before_any_command(tmp_path: Path, name: str, value: str, why: str) -> None:
    for command in COMMANDS:
        result = run_cli(*command, cwd=tmp_path, env={name: value}, expect=2)
        lines = result.stderr.splitlines()
        assert len(lines) == 1, str(result)
        assert lines[0].startswith(f"cinev4: error: {name}={value!r}: {why}"), str(result)
        assert result.stdout == ""


def test_project_setting_must_be_a_folder(tmp_path: Path) -> None:
    afile = tmp_path / "afile"
    afile.write_text("x")
    result = run_cli("--version", cwd=tmp_path, env={"CINEV4_PROJECT": str(afile)}, expect=2)
    assert result.stderr == (f"cinev4: error: CINEV4_PROJECT={str(afile)!r}: not a folder (expected the project "
                             "root, the folder holding project.json)\n")


def test_good_settings_pass() -> None:
    env = {"CINEV4_THREADS": "3", "CINEV4_WINDOW": "1M", "CINEV4_IO": "read", "CINEV4_LANE_MIN": "17",
           "CINEV4_DEBUG": "0", "CINEV4_JOURNAL_BATCH_FILES": "", "CINEV4_UNRELATED": "x"}
    assert environment_problems(env) == []
    assert [parse_window(v) for v in ("1M", "8m", "512K", "1G", 65536, " 2M ")] == [
        2**20, 8 * 2**20, 512 * 1024, 2**30, 65536, 2 * 2**20]


def test_version_still_works_with_settings(tmp_path: Path) -> None:
    result = run_cli("--version", cwd=tmp_path, env={"CINEV4_THREADS": "3", "CINEV4_WINDOW": "1M", "CINEV4_IO": "read"})
    assert "io read, window 1 MiB, threads 3" in result.stdout


def _crashing_site(tmp_path: Path) -> dict[str, str]:
    """A sitecustomize that makes project loading raise what no cinev4 code expects."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(
        "import cinev4.pipeline.project as project\n"
        "def crash(*args, **kwargs):\n"
        "    raise RuntimeError('boom\\nsecond line')\n"
        "project.load_project = crash\n")
    return {"PYTHONPATH": str(site)}


def test_unexpected_exception_is_one_line_exit_2(tmp_path: Path) -> None:
    env = clean_env(_crashing_site(tmp_path))
    result = subprocess.run([*CINEV4, "status"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr == ("cinev4: internal error: RuntimeError: boom second line "
                             "(set CINEV4_DEBUG=1 for the traceback)\n")


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    env = clean_env({**_crashing_site(tmp_path), "CINEV4_DEBUG": "1"})
    proc = subprocess.run([*CINEV4, "status"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.startswith("Traceback (most recent call last):\n")
    assert 'raise RuntimeError(\'boom\\nsecond line\')' in proc.stderr
    assert proc.stderr.endswith("cinev4: internal error: RuntimeError: boom second line "
                                "(set CINEV4_DEBUG=1 for the traceback)\n")


# --- with --json, one JSON document whatever happens (docs/CONTRACT.md "Exit codes") --------------

def _json_of(result: subprocess.CompletedProcess[str]) -> dict[str, object]:
    document = json.loads(result.stdout)
    assert isinstance(document, dict), result.stdout
    return document


def test_a_bad_setting_with_json_is_a_json_document_too(tmp_path: Path) -> None:
    for command in [("status", "--json"), ("verify", "--all", "--json"), ("manifest", "SH010", "--json")]:
        result = run_cli(*command, cwd=tmp_path, env={"CINEV4_THREADS": "0"}, expect=2)
        assert _json_of(result) == {"errors": ["CINEV4_THREADS='0': expected a whole number from 1 to 1024, not 0"],
                                    "exit_code": 2, "ok": False}, str(result)
        assert result.stderr.count("\n") == 1
    # After a "--" it is an operand, not the option: no document.
    result = run_cli("verify", "--", "--json", cwd=tmp_path, env={"CINEV4_THREADS": "0"}, expect=2)
    assert result.stdout == ""


def test_an_internal_error_with_json_is_a_json_document_too(tmp_path: Path) -> None:
    env = clean_env(_crashing_site(tmp_path))
    result = subprocess.run([*CINEV4, "status", "--json"], cwd=tmp_path, env=env, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 2
    line = "RuntimeError: boom second line (set CINEV4_DEBUG=1 for the traceback)"
    assert result.stderr == f"cinev4: internal error: {line}\n"
    assert _json_of(result) == {"errors": [line], "exit_code": 2, "ok": False}


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full here")
@pytest.mark.parametrize("command", [("--version",), ("status", "--json"), ("status",), ("verify", "--all", "--json"), (),
                                     ("shot",)])
def test_output_to_a_full_disk_is_one_error_line_not_an_internal_error(tmp_path: Path, command: tuple[str, ...]) -> None:
    run_cli("init", "proj", "--id", "FILM01", cwd=tmp_path)
    with open("/dev/full", "w") as full:
        result = subprocess.run([*CINEV4, *command], cwd=tmp_path / "proj", env=clean_env(None), stdout=full,
                                stderr=subprocess.PIPE, text=True, timeout=60)
    assert (result.returncode, result.stderr) == (2, "cinev4: error: No space left on device\n")


def test_json_reports_of_names_that_are_not_utf8_are_utf8(tmp_path: Path) -> None:
    run_cli("init", "proj", "--id", "FILM01", cwd=tmp_path)
    project = tmp_path / "proj"
    run_cli("shot", "new", "SH010", cwd=project)
    (project / "shots/SH010/outputs/v0001").joinpath(os.fsdecode(b"frame\xff.exr")).write_bytes(b"x")
    result = subprocess.run([*CINEV4, "manifest", "SH010", "--json"], cwd=project, env=clean_env(None),
                            capture_output=True, timeout=60)
    assert result.returncode == 2
    document = json.loads(result.stdout.decode("utf-8"))  # strict: raw \xff bytes made this fail
    assert document["errors"] == ["shots/SH010/outputs/v0001/frame\udcff.exr is not valid UTF-8 "
                                  "(expected a UTF-8 file name)"], document


def test_cli_start_up_imports_no_numpy(tmp_path: Path) -> None:
    import sys

    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "cinev4", "--version"], cwd=tmp_path,
                          env=clean_env(None), capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0
    imported = {line.split("|")[-1].strip() for line in proc.stderr.splitlines() if line.startswith("import time:")}
    assert "cinev4.settings" in imported
    assert not {"numpy", "jsonschema_rs", "hypothesis"} & imported
