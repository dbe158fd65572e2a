"""DaskBackend on a real LocalCluster (2 worker processes): the report and the
manifest are exactly what a local run gives, also when a worker is killed
mid-batch; an unreachable file is reported, never skipped."""
from __future__ import annotations

import concurrent.futures
import functools
import os
import signal
import time
from pathlib import Path
from typing import Any

import cloudpickle  # type: ignore[import-untyped]
import pytest

import cinev4
from cinev4.distributed import DaskBackend, DistributedError

import _cluster_helpers as helpers
from _cluster_helpers import FRAMES, make_writable, render_frames

cloudpickle.register_pickle_by_value(helpers)


def _verify(root: Path, backend: Any = None) -> dict[str, Any]:
    from cinev4.pipeline import load_project, verify_shots

    return verify_shots(load_project(root), backend=backend).to_dict()


def test_report_identical_to_local_run(cluster: Any, damaged_project: Path) -> None:
    local = _verify(damaged_project)
    backend = DaskBackend(client=cluster, batch_bytes=16 << 20)  # ~20 batches
    remote = _verify(damaged_project, backend)
    assert remote == local
    assert 10 < len(backend.last_batches) < 60 and sum(backend.last_batches) == local["files_hashed"]
    kinds = sorted(p["kind"] for m in local["manifests"] for p in m["problems"])
    assert kinds == ["extra", "hash_differs", "missing", "size_differs"]
    # Two shots of FRAMES + 4 files; the missing and the truncated one are never hashed.
    assert local["exit_code"] == 1 and local["files_hashed"] == 2 * (FRAMES + 4) - 2


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="no SIGKILL on Windows (the poisoned-batch test kills workers there too)")
def test_worker_killed_mid_batch_still_gives_the_full_report(cluster: Any, damaged_project: Path,
                                                              tmp_path: Path) -> None:
    local = _verify(damaged_project)
    marker = str(tmp_path / "stalled-worker.pid")
    backend = DaskBackend(client=cluster, batch_task=functools.partial(helpers.stall_once, marker))
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        running = pool.submit(_verify, damaged_project, backend)
        deadline = time.monotonic() + 60
        while not os.path.exists(marker):
            assert time.monotonic() < deadline, "no batch started"
            assert not running.done(), running.result()
            time.sleep(0.02)
        pid = int(Path(marker).read_text())
        assert pid != os.getpid()
        os.kill(pid, signal.SIGKILL)  # the worker process itself, mid-batch
        remote = running.result(timeout=120)
    assert remote == local
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)  # really gone


def test_batch_that_keeps_killing_workers_is_reported_not_dropped(cluster: Any, tmp_path: Path) -> None:
    files = []
    for index in range(6):
        path = tmp_path / f"f{index}.exr"
        path.write_bytes(bytes([index]) * (1000 + index))
        files.append(str(path))
    # Two batches of three: the one holding f3 kills its workers, is split,
    # and only f3 alone keeps killing them.
    cluster.wait_for_workers(2, timeout=30)  # a worker killed by an earlier test is back
    backend = DaskBackend(client=cluster, batches_per_worker=1, batch_task=functools.partial(helpers.die_on, "f3.exr"))
    digests = backend.hash_files(files, None, threads=None, progress=None)
    assert backend.last_batches == [3, 3]
    assert [d.path for d in digests] == files
    local = cinev4.hash_files(files)
    for index, (remote, mine) in enumerate(zip(digests, local)):
        if index == 3:
            assert remote.sha256 is None and isinstance(remote.error, OSError)
            assert "workers died" in str(remote.error.strerror) and remote.error.filename == files[3]
        else:
            assert (remote.size, remote.sha256, remote.error) == (mine.size, mine.sha256, None)


def test_unreachable_files_come_back_as_the_engines_errors(cluster: Any, tmp_path: Path) -> None:
    good = tmp_path / "good.exr"
    good.write_bytes(b"x" * 5000)
    paths = [str(good), str(tmp_path / "gone.exr"), str(tmp_path), str(good)]
    progress: list[tuple[int, int]] = []
    digests = DaskBackend(client=cluster, batch_bytes=1).hash_files(
        paths, None, threads=2, progress=lambda b, f: progress.append((b, f)))
    local = cinev4.hash_files(paths)
    assert len(digests) == len(paths)
    for remote, mine in zip(digests, local):
        assert (remote.path, remote.size, remote.sha256, remote.ok) == (mine.path, mine.size, mine.sha256, mine.ok)
        if mine.error is not None:
            assert type(remote.error) is type(mine.error)
            assert (remote.error.errno, remote.error.strerror) == (mine.error.errno, mine.error.strerror)
    assert progress[-1][1] == len(paths) and progress == sorted(progress)


def test_manifest_on_the_cluster_equals_the_local_one(cluster: Any, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from cinev4.pipeline import build_manifest, create_shot, init_project

    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    raws = []
    for name, backend in (("local", None), ("dask", DaskBackend(client=cluster, batch_bytes=512 * 1024))):
        root = tmp_path / name
        project = init_project(root, "FILM01")
        create_shot(project, "SH010")
        render_frames(root, "SH010", frames=120)
        result = build_manifest(project, "SH010", backend=backend)
        raws.append((root / result.manifest_path).read_bytes())
        make_writable(root)
    assert raws[0] == raws[1]


def test_unreachable_scheduler_is_one_clear_error() -> None:
    backend = DaskBackend("tcp://127.0.0.1:9", connect_timeout_s=1)
    with pytest.raises(DistributedError, match="cannot reach the Dask scheduler at tcp://127.0.0.1:9"):
        backend.hash_files([__file__], None, threads=None, progress=None)
    backend.close()


def test_exactly_one_way_to_the_cluster() -> None:
    with pytest.raises(ValueError):
        DaskBackend()
    with pytest.raises(ValueError):
        DaskBackend("tcp://127.0.0.1:8786", local_cluster=2)
    with pytest.raises(ValueError):
        DaskBackend(local_cluster=0)
