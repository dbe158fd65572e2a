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
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from itertools import chain, compress, groupby, islice
from operator import itemgetter, lt
from typing import Any, Union

from cinev4.errors import ContractError
from cinev4.pipeline.media import path_shapes, role_for

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

# _FRAME_NAME looks only at which characters are digits, dots or slashes, so it cuts all paths
# of one shape (media.path_shapes) at the same places: one match per shape, not one per path.
# In frame numbers one a line: one of two digits or more that starts with 0 (padded).
_PADDED = re.compile(r"^0.", re.MULTILINE)


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
    # ASCII: \d also matches other scripts' digits, which no frame number is written with.
    match = re.fullmatch(r"\s*(\d+)\s*(?:-\s*(\d+)\s*)?", text, re.ASCII)
    if match is None:
        raise ContractError(f"frame range {text!r} is not FIRST-LAST (e.g. 1001-1240)")
    first = int(match.group(1))
    last = int(match.group(2)) if match.group(2) is not None else first
    if last < first:
        raise ContractError(f"frame range {text!r}: the last frame comes before the first")
    from cinev4.contracts.schemas import schema

    # Said here as an argument error, not later as the shot record's schema errors.
    bounds = schema("shot")["$defs"]["frame_number"]
    for frame in (first, last):
        if not bounds["minimum"] <= frame <= bounds["maximum"]:
            raise ContractError(f"frame range {text!r}: frame {frame} is out of range "
                                f"(expected {bounds['minimum']} to {bounds['maximum']})")
    return FrameRange(first, last)


def frame_ranges(frames: Iterable[int]) -> list[tuple[int, int]]:
    """Sorted frame numbers as inclusive runs: 1,2,3,5 -> [(1, 3), (5, 5)]."""
    ordered = sorted(set(frames))
    return _runs(ordered.__getitem__, 0, len(ordered) - 1) if ordered else []


def _runs(value: Callable[[int], int], lo: int, hi: int) -> list[tuple[int, int]]:
    """The runs of ``value(lo) < value(lo + 1) < ... < value(hi)`` (increasing integers).

    A span whose ends differ by its length has no gap inside, so a sequence with few gaps
    costs a few look-ups per gap, not one per frame; short spans are walked one by one."""
    first, last = value(lo), value(hi)
    if last - first == hi - lo:
        return [(first, last)]
    if hi - lo < 32:
        runs = [(first, first)]
        for frame in map(value, range(lo + 1, hi + 1)):
            if frame == runs[-1][1] + 1:
                runs[-1] = (runs[-1][0], frame)
            else:
                runs.append((frame, frame))
        return runs
    middle = (lo + hi) // 2
    left, right = _runs(value, lo, middle), _runs(value, middle + 1, hi)
    if left[-1][1] + 1 == right[0][0]:  # the halves' runs meet
        left[-1] = (left[-1][0], right[0][1])
        del right[0]
    return left + right


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


def _frame_cut(shape: str) -> tuple[int, int] | None:
    """Where the frame number starts and ends in the paths of this shape; None: they have none."""
    if "0." not in shape and shape.isascii():  # no digit before a dot: the quick no for most plain names
        return None
    folder, slash, name = shape.rpartition("/")
    match = _FRAME_NAME.match(name)
    if match is None:
        return None
    head = name[:match.start("digits")]
    if head.endswith("-") and (len(head) == 1 or head[-2] in "._"):
        return None  # a negative frame (Nuke, Houdini: sh010.-001.exr is frame -1), never frame 1
    offset = len(folder) + len(slash)
    return offset + match.start("digits"), offset + match.end("digits")


def _increasing(paths: list[str]) -> bool:
    """Strictly increasing (a path twice is not), compared in C."""
    return all(map(lt, paths, islice(paths, 1, None)))


def _by_shape(paths: list[str]) -> dict[str, list[str]]:
    """The paths by shape, each list in input order."""
    by_shape: dict[str, list[str]] = {}
    for shape, path in zip(path_shapes(paths), paths):
        by_shape.setdefault(shape, []).append(path)
    return by_shape


def _group(paths: list[str]) -> tuple[list[str], dict[tuple[str, str], list[str]], set[tuple[str, str]]]:
    """The paths without a frame number; the others by (head, tail), each list in order within a
    shape; and the (head, tail)s whose paths are all of one shape and strictly increasing."""
    singles: list[str] = []
    groups: dict[tuple[str, str], list[str]] = {}
    increasing: set[tuple[str, str]] = set()
    for shape, members in _by_shape(paths).items():
        cut = _frame_cut(shape)
        if cut is None:
            singles += members
            continue
        begin, end = cut
        # Sorted in C (one pass for a sorted listing, as manifests have). The order of a (head,
        # tail)'s paths matters only where a frame comes twice, and _sequences then asks the input.
        members.sort()
        ordered = _increasing(members)  # no path twice
        # Paths of one shape differ only in their ASCII digits: a head without any is the same
        # in all, and so is a head that the first and the last of the sorted paths share.
        if ("0" not in shape[:begin] or members[0][:begin] == members[-1][:begin]) and "0" not in shape[end:]:
            parts = [((members[0][:begin], members[0][end:]), members)]
        else:
            key = itemgetter(slice(None, begin), slice(end, None))
            parts = [(head_tail, list(part)) for head_tail, part in groupby(members, key)]
        for head_tail, part in parts:
            if head_tail in groups:  # another width (shape) of the name, or tails apart by a digit
                groups[head_tail] += part
                increasing.discard(head_tail)
            else:
                groups[head_tail] = part
                if ordered:
                    increasing.add(head_tail)
    return singles, groups, increasing


