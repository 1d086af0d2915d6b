"""CI systems: what they tell us (branch, run facts as tags) and how we export.

Interface shared by `commands/register.py` (calls it) and the CI providers (one small
module each). ``detect`` reads only the environment mapping it is given (and, on
GitHub, the event payload file it names); ``export`` validates every value before it
writes anything, so an error leaves no file half-written.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from mlflow_gitver.ci import azure, buildkite, circleci, common, github, gitlab, jenkins
from mlflow_gitver.ci import dotenv as _dotenv
from mlflow_gitver.ci.common import TAG_PREFIX, env_name_of_output, strip_userinfo
from mlflow_gitver.ci.summary import markdown as summary_markdown
from mlflow_gitver.errors import EXIT_USAGE, GitverError

__all__ = [
    "PROVIDERS",
    "TAG_PREFIX",
    "CiContext",
    "detect",
    "dotenv_values",
    "export",
    "summary_markdown",
]

PROVIDERS = ("github", "gitlab", "azure", "circleci", "buildkite", "jenkins", "none")

_Detector = Callable[[Mapping[str, str]], "tuple[str | None, dict[str, str]]"]
_DETECT: dict[str, _Detector] = {
    "github": github.detect,
    "gitlab": gitlab.detect,
    "azure": azure.detect,
    "circleci": circleci.detect,
    "buildkite": buildkite.detect,
    "jenkins": jenkins.detect,
}
# Providers whose export is the dotenv file even without --dotenv.
_DOTENV_BY_DEFAULT = ("gitlab", "buildkite", "jenkins")


@dataclass(frozen=True)
class CiContext:
    provider: str  # "github", "gitlab", "azure", "circleci", "buildkite", "jenkins" or "none"
    branch: str | None = None  # the branch CI built, for when HEAD is detached
    tags: dict[str, str] = field(default_factory=dict)  # mlflow_gitver.ci.* tags


def auto(environ: Mapping[str, str]) -> str:
    """The provider the environment says we run in; a bare ``CI=true`` is "none"."""
    if environ.get("GITHUB_ACTIONS") == "true":
        return "github"
    if environ.get("GITLAB_CI") == "true":
        return "gitlab"
    if environ.get("TF_BUILD", "").lower() == "true":  # Azure sets "True"
        return "azure"
    if environ.get("CIRCLECI") == "true":
        return "circleci"
    if environ.get("BUILDKITE") == "true":
        return "buildkite"
    if jenkins.is_jenkins(environ):
        return "jenkins"
    return "none"


def detect(choice: str | None, environ: Mapping[str, str]) -> CiContext:
    """The CI context for ``--ci CHOICE`` (None means auto: detect from ``environ``)."""
    provider = auto(environ) if choice in (None, "auto") else choice
    if provider not in PROVIDERS:
        raise GitverError(
            f"unknown CI system {choice!r}; choose one of auto, {', '.join(PROVIDERS)}",
            EXIT_USAGE,
        )
    if provider == "none":
        return CiContext("none")
    branch, tags = _DETECT[provider](environ)
    return CiContext(provider, branch, tags)


def dotenv_values(outputs: Mapping[str, str], env_vars: Mapping[str, str]) -> dict[str, str]:
    """What the dotenv file (and Buildkite meta-data, CircleCI's BASH_ENV) holds: the env
    vars, then each output as ``MLFLOW_GITVER_<OUTPUT>``."""
    values = dict(env_vars)
    for k, v in outputs.items():
        values[env_name_of_output(k)] = v
    return values


def export(
    ctx: CiContext,
    *,
    outputs: Mapping[str, str],
    env_vars: Mapping[str, str],
    summary: str | None,
    dotenv: Path | None,
    environ: Mapping[str, str],
) -> None:
    """Write ``outputs`` (step outputs: model-id, model-name, version-id, commit, dirty,
    experiment-id, model-url) and ``env_vars`` (MLFLOW_ACTIVE_MODEL_ID, ...) where the CI
    system of ``ctx`` reads them; ``summary`` is Markdown for a job summary.

    ``dotenv`` (``--dotenv FILE``) also writes the dotenv file under any provider; GitLab,
    Buildkite and Jenkins write it by default (``mlflow-gitver.env``). Setting
    ``MLFLOW_GITVER_EXPORT_ENV=false`` keeps ``env_vars`` out of GitHub's ``GITHUB_ENV``;
    ``MLFLOW_GITVER_SUMMARY=false`` skips the job summary.
    """
    # A tracking URI with user:password@ must not travel into CI files through a URL.
    outputs = {k: strip_userinfo(v) for k, v in outputs.items()}
    env_vars = {k: strip_userinfo(v) for k, v in env_vars.items()}
    summary = strip_userinfo(summary) if summary is not None else None
    provider = ctx.provider
    values = dotenv_values(outputs, env_vars)
    if dotenv is None and provider in _DOTENV_BY_DEFAULT:
        dotenv = _dotenv.DEFAULT_PATH
    # Build (and so validate) everything before the first write.
    dotenv_data = _dotenv.render(values, dotenv) if dotenv is not None else None
    appends: list[tuple[Path, str]] = []
    azure_text = ""
    if provider == "github":
        appends = github.plan(outputs=outputs, env_vars=env_vars, summary=summary, environ=environ)
    elif provider == "circleci":
        appends = circleci.plan(values, environ)
    elif provider == "azure":
        azure_text = azure.render(outputs, env_vars)
    if dotenv is not None and dotenv_data is not None:
        common.atomic_write(dotenv, dotenv_data)
    for path, text in appends:
        common.append(path, text)
    if azure_text:
        azure.emit(azure_text)
    if provider == "buildkite":
        buildkite.set_metadata(values, environ)
