"""``cinev4 manifest SHOT``: hash the shot's current version and write its manifest once."""
from __future__ import annotations

from pathlib import Path

import click

from cinev4.cli._common import command_options, emit_result, human_bytes, load, progress_for, shot_argument, warn
from cinev4.cli._distributed import hash_backend


@click.command("manifest")
@shot_argument
@command_options(threads=True, distributed=True, progress=True)
def manifest_command(shot_id: str, project_dir: Path | None, threads: int | None, scheduler: str | None,
                     local_cluster: int | None, show_progress: bool, as_json: bool) -> None:
    """Hash every file of SHOT's current version folder and write its manifest.

    The manifest (shots/SHOT/manifests/VERSION/manifest.json) is canonical
    JSON, written atomically, read-only, and only once: if it exists, this
    exits 2. Its SHA-256 is then pinned in the shot record. Set
    SOURCE_DATE_EPOCH for a reproducible created_utc. Made for farm
    post-render hooks: no prompt, one line of output, a meaningful exit code.
    Paths are written NFC-normalised; names that clash by case only or that
    Windows cannot create are written but warned about on stderr.

    \b
    Examples:
      cinev4 manifest SH010
      cinev4 manifest SH010 --project /mnt/projects/film01 --threads 8 --json
      cinev4 manifest SH010 --scheduler tcp://farm-head:8786   # a very large version folder
    """
    from cinev4.pipeline.manifests import build_manifest

    project = load(project_dir)
    with hash_backend(scheduler, local_cluster) as backend:
        result = build_manifest(project, shot_id, threads=threads, backend=backend,
                                progress=progress_for("hashing", as_json, show_progress))
    from cinev4.contracts import layout
    from cinev4.pipeline.frames import collapsed_summary

    warn(result.warnings)
    if as_json:
        emit_result(result.to_dict())
        return
    how = "adopted (left complete by an interrupted run, verified)" if result.adopted else "written"
    folder = layout.version_outputs_prefix(result.shot_id, result.version)
    contents = collapsed_summary(result.artifact_paths, strip=folder)
    click.echo(f"{result.shot_id} {result.version}: manifest {how}, {result.artifact_count} artifacts "
               f"({contents}), {human_bytes(result.total_bytes)}, sha256 {result.manifest_sha256} "
               f"({result.manifest_path})")
