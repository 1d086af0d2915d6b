"""Files that only save time (the stat cache, the index listing, scope hints):
replaced atomically, and never an error when they cannot be written."""

from __future__ import annotations

import os


def replace_quietly(path: str, *chunks: bytes) -> None:
    """Write ``chunks`` to ``path`` through a temporary file and a rename, creating
    the directory if needed.  A read-only or full git dir only costs speed next
    time: nothing is raised, and no temporary file is left behind."""
    tmp = f"{path}.{os.getpid()}.tmp"
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        with os.fdopen(fd, "wb") as f:
            for chunk in chunks:
                f.write(chunk)
        os.replace(tmp, path)
    except OSError:
        try:
            os.unlink(tmp)
        except OSError:
            pass
