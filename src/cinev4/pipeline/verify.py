"""Verification: do the bytes on disk still match their manifests?

For each manifest, in this order, reporting every problem rather than
stopping at the first: the manifest file's own SHA-256 against the one
pinned in the shot record, its JSON and schema, its paths (rules), then the
presence and size of every artifact, extra files in the version folder, and
finally the SHA-256 of every artifact whose size matched, all manifests'
files in one engine batch.

Beyond bytes: an artifact missing from its path whose size and SHA-256 turn
up in an extra file of the version folder is reported once, as ``moved``
(from, to); a manifest path found on disk only under another Unicode
normalisation (macOS writes names NFD) is the same artifact; frames of the
shot's declared range absent from the manifest are ``missing_frames``, as
ranges. With ``resume=True`` the hashing goes through a journal
(``cinev4.pipeline.journal``) so an interrupted run continues where it
stopped, and reports what a full run would.
"""
from __future__ import annotations

import bisect
import errno
import os
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from operator import itemgetter
from pathlib import Path
from typing import TYPE_CHECKING, TypedDict

from cinev4.contracts import layout, parse_document, read_document_beneath
from cinev4.contracts.rules import (as_the_kernel_reads, check_path, manifest_problems, nfc, path_problems,
                                    resolve_inside)
from cinev4.errors import ContractError, ShotNotFoundError, UnsafePathError
from cinev4.pipeline.frames import FrameRange, frame_gaps
from cinev4.pipeline.hashing import Digest, HashBackend, Progress, hash_beneath, hash_paths
from cinev4.pipeline.project import Project, load_project
from cinev4.pipeline.report import ManifestCheck, Problem, VerifyReport
from cinev4.pipeline.scan import ScannedFile, scan_folder
from cinev4.pipeline.released import release_pins
from cinev4.pipeline.shots import Shot, list_shots, load_shot, record_problems, unrecorded_shot_problems
from cinev4.pipeline.states import Status

if TYPE_CHECKING:
    from typing_extensions import Unpack  # typing.Unpack from Python 3.11; only the checker reads it

__all__ = [
    "ManifestTarget",
    "verify_targets",
    "verify_pairs",
    "verify_shots",
    "verify_manifest_file",
    "verify_manifest_files",
    "manifest_file_target",
    "shot_target",
    "shot_pairs",
    "unique_ids",
]


@dataclass(frozen=True)
class ManifestTarget:
    """One manifest to verify, and what it is expected to be."""

    root: Path
    manifest_path: str  # contract path under root
    expected_sha256: str | None  # None: nothing pins this manifest's bytes
    shot_id: str
    version: str | None
    project_id: str | None = None
    expected_frames: FrameRange | None = None  # the shot's declared frame range
    pinned_by: str | None = None  # the release record expected_sha256 comes from (None: the shot record)


@dataclass
class _Moves:
    """A check's missing artifacts (path, size, sha256) and extra files: the material of ``moved``."""

    missing: list[tuple[str, int, str]]
    extras: list[ScannedFile]


@dataclass
class _Table:
    """One manifest's artifacts as the engine checks them: plain lists, no object per file."""

    target: ManifestTarget
    check: ManifestCheck
    mark: int  # where in check.problems the artifact problems go (before the version folder's own)
    paths: list[str]  # manifest paths, as reported
    opened: list[str]  # what is opened: the path, or its twin on disk in another Unicode normalisation
    sizes: list[int]
    digests: list[str]
    moves: _Moves


@dataclass
class _Planned:
    """A file hashed through a journal or another backend (object per file: only on those paths)."""

    table: _Table
    path: str
    real_path: str  # text, not a Path: 100,000 of them are made on a --resume
    size: int
    sha256: str
    probe: bool = False  # an extra file hashed only to learn whether it is a moved artifact


def shot_target(project: Project, shot: Shot, root: Path | None = None) -> ManifestTarget | None:
    """The target for a shot's current manifest (None when it has none)."""
    ref = shot.manifest_ref
    if ref is None:
        return None
    return ManifestTarget(
        root=root if root is not None else project.root,
        manifest_path=ref["path"],
        expected_sha256=ref["sha256"],
        shot_id=shot.id,
        version=shot.version,
        project_id=project.id,
        expected_frames=shot.frames,
    )


