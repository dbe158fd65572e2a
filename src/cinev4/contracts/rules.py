"""The contract rules a JSON Schema cannot say, in one place.

- path safety: a contract path is relative, POSIX, stays inside the project
  root (also through symlinks), and is valid UTF-8 without control characters;
- uniqueness: an artifact path appears once per manifest;
- placement: a manifest lists only files of its own shot version's folder;
- safe ids: shot, release and project ids become folder names, so they are
  checked (against the schema's own ``safe_id`` definition) before any path
  is built from them;
- portable paths: manifest paths are NFC-normalised Unicode (macOS writes
  names decomposed, NFD; Linux and Windows keep what they are given, so the
  same name would otherwise be two different paths), and names that only
  work on some platforms (case-only clashes, names Windows refuses) are
  warned about.
"""
from __future__ import annotations

import os
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from cinev4.contracts import layout
from cinev4.contracts.jsonio import json_path
from cinev4.contracts.schemas import is_valid_ref, schema
from cinev4.errors import ContractError, UnsafePathError

__all__ = [
    "path_problems",
    "all_plain",
    "check_path",
    "resolve_inside",
    "as_the_kernel_reads",
    "duplicate_problems",
    "manifest_problems",
    "check_id",
    "nfc",
    "portability_warnings",
]

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_SURROGATE = re.compile("[\ud800-\udfff]")
_DRIVE = re.compile(r"^[A-Za-z]:")
# A path of plain segments (not empty, "." or "..", no backslash, control character or lone
# surrogate): the common case, decided by one match so a 100,000-file folder costs little.
_SEGMENT = r"(?!\.\.?(?:/|$))[^/\\\x00-\x1f\x7f\ud800-\udfff]+"
_PLAIN = re.compile(f"{_SEGMENT}(?:/{_SEGMENT})*")


def path_problems(path: str) -> list[str]:
    """What makes ``path`` unsafe as a contract path (empty list: safe syntax).

    Only the text is judged here; where it points is ``resolve_inside``'s job.
    """
    if _PLAIN.fullmatch(path) and not _DRIVE.match(path):
        return []
    problems: list[str] = []
    if path.startswith("/") or _DRIVE.match(path):
        problems.append("is absolute (expected a path relative to the project root)")
    if "\\" in path:
        problems.append("contains a backslash (expected '/' separators)")
    segments = path.split("/")
    if ".." in segments:
        problems.append("contains '..' (expected a path that stays inside the project root)")
    if any(segment in ("", ".") for segment in segments) and not problems:
        problems.append("has an empty or '.' segment (expected a normalised path like a/b/c)")
    if _SURROGATE.search(path):
        problems.append("is not valid UTF-8 (expected a UTF-8 file name)")
    if _CONTROL.search(path):
        problems.append("contains a control character (expected printable characters)")
    return problems


# What no plain ASCII path holds: control characters and the backslash ("\n" is the
# separator of the joined text, counted apart; it becomes "/" so that one search finds
# an empty segment at a path's start or end as well as inside it).
_NOT_PLAIN_ASCII = bytes(range(0x0a)) + bytes(range(0x0b, 0x20)) + b"\x7f\\"
_NEWLINE_AS_SLASH = bytes.maketrans(b"\n", b"/")


def all_plain(paths: list[str], prefix: str = "") -> bool:
    """Whether every one of ``paths`` is plain ASCII text for which ``path_problems`` finds
    nothing and which starts with ``prefix``: decided on the joined text by a few C-speed
    string scans, so a 100,000-file folder costs no call per path. False says only that
    some path needs the per-path rules (non-ASCII, a segment starting with '.', a ':')."""
    if not paths:
        return True
    joined = "\n".join(paths)
    if not joined.isascii() or joined.count("\n") != len(paths) - 1:
        return False  # non-ASCII text, or a path holding a newline itself
    raw = joined.encode("ascii")
    kept = raw.translate(_NEWLINE_AS_SLASH, _NOT_PLAIN_ASCII)
    # No dropped character, no empty segment (no leading, trailing or doubled '/', no empty
    # path), none starting with '.' (so none is '.' or '..'), no ':' (so no drive letter).
    if len(kept) != len(raw) or not kept or kept[:1] in b"/." or kept.endswith(b"/"):
        return False
    if b"//" in kept or b"/." in kept or b":" in kept:
        return False
    return not prefix or ("\n" + joined).count("\n" + prefix) == len(paths)


