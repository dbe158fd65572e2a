"""Frame sequences: ``sh010.0001.exr ... sh010.0240.exr`` seen as one thing.

Renders write one file per frame; people read them as a sequence. This module
groups contract paths into sequences (same folder, same name around the last
number of the stem, same padding), writes them as
``sh010.[0001-0100,0102-0240].exr (239 files)``, and compares a sequence with
the frame range a shot declares (``frames: {"first": 1001, "last": 1240}``).

Manifests and per-file JSON detail are untouched: this is a way of reading
lists of files, not of storing them.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Union

from cinev4.errors import ContractError

__all__ = [
    "FrameGap",
    "FrameRange",
    "FrameSequence",
    "collapse",
    "collapsed_summary",
    "format_ranges",
    "frame_gaps",
    "frame_ranges",
    "missing_frames",
    "parse_frame_range",
]

# The last run of digits in the name, just before the extension (``sh010.0001.exr``
# -> ``0001``; ``plate_v2_1001.dpx`` -> ``1001``). A name without an extension
# has no frame number: ``take12`` is a name, not frame 12.
_FRAME_NAME = re.compile(r"^(?P<head>.*?)(?P<digits>\d+)(?P<tail>\.[^./\d][^./]*)$")


@dataclass(frozen=True)
class FrameRange:
    """A shot's expected frames, inclusive at both ends."""

    first: int
    last: int

    def __str__(self) -> str:
        return f"{self.first}-{self.last}"

    def __len__(self) -> int:
        return self.last - self.first + 1

    def to_dict(self) -> dict[str, int]:
        return {"first": self.first, "last": self.last}

    @classmethod
    def from_document(cls, data: dict[str, Any] | None) -> FrameRange | None:
        """The shot record's ``frames`` (schema-valid), or None; ``last < first`` is a contract error."""
        if data is None:
            return None
        if data["last"] < data["first"]:
            raise ContractError(f"frames: last ({data['last']}) is before first ({data['first']})")
        return cls(int(data["first"]), int(data["last"]))


def parse_frame_range(text: str) -> FrameRange:
    """``"1001-1240"`` (or a single frame ``"1001"``) -> FrameRange; ContractError if malformed."""
    match = re.fullmatch(r"\s*(\d+)\s*(?:-\s*(\d+)\s*)?", text)
    if match is None:
        raise ContractError(f"frame range {text!r} is not FIRST-LAST (e.g. 1001-1240)")
    first = int(match.group(1))
    last = int(match.group(2)) if match.group(2) is not None else first
    if last < first:
        raise ContractError(f"frame range {text!r}: the last frame comes before the first")
    return FrameRange(first, last)


def frame_ranges(frames: Iterable[int]) -> list[tuple[int, int]]:
    """Sorted frame numbers as inclusive runs: 1,2,3,5 -> [(1, 3), (5, 5)]."""
    runs: list[tuple[int, int]] = []
    for frame in sorted(set(frames)):
        if runs and frame == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], frame)
        else:
            runs.append((frame, frame))
    return runs


def format_ranges(runs: Sequence[tuple[int, int]], pad: int = 1) -> str:
    """[(1, 100), (102, 240)] with pad 4 -> ``0001-0100,0102-0240``."""
    return ",".join(f"{a:0{pad}d}" if a == b else f"{a:0{pad}d}-{b:0{pad}d}" for a, b in runs)


@dataclass(frozen=True)
class FrameSequence:
    """Files ``<head><frame padded to pad><tail>``, e.g. head ``shots/.../sh010.``, tail ``.exr``."""

    head: str
    tail: str
    pad: int  # digits of a frame number (1: not padded)
    frames: tuple[int, ...]  # sorted
    paths: tuple[str, ...]  # in frame order

    @property
    def ranges(self) -> list[tuple[int, int]]:
        return frame_ranges(self.frames)

    @property
    def pattern(self) -> str:
        """``shots/SH010/outputs/v0001/sh010.####.exr`` (``#`` per padded digit; ``@`` unpadded)."""
        return f"{self.head}{'#' * self.pad if self.pad > 1 else '@'}{self.tail}"

    def display(self, strip: str = "") -> str:
        """``sh010.[0001-0100,0102-0240].exr (239 files)``, with ``strip`` removed from the front."""
        head = self.head[len(strip):] if strip and self.head.startswith(strip) else self.head
        return f"{head}[{format_ranges(self.ranges, self.pad)}]{self.tail} ({len(self.frames)} files)"

    def to_dict(self) -> dict[str, Any]:
        return {
            "pattern": self.pattern,
            "display": self.display(),
            "first": self.frames[0],
            "last": self.frames[-1],
            "count": len(self.frames),
            "ranges": [list(run) for run in self.ranges],
        }


Entry = Union[str, FrameSequence]


def _split_frame(path: str) -> tuple[str, str, str] | None:
    folder, slash, name = path.rpartition("/")
    match = _FRAME_NAME.match(name)
    if match is None:
        return None
    return folder + slash + match.group("head"), match.group("digits"), match.group("tail")


