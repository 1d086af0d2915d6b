"""The code state of a working tree, and its deterministic identifier.

No MLflow import here: ``mlflow-gitver id`` must stay as cheap as ``git status``.

The state is HEAD plus the set of paths whose working-tree content differs from
HEAD.  The index is used only as git's stat cache (through ``git status``):
staging a change, or staging and then reverting it, does not change the state,
because the code that runs is the working tree.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

from mlflow_gitver import git
from mlflow_gitver.blobhash import StatCache, worktree_entry
from mlflow_gitver.errors import GitverError

# Bumped if the digest's input format ever changes: old and new ids must not meet.
_DIGEST_SCHEME = b"mlflow-gitver-digest/1\0"
_NOT_IN_TREE = "000000"
_GITLINK = "160000"
STAT_CACHE_NAME = "mlflow-gitver/stat-cache.json"


@dataclass(frozen=True)
class Change:
    """One path whose working-tree content differs from HEAD."""

    path: bytes  # relative to the repository root, as git spells it
    status: str  # "modified", "added", "deleted", "untracked", "submodule"
    mode: str  # working-tree mode ("000000" when deleted)
    oid: str  # blob id of the working-tree content; a submodule's version id

    def digest_input(self) -> bytes:
        return b"%s\0%s\0%s\0" % (self.path, self.mode.encode(), self.oid.encode())

    @property
    def display_path(self) -> str:
        return os.fsdecode(self.path)


@dataclass(frozen=True)
class GitState:
    root: Path
    git_dir: Path
    commit: str
    branch: str | None  # None when HEAD is detached
    shallow: bool
    changes: tuple[Change, ...] = ()
    digest: str | None = None  # full hex digest of the uncommitted state; None when clean
    object_format: str = "sha1"

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


@dataclass
class _Entry:
    path: bytes
    head_mode: str | None  # None: unknown yet (ask ls-tree)
    head_oid: str | None
    submodule: bool = False
    tracked: bool = True
    extra: dict[str, str] = field(default_factory=dict)


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
                _Entry(f[8], f[3].decode(), f[6].decode(), submodule=f[2].startswith(b"S"))
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
            entries.append(_Entry(f[10], None, None, submodule=f[2].startswith(b"S")))
        elif kind == b"?":
            entries.append(_Entry(tok[2:], _NOT_IN_TREE, "", tracked=False))
    return head, branch, entries


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
    for e in entries:
        abspath = repo.root / os.fsdecode(e.path.rstrip(b"/"))
        key = e.path.rstrip(b"/")
        got = worktree_entry(abspath, key, cache)
        if got is None:
            mode, oid = _NOT_IN_TREE, ""
        else:
            mode, oid = got
        if mode == "040000":
            # A directory where git expects a file or a gitlink: a submodule, or
            # an untracked nested repository ("dir/" in status).  Any other
            # directory's files are listed one by one by -uall.
            nested = _nested_version(abspath, untracked)
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
    h = hashlib.sha256(_DIGEST_SCHEME)
    for c in changes:
        h.update(c.digest_input())
    return h.hexdigest()


def read_state(
    start: Path | None = None, *, untracked: bool = True, keep_repo_env: bool = True
) -> GitState:
    """The state of the working tree containing ``start`` (default: the current directory)."""
    repo = git.discover(start or Path.cwd(), keep_repo_env=keep_repo_env)
    return state_of(repo, untracked=untracked)


def state_of(repo: git.Repo, *, untracked: bool = True) -> GitState:
    head, branch, entries = _parse_status(git.status_v2(repo, untracked=untracked))
    if head in ("", "(initial)"):
        raise GitverError(
            f"{repo.root} has no commit yet (unborn branch {branch or 'HEAD'}); "
            "make a first commit, then run again"
        )
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
