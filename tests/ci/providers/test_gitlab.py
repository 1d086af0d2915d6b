from __future__ import annotations

import re
from pathlib import Path

import pytest

from mlflow_gitver import ci
from testing.ci import run_cli

GITLAB = {
    "GITLAB_CI": "true",
    "CI": "true",
    "CI_PIPELINE_URL": "https://gitlab.example.com/g/p/-/pipelines/5",
    "CI_JOB_URL": "https://gitlab.example.com/g/p/-/jobs/9",
    "CI_PROJECT_PATH": "g/p",
    "CI_PIPELINE_SOURCE": "push",
    "CI_COMMIT_REF_NAME": "feature/x",
    "CI_COMMIT_BRANCH": "feature/x",
    "GITLAB_USER_LOGIN": "dev",
}


def test_detect_push() -> None:
    ctx = ci.detect(None, GITLAB)
    assert ctx.provider == "gitlab" and ctx.branch == "feature/x"
    assert ctx.tags == {
        "mlflow_gitver.ci.provider": "gitlab",
        "mlflow_gitver.ci.run_url": GITLAB["CI_PIPELINE_URL"],
        "mlflow_gitver.ci.job_url": GITLAB["CI_JOB_URL"],
        "mlflow_gitver.ci.workflow": "g/p",
        "mlflow_gitver.ci.event": "push",
        "mlflow_gitver.ci.ref": "feature/x",
        "mlflow_gitver.ci.actor": "dev",
    }


def test_merge_request_and_tag_pipelines() -> None:
    mr = {k: v for k, v in GITLAB.items() if k != "CI_COMMIT_BRANCH"}
    mr.update(
        CI_PIPELINE_SOURCE="merge_request_event",
        CI_MERGE_REQUEST_SOURCE_BRANCH_NAME="feature/mr",
        CI_MERGE_REQUEST_IID="12",
        CI_MERGE_REQUEST_PROJECT_URL="https://gitlab.example.com/grp/app",
    )
    ctx = ci.detect(None, mr)
    assert ctx.branch == "feature/mr"
    assert ctx.tags["mlflow_gitver.ci.pr_number"] == "12"
    assert (
        ctx.tags["mlflow_gitver.ci.pr_url"]
        == "https://gitlab.example.com/grp/app/-/merge_requests/12"
    )
    tag = {k: v for k, v in GITLAB.items() if k != "CI_COMMIT_BRANCH"}
    tag.update(CI_COMMIT_REF_NAME="v1.0", CI_COMMIT_TAG="v1.0")
    assert ci.detect(None, tag).branch is None


@pytest.mark.server
def test_register_writes_the_dotenv_report(app_repo: Path, server_url: str) -> None:
    r = run_cli(app_repo, server_url, GITLAB)
    assert r.returncode == 0, r.stderr
    text = (app_repo / "mlflow-gitver.env").read_text()
    # GitLab's format: KEY=VALUE lines, no quotes, no blank lines or comments.
    m = re.fullmatch(
        r"MLFLOW_ACTIVE_MODEL_ID=(m-[0-9a-f]+)\n"
        r"MLFLOW_EXPERIMENT_ID=(\d+)\n"
        r"MLFLOW_GITVER_MODEL_ID=\1\n"
        r"MLFLOW_GITVER_MODEL_NAME=app-git-[0-9a-f]{8}\n"
        r"MLFLOW_GITVER_VERSION_ID=([0-9a-f]{40})\n"
        r"MLFLOW_GITVER_COMMIT=\3\n"
        r"MLFLOW_GITVER_DIRTY=false\n"
        r"MLFLOW_GITVER_EXPERIMENT_ID=\2\n"
        r"MLFLOW_GITVER_MODEL_URL=http://127\.0\.0\.1:\d+/\S*\1\S*\n",
        text,
    )
    assert m, text


@pytest.mark.server
def test_dotenv_option_chooses_the_path(app_repo: Path, server_url: str, tmp_path: Path) -> None:
    target = tmp_path / "out.env"
    r = run_cli(app_repo, server_url, GITLAB, "--dotenv", str(target))
    assert r.returncode == 0, r.stderr
    assert target.read_text().startswith("MLFLOW_ACTIVE_MODEL_ID=m-")
    assert not (app_repo / "mlflow-gitver.env").exists()


@pytest.mark.server
def test_the_dotenv_file_does_not_make_the_tree_dirty(app_repo: Path, server_url: str) -> None:
    first = run_cli(app_repo, server_url, GITLAB)
    assert first.returncode == 0, first.stderr
    before = (app_repo / "mlflow-gitver.env").read_text()
    second = run_cli(app_repo, server_url, GITLAB)
    assert second.returncode == 0, second.stderr
    assert (app_repo / "mlflow-gitver.env").read_text() == before
    assert "MLFLOW_GITVER_DIRTY=false" in before
