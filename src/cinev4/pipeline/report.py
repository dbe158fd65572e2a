"""The verification report: every problem found, not only the first.

One ``ManifestCheck`` per manifest verified; each ``Problem`` has a kind
that scripts can rely on (see PROBLEM_KINDS). A report's exit code follows
docs/CONTRACT.md "Exit codes": 2 when a document breaks the contract (it cannot be trusted
enough to be checked), 1 when bytes differ or the gate refuses, 0 when clean.

Both renderings of a verify or gate report live here, beside its data: the
JSON one (``to_dict``) and the one for people (``report_lines``). Here, not in
the CLI, because only the commands that print a report pay for it: they have
imported this module already (the verification built the report with it),
while cinev4.cli._common, which every command imports, stays free of the
frame-range and problem-kind rules.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Problem", "ManifestCheck", "VerifyReport", "PROBLEM_KINDS", "CONTRACT_KINDS", "manifest_summary",
           "frame_sequences", "problem_lines", "report_lines"]

PROBLEM_KINDS = {
    "no_manifest": "the shot has no manifest for its current version",
    "manifest_missing": "the manifest file is gone",
    "manifest_edited": "the manifest's bytes differ from the sha256 pinned in the shot record or in a release record",
    "manifest_invalid": "the manifest is not valid JSON or breaks its schema",
    "manifest_mismatch": "the manifest belongs to another project, shot or version",
    "unsafe_path": "a path is absolute, climbs out, repeats, or resolves outside the root",
    "missing": "an artifact listed in the manifest is not on disk",
    "moved": "an artifact is not at its path but its bytes (size and sha256) are in an extra file (expected: from, actual: to)",
    "missing_frames": "frames of the shot's declared range are not in the manifest (actual: the missing runs)",
    "size_differs": "an artifact's size differs from the manifest",
    "hash_differs": "an artifact's SHA-256 differs from the manifest",
    "unreadable": "an artifact could not be read (permissions, I/O error, not a regular file)",
    "extra": "a file in the version folder is not in the manifest",
    "not_done": "release gate: the shot is not DONE",
    "status_unearned": "the shot's status is not earned in its history (DONE without a QC -> DONE transition, "
                       "or a status the last transition does not lead to): the record was edited",
    "no_shot_record": "a folder under shots/ has no shot.json: its outputs are tracked by no record",
    "conflict": "publish: a different file is already at this path in the destination (never overwritten)",
    "totals_mismatch": "verify --release: the record's totals are not the sum of its shots entries",
    "duplicate_shot": "verify --release: the record names a shot more than once",
}
CONTRACT_KINDS = frozenset({"manifest_invalid", "manifest_mismatch", "unsafe_path"})


_SUMMARY_FIELDS = ("shot_id", "version", "manifest_path", "manifest_sha256", "artifact_count", "total_bytes")


def manifest_summary(result: Any) -> dict[str, Any]:
    """The fields every JSON result about one manifest starts with, written (``ManifestResult``)
    or verified (``ManifestCheck``), read from the result's attributes of those names."""
    return {name: getattr(result, name) for name in _SUMMARY_FIELDS}


def frame_sequences(paths: Iterable[str]) -> list[dict[str, Any]]:
    """The image sequences among ``paths``, as frame ranges (single files left out)."""
    from cinev4.pipeline.frames import FrameSequence, collapse

    return [entry.to_dict() for entry in collapse(paths) if isinstance(entry, FrameSequence)]


@dataclass(frozen=True)
class Problem:
    kind: str
    path: str
    detail: str
    expected: Any = None
    actual: Any = None

    def key(self) -> tuple[str, str, str, str, str]:
        """What makes two problems the same, hashable (``expected``/``actual`` may be lists)."""
        return self.kind, self.path, self.detail, repr(self.expected), repr(self.actual)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind, "path": self.path, "detail": self.detail}
        if self.expected is not None:
            out["expected"] = self.expected
        if self.actual is not None:
            out["actual"] = self.actual
        return out


