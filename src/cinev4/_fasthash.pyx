# cython: language_level=3, embedsignature=True, binding=True
"""The compiled hashing engine: SHA-256 kernels, windowed file I/O and a
native thread pool, reached from Python with the GIL released.

Settings come from keyword arguments, else from the environment:
``CINEV4_KERNEL`` (a name from ``available_kernels()``), ``CINEV4_IO``
(``mmap`` or ``read``), ``CINEV4_WINDOW`` (bytes; ``K``/``M`` suffixes allowed,
a multiple of 64 KiB) and ``CINEV4_THREADS``, each resolved by its
``cinev4.settings.resolve_*`` function, the one every other layer calls too.
"""
import os

cimport cython

from cpython.buffer cimport PyBUF_SIMPLE, PyBuffer_Release, PyObject_GetBuffer
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize
from cpython.exc cimport PyErr_CheckSignals
from cpython.pythread cimport (
    NOWAIT_LOCK,
    WAIT_LOCK,
    PyThread_acquire_lock,
    PyThread_allocate_lock,
    PyThread_free_lock,
    PyThread_release_lock,
    PyThread_type_lock,
)
from libc.stdint cimport uint8_t, uint64_t
from libc.stdlib cimport calloc, free, malloc, qsort
from libc.string cimport memchr, memcpy, memset, strcmp

from cinev4._version import __version__
from cinev4.settings import (
    ANCHOR_CHOICES,
    CACHE_MODES,
    DEFAULT_IO,
    DEFAULT_QUEUE_DEPTH,
    DEFAULT_WINDOW,
    IO_MODES,
    WINDOW_UNIT,
    resolve_anchor,
    resolve_cache,
    resolve_io,
    resolve_kernel,
    resolve_lane_min,
    resolve_prefault,
    resolve_queue_depth,
    resolve_threads,
    resolve_window,
)
from cinev4.errors import (
    FileChangedError,
    FileTruncatedError,
    HashCancelledError,
    NotRegularFileError,
)


cdef extern from "cv4_sha256.h" nogil:
    ctypedef void (*cv4_compress_fn)(unsigned int *state, const uint8_t *blocks, size_t nblocks)
    ctypedef struct cv4_kernel:
        const char *name
        cv4_compress_fn compress
    ctypedef struct cv4_sha256_ctx:
        pass
    void cv4_sha256_init(cv4_sha256_ctx *ctx, const cv4_kernel *kernel)
    void cv4_sha256_update(cv4_sha256_ctx *ctx, const uint8_t *data, size_t length)
    void cv4_sha256_final(cv4_sha256_ctx *ctx, uint8_t *digest)

cdef extern from "cv4_mb.h" nogil:
    ctypedef struct cv4_mb_kernel:
        const char *name
        int lanes

cdef extern from "cv4_dispatch.h" nogil:
    ctypedef struct cv4_mb_calibration:
        int break_even_lanes
        double full_speedup
    size_t cv4_mb_kernel_count()
    const cv4_mb_kernel *cv4_mb_kernel_at(size_t i)
    const cv4_mb_kernel *cv4_mb_kernel_find(const char *name)
    cv4_mb_calibration cv4_mb_calibrate(const cv4_mb_kernel *mb, const cv4_kernel *single)
    void cv4_kernels_init()
    size_t cv4_kernel_count()
    const cv4_kernel *cv4_kernel_at(size_t i)
    const cv4_kernel *cv4_kernel_find(const char *name)
    const cv4_kernel *cv4_kernel_best()

cdef extern from "cv4_cpu.h" nogil:
    const char *cv4_cpu_feature_names()

cdef extern from "cv4_io.h" nogil:
    enum:
        CV4_WINDOW_UNIT
        CV4_ERR_CHANGED
        CV4_ERR_TRUNCATED
        CV4_ERR_NOTREG
        CV4_ERR_CANCELLED
        CV4_ERR_NOMEM
    ctypedef enum cv4_io_mode:
        CV4_IO_MMAP
        CV4_IO_READ
    ctypedef struct cv4_io_config:
        cv4_io_mode mode
        size_t window
        int drop_cache
        int ahead_windows
    int cv4_fault_guard_install()

cdef extern from "cv4_prefault.h" nogil:
    int cv4_prefaulter_available()


cdef extern from "cv4_batch.h" nogil:
    ctypedef struct cv4_item:
        const char *path
        uint64_t size
        int error
        char kind
        int done
        uint8_t digest[32]
    ctypedef struct cv4_batch:
        pass
    ctypedef struct cv4_batch_config:
        const cv4_kernel *kernel
        const cv4_mb_kernel *lanes
        int lanes_auto
        int min_busy_lanes
        cv4_io_config io
        int threads
        int keep_order
        int ahead_files
        int prefault
    int cv4_item_is_done(const cv4_item *item)
    cv4_batch *cv4_batch_new(cv4_item *items, size_t count, const cv4_batch_config *cfg)
    int cv4_batch_start(cv4_batch *b)
    int cv4_batch_wait(cv4_batch *b, unsigned timeout_ms)
    void cv4_batch_cancel(cv4_batch *b)
    void cv4_batch_progress(cv4_batch *b, uint64_t *bytes_done, uint64_t *files_done)
    void cv4_batch_free(cv4_batch *b)
    int cv4_batch_plan(cv4_batch *b)
    enum:
        CV4_PLAN_LANES
        CV4_PLAN_SINGLE
        CV4_PLAN_SINGLE_COLD


cv4_kernels_init()
if CV4_WINDOW_UNIT != WINDOW_UNIT:  # the unit parse_window checks is the one the C windows assume
    raise ImportError(f"cinev4.settings.WINDOW_UNIT {WINDOW_UNIT} is not the engine's {CV4_WINDOW_UNIT}")

# IO_MODES, DEFAULT_IO, DEFAULT_WINDOW, DEFAULT_QUEUE_DEPTH and CACHE_MODES are
# cinev4.settings' (imported above, kept here as the engine's public names).
# Cache "keep": the page cache is left to the kernel (what sha256sum does; hash_files'
# default). "drop": pages a batch read that were not resident before are dropped
# once hashed (the pipeline's entry points' default: a verify of a terabyte must not
# evict what the node was using). CINEV4_CACHE overrides either default.
_NOT_REGULAR_KINDS = {"p": "FIFO", "c": "character device", "b": "block device", "s": "socket"}


