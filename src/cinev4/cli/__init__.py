"""The ``cinev4`` command line: a thin click layer over the Python API.

Sub-commands live in their own modules and are imported only when invoked, so a
post-render hook that runs ``cinev4 hash`` or ``cinev4 --version`` pays for
nothing else (check with ``python -X importtime -m cinev4 --version``).
"""
from __future__ import annotations

import importlib
import sys
from typing import Any

import click

# name -> "module:attribute", resolved on first use.
_LAZY_COMMANDS: dict[str, str] = {
    "hash": "cinev4.cli.hash_cmd:hash_command",
    "init": "cinev4.cli.init_cmd:init_command",
    "status": "cinev4.cli.status_cmd:status_command",
    "shot": "cinev4.cli.shot_cmd:shot_group",
    "manifest": "cinev4.cli.manifest_cmd:manifest_command",
    "stage": "cinev4.cli.stage_cmd:stage_command",
    "verify": "cinev4.cli.verify_cmd:verify_command",
    "release": "cinev4.cli.release_cmd:release_group",
    "bench": "cinev4.cli.bench_cmd:bench_command",
}


class _LazyGroup(click.Group):
    def __init__(self, *args: Any, lazy: dict[str, str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._lazy = dict(lazy)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(self._lazy))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self._lazy:
            module_name, attr = self._lazy[cmd_name].split(":")
            return getattr(importlib.import_module(module_name), attr)
        return super().get_command(ctx, cmd_name)


def _print_version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if not value or ctx.resilient_parsing:
        return
    from cinev4._version import __version__
    from cinev4._fasthash import engine_info
    from cinev4.settings import resolve_kernel
    from cinev4.sizes import format_size

    info = engine_info()
    click.echo(f"cinev4 {__version__}")
    # A lane kernel named in CINEV4_KERNEL always runs: only calibrated lanes give way on cold files.
    cold = "" if resolve_kernel() in info["multibuffer_kernels"] else "; one stream per thread on cold files"
    lanes = (
        f"lanes {info['multibuffer']} (from {info['lane_break_even']} files in flight{cold})"
        if info["multibuffer"]
        else "lanes off"
    )
    click.echo(
        f"engine: kernel {info['kernel']}, {lanes}, io {info['io_mode']}, "
        f"window {format_size(info['window_bytes'], 'exact')}, threads {info['threads']}"
        + (", prefault helper where a core is idle" if info["prefault"] and info["io_mode"] == "mmap" else "")
    )
    # How pipeline commands open artifacts below the project root (never through a symlink).
    click.echo(f"file layer: anchored opening {info['anchor']}")
    click.echo(f"kernels available: {', '.join(info['kernels'] + info['multibuffer_kernels'])}")
    click.echo(f"cpu features: {' '.join(info['cpu_features']) or 'none detected'}")
    ctx.exit(0)


@click.group(cls=_LazyGroup, lazy=_LAZY_COMMANDS, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--version",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_print_version,
    help="Show the version, the SHA-256 kernel and the I/O mode in use, then exit.",
)
def cli() -> None:
    """cinev4: hash, pin and verify render outputs with write-once manifests.

    Exit codes: 0 all good; 1 verification failed; 2 usage or contract error.
    """


# Shell convention for a process stopped by a signal: 128 + its number.
# SIGHUP (the terminal closed, an ssh session dropped) ends a run the same clean way.
EXIT_CODE_FOR_SIGNAL = {"SIGINT": 130, "SIGTERM": 143, "SIGHUP": 129}
_MESSAGE_FOR_SIGNAL = {"SIGINT": "interrupted", "SIGTERM": "terminated", "SIGHUP": "hung up"}


class _Stopped(BaseException):
    """SIGINT, SIGTERM or SIGHUP, raised in the main thread. Not a KeyboardInterrupt,
    so click does not turn it into "Aborted!"; hash_files cancels its workers
    on any exception, and every ``finally`` runs (no partial manifest,
    journals flushed)."""

    def __init__(self, signal_name: str) -> None:
        super().__init__(signal_name)
        self.signal_name = signal_name


def _raise_stopped(signum: int, _frame: object) -> None:
    import signal

    raise _Stopped(signal.Signals(signum).name)


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point.

    Ctrl-C (SIGTERM) stops the native workers (hash_files checks for signals
    while it waits), then exits 130 (143) with one line, so a farm hook can
    tell an interrupt from a failed verification. Every ``CINEV4_*`` variable
    is checked before any command runs; a bad one, or any unexpected
    exception, is one line and exit 2.
    """
    import signal

    from cinev4.settings import environment_problems

    args = sys.argv[1:] if argv is None else list(argv)
    problems = environment_problems()
    if problems:
        _report_failure(problems, 2, args)
        sys.exit(2)
    for name in EXIT_CODE_FOR_SIGNAL:
        # A signal the caller ignores stays ignored: `nohup cinev4 ...` must outlive its
        # terminal, and a shell's background job its Ctrl-C.
        if hasattr(signal, name) and signal.getsignal(getattr(signal, name)) is not signal.SIG_IGN:
            signal.signal(getattr(signal, name), _raise_stopped)
    try:
        code = cli.main(args=argv, prog_name="cinev4", standalone_mode=False)  # type: ignore[func-returns-value]
    except _Stopped as stop:
        code = EXIT_CODE_FOR_SIGNAL[stop.signal_name]
        _report_failure([_MESSAGE_FOR_SIGNAL[stop.signal_name]], code, args, prefix="cinev4: ")
        sys.exit(code)
    except click.exceptions.Abort:  # EOF at a prompt
        click.echo("cinev4: aborted", err=True)
        sys.exit(1)
    except click.ClickException as exc:
        no_args = getattr(click.exceptions, "NoArgsIsHelpError", None)  # click >= 8.2
        if no_args is not None and isinstance(exc, no_args):
            # `cinev4` or `cinev4 shot` alone: the help, as click < 8.2 printed it (exit 0).
            try:
                click.echo(exc.format_message())
            except OSError as write_error:  # the help to a full disk: one line, as any other output
                from cinev4.errors import as_cinev_error, error_lines

                _report_failure(error_lines(as_cinev_error(write_error)), 2, args)
                sys.exit(2)
            sys.exit(0)
        _report_click_error(exc, args)
        sys.exit(exc.exit_code)
    except OSError as exc:  # outside a command's boundary: --version, or its output, to a full disk
        from cinev4.errors import as_cinev_error, error_lines

        _report_failure(error_lines(as_cinev_error(exc)), 2, args)
        sys.exit(2)
    except Exception as exc:  # noqa: BLE001 - the last boundary: a crash must not read as exit 1
        _report_failure([_internal_error_line(exc)], EXIT_INTERNAL_ERROR, args, prefix="cinev4: internal error: ")
        sys.exit(EXIT_INTERNAL_ERROR)
    sys.exit(code if isinstance(code, int) else 0)


def _json_asked(argv: list[str]) -> bool:
    """Whether ``--json`` is among the options (before a ``--``), judged without click: also
    when the command line could not be parsed."""
    return "--json" in (argv[:argv.index("--")] if "--" in argv else argv)


def _report_failure(lines: list[str], exit_code: int, argv: list[str], prefix: str = "cinev4: error: ") -> None:
    """A failure outside the commands' own boundary, each line on stderr; with ``--json``
    also the errors document on stdout (docs/CONTRACT.md: one JSON object whatever the
    outcome), unless the command printed its own already. Output that cannot be written
    (stdout closed or on a full disk) is let go: the exit code still tells."""
    for line in lines:
        try:
            click.echo(f"{prefix}{line}", err=True)
        except OSError:
            pass
    if _json_asked(argv):
        from cinev4.cli._common import emit_result, json_was_emitted

        if not json_was_emitted():
            try:
                emit_result({"errors": lines}, exit_code)
            except OSError:
                pass


def _report_click_error(exc: click.ClickException, argv: list[str]) -> None:
    """Every error in one format, ``cinev4: error: ...`` (click's usage errors too, with a
    one-line pointer to --help instead of click's usage block); with ``--json`` the same
    lines as a JSON document on stdout, unless the command already printed its report."""
    from cinev4.cli._common import CommandError

    if isinstance(exc, CommandError):
        lines = exc.lines
    else:
        message = " ".join(exc.format_message().split())
        if isinstance(exc, click.UsageError) and exc.ctx is not None:
            message += f" (see: {exc.ctx.command_path} --help)"
        lines = [message]
    _report_failure(lines, exc.exit_code, argv)


# A bug or an unexpected environment problem exits 2 ("could not do what was
# asked"), never 1, which farm scripts read as "verification or gate failed".
EXIT_INTERNAL_ERROR = 2
_MAX_MESSAGE = 400


def _internal_error_line(exc: BaseException) -> str:
    """What an unexpected exception is reported as, in one line (the traceback goes to
    stderr first with CINEV4_DEBUG=1)."""
    from cinev4.settings import debug_enabled

    if debug_enabled():
        import traceback

        traceback.print_exception(exc)
    message = " ".join(str(exc).split())
    if len(message) > _MAX_MESSAGE:
        message = message[: _MAX_MESSAGE - 3] + "..."
    return f"{type(exc).__qualname__}: {message} (set CINEV4_DEBUG=1 for the traceback)"


if __name__ == "__main__":  # pragma: no cover
    main()
