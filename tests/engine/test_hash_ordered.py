"""The engine's ordered results (what `cinev4 hash` streams from): `hash_files_ordered`
gives `hash_files`' results, in input order, in runs; `next_block` gives the same in bulk;
`format_sum_lines` writes sha256sum's lines in one buffer."""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from cinev4 import hash_files
from cinev4._fasthash import format_sum_lines, hash_files_ordered
from cinev4.hashcli.sumsfile import format_line


@pytest.fixture()
def names(tmp_path: Path) -> list[bytes]:
    out = []
    for i in range(40):
        path = tmp_path / f"f{i:03d}"
        path.write_bytes(os.urandom(4096 * (40 - i)))  # larger first in size, last in input
        out.append(os.fsencode(path))
    (tmp_path / "empty").write_bytes(b"")
    (tmp_path / "folder").mkdir()
    out[5:5] = [os.fsencode(tmp_path / "missing"), os.fsencode(tmp_path / "folder"), os.fsencode(tmp_path / "empty")]
    return out


def test_runs_concatenate_to_hash_files(names: list[bytes]) -> None:
    runs = list(hash_files_ordered(names, 3))
    assert all(runs)
    assert [r for run in runs for r in run] == hash_files(names, 3)


def test_blocks_hold_the_same_digests(names: list[bytes]) -> None:
    expected = hash_files(names, 2)
    batch = hash_files_ordered(names, 2)
    seen = 0
    while True:
        try:
            start, digests, special = batch.next_block()
        except StopIteration:
            break
        assert start == seen
        for offset in range(len(digests) // 32):
            result = expected[start + offset]
            if offset in special:
                assert special[offset] == result
                assert result.error is not None or result.size == 0
            else:
                assert digests[32 * offset:32 * offset + 32] == result.digest
        seen += len(digests) // 32
    assert seen == len(names)


def test_close_mid_way_stops_and_ends_the_iteration(names: list[bytes]) -> None:
    batch = hash_files_ordered(names, 1)
    assert next(batch)
    batch.close()
    assert list(batch) == []
    assert list(hash_files_ordered([])) == []


def test_format_sum_lines_is_sha256sum_s_line(names: list[bytes]) -> None:
    good = [n for n in names if os.path.isfile(n)]
    digests = b"".join(hashlib.sha256(Path(os.fsdecode(n)).read_bytes()).digest() for n in good)
    lines = format_sum_lines(good, 0, digests, b"  ", b"\n")
    assert lines == b"".join(format_line(digests[i * 32:i * 32 + 32].hex(), n) for i, n in enumerate(good))
    tail = format_sum_lines(good, 3, digests[96:128], b" *", b"\0")
    assert tail == format_line(digests[96:128].hex(), good[3], binary=True, zero=True)


@pytest.mark.parametrize("name", [b"a\\b", b"a\nb", b"a\rb"])
def test_format_sum_lines_leaves_names_to_escape_to_the_caller(name: bytes) -> None:
    assert format_sum_lines([b"plain", name], 0, bytes(64), b"  ", b"\n") is None
    assert format_sum_lines([b"plain", name], 0, bytes(64), b"  ", b"\0", False) == (
        b"0" * 64 + b"  plain\0" + b"0" * 64 + b"  " + name + b"\0")


def test_format_sum_lines_refuses_what_it_cannot_write() -> None:
    with pytest.raises(TypeError, match="names must be bytes, not str"):
        format_sum_lines(["text"], 0, bytes(32), b"  ", b"\n")  # type: ignore[list-item]
    with pytest.raises(IndexError, match="2 digests for names from 0 of 1"):
        format_sum_lines([b"one"], 0, bytes(64), b"  ", b"\n")


@pytest.mark.parametrize("bulk", [False, True])
def test_progress_ends_at_the_batch_total_when_the_last_files_are_taken(names: list[bytes], bulk: bool) -> None:
    """As hash_files does, the last progress report is the whole batch, made as the last files
    are handed out: a caller that stops there (``-c`` after its last line) sees 100%, and so
    does a batch that finished within one wait (reports come only from waits otherwise)."""
    seen: list[tuple[int, int]] = []
    results = hash_files_ordered(names, 2, progress=lambda b, f: seen.append((b, f)), interval=60)
    taken = 0
    while taken < len(names):  # never asks past the last file
        taken += len(results.next_block()[1]) // 32 if bulk else len(next(results))
    total = sum(os.path.getsize(n) for n in names if os.path.isfile(n))  # a missing file and a folder fail
    assert seen and seen[-1] == (total, len(names)), seen
    results.close()
