"""``cinev4 hash``'s arguments, read as GNU ``sha256sum`` reads its own
(getopt_long): options anywhere among the FILEs unless ``POSIXLY_CORRECT`` is
set, ``--`` ends them, ``-`` is a FILE (stdin), short flags combine
(``-bc``), a long option may be shortened to any unique prefix
(``--stat``), ``--opt=VALUE`` or ``--opt VALUE``. The same errors as GNU,
word for word; cinev4 exits 2 on them where GNU exits 1.

Names stay bytes (``os.fsencode``), encoded once for the whole command line.
The engine's options (``--threads``, ``--kernel``, ``--io``, ``--window``) take
their ranges, parsers and help from ``cinev4.settings``, as the click commands do.
"""
from __future__ import annotations

import os
import sys

from cinev4.errors import HashUsageError as HashUsageError  # defined with every cinev4 error
from cinev4.settings import IO_CHOICES, parse_threads, parse_window


class HashOptions:
    """What the command line asks for (a plain class: no dataclasses import at start-up)."""

    def __init__(self) -> None:
        self.check = False
        self.binary: bool | None = None  # -b True, -t False, neither None
        self.tag = False
        self.zero = False
        self.warn = False
        self.strict = False
        self.ignore_missing = False
        self.quiet = False
        self.status = False
        self.files_from: list[str] = []
        self.recursive = False
        self.follow = False
        self.threads: int | None = None
        self.kernel: str | None = None
        self.io: str | None = None
        self.window: int | None = None
        self.as_json = False
        self.show_help = False
        self.show_version = False
        self.operands: list[bytes] = []


# long name -> (short letter or None, takes a value); GNU's order first (it orders
# "ambiguous" messages), then cinev4's own, then the engine's (cinev4.settings.ENGINE_OPTIONS).
_LONG: dict[str, tuple[str | None, bool]] = {
    "binary": ("b", False), "check": ("c", False), "ignore-missing": (None, False), "quiet": (None, False),
    "status": (None, False), "text": ("t", False), "warn": ("w", False), "strict": (None, False),
    "tag": (None, False), "zero": ("z", False), "help": ("h", False), "version": (None, False),
    "files-from": (None, True), "recursive": ("r", False), "follow": ("L", False), "json": (None, False),
    "threads": (None, True), "kernel": (None, True), "io": (None, True), "window": (None, True),
}
_SHORT = {short: name for name, (short, _) in _LONG.items() if short}
_GNU = tuple(_LONG)[:12]  # binary .. version


def _set(options: HashOptions, name: str, value: str | None) -> None:
    if name in ("status", "warn", "quiet"):
        # As in GNU: the last of --status, --warn, --quiet wins.
        options.status, options.warn, options.quiet = name == "status", name == "warn", name == "quiet"
    elif name in ("binary", "text"):
        options.binary = name == "binary"
    elif name == "tag":
        # As in GNU: --tag also means binary, so "-t --tag" is --tag and "--tag -t" a refusal.
        options.tag, options.binary = True, True
    elif name == "files-from":
        options.files_from.append(value or "")
    elif name == "threads":
        try:
            options.threads = parse_threads(value or "")
        except ValueError as exc:
            raise HashUsageError(f"invalid number of threads: '{value}' ({exc})") from None
    elif name == "kernel":
        options.kernel = value
    elif name == "io":
        if value not in IO_CHOICES:
            raise HashUsageError(f"invalid argument '{value}' for '--io' (valid: {', '.join(IO_CHOICES)})")
        options.io = value
    elif name == "window":
        try:
            options.window = parse_window(value or "")
        except ValueError as exc:
            raise HashUsageError(f"invalid argument '{value}' for '--window' ({exc})") from None
    else:
        attribute = {"help": "show_help", "version": "show_version", "json": "as_json",
                     "ignore-missing": "ignore_missing", "check": "check"}.get(name, name)
        setattr(options, attribute, True)