def available_kernels():
    """Names of the single-stream SHA-256 kernels this CPU can run, fastest first."""
    return [cv4_kernel_at(i).name.decode() for i in range(cv4_kernel_count())]


def multibuffer_kernels():
    """Names of the multi-buffer kernels (many files side by side in SIMD lanes) this CPU can run."""
    return [cv4_mb_kernel_at(i).name.decode() for i in range(cv4_mb_kernel_count())]


# A multi-buffer kernel is used by default only where, with every lane busy,
# it measures at least this much faster than the single-stream kernel.
_LANES_MIN_SPEEDUP = 1.25


cdef const cv4_kernel *_single_kernel(str name) except NULL:
    cdef bytes encoded = name.encode()
    cdef const cv4_kernel *found = cv4_kernel_find(encoded)
    if found == NULL:
        raise ValueError(
            f"unknown or unavailable kernel {name!r}; this CPU offers: "
            f"{', '.join(available_kernels() + multibuffer_kernels())}"
        )
    return found


cdef const cv4_kernel *_kernel(object name) except NULL:
    """The single-stream kernel for a resolved name (``resolve_kernel``; None: the fastest)."""
    if name is not None and "\0" in str(name):  # the C look-up would stop at the NUL: 'sha-ni\0x' was sha-ni
        raise ValueError(f"unknown or unavailable kernel {name!r} (a kernel name holds no NUL)")
    if name is None or cv4_mb_kernel_find(str(name).encode()) != NULL:
        return cv4_kernel_best()
    return _single_kernel(str(name))


cdef const cv4_mb_kernel *_auto_lanes(const cv4_kernel *single):
    cdef const cv4_mb_kernel *best = NULL
    cdef double best_speedup = _LANES_MIN_SPEEDUP
    cdef cv4_mb_calibration cal
    for i in range(cv4_mb_kernel_count()):
        cal = cv4_mb_calibrate(cv4_mb_kernel_at(i), single)
        if cal.full_speedup >= best_speedup:
            best, best_speedup = cv4_mb_kernel_at(i), cal.full_speedup
    return best


cdef int _lane_plan(object name, cv4_batch_config *cfg) except -1:
    """Fill in the kernels of a batch: a multi-buffer kernel when asked for by
    name, or by default where it measures faster; None of it for a single name.
    The first to fill ``cfg``: every field it does not set starts at zero."""
    memset(cfg, 0, sizeof(cv4_batch_config))
    name = resolve_kernel(name)
    cfg.kernel = _kernel(name)
    cfg.lanes = NULL
    cfg.min_busy_lanes = 0
    if name is None:
        cfg.lanes = _auto_lanes(cfg.kernel)
        cfg.lanes_auto = cfg.lanes != NULL
    else:
        cfg.lanes = cv4_mb_kernel_find(str(name).encode())
    if cfg.lanes == NULL:
        return 0
    lane_min = resolve_lane_min()
    if lane_min is not None:
        cfg.min_busy_lanes = lane_min
    else:
        cfg.min_busy_lanes = cv4_mb_calibrate(cfg.lanes, cfg.kernel).break_even_lanes
    return 0


cdef cv4_io_config _io_config(object io, object window, object cache=None, str default_cache="keep") except *:
    cdef cv4_io_config cfg
    memset(&cfg, 0, sizeof(cfg))
    cfg.drop_cache = resolve_cache(cache, default_cache) == "drop"
    cfg.ahead_windows = resolve_queue_depth()
    cfg.mode = CV4_IO_MMAP if resolve_io(io) == "mmap" else CV4_IO_READ
    cfg.window = resolve_window(window)
    return cfg


def default_threads():
    """Worker threads used when none are asked for: CINEV4_THREADS, else the usable CPUs."""
    return resolve_threads(None)


def engine_info():
    """What runs here: CPU features seen, kernels offered, the defaults in use."""
    cdef cv4_batch_config plan
    _lane_plan(None, &plan)
    cdef cv4_io_config cfg = _io_config(None, None)
    return {
        "version": __version__,
        "kernel": plan.kernel.name.decode(),
        "kernels": available_kernels(),
        "multibuffer_kernels": multibuffer_kernels(),
        "multibuffer": plan.lanes.name.decode() if plan.lanes != NULL else None,
        "lane_break_even": plan.min_busy_lanes if plan.lanes != NULL else None,
        "cpu_features": cv4_cpu_feature_names().decode().split(),
        "io_mode": "mmap" if cfg.mode == CV4_IO_MMAP else "read",
        "io_modes": list(IO_MODES),
        "window_bytes": cfg.window,
        "cache": "drop" if cfg.drop_cache else "keep",
        "cache_modes": list(CACHE_MODES),
        "queue_depth": cfg.ahead_windows,
        "prefault": resolve_prefault() and cv4_prefaulter_available() != 0,
        "threads": default_threads(),
        "anchor": anchor_mode(),
    }


cdef class FileDigest:
    """One file's result: its size and SHA-256, or the error that stopped it."""

    cdef readonly object path
    cdef readonly unsigned long long size
    cdef readonly object error
    cdef readonly bytes digest

    def __cinit__(self, path, unsigned long long size, bytes digest, error):
        self.path = path
        self.size = size
        self.digest = digest
        self.error = error

    def __init__(self, path, unsigned long long size, bytes digest, error):
        pass  # all done in __cinit__; declared so the signature is introspectable

    def __reduce__(self):
        return (FileDigest, (self.path, self.size, self.digest, self.error))

    def __eq__(self, other):
        if not isinstance(other, FileDigest):
            return NotImplemented
        return (self.path, self.size, self.digest, repr(self.error)) == (
            other.path, other.size, other.digest, repr(other.error))

    __hash__ = None

    @property
    def sha256(self):
        """Lowercase hex digest, or None when the file could not be hashed."""
        return None if self.digest is None else self.digest.hex()

    @property
    def ok(self):
        return self.error is None

    def __repr__(self):
        if self.error is None:
            return f"FileDigest(path={self.path!r}, size={self.size}, sha256={self.sha256!r})"
        return f"FileDigest(path={self.path!r}, error={self.error!r})"


