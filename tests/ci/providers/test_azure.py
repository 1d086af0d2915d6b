from __future__ import annotations

import re
from pathlib import Path

import pytest

from mlflow_gitver import ci
from mlflow_gitver.ci.providers import azure
from mlflow_gitver.errors import GitverError
from testing.ci import run_cli

AZURE = {
    "TF_BUILD": "True",
    "SYSTEM_COLLECTIONURI": "https://dev.azure.com/org/",
    "SYSTEM_TEAMPROJECT": "proj",
    "BUILD_BUILDID": "77",
    "BUILD_DEFINITIONNAME": "app-ci",
    "BUILD_REASON": "IndividualCI",
    "BUILD_SOURCEBRANCH": "refs/heads/feature/x",
    "BUILD_SOURCEBRANCHNAME": "x",
    "BUILD_REQUESTEDFOR": "Dev One",
    "SYSTEM_JOBATTEMPT": "1",
}


def test_detect() -> None:
    ctx = ci.detect(None, AZURE)
    # BUILD_SOURCEBRANCHNAME is only the last segment: the branch comes from the ref.
    assert ctx.provider == "azure" and ctx.branch == "feature/x"
    assert ctx.tags == {
        "mlflow_gitver.ci.provider": "azure",
        "mlflow_gitver.ci.run_url": "https://dev.azure.com/org/proj/_build/results?buildId=77",
        "mlflow_gitver.ci.workflow": "app-ci",
        "mlflow_gitver.ci.event": "IndividualCI",
        "mlflow_gitver.ci.ref": "refs/heads/feature/x",
        "mlflow_gitver.ci.actor": "Dev One",
        "mlflow_gitver.ci.run_attempt": "1",
    }


def test_pull_request_branch() -> None:
    env = dict(
        AZURE,
        BUILD_REASON="PullRequest",
        BUILD_SOURCEBRANCH="refs/pull/3/merge",
        SYSTEM_PULLREQUEST_SOURCEBRANCH="refs/heads/feature/pr",
        SYSTEM_PULLREQUEST_PULLREQUESTID="3",
    )
    ctx = ci.detect(None, env)
    assert ctx.branch == "feature/pr" and ctx.tags["mlflow_gitver.ci.pr_number"] == "3"


def test_escaping() -> None:
    line = azure.setvariable("model_name", "a%b\r\nc;d]e", is_output=True)
    assert line == "##vso[task.setvariable variable=model_name;isOutput=true]a%AZP25b%0D%0Ac;d]e\n"
    assert azure.escape_property("a;b]c%\n") == "a%3Bb%5Dc%AZP25%0A"
    with pytest.raises(GitverError):
        azure.setvariable("bad;name]", "v", is_output=False)


@pytest.mark.server
def test_register_prints_setvariable_lines(app_repo: Path, server_url: str) -> None:
    r = run_cli(app_repo, server_url, AZURE)
    assert r.returncode == 0, r.stderr
    vso = [line for line in r.stdout.splitlines() if "##vso[" in line]
    pattern = r"##vso\[task\.setvariable variable={};isOutput=true\]{}"
    expected = [
        r"##vso\[task\.setvariable variable=MLFLOW_ACTIVE_MODEL_ID\](m-[0-9a-f]+)",
        r"##vso\[task\.setvariable variable=MLFLOW_EXPERIMENT_ID\]\d+",
        pattern.format("model_id", "m-[0-9a-f]+"),
        pattern.format("model_name", r"app-git-[0-9a-f]{8}"),
        pattern.format("version_id", "[0-9a-f]{40}"),
        pattern.format("commit", "[0-9a-f]{40}"),
        pattern.format("dirty", "false"),
        pattern.format("experiment_id", r"\d+"),
        pattern.format("model_url", r"http://127\.0\.0\.1:\d+/\S+"),
    ]
    assert len(vso) == len(expected), vso
    for line, regex in zip(vso, expected, strict=True):
        assert re.fullmatch(regex, line), line
