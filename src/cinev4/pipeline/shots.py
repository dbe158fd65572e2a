"""Shot records (shots/<SHOT>/shot.json): create, load, list, and transitions.

Every change to a shot record happens under the shot's lock, is validated
against the shot schema before it is written, and is written atomically; each
transition is appended to the record's history.
"""
from __future__ import annotations

import copy
import errno
import os
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from cinev4.contracts import canonical_bytes, layout, load_document, validate
from cinev4.contracts.atomic import fsync_dir, replace_atomic, stale_temp_files, write_once
from cinev4.contracts.documents import Record
from cinev4.contracts.rules import check_id, resolve_inside
from cinev4.errors import AlreadyExistsError, ContractError, ShotNotFoundError, TransitionRefused, UnsafePathError
from cinev4.pipeline.clock import utc_now
from cinev4.pipeline.folders import DIRECTORY, NOFOLLOW, is_link
from cinev4.pipeline.frames import FrameRange
from cinev4.pipeline.locks import HAVE_FLOCK, lock, shot_lock
from cinev4.pipeline.project import Project, check_same_project
from cinev4.pipeline.released import ReleasePin, refuse_if_released
from cinev4.pipeline.report import Problem
from cinev4.pipeline.states import Action, Status, target_status, unearned_status

__all__ = [
    "Shot",
    "create_shot",
    "load_shot",
    "list_shots",
    "unrecorded_shot_folders",
    "linked_shot_folders",
    "unrecorded_shot_problems",
    "record_problems",
    "save_shot",
    "locked_shot",
    "mark_qc",
    "mark_fail",
    "reopen",
    "new_version",
    "transition",
    "set_frames",
    "TRANSITION_WAIT_S",
]

# A transition waits this long for a shot another process is writing (a
# manifest run holds the lock while it hashes) before giving up with exit 2.
TRANSITION_WAIT_S = 10.0


@dataclass
class Shot(Record):
    """A shot record as loaded; ``data`` is the schema-valid document."""

    data: dict[str, Any]

    @property
    def status(self) -> Status:
        return Status(self.data["status"])

    @property
    def version(self) -> str:
        return str(self.data["version"])

    @property
    def manifest_ref(self) -> dict[str, str] | None:
        return self.data["manifest_ref"]  # type: ignore[no-any-return]

    @property
    def artifacts(self) -> list[dict[str, Any]]:
        return self.data["artifacts"]  # type: ignore[no-any-return]

    @property
    def frames(self) -> FrameRange | None:
        """The frame range the shot's image sequences must cover (None: not declared)."""
        return FrameRange.from_document(self.data.get("frames"))

    @property
    def history(self) -> list[dict[str, Any]]:
        return self.data["history"]  # type: ignore[no-any-return]

    @property
    def outputs_dir(self) -> str:
        return layout.outputs_dir(self.id, self.version)

    @property
    def manifest_path(self) -> str:
        """Where the current version's manifest is (or will be) written."""
        return layout.manifest_file(self.id, self.version)

    def status_problems(self) -> list[str]:
        """Why the status is not earned in the history (empty: it is); see ``unearned_status``."""
        return unearned_status(self.status, self.version, self.history)

    def record(self, to: Status, reason: str) -> None:
        """Append a transition to the history and move to ``to``."""
        self.history.append(
            {"utc": utc_now(), "from": self.data["status"], "to": to.value, "reason": reason, "version": self.version}
        )
        self.data["status"] = to.value


def _shot_folder(project: Project, shot_id: str) -> Any:
    return resolve_inside(project.root, layout.shot_dir(check_id(shot_id, "shot id")))