cdef object _error_for(int code, char kind, object path):
    if code == 0:
        return None
    if code == CV4_ERR_CHANGED:
        return FileChangedError(path)
    if code == CV4_ERR_TRUNCATED:
        return FileTruncatedError(path)
    if code == CV4_ERR_NOTREG:
        return NotRegularFileError(path, _NOT_REGULAR_KINDS.get(chr(kind), "special file"))
    if code == CV4_ERR_CANCELLED:
        return HashCancelledError(path)
    if code == CV4_ERR_NOMEM:
        return MemoryError(f"out of memory while hashing {path!r}")
    return OSError(code, os.strerror(code), path)


cdef int _batch_config(cv4_batch_config *cfg, object threads, object kernel, object io, object window,
                       object cache, str default_cache) except -1:
    """``cfg`` from the keyword arguments every batch entry point takes."""
    memset(cfg, 0, sizeof(cv4_batch_config))
    _lane_plan(kernel, cfg)
    cfg.io = _io_config(io, window, cache, default_cache)
    cfg.ahead_files = cfg.io.ahead_windows
    cfg.threads = resolve_threads(threads)
    cfg.prefault = resolve_prefault()
    return 0


cdef int _drive_batch(cv4_batch *batch, object progress, unsigned slice_ms) except -1:
    """Runs ``batch`` to the end on its native threads and frees it (also when
    interrupted): the GIL is released while it waits, signals are checked and
    ``progress(bytes_done, files_done)`` called every ``slice_ms``; any exception
    (Ctrl-C) cancels the workers first."""
    global _last_plan
    cdef int rc, finished
    cdef uint64_t bytes_done, files_done
    cv4_fault_guard_install()
    try:
        with nogil:
            rc = cv4_batch_start(batch)
        if rc != 0:
            raise OSError(rc, "could not start hashing threads: " + os.strerror(rc))
        while True:
            with nogil:
                finished = cv4_batch_wait(batch, slice_ms)
            if finished:
                break
            PyErr_CheckSignals()
            if progress is not None:
                cv4_batch_progress(batch, &bytes_done, &files_done)
                progress(bytes_done, files_done)
        _last_plan = _PLAN_NAMES.get(cv4_batch_plan(batch), "single")
    except BaseException:
        cv4_batch_cancel(batch)
        raise
    finally:
        with nogil:
            cv4_batch_free(batch)
    return 0


_PLAN_NAMES = {CV4_PLAN_LANES: "lanes", CV4_PLAN_SINGLE: "single", CV4_PLAN_SINGLE_COLD: "single (cold data)"}
_last_plan = None


def last_batch_plan():
    """How this process's last batch run by ``hash_files``, ``check_files`` or the anchored
    entry points (not ``hash_files_ordered``) ran: "lanes" (a multi-buffer
    kernel), "single" (one file per thread), or "single (cold data)": the calibrated
    lanes were set aside because the batch started on files not in the page cache.
    None before any batch. Introspection for benchmarks and tests."""
    return _last_plan


def hash_files(paths, threads=None, *, kernel=None, io=None, window=None,
               progress=None, double progress_interval=0.1, cache=None):
    """Hash many files on native threads; results in input order.

    One bad file never hides the others: each result carries either
    ``sha256`` or ``error``. ``progress(bytes_done, files_done)`` is called
    from this thread every ``progress_interval`` seconds and once at the end.
    Ctrl-C stops the workers at their next window and raises KeyboardInterrupt.
    ``cache``: "keep" (default) or "drop" (see ``CACHE_MODES``); None reads CINEV4_CACHE.
    """
    if isinstance(paths, (str, bytes, bytearray, memoryview, os.PathLike)):
        # list("ab") would hash files "a" and "b": one path is not a list of paths.
        raise TypeError(f"paths must be an iterable of paths, not a single {type(paths).__name__}; "
                        f"for one file use hash_file(path) or hash_files([path])")
    cdef list originals = list(paths)
    cdef Py_ssize_t count = len(originals), i
    cdef list encoded = []
    cdef cv4_batch_config cfg
    cdef cv4_item *items
    cdef cv4_batch *batch
    cdef unsigned slice_ms

    _batch_config(&cfg, threads, kernel, io, window, cache, "keep")
    if count == 0:
        return []
    for path in originals:
        encoded.append(_path_bytes(path))
    slice_ms = <unsigned>max(1.0, min(progress_interval, 1.0) * 1000.0)

    items = <cv4_item *>calloc(count, sizeof(cv4_item))
    if items == NULL:
        raise MemoryError()
    for i in range(count):
        items[i].path = PyBytes_AS_STRING(encoded[i])
    batch = cv4_batch_new(items, count, &cfg)
    if batch == NULL:
        free(items)
        raise MemoryError()
    try:
        _drive_batch(batch, progress, slice_ms)
    except BaseException:
        free(items)
        raise
    try:
        results = []
        for i in range(count):
            if items[i].error == 0:
                digest = PyBytes_FromStringAndSize(<char *>items[i].digest, 32)
            else:
                digest = None
            results.append(FileDigest(originals[i], items[i].size, digest,
                                      _error_for(items[i].error, items[i].kind, originals[i])))
    finally:
        free(items)
    if progress is not None:
        progress(sum(r.size for r in results if r.error is None), count)
    return results


def hash_file(path, *, kernel=None, io=None, window=None, cache=None):
    """Hash one file; raises OSError (or a cinev4.errors subclass) on failure."""
    result = hash_files([path], 1, kernel=kernel, io=io, window=window, cache=cache)[0]
    if result.error is not None:
        raise result.error
    return result


def hash_bytes(data, *, kernel=None):
    """SHA-256 of any contiguous buffer (bytes, bytearray, memoryview, numpy array)."""
    if data is None:  # Sha256(None) is an empty hash to feed later; here None is a mistake
        raise TypeError("hash_bytes() needs a bytes-like object, not None")
    return Sha256(data, kernel=kernel).hexdigest()


