"""`cinev4 hash --files-from` (newline or NUL lists, stdin) and `-r` (sorted, through the
engine's native walk; symbolic links followed only with -L, a link loop ends)."""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

posix_only = pytest.mark.skipif(os.name != "posix", reason="symlinks and FIFOs as POSIX makes them")


def cinev4_exe() -> list[str]:
    script = Path(sys.executable).parent / "cinev4"
    return [str(script)] if script.exists() else [sys.executable, "-m", "cinev4"]


def hash_cli(*args: str, cwd: Path, stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([*cinev4_exe(), "hash", *args], cwd=cwd, input=stdin, capture_output=True, timeout=60)


def line(root: Path, name: str, end: bytes = b"\n") -> bytes:
    return f"{hashlib.sha256((root / name).read_bytes()).hexdigest()}  {name}".encode() + end


@pytest.fixture()
def tree(tmp_path: Path) -> Path:
    (tmp_path / "shots/SH010/b").mkdir(parents=True)
    (tmp_path / "shots/SH010/a.exr").write_bytes(b"a")
    (tmp_path / "shots/SH010/b/c.exr").write_bytes(b"c")
    (tmp_path / "shots/SH010/a.mov").write_bytes(b"mov")
    (tmp_path / "shots/SH010/Z.txt").write_bytes(b"Z")
    (tmp_path / "other.exr").write_bytes(b"o")
    return tmp_path


def test_files_from_newline_list(tree: Path) -> None:
    (tree / "LIST").write_bytes(b"other.exr\n\nshots/SH010/a.exr\n")
    out = hash_cli("shots/SH010/Z.txt", "--files-from", "LIST", cwd=tree)
    assert (out.returncode, out.stderr) == (0, b"")
    assert out.stdout == line(tree, "shots/SH010/Z.txt") + line(tree, "other.exr") + line(tree, "shots/SH010/a.exr")


def test_files_from_stdin_nul_separated_with_zero(tree: Path) -> None:
    names = ["other.exr", "shots/SH010/b/c.exr"]
    out = hash_cli("-z", "--files-from=-", cwd=tree, stdin=b"\0".join(n.encode() for n in names) + b"\0")
    assert (out.returncode, out.stderr) == (0, b"")
    assert out.stdout == b"".join(line(tree, n, b"\0") for n in names)


def test_files_from_missing_entries_fail_like_operands(tree: Path) -> None:
    out = hash_cli("--files-from=-", cwd=tree, stdin=b"other.exr\nnope.exr\n")
    assert out.returncode == 1
    assert out.stdout == line(tree, "other.exr")
    assert out.stderr == b"cinev4: nope.exr: No such file or directory\n"


def test_unreadable_list_is_a_usage_error(tree: Path) -> None:
    out = hash_cli("--files-from", "no list", cwd=tree)
    assert (out.returncode, out.stdout) == (2, b"")
    assert out.stderr == b"cinev4: 'no list': No such file or directory\n"


def test_files_from_with_check_is_refused(tree: Path) -> None:
    out = hash_cli("-c", "--files-from", "LIST", cwd=tree)
    assert out.returncode == 2
    assert out.stderr.splitlines()[0] == (b"cinev4: --files-from and --recursive name files to hash, not sums files: "
                                          b"not with --check")


def test_recursive_lists_every_file_in_byte_order(tree: Path) -> None:
    out = hash_cli("-r", "shots", "other.exr", cwd=tree)
    assert (out.returncode, out.stderr) == (0, b"")
    names = ["shots/SH010/Z.txt", "shots/SH010/a.exr", "shots/SH010/a.mov", "shots/SH010/b/c.exr", "other.exr"]
    assert out.stdout == b"".join(line(tree, n) for n in names)


def test_folder_without_recursive_is_an_error_as_in_sha256sum(tree: Path) -> None:
    out = hash_cli("shots", cwd=tree)
    assert (out.returncode, out.stdout, out.stderr) == (1, b"", b"cinev4: shots: Is a directory\n")


@posix_only
def test_recursive_leaves_links_and_fifos_unless_follow(tree: Path) -> None:
    shot = tree / "shots/SH010"
    os.symlink("../../other.exr", shot / "linked.exr")
    os.symlink("b", shot / "linked_folder")
    os.symlink("..", shot / "b/up")  # a loop once links are followed
    os.mkfifo(shot / "pipe")
    plain = hash_cli("-r", "shots", cwd=tree)
    assert (plain.returncode, plain.stderr) == (0, b"")
    assert plain.stdout == b"".join(line(tree, n) for n in ["shots/SH010/Z.txt", "shots/SH010/a.exr",
                                                            "shots/SH010/a.mov", "shots/SH010/b/c.exr"])
    followed = hash_cli("-r", "-L", "shots", cwd=tree)
    assert (followed.returncode, followed.stderr) == (0, b"")
    # b/up leads back to SH010, a folder above it: not descended (as find -L).
    names = ["shots/SH010/Z.txt", "shots/SH010/a.exr", "shots/SH010/a.mov", "shots/SH010/b/c.exr",
             "shots/SH010/linked.exr", "shots/SH010/linked_folder/c.exr"]
    assert followed.stdout == b"".join(line(tree, n) for n in names)


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root lists any folder")
def test_unlistable_folder_is_one_line_and_exit_1(tree: Path) -> None:
    locked = tree / "shots/SH010/b"
    locked.chmod(0)
    try:
        out = hash_cli("-r", "shots", cwd=tree)
    finally:
        locked.chmod(0o755)
    assert out.returncode == 1
    assert out.stderr == b"cinev4: shots/SH010/b: Permission denied\n"
    assert out.stdout == b"".join(line(tree, n) for n in ["shots/SH010/Z.txt", "shots/SH010/a.exr",
                                                          "shots/SH010/a.mov"])


def test_unlistable_folder_is_in_the_json_document(tree: Path, monkeypatch: pytest.MonkeyPatch,
                                                   capfd: pytest.CaptureFixture[str]) -> None:
    # It was only on stderr: the document said ok false, failed 0, and nothing else.
    import json
    import signal

    from cinev4.hashcli import sources
    from cinev4.hashcli.command import run_hash

    def unlistable(names: list[bytes], follow: bool, report: object) -> list[bytes]:
        report(b"shots/SH010/b", PermissionError(13, "Permission denied"))  # type: ignore[operator]
        return [b"shots/SH010/a.exr"]

    monkeypatch.setattr(sources, "expand_folders", unlistable)
    monkeypatch.chdir(tree)
    kept = signal.getsignal(signal.SIGPIPE)  # the command sets SIGPIPE's default: not this test process's
    try:
        assert run_hash(["--json", "-r", "shots"]) == 1
    finally:
        signal.signal(signal.SIGPIPE, kept)
    out, err = capfd.readouterr()
    document = json.loads(out)
    assert document["unlistable"] == [{"path": "shots/SH010/b", "error": {"errno": 13, "message": "Permission denied"}}]
    assert (document["failed"], document["ok"], document["exit_code"]) == (1, False, 1)
    assert [f["path"] for f in document["files"]] == ["shots/SH010/a.exr"]
    assert err == "cinev4: shots/SH010/b: Permission denied\n"


def test_follow_needs_recursive(tree: Path) -> None:
    out = hash_cli("-L", "other.exr", cwd=tree)
    assert out.returncode == 2
    assert out.stderr.splitlines()[0] == b"cinev4: --follow applies to --recursive only"
