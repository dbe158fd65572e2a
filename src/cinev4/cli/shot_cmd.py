"""``cinev4 shot ...``: create shots and move them through their life."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from cinev4.cli._common import command_options, emit_result, human_bytes, load, progress_for, shot_argument


@click.group("shot")
def shot_group() -> None:
    """Create shots and move them through IN_PROGRESS -> QC -> DONE (or FAIL).

    A refused transition exits 2 with every reason.

    \b
    Examples:
      cinev4 shot new SH010
      cinev4 shot qc SH010
      cinev4 shot done SH010
      cinev4 shot fail SH010 --reason "render crashed on frame 1042"
    """


def _report(shot: Any, message: str, as_json: bool) -> None:
    if as_json:
        emit_result({"shot": shot.data})
    else:
        click.echo(message)


frames_option = click.option(
    "--frames",
    "frame_range",
    metavar="FIRST-LAST",
    default=None,
    help="The frame range the shot's image sequences must cover, e.g. 1001-1240; the DONE gate "
    "and verify report missing frames as ranges.",
)


@shot_group.command("new")
@click.argument("shot_id", metavar="SHOT")
@frames_option
@command_options()
def shot_new(shot_id: str, frame_range: str | None, project_dir: Path | None, as_json: bool) -> None:
    """Create SHOT (IN_PROGRESS, v0001) and its outputs folder.

    SHOT must be a safe folder name (letters, digits, '_', '-', '.').

    \b
    Examples:
      cinev4 shot new SH010   # then render into shots/SH010/outputs/v0001/
      cinev4 shot new SH020 --frames 1001-1240
    """
    from cinev4.pipeline.frames import parse_frame_range
    from cinev4.pipeline.shots import create_shot

    frames = parse_frame_range(frame_range) if frame_range is not None else None
    shot = create_shot(load(project_dir), shot_id, frames)
    expected = f", frames {frames}" if frames is not None else ""
    _report(shot, f"created shot {shot.id} ({shot.status}, {shot.version}{expected}): render into {shot.outputs_dir}/",
            as_json)


@shot_group.command("frames")
@shot_argument
@click.argument("frame_range", metavar="FIRST-LAST", required=False)
@click.option("--clear", is_flag=True, help="Drop the shot's expected frame range.")
@command_options()
def shot_frames(shot_id: str, frame_range: str | None, clear: bool, project_dir: Path | None, as_json: bool) -> None:
    """Declare the frame range SHOT must render (while IN_PROGRESS or QC).

    \b
    Examples:
      cinev4 shot frames SH010 1001-1240
      cinev4 shot frames SH010 --clear
    """
    from cinev4.pipeline.frames import parse_frame_range
    from cinev4.pipeline.shots import set_frames

    if clear == (frame_range is not None):
        raise click.UsageError("give a frame range FIRST-LAST, or --clear (one of them)")
    shot = set_frames(load(project_dir), shot_id, None if clear else parse_frame_range(frame_range or ""))
    _report(shot, f"{shot.id}: frames {shot.frames}" if shot.frames else f"{shot.id}: no frame range", as_json)


@shot_group.command("list")
@command_options()
def shot_list(project_dir: Path | None, as_json: bool) -> None:
    """List the shots with their state and version.

    \b
    Example:
      cinev4 shot list --json
    """
    from cinev4.pipeline.shots import list_shots

    shots = list_shots(load(project_dir))
    if as_json:
        emit_result({"shots": [{"shot_id": s.id, "status": s.status.value, "version": s.version,
                                          "manifest_ref": s.manifest_ref} for s in shots]})
        return
    for shot in shots:
        click.echo(f"{shot.id}\t{shot.status}\t{shot.version}")


@shot_group.command("show")
@shot_argument
@command_options()
def shot_show(shot_id: str, project_dir: Path | None, as_json: bool) -> None:
    """Show SHOT's record: state, version, manifest, artifacts and history.

    \b
    Example:
      cinev4 shot show SH010 --json
    """
    from cinev4.pipeline.shots import load_shot

    shot = load_shot(load(project_dir), shot_id)
    if as_json:
        emit_result({"shot": shot.data})
        return
    click.echo(f"shot {shot.id}: {shot.status}, version {shot.version}")
    if shot.frames is not None:
        click.echo(f"frames: {shot.frames} ({len(shot.frames)} frames expected)")
    if "fail_reason" in shot.data:
        click.echo(f"fail reason: {shot.data['fail_reason']}")
    if shot.manifest_ref:
        click.echo(f"manifest: {shot.manifest_ref['path']} (sha256 {shot.manifest_ref['sha256']})")
        click.echo(f"artifacts: {len(shot.artifacts)}, {human_bytes(sum(a['size'] for a in shot.artifacts))}")
        from cinev4.pipeline.frames import collapsed_summary

        click.echo(f"  {collapsed_summary((a['path'] for a in shot.artifacts), strip=shot.outputs_dir + '/', limit=20)}")
    else:
        click.echo("manifest: none yet")
    click.echo("history:")
    for entry in shot.history:
        click.echo(f"  {entry['utc']}  {entry['from'] or '-':<11} -> {entry['to']:<11} {entry['version']}  {entry['reason']}")


@shot_group.command("qc")
@shot_argument
@click.option("--reason", default="outputs ready for review", show_default=True, help="Recorded in the history.")
@command_options()
def shot_qc(shot_id: str, reason: str, project_dir: Path | None, as_json: bool) -> None:
    """IN_PROGRESS -> QC: the outputs are ready for review, then says what DONE
    will still need.

    DONE (cinev4 shot done) needs, in the version folder: a qc.json holding a
    JSON object (the review's result), a preview (preview.*), every frame of
    the declared range and, by default, a manifest of the version that
    verifies. In a strict project the manifest is written once, so write
    qc.json and the preview before cinev4 manifest SHOT (cinev4 manifest
    refuses to seal a folder that lacks them).

    \b
    Example:
      cinev4 shot qc SH010
      cinev4 manifest SH010
      cinev4 shot done SH010
    """
    from cinev4.pipeline.gates import done_needs
    from cinev4.pipeline.shots import mark_qc

    project = load(project_dir)
    shot = mark_qc(project, shot_id, reason)
    needs = done_needs(project, shot)
    if shot.manifest_ref is None and project.policy.done_requires_manifest:
        following = f"cinev4 manifest {shot.id}" if len(needs) == 1 else f"cinev4 manifest {shot.id} (once all is there)"
    else:
        following = f"cinev4 shot done {shot.id}"
    if as_json:
        emit_result({"shot": shot.data, "done_needs": needs, "next": following})
        return
    click.echo(f"{shot.id}: QC ({shot.version})")
    for need in needs:
        click.echo(f"  missing for DONE: {need}")
    click.echo(f"next: {following}")


@shot_group.command("done")
@shot_argument
@click.option("--reason", default="QC passed", show_default=True, help="Recorded in the history.")
@command_options(threads=True, progress=True)
def shot_done(shot_id: str, reason: str, project_dir: Path | None, threads: int | None, show_progress: bool,
              as_json: bool) -> None:
    """QC -> DONE, through the gate: a qc.json holding a JSON object, a preview
    (preview.*) and every frame of the declared range among the outputs and,
    when the policy requires it, a manifest of the current version that
    verifies (every artifact is hashed, no file added). A refused gate lists
    every reason and the way forward.

    \b
    Example:
      cinev4 shot done SH010
    """
    from cinev4.pipeline.gates import mark_done

    shot = mark_done(load(project_dir), shot_id, threads=threads, reason=reason,
                     progress=progress_for("verifying", as_json, show_progress))
    _report(shot, f"{shot.id}: DONE ({shot.version})", as_json)


@shot_group.command("fail")
@shot_argument
@click.option("--reason", required=True, help="Why the shot failed (kept in the record).")
@command_options()
def shot_fail(shot_id: str, reason: str, project_dir: Path | None, as_json: bool) -> None:
    """Mark a production failure: any non-terminal state -> FAIL.

    FAIL is terminal under the strict policy.

    \b
    Example:
      cinev4 shot fail SH010 --reason "missing plate for frames 1001-1010"
    """
    from cinev4.pipeline.shots import mark_fail

    shot = mark_fail(load(project_dir), shot_id, reason)
    _report(shot, f"{shot.id}: FAIL ({reason})", as_json)


@shot_group.command("reopen")
@shot_argument
@click.option("--reason", default="reopened", show_default=True, help="Recorded in the history.")
@command_options()
def shot_reopen(shot_id: str, reason: str, project_dir: Path | None, as_json: bool) -> None:
    """Back to IN_PROGRESS: from QC (rework) always; from DONE or FAIL only
    when the project is non-strict (immutable_outputs: false).

    \b
    Example:
      cinev4 shot reopen SH010 --reason "notes from review"
    """
    from cinev4.pipeline.shots import reopen

    shot = reopen(load(project_dir), shot_id, reason)
    _report(shot, f"{shot.id}: IN_PROGRESS ({shot.version})", as_json)


@shot_group.command("new-version")
@shot_argument
@command_options()
def shot_new_version(shot_id: str, project_dir: Path | None, as_json: bool) -> None:
    """Start SHOT's next version folder (non-strict projects only; the shot must
    be IN_PROGRESS). Earlier versions and their manifests stay as they are.

    \b
    Example:
      cinev4 shot reopen SH010 && cinev4 shot new-version SH010
    """
    from cinev4.pipeline.shots import new_version

    shot = new_version(load(project_dir), shot_id)
    _report(shot, f"{shot.id}: new version {shot.version}: render into {shot.outputs_dir}/", as_json)
