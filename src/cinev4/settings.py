"""The engine's settings, each resolved in one place, and the ``CINEV4_*``
environment variables, checked once.

Every setting of the engine has one resolver here, ``resolve_<setting>``: the
keyword argument when one is given, else its ``CINEV4_*`` variable, else the
default. The compiled engine (``cinev4._fasthash``) calls them for each batch,
and so does every other layer that needs the value the engine will use (the
journal's batch sizes and the Dask backend's split of the cores take
``resolve_threads``; ``cinev4 bench`` its default). They live here rather than
in the engine's ``.pyx`` because this module is pure Python: the CLI reads the
same defaults and ranges for its options without loading the extension, and a
change is one edit without a rebuild.

The command line calls ``environment_problems()`` before any command runs
(``--version`` included), so a bad value is one line and exit 2 at start-up,
not a traceback from whichever layer reads it first. The options that set the
same things on the command line (``--threads``, ``--io``, ``--window``) take
their ranges and parsers from here, for the click commands and for ``cinev4
hash`` (which reads its arguments as GNU getopt does, without click) alike.

Pure Python importing only the standard library's lightest modules: the
CLI's start-up stays light.
"""
from __future__ import annotations

import operator
import os

from cinev4.sizes import format_size, parse_size

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (checkers treat the name alike)
if TYPE_CHECKING:  # annotations only: `cinev4 hash` starts without importing typing
    from collections.abc import Callable, Mapping
    from typing import Literal

__all__ = [
    "WINDOW_UNIT", "MAX_WINDOW", "THREADS_RANGE", "IO_MODES", "IO_CHOICES", "CACHE_MODES", "ANCHOR_CHOICES",
    "DEFAULT_IO", "DEFAULT_WINDOW", "DEFAULT_QUEUE_DEPTH", "QUEUE_DEPTH_RANGE", "ENGINE_OPTIONS",
    "debug_enabled", "environment_problems", "parse_count", "parse_seconds", "parse_threads", "parse_window",
    "pipeline_cache_mode", "resolve_anchor", "resolve_cache", "resolve_io", "resolve_kernel", "resolve_lane_min",
    "resolve_prefault", "resolve_progress", "resolve_progress_interval", "resolve_queue_depth", "resolve_threads",
    "resolve_window", "usable_cpus",
]

# A window is a whole number of these: mmap offsets must fall on a page, and
# 64 KiB is a multiple of every page size in use (4 KiB, 16 KiB, 64 KiB).
WINDOW_UNIT = 64 * 1024
MAX_WINDOW = 1024 * 1024 * 1024
# --threads and CINEV4_THREADS on the command line (the engine's threads= takes any count from 1).
THREADS_RANGE = (1, 1024)
IO_MODES = ("mmap", "read")
IO_CHOICES = ("auto", *IO_MODES)
CACHE_MODES = ("keep", "drop")
ANCHOR_CHOICES = ("auto", "openat2", "openat-walk")
# Chosen by benchmarks/ (and ``cinev4 bench``): mmap windows beat read() copies
# on page-cached data, and 8 MiB windows keep RSS bounded at no measurable cost.
DEFAULT_IO = "mmap"
DEFAULT_WINDOW = 8 * 1024 * 1024
# Reads in flight ahead of the hashing (README "Reads in flight"): the next N
# windows of each file and the first window of the next N files of a batch are
# asked from the disk (POSIX_FADV_WILLNEED) while the current ones are hashed.
# 2 measured faster than 0, 1 and 4 on cold frames (README); CINEV4_QUEUE_DEPTH.
DEFAULT_QUEUE_DEPTH = 2
QUEUE_DEPTH_RANGE = (0, 64)
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")

