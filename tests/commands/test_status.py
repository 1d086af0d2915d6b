"""``mlflow-gitver status``: what is pending, failed, unrecorded; exit 1 unless all is well."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from mlflow_gitver import git as gitmod
from mlflow_gitver.main import main
from mlflow_gitver.queue.records import new_record
from mlflow_gitver.queue.store import Store
from testing.hooks import config_text
from testing.repos import commit_all, write
from testing.server import free_port


def _store(root: Path) -> Store:
    return Store(root / ".git")


def _record(root: Path, commit: str) -> None:
    _store(root).add(new_record(gitmod.discover(root), commit, "test", {}))


def test_status_when_nothing_is_pending(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["status", "--repo", str(repo)]) == 0
    assert capsys.readouterr().out == "every recorded version is registered\n"
    assert main(["flush", "--repo", str(repo)]) == 0


def _fail_a_commit(repo: Path) -> str:
    """A commit whose config is invalid, recorded and flushed: a failed record."""
    text = (repo / ".mlflow-gitver.yaml").read_text()
    write(repo / ".mlflow-gitver.yaml", text + "temperature: 0.7\n")
    bad = commit_all(repo, "bad")
    write(repo / ".mlflow-gitver.yaml", text)
    _record(repo, bad)
    assert main(["flush", "--repo", str(repo)]) == 1
    return bad


def test_failures_of_unreachable_commits_stop_counting_and_prune_clears_them(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(repo / ".mlflow-gitver.yaml", config_text(f"http://127.0.0.1:{free_port()}", "e"))
    commit_all(repo, "config")
    bad = _fail_a_commit(repo)
    assert main(["status", "--repo", str(repo)]) == 1  # on main: it counts
    capsys.readouterr()
    # The branch moves on without it (what a rebase that drops it does).
    gitmod.git(["reset", "-q", "--hard", "HEAD~1"], cwd=repo, env=dict(os.environ))
    assert main(["status", "--repo", str(repo)]) == 0
    out = capsys.readouterr().out
    assert "every recorded version is registered" in out
    assert "not counted: 1 failed record(s)" in out and bad[:12] in out
    bad2 = _fail_a_commit(repo)
    assert main(["status", "--repo", str(repo), "--format", "json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert {f["commit"]: f["reachable"] for f in data["failed"]} == {bad: False, bad2: True}
    assert main(["status", "--repo", str(repo), "--prune"]) == 0
    out = capsys.readouterr().out
    assert f"pruned failed record of {bad2[:12]}" in out and f"of {bad[:12]}" in out
    assert _store(repo).list_failed() == []
