"""Which commits git made here since our hooks last looked (HEAD's reflog), and recording them.

Not every way git makes a commit runs the same hook (``git merge`` runs
post-merge, ``git am`` post-applypatch, which pre-commit cannot install), and a
hook can fail to record (a full disk).  So every hook reads HEAD's reflog from a
remembered position (a cursor in our store, one per worktree) and records each
commit made since: whatever one stage misses, the next hook run catches.  The
reflog is read as a file (``<git dir>/logs/HEAD``, one line per update:
``<old> <new> <ident> <time> <tz>\\t<message>``): no git process, so the
post-commit hook stays cheap.

The cursor is advanced only after the records it covers are written, so
``status`` can tell a commit that was never recorded: it is past the cursor.
Repositories without that file (the reftable backend, ``core.logAllRefUpdates``
off) fall back to HEAD alone, as before.
"""

from __future__ import annotations

import contextlib
import os
import time

from mlflow_gitver import git
from mlflow_gitver.queue.records import new_record

TYPE_CHECKING = False  # not typing's: see mlflow_gitver/__init__.py
if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

    from mlflow_gitver.queue.store import Store

_CURSOR = "reflog-cursor"
_FORMAT = "v1"

# Reflog messages of HEAD updates that make no commit: moving to a commit that
# exists (checkout, switch, bisect, reset, clone), the start and end of a
# rebase, and fast-forwards (the commits were made elsewhere).  Anything else
# (commit, commit (amend|merge|initial), merge, pull, cherry-pick, revert,
# rebase (pick|squash|fixup|reword|edit|merge), am, plumbing with no message)
# counts: a commit registered once too often costs a lookup, one missed is lost.
_NOT_MADE_PREFIXES = ("checkout:", "reset:", "clone:", "branch:", "bisect")
_NOT_MADE_WORDS = ("(start)", "(finish)", "(abort)", "--abort")


class Made:
    """One reflog line that made a commit."""

    __slots__ = ("commit", "message", "when")

    def __init__(self, commit: str, when: float, message: str) -> None:
        self.commit = commit
        self.when = when
        self.message = message


class Cursor:
    """Where the hooks stopped reading a worktree's HEAD reflog."""

    __slots__ = ("dev", "ino", "last", "offset", "since")

    def __init__(self, dev: int, ino: int, offset: int, since: float, last: float) -> None:
        self.dev = dev
        self.ino = ino
        self.offset = offset
        self.since = since  # when the hooks first read this reflog
        self.last = last  # the time of the last line read

    def dump(self) -> str:
        return f"{_FORMAT} {self.dev} {self.ino} {self.offset} {self.since} {self.last}\n"

    @classmethod
    def load(cls, text: str) -> Cursor | None:
        parts = text.split()
        if len(parts) != 6 or parts[0] != _FORMAT:
            return None
        try:
            return cls(
                int(parts[1]), int(parts[2]), int(parts[3]), float(parts[4]), float(parts[5])
            )
        except ValueError:
            return None


def makes_commit(old: str, new: str, message: str) -> bool:
    if new == old or set(new) == {"0"}:
        return False
    low = message.lower()
    if low.startswith(_NOT_MADE_PREFIXES):
        return False
    # "<operation>: <detail>"; only the operation is ours to read, and the detail
    # of a merge, pull or rebase that moved HEAD along ("merge x: Fast-forward").
    op, _, detail = low.partition(": ")
    if any(w in op for w in _NOT_MADE_WORDS):
        return False
    return not (detail.strip() == "fast-forward" and not op.startswith("commit"))


def _parse(line: bytes) -> tuple[str, str, float, str] | None:
    """(old, new, time, message) of one reflog line; None for a line we cannot read."""
    text = line.decode("utf-8", "surrogateescape")
    head, _, message = text.partition("\t")
    parts = head.split(" ")
    if len(parts) < 4:
        return None
    try:
        when = float(parts[-2])
    except ValueError:
        return None
    return parts[0], parts[1], when, message.rstrip("\n")


def cursor_path(store_root: Path, git_dir: Path, common_dir: Path) -> Path:
    """One cursor per worktree: each has its own HEAD reflog."""
    if os.path.samefile(git_dir, common_dir):
        return store_root / _CURSOR
    return store_root / f"{_CURSOR}-{git_dir.name}"


def read_cursor(path: Path) -> Cursor | None:
    try:
        return Cursor.load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError):
        return None


