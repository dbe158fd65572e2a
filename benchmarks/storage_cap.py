"""A read-bandwidth cap on the disk that holds the benchmark data, for the contenders only.

Bulk verification reads from NAS shares and disk arrays that deliver a few hundred MB/s to
1 GB/s, less than one core hashes. The benchmark machine's own disk may be faster than one
SHA-256 stream (a virtual disk backed by the host's memory reads at about 2 GB/s): there, cold
hashing is bound by the CPU and says nothing about waiting on storage. A Linux cgroup's
block-I/O throttle (v1 ``blkio.throttle.read_bps_device``, v2 ``io.max rbps``) gives the same
machine a slower disk: each contender process joins the capped group before it runs
(``preexec_fn``), the benchmark process itself never does.

Needs root (the cgroup control files) and a block device under the data (not tmpfs or
overlayfs); ``unavailable`` names what is missing. The throttle counts the reads a process
issues, readahead included, not pages already cached: the callers evict before each round.
"""
from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

V1_ROOT = Path("/sys/fs/cgroup/blkio")
V2_ROOT = Path("/sys/fs/cgroup")


def _disk_of(path: Path) -> str | None:
    """``MAJ:MIN`` of the whole disk under ``path`` (a partition's parent), None when the
    file system has no block device (tmpfs, overlayfs, network)."""
    dev = os.stat(path).st_dev
    node = Path(f"/sys/dev/block/{os.major(dev)}:{os.minor(dev)}")
    if os.major(dev) == 0 or not node.exists():
        return None
    if (node / "partition").exists():  # throttles are set on the disk, not on one partition
        node = node.resolve().parent
    return (node / "dev").read_text().strip()


def _version() -> int | None:
    if (V1_ROOT / "blkio.throttle.read_bps_device").exists():
        return 1
    controllers = V2_ROOT / "cgroup.controllers"
    if controllers.exists() and "io" in controllers.read_text().split():
        return 2
    return None


def unavailable(path: Path) -> str | None:
    """Why no cap can be put on ``path``'s disk here (None: it can)."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return "capping a disk's read speed needs root (cgroup control files)"
    version = _version()
    if version is None:
        return "no cgroup block-I/O throttle here (cgroup v1 blkio or v2 io controller)"
    if _disk_of(path) is None:
        return f"{path} is not on a block device (tmpfs, overlayfs or network)"
    if version == 2 and not os.access(V2_ROOT / "cgroup.subtree_control", os.W_OK):
        return "the cgroup v2 root is not writable here (a container's read-only cgroup mount?)"
    return None


class ReadCap:
    """``with ReadCap(path, bytes_per_s) as cap:`` then ``Popen(..., preexec_fn=cap.join)``."""

    def __init__(self, path: Path, bytes_per_s: int) -> None:
        self.disk = _disk_of(path)
        self.bytes_per_s = bytes_per_s
        self.version = _version()
        root = V1_ROOT if self.version == 1 else V2_ROOT
        self.group = root / f"cinev4-bench-cap-{os.getpid()}"
        self._procs = str(self.group / "cgroup.procs")
        self._enabled_io = False  # v2: whether this cap turned the io controller on (and turns it off)

    def __enter__(self) -> ReadCap:
        if self.version == 2:
            control = V2_ROOT / "cgroup.subtree_control"
            if "io" not in control.read_text().split():
                control.write_text("+io")
                self._enabled_io = True
        try:
            self.group.mkdir()
            try:
                if self.version == 1:
                    (self.group / "blkio.throttle.read_bps_device").write_text(f"{self.disk} {self.bytes_per_s}")
                else:
                    (self.group / "io.max").write_text(f"{self.disk} rbps={self.bytes_per_s}")
            except BaseException:
                self.group.rmdir()
                raise
        except BaseException:
            self._disable_io()
            raise
        return self

    def join(self) -> None:
        """In a child between fork and exec: this process (what it execs) reads capped."""
        with open(self._procs, "w") as procs:
            procs.write(str(os.getpid()))

    def __exit__(self, exc_type: type[BaseException] | None, *exc: object) -> None:
        # The contenders were waited for (run_processes kills what is left on a failure); one
        # still listed is killed here, and an exited one may take a moment to leave the group.
        try:
            for _ in range(50):
                try:
                    self.group.rmdir()
                    return
                except OSError:
                    self._kill_members()
                    time.sleep(0.02)
            try:
                self.group.rmdir()
            except OSError as error:
                if exc_type is None:
                    raise
                # The body's own error is the one to see; this one only says what is left.
                print(f"storage_cap: {self.group} left behind ({error.strerror})", file=sys.stderr)
        finally:
            self._disable_io()

    def _kill_members(self) -> None:
        try:
            with open(self._procs) as procs:
                members = [int(line) for line in procs if line.strip()]
        except OSError:
            return
        for pid in members:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass

    def _disable_io(self) -> None:
        if self._enabled_io:
            try:
                (V2_ROOT / "cgroup.subtree_control").write_text("-io")
            except OSError:
                pass  # another group took the controller meanwhile: it stays on
            self._enabled_io = False
