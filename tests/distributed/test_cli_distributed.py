"""``--scheduler`` and ``--local-cluster`` through the installed ``cinev4`` executable:
the same JSON, lines and exit codes as a local run."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from _cluster_helpers import make_writable, render_frames

CINEV4 = str(Path(sys.executable).parent / ("cinev4.exe" if os.name == "nt" else "cinev4"))


def cinev4(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in ("CINEV4_PROJECT", "SOURCE_DATE_EPOCH")}
    proc = subprocess.run([CINEV4, *args], cwd=cwd, env={**clean, **(env or {})}, capture_output=True,
                          text=True, timeout=120)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


def test_verify_on_a_scheduler_gives_the_local_json_lines_and_exit_code(cluster: Any, damaged_project: Path) -> None:
    address = cluster.scheduler.address
    local = cinev4("verify", "SH010", "SH020", "--json", cwd=damaged_project)
    remote = cinev4("verify", "SH010", "SH020", "--json", "--scheduler", address, cwd=damaged_project)
    assert (remote.returncode, remote.stdout, remote.stderr) == (local.returncode, local.stdout, local.stderr)
    assert local.returncode == 1
    assert local.stderr.startswith("cinev4: error: verification failed: 4 problem(s)")
    human_local = cinev4("verify", "--all", cwd=damaged_project)
    human_remote = cinev4("verify", "--all", "--scheduler", address, cwd=damaged_project)
    assert (human_remote.returncode, human_remote.stdout, human_remote.stderr) == \
        (human_local.returncode, human_local.stdout, human_local.stderr)


def test_manifest_and_verify_on_a_local_cluster(tmp_path: Path) -> None:
    env = {"SOURCE_DATE_EPOCH": "1700000000"}
    manifests = []
    for name, extra in (("local", ()), ("cluster", ("--local-cluster", "2"))):
        root = tmp_path / name
        assert cinev4("init", str(root), "--id", "FILM01", cwd=tmp_path).returncode == 0
        assert cinev4("shot", "new", "SH010", cwd=root).returncode == 0
        render_frames(root, "SH010", frames=200)
        made = cinev4("manifest", "SH010", *extra, cwd=root, env=env)
        assert made.returncode == 0 and made.stderr == "", made.stderr
        manifests.append((root / "shots/SH010/manifests/v0001/manifest.json").read_bytes())
        checked = cinev4("verify", "SH010", *extra, cwd=root)
        assert (checked.returncode, checked.stderr) == (0, ""), checked.stderr
        assert checked.stdout.startswith("SH010 v0001: OK  204 artifacts")
        make_writable(root)
    assert manifests[0] == manifests[1]


def test_both_options_at_once_is_a_usage_error(damaged_project: Path) -> None:
    proc = cinev4("verify", "--all", "--scheduler", "tcp://127.0.0.1:8786", "--local-cluster", "2",
                  cwd=damaged_project)
    assert proc.returncode == 2 and "exclude each other" in proc.stderr


def test_a_scheduler_address_dask_cannot_parse_is_one_line(damaged_project: Path) -> None:
    # Dask raises ValueError parsing these: it came out as "internal error: ValueError".
    for address in ("bogus", "tcp://h:notaport", ""):
        proc = cinev4("verify", "--all", "--scheduler", address, cwd=damaged_project)
        assert proc.returncode == 2, proc.stderr
        [line] = proc.stderr.splitlines()
        assert line.startswith(f"cinev4: error: --scheduler {address!r} is not a Dask scheduler address "
                               "(expected e.g. tcp://head-node:8786; "), line
