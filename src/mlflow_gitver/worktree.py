"""What is on disk for each entry, and which entries differ from HEAD (the changes)."""

from __future__ import annotations

import os
from pathlib import Path

from mlflow_gitver import git, gitstatus
from mlflow_gitver.blobhash import Seen, StatCache, unreadable, worktree_entry
from mlflow_gitver.entries import GITLINK, NOT_IN_TREE, REGULAR, Entry
from mlflow_gitver.errors import GitverError
from mlflow_gitver.identity import is_excluded
from mlflow_gitver.record import Record


class Change(Record):
    """One path whose working-tree content differs from HEAD."""

    __slots__ = ("mode", "oid", "path", "status")
    path: bytes  # relative to the repository root, as git spells it
    status: str  # "modified", "added", "deleted", "untracked", "submodule", "unreadable"
    mode: str  # working-tree mode ("000000" when deleted)
    oid: str  # blob id of the working-tree content; a submodule's version id

    def __init__(self, path: bytes, status: str, mode: str, oid: str) -> None:
        self._init(path=path, status=status, mode=mode, oid=oid)

    def digest_input(self) -> bytes:
        return b"%s\0%s\0%s\0" % (self.path, self.mode.encode(), self.oid.encode())

    @property
    def display_path(self) -> str:
        return os.fsdecode(self.path)


def unreadable_changes(bad: list[tuple[bytes, str]], partial: list[str]) -> list[Change]:
    out = []
    for path, why in bad:
        if is_excluded(path):
            continue
        # Counted by its presence only: an edit inside cannot change the id.
        out.append(Change(path, "unreadable", "040000", "unreadable"))
        partial.append(f"{os.fsdecode(path)}/ (cannot be read: {why}; its content is not counted)")
    return out


def _classify(e: Entry, mode: str) -> str:
    if mode == NOT_IN_TREE:
        return "deleted"
    if e.submodule or mode == GITLINK:
        return "submodule"
    if not e.tracked:
        return "untracked"
    if e.head_mode == NOT_IN_TREE:
        return "added"
    return "modified"


def changes_of(rows: list[Row]) -> list[Change]:
    changes: list[Change] = []
    for r in rows:
        e, mode, oid = r.entry, r.mode, r.oid
        if (mode, oid) == (e.head_mode, e.head_oid):
            continue  # same as HEAD: staged and reverted, or only stat-dirty
        if mode == NOT_IN_TREE and e.head_mode == NOT_IN_TREE:
            continue  # added to the index, then removed from the working tree
        changes.append(Change(r.key, _classify(e, mode), mode, oid))
    return changes


def nested_version(path: Path, untracked: bool, partial: list[str], key: bytes) -> str | None:
    """The version id of a submodule or nested repository checked out at ``path``."""
    if not os.path.lexists(os.path.join(path, ".git")):  # never raises (EACCES: no)
        return None
    name = os.fsdecode(key)
    try:
        from mlflow_gitver.gitstate import read_state  # a nested repository: a state of its own

        state = read_state(path, untracked=untracked, keep_repo_env=False, allow_unborn=True)
    except GitverError as e:
        partial.append(f"{name}/ (a repository git cannot read: {e}; counted by its presence)")
        return "unreadable"
    partial.extend(f"{name}/{p}" for p in state.partial)
    if state.commit.strip("0"):
        return state.version_id
    # No commit yet: git shows only "name/"; its files count, one by one.
    partial.append(f"{name}/ (a nested repository with no commit yet: counted by its files)")
    return "unborn-" + (state.digest or "empty")


class Row:
    """One entry, with what is on disk for it, before it is compared with HEAD."""

    __slots__ = ("entry", "key", "mode", "oid", "seen")

    def __init__(self, entry: Entry, key: bytes, mode: str, oid: str, seen: Seen | None) -> None:
        self.entry = entry
        self.key = key
        self.mode = mode
        self.oid = oid
        self.seen = seen


def look(
    repo: git.Repo,
    snap: gitstatus.Snapshot,
    entries: list[Entry],
    untracked: bool,
    cache: StatCache,
    partial: list[str],
) -> list[Row]:
    file_mode = snap.flag("core.filemode", True)
    symlinks = snap.flag("core.symlinks", True)
    rows: list[Row] = []
    root = os.fsencode(repo.root) + b"/"
    missing: set[bytes] = set()  # directories known absent (sparse checkouts)
    try:
        root_fd = os.open(root, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError as err:
        raise unreadable(root, err) from err
    try:
        for e in entries:
            key = e.path.rstrip(b"/")
            parent = key.rpartition(b"/")[0]
            got: Seen | None
            if e.wt_mode == NOT_IN_TREE or (e.flag == "skip" and parent in missing):
                # git saw no file there (mW 000000): trust it, even if lstat finds
                # one through a symlinked parent directory, which git never follows.
                got = None
            else:
                # Paths relative to the root's descriptor: a deep root never makes
                # them too long for the system when git's own were not.
                got = worktree_entry(key, key, cache, root_fd)
            if got is None and e.flag == "skip":
                # Not checked out (sparse checkout): as the index has it.
                if parent and not os.path.lexists(root + parent):
                    missing.add(parent)
                rows.append(Row(e, key, e.index[0], e.index[1], None))
                continue
            mode, oid = (got.mode, got.oid) if got is not None else (NOT_IN_TREE, "")
            if mode in REGULAR:
                # The mode git would record.  With core.symlinks=false a symlink is
                # checked out as a file holding its target; with core.fileMode=false
                # (file systems without an executable bit) git keeps HEAD's mode, and
                # a new file is 100644.  From HEAD, not the index: staging (`git rm
                # --cached`, `git add -N`) must not change the id.
                if not symlinks and e.head_mode == "120000":
                    mode = "120000"
                elif not file_mode:
                    mode = e.head_mode if e.head_mode in REGULAR else "100644"
            if mode == "040000":
                # A directory where git expects a file or a gitlink: a submodule, or
                # an untracked nested repository ("dir/" in status).  Any other
                # directory's files are listed one by one by -uall.
                nested = nested_version(Path(os.fsdecode(root + key)), untracked, partial, key)
                if nested is None and e.head_mode == GITLINK:
                    continue  # a submodule that is not checked out: as after a plain clone
                if nested is None:
                    mode, oid = NOT_IN_TREE, ""
                else:
                    mode, oid = GITLINK, nested
            rows.append(Row(e, key, mode, oid, got))
    finally:
        os.close(root_fd)
    return rows
