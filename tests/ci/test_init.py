"""ci.detect under --ci auto, and the choices."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlflow_gitver import ci
from mlflow_gitver.errors import GitverError


@pytest.mark.parametrize(
    ("environ", "provider"),
    [
        ({"GITHUB_ACTIONS": "true"}, "github"),
        ({"GITLAB_CI": "true"}, "gitlab"),
        ({"TF_BUILD": "True"}, "azure"),
        ({"CIRCLECI": "true"}, "circleci"),
        ({"BUILDKITE": "true"}, "buildkite"),
        ({"JENKINS_URL": "https://j/"}, "jenkins"),
        ({"BUILD_URL": "https://j/job/x/1/", "JOB_NAME": "x"}, "jenkins"),
        ({"CI": "true"}, "none"),
        ({}, "none"),
        ({"GITHUB_ACTIONS": "false"}, "none"),
    ],
)
def test_auto(environ: dict[str, str], provider: str) -> None:
    assert ci.detect(None, environ).provider == provider
    assert ci.detect("auto", environ).provider == provider


def test_none_has_no_tags_and_exports_nothing(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.write_text("")
    environ = {"GITHUB_ACTIONS": "true", "GITHUB_REF_NAME": "x", "GITHUB_OUTPUT": str(out)}
    ctx = ci.detect("none", environ)
    assert ctx == ci.CiContext("none")
    ci.export(
        ctx,
        outputs={"model-id": "m-1"},
        env_vars={"MLFLOW_ACTIVE_MODEL_ID": "m-1"},
        summary="s",
        dotenv=None,
        environ=environ,
    )
    assert out.read_text() == ""
    assert not Path("mlflow-gitver.env").exists()  # the test's cwd is a fresh temp dir


def test_explicit_choice_wins() -> None:
    assert ci.detect("gitlab", {"GITHUB_ACTIONS": "true"}).provider == "gitlab"


def test_unknown_choice() -> None:
    with pytest.raises(GitverError, match="unknown CI system"):
        ci.detect("travis", {})


def test_summary_markdown_escapes() -> None:
    md = ci.summary_markdown(
        {"model-id": "m-1", "model-name": "a|b[x](y)<img>", "model-url": "http://h/#/m-1"}
    )
    assert "[a\\|b\\[x\\]\\(y\\)\\<img\\>](<http://h/#/m-1>)" in md
    assert "| Model ID | m\\-1 |" in md