def _load_manifest(target: ManifestTarget, check: ManifestCheck) -> tuple[dict, bool] | None:  # type: ignore[type-arg]
    """The manifest's data, and whether its paths broke no rule (all safe, placed, NFC, once)."""
    from cinev4 import hash_bytes

    where = target.manifest_path
    expected_location = layout.manifest_file(target.shot_id, target.version) if target.version else None
    if expected_location is not None and where != expected_location:
        check.add("manifest_mismatch", where, f"the manifest is not at its layout place {expected_location}")
        return None
    try:
        check_path(where, "manifest")
        raw = read_document_beneath(target.root, where, "manifest", where)
    except UnsafePathError as exc:  # unsafe text, or a symlink on the way (none is followed below the root)
        check.add("unsafe_path", where, str(exc))
        return None
    except ContractError as exc:  # a FIFO, device, symlink or oversized file: refused unread
        for problem in exc.problems:
            check.add("manifest_invalid", where, problem)
        return None
    except FileNotFoundError:
        check.add("manifest_missing", where, "the manifest file does not exist")
        return None
    except OSError as exc:
        check.add("unreadable", where, f"the manifest cannot be read ({exc.strerror})")
        return None
    check.manifest_sha256 = hash_bytes(raw)
    if target.expected_sha256 is not None and check.manifest_sha256 != target.expected_sha256:
        pin = "the pinned one" if target.pinned_by is None else f"the one {target.pinned_by} pins"
        check.add("manifest_edited", where, f"the manifest was modified after it was written (its sha256 differs from {pin})",
                  expected=target.expected_sha256, actual=check.manifest_sha256)
    try:
        data = parse_document(raw, "manifest", where).data
    except ContractError as exc:
        for problem in exc.problems:
            check.add("manifest_invalid", where, problem)
        return None
    if "version" not in data:
        # The seed's minimum has no "version": the manifest's place in the layout names it.
        placed = layout.parse_manifest_location(where)
        version = target.version or (placed[2] if placed is not None else None)
        if version is None:
            check.add("manifest_invalid", where, f"{where}: $: no \"version\", and the manifest is not at a layout "
                      "place that names one (shots/<SHOT>/manifests/<version>/manifest.json)")
            return None
        data = {**data, "version": version}
    for what, expected in (("project_id", target.project_id), ("shot_id", target.shot_id), ("version", target.version)):
        if expected is not None and data[what] != expected:
            check.add("manifest_mismatch", where, f"$.{what} is {data[what]!r} (expected {expected!r})",
                      expected=expected, actual=data[what])
    check.version = data["version"]
    check.artifact_count = len(data["artifacts"])
    check.artifact_paths = list(map(itemgetter("path"), data["artifacts"]))
    check.total_bytes = sum(map(itemgetter("size"), data["artifacts"]))
    rule_problems = manifest_problems(data, where)
    for problem in rule_problems:
        check.add("unsafe_path", where, problem)
    return data, not rule_problems


def _plan_artifacts(target: ManifestTarget, data: dict, rules_kept: bool,  # type: ignore[type-arg]
                    check: ManifestCheck) -> _Table:
    """The manifest's artifacts as one table for the engine, and the version folder's own
    problems (scan, extras, frames). Nothing is opened or stat'ed here, file by file.
    ``rules_kept``: every path is safe and in the version folder (``manifest_problems``
    found nothing), so the table is the manifest's columns as they are."""
    prefix = layout.version_outputs_prefix(data["shot_id"], data["version"])
    outputs = layout.outputs_dir(data["shot_id"], data["version"])
    scan = scan_folder(target.root, outputs, sizes=False)  # each artifact's size is checked when it is opened
    table = _Table(target, check, len(check.problems), [], [], [], [], _Moves([], []))
    artifacts = data["artifacts"]
    paths = list(map(itemgetter("path"), artifacts))
    disk_paths = scan.paths
    # ASCII text is its own NFC: the common case needs no normalisation call per path.
    ascii_only = "".join(paths).isascii() and "".join(disk_paths).isascii()
    listed = set(paths) if ascii_only else {nfc(path) for path in paths}
    if rules_kept and ascii_only:
        table.paths = paths
        table.opened = list(paths)
        table.sizes = list(map(itemgetter("size"), artifacts))
        table.digests = list(map(itemgetter("sha256"), artifacts))
    else:
        on_disk = set(disk_paths)
        # The same name in another Unicode normalisation is the same artifact (macOS writes NFD).
        on_disk_nfc = {nfc(path): path for path in disk_paths}
        for artifact in artifacts:
            path = artifact["path"]
            if path_problems(path) or not path.startswith(prefix):
                continue  # already reported by manifest_problems; never touch such a path
            table.paths.append(path)
            table.opened.append(path if path in on_disk else on_disk_nfc.get(nfc(path), path))
            table.sizes.append(artifact["size"])
            table.digests.append(artifact["sha256"])
    table.mark = len(check.problems)
    for path, why in scan.problems:
        check.add("unsafe_path", path, f"in the version folder: {why}")
    # By set: no pass over the files when none is extra.
    extras = () if listed.issuperset(disk_paths) else disk_paths
    for path in extras:
        if (path if ascii_only else nfc(path)) not in listed:
            extra = _sized_extra(target.root, path)
            if extra is not None:
                check.add("extra", path, "on disk in the version folder but not in the manifest", actual=extra.size)
                table.moves.extras.append(extra)
    if target.expected_frames is not None:
        for gap in frame_gaps((a["path"] for a in data["artifacts"]), target.expected_frames):
            check.add("missing_frames", gap.path(outputs), gap.describe_missing(),
                      expected=str(gap.expected), actual=[list(run) for run in gap.missing])
    return table