# The command-line options that set the engine's settings: name -> (metavar,
# help), one text each for the click commands and for ``cinev4 hash`` (whose
# help starts each line after the first at the same column).
ENGINE_OPTIONS = {
    "threads": ("N", f"hashing threads, {THREADS_RANGE[0]} to {THREADS_RANGE[1]}\n(default: every usable CPU)"),
    "kernel": ("NAME", "force a SHA-256 kernel (see `cinev4 --version`)"),
    "io": ("MODE", f"how files are read: {', '.join(IO_CHOICES)}"),
    "window": ("SIZE", f"bytes read at a time per file: a multiple of\n64K up to 1G "
                       f"(default: {format_size(DEFAULT_WINDOW, 'setting')})"),
}


def parse_window(value: int | str) -> int:
    """A window size in bytes from an int or a text such as ``"8M"``, ``"512K"``
    or ``"1048576"``: a multiple of 64 KiB from 64 KiB to 1 GiB. TypeError for
    anything that is neither an integer nor a str (bools and floats included),
    ValueError for a bad value."""
    if isinstance(value, str):
        try:
            size = parse_size(value)
        except ValueError as exc:
            raise ValueError(f"window {exc}") from None
    elif isinstance(value, (bool, float)):
        raise TypeError(f"window must be an int or a size text such as '8M', not {type(value).__name__}")
    else:
        try:
            size = operator.index(value)  # numpy integers too
        except TypeError:
            raise TypeError(f"window must be an int or a size text such as '8M', not {type(value).__name__}") from None
    if size < WINDOW_UNIT or size > MAX_WINDOW or size % WINDOW_UNIT:
        raise ValueError(f"window must be a multiple of 64 KiB between 64 KiB and 1 GiB, not {size}")
    return size


def parse_threads(text: str) -> int:
    """A ``--threads`` value: a whole number in ``THREADS_RANGE``. ValueError:
    ``not a whole number``, ``at least 1`` or ``at most 1024``."""
    try:
        count = int(text)
    except ValueError:
        raise ValueError("not a whole number") from None
    if count < THREADS_RANGE[0]:
        raise ValueError(f"at least {THREADS_RANGE[0]}")
    if count > THREADS_RANGE[1]:
        raise ValueError(f"at most {THREADS_RANGE[1]}")
    return count


def parse_count(text: str, low: int, high: int) -> int:
    """A whole number from ``low`` to ``high``, written in plain digits."""
    stripped = text.strip()
    if not stripped.isascii() or not stripped.isdigit():
        raise ValueError(f"expected a whole number from {low} to {high}")
    count = int(stripped)
    if not low <= count <= high:
        raise ValueError(f"expected a whole number from {low} to {high}, not {count}")
    return count


def parse_seconds(text: str, low: float, high: float) -> float:
    """A number of seconds (``10``, ``0.5``) from ``low`` to ``high``."""
    stripped = text.strip()
    try:
        seconds = float(stripped) if stripped.replace(".", "", 1).isdigit() and stripped.isascii() else None
    except ValueError:  # pragma: no cover - the digit check admits only floats
        seconds = None
    if seconds is None or not low <= seconds <= high:
        raise ValueError(f"expected a number of seconds from {low:g} to {high:g}")
    return seconds


def _check_kernel(text: str) -> None:
    from cinev4._fasthash import available_kernels, multibuffer_kernels  # only when the variable is set

    offered = available_kernels() + multibuffer_kernels()
    if text not in offered:
        raise ValueError(f"unknown or unavailable kernel; this CPU offers: {', '.join(offered)}")


def _check_choice(choices: tuple[str, ...]) -> Callable[[str], None]:
    def check(text: str) -> None:
        if text not in choices:
            raise ValueError(f"expected one of: {', '.join(repr(c) for c in choices)}")

    return check


def _check_project(text: str) -> None:
    if os.path.exists(text) and not os.path.isdir(text):
        raise ValueError("not a folder (expected the project root, the folder holding project.json)")


