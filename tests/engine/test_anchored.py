"""The engine's anchored file layer: files opened beneath one root folder, no
symlink below it ever followed, in both anchoring modes (openat2 where the
kernel has it, and the openat walk, forced with CINEV4_ANCHOR=openat-walk).

Each case asserts the exact kind of problem the engine gives back."""
from __future__ import annotations

import errno
import os
import sys
from pathlib import Path

import pytest

from cinev4 import hash_bytes
from cinev4._fasthash import anchor_mode, available_kernels, check_files, engine_info, hash_files_under, scan_tree

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX symlinks, FIFOs and byte names")

SHA_EMPTY = hash_bytes(b"")


@pytest.fixture(params=["auto", "openat-walk"])
def mode(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("CINEV4_ANCHOR", request.param)
    return str(request.param)


@pytest.fixture(params=["lanes", "single"])
def kernel(request: pytest.FixtureRequest) -> str | None:
    """None: the engine's default (multi-buffer lanes where they pay); a name: the single-stream loop."""
    return None if request.param == "lanes" else available_kernels()[0]


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """root/v/{a.bin, sub/b.bin}, and outside/canary.bin beside the root."""
    root = tmp_path / "root"
    (root / "v" / "sub").mkdir(parents=True)
    (root / "v" / "a.bin").write_bytes(b"a" * 1000)
    (root / "v" / "sub" / "b.bin").write_bytes(b"b" * 300_000)
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "canary.bin").write_bytes(b"canary")
    return root


def _table(root: Path, paths: list[str]) -> tuple[list[int], list[str]]:
    sizes, digests = [], []
    for path in paths:
        data = (root / path).read_bytes()
        sizes.append(len(data))
        digests.append(hash_bytes(data))
    return sizes, digests


def test_engine_info_names_the_anchoring_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CINEV4_ANCHOR", raising=False)
    assert engine_info()["anchor"] == anchor_mode()
    assert anchor_mode() in ("openat2", "openat-walk")
    monkeypatch.setenv("CINEV4_ANCHOR", "openat-walk")
    assert engine_info()["anchor"] == "openat-walk"
    monkeypatch.setenv("CINEV4_ANCHOR", "follow")
    with pytest.raises(ValueError, match=r"^CINEV4_ANCHOR='follow': expected one of: auto, openat2, openat-walk$"):
        anchor_mode()


def test_fine_files_give_no_problem(tree: Path, mode: str, kernel: str | None) -> None:
    paths = ["v/a.bin", "v/sub/b.bin"]
    sizes, digests = _table(tree, paths)
    assert check_files(tree, paths, sizes, digests, 2, kernel=kernel) == ([], 2, 301_000)
    assert check_files(tree, paths, sizes, None, 2, kernel=kernel) == ([], 0, 0)  # sizes only: nothing read


def test_each_problem_has_its_exact_kind(tree: Path, mode: str, kernel: str | None, tmp_path: Path) -> None:
    v = tree / "v"
    os.symlink(tmp_path / "outside" / "canary.bin", v / "link.bin")  # a symlinked file
    os.symlink(tmp_path / "outside", v / "away")  # a symlinked folder on the way
    os.symlink("a.bin", v / "inner.bin")  # a symlink inside the root: not followed either
    os.mkfifo(v / "pipe")
    (v / "dir.bin").mkdir()
    paths = ["v/a.bin", "v/link.bin", "v/away/canary.bin", "v/inner.bin", "v/pipe", "v/gone.bin", "v/dir.bin",
             "v/a.bin/x", "v/sub/b.bin", "v/../root/v/a.bin"]
    sizes = [1000, 6, 6, 1000, 0, 1, 0, 1, 299_999, 1000]
    digests = [hash_bytes(b"a" * 999 + b"b")] + [SHA_EMPTY] * 9
    problems, hashed, nbytes = check_files(tree, paths, sizes, digests, 2, kernel=kernel)
    kinds = [(paths[i], kind) for i, kind, *_ in problems]
    assert kinds == [("v/a.bin", "hash_differs"), ("v/link.bin", "symlink"), ("v/away/canary.bin", "symlink"),
                     ("v/inner.bin", "symlink"), ("v/pipe", "not_regular"), ("v/gone.bin", "missing"),
                     ("v/dir.bin", "not_regular"), ("v/a.bin/x", "unreadable"), ("v/sub/b.bin", "size_differs"),
                     ("v/../root/v/a.bin", "unreadable")]
    assert problems[0][2:4] == (1000, hash_bytes(b"a" * 1000))
    assert problems[8][2] == 300_000  # the size found; the file was not hashed
    assert type(problems[4][4]).__name__ == "NotRegularFileError" and "FIFO" in str(problems[4][4])
    assert isinstance(problems[6][4], IsADirectoryError)
    assert problems[7][4].errno == errno.ENOTDIR and problems[9][4].errno == errno.EINVAL
    assert (hashed, nbytes) == (1, 1000)


def test_a_symlinked_root_child_folder_is_refused_by_scan_and_hashing(tree: Path, mode: str, tmp_path: Path) -> None:
    os.symlink(tmp_path / "outside", tree / "w")
    assert scan_tree(tree, "w") == ("symlink", [], [], [])
    assert scan_tree(tree, "w/deeper") == ("symlink", [], [], [])
    assert scan_tree(tree, "nothing") == ("missing", [], [], [])
    assert scan_tree(tree, "v/a.bin") == ("not_folder", [], [], [])
    [result] = hash_files_under(tree, ["w/canary.bin"])
    assert result.error is not None and result.error.errno == errno.ELOOP and result.digest is None


