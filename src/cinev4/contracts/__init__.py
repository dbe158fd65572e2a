"""Contracts: the JSON documents cinev4 reads and writes, and how.

- ``jsonio``: strict JSON loading (UTF-8, no duplicate keys, no NaN) and the
  canonical byte form written to disk;
- ``schemas``: validation against the package's JSON Schemas, the single
  source of truth for what each document holds;
- ``rules``: the rules a schema cannot say (path safety, uniqueness, where a
  path points on disk);
- ``layout``: where each document and each shot version's files are on disk;
- ``atomic``: write-once and atomic-replace file writes.

``load_document`` is the one way a document is read: bounded bytes from a
regular file (``read_document_bytes``), then parse, then validate.
"""
from __future__ import annotations

from cinev4.contracts.documents import (
    Document,
    load_document,
    parse_document,
    read_document_beneath,
    read_document_bytes,
    read_json_file,
)
from cinev4.contracts.jsonio import canonical_bytes, indented_text
from cinev4.contracts.schemas import DocumentKind, validate

__all__ = [
    "Document",
    "DocumentKind",
    "canonical_bytes",
    "indented_text",
    "load_document",
    "parse_document",
    "read_document_beneath",
    "read_document_bytes",
    "read_json_file",
    "validate",
]
