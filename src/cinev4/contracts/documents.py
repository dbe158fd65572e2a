"""Reading a contract document: bytes -> strict JSON -> schema-valid dict."""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from cinev4.contracts.jsonio import JsonProblem, parse_json
from cinev4.contracts.schemas import DocumentKind, validate
from cinev4.errors import ContractError

__all__ = ["Document", "load_document", "parse_document"]


@dataclass(frozen=True)
class Document:
    """A parsed, schema-valid document and the exact bytes it came from."""

    data: dict[str, Any]
    raw: bytes
    source: str

    @property
    def sha256(self) -> str:
        """SHA-256 of the document's bytes (what ``manifest_ref`` pins)."""
        from cinev4._fasthash import hash_bytes  # the engine is the only hashing path

        return hash_bytes(self.raw)


def parse_document(raw: bytes, kind: DocumentKind, source: str) -> Document:
    """Parse and validate ``raw``; ContractError names ``source`` in every line."""
    try:
        data = parse_json(raw)
    except JsonProblem as exc:
        raise ContractError([f"{source}: {problem}" for problem in exc.problems]) from None
    validate(data, kind, source)
    return Document(data=data, raw=raw, source=source)


def load_document(path: str | os.PathLike[str], kind: DocumentKind, source: str | None = None) -> Document:
    """Read ``path`` and validate it as a ``kind`` document.

    ``source`` is how errors name the file (default: the path as given). A
    missing or unreadable file is an OSError, left to the caller, which knows
    whether "missing" is a usage error or a verification failure.
    """
    with open(path, "rb") as handle:
        raw = handle.read()
    return parse_document(raw, kind, source if source is not None else os.fspath(path))
