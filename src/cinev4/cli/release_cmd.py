"""``cinev4 release ...``: the release gate, and publishing."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import click

from cinev4.cli._common import command_options, complete_shot_ids, emit_result, human_bytes, load, progress_for
from cinev4.errors import VerificationFailed

if TYPE_CHECKING:
    from cinev4.pipeline.report import VerifyReport


@click.group("release")
def release_group() -> None:
    """The release gate and publishing.

    The gate passes when every shot is DONE, its manifest is valid and equal
    (by SHA-256) to the one pinned in its record, and every artifact verifies.
    A failed gate changes nothing and exits 1, listing every problem.

    \b
    Examples:
      cinev4 release check SH010 SH020
      cinev4 release publish R2024_05 SH010 SH020 --to /mnt/delivery/r2024_05
    """


def _gate_failed(report: VerifyReport, as_json: bool, message: str,
                 payload: dict[str, Any] | None = None) -> VerificationFailed:
    """The report printed, and the error to raise: it carries the report, so the
    boundary adds no second --json document."""
    from cinev4.pipeline.report import report_lines

    if as_json:
        emit_result(payload if payload is not None else report.to_dict(), report.exit_code)
    else:
        click.echo("\n".join(report_lines(report)))
    return VerificationFailed(message, report)


@release_group.command("check")
@click.argument("shot_ids", nargs=-1, metavar="[SHOT]...", shell_complete=complete_shot_ids)
@click.option("--all", "all_done", is_flag=True, help="Every DONE shot of the project.")
@command_options(threads=True, progress=True)
def release_check(shot_ids: tuple[str, ...], all_done: bool, project_dir: Path | None, threads: int | None, show_progress: bool,
                  as_json: bool) -> None:
    """Run the release gate on the SHOTs alone, or on every DONE shot with --all
    (writes nothing).

    \b
    Examples:
      cinev4 release check SH010 SH020 --json
      cinev4 release check --all
    """
    from cinev4.pipeline.gates import check_release, done_shot_ids
    from cinev4.pipeline.report import report_lines

    if bool(shot_ids) == all_done:
        raise click.UsageError("name shots, or give --all (every DONE shot), one of them")
    project = load(project_dir)
    gate = check_release(project, done_shot_ids(project) if all_done else list(shot_ids), threads=threads,
                         progress=progress_for("verifying", as_json, show_progress))
    if not gate.ok:
        raise _gate_failed(gate.report, as_json, f"release gate failed: {gate.report.failure()}", gate.to_dict())
    if as_json:
        emit_result(gate.to_dict())
    else:
        click.echo("\n".join(report_lines(gate.report)))
        click.echo("release gate: passed")


def _a_number(param: click.Parameter, value: float) -> float:
    # FloatRange lets NaN through (every comparison with it is false): it waited forever.
    if value != value:
        raise click.BadParameter("nan is not a number of seconds", param=param)
    return value


@release_group.command("publish")
@click.argument("release_id", metavar="RELEASE")
@click.argument("shot_ids", nargs=-1, required=True, metavar="SHOT...", shell_complete=complete_shot_ids)
@click.option(
    "--to",
    "destination",
    type=click.Path(file_okay=False, path_type=Path),
    help="Also copy the manifests and artifacts to DEST under the same relative paths, "
    "verify the copy from DEST's storage, and write the release record there too. DEST must "
    "be outside the project; files already there are kept when identical, never overwritten.",
)
@click.option(
    "--wait",
    "wait_s",
    type=click.FloatRange(0, 86400),
    callback=lambda _ctx, param, value: _a_number(param, value),
    default=30.0,
    show_default=True,
    metavar="SECONDS",
    help="How long to wait for a shot that another cinev4 process is writing.",
)
@command_options(threads=True, progress=True)
def release_publish(
    release_id: str,
    shot_ids: tuple[str, ...],
    destination: Path | None,
    wait_s: float,
    project_dir: Path | None,
    threads: int | None,
    show_progress: bool,
    as_json: bool,
) -> None:
    """Pass the gate, then write releases/RELEASE/release.json once.

    With --to DEST the files are copied first and the copy is verified (read
    back from DEST's storage) before any record is written: DEST's record
    first, then the project's. Nothing is written when the gate fails; a file
    in DEST that differs is a conflict (exit 1) and is never overwritten. If a
    publish stops midway (crash, kill, full disk), run the same command again:
    it keeps what was copied and completes the release.

    \b
    Examples:
      cinev4 release publish R1 SH010 SH020
      cinev4 release publish R1 SH010 --to /mnt/delivery/r1 --json
    """
    from cinev4.pipeline.releases import publish_release

    try:
        result = publish_release(load(project_dir), release_id, list(shot_ids), destination=destination,
                                 threads=threads, progress=progress_for("verifying", as_json, show_progress),
                                 wait_s=wait_s, copy_progress=progress_for("copying", as_json, show_progress))
    except VerificationFailed as exc:
        report = cast("VerifyReport", getattr(exc.report, "report", exc.report))  # a GateReport wraps its VerifyReport
        raise _gate_failed(report, as_json, str(exc)) from None
    if as_json:
        emit_result(result.to_dict())
        return
    totals = result.record["totals"]
    click.echo(f"release {release_id} published: {totals['shots']} shot(s), {totals['artifacts']} artifacts, "
               f"{human_bytes(totals['bytes'])} verified; record {result.record_path}")
    if result.destination is not None:
        for note in result.notes:
            click.echo(f"note: {note}")
        if result.removed_temps:
            click.echo(f"removed {len(result.removed_temps)} temporary file(s) an interrupted publish left in "
                       f"{result.destination}")
        kept = f", {result.kept_files} already there and identical (kept)" if result.kept_files else ""
        click.echo(f"copied {result.copied_files} files to {result.destination}{kept}; "
                   "the copy verified from the destination's storage")
