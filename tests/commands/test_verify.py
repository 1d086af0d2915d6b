"""``mlflow-gitver verify``: the checks a deploy makes on MLFLOW_ACTIVE_MODEL_ID, with
the real CLI against the session's real server, in a clone and in a deploy
directory without ``.git``."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest

from mlflow_gitver.deployenv import COMMIT_VARIABLES
from testing.cli import cli
from testing.repos import commit_all, git, write

pytestmark = pytest.mark.server


def _env(**extra: str) -> dict[str, str]:
    """This process's environment without anything that names a model, an experiment
    or a deployed commit (a CI runner sets some), plus ``extra``."""
    drop = {v for _p, v in COMMIT_VARIABLES} | {
        "MLFLOW_ACTIVE_MODEL_ID",
        "MLFLOW_EXPERIMENT_ID",
        "MLFLOW_EXPERIMENT_NAME",
    }
    return {**{k: v for k, v in os.environ.items() if k not in drop}, **extra}


def _verify(cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return cli("verify", *args, cwd=cwd, env=_env(**env))


@pytest.fixture
def app(repo: Path, server_url: str) -> dict[str, str]:
    """A registered version: register's JSON, plus its commit and experiment."""
    experiment = f"verify-{uuid.uuid4().hex[:10]}"
    write(
        repo / ".mlflow-gitver.yaml",
        f"name: shop\nexperiment: {experiment}\ntracking_uri: {server_url}\n",
    )
    sha = commit_all(repo, "config")
    out = cli("register", "--format", "json", cwd=repo, env=_env())
    assert out.returncode == 0, out.stderr
    reg: dict[str, str] = json.loads(out.stdout)
    return {**reg, "sha": sha, "experiment": experiment}


def test_the_registered_version_passes_and_is_tagged(
    repo: Path, server_url: str, app: dict[str, str]
) -> None:
    from mlflow import MlflowClient

    ok = _verify(repo, app["model_id"], "--commit", "HEAD")
    assert ok.returncode == 0, ok.stderr
    assert (
        ok.stdout.startswith(f"ok: {app['model_id']} is shop-git-")
        and "the version of HEAD" in ok.stdout
    )
    tags = MlflowClient(server_url).get_logged_model(app["model_id"]).tags
    assert tags["mlflow_gitver.verified"].endswith("Z")
    # From the deploy's environment, the experiment given too: no warning.
    env = {"MLFLOW_ACTIVE_MODEL_ID": app["model_id"], "MLFLOW_EXPERIMENT_ID": app["experiment_id"]}
    quiet = _verify(repo, **env)
    assert quiet.returncode == 0 and quiet.stderr == "", quiet.stderr
    # Without the experiment, traces would go to experiment 0: said, not fatal.
    warned = _verify(repo, MLFLOW_ACTIVE_MODEL_ID=app["model_id"])
    assert warned.returncode == 0 and "MLFLOW_EXPERIMENT_ID is not set" in warned.stderr
    report = json.loads(_verify(repo, app["model_id"], "--format", "json").stdout)
    assert report["ok"] is True and report["model_id"] == app["model_id"]
    assert report["status"] == "READY" and report["version_id"] == app["sha"]
    assert report["experiment_name"] == app["experiment"]


def test_a_model_name_instead_of_its_id_is_refused_with_the_id(
    repo: Path, app: dict[str, str]
) -> None:
    named = _verify(repo, MLFLOW_ACTIVE_MODEL_ID=app["model_name"])
    assert named.returncode == 2 and named.stderr.count("\n") == 1, named.stderr
    assert "is a model name, not a model id" in named.stderr
    assert f"MLFLOW_ACTIVE_MODEL_ID={app['model_id']}" in named.stderr
    junk = _verify(repo, "hello")
    assert junk.returncode == 2 and "'hello' is not a model id" in junk.stderr
    none = _verify(repo)
    assert none.returncode == 2 and "pass MODEL_ID, or set MLFLOW_ACTIVE_MODEL_ID" in none.stderr
    # `verify "$ID"` with ID unset must not verify the environment's model instead.
    empty = _verify(repo, "", MLFLOW_ACTIVE_MODEL_ID=app["model_id"])
    assert empty.returncode == 2 and "MODEL_ID is empty" in empty.stderr, empty.stderr


