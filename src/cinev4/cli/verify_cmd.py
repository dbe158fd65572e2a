"""``cinev4 verify``: check files on disk against their manifests."""
from __future__ import annotations

from pathlib import Path

import click

from cinev4.cli._common import command_options, complete_shot_ids, emit_result, load, progress_for, warn
from cinev4.cli._distributed import hash_backend
from cinev4.errors import VerificationFailed


@click.command("verify")
@click.argument("shot_ids", nargs=-1, metavar="[SHOT]...", shell_complete=complete_shot_ids)
@click.option("--all", "all_shots", is_flag=True,
              help="Every shot that has a manifest, except FAIL shots (listed as skipped).")
@click.option("--include-failed", is_flag=True, help="With --all: verify FAIL shots too.")
@click.option(
    "--manifest",
    "manifest_files",
    multiple=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="A manifest file, e.g. a delivered copy; its root is read from the layout "
    "(ROOT/shots/SHOT/manifests/VERSION/manifest.json). Give it as often as needed: all are "
    "verified. CINEV4_PROJECT does not apply; --project, if given, must be that root.",
)
@click.option(
    "--release",
    "release_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="A release record, e.g. DEST/releases/R1/release.json of a delivery: every manifest it "
    "names is verified from the record's own root, against the record's pins (no project.json needed).",
)
@click.option("--sizes-only", is_flag=True, help="Check presence and sizes only (fast); NO hash is checked.")
@click.option(
    "--resume",
    is_flag=True,
    help="Keep a journal in ROOT/.cinev4/ so that a run stopped midway (Ctrl-C, SIGTERM, kill) "
    "continues where it stopped: files whose stat did not change are not hashed again. "
    "A damaged journal is discarded with a warning; a completed run deletes it.",
)
@command_options(threads=True, distributed=True, progress=True)
def verify_command(
    shot_ids: tuple[str, ...],
    all_shots: bool,
    include_failed: bool,
    manifest_files: tuple[Path, ...],
    release_file: Path | None,
    sizes_only: bool,
    resume: bool,
    project_dir: Path | None,
    threads: int | None,
    scheduler: str | None,
    local_cluster: int | None,
    show_progress: bool,
    as_json: bool,
) -> None:
    """Verify manifests: their own bytes against the shot record's pin, their
    schema and paths, then the size and SHA-256 of every artifact, and files
    in the version folder that the manifest does not list.

    Every problem is reported, not only the first. Exit 0: all verified;
    1: something differs (missing, size, hash, unreadable, extra, manifest
    edited); 2: a document breaks the contract (invalid JSON or schema,
    unsafe path) or bad usage.

    \b
    Examples:
      cinev4 verify SH010 SH020
      cinev4 verify --all --json > report.json
      cinev4 verify --all --sizes-only
      cinev4 verify --all --include-failed
      cinev4 verify --release /mnt/delivery/releases/R1/release.json
      cinev4 verify --manifest /mnt/delivery/shots/SH010/manifests/v0001/manifest.json
      cinev4 verify --all --scheduler tcp://farm-head:8786
      cinev4 verify --all --resume     # run it again after an interrupt: it continues
    """
    from cinev4.pipeline.report import report_lines
    from cinev4.pipeline.verify import verify_manifest_files, verify_shots

    chosen = sum(bool(x) for x in (shot_ids, all_shots, manifest_files, release_file))
    if chosen != 1:
        raise click.UsageError("name shots, or give --all, --manifest PATH or --release PATH (exactly one of them)")
    if include_failed and not all_shots:
        raise click.UsageError("--include-failed goes with --all (named shots are verified whatever their state)")
    progress = progress_for("verifying", as_json, show_progress)
    if release_file is not None:
        if scheduler or local_cluster:
            raise click.UsageError("--release verifies on this machine (--scheduler/--local-cluster go with shots)")
        from cinev4.pipeline.releases import verify_release_file

        report = verify_release_file(release_file, threads=threads, progress=progress, sizes_only=sizes_only,
                                     resume=resume)
    else:
        with hash_backend(scheduler, local_cluster) as backend:
            if manifest_files:
                # An explicit path wins: CINEV4_PROJECT never redirects --manifest (only an explicit
                # --project may name its root, and then must agree with it).
                source = click.get_current_context().get_parameter_source("project_dir")
                explicit_root = project_dir if source is click.core.ParameterSource.COMMANDLINE else None
                report = verify_manifest_files(list(manifest_files), project_root=explicit_root, threads=threads,
                                               progress=progress, sizes_only=sizes_only, backend=backend,
                                               resume=resume)
            else:
                project = load(project_dir)
                report = verify_shots(project, list(shot_ids) if shot_ids else None, threads=threads,
                                      progress=progress, sizes_only=sizes_only, backend=backend, resume=resume,
                                      include_failed=include_failed)
    if report.resume is not None:
        warn(report.resume["warnings"])
    if as_json:
        emit_result(report.to_dict(), report.exit_code)
    else:
        click.echo("\n".join(report_lines(report)))
        if report.resume is not None:
            click.echo(f"resume: {report.resume['reused_files']} file(s) taken from {report.resume['journal']}, "
                       f"{report.resume['hashed_files']} hashed now")
    if not report.ok:
        # Carries the report it printed: the boundary adds no second --json document.
        raise VerificationFailed(f"verification failed: {report.failure()}", report)