@dataclass
class ManifestCheck:
    """What was checked for one shot version and what was wrong with it."""

    shot_id: str
    version: str | None
    manifest_path: str | None
    manifest_sha256: str | None = None
    artifact_count: int = 0
    total_bytes: int = 0
    problems: list[Problem] = field(default_factory=list)
    # The artifact paths of the manifest as verified (not serialised: the
    # manifest itself lists them).
    artifact_paths: list[str] = field(default_factory=list, repr=False)
    # The keys of ``problems``, so that adding one is O(1) (a shot of 100,000 damaged files
    # reports 100,000 problems); kept by add, insert and retain.
    _keys: set[tuple[str, str, str, str, str]] = field(default_factory=set, init=False, repr=False, compare=False)

    @property
    def ok(self) -> bool:
        return not self.problems

    def _known(self) -> set[tuple[str, str, str, str, str]]:
        if len(self._keys) != len(self.problems):  # problems given to the constructor, or set directly
            self._keys = {p.key() for p in self.problems}
        return self._keys

    def add(self, kind: str, path: str, detail: str, expected: Any = None, actual: Any = None) -> None:
        """Add the problem unless the check has it already."""
        self.insert(len(self.problems), [Problem(kind, path, detail, expected, actual)])

    def insert(self, at: int, problems: Iterable[Problem]) -> None:
        """Put ``problems`` at index ``at``, in order, each unless the check has it already."""
        known = self._known()
        fresh = []
        for problem in problems:
            key = problem.key()
            if key not in known:
                known.add(key)
                fresh.append(problem)
        self.problems[at:at] = fresh

    def retain(self, problems: list[Problem]) -> None:
        """Replace the problems with ``problems`` (no two the same)."""
        self.problems = problems
        self._keys = {p.key() for p in problems}

    def to_dict(self) -> dict[str, Any]:
        kinds: dict[str, list[str]] = {}
        for problem in self.problems:
            kinds.setdefault(problem.kind, []).append(problem.path)
        return {
            **manifest_summary(self),
            "ok": self.ok,
            "problems": [p.to_dict() for p in self.problems],
            # The same files as frame ranges (per-file detail stays in "problems" and the manifest).
            "sequences": frame_sequences(self.artifact_paths),
            "problem_sequences": [{"kind": kind, **sequence} for kind, paths in kinds.items()
                                  for sequence in frame_sequences(paths)],
        }


@dataclass
class VerifyReport:
    checks: list[ManifestCheck] = field(default_factory=list)
    hashes_checked: bool = True
    files_hashed: int = 0
    bytes_hashed: int = 0
    notes: list[str] = field(default_factory=list)
    # verify --resume: the journal used, files reused from it and hashed now, warnings (a damaged
    # journal). Only this differs between a resumed run's report and a full run's.
    resume: dict[str, Any] | None = None
    # Shots ``verify --all`` left out on purpose (FAIL shots): shot_id, status, version, reason.
    skipped: list[dict[str, str]] = field(default_factory=list)

    @property
    def problems(self) -> list[Problem]:
        return [p for check in self.checks for p in check.problems]

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def exit_code(self) -> int:
        problems = self.problems
        if any(p.kind in CONTRACT_KINDS for p in problems):
            return 2
        return 1 if problems else 0

    def summary(self) -> str:
        """One line: what was verified, or how much failed."""
        what = "sizes only, no SHA-256 checked" if not self.hashes_checked else "size and SHA-256"
        artifacts = sum(c.artifact_count for c in self.checks)
        left_out = f"; {len(self.skipped)} FAIL shot(s) left out" if self.skipped else ""
        if self.ok:
            return f"OK: {len(self.checks)} manifest(s), {artifacts} artifact(s) verified ({what}){left_out}"
        return f"FAILED: {self.failure()}"

    def failure(self) -> str:
        """How much failed, for an error line: ``3 problem(s) in 1 of 2 manifest(s) (...)``."""
        what = "sizes only, no SHA-256 checked" if not self.hashes_checked else "size and SHA-256"
        failed = sum(1 for c in self.checks if not c.ok)
        return f"{len(self.problems)} problem(s) in {failed} of {len(self.checks)} manifest(s) ({what})"

    def to_dict(self) -> dict[str, Any]:
        out = {
            "ok": self.ok,
            "exit_code": self.exit_code,
            "hashes_checked": self.hashes_checked,
            "files_hashed": self.files_hashed,
            "bytes_hashed": self.bytes_hashed,
            "summary": self.summary(),
            "notes": list(self.notes),
            "manifests": [c.to_dict() for c in self.checks],
            "skipped": list(self.skipped),
        }
        if self.resume is not None:
            out["resume"] = self.resume
        return out

    def raise_for_problems(self) -> None:
        """Raise VerificationFailed carrying this report unless clean (the API's
        "a hash mismatch stops the system"); ``exit_code`` tells 1 from 2."""
        if self.ok:
            return
        from cinev4.errors import VerificationFailed

        raise VerificationFailed(self.summary(), report=self)


