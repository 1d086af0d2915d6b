"""The code state of a working tree, and its deterministic identifier.

No MLflow import here: ``mlflow-gitver id`` must stay as cheap as ``git status``.

The state is HEAD plus the set of paths where what git would commit from the
working tree (its bytes after git's own end-of-line conversion and clean
filters, and the mode git would record) differs from HEAD.  The index is used
only as git's stat cache (through ``git status``, with every setting that
trusts something other than the disk overridden) and for its flags: entries
marked assume-unchanged or skip-worktree are looked at by us, since git never
does.  Staging a change, or staging and then reverting it, does not change the
state, because the code that runs is the working tree.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from mlflow_gitver import git, gitstatus
from mlflow_gitver.blobhash import StatCache, new_hash
from mlflow_gitver.conversion import apply_conversion
from mlflow_gitver.entries import (
    add_flagged,
    fill_head,
    parse_status,
    select,
    unpopulated_submodules,
    unreadable_dirs,
)
from mlflow_gitver.errors import GitverError
from mlflow_gitver.gitindex import Index
from mlflow_gitver.identity import scoped_version_id, version_id
from mlflow_gitver.record import Record
from mlflow_gitver.worktree import Change, Row, changes_of, look, unreadable_changes

TYPE_CHECKING = False  # not typing's: see mlflow_gitver/__init__.py
if TYPE_CHECKING:
    from mlflow_gitver.scopestate import ScopeRun

# Bumped if the digest's input format ever changes: old and new ids must not meet.
_DIGEST_SCHEME = b"mlflow-gitver-digest/1\0"
STAT_CACHE_NAME = "mlflow-gitver/stat-cache"
# Above either, the untracked part of a state is "unusually large" (README):
# an environment or build directory that .gitignore does not cover, typically.
LARGE_UNTRACKED_FILES = 1000
LARGE_UNTRACKED_BYTES = 10 * 2**20


class GitState(Record):
    """A repository's HEAD and what differs from it in the working tree."""

    __slots__ = (
        "branch",
        "changes",
        "commit",
        "digest",
        "partial",
        "repo",
        "scope",
        "scope_digest",
        "warnings",
    )
    repo: git.Repo
    commit: str
    branch: str | None  # None when HEAD is detached
    changes: tuple[Change, ...]
    digest: str | None  # full hex digest of the uncommitted state; None when clean
    partial: tuple[str, ...]  # what could only partly be seen, one phrase each
    warnings: tuple[str, ...]  # one line each, for print_warnings()
    scope: tuple[str, ...]  # the app's pathspecs; () for the whole repository
    scope_digest: str | None  # the scope's digest at ``commit`` (scope.py); None unscoped

    def __init__(
        self,
        repo: git.Repo,
        commit: str,
        branch: str | None,
        changes: tuple[Change, ...] = (),
        digest: str | None = None,
        partial: tuple[str, ...] = (),
        warnings: tuple[str, ...] = (),
        scope: tuple[str, ...] = (),
        scope_digest: str | None = None,
    ) -> None:
        self._init(
            repo=repo,
            commit=commit,
            branch=branch,
            changes=tuple(changes),
            digest=digest,
            partial=tuple(partial),
            warnings=tuple(warnings),
            scope=tuple(scope),
            scope_digest=scope_digest,
        )

    @property
    def dirty(self) -> bool:
        return bool(self.changes)

    @property
    def short_digest(self) -> str | None:
        return self.digest[:8] if self.digest else None

    @property
    def version_id(self) -> str:
        if self.scope_digest is not None:
            return scoped_version_id(self.scope_digest, self.digest)
        return version_id(self.commit, self.digest)

    def as_json(self) -> dict[str, object]:
        scoped = {"scope": list(self.scope), "scope_digest": self.scope_digest}
        return {
            "version_id": self.version_id,
            "commit": self.commit,
            "branch": self.branch,
            "dirty": self.dirty,
            "digest": self.digest,
            "changes": [{"path": c.display_path, "status": c.status} for c in self.changes],
            "root": str(self.repo.root),
            "shallow": self.repo.shallow,
            "warnings": list(self.warnings),
            **(scoped if self.scope else {}),
        }


def print_warnings(state: GitState, app: str | None = None) -> None:
    """Print the state's warnings to stderr, one line each (naming ``app``, if given)."""
    import sys

    where = f"{app}: " if app else ""
    for w in state.warnings:
        sys.stderr.write(f"mlflow-gitver: warning: {where}{w}\n")
    sys.stderr.flush()


def _large_untracked(rows: list[Row], changes: list[Change]) -> str | None:
    """A warning when the untracked part of the state is unusually large."""
    untracked = {c.path for c in changes if c.status == "untracked"}
    if len(untracked) < 2:
        return None
    files = 0
    total = 0
    dirs: dict[bytes, list[int]] = {}
    for r in rows:
        if r.key not in untracked or r.seen is None:
            continue
        files += 1
        total += r.seen.size
        top = r.key.split(b"/", 1)[0] + b"/" if b"/" in r.key else b"./"
        d = dirs.setdefault(top, [0, 0])
        d[0] += 1
        d[1] += r.seen.size
    if files <= LARGE_UNTRACKED_FILES and total <= LARGE_UNTRACKED_BYTES:
        return None
    biggest = sorted(dirs.items(), key=lambda kv: (-kv[1][1], -kv[1][0], kv[0]))[:3]
    where = ", ".join(f"{os.fsdecode(d)} {n:,} files {_mb(b)}" for d, (n, b) in biggest)
    return (
        f"the untracked part of this state is unusually large: {files:,} files, "
        f"{_mb(total)} (most in {where}); add what is not code to .gitignore, "
        "or set 'untracked: false' in .mlflow-gitver.yaml"
    )


