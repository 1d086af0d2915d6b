"""``mlflow-gitver resolve``: look a version up, create nothing, exit 1 when absent."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from tests.helpers import cli, commit_all, git, write


@pytest.fixture
def app(repo: Path) -> Path:
    write(repo / ".mlflow-gitver.yaml", "name: resolve-app\n")
    commit_all(repo, "config")
    return repo


def _register(app: Path, uri: str, exp: str) -> dict[str, object]:
    out = cli("register", "--format", "json", "--tracking-uri", uri, "--experiment", exp, cwd=app)
    assert out.returncode == 0, out.stderr
    return dict(json.loads(out.stdout))


def _count(uri: str) -> int:
    from mlflow import MlflowClient

    client = MlflowClient(uri)
    ids = [e.experiment_id for e in client.search_experiments()]
    return len(client.search_logged_models(ids, max_results=1000))


def test_resolve_finds_registered_versions(app: Path, server_url: str) -> None:
    exp = f"resolve-{uuid.uuid4().hex[:8]}"
    got = _register(app, server_url, exp)
    head = str(got["commit"])
    before = _count(server_url)
    by_rev = cli("resolve", "--commit", "HEAD", "--tracking-uri", server_url, cwd=app)
    assert by_rev.returncode == 0, by_rev.stderr
    assert by_rev.stdout.strip() == got["model_id"]
    # A deploy job: no checkout at all, a full hash or a version id, and no experiment.
    nowhere = app.parent / "no-git"
    nowhere.mkdir()
    for args in (["--commit", head], ["--version-id", head, "--name", "resolve-app"]):
        out = cli("resolve", *args, "--tracking-uri", server_url, "--format", "json", cwd=nowhere)
        assert out.returncode == 0, out.stderr
        shown = json.loads(out.stdout)
        assert shown["model_id"] == got["model_id"]
        assert shown["experiment_id"] == got["experiment_id"]
    env_out = cli("resolve", "--version-id", head, "--tracking-uri", server_url,
                  "--format", "env", cwd=nowhere)  # fmt: skip
    assert f"export MLFLOW_ACTIVE_MODEL_ID={got['model_id']}" in env_out.stdout
    assert _count(server_url) == before  # resolve created nothing


def test_resolve_exits_1_when_not_registered(app: Path, server_url: str) -> None:
    write(app / "new.py", "x = 1\n")
    commit_all(app, "never registered")
    before = _count(server_url)
    out = cli("resolve", "--tracking-uri", server_url, cwd=app)
    assert out.returncode == 1
    assert "is not registered" in out.stderr
    assert git(app, "rev-parse", "HEAD").strip() in out.stderr
    assert _count(server_url) == before


def test_resolve_by_name_excludes_other_apps(app: Path, server_url: str) -> None:
    got = _register(app, server_url, f"resolve-{uuid.uuid4().hex[:8]}")
    out = cli("resolve", "--version-id", str(got["version_id"]), "--name", "another-app",
              "--tracking-uri", server_url, cwd=app.parent)  # fmt: skip
    assert out.returncode == 1


def test_resolve_rejects_a_malformed_version_id(tmp_path: Path) -> None:
    out = cli(
        "resolve", "--version-id", "nope", "--tracking-uri", "http://127.0.0.1:1", cwd=tmp_path
    )
    assert out.returncode == 2
    assert "is not a version id" in out.stderr


def test_resolve_with_no_repository_and_no_uri_says_what_to_pass(tmp_path: Path) -> None:
    out = cli("resolve", "--version-id", "a" * 40, cwd=tmp_path)
    assert out.returncode == 2
    assert "--tracking-uri" in out.stderr
