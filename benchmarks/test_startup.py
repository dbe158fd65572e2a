"""CLI start-up: what a farm post-render hook pays on every call, beside the
interpreter's own start-up and the C tools'."""
from __future__ import annotations

import sys

import pytest

import bench_guards
import bench_harness as bh


def _startup_peers(case: bh.Case) -> None:
    case.add("python -c pass", bh.processes([[sys.executable, "-c", "pass"]], "."))
    case.add("python -c 'import click'", bh.processes([[sys.executable, "-c", "import click"]], "."))
    for name, argv in (("sha256sum", ["--version"]), ("openssl", ["version"])):
        exe = bh.tool(name)
        if exe:
            case.add(f"{name} {argv[0]}", bh.processes([[exe, *argv]], "."))


@pytest.mark.benchmark(group="startup")
def test_version_startup(benchmark, bench_settings: bh.Settings) -> None:
    case = bh.Case("start-up: cinev4 --version")
    target = "cinev4 --version (CLI)"
    case.add(target, bh.processes([bh.cinev4_argv("--version")], "."))
    _startup_peers(case)
    case.measure(benchmark, target, bench_settings.startup_rounds)
    case.record(benchmark)
    bh.check([bh.guard(case, target, "python -c 'import click'", bench_guards.STARTUP_VS_CLICK,
                       "start-up vs a bare click import")])


@pytest.mark.benchmark(group="startup")
def test_verify_one_file_shot(benchmark, one_file_shot, bench_settings: bh.Settings, data_root) -> None:
    if one_file_shot.project_root is None:
        pytest.skip(one_file_shot.skip_reason)
    files = one_file_shot.files
    case = bh.Case("start-up: verify a one-file shot", files=1)
    target = "cinev4 verify (CLI)"
    case.add(target, bh.processes([bh.cinev4_argv("verify", one_file_shot.shot_id)], one_file_shot.project_root))
    _startup_peers(case)
    sha256sum = bh.tool("sha256sum")
    if sha256sum:
        sums = data_root / "one-file.sha256"
        with open(sums, "w", newline="\n") as handle:  # sha256sum wants \n, also on Windows
            handle.write(f"{bh.hashlib_file(files.paths[0])}  {files.names[0]}\n")
        case.add("sha256sum -c", bh.processes([[sha256sum, "--quiet", "-c", str(sums)]], files.root))
    case.measure(benchmark, target, bench_settings.startup_rounds)
    case.record(benchmark)
    bh.check([bh.guard(case, target, "python -c 'import click'", bench_guards.VERIFY_STARTUP_VS_CLICK,
                       "one-file verify vs a bare click import")])
