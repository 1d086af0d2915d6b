"""The code state of a working tree, and its deterministic identifier.

No MLflow import here: ``mlflow-gitver id`` must stay as cheap as ``git status``.

The state is HEAD plus the set of paths whose working-tree content differs from
HEAD.  The index is used only as git's stat cache (through ``git status``):
staging a change, or staging and then reverting it, does not change the state,
because the code that runs is the working tree.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from mlflow_gitver import git
from mlflow_gitver.blobhash import StatCache, new_hash, worktree_entry
from mlflow_gitver.errors import GitverError
from mlflow_gitver.record import Record

# Bumped if the digest's input format ever changes: old and new ids must not meet.
_DIGEST_SCHEME = b"mlflow-gitver-digest/1\0"
_NOT_IN_TREE = "000000"
_GITLINK = "160000"
_REGULAR = ("100644", "100755")
STAT_CACHE_NAME = "mlflow-gitver/stat-cache"


class Change(Record):
    """One path whose working-tree content differs from HEAD."""

    __slots__ = ("mode", "oid", "path", "status")
    path: bytes  # relative to the repository root, as git spells it
    status: str  # "modified", "added", "deleted", "untracked", "submodule"
    mode: str  # working-tree mode ("000000" when deleted)
    oid: str  # blob id of the working-tree content; a submodule's version id

    def __init__(self, path: bytes, status: str, mode: str, oid: str) -> None:
        self._init(path=path, status=status, mode=mode, oid=oid)

    def digest_input(self) -> bytes:
        return b"%s\0%s\0%s\0" % (self.path, self.mode.encode(), self.oid.encode())

    @property
    def display_path(self) -> str:
        return os.fsdecode(self.path)


class GitState(Record):
    __slots__ = (
        "branch",
        "changes",
        "commit",
        "digest",
        "git_dir",
        "object_format",
        "root",
        "shallow",
    )
    root: Path
    git_dir: Path
    commit: str
    branch: str | None  # None when HEAD is detached
    shallow: bool
    changes: tuple[Change, ...]
    digest: str | None  # full hex digest of the uncommitted state; None when clean
    object_format: str

    def __init__(
        self,
        root: Path,
        git_dir: Path,
        commit: str,
        branch: str | None,
        shallow: bool,
        changes: tuple[Change, ...] = (),
        digest: str | None = None,
        object_format: str = "sha1",
    ) -> None:
        self._init(
            root=root,
            git_dir=git_dir,
            commit=commit,
            branch=branch,
            shallow=shallow,
            changes=tuple(changes),
            digest=digest,
            object_format=object_format,
        )

    @property
    def dirty(self) -> bool:
        return bool(self.changes)

    @property
    def short_digest(self) -> str | None:
        return self.digest[:8] if self.digest else None

    @property
    def version_id(self) -> str:
        return version_id(self.commit, self.digest)

    def as_json(self) -> dict[str, object]:
        return {
            "version_id": self.version_id,
            "commit": self.commit,
            "branch": self.branch,
            "dirty": self.dirty,
            "digest": self.digest,
            "changes": [{"path": c.display_path, "status": c.status} for c in self.changes],
            "root": str(self.root),
            "shallow": self.shallow,
        }


def version_id(commit: str, digest: str | None) -> str:
    """The full commit when clean; ``<first 32 hex>-dirty-<8 hex of the digest>`` when dirty."""
    if digest is None:
        return commit
    return f"{commit[:32]}-dirty-{digest[:8]}"


class _Entry:
    __slots__ = ("head_mode", "head_oid", "path", "submodule", "tracked", "wt_mode")

    def __init__(
        self,
        path: bytes,
        head_mode: str | None,  # None: unknown yet (ask ls-tree)
        head_oid: str | None,
        *,
        wt_mode: str | None = None,  # the worktree mode git saw (honours core.fileMode)
        submodule: bool = False,
        tracked: bool = True,
    ) -> None:
        self.path = path
        self.head_mode = head_mode
        self.head_oid = head_oid
        self.wt_mode = wt_mode
        self.submodule = submodule
        self.tracked = tracked


def _parse_status(out: bytes) -> tuple[str, str | None, list[_Entry]]:
    """(HEAD oid or "(initial)", branch or None, entries) from porcelain v2 -z."""
    head = ""
    branch: str | None = None
    entries: list[_Entry] = []
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
                _Entry(
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
            entries.append(_Entry(f[9], None, None, submodule=sub))
            entries.append(_Entry(tokens[i], None, None, submodule=sub))
            i += 1
        elif kind == b"u":
            # u XY sub m1 m2 m3 mW h1 h2 h3 path: an unmerged path.
            f = tok.split(b" ", 10)
            entries.append(
                _Entry(f[10], None, None, wt_mode=f[6].decode(), submodule=f[2].startswith(b"S"))
            )
        elif kind == b"?":
            entries.append(_Entry(tok[2:], _NOT_IN_TREE, "", tracked=False))
    return head, branch, entries


def _select(entries: list[_Entry], untracked: bool) -> list[_Entry]:
    """One entry per path, without MLflow's stores, and without untracked files if unwanted.

    A path can be listed twice: ``git rm --cached f`` shows f deleted from the
    index *and* untracked.  The tracked entry wins: it knows what HEAD has, so a
    file still equal to HEAD is, rightly, no change.
    """
    chosen: dict[bytes, _Entry] = {}
    for e in entries:
        key = e.path.rstrip(b"/")
        if git.is_excluded(key) or (not untracked and not e.tracked):
            continue
        if key not in chosen or (e.tracked and not chosen[key].tracked):
            chosen[key] = e
    return list(chosen.values())


def _fill_head(repo: git.Repo, entries: list[_Entry]) -> None:
    """Look up HEAD's mode and id for entries status did not give them for."""
    unknown = [e for e in entries if e.head_mode is None]
    if not unknown:
        return
    found: dict[bytes, tuple[str, str]] = {}
    for rec in git.ls_tree(repo, "HEAD", [e.path for e in unknown]).split(b"\0"):
        if rec:
            meta, path = rec.split(b"\t", 1)
            mode, _type, oid = meta.decode().split(" ")
            found[path] = (mode, oid)
    for e in unknown:
        e.head_mode, e.head_oid = found.get(e.path, (_NOT_IN_TREE, ""))


