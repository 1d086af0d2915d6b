from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from mlflow_gitver import ci
from mlflow_gitver.errors import GitverError
from testing.ci import run_cli

CIRCLE = {
    "CIRCLECI": "true",
    "CI": "true",
    "CIRCLE_BUILD_URL": "https://circleci.com/gh/o/app/12",
    "CIRCLE_WORKFLOW_ID": "wf-1",
    "CIRCLE_JOB": "version",
    "CIRCLE_BRANCH": "feature/x",
    "CIRCLE_USERNAME": "dev",
}


CIRCLE_PR_URL = "https://github.com/o/app/pull/31"


def test_detect() -> None:
    ctx = ci.detect(None, CIRCLE)
    assert ctx.provider == "circleci" and ctx.branch == "feature/x"
    assert ctx.tags["mlflow_gitver.ci.run_url"] == CIRCLE["CIRCLE_BUILD_URL"]
    assert ctx.tags["mlflow_gitver.ci.ref"] == "feature/x"
    assert "mlflow_gitver.ci.pr_number" not in ctx.tags
    pr = dict(CIRCLE, CIRCLE_PULL_REQUEST=CIRCLE_PR_URL)
    assert ci.detect(None, pr).tags["mlflow_gitver.ci.pr_number"] == "31"
    assert ci.detect(None, pr).tags["mlflow_gitver.ci.pr_url"] == CIRCLE_PR_URL


def test_exports_are_shell_quoted(tmp_path: Path) -> None:
    bash_env = tmp_path / "bash_env"
    bash_env.write_text("export EARLIER=1\n")
    marker = tmp_path / "marker"
    value = f"$(touch {marker})`touch {marker}`'\"\nEVIL=1 %"
    ci.export(
        ci.CiContext("circleci"),
        outputs={"model-name": value},
        env_vars={"MLFLOW_ACTIVE_MODEL_ID": "m-1"},
        summary=None,
        dotenv=None,
        environ={"BASH_ENV": str(bash_env)},
    )
    out = subprocess.run(
        ["bash", "-c", '. "$1"; printf "%s\\0" "$EARLIER" "$MLFLOW_ACTIVE_MODEL_ID" '
         '"$MLFLOW_GITVER_MODEL_NAME" "${EVIL-unset}"', "sh", str(bash_env)],
        capture_output=True, check=True,
    ).stdout  # fmt: skip
    assert out.split(b"\0")[:-1] == [b"1", b"m-1", value.encode(), b"unset"]
    assert not marker.exists()


def test_bash_env_required(tmp_path: Path) -> None:
    with pytest.raises(GitverError, match="BASH_ENV"):
        ci.export(
            ci.CiContext("circleci"),
            outputs={},
            env_vars={"A": "1"},
            summary=None,
            dotenv=None,
            environ={},
        )


@pytest.mark.server
def test_register_appends_to_bash_env(app_repo: Path, server_url: str, tmp_path: Path) -> None:
    bash_env = tmp_path / "bash_env"
    bash_env.write_text("")
    r = run_cli(app_repo, server_url, dict(CIRCLE, BASH_ENV=str(bash_env)))
    assert r.returncode == 0, r.stderr
    lines = bash_env.read_text().splitlines()
    assert [line.split("=", 1)[0] for line in lines] == [
        "export MLFLOW_ACTIVE_MODEL_ID",
        "export MLFLOW_EXPERIMENT_ID",
        "export MLFLOW_GITVER_MODEL_ID",
        "export MLFLOW_GITVER_MODEL_NAME",
        "export MLFLOW_GITVER_VERSION_ID",
        "export MLFLOW_GITVER_COMMIT",
        "export MLFLOW_GITVER_DIRTY",
        "export MLFLOW_GITVER_EXPERIMENT_ID",
        "export MLFLOW_GITVER_MODEL_URL",
    ]
    assert not (app_repo / "mlflow-gitver.env").exists()
