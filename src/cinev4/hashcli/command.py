"""``cinev4 hash``: GNU ``sha256sum`` on the parallel engine: the same options,
the same output bytes, the same diagnostics and exit statuses (usage errors
exit 2, as everywhere in cinev4), plus ``--files-from``, ``-r`` and ``--json``.
No click here: ``run_standalone`` is what the console script calls, and
cinev4.cli.hash_cmd wraps ``run_hash`` as the click group's ``hash``.

Lines are written in input order as the files complete: the engine takes the
files in input order and hands back each completed run of results; they are
formatted in one go and flushed, so an interrupted run leaves every finished
line printed. ``-`` is standard input, read at its turn; FIFOs, process
substitutions, devices and procfs/sysfs files are read to EOF as
``sha256sum`` reads them.
"""
from __future__ import annotations

import errno
import os
import sys

from cinev4 import FileDigest, FileTruncatedError, NotRegularFileError, Sha256
from cinev4._fasthash import available_kernels, format_sum_lines, hash_files_ordered, multibuffer_kernels
from cinev4.errors import CinevError, ContractError, as_cinev_error, error_lines
from cinev4.hashcli.options import HashOptions, HashUsageError, check_combinations, json_requested, parse_hash_args
from cinev4.hashcli.quoting import quote_name
from cinev4.hashcli.sumsfile import SumsEntry, SumsParser, format_check_name, format_line, format_lines
from cinev4.settings import ENGINE_OPTIONS, resolve_progress

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (checkers treat the name alike)
if TYPE_CHECKING:  # annotations only: `cinev4 hash` starts without importing typing
    from collections.abc import Iterator
    import signal
    from typing import Any, Callable
else:
    # What the signal module wraps: the same functions and numbers, without the
    # enum classes the module builds on import (3-4 ms of every `cinev4 hash`).
    try:
        import _signal as signal
    except ImportError:  # an interpreter without CPython's _signal
        import signal

PROGRAM = "cinev4"
STDIN_NAME = b"-"
_STDIN_CHUNK = 1 << 20
EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def _engine_help() -> str:
    """The engine's options in GNU's help layout: the text from column 24, a
    continuation line two columns further in."""
    lines = []
    for name, (metavar, text) in ENGINE_OPTIONS.items():
        first, *rest = text.split("\n")
        lines.append(f"{f'      --{name}={metavar}':<23} {first}\n")
        lines.extend(f"{'':<26}{more}\n" for more in rest)
    return "".join(lines)


HELP = """\
Usage: cinev4 hash [OPTION]... [FILE]...
Print or check SHA-256 checksums, exactly as GNU sha256sum does, on cinev4's
parallel engine. With no FILE, or when FILE is -, read standard input.

  -b, --binary          read in binary mode (output: HASH *FILE)
  -c, --check           read checksums from the FILEs and check them
      --tag             create a BSD-style checksum (SHA256 (FILE) = HASH)
  -t, --text            read in text mode (default)
  -z, --zero            end each output line with NUL, not newline,
                          and disable file name escaping
      --files-from=F    also hash the files named in F, one per line
                          (NUL-separated with -z; - for standard input)
  -r, --recursive       hash every file below each FILE that is a folder,
                          in sorted order; symbolic links are not followed
  -L, --follow          with -r: follow symbolic links
{engine}      --json            a machine-readable report on stdout

The following five options are useful only when verifying checksums:
      --ignore-missing  don't fail or report status for missing files
      --quiet           don't print OK for each successfully verified file
      --status          don't output anything, status code shows success
      --strict          exit non-zero for improperly formatted checksum lines
  -w, --warn            warn about improperly formatted checksum lines

  -h, --help            display this help and exit
      --version         output version information and exit

Exit status: 0 every file hashed (and matched); 1 a file unreadable or not
matching, or a write error; 2 bad usage (GNU sha256sum exits 1 there).

Examples:
  cinev4 hash shots/SH010/outputs/v0001/*.exr > SHA256SUMS
  cinev4 hash --check --quiet SHA256SUMS
  find renders -name '*.exr' -print0 | cinev4 hash -z --files-from=- | ...
  cinev4 hash --window=32M --threads=8 /mnt/nas/plates/*.dpx
""".format(engine=_engine_help())


