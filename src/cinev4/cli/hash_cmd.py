"""``cinev4 hash``: sha256sum-compatible output and ``-c`` check mode, on the
parallel engine."""
from __future__ import annotations

import json
import os
import sys
from typing import BinaryIO

import click

from cinev4 import FileDigest, FileTruncatedError, NotRegularFileError, Sha256, hash_files
from cinev4.cli._common import BarProgress, CommandError
from cinev4.sumsfile import format_check_name, format_line, parse_line

STDIN_NAME = "-"
_STDIN_CHUNK = 1 << 20


def _describe(error: OSError) -> str:
    return error.strerror or str(error)


def _warn(name: bytes | str, message: str) -> None:
    shown = os.fsdecode(name) if isinstance(name, bytes) else name
    click.echo(f"cinev4: {shown}: {message}", err=True)


def _hash_stream(stream: BinaryIO, kernel: str | None) -> tuple[str, int]:
    """Digest and length of everything ``stream`` gives until EOF."""
    hasher = Sha256(kernel=kernel)
    size = 0
    while True:
        chunk = stream.read(_STDIN_CHUNK)
        if not chunk:
            return hasher.hexdigest(), size
        hasher.update(chunk)
        size += len(chunk)


def _hash_stdin(kernel: str | None) -> str:
    return _hash_stream(sys.stdin.buffer, kernel)[0]


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
    a FIFO, device or process substitution (refused, not read), a file of size
    0 that may still have content (/proc), or a pseudo file whose reported
    size is larger than its content (/sys: "truncated")."""
    if result.error is None:
        return result.size == 0
    if isinstance(result.error, NotRegularFileError):
        return True
    return isinstance(result.error, FileTruncatedError) and _on_pseudo_filesystem(os.fsencode(result.path))


def _reread(result: FileDigest, kernel: str | None) -> FileDigest:
    """Read the file to EOF on the engine's Sha256 (the pipeline keeps refusing such files as artifacts)."""
    try:
        with open(result.path, "rb", buffering=0) as stream:
            digest, size = _hash_stream(stream, kernel)
    except OSError as exc:
        return FileDigest(result.path, 0, None, exc)
    return FileDigest(result.path, size, bytes.fromhex(digest), None)


def _total_size(names: list[bytes]) -> int:
    total = 0
    for name in names:
        try:
            total += os.stat(name).st_size
        except OSError:
            pass
    return total


def _hash_named(names: list[bytes], threads: int | None, engine: dict, show_progress: bool) -> dict[bytes, object]:
    """Digest every distinct file name once; stdin is read in the calling thread."""
    files = list(dict.fromkeys(n for n in names if n != STDIN_NAME.encode()))
    bar = BarProgress.for_command("hashing", as_json=not show_progress)
    if bar is None:
        results = hash_files(files, threads, **engine)
    else:
        # The total is only needed for a bar: no stat per file unless one is drawn.
        bar.start(_total_size(files), len(files))
        try:
            results = hash_files(files, threads, progress=bar.update, **engine)
        finally:
            bar.finish()
    results = [_reread(r, engine.get("kernel")) if _needs_stream_read(r) else r for r in results]
    by_name: dict[bytes, object] = dict(zip(files, results))
    if STDIN_NAME.encode() in names:
        by_name[STDIN_NAME.encode()] = _hash_stdin(engine.get("kernel"))
    return by_name