def _sized_extra(root: Path, path: str) -> ScannedFile | None:
    """An extra file with its size (listed without one: the scan asks no size of files the
    manifest sizes anyway; a moved artifact is found among the extras by its size). None
    when it went, or is no longer a regular file, since it was listed."""
    try:
        st = os.lstat(os.path.join(root, *path.split("/")))  # metadata only: the bytes are read anchored
    except OSError:
        return None
    return ScannedFile(path, os.fspath(root), st.st_size) if stat.S_ISREG(st.st_mode) else None


# Errors of the open itself (the old per-file stat's): reported with the artifact's presence
# and size; any other error (permissions, I/O) is one of reading, reported with the hashes.
_OPEN_ERRNOS = frozenset({errno.ENOTDIR, errno.ELOOP, errno.ENAMETOOLONG, errno.EINVAL})
_READ_ONLY_ERRNOS = frozenset({errno.EACCES, errno.EPERM})  # a sizes-only check never reads


def _engine_problem(table: _Table, index: int, kind: str, size: int, sha256: str | None, error: OSError | None,
                    early: list[Problem], *, sizes_only: bool) -> None:
    """Turn one problem the engine found into the report's words: ``early`` for the artifact
    problems (placed before the folder's own, as a check by path would find them), the
    check's own list for what only reading tells."""
    path, expected = table.paths[index], table.sizes[index]
    check = table.check
    if kind == "missing":
        early.append(Problem("missing", path, "listed in the manifest but not on disk", expected))
        table.moves.missing.append((path, expected, table.digests[index]))
    elif kind == "symlink":
        early.append(_symlink_problem(table.target.root, path))
    elif kind == "not_regular":
        early.append(Problem("unreadable", path, "is not a regular file"))
    elif kind == "size_differs":
        early.append(Problem("size_differs", path, f"size is {size} bytes (expected {expected})", expected, size))
    elif kind == "hash_differs":
        check.add("hash_differs", path, "content differs from the manifest (sha256)",
                  expected=table.digests[index], actual=sha256)
    else:
        reason = getattr(error, "strerror", None) or str(error)
        code = getattr(error, "errno", None)
        if code in _OPEN_ERRNOS:
            early.append(Problem("unreadable", path, f"cannot be read ({reason})"))
        elif sizes_only and code in _READ_ONLY_ERRNOS:
            _size_without_reading(table, index, early)
        else:
            check.add("unreadable", path, f"cannot be read ({reason})")


def _size_without_reading(table: _Table, index: int, early: list[Problem]) -> None:
    """A sizes-only check never reads: a file this user may not open is sized by its stat
    (metadata only; the anchored open found no symlink before it was refused)."""
    path, expected = table.paths[index], table.sizes[index]
    try:
        st = os.lstat(os.path.join(table.target.root, *table.opened[index].split("/")))
    except OSError as exc:
        early.append(Problem("unreadable", path, f"cannot be read ({exc.strerror})"))
        return
    if not stat.S_ISREG(st.st_mode):
        early.append(Problem("unreadable", path, "is not a regular file"))
    elif st.st_size != expected:
        early.append(Problem("size_differs", path, f"size is {st.st_size} bytes (expected {expected})", expected,
                             st.st_size))


