"""Tiny wrappers, one git command each.

Every call goes through :func:`git`: ``--no-optional-locks`` so a background run
never takes ``index.lock`` from under the user, ``LC_ALL=C`` so messages do not
depend on the locale, ``GIT_TRACE*`` dropped, and output kept as bytes (paths and
diffs need not be UTF-8).  Output formats are chosen to ignore user config:
``-z`` everywhere, plumbing commands, and explicit flags for what porcelain
commands would otherwise read from config.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from mlflow_gitver.errors import CommandError, GitverError
from mlflow_gitver.proc import Completed, Spawned, git_env, run
from mlflow_gitver.record import Record

TYPE_CHECKING = False  # not typing's: see mlflow_gitver/__init__.py
if TYPE_CHECKING:
    # At run time pathlib is imported where a Path is made: importing it (and
    # the `re` it pulls in) must not delay the `git status` that `id` starts first.
    from pathlib import Path


class Repo(Record):
    """Where a repository is, and how to run git in it."""

    __slots__ = ("common_dir", "git_dir", "keep_repo_env", "object_format", "root", "shallow")
    root: Path  # the working tree's top level
    git_dir: Path  # this worktree's git directory (absolute)
    common_dir: Path  # shared by all worktrees (the main worktree's .git; absolute)
    shallow: bool
    object_format: str  # "sha1" or "sha256"
    keep_repo_env: bool

    def __init__(
        self,
        root: Path,
        git_dir: Path,
        common_dir: Path,
        shallow: bool,
        object_format: str,
        keep_repo_env: bool = True,
    ) -> None:
        self._init(
            root=root,
            git_dir=git_dir,
            common_dir=common_dir,
            shallow=shallow,
            object_format=object_format,
            keep_repo_env=keep_repo_env,
        )

    def env(self) -> dict[str, str]:
        env = git_env(keep_repo_env=self.keep_repo_env)
        if self.keep_repo_env and ("GIT_DIR" in env or "GIT_WORK_TREE" in env):
            # They may be relative to the directory we started in, and we run
            # git from the root: pin them to what they resolved to.
            env["GIT_DIR"] = str(self.git_dir)
            env["GIT_WORK_TREE"] = str(self.root)
        return env


def git(
    args: Sequence[str],
    *,
    cwd: Path,
    env: dict[str, str],
    input: bytes | None = None,
    check: bool = True,
) -> Completed:
    return run(["git", "--no-optional-locks", *args], cwd=cwd, env=env, input=input, check=check)


_REV_PARSE = (
    "rev-parse",
    "--show-toplevel",
    "--absolute-git-dir",
    "--is-shallow-repository",
    "--show-object-format",
    "--path-format=absolute",
    "--git-common-dir",
)
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


def discover(start: Path, *, keep_repo_env: bool = True) -> Repo:
    """Find the repository that contains ``start``; a clear error when there is none."""
    if not start.is_dir():
        raise GitverError(f"{start}: no such directory; pass --repo a directory inside a git repo")
    env = git_env(keep_repo_env=keep_repo_env)
    return _discovered(keep_repo_env, _run_rev_parse(start, env))


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
    ) -> None:
        self.start = start
        self.keep_repo_env = keep_repo_env
        if env is None:
            env = git_env(keep_repo_env=keep_repo_env)
        # posix_spawn has no cwd before Python 3.13: git's own -C does it.
        base = ["git", "-C", start, "--no-optional-locks"]
        mode = "-uall" if untracked else "-uno"
        self._procs: list[Spawned | None] = [Spawned([*base, *TRUST_NOTHING, *_STATUS, mode], env)]
        try:
            self._procs.append(Spawned([*base, *_LS_FILES], env))
            self._procs.append(Spawned([*base, *_CONFIG], env))
        except BaseException:
            self.discard()
            raise

    def _wait(self, i: int, check: bool = True) -> Completed:
        proc, self._procs[i] = self._procs[i], None
        assert proc is not None
        return proc.wait(check=check)

    def result(self) -> Snapshot:
        try:
            # The listing first: it is done sooner, and it would block on a full
            # pipe while status runs if it were read last.
            index = self._wait(1)
            status = self._wait(0)
        except BaseException:
            self.discard()
            raise
        config = self._wait(2, check=False)  # exit 1: none of the keys is set
        return Snapshot(status.stdout, status.stderr, index.stdout, config.stdout)

    def discard(self) -> None:
        for i, proc in enumerate(self._procs):
            if proc is not None:
                self._wait(i, check=False)


def discover_with_status(
    start: Path, *, keep_repo_env: bool = True, pending: PendingStatus | None = None
) -> tuple[Repo, Snapshot]:
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
        repo = _discovered(keep_repo_env, _run_rev_parse(start, env))
    except BaseException:
        pending.discard()
        raise
    return repo, pending.result()


def _run_rev_parse(start: Path, env: dict[str, str]) -> Completed:
    try:
        # Spawned, not run(): `id` then never imports subprocess (see proc.Spawned).
        return Spawned(["git", "-C", str(start), "--no-optional-locks", *_REV_PARSE], env).wait()
    except CommandError as e:
        msg = e.stderr.decode("utf-8", "replace")
        if "not a git repository" in msg:
            raise GitverError(
                f"{start} is not inside a git repository; run in a git checkout or pass --repo DIR"
            ) from e
        if "must be run in a work tree" in msg:
            raise GitverError(
                f"{start} is a bare repository or git directory; run in a checkout (work tree)"
            ) from e
        raise


def _discovered(keep_repo_env: bool, out: Completed) -> Repo:
    return _repo_of(keep_repo_env, out.stdout.decode("utf-8", "surrogateescape").splitlines())


def _repo_of(keep_repo_env: bool, lines: Sequence[str]) -> Repo:
    """A Repo from the output lines of ``git rev-parse`` with ``_REV_PARSE``."""
    from pathlib import Path

    return Repo(
        root=Path(lines[0]),
        git_dir=Path(lines[1]),
        shallow=lines[2] == "true",
        object_format=lines[3],
        common_dir=Path(lines[4]),
        keep_repo_env=keep_repo_env,
    )


class Head(Record):
    """A repository and what HEAD is."""

    __slots__ = ("branch", "commit", "repo")
    repo: Repo
    commit: str | None  # None: HEAD names no commit (an unborn branch)
    branch: str | None  # None: a detached HEAD

    def __init__(self, repo: Repo, commit: str | None, branch: str | None) -> None:
        self._init(repo=repo, commit=commit, branch=branch)


def open_head(start: Path, *, keep_repo_env: bool = True) -> Head:
    """discover(), resolve_commit("HEAD") and current_branch() in one
    ``git rev-parse`` (the post-commit hook runs on every commit: each git call
    is a few ms)."""
    if not start.is_dir():
        raise GitverError(f"{start}: no such directory; pass --repo a directory inside a git repo")
    env = git_env(keep_repo_env=keep_repo_env)
    args = [*_REV_PARSE, "HEAD", "--symbolic-full-name", "HEAD"]
    out = Spawned(["git", "-C", str(start), "--no-optional-locks", *args], env).wait(check=False)
    lines = out.stdout.decode("utf-8", "surrogateescape").splitlines()
    if out.returncode != 0 or len(lines) != 7:
        # Not a repository, an unborn HEAD, or a path with a newline in it: the
        # separate calls say which, and handle it.
        repo = discover(start, keep_repo_env=keep_repo_env)
        commit = resolve_commit(repo, "HEAD")
        return Head(repo, commit, current_branch(repo) if commit else None)
    repo = _repo_of(keep_repo_env, lines[:5])
    ref = lines[6]
    branch = ref.removeprefix("refs/heads/") if ref.startswith("refs/heads/") else None
    return Head(repo, lines[5], branch)


def status_v2(repo: Repo, *, untracked: bool) -> bytes:
    """``git status --porcelain=v2 -z --branch``: HEAD, branch, and every path
    that differs between HEAD, the index and the working tree."""
    args = [*TRUST_NOTHING, *_STATUS, "-uall" if untracked else "-uno"]
    return git(args, cwd=repo.root, env=repo.env()).stdout


def snapshot(repo: Repo, *, untracked: bool) -> Snapshot:
    """``status_v2``, the index listing and the settings, run side by side."""
    return PendingStatus(str(repo.root), repo.keep_repo_env, untracked, repo.env()).result()


def ls_files_stage(repo: Repo, paths: Sequence[bytes] | None) -> bytes:
    """``git ls-files -z -s``: mode, blob id, stage and path of index entries
    (all of them when ``paths`` is None)."""
    spec = [":/"] if paths is None else [":(literal,top)" + os.fsdecode(p) for p in paths]
    args = ["-c", "core.fsmonitor=false", "ls-files", "-z", "-s", "--full-name", "--", *spec]
    return git(args, cwd=repo.root, env=repo.env()).stdout


def check_attr(repo: Repo, attrs: Sequence[str], paths: Sequence[bytes]) -> bytes:
    """``git check-attr -z --stdin ATTRS``: NUL-separated path, attribute, value."""
    out = git(
        ["check-attr", "-z", "--stdin", *attrs],
        cwd=repo.root,
        env=repo.env(),
        input=b"".join(p + b"\0" for p in paths),
    )
    return out.stdout


def hash_paths(repo: Repo, paths: Sequence[bytes]) -> list[str]:
    """Blob ids of working-tree files as ``git add`` would store them (clean
    filters and end-of-line conversion applied); writes no object."""
    out: list[str] = []
    for i in range(0, len(paths), 500):  # stay far below the argument-size limit
        chunk = [os.fsdecode(p) for p in paths[i : i + 500]]
        done = git(["hash-object", "--", *chunk], cwd=repo.root, env=repo.env())
        out += done.stdout.decode().split()
    return out


def ls_tree(repo: Repo, rev: str, paths: Sequence[bytes]) -> bytes:
    """``git ls-tree -z rev -- paths``, paths given literally."""
    lit = [":(literal)" + p.decode("utf-8", "surrogateescape") for p in paths]
    return git(["ls-tree", "-z", rev, "--", *lit], cwd=repo.root, env=repo.env()).stdout


def resolve_commit(repo: Repo, rev: str) -> str | None:
    """The full hash of the commit ``rev`` names, or None if it names none."""
    out = git(
        ["rev-parse", "--verify", "--quiet", "--end-of-options", f"{rev}^{{commit}}"],
        cwd=repo.root,
        env=repo.env(),
        check=False,
    )
    if out.returncode != 0:
        return None
    return out.stdout.decode().strip()


def show_blob(repo: Repo, rev: str, path: str) -> bytes | None:
    """The content of ``path`` at ``rev``, or None if it does not exist there."""
    # Spawned, not run(): the post-commit hook then never imports subprocess (~5 ms).
    args = ["git", "-C", str(repo.root), "--no-optional-locks", "cat-file", "blob", f"{rev}:{path}"]
    out = Spawned(args, repo.env()).wait(check=False)
    return out.stdout if out.returncode == 0 else None


def remote_url(repo: Repo, name: str = "origin") -> str | None:
    out = git(["config", "--get", f"remote.{name}.url"], cwd=repo.root, env=repo.env(), check=False)
    url = out.stdout.decode("utf-8", "replace").strip()
    return url or None


def commit_info(repo: Repo, rev: str) -> tuple[str, str, str]:
    """(author "Name <email>", author date ISO 8601 strict, subject) of a commit."""
    out = git(
        [
            "show",
            "-s",
            "--no-color",
            "--no-show-signature",
            "--encoding=UTF-8",
            "--format=%an <%ae>%x00%aI%x00%s",
            rev,
            "--",
        ],
        cwd=repo.root,
        env=repo.env(),
    ).stdout.decode("utf-8", "replace")
    author, date, subject = out.rstrip("\n").split("\0", 2)
    return author, date, subject


def current_branch(repo: Repo) -> str | None:
    """The short name of the branch HEAD is on; None on a detached HEAD."""
    out = git(
        ["symbolic-ref", "--quiet", "--short", "HEAD"], cwd=repo.root, env=repo.env(), check=False
    )
    name = out.stdout.decode("utf-8", "surrogateescape").strip()
    return name if out.returncode == 0 and name else None