# --- Output --------------------------------------------------------------------


# Standard descriptors found closed (``>&-``): each gets /dev/null opened the wrong way
# round, so reading (0) or writing (1, 2) fails with EBADF as on the closed descriptor,
# and no file the engine opens takes its number (a "-" would read that file; the
# lines would be written into it).
_CLOSED_AT_START: set[int] = set()


def _hold_closed_standard_fds() -> None:
    for fd, flags in ((0, os.O_WRONLY), (1, os.O_RDONLY), (2, os.O_RDONLY)):
        try:
            os.fstat(fd)
            continue
        except OSError:
            pass
        try:
            held = os.open(os.devnull, flags)
        except OSError:
            continue
        if held != fd:
            os.dup2(held, fd)
            os.close(held)
        _CLOSED_AT_START.add(fd)


class _Output:
    """The one buffered writer on stdout (file descriptor 1); flushed whenever the
    next result is not ready yet, so every finished line is out before we wait.

    Each write(2) holds whole lines and at most PIPE_BUF bytes where it can,
    so two commands writing to one pipe (``xargs -P2``) never split a line.

    A write that fails (``> /dev/full``, stdout closed) does not stop the run, as
    it does not stop ``sha256sum`` (stdio keeps the error until stdout is closed):
    the rest of the output is let go, the other diagnostics still come, and the
    run ends with the write error (``_finish``)."""

    _PIPE_BUF = 4096
    _FLUSH_AT = 1 << 16

    def __init__(self, line_end: bytes = b"\n") -> None:
        self._pending = bytearray()
        self.line_end = line_end
        self.failure: OSError | None = None

    def write(self, data: bytes) -> None:
        self._pending += data
        if len(self._pending) >= self._FLUSH_AT:
            self.flush()

    def flush(self) -> None:
        data = bytes(self._pending)
        self._pending.clear()
        start, end = 0, len(data)
        while start < end and self.failure is None:
            stop = start + self._PIPE_BUF
            if stop >= end:
                stop = end
            else:
                cut = data.rfind(self.line_end, start, stop)
                if cut >= start:
                    stop = cut + 1
                else:  # one line longer than PIPE_BUF: written whole
                    cut = data.find(self.line_end, stop)
                    stop = end if cut < 0 else cut + 1
            self._write_all(data[start:stop])
            start = stop

    def _write_all(self, piece: bytes) -> None:
        view = memoryview(piece)
        try:
            while view:
                view = view[os.write(1, view):]
        except OSError as exc:
            self.failure = exc


_stderr_failed: list[bool] = []  # a diagnostic could not be written (stderr closed or full)


def _write_stderr(data: bytes) -> None:
    view = memoryview(data)
    try:
        while view:
            view = view[os.write(2, view):]
    except OSError:
        _stderr_failed.append(True)


def _diagnose(message: bytes) -> None:
    """One line on stderr after the program name, as GNU's ``error()`` writes it."""
    _write_stderr(PROGRAM.encode() + b": " + message + b"\n")


def _describe(error: BaseException) -> str:
    return getattr(error, "strerror", None) or str(error)


def _file_error(name: bytes, error: BaseException) -> None:
    _diagnose(quote_name(name) + b": " + _describe(error).encode())


# --- Results in input order --------------------------------------------------------

# File systems whose files report a size that is not their content's (procfs:
# 0; sysfs: 4096 whatever they hold). Their files are read to EOF, as
# sha256sum does; the engine's windows trust the size.
_PSEUDO_FILESYSTEMS = frozenset({
    "proc", "sysfs", "debugfs", "tracefs", "securityfs", "configfs", "efivarfs", "pstore",
    "cgroup", "cgroup2", "bpf", "fusectl",
})


def _on_pseudo_filesystem(name: bytes) -> bool:
    """Whether ``name`` lives on a procfs-like file system (Linux mountinfo; False elsewhere)."""
    try:
        device = os.stat(name).st_dev
        with open("/proc/self/mountinfo", "rb") as handle:
            mounts = handle.read().decode("utf-8", "replace").splitlines()
    except OSError:
        return False
    wanted = f"{os.major(device)}:{os.minor(device)}"
    for line in mounts:
        fields, _, rest = line.partition(" - ")
        parts = fields.split()
        if len(parts) > 2 and parts[2] == wanted and rest.split()[:1] and rest.split()[0] in _PSEUDO_FILESYSTEMS:
            return True
    return False


