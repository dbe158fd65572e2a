"""The sums-file reader and the diagnostics quoting on their own (no GNU tool needed):
the line forms coreutils accepts, its one-form-per-run memory, C-string NULs, and names
quoted as coreutils quotes them."""
from __future__ import annotations

import pytest

from cinev4.hashcli.quoting import quote_name
from cinev4.hashcli.sumsfile import SumsEntry, SumsParser, format_line

D = "ab" * 32


@pytest.mark.parametrize("line, name", [
    (f"{D}  f", b"f"),
    (f"  \t{D}  f", b"f"),
    (f"{D} *f", b"f"),
    (f"{D.upper()}  f", b"f"),
    (f"SHA256 (f) = {D}", b"f"),
    (f"SHA256(f)= {D}", b"f"),
    (f"SHA256 (f)=\t{D}", b"f"),
    (f"SHA256 (a (b)) = {D}", b"a (b)"),
    (f"\\{D}  a\\nb\\\\c\\rd", b"a\nb\\c\rd"),
    (f"\\SHA256 (a\\\\) = {D}", b"a\\"),
    (f"{D}  a\0rest", b"a"),
])
def test_accepted_forms(line: str, name: bytes) -> None:
    assert SumsParser().parse(line.encode()) == SumsEntry(name, D)


@pytest.mark.parametrize("line", [
    "", "junk", f"{D}", f"{D[:-1]}  f", f"SHA256  (f) = {D}", f"SHA256 (f) = {D} ", f"SHA256 (f) = {D[:-2]}",
    f"SHA1 (f) = {D}", f"\\{D}  a\\x", f"\\{D}  a\\", f"\\{D}  a\0b", "SHA256 (", "\0" * 64 + "  h",
])
def test_improperly_formatted(line: str) -> None:
    assert SumsParser().parse(line.encode()) is None


def test_one_line_form_per_run() -> None:
    parser = SumsParser()
    assert parser.parse(f"{D}  f".encode()) == SumsEntry(b"f", D)
    assert parser.parse(f"{D} f".encode()) is None  # the reversed form, after a standard line
    reversed_first = SumsParser()
    assert reversed_first.parse(f"{D} f".encode()) == SumsEntry(b"f", D)
    assert reversed_first.parse(f"{D}  f".encode()) == SumsEntry(b" f", D)  # the blank is the name's


def test_lines_skip_comments_and_empty_lines_and_strip_one_cr() -> None:
    data = b"# comment\n\n\r\n" + f"{D}  f\r\r\n".encode() + b" #x\nlast"
    assert list(SumsParser().lines(data)) == [(4, f"{D}  f\r".encode()), (5, b" #x"), (6, b"last")]


def test_written_lines() -> None:
    assert format_line(D, b"a\\b") == f"\\{D}  a\\\\b\n".encode()
    assert format_line(D, b"a\nb", zero=True) == f"{D}  a\nb\0".encode()
    assert format_line(D, b"x", tag=True, binary=True) == f"SHA256 (x) = {D}\n".encode()


@pytest.mark.parametrize("name, shown", [
    (b"plain.exr", b"plain.exr"), (b"sp ace", b"'sp ace'"), (b"it's", b'"it\'s"'), (b"a:b", b"'a:b'"),
    (b"#x", b"'#x'"), (b"x#", b"x#"), (b"", b"''"), (b"tab\tx", b"'tab'$'\\t''x'"), (b"\xfe", b"''$'\\376'"),
    (b"it's\"", b"'it'\\''s\"'"), (b"\x01'", b"''$'\\001'\\'''"),
])
def test_quote_name_as_coreutils(name: bytes, shown: bytes) -> None:
    assert quote_name(name, utf8=True) == shown


def test_quote_name_in_the_c_locale() -> None:
    # The locale the process really has decides (tests/engine/test_hash_cli_faults.py runs the
    # command under each); here it is given.
    assert quote_name("é".encode(), utf8=False) == b"''$'\\303\\251'"
    assert quote_name("é".encode(), utf8=True) == "é".encode()
