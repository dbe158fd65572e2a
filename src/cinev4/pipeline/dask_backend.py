"""Hashing spread over a Dask cluster: the backend behind ``--scheduler`` and ``--local-cluster``.

The files are split into byte-balanced batches; each batch is one Dask task
that runs the native engine (``cinev4.hash_files``, every core of its node)
on a worker, and sends back plain tuples. The client puts every result back
at its input index, so the pipeline builds exactly the report a local run
gives. Dask itself moves a batch whose worker died to another worker; a file
a worker cannot open comes back as a per-file error, and a batch that kept
killing workers comes back as an error for each of its files: nothing is
ever dropped from the report.

This module sits beside the local backend (``cinev4.pipeline.hashing``); its
documented import path is ``cinev4.distributed``, which re-exports it. It is
imported only when a distributed run is asked for; it needs the optional extra
(``pip install 'cinev4[dask]'``). Usage::

    from cinev4.distributed import DaskBackend
    with DaskBackend(scheduler="tcp://head-node:8786") as backend:
        report = verify_shots(project, backend=backend)
"""
from __future__ import annotations

import builtins
import errno
import heapq
import logging
import math
import os
import uuid
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any, Callable, Optional, Tuple

# Defined with every other cinev4 error; importable from here and from cinev4.distributed,
# where users catch them.
from cinev4.errors import DaskUnavailableError, DistributedError

if TYPE_CHECKING:
    from cinev4.pipeline.hashing import ProgressCallback

__all__ = [
    "DaskBackend",
    "DaskUnavailableError",
    "DistributedError",
    "RemoteDigest",
    "hash_batch",
    "plan_batches",
    "require_dask",
]

EXTRA_HINT = "pip install 'cinev4[dask]'"

# Balancing weight of one file in bytes, beside its size: opening, stat-ing
# and closing a file on shared storage costs about what reading this much
# does, so a batch of 10,000 small frames is not treated as "nearly empty".
PER_FILE_WEIGHT = 512 * 1024
# A batch is at most this heavy (a worker that dies loses at most one batch
# of work) ...
DEFAULT_BATCH_BYTES = 2 * 1024**3
# ... and there are at least this many batches per worker, so a slow node
# or a retried batch does not leave the others idle at the end.
DEFAULT_BATCHES_PER_WORKER = 4

# What crosses the wire for one file: (size, sha256 or None, error or None),
# the error as (class module, class name, errno, strerror). Plain tuples,
# because they pickle everywhere and do not depend on the worker running the
# same cinev4 build as the client.
WireError = Tuple[str, str, Optional[int], Optional[str]]
WireDigest = Tuple[int, Optional[str], Optional[WireError]]


def require_dask(option: str = "--scheduler/--local-cluster") -> None:
    """Raise ``DaskUnavailableError`` (one line, naming the extra) unless ``distributed`` imports."""
    try:
        import distributed  # noqa: F401
    except ImportError as exc:
        raise DaskUnavailableError(
            f"{option} needs Dask distributed, which is not installed ({exc}): {EXTRA_HINT}"
        ) from None


@dataclass(frozen=True)
class RemoteDigest:
    """One file's result from a worker, read by the pipeline like a ``cinev4.FileDigest``."""

    path: str
    size: int
    sha256: str | None
    error: OSError | None

    @property
    def ok(self) -> bool:
        return self.error is None


# --- on the worker ------------------------------------------------------------


def hash_batch(paths: list[str], threads: int | None) -> list[WireDigest]:
    """One Dask task: hash ``paths`` with this node's engine, results as plain tuples."""
    from cinev4 import hash_files

    out: list[WireDigest] = []
    for digest in hash_files(paths, threads):
        error = digest.error
        if error is None:
            out.append((digest.size, digest.sha256, None))
        else:
            kind = type(error)
            out.append((digest.size, None, (kind.__module__, kind.__qualname__, error.errno, error.strerror)))
    return out


# --- on the client ------------------------------------------------------------


def _decode_error(wire: WireError, path: str) -> OSError:
    """The worker's exception, rebuilt with the same class, errno and message."""
    module, name, code, strerror = wire
    kind: Any = None
    if module == "builtins":
        kind = getattr(builtins, name, None)
    elif module == "cinev4.errors":
        from cinev4 import errors

        kind = getattr(errors, name, None)
    if not (isinstance(kind, type) and issubclass(kind, OSError)):
        kind = OSError
    args = (code if code is not None else errno.EIO, strerror or name, path)
    if module == "builtins" or kind is OSError:
        return kind(*args)  # type: ignore[no-any-return]
    # cinev4's engine errors take only a filename: built without their own
    # __init__ (OSError then reads its arguments in OSError.__init__), and
    # given the worker's errno and text.
    error: OSError = kind.__new__(kind)
    OSError.__init__(error, *args)
    return error