def _symlink_problem(root: Path, path: str) -> Problem:
    """An artifact reached through a symlink (never followed to be read), named by where it leads."""
    generic = Problem("unsafe_path", path, f"artifact: {path!r} is a symlink (not followed: no symlink is followed "
                                           "below the project root)")
    try:
        real = resolve_inside(root, path, "artifact")
    except UnsafePathError as exc:
        return Problem("unsafe_path", path, str(exc))
    except OSError:  # changed again while it was looked at (a symlink swapped in and out)
        return generic
    try:
        os.stat(real)
    except OSError as exc:
        return Problem("unreadable", path, f"cannot be read ({exc.strerror})")
    return generic


def _place_early(table: _Table, early: list[Problem]) -> None:
    """The artifact problems go where a check by path would have put them: before the folder's."""
    table.check.insert(table.mark, early)


def _check_tables(
    tables: list[_Table],
    report: VerifyReport,
    *,
    with_hashes: bool,
    threads: int | None,
    progress: Progress | None,
    sizes_only: bool,
) -> list[list[bool]]:
    """One engine pass over every table (one batch per root): each file opened beneath the
    root without following a symlink, its size checked and, with ``with_hashes``, its SHA-256
    compared. Only problems come back; returns, per table, which files were fine."""
    from cinev4._fasthash import check_files

    fine = [[True] * len(t.paths) for t in tables]
    by_root: dict[str, list[int]] = {}
    for number, table in enumerate(tables):
        if table.paths:
            by_root.setdefault(os.fspath(table.target.root), []).append(number)
    total_bytes = sum(sum(t.sizes) for t in tables) if with_hashes else 0
    total_files = sum(len(t.paths) for t in tables)
    if progress is not None and with_hashes:
        progress.start(total_bytes, total_files)
    done = [0, 0]
    try:
        for root, numbers in by_root.items():
            starts = []
            paths: list[str] = []
            sizes: list[int] = []
            digests: list[str] = []
            for number in numbers:
                starts.append(len(paths))
                paths += tables[number].opened
                sizes += tables[number].sizes
                digests += tables[number].digests

            def update(bytes_done: int, files_done: int, base: tuple[int, int] = (done[0], done[1])) -> None:
                if progress is not None and with_hashes:
                    progress.update(base[0] + bytes_done, base[1] + files_done)

            problems, files_hashed, bytes_hashed = check_files(
                root, paths, sizes, digests if with_hashes else None, threads, progress=update)
            done[0] += sum(sizes)
            done[1] += len(paths)
            report.files_hashed += files_hashed
            report.bytes_hashed += bytes_hashed
            early: dict[int, list[Problem]] = {}
            for index, kind, size, sha256, error in problems:
                slot = bisect.bisect_right(starts, index) - 1
                number = numbers[slot]
                local = index - starts[slot]
                fine[number][local] = False
                _engine_problem(tables[number], local, kind, size, sha256, error, early.setdefault(number, []),
                                sizes_only=sizes_only)
            for number, found in early.items():
                _place_early(tables[number], found)
    finally:
        if progress is not None and with_hashes:
            progress.finish()
    return fine


def _probes(moves: _Moves) -> list[ScannedFile]:
    """Extra files worth hashing: those whose size is that of a missing artifact."""
    sizes = {size for _, size, _ in moves.missing}
    return [f for f in moves.extras if f.size in sizes]


def _report_moves(moves: _Moves, check: ManifestCheck, found: dict[str, str]) -> None:
    """Turn each (missing, extra) pair with the same size and sha256 into one ``moved`` problem.

    ``found``: extra path -> its sha256. Pairs are taken in path order, each file once; one
    pass over each list (a whole folder renamed is 100,000 pairs).
    """
    extras_by_content: dict[tuple[int, str], list[str]] = {}
    for extra in reversed(moves.extras):  # reversed, so that pop() gives them in path order
        if extra.path in found:
            extras_by_content.setdefault((extra.size, found[extra.path]), []).append(extra.path)
    moved_to: dict[str, str] = {}
    for path, size, sha256 in moves.missing:
        candidates = extras_by_content.get((size, sha256))
        if candidates:
            moved_to[path] = candidates.pop()
    if not moved_to:
        return
    taken = set(moved_to.values())
    problems = []
    for p in check.problems:
        if p.kind == "extra" and p.path in taken:
            continue
        if p.kind == "missing" and p.path in moved_to:
            to = moved_to[p.path]
            p = Problem("moved", p.path, f"not at its manifest path: the same bytes (size and sha256) are at {to}",
                        expected=p.path, actual=to)
        problems.append(p)
    check.retain(problems)


