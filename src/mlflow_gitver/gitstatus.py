"""``git status``, the index listing and the settings the state needs, run side by side."""

from __future__ import annotations

from mlflow_gitver import git, gitindex
from mlflow_gitver.errors import GitverError
from mlflow_gitver.proc import Completed, Spawned, git_env

TYPE_CHECKING = False  # not typing's: see mlflow_gitver/__init__.py
if TYPE_CHECKING:
    from pathlib import Path

_STATUS = (
    "status",
    "--porcelain=v2",
    "-z",
    "--branch",
    "--no-renames",
    "--ignore-submodules=none",
)
# Settings that let `git status` trust something other than the bytes on disk
# (issue 10), overridden for our own calls: a file-system monitor that may lag
# or be broken, stat fields it is told to skip, an untracked cache that trusts
# directory mtimes, case folding on a case-sensitive file system, and the
# flag-setting core.ignoreStat.  Index entries flagged assume-unchanged or
# skip-worktree cannot be overridden this way: gitstate hashes those itself.
TRUST_NOTHING = (
    "-c",
    "core.fsmonitor=false",
    "-c",
    "core.useBuiltinFSMonitor=false",
    "-c",
    "core.untrackedCache=false",
    "-c",
    "core.trustctime=true",
    "-c",
    "core.checkStat=default",
    "-c",
    "core.ignoreCase=false",
    "-c",
    "core.ignoreStat=false",
)
# Every index entry with its flag (-v: lowercase tag = assume-unchanged, S =
# skip-worktree), from the top level whatever the cwd.  Without -s: a third of
# the bytes to read on a 50,000-file index; modes and ids are asked for only
# when some entry is flagged (ls_files_stage).
_LS_FILES = (
    "-c",
    "core.fsmonitor=false",
    "ls-files",
    "-z",
    "-v",
    "--full-name",
    "--",
    ":/",
)
# The only settings the state depends on (what git would commit): read in one
# call, alongside status.  Keys are matched in git's lowercase spelling.
_CONFIG = (
    "config",
    "-z",
    "--get-regexp",
    r"^core\.(filemode|symlinks|autocrlf|attributesfile)$",
)


class Snapshot:
    """What ``git status``, ``git ls-files`` and ``git config`` said, taken together."""

    __slots__ = ("config", "index", "status", "status_err")

    def __init__(self, status: bytes, status_err: bytes, index: bytes, config: bytes) -> None:
        self.status = status  # porcelain v2 -z
        self.status_err = status_err  # its warnings (unreadable directories)
        self.index = index  # ls-files -z -v
        self.config = config  # config -z --get-regexp

    def setting(self, key: str) -> str | None:
        """The last value of a ``_CONFIG`` key ("core.filemode"); "" for a bare key."""
        value = None
        for rec in self.config.split(b"\0"):
            name, sep, raw = rec.partition(b"\n")
            if name.decode("utf-8", "replace") == key:
                value = raw.decode("utf-8", "replace") if sep else ""
        return value

    def flag(self, key: str, default: bool) -> bool:
        """A boolean ``_CONFIG`` key, as git reads booleans."""
        value = self.setting(key)
        if value is None:
            return default
        value = value.strip().lower()
        if value in ("", "true", "yes", "on"):
            return True
        if value in ("false", "no", "off"):
            return False
        try:
            return int(value) != 0
        except ValueError:
            return default


class PendingStatus:
    """``git status`` (porcelain v2, all untracked files), ``git ls-files`` and
    ``git config``, started ahead of time and run side by side.

    ``git status`` is most of the cost of ``id``: it is started as early as
    possible, and runs while Python does the rest (imports, ``rev-parse``).  It
    needs no root: porcelain paths are always relative to the top level.  The
    index listing and the config run beside it, not after it.
    """

    def __init__(
        self,
        start: str,
        keep_repo_env: bool,
        untracked: bool = True,
        env: dict[str, str] | None = None,
        pathspecs: tuple[str, ...] = (),
    ) -> None:
        """``pathspecs``: an app's scope, from ``start`` (the repository root)."""
        self.start = start
        self.keep_repo_env = keep_repo_env
        if env is None:
            env = git_env(keep_repo_env=keep_repo_env)
        self._env = env
        mode = "-uall" if untracked else "-uno"
        only = ("--", *pathspecs) if pathspecs else ()
        self._procs: list[Spawned | None] = [
            Spawned(git.argv([*TRUST_NOTHING, *_STATUS, mode, *only], at=start), env)
        ]
        try:
            self._procs.append(Spawned(git.argv(_CONFIG, at=start), env))
        except BaseException:
            self.discard()
            raise

    def _wait(self, i: int, check: bool = True) -> Completed:
        proc, self._procs[i] = self._procs[i], None
        assert proc is not None
        return proc.wait(check=check)

    def result(self, repo: git.Repo) -> Snapshot:
        """The three answers; the index listing (from ``gitindex``'s cache, or a
        ``git ls-files`` started now, while status still runs) is for ``repo``."""
        try:
            # The listing first: it is done sooner, and it would block on a full
            # pipe while status runs if it were read last.
            index = gitindex.listing(
                repo, lambda: Spawned(git.argv(_LS_FILES, at=self.start), self._env)
            )
            status = self._wait(0)
        except BaseException:
            self.discard()
            raise
        config = self._wait(1, check=False)  # exit 1: none of the keys is set
        return Snapshot(status.stdout, status.stderr, index, config.stdout)

    def discard(self) -> None:
        for i, proc in enumerate(self._procs):
            if proc is not None:
                self._wait(i, check=False)


def discover_with_status(
    start: Path, *, keep_repo_env: bool = True, pending: PendingStatus | None = None
) -> tuple[git.Repo, Snapshot]:
    """discover(), and ``snapshot(repo, untracked=True)`` run at the same time.

    ``pending``: a status already started for the same ``start`` and environment.
    """
    if not start.is_dir():
        raise GitverError(f"{start}: no such directory; pass --repo a directory inside a git repo")
    if pending is None or (pending.start, pending.keep_repo_env) != (str(start), keep_repo_env):
        if pending is not None:
            pending.discard()
        pending = PendingStatus(str(start), keep_repo_env)
    env = git_env(keep_repo_env=keep_repo_env)
    try:
        repo = git.discovered(keep_repo_env, git.run_rev_parse(start, env))
    except BaseException:
        pending.discard()
        raise
    return repo, pending.result(repo)


def status_v2(repo: git.Repo, *, untracked: bool) -> bytes:
    """``git status --porcelain=v2 -z --branch``: HEAD, branch, and every path
    that differs between HEAD, the index and the working tree."""
    args = [*TRUST_NOTHING, *_STATUS, "-uall" if untracked else "-uno"]
    return git.git(args, cwd=repo.root, env=repo.env()).stdout


def snapshot(repo: git.Repo, *, untracked: bool, pathspecs: tuple[str, ...] = ()) -> Snapshot:
    """``status_v2`` (of ``pathspecs`` only, if given), the index listing and the
    settings, run side by side."""
    pending = PendingStatus(str(repo.root), repo.keep_repo_env, untracked, repo.env(), pathspecs)
    return pending.result(repo)
