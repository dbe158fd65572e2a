"""Shared CLI plumbing: a byte-level progress bar that shows only on a terminal."""
from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from typing import Any

import click


@contextlib.contextmanager
def byte_progress(total_bytes: int, label: str, enabled: bool = True) -> Iterator[Callable[[int, int], None] | None]:
    """Yield a ``progress(bytes_done, files_done)`` callback for ``hash_files``.

    Yields None (no bar) unless stderr is a terminal and ``enabled`` is true:
    never in ``--json`` mode, never when piped.
    """
    if not enabled or not sys.stderr.isatty():
        yield None
        return
    bar_context: Any = click.progressbar(
        length=max(total_bytes, 1),
        label=label,
        file=sys.stderr,
        show_eta=True,
        show_percent=True,
        item_show_func=lambda files: f"{files} files" if files is not None else None,
    )
    with bar_context as bar:
        shown = 0

        def update(bytes_done: int, files_done: int) -> None:
            nonlocal shown
            bar.update(max(0, bytes_done - shown), files_done)
            shown = max(shown, bytes_done)

        yield update
