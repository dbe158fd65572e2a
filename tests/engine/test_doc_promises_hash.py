"""`cinev4 hash` against what the README and its --help promise, where an audit found it
did otherwise: start-up without click, and a progress display that ends at the end."""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

# Runs the console script's own entry point (what `cinev4 hash` runs) with its stdout a pipe,
# then names the click modules it loaded.
_RUN = ("import sys\nfrom cinev4._console import main\n"
        "try:\n    main(['hash', *sys.argv[1:]])\nexcept SystemExit as stop:\n"
        "    print(stop.code, sorted(m for m in sys.modules if m.split('.')[0] == 'click'))")


def _run_with_progress(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CINEV4_PROGRESS": "1"}
    return subprocess.run([sys.executable, "-c", _RUN, *args], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=60)


def _frames(tmp_path: Path) -> list[str]:
    names = []
    for i, size in enumerate((3 << 20, 1000, 0)):
        (tmp_path / f"f{i}").write_bytes(b"x" * size)
        names.append(f"f{i}")
    return names


def test_progress_keeps_hash_free_of_click_and_ends_at_100_percent(tmp_path: Path) -> None:
    """README: `cinev4 hash` never imports click. With progress on (stderr a terminal while
    stdout is redirected, or CINEV4_PROGRESS=1) it imported the whole click group, and its
    last progress line said 0% of the files, whatever had been hashed."""
    names = _frames(tmp_path)
    out = _run_with_progress(tmp_path, *names)
    lines = out.stdout.splitlines()
    assert lines[:-1] == [f"{hashlib.sha256((tmp_path / n).read_bytes()).hexdigest()}  {n}" for n in names]
    assert lines[-1] == "0 []"
    last = out.stderr.splitlines()[-1]
    assert last.startswith("cinev4: hashing: 100%, 3.0 MiB of 3.0 MiB, 3 of 3 files, "), out.stderr


def test_check_progress_ends_at_100_percent(tmp_path: Path) -> None:
    names = _frames(tmp_path)
    sums = "".join(f"{hashlib.sha256((tmp_path / n).read_bytes()).hexdigest()}  {n}\n" for n in names)
    (tmp_path / "SUMS").write_text(sums)
    (tmp_path / "SUMS2").write_text(sums)  # a second sums file is a second batch
    out = _run_with_progress(tmp_path, "-c", "--quiet", "SUMS", "SUMS2")
    assert out.stdout.splitlines() == ["0 []"]
    progress = out.stderr.splitlines()
    assert len(progress) == 2 and all(line.startswith("cinev4: hashing: 100%, 3.0 MiB of 3.0 MiB, 3 of 3 files, ")
                                      for line in progress), out.stderr
