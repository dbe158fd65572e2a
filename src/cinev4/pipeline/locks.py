"""Advisory locks (``flock``): one writer per shot, and a live writer's files left alone.

``flock`` on an open descriptor needs no lock file (nothing to clean up after a
crash: the kernel drops the lock when the process dies, SIGKILL included). The
shot's lock is taken on the shot's folder itself; the publish takes one on each
temporary it writes, the resumable verify on its journal. Where ``fcntl`` does
not exist (Windows) every lock is granted at once and the write-once link (and
Windows' own refusal to delete an open file) remains the only arbiter.
"""
from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from cinev4.errors import ShotBusyError

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

__all__ = ["HAVE_FLOCK", "lock", "shot_lock"]

HAVE_FLOCK = fcntl is not None


def lock(fd: int, *, wait: bool = False) -> bool:
    """Lock the open file or folder ``fd`` exclusively until it is closed: False when
    another process holds it (``wait``: block until it is free instead)."""
    if fcntl is None:  # pragma: no cover - Windows
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
    except BlockingIOError:
        return False
    return True


@contextmanager
def shot_lock(folder: str | os.PathLike[str], shot_id: str, wait_s: float = 0.0) -> Iterator[None]:
    """Hold the shot's lock; ShotBusyError if another process keeps it past ``wait_s``."""
    if not 0 <= wait_s < float("inf"):  # NaN too: a deadline never reached
        raise ValueError(f"wait_s must be a finite number of seconds >= 0, not {wait_s!r}")
    if fcntl is None:  # pragma: no cover
        yield
        return
    fd = os.open(Path(folder), os.O_RDONLY)
    try:
        deadline = time.monotonic() + wait_s
        while not lock(fd):
            if time.monotonic() >= deadline:
                waited = f"waited {wait_s:g} s; " if wait_s > 0 else ""
                raise ShotBusyError(
                    f"shot {shot_id} is busy: another cinev4 process is writing it "
                    f"({waited}try again when it has finished)"
                ) from None
            time.sleep(0.05)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock
