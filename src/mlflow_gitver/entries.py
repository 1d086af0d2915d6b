"""The paths to look at: what ``git status`` names, what the index flags, what git never sees.

Each path becomes an :class:`Entry` with what HEAD has for it; ``worktree``
then looks at the disk for each one.
"""

from __future__ import annotations

import os

from mlflow_gitver import git
from mlflow_gitver.gitindex import Index
from mlflow_gitver.identity import is_excluded

NOT_IN_TREE = "000000"


GITLINK = "160000"


REGULAR = ("100644", "100755")


class Entry:
    __slots__ = (
        "flag",
        "head_mode",
        "head_oid",
        "index",
        "path",
        "submodule",
        "tracked",
        "wt_mode",
    )

    def __init__(
        self,
        path: bytes,
        head_mode: str | None,  # None: unknown yet (ask ls-tree)
        head_oid: str | None,
        *,
        wt_mode: str | None = None,  # the worktree mode git saw ("000000": no file there)
        submodule: bool = False,
        tracked: bool = True,
    ) -> None:
        self.path = path
        self.head_mode = head_mode
        self.head_oid = head_oid
        self.wt_mode = wt_mode
        self.submodule = submodule
        self.tracked = tracked
        self.flag = ""  # "skip" (skip-worktree) or "assume" (assume-unchanged): git never looks
        self.index = ("", "")  # (mode, oid) in the index, for flagged entries


def parse_status(out: bytes) -> tuple[str, str | None, list[Entry]]:
    """(HEAD oid or "(initial)", branch or None, entries) from porcelain v2 -z."""
    head = ""
    branch: str | None = None
    entries: list[Entry] = []
    tokens = out.split(b"\0")
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        i += 1
        if not tok:
            continue
        kind = tok[:1]
        if tok.startswith(b"# branch.oid "):
            head = tok[len(b"# branch.oid ") :].decode()
        elif tok.startswith(b"# branch.head "):
            name = tok[len(b"# branch.head ") :].decode("utf-8", "surrogateescape")
            branch = None if name == "(detached)" else name
        elif kind == b"1":
            # 1 XY sub mH mI mW hH hI path
            f = tok.split(b" ", 8)
            entries.append(
                Entry(
                    f[8],
                    f[3].decode(),
                    f[6].decode(),
                    # mW means something only if the index has the path (mI).
                    wt_mode=f[5].decode() if f[4] != b"000000" else None,
                    submodule=f[2].startswith(b"S"),
                )
            )
        elif kind == b"2":
            # 2 XY sub mH mI mW hH hI Xscore path, then origPath as its own token.
            # Only seen if --no-renames is ignored; both paths are then re-checked.
            f = tok.split(b" ", 9)
            sub = f[2].startswith(b"S")
            entries.append(Entry(f[9], None, None, submodule=sub))
            entries.append(Entry(tokens[i], None, None, submodule=sub))
            i += 1
        elif kind == b"u":
            # u XY sub m1 m2 m3 mW h1 h2 h3 path: an unmerged path.
            f = tok.split(b" ", 10)
            entries.append(
                Entry(f[10], None, None, wt_mode=f[6].decode(), submodule=f[2].startswith(b"S"))
            )
        elif kind == b"?":
            entries.append(Entry(tok[2:], NOT_IN_TREE, "", tracked=False))
    return head, branch, entries


def select(entries: list[Entry], untracked: bool) -> list[Entry]:
    """One entry per path, without MLflow's stores, and without untracked files if unwanted.

    A path can be listed twice: ``git rm --cached f`` shows f deleted from the
    index *and* untracked.  The tracked entry wins: it knows what HEAD has, so a
    file still equal to HEAD is, rightly, no change.
    """
    chosen: dict[bytes, Entry] = {}
    for e in entries:
        key = e.path.rstrip(b"/")
        if is_excluded(key) or (not untracked and not e.tracked):
            continue
        if key not in chosen or (e.tracked and not chosen[key].tracked):
            chosen[key] = e
    return list(chosen.values())


