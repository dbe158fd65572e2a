"""The ``cinev4`` console script (and ``python -m cinev4``).

``cinev4 hash ...`` goes straight to :mod:`cinev4.hashcli`, which never
imports click: a hook that hashes a few files pays the interpreter and the
engine, not the command-line framework. Every other command goes through the
click group, :func:`cinev4.cli.main`.
"""
from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else list(argv)
    if args[:1] == ["hash"]:
        from cinev4.hashcli.command import run_standalone

        sys.exit(run_standalone(args[1:]))
    from cinev4.cli import main as cli_main

    cli_main(argv)
