"""GNU ``sha256sum`` line format: writing it byte for byte, and reading it back.

Names are bytes (as the file system holds them). coreutils escapes a name that
holds a backslash, newline or carriage return and marks the line with a
leading backslash; in ``--check`` output only a newline triggers escaping.
"""
from __future__ import annotations

import re
from typing import NamedTuple

_ESCAPES = {b"\\": b"\\\\", b"\n": b"\\n", b"\r": b"\\r"}
_UNESCAPES = {b"\\": b"\\", b"n": b"\n", b"r": b"\r"}
_PLAIN_LINE = re.compile(rb"^(\\?)([0-9a-fA-F]{64}) [ *](.*)$", re.DOTALL)
_TAGGED_LINE = re.compile(rb"^(\\?)SHA256 \((.*)\) = ([0-9a-fA-F]{64})$", re.DOTALL)


def _escape(name: bytes) -> bytes:
    return re.sub(rb"[\\\n\r]", lambda m: _ESCAPES[m.group(0)], name)


def _unescape(name: bytes) -> bytes | None:
    out = bytearray()
    i = 0
    while i < len(name):
        ch = name[i : i + 1]
        if ch == b"\\":
            nxt = name[i + 1 : i + 2]
            if nxt not in _UNESCAPES:
                return None
            out += _UNESCAPES[nxt]
            i += 2
        else:
            out += ch
            i += 1
    return bytes(out)


def format_line(sha256_hex: str, name: bytes) -> bytes:
    """One output line of ``sha256sum NAME`` (text mode), newline included."""
    if b"\\" in name or b"\n" in name or b"\r" in name:
        return b"\\" + sha256_hex.encode() + b"  " + _escape(name) + b"\n"
    return sha256_hex.encode() + b"  " + name + b"\n"


def format_check_name(name: bytes) -> bytes:
    """A name as ``sha256sum -c`` prints it before ``: OK``."""
    if b"\n" in name:
        return b"\\" + _escape(name)
    return name


class SumsEntry(NamedTuple):
    name: bytes
    sha256: str  # lowercase hex


def parse_line(line: bytes) -> SumsEntry | None:
    """Parse one line (without its newline); None when it is not a checksum line."""
    if line.endswith(b"\r"):
        line = line[:-1]
    match = _PLAIN_LINE.match(line)
    if match:
        escaped, digest, name = match.groups()
    else:
        match = _TAGGED_LINE.match(line)
        if not match:
            return None
        escaped, name, digest = match.groups()
    if escaped:
        unescaped = _unescape(name)
        if unescaped is None:
            return None
        name = unescaped
    if not name:
        return None
    return SumsEntry(name, digest.decode().lower())