def _mb(n: int) -> str:
    return f"{n / 2**20:.1f} MB"


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
    pending: gitstatus.PendingStatus | None = None,
    allow_unborn: bool = False,
) -> GitState:
    """The state of the working tree containing ``start`` (default: the current directory).

    ``untracked`` may be a function of the repository (its config says), so
    that ``git status`` can start before the repository's root is known;
    ``pending`` is such a status, started early (see ``commands/id.py``).
    ``allow_unborn``: a repository with no commit yet has the null commit
    (for nested repositories) instead of being an error.
    """
    repo, snap = gitstatus.discover_with_status(
        start or Path.cwd(), keep_repo_env=keep_repo_env, pending=pending
    )
    want = untracked(repo) if callable(untracked) else untracked
    if not want:
        # The early status listed untracked files we must not count; the
        # unreadable-directory warnings it gave are not ours either.
        snap = gitstatus.Snapshot(snap.status, b"", snap.index, snap.config)
    return from_snapshot(repo, snap, want, allow_unborn)


def state_of(
    repo: git.Repo,
    *,
    untracked: bool = True,
    scope: tuple[str, ...] = (),
    started: ScopeRun | None = None,
) -> GitState:
    """The state of ``repo``'s working tree; with ``scope`` (an app's pathspecs), of
    what they cover only, with its scoped version id.  ``started``: the scope's
    git calls, begun early; used if they are the ones needed, else discarded."""
    if started is not None and not (scope and started.answers(untracked, scope)):
        started.discard()
        started = None
    if not scope:
        return from_snapshot(repo, gitstatus.snapshot(repo, untracked=untracked), untracked)
    if started is None:
        from mlflow_gitver.scopestate import ScopeRun

        started = ScopeRun(repo, untracked, scope)
    return started.state()


def from_snapshot(
    repo: git.Repo,
    snap: gitstatus.Snapshot,
    untracked: bool,
    allow_unborn: bool = False,
    scope: tuple[str, ...] = (),
    scope_listing: bytes = b"",
) -> GitState:
    head, branch, entries = parse_status(snap.status)
    unborn = head in ("", "(initial)")
    if unborn and not allow_unborn:
        raise GitverError(
            f"{repo.root} has no commit yet (unborn branch {branch or 'HEAD'}); "
            "make a first commit, then run again"
        )
    entries = select(entries, untracked)
    index = Index(snap.index)
    if scope and index.flagged:  # the listing is of the whole index; keep the app's
        from mlflow_gitver.scope import inside

        keep = inside(repo, list(index.flagged), scope)
        index.flagged = {p: f for p, f in index.flagged.items() if p in keep}
    add_flagged(repo, entries, index)
    partial: list[str] = []
    extra: list[Change] = []
    if untracked:
        extra += unreadable_changes(unpopulated_submodules(repo, index, entries, partial), partial)
        extra += unreadable_changes(unreadable_dirs(snap.status_err), partial)
    fill_head(repo, entries, unborn)
    cache = StatCache(repo.git_dir / STAT_CACHE_NAME, repo.object_format)
    rows = look(repo, snap, entries, untracked, cache, partial)
    apply_conversion(repo, snap, index, rows)
    changes = changes_of(rows) + extra
    changes.sort(key=lambda c: c.path)
    cache.save()
    warnings = []
    if partial:
        warnings.append("could only partly be seen: " + "; ".join(partial))
    large = _large_untracked(rows, changes) if untracked else None
    if large:
        warnings.append(large)
    scope_digest = None
    if scope:
        from mlflow_gitver import scope as scopes

        scope_digest = scopes.digest(scope, scope_listing)
        warnings += scopes.unmatched(scope, scope_listing, "HEAD")
    null = "0" * (64 if repo.object_format == "sha256" else 40)
    return GitState(
        repo=repo,
        commit=null if unborn else head,
        branch=branch,
        changes=tuple(changes),
        digest=digest_of(changes) if changes else None,
        partial=tuple(partial),
        warnings=tuple(warnings),
        scope=scope,
        scope_digest=scope_digest,
    )


# Full commit hashes this process found to name a commit: a commit never changes,
# so a registration repeated in one process (activate() again) asks git once.
# Only here: the flusher's own check that a record's commit still exists is not cached.
_COMMITS: set[tuple[str, str]] = set()


def _resolved(repo: git.Repo, rev: str) -> str:
    key = (str(repo.common_dir), rev)
    if key in _COMMITS:
        return rev
    commit = git.resolve_commit(repo, rev)
    if commit is None:
        raise GitverError(f"{rev!r} does not name a commit in {repo.root}; check --commit")
    if commit == rev:
        _COMMITS.add(key)  # a full hash: what it names never changes
    return commit


def state_at_commit(repo: git.Repo, rev: str, scope: tuple[str, ...] = ()) -> GitState:
    """The (clean) state of a commit that need not be checked out; with ``scope``,
    of what the app's pathspecs cover in it."""
    commit = _resolved(repo, rev)
    if not scope:
        return GitState(repo=repo, commit=commit, branch=None)
    from mlflow_gitver.scope import head_digest

    digest, warnings = head_digest(repo, commit, scope)
    return GitState(
        repo=repo,
        commit=commit,
        branch=None,
        warnings=tuple(warnings),
        scope=scope,
        scope_digest=digest,
    )
