"""Progress on stderr while files are hashed: a one-line bar on a terminal,
plain lines for logs.

- On a terminal (``TERM`` not ``dumb``) and without ``--json``: one line
  redrawn in place with a carriage return (no other control sequence), never
  wider than the terminal (``COLUMNS``, else the terminal's own width), so it
  never wraps: percent, a bar, bytes and files done of the total, MB/s, ETA.
- Off a terminal, on a ``dumb`` one, or with ``--json``: nothing, unless asked
  for with ``--progress`` or ``CINEV4_PROGRESS=1``; then one plain line every
  ``CINEV4_PROGRESS_INTERVAL`` seconds (default 10) and one at the end, for a
  farm job's log. ``CINEV4_PROGRESS=0`` turns every progress output off.

Standard library only (no progress-bar dependency, no click): the CLI's
start-up stays light, and ``cinev4 hash`` (which never imports click) can use
it. Drives the pipeline's ``Progress`` protocol: ``start``, ``update``,
``finish``; ``hash_files(progress=...)`` takes ``update`` directly.
"""
from __future__ import annotations

import os
import sys
import time
from typing import IO, Any

from cinev4.settings import resolve_progress, resolve_progress_interval
from cinev4.sizes import format_size

__all__ = ["BarProgress", "LineProgress", "TerminalProgress", "progress_for", "terminal_width",
           "DEFAULT_INTERVAL_S"]

DEFAULT_INTERVAL_S = 10.0
_REDRAW_S = 0.1  # a terminal line is redrawn at most this often
_MB = 1_000_000


def _clock(seconds: float) -> str:
    seconds = max(0, int(seconds + 0.5))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


class _Meter:
    """Totals, what is done, and the rate since start."""

    def __init__(self, label: str, clock: Any = time.monotonic) -> None:
        self.label = label
        self._now = clock
        self.total_bytes = 0
        self.total_files = 0
        self.bytes_done = 0
        self.files_done = 0
        self.started = self._now()

    def start(self, total_bytes: int, total_files: int) -> None:
        self.total_bytes, self.total_files = max(0, total_bytes), max(0, total_files)
        self.bytes_done = self.files_done = 0
        self.started = self._now()

    def update(self, bytes_done: int, files_done: int) -> None:
        self.bytes_done = max(self.bytes_done, bytes_done)
        self.files_done = max(self.files_done, files_done)

    @property
    def fraction(self) -> float:
        if self.total_bytes:
            return min(1.0, self.bytes_done / self.total_bytes)
        return min(1.0, self.files_done / self.total_files) if self.total_files else 1.0

    def parts(self, compact: bool = False) -> dict[str, str]:
        """The pieces of a progress line (``compact``: ``2.0 GiB/5.0 GiB``, not ``... of ...``)."""
        elapsed = max(self._now() - self.started, 1e-9)
        rate = self.bytes_done / elapsed
        left = self.total_bytes - self.bytes_done
        eta = _clock(left / rate) if rate > 0 and left > 0 else ("0:00" if left <= 0 else "?")
        return {
            "percent": f"{self.fraction * 100:3.0f}%",
            "bytes": f"{format_size(self.bytes_done)}{'/' if compact else ' of '}{format_size(self.total_bytes)}",
            "files": f"{self.files_done}{'/' if compact else ' of '}{self.total_files} files",
            "rate": f"{rate / _MB:.0f} MB/s",
            "eta": f"ETA {eta}",
        }


def terminal_width(stream: IO[str]) -> int:
    """``COLUMNS`` if set (as a shell exports it), else the terminal's width, else 80."""
    columns = os.environ.get("COLUMNS", "")
    if columns.isascii() and columns.isdigit() and int(columns) > 0:  # not '²' (str.isdigit takes it)
        return int(columns)
    try:
        return os.get_terminal_size(stream.fileno()).columns or 80
    except (OSError, ValueError, AttributeError):
        return 80


