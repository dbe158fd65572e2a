"""Only the same user's own interrupted ``verify --resume`` is trusted (issue 11, item 6).

A symlink planted at the journal's (predictable) path, a journal file or
``.cinev4/`` folder of another user, and a forged journal line (valid JSON,
a recomputed unkeyed checksum) are each tried against the installed CLI.
"""
from __future__ import annotations

import hashlib
import json
import os
import stat
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cinev4.pipeline.journal import JOURNAL_DIR, JOURNAL_FORMAT, journal_file_name, journal_key_file, open_journal

from helpers import age, run_cli, sha256_of

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX symlinks, owners and modes")

FOREIGN_UID = 4242
REFUSED = "refused and left untouched; verifying without resume (every file is hashed)"


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """This test's own user cache folder (the journal key lives there), for the CLI and this process."""
    folder = tmp_path / "user-cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(folder))
    return {"XDG_CACHE_HOME": str(folder)}


@pytest.fixture
def shot(manifested: Path) -> Path:
    age(manifested / "shots/SH010/outputs/v0001")  # a journal never trusts a file modified seconds ago
    return manifested


def journal_path(root: Path) -> Path:
    ref = json.loads((root / "shots/SH010/shot.json").read_bytes())["manifest_ref"]
    return root / JOURNAL_DIR / journal_file_name([f"{ref['path']} {ref['sha256']}"])


def scope_of(root: Path) -> list[str]:
    ref = json.loads((root / "shots/SH010/shot.json").read_bytes())["manifest_ref"]
    return [f"{ref['path']} {ref['sha256']}"]


def warnings_of(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.strip()]


def test_journal_folder_is_private_and_the_key_is_made_once(shot: Path, cache: dict[str, str]) -> None:
    report = run_cli("verify", "SH010", "--resume", "--json", cwd=shot, env=cache).json()
    assert report["resume"]["journal_used"] is True and report["ok"]
    assert stat.S_IMODE(os.stat(shot / JOURNAL_DIR).st_mode) == 0o700
    key_file = Path(cache["XDG_CACHE_HOME"]) / "cinev4" / "journal.key"
    assert journal_key_file() == key_file
    st = os.stat(key_file)
    assert stat.S_IMODE(st.st_mode) == 0o600 and st.st_size == 32 and st.st_uid == os.geteuid()
    key = key_file.read_bytes()
    run_cli("verify", "SH010", "--resume", cwd=shot, env=cache)
    assert key_file.read_bytes() == key  # kept, never remade
    assert [p.name for p in key_file.parent.iterdir()] == ["journal.key"]  # no temporary left


def test_planted_symlink_at_the_journal_path_is_never_written(shot: Path, cache: dict[str, str], tmp_path: Path) -> None:
    victim = tmp_path / "precious.txt"
    victim.write_bytes(b"someone's work, not a journal\n" * 100)
    before = victim.read_bytes()
    planted = journal_path(shot)
    planted.parent.mkdir(mode=0o700)
    planted.symlink_to(victim)
    full = run_cli("verify", "SH010", "--json", cwd=shot, env=cache).json()
    result = run_cli("verify", "SH010", "--resume", "--json", cwd=shot, env=cache)
    assert warnings_of(result.stderr) == [f"cinev4: warning: {JOURNAL_DIR}/{planted.name} is a symbolic link: {REFUSED}"]
    report = result.json()
    assert report["resume"]["journal_used"] is False and report["resume"]["reused_files"] == 0
    assert {k: v for k, v in report.items() if k != "resume"} == full
    assert victim.read_bytes() == before and planted.is_symlink() and os.readlink(planted) == str(victim)


