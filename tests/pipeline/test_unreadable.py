"""The ``unreadable`` problem kind, reached in ways that hold also for root.

CI runs as root, and root reads a file whatever its mode, so a ``chmod 000``
artifact proves nothing there. These are paths that cannot be read by
anyone: a folder where a file should be, a symlink that loops on itself, a
manifest whose folder is a file.
"""
from __future__ import annotations

import errno
import os
import shutil
from pathlib import Path

from helpers import run_cli

MANIFEST = "shots/SH010/manifests/v0001/manifest.json"
OUT = "shots/SH010/outputs/v0001"


def _problems(result) -> list[tuple[str, str, str]]:  # type: ignore[no-untyped-def]
    return sorted((p["kind"], p["path"], p["detail"]) for m in result.json()["manifests"] for p in m["problems"])


def test_an_artifact_replaced_by_a_folder_is_unreadable(done: Path) -> None:
    frame = done / OUT / "sh010.1002.exr"
    frame.unlink()
    frame.mkdir()  # empty: nothing in it to list as an extra
    result = run_cli("verify", "SH010", "--json", cwd=done, expect=1)
    assert _problems(result) == [("unreadable", f"{OUT}/sh010.1002.exr", "is not a regular file")]
    sizes = run_cli("verify", "SH010", "--sizes-only", "--json", cwd=done, expect=1)
    assert _problems(sizes) == [("unreadable", f"{OUT}/sh010.1002.exr", "is not a regular file")]
    plain = run_cli("verify", "SH010", cwd=done, expect=1)
    assert plain.stderr.startswith("cinev4: error: verification failed")


def test_an_artifact_replaced_by_a_symlink_loop_is_unreadable(done: Path) -> None:
    frame = done / OUT / "sh010.1001.exr"
    frame.unlink()
    os.symlink(frame.name, frame)  # points at itself: ELOOP for everyone, root included
    result = run_cli("verify", "SH010", "--json", cwd=done, expect=2)
    loop = os.strerror(errno.ELOOP)
    path = f"{OUT}/sh010.1001.exr"
    assert _problems(result) == sorted([
        ("unreadable", path, f"cannot be read ({loop})"),
        ("unsafe_path", path, f"in the version folder: cannot be read ({loop})"),
    ])


def test_a_manifest_whose_folder_became_a_file_is_unreadable(done: Path) -> None:
    folder = (done / MANIFEST).parent
    os.chmod(folder / "manifest.json", 0o644)
    shutil.rmtree(folder)
    folder.write_bytes(b"a file where the manifest's folder was")  # ENOTDIR, for root too
    result = run_cli("verify", "SH010", "--json", cwd=done, expect=1)
    assert _problems(result) == [("unreadable", MANIFEST, f"the manifest cannot be read ({os.strerror(errno.ENOTDIR)})")]
    folder.unlink()
    missing = run_cli("verify", "SH010", "--json", cwd=done, expect=1)
    assert _problems(missing) == [("manifest_missing", MANIFEST, "the manifest file does not exist")]
