"""The project's stage key (``<root>/.cinev4-stage.key``): the secret that keys staging records.

Made by ``init`` (which refuses whatever is already at its name: a key is never
adopted there) or by the first ``stage`` of an older project, and read by every
stager and by the seal. Its own module, below both ``project`` (which creates it)
and ``staging`` (which uses it), so that neither imports the other's.
"""
from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from cinev4.contracts import layout
from cinev4.contracts.atomic import rename_noreplace
from cinev4.errors import AlreadyExistsError, ContractError
from cinev4.pipeline.keyfiles import KEY_BYTES, KeyFileRefused, read_key_file

__all__ = ["KEY_BYTES", "KEY_MODE", "create_stage_key", "read_stage_key", "refuse_existing_stage_key"]

KEY_MODE = 0o640  # the pipeline's group reads it (render nodes stage); others get nothing

_O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)


def _what_is_there(key_file: Path) -> str:
    """How an error line names what already sits at the key's name."""
    try:
        st = os.lstat(key_file)
    except OSError:
        return "something"
    if stat.S_ISLNK(st.st_mode):
        return "a symbolic link"
    if stat.S_ISDIR(st.st_mode):
        return "a folder"
    if stat.S_ISREG(st.st_mode):
        return f"a file of {st.st_size} bytes, mode {stat.S_IMODE(st.st_mode):o}"
    return "a special file"


def refuse_existing_stage_key(root: str | os.PathLike[str]) -> None:
    """AlreadyExistsError (exit 2) when anything is at the key's name in ``root``.

    ``init`` makes the key itself and never adopts what it finds there: a file
    planted before the project existed would be trusted as the secret that keys
    every staging record, and a folder or a link would leave a project that
    cannot stage.
    """
    key_file = Path(root) / layout.STAGE_KEY_FILE
    if os.path.lexists(key_file):
        raise AlreadyExistsError(
            f"{key_file} already exists ({_what_is_there(key_file)}): init makes the project's stage key "
            f"itself and never adopts one; move it away, then run init again")


def create_stage_key(root: str | os.PathLike[str], *, exclusive: bool = False) -> bool:
    """Create the project's stage key if there is none (True when this call made it).

    32 random bytes written to a temporary file, made 0640 whatever the umask,
    then published under the final name without replacing anything: two
    first stages at once end with one key, never a partial one. A failure
    before the name is taken leaves no temporary file behind.

    ``exclusive`` (``init``): anything already at the name, or put there
    meanwhile, is refused (``refuse_existing_stage_key``) instead of used.
    """
    root = Path(root)
    key_file = root / layout.STAGE_KEY_FILE
    if exclusive:
        refuse_existing_stage_key(root)
    elif os.path.lexists(key_file):
        return False
    tmp_name = f".{layout.STAGE_KEY_FILE}.{os.urandom(8).hex()}.tmp"
    dir_fd = os.open(root, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | _O_CLOEXEC)
    try:
        fd = os.open(tmp_name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _O_NOFOLLOW | _O_CLOEXEC, 0o600,
                     dir_fd=dir_fd)
        try:
            try:
                secret = os.urandom(KEY_BYTES)
                if os.write(fd, secret) != len(secret):
                    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(root / tmp_name))
                os.fchmod(fd, KEY_MODE)
                os.fsync(fd)
            finally:
                os.close(fd)
            rename_noreplace(tmp_name, layout.STAGE_KEY_FILE, dir_fd)
        except FileExistsError:
            os.unlink(tmp_name, dir_fd=dir_fd)
            if exclusive:
                refuse_existing_stage_key(root)  # put there since the check above: not ours to adopt
            return False  # another stager made it a moment ago: theirs is used
        except BaseException:
            try:
                os.unlink(tmp_name, dir_fd=dir_fd)  # a full disk, an interrupt: no half-made key left
            except FileNotFoundError:
                pass
            raise
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
    return True


def read_stage_key(root: str | os.PathLike[str]) -> bytes:
    """The project's stage key. FileNotFoundError when there is none; ContractError (one
    line) when what is there is no usable secret (a symlink, not 32 bytes, readable by others)."""
    name = layout.STAGE_KEY_FILE
    try:
        return read_key_file(Path(root) / name, private_bits=0o007, owner_only=False)
    except KeyFileRefused as refused:
        raise ContractError({
            "open": f"{name} cannot be opened ({refused.detail}): staging needs it as a regular file "
                    f"readable by the pipeline's group",
            "kind": f"{name} is not a regular file: staging cannot trust it",
            "mode": f"{name} is open to others (mode {refused.detail}), so it is no secret: chmod 640 it "
                    f"(then restage) or delete it (a new one is made)",
            "size": f"{name} is not {KEY_BYTES} bytes: delete it (a new one is made) and restage",
        }[refused.why]) from None