def test_symlinked_journal_folder_is_refused(shot: Path, cache: dict[str, str], tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (shot / JOURNAL_DIR).symlink_to(elsewhere)
    result = run_cli("verify", "SH010", "--resume", cwd=shot, env=cache)
    assert warnings_of(result.stderr) == [f"cinev4: warning: {JOURNAL_DIR} is a symbolic link: {REFUSED}"]
    assert list(elsewhere.iterdir()) == []


@pytest.mark.skipif(os.name != "posix" or os.geteuid() != 0, reason="chown to another uid needs root")
def test_another_users_journal_file_is_refused_and_untouched(shot: Path, cache: dict[str, str]) -> None:
    journal = journal_path(shot)
    journal.parent.mkdir(mode=0o700)
    journal.write_bytes(b'{"format":"cinev4/verify-journal@2"}\n')
    os.chown(journal, FOREIGN_UID, FOREIGN_UID)
    before = journal.read_bytes()
    result = run_cli("verify", "SH010", "--resume", "--json", cwd=shot, env=cache)
    assert warnings_of(result.stderr) == [
        f"cinev4: warning: {JOURNAL_DIR}/{journal.name} is owned by another user (uid {FOREIGN_UID}): {REFUSED}"]
    assert result.json()["resume"]["journal_used"] is False
    assert journal.read_bytes() == before and os.stat(journal).st_uid == FOREIGN_UID


@pytest.mark.skipif(os.name != "posix" or os.geteuid() != 0, reason="chown to another uid needs root")
def test_another_users_journal_folder_is_refused(shot: Path, cache: dict[str, str]) -> None:
    folder = shot / JOURNAL_DIR
    folder.mkdir(mode=0o755)
    os.chown(folder, FOREIGN_UID, FOREIGN_UID)
    result = run_cli("verify", "SH010", "--resume", cwd=shot, env=cache)
    assert warnings_of(result.stderr) == [
        f"cinev4: warning: {JOURNAL_DIR}/ belongs to another user (uid {FOREIGN_UID}): {REFUSED}"]
    assert list(folder.iterdir()) == [] and stat.S_IMODE(os.stat(folder).st_mode) == 0o755


def _journal_lines(root: Path, skip: str | None = None) -> tuple[Path, dict[str, Any]]:
    """Write, through cinev4's own journal, true lines for every artifact (but ``skip``), as an
    interrupted run of this user leaves them; return the journal and the artifacts by path."""
    record = json.loads((root / "shots/SH010/shot.json").read_bytes())
    artifacts = {a["path"]: a for a in record["artifacts"]}
    journal = open_journal(root, scope_of(root))
    items = []
    for path in sorted(artifacts):
        if path == skip:
            continue
        real = (root / path).resolve()
        items.append((journal.key(real), os.stat(real), os.stat(real).st_mtime_ns + 3600 * 10**9, sha256_of(real)))
    journal.record(items)
    journal.close(completed=False)
    return journal.file, artifacts


def test_a_forged_line_for_a_tampered_file_is_rejected(shot: Path, cache: dict[str, str]) -> None:
    # Control: lines this user's cinev4 wrote are trusted (so the rejection below is the key's doing).
    journal, artifacts = _journal_lines(shot)
    control = run_cli("verify", "SH010", "--resume", "--json", cwd=shot, env=cache).json()
    assert control["resume"]["reused_files"] == len(artifacts) and control["resume"]["hashed_files"] == 0
    assert not journal.exists()  # a completed run deletes its journal

    victim = next(p for p in sorted(artifacts) if p.endswith(".exr"))
    real = shot / victim
    os.chmod(real, 0o644)
    data = bytearray(real.read_bytes())
    data[0] ^= 0xFF  # same size, other bytes
    real.write_bytes(bytes(data))
    age(real.parent)
    journal, _ = _journal_lines(shot, skip=victim)
    st = os.stat(real)
    forged = {"p": victim, "s": [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev],
              "t": st.st_mtime_ns + 3600 * 10**9, "h": artifacts[victim]["sha256"]}  # the manifest's digest
    canonical = json.dumps(forged, sort_keys=True, separators=(",", ":")).encode()
    forged["check"] = hashlib.sha256(canonical).hexdigest()[:16]  # what the unkeyed journal accepted
    with open(journal, "ab") as handle:
        handle.write(json.dumps(forged, sort_keys=True, separators=(",", ":")).encode() + b"\n")
    lines = journal.read_bytes().count(b"\n")

    result = run_cli("verify", "SH010", "--resume", "--json", cwd=shot, env=cache, expect=1)
    report = result.json()
    problems = [(p["kind"], p["path"]) for m in report["manifests"] for p in m["problems"]]
    assert problems == [("hash_differs", victim)]
    assert report["resume"]["reused_files"] == 0 and report["resume"]["hashed_files"] == len(artifacts)
    assert warnings_of(result.stderr) == [
        f"cinev4: warning: {JOURNAL_DIR}/{journal.name} is damaged (line {lines} fails its checksum): discarded, every file is hashed again",
        "cinev4: error: verification failed: 1 problem(s) in 1 of 1 manifest(s) (size and SHA-256)"]


def test_a_line_whose_check_no_checksum_can_be_is_damage_not_a_crash(shot: Path, cache: dict[str, str]) -> None:
    """A lone surrogate (``\\ud800`` in the JSON) or other non-ASCII text where the keyed
    checksum belongs: the journal is damaged, discarded, every file hashed; no traceback."""
    for check in ("\\ud800" * 64, "\\u00e9" * 64):
        journal, artifacts = _journal_lines(shot)
        true_line = journal.read_bytes().splitlines()[-1]
        forged = true_line[: true_line.index(b'"check":"') + 9] + check.encode() + b'"' + \
            true_line[true_line.index(b'"', true_line.index(b'"check":"') + 9) + 1:]
        with open(journal, "ab") as handle:
            handle.write(forged + b"\n")
        lines = journal.read_bytes().count(b"\n")
        result = run_cli("verify", "SH010", "--resume", "--json", cwd=shot, env=cache)
        assert result.json()["resume"]["reused_files"] == 0 and result.json()["ok"]
        assert warnings_of(result.stderr) == [
            f"cinev4: warning: {JOURNAL_DIR}/{journal.name} is damaged (line {lines} fails its checksum): "
            "discarded, every file is hashed again"]


def test_a_key_readable_by_others_is_no_secret(shot: Path, cache: dict[str, str]) -> None:
    run_cli("verify", "SH010", "--resume", cwd=shot, env=cache)
    key_file = journal_key_file()
    key = key_file.read_bytes()
    os.chmod(key_file, 0o644)
    result = run_cli("verify", "SH010", "--resume", "--json", cwd=shot, env=cache)
    assert warnings_of(result.stderr) == [
        f"cinev4: warning: the journal key {key_file} is readable by others (mode 644), so it is no secret; "
        f"delete it (a new one is made): {REFUSED}"]
    assert result.json()["resume"]["journal_used"] is False and key_file.read_bytes() == key


def test_fifo_at_the_journal_path_neither_blocks_nor_is_used(shot: Path, cache: dict[str, str]) -> None:
    planted = journal_path(shot)
    planted.parent.mkdir(mode=0o700)
    os.mkfifo(planted)
    result = run_cli("verify", "SH010", "--resume", cwd=shot, env=cache, timeout=30)
    assert warnings_of(result.stderr) == [f"cinev4: warning: {JOURNAL_DIR}/{planted.name} is not a regular file: {REFUSED}"]
    assert stat.S_ISFIFO(os.lstat(planted).st_mode)


def test_own_journal_folder_made_before_is_made_private(shot: Path, cache: dict[str, str]) -> None:
    folder = shot / JOURNAL_DIR
    folder.mkdir()
    os.chmod(folder, 0o755)
    result = run_cli("verify", "SH010", "--resume", "--json", cwd=shot, env=cache)
    assert result.stderr == "" and result.json()["resume"]["journal_used"] is True
    assert stat.S_IMODE(os.stat(folder).st_mode) == 0o700


@settings(max_examples=300, deadline=None)
@given(st.text(), st.tuples(*[st.integers(0, 2**64)] * 5), st.integers(0, 2**63),
       st.text("0123456789abcdef", min_size=64, max_size=64),
       st.text(st.characters(blacklist_categories=("Cs",)), max_size=40))
def test_a_files_line_is_the_bytes_json_writes(path_key: str, stat_key: tuple[int, int, int, int, int],
                                               stat_time_ns: int, sha256: str, scope: str) -> None:
    """The journal writes a file's line by hand (no json.dumps per line); a resumed run reads
    it back with json and checks its checksum on json's bytes: the two must be the same bytes."""
    from cinev4.pipeline.journal import _entry_line, _line, _parse

    key = bytes(range(32))
    fields = {"p": path_key, "s": list(stat_key), "t": stat_time_ns, "h": sha256}
    line = _entry_line(key, scope.encode() + b"\n", path_key, stat_key, stat_time_ns, sha256)
    assert line == _line(key, scope, fields)
    header = _line(key, scope, {"format": JOURNAL_FORMAT, "scope": scope})
    entries, length = _parse(header + line, scope, key)
    assert length == len(header + line) and entries[path_key].sha256 == sha256
