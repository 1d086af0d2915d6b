"""``mlflow-gitver hook pre-push`` (and its race with the recording hooks) on real repositories."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from mlflow_gitver import git as gitmod
from mlflow_gitver.commands.hook.pre_push import (
    Push,
    parse_ref_lines,
    pushed_commits,
    pushes_from_pre_commit,
)
from mlflow_gitver.main import main
from mlflow_gitver.queue.records import new_record
from testing.cli import cli
from testing.hooks import configure, store, versions
from testing.repos import commit_all, git, write
from testing.spies import count_config_parses

Z = "0" * 40


@pytest.mark.server
def test_hook_and_flush_at_once_register_each_version_once(repo: Path, server_url: str) -> None:
    experiment = configure(repo, server_url)
    r = gitmod.discover(repo)
    commits = []
    for i in range(6):
        write(repo / f"f{i}.txt", f"{i}\n")
        commits.append(commit_all(repo, f"c{i}"))
        store(repo).add(new_record(r, commits[-1], "test", {}))
    env = {**os.environ, "MLFLOW_GITVER_SYNC": "1"}
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "mlflow_gitver", *args, "--repo", str(repo)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for args in (["flush"], ["hook", "post-commit"], ["flush"])
    ]
    for p in procs:
        _out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
    found = versions(server_url, experiment)
    assert sorted(found) == sorted(commits)
    assert all(len(models) == 1 for models in found.values())
    assert store(repo).list_pending() == []


# --- pre-push: what is pushed ----------------------------------------------------------


def test_parse_ref_lines_skips_deletes_and_marks_new_branches() -> None:
    a, b, c = "a" * 40, "b" * 40, "c" * 64
    data = (
        f"refs/heads/main {a} refs/heads/main {b}\n"
        f"(delete) {Z} refs/heads/gone {b}\n"
        f"refs/heads/new {c} refs/heads/new {'0' * 64}\n"
    ).encode()
    assert parse_ref_lines(data) == [
        Push("refs/heads/main", a, "refs/heads/main", b),
        Push("refs/heads/new", c, "refs/heads/new", None),
    ]
    assert parse_ref_lines(b"") == []


def test_pre_commit_variables_and_their_fallbacks(repo: Path) -> None:
    r = gitmod.discover(repo)
    head = git(repo, "rev-parse", "HEAD").strip()
    assert pushes_from_pre_commit(r, {}) is None
    # pre-commit leaves TO_REF unset when the push includes a root commit.
    [p] = pushes_from_pre_commit(r, {"PRE_COMMIT_LOCAL_BRANCH": "refs/heads/main"}) or []
    assert p.local_sha == head and p.remote_sha is None
    parent = commit_all(repo, "second")
    env = {
        "PRE_COMMIT_FROM_REF": head,
        "PRE_COMMIT_TO_REF": parent,
        "PRE_COMMIT_LOCAL_BRANCH": "refs/heads/main",
        "PRE_COMMIT_REMOTE_BRANCH": "refs/heads/main",
    }
    [p] = pushes_from_pre_commit(r, env) or []
    assert p == Push("refs/heads/main", parent, "refs/heads/main", head)


def test_pushed_commits_range_and_new_branch(repo: Path, tmp_path: Path) -> None:
    r = gitmod.discover(repo)
    remote = tmp_path / "remote.git"
    subprocess.run(["git", "init", "-q", "--bare", str(remote)], check=True)
    git(repo, "remote", "add", "origin", str(remote))
    git(repo, "push", "-q", "origin", "main")
    base = git(repo, "rev-parse", "HEAD").strip()
    new = [commit_all(repo, f"n{i}") for i in range(3)]
    push = Push("refs/heads/main", new[-1], "refs/heads/main", base)
    assert pushed_commits(r, push, "origin") == new
    git(repo, "checkout", "-q", "-b", "feature")
    feat = [commit_all(repo, f"f{i}") for i in range(2)]
    push = Push("refs/heads/feature", feat[-1], "refs/heads/feature", None)
    # Not on any ref of the remote: the main commits above were not pushed yet.
    assert pushed_commits(r, push, "origin") == new + feat


@pytest.mark.server
def test_pre_push_all_registers_every_pushed_commit_with_progress(
    repo: Path, server_url: str, tmp_path: Path
) -> None:
    experiment = configure(repo, server_url, "hooks:\n  pre_push: {all: true}\n")
    remote = tmp_path / "remote.git"
    subprocess.run(["git", "init", "-q", "--bare", str(remote)], check=True)
    git(repo, "remote", "add", "origin", str(remote))
    git(repo, "push", "-q", "origin", "main")
    base = git(repo, "rev-parse", "HEAD").strip()
    new = [commit_all(repo, f"n{i}") for i in range(12)]
    stdin = f"refs/heads/main {new[-1]} refs/heads/main {base}\n".encode()
    proc = cli("hook", "pre-push", "origin", str(remote), cwd=repo, input=stdin)
    assert proc.returncode == 0, proc.stderr
    assert "registering 12 pushed commits" in proc.stderr
    assert "registered 12/12 pushed commits" in proc.stderr
    found = versions(server_url, experiment)
    assert set(new) <= set(found) and base not in found
    assert all(len(found[c]) == 1 for c in new)


@pytest.mark.server
def test_pre_push_registers_pushed_merge_commits_it_was_never_told_about(
    repo: Path, server_url: str, tmp_path: Path
) -> None:
    """A merge made in another worktree: no reflog of this one shows it, and it
    is not the pushed tip.  The push registers it (merges made since the hooks
    first ran here)."""
    experiment = configure(repo, server_url)
    remote = tmp_path / "remote.git"
    subprocess.run(["git", "init", "-q", "--bare", str(remote)], check=True)
    git(repo, "remote", "add", "origin", str(remote))
    git(repo, "push", "-q", "origin", "main")
    base = git(repo, "rev-parse", "HEAD").strip()
    env = {**os.environ, "MLFLOW_GITVER_SYNC": "1", "MLFLOW_GITVER_RETRY_SECONDS": "1"}
    assert cli("hook", "post-commit", cwd=repo, env=env).returncode == 0  # the hooks ran here
    wt = tmp_path / "wt"
    git(repo, "worktree", "add", "-q", "-b", "feature", str(wt))
    git(wt, "checkout", "-q", "-b", "side")
    commit_all(wt, "side")
    git(wt, "checkout", "-q", "feature")
    commit_all(wt, "feature")
    git(wt, "merge", "-q", "--no-edit", "side")
    merge = git(wt, "rev-parse", "HEAD").strip()
    tip = commit_all(wt, "after the merge")
    stdin = f"refs/heads/feature {tip} refs/heads/feature {'0' * 40}\n".encode()
    proc = cli("hook", "pre-push", "origin", str(remote), cwd=repo, input=stdin, env=env)
    assert proc.returncode == 0, proc.stderr
    found = versions(server_url, experiment)
    assert len(found.get(merge, [])) == 1 and len(found.get(tip, [])) == 1
    assert git(repo, "rev-list", "--merges", f"{base}..{tip}").split() == [merge]


@pytest.mark.server
def test_pre_push_parses_each_pushed_config_once(
    repo: Path, server_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 12: pre-push checked the tip's config, then the flusher parsed it again."""
    experiment = configure(repo, server_url)
    head = git(repo, "rev-parse", "HEAD").strip()
    calls = count_config_parses(monkeypatch)
    assert main(["hook", "pre-push", "--repo", str(repo)]) == 0  # by hand: HEAD
    assert calls == [f"{head[:12]}:.mlflow-gitver.yaml"]
    assert head in versions(server_url, experiment)


