"""CircleCI: run facts from ``CIRCLE_*``; ``export`` lines appended to ``$BASH_ENV``.

CircleCI sources ``$BASH_ENV`` before every later step of the job, so each value is
shell-quoted (``shlex.quote``): whatever it holds stays one literal word.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from functools import partial
from pathlib import Path

from mlflow_gitver.ci import common
from mlflow_gitver.ci.common import ENV_NAME, check_name, get
from mlflow_gitver.ci.providers import Exports, Provider, Write
from mlflow_gitver.errors import EXIT_USAGE, GitverError


def _pr_from_url(environ: Mapping[str, str]) -> str | None:
    # CIRCLE_PR_NUMBER is set for PRs from forks only; CIRCLE_PULL_REQUEST is the PR's URL.
    m = re.search(r"/pull/(\d+)$", get(environ, "CIRCLE_PULL_REQUEST") or "")
    return m.group(1) if m else None


def detect(environ: Mapping[str, str]) -> tuple[str | None, dict[str, str]]:
    tags = common.make_tags(
        provider="circleci",
        run_url=get(environ, "CIRCLE_BUILD_URL"),
        workflow=get(environ, "CIRCLE_WORKFLOW_ID"),
        job=get(environ, "CIRCLE_JOB"),
        ref=get(environ, "CIRCLE_BRANCH", "CIRCLE_TAG"),
        actor=get(environ, "CIRCLE_USERNAME"),
        pr_number=get(environ, "CIRCLE_PR_NUMBER") or _pr_from_url(environ),
        pr_url=get(environ, "CIRCLE_PULL_REQUEST"),
    )
    return get(environ, "CIRCLE_BRANCH"), tags


def render(values: Mapping[str, str]) -> str:
    out = []
    for name, value in values.items():
        check_name(name, ENV_NAME, "environment variable")
        if "\0" in value:
            raise GitverError(f"cannot export {name}: its value contains NUL", EXIT_USAGE)
        out.append(f"export {name}={shlex.quote(value)}\n")
    return "".join(out)


def plan(exports: Exports) -> list[Write]:
    path = exports.environ.get("BASH_ENV")
    if not path:
        raise GitverError(
            "BASH_ENV is not set: --ci circleci appends to the file CircleCI names there; "
            "run inside a CircleCI job or use --ci none",
            EXIT_USAGE,
        )
    text = render(exports.values)
    return [partial(common.append, Path(path), text)] if text else []


PROVIDER = Provider(
    name="circleci",
    active=lambda environ: environ.get("CIRCLECI") == "true",
    detect=detect,
    plan=plan,
)