class PassOptions(TypedDict, total=False):
    """How a verification pass runs: the keywords of ``verify_pairs``, which
    ``verify_targets`` and the manifest-file entry points pass on as they are."""

    threads: int | None
    progress: Progress | None
    sizes_only: bool
    backend: HashBackend | None
    resume: bool


class VerifyOptions(PassOptions, total=False):
    """The keywords of ``verify_manifest_file`` and ``verify_manifest_files``."""

    project_root: str | os.PathLike[str] | None


def verify_targets(targets: list[ManifestTarget], **options: Unpack[PassOptions]) -> VerifyReport:
    """Verify every target manifest and the artifacts it lists (``options``: as ``verify_pairs``)."""
    pairs: list[tuple[ManifestTarget | None, ManifestCheck]] = [
        (t, ManifestCheck(t.shot_id, t.version, t.manifest_path)) for t in targets
    ]
    return verify_pairs(pairs, **options)


def verify_pairs(
    pairs: list[tuple[ManifestTarget | None, ManifestCheck]],
    *,
    threads: int | None = None,
    progress: Progress | None = None,
    sizes_only: bool = False,
    backend: HashBackend | None = None,
    resume: bool = False,
) -> VerifyReport:
    """Verify each target into its check; a check may already hold problems
    (the release gate's), and one without a target is reported as it is.
    ``backend`` says where the bytes are hashed (default: this machine);
    ``resume``: keep a journal so that an interrupted run can continue.

    On this machine without a journal, each root's artifacts go to the engine
    as one table (paths, sizes, digests) in one pass, and only the problems
    come back. With a journal or another backend, the same pass opens and
    sizes every file first, and the fine ones are hashed through them."""
    report = VerifyReport(hashes_checked=not sizes_only)
    tables: list[_Table] = []
    for target, check in pairs:
        report.checks.append(check)
        if target is None:
            continue
        loaded = _load_manifest(target, check)
        if loaded is not None:
            tables.append(_plan_artifacts(target, *loaded, check))
    if not tables:
        return report
    one_pass = sizes_only or (backend is None and not resume)
    fine = _check_tables(tables, report, with_hashes=one_pass and not sizes_only, threads=threads,
                         progress=progress, sizes_only=sizes_only)
    if sizes_only:
        return report
    if one_pass:
        _hash_probes(tables, threads)
        return report
    plan: list[_Planned] = []
    for table, ok in zip(tables, fine):
        real_root = os.path.realpath(table.target.root)
        plan += [_Planned(table, table.paths[i], _below(real_root, table.opened[i]), table.sizes[i],
                          table.digests[i]) for i in range(len(table.paths)) if ok[i]]
        plan += [_Planned(table, f.path, _below(real_root, f.path), f.size, "", probe=True)
                 for f in _probes(table.moves)]
    if not plan:
        return report
    targets = [t for t, _ in pairs if t is not None]
    digests = _hash_plan(plan, targets, report, threads=threads, progress=progress, backend=backend, resume=resume)
    found: dict[int, dict[str, str]] = {}
    for item, digest in zip(plan, digests):
        check = item.table.check
        if item.probe:
            if digest.error is None and digest.sha256 is not None:
                found.setdefault(id(item.table), {})[item.path] = digest.sha256
            continue
        if digest.error is not None:
            reason = getattr(digest.error, "strerror", None) or str(digest.error)
            check.add("unreadable", item.path, f"cannot be read ({reason})")
            continue
        report.files_hashed += 1
        report.bytes_hashed += digest.size
        if digest.size != item.size:
            check.add("size_differs", item.path, f"size is {digest.size} bytes (expected {item.size})",
                      expected=item.size, actual=digest.size)
        elif digest.sha256 != item.sha256:
            check.add("hash_differs", item.path, "content differs from the manifest (sha256)",
                      expected=item.sha256, actual=digest.sha256)
    for table in tables:
        if id(table) in found:
            _report_moves(table.moves, table.check, found[id(table)])
    return report


