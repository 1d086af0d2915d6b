"""deploycheck.py: why a model is not the version to deploy, on MLflow's own entities
read back from the session's real server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlflow_gitver.deploycheck import Expected, env_experiments, is_model_id, problem_of
from testing.cli import cli
from testing.repos import commit_all, write

pytestmark = pytest.mark.server


def test_model_ids_are_told_from_names() -> None:
    assert is_model_id("m-0123456789abcdef")
    for value in ("m-0123", "M-0123456789abcdef", "shop-git-01234567", "m-0123456789abcdeg", ""):
        assert not is_model_id(value), value


def test_each_expectation_is_checked_in_turn(repo: Path, server_url: str) -> None:
    from mlflow import MlflowClient

    write(repo / ".mlflow-gitver.yaml", f"name: shop\ntracking_uri: {server_url}\n")
    sha = commit_all(repo, "config")
    got = json.loads(cli("register", "--format", "json", cwd=repo).stdout)
    client = MlflowClient(server_url)
    model = client.get_logged_model(got["model_id"])
    exp = client.get_experiment(got["experiment_id"])
    assert problem_of(model, exp, Expected()) is None
    right = Expected(
        app="shop", experiment=("id", exp.experiment_id), version_id=sha, commit="HEAD"
    )
    assert problem_of(model, exp, right) is None
    assert problem_of(model, exp, Expected(experiment=("name", exp.name))) is None
    app = problem_of(model, exp, Expected(app="billing"))
    assert app is not None and "a version of shop, not of billing" in app
    moved = problem_of(model, exp, Expected(experiment=("name", "elsewhere")))
    assert moved is not None and f"set MLFLOW_EXPERIMENT_NAME={exp.name}" in moved
    by_id = problem_of(model, exp, Expected(experiment=("id", "999")))
    assert by_id is not None and f"set MLFLOW_EXPERIMENT_ID={exp.experiment_id}" in by_id
    # MLflow reads MLFLOW_EXPERIMENT_NAME first: a name that disagrees fails too.
    named = Expected(env_experiments=[("MLFLOW_EXPERIMENT_NAME", "elsewhere")])
    clash = problem_of(model, exp, named)
    assert clash is not None and "MLFLOW_EXPERIMENT_NAME=elsewhere sends traces elsewhere" in clash
    same = Expected(env_experiments=env_experiments({"MLFLOW_EXPERIMENT_ID": exp.experiment_id}))
    assert problem_of(model, exp, same) is None
    stale = problem_of(
        model, exp, Expected(version_id="f" * 40, commit="v2", commit_from="GITHUB_SHA")
    )
    assert stale is not None and "not the version of commit v2 (GITHUB_SHA)" in stale
    pending = client.create_logged_model(exp.experiment_id, name="half")
    half = problem_of(pending, exp, right)
    assert half is not None and "is PENDING, not READY" in half
    # A deleted experiment: MLflow would refuse every trace sent there.
    gone = client.create_experiment(f"gone-{got['model_id'][-8:]}")
    model2 = client.create_logged_model(gone, name="x")
    client.finalize_logged_model(model2.model_id, "READY")
    client.delete_experiment(gone)
    deleted = problem_of(
        client.get_logged_model(model2.model_id), client.get_experiment(gone), Expected()
    )
    assert deleted is not None and "which is deleted" in deleted


def test_env_experiments_reads_both_variables() -> None:
    env = {"MLFLOW_EXPERIMENT_ID": "3", "MLFLOW_EXPERIMENT_NAME": "shop", "X": "y"}
    assert env_experiments(env) == [
        ("MLFLOW_EXPERIMENT_NAME", "shop"),
        ("MLFLOW_EXPERIMENT_ID", "3"),
    ]
    assert env_experiments({"MLFLOW_EXPERIMENT_ID": ""}) == []
