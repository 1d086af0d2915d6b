"""Content ids of working-tree files, in git's blob format, with a stat cache.

We hash the bytes on disk in git's ``blob <size>\\0`` framing, so an id can be
compared with the ids ``git status`` reports for HEAD.  Hashing here rather than
with ``git hash-object`` saves a process and never touches the object database.
Whether git would store other bytes (end-of-line conversion, clean filters) is
gitstate's business: it asks git itself for the few files where it could.

The stat cache lets a repeat run skip re-reading large unchanged files (a 500 MB
untracked file costs one ``lstat``).  It lives in the git directory, is written
atomically, and only keeps entries whose mtime is safely in the past, the same
"racy timestamp" rule git applies to its index.  An entry is served only when
size, mtime, ctime, inode and mode all match: restoring an mtime with
``touch -d``/``os.utime`` still changes the ctime, which no user can set.
The file is plain text (one entry a line), so that ``id`` need not import json.
"""

from __future__ import annotations

import errno
import os
import stat
import time
from pathlib import Path

from mlflow_gitver.errors import EXIT_FAILURE, GitverError

_CHUNK = 1 << 20
# An entry is trusted only if the file was last modified this long before we
# hashed it: a write within the same timestamp tick would otherwise go unseen.
_RACY_NS = 2_000_000_000
_HEADER = "mlflow-gitver stat-cache 3 {algo}\n"

_BIG = 1 << 20  # bytes from which OpenSSL's hashing is worth loading it

_Fingerprint = tuple[int, int, int, int, int]
TYPE_CHECKING = False  # not typing's: see mlflow_gitver/__init__.py
if TYPE_CHECKING:
    from hashlib import _Hash


def new_hash(algo: str, size: int = 0) -> _Hash:
    """A sha1 or sha256 object.  Small inputs use CPython's built-in
    implementations: loading OpenSSL through ``hashlib`` costs ``id`` ~4 ms,
    more than hashing a typical change; large files get OpenSSL's speed."""
    if size < _BIG:
        try:
            if algo == "sha256":
                try:
                    from _sha256 import sha256  # type: ignore[import-not-found,unused-ignore]
                except ImportError:  # Python >= 3.12 merged it into _sha2
                    from _sha2 import sha256  # type: ignore[import-not-found,unused-ignore]

                return sha256()  # type: ignore[no-any-return,unused-ignore]
            from _sha1 import sha1  # type: ignore[import-not-found,unused-ignore]

            return sha1()  # type: ignore[no-any-return,unused-ignore]
        except ImportError:  # a Python built without them
            pass
    import hashlib

    return hashlib.sha256() if algo == "sha256" else hashlib.sha1()


def bytes_oid(data: bytes, algo: str) -> str:
    h = new_hash(algo, len(data))
    h.update(b"blob %d\0" % len(data))
    h.update(data)
    return h.hexdigest()


class Gone(Exception):
    """The path is no longer a regular file (deleted, or replaced) after lstat said it was."""


def unreadable(key: bytes, e: OSError) -> GitverError:
    """One line for a file-system error on a working-tree path: bad input, exit 2."""
    name = os.fsdecode(key)
    return GitverError(
        f"cannot read {name}: {e.strerror or e}; fix the permissions of {name} (or of its "
        "directory), or add it to .gitignore if it is not code",
    )


# O_NONBLOCK: a FIFO or device swapped in after lstat never blocks the open;
# O_NOFOLLOW: nor is a symlink swapped in followed (ELOOP, then we look again).
_OPEN_FLAGS = (
    os.O_RDONLY
    | getattr(os, "O_NONBLOCK", 0)
    | getattr(os, "O_NOFOLLOW", 0)
    | getattr(os, "O_NOCTTY", 0)
    | getattr(os, "O_CLOEXEC", 0)
)


def read_oid(
    path: Path | bytes, algo: str, dir_fd: int | None = None
) -> tuple[str, os.stat_result, bool]:
    """(blob id, fstat before reading, whether it holds a CR byte) of a regular file.

    Raises :class:`Gone` when ``path`` is not (or no longer) a regular file.
    """
    for _ in range(3):
        try:
            fd = os.open(path, _OPEN_FLAGS, dir_fd=dir_fd)
        except (FileNotFoundError, NotADirectoryError) as e:
            raise Gone() from e
        except OSError as e:
            if e.errno == errno.ELOOP:
                raise Gone() from e  # a symlink now: the caller looks again
            raise unreadable(os.fsencode(path), e) from e
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                raise Gone()
            h = new_hash(algo, st.st_size)
            h.update(b"blob %d\0" % st.st_size)
            n = 0
            cr = False
            while chunk := os.read(fd, _CHUNK):
                h.update(chunk)
                n += len(chunk)
                cr = cr or b"\r" in chunk
            if n == st.st_size and _stat_key(os.fstat(fd)) == _stat_key(st):
                return h.hexdigest(), st, cr
            # it changed while we read it: again
        except OSError as e:
            raise unreadable(os.fsencode(path), e) from e
        finally:
            os.close(fd)
    raise GitverError(
        f"{os.fsdecode(path)} keeps changing while it is read; run again once it is written",
        EXIT_FAILURE,
    )