def _print_sums(names: list[bytes], by_name: dict[bytes, object], as_json: bool) -> int:
    failures = 0
    report = []
    lines = []
    for name in names:
        result = by_name[name]
        if isinstance(result, str):  # stdin
            sha256, size, error = result, None, None
        else:
            sha256, size, error = result.sha256, result.size, result.error  # type: ignore[attr-defined]
        if error is not None:
            failures += 1
            if not as_json:
                _warn(name, _describe(error))
        if as_json:
            report.append(
                {
                    "path": os.fsdecode(name),
                    "size": size if error is None else None,
                    "sha256": sha256,
                    "error": None if error is None else {"errno": error.errno, "message": _describe(error)},
                }
            )
        elif error is None:
            lines.append(format_line(sha256, name))
    if as_json:
        json.dump({"files": report, "failed": failures}, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        sys.stdout.buffer.write(b"".join(lines))
    sys.stdout.flush()
    return 1 if failures else 0


# A sums file lists one file per ~100 bytes: 256 MiB is millions of files. A
# larger one (a sparse file, /dev/zero) is refused before it fills the memory.
MAX_SUMS_BYTES = 256 * 1024 * 1024


def _read_bounded(stream: BinaryIO, sums_file: str) -> bytes:
    """Everything ``stream`` holds, up to MAX_SUMS_BYTES (a FIFO or stdin is read as sha256sum reads it)."""
    data = stream.read(MAX_SUMS_BYTES + 1)
    if len(data) > MAX_SUMS_BYTES:
        raise CommandError([f"{sums_file}: more than {MAX_SUMS_BYTES} bytes (expected a sha256sum file of at most "
                            f"{MAX_SUMS_BYTES} bytes)"])
    return data


def _read_sums(sums_file: str) -> bytes:
    if sums_file == STDIN_NAME:
        return _read_bounded(sys.stdin.buffer, sums_file)
    try:
        with open(sums_file, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size  # checked before reading: a sparse giant is not read
            if size > MAX_SUMS_BYTES:
                raise CommandError([f"{sums_file}: the file is {size} bytes (expected a sha256sum file of at most "
                                    f"{MAX_SUMS_BYTES} bytes)"])
            return _read_bounded(handle, sums_file)
    except OSError as exc:
        raise click.ClickException(f"{sums_file}: {_describe(exc)}") from None


def _check(sums_file: str, threads: int | None, engine: dict, quiet: bool, status: bool, as_json: bool) -> int:
    entries = []
    malformed = 0
    for line in _read_sums(sums_file).split(b"\n"):
        if not line:
            continue
        entry = parse_line(line)
        if entry is None:
            malformed += 1
        else:
            entries.append(entry)
    if not entries:
        _warn(sums_file, "no properly formatted checksum lines found")
        return 1
    by_name = _hash_named([e.name for e in entries], threads, engine, not (as_json or status))
    out = sys.stdout.buffer
    mismatched = unreadable = 0
    report = []
    for entry in entries:
        result = by_name[entry.name]
        actual = result if isinstance(result, str) else result.sha256  # type: ignore[attr-defined]
        error = None if isinstance(result, str) else result.error  # type: ignore[attr-defined]
        if error is not None:
            unreadable += 1
            verdict = "FAILED open or read"
            if not status and not as_json:
                _warn(entry.name, _describe(error))
        elif actual != entry.sha256:
            mismatched += 1
            verdict = "FAILED"
        else:
            verdict = "OK"
        if as_json:
            report.append({"path": os.fsdecode(entry.name), "expected": entry.sha256, "actual": actual,
                           "result": verdict, "error": None if error is None else _describe(error)})
        elif not status and not (quiet and verdict == "OK"):
            out.write(format_check_name(entry.name) + b": " + verdict.encode() + b"\n")
    out.flush()
    if as_json:
        json.dump({"files": report, "mismatched": mismatched, "unreadable": unreadable,
                   "improperly_formatted": malformed}, sys.stdout, indent=2)
        sys.stdout.write("\n")
    elif not status:
        if malformed:
            plural = "line is" if malformed == 1 else "lines are"
            click.echo(f"cinev4: WARNING: {malformed} {plural} improperly formatted", err=True)
        if unreadable:
            plural = "file" if unreadable == 1 else "files"
            click.echo(f"cinev4: WARNING: {unreadable} listed {plural} could not be read", err=True)
        if mismatched:
            plural = "checksum" if mismatched == 1 else "checksums"
            click.echo(f"cinev4: WARNING: {mismatched} computed {plural} did NOT match", err=True)
    return 1 if (mismatched or unreadable) else 0


@click.command("hash")
# Plain strings: the engine reports every unreadable path itself, so click's
# Path checks would only add a stat and an access call per file.
@click.argument("paths", nargs=-1)
@click.option("-c", "--check", "sums_file", metavar="SUMS", help="Check the files listed in a sha256sum file.")
@click.option("--threads", type=click.IntRange(min=1), help="Worker threads (default: every usable CPU).")
@click.option("--kernel", help="Force a SHA-256 kernel (see `cinev4 --version`).")
@click.option("--io", "io_mode", type=click.Choice(["auto", "mmap", "read"]), help="How files are read.")
@click.option("--quiet", is_flag=True, help="With -c: do not print OK lines.")
@click.option("--status", is_flag=True, help="With -c: print nothing; the exit code tells.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable report on stdout.")
def hash_command(paths: tuple[str, ...], sums_file: str | None, threads: int | None, kernel: str | None,
                 io_mode: str | None, quiet: bool, status: bool, as_json: bool) -> None:
    """Print SHA-256 sums exactly as GNU sha256sum does, or check them with -c.

    \b
    Examples:
      cinev4 hash shots/SH010/outputs/v0001/*.exr > SHA256SUMS
      cinev4 hash -c SHA256SUMS --quiet
      cinev4 hash --threads 8 --json big.mov

    Exit status: 0 all files hashed (and matched); 1 any file unreadable or
    mismatched; 2 bad usage.
    """
    engine = {"kernel": kernel, "io": io_mode}
    try:
        if sums_file is not None:
            if paths:
                raise click.UsageError("give either -c SUMS or PATHs, not both")
            code = _check(sums_file, threads, engine, quiet, status, as_json)
        else:
            if quiet or status:
                raise click.UsageError("--quiet and --status only apply with -c")
            names = [os.fsencode(p) for p in (paths or (STDIN_NAME,))]
            by_name = _hash_named(names, threads, engine, not as_json)
            code = _print_sums(names, by_name, as_json)
    except ValueError as exc:  # bad --kernel / CINEV4_* settings
        raise click.UsageError(str(exc)) from None
    sys.exit(code)
