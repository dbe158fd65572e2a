"""The project's stage key (``<root>/.cinev4-stage.key``): the secret that keys staging records.

Made by ``init`` (or by the first ``stage`` of an older project) and read by every
stager and by the seal. Its own module, below both ``project`` (which creates it)
and ``staging`` (which uses it), so that neither imports the other's.
"""
from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path

from cinev4.contracts import layout
from cinev4.contracts.atomic import rename_noreplace
from cinev4.errors import ContractError

__all__ = ["KEY_BYTES", "KEY_MODE", "create_stage_key", "read_stage_key"]

KEY_BYTES = 32
KEY_MODE = 0o640  # the pipeline's group reads it (render nodes stage); others get nothing

_O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_O_NONBLOCK = getattr(os, "O_NONBLOCK", 0)


def create_stage_key(root: str | os.PathLike[str]) -> bool:
    """Create the project's stage key if there is none (True when this call made it).

    32 random bytes written to a temporary file, made 0640 whatever the umask,
    then published under the final name without replacing anything: two
    first stages at once end with one key, never a partial one.
    """
    root = Path(root)
    key_file = root / layout.STAGE_KEY_FILE
    if os.path.lexists(key_file):
        return False
    tmp_name = f".{layout.STAGE_KEY_FILE}.{secrets.token_hex(8)}.tmp"
    dir_fd = os.open(root, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | _O_CLOEXEC)
    try:
        fd = os.open(tmp_name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _O_NOFOLLOW | _O_CLOEXEC, 0o600,
                     dir_fd=dir_fd)
        try:
            os.write(fd, secrets.token_bytes(KEY_BYTES))
            os.fchmod(fd, KEY_MODE)
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            rename_noreplace(tmp_name, layout.STAGE_KEY_FILE, dir_fd)
        except FileExistsError:
            os.unlink(tmp_name, dir_fd=dir_fd)  # another stager made it a moment ago: theirs is used
            return False
        except BaseException:
            os.unlink(tmp_name, dir_fd=dir_fd)
            raise
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
    return True


def read_stage_key(root: str | os.PathLike[str]) -> bytes:
    """The project's stage key. FileNotFoundError when there is none; ContractError (one
    line) when what is there is no usable secret (a symlink, not 32 bytes, readable by others)."""
    key_file = Path(root) / layout.STAGE_KEY_FILE
    try:
        fd = os.open(key_file, os.O_RDONLY | _O_NOFOLLOW | _O_CLOEXEC | _O_NONBLOCK)
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise ContractError(f"{layout.STAGE_KEY_FILE} cannot be opened ({exc.strerror}): staging needs it "
                            f"as a regular file readable by the pipeline's group") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise ContractError(f"{layout.STAGE_KEY_FILE} is not a regular file: staging cannot trust it")
        if os.name != "nt" and st.st_mode & 0o007:
            raise ContractError(f"{layout.STAGE_KEY_FILE} is open to others (mode {stat.S_IMODE(st.st_mode):o}), "
                                f"so it is no secret: chmod 640 it (then restage) or delete it (a new one is made)")
        secret = os.read(fd, KEY_BYTES + 1)
    finally:
        os.close(fd)
    if len(secret) != KEY_BYTES:
        raise ContractError(f"{layout.STAGE_KEY_FILE} is not {KEY_BYTES} bytes: delete it (a new one is made) "
                            f"and restage")
    return secret