def _needs_stream_read(result: FileDigest) -> bool:
    """The engine's answer cannot be trusted for what ``sha256sum`` would read:
    a FIFO, device or process substitution (refused, not read), or a pseudo
    file whose reported size is larger than its content (/sys: "truncated").
    A file that reports size 0 (/proc) the engine reads to its end itself."""
    if result.error is None:
        return False
    if isinstance(result.error, NotRegularFileError):
        return True
    return isinstance(result.error, FileTruncatedError) and _on_pseudo_filesystem(os.fsencode(result.path))


def _digest_stream(fd: int, name: bytes, kernel: str | None) -> FileDigest:
    """Everything ``fd`` gives until EOF, on the engine's Sha256."""
    # A multi-buffer kernel hashes many files side by side: one stream takes the
    # engine's single-stream kernel, as a batch of one file does.
    hasher = Sha256(kernel=None if kernel in multibuffer_kernels() else kernel)
    size = 0
    try:
        while True:
            chunk = os.read(fd, _STDIN_CHUNK)
            if not chunk:
                break
            hasher.update(chunk)
            size += len(chunk)
    except OSError as exc:
        return FileDigest(name, 0, None, exc)
    return FileDigest(name, size, hasher.digest(), None)


_stdin_read: list[bool] = []  # "-" was read, as a file or as the sums (GNU's have_read_stdin)


def _read_stdin(kernel: str | None) -> FileDigest:
    # Read from where it stands each time: a second "-" finds the pipe at
    # EOF and gives the empty digest, as sha256sum does.
    _stdin_read.append(True)
    return _digest_stream(0, STDIN_NAME, kernel)


def _reread(result: FileDigest, kernel: str | None) -> FileDigest:
    """Read the file to EOF (the pipeline keeps refusing such files as artifacts)."""
    name = result.path
    try:
        fd = os.open(name, os.O_RDONLY | getattr(os, "O_BINARY", 0))
    except OSError as exc:
        return FileDigest(name, 0, None, exc)
    try:
        return _digest_stream(fd, name, kernel)  # type: ignore[arg-type]
    finally:
        os.close(fd)


class _Engine:
    """How the engine is asked (threads, kernel, io, window) and what to call before waiting."""

    def __init__(self, options: HashOptions, before_wait: Callable[[], None]) -> None:
        self.threads = options.threads
        self.kernel = options.kernel
        self.io = options.io
        self.window = options.window
        self.before_wait = before_wait
        self.progress: Any = None
        # File descriptors, not sys.stdout and sys.stderr: those are None where the
        # descriptor was closed when Python started (`cinev4 hash a >&-`).
        if (not options.as_json and not os.isatty(1) and sys.stderr is not None
                and (os.isatty(2) or resolve_progress())):
            # A bar only where it does not mix with the lines themselves.
            # cinev4.progress, not cinev4.cli.progress: importing the cli package loads click.
            from cinev4.progress import progress_for

            self.progress = progress_for("hashing", as_json=options.as_json)

    def chunks(self, names: list[bytes]) -> Iterator[list[FileDigest]]:
        """Results for ``names``, in their order, in runs of completed files."""
        files = names
        runs_before_stdin: list[int] = []  # how many files come before each "-"
        if STDIN_NAME in names:
            files = [name for name in names if name != STDIN_NAME]
            run = 0
            for name in names:
                if name == STDIN_NAME:
                    runs_before_stdin.append(run)
                    run = 0
                else:
                    run += 1
        batch = self._start(files)
        pending: list[FileDigest] = []
        try:
            for count in runs_before_stdin:
                yield from self._file_run(batch, count, pending)
                self.before_wait()
                yield [_read_stdin(self.kernel)]
            yield from self._file_run(batch, len(files) - sum(runs_before_stdin), pending)
        finally:
            if batch is not None:
                batch.close()
            if self.progress is not None:
                self.progress.finish()

    def blocks(self, files: list[bytes]) -> Iterator[tuple[int, bytes, dict[int, FileDigest]]]:
        """``OrderedResults.next_block`` over ``files`` (no stdin among them),
        flushing the output before each wait."""
        batch = self._start(files)
        if batch is None:
            return
        try:
            while True:
                self.before_wait()
                try:
                    block = batch.next_block()
                except StopIteration:
                    return
                yield block
        finally:
            batch.close()
            if self.progress is not None:
                self.progress.finish()

    def _start(self, files: list[bytes]) -> Any:
        if not files:
            return None
        if self.progress is not None:
            total = 0
            for name in files:  # a stat per file only when a bar is drawn
                try:
                    total += os.stat(name).st_size
                except OSError:
                    pass
            self.progress.start(total, len(files))
        return hash_files_ordered(files, self.threads, kernel=self.kernel, io=self.io,  # type: ignore[arg-type]
                                  window=self.window,
                                  progress=None if self.progress is None else self.progress.update)

    def _file_run(self, batch: Any, wanted: int, pending: list[FileDigest]) -> Iterator[list[FileDigest]]:
        """The next ``wanted`` results of the batch; ``pending`` keeps what came
        in the same run beyond them."""
        while wanted:
            if not pending:
                self.before_wait()
                pending.extend(next(batch))
            run = pending[:wanted]
            del pending[:wanted]
            wanted -= len(run)
            yield [_reread(r, self.kernel) if _needs_stream_read(r) else r for r in run]


