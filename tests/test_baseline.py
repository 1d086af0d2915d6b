"""compare's git side (baseline.py): the base branch and the first-parent walk, in real
repositories (no server)."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlflow_gitver import git
from mlflow_gitver.baseline import NoBaseline, ancestors, base_ref
from mlflow_gitver.errors import EXIT_NO_BASELINE, EXIT_USAGE, GitverError
from testing.repos import clone, commit_all, init_repo
from testing.repos import git as run_git


def _repo(path: Path) -> git.Repo:
    return git.discover(path, keep_repo_env=False)


def test_no_remote_means_the_current_branch(repo: Path) -> None:
    tip = commit_all(repo, "second")
    assert base_ref(_repo(repo), None) == (tip, "main")
    run_git(repo, "checkout", "-q", "--detach")
    with pytest.raises(GitverError) as e:
        base_ref(_repo(repo), None)
    assert e.value.exit_code == EXIT_USAGE and "--base-branch" in str(e.value)


def test_the_remotes_default_branch(repo: Path, tmp_path: Path) -> None:
    run_git(repo, "branch", "-m", "trunk")
    work = clone(repo, tmp_path / "work")  # origin/HEAD -> origin/trunk
    run_git(work, "checkout", "-q", "-b", "feature")
    commit_all(work, "feature work")
    tip = run_git(work, "rev-parse", "origin/trunk").strip()
    assert base_ref(_repo(work), None) == (tip, "origin/trunk")
    # --base-branch: origin's first, then a local branch, then any revision.
    assert base_ref(_repo(work), "trunk") == (tip, "origin/trunk")
    assert base_ref(_repo(work), "feature")[1] == "feature"
    assert base_ref(_repo(work), "HEAD~1") == (tip, "HEAD~1")
    with pytest.raises(GitverError, match="names no branch"):
        base_ref(_repo(work), "nope")
    # A remote whose default branch is unknown here: say how to tell it.
    run_git(work, "remote", "set-head", "origin", "--delete")
    run_git(work, "update-ref", "-d", "refs/remotes/origin/trunk")
    with pytest.raises(GitverError, match="cannot tell origin's default branch"):
        base_ref(_repo(work), None)


def test_the_walk_starts_at_the_merge_base_or_the_first_parent(tmp_path: Path) -> None:
    root = init_repo(tmp_path / "r")
    m = [commit_all(root, f"m{i}") for i in range(4)]
    run_git(root, "checkout", "-q", "-b", "feature", m[2])
    f = [commit_all(root, f"f{i}") for i in range(2)]
    r = _repo(root)
    chain, started = ancestors(r, f[1], m[3], "main", 10)
    assert chain == [m[2], m[1], m[0]] and "merge-base" in started
    chain, started = ancestors(r, m[2], m[3], "main", 10)
    assert chain == [m[1], m[0]] and "first parent" in started
    assert ancestors(r, m[3], m[3], "main", 1)[0] == [m[2]]
    assert ancestors(r, m[0], m[3], "main", 10)[0] == []
    # A merge on the base branch: its second parent is not on the first-parent chain.
    run_git(root, "checkout", "-q", "main")
    run_git(root, "merge", "-q", "--no-ff", "-m", "merge", "feature")
    merge = run_git(root, "rev-parse", "HEAD").strip()
    assert ancestors(r, merge, merge, "main", 10)[0] == [m[3], m[2], m[1], m[0]]
    # No common history: exit 4 with what to fetch.
    run_git(root, "checkout", "-q", "--orphan", "alone")
    lone = commit_all(root, "alone")
    with pytest.raises(NoBaseline) as e:
        ancestors(r, lone, m[3], "main", 10)
    assert e.value.exit_code == EXIT_NO_BASELINE and "fetch-depth: 0" in str(e.value)
