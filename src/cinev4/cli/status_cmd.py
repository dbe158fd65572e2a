"""``cinev4 status``: the project at a glance."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from cinev4.cli._common import command_options, emit_result, human_bytes, load, warn


@click.command("status")
@command_options()
def status_command(project_dir: Path | None, as_json: bool) -> None:
    """Show the project: its policy, and each shot's state, version and manifest.

    Reads records only; nothing is hashed (use cinev4 verify for that).
    What the records themselves show to be wrong (a shot folder without
    shot.json, a status not earned in the history, a manifest re-pinned after
    release) is listed under "problems" and warned about on stderr; the
    exit code stays 0 (cinev4 verify --all exits 1 on the same problems).

    \b
    Examples:
      cinev4 status
      cinev4 status --project /mnt/projects/film01 --json
    """
    from cinev4.pipeline.frames import FrameSequence, collapse, collapsed_summary
    from cinev4.pipeline.released import release_pins
    from cinev4.pipeline.shots import list_shots, record_problems, unrecorded_shot_problems

    project = load(project_dir)
    shots = list_shots(project)
    pins = release_pins(project)
    problems = [{"shot_id": shot.id, **problem.to_dict()} for shot in shots for problem in record_problems(shot, pins)]
    problems += [{"shot_id": name, **problem.to_dict()} for name, problem in unrecorded_shot_problems(project)]
    on_disk = {shot.id: _on_disk(project.root, shot.outputs_dir) for shot in shots if shot.manifest_ref is None}
    rows = [
        {
            "shot_id": shot.id,
            "status": shot.status.value,
            "version": shot.version,
            "manifest": shot.manifest_ref["path"] if shot.manifest_ref else None,
            "artifacts": len(shot.artifacts),
            "bytes": sum(a["size"] for a in shot.artifacts),
            "frames": shot.data.get("frames"),
            # Without a manifest: what the version folder holds now (files, bytes), not yet hashed.
            "on_disk": on_disk.get(shot.id),
            "sequences": [e.to_dict() for e in collapse(a["path"] for a in shot.artifacts)
                          if isinstance(e, FrameSequence)],
        }
        for shot in shots
    ]
    counts: dict[str, int] = {}
    for row in rows:
        counts[row["status"]] = counts.get(row["status"], 0) + 1
    if as_json:
        for disk in on_disk.values():
            disk.pop("paths")
        emit_result({"root": str(project.root), "project": project.data, "shots": rows, "counts": counts,
                   "problems": problems})
        return
    policy = "strict (immutable outputs)" if project.policy.strict else "non-strict (mutable outputs)"
    click.echo(f"project {project.id} at {project.root}: {policy}, {len(rows)} shot(s)")
    for row, shot in zip(rows, shots):
        frames = f", frames {shot.frames}" if shot.frames is not None else ""
        if row["manifest"]:
            what = f"manifest pinned, {row['artifacts']} artifacts, {human_bytes(row['bytes'])}"
            contents = collapsed_summary((a["path"] for a in shot.artifacts), strip=shot.outputs_dir + "/", limit=4)
        else:
            disk = row["on_disk"]
            what = f"no manifest, {disk['files']} files on disk, {human_bytes(disk['bytes'])} (not hashed yet)"
            contents = collapsed_summary(disk.pop("paths"), strip=shot.outputs_dir + "/", limit=4)
        click.echo(f"  {row['shot_id']:<16} {row['status']:<11} {row['version']:<6} {what}{frames}"
                   + (f": {contents}" if contents else ""))
    if rows:
        click.echo("  " + ", ".join(f"{n} {s}" for s, n in sorted(counts.items())))
    warn(f"{p['shot_id']}: {p['kind']} {p['path']}: {p['detail']}" for p in problems)


def _on_disk(root: Path, outputs_dir: str) -> dict[str, Any]:
    """The files and bytes a version folder holds now (a stat walk, nothing read)."""
    from cinev4.pipeline.scan import scan_folder

    try:
        files = scan_folder(root, outputs_dir).files
    except OSError:
        files = []
    return {"files": len(files), "bytes": sum(f.size for f in files), "paths": [f.path for f in files]}
