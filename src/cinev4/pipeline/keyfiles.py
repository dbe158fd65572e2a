"""Reading a secret key file (the verify journal's per-user key and the project's stage key),
and the keyed checksum both keys make (HMAC-SHA256, ``keyed_digest``).

One way to read one: opened without following a symlink or blocking on a FIFO planted at
the name, then refused unless it is a regular file (of this user, where that is asked),
closed to the bits that must stay private, and exactly ``KEY_BYTES`` long. What a refusal
says is the caller's to word: the two keys have different owners and different ways out.
"""
from __future__ import annotations

import os
import stat
from pathlib import Path

from cinev4 import Sha256

try:  # the constant-time comparison hmac.compare_digest is, without importing hmac
    from _operator import _compare_digest
except ImportError:  # an interpreter without CPython's _operator
    from hmac import compare_digest as _compare_digest  # type: ignore[no-redef]

__all__ = ["KEY_BYTES", "KeyFileRefused", "owned_by_me", "read_key_file", "keyed_digest", "same_digest"]

KEY_BYTES = 32

_O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)  # Windows has none: it has no unprivileged symlinks either
_O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_O_NONBLOCK = getattr(os, "O_NONBLOCK", 0)  # a FIFO planted at the name must not block the open


# HMAC (RFC 2104) over the engine's SHA-256. The standard library's hmac loads OpenSSL through
# hashlib, about 3 ms of every pipeline command's start-up (a staged seal is 0.1 s in all);
# tests/pipeline/test_keyed_digest.py checks this against hmac on RFC 4231's vectors and at random.
_BLOCK = 64
_INNER_PAD = bytes(byte ^ 0x36 for byte in range(256))
_OUTER_PAD = bytes(byte ^ 0x5C for byte in range(256))


def keyed_digest(key: bytes, message: bytes) -> str:
    """HMAC-SHA256 of ``message`` under ``key``, as 64 lowercase hex digits."""
    if len(key) > _BLOCK:
        key = Sha256(key).digest()
    key = key.ljust(_BLOCK, b"\0")
    inner = Sha256(key.translate(_INNER_PAD) + message).digest()
    return Sha256(key.translate(_OUTER_PAD) + inner).hexdigest()


def same_digest(found: str, expected: str) -> bool:
    """Whether two checksums are equal, in time that does not depend on where they differ.
    A ``found`` no checksum can be (a lone surrogate read from a forged JSON line) is unequal."""
    try:
        return bool(_compare_digest(found.encode(), expected.encode()))
    except UnicodeEncodeError:
        return False


class KeyFileRefused(Exception):
    """The key file is no usable secret. ``why``: "open" (``detail``: the OS's reason),
    "kind" (not a regular file, or not this user's), "mode" (``detail``: the octal mode,
    open to bits that must stay private) or "size" (not ``KEY_BYTES`` bytes)."""

    def __init__(self, why: str, detail: str = "") -> None:
        super().__init__(why, detail)
        self.why, self.detail = why, detail


def owned_by_me(st: os.stat_result) -> bool:
    geteuid = getattr(os, "geteuid", None)
    return geteuid is None or st.st_uid == geteuid()  # Windows: the user's own profile folders


def read_key_file(key_file: Path, *, private_bits: int, owner_only: bool) -> bytes:
    """The secret in ``key_file``. FileNotFoundError when there is none; KeyFileRefused
    when what is there is no usable secret (``private_bits``: mode bits that must be clear,
    not judged on Windows; ``owner_only``: it must belong to this user)."""
    try:
        fd = os.open(key_file, os.O_RDONLY | _O_NOFOLLOW | _O_CLOEXEC | _O_NONBLOCK)
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise KeyFileRefused("open", exc.strerror or str(exc)) from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or (owner_only and not owned_by_me(st)):
            raise KeyFileRefused("kind")
        if os.name != "nt" and st.st_mode & private_bits:
            raise KeyFileRefused("mode", f"{stat.S_IMODE(st.st_mode):o}")
        secret = os.read(fd, KEY_BYTES + 1)
    finally:
        os.close(fd)
    if len(secret) != KEY_BYTES:
        raise KeyFileRefused("size")
    return secret