def create_shot(project: Project, shot_id: str, frames: FrameRange | None = None) -> Shot:
    """A new IN_PROGRESS shot at v0001, with its empty outputs folder ready for the render.

    All or nothing: the shot folder is built under a hidden temporary name in shots/
    (``.<SHOT>.<random>.tmp``, holding outputs/v0001/ and shot.json) and renamed into
    place in one step, so a failure (a full disk) or a kill at any point leaves no
    shots/<SHOT>/ without its record. A hidden folder is never a shot; one left by a
    killed run is removed by the next ``create_shot`` of that shot. A folder already
    at shots/<SHOT>/ without a shot.json gets its record written into it, and a failure
    there removes the folders this call made."""
    if frames is not None and not isinstance(frames, FrameRange):
        raise TypeError(f"frames must be a FrameRange (parse_frame_range('1001-1240')), not {type(frames).__name__}")
    folder = _shot_folder(project, shot_id)
    data: dict[str, Any] = {
        "id": shot_id,
        "project_id": project.id,
        "status": Status.IN_PROGRESS.value,
        "version": layout.FIRST_VERSION,
        "artifacts": [],
        "manifest_ref": None,
        "history": [{"utc": utc_now(), "from": None, "to": Status.IN_PROGRESS.value,
                     "reason": "created", "version": layout.FIRST_VERSION}],
    }
    if frames is not None:
        data["frames"] = frames.to_dict()
    source = layout.shot_record(shot_id)
    validate(data, "shot", source)
    raw = canonical_bytes(data)
    exists = AlreadyExistsError(f"shot {shot_id} already exists ({source})")
    given = project.root / layout.shot_dir(shot_id)  # folder is resolved: a link there is seen here
    if os.path.islink(given):
        raise UnsafePathError(f"{layout.shot_dir(shot_id)} is a symlink (not followed: no symlink is followed "
                              f"below the project root; a shot is a real folder under shots/)")
    if (folder / layout.SHOT_FILE).exists():
        raise exists
    if os.path.lexists(folder):
        _record_into(folder, raw, exists)
    else:
        _build_shot_folder(folder, shot_id, raw, exists)
    return Shot(data)


_OUTPUTS_V1 = ("outputs", layout.FIRST_VERSION)  # layout.outputs_dir(shot, FIRST_VERSION) below the shot folder


def _is_build_of(name: str, shot_id: str) -> bool:
    """Whether ``name`` (in shots/) is a temporary folder ``_build_shot_folder`` makes for ``shot_id``."""
    prefix, suffix = f".{shot_id}.", ".tmp"
    if not (name.startswith(prefix) and name.endswith(suffix)):
        return False
    token = name[len(prefix):-len(suffix)]
    return len(token) == 16 and all(c in "0123456789abcdef" for c in token)


def _remove_tree(path: str | os.PathLike[str]) -> None:
    import shutil  # only on a failure or after a killed run: its import is not every command's start-up

    shutil.rmtree(path, ignore_errors=True)  # never follows a link out of the tree


# A build folder this much older than now, and unlocked, was left by a killed run.
_STALE_BUILD_S = 60.0


def _remove_stale_builds(shots_root: Any, shot_id: str) -> None:
    """Remove the temporary folders killed runs of ``create_shot(shot_id)`` left; one a live
    run holds (locked) is left alone. Without ``flock`` (Windows) none is removed: a live
    run could not be told from a dead one."""
    if not HAVE_FLOCK:  # pragma: no cover - Windows
        return
    try:
        names = [entry.name for entry in os.scandir(shots_root) if _is_build_of(entry.name, shot_id)]
    except OSError:
        return
    for name in names:
        try:
            fd = os.open(shots_root / name, os.O_RDONLY | DIRECTORY | NOFOLLOW)
        except OSError:
            continue
        try:
            # Old as well as unlocked: a live run locks its folder a moment after making it.
            if time.time() - os.fstat(fd).st_mtime > _STALE_BUILD_S and lock(fd):
                _remove_tree(shots_root / name)
        except OSError:
            pass  # a file system that cannot lock a folder: a live run cannot be told from a dead one
        finally:
            os.close(fd)


@contextmanager
def _building(temp: Any) -> Iterator[None]:
    """Hold a lock on the folder being built, so that another run's clean-up leaves it alone."""
    if not HAVE_FLOCK:  # pragma: no cover - Windows: no lock, and no clean-up to keep away
        yield
        return
    fd = os.open(temp, os.O_RDONLY | DIRECTORY | NOFOLLOW)
    try:
        try:
            lock(fd)
        except OSError:
            pass  # no lock here: the clean-up cannot lock it either, so it leaves it alone
        yield
    finally:
        os.close(fd)


def _build_shot_folder(folder: Any, shot_id: str, raw: bytes, exists: AlreadyExistsError) -> None:
    """Make shots/<SHOT>/ whole or not at all: built under a hidden name, then renamed."""
    shots_root = folder.parent
    os.makedirs(shots_root, exist_ok=True)
    _remove_stale_builds(shots_root, shot_id)
    temp = shots_root / f".{shot_id}.{os.urandom(8).hex()}.tmp"
    os.mkdir(temp)
    try:
        with _building(temp):
            os.makedirs(temp.joinpath(*_OUTPUTS_V1))
            write_once(temp / layout.SHOT_FILE, raw, mode=0o644)
            for made in (temp.joinpath(*_OUTPUTS_V1), temp / _OUTPUTS_V1[0]):
                fsync_dir(made)
            try:
                os.rename(temp, folder)  # fails onto a folder that is not empty: never merged
            except OSError as exc:
                if exc.errno in (errno.EEXIST, errno.ENOTEMPTY) or (folder / layout.SHOT_FILE).exists():
                    raise exists from None
                raise
    except BaseException:
        _remove_tree(temp)
        raise
    fsync_dir(shots_root)