def test_scan_lists_files_and_every_other_entry(tree: Path, mode: str, tmp_path: Path) -> None:
    v = tree / "v"
    os.symlink(tmp_path / "outside", v / "sub" / "away")
    os.mkfifo(v / "pipe")
    (v / "empty.bin").write_bytes(b"")
    status, paths, sizes, others = scan_tree(tree, "v")
    assert status == "ok"
    assert (paths, sizes) == (["v/a.bin", "v/empty.bin", "v/sub/b.bin"], [1000, 0, 300_000])  # sorted by the engine
    assert sorted(others) == [(b"v/pipe", "FIFO", 0), (b"v/sub/away", "symlink", 0)]


def test_a_scan_without_sizes_lists_the_same_entries_with_no_stat_per_file(tree: Path, mode: str, tmp_path: Path) -> None:
    v = tree / "v"
    os.symlink(tmp_path / "outside", v / "sub" / "away")
    os.symlink("a.bin", v / "link.bin")
    os.mkfifo(v / "pipe")
    (v / "sub" / "deeper").mkdir()
    (v / "sub" / "deeper" / "c.bin").write_bytes(b"c")
    sized = scan_tree(tree, "v")
    status, paths, sizes, others = scan_tree(tree, "v", sizes=False)
    assert (status, paths, sizes) == ("ok", sized[1], None)
    assert sorted(others) == sorted(sized[3]) == [(b"v/link.bin", "symlink", 0), (b"v/pipe", "FIFO", 0),
                                                  (b"v/sub/away", "symlink", 0)]
    assert scan_tree(tree, "nothing", sizes=False) == ("missing", [], None, [])


def test_names_with_every_byte_but_slash_and_nul_round_trip(tmp_path: Path, mode: str) -> None:
    root = tmp_path / "root"
    (root / "v").mkdir(parents=True)
    names = [bytes([b]) for b in range(1, 256) if b not in (ord("/"), ord("."))] + [b"...", b".x"]
    for name in names:
        with open(os.path.join(os.fsencode(root / "v"), name), "wb") as handle:
            handle.write(name)
    status, paths, sizes, others = scan_tree(root, "v")
    assert (status, others) == ("ok", [])
    # Decoded as os.fsdecode does (surrogates for bytes that are not UTF-8), in the order of their bytes.
    assert [os.fsencode(p) for p in paths] == sorted(b"v/" + name for name in names)
    assert sizes == [len(os.fsencode(p)) - 2 for p in paths]
    problems, hashed, _ = check_files(root, paths, sizes, [hash_bytes(os.fsencode(p)[2:]) for p in paths])
    assert (problems, hashed) == ([], len(names))


def test_a_tree_a_thousand_folders_deep(tmp_path: Path, mode: str) -> None:
    root = tmp_path / "root"
    folder = root / "v"
    folder.mkdir(parents=True)
    for _ in range(1000):  # os.makedirs and rmtree recurse: one level at a time, both ways
        folder = folder / "d"
        folder.mkdir()
    (folder / "leaf.bin").write_bytes(b"leaf")
    rel = "v/" + "d/" * 1000 + "leaf.bin"
    try:
        assert scan_tree(root, "v") == ("ok", [rel], [4], [])
        assert check_files(root, [rel], [4], [hash_bytes(b"leaf")]) == ([], 1, 4)
    finally:
        (folder / "leaf.bin").unlink()
        while folder != root:
            folder.rmdir()
            folder = folder.parent


def test_nfd_and_nfc_names_are_different_files_to_the_engine(tmp_path: Path, mode: str) -> None:
    root = tmp_path / "root"
    (root / "v").mkdir(parents=True)
    nfd = "v/e\u0301.bin"
    (root / nfd).write_bytes(b"x")
    assert scan_tree(root, "v") == ("ok", [nfd], [1], [])
    problems, _, _ = check_files(root, [nfd, "v/\u00e9.bin"], [1, 1], [hash_bytes(b"x")] * 2)
    assert [(i, kind) for i, kind, *_ in problems] == [(1, "missing")]


def test_the_digest_column_is_read_whole_or_refused(tree: Path) -> None:
    digest = hash_bytes((tree / "v" / "a.bin").read_bytes())
    assert check_files(tree, ["v/a.bin"] * 3, [1000] * 3, [digest, digest.upper(), digest]) == ([], 3, 3000)
    wrong = "0" * 64
    problems, _, _ = check_files(tree, ["v/a.bin"] * 2, [1000] * 2, [wrong, digest])
    assert [(i, kind, sha) for i, kind, _, sha, _ in problems] == [(0, "hash_differs", digest)]
    for bad in ([digest[:-2] + " 0", digest], [digest[:63], digest + "0"], [digest[:62], digest], ["z" * 64, digest]):
        with pytest.raises(ValueError):  # a blank, lengths that add up but do not align, too short, not hex
            check_files(tree, ["v/a.bin"] * 2, [1000] * 2, bad)