def check_path(path: str, source: str = "path") -> None:
    """Raise UnsafePathError if ``path`` is not a safe contract path."""
    problems = path_problems(path)
    if problems:
        raise UnsafePathError([f"{source}: {path!r} {problem}" for problem in problems])


def resolve_inside(root: str | os.PathLike[str], path: str, source: str = "path") -> Path:
    """The real location of the contract ``path`` under ``root``.

    Raises UnsafePathError when the text is unsafe or when it resolves,
    through any symlink on the way, outside the root. The returned path is
    the resolved one, so that what is read later is what was checked here.
    The file need not exist (a missing artifact is the verifier's business).
    """
    check_path(path, source)
    real_root = os.path.realpath(root)
    target = os.path.realpath(os.path.join(real_root, *path.split("/")))
    if os.path.commonpath([real_root, target]) != real_root:
        raise UnsafePathError(f"{source}: {path!r} resolves outside the project root (through a symlink)")
    return Path(target)


def as_the_kernel_reads(path: str | os.PathLike[str], layout_names: int) -> Path:
    """``path`` (a file given on the command line) as an absolute path naming what opening
    it opens: its last ``layout_names`` names kept as they are (the layout's own: ContractError
    for a ``..`` among them), the folders above them resolved by the file system.

    Not ``os.path.abspath``: it drops ``link/..`` as text, where the kernel goes to the link's
    target and then up from there; the two can name different trees."""
    # The current folder first (getcwd names it without links or ".."), so that a path given
    # from inside the layout (manifest.json in its own folder) still has all its names.
    names = Path(os.getcwd(), os.fspath(path)).parts  # "." and doubled slashes dropped, ".." kept
    kept = names[-layout_names:] if layout_names else ()
    if len(kept) < layout_names or os.pardir in kept:
        raise ContractError(f"{os.fspath(path)}: the layout's last {layout_names} names must be given plainly "
                            f"(no '..' among them)")
    return Path(os.path.realpath(Path(*names[:len(names) - layout_names]))).joinpath(*kept)


def nfc(path: str) -> str:
    """``path`` in Unicode normal form C, the form manifest paths are written in."""
    return unicodedata.normalize("NFC", path)


# What Windows refuses in a file name (besides control characters, refused everywhere).
_WINDOWS_CHARS = re.compile(r'[<>:"|?*]')
_WINDOWS_DEVICES = frozenset(
    ["CON", "PRN", "AUX", "NUL"] + [f"COM{i}" for i in range(1, 10)] + [f"LPT{i}" for i in range(1, 10)]
)


def _windows_problem(segment: str) -> str | None:
    found = _WINDOWS_CHARS.search(segment)
    if found:
        return f"contains {found.group()!r}"
    if segment.endswith((" ", ".")):
        return "ends with a space or a dot"
    if segment.split(".", 1)[0].rstrip(" ").upper() in _WINDOWS_DEVICES:
        return "is a reserved device name"
    return None


_WINDOWS_ASCII_CHARS = b'<>:"|?*'
_DEVICE_STARTS = tuple(sorted({name[:3].lower() for name in _WINDOWS_DEVICES}))


