"""GitLab CI: run facts from ``CI_*``; the export is the dotenv file (``reports: dotenv``)."""

from __future__ import annotations

from collections.abc import Mapping

from mlflow_gitver.ci import common
from mlflow_gitver.ci.common import get
from mlflow_gitver.ci.providers import Provider


def detect(environ: Mapping[str, str]) -> tuple[str | None, dict[str, str]]:
    # In merge request pipelines CI_COMMIT_BRANCH is unset and CI_COMMIT_REF_NAME is the
    # source branch; in tag pipelines CI_COMMIT_REF_NAME is the tag, not a branch.
    branch = get(environ, "CI_MERGE_REQUEST_SOURCE_BRANCH_NAME", "CI_COMMIT_BRANCH")
    if branch is None and not get(environ, "CI_COMMIT_TAG"):
        branch = get(environ, "CI_COMMIT_REF_NAME")
    iid = get(environ, "CI_MERGE_REQUEST_IID")
    project = get(environ, "CI_MERGE_REQUEST_PROJECT_URL", "CI_PROJECT_URL")
    tags = common.make_tags(
        provider="gitlab",
        run_url=get(environ, "CI_PIPELINE_URL"),
        job_url=get(environ, "CI_JOB_URL"),
        workflow=get(environ, "CI_PIPELINE_NAME", "CI_PROJECT_PATH"),
        event=get(environ, "CI_PIPELINE_SOURCE"),
        ref=get(environ, "CI_COMMIT_REF_NAME"),
        actor=get(environ, "GITLAB_USER_LOGIN"),
        pr_number=iid,
        pr_url=f"{project.rstrip('/')}/-/merge_requests/{iid}" if project and iid else None,
    )
    return branch, tags


PROVIDER = Provider(
    name="gitlab",
    active=lambda environ: environ.get("GITLAB_CI") == "true",
    detect=detect,
    dotenv_by_default=True,  # the job's reports: dotenv
)
