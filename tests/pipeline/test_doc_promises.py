"""Pipeline commands against what the README and their --help promise, where an audit
found them doing otherwise."""
from __future__ import annotations

from pathlib import Path

import pytest

from helpers import run_cli


def test_stage_completes_the_projects_shot_ids(project: Path) -> None:
    """README: shell completion offers the project's shot ids for every SHOT argument;
    `cinev4 stage SHOT` offered none."""
    for shot in ("SH010", "SH020"):
        run_cli("shot", "new", shot, cwd=project)
    env = {"_CINEV4_COMPLETE": "bash_complete", "COMP_WORDS": "cinev4 stage SH", "COMP_CWORD": "2"}
    assert run_cli(cwd=project, env=env).stdout.splitlines() == ["plain,SH010", "plain,SH020"]


def test_version_does_not_say_a_lane_kernel_asked_for_gives_way_on_cold_files(tmp_path: Path) -> None:
    """README: calibrated lanes are set aside on cold files, but "a lane kernel asked for by
    name always runs"; --version said "one stream per thread on cold files" for it too."""
    from cinev4._fasthash import multibuffer_kernels

    if not multibuffer_kernels():
        pytest.skip("this CPU offers no lane kernel")
    kernel = multibuffer_kernels()[-1]
    engine = run_cli("--version", cwd=tmp_path, env={"CINEV4_KERNEL": kernel}).stdout.splitlines()[1]
    assert f"lanes {kernel} (from " in engine and "cold" not in engine, engine