# --- the journal of what this clone registered (queue/registered.py) ---------------------


def _push_hook(
    repo: Path, remote: Path, env: dict[str, str] | None = None, branch: str = "main"
) -> tuple[str, set[str]]:
    """Run the pre-push hook as git would for a push of HEAD as ``branch``; (its
    output, the MLflow modules it imported: ``-X importtime`` lists every module
    a process imports)."""
    head = git(repo, "rev-parse", "HEAD").strip()
    hook = ["hook", "pre-push", "origin", str(remote)]
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "mlflow_gitver", *hook],
        cwd=repo,
        env=env,
        input=f"refs/heads/{branch} {head} refs/heads/{branch} {Z}\n",
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    names = {line.rsplit("|", 1)[-1].strip() for line in proc.stderr.splitlines()}
    imported = {n for n in names if n == "mlflow" or n.startswith("mlflow.")}
    said = [line for line in proc.stderr.splitlines() if not line.startswith("import time:")]
    return proc.stdout + "\n".join(said), imported


@pytest.mark.server
def test_a_push_of_journaled_versions_imports_no_mlflow_and_trusts_the_journal(
    repo: Path, server_url: str, tmp_path: Path
) -> None:
    experiment = configure(repo, server_url)
    remote = tmp_path / "remote.git"
    subprocess.run(["git", "init", "-q", "--bare", str(remote)], check=True)
    git(repo, "remote", "add", "origin", str(remote))
    assert main(["hook", "post-commit", "--repo", str(repo), "--sync"]) == 0
    head = git(repo, "rev-parse", "HEAD").strip()
    model = versions(server_url, experiment)[head][0]

    said, imported = _push_hook(repo, remote)
    assert imported == set()  # so no server call: every one goes through MLflow's client
    assert f"refs/heads/main {head[:12]} is {model.name} ({model.model_id})" in said  # type: ignore[attr-defined]
    assert "registering" not in said

    # The documented limit: a version deleted on the server since is not brought
    # back by a push that finds it journaled ...
    from mlflow import MlflowClient

    MlflowClient(tracking_uri=server_url).delete_logged_model(model.model_id)  # type: ignore[attr-defined]
    _push_hook(repo, remote)
    assert head not in versions(server_url, experiment)
    # ... and `register --commit` is what does.
    proc = cli("register", "--commit", head, cwd=repo)
    assert proc.returncode == 0, proc.stderr
    assert len(versions(server_url, experiment)[head]) == 1


