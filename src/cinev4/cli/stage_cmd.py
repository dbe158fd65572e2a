"""``cinev4 stage SHOT PATH...``: a render task's post-task hook hashes the files it just wrote."""
from __future__ import annotations

from pathlib import Path

import click

from cinev4.cli._common import CommandError, command_options, emit_result, human_bytes, load, shot_argument


def _listed_paths(files_from: str) -> list[str]:
    """One path per line of ``files_from`` ('-': standard input); blank lines skipped."""
    stream = click.open_file(files_from, "r", encoding="utf-8", errors="surrogateescape")
    with stream:
        return [line.rstrip("\r\n") for line in stream if line.strip()]


@click.command("stage")
@shot_argument
@click.argument("paths", metavar="PATH...", nargs=-1)
@click.option("--files-from", "files_from", metavar="FILE",
              help="Also stage the files listed in FILE, one path per line ('-': standard input).")
@command_options(threads=True)
def stage_command(shot_id: str, paths: tuple[str, ...], files_from: str | None, project_dir: Path | None,
                  threads: int | None, as_json: bool) -> None:
    """Hash files a render task just wrote into SHOT's current version and stage their digests.

    Made for a farm post-task hook: the frames are still in this node's page
    cache, so hashing them here costs no storage traffic, and the later
    'cinev4 manifest SHOT' takes their digests instead of reading them again,
    for every file still exactly as staged (size, device, inode, mtime, ctime).
    Each call writes one new record under shots/SHOT/staging/VERSION/ (no lock:
    hundreds of tasks may stage at once), keyed with the project's stage key.

    The files must be regular files (no symlink) inside the version's outputs
    folder; the shot must be IN_PROGRESS or QC, its version not yet sealed by
    a manifest. Exit 0: all staged; 1: some file could not be read or changed
    while it was hashed (the others are staged; the manifest hashes those);
    2: refused (sealed version, path outside the outputs, bad usage).

    \b
    Examples:
      cinev4 stage SH010 shots/SH010/outputs/v0001/sh010.1001.exr
      cinev4 stage SH010 --files-from written.txt --json
      find "$OUT" -newer "$START" -type f | cinev4 stage SH010 --files-from -
    """
    from cinev4.errors import HashingFailed
    from cinev4.pipeline.staging import stage

    chosen = list(paths) + (_listed_paths(files_from) if files_from is not None else [])
    if not chosen:
        raise click.UsageError("name the files to stage (PATH... or --files-from FILE)")
    project = load(project_dir)
    result = stage(project, shot_id, chosen, threads=threads)
    failed = None if result.ok else HashingFailed([*result.failures, f"{len(result.failures)} file(s) not staged"])
    if as_json:
        emit_result(result.to_dict(), 0 if failed is None else failed.exit_code)
    elif result.record_path is not None:
        count = len(result.files)
        click.echo(f"{result.shot_id} {result.version}: staged {count} file{'' if count == 1 else 's'} "
                   f"({human_bytes(result.total_bytes)}) in {result.record_path}")
    if failed is not None:
        raise CommandError(failed)  # a ClickException: the boundary adds no second --json document