# Updates of at least this many bytes release the GIL (hashlib's HASHLIB_GIL_MINSIZE):
# below it, releasing and taking the GIL back costs more than the hashing.
cdef enum:
    _GIL_MINSIZE = 2048


# Functions, not cdef methods: a method table would show in help(cinev4) as __pyx_vtable__.
cdef inline void _take(PyThread_type_lock lock) noexcept:
    """Takes a Sha256's lock, where it has one, with the GIL held: waits for it with the
    GIL released, so a holder that needs the GIL back is never blocked by us."""
    if lock != NULL and not PyThread_acquire_lock(lock, NOWAIT_LOCK):
        with nogil:
            PyThread_acquire_lock(lock, WAIT_LOCK)


cdef inline void _give(PyThread_type_lock lock) noexcept:
    if lock != NULL:
        PyThread_release_lock(lock)


@cython.auto_pickle(False)
cdef class Sha256:
    """Incremental SHA-256 on the engine's kernel, for streams (stdin, sockets).

    One object may be fed from several threads, as hashlib's can: each update
    is applied whole, one at a time (in whichever order the threads get
    there), and ``digest()`` covers the updates that finished before it; an
    update that comes after it raises ValueError."""

    cdef cv4_sha256_ctx ctx
    cdef bint finished
    cdef bytes result
    # Made the first time the GIL is released around an update (as hashlib does):
    # until then every update runs whole under the GIL, so none can overlap.
    cdef PyThread_type_lock lock

    def __cinit__(self, data=None, *, kernel=None):
        self.lock = NULL
        cdef const cv4_kernel *single = _kernel(resolve_kernel(kernel))  # refuses what no kernel is named
        if kernel is not None and cv4_mb_kernel_find(str(kernel).encode()) != NULL:
            raise ValueError(f"{kernel!r} is a multi-buffer kernel: it hashes many files at once (hash_files)")
        cv4_sha256_init(&self.ctx, single)
        self.finished = False
        if data is not None:
            self.update(data)

    def __init__(self, data=None, *, kernel=None):
        pass  # all done in __cinit__; declared so the signature is introspectable

    def __dealloc__(self):
        if self.lock != NULL:
            PyThread_free_lock(self.lock)

    def update(self, data):
        cdef Py_buffer view
        cdef bint finished
        if self.finished:
            raise ValueError("update() after digest(): this hash is finished")
        PyObject_GetBuffer(data, &view, PyBUF_SIMPLE)
        try:
            if view.len >= _GIL_MINSIZE:
                if self.lock == NULL:
                    self.lock = PyThread_allocate_lock()
                    if self.lock == NULL:
                        raise MemoryError("could not make the lock of a Sha256")
                with nogil:
                    PyThread_acquire_lock(self.lock, WAIT_LOCK)
                    finished = self.finished  # digest() may have run while this thread waited
                    if not finished:
                        cv4_sha256_update(&self.ctx, <const uint8_t *>view.buf, <size_t>view.len)
                    PyThread_release_lock(self.lock)
            else:
                _take(self.lock)
                finished = self.finished
                if not finished:
                    cv4_sha256_update(&self.ctx, <const uint8_t *>view.buf, <size_t>view.len)
                _give(self.lock)
        finally:
            PyBuffer_Release(&view)
        if finished:
            raise ValueError("update() after digest(): this hash is finished")

    def digest(self):
        cdef bytes result
        _take(self.lock)
        try:
            if not self.finished:
                # Made before the state is finished, so a MemoryError leaves the hash as it was.
                result = PyBytes_FromStringAndSize(NULL, 32)
                cv4_sha256_final(&self.ctx, <uint8_t *>PyBytes_AS_STRING(result))
                self.result = result
                self.finished = True
            return self.result
        finally:
            _give(self.lock)

    def hexdigest(self):
        return self.digest().hex()


# --- Results in input order, as they complete (cinev4 hash streams its lines) ---

