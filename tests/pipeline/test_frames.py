"""Frame sequences: collapsing, padding, gaps, expected ranges (pure functions, no I/O)."""
from __future__ import annotations

import random
import re
from collections.abc import Iterable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cinev4.errors import ContractError
from cinev4.pipeline.frames import (
    FrameRange,
    FrameSequence,
    collapse,
    collapsed_summary,
    format_ranges,
    frame_gaps,
    frame_ranges,
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
    for bad in ("1240-1001", "a-b", "1001-", "-5", "", "\u0661\u0660\u0660\u0661"):
        with pytest.raises(ContractError):
            parse_frame_range(bad)
    assert parse_frame_range("0-999999999") == FrameRange(0, 999999999)
    for huge in ("1000000000-1000000001", "5-1000000000", "99999999999999999999"):
        with pytest.raises(ContractError, match=rf"frame range '{huge}': frame \d+ is out of range "
                                                r"\(expected 0 to 999999999\)"):
            parse_frame_range(huge)
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


# --- the bulk collapse against the straightforward one it replaced -----------------------------

_REFERENCE_NAME = re.compile(r"^(?P<head>.*?)(?P<digits>\d+)(?P<tail>\.[^./\d][^./]*)$")


def reference_collapse(paths: Iterable[str], *, min_files: int = 2) -> list[str | FrameSequence]:
    """``collapse`` as it was first written: one regex match and one int() per path."""
    groups: dict[tuple[str, str], list[tuple[str, str]]] = {}
    singles: list[str] = []
    for path in paths:
        folder, slash, name = path.rpartition("/")
        match = _REFERENCE_NAME.match(name)
        negative = match is not None and match["head"].endswith("-") and match["head"][-2:-1] in ("", ".", "_")
        if match is None or negative:  # sh010.-001.exr: frame -1, no frame of a range
            singles.append(path)
        else:
            groups.setdefault((folder + slash + match["head"], match["tail"]), []).append((match["digits"], path))
    entries: list[str | FrameSequence] = list(singles)
    for (head, tail), members in groups.items():
        widths = {len(digits) for digits, _ in members}
        padded = any(len(d) > 1 and d.startswith("0") for d, _ in members)
        if len(widths) > 1 and not padded:
            buckets = {1: members}
        else:
            # A width with no leading zero that is wider than a padded width is its overflow
            # (%04d: 9999, 10000): it goes with the widest padded width below it.
            zero_led = {len(d) for d, _ in members if len(d) > 1 and d.startswith("0")}
            target = {}
            for width in widths:
                below = [w for w in zero_led if w < width]
                target[width] = max(below) if width not in zero_led and below else width
            buckets = {}
            for digits, path in members:
                buckets.setdefault(target[len(digits)], []).append((digits, path))
        for pad, bucket in buckets.items():
            by_frame: dict[int, str] = {}
            duplicates: list[str] = []
            for digits, path in bucket:
                if int(digits) in by_frame:
                    duplicates.append(path)
                else:
                    by_frame[int(digits)] = path
            if len(by_frame) < min_files:
                entries += list(by_frame.values()) + duplicates
                continue
            frames = tuple(sorted(by_frame))
            entries.append(FrameSequence(head, tail, pad, frames, tuple(by_frame[f] for f in frames)))
            entries += duplicates
    entries.sort(key=lambda e: e if isinstance(e, str) else e.paths[0])
    return entries


def reference_ranges(frames: Iterable[int]) -> list[tuple[int, int]]:
    runs: list[tuple[int, int]] = []
    for frame in sorted(set(frames)):
        if runs and frame == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], frame)
        else:
            runs.append((frame, frame))
    return runs


# Small pools, so that heads, tails and numbers meet: sequences, widths, duplicates. Digits in
# folders and heads (SH010/SH020), a newline, and digits that are not ASCII (١ is 1, ٠ is 0).
_FOLDERS = st.sampled_from(["", "out/", "shots/SH010/", "shots/SH020/", "v1.2/", "a\nb/", "x٣/"])
_HEADS = st.sampled_from(["", "a.", "a_", "sh010.", "b", "7", "a.b", "c١.", "d.٠", "a.-", "-", "a-"])
_NUMBERS = st.one_of(
    st.integers(0, 30).map(str),
    st.builds(lambda n, pad: f"{n:0{pad}d}", st.integers(0, 30), st.integers(1, 4)),
    st.text("0123456789١٠", min_size=1, max_size=3),
)
_TAILS = st.sampled_from([".exr", ".exr", ".jp2", ".jp4", ".j2c", ".gz", ".exr\n", "_v2.exr", ".1x", "", ".", ".a/b"])
_OTHERS = st.sampled_from(["preview.mp4", "qc.json", "take12", "a.0001", "", "solo.12.", ".5.exr", "b.tar.gz"])
_PATHS = st.one_of(
    st.builds(lambda *parts: "".join(parts), _FOLDERS, _HEADS, _NUMBERS, _TAILS),
    st.builds(lambda folder, other: folder + other, _FOLDERS, _OTHERS),
)


@settings(max_examples=400, deadline=None)
@given(st.lists(_PATHS, max_size=40), st.booleans(), st.integers(1, 3))
def test_collapse_equals_the_reference(paths: list[str], sort: bool, min_files: int) -> None:
    if sort:  # a sorted listing, as a manifest has it: the order the bulk path is quickest on
        paths = sorted(paths)
    assert collapse(paths, min_files=min_files) == reference_collapse(paths, min_files=min_files)