def _record_into(folder: Any, raw: bytes, exists: AlreadyExistsError) -> None:
    """Write the record of a shot whose folder is there without one (its outputs folder
    made if missing); a failure removes the folders this call made."""
    made = []
    try:
        for depth in range(1, len(_OUTPUTS_V1) + 1):
            path = folder.joinpath(*_OUTPUTS_V1[:depth])
            try:
                os.mkdir(path)
            except FileExistsError:
                continue
            made.append(path)
        try:
            write_once(folder / layout.SHOT_FILE, raw, mode=0o644)
        except AlreadyExistsError:
            raise exists from None
    except BaseException:
        # A record there now is another run's, which won and uses these folders: left to it.
        if not os.path.lexists(folder / layout.SHOT_FILE):
            for path in reversed(made):
                try:
                    os.rmdir(path)
                except OSError:
                    pass
        raise


def load_shot(project: Project, shot_id: str) -> Shot:
    """Load and validate shots/<shot_id>/shot.json."""
    folder = _shot_folder(project, shot_id)
    source = layout.shot_record(shot_id)
    try:
        document = load_document(folder / layout.SHOT_FILE, "shot", source)
    except FileNotFoundError:
        raise ShotNotFoundError(f"no shot {shot_id} in project {project.id} ({source} does not exist)") from None
    data = document.data
    check_same_project(project, data["project_id"], source)
    if data["id"] != shot_id:
        raise ContractError(f"{source}: $.id: {data['id']!r} does not match its folder (expected {shot_id!r})")
    return Shot(data)


def list_shots(project: Project) -> list[Shot]:
    """Every shot of the project, sorted by id (folders without shot.json are not shots, nor
    are hidden folders: ``.snapshot``, or one a killed ``create_shot`` was building)."""
    shots_root = project.root / layout.SHOTS_DIR
    if not shots_root.is_dir():
        return []
    names = sorted(entry.name for entry in os.scandir(shots_root)
                   if not entry.name.startswith(".") and not _linked(entry)
                   and (shots_root / entry.name / layout.SHOT_FILE).is_file())
    return [load_shot(project, name) for name in names]


def _linked(entry: os.DirEntry[str]) -> bool:
    """A symlink, or on Windows a junction or other reparse point: never followed below the
    root, so no shot (``unrecorded_shot_problems`` reports it)."""
    return entry.is_symlink() or is_link(entry.stat(follow_symlinks=False))


def unrecorded_shot_folders(project: Project) -> list[str]:
    """Folders under shots/ that hold no shot.json, sorted: a deleted record must not make a
    shot (and its outputs) vanish from status and verify. Hidden folders (``.snapshot``) are not shots."""
    shots_root = project.root / layout.SHOTS_DIR
    if not shots_root.is_dir():
        return []
    return sorted(entry.name for entry in os.scandir(shots_root)
                  if entry.is_dir(follow_symlinks=False) and not entry.name.startswith(".") and not _linked(entry)
                  and not (shots_root / entry.name / layout.SHOT_FILE).is_file())


def linked_shot_folders(project: Project) -> list[str]:
    """Names under shots/ that are symlinks (or reparse points), sorted: never followed,
    so never a shot, each reported as a problem."""
    shots_root = project.root / layout.SHOTS_DIR
    if not shots_root.is_dir():
        return []
    return sorted(entry.name for entry in os.scandir(shots_root) if not entry.name.startswith(".") and _linked(entry))


def unrecorded_shot_problems(project: Project) -> list[tuple[str, Problem]]:
    """(folder name, problem) for each of ``unrecorded_shot_folders`` (``no_shot_record``) and
    each of ``linked_shot_folders`` (``unsafe_path``), by name."""
    problems = [(name, Problem("no_shot_record", layout.shot_record(name),
                               f"{layout.shot_dir(name)}/ has no shot.json: the shot and its outputs are tracked by "
                               f"no record (restore its shot.json, or remove the folder)"))
                for name in unrecorded_shot_folders(project)]
    problems += [(name, Problem("unsafe_path", layout.shot_dir(name),
                                f"{layout.shot_dir(name)} is a symlink (not followed: no symlink is followed below "
                                f"the project root; a shot is a real folder under shots/)"))
                 for name in linked_shot_folders(project)]
    return sorted(problems, key=lambda pair: pair[0])