def plan_batches(weights: Sequence[int], count: int) -> list[list[int]]:
    """Split indices 0..len(weights)-1 into at most ``count`` batches of nearly equal weight.

    Heaviest first onto the lightest batch (LPT), which keeps every batch
    within one file of the mean; each batch is then in input (path) order,
    so a node reads a frame sequence in order. Empty batches are dropped.
    """
    count = max(1, min(count, len(weights)))
    loads: list[tuple[int, int]] = [(0, b) for b in range(count)]
    members: list[list[int]] = [[] for _ in range(count)]
    for index in sorted(range(len(weights)), key=lambda i: -weights[i]):
        load, batch = heapq.heappop(loads)
        members[batch].append(index)
        heapq.heappush(loads, (load + weights[index], batch))
    return [sorted(m) for m in members if m]


def _expected_sizes(paths: Sequence[str], sizes: Sequence[int] | None) -> list[int]:
    if sizes is not None:
        return list(sizes)
    found = []
    for path in paths:
        try:
            found.append(os.stat(path).st_size)
        except OSError:
            found.append(0)  # the worker reports why it cannot be read
    return found


class DaskBackend:
    """A ``HashBackend`` that hashes on a Dask cluster.

    Give one of: ``scheduler`` (the address of a running ``dask scheduler``,
    e.g. ``tcp://head-node:8786``), ``local_cluster`` (start a LocalCluster
    of that many worker processes on this machine), or ``client`` (an
    existing ``distributed.Client``, left open on close). The cluster is
    reached on first use and closed on ``close()`` / leaving the ``with``.
    """

    def __init__(
        self,
        scheduler: str | None = None,
        *,
        local_cluster: int | None = None,
        client: Any = None,
        batch_bytes: int = DEFAULT_BATCH_BYTES,
        batches_per_worker: int = DEFAULT_BATCHES_PER_WORKER,
        retries: int = 2,
        connect_timeout_s: float = 30.0,
        quiet: bool = False,
        batch_task: Callable[[list[str], int | None], list[WireDigest]] | None = None,
    ) -> None:
        if sum(x is not None for x in (scheduler, local_cluster, client)) != 1:
            raise ValueError("give exactly one of scheduler, local_cluster, client")
        if local_cluster is not None and local_cluster < 1:
            raise ValueError("local_cluster is a number of worker processes, at least 1")
        require_dask("--local-cluster" if local_cluster is not None else "--scheduler")
        self.scheduler = scheduler
        self.local_cluster = local_cluster
        self.batch_bytes = max(1, batch_bytes)
        self.batches_per_worker = max(1, batches_per_worker)
        self.retries = retries
        self.connect_timeout_s = connect_timeout_s
        self.quiet = quiet
        # Tests put a wrapper here (e.g. one that stalls until its worker is killed).
        self._batch_task = batch_task or hash_batch
        self._client: Any = client
        self._owns_client = client is None
        self._cluster: Any = None
        #: batches submitted and files per batch in the last run (for reports and tests)
        self.last_batches: list[int] = []

    # -- lifetime --

    def __enter__(self) -> DaskBackend:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        client, cluster = self._client, self._cluster
        self._cluster = None
        if self._owns_client:
            self._client = None
            if client is not None:
                client.close()
        if cluster is not None:
            cluster.close()

    @property
    def client(self) -> Any:
        """The ``distributed.Client``, connecting (or starting the local cluster) on first use."""
        if self._client is None:
            self._client = self._connect()
        return self._client

    def _connect(self) -> Any:
        if self.quiet:
            _quiet_dask_logging()
        import dask
        from distributed import Client, LocalCluster

        if self.local_cluster is not None:
            # One task at a time per worker process: the engine inside it
            # already runs native threads (see _engine_threads). The HTTP
            # server on a random port: another cluster on this machine
            # already on 8787 would make Dask warn and move it anyway.
            # worker-saturation 1.0: a worker holds only the batch it runs, so
            # a worker that dies takes no queued neighbour batch with it.
            try:
                with dask.config.set({"distributed.scheduler.worker-saturation": 1.0}):
                    self._cluster = LocalCluster(n_workers=self.local_cluster, threads_per_worker=1,
                                                 processes=True, dashboard_address=":0")
            except Exception as exc:  # Dask raises RuntimeError/OSError/TimeoutError here
                raise DistributedError(f"cannot start a Dask LocalCluster of {self.local_cluster} worker "
                                       f"process(es) ({type(exc).__name__}: {exc})") from None
            return Client(self._cluster)
        try:
            client = Client(self.scheduler, timeout=self.connect_timeout_s)
        except ValueError as exc:  # Dask's own parse of the address: 'bogus', 'tcp://h:notaport', ''
            raise DistributedError(f"--scheduler {self.scheduler!r} is not a Dask scheduler address "
                                   f"(expected e.g. tcp://head-node:8786; {exc})") from None
        except (OSError, TimeoutError) as exc:
            raise DistributedError(f"cannot reach the Dask scheduler at {self.scheduler} ({exc})") from None
        try:
            client.wait_for_workers(1, timeout=self.connect_timeout_s)
        except (OSError, TimeoutError):
            client.close()
            raise DistributedError(f"no Dask worker joined the scheduler at {self.scheduler} within "
                                   f"{self.connect_timeout_s:g} s (start them with: dask worker {self.scheduler})") from None
        return client

    # -- hashing --

    def _engine_threads(self, threads: int | None, workers: int) -> int | None:
        if threads is not None or self.local_cluster is None:
            return threads  # a remote worker's engine uses every core of its own node
        # A local cluster shares this machine's threads (the engine's default here) between its workers.
        from cinev4.settings import resolve_threads

        return max(1, resolve_threads(None) // max(1, workers))

    def hash_files(
        self,
        paths: Sequence[str],
        sizes: Sequence[int] | None,
        *,
        threads: int | None,
        progress: ProgressCallback | None,
    ) -> list[RemoteDigest]:
        """Digests of ``paths`` in input order, hashed in batches on the cluster's workers."""
        if not paths:
            return []
        from concurrent.futures import CancelledError  # what Dask raises for a cancelled future, in every version

        from distributed import as_completed
        from distributed.scheduler import KilledWorker

        client = self.client
        expected = _expected_sizes(paths, sizes)
        # Workers open the files by name: a relative path would resolve
        # against each worker's own current folder.
        absolute = [os.path.join(os.getcwd(), p) for p in paths]  # not normalised: "link/.." stays the kernel's
        workers = max(1, len(client.scheduler_info().get("workers", {})))
        weights = [size + PER_FILE_WEIGHT for size in expected]
        count = max(workers * self.batches_per_worker, math.ceil(sum(weights) / self.batch_bytes))
        batches = plan_batches(weights, count)
        self.last_batches = [len(b) for b in batches]
        engine_threads = self._engine_threads(threads, workers)

        run = uuid.uuid4().hex[:12]
        pending: dict[str, tuple[Any, list[int]]] = {}

        def submit(batch: list[int], key: str) -> Any:
            future = client.submit(self._batch_task, [absolute[i] for i in batch], engine_threads,
                                   key=key, pure=False, retries=self.retries,
                                   priority=sum(weights[i] for i in batch))
            pending[future.key] = (future, batch)
            return future

        queue = as_completed([submit(batch, f"cinev4-hash-{run}-{n}") for n, batch in enumerate(batches)])
        results: list[RemoteDigest | None] = [None] * len(paths)
        bytes_done = files_done = 0
        try:
            for future in queue:
                batch = pending.pop(future.key)[1]
                try:
                    wire = future.result()
                except KilledWorker:
                    # Workers kept dying while this batch ran (Dask's
                    # allowed-failures). One of its files may crash them, or
                    # it only shared a worker with one that does: each file
                    # on its own finds out. A file that still kills workers
                    # alone is reported, never dropped.
                    if len(batch) > 1:
                        for index in batch:
                            queue.add(submit([index], f"{future.key}-{index}"))
                        future.release()
                        continue
                    reason = "Dask workers died while hashing it (KilledWorker after retries)"
                    wire = [(expected[batch[0]], None, ("builtins", "OSError", errno.EIO, reason))]
                except CancelledError:
                    raise DistributedError("the Dask cluster cancelled the work (scheduler lost?)") from None
                except (OSError, TimeoutError) as exc:
                    raise DistributedError(f"lost the Dask cluster while hashing ({exc})") from None
                except Exception as exc:  # a worker that cannot run cinev4 at all
                    raise DistributedError(f"a Dask worker failed to run cinev4's hashing task "
                                           f"({type(exc).__name__}: {exc}); install the same cinev4 on every worker") from None
                for index, (size, sha256, error) in zip(batch, wire):
                    path = paths[index]
                    results[index] = RemoteDigest(path, size, sha256, _decode_error(error, path) if error else None)
                    bytes_done += expected[index]
                files_done += len(batch)
                future.release()
                if progress is not None:
                    progress(bytes_done, files_done)
        finally:
            for future, _ in pending.values():
                future.cancel()
        missing = [paths[i] for i, r in enumerate(results) if r is None]
        if missing:  # pragma: no cover - every batch above either filled its slots or raised
            raise DistributedError(f"{len(missing)} file(s) came back from no batch, e.g. {missing[0]}")
        return [r for r in results if r is not None]


def _quiet_dask_logging() -> None:
    """The CLI prints one line per error: Dask's own log lines (worker
    restarts, lost connections) would break that. A user who wants them sets
    DASK_LOGGING__DISTRIBUTED themselves, which is left alone."""
    if "DASK_LOGGING__DISTRIBUTED" in os.environ:
        return
    # Environment, not only this process's loggers: LocalCluster's worker
    # processes read their logging level from it when they import distributed.
    os.environ["DASK_LOGGING__DISTRIBUTED"] = "critical"
    for name in ("distributed", "tornado", "asyncio"):
        logging.getLogger(name).setLevel(logging.CRITICAL)
    warnings.filterwarnings("ignore", module=r"distributed(\.|$)")
