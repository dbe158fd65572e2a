"""File names in diagnostics, quoted as GNU coreutils quotes them (``quotef``:
the shell-escape style, with ``:`` quoted too), so ``cinev4 hash`` error
lines read exactly as ``sha256sum``'s.

A name that a shell would read back unchanged is shown bare; otherwise it is
put in single quotes (``'it'\\''s'``), or in double quotes when it holds a
single quote and nothing a double quote would change (``"it's"``); bytes
that are not printable are written as ``$'\\n'``, ``$'\\376'`` pieces.

Whether a non-ASCII character is printable is decided as coreutils decides it:
by the C library's ``iswprint`` in the LC_CTYPE locale that ``setlocale(LC_CTYPE,
"")`` really gave (Python's start-up made that call; a locale that is not
installed leaves "C", where only ASCII is printable). In a UTF-8 locale glibc
prints every assigned character but the controls and the line and paragraph
separators: NBSP, U+3000, the soft hyphen, U+200B, U+202E, U+FEFF and private
use characters included, which ``str.isprintable`` refuses. The locale and the
C library are consulted only for a name that holds a non-ASCII byte.
"""
from __future__ import annotations

import os
import sys

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (checkers treat the name alike)
if TYPE_CHECKING:
    from collections.abc import Callable

# Characters a shell treats specially: their presence forces quotes.
_SHELL_SPECIAL = frozenset(b" !\"$&'()*;<=>?[\\^`|:")
# Special only as the first character.
_SPECIAL_FIRST = frozenset(b"#~")
# Inside double quotes these would need a backslash: a name with them is single-quoted.
_NOT_DOUBLE_QUOTABLE = frozenset(b"!\"$&()*;<=>?[\\^`|")
_LETTER_ESCAPES = {7: b"\\a", 8: b"\\b", 9: b"\\t", 10: b"\\n", 11: b"\\v", 12: b"\\f", 13: b"\\r"}
# glibc's iswprint in a UTF-8 locale (localedata/unicode-gen: is_print): an assigned
# character that is neither a control nor a line or paragraph separator. Surrogates
# never decode from UTF-8.
_NOT_PRINTABLE_CATEGORIES = frozenset({"Cc", "Cs", "Cn", "Zl", "Zp"})


def _codeset() -> str:
    """The C library's LC_CTYPE character set, normalised (``UTF8``, ``ANSIX3.41968``)."""
    try:
        import _locale  # built in: the locale module would import re and more

        codeset = _locale.nl_langinfo(_locale.CODESET)
    except (ImportError, AttributeError, ValueError):  # Windows: no nl_langinfo
        return ""
    return codeset.upper().replace("-", "").replace("_", "")


def _coerced_by_python() -> bool:
    """Whether Python's start-up found the C locale and switched LC_CTYPE to a UTF-8
    one itself (PEP 538: it sets the variable LC_CTYPE too)."""
    value = os.environ.get("LC_CTYPE")
    if os.environ.get("LC_ALL") or value not in ("C.UTF-8", "C.utf8", "UTF-8"):
        return False
    try:  # the environment the process was started with (Linux)
        with open("/proc/self/environ", "rb") as handle:
            return b"LC_CTYPE=" + value.encode() not in handle.read().split(b"\0")
    except OSError:  # elsewhere: the C locale also turns on the UTF-8 mode (PEP 540) unless asked otherwise
        asked = "utf8" in getattr(sys, "_xoptions", {}) or (
            not sys.flags.ignore_environment and bool(os.environ.get("PYTHONUTF8")))
        return bool(sys.flags.utf8_mode) and not asked


def _utf8_locale() -> bool:
    """Whether ``sha256sum`` run with this environment reads names as UTF-8.

    The C library's LC_CTYPE decides, as Python's start-up set it from LC_ALL,
    LC_CTYPE and LANG: a UTF-8 name of a locale that is not installed leaves the C
    locale. One exception: where that start-up found the C or POSIX locale, Python
    may have switched LC_CTYPE to C.UTF-8; GNU stays in the C locale there."""
    return _codeset() == "UTF8" and not _coerced_by_python()


_printable_function: list[Callable[[str], bool]] = []  # the checker, chosen on first use


def _libc_iswprint() -> Callable[[str], bool] | None:
    """The C library's own ``iswprint`` (what coreutils calls), where the C library's
    locale is a UTF-8 one (its wide characters are then Unicode code points)."""
    if _codeset() != "UTF8":
        return None
    try:
        import ctypes

        function = ctypes.CDLL(None).iswprint
    except (ImportError, OSError, AttributeError, TypeError):  # no ctypes, or no libc to ask (Windows)
        return None
    function.argtypes = (ctypes.c_uint32,)  # wint_t: 32 bits on glibc, musl and macOS
    function.restype = ctypes.c_int
    return lambda char: bool(function(ord(char)))


def _unicode_rule(char: str) -> bool:
    """glibc's rule on Python's Unicode tables (exact where both have the same Unicode version)."""
    import unicodedata

    return unicodedata.category(char) not in _NOT_PRINTABLE_CATEGORIES


def _printable_non_ascii(char: str) -> bool:
    if not _printable_function:
        _printable_function.append(_libc_iswprint() or _unicode_rule)
    return _printable_function[0](char)


def _pieces(name: bytes, utf8: bool) -> list[tuple[bytes, bool]]:
    """The name as (character bytes, printable) pieces."""
    if not utf8 or name.isascii():
        return [(bytes((byte,)), 0x20 <= byte < 0x7F) for byte in name]
    pieces: list[tuple[bytes, bool]] = []
    i = 0
    while i < len(name):
        byte = name[i]
        if byte < 0x80:
            pieces.append((name[i:i + 1], 0x20 <= byte < 0x7F))
            i += 1
            continue
        width = 2 if 0xC2 <= byte < 0xE0 else 3 if 0xE0 <= byte < 0xF0 else 4 if 0xF0 <= byte < 0xF5 else 0
        chunk = name[i:i + width] if width else b""
        try:
            char = chunk.decode("utf-8") if width else ""
        except UnicodeDecodeError:
            char = ""
        if len(char) == 1:
            pieces.append((chunk, _printable_non_ascii(char)))
            i += width
        else:  # not a character in UTF-8: the byte alone, escaped
            pieces.append((name[i:i + 1], False))
            i += 1
    return pieces


def quote_name(name: bytes, utf8: bool | None = None) -> bytes:
    """``name`` as ``sha256sum`` shows it in an error line; ``utf8``: whether the
    locale is a UTF-8 one (None: this process's, as ``sha256sum`` would find it)."""
    if not name:
        return b"''"
    if name.isascii():
        utf8 = False  # the locale changes nothing for ASCII: not asked
    elif utf8 is None:
        utf8 = _utf8_locale()
    pieces = _pieces(name, utf8)
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