def add_flagged(repo: git.Repo, entries: list[Entry], index: Index) -> None:
    """Entries git was told not to look at (skip-worktree, assume-unchanged):
    looked at here, as ``git update-index --really-refresh`` would."""
    flagged = {p: f for p, f in index.flagged.items() if not is_excluded(p)}
    if not flagged:
        return
    # Their modes and ids in the index: by name when few, else all (a sparse checkout).
    paths = list(flagged) if len(flagged) <= 100 else None
    staged: dict[bytes, tuple[str, str]] = {}
    for rec in git.ls_files_stage(repo, paths).split(b"\0"):
        meta, _tab, path = rec.partition(b"\t")
        fields = meta.decode("ascii", "replace").split(" ")
        if path in flagged and len(fields) == 3 and fields[2] == "0":
            staged[path] = (fields[0], fields[1])
    by_path = {e.path.rstrip(b"/"): e for e in entries if e.tracked}
    for path, (mode, oid) in staged.items():
        e = by_path.get(path)
        if e is None:
            # Status compares HEAD with the index for flagged entries too: not
            # listed, so HEAD has what the index has.
            e = Entry(path, mode, oid)
            entries.append(e)
        e.wt_mode = None  # status's view of this file is the index's, not the disk's
        e.flag = flagged[path]
        e.index = (mode, oid)


def gitlinks(repo: git.Repo, index: Index) -> list[bytes]:
    """Paths of submodules (from .gitmodules) that are index entries."""
    if not index.submodules:
        return []
    try:
        text = (repo.root / ".gitmodules").read_bytes()
    except OSError:
        return []
    out = []
    for line in text.splitlines():
        key, eq, value = line.strip().partition(b"=")
        if eq and key.strip().lower() == b"path":
            path = value.strip().strip(b'"').rstrip(b"/")
            if path and index.has(path):
                out.append(path)
    return out


def walk(root: bytes, rel: bytes) -> tuple[list[bytes], list[tuple[bytes, str]]]:
    """Every file under ``root/rel`` (nested repositories as one entry), and the
    directories that could not be read, with why."""
    files: list[bytes] = []
    bad: list[tuple[bytes, str]] = []
    todo = [rel]
    while todo:
        d = todo.pop()
        try:
            with os.scandir(root + d) as it:
                items = [(x.name, x.is_dir(follow_symlinks=False)) for x in it]
        except OSError as e:
            bad.append((d, e.strerror or str(e)))
            continue
        for name, is_dir in items:
            path = d + b"/" + name
            if is_excluded(path):
                continue
            if is_dir and not os.path.lexists(root + path + b"/.git"):
                todo.append(path)
            else:
                files.append(path)
    return files, bad


def unpopulated_submodules(
    repo: git.Repo, index: Index, entries: list[Entry], partial: list[str]
) -> list[tuple[bytes, str]]:
    """Files put into the directory of a submodule that is not checked out: git
    sees none of them.  They become untracked entries; the directories that
    could not be read are returned, with why."""
    root = os.fsencode(repo.root) + b"/"
    bad_dirs: list[tuple[bytes, str]] = []
    for link in gitlinks(repo, index):
        if is_excluded(link) or os.path.lexists(root + link + b"/.git"):
            continue  # checked out: status sees it
        try:
            if not os.listdir(root + link):
                continue  # the empty directory a plain clone leaves
        except OSError:
            continue  # no directory there (or a file): status reports what matters
        files, bad = walk(root, link)
        entries.extend(Entry(f, NOT_IN_TREE, "", tracked=False) for f in files)
        partial.append(
            f"{os.fsdecode(link)}/ (files in a submodule that is not checked out: "
            "counted without ignore rules)"
        )
        bad_dirs += bad
    return bad_dirs


def unreadable_dirs(status_err: bytes) -> list[tuple[bytes, str]]:
    """Untracked directories git could not list (it warns, and goes on)."""
    prefix = b"warning: could not open directory '"
    out = []
    for line in status_err.split(b"\n"):
        if line.startswith(prefix):
            path, _sep, why = line[len(prefix) :].rpartition(b"': ")
            out.append((path.rstrip(b"/"), why.decode("utf-8", "replace")))
    return out


def fill_head(repo: git.Repo, entries: list[Entry], unborn: bool) -> None:
    """Look up HEAD's mode and id for entries status did not give them for."""
    unknown = [e for e in entries if e.head_mode is None]
    if not unknown:
        return
    found: dict[bytes, tuple[str, str]] = {}
    if not unborn:
        for rec in git.ls_tree(repo, "HEAD", [e.path for e in unknown]).split(b"\0"):
            if rec:
                meta, path = rec.split(b"\t", 1)
                mode, _type, oid = meta.decode().split(" ")
                found[path] = (mode, oid)
    for e in unknown:
        e.head_mode, e.head_oid = found.get(e.path, (NOT_IN_TREE, ""))
