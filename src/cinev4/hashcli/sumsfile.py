"""GNU ``sha256sum`` line format: writing it byte for byte, and reading it back
exactly as GNU coreutils reads it (README, "cinev4 hash").

Names are bytes (as the file system holds them). A name that holds a
backslash, newline or carriage return is escaped (``\\\\``, ``\\n``, ``\\r``)
and its line starts with a backslash; ``-z`` lines end with NUL and are never
escaped. In ``--check`` output only a newline in the name triggers escaping.

Reading follows coreutils line by line, including what looks accidental:
leading blanks, a tab or one space after the digest (the "reversed" form:
once a sums run has used it, two-space lines are refused, and the other way
round), ``SHA256(name)= digest`` with any blanks around ``=``, comment lines
only when ``#`` is the very first byte, a NUL ending the line early as it
ends a C string (a NUL inside an escaped name makes the line improperly
formatted).
"""
from __future__ import annotations

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (checkers treat the name alike)
if TYPE_CHECKING:  # annotations only: `cinev4 hash` starts without collections
    from collections.abc import Iterator


DIGEST_HEX_LENGTH = 64
# The digest, one blank, at least one byte of name.
_MIN_LINE_LENGTH = DIGEST_HEX_LENGTH + 2
_ALGORITHM_TAG = b"SHA256"
_BLANKS = b" \t"
_HEX_DIGITS = frozenset(b"0123456789abcdefABCDEF")
_UNESCAPES = {ord("\\"): b"\\", ord("n"): b"\n", ord("r"): b"\r"}


def needs_escape(name: bytes) -> bool:
    return b"\\" in name or b"\n" in name or b"\r" in name


def escape_name(name: bytes) -> bytes:
    return name.replace(b"\\", b"\\\\").replace(b"\n", b"\\n").replace(b"\r", b"\\r")


def format_line(sha256_hex: str, name: bytes, *, binary: bool = False, tag: bool = False,
                zero: bool = False) -> bytes:
    """One output line of ``sha256sum [-b] [--tag] [-z] NAME``, its end included."""
    end = b"\0" if zero else b"\n"
    lead = b""
    if not zero and needs_escape(name):
        lead, name = b"\\", escape_name(name)
    if tag:
        return lead + b"SHA256 (" + name + b") = " + sha256_hex.encode() + end
    return lead + sha256_hex.encode() + (b" *" if binary else b"  ") + name + end


def format_lines(results: list[tuple[bytes, bytes]], *, binary: bool = False, tag: bool = False,
                 zero: bool = False) -> bytes:
    """Many lines at once from ``(name, hex digest as ASCII bytes)`` pairs: one
    join, and escaping looked for once over all the names."""
    names = [name for name, _ in results]
    joined = b"\0".join(names)
    if tag or (not zero and (b"\\" in joined or b"\n" in joined or b"\r" in joined)):
        return b"".join([format_line(hexdigest.decode(), name, binary=binary, tag=tag, zero=zero)
                         for name, hexdigest in results])
    middle = b" *" if binary else b"  "
    end = b"\0" if zero else b"\n"
    return b"".join([hexdigest + middle + name + end for name, hexdigest in results])


def format_check_name(name: bytes) -> bytes:
    """A name as ``sha256sum -c`` prints it before ``: OK``."""
    if b"\n" in name:
        return b"\\" + escape_name(name)
    return name


class SumsEntry:
    """One checksum line: the file's name and its expected digest (lowercase hex)."""

    __slots__ = ("name", "sha256")

    def __init__(self, name: bytes, sha256: str) -> None:
        self.name = name
        self.sha256 = sha256

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SumsEntry) and (self.name, self.sha256) == (other.name, other.sha256)

    def __repr__(self) -> str:
        return f"SumsEntry(name={self.name!r}, sha256={self.sha256!r})"


def _c_string(data: bytes) -> bytes:
    """``data`` up to its first NUL, as C reads a string."""
    end = data.find(b"\0")
    return data if end < 0 else data[:end]


def _is_digest(text: bytes) -> bool:
    return len(text) == DIGEST_HEX_LENGTH and all(c in _HEX_DIGITS for c in text)


def _unescape(name: bytes) -> bytes | None:
    """The name behind ``\\\\``, ``\\n``, ``\\r``; None for any other escape,
    a trailing backslash, or a NUL."""
    if b"\0" in name:
        return None
    if b"\\" not in name:
        return name
    out = bytearray()
    i = 0
    while i < len(name):
        byte = name[i]
        if byte == 0x5C:
            plain = _UNESCAPES.get(name[i + 1]) if i + 1 < len(name) else None
            if plain is None:
                return None
            out += plain
            i += 2
        else:
            out.append(byte)
            i += 1
    return bytes(out)


class SumsParser:
    """Reads checksum lines as GNU coreutils does. One parser serves every sums
    file of one run: coreutils remembers, across files, whether the run uses
    the one-blank ("reversed") form or the two-character form."""

    def __init__(self) -> None:
        self._reversed: bool | None = None  # not yet known

    def lines(self, data: bytes) -> Iterator[tuple[int, bytes]]:
        """``(line number, line)`` for each line to parse: comments (``#`` as the
        first byte) and empty lines skipped, one ``\\n`` then one ``\\r`` removed."""
        number = 0
        for raw in data.split(b"\n"):
            number += 1
            if not raw or raw[0] == 0x23:  # the piece after the last newline, or a comment
                continue
            if raw[-1] == 0x0D:
                raw = raw[:-1]
                if not raw:
                    continue
            yield number, raw

    def parse(self, line: bytes) -> SumsEntry | None:
        """One line (without its line end); None when improperly formatted."""
        text = line + b"\0"  # C's terminator: reading past the end reads a NUL
        i = 0
        while text[i] in _BLANKS:
            i += 1
        escaped = text[i] == 0x5C
        if escaped:
            i += 1
        if text.startswith(_ALGORITHM_TAG, i):
            i += len(_ALGORITHM_TAG)
            if text[i] == 0x20:
                i += 1
            if text[i] != 0x28:  # "("
                return None
            return self._parse_tagged(line[i + 1:], escaped)
        if len(line) - i < _MIN_LINE_LENGTH + (text[i] == 0x5C):
            return None
        digest = line[i:i + DIGEST_HEX_LENGTH]
        i += DIGEST_HEX_LENGTH
        if text[i] not in _BLANKS or not _is_digest(digest):
            return None
        i += 1
        if len(line) - i == 1 or text[i] not in b" *":
            if self._reversed is False:
                return None
            self._reversed = True
        elif self._reversed is not True:
            self._reversed = False
            i += 1
        name = _unescape(line[i:]) if escaped else _c_string(line[i:])
        if name is None:
            return None
        return SumsEntry(name, digest.decode("ascii").lower())

    @staticmethod
    def _parse_tagged(rest: bytes, escaped: bool) -> SumsEntry | None:
        """``NAME) = DIGEST`` of a ``SHA256 (NAME) = DIGEST`` line: the name ends at the last ``)``."""
        close = rest.rfind(b")")
        if close < 0:
            return None
        name = _unescape(rest[:close]) if escaped else _c_string(rest[:close])
        if name is None:
            return None
        after = rest[close + 1:].lstrip(_BLANKS)
        if after[:1] != b"=":
            return None
        digest = _c_string(after[1:].lstrip(_BLANKS))
        if not _is_digest(digest):
            return None
        return SumsEntry(name, digest.decode("ascii").lower())
