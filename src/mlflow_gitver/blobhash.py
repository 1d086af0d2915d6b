"""Content ids of working-tree files, in git's blob format, with a stat cache.

We hash the bytes on disk (no clean filters: those are user config, and the
bytes on disk are the code that runs) in git's ``blob <size>\\0`` framing, so an
id can be compared with the ids ``git status`` reports for HEAD.  Hashing here
rather than with ``git hash-object`` saves a process and never touches the
object database.

The stat cache lets a repeat run skip re-reading large unchanged files (a 500 MB
untracked file costs one ``lstat``).  It lives in the git directory, is written
atomically, and only keeps entries whose mtime is safely in the past, the same
"racy timestamp" rule git applies to its index.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import tempfile
import time
from pathlib import Path

_CHUNK = 1 << 20
# An entry is trusted only if the file was last modified this long before we
# hashed it: a write within the same timestamp tick would otherwise go unseen.
_RACY_NS = 2_000_000_000
_CACHE_VERSION = 1


def _new(algo: str) -> hashlib._Hash:
    return hashlib.sha256() if algo == "sha256" else hashlib.sha1()


def bytes_oid(data: bytes, algo: str) -> str:
    h = _new(algo)
    h.update(b"blob %d\0" % len(data))
    h.update(data)
    return h.hexdigest()


def file_oid(path: Path, size: int, algo: str) -> str:
    h = _new(algo)
    h.update(b"blob %d\0" % size)
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def _stat_key(st: os.stat_result) -> list[int]:
    return [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_mode]


class StatCache:
    """path -> (stat fingerprint, oid), for files that did not change since last run."""

    def __init__(self, file: Path | None, algo: str) -> None:
        self.file = file
        self.algo = algo
        self._old: dict[str, list[object]] = {}
        self._new: dict[str, list[object]] = {}
        if file is not None:
            try:
                data = json.loads(file.read_bytes())
                if data.get("version") == _CACHE_VERSION and data.get("algo") == algo:
                    self._old = data["entries"]
            except (OSError, ValueError, KeyError, AttributeError):
                pass  # no cache, or a damaged one: start afresh

    def oid(self, path: Path, key: bytes, st: os.stat_result) -> str:
        """The blob id of the regular file ``path`` (``key``: its repo-relative path)."""
        k = key.hex()
        fp = _stat_key(st)
        hit = self._old.get(k)
        if hit is not None and hit[0] == fp:
            self._new[k] = hit
            return str(hit[1])
        oid = file_oid(path, st.st_size, self.algo)
        after = os.lstat(path)
        if _stat_key(after) == fp and st.st_mtime_ns < time.time_ns() - _RACY_NS:
            self._new[k] = [fp, oid]
        return oid

    def save(self) -> None:
        """Write the entries used in this run, if they differ from what was read."""
        if self.file is None or self._new == self._old:
            return
        try:
            self.file.parent.mkdir(exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.file.parent, prefix=".stat-cache.")
            with os.fdopen(fd, "w") as f:
                json.dump({"version": _CACHE_VERSION, "algo": self.algo, "entries": self._new}, f)
            os.replace(tmp, self.file)
        except OSError:
            pass  # a read-only git dir only costs speed


def worktree_entry(path: Path, key: bytes, cache: StatCache) -> tuple[str, str] | None:
    """(mode, oid) of a working-tree path as git would record it; None if absent.

    Directories return ("040000", "") and other special files ("000000", ""):
    callers decide what those mean.
    """
    try:
        st = os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        return None
    if stat.S_ISLNK(st.st_mode):
        return "120000", bytes_oid(os.readlink(os.fsencode(path)), cache.algo)
    if stat.S_ISREG(st.st_mode):
        mode = "100755" if st.st_mode & stat.S_IXUSR else "100644"
        return mode, cache.oid(path, key, st)
    if stat.S_ISDIR(st.st_mode):
        return "040000", ""
    return "000000", ""