def test_each_wrong_version_exits_1_naming_what_is_wrong(
    repo: Path, server_url: str, app: dict[str, str]
) -> None:
    absent = _verify(repo, "m-" + "0" * 32)
    assert absent.returncode == 1 and "does not exist" in absent.stderr, absent.stderr
    other_app = _verify(repo, app["model_id"], "--name", "billing")
    assert other_app.returncode == 1 and "a version of shop, not of billing" in other_app.stderr
    wrong_exp = _verify(repo, app["model_id"], "--experiment", "0")
    assert wrong_exp.returncode == 1, wrong_exp.stderr
    assert f"set MLFLOW_EXPERIMENT_ID={app['experiment_id']}" in wrong_exp.stderr
    write(repo / "app.py", "print('next')\n")
    commit_all(repo, "next")
    stale = _verify(repo, app["model_id"], "--commit", "HEAD")
    assert stale.returncode == 1 and stale.stderr.count("\n") == 1, stale.stderr
    assert f"is version {app['sha']}" in stale.stderr and "resolve --commit HEAD" in stale.stderr
    report = json.loads(
        _verify(repo, app["model_id"], "--commit", "HEAD", "--format", "json").stdout
    )
    assert report["ok"] is False and "not the version of commit HEAD" in report["problem"]


def test_a_registration_killed_midway_is_not_ready(
    repo: Path, server_url: str, app: dict[str, str]
) -> None:
    from mlflow import MlflowClient

    write(repo / "wip.py", "work in progress\n")
    env = _env(MLFLOW_GITVER_FAULT="after-create")  # SIGKILL right after the create
    assert cli("register", cwd=repo, env=env).returncode == -9
    models = MlflowClient(server_url).search_logged_models([app["experiment_id"]])
    [half] = [m for m in models if m.model_id != app["model_id"]]
    out = _verify(repo, half.model_id)
    assert out.returncode == 1 and "is PENDING, not READY" in out.stderr, out.stderr


@pytest.fixture
def deploy(repo: Path, app: dict[str, str], tmp_path: Path) -> Path:
    """A deploy bundle: the code and the config, no .git."""
    bundle = tmp_path / "bundle"
    shutil.copytree(repo, bundle, ignore=shutil.ignore_patterns(".git", "mlflow.db*"))
    return bundle


def test_a_deploy_without_git_checks_each_platforms_commit(
    deploy: Path, app: dict[str, str], repo: Path
) -> None:
    for platform, var in COMMIT_VARIABLES:
        ok = _verify(deploy, app["model_id"], "--format", "json", **{var: app["sha"]})
        assert ok.returncode == 0, (platform, ok.stderr)
        expected = json.loads(ok.stdout)["expected"]
        assert expected["commit_from"] == var and expected["version_id"] == app["sha"], platform
    wrong = _verify(deploy, app["model_id"], CI_COMMIT_SHA="f" * 40)
    assert wrong.returncode == 1 and "(CI_COMMIT_SHA)" in wrong.stderr, wrong.stderr
    # In a clone whose HEAD is another commit than the variable names: said too.
    moved = _verify(repo, app["model_id"], GITHUB_SHA="f" * 40)
    assert moved.returncode == 1 and "but this clone's HEAD is" in moved.stderr, moved.stderr
    # Two platforms disagreeing: the first of the table is checked, and it is said.
    both = _verify(deploy, app["model_id"], GITHUB_SHA=app["sha"], RENDER_GIT_COMMIT="f" * 40)
    assert both.returncode == 0 and "RENDER_GIT_COMMIT names commit ffffffffffff" in both.stderr
    # Buildkite may say HEAD; a short hash names no one commit: neither counts.
    vague = _verify(
        deploy, app["model_id"], "--format", "json", BUILDKITE_COMMIT="HEAD", GIT_COMMIT="abc1234"
    )
    assert vague.returncode == 0 and json.loads(vague.stdout)["expected"]["commit_from"] is None


