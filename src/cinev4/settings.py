"""The ``CINEV4_*`` environment variables: what each accepts, checked once.

The command line calls ``environment_problems()`` before any command runs
(``--version`` included), so a bad value is one line and exit 2 at start-up,
not a traceback from whichever layer reads it first. The engine parses
``CINEV4_WINDOW`` and the ``window=`` argument with ``parse_window`` from here,
so the variable and the argument accept the same forms.

Pure Python importing only the standard library's lightest modules: the
CLI's start-up stays light.
"""
from __future__ import annotations

import operator
import os
from collections.abc import Callable, Mapping
from typing import Literal

__all__ = [
    "WINDOW_UNIT", "MAX_WINDOW", "debug_enabled", "environment_problems", "parse_count", "parse_seconds", "parse_window",
    "pipeline_cache_mode",
]

WINDOW_UNIT = 64 * 1024
MAX_WINDOW = 1024 * 1024 * 1024
_SCALE = {"k": 1024, "m": 1024**2, "g": 1024**3}
_IO_CHOICES = ("auto", "mmap", "read")
_CACHE_CHOICES = ("keep", "drop")
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


def parse_window(value: int | str) -> int:
    """A window size in bytes from an int or a text such as ``"8M"``, ``"512K"``
    or ``"1048576"``: a multiple of 64 KiB from 64 KiB to 1 GiB. TypeError for
    anything that is neither an integer nor a str (bools and floats included),
    ValueError for a bad value."""
    if isinstance(value, str):
        text = value.strip()
        scale = _SCALE.get(text[-1:].lower(), 1)
        digits = text[:-1] if scale != 1 else text
        if not digits.isascii() or not digits.isdigit():
            raise ValueError(f"window {value!r} is not a size (expected bytes, or a number with K, M or G, e.g. 8M)")
        size = int(digits) * scale
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
    "CINEV4_THREADS": lambda text: parse_count(text, 1, 1024),
    "CINEV4_WINDOW": parse_window,
    "CINEV4_IO": _check_choice(_IO_CHOICES),
    "CINEV4_CACHE": _check_choice(_CACHE_CHOICES),
    "CINEV4_QUEUE_DEPTH": lambda text: parse_count(text, 0, 64),
    "CINEV4_KERNEL": _check_kernel,
    "CINEV4_ANCHOR": _check_choice(("auto", "openat2", "openat-walk")),
    "CINEV4_LANE_MIN": lambda text: parse_count(text, 1, 1024),
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


def pipeline_cache_mode(environ: Mapping[str, str] | None = None) -> Literal["keep", "drop"]:
    """What the pipeline's reads (manifest, verify, publish's read-back) do with the
    page cache: ``CINEV4_CACHE`` when set, else "drop" (pages that were not resident
    before are dropped once hashed: README "Page cache")."""
    env = os.environ if environ is None else environ
    value = env.get("CINEV4_CACHE") or "drop"
    if value == "keep":
        return "keep"
    if value == "drop":
        return "drop"
    raise ValueError(f"CINEV4_CACHE={value!r}: expected one of: 'keep', 'drop'")