@pytest.mark.server
@pytest.mark.parametrize("change", ["experiment", "remote", "branch"])
def test_a_journaled_version_goes_to_the_server_when_what_it_would_write_changed(
    repo: Path, server_url: str, tmp_path: Path, change: str
) -> None:
    experiment = configure(repo, server_url)
    remote = tmp_path / "remote.git"
    subprocess.run(["git", "init", "-q", "--bare", str(remote)], check=True)
    if change != "remote":
        git(repo, "remote", "add", "origin", str(remote))
    assert main(["hook", "post-commit", "--repo", str(repo), "--sync"]) == 0
    head = git(repo, "rev-parse", "HEAD").strip()
    env = dict(os.environ)
    if change == "experiment":  # another target: the version belongs there too
        env["MLFLOW_EXPERIMENT_NAME"] = experiment + "-other"
    elif change == "remote":  # `git remote add` since: the repoURL tag the version lacks
        git(repo, "remote", "add", "origin", str(remote))
    else:  # the branch tag: the commit pushed from a branch of another name
        git(repo, "branch", "-m", "main", "renamed")
    branch = "renamed" if change == "branch" else "main"
    said, imported = _push_hook(repo, remote, env, branch)
    assert imported, "went to the server"
    assert "registering 1 pushed commit" in said
    found = versions(server_url, experiment + ("-other" if change == "experiment" else ""))
    assert len(found[head]) == 1
    if change == "remote":
        assert found[head][0].tags["mlflow.source.git.repoURL"] == str(remote)  # type: ignore[attr-defined]
    # Journaled now for what changed: the next push needs no server.
    _said, imported = _push_hook(repo, remote, env, branch)
    assert imported == set()


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["origin", "https://example.com/r.git"],
        ["--all"],
        ["--repo", "x y", "origin", "/srv/r.git"],
        ["--repo=x", "--all", "origin", "u"],
        ["--all", "--repo", "x", "origin"],
    ],
)
def test_main_reads_the_usual_pre_push_arguments_as_argparse_would(args: list[str]) -> None:
    from mlflow_gitver.cli import build_parser
    from mlflow_gitver.commands.hook import args_of
    from mlflow_gitver.main import pre_push_args

    full = ["hook", "pre-push", *args]
    assert pre_push_args(args) == args_of(build_parser(full).parse_args(full))


@pytest.mark.parametrize(
    "args", [["--help"], ["--repo"], ["--sync"], ["origin", "--all"], ["-x"], ["--al"]]
)
def test_other_pre_push_arguments_go_to_argparse(args: list[str]) -> None:
    from mlflow_gitver.main import pre_push_args

    assert pre_push_args(args) is None
