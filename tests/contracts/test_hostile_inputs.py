"""Hostile and odd inputs end in one clear line and exit 2: never a traceback, a hang or a
huge read. Each test builds the hostile thing for real (a FIFO, a sparse file, deep nesting)."""
from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cinev4.contracts import load_document, read_document_bytes, read_json_file
from cinev4.contracts.documents import MAX_BYTES
from cinev4.contracts.jsonio import MAX_DEPTH, JsonProblem, max_depth, parse_json
from cinev4.errors import ContractError
from cinev4.pipeline.frames import FrameRange, FrameSequence, frame_ranges, missing_frames
from helpers import pin, render, rewrite, run_cli

MANIFEST = "shots/SH010/manifests/v0001/manifest.json"
needs_fifo = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="FIFOs are POSIX only")


def _manifest(root: Path) -> dict:  # type: ignore[type-arg]
    return json.loads((root / MANIFEST).read_text())


def _one_error_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert lines[0].startswith("cinev4: error: "), stderr
    return lines[0]


# --- the reader, in-process ------------------------------------------------------------------


def test_depth_is_counted_on_bytes_and_skips_strings() -> None:
    assert max_depth(b'{"a": [1, {"b": "[[[[{{{{"}]}') == 3
    assert max_depth(b'"[\\"[[["') == 0
    assert max_depth(b"[" * 100_000 + b"]" * 100_000) == 100_000


def _depth_by_regex_and_loop(raw: bytes) -> int:
    """The plain count max_depth's fast path must agree with: strings cut out by a regex
    that knows escapes (an unclosed one is no string), then one step per bracket."""
    import re

    structure = re.sub(rb'"[^"\\]*(?:\\.[^"\\]*)*"', b"", raw, flags=re.DOTALL)
    depth = deepest = 0
    for byte in structure:
        if byte in b"[{":
            depth += 1
            deepest = max(deepest, depth)
        elif byte in b"]}":
            depth -= 1
    return deepest


@settings(max_examples=2000, deadline=None)
@given(st.lists(st.sampled_from([b"[", b"]", b"{", b"}", b'"', b"\\", b"a", b",", b'""']), max_size=40))
def test_depth_agrees_with_a_plain_count_on_any_bytes(pieces: list[bytes]) -> None:
    raw = b"".join(pieces)
    assert max_depth(raw) == _depth_by_regex_and_loop(raw)


@settings(max_examples=500, deadline=None)
@given(st.integers(min_value=-(10**25), max_value=10**25), st.sampled_from(["", " ", "\t", "\n", "\r\n "]),
       st.sampled_from(["[{}]", '{{"sha256": "a1234567890123456789012345", "n": {}}}', "{}"]))
def test_integers_outside_int64_are_refused_wherever_written(value: int, space: str, shape: str) -> None:
    raw = shape.format(space + str(value) + space).encode()
    if -(2**63) <= value < 2**63:
        assert parse_json(raw) is not None
    else:
        with pytest.raises(JsonProblem, match=rf": integer {value} is out of range \(expected at most 2\^63-1\)$"):
            parse_json(raw)


def test_deep_nesting_is_refused_before_parsing() -> None:
    raw = b"[" * 100_000 + b"]" * 100_000
    with pytest.raises(JsonProblem, match=rf"^\$: arrays and objects nest 100000 levels deep \(expected at most {MAX_DEPTH}\)$"):
        parse_json(raw)
    ok = b"[" * MAX_DEPTH + b"]" * MAX_DEPTH
    assert parse_json(ok) is not None


def test_fraction_numbers_refused_where_integers_are_the_contract() -> None:
    for written in (b"6.0", b"6e0", b"6E+0", b"-0.0"):
        with pytest.raises(JsonProblem, match=r"^\$\.a\[1\]\.size: .* is not an integer"):
            parse_json(b'{"a": [{}, {"size": ' + written + b"}]}", integers_only=True)
    assert parse_json(b'{"score": 0.5}') == {"score": 0.5}  # qc.json may hold fractions


def test_reader_refuses_fifo_without_blocking(tmp_path: Path) -> None:
    if not hasattr(os, "mkfifo"):
        pytest.skip("FIFOs are POSIX only")
    fifo = tmp_path / "manifest.json"
    os.mkfifo(fifo)
    started = time.monotonic()
    with pytest.raises(ContractError, match=r"^m\.json: \$: is a FIFO \(expected a regular file\)$"):
        read_document_bytes(fifo, "manifest", "m.json")
    assert time.monotonic() - started < 5


