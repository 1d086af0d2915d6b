"""Content ids of working-tree files, in git's blob format, with a stat cache.

We hash the bytes on disk (no clean filters: those are user config, and the
bytes on disk are the code that runs) in git's ``blob <size>\\0`` framing, so an
id can be compared with the ids ``git status`` reports for HEAD.  Hashing here
rather than with ``git hash-object`` saves a process and never touches the
object database.

The stat cache lets a repeat run skip re-reading large unchanged files (a 500 MB
untracked file costs one ``lstat``).  It lives in the git directory, is written
atomically, and only keeps entries whose mtime is safely in the past, the same
"racy timestamp" rule git applies to its index.  An entry is served only when
size, mtime, ctime, inode and mode all match: restoring an mtime with
``touch -d``/``os.utime`` still changes the ctime, which no user can set.
The file is plain text (one entry a line), so that ``id`` need not import json.
"""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path

from mlflow_gitver.errors import EXIT_FAILURE, GitverError

_CHUNK = 1 << 20
# An entry is trusted only if the file was last modified this long before we
# hashed it: a write within the same timestamp tick would otherwise go unseen.
_RACY_NS = 2_000_000_000
_HEADER = "mlflow-gitver stat-cache 2 {algo}\n"

_BIG = 1 << 20  # bytes from which OpenSSL's hashing is worth loading it

_Fingerprint = tuple[int, int, int, int, int]
TYPE_CHECKING = False  # mypy reads a bare TYPE_CHECKING as True; no typing import at run time
if TYPE_CHECKING:
    from hashlib import _Hash


def new_hash(algo: str, size: int = 0) -> _Hash:
    """A sha1 or sha256 object.  Small inputs use CPython's built-in
    implementations: loading OpenSSL through ``hashlib`` costs ``id`` ~4 ms,
    more than hashing a typical change; large files get OpenSSL's speed."""
    if size < _BIG:
        try:
            if algo == "sha256":
                from _sha256 import sha256  # type: ignore[import-not-found,unused-ignore]

                return sha256()  # type: ignore[no-any-return,unused-ignore]
            from _sha1 import sha1  # type: ignore[import-not-found,unused-ignore]

            return sha1()  # type: ignore[no-any-return,unused-ignore]
        except ImportError:  # other Pythons name them differently (3.12: _sha2)
            pass
    import hashlib

    return hashlib.sha256() if algo == "sha256" else hashlib.sha1()


def bytes_oid(data: bytes, algo: str) -> str:
    h = new_hash(algo, len(data))
    h.update(b"blob %d\0" % len(data))
    h.update(data)
    return h.hexdigest()


def file_oid(path: Path | bytes, size: int, algo: str) -> str:
    """The blob id of a file of ``size`` bytes (size from the caller's lstat)."""
    for _ in range(3):
        h = new_hash(algo, size)
        h.update(b"blob %d\0" % size)
        n = 0
        try:
            with open(path, "rb") as f:
                while chunk := f.read(_CHUNK):
                    h.update(chunk)
                    n += len(chunk)
            if n == size:
                return h.hexdigest()
            size = os.lstat(path).st_size  # it changed while we read it: again
        except OSError as e:
            raise GitverError(
                f"cannot read {os.fsdecode(path)}: {e.strerror}; fix its permissions, "
                "or add it to .gitignore if it is not code",
                EXIT_FAILURE,
            ) from e
    raise GitverError(
        f"{os.fsdecode(path)} keeps changing while it is read; run again once it is written",
        EXIT_FAILURE,
    )


def _stat_key(st: os.stat_result) -> _Fingerprint:
    return (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_mode)


class StatCache:
    """path -> (stat fingerprint, oid), for files that did not change since last run."""

    def __init__(self, file: Path | None, algo: str) -> None:
        self.file = file
        self.algo = algo
        self._old: dict[str, tuple[_Fingerprint, str]] = {}
        self._new: dict[str, tuple[_Fingerprint, str]] = {}
        self.hashed = 0  # files read in this run (for tests and the benchmark)
        if file is not None:
            self._old = self._load(file, algo)

    @staticmethod
    def _load(file: Path, algo: str) -> dict[str, tuple[_Fingerprint, str]]:
        try:
            lines = file.read_text("ascii").split("\n")
        except (OSError, UnicodeDecodeError):
            return {}  # no cache, or a damaged one: start afresh
        if not lines or lines[0] + "\n" != _HEADER.format(algo=algo):
            return {}
        out: dict[str, tuple[_Fingerprint, str]] = {}
        for line in lines[1:]:
            f = line.split(" ")
            if len(f) != 7:
                continue
            try:
                fp = (int(f[1]), int(f[2]), int(f[3]), int(f[4]), int(f[5]))
            except ValueError:
                continue
            out[f[0]] = (fp, f[6])
        return out

    def oid(self, path: Path | bytes, key: bytes, st: os.stat_result) -> str:
        """The blob id of the regular file ``path`` (``key``: its repo-relative path)."""
        k = key.hex()
        fp = _stat_key(st)
        hit = self._old.get(k)
        if hit is not None and hit[0] == fp:
            self._new[k] = hit
            return hit[1]
        self.hashed += 1
        oid = file_oid(path, st.st_size, self.algo)
        after = os.lstat(path)
        if _stat_key(after) == fp and st.st_mtime_ns < time.time_ns() - _RACY_NS:
            self._new[k] = (fp, oid)
        return oid

    def save(self) -> None:
        """Write the entries used in this run, if they differ from what was read."""
        if self.file is None or self._new == self._old:
            return
        lines = [_HEADER.format(algo=self.algo)]
        for k, (fp, oid) in sorted(self._new.items()):
            lines.append(f"{k} {fp[0]} {fp[1]} {fp[2]} {fp[3]} {fp[4]} {oid}\n")
        tmp = self.file.with_name(f".{self.file.name}.{os.getpid()}.tmp")
        try:
            self.file.parent.mkdir(exist_ok=True)
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            with os.fdopen(fd, "w", encoding="ascii") as f:
                f.write("".join(lines))
            os.replace(tmp, self.file)
        except OSError:
            # A read-only git dir only costs speed; leave no temporary file behind.
            try:
                tmp.unlink()
            except OSError:
                pass


def worktree_entry(path: Path | bytes, key: bytes, cache: StatCache) -> tuple[str, str] | None:
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