def _hash_probes(tables: list[_Table], threads: int | None) -> None:
    """Hash the extra files that may be missing artifacts moved (beneath the root, as the rest)."""
    for table in tables:
        probes = _probes(table.moves)
        if not probes:
            continue
        digests = hash_beneath(table.target.root, [f.path for f in probes], total_bytes=sum(f.size for f in probes),
                               threads=threads, sizes=[f.size for f in probes])
        found = {f.path: d.sha256 for f, d in zip(probes, digests) if d.error is None and d.sha256 is not None}
        _report_moves(table.moves, table.check, found)


def _below(real_root: str, contract_path: str) -> str:
    """Where the contract path is under the real root, as text (its rules were checked: no
    ``..``, no empty part, ``/`` between parts)."""
    if os.sep == "/":
        return f"{real_root.rstrip('/')}/{contract_path}"
    return os.path.join(real_root, *contract_path.split("/"))


def _hash_plan(
    plan: list[_Planned],
    targets: list[ManifestTarget],
    report: VerifyReport,
    *,
    threads: int | None,
    progress: Progress | None,
    backend: HashBackend | None,
    resume: bool,
) -> Sequence[Digest]:
    """Digests of the plan's files, through the journal when resuming (its summary goes in the report)."""
    paths = [p.real_path for p in plan]
    sizes = [p.size for p in plan]
    if not resume:
        return hash_paths(paths, total_bytes=sum(sizes), threads=threads, progress=progress, sizes=sizes,
                          backend=backend)
    from cinev4.pipeline.journal import hash_resumable, open_journal

    roots = {os.path.realpath(t.root) for t in targets}
    if len(roots) != 1:
        raise ContractError("--resume verifies manifests of one root at a time")
    real_root = roots.pop()
    journal = open_journal(real_root, [f"{t.manifest_path} {t.expected_sha256}" for t in targets])

    def hash_batch(batch: list[str], batch_sizes: list[int], batch_progress: Progress | None) -> Sequence[Digest]:
        if backend is None:  # this machine: opened beneath the root, as without a journal
            return _hash_under(real_root, batch, [journal.key(p) for p in batch], batch_sizes, threads,
                               batch_progress)
        return hash_paths(batch, total_bytes=sum(batch_sizes), threads=threads, progress=batch_progress,
                          sizes=batch_sizes, backend=backend)

    try:
        digests = hash_resumable(journal, paths, sizes, hash_batch, progress=progress, threads=threads)
    except BaseException:  # Ctrl-C, SIGTERM, a failing backend: keep what was journaled
        journal.close(completed=False)
        raise
    journal.close(completed=True)
    report.resume = journal.summary()
    return digests


def _hash_under(real_root: str, batch: list[str], relative: list[str], sizes: list[int], threads: int | None,
                progress: Progress | None) -> Sequence[Digest]:
    """``hash_paths`` for the files ``batch``, ``relative`` below ``real_root`` (the journal's
    keys), each opened beneath it (no symlink followed)."""
    from cinev4._fasthash import FileDigest

    found = hash_beneath(real_root, relative, total_bytes=sum(sizes), threads=threads, progress=progress,
                         sizes=sizes)
    # The journal keys results by the paths it was given.
    return [FileDigest(os.fspath(p), d.size, d.digest, d.error) for p, d in zip(batch, found)]  # type: ignore[attr-defined]


def shot_pairs(
    project: Project, shots: list[Shot], *, skip_unmanifested: bool
) -> tuple[list[tuple[ManifestTarget | None, ManifestCheck]], list[str]]:
    """(target, check) for each shot; a shot without a manifest is a ``no_manifest``
    problem, or only a note when ``skip_unmanifested``."""
    pairs: list[tuple[ManifestTarget | None, ManifestCheck]] = []
    notes: list[str] = []
    pins = release_pins(project)
    for shot in shots:
        target = shot_target(project, shot)
        check = ManifestCheck(shot.id, shot.version, shot.manifest_ref["path"] if shot.manifest_ref else None)
        for problem in record_problems(shot, pins):  # the record's own evidence (status, release pins)
            check.add(problem.kind, problem.path, problem.detail, problem.expected, problem.actual)
        if target is None:
            if skip_unmanifested and check.ok:
                notes.append(f"{shot.id} {shot.version}: no manifest yet, skipped")
                continue
            if not skip_unmanifested:
                    check.add("no_manifest", layout.outputs_dir(shot.id, shot.version),
                          f"shot {shot.id} has no manifest for {shot.version} (run: cinev4 manifest {shot.id})")
        pairs.append((target, check))
    return pairs, notes