def _long_option(text: str) -> tuple[str, str | None]:
    """The full name for ``--text`` (or a unique prefix), and an ``=VALUE``."""
    spelled, equals, value = text.partition("=")
    if spelled in _LONG:
        return spelled, value if equals else None
    matches = [name for name in _LONG if name.startswith(spelled)]
    gnu = [name for name in matches if name in _GNU]
    if len(gnu) == 1:  # a prefix sha256sum reads as one of its options means that option here too (--w: --warn)
        matches = gnu
    if len(matches) == 1:
        return matches[0], value if equals else None
    if not matches:
        raise HashUsageError(f"unrecognized option '--{text}'")
    raise HashUsageError(f"option '--{spelled}' is ambiguous; possibilities: "
                         + " ".join(f"'--{name}'" for name in matches))


def parse_hash_args(argv: list[str]) -> HashOptions:
    options = HashOptions()
    operands: list[str] = []
    stop_at_operand = "POSIXLY_CORRECT" in os.environ
    i = 0
    count = len(argv)
    while i < count:
        arg = argv[i]
        i += 1
        if arg[:1] != "-" or arg == "-":
            operands.append(arg)
            if stop_at_operand:
                operands.extend(argv[i:])
                break
            continue
        if arg == "--":
            operands.extend(argv[i:])
            break
        if arg.startswith("--"):
            name, value = _long_option(arg[2:])
            takes_value = _LONG[name][1]
            if value is not None and not takes_value:
                raise HashUsageError(f"option '--{name}' doesn't allow an argument")
            if takes_value and value is None:
                if i >= count:
                    raise HashUsageError(f"option '--{name}' requires an argument")
                value = argv[i]
                i += 1
            _set(options, name, value)
            continue
        for letter in arg[1:]:
            if letter not in _SHORT:
                raise HashUsageError(f"invalid option -- '{letter}'")
            _set(options, _SHORT[letter], None)
    # One encoding for every name on the command line (argv holds no NUL).
    if operands:
        options.operands = "\0".join(operands).encode(sys.getfilesystemencoding(), "surrogateescape").split(b"\0")
    return options


def json_requested(argv: list[str]) -> bool:
    """Whether the command line asks for ``--json`` (or a prefix of it), read as
    ``parse_hash_args`` reads it but without refusing anything: also for a command
    line that cannot be parsed, so its usage error comes as a JSON document too.
    Options end at ``--`` (and at the first FILE with ``POSIXLY_CORRECT``); the value
    of an option that takes one (``--files-from --json``) is not an option."""
    stop_at_operand = "POSIXLY_CORRECT" in os.environ
    i = 0
    while i < len(argv):
        arg = argv[i]
        i += 1
        if arg == "--":
            return False
        if arg[:1] != "-" or arg == "-":
            if stop_at_operand:
                return False
            continue
        if not arg.startswith("--"):
            continue  # short flags: none takes a value
        try:
            name, value = _long_option(arg[2:])
        except HashUsageError:
            continue
        if name == "json":
            return True
        if _LONG[name][1] and value is None:
            i += 1
    return False


def check_combinations(options: HashOptions) -> None:
    """GNU's refusals of options that do not go together, in GNU's order."""
    if options.tag and options.binary is False:
        raise HashUsageError("--tag does not support --text mode")
    if options.check:
        if options.zero:
            raise HashUsageError("the --zero option is not supported when verifying checksums")
        if options.tag:
            raise HashUsageError("the --tag option is meaningless when verifying checksums")
        if options.binary is not None:
            raise HashUsageError("the --binary and --text options are meaningless when verifying checksums")
        if options.files_from or options.recursive:
            raise HashUsageError("--files-from and --recursive name files to hash, not sums files: "
                                 "not with --check")
        return
    for flag, name in ((options.ignore_missing, "ignore-missing"), (options.status, "status"),
                       (options.warn, "warn"), (options.quiet, "quiet"), (options.strict, "strict")):
        if flag:
            raise HashUsageError(f"the --{name} option is meaningful only when verifying checksums")
    if options.follow and not options.recursive:
        raise HashUsageError("--follow applies to --recursive only")