@cython.final
@cython.auto_pickle(False)
cdef class OrderedResults:
    """Iterator over a running batch: each step gives the next results, in
    input order, that are complete (a list of FileDigest, at least one).

    Files are taken in input order, so the first results come early; a line
    written per result as it arrives is never held back by a later file.
    ``close()`` (or the end, or an exception such as Ctrl-C while waiting)
    cancels the workers and frees the batch.

    Threads: ``close()`` may be called from any thread, also while another
    waits for results there: it cancels the workers and returns at once, and
    the waiting thread's iteration ends (StopIteration) within one
    ``interval``; the batch is freed by whichever thread leaves it last. Two
    threads iterating one object share its results: each step goes to one of
    them, and each file is given once.
    """

    cdef cv4_item *items
    cdef cv4_batch *batch
    cdef Py_ssize_t count
    cdef Py_ssize_t next_index
    cdef list originals
    cdef list encoded
    cdef unsigned slice_ms
    cdef object progress
    # Threads inside _when_ready: items and batch are freed only when none is
    # (they wait on the batch, or build results from the items, and may let the
    # GIL go meanwhile). Changed with the GIL held only.
    cdef Py_ssize_t users
    cdef bint closed

    def __cinit__(self):
        self.items = NULL
        self.batch = NULL
        self.users = 0
        self.closed = False

    def __iter__(self):
        return self

    def __next__(self):
        return self._when_ready(False)

    cdef object _when_ready(self, bint bulk):
        """The next results once some are ready (``_take_block`` with ``bulk``, else
        ``_take_ready``), waiting on the batch between tries; StopIteration after the
        last file, or once closed. Any exception (Ctrl-C) closes the batch first."""
        taken = None
        if self.next_index < self.count:
            self.users += 1
            try:
                while self.next_index < self.count:  # set to count by close(), from any thread
                    taken = self._take_block() if bulk else self._take_ready()
                    if taken:
                        break
                    self._wait()
            except BaseException:
                self.users -= 1
                self.close()
                raise
            self.users -= 1
            if taken and self.next_index == self.count and self.progress is not None and not self.closed:
                self._report_end()
            if self.closed and self.users == 0:
                self._release()  # closed by another thread while this one used the batch
            if taken:
                return taken
        self.close()
        raise StopIteration

    def next_block(self):
        """The next completed results in bulk, for callers that format many
        lines at once: ``(start, digests, special)``, where ``digests`` joins
        the 32-byte digests of files ``start`` to ``start + len(digests) // 32 - 1``
        and ``special`` maps the offset (from ``start``) of each file that
        failed or has size 0 to its FileDigest (its digest bytes are zeros).
        Raises StopIteration after the last file, or once closed."""
        return self._when_ready(True)

    cdef int _report_end(self) except -1:
        """The last files are handed out: progress at its end, as hash_files reports it
        (a wait reports only what was done while it waited; a batch that finished within
        one wait, or whose caller stops at its last file, would show less)."""
        cdef uint64_t bytes_done = 0
        cdef Py_ssize_t i
        for i in range(self.count):
            if self.items[i].error == 0:
                bytes_done += self.items[i].size
        self.progress(bytes_done, self.count)
        return 0

    cdef int _wait(self) except -1:
        """Wait one slice for more files; check signals, report progress. The
        caller is counted in ``users``, so the batch stays while it waits."""
        cdef int finished = 0
        cdef uint64_t bytes_done, files_done
        cdef cv4_batch *batch = self.batch
        if batch == NULL:  # pragma: no cover - every item is done once the workers end
            raise RuntimeError("hashing batch ended with unfinished files")
        with nogil:
            finished = cv4_batch_wait(batch, self.slice_ms)
        if finished:
            if self.users == 1 and self.batch == batch:
                # The workers are done and no other thread uses the batch: join them
                # now. Taken off the object first, so no one else frees it too.
                self.batch = NULL
                with nogil:
                    cv4_batch_free(batch)
            return 0
        PyErr_CheckSignals()
        if self.progress is not None and self.batch != NULL:
            cv4_batch_progress(self.batch, &bytes_done, &files_done)
            self.progress(bytes_done, files_done)
        return 0

    cdef Py_ssize_t _claim(self):
        """Takes the files from next_index that are done for the caller, before
        any object is made (which may let another thread run): the end of them."""
        cdef Py_ssize_t i = self.next_index
        while i < self.count and cv4_item_is_done(&self.items[i]):
            i += 1
        self.next_index = i
        return i

    cdef object _take_block(self):
        cdef Py_ssize_t first = self.next_index, i, j
        cdef cv4_item *item
        cdef bytes digests
        cdef char *out
        cdef dict special = {}
        i = self._claim()
        if i == first:
            return None
        digests = PyBytes_FromStringAndSize(NULL, 32 * (i - first))
        out = PyBytes_AS_STRING(digests)
        for j in range(first, i):
            item = &self.items[j]
            if item.error == 0:
                memcpy(out + 32 * (j - first), item.digest, 32)
                if item.size == 0:
                    special[j - first] = FileDigest(self.originals[j], 0, PyBytes_FromStringAndSize(
                        <char *>item.digest, 32), None)
            else:
                memset(out + 32 * (j - first), 0, 32)
                special[j - first] = FileDigest(self.originals[j], item.size, None,
                                                _error_for(item.error, item.kind, self.originals[j]))
        return first, digests, special

    cdef list _take_ready(self):
        cdef list ready = []
        cdef Py_ssize_t first = self.next_index, i, j
        cdef cv4_item *item
        i = self._claim()
        for j in range(first, i):
            item = &self.items[j]
            if item.error == 0:
                digest = PyBytes_FromStringAndSize(<char *>item.digest, 32)
            else:
                digest = None
            ready.append(FileDigest(self.originals[j], item.size, digest,
                                    _error_for(item.error, item.kind, self.originals[j])))
        return ready

    cdef void _release(self) noexcept:
        """Frees the batch (joining its workers) and the items, once no thread uses
        them; both are taken off the object before the GIL is let go."""
        cdef cv4_batch *batch = self.batch
        cdef cv4_item *items = self.items
        self.batch = NULL
        self.items = NULL
        if batch != NULL:
            cv4_batch_cancel(batch)
            with nogil:
                cv4_batch_free(batch)
        free(items)

    def close(self):
        """Stop the workers (if still running) and free the batch; idempotent.
        From another thread while one waits for results: the workers are told to
        stop, close() returns at once, and the waiting thread's iteration ends
        (StopIteration) and frees the batch."""
        self.next_index = self.count
        self.closed = True
        if self.users == 0:
            self._release()
        elif self.batch != NULL:
            cv4_batch_cancel(self.batch)

    def __dealloc__(self):
        self._release()  # no thread can be inside a method: each holds a reference


def hash_files_ordered(paths, threads=None, *, kernel=None, io=None, window=None,
                       progress=None, double interval=0.05, cache=None):
    """Hash many files on native threads, taken in input order, and give the
    results back as they complete: an iterator of lists of FileDigest whose
    concatenation is ``hash_files(paths)``. Waits at most ``interval`` seconds
    between checks (signals are checked then; ``progress(bytes_done,
    files_done)`` is called then)."""
    if isinstance(paths, (str, bytes, bytearray, memoryview, os.PathLike)):
        raise TypeError(f"paths must be an iterable of paths, not a single {type(paths).__name__}")
    cdef OrderedResults results = OrderedResults.__new__(OrderedResults)
    cdef cv4_batch_config cfg
    cdef Py_ssize_t i
    cdef int rc
    _batch_config(&cfg, threads, kernel, io, window, cache, "keep")
    cfg.keep_order = 1
    results.originals = list(paths)
    results.count = len(results.originals)
    results.next_index = 0
    results.progress = progress
    results.slice_ms = <unsigned>max(1.0, min(interval, 1.0) * 1000.0)
    encoded = []
    for path in results.originals:
        encoded.append(_path_bytes(path))
    results.encoded = encoded
    if results.count == 0:
        return results
    results.items = <cv4_item *>calloc(results.count, sizeof(cv4_item))
    if results.items == NULL:
        raise MemoryError()
    for i in range(results.count):
        results.items[i].path = PyBytes_AS_STRING(encoded[i])
    results.batch = cv4_batch_new(results.items, results.count, &cfg)
    if results.batch == NULL:
        raise MemoryError()
    cv4_fault_guard_install()
    with nogil:
        rc = cv4_batch_start(results.batch)
    if rc != 0:
        results.close()
        raise OSError(rc, "could not start hashing threads: " + os.strerror(rc))
    return results


