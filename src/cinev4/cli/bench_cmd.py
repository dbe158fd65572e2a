"""``cinev4 bench``: find the fastest engine settings on this machine."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from cinev4.cli._common import SizeParam, boundary, emit_result, json_option
from cinev4.errors import HashingFailed
from cinev4.sizes import format_size

if TYPE_CHECKING:
    from cinev4.cli.tuning import BenchReport, ColdReport


@click.command("bench")
@click.option("--size", type=SizeParam(minimum=1), default="512M", show_default=True,
              help="Test data to write and hash, in all (K, M, G suffixes).")
@click.option("--rounds", type=click.IntRange(1, 100), default=3, show_default=True,
              help="Time each setting this many times, interleaved; keep the best (with --cold: the median).")
@click.option("--dir", "directory", type=click.Path(file_okay=False, exists=True, path_type=Path), default=None,
              help="Where to write the test data (default: the system temporary folder).")
@click.option("--cold", is_flag=True,
              help="Storage-bound instead: evict the data before every command and time parallel "
                   "readers beside cinev4 at several thread counts and queue depths.")
@json_option
@boundary
def bench_command(size: int, rounds: int, directory: Path | None, cold: bool, as_json: bool) -> None:
    """Measure the SHA-256 kernels, the I/O modes (mmap, read) at window sizes
    of 1, 4, 8 and 32 MiB, and thread counts on this machine, on data written to
    a temporary folder and read from the page cache; print MB/s and files/s for
    each and the best settings as environment variables to export.

    With --cold the data is evicted from the page cache (posix_fadvise, no root
    needed) before every command, the storage's own speed is timed with one
    parallel reader per CPU, and cinev4 at 1 and 2 threads per CPU and queue
    depths 0-8 beside it, with the multi-buffer lanes and without them
    (medians); it recommends CINEV4_THREADS, CINEV4_QUEUE_DEPTH and
    CINEV4_KERNEL for that storage (put --dir on it: a NAS wants more reads in
    flight than an NVMe disk).

    \b
    Examples:
      cinev4 bench
      cinev4 bench --size 2G --dir /mnt/renders/tmp
      cinev4 bench --cold --size 2G --dir /mnt/nas/scratch
      cinev4 bench --json > bench.json
    """
    from cinev4.cli.tuning import run_bench, run_cold_bench

    def say(text: str) -> None:
        if not as_json and sys.stderr.isatty():
            click.echo(f"cinev4 bench: {text}...", err=True)

    try:
        if cold:
            cold_report = run_cold_bench(size, rounds=rounds, directory=directory, say=say)
        else:
            report = run_bench(size, rounds=rounds, directory=directory, say=say)
    except AssertionError as exc:  # settings disagreeing on a digest: an engine bug, never a tuning result
        raise HashingFailed(str(exc)) from None
    if as_json:
        emit_result((cold_report if cold else report).to_dict())
    elif cold:
        _print_cold(cold_report)
    else:
        _print(report)


def _print(report: BenchReport) -> None:
    engine = report.engine
    click.echo(
        f"cinev4 bench: {format_size(report.size, 'exact')} of data, page cache warm, best of {report.rounds} "
        f"interleaved rounds; MB = 10^6 bytes"
    )
    click.echo(
        f"engine defaults: kernel {engine['kernel']}, io {engine['io_mode']}, "
        f"window {format_size(engine['window_bytes'], 'exact')}, threads {engine['threads']}; "
        f"cpu features: {' '.join(engine['cpu_features']) or 'none'}"
    )
    titles = {
        "kernel (memory)": "kernels, one stream in memory",
        "kernel": "kernels in hash_files (auto: the engine's choice)",
        "io": "I/O mode and window",
        "threads": "threads",
    }
    stage = None
    for m in report.measurements:
        if m.stage != stage:
            stage = m.stage
            click.echo("")
            click.echo(f"{titles.get(stage, stage)}:")
        rate = f"{m.files_per_s:10.0f} files/s" if m.files > 1 else ""
        click.echo(f"  {m.label:<16} {m.data:<34} {m.mb_per_s:8.0f} MB/s {rate}")
    _print_advice(report, "on this machine")


def _print_cold(report: ColdReport) -> None:
    click.echo(f"cinev4 bench --cold: {format_size(report.size, 'exact')} of data evicted before every command, "
               f"median of {report.rounds} interleaved rounds; MB = 10^6 bytes")
    click.echo(f"storage: {report.readers} parallel readers {report.storage_mb_per_s:8.0f} MB/s")
    for m in report.measurements:
        click.echo(f"  {m.label:<22} {m.data:<28} {m.mb_per_s:8.0f} MB/s "
                   f"({m.mb_per_s / report.storage_mb_per_s:.2f}x the readers)")
    _print_advice(report, "for this storage")


def _print_advice(report: BenchReport | ColdReport, where: str) -> None:
    """A report's notes, then its best settings as lines to paste into a shell."""
    click.echo("")
    for note in report.notes:
        click.echo(f"note: {note}")
    click.echo(f"best settings {where} (`cinev4 --version` shows those in use):")
    for line in report.env_lines():
        click.echo(line)