# --- Printing sums ---------------------------------------------------------------


def _print_sums(names: list[bytes], engine: _Engine, out: _Output, options: HashOptions) -> int:
    if not options.tag and STDIN_NAME not in names:
        return _print_sums_in_bulk(names, engine, out, options)
    failed = False
    binary, tag, zero = bool(options.binary), options.tag, options.zero
    for run in engine.chunks(names):
        if all(r.error is None for r in run):
            lines = [(r.path, r.digest.hex().encode()) for r in run]  # type: ignore[union-attr]
            out.write(format_lines(lines, binary=binary, tag=tag, zero=zero))  # type: ignore[arg-type]
            continue
        for r in run:
            if r.error is None:
                out.write(format_line(r.sha256, r.path, binary=binary, tag=tag, zero=zero))  # type: ignore[arg-type]
            else:
                failed = True
                out.flush()
                _file_error(r.path, r.error)  # type: ignore[arg-type]
    out.flush()
    return EXIT_FAILED if failed else EXIT_OK


def _print_sums_in_bulk(names: list[bytes], engine: _Engine, out: _Output, options: HashOptions) -> int:
    """The plain line forms with no per-file Python work: each run of completed
    digests becomes its lines in one native call; only failed files and empty
    ones (the engine sets them apart) are looked at one by one."""
    binary, zero = bool(options.binary), options.zero
    middle, end = (b" *" if binary else b"  "), (b"\0" if zero else b"\n")
    failed = False

    def write_run(start: int, digests: bytes) -> None:
        lines = format_sum_lines(names, start, digests, middle, end, not zero)
        if lines is None:  # a name to escape: line by line
            lines = b"".join(format_line(digests[i:i + 32].hex(), names[start + i // 32], binary=binary, zero=zero)
                             for i in range(0, len(digests), 32))
        out.write(lines)

    for start, digests, special in engine.blocks(names):
        done = 0
        for offset in sorted(special):
            if offset > done:
                write_run(start + done, digests[32 * done:32 * offset])
            result = special[offset]
            if _needs_stream_read(result):
                result = _reread(result, engine.kernel)
            if result.error is None:
                out.write(format_line(result.sha256, names[start + offset], binary=binary, zero=zero))  # type: ignore[arg-type]
            else:
                failed = True
                out.flush()
                _file_error(names[start + offset], result.error)
            done = offset + 1
        if done < len(digests) // 32:
            write_run(start + done, digests[32 * done:])
    out.flush()
    return EXIT_FAILED if failed else EXIT_OK


def _sums_report(names: list[bytes], engine: _Engine) -> tuple[dict[str, Any], int]:
    files = []
    failed = 0
    for run in engine.chunks(names):
        for r in run:
            entry: dict[str, Any] = {"path": os.fsdecode(r.path), "size": None, "sha256": None, "error": None}
            if r.error is None:
                entry["size"], entry["sha256"] = r.size, r.sha256
            else:
                failed += 1
                entry["error"] = {"errno": getattr(r.error, "errno", None), "message": _describe(r.error)}
            files.append(entry)
    return {"files": files, "failed": failed}, EXIT_FAILED if failed else EXIT_OK


# --- Checking sums ----------------------------------------------------------------

# A sums file lists one file per ~100 bytes: 256 MiB is millions of files. A
# larger one (a sparse file, /dev/zero) is refused before it fills the memory.
MAX_SUMS_BYTES = 256 * 1024 * 1024


def _read_bounded(fd: int, shown: str) -> bytes:
    parts: list[bytes] = []
    size = 0
    while True:
        chunk = os.read(fd, _STDIN_CHUNK)
        if not chunk:
            return b"".join(parts)
        size += len(chunk)
        if size > MAX_SUMS_BYTES:
            raise ContractError(f"{shown}: more than {MAX_SUMS_BYTES} bytes (expected a sha256sum file of at most "
                                f"{MAX_SUMS_BYTES} bytes)")
        parts.append(chunk)


def _read_sums(sums_name: bytes) -> bytes | None:
    """The sums file's bytes; None (with the error line written) when it cannot be read."""
    shown = os.fsdecode(sums_name)
    if sums_name == STDIN_NAME:
        _stdin_read.append(True)
        try:
            return _read_bounded(0, shown)
        except OSError:
            _diagnose(quote_name(b"standard input") + b": read error")
            return None
    try:
        fd = os.open(sums_name, os.O_RDONLY | getattr(os, "O_BINARY", 0))
    except OSError as exc:
        _file_error(sums_name, exc)
        return None
    try:
        size = os.fstat(fd).st_size  # checked before reading: a sparse giant is not read
        if size > MAX_SUMS_BYTES:
            raise ContractError(f"{shown}: the file is {size} bytes (expected a sha256sum file of at most "
                                f"{MAX_SUMS_BYTES} bytes)")
        return _read_bounded(fd, shown)
    except OSError:  # a folder opens, then fails to read, as for sha256sum
        _diagnose(quote_name(sums_name) + b": read error")
        return None
    finally:
        os.close(fd)


class _CheckTally:
    def __init__(self) -> None:
        self.misformatted = 0
        self.unreadable = 0
        self.mismatched = 0
        self.matched = False
        self.properly_formatted = False


def _plural(count: int, one: str, many: str) -> str:
    return (one if count == 1 else many).format(count)


def _check_one(sums_name: bytes, parser: SumsParser, engine: _Engine, out: _Output, options: HashOptions,
               report: list[dict[str, Any]] | None, tally: _CheckTally) -> bool:
    """Check the files one sums file lists, counting in ``tally``; True when
    it passes (GNU's rules)."""
    data = _read_sums(sums_name)
    if data is None:
        return False
    from_stdin = sums_name == STDIN_NAME
    shown = quote_name(b"standard input" if from_stdin else sums_name)
    lines: list[tuple[int, SumsEntry | None]] = []
    for number, line in parser.lines(data):
        entry = parser.parse(line)
        if entry is not None and from_stdin and entry.name == STDIN_NAME:
            entry = None  # stdin cannot be both the list and a listed file
        lines.append((number, entry))
    speak = not options.status and report is None
    results = (r for run in engine.chunks([e.name for _, e in lines if e is not None]) for r in run)
    for number, entry in lines:
        if entry is None:
            tally.misformatted += 1
            if options.warn and report is None:
                out.flush()
                _diagnose(shown + f": {number}: improperly formatted SHA256 checksum line".encode())
            continue
        tally.properly_formatted = True
        result = next(results)
        if result.error is not None:
            if options.ignore_missing and getattr(result.error, "errno", None) == errno.ENOENT:
                continue
            tally.unreadable += 1
            verdict = "FAILED open or read"
            if report is None:  # as GNU: the reason is said even with --status (only the verdict is not)
                out.flush()
                _file_error(entry.name, result.error)
        elif result.sha256 != entry.sha256:
            tally.mismatched += 1
            verdict = "FAILED"
        else:
            tally.matched = True
            verdict = "OK"
        if report is not None:
            report.append({"path": os.fsdecode(entry.name), "expected": entry.sha256,
                           "actual": result.sha256, "result": verdict,
                           "error": None if result.error is None else _describe(result.error)})
        elif speak and not (options.quiet and verdict == "OK"):
            out.write(format_check_name(entry.name) + b": " + verdict.encode() + b"\n")
    out.flush()
    if not tally.properly_formatted:
        if report is None:
            _diagnose(shown + b": no properly formatted checksum lines found")
    elif speak:
        if tally.misformatted:
            _diagnose(_plural(tally.misformatted, "WARNING: {} line is improperly formatted",
                              "WARNING: {} lines are improperly formatted").encode())
        if tally.unreadable:
            _diagnose(_plural(tally.unreadable, "WARNING: {} listed file could not be read",
                              "WARNING: {} listed files could not be read").encode())
        if tally.mismatched:
            _diagnose(_plural(tally.mismatched, "WARNING: {} computed checksum did NOT match",
                              "WARNING: {} computed checksums did NOT match").encode())
        if options.ignore_missing and not tally.matched:
            _diagnose(shown + b": no file was verified")
    return (tally.properly_formatted and tally.matched and not tally.mismatched and not tally.unreadable
            and not (options.strict and tally.misformatted))


def _check(sums_names: list[bytes], engine: _Engine, out: _Output, options: HashOptions,
           report: list[dict[str, Any]] | None) -> tuple[int, dict[str, int]]:
    """The exit status and the run's totals (summed over the sums files)."""
    parser = SumsParser()  # one for the whole run: GNU's line-form memory spans the files
    passed = True
    totals = {"improperly_formatted": 0, "unreadable": 0, "mismatched": 0}
    for sums_name in sums_names:
        tally = _CheckTally()
        passed = _check_one(sums_name, parser, engine, out, options, report, tally) and passed
        totals["improperly_formatted"] += tally.misformatted
        totals["unreadable"] += tally.unreadable
        totals["mismatched"] += tally.mismatched
    return (EXIT_OK if passed else EXIT_FAILED), totals


# --- The command ---------------------------------------------------------------------


def _json_bytes(document: dict[str, Any]) -> bytes:
    import json

    text = json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False)
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError:  # a name that is not UTF-8: \udcXX escapes keep the JSON valid
        data = json.dumps(document, indent=2, sort_keys=True).encode("ascii")
    return data + b"\n"


_json_emitted: list[bool] = []  # this run printed its --json document (one per run)


def _emit_json(fields: dict[str, Any], code: int, out: _Output) -> None:
    """The ``--json`` document, in the envelope of every command's (``ok``, ``exit_code``)."""
    from cinev4.cli._common import envelope

    _json_emitted.append(True)
    out.write(_json_bytes(envelope(fields, code)))
    out.flush()


def _emit_errors(lines: list[str], code: int) -> None:
    """With ``--json``, an error is a document too (docs/CONTRACT.md: one JSON object
    for successes, failures and usage errors alike): ``errors``, its lines without
    the program name, as the pipeline commands print theirs; none when the run
    printed its own already. A stdout that takes nothing is let go: the exit code
    tells."""
    if not _json_emitted:
        _emit_json({"errors": lines}, code, _Output())


def _usage_error(message: str, as_json: bool) -> int:
    _write_stderr(f"{PROGRAM}: {message}\nTry '{PROGRAM} hash --help' for more information.\n"
                  .encode(errors="surrogateescape"))
    if as_json:
        _emit_errors([message], EXIT_USAGE)
    return EXIT_USAGE


def _version_text() -> bytes:
    """``cinev4 --version``'s lines (the one place that needs click here)."""
    import contextlib
    import io

    import click

    from cinev4.cli import _print_version as print_cli_version
    from cinev4.cli import cli

    text = io.StringIO()
    with contextlib.redirect_stdout(text):
        try:
            with click.Context(cli) as ctx:
                print_cli_version(ctx, None, True)  # type: ignore[arg-type]
        except click.exceptions.Exit:
            pass
    return text.getvalue().encode()


def _check_kernel(kernel: str | None) -> None:
    """``--kernel`` refused before any file is read: a usage error (``CINEV4_KERNEL`` is
    checked with every ``CINEV4_*`` variable, before the command runs)."""
    if kernel is None:
        return
    offered = available_kernels() + multibuffer_kernels()
    if kernel not in offered:
        raise HashUsageError(f"unknown or unavailable kernel {kernel!r}; this CPU offers: {', '.join(offered)}")


class _ListRefused(Exception):
    """A --files-from list that cannot be used: (name, why)."""


def _names_to_hash(options: HashOptions) -> tuple[list[bytes], list[tuple[bytes, OSError]]]:
    """The command line's names, then each --files-from list's, folders walked
    with -r; and the folders that could not be listed (reported already)."""
    from cinev4.hashcli.sources import NulInName, expand_folders, read_name_list

    names = list(options.operands)
    for source in options.files_from:
        encoded = os.fsencode(source)
        try:
            names.extend(read_name_list(encoded, options.zero))
        except OSError as exc:
            raise _ListRefused(encoded, _describe(exc)) from None
        except NulInName as exc:
            raise _ListRefused(encoded, f"line {exc.line}: a name holds a NUL byte "
                                        "(a NUL-separated list, as find -print0 writes, needs -z)") from None
    if not names and not options.files_from:
        names = [STDIN_NAME]
    failed: list[tuple[bytes, OSError]] = []
    if options.recursive:
        def report(name: bytes, error: OSError) -> None:
            failed.append((name, error))
            _file_error(name, error)

        names = expand_folders(names, options.follow, report)
    return names, failed


def run_hash(argv: list[str]) -> int:
    """The whole command on raw arguments; returns the exit status."""
    _hold_closed_standard_fds()
    for state in (_stderr_failed, _stdin_read, _json_emitted):
        state.clear()
    out = _Output()
    try:
        options = parse_hash_args(argv)
        if options.show_help or options.show_version:
            out.write(HELP.encode() if options.show_help else _version_text())
            return _finish(EXIT_OK, out, as_json=False)
        check_combinations(options)
        _check_kernel(options.kernel)
    except HashUsageError as exc:
        return _usage_error(str(exc), json_requested(argv))
    if hasattr(signal, "SIGPIPE"):
        # A closed pipe (`| head -1`) ends the command quietly, as it ends sha256sum.
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    out.line_end = b"\0" if options.zero and not options.check else b"\n"
    try:
        code = _run(options, out)
    except _ListRefused as exc:
        line = quote_name(exc.args[0]) + b": " + exc.args[1].encode()
        _diagnose(line)
        if options.as_json:
            _emit_errors([line.decode(errors="surrogateescape")], EXIT_USAGE)
        code = EXIT_USAGE
    except (CinevError, OSError) as exc:  # e.g. a sums file too large to be one: a contract error
        code = _report_error(exc, options.as_json)
    return _finish(code, out, options.as_json)


def _run(options: HashOptions, out: _Output) -> int:
    engine = _Engine(options, out.flush)
    if options.check:
        names = options.operands or [STDIN_NAME]
        report: list[dict[str, Any]] | None = [] if options.as_json else None
        code, totals = _check(names, engine, out, options, report)
        if report is not None:
            _emit_json({"files": report, **totals}, code, out)
        return code
    names, listing_failed = _names_to_hash(options)
    if options.as_json:
        fields, code = _sums_report(names, engine)
        # A folder -r could not list is in the document too, not only on stderr.
        fields["unlistable"] = [{"path": os.fsdecode(name), "error": {"errno": error.errno, "message": _describe(error)}}
                                for name, error in listing_failed]
        fields["failed"] += len(listing_failed)
        code = EXIT_FAILED if listing_failed else code
        _emit_json(fields, code, out)
        return code
    code = _print_sums(names, engine, out, options)
    return EXIT_FAILED if listing_failed else code


def _finish(code: int, out: _Output, as_json: bool) -> int:
    """What ``sha256sum`` says last, as it exits: a standard input that was read
    while closed, then a write error on stdout (either: exit 1); and a success
    whose diagnostics could not be written exits 1 too (GNU: stderr fails to close)."""
    out.flush()
    if 0 in _CLOSED_AT_START and _stdin_read and not as_json:
        _diagnose(f"standard input: {os.strerror(errno.EBADF)}".encode())
        code = max(code, EXIT_FAILED)
    if out.failure is not None:
        reason = _reason_stdout_close_fails()
        _diagnose(b"write error" + (b": " + reason.encode() if reason else b""))
        _silence_stdout()
        code = max(code, EXIT_FAILED)
    if _stderr_failed and code == EXIT_OK:
        code = EXIT_FAILED
    return code


def _reason_stdout_close_fails() -> str | None:
    """What GNU adds to its "write error": why closing stdout failed, if it did
    (gnulib's close_stdout; the failed write's own reason is not said). Closed
    from the start (``>&-``): "Bad file descriptor"; ``> /dev/full``: nothing."""
    if 1 in _CLOSED_AT_START:
        return os.strerror(errno.EBADF)
    try:
        os.close(1)
    except OSError as exc:
        return _describe(exc)
    return None


def _report_error(exc: CinevError | OSError, as_json: bool = False) -> int:
    """An error in the form every cinev4 command gives (cinev4.errors): ``cinev4:
    error: LINE``, one line per problem; its class's exit code."""
    error = as_cinev_error(exc)
    lines = error_lines(error)
    for line in lines:
        _diagnose(f"error: {line}".encode(errors="surrogateescape"))
    if as_json:
        _emit_errors(lines, error.exit_code)
    return error.exit_code


def _silence_stdout() -> None:
    """Nothing more reaches the failed stdout (the interpreter's last flush included)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        if devnull != 1:
            os.dup2(devnull, 1)
            os.close(devnull)
    except OSError:
        pass


# --- Without click -------------------------------------------------------------------
# As cinev4.cli.main does for every command: the CINEV4_* settings checked
# first, Ctrl-C and SIGTERM as one line and 130/143, an unexpected exception as
# one line and exit 2; SIGHUP as 129; a signal the caller ignores (nohup) stays ignored.
_EXIT_FOR_SIGNAL = {"SIGINT": (130, "interrupted"), "SIGTERM": (143, "terminated"), "SIGHUP": (129, "hung up")}


class _Stopped(BaseException):
    """SIGINT, SIGTERM or SIGHUP in the main thread: the workers are cancelled as it
    unwinds (OrderedResults closes on any exception)."""


# The handled signals by number: the enum names of signal.Signals would cost its import.
_SIGNAL_NAMES = {getattr(signal, name): name for name in _EXIT_FOR_SIGNAL if hasattr(signal, name)}


def _raise_stopped(signum: int, _frame: object) -> None:
    raise _Stopped(_SIGNAL_NAMES[signum])


def run_standalone(argv: list[str]) -> int:
    """``cinev4 hash ARGS`` from the console script, without importing click."""
    from cinev4.settings import debug_enabled, environment_problems

    _hold_closed_standard_fds()
    problems = environment_problems()
    if problems:
        for problem in problems:
            _diagnose(f"error: {problem}".encode(errors="surrogateescape"))
        if json_requested(argv):
            _emit_errors(problems, EXIT_USAGE)
        return EXIT_USAGE
    for signum in _SIGNAL_NAMES:
        if signal.getsignal(signum) is not signal.SIG_IGN:
            signal.signal(signum, _raise_stopped)
    try:
        return run_hash(argv)
    except _Stopped as stop:
        code, word = _EXIT_FOR_SIGNAL[str(stop)]
        _diagnose(word.encode())
        if json_requested(argv):
            _emit_errors([word], code)
        return code
    except Exception as exc:  # noqa: BLE001 - the last boundary: a crash must not read as exit 1
        if debug_enabled() and sys.stderr is not None:
            import traceback

            traceback.print_exception(exc)
        message = " ".join(str(exc).split())[:400]
        line = f"{type(exc).__qualname__}: {message} (set CINEV4_DEBUG=1 for the traceback)"
        _diagnose(f"internal error: {line}".encode(errors="surrogateescape"))
        if json_requested(argv):
            _emit_errors([line], EXIT_USAGE)
        return EXIT_USAGE