def _increasing_sequence(head: str, tail: str, paths: list[str], min_files: int) -> list[Entry]:
    """Paths of one (head, tail) and one shape, strictly increasing. Numbers of one width compare
    as strings do, so no frame comes twice and list order is frame order; where the frames run
    without a gap, int() is called a few times, not once per path."""
    if len(paths) < min_files:
        return list(paths)
    number = itemgetter(slice(len(head), -len(tail)))  # a tail is never empty
    runs = _runs(lambda i: int(number(paths[i])), 0, len(paths) - 1)
    frames = tuple(chain.from_iterable(range(first, last + 1) for first, last in runs))
    return [FrameSequence(head, tail, len(number(paths[0])), frames, tuple(paths))]


def _join_overflow(buckets: dict[int, tuple[list[str], list[str]]]) -> None:
    """``%04d`` writes a number past its width in full: 9999, then 10000. The numbers of a
    width with no leading zero join the widest padded width below theirs (its overflow), so a
    render past frame 9999 stays one sequence instead of two that each lack the other's frames."""
    padded = sorted(width for width, (numbers, _) in buckets.items()
                    if width > 1 and any(number.startswith("0") for number in numbers))
    for width in sorted(buckets):
        numbers, members = buckets[width]
        below = [w for w in padded if w < width]
        if width in padded or not below or any(number.startswith("0") for number in numbers):
            continue
        into = buckets[below[-1]]
        buckets[below[-1]] = (into[0] + numbers, into[1] + members)
        del buckets[width]


def _sequences(head: str, tail: str, paths: list[str], min_files: int,
               input_order: Callable[[str], int]) -> list[Entry]:
    """The sequences and plain paths among any paths of one (head, tail), frame by frame.

    ``input_order`` says where a path was first listed: where a frame comes twice (a path
    listed twice; 1 and ١), the first listed stands for the frame, the others are shown apart."""
    digits = list(map(itemgetter(slice(len(head), -len(tail))), paths))  # a tail is never empty
    lengths = list(map(len, digits))
    widths = set(lengths)
    if len(widths) == 1:
        buckets = {widths.pop(): (digits, paths)}
    elif _PADDED.search("\n".join(digits)) is None:
        buckets = {1: (digits, paths)}  # unpadded: 9, 10, 11 are one sequence
    else:
        buckets = {width: (list(compress(digits, map(width.__eq__, lengths))),
                           list(compress(paths, map(width.__eq__, lengths)))) for width in widths}
        _join_overflow(buckets)
    entries: list[Entry] = []
    for pad, (numbers, members) in buckets.items():
        frames = list(map(int, numbers))
        by_frame = dict(zip(frames, members))
        duplicates: list[str] = []
        if len(by_frame) < len(frames):
            by_frame = {}
            for frame, path in sorted(zip(frames, members), key=lambda pair: input_order(pair[1])):
                if frame in by_frame:
                    duplicates.append(path)
                else:
                    by_frame[frame] = path
        if len(by_frame) < min_files:
            entries += list(by_frame.values()) + duplicates
            continue
        ordered = tuple(sorted(by_frame))
        entries.append(FrameSequence(head, tail, pad, ordered, tuple(map(by_frame.__getitem__, ordered))))
        entries += duplicates
    return entries


def collapse(paths: Iterable[str], *, min_files: int = 2) -> list[Entry]:
    """The paths as plain paths and sequences (of ``min_files`` files or more), sorted by their first path.

    Padding is part of a sequence's identity: ``a.0001.exr`` and ``a.01.exr``
    are two sequences. Numbers of different lengths without leading zeros
    (``a.9.exr``, ``a.10.exr``) form one unpadded sequence, and so do a padded
    sequence and its numbers past the padding (``a.9999.exr``, ``a.10000.exr``).
    A number after a separator and a minus (``a.-001.exr``: frame -1) is no frame.
    """
    # Whole lists go through C calls (join, translate, sort, map), not a regex match and an int()
    # per path: those were most of the time `cinev4 verify` took to report a shot of 100,000 frames.
    paths = list(paths)
    singles, groups, increasing = _group(paths)
    first_seen: dict[str, int] = {}  # path -> where it is first listed, made only if a frame comes twice

    def input_order(path: str) -> int:
        if not first_seen:
            first_seen.update(zip(reversed(paths), range(len(paths) - 1, -1, -1)))
        return first_seen[path]

    entries: list[Entry] = list(singles)
    for (head, tail), members in groups.items():
        if (head, tail) in increasing:
            entries += _increasing_sequence(head, tail, members, min_files)
        else:
            entries += _sequences(head, tail, members, min_files, input_order)
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
