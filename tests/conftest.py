"""Fixtures of the tests that drive the real ``cinev4`` executable (tests/pipeline,
tests/contracts): a project made through the CLI, a shot manifested, a shot DONE,
and a user cache folder of the session's own. Their helpers are in tests/helpers.py.
"""
from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from helpers import Result, make_writable, render, run_cli


@pytest.fixture(autouse=True, scope="session")
def _session_user_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The user cache folder (where verify --resume keeps its journal key) is the session's own,
    for this process and every cinev4 it runs: tests never write into the real home."""
    before = os.environ.get("XDG_CACHE_HOME")
    os.environ["XDG_CACHE_HOME"] = str(tmp_path_factory.mktemp("user-cache"))
    yield
    if before is None:
        del os.environ["XDG_CACHE_HOME"]
    else:
        os.environ["XDG_CACHE_HOME"] = before


@pytest.fixture
def cli() -> Callable[..., Result]:
    return run_cli


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Path]:
    """A fresh strict project, initialised through the CLI."""
    root = tmp_path / "proj"
    run_cli("init", str(root), "--id", "FILM01", "--name", "Test film", cwd=tmp_path)
    yield root
    make_writable(tmp_path)


@pytest.fixture
def mutable_project(tmp_path: Path) -> Iterator[Path]:
    root = tmp_path / "mproj"
    run_cli("init", str(root), "--id", "FILM02", "--mutable-outputs", cwd=tmp_path)
    yield root
    make_writable(tmp_path)


@pytest.fixture
def manifested(project: Path) -> Path:
    """A project with shot SH010 rendered, in QC, its manifest written."""
    run_cli("shot", "new", "SH010", cwd=project)
    render(project)
    run_cli("shot", "qc", "SH010", cwd=project)
    run_cli("manifest", "SH010", cwd=project)
    return project


@pytest.fixture
def done(manifested: Path) -> Path:
    run_cli("shot", "done", "SH010", cwd=manifested)
    return manifested