def record_problems(shot: Shot, pins: Sequence[ReleasePin]) -> list[Problem]:
    """What is wrong with the shot record itself, whatever its files say: a status not earned
    in its history, or a manifest pin that contradicts a release record (re-pinned after release)."""
    problems = [Problem("status_unearned", layout.shot_record(shot.id), reason) for reason in shot.status_problems()]
    ref = shot.manifest_ref
    for pin in pins:
        if ref is not None and pin.shot_id == shot.id and pin.manifest_path == ref["path"] \
                and pin.manifest_sha256 != ref["sha256"]:
            problems.append(Problem(
                "manifest_edited", ref["path"],
                f"the manifest was re-pinned after release: {pin.record_path} pinned another sha256 "
                f"than the shot record does now", expected=pin.manifest_sha256, actual=ref["sha256"]))
    return problems


def save_shot(project: Project, shot: Shot, *, encoded: Mapping[str, str] | None = None) -> None:
    """Validate, then atomically replace the shot record (call under ``locked_shot``;
    ``encoded``: as ``canonical_bytes`` takes it)."""
    source = layout.shot_record(shot.id)
    validate(shot.data, "shot", source)
    replace_atomic(project.path(source), canonical_bytes(shot.data, encoded=encoded), mode=0o644)


@contextmanager
def locked_shot(project: Project, shot_id: str, wait_s: float = TRANSITION_WAIT_S) -> Iterator[Shot]:
    """``with locked_shot(project, id) as shot:`` the shot, loaded under its lock."""
    folder = _shot_folder(project, shot_id)
    if not (folder / layout.SHOT_FILE).is_file():
        load_shot(project, shot_id)  # raises ShotNotFoundError with the full message
    with shot_lock(folder, shot_id, wait_s):
        for stale in stale_temp_files(folder / layout.SHOT_FILE):  # left by a killed writer; we hold the lock
            stale.unlink()
        yield load_shot(project, shot_id)


def transition(
    project: Project,
    shot_id: str,
    action: Action,
    reason: str | Callable[[Shot], str],
    gate: Callable[[Shot], list[str]] | None = None,
    mutate: Callable[[Shot], None] | None = None,
) -> Shot:
    """Move the shot by ``action`` under its lock: refused (nothing written) when the state
    machine, a release or ``gate`` (the reasons it returns) says no; ``mutate`` edits the
    record before the transition is appended. The DONE gate is ``gates.mark_done``'s."""
    if isinstance(reason, str):
        _check_reason(reason)
    with locked_shot(project, shot_id) as shot:
        before = copy.deepcopy(shot.data)
        if action in (Action.REOPEN, Action.FAIL, Action.NEW_VERSION):
            refuse_if_released(project, shot_id, str(action))  # under the lock publish also holds
        if action in (Action.DONE, Action.QC, Action.FAIL) and shot.status is target_for(action):
            then = {Status.QC: f"next: cinev4 shot done {shot_id}", Status.DONE: "nothing to do"}.get(
                shot.status, _escape(shot) if project.policy.strict else f"cinev4 shot reopen {shot_id} to rework it")
            raise TransitionRefused(f"shot {shot_id} is already {shot.status} ({shot.version}): {then}")
        try:
            to = target_status(action, shot.status, project.policy)
        except TransitionRefused as exc:
            forward = _way_forward(project, shot, action)
            raise TransitionRefused([f"shot {shot_id}: {r}" + (f"; {forward}" if forward else "")
                                     for r in exc.reasons]) from None
        if gate is not None:
            reasons = gate(shot)
            if reasons:
                raise TransitionRefused([f"shot {shot_id}: {action} refused: {r}" for r in reasons]
                                        + [f"shot {shot_id}: {_gate_way_forward(project, shot)}"])
        if mutate is not None:
            mutate(shot)
        shot.record(to, reason(shot) if callable(reason) else reason)
        if shot.data != before:
            save_shot(project, shot)
        return shot


def target_for(action: Action) -> Status | None:
    """The status an action leads to when it succeeds (None: it depends)."""
    return {Action.DONE: Status.DONE, Action.QC: Status.QC, Action.FAIL: Status.FAIL}.get(action)


def set_frames(project: Project, shot_id: str, frames: FrameRange | None) -> Shot:
    """Declare (or with None, drop) the frame range the shot must render.

    Only while the shot is open (IN_PROGRESS or QC): a DONE shot passed its
    gate against the range it had, and changing it afterwards would rewrite
    what was checked.
    """
    with locked_shot(project, shot_id) as shot:
        if shot.status not in (Status.IN_PROGRESS, Status.QC):
            raise TransitionRefused(f"shot {shot_id}: frames can be set while IN_PROGRESS or QC, the shot is {shot.status}")
        if frames is None:
            shot.data.pop("frames", None)
        else:
            shot.data["frames"] = frames.to_dict()
        save_shot(project, shot)
        return shot