# Each variable the package reads, and how its value is checked. Variables of
# the build (CINEV4_SANITIZE) and of the benchmarks (CINEV4_BENCH_*) are read
# by those tools, not by the package.
_CHECKS: dict[str, Callable[[str], object]] = {
    "CINEV4_THREADS": lambda text: parse_count(text, *THREADS_RANGE),
    "CINEV4_WINDOW": parse_window,
    "CINEV4_IO": _check_choice(IO_CHOICES),
    "CINEV4_CACHE": _check_choice(CACHE_MODES),
    "CINEV4_QUEUE_DEPTH": lambda text: parse_count(text, *QUEUE_DEPTH_RANGE),
    "CINEV4_KERNEL": _check_kernel,
    "CINEV4_ANCHOR": _check_choice(ANCHOR_CHOICES),
    "CINEV4_LANE_MIN": lambda text: parse_count(text, 1, 1024),
    "CINEV4_PREFAULT": _check_choice(("0", "1")),
    "CINEV4_JOURNAL_BATCH_FILES": lambda text: parse_count(text, 1, 2**31 - 1),
    "CINEV4_PROJECT": _check_project,
    "CINEV4_DEBUG": lambda text: _check_choice(_TRUE + _FALSE)(text.lower()),
    "CINEV4_PROGRESS": lambda text: _check_choice(_TRUE + _FALSE)(text.lower()),
    "CINEV4_PROGRESS_INTERVAL": lambda text: parse_seconds(text, 0.0, 86400.0),
}


def environment_problems(environ: Mapping[str, str] | None = None) -> list[str]:
    """One line per ``CINEV4_*`` variable set to a value cinev4 cannot use,
    e.g. ``CINEV4_THREADS='abc': expected a whole number from 1 to 1024``.
    An empty value counts as unset (the engine reads it so)."""
    env = os.environ if environ is None else environ
    problems = []
    for name, check in _CHECKS.items():
        value = env.get(name)
        if not value:
            continue
        try:
            check(value)
        except ValueError as exc:
            problems.append(f"{name}={value!r}: {exc}")
    return problems


def debug_enabled(environ: Mapping[str, str] | None = None) -> bool:
    """Whether ``CINEV4_DEBUG`` asks for tracebacks (1, true, yes, on)."""
    env = os.environ if environ is None else environ
    return env.get("CINEV4_DEBUG", "").lower() in _TRUE


def resolve_progress() -> bool | None:
    """``CINEV4_PROGRESS``: True asks every command for progress output, False turns it
    all off, None (unset) leaves it to the command (a bar on a terminal, ``--progress``)."""
    text = os.environ.get("CINEV4_PROGRESS", "").lower()
    return True if text in _TRUE else False if text in _FALSE else None


def resolve_progress_interval(default: float) -> float:
    """``CINEV4_PROGRESS_INTERVAL``: seconds between the plain progress lines of a log."""
    text = os.environ.get("CINEV4_PROGRESS_INTERVAL", "")
    return float(text) if text else default  # checked at start-up by environment_problems


def pipeline_cache_mode() -> Literal["keep", "drop"]:
    """What the pipeline's reads (manifest, verify, publish's read-back) do with the
    page cache: ``CINEV4_CACHE`` when set, else "drop" (pages that were not resident
    before are dropped once hashed: README "Page cache")."""
    return "keep" if resolve_cache(None, "drop") == "keep" else "drop"


# --- The engine's settings: keyword, else environment, else default --------------------
# Each reads its variable once per call; an empty value counts as unset.