# --- Anchored file layer: files opened beneath one root, no symlink followed (docs/CONTRACT.md "File layer") ---

from libc.string cimport memcmp

import errno as _errno

cdef extern from "cv4_anchor.h" nogil:
    ctypedef struct cv4_anchor:
        int mode
    enum:
        CV4_ANCHOR_OPENAT2
        CV4_ANCHOR_WALK
        CV4_ANCHOR_PATH
    int cv4_anchor_best_mode()
    const char *cv4_anchor_mode_name(int mode)
    int cv4_anchor_open(cv4_anchor *a, const char *root, int mode)
    void cv4_anchor_close(cv4_anchor *a)

cdef extern from "cv4_scan.h" nogil:
    ctypedef struct cv4_scan_entry:
        size_t name_at
        uint64_t size
        char type
        int error
    ctypedef struct cv4_scan_result:
        char *names
        cv4_scan_entry *entries
        size_t count
    enum:
        CV4_SCAN_NO_SIZES
    int cv4_scan(const cv4_anchor *a, const char *folder, int flags, cv4_scan_result *out)
    void cv4_scan_free(cv4_scan_result *r)

cdef extern from "cv4_check.h" nogil:
    enum:
        CV4_CHECK_SIZE
        CV4_CHECK_OPEN_ONLY
        CV4_ERR_SYMLINK
        CV4_ERR_SIZE
        CV4_ERR_UNHASHED
    void cv4_item_set_check(cv4_item *item, uint64_t expected_size, int check)
    void cv4_config_set_anchor(cv4_batch_config *cfg, const cv4_anchor *a)

_SCAN_TYPES = {"l": "symlink", "p": "FIFO", "s": "socket", "c": "character device", "b": "block device",
               "?": "special file", "d": "unlistable", "e": "unreadable"}
_ENOENT = _errno.ENOENT
_EISDIR = _errno.EISDIR
_ENOTDIR = _errno.ENOTDIR


cdef int _anchor_mode() except -1:
    """CINEV4_ANCHOR: ``auto`` (openat2 where the kernel has it), ``openat2``
    (an error where it has not), ``openat-walk`` (the fallback walk, forced)."""
    choice = resolve_anchor()
    best = cv4_anchor_best_mode()
    if best == CV4_ANCHOR_PATH or choice == "auto":
        return best  # Windows has one mode
    if choice == "openat-walk":
        return CV4_ANCHOR_WALK
    if best != CV4_ANCHOR_OPENAT2:
        raise ValueError("CINEV4_ANCHOR=openat2: this kernel does not offer openat2 (Linux 5.6 or later)")
    return best


def anchor_mode():
    """How files are opened beneath a root here: ``openat2``, ``openat-walk`` or ``path`` (Windows)."""
    return cv4_anchor_mode_name(_anchor_mode()).decode()


cdef int _open_anchor(cv4_anchor *anchor, object root) except -1:
    cdef bytes raw = os.fsencode(root)
    cdef int mode = _anchor_mode()
    cdef int rc
    cdef const char *c_root = raw
    if b"\0" in raw:
        raise ValueError(f"embedded null byte in path {root!r}")
    with nogil:
        rc = cv4_anchor_open(anchor, c_root, mode)
    if rc != 0:
        raise OSError(rc, os.strerror(rc), os.fsdecode(raw))
    return 0


ctypedef struct _scanned_file:
    const char *name
    uint64_t size


cdef int _by_name(const void *a, const void *b) noexcept nogil:
    return strcmp((<const _scanned_file *>a).name, (<const _scanned_file *>b).name)


cdef extern from "Python.h":
    object PyUnicode_DecodeFSDefault(const char *s)
    object PyUnicode_EncodeFSDefault(object unicode)


def scan_tree(root, folder, sizes=True):
    """Every entry below ``folder`` (a relative path under the folder ``root``),
    walked from anchored folder handles, no symlink followed. ``sizes=False``:
    each entry's type comes from the listing where the file system gives it,
    with no stat per file, and the sizes column is None.

    Returns ``(status, paths, sizes, others)``: status ``"ok"``, ``"missing"``,
    ``"not_folder"`` or ``"symlink"`` (the folder itself, or a folder above it
    below the root, is a symlink: nothing is listed); ``paths`` and ``sizes``
    the regular files, as two columns (no object per file beyond its path and
    size), paths decoded as ``os.fsdecode`` does and sorted by their bytes
    (for UTF-8 names that is code point order, as ``sorted`` gives); ``others``
    a list of ``(path, what, errno)`` of every other entry (``what``: symlink,
    FIFO, socket, character device, block device, special file, or unlistable
    / unreadable with the errno), paths as bytes, in no particular order.
    Paths are relative to ``root``.
    """
    cdef cv4_anchor anchor
    cdef cv4_scan_result result
    cdef bytes where = os.fsencode(folder)
    cdef int rc
    cdef int flags = 0 if sizes else CV4_SCAN_NO_SIZES
    cdef size_t i, nfiles = 0
    cdef cv4_scan_entry *entry
    cdef _scanned_file *rows = NULL
    cdef const char *c_where = where
    if b"\0" in where:
        raise ValueError(f"embedded null byte in path {folder!r}")
    _open_anchor(&anchor, root)
    with nogil:
        rc = cv4_scan(&anchor, c_where, flags, &result)
        cv4_anchor_close(&anchor)
    if rc == _ENOENT:
        return "missing", [], [] if sizes else None, []
    if rc == CV4_ERR_SYMLINK:
        return "symlink", [], [] if sizes else None, []
    if rc == _ENOTDIR:
        return "not_folder", [], [] if sizes else None, []
    if rc == CV4_ERR_NOMEM:
        raise MemoryError(f"out of memory while listing {folder!r}")
    if rc != 0:
        raise OSError(rc, os.strerror(rc), os.fsdecode(where))
    paths = []
    sized = [] if sizes else None
    others = []
    try:
        rows = <_scanned_file *>malloc((result.count or 1) * sizeof(_scanned_file))
        if rows == NULL:
            raise MemoryError(f"out of memory while listing {folder!r}")
        for i in range(result.count):
            entry = &result.entries[i]
            if entry.type == b"f":
                rows[nfiles].name = result.names + entry.name_at
                rows[nfiles].size = entry.size
                nfiles += 1
            else:
                others.append((<bytes>(result.names + entry.name_at), _SCAN_TYPES[chr(entry.type)], entry.error))
        with nogil:
            qsort(rows, nfiles, sizeof(_scanned_file), _by_name)
        for i in range(nfiles):
            paths.append(PyUnicode_DecodeFSDefault(rows[i].name))
            if sizes:
                sized.append(rows[i].size)
    finally:
        free(rows)
        cv4_scan_free(&result)
    return "ok", paths, sized, others


