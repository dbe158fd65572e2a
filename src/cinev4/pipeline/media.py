"""Role and media type of an output file, inferred from its name.

A fixed table rather than the ``mimetypes`` module: ``mimetypes`` reads the
host's /etc/mime.types, and a manifest must not depend on the host.
"""
from __future__ import annotations

from collections.abc import Sequence

__all__ = ["describe_all", "media_type_for", "path_shapes", "role_for"]

_MEDIA_TYPES = {
    ".exr": "image/x-exr",
    ".dpx": "image/x-dpx",
    ".tif": "image/tiff",
    ".tiff": "image/tiff",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".mp4": "video/mp4",
    ".mov": "video/quicktime",
    ".mxf": "application/mxf",
    ".wav": "audio/wav",
    ".json": "application/json",
    ".txt": "text/plain",
    ".log": "text/plain",
}
_IMAGE_EXTENSIONS = {".exr", ".dpx", ".tif", ".tiff", ".png", ".jpg", ".jpeg"}


def _split(path: str) -> tuple[str, str]:
    """(stem, lower-case extension with its dot) of the path's file name. String slicing,
    not regexes: a manifest of 100,000 frames calls this for every file."""
    name = path[path.rfind("/") + 1:]
    dot = name.rfind(".")
    if dot <= 0:  # no dot, or only a leading one (".hidden"): no extension
        return name, ""
    return name[:dot], name[dot:].lower()


def media_type_for(path: str) -> str | None:
    return _MEDIA_TYPES.get(_split(path)[1])


def role_for(path: str) -> str | None:
    """"qc" for qc.json, "preview" for preview.*, "log" for *.log, "frame"
    for numbered images (name.1001.exr, name_1001.exr, name1001.exr); None
    when the name says nothing."""
    stem, ext = _split(path)
    if ext in _IMAGE_EXTENSIONS and stem[-1:].isdecimal():  # the common case first; isdecimal is regex \d
        return "frame"
    lowered = stem.lower()
    if lowered == "qc" and ext == ".json":
        return "qc"
    if lowered == "preview":
        return "preview"
    if ext == ".log":
        return "log"
    return None


_SHAPE = str.maketrans("123456789", "000000000")


def path_shapes(paths: Sequence[str]) -> list[str]:
    """Each path's shape: the path with every ASCII digit written as 0. A sequence of 100,000
    frames is one shape, so what depends only on where the digits are (a frame number's place,
    a role) is worked out once per shape, not once per path."""
    shapes = "\n".join(paths).translate(_SHAPE).split("\n")  # three C calls for all the paths
    if len(shapes) != len(paths):  # a newline inside a path: shaped one by one
        shapes = [path.translate(_SHAPE) for path in paths]
    return shapes


def describe_all(paths: Sequence[str]) -> list[tuple[str | None, str | None]]:
    """(media type, role) of each of ``paths``, once per shape: digits decide neither, except
    inside an extension (".mp4")."""
    shapes = path_shapes(paths)
    known: dict[str, tuple[str | None, str | None]] = {}
    described = []
    for shape, path in zip(shapes, paths):
        found = known.get(shape)
        if found is None:
            found = (media_type_for(path), role_for(path))
            if "0" not in _split(shape)[1]:  # no digit in the extension: the same for the whole shape
                known[shape] = found
        described.append(found)
    return described
