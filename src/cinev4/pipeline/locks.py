"""One writer per shot: an advisory lock on the shot's folder.

``flock`` on the folder itself needs no lock file (nothing to clean up after a
crash: the kernel drops the lock when the process dies, SIGKILL included).
Where ``fcntl`` does not exist (Windows) the lock is a no-op and the
write-once link remains the only arbiter.
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

__all__ = ["shot_lock"]


@contextmanager
def shot_lock(folder: str | os.PathLike[str], shot_id: str, wait_s: float = 0.0) -> Iterator[None]:
    """Hold the shot's lock; ShotBusyError if another process keeps it past ``wait_s``."""
    if fcntl is None:  # pragma: no cover
        yield
        return
    fd = os.open(Path(folder), os.O_RDONLY)
    try:
        deadline = time.monotonic() + wait_s
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
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