def mark_qc(project: Project, shot_id: str, reason: str = "outputs ready for review") -> Shot:
    """IN_PROGRESS -> QC."""
    return transition(project, shot_id, Action.QC, reason)


def _escape(shot: Shot) -> str:
    """The strict project's way out for a shot that cannot go on: a new shot id."""
    if shot.status is Status.FAIL:
        return "redo the work under a new shot id (cinev4 shot new NEW_ID)"
    if shot.status is Status.DONE:
        return "new work goes under a new shot id (cinev4 shot new NEW_ID)"
    return (f"in a strict project the way out is to fail the shot (cinev4 shot fail {shot.id} --reason TEXT) "
            f"and redo the work under a new shot id (cinev4 shot new NEW_ID)")


def _way_forward(project: Project, shot: Shot, action: Action) -> str:
    """The next command after a refused transition, for its error line."""
    strict = project.policy.strict
    status = shot.status
    if status in (Status.DONE, Status.FAIL):
        return _escape(shot) if strict else f"first: cinev4 shot reopen {shot.id}"
    if action is Action.DONE and status is Status.IN_PROGRESS:
        return f"first: cinev4 shot qc {shot.id}"
    if action is Action.QC and status is Status.QC:
        return f"next: cinev4 shot done {shot.id}"
    if action is Action.NEW_VERSION:
        return _escape(shot) if strict else f"first: cinev4 shot reopen {shot.id}"
    return ""


def _gate_way_forward(project: Project, shot: Shot) -> str:
    """After a refused QC -> DONE: what to do with the files and the manifest."""
    if shot.manifest_ref is None:
        return (f"add what is missing to {shot.outputs_dir}/, then: cinev4 manifest {shot.id}, "
                f"cinev4 shot done {shot.id}")
    if project.policy.strict:
        return (f"the manifest of {shot.version} is sealed (strict project): restore the files it pins and remove "
                f"files added after it; if it cannot pass, fail the shot (cinev4 shot fail {shot.id} --reason TEXT) "
                f"and redo the work under a new shot id (cinev4 shot new NEW_ID)")
    return (f"rework in a new version: cinev4 shot reopen {shot.id}, cinev4 shot new-version {shot.id}, "
            f"then cinev4 manifest {shot.id}")


def _check_reason(reason: str) -> None:
    """A reason is one line of text: a newline would split it in every listing, and an escape
    sequence would reach the terminal of whoever reads ``shot show``."""
    if not isinstance(reason, str):
        raise TypeError(f"a reason is text (str), not {type(reason).__name__}")
    controls = sorted({char for char in reason if ord(char) < 0x20 or 0x7F <= ord(char) < 0xA0})
    if controls:
        shown = ", ".join(repr(char) for char in controls)
        raise ContractError(f"a reason is one line of text without control characters (it holds {shown})")


def mark_fail(project: Project, shot_id: str, reason: str) -> Shot:
    """Any non-terminal state -> FAIL, with the reason kept in ``fail_reason``."""
    _check_reason(reason)
    if not reason.strip():
        raise ContractError("a fail reason is required (--reason TEXT)")

    def mutate(shot: Shot) -> None:
        shot.data["fail_reason"] = reason

    return transition(project, shot_id, Action.FAIL, reason, mutate=mutate)


def reopen(project: Project, shot_id: str, reason: str = "reopened") -> Shot:
    """QC -> IN_PROGRESS (rework); DONE/FAIL -> IN_PROGRESS only under a non-strict policy."""

    def mutate(shot: Shot) -> None:
        shot.data.pop("fail_reason", None)  # the history keeps it

    return transition(project, shot_id, Action.REOPEN, reason, mutate=mutate)


def new_version(project: Project, shot_id: str) -> Shot:
    """Start the next version folder (non-strict policy only). The old version's
    manifest stays valid for the old version; the new one starts unpinned."""

    previous: list[str] = []

    def mutate(shot: Shot) -> None:
        previous.append(shot.version)
        shot.data["version"] = layout.next_version(shot.version)
        shot.data["manifest_ref"] = None
        shot.data["artifacts"] = []
        os.makedirs(project.path(shot.outputs_dir), exist_ok=True)

    return transition(project, shot_id, Action.NEW_VERSION,
                       lambda shot: f"new version {shot.version} (was {previous[0]})", mutate=mutate)
