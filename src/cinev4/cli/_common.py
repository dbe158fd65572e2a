"""What every pipeline command shares: options, the error boundary, output.

The boundary turns cinev4's exceptions into ``click.ClickException``s with
stable exit codes (docs/CONTRACT.md "Exit codes"): 1 when bytes or the release gate fail,
2 for usage and contract errors (invalid documents, unsafe paths, refused
transitions, write-once refusals). Each error is one line on stderr, never a
traceback; with ``--json`` a machine-readable object also goes to stdout.
"""
from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import IO, Any, TypeVar

import click

from cinev4.cli._distributed import distributed_options
from cinev4.errors import CinevError, as_cinev_error, error_lines

# Re-exported for the commands: the progress display and the one size format
# (cinev4.sizes.format_size, amounts of data: ``1.2 GiB``).
from cinev4.progress import BarProgress as BarProgress
from cinev4.progress import progress_for as progress_for
from cinev4.settings import ENGINE_OPTIONS, THREADS_RANGE
from cinev4.sizes import format_size, parse_size
from cinev4.sizes import format_size as human_bytes

F = TypeVar("F", bound=Callable[..., Any])


class CommandError(click.ClickException):
    """A cinev4 error leaving a command: its lines for stderr, and the exit code
    of its class, read where click reads ``ClickException.exit_code``."""

    def __init__(self, error: CinevError) -> None:
        self.error = error
        self.lines = error_lines(error)
        super().__init__(self.lines[0])

    @property
    def exit_code(self) -> int:  # type: ignore[override]  # click's class attribute, here the error's
        return type(self.error).exit_code

    def show(self, file: IO[Any] | None = None) -> None:
        stream = file if file is not None else sys.stderr
        for line in self.lines:
            click.echo(f"cinev4: error: {line}", file=stream)


def boundary(func: F) -> F:
    """Run a command body, translating cinev4 and OS errors into CommandError
    (with ``--json``, also an ``errors`` document, unless the error carries
    the report the command printed already)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except click.ClickException:
            raise
        except (CinevError, OSError) as exc:
            error = CommandError(as_cinev_error(exc))
            if kwargs.get("as_json") and not getattr(exc, "report", None):
                try:
                    emit_result({"errors": error.lines}, error.exit_code)
                except OSError:
                    pass  # stdout is what failed (a full disk, a closed pipe): stderr still says why
            raise error from None

    return wrapper  # type: ignore[return-value]


project_option = click.option(
    "--project",
    "project_dir",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="CINEV4_PROJECT",
    default=None,
    help="Project root (the folder holding project.json). Default: found by walking up "
    "from the current folder, as git does. Env: CINEV4_PROJECT.",
)
json_option = click.option("--json", "as_json", is_flag=True, help="Print a machine-readable JSON report on stdout.")
threads_option = click.option(
    "--threads",
    type=click.IntRange(*THREADS_RANGE),
    default=None,
    metavar=ENGINE_OPTIONS["threads"][0],
    help=f"{ENGINE_OPTIONS['threads'][1][:1].upper()}{ENGINE_OPTIONS['threads'][1][1:]}. Env: CINEV4_THREADS.",
)


class SizeParam(click.ParamType):  # type: ignore[type-arg]  # generic only in click >= 8.2
    """A size option (``512M``, ``2G``, ``64K``, bytes), read by cinev4.sizes.parse_size."""

    name = "SIZE"

    def __init__(self, minimum: int = 0) -> None:
        self.minimum = minimum

    def convert(self, value: object, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int):
            return value
        try:
            size = parse_size(str(value))
        except ValueError as exc:
            self.fail(str(exc), param, ctx)
        if size < self.minimum:
            self.fail(f"{value!r} is less than {format_size(self.minimum, 'exact')}", param, ctx)
        return size


def complete_shot_ids(ctx: click.Context, _param: click.Parameter, incomplete: str) -> list[Any]:
    """Shell completion of SHOT arguments: the shot folders of the project (--project,
    CINEV4_PROJECT, or found from here) that hold a shot.json. Never fails: a
    completion that cannot read the project offers nothing."""
    import os

    from click.shell_completion import CompletionItem

    try:
        from cinev4.contracts import layout
        from cinev4.pipeline.project import find_project_root

        given = ctx.params.get("project_dir") or os.environ.get("CINEV4_PROJECT")
        root = Path(given) if given else find_project_root()
        shots = root / layout.SHOTS_DIR
        # A hidden name is no shot id (a shot being made, or left by a killed `shot new`).
        names = sorted(entry.name for entry in os.scandir(shots)
                       if entry.name.startswith(incomplete) and not entry.name.startswith(".")
                       and (shots / entry.name / layout.SHOT_FILE).is_file())
    except (OSError, Exception):  # noqa: BLE001 - completion must never print a traceback into the shell
        return []
    return [CompletionItem(name) for name in names]


def load(project_dir: Path | None) -> Any:
    """The project at --project, or found by walking up from here."""
    from cinev4.pipeline.project import load_project

    return load_project(project_dir)


progress_option = click.option(
    "--progress",
    "show_progress",
    is_flag=True,
    help="Progress on stderr even off a terminal or with --json: one plain line every 10 s "
    "(CINEV4_PROGRESS_INTERVAL) for logs. Env: CINEV4_PROGRESS=1 (0 turns it off everywhere).",
)


shot_argument = click.argument("shot_id", metavar="SHOT", shell_complete=complete_shot_ids)


def command_options(*, threads: bool = False, distributed: bool = False, progress: bool = False) -> Callable[[F], F]:
    """The options pipeline commands share, around the error boundary, in the order --help
    lists them: --project, [--threads], [--scheduler/--local-cluster], [--progress], --json.
    A command names the ones it takes instead of stacking the decorators again."""

    def apply(func: F) -> F:
        func = json_option(boundary(func))
        if progress:
            func = progress_option(func)
        if distributed:
            func = distributed_options(func)
        if threads:
            func = threads_option(func)
        return project_option(func)

    return apply


def envelope(fields: Mapping[str, Any], exit_code: int = 0) -> dict[str, Any]:
    """Every ``--json`` document's shape: an object with ``ok`` (exit code 0) and
    ``exit_code``, plus the command's own fields."""
    return {**fields, "ok": exit_code == 0, "exit_code": exit_code}


_emitted: list[bool] = []  # whether this process printed its JSON document (one per run)


def emit_json(document: Any) -> None:
    _emitted.append(True)
    text = json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        # A name that is not UTF-8 (held as lone surrogates) would go out as its raw bytes,
        # and the document would not be UTF-8: written with \u escapes instead.
        text = json.dumps(document, indent=2, sort_keys=True, ensure_ascii=True)
    click.echo(text)


def json_was_emitted() -> bool:
    """Whether a ``--json`` document went to stdout already (then an error adds none)."""
    return bool(_emitted)


def emit_result(fields: Mapping[str, Any], exit_code: int = 0) -> None:
    """Print a command's ``--json`` report in the common envelope."""
    emit_json(envelope(fields, exit_code))


def warn(lines: Any) -> None:
    """Warnings on stderr, one line each (the command still succeeds)."""
    for line in lines:
        click.echo(f"cinev4: warning: {' '.join(str(line).split())}", err=True)
