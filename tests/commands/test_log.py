"""``mlflow-gitver log``: this app's versions, newest first, on the real server, with
traces a real traced process linked and an evaluation run's metrics."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest

from testing.cli import cli
from testing.links import evaluate, trace
from testing.repos import commit_all, git, write

pytestmark = pytest.mark.server


def _register(repo: Path) -> dict[str, Any]:
    out = cli("register", "--format", "json", cwd=repo)
    assert out.returncode == 0, out.stderr
    return dict(json.loads(out.stdout))


def _log(repo: Path, *args: str) -> list[dict[str, Any]]:
    out = cli("log", "--format", "json", *args, cwd=repo)
    assert out.returncode == 0, out.stderr
    return list(json.loads(out.stdout))


def test_versions_newest_first_with_their_links(repo: Path, server_url: str) -> None:
    exp = f"log-{uuid.uuid4().hex[:8]}"
    config = f"name: shop\nexperiment: {exp}\ntracking_uri: {server_url}\n"
    write(repo / ".mlflow-gitver.yaml", config)
    commit_all(repo, "first version")
    first = _register(repo)
    git(repo, "checkout", "-q", "-b", "feature")
    write(repo / "app.py", "print('v2')\n")
    commit_all(repo, "second version")
    second = _register(repo)
    write(repo / "app.py", "print('wip')\n")
    dirty = _register(repo)
    # Another app in the same experiment is not this app's.
    write(repo / "other.yaml", f"name: billing\nexperiment: {exp}\ntracking_uri: {server_url}\n")
    other = cli("register", "--config", "other.yaml", "--format", "json", cwd=repo)
    assert other.returncode == 0, other.stderr

    trace(server_url, second["model_id"], second["experiment_id"])
    evaluate(server_url, first["experiment_id"], first["model_id"])

    rows = _log(repo)
    assert [r["model_id"] for r in rows] == [
        dirty["model_id"],
        second["model_id"],
        first["model_id"],
    ]
    newest = rows[0]
    assert newest["dirty"] is True and newest["branch"] == "feature" and newest["status"] == "READY"
    assert rows[1]["subject"] == "second version" and rows[1]["commit"] == second["commit"]
    assert [r["traces"] for r in rows] == [0, 1, 0]
    assert [r["evaluation_runs"] for r in rows] == [0, 0, 1]
    assert rows[2]["created"].endswith("Z") and rows[2]["app"] == "shop"
    assert [r["model_id"] for r in _log(repo, "--limit", "2")] == [
        dirty["model_id"],
        second["model_id"],
    ]
    assert [r["model_id"] for r in _log(repo, "--branch", "main")] == [first["model_id"]]
    text = cli("log", cwd=repo)
    assert text.returncode == 0 and second["model_name"] in text.stdout
    assert "traces: 1" in text.stdout and "evaluation runs: 1" in text.stdout
    assert "billing" not in text.stdout


def test_nothing_registered_and_bad_options(repo: Path, server_url: str) -> None:
    exp = f"log-{uuid.uuid4().hex[:8]}"
    write(
        repo / ".mlflow-gitver.yaml",
        f"name: empty\nexperiment: {exp}\ntracking_uri: {server_url}\n",
    )
    commit_all(repo, "config")
    assert _log(repo) == []
    none = cli("log", cwd=repo)
    assert none.returncode == 0 and "no versions of empty" in none.stderr
    for limit in ("0", "1001", str(2**31)):
        bad = cli("log", "--limit", limit, cwd=repo)
        assert bad.returncode == 2 and bad.stderr.count("\n") == 1, bad.stderr
    quote = cli("log", "--branch", "it's", cwd=repo)
    assert quote.returncode == 2 and "a quote cannot be searched for" in quote.stderr