def _released_pairs(project: Project, shots: list[Shot]) -> list[tuple[ManifestTarget | None, ManifestCheck]]:
    """The released manifests of ``shots`` other than each one's current manifest (an earlier
    version), each checked against the release record that pinned it."""
    shot_ids = {shot.id for shot in shots}
    seen = {(shot.id, shot.manifest_ref["path"]) for shot in shots if shot.manifest_ref is not None}
    pairs: list[tuple[ManifestTarget | None, ManifestCheck]] = []
    for pin in release_pins(project):
        if pin.shot_id not in shot_ids or (pin.shot_id, pin.manifest_path) in seen:
            continue  # the current manifest's pins are checked with the shot (record_problems)
        seen.add((pin.shot_id, pin.manifest_path))
        target = ManifestTarget(project.root, pin.manifest_path, pin.manifest_sha256, pin.shot_id, pin.version,
                                project.id, pinned_by=pin.record_path)
        pairs.append((target, ManifestCheck(pin.shot_id, pin.version, pin.manifest_path)))
    return pairs


def _unrecorded_pairs(project: Project) -> list[tuple[ManifestTarget | None, ManifestCheck]]:
    """A ``no_shot_record`` problem for each shot folder without its shot.json."""
    pairs: list[tuple[ManifestTarget | None, ManifestCheck]] = []
    for name, problem in unrecorded_shot_problems(project):
        check = ManifestCheck(name, None, None)
        check.add(problem.kind, problem.path, problem.detail)
        pairs.append((None, check))
    return pairs


def verify_shots(
    project: Project,
    shot_ids: list[str] | None = None,
    *,
    threads: int | None = None,
    progress: Progress | None = None,
    sizes_only: bool = False,
    backend: HashBackend | None = None,
    resume: bool = False,
    include_failed: bool = False,
) -> VerifyReport:
    """Verify the current manifest of each shot named, or of every shot that has one (None),
    and every earlier manifest of those shots that a release record pins. With None, a shot
    folder without its shot.json is a ``no_shot_record`` problem, and FAIL shots are left out
    (listed in ``report.skipped``; their released manifests are still verified) unless
    ``include_failed``: a shot given up on must not fail every later run."""
    shots = list_shots(project) if shot_ids is None else [load_shot(project, s) for s in unique_ids(shot_ids)]
    current = shots
    skipped: list[dict[str, str]] = []
    if shot_ids is None and not include_failed:
        current = [shot for shot in shots if shot.status is not Status.FAIL]
        skipped = [{"shot_id": shot.id, "status": shot.status.value, "version": shot.version,
                    "reason": "FAIL shot left out (--include-failed verifies it too)"}
                   for shot in shots if shot.status is Status.FAIL]
    pairs, notes = shot_pairs(project, current, skip_unmanifested=shot_ids is None)
    pairs += _released_pairs(project, shots)
    if shot_ids is None:
        pairs += _unrecorded_pairs(project)
    report = verify_pairs(pairs, threads=threads, progress=progress, sizes_only=sizes_only, backend=backend,
                          resume=resume)
    report.notes += notes
    report.skipped += skipped
    return report


def unique_ids(ids: list[str]) -> list[str]:
    """``ids`` in order; naming a shot twice is a usage error."""
    if isinstance(ids, (str, bytes)):  # iterated, "SH010" would name shots S, H, 0, 1, 0
        raise TypeError(f"shot ids must be a list of ids, not a single {type(ids).__name__} ({ids!r}: "
                        f"write [{ids!r}])")
    seen: list[str] = []
    for shot_id in ids:
        if shot_id in seen:
            raise ContractError(f"shot {shot_id} is named twice")
        seen.append(shot_id)
    return seen


