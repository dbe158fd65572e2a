"""Tests aimed at mutations the rest of the suite let through (see issue 19).

Each test here was checked by applying its mutation by hand and seeing it fail:
- ``write_once``/``replace_atomic`` writing straight to the final name, or
  without an fsync of the temporary file (watched with an audit hook);
- ``resolve_inside`` comparing path prefixes as text instead of path
  components (``proj`` against ``proj-evil``);
- verification's size check ``!=`` turned into ``>`` (a shrunk file passes).
"""
from __future__ import annotations

import os
import stat
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from cinev4.contracts import atomic
from cinev4.errors import AlreadyExistsError

from helpers import render, run_cli

MANIFEST = "shots/SH010/manifests/v0001/manifest.json"
OUT = "shots/SH010/outputs/v0001"

_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND


def _key(path: Any) -> str | None:
    if isinstance(path, int):
        return None  # an fd (os.fdopen): not a name
    return os.path.abspath(os.fsdecode(path))


@dataclass
class _Trace:
    """File-system events seen while recording: opens for writing, publications, fsyncs."""

    recording: bool = False
    writes: list[str] = field(default_factory=list)  # names opened for writing
    # (event, source, destination, (dev, inode) of the source just before the call)
    publications: list[tuple[str, str, str, tuple[int, int] | None]] = field(default_factory=list)
    # (dev, inode, size, is a folder) of every fd fsynced, in order
    fsyncs: list[tuple[int, int, int, bool]] = field(default_factory=list)
    order: list[str] = field(default_factory=list)

    def hook(self, event: str, args: tuple[Any, ...]) -> None:
        if not self.recording:
            return
        if event == "open":
            path, mode, flags = args
            name = _key(path)
            if name is None:
                return
            writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
                isinstance(flags, int) and flags & _WRITE_FLAGS)
            if writing:
                self.writes.append(name)
                self.order.append(f"open-write {name}")
        elif event in ("os.link", "os.rename"):
            source, destination = _key(args[0]), _key(args[1])
            assert source is not None and destination is not None
            try:
                st = os.stat(source)
                identity: tuple[int, int] | None = (st.st_dev, st.st_ino)
            except OSError:
                identity = None
            self.publications.append((event, source, destination, identity))
            self.order.append(f"{event} {destination}")


_TRACE = _Trace()
sys.addaudithook(_TRACE.hook)  # hooks cannot be removed: it records only inside ``traced``


@pytest.fixture
def traced(monkeypatch: pytest.MonkeyPatch) -> Iterator[_Trace]:
    real_fsync = os.fsync

    def recording_fsync(fd: int) -> None:
        st = os.fstat(fd)
        _TRACE.fsyncs.append((st.st_dev, st.st_ino, st.st_size, stat.S_ISDIR(st.st_mode)))
        _TRACE.order.append(f"fsync {'dir' if stat.S_ISDIR(st.st_mode) else 'file'} {st.st_ino}")
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", recording_fsync)
    _TRACE.writes.clear()
    _TRACE.publications.clear()
    _TRACE.fsyncs.clear()
    _TRACE.order.clear()
    try:
        yield _TRACE
    finally:
        _TRACE.recording = False


def _assert_published_atomically(trace: _Trace, final: Path, data: bytes, event: str) -> None:
    name = _key(final)
    assert name not in trace.writes, f"the final name was opened for writing: {trace.order}"
    published = [p for p in trace.publications if p[2] == name]
    assert len(published) == 1, f"expected one {event} onto {name}: {trace.order}"
    kind, source, _, identity = published[0]
    assert kind == event, trace.order
    assert source != name and Path(source).parent == final.parent, "the temporary file is in the same folder"
    assert identity is not None, f"the source of the {event} did not exist: {trace.order}"
    # That very file was fsynced, complete, before it got the name.
    synced = [(dev, ino) for dev, ino, size, is_dir in trace.fsyncs if not is_dir and size == len(data)]
    assert identity in synced, f"the published file was not fsynced with all its bytes first: {trace.order}"
    position = trace.order.index(f"{event} {name}")
    assert f"fsync file {identity[1]}" in trace.order[:position], trace.order
    # ... and the folder after, so the new name itself survives a power cut.
    folder = os.stat(final.parent)
    assert f"fsync dir {folder.st_ino}" in trace.order[position:], trace.order
    assert final.read_bytes() == data


