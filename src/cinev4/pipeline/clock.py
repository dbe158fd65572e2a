"""The time cinev4 writes into documents: UTC, ISO-8601 with Z; and how coarse the file
systems' own times may be (``RACY_NS``).

``SOURCE_DATE_EPOCH`` (reproducible-builds.org) replaces the clock when set,
so that re-running a pipeline on the same files gives the same bytes.
"""
from __future__ import annotations

import os
import time

from cinev4.errors import ContractError

__all__ = ["utc_now", "format_utc", "RACY_NS"]

# A file changed within this long of being stat'ed may show the same mtime before and after:
# FAT and some network file systems keep mtimes to 2 s (the journal and staging trust a
# stat only when the file is older than this).
RACY_NS = 2_000_000_000

# 9999-12-31T23:59:59Z: the last second a four-digit year (RFC 3339, the schemas' date-time) can write.
_LAST_EPOCH_SECOND = 253_402_300_799


def format_utc(epoch_seconds: int) -> str:
    """``0`` -> ``1970-01-01T00:00:00Z`` (second precision, always Z)."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch_seconds))


def utc_now() -> str:
    """Now, or ``SOURCE_DATE_EPOCH`` when set (a malformed value is an error, as the spec asks)."""
    fixed = os.environ.get("SOURCE_DATE_EPOCH")
    if fixed is None or fixed == "":
        return format_utc(int(time.time()))
    # isascii: str.isdigit also takes superscripts and other scripts' digits ('²', '٣').
    if not (fixed.isascii() and fixed.isdigit()) or len(fixed) > 12 or int(fixed) > _LAST_EPOCH_SECOND:
        raise ContractError(f"SOURCE_DATE_EPOCH={fixed!r} is not valid (expected a non-negative integer of "
                            f"seconds, at most {_LAST_EPOCH_SECOND}: 9999-12-31T23:59:59Z)")
    return format_utc(int(fixed))
