"""Fixtures of the benchmark suite: settings, data made once per session, the table.

Run ``make bench`` (full data: 1 GiB file, 200 x 8 MiB, 20,000 x 16 KiB) or
``pytest benchmarks --quick`` (or ``CINEV4_BENCH_QUICK=1``; small data, part of
``make test``). The data lives in a temporary folder removed at the end of the
session; ``CINEV4_BENCH_DATA=DIR`` keeps it in DIR and reuses it next time.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

import bench_harness as bh


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--quick",
        action="store_true",
        default=os.environ.get("CINEV4_BENCH_QUICK", "") not in ("", "0"),
        help="small data and fewer rounds (also CINEV4_BENCH_QUICK=1); the guards still apply",
    )


@pytest.fixture(scope="session")
def bench_settings(request: pytest.FixtureRequest) -> bh.Settings:
    return bh.settings(bool(request.config.getoption("--quick")))


@pytest.fixture(scope="session")
def data_root() -> Iterator[Path]:
    keep = os.environ.get("CINEV4_BENCH_DATA")
    if keep:
        root = Path(keep)
        root.mkdir(parents=True, exist_ok=True)
        yield root
        return
    root = Path(tempfile.mkdtemp(prefix="cinev4-bench-"))
    try:
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _ready(folder: Path, shape: bh.Shape) -> bool:
    """True when ``folder`` already holds this exact shape (a kept CINEV4_BENCH_DATA)."""
    return (folder / f".complete-{shape.files}x{shape.file_size}").exists()


def _make_files(folder: Path, shape: bh.Shape, names: list[str], seed: int) -> bh.FileSet:
    if not _ready(folder, shape):
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        bh.write_random_files(folder, names, shape.file_size, seed)
        (folder / f".complete-{shape.files}x{shape.file_size}").touch()
    return bh.FileSet(shape, folder, names)


@pytest.fixture(scope="session")
def big_file(data_root: Path, bench_settings: bh.Settings) -> bh.FileSet:
    shape = bench_settings.shapes["big"]
    return _make_files(data_root / f"big-{bench_settings.mode}", shape, bh.shape_names(shape), seed=1)


@pytest.fixture(scope="session")
def frame_files(data_root: Path, bench_settings: bh.Settings) -> bh.FileSet:
    """The frame sequence as plain files, no project around them (the kernel benchmarks)."""
    shape = bench_settings.shapes["frames"]
    return _make_files(data_root / f"frame-files-{bench_settings.mode}", shape, bh.shape_names(shape), seed=2)


@pytest.fixture(scope="session")
def small_files(data_root: Path, bench_settings: bh.Settings) -> bh.FileSet:
    shape = bench_settings.shapes["small"]
    return _make_files(data_root / f"small-{bench_settings.mode}", shape, bh.shape_names(shape), seed=3)


class FrameShot:
    """The frame sequence, rendered into a shot's version folder of a cinev4 project.

    ``project_root`` is None (and ``skip_reason`` says why) when the pipeline
    API is not there to hold it; the frames are then a plain folder."""

    def __init__(self, files: bh.FileSet, project_root: Path | None, shot_id: str, skip_reason: str) -> None:
        self.files = files
        self.project_root = project_root
        self.shot_id = shot_id
        self.skip_reason = skip_reason


SHOT_ID = "SH010"


def _make_project(root: Path, shot_id: str, write: object) -> tuple[Path | None, Path, str]:
    """A project with one shot; ``write(folder)`` renders its outputs. Returns
    (project root or None, the outputs folder, a skip reason)."""
    try:
        from cinev4.pipeline import build_manifest, create_shot, init_project, load_project
    except ImportError as exc:  # the pipeline is built in its own issue
        folder = root / "plain"
        return None, folder, f"the pipeline API is not available ({exc})"
    if (root / "project.json").exists():
        project = load_project(root, search=False)
        return root, project.path(f"shots/{shot_id}/outputs/v0001"), ""
    project = init_project(root, "BENCH")
    shot = create_shot(project, shot_id)
    outputs = project.path(shot.outputs_dir)
    write(outputs)  # type: ignore[operator]
    # What a strict project's seal asks for (shot done will need them): a review note and a
    # preview. A few bytes beside the measured files.
    (outputs / "qc.json").write_text('{"reviewer": "bench", "approved": true}\n')
    if not (outputs / "preview.mp4").exists():
        (outputs / "preview.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42")
    build_manifest(project, shot_id)
    return root, outputs, ""


@pytest.fixture(scope="session")
def frame_shot(data_root: Path, bench_settings: bh.Settings) -> FrameShot:
    shape = bench_settings.shapes["frames"]
    names = bh.shape_names(shape)
    root = data_root / f"frames-{bench_settings.mode}"
    marker = root / f".complete-{shape.files}x{shape.file_size}"
    if not marker.exists():
        shutil.rmtree(root, ignore_errors=True)
        root.mkdir(parents=True)
    project_root, outputs, reason = _make_project(
        root, SHOT_ID, lambda folder: bh.write_random_files(folder, names, shape.file_size, seed=2)
    )
    if project_root is None and not marker.exists():
        bh.write_random_files(outputs, names, shape.file_size, seed=2)
    marker.touch()
    return FrameShot(bh.FileSet(shape, outputs, names), project_root, SHOT_ID, reason)


@pytest.fixture(scope="session")
def one_file_shot(data_root: Path) -> FrameShot:
    """A shot holding one small preview: what a farm hook verifies after a render."""
    shape = bh.Shape("one", 1, 64 * bh.KIB)
    root = data_root / "one-file-shot"
    root.mkdir(parents=True, exist_ok=True)
    names = ["preview.mp4"]
    project_root, outputs, reason = _make_project(
        root, SHOT_ID, lambda folder: bh.write_random_files(folder, names, shape.file_size, seed=4)
    )
    return FrameShot(bh.FileSet(shape, outputs, names), project_root, SHOT_ID, reason)


@pytest.fixture(scope="session")
def pool() -> Iterator[ThreadPoolExecutor]:
    with ThreadPoolExecutor(max_workers=2) as executor:
        yield executor


@pytest.fixture(scope="session")
def buffer(bench_settings: bh.Settings) -> bytes:
    import numpy as np

    return np.random.default_rng(5).bytes(bench_settings.buffer_size)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    if not bh.RESULTS and not bh.GUARDS:
        return
    mode = "quick" if config.getoption("--quick") else "full"
    terminalreporter.write_sep("=", "cinev4 against its peers")
    for line in bh.table_lines(mode):
        terminalreporter.write_line(line)
