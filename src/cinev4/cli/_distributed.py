"""``--scheduler`` / ``--local-cluster``: the options that move hashing onto a Dask cluster.

Nothing here imports Dask: ``cinev4.pipeline.dask_backend`` is imported only when one
of the options is given, so a plain ``cinev4 verify`` on a farm hook pays
nothing for it, and works where the ``cinev4[dask]`` extra is not installed.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:
    from cinev4.pipeline.hashing import HashBackend

F = TypeVar("F", bound=Callable[..., Any])


def distributed_options(func: F) -> F:
    """Add ``--scheduler ADDRESS`` and ``--local-cluster N`` to a hashing command."""
    func = click.option(
        "--local-cluster",
        type=click.IntRange(1, 512),
        default=None,
        metavar="N",
        help="Hash on a Dask LocalCluster of N worker processes started on this machine "
        "(needs the cinev4[dask] extra).",
    )(func)
    func = click.option(
        "--scheduler",
        default=None,
        metavar="tcp://HOST:PORT",
        help="Hash on the workers of a running Dask scheduler (dask scheduler / dask worker); "
        "every worker must see the project at the same path (needs the cinev4[dask] extra).",
    )(func)
    return func


@contextmanager
def hash_backend(scheduler: str | None, local_cluster: int | None) -> Iterator[HashBackend | None]:
    """The backend the options ask for (None: this machine's engine), closed afterwards."""
    if scheduler is None and local_cluster is None:
        yield None
        return
    if scheduler is not None and local_cluster is not None:
        raise click.UsageError("--scheduler and --local-cluster exclude each other (give one)")
    from cinev4.pipeline.dask_backend import DaskBackend

    # quiet: Dask's log lines would break the one-line-per-error output.
    with DaskBackend(scheduler, local_cluster=local_cluster, quiet=True) as backend:
        yield backend
