"""Azure Pipelines: run facts from its variables; ``##vso[task.setvariable]`` lines.

The agent reads logging commands from stdout, one per line. Escaping follows the task
library (azure-pipelines-task-lib ``taskcommand``) and the agent: in property values
'%' -> '%AZP25', CR -> '%0D', LF -> '%0A', ';' -> '%3B', ']' -> '%5D'; in the message
(the value) the first three. So no value can end the line or start another command.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping
from functools import partial

from mlflow_gitver.ci import common
from mlflow_gitver.ci.common import branch_of_ref, check_name, get
from mlflow_gitver.ci.providers import Exports, Provider, Write

# Azure: "letters, numbers, '.' and '_'"; we also refuse a leading digit or '.'.
VAR_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*\Z")


def escape_data(s: str) -> str:
    return s.replace("%", "%AZP25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(s: str) -> str:
    return escape_data(s).replace("]", "%5D").replace(";", "%3B")


def detect(environ: Mapping[str, str]) -> tuple[str | None, dict[str, str]]:
    collection, project = get(environ, "SYSTEM_COLLECTIONURI"), get(environ, "SYSTEM_TEAMPROJECT")
    build_id = get(environ, "BUILD_BUILDID")
    run_url = None
    if collection and project and build_id:
        run_url = f"{collection.rstrip('/')}/{project}/_build/results?buildId={build_id}"
    source_ref = get(environ, "BUILD_SOURCEBRANCH")
    pr_branch = get(environ, "SYSTEM_PULLREQUEST_SOURCEBRANCH")
    if pr_branch:
        branch: str | None = branch_of_ref(pr_branch) or pr_branch
    else:
        # BUILD_SOURCEBRANCHNAME is only the last path segment ("feature/x" -> "x").
        branch = branch_of_ref(source_ref)
        if branch is None and not source_ref:
            branch = get(environ, "BUILD_SOURCEBRANCHNAME")
    tags = common.make_tags(
        provider="azure",
        run_url=run_url,
        workflow=get(environ, "BUILD_DEFINITIONNAME"),
        event=get(environ, "BUILD_REASON"),
        ref=source_ref,
        actor=get(environ, "BUILD_REQUESTEDFOR"),
        run_attempt=get(environ, "SYSTEM_JOBATTEMPT"),
        pr_number=get(
            environ, "SYSTEM_PULLREQUEST_PULLREQUESTNUMBER", "SYSTEM_PULLREQUEST_PULLREQUESTID"
        ),
    )
    return branch, tags


def setvariable(name: str, value: str, *, is_output: bool) -> str:
    check_name(name, VAR_NAME, "Azure Pipelines variable")
    props = f"variable={escape_property(name)}" + (";isOutput=true" if is_output else "")
    return f"##vso[task.setvariable {props}]{escape_data(value)}\n"


def render(outputs: Mapping[str, str], env_vars: Mapping[str, str]) -> str:
    """Env vars without isOutput (later steps of this job see them as variables); outputs
    with isOutput=true (later jobs: ``dependencies.<job>.outputs['<step>.model_id']``)."""
    lines = [setvariable(k, v, is_output=False) for k, v in env_vars.items()]
    lines += [setvariable(k.replace("-", "_"), v, is_output=True) for k, v in outputs.items()]
    return "".join(lines)


def emit(text: str) -> None:
    # The agent reads the logging commands from our stdout.
    sys.stdout.write(text)
    sys.stdout.flush()


def plan(exports: Exports) -> list[Write]:
    text = render(exports.outputs, exports.env_vars)
    return [partial(emit, text)] if text else []


PROVIDER = Provider(
    name="azure",
    active=lambda environ: environ.get("TF_BUILD", "").lower() == "true",  # it sets "True"
    detect=detect,
    plan=plan,
)
