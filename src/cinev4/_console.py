"""The ``cinev4`` console script (and ``python -m cinev4``).

``cinev4 hash ...`` goes straight to :mod:`cinev4.hashcli`, which never
imports click: a hook that hashes a few files pays the interpreter and the
engine, not the command-line framework. Every other command goes through the
click group, :func:`cinev4.cli.main`.

Run as the program (no ``argv`` given), a command that has finished ends the
process at once (``_leave``) instead of through the interpreter's clean-up.
"""
from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else list(argv)
    if args[:1] == ["hash"]:
        from cinev4.hashcli.command import run_standalone

        code = run_standalone(args[1:])
        if argv is None:
            _leave(code)
        sys.exit(code)
    from cinev4.cli import main as cli_main

    if argv is not None:
        cli_main(argv)
        return
    try:
        cli_main(None)
    except SystemExit as stop:
        _leave(stop.code)
        raise


def _leave(code: object) -> None:
    """End the process with ``code`` now, once standard output and error are flushed.

    After a command, the interpreter's own exit only takes its modules apart: 10-11 ms of
    a pipeline command's 80-90 (click, the schema validator), 2.5 ms of a `cinev4 hash` of
    one file, on the 2-vCPU development VM. Every file cinev4 writes is closed (and synced
    where it must be) before a command returns, and no command leaves a thread running.
    Where anything else could still need that exit, this returns and the interpreter exits
    as usual: an exit code that is not a number, an ``atexit`` callback (the Dask client's),
    a thread still alive, or an interpreter that cannot say how many callbacks it holds.
    """
    import atexit
    import os

    if code is not None and not isinstance(code, int):
        return
    count_callbacks = getattr(atexit, "_ncallbacks", None)  # CPython's
    if count_callbacks is None or count_callbacks() != 0:
        return
    threading = sys.modules.get("threading")
    if threading is not None and threading.active_count() != 1:
        return
    for stream in (sys.stdout, sys.stderr):
        if stream is not None:
            try:
                stream.flush()
            except (OSError, ValueError):  # the interpreter's exit reports it, as it always has
                return
    os._exit(0 if code is None else code & 0xFF)