def _nested_version(path: Path, untracked: bool) -> str | None:
    """The version id of a submodule or nested repository checked out at ``path``."""
    if not (path / ".git").exists():
        return None
    try:
        return read_state(path, untracked=untracked, keep_repo_env=False).version_id
    except GitverError:
        return "unborn"  # a nested repository with no commit yet


def _classify(e: _Entry, mode: str) -> str:
    if mode == _NOT_IN_TREE:
        return "deleted"
    if e.submodule or mode == _GITLINK:
        return "submodule"
    if not e.tracked:
        return "untracked"
    if e.head_mode == _NOT_IN_TREE:
        return "added"
    return "modified"


def _changes(
    repo: git.Repo, entries: list[_Entry], untracked: bool, cache: StatCache
) -> list[Change]:
    changes: list[Change] = []
    file_mode: bool | None = None  # core.fileMode, read only if it matters
    root = os.fsencode(repo.root) + b"/"
    for e in entries:
        key = e.path.rstrip(b"/")
        abspath = root + key  # bytes: no decoding, no Path objects for every change
        # git saw no file there (mW 000000): trust it, even if lstat finds one
        # through a symlinked parent directory, which git never follows.
        got = None if e.wt_mode == _NOT_IN_TREE else worktree_entry(abspath, key, cache)
        if got is None:
            mode, oid = _NOT_IN_TREE, ""
        else:
            mode, oid = got
        if mode in _REGULAR:
            # The executable bit as git would record it: with core.fileMode=false
            # (file systems without one) git keeps the recorded mode, and a new
            # file is 100644; status's mW already applies that rule.
            if e.wt_mode in _REGULAR:
                mode = e.wt_mode
            elif mode == "100755" and not e.tracked:
                if file_mode is None:
                    file_mode = git.config_bool(repo, "core.fileMode", True)
                if not file_mode:
                    mode = "100644"
        if mode == "040000":
            # A directory where git expects a file or a gitlink: a submodule, or
            # an untracked nested repository ("dir/" in status).  Any other
            # directory's files are listed one by one by -uall.
            nested = _nested_version(Path(os.fsdecode(abspath)), untracked)
            if nested is None and e.head_mode == _GITLINK:
                continue  # a submodule that is not checked out: as after a plain clone
            if nested is None:
                mode, oid = _NOT_IN_TREE, ""
            else:
                mode, oid = _GITLINK, nested
        if (mode, oid) == (e.head_mode, e.head_oid):
            continue  # same as HEAD: staged and reverted, or only stat-dirty
        if mode == _NOT_IN_TREE and e.head_mode == _NOT_IN_TREE:
            continue  # added to the index, then removed from the working tree
        changes.append(Change(key, _classify(e, mode), mode, oid))
    changes.sort(key=lambda c: c.path)
    return changes


def digest_of(changes: list[Change] | tuple[Change, ...]) -> str:
    h = new_hash("sha256")
    h.update(_DIGEST_SCHEME)
    for c in changes:
        h.update(c.digest_input())
    return h.hexdigest()


def read_state(
    start: Path | None = None,
    *,
    untracked: bool | Callable[[git.Repo], bool] = True,
    keep_repo_env: bool = True,
    pending: git.PendingStatus | None = None,
) -> GitState:
    """The state of the working tree containing ``start`` (default: the current directory).

    ``untracked`` may be a function of the repository (its config says), so
    that ``git status`` can start before the repository's root is known;
    ``pending`` is such a status, started early (see ``commands/id_cmd.py``).
    """
    repo, out = git.discover_with_status(
        start or Path.cwd(), keep_repo_env=keep_repo_env, pending=pending
    )
    want = untracked(repo) if callable(untracked) else untracked
    return _state(repo, out, want)


def state_of(repo: git.Repo, *, untracked: bool = True) -> GitState:
    return _state(repo, git.status_v2(repo, untracked=untracked), untracked)


def _state(repo: git.Repo, status: bytes, untracked: bool) -> GitState:
    head, branch, entries = _parse_status(status)
    if head in ("", "(initial)"):
        raise GitverError(
            f"{repo.root} has no commit yet (unborn branch {branch or 'HEAD'}); "
            "make a first commit, then run again"
        )
    entries = _select(entries, untracked)
    _fill_head(repo, entries)
    cache = StatCache(repo.git_dir / STAT_CACHE_NAME, repo.object_format)
    changes = _changes(repo, entries, untracked, cache)
    cache.save()
    return GitState(
        root=repo.root,
        git_dir=repo.git_dir,
        commit=head,
        branch=branch,
        shallow=repo.shallow,
        changes=tuple(changes),
        digest=digest_of(changes) if changes else None,
        object_format=repo.object_format,
    )


def state_at_commit(repo: git.Repo, rev: str) -> GitState:
    """The (clean) state of a commit that need not be checked out."""
    commit = git.resolve_commit(repo, rev)
    if commit is None:
        raise GitverError(f"{rev!r} does not name a commit in {repo.root}; check --commit")
    return GitState(
        root=repo.root,
        git_dir=repo.git_dir,
        commit=commit,
        branch=None,
        shallow=repo.shallow,
        object_format=repo.object_format,
    )
