"""``cinev4 hash`` as a command of the click group: arguments are handed as
they are to :func:`cinev4.hashcli.command.run_hash`, which reads them as GNU
``sha256sum`` does (``--`` kept, options after FILEs). The console script
runs the same function without click (cinev4._console)."""
from __future__ import annotations

import click

from cinev4.hashcli.command import HELP, run_hash


class _RawArgsCommand(click.Command):
    """A click command that leaves its arguments alone."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        ctx.params["argv"] = list(args)
        ctx.args = []
        return []

    def get_help(self, ctx: click.Context) -> str:
        return HELP.rstrip("\n")


@click.command("hash", cls=_RawArgsCommand, add_help_option=False)
def hash_command(argv: list[str]) -> int:
    """Print or check SHA-256 sums exactly as GNU sha256sum does, on the parallel engine."""
    return run_hash(argv)