def collapse(paths: Iterable[str], *, min_files: int = 2) -> list[Entry]:
    """The paths as plain paths and sequences (of ``min_files`` files or more), sorted by their first path.

    Padding is part of a sequence's identity: ``a.0001.exr`` and ``a.01.exr``
    are two sequences. Numbers of different lengths without leading zeros
    (``a.9.exr``, ``a.10.exr``) form one unpadded sequence.
    """
    groups: dict[tuple[str, str], list[tuple[str, str]]] = {}
    singles: list[str] = []
    for path in paths:
        parts = _split_frame(path)
        if parts is None:
            singles.append(path)
        else:
            groups.setdefault((parts[0], parts[2]), []).append((parts[1], path))
    entries: list[Entry] = list(singles)
    for (head, tail), members in groups.items():
        widths = {len(digits) for digits, _ in members}
        padded = any(len(d) > 1 and d.startswith("0") for d, _ in members)
        if len(widths) > 1 and not padded:
            buckets = {1: members}  # unpadded: 9, 10, 11 are one sequence
        else:
            buckets = {}
            for digits, path in members:
                buckets.setdefault(len(digits), []).append((digits, path))
        for pad, bucket in buckets.items():
            by_frame: dict[int, str] = {}
            duplicates: list[str] = []
            for digits, path in bucket:
                if int(digits) in by_frame:  # 1 and 01 in one unpadded bucket: shown apart, never merged
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


def collapsed_summary(paths: Iterable[str], *, strip: str = "", limit: int = 6) -> str:
    """One line for people: ``sh010.[1001-1240].exr (240 files), preview.mp4, qc.json``."""
    entries = collapse(paths)
    shown = [e.display(strip) if isinstance(e, FrameSequence) else (e[len(strip):] if strip and e.startswith(strip) else e)
             for e in entries[:limit]]
    if len(entries) > limit:
        shown.append(f"... {len(entries) - limit} more")
    return ", ".join(shown)


def missing_frames(sequence: FrameSequence, expected: FrameRange) -> list[tuple[int, int]]:
    """The runs of ``expected`` that ``sequence`` lacks (frames outside the range are ignored).

    Computed from the gaps between the sorted frames present, never by listing
    the range: time and memory follow the files, not the declared range's
    length (a range of 1-999999999 with one frame rendered costs one step).
    """
    missing: list[tuple[int, int]] = []
    next_expected = expected.first  # the first frame not yet accounted for
    for frame in sequence.frames:  # sorted, unique
        if frame < next_expected:
            continue
        if frame > expected.last:
            break
        if frame > next_expected:
            missing.append((next_expected, frame - 1))
        next_expected = frame + 1
    if next_expected <= expected.last:
        missing.append((next_expected, expected.last))
    return missing


@dataclass(frozen=True)
class FrameGap:
    """Frames of the expected range that a sequence lacks (``sequence`` None: there is no sequence at all)."""

    sequence: FrameSequence | None
    expected: FrameRange
    missing: tuple[tuple[int, int], ...]

    @property
    def count(self) -> int:
        return sum(b - a + 1 for a, b in self.missing)

    def path(self, folder: str) -> str:
        return self.sequence.pattern if self.sequence is not None else folder

    def describe(self, strip: str = "") -> str:
        """``sh010.[1005-1009,1100].exr: 6 of 240 frames missing (expected 1001-1240)``."""
        if self.sequence is None:
            return f"no image sequence (expected frames {self.expected})"
        seq = self.sequence
        head = seq.head[len(strip):] if strip and seq.head.startswith(strip) else seq.head
        return (f"{head}[{format_ranges(self.missing, seq.pad)}]{seq.tail}: {self.count} of {len(self.expected)} "
                f"frames missing (expected {self.expected})")

    def describe_missing(self) -> str:
        """``frames 1005-1009,1100 missing: 6 of 240 (expected 1001-1240)``, for a line that names the sequence."""
        if self.sequence is None:
            return self.describe()
        return (f"frames {format_ranges(self.missing, self.sequence.pad)} missing: {self.count} of "
                f"{len(self.expected)} (expected {self.expected})")

    def to_dict(self) -> dict[str, Any]:
        return {
            "pattern": self.sequence.pattern if self.sequence is not None else None,
            "expected": self.expected.to_dict(),
            "missing_count": self.count,
            "missing": [list(run) for run in self.missing],
        }


def frame_gaps(paths: Iterable[str], expected: FrameRange) -> list[FrameGap]:
    """For each image sequence among ``paths`` that overlaps ``expected``, the expected frames it
    lacks; one gap covering the whole range when no image sequence overlaps it at all."""
    from cinev4.pipeline.media import role_for

    # A numbered image wholly outside the range (a slate, a thumbnail) is not one of the shot's frames.
    sequences = [e for e in collapse(paths, min_files=1)
                 if isinstance(e, FrameSequence) and role_for(e.paths[0]) == "frame"
                 and e.frames[0] <= expected.last and e.frames[-1] >= expected.first]
    if not sequences:
        return [FrameGap(None, expected, ((expected.first, expected.last),))]
    gaps = []
    for sequence in sequences:
        missing = missing_frames(sequence, expected)
        if missing:
            gaps.append(FrameGap(sequence, expected, tuple(missing)))
    return gaps
