"""``cinev4 bench``: the tuning command, on tiny data (its numbers are not judged here)."""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

import cinev4
from cinev4.cli import cli
from cinev4.cli.tuning import WINDOWS, parse_size, run_bench

TINY = "2M"


@pytest.fixture(scope="module")
def report_json(tmp_path_factory: pytest.TempPathFactory) -> dict:
    where = tmp_path_factory.mktemp("bench")
    result = CliRunner().invoke(cli, ["bench", "--size", TINY, "--rounds", "1", "--dir", str(where), "--json"])
    assert result.exit_code == 0, result.output
    assert list(where.iterdir()) == []  # the test data is gone afterwards
    return json.loads(result.stdout)


def test_json_covers_every_kernel_io_mode_window_and_thread_stage(report_json: dict) -> None:
    measured = report_json["measurements"]
    stages = {m["stage"] for m in measured}
    assert stages == {"kernel (memory)", "kernel", "io", "threads"}
    in_memory = {m["label"] for m in measured if m["stage"] == "kernel (memory)"}
    assert in_memory == set(cinev4.available_kernels())
    in_files = {m["settings"]["kernel"] for m in measured if m["stage"] == "kernel"}
    assert in_files == {None, *cinev4.available_kernels(), *cinev4.engine_info()["multibuffer_kernels"]}
    io = {(m["settings"]["io"], m["settings"]["window"]) for m in measured if m["stage"] == "io"}
    assert io == {(mode, w) for mode in cinev4.engine_info()["io_modes"] for w in WINDOWS}
    threads = {m["settings"]["threads"] for m in measured if m["stage"] == "threads"}
    assert {1, cinev4.engine_info()["threads"]} <= threads
    for m in measured:
        assert m["seconds"] > 0 and m["mb_per_s"] > 0 and m["files_per_s"] > 0
        assert m["bytes"] > 0 and m["files"] >= 1


def test_best_settings_are_values_the_engine_takes(report_json: dict, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    best, env = report_json["best"], report_json["env"]
    assert best["kernel"] is None or best["kernel"] in cinev4.available_kernels() + \
        cinev4.engine_info()["multibuffer_kernels"]
    assert best["io"] in cinev4.engine_info()["io_modes"]
    assert best["window"] in WINDOWS
    assert best["threads"] >= 1
    assert set(env) == {"CINEV4_KERNEL", "CINEV4_IO", "CINEV4_WINDOW", "CINEV4_THREADS"}
    # Exported as printed, the engine accepts them and still hashes right.
    for name, value in env.items():
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    data = os.urandom(3 * 1024 * 1024 + 17)
    (tmp_path / "f").write_bytes(data)
    assert cinev4.engine_info()["io_mode"] == best["io"]
    assert cinev4.engine_info()["window_bytes"] == best["window"]
    assert cinev4.hash_files([tmp_path / "f"])[0].sha256 == hashlib.sha256(data).hexdigest()


def test_text_output_lists_rates_and_env_lines(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["bench", "--size", TINY, "--rounds", "1", "--dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "MB/s" in out and "files/s" in out
    for stage in ("kernels, one stream in memory", "I/O mode and window", "threads"):
        assert stage in out
    env_lines = [line for line in out.splitlines() if line.startswith(("export CINEV4_", "unset CINEV4_"))]
    assert [line.split()[1].split("=")[0] for line in env_lines] == [
        "CINEV4_KERNEL", "CINEV4_IO", "CINEV4_WINDOW", "CINEV4_THREADS"]


@pytest.mark.parametrize("size", ["0", "-1M", "lots", "12Q"])
def test_bad_size_is_a_usage_error(size: str) -> None:
    result = CliRunner().invoke(cli, ["bench", "--size", size])
    assert result.exit_code == 2
    assert "Traceback" not in result.output


@pytest.mark.parametrize("cold", [[], ["--cold"]])
def test_a_size_that_would_fill_the_disk_is_refused_before_writing(tmp_path: Path, cold: list[str]) -> None:
    import shutil

    free = shutil.disk_usage(tmp_path).free
    size = f"{free // (1 << 20) + 1}M"  # one MiB more than the free space: it wrote until the disk was full
    result = subprocess.run([sys.executable, "-m", "cinev4", "bench", "--size", size, "--dir", str(tmp_path), *cold],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    [line] = result.stderr.splitlines()
    assert line.startswith(f"cinev4: error: {tmp_path}: ") and "choose a smaller --size or another --dir" in line
    assert list(tmp_path.iterdir()) == []


def test_parse_size() -> None:
    assert parse_size("512M") == 512 * 1024 * 1024
    assert parse_size("2g") == 2 * 1024 ** 3
    assert parse_size("64K") == 64 * 1024
    assert parse_size("1000") == 1000


def test_settings_that_disagree_on_a_digest_fail(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The bench refuses to rank settings that give wrong answers."""
    real = cinev4.hash_files
    calls = {"n": 0}

    def flaky(paths, threads=None, **kwargs):  # type: ignore[no-untyped-def]
        results = real(paths, threads, **kwargs)
        calls["n"] += 1
        if calls["n"] == 2:  # the second setting of a stage "finds" other bytes
            paths = [tmp_path / "other"]
            (tmp_path / "other").write_bytes(b"x")
            return real(paths * len(results), 1)
        return results

    monkeypatch.setattr(cinev4, "hash_files", flaky)
    with pytest.raises(AssertionError, match="different digests"):
        run_bench(1024 * 1024, rounds=1, directory=tmp_path)


def test_bench_path_does_not_import_numpy() -> None:
    code = ("import sys; from cinev4.cli import bench_cmd; import cinev4.cli.tuning; "
            "assert 'numpy' not in sys.modules, 'numpy imported'")
    subprocess.run([sys.executable, "-c", code], check=True)