def test_reader_refuses_sparse_giant_from_fstat(tmp_path: Path) -> None:
    big = tmp_path / "manifest.json"
    with open(big, "wb") as handle:
        handle.truncate(100 * 1024**3)  # sparse: nothing is written
    started = time.monotonic()
    with pytest.raises(ContractError, match=rf"^m\.json: \$: the file is {100 * 1024**3} bytes \(expected at most "
                                            rf"{MAX_BYTES['manifest']} bytes for a manifest document\)$"):
        read_document_bytes(big, "manifest", "m.json")
    assert time.monotonic() - started < 2


def test_reader_refuses_symlink_and_folder(tmp_path: Path) -> None:
    real = tmp_path / "real.json"
    real.write_text("{}")
    (tmp_path / "link.json").symlink_to(real)
    with pytest.raises(ContractError, match=r"^l: \$: is a symbolic link"):
        read_document_bytes(tmp_path / "link.json", "project", "l")
    with pytest.raises(ContractError, match=r"^d: \$: is a folder \(expected a regular file\)$"):
        read_document_bytes(tmp_path, "project", "d")
    with pytest.raises(FileNotFoundError):
        read_document_bytes(tmp_path / "missing.json", "project")


def test_qc_reader_names_file_and_path(tmp_path: Path) -> None:
    qc = tmp_path / "qc.json"
    qc.write_bytes(b'{"a": 1, "a": 2}')
    with pytest.raises(ContractError, match=r'^qc\.json: \$\.a: duplicate key "a"$'):
        read_json_file(qc, "qc", "qc.json")


def test_load_document_refuses_unknown_key_500_deep_without_recursing(tmp_path: Path) -> None:
    doc = tmp_path / "manifest.json"
    nested: object = 1
    for _ in range(600):
        nested = {"x": nested}
    doc.write_text(json.dumps({"schema": "cinev4/manifest@1", "artifacts": [{"extra": nested}]}))
    with pytest.raises(ContractError, match=r"^m: \$: arrays and objects nest 603 levels deep"):
        load_document(doc, "manifest", "m")


# --- through the real CLI --------------------------------------------------------------------


def test_verify_deeply_nested_manifest_one_line_exit_2(manifested: Path) -> None:
    pin(manifested, "SH010", b"[" * 100_000 + b"]" * 100_000)
    result = run_cli("verify", "SH010", cwd=manifested, expect=2)
    assert "manifest_invalid" in result.stdout
    assert "nest 100000 levels deep (expected at most 64)" in result.stdout


@needs_fifo
def test_verify_fifo_manifest_does_not_hang(manifested: Path) -> None:
    target = manifested / MANIFEST
    os.chmod(target, 0o644)
    target.unlink()
    os.mkfifo(target)
    result = run_cli("verify", "SH010", cwd=manifested, expect=2, timeout=30)
    assert f"{MANIFEST}: $: is a FIFO (expected a regular file)" in result.stdout


def test_verify_sparse_100_gib_manifest_refused_at_once(manifested: Path) -> None:
    target = manifested / MANIFEST
    os.chmod(target, 0o644)
    with open(target, "r+b") as handle:
        handle.truncate(100 * 1024**3)
    started = time.monotonic()
    result = run_cli("verify", "SH010", cwd=manifested, expect=2, timeout=30)
    assert time.monotonic() - started < 10
    assert f"the file is {100 * 1024**3} bytes (expected at most 268435456 bytes" in result.stdout


def test_verify_refuses_size_written_as_float(manifested: Path) -> None:
    data = _manifest(manifested)
    data["artifacts"][0]["size"] = float(data["artifacts"][0]["size"])
    pin(manifested, "SH010", json.dumps(data).encode())
    result = run_cli("verify", "SH010", "--json", cwd=manifested, expect=2)
    problems = result.json()["manifests"][0]["problems"]
    assert [p["kind"] for p in problems] == ["manifest_invalid"]
    assert problems[0]["detail"].endswith(
        f"$.artifacts[0].size: {data['artifacts'][0]['size']!r} is not an integer (written with a fraction or "
        "exponent; cinev4 documents hold whole numbers only, e.g. 6)")


@needs_fifo
def test_shot_done_with_fifo_and_deep_qc_json(project: Path) -> None:
    run_cli("shot", "new", "SH010", cwd=project)
    out = render(project)
    run_cli("shot", "qc", "SH010", cwd=project)
    run_cli("manifest", "SH010", cwd=project)
    qc = out / "qc.json"
    rewrite(qc, b"[" * 100_000 + b"]" * 100_000)
    result = run_cli("shot", "done", "SH010", cwd=project, expect=2)
    assert "shots/SH010/outputs/v0001/qc.json: $: arrays and objects nest 100000 levels deep" in result.stderr


