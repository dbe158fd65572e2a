"""``cinev4 init``: create a project (project.json, shots/, releases/)."""
from __future__ import annotations

from pathlib import Path

import click

from cinev4.cli._common import boundary, emit_result, json_option


@click.command("init")
@click.argument("directory", required=False, default=".", type=click.Path(file_okay=False, path_type=Path))
@click.option("--id", "project_id", required=True, help="Project id (a safe folder name, e.g. FILM01).")
@click.option("--name", help="Human-readable project name.")
@click.option(
    "--mutable-outputs",
    is_flag=True,
    help="Non-strict policy: DONE/FAIL shots may be reopened and re-produced as a new version. "
    "Default: strict, immutable outputs: DONE and FAIL are final, a version's manifest is written "
    "once, and a shot that cannot pass is failed and redone under a new shot id.",
)
@json_option
@boundary
def init_command(directory: Path, project_id: str, name: str | None, mutable_outputs: bool, as_json: bool) -> None:
    """Create a cinev4 project in DIRECTORY (default: the current folder).

    Writes project.json once (never over an existing one) with the policy
    hash_alg sha256, relative paths, done_requires_manifest true, and
    immutable_outputs true unless --mutable-outputs.

    \b
    Examples:
      cinev4 init --id FILM01
      cinev4 init /mnt/projects/film01 --id FILM01 --name "Film One"
      cinev4 init sandbox --id TEST --mutable-outputs
    """
    from cinev4.pipeline.project import init_project

    project = init_project(directory, project_id, name=name, mutable_outputs=mutable_outputs)
    if as_json:
        emit_result({"root": str(project.root), "project": project.data})
        return
    mode = "non-strict (mutable outputs)" if mutable_outputs else "strict (immutable outputs)"
    click.echo(f"initialised project {project.id} in {project.root}, policy {mode}")
