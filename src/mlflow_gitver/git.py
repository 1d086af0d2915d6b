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


def argv(args: Sequence[str], *, at: str | None = None) -> list[str]:
    """The one argv of every git call: ``--no-optional-locks`` always; ``at``: git's
    own ``-C`` (posix_spawn has no cwd before Python 3.13)."""
    return ["git", *(("-C", at) if at is not None else ()), "--no-optional-locks", *args]


def git(
    args: Sequence[str],
    *,
    cwd: Path,
    env: dict[str, str],
    input: bytes | None = None,
    check: bool = True,
) -> Completed:
    return run(argv(args), cwd=cwd, env=env, input=input, check=check)


_REV_PARSE = (
    "rev-parse",
    "--show-toplevel",
    "--absolute-git-dir",
    "--is-shallow-repository",
    "--show-object-format",
    "--path-format=absolute",
    "--git-common-dir",
)


def discover(start: Path, *, keep_repo_env: bool = True) -> Repo:
    """Find the repository that contains ``start``; a clear error when there is none."""
    if not start.is_dir():
        raise GitverError(f"{start}: no such directory; pass --repo a directory inside a git repo")
    env = git_env(keep_repo_env=keep_repo_env)
    return discovered(keep_repo_env, run_rev_parse(start, env))


def run_rev_parse(start: Path, env: dict[str, str]) -> Completed:
    try:
        # Spawned, not run(): `id` then never imports subprocess (see proc.Spawned).
        return Spawned(argv(_REV_PARSE, at=str(start)), env).wait()
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


def discovered(keep_repo_env: bool, out: Completed) -> Repo:
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
    out = Spawned(argv(args, at=str(start)), env).wait(check=False)
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
    args = argv(["cat-file", "blob", f"{rev}:{path}"], at=str(repo.root))
    out = Spawned(args, repo.env()).wait(check=False)
    return out.stdout if out.returncode == 0 else None


# remote_url's answers in this process, by the repository's config file as it was
# (a registration repeated in one process asks git once; `git remote add` rewrites
# the file, so its answer is asked again).
_REMOTE_URLS: dict[tuple[str, str, int, int, int], str | None] = {}


def remote_url(repo: Repo, name: str = "origin") -> str | None:
    try:
        st = os.stat(repo.common_dir / "config")
        key: tuple[str, str, int, int, int] | None = (
            str(repo.common_dir),
            name,
            st.st_ino,
            st.st_mtime_ns,
            st.st_size,
        )
    except OSError:
        key = None
    if key is not None and key in _REMOTE_URLS:
        return _REMOTE_URLS[key]
    out = git(["config", "--get", f"remote.{name}.url"], cwd=repo.root, env=repo.env(), check=False)
    url = out.stdout.decode("utf-8", "replace").strip() or None
    if key is not None:
        _REMOTE_URLS[key] = url
    return url


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