def write_cursor(path: Path, cursor: Cursor) -> None:
    """Replace the cursor atomically (not fsynced: a cursor lost in a crash only
    makes the next hook read some lines again, and recording is idempotent)."""
    tmp = path.with_name(f".tmp-{os.getpid()}-{path.name}")
    try:
        tmp.write_text(cursor.dump(), encoding="utf-8")
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def scan(git_dir: Path, cursor: Cursor | None) -> tuple[list[Made], Cursor | None]:
    """The commits made since ``cursor``, oldest first, and the cursor past them.

    No reflog: ([], None).  No cursor yet (the hooks' first run): nothing, and a
    cursor at the end.  A reflog rewritten since (``git reflog expire``, gc): the
    lines newer than the last one read."""
    try:
        f = open(os.path.join(git_dir, "logs", "HEAD"), "rb")
    except OSError:
        return [], None
    with f:
        st = os.fstat(f.fileno())
        now = time.time()
        if cursor is None:
            return [], Cursor(st.st_dev, st.st_ino, st.st_size, now, now)
        same = (st.st_dev, st.st_ino) == (cursor.dev, cursor.ino) and cursor.offset <= st.st_size
        start = cursor.offset if same else 0
        f.seek(start)
        data = f.read()
    end = data.rfind(b"\n") + 1  # a line git is still writing is read next time
    made: list[Made] = []
    last = cursor.last
    for line in data[:end].splitlines():
        parsed = _parse(line)
        if parsed is None:
            continue
        old, new, when, message = parsed
        if not same and when < cursor.last:
            continue
        last = max(last, when)
        if makes_commit(old, new, message):
            made.append(Made(new, when, message))
    return made, Cursor(st.st_dev, st.st_ino, start + end, cursor.since, last)


def store_cursor(store: Store, repo: git.Repo) -> Path:
    """The cursor of ``repo``'s worktree in ``store``."""
    return cursor_path(store.root, repo.git_dir, repo.common_dir)


def catch_up(
    store: Store,
    repo: git.Repo,
    environ: Mapping[str, str],
    *,
    source: str,
    branch: str | None,
    done: frozenset[str] = frozenset(),
) -> tuple[list[str], bool]:
    """Record every commit HEAD's reflog shows was made since the hooks last
    read it, and those marked unrecorded (Store.mark_unrecorded): (the commits newly
    recorded, whether there is a reflog to read).  ``done``: commits the
    caller recorded already.  Raises OSError when a record cannot be
    written (the cursor then stays where it was)."""
    path = store_cursor(store, repo)
    old = read_cursor(path)
    made, cursor = scan(repo.git_dir, old)
    marks = store.unrecorded_marks()
    todo: list[str] = []
    for commit in [m.commit for m in made] + [c for c, _ in marks]:
        if commit not in done and commit not in todo:
            todo.append(commit)
    added = []
    marked = {c for c, _ in marks}
    for commit in todo:
        if commit in marked and git.resolve_commit(repo, commit) is None:
            continue  # a marker of a commit since removed (reflog commits exist)
        _path, new = store.add(new_record(repo, commit, source, environ, branch))
        if new:
            added.append(commit)
    for _commit, mark in marks:
        with contextlib.suppress(OSError):
            mark.unlink()
    # Not rewritten when it did not move: a push with nothing new writes nothing.
    if cursor is not None and (old is None or cursor.dump() != old.dump()):
        store.root.mkdir(parents=True, exist_ok=True)
        write_cursor(path, cursor)
    return added, cursor is not None


def unrecorded(store: Store, repo: git.Repo) -> list[tuple[str, str]]:
    """(commit, how it was made) of commits the hooks should have recorded and
    did not: past the cursor with no record, or marked by a failed hook."""
    recorded = store.recorded_commits()
    out: list[tuple[str, str]] = []
    cursor = read_cursor(store_cursor(store, repo))
    if cursor is not None:
        made, _ = scan(repo.git_dir, cursor)
        seen: set[str] = set()
        for m in made:
            if m.commit not in recorded and m.commit not in seen:
                seen.add(m.commit)
                out.append((m.commit, m.message or "no reflog message"))
    listed = {c for c, _ in out}
    for commit, _mark in store.unrecorded_marks():
        if commit not in recorded and commit not in listed:
            out.append((commit, "its hook could not write the record"))
    return out
