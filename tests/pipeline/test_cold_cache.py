"""The pipeline leaves the page cache as it found it (README "Page cache"):
`cinev4 manifest` and `cinev4 verify` drop the pages they brought in and keep
the pages that were resident; CINEV4_CACHE=keep turns that off. Residency is
measured with mincore (tests/engine/test_cold_io.py)."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from engine.test_cold_io import evict, resident_fraction, warm  # tests/ is on sys.path, as for helpers
from helpers import render, run_cli

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="mincore/posix_fadvise residency as Linux reports it")


@pytest.fixture
def frames(project: Path) -> list[Path]:
    """SH010 in QC with three frames of 3 MiB (several windows each), all evicted."""
    run_cli("shot", "new", "SH010", cwd=project)
    out = render(project)
    frames = sorted(out.glob("*.exr"))
    for frame in frames:
        frame.write_bytes(os.urandom(3 << 20))
    run_cli("shot", "qc", "SH010", cwd=project)
    for frame in frames:
        evict(frame)
    return frames


def test_manifest_and_verify_leave_cold_frames_cold(project: Path, frames: list[Path]) -> None:
    run_cli("manifest", "SH010", cwd=project)
    after_manifest = [resident_fraction(f) for f in frames]
    for frame in frames:
        evict(frame)
    run_cli("verify", "SH010", cwd=project)
    after_verify = [resident_fraction(f) for f in frames]
    assert max(after_manifest) < 0.02, after_manifest
    assert max(after_verify) < 0.02, after_verify


def test_verify_keeps_resident_frames_resident(project: Path, frames: list[Path]) -> None:
    run_cli("manifest", "SH010", cwd=project)
    warm(frames[0])
    run_cli("verify", "SH010", cwd=project)
    fractions = [resident_fraction(f) for f in frames]
    assert fractions[0] > 0.99, fractions
    assert max(fractions[1:]) < 0.02, fractions


def test_cache_keep_leaves_what_verify_read(project: Path, frames: list[Path]) -> None:
    run_cli("manifest", "SH010", cwd=project)
    for frame in frames:
        evict(frame)
    run_cli("verify", "SH010", cwd=project, env={"CINEV4_CACHE": "keep"})
    fractions = [resident_fraction(f) for f in frames]
    assert min(fractions) > 0.9, fractions