def file_oid(path: Path | bytes, size: int, algo: str) -> str:
    """The blob id of a regular file (``size``: unused, kept for callers)."""
    try:
        return read_oid(path, algo)[0]
    except Gone:
        raise GitverError(f"{os.fsdecode(path)} is not a regular file", EXIT_FAILURE) from None


def _stat_key(st: os.stat_result) -> _Fingerprint:
    return (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_mode)


class StatCache:
    """path -> (stat fingerprint, has a CR byte, oid), for files unchanged since last run."""

    def __init__(self, file: Path | None, algo: str) -> None:
        self.file = file
        self.algo = algo
        self._old: dict[str, tuple[_Fingerprint, bool, str]] = {}
        self._new: dict[str, tuple[_Fingerprint, bool, str]] = {}
        self.hashed = 0  # files read in this run (for tests and the benchmark)
        if file is not None:
            self._old = self._load(file, algo)

    @staticmethod
    def _load(file: Path, algo: str) -> dict[str, tuple[_Fingerprint, bool, str]]:
        try:
            lines = file.read_text("ascii").split("\n")
        except (OSError, UnicodeDecodeError):
            return {}  # no cache, or a damaged one: start afresh
        if not lines or lines[0] + "\n" != _HEADER.format(algo=algo):
            return {}
        out: dict[str, tuple[_Fingerprint, bool, str]] = {}
        for line in lines[1:]:
            f = line.split(" ")
            if len(f) != 8 or f[6] not in ("0", "1"):
                continue
            try:
                fp = (int(f[1]), int(f[2]), int(f[3]), int(f[4]), int(f[5]))
            except ValueError:
                continue
            out[f[0]] = (fp, f[6] == "1", f[7])
        return out

    def oid(
        self, path: Path | bytes, key: bytes, st: os.stat_result, dir_fd: int | None = None
    ) -> tuple[str, int, bool]:
        """(blob id, size, has a CR byte) of the regular file ``path`` (``key``: its
        repo-relative path; ``st``: its lstat).  Raises :class:`Gone`."""
        k = key.hex()
        fp = _stat_key(st)
        hit = self._old.get(k)
        if hit is not None and hit[0] == fp:
            self._new[k] = hit
            return hit[2], st.st_size, hit[1]
        self.hashed += 1
        oid, seen, cr = read_oid(path, self.algo, dir_fd)
        fp = _stat_key(seen)
        if seen.st_mtime_ns < time.time_ns() - _RACY_NS:
            self._new[k] = (fp, cr, oid)
        return oid, seen.st_size, cr

    def save(self) -> None:
        """Write the entries used in this run, if they differ from what was read."""
        if self.file is None or self._new == self._old:
            return
        lines = [_HEADER.format(algo=self.algo)]
        for k, (fp, cr, oid) in sorted(self._new.items()):
            lines.append(f"{k} {fp[0]} {fp[1]} {fp[2]} {fp[3]} {fp[4]} {int(cr)} {oid}\n")
        from mlflow_gitver.cachefile import replace_quietly

        replace_quietly(str(self.file), "".join(lines).encode("ascii"))


class Seen:
    """What is at a working-tree path, as far as git could record it."""

    __slots__ = ("cr", "mode", "oid", "size")

    def __init__(self, mode: str, oid: str = "", size: int = 0, cr: bool = False) -> None:
        self.mode = mode  # 100644/100755/120000; 040000 a directory; 000000 anything else
        self.oid = oid  # the blob id of the raw bytes (regular files and symlinks)
        self.size = size
        self.cr = cr  # a CR byte in the content: end-of-line conversion may apply


def worktree_entry(
    path: Path | bytes, key: bytes, cache: StatCache, dir_fd: int | None = None
) -> Seen | None:
    """What is at a working-tree path; None if nothing git could see is there.

    ``path`` is relative to ``dir_fd`` when given (so a long root never makes a
    path too long).  Directories give mode "040000" and other special files
    (FIFO, socket, device) "000000", which git cannot record: callers decide.
    A file that disappears while it is looked at is absent; one that is
    swapped for another kind of file is looked at again.
    """
    for _ in range(3):
        try:
            st = os.lstat(path, dir_fd=dir_fd)
        except (FileNotFoundError, NotADirectoryError):
            return None
        except OSError as e:
            # A symlink loop or an over-long name in a parent: git cannot reach
            # such a path either, so nothing is there.
            if e.errno in (errno.ELOOP, errno.ENAMETOOLONG):
                return None
            raise unreadable(os.fsencode(path), e) from e
        try:
            if stat.S_ISLNK(st.st_mode):
                target = os.readlink(os.fsencode(path), dir_fd=dir_fd)
                return Seen("120000", bytes_oid(target, cache.algo), len(target))
            if stat.S_ISREG(st.st_mode):
                mode = "100755" if st.st_mode & stat.S_IXUSR else "100644"
                oid, size, cr = cache.oid(path, key, st, dir_fd)
                return Seen(mode, oid, size, cr)
        except (FileNotFoundError, NotADirectoryError, Gone):
            continue  # replaced or removed since lstat: look again
        except OSError as e:
            if e.errno == errno.EINVAL:
                continue  # readlink: no longer a symlink
            raise unreadable(os.fsencode(path), e) from e
        if stat.S_ISDIR(st.st_mode):
            return Seen("040000")
        return Seen("000000")
    raise GitverError(
        f"{os.fsdecode(path)} keeps changing while it is read; run again once it is written",
        EXIT_FAILURE,
    )
