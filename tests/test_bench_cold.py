"""``cinev4 bench --cold``: storage-bound tuning, on tiny data (its numbers are not judged here)."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

import cinev4
from cinev4.cli import cli
from cinev4.cli.tuning import QUEUE_DEPTHS

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="evicts with posix_fadvise")


@pytest.fixture(scope="module")
def cold_json(tmp_path_factory: pytest.TempPathFactory) -> dict:
    where = tmp_path_factory.mktemp("bench-cold")
    result = CliRunner().invoke(cli, ["bench", "--cold", "--size", "4M", "--rounds", "1", "--dir", str(where), "--json"])
    assert result.exit_code == 0, result.output
    assert list(where.iterdir()) == []  # the test data is gone afterwards
    return json.loads(result.stdout)


def test_json_has_the_storage_and_every_thread_count_and_depth(cold_json: dict) -> None:
    cpus = cinev4.engine_info()["threads"]
    assert cold_json["storage"]["readers"] == cpus
    assert cold_json["storage"]["mb_per_s"] > 0
    info = cinev4.engine_info()
    kernels = [None, info["kernel"]] if info["multibuffer"] else [None]
    seen = [(m["settings"]["threads"], m["settings"]["queue_depth"], m["settings"]["kernel"])
            for m in cold_json["measurements"]]
    assert seen == [(t, d, k) for k in kernels for t in sorted({cpus, 2 * cpus}) for d in QUEUE_DEPTHS]
    assert {m["stage"] for m in cold_json["measurements"]} == {"cold"}
    assert all(m["bytes"] == cold_json["size"] == 4 << 20 for m in cold_json["measurements"])


def test_recommended_settings_are_values_the_engine_takes(cold_json: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    env = cold_json["env"]
    assert set(env) == {"CINEV4_THREADS", "CINEV4_QUEUE_DEPTH", "CINEV4_KERNEL"}
    for name, value in env.items():
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    depth = env["CINEV4_QUEUE_DEPTH"]
    assert cinev4.engine_info()["queue_depth"] == (int(depth) if depth is not None else 2)
    assert env["CINEV4_KERNEL"] in (None, *cinev4.available_kernels())


def test_text_output_names_the_readers_and_env_lines(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["bench", "--cold", "--size", "2M", "--rounds", "1", "--dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == ("cinev4 bench --cold: 2 MiB of data evicted before every command, "
                        "median of 1 interleaved rounds; MB = 10^6 bytes")
    assert lines[1].startswith(f"storage: {cinev4.engine_info()['threads']} parallel readers ")
    env_lines = [line for line in lines if line.startswith(("export CINEV4_", "unset CINEV4_"))]
    assert [line.split()[1].split("=")[0] for line in env_lines] == ["CINEV4_THREADS", "CINEV4_QUEUE_DEPTH", "CINEV4_KERNEL"]
