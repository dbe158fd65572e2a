"""Sizes in bytes as people write them: the one parser and the one formatter.

``parse_size`` reads what the command line and the ``CINEV4_*`` variables
accept (``8M``, ``512K``, ``1.5G``, ``1048576``); ``format_size`` writes sizes
back in the same binary units (1 K = 1 KiB = 1024 bytes), in one of three
styles that share the unit table:

- ``"amount"`` (the default): an amount of data, one decimal (``1.2 GiB``,
  ``8.0 MiB``, ``512 B``); a progress line keeps its width as it is redrawn.
- ``"exact"``: a size that is a setting or a test size (``8 MiB``, ``1536 KiB``):
  never rounded, since a rounded window would name another window.
- ``"setting"``: the text ``parse_size`` reads back (``8M``, ``512K``), for a
  ``CINEV4_WINDOW`` line to export.

Standard library only, and none of it imported: the CLI's start-up stays light.
"""
from __future__ import annotations

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (checkers treat the name alike)
if TYPE_CHECKING:  # annotations only: `cinev4 hash` starts without importing typing
    from typing import Literal


__all__ = ["UNITS", "format_size", "parse_size"]

# (suffix read and written by parse_size/"setting", unit name, bytes), largest first.
UNITS = (("G", "GiB", 1024**3), ("M", "MiB", 1024**2), ("K", "KiB", 1024))
_SCALE = {suffix.lower(): scale for suffix, _, scale in UNITS}
_NOT_A_SIZE = "is not a size (expected bytes, or a number with K, M or G, e.g. 8M)"


def parse_size(text: str) -> int:
    """Bytes from ``"8M"``, ``"512k"``, ``"1.5G"`` or ``"1048576"`` (spaces around
    ignored). ValueError, saying what is accepted, for anything else, a
    fraction of a byte included; the caller checks the range it needs."""
    stripped = text.strip()
    scale = _SCALE.get(stripped[-1:].lower(), 1)
    number = stripped[:-1] if scale != 1 else stripped
    whole, point, fraction = number.partition(".")
    digits = whole + fraction
    if not digits or not digits.isascii() or not digits.isdigit() or (point and not fraction):
        raise ValueError(f"{text!r} {_NOT_A_SIZE}")
    tenths = 10 ** len(fraction)
    size, rest = divmod(int(digits) * scale, tenths)
    if rest:
        raise ValueError(f"{text!r} is not a whole number of bytes")
    return size


def format_size(size: float, style: Literal["amount", "exact", "setting"] = "amount") -> str:
    """``size`` bytes in binary units, in one of the module's three styles."""
    if style == "amount":
        value = float(size)
        for name in ("B", "KiB", "MiB", "GiB", "TiB"):
            if value < 1024 or name == "TiB":
                return f"{int(value)} B" if name == "B" else f"{value:.1f} {name}"
            value /= 1024
    count = int(size)
    for suffix, name, scale in UNITS:
        if count >= scale and count % scale == 0:
            return f"{count // scale}{suffix}" if style == "setting" else f"{count // scale} {name}"
    return f"{count}" if style == "setting" else f"{count} B"