@needs_fifo
def test_fifo_shot_record_and_release_record(done: Path) -> None:
    shot_file = done / "shots" / "SH010" / "shot.json"
    saved = shot_file.read_bytes()
    shot_file.unlink()
    os.mkfifo(shot_file)
    result = run_cli("shot", "show", "SH010", cwd=done, expect=2, timeout=30)
    assert _one_error_line(result.stderr) == "cinev4: error: shots/SH010/shot.json: $: is a FIFO (expected a regular file)"
    shot_file.unlink()
    shot_file.write_bytes(saved)
    (done / "project.json").unlink()  # a delivered copy: the pin comes from its release record
    release = done / "releases" / "R1" / "release.json"
    release.parent.mkdir(parents=True)
    os.mkfifo(release)
    result = run_cli("verify", "--manifest", str(done / MANIFEST), cwd=done, expect=2, timeout=30)
    assert _one_error_line(result.stderr) == "cinev4: error: releases/R1/release.json: $: is a FIFO (expected a regular file)"


# --- frame ranges by arithmetic --------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(st.sets(st.integers(0, 300), min_size=1), st.integers(0, 300), st.integers(0, 300))
def test_missing_frames_equals_the_set_difference(present: set[int], a: int, b: int) -> None:
    first, last = min(a, b), max(a, b)
    frames = tuple(sorted(present))
    sequence = FrameSequence("s.", ".exr", 4, frames, tuple(f"s.{f:04d}.exr" for f in frames))
    expected = frame_ranges(f for f in range(first, last + 1) if f not in present)
    assert missing_frames(sequence, FrameRange(first, last)) == expected


def test_huge_declared_range_with_one_frame_is_answered_at_once(project: Path) -> None:
    run_cli("shot", "new", "SH010", "--frames", "1-999999999", cwd=project)
    out = project / "shots" / "SH010" / "outputs" / "v0001"
    (out / "sh010.000000500.exr").write_bytes(b"frame")
    (out / "qc.json").write_text("{}")
    (out / "preview.mp4").write_bytes(b"preview")
    started = time.monotonic()
    refused = run_cli("manifest", "SH010", cwd=project, expect=2, timeout=60)  # strict: sealed only whole
    assert time.monotonic() - started < 15
    assert "999999998 of 999999999 frames missing (expected 1-999999999)" in refused.stderr
    run_cli("shot", "frames", "SH010", "--clear", cwd=project)
    run_cli("manifest", "SH010", cwd=project)
    run_cli("shot", "frames", "SH010", "1-999999999", cwd=project)
    started = time.monotonic()
    result = run_cli("verify", "SH010", cwd=project, expect=1, timeout=60)
    assert time.monotonic() - started < 15
    assert ("  missing_frames    shots/SH010/outputs/v0001/sh010.#########.exr: frames "
            "000000001-000000499,000000501-999999999 missing: 999999998 of 999999999 (expected 1-999999999)\n"
            ) in result.stdout


# --- no recursion over the file system -------------------------------------------------------


def _remove_deep(top: Path) -> None:
    """Remove a deep chain of folders bottom-up without recursion (the fixtures' cleanup
    walks recursively on some Pythons)."""
    chain = [top]
    while True:
        below = [p for p in chain[-1].iterdir() if p.is_dir()]
        if not below:
            break
        chain.append(below[0])
    for folder in reversed(chain):
        for item in folder.iterdir():
            if not item.is_dir():
                item.unlink()
        folder.rmdir()


def test_tree_1000_folders_deep_is_manifested_and_passes_the_gate(project: Path) -> None:
    run_cli("shot", "new", "SH010", cwd=project)
    out = render(project)
    folder = out
    for _ in range(1000):
        folder = folder / "d"
        folder.mkdir()
    (folder / "deep.txt").write_bytes(b"deep")
    run_cli("shot", "qc", "SH010", cwd=project)
    try:
        result = run_cli("manifest", "SH010", "--json", cwd=project)
        paths = [a["path"] for a in _manifest(project)["artifacts"]]
        assert "shots/SH010/outputs/v0001/" + "d/" * 1000 + "deep.txt" in paths
        assert len(paths) == 6, result.stdout
        run_cli("shot", "done", "SH010", cwd=project)
        run_cli("verify", "SH010", cwd=project)
    finally:
        _remove_deep(out / "d")
