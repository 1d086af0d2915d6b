"""What the index says that ``git status`` does not, cached by the index's checksum.

``git ls-files -v`` lists every index entry with its flags: which entries git
was told not to look at (skip-worktree, assume-unchanged), whether a
``.gitattributes`` or ``.gitmodules`` is tracked.  On a 50,000-file index it
costs about a third of ``git status`` (issue 10's speed target), and its
answer is a function of the index file's content only.  Git ends that file
with a checksum of everything before it, so the listing is kept in the git
directory under that checksum and read back while the index is unchanged.

No cache when the checksum cannot be trusted: ``index.skipHash`` writes zeros
there.  ``GIT_INDEX_FILE`` never reaches our git calls (``proc.HOOK_VARS``), so
the listing is always of this worktree's ``index``.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from mlflow_gitver import git
from mlflow_gitver.proc import Spawned

LISTING_NAME = "mlflow-gitver/index-listing"
# Bumped with the ls-files arguments or the file's layout: an old cache is then a miss.
_MAGIC = b"mlflow-gitver index-listing 1 "

_Stamp = tuple[bytes, tuple[int, int, int, int]]


class Index:
    """The parsed ``git ls-files -z -v`` listing."""

    __slots__ = ("attributes", "flagged", "listing", "submodules")

    def __init__(self, out: bytes) -> None:
        self.listing = out
        # A tracked .gitattributes anywhere: end-of-line conversion or filters may apply.
        self.attributes = b".gitattributes\0" in out
        self.submodules = b" .gitmodules\0" in out
        self.flagged: dict[bytes, str] = {}  # path -> "skip" or "assume"
        # Usually every entry is a plain "H" one: two counts in C then spare
        # splitting 50,000 records in Python.
        if out.count(b"\0H ") + out.startswith(b"H ") == out.count(b"\0"):
            return
        for rec in out.split(b"\0"):
            tag, path = rec[:1], rec[2:]
            if tag in (b"S", b"s"):
                self.flagged[path] = "skip"
            elif tag.islower():
                self.flagged[path] = "assume"

    def has(self, path: bytes) -> bool:
        """Whether ``path`` is an index entry (any flag)."""
        listing = b"\0" + self.listing
        return any(b"\0%s %s\0" % (t, path) in listing for t in (b"H", b"S", b"h", b"s"))


def listing(repo: git.Repo, start: Callable[[], Spawned]) -> bytes:
    """The ``ls-files -z -v`` output for ``repo``'s index: from the cache while
    the index is unchanged, else from ``start()`` (then remembered)."""
    before = _stamp(repo)
    cache = os.path.join(repo.git_dir, LISTING_NAME)
    if before is not None:
        hit = _read(cache, before[0])
        if hit is not None:
            return hit
    out = start().wait().stdout
    # Stored only if the index file is the very same before and after the
    # listing (same inode, size and times): else the listing may be of another one.
    if before is not None and _stamp(repo) == before:
        _write(cache, before[0], out)
    return out


def _stamp(repo: git.Repo) -> _Stamp | None:
    """The index's trailing checksum, and which file it is; None: no cache."""
    n = 32 if repo.object_format == "sha256" else 20
    try:
        fd = os.open(os.path.join(repo.git_dir, "index"), os.O_RDONLY)
    except OSError:
        return None  # no index yet (a fresh repository): ls-files says so
    try:
        st = os.fstat(fd)
        if st.st_size < 12 + n:
            return None
        tail = os.pread(fd, n, st.st_size - n)
    except OSError:
        return None
    finally:
        os.close(fd)
    if len(tail) != n or not tail.strip(b"\0"):
        return None  # index.skipHash: the checksum is all zeros
    return tail, (st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def _header(checksum: bytes, size: int) -> bytes:
    return _MAGIC + checksum.hex().encode() + b" %d\n" % size


def _read(cache: str, checksum: bytes) -> bytes | None:
    try:
        with open(cache, "rb") as f:
            data = f.read()
    except OSError:
        return None
    head, nl, body = data.partition(b"\n")
    # The length guards against a file cut short (a full disk when it was written).
    if not nl or head + nl != _header(checksum, len(body)):
        return None
    return body


def _write(cache: str, checksum: bytes, out: bytes) -> None:
    """A cache that cannot be written only costs the listing next time."""
    from mlflow_gitver.cachefile import replace_quietly

    replace_quietly(cache, _header(checksum, len(out)), out)
