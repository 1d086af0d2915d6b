"""Jenkins: run facts from its variables; the export is the dotenv file."""

from __future__ import annotations

from collections.abc import Mapping

from mlflow_gitver.ci import common
from mlflow_gitver.ci.common import get
from mlflow_gitver.ci.providers import Provider


def active(environ: Mapping[str, str]) -> bool:
    return bool(
        get(environ, "JENKINS_URL", "JENKINS_HOME", "HUDSON_URL")
        or (get(environ, "BUILD_URL") and get(environ, "JOB_NAME"))
    )


def detect(environ: Mapping[str, str]) -> tuple[str | None, dict[str, str]]:
    # Multibranch pipelines: BRANCH_NAME (for a PR that is "PR-N"; CHANGE_BRANCH is the
    # source branch). The Git plugin: GIT_BRANCH, usually "origin/<branch>".
    branch = get(environ, "CHANGE_BRANCH")
    if branch is None and not get(environ, "CHANGE_ID"):
        branch = get(environ, "BRANCH_NAME")
    if branch is None:
        branch = get(environ, "GIT_LOCAL_BRANCH", "GIT_BRANCH")
        if branch and branch.startswith("origin/"):
            branch = branch[len("origin/") :]
    tags = common.make_tags(
        provider="jenkins",
        run_url=get(environ, "BUILD_URL"),
        workflow=get(environ, "JOB_NAME"),
        ref=get(environ, "BRANCH_NAME", "GIT_BRANCH"),
        actor=get(environ, "BUILD_USER_ID", "CHANGE_AUTHOR"),
        pr_number=get(environ, "CHANGE_ID"),
        pr_url=get(environ, "CHANGE_URL"),
    )
    return branch, tags


PROVIDER = Provider(
    name="jenkins",
    active=active,
    detect=detect,
    dotenv_by_default=True,  # for readProperties or a shell's `source`
    generic=True,  # BUILD_URL and JOB_NAME are common names
)