cdef int _run_anchored(object root, cv4_item *items, Py_ssize_t count, object threads, object kernel, object io,
                       object window, object progress, double progress_interval, object cache) except -1:
    """Runs one batch of ``items`` (paths relative to ``root``) to the end, opened beneath the root."""
    cdef cv4_anchor anchor
    cdef cv4_batch_config cfg
    cdef cv4_batch *batch
    cdef unsigned slice_ms = <unsigned>max(1.0, min(progress_interval, 1.0) * 1000.0)
    _batch_config(&cfg, threads, kernel, io, window, cache, "drop")
    _open_anchor(&anchor, root)
    try:
        cv4_config_set_anchor(&cfg, &anchor)
        batch = cv4_batch_new(items, count, &cfg)
        if batch == NULL:
            raise MemoryError()
        _drive_batch(batch, progress, slice_ms)
    finally:
        cv4_anchor_close(&anchor)
    return 0


cdef bytes _path_bytes(object path):
    """``os.fsencode(path)`` without a Python call for str and bytes (a verify of 100,000
    files converts 100,000 paths), refusing an embedded NUL."""
    cdef bytes raw
    if type(path) is str:
        raw = PyUnicode_EncodeFSDefault(path)
    elif type(path) is bytes:
        raw = path
    else:
        raw = os.fsencode(path)
    if memchr(PyBytes_AS_STRING(raw), 0, len(raw)) != NULL:
        raise ValueError(f"embedded null byte in path {path!r}")
    return raw


cdef list _encode_relative(object paths):
    if isinstance(paths, (str, bytes, bytearray, memoryview, os.PathLike)):
        raise TypeError(f"paths must be an iterable of paths, not a single {type(paths).__name__}")
    return [_path_bytes(path) for path in paths]


cdef int _refuse_digest(Py_ssize_t i, object digest) except -1:
    """Raises the error of digest ``i`` (of a column for check_files) where it is
    not 64 hex digits; 0 where it is (a str subclass, say)."""
    if not isinstance(digest, str):
        raise TypeError(f"digest {i} is {type(digest).__name__}, not a str of 64 hex digits")
    shown = repr(digest) if len(digest) <= 80 else repr(digest[:80]) + "..."
    if len(digest) != 64:
        raise ValueError(f"digest {i} has {len(digest)} characters, not 64 hex digits: {shown}")
    try:
        raw = bytes.fromhex(digest)
    except ValueError:
        raw = None
    if raw is None or len(raw) != 32:  # fromhex skips blanks: "30 8c ..." gives fewer bytes
        raise ValueError(f"digest {i} is not 64 hex digits: {shown}")
    return 0


cdef bytes _digest_column(object digests, Py_ssize_t count):
    """The expected digests (hex str, 64 digits each) as one buffer of ``32 * count``
    bytes. Each is checked for its length in one loop and the column converted in one
    call; only a column that fails is gone over again, to name the digest at fault."""
    cdef list column = list(digests)
    cdef Py_ssize_t i
    cdef object digest
    cdef bytes wanted = None
    if len(column) != count:
        raise ValueError(f"{count} paths but {len(column)} digests")
    for i in range(count):
        digest = column[i]
        if type(digest) is not str or len(<str>digest) != 64:
            _refuse_digest(i, digest)
    try:
        wanted = bytes.fromhex("".join(column))
    except ValueError:
        pass
    if wanted is None or len(wanted) != 32 * count:
        for i in range(count):
            _refuse_digest(i, column[i])
        raise ValueError("the digests are not hex")  # pragma: no cover - one of them was named above
    return wanted


