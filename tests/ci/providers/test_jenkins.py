from __future__ import annotations

from pathlib import Path

import pytest

from mlflow_gitver import ci
from testing.ci import run_cli

JENKINS = {
    "JENKINS_URL": "https://jenkins.example.com/",
    "BUILD_URL": "https://jenkins.example.com/job/app/job/main/3/",
    "JOB_NAME": "app/main",
    "BRANCH_NAME": "main",
}


def test_detect() -> None:
    ctx = ci.detect(None, JENKINS)
    assert ctx.provider == "jenkins" and ctx.branch == "main"
    assert ctx.tags == {
        "mlflow_gitver.ci.provider": "jenkins",
        "mlflow_gitver.ci.run_url": JENKINS["BUILD_URL"],
        "mlflow_gitver.ci.workflow": "app/main",
        "mlflow_gitver.ci.ref": "main",
    }


def test_branch_sources() -> None:
    url = "https://git.example.com/o/app/pull/4"
    pr = dict(JENKINS, BRANCH_NAME="PR-4", CHANGE_ID="4", CHANGE_BRANCH="feature/y", CHANGE_URL=url)
    ctx = ci.detect(None, pr)
    assert ctx.branch == "feature/y" and ctx.tags["mlflow_gitver.ci.pr_number"] == "4"
    assert ctx.tags["mlflow_gitver.ci.pr_url"] == url
    git_plugin = {"JENKINS_HOME": "/var/jenkins", "GIT_BRANCH": "origin/feature/z"}
    assert ci.detect(None, git_plugin).branch == "feature/z"


@pytest.mark.server
def test_register_writes_the_dotenv_file(app_repo: Path, server_url: str) -> None:
    r = run_cli(app_repo, server_url, JENKINS)
    assert r.returncode == 0, r.stderr
    lines = (app_repo / "mlflow-gitver.env").read_text().splitlines()
    assert [line.split("=", 1)[0] for line in lines] == [
        "MLFLOW_ACTIVE_MODEL_ID",
        "MLFLOW_EXPERIMENT_ID",
        "MLFLOW_GITVER_MODEL_ID",
        "MLFLOW_GITVER_MODEL_NAME",
        "MLFLOW_GITVER_VERSION_ID",
        "MLFLOW_GITVER_COMMIT",
        "MLFLOW_GITVER_DIRTY",
        "MLFLOW_GITVER_EXPERIMENT_ID",
        "MLFLOW_GITVER_MODEL_URL",
    ]
