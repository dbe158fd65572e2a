"""Frame sequences: collapsing, padding, gaps, expected ranges (pure functions, no I/O)."""
from __future__ import annotations

import pytest

from cinev4.errors import ContractError
from cinev4.pipeline.frames import (
    FrameRange,
    FrameSequence,
    collapse,
    collapsed_summary,
    format_ranges,
    frame_gaps,
    parse_frame_range,
)

OUT = "shots/SH010/outputs/v0001/"


def displays(paths: list[str]) -> list[str]:
    return [e.display(OUT) if isinstance(e, FrameSequence) else e for e in collapse(paths)]


def test_a_run_with_a_gap_collapses_into_ranges() -> None:
    paths = [f"{OUT}shot010.{i:04d}.exr" for i in range(1, 241) if i != 101]
    assert displays(paths) == ["shot010.[0001-0100,0102-0240].exr (239 files)"]
    (sequence,) = collapse(paths)
    assert isinstance(sequence, FrameSequence)
    assert sequence.pattern == f"{OUT}shot010.####.exr"
    assert sequence.to_dict()["ranges"] == [[1, 100], [102, 240]]
    assert sequence.paths == tuple(sorted(paths))


@pytest.mark.parametrize("pad", [1, 3, 5, 7])
def test_any_padding_width(pad: int) -> None:
    frames = [1, 2, 3, 7, 9, 10, 11]
    paths = [f"{OUT}plate_v2_{f:0{pad}d}.dpx" for f in frames]
    ranges = format_ranges([(1, 3), (7, 7), (9, 11)], pad)
    assert displays(paths) == [f"plate_v2_[{ranges}].dpx (7 files)"]


def test_different_paddings_are_different_sequences() -> None:
    paths = [f"{OUT}a.{i:04d}.exr" for i in (1, 2)] + [f"{OUT}a.{i:02d}.exr" for i in (1, 2)]
    assert displays(paths) == ["a.[0001-0002].exr (2 files)", "a.[01-02].exr (2 files)"]


def test_names_that_are_not_sequences_stay_as_they_are() -> None:
    paths = [f"{OUT}preview.mp4", f"{OUT}qc.json", f"{OUT}solo.1001.exr", f"{OUT}take12",
             f"{OUT}beauty/sh.1001.exr", f"{OUT}beauty/sh.1002.exr", f"{OUT}matte/sh.1001.exr"]
    assert displays(paths) == [
        "beauty/sh.[1001-1002].exr (2 files)", f"{OUT}matte/sh.1001.exr", f"{OUT}preview.mp4",
        f"{OUT}qc.json", f"{OUT}solo.1001.exr", f"{OUT}take12",
    ]
    summary = collapsed_summary(paths, strip=OUT, limit=3)
    assert summary == "beauty/sh.[1001-1002].exr (2 files), matte/sh.1001.exr, preview.mp4, ... 3 more"


def test_unpadded_numbers_of_different_lengths_are_one_sequence() -> None:
    paths = [f"{OUT}x.{i}.png" for i in (8, 9, 10, 11)]
    assert displays(paths) == ["x.[8-11].png (4 files)"]


def test_frame_range_parsing() -> None:
    assert parse_frame_range("1001-1240") == FrameRange(1001, 1240)
    assert parse_frame_range(" 7 ") == FrameRange(7, 7)
    assert len(FrameRange(1001, 1240)) == 240
    for bad in ("1240-1001", "a-b", "1001-", "-5", ""):
        with pytest.raises(ContractError):
            parse_frame_range(bad)
    with pytest.raises(ContractError):
        FrameRange.from_document({"first": 10, "last": 9})
    assert FrameRange.from_document(None) is None


def test_gaps_against_an_expected_range() -> None:
    present = [f"{OUT}sh010.{i:04d}.exr" for i in range(1001, 1241) if i not in (1005, 1006, 1007, 1100)]
    others = [f"{OUT}preview.mp4", f"{OUT}slate.0001.exr"]  # a numbered image outside the range is no frame
    (gap,) = frame_gaps(present + others, FrameRange(1001, 1240))
    assert gap.missing == ((1005, 1007), (1100, 1100)) and gap.count == 4
    assert gap.describe(OUT) == "sh010.[1005-1007,1100].exr: 4 of 240 frames missing (expected 1001-1240)"
    assert gap.to_dict()["missing"] == [[1005, 1007], [1100, 1100]]
    assert frame_gaps(present, FrameRange(1008, 1099)) == []
    # a second pass (matte) is held to the same range
    matte = [f"{OUT}matte.{i:04d}.exr" for i in range(1001, 1241)]
    assert [g.sequence.pattern for g in frame_gaps(present + matte, FrameRange(1001, 1240)) if g.sequence] == [
        f"{OUT}sh010.####.exr"]


def test_no_sequence_at_all_misses_the_whole_range() -> None:
    (gap,) = frame_gaps([f"{OUT}preview.mp4"], FrameRange(1, 24))
    assert gap.sequence is None and gap.count == 24
    assert gap.describe() == "no image sequence (expected frames 1-24)"