@settings(max_examples=150, deadline=None)
@given(st.sets(st.integers(0, 600), min_size=1, max_size=400), st.integers(1, 5), st.booleans(), st.booleans(),
       st.lists(_PATHS, max_size=5), st.randoms(use_true_random=False))
def test_a_long_sequence_equals_the_reference(frames: set[int], pad: int, shuffle: bool, two_shots: bool,
                                              others: list[str], rnd: random.Random) -> None:
    """Long enough that the gaps are found by halving spans, in any order, among other names;
    with two shots, the frames are shared out between two folders of one shape."""
    paths = [f"shots/SH0{rnd.choice('12') if two_shots else 1}0/sh010.{frame:0{pad}d}.exr"
             for frame in sorted(frames)] + others
    if shuffle:
        rnd.shuffle(paths)
    expected = reference_collapse(paths)
    assert collapse(paths) == expected
    shown = [e.display() if isinstance(e, FrameSequence) else e for e in expected[:2]]
    more = [f"... {len(expected) - 2} more"] if len(expected) > 2 else []
    assert collapsed_summary(paths, limit=2) == ", ".join(shown + more)


@settings(max_examples=200, deadline=None)
@given(st.sets(st.integers(-5, 2000), max_size=600))
def test_frame_ranges_equal_the_reference(frames: set[int]) -> None:
    assert frame_ranges(frames) == reference_ranges(frames)
    assert frame_ranges(iter(sorted(frames, reverse=True))) == reference_ranges(frames)


def test_duplicates_keep_the_first_path_listed() -> None:
    # 1 and ١ are one frame of one width; their paths have different shapes, so the bulk path
    # sees them apart: the first listed stands for the frame, as one match per path had it.
    for paths in (["a.2.exr", "a.١.exr", "a.1.exr"], ["a.2.exr", "a.1.exr", "a.١.exr"],
                  ["a.1.exr", "a.1.exr", "a.2.exr"], ["a.٠1.exr", "a.1.exr", "a.3.exr", "a.1.exr"]):
        assert collapse(paths) == reference_collapse(paths)
        assert collapse(paths[::-1]) == reference_collapse(paths[::-1])


@pytest.mark.parametrize("paths", [
    ["a.0001.jp2", "a.0002.jp4", "a.0003.jp2", "a.0004.jp4"],  # one shape, tails apart by a digit
    ["SH010/a.0001.exr", "SH020/a.0002.exr", "SH010/a.0003.exr"],  # one shape, heads apart by a digit
    ["SH010/a.0001.exr", "SH010/a.0002.exr", "SH020/a.0001.exr", "SH020/a.0002.exr"],
    ["a.9.exr", "a.10.exr", "a.11.exr", "a.08.exr", "a.09.exr", "a.100.exr"],  # widths, padded or not
])
def test_paths_of_one_shape_or_one_name_stay_apart_as_before(paths: list[str]) -> None:
    for order in (paths, sorted(paths), paths[::-1]):
        assert collapse(order) == reference_collapse(order)


def test_a_large_shot_collapses_like_the_reference() -> None:
    frames = [f for f in range(1001001, 1101001) if f not in (1001500, 1050000, 1050001)]
    sequence = [f"{OUT}sh010.{f:07d}.exr" for f in frames]
    paths = [f"{OUT}preview.mp4", f"{OUT}qc.json"] + sequence
    entries = collapse(paths)
    assert entries == reference_collapse(paths)
    assert entries[-1] == FrameSequence(f"{OUT}sh010.", ".exr", 7, tuple(frames), tuple(sequence))
    assert collapsed_summary(paths, strip=OUT) == (
        "preview.mp4, qc.json, sh010.[1001001-1001499,1001501-1049999,1050002-1101000].exr (99997 files)")
    shuffled = paths[:]
    random.Random(7).shuffle(shuffled)
    assert collapse(shuffled) == entries
    (gap,) = frame_gaps(paths, FrameRange(1001001, 1101000))
    assert gap.missing == ((1001500, 1001500), (1050000, 1050001))


def test_a_padded_sequence_past_its_padding_is_one_sequence() -> None:
    # %04d writes 9999 then 10000: split by width, each half lacked the other's frames, and a
    # complete render of 1-10002 could never be DONE.
    paths = [f"{OUT}sh010.{i:04d}.exr" for i in range(1, 10003)]
    assert displays(paths) == ["sh010.[0001-10002].exr (10002 files)"]
    assert frame_gaps(paths, FrameRange(1, 10002)) == []
    gaps = frame_gaps([p for p in paths if "10001" not in p], FrameRange(1, 10002))
    assert [gap.missing for gap in gaps] == [((10001, 10001),)]
    # Padding still tells sequences apart below it, and an unpadded 7 is not a 4-padded frame.
    assert displays([f"{OUT}a.{i:02d}.exr" for i in (1, 2)] + [f"{OUT}a.{i:04d}.exr" for i in (1, 2)]) == [
        "a.[0001-0002].exr (2 files)", "a.[01-02].exr (2 files)"]


@pytest.mark.parametrize("name", ["sh010.-{:03d}.exr", "sh010_-{:04d}.exr", "-{:04d}.exr"])
def test_negative_frames_are_not_the_positive_frames(name: str) -> None:
    # sh010.-001.exr is frame -1 (Nuke, Houdini): it counted as frame 1 and the DONE gate passed.
    paths = [OUT + name.format(i) for i in (1, 2, 3)]
    assert [gap.missing for gap in frame_gaps(paths, FrameRange(1, 3))] == [((1, 3),)]
    assert frame_gaps([f"{OUT}sh010-{i:04d}.exr" for i in (1, 2, 3)], FrameRange(1, 3)) == []  # a '-' joining names