def test_write_once_publishes_an_fsynced_temp_file_by_link(tmp_path: Path, traced: _Trace) -> None:
    final = tmp_path / "manifest.json"
    data = b'{"artifacts": []}\n' * 50
    traced.recording = True
    atomic.write_once(final, data)
    traced.recording = False
    _assert_published_atomically(traced, final, data, "os.link")
    assert stat.S_IMODE(os.stat(final).st_mode) == atomic.READ_ONLY
    assert atomic.stale_temp_files(final) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["manifest.json"]


def test_write_once_never_touches_an_existing_name(tmp_path: Path, traced: _Trace) -> None:
    final = tmp_path / "manifest.json"
    final.write_bytes(b"first")
    traced.recording = True
    with pytest.raises(AlreadyExistsError, match=r"manifest\.json already exists \(written once, never overwritten\)$"):
        atomic.write_once(final, b"second")
    traced.recording = False
    assert _key(final) not in traced.writes, traced.order
    assert final.read_bytes() == b"first"
    assert atomic.stale_temp_files(final) == []


def test_replace_atomic_publishes_an_fsynced_temp_file_by_rename(tmp_path: Path, traced: _Trace) -> None:
    final = tmp_path / "shot.json"
    final.write_bytes(b"old record")
    data = b'{"state": "qc"}\n' * 30
    traced.recording = True
    atomic.replace_atomic(final, data)
    traced.recording = False
    _assert_published_atomically(traced, final, data, "os.rename")
    assert stat.S_IMODE(os.stat(final).st_mode) == 0o644
    assert sorted(p.name for p in tmp_path.iterdir()) == ["shot.json"]


def test_the_cli_writes_manifests_and_records_only_through_atomic_publication(project: Path) -> None:
    """The pipeline's own writers are the atomic ones: no contract file is written in place."""
    run_cli("shot", "new", "SH010", cwd=project)
    render(project)
    code = (
        "import os, sys\n"
        "written = []\n"
        "def hook(event, args):\n"
        "    if event == 'open' and not isinstance(args[0], int) and isinstance(args[2], int) \\\n"
        "            and args[2] & (os.O_WRONLY | os.O_RDWR):\n"
        "        written.append(os.path.basename(os.fsdecode(args[0])))\n"
        "    if event == 'open' and isinstance(args[1], str) and any(c in args[1] for c in 'wax+') \\\n"
        "            and not isinstance(args[0], int):\n"
        "        written.append(os.path.basename(os.fsdecode(args[0])))\n"
        "sys.addaudithook(hook)\n"
        "from cinev4.cli import main\n"
        "try:\n"
        "    main(sys.argv[1:])\n"
        "finally:\n"
        "    sys.stderr.write('WRITTEN ' + ' '.join(sorted(set(written))) + '\\n')\n"
    )
    for args in (["shot", "qc", "SH010"], ["manifest", "SH010"]):
        proc = __import__("subprocess").run([sys.executable, "-c", code, *args], cwd=project, capture_output=True,
                                            text=True, timeout=60)
        assert proc.returncode == 0, proc.stderr
        written = proc.stderr.strip().splitlines()[-1].split()[1:]
        assert "manifest.json" not in written and "shot.json" not in written, written
        assert all(name.endswith(".tmp") for name in written), written
    assert (project / MANIFEST).is_file()


# --- resolve_inside: path components, not text prefixes ----------------------------------------

def _evil_sibling(project: Path) -> Path:
    """A folder beside the project whose name starts with the project folder's name."""
    evil = project.parent / f"{project.name}-evil"
    evil.mkdir()
    return evil