def _portable_in_bulk(paths: list[str]) -> bool:
    """Whether none of ``paths`` can draw a portability warning, judged on the joined text
    (C-speed scans, no call per path). False says only that the per-path look is needed: a
    non-ASCII name, a character or ending Windows refuses, a segment that starts like a
    device name (con, aux, com1...), or two spellings of one name."""
    joined = "\n".join(paths)
    if not joined.isascii():
        return False
    raw = joined.encode("ascii")
    if len(raw.translate(None, _WINDOWS_ASCII_CHARS)) != len(raw):
        return False
    if raw.endswith((b" ", b".")) or any(end in raw for end in (b" /", b"./", b" \n", b".\n")):
        return False
    segments_start = b"/" + raw.lower().replace(b"\n", b"/")
    if any(b"/" + device in segments_start for device in (d.encode() for d in _DEVICE_STARTS)):
        return False
    folders: set[str] = set()  # every folder above a path, each walked up once
    for folder in {path.rpartition("/")[0] for path in paths}:
        while folder and folder not in folders:
            folders.add(folder)
            folder = folder.rpartition("/")[0]
    prefixes = folders.union(paths)
    return len({prefix.lower() for prefix in prefixes}) == len(prefixes)


def portability_warnings(paths: Iterable[str]) -> list[str]:
    """Why some of ``paths`` would break on another platform: names that differ only by case (one
    file overwrites the other on macOS and Windows) and names Windows cannot create."""
    paths = list(paths)
    if _portable_in_bulk(paths):
        return []
    warnings: list[str] = []
    spellings: dict[str, set[str]] = {}
    windows_seen: set[str] = set()
    for path in paths:
        segments = nfc(path).split("/")
        for depth in range(1, len(segments) + 1):
            prefix = "/".join(segments[:depth])
            spellings.setdefault(prefix.lower(), set()).add(prefix)
            why = _windows_problem(segments[depth - 1])
            if why and prefix not in windows_seen:
                windows_seen.add(prefix)
                warnings.append(f"{prefix!r} {why}: it cannot be created on Windows")
    for names in spellings.values():
        if len(names) > 1:
            listed = ", ".join(repr(n) for n in sorted(names))
            warnings.append(f"{listed} differ only by case: they clash on case-insensitive file systems "
                            f"(macOS, Windows)")
    return warnings


def duplicate_problems(paths: Iterable[str], source: str = "artifacts") -> list[str]:
    """One line per path listed more than once."""
    return [f"{source}: path {path!r} is listed {count} times (expected once)"
            for path, count in sorted(Counter(paths).items()) if count > 1]


def manifest_problems(doc: dict[str, Any], source: str) -> list[str]:
    """Rule violations of a schema-valid manifest: unsafe, repeated or misplaced paths."""
    prefix = layout.version_outputs_prefix(doc["shot_id"], doc["version"])
    paths = [artifact["path"] for artifact in doc["artifacts"]]
    if all_plain(paths, prefix) and len(set(paths)) == len(paths):
        return []  # the common case: plain ASCII (its own NFC), placed, each path once
    problems: list[str] = []
    for index, artifact in enumerate(doc["artifacts"]):
        path = artifact["path"]
        found = path_problems(path)
        if not found and path.startswith(prefix) and (path.isascii() or nfc(path) == path):
            continue  # the common case, without building its JSON path
        where = f"{source}: {json_path(['artifacts', index, 'path'])}"
        problems += [f"{where}: {path!r} {problem}" for problem in found]
        if not found and not path.startswith(prefix):
            problems.append(f"{where}: {path!r} is outside the version folder (expected under {prefix})")
        if not found and nfc(path) != path:
            problems.append(f"{where}: {path!r} is not NFC-normalised Unicode (expected {nfc(path)!r})")
    problems += duplicate_problems((a["path"] for a in doc["artifacts"]), source)
    return problems


def check_id(value: str, what: str = "id") -> str:
    """Return ``value`` if it is a safe id (it becomes a folder name), else raise.

    The rule itself is the schema's ``safe_id`` definition, not a copy of it.
    """
    if not is_valid_ref(value, "common.schema.json#/$defs/safe_id"):
        expected = schema("common")["$defs"]["safe_id"]["description"]
        raise ContractError(f"{what} {value!r} is not a safe name (expected {expected})")
    return value
