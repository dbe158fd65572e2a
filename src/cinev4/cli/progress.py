"""The CLI's progress display: it lives in :mod:`cinev4.progress` (no click there, so
``cinev4 hash`` can use it too); these names stay importable from here."""
from cinev4.progress import (  # noqa: F401
    DEFAULT_INTERVAL_S,
    BarProgress,
    LineProgress,
    TerminalProgress,
    progress_for,
    terminal_width,
)

__all__ = ["BarProgress", "LineProgress", "TerminalProgress", "progress_for", "terminal_width", "DEFAULT_INTERVAL_S"]
