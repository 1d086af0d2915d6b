"""Buildkite: run facts from ``BUILDKITE_*``; build meta-data, plus the dotenv file.

``buildkite-agent meta-data set KEY`` with the value on stdin (a documented form): the
value is never parsed as an option or seen by a shell. Buildkite refuses empty values,
so an empty output (no model URL) is not set.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from functools import partial

from mlflow_gitver import proc
from mlflow_gitver.ci import common
from mlflow_gitver.ci.common import get
from mlflow_gitver.ci.providers import Exports, Provider, Write

AGENT = "buildkite-agent"


def detect(environ: Mapping[str, str]) -> tuple[str | None, dict[str, str]]:
    pr = get(environ, "BUILDKITE_PULL_REQUEST")
    retries = get(environ, "BUILDKITE_RETRY_COUNT")
    tags = common.make_tags(
        provider="buildkite",
        run_url=get(environ, "BUILDKITE_BUILD_URL"),
        workflow=get(environ, "BUILDKITE_PIPELINE_SLUG"),
        event=get(environ, "BUILDKITE_SOURCE"),
        ref=get(environ, "BUILDKITE_TAG", "BUILDKITE_BRANCH"),
        actor=get(environ, "BUILDKITE_BUILD_CREATOR"),
        run_attempt=str(int(retries) + 1) if retries and retries.isdigit() else None,
        pr_number=pr if pr and pr != "false" else None,
    )
    return get(environ, "BUILDKITE_BRANCH"), tags


def agent_path(environ: Mapping[str, str]) -> str | None:
    return shutil.which(AGENT, path=environ.get("PATH"))


def set_metadata(values: Mapping[str, str], environ: Mapping[str, str]) -> None:
    agent = agent_path(environ)
    if agent is None:
        return
    for key, value in values.items():
        if value.strip():
            proc.run([agent, "meta-data", "set", key], env=environ, input=value.encode())


def plan(exports: Exports) -> list[Write]:
    return [partial(set_metadata, exports.values, exports.environ)]


PROVIDER = Provider(
    name="buildkite",
    active=lambda environ: environ.get("BUILDKITE") == "true",
    detect=detect,
    plan=plan,
    dotenv_by_default=True,
)
