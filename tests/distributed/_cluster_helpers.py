"""Helpers of the distributed tests: renders, damage, and batch tasks for the
fault tests. The module is sent to the workers by value (cloudpickle), since a
worker process cannot import the tests folder."""
from __future__ import annotations

import hashlib
import os
import random
import stat
import time
from pathlib import Path

from cinev4.pipeline.dask_backend import WireDigest, hash_batch
from helpers import make_writable as make_writable  # the suite's one; tests here import it from this module


def stall_once(marker: str, paths: list[str], threads: int | None) -> list[WireDigest]:
    """The first batch to run anywhere writes its worker's pid to ``marker`` and
    stalls (the test kills that process); every other run hashes normally."""
    try:
        fd = os.open(marker + ".lock", os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        return hash_batch(paths, threads)
    os.close(fd)
    with open(marker + ".tmp", "w") as handle:
        handle.write(str(os.getpid()))
    os.replace(marker + ".tmp", marker)
    time.sleep(120)  # killed long before this ends
    return hash_batch(paths, threads)  # pragma: no cover


def die_on(poison: str, paths: list[str], threads: int | None) -> list[WireDigest]:
    """Kill the worker process whenever a batch holds ``poison``, as a crashing
    driver or an OOM kill would."""
    if any(p.endswith(poison) for p in paths):
        os._exit(70)
    return hash_batch(paths, threads)


FRAMES = 300


def render_frames(root: Path, shot: str, frames: int = FRAMES, version: str = "v0001") -> Path:
    """A frame sequence of varied sizes (0 B to ~90 KiB, two larger plates), a preview and qc.json."""
    out = root / "shots" / shot / "outputs" / version
    out.mkdir(parents=True, exist_ok=True)
    for index in range(frames):
        block = hashlib.sha256(f"{shot}-{index}".encode()).digest()
        (out / f"{shot.lower()}.{1001 + index:04d}.exr").write_bytes(block * ((index * 97) % 2900))
    noise = random.Random(shot)  # the same shot name renders the same bytes
    (out / "plate_a.exr").write_bytes(noise.randbytes(3 * 1024 * 1024))
    (out / "plate_b.exr").write_bytes(noise.randbytes(2 * 1024 * 1024 + 17))
    (out / "preview.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 64)
    (out / "qc.json").write_text('{"reviewer": "qc-bot", "approved": true}\n')
    return out


def damage(outputs: Path, shot: str) -> None:
    """A tampered frame (same size), a truncated one, a missing one and an extra file."""
    tampered = outputs / f"{shot.lower()}.1010.exr"
    os.chmod(tampered, stat.S_IRUSR | stat.S_IWUSR)
    data = bytearray(tampered.read_bytes())
    data[len(data) // 2] ^= 0xFF
    tampered.write_bytes(bytes(data))
    truncated = outputs / f"{shot.lower()}.1020.exr"
    os.chmod(truncated, stat.S_IRUSR | stat.S_IWUSR)
    truncated.write_bytes(truncated.read_bytes()[:-5])
    (outputs / f"{shot.lower()}.1030.exr").unlink()
    (outputs / "stray_render.exr").write_bytes(b"not in the manifest")
