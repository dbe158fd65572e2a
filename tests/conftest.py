"""Fixtures of the tests that drive the real ``cinev4`` executable (tests/pipeline,
tests/contracts): a project made through the CLI, a shot manifested, a shot DONE,
and a user cache folder of the session's own. Their helpers are in tests/helpers.py.
"""
from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from helpers import Result, copy_project, make_writable, render, run_cli


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


class _Templates:
    """Projects built once per test process through the real CLI, each test getting a copy:
    ``init``, ``shot new``, a render, ``shot qc``, ``manifest`` and ``shot done`` are the same
    commands with the same results in every test that only starts from them, and they were
    about a tenth of the suite's time run again for each. Each stage is built from a copy of
    the one before (one stage key, one project.json), through the CLI as before."""

    def __init__(self, base: Path) -> None:
        self._base = base
        self._built: dict[str, Path] = {}

    def get(self, kind: str) -> Path:
        if kind not in self._built:
            self._built[kind] = self._build(kind)
        return self._built[kind]

    def _build(self, kind: str) -> Path:
        root = self._base / kind / ("mproj" if kind == "mutable_project" else "proj")
        if kind == "project":
            run_cli("init", str(root), "--id", "FILM01", "--name", "Test film", cwd=root.parent.parent)
        elif kind == "mutable_project":
            run_cli("init", str(root), "--id", "FILM02", "--mutable-outputs", cwd=root.parent.parent)
        elif kind == "manifested":
            copy_project(self.get("project"), root)
            run_cli("shot", "new", "SH010", cwd=root)
            render(root)
            run_cli("shot", "qc", "SH010", cwd=root)
            run_cli("manifest", "SH010", cwd=root)
        elif kind == "done":
            copy_project(self.get("manifested"), root)
            run_cli("shot", "done", "SH010", cwd=root)
        else:
            raise ValueError(kind)
        return root


@pytest.fixture(scope="session")
def _templates(tmp_path_factory: pytest.TempPathFactory) -> Iterator[_Templates]:
    base = tmp_path_factory.mktemp("project-templates")
    yield _Templates(base)
    make_writable(base)


def _fresh(templates: _Templates, kind: str, root: Path) -> Path:
    """``root`` becomes a copy of the template ``kind`` (whatever was there is replaced)."""
    if root.exists():
        make_writable(root)
        shutil.rmtree(root)
    copy_project(templates.get(kind), root)
    return root


@pytest.fixture
def project(tmp_path: Path, _templates: _Templates) -> Iterator[Path]:
    """A fresh strict project, initialised through the CLI (a copy of the session's)."""
    yield _fresh(_templates, "project", tmp_path / "proj")
    make_writable(tmp_path)


@pytest.fixture
def mutable_project(tmp_path: Path, _templates: _Templates) -> Iterator[Path]:
    yield _fresh(_templates, "mutable_project", tmp_path / "mproj")
    make_writable(tmp_path)


@pytest.fixture
def manifested(project: Path, _templates: _Templates) -> Path:
    """A project with shot SH010 rendered, in QC, its manifest written."""
    return _fresh(_templates, "manifested", project)


@pytest.fixture
def done(manifested: Path, _templates: _Templates) -> Path:
    return _fresh(_templates, "done", manifested)
