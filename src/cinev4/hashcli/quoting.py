"""File names in diagnostics, quoted as GNU coreutils quotes them (``quotef``:
the shell-escape style, with ``:`` quoted too), so ``cinev4 hash`` error
lines read exactly as ``sha256sum``'s.

A name that a shell would read back unchanged is shown bare; otherwise it is
put in single quotes (``'it'\\''s'``), or in double quotes when it holds a
single quote and nothing a double quote would change (``"it's"``); bytes
that are not printable are written as ``$'\\n'``, ``$'\\376'`` pieces. Whether
a non-ASCII byte sequence is printable depends on the locale: UTF-8 when
``LC_ALL``/``LC_CTYPE``/``LANG`` name a UTF-8 locale, else ASCII only.
"""
from __future__ import annotations

import os

# Characters a shell treats specially: their presence forces quotes.
_SHELL_SPECIAL = frozenset(b" !\"$&'()*;<=>?[\\^`|:")
# Special only as the first character.
_SPECIAL_FIRST = frozenset(b"#~")
# Inside double quotes these would need a backslash: a name with them is single-quoted.
_NOT_DOUBLE_QUOTABLE = frozenset(b"!\"$&()*;<=>?[\\^`|")
_LETTER_ESCAPES = {7: b"\\a", 8: b"\\b", 9: b"\\t", 10: b"\\n", 11: b"\\v", 12: b"\\f", 13: b"\\r"}


def _utf8_locale() -> bool:
    for variable in ("LC_ALL", "LC_CTYPE", "LANG"):
        value = os.environ.get(variable)
        if value:
            return "utf-8" in value.lower() or "utf8" in value.lower()
    return False


def _pieces(name: bytes, utf8: bool) -> list[tuple[bytes, bool]]:
    """The name as (character bytes, printable) pieces."""
    if not utf8 or name.isascii():
        return [(bytes((byte,)), 0x20 <= byte < 0x7F) for byte in name]
    pieces: list[tuple[bytes, bool]] = []
    i = 0
    while i < len(name):
        byte = name[i]
        width = 1 if byte < 0x80 else 2 if 0xC2 <= byte < 0xE0 else 3 if 0xE0 <= byte < 0xF0 else 4 if 0xF0 <= byte < 0xF5 else 0
        chunk = name[i:i + width] if width else b""
        try:
            char = chunk.decode("utf-8") if width else ""
        except UnicodeDecodeError:
            char = ""
        if len(char) == 1:
            pieces.append((chunk, char.isprintable()))
            i += width
        else:
            pieces.append((name[i:i + 1], False))
            i += 1
    return pieces


def quote_name(name: bytes) -> bytes:
    """``name`` as ``sha256sum`` shows it in an error line."""
    if not name:
        return b"''"
    pieces = _pieces(name, _utf8_locale())
    printable = all(ok for _, ok in pieces)
    special = name[0] in _SPECIAL_FIRST or any(len(c) == 1 and c[0] in _SHELL_SPECIAL for c, _ in pieces)
    if printable and not special:
        return name
    if printable and b"'" in name and not any(len(c) == 1 and c[0] in _NOT_DOUBLE_QUOTABLE for c, _ in pieces):
        return b'"' + name + b'"'
    out = bytearray(b"'")
    in_escape = False  # inside a $'...' piece
    for char, ok in pieces:
        if ok:
            if char == b"'":
                out += b"'\\''"  # also ends a $'...' piece: its quote closes that piece
            else:
                out += b"''" + char if in_escape else char
            in_escape = False
            continue
        if not in_escape:
            out += b"'$'"
            in_escape = True
        for byte in char:
            out += _LETTER_ESCAPES.get(byte) or b"\\%03o" % byte
    out += b"'"
    return bytes(out)
