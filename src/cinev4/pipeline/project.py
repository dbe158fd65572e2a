"""A cinev4 project: its root folder, its project.json, finding it, creating it."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cinev4.contracts import canonical_bytes, layout, load_document, validate
from cinev4.contracts.atomic import write_once
from cinev4.contracts.documents import Record
from cinev4.contracts.rules import check_id, resolve_inside
from cinev4.errors import AlreadyExistsError, ContractError, ProjectNotFoundError
from cinev4.pipeline.clock import utc_now
from cinev4.pipeline.stage_key import create_stage_key, refuse_existing_stage_key
from cinev4.pipeline.states import Policy

__all__ = ["Project", "init_project", "find_project_root", "load_project"]


@dataclass(frozen=True)
class Project(Record):
    """A loaded project: ``root`` is the folder that holds project.json."""

    root: Path
    data: dict[str, Any]

    @property
    def policy(self) -> Policy:
        return Policy.from_document(self.data["policy"])

    def path(self, contract_path: str) -> Path:
        """The file a contract path names, checked to stay inside the root."""
        return resolve_inside(self.root, contract_path)

    def display(self, contract_path: str) -> str:
        """How messages name a project file: its contract path."""
        return contract_path


def find_project_root(start: str | os.PathLike[str] | None = None) -> Path:
    """The nearest folder at or above ``start`` (default: the current one) holding project.json."""
    here = Path(start if start is not None else os.getcwd()).absolute()
    for folder in (here, *here.parents):
        if (folder / layout.PROJECT_FILE).is_file():
            return folder
    raise ProjectNotFoundError(
        f"no {layout.PROJECT_FILE} in {here} or any folder above it (run 'cinev4 init' or pass --project DIR)"
    )


def load_project(root: str | os.PathLike[str] | None = None, *, search: bool = True) -> Project:
    """Load the project at ``root`` (exactly there), or found by walking up from the
    current folder when ``root`` is None and ``search`` is true."""
    if root is None:
        folder = find_project_root() if search else Path(os.getcwd())
    else:
        folder = Path(root).absolute()
        if not (folder / layout.PROJECT_FILE).is_file():
            raise ProjectNotFoundError(f"{folder} holds no {layout.PROJECT_FILE} (not a cinev4 project root)")
    document = load_document(folder / layout.PROJECT_FILE, "project", source=str(folder / layout.PROJECT_FILE))
    return Project(root=folder, data=document.data)


def init_project(
    directory: str | os.PathLike[str],
    project_id: str,
    *,
    name: str | None = None,
    mutable_outputs: bool = False,
) -> Project:
    """Create project.json (once), the shots/ and releases/ folders and the stage key in ``directory``.

    All or nothing: a refusal (project.json or anything at the stage key's name already
    there) creates nothing, and a failure on the way (a full disk, an interrupt) removes
    what this call made. project.json is written before the key, so that a run killed
    in between leaves a usable project (the first ``stage`` makes a missing key)."""
    check_id(project_id, "project id")
    if not isinstance(mutable_outputs, bool):  # "no" is true: it made a project whose outputs can change
        raise TypeError(f"mutable_outputs must be True or False, not {mutable_outputs!r}")
    folder = Path(directory).absolute()
    if (folder / layout.PROJECT_FILE).exists():
        raise AlreadyExistsError(f"{folder / layout.PROJECT_FILE} already exists (a project is initialised once)")
    refuse_existing_stage_key(folder)
    data: dict[str, Any] = {
        "id": project_id,
        "version": layout.LAYOUT_VERSION,
        "created_utc": utc_now(),
        "policy": Policy(immutable_outputs=not mutable_outputs).to_document(),
    }
    if name is not None:
        data["name"] = name
    validate(data, "project", "project.json")
    raw = canonical_bytes(data)  # before any folder is made: text that cannot be written leaves none
    made: list[Path] = []  # the folders this call created, outermost first
    written = False
    try:
        missing = []
        for above in (folder, *folder.parents):
            if os.path.lexists(above):
                break
            missing.append(above)
        for new in (*reversed(missing), folder / layout.SHOTS_DIR, folder / layout.RELEASES_DIR):
            try:
                new.mkdir()
            except FileExistsError:
                if not new.is_dir():
                    raise
                continue
            made.append(new)
        try:
            write_once(folder / layout.PROJECT_FILE, raw, mode=0o644)
        except AlreadyExistsError:
            raise AlreadyExistsError(f"{folder / layout.PROJECT_FILE} already exists (a project is initialised "
                                     "once)") from None
        written = True
        # Render hooks key their staging records with it (0640: the group reads it).
        create_stage_key(folder, exclusive=True)
    except BaseException:
        if written:
            _remove_quietly(folder / layout.PROJECT_FILE)
        if not (folder / layout.PROJECT_FILE).exists():  # else another init won: its project keeps them
            for new in reversed(made):
                _remove_quietly(new, folder=True)
        raise
    return Project(root=folder, data=data)


def _remove_quietly(path: Path, *, folder: bool = False) -> None:
    """Undo a step of a failed init; what cannot be removed (a folder someone filled meanwhile) stays."""
    try:
        if folder:
            path.rmdir()
        else:
            path.unlink()
    except OSError:
        pass


def check_same_project(project: Project, document_project_id: str, source: str) -> None:
    """A document of another project must not be taken for one of this project."""
    if document_project_id != project.id:
        raise ContractError(f"{source}: $.project_id: {document_project_id!r} is not this project (expected {project.id!r})")
