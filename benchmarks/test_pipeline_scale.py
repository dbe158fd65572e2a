"""The pipeline's file layer at scale: ``cinev4 verify`` and the manifest's work on a shot of
many small files, beside ``rhash -c`` / ``sha256sum -c`` (skipped where absent) and beside
``cinev4 hash -c`` on the same files; in full mode also 100,000 files and a scan of
1,000,000 entries with its peak RSS.

Quick mode (``make test``): 2,000 x 16 KiB. Full mode: 10,000 and 100,000 x 16 KiB.
"""
from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

import bench_guards
import bench_harness as bh
import cinev4

SHOT_ID = "SH010"
OUT = f"shots/{SHOT_ID}/outputs/v0001"


def _small_shot(root: Path, files: int) -> tuple[Path, Path, list[str]]:
    """A project whose shot holds ``files`` x 16 KiB (sealed), and a sums file of the same
    files outside the version folder. Kept between runs under CINEV4_BENCH_DATA."""
    from cinev4.pipeline import build_manifest, create_shot, init_project

    names = [f"sh010.{1001 + i:07d}.exr" for i in range(files)]
    sums = root / "all.sha256"
    marker = root / f".complete-{files}"
    if not marker.exists():
        import shutil

        shutil.rmtree(root, ignore_errors=True)
        root.mkdir(parents=True)
        project = init_project(root / "proj", "BENCH")
        create_shot(project, SHOT_ID)
        out = root / "proj" / OUT
        bh.write_random_files(out, names, 16 * bh.KIB, seed=7)
        (out / "qc.json").write_text('{"reviewer": "bench", "approved": true}\n')  # what a strict seal asks for
        (out / "preview.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42")
        build_manifest(project, SHOT_ID)
        digests = cinev4.hash_files([str(out / n) for n in names])
        with open(sums, "w", newline="\n") as handle:
            handle.write("".join(f"{d.sha256}  {n}\n" for d, n in zip(digests, names)))
        marker.touch()
    return root / "proj", sums, names


def _manifest_rows(project_root: Path) -> Callable[[], object]:
    """What ``cinev4 manifest`` does before it writes: scan the folder, hash it, build the rows."""
    from cinev4.pipeline import load_project, load_shot
    from cinev4.pipeline.manifests import _manifest_document

    project = load_project(project_root, search=False)
    shot = load_shot(project, SHOT_ID)
    return lambda: _manifest_document(project, shot, threads=None, progress=None)


def _scale_case(benchmark, files: int, data_root: Path, rounds: int) -> bh.Case:  # type: ignore[no-untyped-def]
    root, sums, names = _small_shot(data_root / f"pipeline-{files}", files)
    out = root / OUT
    bh.warm_page_cache([str(out / n) for n in names])
    case = bh.Case(f"pipeline: {files:,} x 16 KiB", files * 16 * bh.KIB, files)
    case.add("cinev4 verify (CLI)", bh.processes([bh.cinev4_argv("verify", SHOT_ID)], root))
    case.add("cinev4 manifest rows (API)", _manifest_rows(root))
    case.add("cinev4 hash -c (CLI)", bh.processes([bh.cinev4_argv("hash", "-c", str(sums))], out))
    rhash = bh.tool("rhash")
    if rhash:
        case.add("rhash -c", bh.processes([[rhash, "--sha256", "--skip-ok", "-c", str(sums)]], out))
        case.add("rhash --sha256 -r", bh.processes([[rhash, "--sha256", "-r", "."]], out))
    sha256sum = bh.tool("sha256sum")
    if sha256sum:
        case.add("sha256sum -c", bh.processes([[sha256sum, "--quiet", "-c", str(sums)]], out))
    case.measure(benchmark, "cinev4 verify (CLI)", rounds)
    case.record(benchmark)
    return case


def _guards(case: bh.Case) -> list[bh.GuardResult]:
    results = [bh.guard(case, "cinev4 verify (CLI)", "cinev4 hash -c (CLI)", bench_guards.PIPELINE_VERIFY_VS_HASH_C,
                        "verify vs cinev4 hash -c on the same files", engine_speed=True)]
    if "rhash -c" in case.times:
        results.append(bh.guard(case, "cinev4 verify (CLI)", "rhash -c", bench_guards.PIPELINE_VERIFY_VS_RHASH_C,
                                "verify vs rhash -c", engine_speed=True))
        results.append(bh.guard(case, "cinev4 manifest rows (API)", "rhash --sha256 -r",
                                bench_guards.PIPELINE_MANIFEST_VS_RHASH, "manifest rows vs rhash", engine_speed=True))
    else:
        case.notes.append("no rhash here: the rhash guards not checked")
    if "sha256sum -c" in case.times:
        results.append(bh.guard(case, "cinev4 verify (CLI)", "sha256sum -c", bench_guards.PIPELINE_VERIFY_VS_SHA256SUM_C,
                                "verify vs sha256sum -c", engine_speed=True))
    return results


@pytest.mark.benchmark(group="pipeline")
def test_verify_and_manifest_of_small_files(benchmark, data_root: Path, bench_settings: bh.Settings) -> None:  # type: ignore[no-untyped-def]
    case = _scale_case(benchmark, 2_000 if bench_settings.quick else 10_000, data_root, bench_settings.rounds)
    bh.check(_guards(case))


@pytest.mark.benchmark(group="pipeline")
def test_verify_of_100000_small_files(benchmark, data_root: Path, bench_settings: bh.Settings) -> None:  # type: ignore[no-untyped-def]
    if bench_settings.quick:
        pytest.skip("full mode only (make bench)")
    case = _scale_case(benchmark, 100_000, data_root, 3)
    bh.check([bh.guard(case, "cinev4 verify (CLI)", "cinev4 hash -c (CLI)",
                       bench_guards.PIPELINE_VERIFY_100K_VS_HASH_C, "verify vs cinev4 hash -c, 100,000 files",
                       engine_speed=True)])


_SCAN_CHILD = """
import sys
from cinev4.pipeline.scan import scan_folder
scan = scan_folder(sys.argv[1], sys.argv[2])
assert len(scan.paths) == int(sys.argv[3]) and not scan.problems, (len(scan.paths), scan.problems[:3])
with open("/proc/self/status") as status:
    print(next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmHWM:")))
"""


def test_scan_of_a_million_entries_stays_under_its_rss_limit(data_root: Path, bench_settings: bh.Settings) -> None:
    if bench_settings.quick:
        pytest.skip("full mode only (make bench)")
    if not os.path.exists("/proc/self/status"):
        pytest.skip("peak RSS read from /proc")
    entries, per_folder = 1_000_000, 1_000
    root = data_root / "scan-1m"
    folder = root / "shots" / SHOT_ID / "outputs" / "v0001"
    marker = root / f".complete-{entries}"
    if not marker.exists():
        for d in range(entries // per_folder):
            sub = folder / f"d{d:04d}"
            sub.mkdir(parents=True, exist_ok=True)
            for i in range(per_folder):
                open(sub / f"f{i:04d}.exr", "wb").close()
        marker.touch()
    argv = [sys.executable, "-c", _SCAN_CHILD, str(root), f"shots/{SHOT_ID}/outputs/v0001", str(entries)]
    peak_mb = int(subprocess.run(argv, capture_output=True, text=True, check=True).stdout) / bh.MB
    case = bh.Case(f"scan: {entries:,} entries", 0, entries)
    case.peak_rss_mb = peak_mb
    bh.check([bh.guard_peak_rss(case, bench_guards.SCAN_1M_PEAK_RSS_MB)])
