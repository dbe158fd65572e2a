"""Render-time staging (README "Farm hooks", ADR-0005): ``cinev4 manifest`` of a version whose
frames were all staged by the render tasks, beside the same command on the same frames with
nothing staged, warm and cold (``posix_fadvise(DONTNEED)`` before every round, not timed: the
seal usually runs after the frames have left every page cache, on another machine).

A manifest is written once, so every round seals a project of its own. The projects share the
frames through hard links: the same inodes, so cold means cold for all of them, and every
project is staged after the last link is made (a link changes the file's ctime, which staging
compares). Full mode: 50 x 8 MiB (the issue's shape); quick mode: 8 x 8 MiB.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import bench_guards
import bench_harness as bh
from test_cold import evict, measure_cold, resident_bytes

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="evicts with posix_fadvise and measures residency with mincore")

SHOT_ID = "SH010"
OUT = f"shots/{SHOT_ID}/outputs/v0001"
FULL = bh.Shape("frames", 50, 8 * bh.MIB)
QUICK = bh.Shape("frames", 8, 8 * bh.MIB)
STAGED = "cinev4 manifest, all staged (CLI)"
UNSTAGED = "cinev4 manifest, nothing staged (CLI)"


class Seals:
    """Projects ready to be sealed, one per timed call, handed out in order. ``notes``: for a
    staged project whose seal took no staged digest, why (its warnings), for the report."""

    def __init__(self, roots: list[Path], notes: list[str] | None = None,
                 staged_times: dict[Path, str] | None = None) -> None:
        self._roots: Iterator[Path] = iter(roots)
        self._notes = notes
        self._staged_times = staged_times or {}

    def __call__(self) -> None:
        root = next(self._roots)
        done = subprocess.run(bh.cinev4_argv("manifest", SHOT_ID, "--json"), cwd=root, capture_output=True,
                              text=True)
        if done.returncode != 0:
            raise RuntimeError(f"cinev4 manifest failed in {root}: {done.stderr.strip()}")
        if self._notes is not None and json.loads(done.stdout).get("staged_files", 0) == 0:
            # No warning means every claim was judged racily clean: the times say whether a
            # frame changed after its record was written, or the clock stepped back.
            self._notes.append(f"{root.name}: no staged digest taken; stderr: {done.stderr.strip()[:300]!r}; "
                               f"at staging: {self._staged_times.get(root, '?')}; after the seal (its "
                               f"records are gone): {_times(root, records=False)}, clock {time.time_ns()}")


def _frames(data_root: Path, shape: bh.Shape, mode: str) -> tuple[Path, list[str]]:
    folder = data_root / f"staging-frames-{mode}"
    names = [f"sh010.{1001 + i}.exr" for i in range(shape.files)]
    marker = folder / f".complete-{shape.files}x{shape.file_size}"
    if not marker.exists():
        folder.mkdir(parents=True, exist_ok=True)
        bh.write_random_files(folder, names, shape.file_size, seed=16)
        marker.touch()
    return folder, names


def _projects(base: Path, frames: Path, names: list[str], count: int, staged: bool) -> list[Path]:
    from cinev4.pipeline import create_shot, init_project

    roots = []
    for index in range(count):
        project = init_project(base / f"{'staged' if staged else 'plain'}-{index}", "BENCH")
        create_shot(project, SHOT_ID)
        out = project.root / OUT
        out.mkdir(parents=True, exist_ok=True)
        for name in names:
            os.link(frames / name, out / name)
        (out / "qc.json").write_text('{"reviewer": "bench", "approved": true}\n')
        (out / "preview.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42")
        roots.append(project.root)
    return roots


def _times(root: Path, records: bool = True) -> str:
    """The latest change (mtime or ctime, ns) among the frames and the newest staging record's
    mtime: a claim is taken only when the frame's change is strictly older than its record."""
    frames = [os.stat(p) for p in (root / OUT).iterdir()]
    text = f"frames changed {max(max(st.st_mtime_ns, st.st_ctime_ns) for st in frames)}"
    if records:
        written = [os.stat(p).st_mtime_ns for p in (root / f"shots/{SHOT_ID}").rglob("*")
                   if "staging" in p.parts and p.is_file()]
        text += f", records written {max(written) if written else 'none'}"
    return text


def _stage_all(roots: list[Path], names: list[str]) -> dict[Path, str]:
    """Stages every frame of each project; returns each project's ``_times`` right after."""
    from cinev4.pipeline import load_project, stage

    staged_times = {}
    for root in roots:
        result = stage(load_project(root, search=False), SHOT_ID, [root / OUT / n for n in names])
        assert not result.failures and len(result.files) == len(names), result.failures
        staged_times[root] = _times(root)
    return staged_times


def _case(benchmark: Any, data_root: Path, settings: bh.Settings, cold: bool) -> bh.Case:
    shape = QUICK if settings.quick else FULL
    frames, names = _frames(data_root, shape, settings.mode)
    paths = [str(frames / n) for n in names]
    if cold:
        evict(paths)
        if resident_bytes(paths) > shape.total_bytes // 100:
            pytest.skip("this file system keeps files in memory (tmpfs?): no cold data to measure")
    calls = settings.rounds + 1  # --benchmark-disable may add one call of the target
    base = data_root / f"staging-projects-{settings.mode}-{'cold' if cold else 'warm'}"  # beside the frames: links
    shutil.rmtree(base, ignore_errors=True)
    staged = _projects(base, frames, names, calls, staged=True)
    plain = _projects(base, frames, names, calls, staged=False)
    staged_times = _stage_all(staged, names)  # after every link: each link moves the frames' ctime
    case = bh.Case(f"staging{' cold' if cold else ''}: {shape.label}", shape.total_bytes, shape.files)
    case.add(STAGED, Seals(staged, case.notes, staged_times))
    case.add(UNSTAGED, Seals(plain))
    if cold:
        measure_cold(case, benchmark, STAGED, settings.rounds, paths)
    else:
        bh.warm_page_cache(paths)
        case.measure(benchmark, STAGED, settings.rounds)
    case.record(benchmark)
    benchmark.extra_info["staged / nothing staged (time)"] = round(case.best(STAGED) / case.best(UNSTAGED), 3)
    return case


def _guard(case: bh.Case, bar: float, what: str) -> bh.GuardResult:
    """The staged seal may take at most ``bar`` of the unstaged one's time (judged as a speed-up)."""
    share = case.best(STAGED) / case.best(UNSTAGED)
    return bh.record_guard(case, what, 1 / share, 1 / bar, f"{STAGED} vs {UNSTAGED}")


@pytest.mark.benchmark(group="staging")
def test_staged_seal_warm(benchmark: Any, data_root: Path, bench_settings: bh.Settings) -> None:
    case = _case(benchmark, data_root, bench_settings, cold=False)
    bar = bench_guards.STAGED_SEAL_WARM_QUICK if bench_settings.quick else bench_guards.STAGED_SEAL_WARM
    bh.check([_guard(case, bar, "staged seal, warm: speed-up over nothing staged")])


@pytest.mark.benchmark(group="staging")
def test_staged_seal_cold(benchmark: Any, data_root: Path, bench_settings: bh.Settings) -> None:
    case = _case(benchmark, data_root, bench_settings, cold=True)
    bar = bench_guards.STAGED_SEAL_COLD_QUICK if bench_settings.quick else bench_guards.STAGED_SEAL_COLD
    bh.check([_guard(case, bar, "staged seal, cold: speed-up over nothing staged")])