def test_without_git_a_short_hash_or_a_scoped_app_cannot_be_checked(
    deploy: Path, app: dict[str, str], server_url: str
) -> None:
    short = _verify(deploy, app["model_id"], "--commit", app["sha"][:12])
    assert short.returncode == 2 and "give the full hash" in short.stderr, short.stderr
    write(
        deploy / ".mlflow-gitver.yaml",
        f"tracking_uri: {server_url}\napps:\n  - {{name: shop, paths: [app]}}\n",
    )
    asked = _verify(deploy, app["model_id"], "--commit", app["sha"])
    assert asked.returncode == 2 and "computed from a clone" in asked.stderr, asked.stderr
    implicit = _verify(deploy, app["model_id"], GITHUB_SHA=app["sha"])
    assert implicit.returncode == 0, implicit.stderr
    assert "the commit (GITHUB_SHA) was not checked" in implicit.stderr


def test_a_scoped_app_is_checked_by_its_scoped_version(repo: Path, server_url: str) -> None:
    experiment = f"verify-{uuid.uuid4().hex[:10]}"
    write(repo / "apps/a/x.py", "x\n")
    write(
        repo / ".mlflow-gitver.yaml",
        f"experiment: {experiment}\ntracking_uri: {server_url}\n"
        "apps:\n  - {name: a, paths: [apps/a]}\n  - {name: b, paths: [apps/b]}\n",
    )
    first = commit_all(repo, "apps")
    reg = json.loads(cli("register", "--app", "a", "--format", "json", cwd=repo, env=_env()).stdout)
    write(repo / "README.md", "outside the app\n")
    commit_all(repo, "docs")
    for rev in ("HEAD", first):
        ok = _verify(repo, reg["model_id"], "--app", "a", "--commit", rev)
        assert ok.returncode == 0, (rev, ok.stderr)
    several = _verify(repo, reg["model_id"])
    assert several.returncode == 2 and "several apps (a, b): pass --app" in several.stderr
    assert git(repo, "rev-parse", "HEAD").strip() != first
    # A platform's commit this clone lacks: said as the variable's, not --commit's.
    lacking = _verify(repo, reg["model_id"], "--app", "a", GITHUB_SHA="e" * 40)
    assert lacking.returncode == 2 and lacking.stderr.count("\n") == 1, lacking.stderr
    assert "GITHUB_SHA names commit eeeeeeeeeeee, which is not in this clone" in lacking.stderr


def test_a_bundle_whose_params_read_unset_variables_still_verifies(
    deploy: Path, repo: Path, app: dict[str, str], server_url: str
) -> None:
    """verify needs the name, not the params; and it creates no store."""
    text = (deploy / ".mlflow-gitver.yaml").read_text() + "params: {llm: '${LLM_MODEL}'}\n"
    write(deploy / ".mlflow-gitver.yaml", text)
    ok = _verify(deploy, app["model_id"])
    assert ok.returncode == 0, ok.stderr
    listed = cli("log", "--format", "json", cwd=deploy, env=_env())
    assert listed.returncode == 0 and app["model_id"] in listed.stdout, listed.stderr
    # In a clone whose config names no server: the embedded store, which is not there.
    write(repo / ".mlflow-gitver.yaml", "name: shop\n")
    for command in (("verify", app["model_id"]), ("log",), ("resolve",)):
        none = cli(*command, cwd=repo, env=_env())
        assert none.returncode == 1 and "there is no MLflow store at" in none.stderr, none.stderr
    assert not (repo / "mlflow.db").exists()


def test_mlflows_experiment_name_wins_and_must_agree(repo: Path, app: dict[str, str]) -> None:
    env = {"MLFLOW_ACTIVE_MODEL_ID": app["model_id"]}
    other = _verify(repo, MLFLOW_EXPERIMENT_NAME="elsewhere", **env)
    assert other.returncode == 1 and "MLFLOW_EXPERIMENT_NAME=elsewhere" in other.stderr
    assert other.stderr.startswith("mlflow-gitver: error: "), other.stderr
    clash = _verify(
        repo, MLFLOW_EXPERIMENT_ID=app["experiment_id"], MLFLOW_EXPERIMENT_NAME="Default", **env
    )
    assert clash.returncode == 1, clash.stderr
    both = _verify(
        repo,
        MLFLOW_EXPERIMENT_ID=app["experiment_id"],
        MLFLOW_EXPERIMENT_NAME=app["experiment"],
        **env,
    )
    assert both.returncode == 0 and both.stderr == "", both.stderr