def verify_manifest_file(manifest: str | os.PathLike[str], **options: Unpack[VerifyOptions]) -> VerifyReport:
    """Verify one manifest file given by its file-system path (``options``: as
    ``verify_manifest_files`` takes them).

    Its root is read from the layout (``<root>/shots/<SHOT>/manifests/<v>/
    manifest.json``), so a delivered copy without project.json verifies too.
    When that root is a project whose shot record pins this manifest, the
    manifest's own hash is checked against the pin as well.
    """
    return verify_manifest_files([manifest], **options)


def verify_manifest_files(
    manifests: Sequence[str | os.PathLike[str]],
    *,
    project_root: str | os.PathLike[str] | None = None,
    **options: Unpack[PassOptions],
) -> VerifyReport:
    """``verify_manifest_file`` for each of ``manifests``, hashed in one batch, one report
    (``options``: as ``verify_pairs``)."""
    targets: list[ManifestTarget] = []
    notes: list[str] = []
    for manifest in manifests:
        target = manifest_file_target(manifest, project_root=project_root, notes=notes)
        if any(t.root == target.root and t.manifest_path == target.manifest_path for t in targets):
            raise ContractError(f"{manifest}: named twice")
        targets.append(target)
    report = verify_targets(targets, **options)
    report.notes += notes
    return report


def manifest_file_target(
    manifest: str | os.PathLike[str], *, project_root: str | os.PathLike[str] | None = None,
    notes: list[str] | None = None,
) -> ManifestTarget:
    """What to verify for a manifest file given by its path: its root from the layout, and
    the pin of its own bytes (the shot record's, else a release record's under that root)."""
    notes = notes if notes is not None else []
    real = as_the_kernel_reads(manifest, 5)  # ROOT/shots/SHOT/manifests/VERSION/manifest.json
    location = layout.parse_manifest_location(real.as_posix())
    if location is None:
        raise ContractError(f"{manifest}: not at a manifest's layout place (expected <root>/shots/<SHOT>/manifests/<version>/manifest.json)")
    root_text, shot_id, version = location
    root = Path(root_text)
    if project_root is not None and not _same_folder(project_root, root):
        # The explicit path wins: a project named beside it must be the manifest's own root.
        raise ContractError(f"--project {project_root} is not the root of --manifest {manifest} "
                            f"(its root is {root}); give one or the other")
    contract_path = layout.manifest_file(shot_id, version)
    expected_sha: str | None = None
    project_id: str | None = None
    expected_frames: FrameRange | None = None
    if (root / layout.PROJECT_FILE).is_file():
        project = load_project(root)
        project_id = project.id
        try:
            shot = load_shot(project, shot_id)
        except ShotNotFoundError:
            shot = None
        if shot is not None and shot.manifest_ref is not None and shot.manifest_ref["path"] == contract_path:
            expected_sha = shot.manifest_ref["sha256"]
            expected_frames = shot.frames
    if expected_sha is None:
        expected_sha = _pinned_by_release(root, contract_path, notes)
    if expected_sha is None:
        notes.append(f"{contract_path}: no shot record pins this manifest, so its own bytes were only checked for validity")
    return ManifestTarget(root, contract_path, expected_sha, shot_id, version, project_id, expected_frames)


def _same_folder(a: str | os.PathLike[str], b: str | os.PathLike[str]) -> bool:
    """Whether two paths name one folder (by device and inode: symlinks and bind mounts alike)."""
    try:
        sa, sb = os.stat(a), os.stat(b)
    except OSError:
        return False
    return (sa.st_dev, sa.st_ino) == (sb.st_dev, sb.st_ino)


def _pinned_by_release(root: Path, contract_path: str, notes: list[str]) -> str | None:
    """The manifest SHA-256 a release record under ``root`` pins (a delivered
    copy carries its release record, not the shot records)."""
    from cinev4.contracts import load_document

    releases = root / layout.RELEASES_DIR
    if not releases.is_dir():
        return None
    for record_file in sorted(releases.glob(f"*/{layout.RELEASE_FILE}")):
        source = layout.release_record(record_file.parent.name)
        record = load_document(record_file, "release", source).data
        for entry in record["shots"]:
            if entry["manifest_path"] == contract_path:
                notes.append(f"{contract_path}: its own bytes were checked against the pin in {source}")
                return str(entry["manifest_sha256"])
    return None
