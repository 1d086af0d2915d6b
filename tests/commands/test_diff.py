"""``mlflow-gitver diff A B``: params, tags and code between two versions, on the real
server, in a real clone."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest

from testing.cli import cli
from testing.repos import commit_all, git, write

pytestmark = pytest.mark.server


def _register(repo: Path, **env: str) -> dict[str, Any]:
    import os

    out = cli("register", "--format", "json", cwd=repo, env={**os.environ, **env})
    assert out.returncode == 0, out.stderr
    return dict(json.loads(out.stdout))


def _diff(repo: Path, *args: str) -> dict[str, Any]:
    out = cli("diff", *args, "--format", "json", cwd=repo)
    assert out.returncode == 0, out.stderr
    return dict(json.loads(out.stdout))


@pytest.fixture
def two(repo: Path, server_url: str) -> tuple[dict[str, Any], dict[str, Any]]:
    exp = f"diff-{uuid.uuid4().hex[:8]}"
    write(
        repo / ".mlflow-gitver.yaml",
        f"name: shop\nexperiment: {exp}\ntracking_uri: {server_url}\n"
        "params: {llm: '${LLM:-gpt-4o-mini}', k: 5}\n",
    )
    write(repo / "app.py", "print('v1')\n")
    commit_all(repo, "v1")
    first = _register(repo)
    write(repo / "app.py", "print('v2')\n")
    commit_all(repo, "v2")
    second = _register(repo, LLM="gpt-4o")
    return first, second


def test_params_tags_and_the_commits_diff(
    repo: Path, two: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    first, second = two
    # Each side named another way: model id, commit, version id, model name.
    for a, b in ((first["model_id"], "HEAD"), (first["version_id"], second["model_name"])):
        out = _diff(repo, a, b)
        assert (
            out["a"]["model_id"] == first["model_id"] and out["b"]["model_id"] == second["model_id"]
        )
        assert out["params"] == {"llm": ["gpt-4o-mini", "gpt-4o"]}
        assert out["tags"]["mlflow.source.git.commit"] == [first["commit"], second["commit"]]
        assert "-print('v1')" in out["code"]["diff"] and "+print('v2')" in out["code"]["diff"]
        assert out["code"]["a_patch"] is None and out["code"]["b_patch"] is None
    stat = _diff(repo, "HEAD~1", "HEAD", "--stat")
    assert "app.py | 2 +-" in stat["code"]["diff"]
    text = cli("diff", "HEAD~1", "HEAD", cwd=repo)
    assert text.returncode == 0 and "llm: 'gpt-4o-mini' -> 'gpt-4o'" in text.stdout
    assert "+print('v2')" in text.stdout


def test_a_dirty_side_shows_its_stored_patch(
    repo: Path, two: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    _first, _second = two
    write(repo / "app.py", "print('work in progress')\n")
    write(repo / "notes.txt", "untracked\n")
    dirty = _register(repo, LLM="gpt-4o")
    out = _diff(repo, "HEAD", dirty["model_id"])
    assert out["params"] == {} and out["code"]["diff"] == ""  # the same commit
    patch = out["code"]["b_patch"]
    assert "+print('work in progress')" in patch and "notes.txt" in patch
    stat = _diff(repo, "HEAD", dirty["model_id"], "--stat")
    assert "app.py" in stat["code"]["b_patch"] and "notes.txt" in stat["code"]["b_patch"]
    text = cli("diff", "HEAD", dirty["model_id"], cwd=repo)
    assert "code: the same commit" in text.stdout and "uncommitted changes of B" in text.stdout


def test_without_a_clone_or_the_commit_it_says_why(
    repo: Path, two: tuple[dict[str, Any], dict[str, Any]], tmp_path: Path, server_url: str
) -> None:
    first, second = two
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    args = (first["model_id"], second["model_id"], "--tracking-uri", server_url)
    out = _diff(outside, *args)
    assert out["code"]["diff"] is None and "no git clone here" in out["code"]["why_not"]
    assert out["params"] == {"llm": ["gpt-4o-mini", "gpt-4o"]}
    shallow = tmp_path / "shallow"
    git(tmp_path, "clone", "-q", "--depth", "1", f"file://{repo}", str(shallow))
    out = _diff(shallow, *args)
    assert f"commit {first['commit']} is not in this clone" in out["code"]["why_not"]
    missing = cli(
        "diff", first["model_id"], "m-" + "0" * 32, "--tracking-uri", server_url, cwd=outside
    )
    assert missing.returncode == 1 and missing.stderr.count("\n") == 1, missing.stderr