def test_manifest_refuses_a_symlink_into_a_sibling_sharing_the_root_name_prefix(project: Path) -> None:
    run_cli("shot", "new", "SH010", cwd=project)
    out = render(project)
    secret = _evil_sibling(project) / "secret.exr"
    secret.write_bytes(b"not yours")
    os.symlink(secret, out / "link.exr")
    result = run_cli("manifest", "SH010", cwd=project, expect=2)
    assert "link.exr is a symlink that resolves outside the project root" in result.stderr
    assert not (project / MANIFEST).exists()


def test_verify_reports_an_artifact_swapped_for_a_symlink_into_a_prefix_sibling(done: Path) -> None:
    frame = done / OUT / "sh010.1001.exr"
    twin = _evil_sibling(done) / "sh010.1001.exr"
    twin.write_bytes(frame.read_bytes())  # same bytes: only the location is wrong
    frame.unlink()
    os.symlink(twin, frame)
    result = run_cli("verify", "SH010", "--json", cwd=done, expect=2)
    found = [(p["kind"], p["path"]) for m in result.json()["manifests"] for p in m["problems"]]
    # (reported by the artifact check and by the folder scan: the same one problem)
    assert set(found) == {("unsafe_path", f"{OUT}/sh010.1001.exr")}


def test_a_version_folder_symlinked_into_a_prefix_sibling_is_refused(project: Path) -> None:
    run_cli("shot", "new", "SH010", cwd=project)
    elsewhere = render(_evil_sibling(project))
    version = project / OUT
    version.rmdir()
    os.symlink(elsewhere, version)
    result = run_cli("manifest", "SH010", cwd=project, expect=2)
    assert "outside the project root" in result.stderr
    assert not (project / MANIFEST).exists()


# --- verify --sizes-only: any size change, either way -------------------------------------------

@pytest.mark.parametrize("change", ["shrunk", "grown"])
def test_sizes_only_reports_a_shrunk_or_grown_artifact(done: Path, change: str) -> None:
    frame = done / OUT / "sh010.1002.exr"
    data = frame.read_bytes()
    frame.write_bytes(data[:-1] if change == "shrunk" else data + b"\x00")
    result = run_cli("verify", "SH010", "--sizes-only", "--json", cwd=done, expect=1)
    found = [(p["kind"], p["path"], p.get("expected"), p.get("actual"))
             for m in result.json()["manifests"] for p in m["problems"]]
    new_size = len(data) - 1 if change == "shrunk" else len(data) + 1
    assert found == [("size_differs", f"{OUT}/sh010.1002.exr", len(data), new_size)]
    plain = run_cli("verify", "SH010", "--sizes-only", cwd=done, expect=1)
    assert plain.stderr.startswith("cinev4: error: verification failed")
    full = run_cli("verify", "SH010", "--json", cwd=done, expect=1)
    assert [(p["kind"], p["path"]) for m in full.json()["manifests"] for p in m["problems"]] == [
        ("size_differs", f"{OUT}/sh010.1002.exr")]


# --- the two ways a second manifest writer loses, each reached on purpose -----------------------

@pytest.mark.skipif(os.name == "nt", reason="the shot lock is flock (a no-op on Windows)")
def test_a_second_manifest_writer_is_told_busy_then_already_exists(project: Path) -> None:
    import fcntl

    run_cli("shot", "new", "SH010", cwd=project)
    render(project)
    fd = os.open(project / "shots" / "SH010", os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # as a writer in the middle of its run holds it
        busy = run_cli("manifest", "SH010", cwd=project, expect=2)
    finally:
        os.close(fd)
    assert busy.stderr == ("cinev4: error: shot SH010 is busy: another cinev4 process is writing it "
                           "(try again when it has finished)\n")
    assert not (project / MANIFEST).exists()
    run_cli("manifest", "SH010", cwd=project)
    again = run_cli("manifest", "SH010", cwd=project, expect=2)
    assert again.stderr == (f"cinev4: error: {MANIFEST} already exists: a manifest is written once and never "
                            "replaced\n")
