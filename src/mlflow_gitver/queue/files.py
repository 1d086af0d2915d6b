"""The queue's file primitives: durable atomic writes, flock, the fix for a file-system error.

A claim re-checks after locking that the path still names the inode it locked:
the previous holder may have deleted the record (registered) or moved it to
``failed/`` in the meantime (see store.py on concurrency).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import time

TYPE_CHECKING = False  # not typing's: see mlflow_gitver/__init__.py
if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomic(path: Path, data: str, *, replace: bool) -> bool:
    """Write ``data`` to ``path`` durably.  With ``replace=False`` an existing file
    is left alone (returns False): ``link`` fails instead of overwriting."""
    tmp = path.with_name(f".tmp-{os.getpid()}-{os.urandom(4).hex()}-{path.name}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        if replace:
            os.replace(tmp, path)
            created = True
        else:
            try:
                os.link(tmp, path)
                created = True
            except FileExistsError:
                created = False
            os.unlink(tmp)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    fsync_dir(path.parent)
    return created


def lock_nowait(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except OSError as e:
        if e.errno in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
            return False
        raise


def fix_for(e: OSError, where: Path) -> str:
    """How to fix a file system error on our store, in a few words."""
    if e.errno in (errno.ENOSPC, errno.EDQUOT):
        return "free disk space"
    if e.errno == errno.EFBIG:
        return "raise the file-size limit ('ulimit -f')"
    if e.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        return f"make {where} writable"
    if e.errno in (errno.ENOTDIR, errno.EEXIST, errno.EISDIR):
        return f"move aside what is in the way of the directory {where}"
    return f"check {where}"


@contextlib.contextmanager
def claim(path: Path, *, wait: float) -> Iterator[int | None]:
    """Hold ``flock`` on the record at ``path``; yields None if it is gone or, after
    ``wait`` seconds, still held by another process."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        yield None
        return
    try:
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as e:
                if e.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                    raise
                if time.monotonic() >= deadline:
                    yield None
                    return
                time.sleep(0.05)
        # The previous holder may have registered it (deleted) or moved it away.
        try:
            now = os.stat(path)
        except FileNotFoundError:
            yield None
            return
        mine = os.fstat(fd)
        if (now.st_dev, now.st_ino) != (mine.st_dev, mine.st_ino):
            yield None
            return
        yield fd
    finally:
        os.close(fd)  # releases the lock
