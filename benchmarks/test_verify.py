"""Verification of a shot holding the frame sequence, through the pipeline API
and the CLI, beside hashlib, ``sha256sum -c`` and openssl on the same files."""
from __future__ import annotations

from pathlib import Path

import pytest

import bench_guards
import bench_harness as bh
import cinev4


def _sums_files(files: bh.FileSet, folder: Path) -> list[Path]:
    """A sha256sum file for all frames, and the same split in two halves (outside
    the version folder: verification reports files the manifest does not list)."""
    folder.mkdir(parents=True, exist_ok=True)
    digests = {r.path: r.sha256 for r in cinev4.hash_files(files.paths)}
    lists = [files.names, *files.halves()]
    written = []
    for i, names in enumerate(lists):
        path = folder / f"frames-{i}.sha256"
        with open(path, "w", newline="\n") as handle:  # sha256sum wants \n, also on Windows
            handle.write("".join(f"{digests[str(files.root / n)]}  {n}\n" for n in names))
        written.append(path)
    return written


@pytest.mark.benchmark(group="verify")
def test_verify_frame_shot(benchmark, frame_shot, pool, bench_settings: bh.Settings, data_root: Path) -> None:
    if frame_shot.project_root is None:
        pytest.skip(frame_shot.skip_reason)
    from cinev4.pipeline import load_project, verify_shots

    files = frame_shot.files
    root = frame_shot.project_root
    project = load_project(root, search=False)
    assert verify_shots(project, [frame_shot.shot_id]).ok
    bh.warm_page_cache(files.paths)

    def verify_api() -> None:
        report = verify_shots(project, [frame_shot.shot_id], threads=2)
        assert report.ok, report.summary()

    every, first, second = _sums_files(files, data_root / f"sums-{bench_settings.mode}")
    shape = files.shape
    case = bh.Case(f"verify shot: {shape.label}", shape.total_bytes, shape.files)
    target = "cinev4 verify_shots (API)"
    case.add(target, verify_api)
    case.add("cinev4 verify (CLI)", bh.processes([bh.cinev4_argv("verify", frame_shot.shot_id)], root))
    case.add("cinev4 hash -c (CLI)", bh.processes([bh.cinev4_argv("hash", "-c", str(every))], files.root))
    peers = bh.peer_tools(files, pool)
    sha256sum = bh.tool("sha256sum")
    if sha256sum:
        # sha256sum -c in place of the plain sha256sum runs: what a verify replaces.
        peers = {k: v for k, v in peers.items() if not k.startswith("sha256sum")}
        peers["sha256sum -c x1"] = bh.processes([[sha256sum, "--quiet", "-c", str(every)]], files.root)
        peers["sha256sum -c x2"] = bh.processes(
            [[sha256sum, "--quiet", "-c", str(first)], [sha256sum, "--quiet", "-c", str(second)]], files.root
        )
    case.add_peers(peers)
    case.measure(benchmark, target, bench_settings.rounds)
    case.record(benchmark)

    results = [bh.guard(case, target, "hashlib 2-thread pool", bench_guards.VERIFY_VS_HASHLIB_POOL,
                        "verify vs hashlib pool", engine_speed=True)]
    checks = [n for n in case.times if n.startswith("sha256sum -c")]
    if checks:
        fastest = min(checks, key=case.best)
        results.append(bh.guard(case, "cinev4 verify (CLI)", fastest, bench_guards.VERIFY_CLI_VS_SHA256SUM_C,
                                "cinev4 verify vs sha256sum -c", engine_speed=True))
        results.append(bh.guard(case, "cinev4 hash -c (CLI)", fastest, bench_guards.HASH_CHECK_VS_SHA256SUM_C,
                                "cinev4 hash -c vs sha256sum -c", engine_speed=True))
    else:
        case.notes.append("no sha256sum here: the verify and hash -c CLI guards not checked")
    bh.check(results)
