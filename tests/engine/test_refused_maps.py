"""A mapping the kernel refuses (ENOMEM under RLIMIT_AS, the map-count limit)
turns a file to reading, for good, mid-file. Refused for real: a preloaded
shim makes mmap fail for read-only file maps above a size, so the fallback
runs where it matters most, on the last stream after it took the file window
(cv4_lanes.c, lane_drain): its reads must land in all the lanes' buffers."""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import cinev4

from .helpers import write_file

pytestmark = [
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="LD_PRELOAD and mmap: Linux"),
    pytest.mark.skipif(shutil.which("cc") is None, reason="no C compiler"),
    pytest.mark.skipif(not cinev4.multibuffer_kernels(), reason="this CPU offers no multi-buffer kernel"),
]

REFUSING_MMAP = r"""
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>

/* Read-only shared maps of a file longer than CV4_TEST_REFUSE_ABOVE bytes fail
 * with ENOMEM; every other call goes to the C library's mmap. */
void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t offset)
{
    static void *(*next_mmap)(void *, size_t, int, int, int, off_t);
    const char *above = getenv("CV4_TEST_REFUSE_ABOVE");
    if (!next_mmap)
        next_mmap = (void *(*)(void *, size_t, int, int, int, off_t))dlsym(RTLD_NEXT, "mmap");
    if (above && fd >= 0 && (flags & MAP_SHARED) && prot == PROT_READ && len > strtoull(above, NULL, 10)) {
        errno = ENOMEM;
        return MAP_FAILED;
    }
    return next_mmap(addr, len, prot, flags, fd, offset);
}
"""

# In input order (as `cinev4 hash` runs, not largest first), so the big file
# comes last and takes the last lane: its reads past that lane's buffer would
# leave the lanes' allocation (one lane per 2 MiB, 16 of them).
CHILD = """
import json, sys
from cinev4._fasthash import hash_files_ordered
paths = sys.argv[2:]
results = [r for block in hash_files_ordered(paths, 1, kernel=sys.argv[1], io="mmap", window="8M") for r in block]
print(json.dumps([[r.sha256, None if r.error is None else str(r.error)] for r in results]))
"""


@pytest.fixture(scope="module")
def shim(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("shim")
    (folder / "refuse.c").write_text(REFUSING_MMAP)
    subprocess.run(["cc", "-shared", "-fPIC", "-O1", "-o", str(folder / "refuse.so"), str(folder / "refuse.c"),
                    "-ldl"], check=True, capture_output=True)
    return folder / "refuse.so"


@pytest.mark.parametrize("refuse_above", [2 << 20, 0], ids=["the-widened-window", "every-map"])
def test_a_refused_map_turns_the_file_to_reading(tmp_path: Path, shim: Path, refuse_above: int) -> None:
    kernel = cinev4.multibuffer_kernels()[0]
    # Many small files fill the lanes; the big one, last in, drains alone and
    # widens from its lane's 2 MiB to the 8 MiB window, whose map is refused.
    contents = [os.urandom(300_000) for _ in range(15)] + [os.urandom((40 << 20) + 12345)]
    paths = [write_file(tmp_path / f"f{i:02d}", c) for i, c in enumerate(contents)]
    env = {**os.environ, "LD_PRELOAD": str(shim), "CV4_TEST_REFUSE_ABOVE": str(refuse_above)}
    child = subprocess.run([sys.executable, "-c", CHILD, kernel, *paths], env=env, capture_output=True, text=True,
                           timeout=120)
    assert child.returncode == 0, child.stderr
    results = json.loads(child.stdout)
    assert [error for _, error in results] == [None] * len(contents)
    assert [digest for digest, _ in results] == [hashlib.sha256(c).hexdigest() for c in contents]