# --- for people ------------------------------------------------------------------


def problem_lines(problems: list[Problem]) -> list[str]:
    """One line per problem, except that problems of one kind on the frames of a sequence are
    one line: ``missing  .../sh010.[1005-1009,1100].exr (6 files): listed in the manifest ...``."""
    from cinev4.pipeline.frames import FrameSequence, collapse

    by_kind: dict[str, list[Problem]] = {}
    for problem in problems:
        by_kind.setdefault(problem.kind, []).append(problem)
    grouped: dict[int, tuple[FrameSequence, list[Problem]]] = {}  # id(first problem) -> its sequence
    hidden: set[int] = set()
    position = {id(p): i for i, p in reversed(list(enumerate(problems)))}
    for members in by_kind.values():
        by_path = {p.path: p for p in members}
        for entry in collapse(by_path):
            if isinstance(entry, FrameSequence):
                seq_problems = [by_path[path] for path in entry.paths]
                first = min(seq_problems, key=lambda p: position[id(p)])
                grouped[id(first)] = (entry, seq_problems)
                hidden.update(id(p) for p in seq_problems if p is not first)
    lines = []
    for problem in problems:
        if id(problem) in hidden:
            continue
        if id(problem) in grouped:
            sequence, members = grouped[id(problem)]
            details = {p.detail for p in members}
            detail = details.pop() if len(details) == 1 else PROBLEM_KINDS.get(problem.kind, problem.kind)
            lines.append(f"  {problem.kind:<17} {sequence.display()}: {detail}")
            continue
        line = f"  {problem.kind:<17} {problem.path}: {problem.detail}"
        if problem.kind == "hash_differs":
            line += f" (expected {problem.expected[:12]}..., found {problem.actual[:12]}...)"
        lines.append(line)
    return lines


def report_lines(report: VerifyReport) -> list[str]:
    """A verification report for people: one line per manifest, one per problem (frame
    sequences collapsed into ranges), the notes, then the summary."""
    from cinev4.contracts import layout
    from cinev4.pipeline.frames import collapsed_summary
    from cinev4.sizes import format_size

    lines = []
    hashes = "size+sha256" if report.hashes_checked else "sizes only"
    for check in report.checks:
        version = check.version or "?"
        if check.ok:
            folder = layout.version_outputs_prefix(check.shot_id, check.version) if check.version else ""
            contents = f": {collapsed_summary(check.artifact_paths, strip=folder)}" if check.artifact_paths else ""
            lines.append(f"{check.shot_id} {version}: OK  {check.artifact_count} artifacts, "
                         f"{format_size(check.total_bytes)} ({hashes}){contents}")
            continue
        lines.append(f"{check.shot_id} {version}: FAILED  {len(check.problems)} problem(s)")
        lines.extend(problem_lines(check.problems))
    for skipped in report.skipped:
        lines.append(f"{skipped['shot_id']} {skipped['version']}: SKIPPED  {skipped['reason']}")
    lines.extend(f"note: {note}" for note in report.notes)
    if not report.hashes_checked:
        lines.append("note: --sizes-only: presence and sizes checked, NO SHA-256 was checked")
    lines.append(report.summary())
    return lines