def usable_cpus() -> int:
    """The CPUs this process may run on (its affinity mask where the OS has one)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def resolve_threads(threads: int | None = None) -> int:
    """Worker threads: ``threads``, else ``CINEV4_THREADS``, else the usable CPUs."""
    if threads is not None:
        if isinstance(threads, (bool, float)):
            raise TypeError(f"threads must be an int or None, not {type(threads).__name__}")
        count = operator.index(threads)
        if count < 1:
            raise ValueError(f"threads must be at least 1, not {count}")
        return count
    env = os.environ.get("CINEV4_THREADS")
    if not env:
        return usable_cpus()
    try:
        count = int(env)
    except ValueError:
        raise ValueError(f"CINEV4_THREADS={env!r} is not a whole number") from None
    if count < 1:
        raise ValueError(f"CINEV4_THREADS must be at least 1, not {count}")
    return count


def resolve_kernel(kernel: str | None = None) -> str | None:
    """The kernel asked for: ``kernel``, else ``CINEV4_KERNEL``; None: the engine's choice."""
    return kernel if kernel is not None else (os.environ.get("CINEV4_KERNEL") or None)


def resolve_lane_min() -> int | None:
    """``CINEV4_LANE_MIN``: files in flight from which the lanes are used; None: measured."""
    env = os.environ.get("CINEV4_LANE_MIN")
    if not env:
        return None
    try:
        return int(env)
    except ValueError:
        raise ValueError(f"CINEV4_LANE_MIN={env!r} is not a whole number") from None


def resolve_io(io: str | None = None) -> str:
    """How files are read, ``"mmap"`` or ``"read"``: ``io``, else ``CINEV4_IO``, else
    ``DEFAULT_IO`` (``"auto"`` is the default too)."""
    if io is None:
        io = os.environ.get("CINEV4_IO") or DEFAULT_IO
    if io == "auto":
        io = DEFAULT_IO
    if io not in IO_MODES:
        raise ValueError(f"unknown I/O mode {io!r}; choose one of: {', '.join(IO_CHOICES)}")
    return io


def resolve_window(window: int | str | None = None) -> int:
    """Window bytes: ``window``, else ``CINEV4_WINDOW``, else ``DEFAULT_WINDOW``; the
    argument and the variable accept the same forms (8388608, "8M", "512K")."""
    if window is None:
        window = os.environ.get("CINEV4_WINDOW") or DEFAULT_WINDOW
    return parse_window(window)


def resolve_cache(cache: str | None, default: str) -> str:
    """The page-cache mode: ``cache``, else ``CINEV4_CACHE``, else the entry point's
    own ``default`` ("keep" for ``hash_files``, "drop" for the pipeline's)."""
    if cache is None:
        cache = os.environ.get("CINEV4_CACHE") or default
    if cache not in CACHE_MODES:
        raise ValueError(f"unknown cache mode {cache!r}; choose one of: {', '.join(CACHE_MODES)}")
    return cache


def resolve_queue_depth() -> int:
    """Reads in flight ahead of the hashing: ``CINEV4_QUEUE_DEPTH``, else ``DEFAULT_QUEUE_DEPTH``."""
    env = os.environ.get("CINEV4_QUEUE_DEPTH")
    return parse_count(env, *QUEUE_DEPTH_RANGE) if env else DEFAULT_QUEUE_DEPTH


def resolve_prefault() -> bool:
    """A helper thread faults in each worker's next mapped window where a core per
    worker is idle (one big file on a multi-core node); ``CINEV4_PREFAULT=0`` turns
    it off. On by default: one page-cached 512 MiB file hashed 4-5% faster with it
    on the shared 2-vCPU machine, the same file cold about 10% faster (README)."""
    env = os.environ.get("CINEV4_PREFAULT")
    if env:
        try:
            _CHECKS["CINEV4_PREFAULT"](env)
        except ValueError as exc:
            raise ValueError(f"CINEV4_PREFAULT={env!r}: {exc}") from None
    return env != "0"


def resolve_anchor() -> str:
    """``CINEV4_ANCHOR``: how files are opened beneath a root, one of ``ANCHOR_CHOICES``."""
    choice = os.environ.get("CINEV4_ANCHOR") or "auto"
    if choice not in ANCHOR_CHOICES:
        raise ValueError(f"CINEV4_ANCHOR={choice!r}: expected one of: {', '.join(ANCHOR_CHOICES)}")
    return choice
