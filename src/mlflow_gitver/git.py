"""Tiny wrappers, one git command each.

Every call goes through :func:`git`: ``--no-optional-locks`` so a background run
never takes ``index.lock`` from under the user, ``LC_ALL=C`` so messages do not
depend on the locale, ``GIT_TRACE*`` dropped, and output kept as bytes (paths and
diffs need not be UTF-8).  Output formats are chosen to ignore user config:
``-z`` everywhere, plumbing commands, and explicit flags for what porcelain
commands would otherwise read from config.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from mlflow_gitver.errors import GitverError
from mlflow_gitver.proc import CommandError, Completed, environ_without, run

# Paths that never count as a change: MLflow's own local stores (registering a
# version writes them, which must not change the version) and our dotenv export.
EXCLUDED_PATHSPECS = (
    ":(exclude,glob)**/mlflow.db",
    ":(exclude,glob)**/mlflow.db-*",
    ":(exclude,glob)**/mlruns/**",
    ":(exclude,glob)**/mlartifacts/**",
    ":(exclude,glob)**/mlflow-gitver.env",
)

# Variables a hook inherits from git that point at the repository; kept unless
# the caller names a repository explicitly (pre_commit/git.py: no_git_env).
_REPO_VARS = ("GIT_DIR", "GIT_WORK_TREE", "GIT_COMMON_DIR")


def git_env(*, keep_repo_env: bool) -> dict[str, str]:
    drop = ["GIT_INDEX_FILE", "GIT_OPTIONAL_LOCKS", "GIT_NAMESPACE", "GIT_PREFIX"]
    if not keep_repo_env:
        drop += _REPO_VARS
    env = environ_without(("GIT_TRACE",), drop)
    env["LC_ALL"] = "C"
    env["LANGUAGE"] = "C"
    return env


@dataclass(frozen=True)
class Repo:
    """Where a repository is, and how to run git in it."""

    root: Path  # the working tree's top level
    git_dir: Path  # this worktree's git directory (absolute)
    shallow: bool
    object_format: str  # "sha1" or "sha256"
    keep_repo_env: bool = True

    def env(self) -> dict[str, str]:
        return git_env(keep_repo_env=self.keep_repo_env)


def git(
    args: Sequence[str],
    *,
    cwd: Path,
    env: dict[str, str],
    input: bytes | None = None,
    check: bool = True,
) -> Completed:
    return run(["git", "--no-optional-locks", *args], cwd=cwd, env=env, input=input, check=check)


def discover(start: Path, *, keep_repo_env: bool = True) -> Repo:
    """Find the repository that contains ``start``; a clear error when there is none."""
    if not start.is_dir():
        raise GitverError(f"{start}: no such directory; pass --repo a directory inside a git repo")
    env = git_env(keep_repo_env=keep_repo_env)
    try:
        out = git(
            [
                "rev-parse",
                "--show-toplevel",
                "--absolute-git-dir",
                "--is-shallow-repository",
                "--show-object-format",
            ],
            cwd=start,
            env=env,
        )
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
    lines = out.stdout.decode("utf-8", "surrogateescape").splitlines()
    return Repo(
        root=Path(lines[0]),
        git_dir=Path(lines[1]),
        shallow=lines[2] == "true",
        object_format=lines[3],
        keep_repo_env=keep_repo_env,
    )


def status_v2(repo: Repo, *, untracked: bool) -> bytes:
    """``git status --porcelain=v2 -z --branch``: HEAD, branch, and every path
    that differs between HEAD, the index and the working tree."""
    return git(
        [
            "status",
            "--porcelain=v2",
            "-z",
            "--branch",
            "--no-renames",
            "--ignore-submodules=none",
            "-uall" if untracked else "-uno",
            "--",
            ".",
            *EXCLUDED_PATHSPECS,
        ],
        cwd=repo.root,
        env=repo.env(),
    ).stdout


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
    out = git(["cat-file", "blob", f"{rev}:{path}"], cwd=repo.root, env=repo.env(), check=False)
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
