"""``mlflow-gitver hook post-commit|pre-push`` run directly, on real repositories."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from mlflow_gitver import git as gitmod
from mlflow_gitver.commands.hook import (
    Push,
    new_record,
    parse_ref_lines,
    pushed_commits,
    pushes_from_pre_commit,
)
from mlflow_gitver.main import main
from mlflow_gitver.pending import Store
from tests.conftest import free_port
from tests.helpers import cli, commit_all, git, write
from tests.hooks.conftest import background_flushes, config_text, versions

Z = "0" * 40


def _setup(repo: Path, server_url: str, extra: str = "") -> str:
    experiment = f"hook-{uuid.uuid4().hex[:12]}"
    write(repo / ".mlflow-gitver.yaml", config_text(server_url, experiment, extra))
    commit_all(repo, "config")
    return experiment


def _store(root: Path) -> Store:
    return Store(root / ".git")


# --- post-commit --------------------------------------------------------------------


@pytest.mark.server
def test_post_commit_sync_registers_head(
    repo: Path, server_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    experiment = _setup(repo, server_url)
    head = git(repo, "rev-parse", "HEAD").strip()
    write(repo / "dirty.txt", "the working tree does not matter\n")
    assert main(["hook", "post-commit", "--repo", str(repo), "--sync"]) == 0
    assert f"registered {head[:12]} as app-git-{head[:8]}" in capsys.readouterr().out
    [model] = versions(server_url, experiment)[head]
    assert model.tags["mlflow.source.git.dirty"] == "false"  # type: ignore[attr-defined]
    assert model.tags["mlflow.source.git.branch"] == "main"  # type: ignore[attr-defined]
    assert _store(repo).list_pending() == []


def test_post_commit_server_down_exits_0_and_keeps_the_record(
    repo: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # A closed local port: the server is down, for real.
    _setup(repo, f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("MLFLOW_GITVER_SYNC", "1")
    monkeypatch.setenv("MLFLOW_GITVER_RETRY_SECONDS", "1")
    assert main(["hook", "post-commit", "--repo", str(repo)]) == 0
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "deferred" in err and "kept pending" in err
    [entry] = _store(repo).list_pending()
    assert entry.record.commit == git(repo, "rev-parse", "HEAD").strip()
    assert entry.state.attempts == 1 and "127.0.0.1" in (entry.state.last_error or "")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("name: app\nparams: {a: null}\n", ".mlflow-gitver.yaml:2:13: params.a is null"),
        (None, "no config file in commit"),
    ],
)
def test_post_commit_invalid_config_fails_that_version_only(
    repo: Path, capsys: pytest.CaptureFixture[str], text: str | None, expected: str
) -> None:
    if text is not None:
        write(repo / ".mlflow-gitver.yaml", text)
        commit_all(repo, "bad config")
    assert main(["hook", "post-commit", "--repo", str(repo)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and expected in err and "is not registered" in err
    store = _store(repo)
    assert store.list_pending() == []
    [failed] = store.list_failed()
    assert expected in (failed.state.last_error or "")


@pytest.mark.server
def test_post_commit_background_registers_after_returning(repo: Path, server_url: str) -> None:
    experiment = _setup(repo, server_url)
    head = git(repo, "rev-parse", "HEAD").strip()
    # A real process, as git runs it: it must return without waiting for the flush.
    proc = cli("hook", "post-commit", cwd=repo)
    assert proc.returncode == 0 and proc.stdout == "" and proc.stderr == ""
    deadline = time.monotonic() + 120
    while background_flushes(repo) or _store(repo).list_pending():
        assert time.monotonic() < deadline, "background registration did not finish"
        time.sleep(0.1)
    assert len(versions(server_url, experiment)[head]) == 1
    log = (repo / ".git" / "mlflow-gitver" / "hook.log").read_text()
    assert f"{head[:12]} registered: app-git-" in log


@pytest.mark.server
def test_hook_and_flush_at_once_register_each_version_once(repo: Path, server_url: str) -> None:
    experiment = _setup(repo, server_url)
    r = gitmod.discover(repo)
    commits = []
    for i in range(6):
        write(repo / f"f{i}.txt", f"{i}\n")
        commits.append(commit_all(repo, f"c{i}"))
        _store(repo).add(new_record(r, commits[-1], "test", {}))
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
    assert _store(repo).list_pending() == []


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
    experiment = _setup(repo, server_url, "hooks:\n  pre_push: {all: true}\n")
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
