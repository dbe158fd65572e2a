"""Fixtures of the distributed tests: one real Dask LocalCluster (2 worker
processes) for the module, and a project with a few hundred rendered files.

The project is built through the Python API (faster than the CLI); hashlib
is only the reference here, never used by the package.
"""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("distributed", reason="the cinev4[dask] extra is not installed")

from _cluster_helpers import damage, make_writable, render_frames  # noqa: E402

@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    """A LocalCluster of 2 worker processes (each with a nanny, which restarts a
    killed worker), configured as DaskBackend(local_cluster=N) configures its
    own. allowed-failures=1: a batch that kills two workers is given up on,
    so that test stays short."""
    import dask
    from distributed import Client, LocalCluster

    settings = {"distributed.scheduler.allowed-failures": 1, "distributed.scheduler.worker-saturation": 1.0}
    with dask.config.set(settings):
        with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as lc:
            with Client(lc) as client:
                yield client


@pytest.fixture(scope="module")
def damaged_project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """SH010: manifested, then damaged; SH020: manifested and intact."""
    from cinev4.pipeline import build_manifest, create_shot, init_project

    root = tmp_path_factory.mktemp("dist") / "proj"
    project = init_project(root, "FILM01")
    for shot in ("SH010", "SH020"):
        create_shot(project, shot)
        render_frames(root, shot)
        build_manifest(project, shot)
    damage(root / "shots" / "SH010" / "outputs" / "v0001", "SH010")
    yield root
    make_writable(root)
