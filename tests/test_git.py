"""git.py: the one-call ``open_head`` agrees with the separate calls it replaces."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlflow_gitver import git as gitmod
from mlflow_gitver.errors import GitverError
from testing.repos import commit_all, git, init_repo, write


def _separately(start: Path) -> gitmod.Head:
    repo = gitmod.discover(start)
    commit = gitmod.resolve_commit(repo, "HEAD")
    return gitmod.Head(repo, commit, gitmod.current_branch(repo))


def test_open_head_on_a_branch(repo: Path) -> None:
    head = gitmod.open_head(repo)
    assert head == _separately(repo)
    assert head.commit == git(repo, "rev-parse", "HEAD").strip()
    assert head.branch == "main"
    assert head.repo.common_dir == repo / ".git"
    assert head.repo.root == repo and head.repo.object_format == "sha1"


def test_open_head_from_a_subdirectory_and_a_branch_with_slashes(repo: Path) -> None:
    git(repo, "checkout", "-q", "-b", "feature/x-ü")
    write(repo / "pkg" / "mod.py", "x = 1\n")
    commit_all(repo, "sub")
    head = gitmod.open_head(repo / "pkg")
    assert head.branch == "feature/x-ü" and head.repo.root == repo
    assert head == _separately(repo / "pkg")


def test_open_head_detached(repo: Path) -> None:
    git(repo, "checkout", "-q", "--detach")
    head = gitmod.open_head(repo)
    assert head.branch is None and head.commit == git(repo, "rev-parse", "HEAD").strip()
    assert head == _separately(repo)


def test_open_head_unborn_branch(tmp_path: Path) -> None:
    root = init_repo(tmp_path / "new")
    head = gitmod.open_head(root)
    assert head.commit is None and head.branch is None
    assert head.repo.common_dir == root / ".git" and head.repo.root == root


def test_open_head_in_a_linked_worktree_shares_the_common_dir(repo: Path, tmp_path: Path) -> None:
    wt = tmp_path / "wt"
    git(repo, "worktree", "add", "-q", "-b", "side", str(wt))
    head = gitmod.open_head(wt)
    assert head.repo.common_dir == repo / ".git"
    assert head.repo.git_dir == repo / ".git" / "worktrees" / "wt"
    assert head.branch == "side" and head.repo.root == wt
    assert head == _separately(wt)
    assert gitmod.discover(wt).common_dir == repo / ".git"


def test_open_head_outside_a_repository_is_one_clear_error(tmp_path: Path) -> None:
    (tmp_path / "plain").mkdir()
    with pytest.raises(GitverError, match="is not inside a git repository"):
        gitmod.open_head(tmp_path / "plain")
    with pytest.raises(GitverError, match="no such directory"):
        gitmod.open_head(tmp_path / "missing")


def test_show_blob(repo: Path) -> None:
    r = gitmod.discover(repo)
    assert gitmod.show_blob(r, "HEAD", "app.py") == b"print('hello')\n"
    assert gitmod.show_blob(r, "HEAD", "absent.txt") is None


def test_remote_url_is_asked_again_once_the_config_changed(tmp_path: Path) -> None:
    # The answer is kept per config file: a repeat asks no git, `git remote add` is seen.
    root = init_repo(tmp_path / "r")
    repo = gitmod.discover(root)
    assert gitmod.remote_url(repo) is None
    git(root, "remote", "add", "origin", "https://example.com/a.git")
    assert gitmod.remote_url(repo) == "https://example.com/a.git"
    git(root, "remote", "set-url", "origin", "https://example.com/b.git")
    assert gitmod.remote_url(repo) == "https://example.com/b.git"
    git(root, "remote", "remove", "origin")
    assert gitmod.remote_url(repo) is None