class TerminalProgress:
    """One line redrawn in place; at most width - 1 columns, so the cursor never
    reaches the last column and the terminal never wraps the line."""

    def __init__(self, label: str, stream: IO[str] | None = None, clock: Any = time.monotonic) -> None:
        self._meter = _Meter(label, clock)
        self._stream = stream if stream is not None else sys.stderr
        self._now = clock
        self._drawn_at = 0.0
        self._shown = 0  # columns of the line now on screen

    def start(self, total_bytes: int, total_files: int) -> None:
        self._meter.start(total_bytes, total_files)
        self._draw()

    def update(self, bytes_done: int, files_done: int) -> None:
        self._meter.update(bytes_done, files_done)
        if self._now() - self._drawn_at >= _REDRAW_S:
            self._draw()

    def finish(self) -> None:
        self._draw()
        self._stream.write("\n")
        self._stream.flush()

    def line(self, width: int) -> str:
        """The progress line fitted to ``width`` columns: the bar shrinks first,
        then the least useful pieces go (label, files, bytes, rate)."""
        parts = self._meter.parts(compact=True)
        pieces = [("label", self._meter.label), ("percent", parts["percent"]), ("bar", ""),
                  ("bytes", parts["bytes"]), ("files", parts["files"]), ("rate", parts["rate"]),
                  ("eta", parts["eta"])]
        for drop in ((), ("bar",), ("bar", "label"), ("bar", "label", "files"),
                     ("bar", "label", "files", "bytes"), ("bar", "label", "files", "bytes", "rate")):
            kept = [(name, text) for name, text in pieces if name not in drop]
            fixed = sum(len(text) for name, text in kept if name != "bar") + 2 * (len(kept) - 1)
            if "bar" in dict(kept):
                room = width - fixed - 2  # the brackets
                if room < 10:
                    continue
                room = min(room, 40)
                filled = int(room * self._meter.fraction)
                kept = [(n, f"[{'#' * filled}{'.' * (room - filled)}]" if n == "bar" else t) for n, t in kept]
            text = "  ".join(t for _, t in kept)
            if len(text) <= width:
                return text
        return text[: max(width, 0)]

    def _draw(self) -> None:
        self._drawn_at = self._now()
        width = max(terminal_width(self._stream) - 1, 1)
        text = self.line(width)
        # Pad over the previous line's tail instead of an erase sequence.
        self._stream.write("\r" + text.ljust(min(max(self._shown, len(text)), width)))
        self._stream.flush()
        self._shown = len(text)


class LineProgress:
    """One plain line every ``interval_s`` seconds and one at the end, for logs:
    ``cinev4: verifying: 45%, 1.1 GiB of 2.5 GiB, 120 of 240 files, 350 MB/s, ETA 0:12``."""

    def __init__(self, label: str, interval_s: float = DEFAULT_INTERVAL_S, stream: IO[str] | None = None,
                 clock: Any = time.monotonic) -> None:
        self._meter = _Meter(label, clock)
        self._interval = interval_s
        self._stream = stream if stream is not None else sys.stderr
        self._now = clock
        self._said_at = 0.0

    def start(self, total_bytes: int, total_files: int) -> None:
        self._meter.start(total_bytes, total_files)
        self._said_at = self._now()

    def update(self, bytes_done: int, files_done: int) -> None:
        self._meter.update(bytes_done, files_done)
        if self._now() - self._said_at >= self._interval:
            self._say()

    def finish(self) -> None:
        self._say()

    def line(self) -> str:
        p = self._meter.parts()
        return (f"cinev4: {self._meter.label}: {p['percent'].strip()}, {p['bytes']}, {p['files']}, "
                f"{p['rate']}, {p['eta']}")

    def _say(self) -> None:
        self._said_at = self._now()
        self._stream.write(self.line() + "\n")
        self._stream.flush()


def progress_for(label: str, as_json: bool = False, requested: bool = False) -> TerminalProgress | LineProgress | None:
    """The progress display a command should use, or None.

    ``requested`` is the command's ``--progress`` flag; ``CINEV4_PROGRESS=1``
    asks for it too and ``CINEV4_PROGRESS=0`` turns every display off."""
    setting = resolve_progress()
    if setting is False:
        return None
    requested = requested or setting is True
    stream = sys.stderr
    on_terminal = stream is not None and stream.isatty() and os.environ.get("TERM", "") != "dumb"
    if on_terminal and not as_json:
        return TerminalProgress(label, stream)
    if requested:
        return LineProgress(label, resolve_progress_interval(DEFAULT_INTERVAL_S), stream)
    return None


class BarProgress:
    """Kept for callers of the earlier API: ``BarProgress.for_command(label, as_json)``."""

    @staticmethod
    def for_command(label: str, as_json: bool, requested: bool = False) -> TerminalProgress | LineProgress | None:
        return progress_for(label, as_json, requested)