def check_files(root, paths, sizes, digests=None, threads=None, *, kernel=None, io=None, window=None,
                progress=None, double progress_interval=0.1, cache=None):
    """One pass over a table of files beneath ``root``: open each (no symlink
    followed), check its size, hash it and compare its SHA-256, all in native
    threads; only the problems come back.

    ``paths`` are relative to ``root``; ``sizes`` the expected sizes;
    ``digests`` the expected SHA-256s, each a str of 64 hex digits (either
    case; anything else is a ValueError, a TypeError for a non-str, naming
    its index), or None to check presence and sizes only (nothing is read). Returns ``(problems, files_hashed,
    bytes_hashed)``, each problem a tuple ``(index, kind, size, sha256, error)``
    with kind one of ``missing``, ``symlink``, ``not_regular`` (error: a
    NotRegularFileError, or IsADirectoryError), ``size_differs`` (size: the
    size found), ``hash_differs`` (sha256: the digest found), ``unreadable``
    (error: the OSError), in index order. ``cache``: "drop" by default here (a
    verify leaves the page cache as it found it), "keep"; None reads CINEV4_CACHE.
    """
    cdef list encoded = _encode_relative(paths)
    cdef list expected_sizes = list(sizes)
    cdef Py_ssize_t count = len(encoded), i
    cdef cv4_item *items
    cdef int check = CV4_CHECK_SIZE | (CV4_CHECK_OPEN_ONLY if digests is None else 0)
    cdef bytes wanted = b""
    cdef const char *want
    cdef int code
    if len(expected_sizes) != count:
        raise ValueError(f"{count} paths but {len(expected_sizes)} sizes")
    if digests is not None:
        wanted = _digest_column(digests, count)
    if count == 0:
        return [], 0, 0
    if digests is None:
        # Nothing is read, so no page can be brought in to drop: the residency probe a
        # "drop" open makes (a mapping of each file) would be work for nothing. The
        # settings are still checked, as for a run that reads.
        _io_config(io, window, cache, "drop")
        cache = "keep"
    items = <cv4_item *>calloc(count, sizeof(cv4_item))
    if items == NULL:
        raise MemoryError()
    problems = []
    files_hashed = 0
    bytes_hashed = 0
    try:
        for i in range(count):
            items[i].path = PyBytes_AS_STRING(encoded[i])
            cv4_item_set_check(&items[i], <uint64_t>expected_sizes[i], check)
        _run_anchored(root, items, count, threads, kernel, io, window, progress, progress_interval, cache)
        want = wanted
        for i in range(count):
            code = items[i].error
            if code == CV4_ERR_UNHASHED:
                continue
            if code == 0:
                files_hashed += 1
                bytes_hashed += items[i].size
                if memcmp(items[i].digest, want + 32 * i, 32) != 0:
                    problems.append((i, "hash_differs", items[i].size,
                                     PyBytes_FromStringAndSize(<char *>items[i].digest, 32).hex(), None))
                continue
            path = os.fsdecode(encoded[i])
            if code == _ENOENT:
                problems.append((i, "missing", 0, None, None))
            elif code == CV4_ERR_SYMLINK:
                problems.append((i, "symlink", 0, None, None))
            elif code == CV4_ERR_SIZE:
                problems.append((i, "size_differs", items[i].size, None, None))
            elif code == CV4_ERR_NOTREG or code == _EISDIR:
                problems.append((i, "not_regular", 0, None, _error_for(code, items[i].kind, path)))
            else:
                problems.append((i, "unreadable", items[i].size, None, _error_for(code, items[i].kind, path)))
    finally:
        free(items)
    if progress is not None:
        progress(bytes_hashed, count)
    return problems, files_hashed, bytes_hashed


def hash_files_under(root, paths, sizes=None, threads=None, *, kernel=None, io=None, window=None,
                     progress=None, double progress_interval=0.1, cache=None):
    """``hash_files`` for paths relative to ``root``, each opened beneath it
    (no symlink followed: a symlink on the way is an OSError with errno ELOOP).
    ``sizes`` (the sizes expected, from a scan) order the work, largest first;
    without them files are taken in input order. Results in input order, each
    path as given, with the size read. ``cache``: "drop" by default here (the
    pipeline's manifests and read-backs leave the page cache as found), "keep";
    None reads CINEV4_CACHE."""
    cdef list originals = list(paths)
    cdef list encoded = _encode_relative(originals)
    cdef Py_ssize_t count = len(encoded), i
    cdef cv4_item *items
    cdef list expected = list(sizes) if sizes is not None else None
    cdef int code
    if expected is not None and len(expected) != count:
        raise ValueError(f"{count} paths but {len(expected)} sizes")
    if count == 0:
        return []
    items = <cv4_item *>calloc(count, sizeof(cv4_item))
    if items == NULL:
        raise MemoryError()
    try:
        for i in range(count):
            items[i].path = PyBytes_AS_STRING(encoded[i])
            if expected is not None:
                cv4_item_set_check(&items[i], <uint64_t>expected[i], 0)
        _run_anchored(root, items, count, threads, kernel, io, window, progress, progress_interval, cache)
        results = []
        for i in range(count):
            code = items[i].error
            if code == 0:
                results.append(FileDigest(originals[i], items[i].size,
                                          PyBytes_FromStringAndSize(<char *>items[i].digest, 32), None))
                continue
            if code == CV4_ERR_SYMLINK:
                error = OSError(_errno.ELOOP, "a symlink on the way (not followed below the root)", originals[i])
            else:
                error = _error_for(code, items[i].kind, originals[i])
            results.append(FileDigest(originals[i], items[i].size, None, error))
    finally:
        free(items)
    if progress is not None:
        progress(sum(r.size for r in results if r.error is None), count)
    return results



def format_sum_lines(list names, Py_ssize_t start, bytes digests, bytes middle, bytes end,
                     bint refuse_escapes=True):
    """Lines ``hex(digest) + middle + name + end`` for ``names[start:]``, one
    per 32 bytes of ``digests``, built in one buffer (``sha256sum``'s output at
    native speed). With ``refuse_escapes``, None when a name holds a backslash,
    newline or carriage return (sha256sum escapes those: the caller formats
    them itself)."""
    cdef Py_ssize_t n = len(digests) // 32, i, k, total = 0, length
    cdef Py_ssize_t middle_len = len(middle), end_len = len(end)
    cdef const char *name_bytes
    cdef const unsigned char *digest = <const unsigned char *>PyBytes_AS_STRING(digests)
    cdef const char *hex_digits = b"0123456789abcdef"
    cdef char *out
    cdef bytes lines
    if start < 0 or start + n > len(names):
        raise IndexError(f"{n} digests for names from {start} of {len(names)}")
    for i in range(n):
        name = names[start + i]
        if type(name) is not bytes:
            raise TypeError(f"names must be bytes, not {type(name).__name__}")
        length = len(<bytes>name)
        if refuse_escapes:
            name_bytes = PyBytes_AS_STRING(<bytes>name)
            if (memchr(name_bytes, 0x5C, length) != NULL or memchr(name_bytes, 0x0A, length) != NULL
                    or memchr(name_bytes, 0x0D, length) != NULL):
                return None
        total += 64 + middle_len + length + end_len
    lines = PyBytes_FromStringAndSize(NULL, total)
    out = PyBytes_AS_STRING(lines)
    for i in range(n):
        for k in range(32):
            out[0] = hex_digits[digest[32 * i + k] >> 4]
            out[1] = hex_digits[digest[32 * i + k] & 15]
            out += 2
        memcpy(out, PyBytes_AS_STRING(middle), middle_len)
        out += middle_len
        name = names[start + i]
        length = len(<bytes>name)
        memcpy(out, PyBytes_AS_STRING(<bytes>name), length)
        out += length
        memcpy(out, PyBytes_AS_STRING(end), end_len)
        out += end_len
    return lines

