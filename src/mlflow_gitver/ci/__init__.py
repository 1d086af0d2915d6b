"""CI systems: the registry of providers, detection (``--ci auto``) and the export.

Interface between ``commands/register.py`` (calls it) and the CI providers, one module
each in ``ci/providers/``, found by listing that package: a provider is imported only
when it is chosen or auto-detection asks it. ``detect`` reads only the environment
mapping it is given (and, on GitHub, the event payload file it names); ``export``
validates every value before it writes anything, so an error leaves no file half-written.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from mlflow_gitver.ci import common, providers
from mlflow_gitver.ci import dotenv as _dotenv
from mlflow_gitver.ci.common import TAG_PREFIX, strip_userinfo
from mlflow_gitver.ci.providers import Exports, Provider, Write
from mlflow_gitver.ci.summary import markdown as summary_markdown
from mlflow_gitver.errors import EXIT_USAGE, GitverError

__all__ = [
    "TAG_PREFIX",
    "CiContext",
    "choices",
    "detect",
    "export",
    "names",
    "provider",
    "summary_markdown",
]


@dataclass(frozen=True)
class CiContext:
    provider: str  # a provider's name (see names()) or "none"
    branch: str | None = None  # the branch CI built, for when HEAD is detached
    tags: dict[str, str] = field(default_factory=dict)  # mlflow_gitver.ci.* tags


def names() -> tuple[str, ...]:
    """Every provider's name (its module's), sorted, without importing any of them."""
    found = pkgutil.iter_modules(providers.__path__)
    return tuple(sorted(m.name for m in found if not m.name.startswith("_")))


def choices() -> tuple[str, ...]:
    """What ``--ci`` accepts."""
    return ("auto", *names(), "none")


def provider(name: str) -> Provider:
    """The provider named ``name`` (one of names())."""
    if name not in names():  # never import a module the user named that is not ours
        raise GitverError(
            f"unknown CI system {name!r}; choose one of {', '.join(choices())}", EXIT_USAGE
        )
    declared = importlib.import_module(f"{providers.__name__}.{name}").PROVIDER
    if not isinstance(declared, Provider) or declared.name != name:
        raise TypeError(f"{providers.__name__}.{name}.PROVIDER must be Provider({name!r}, ...)")
    return declared


def auto(environ: Mapping[str, str]) -> str:
    """The provider the environment says we run in; a bare ``CI=true`` is "none"."""
    # Specific providers first: a loose (generic) one must not shadow them.
    for p in sorted((provider(n) for n in names()), key=lambda p: p.generic):
        if p.active(environ):
            return p.name
    return "none"


def detect(choice: str | None, environ: Mapping[str, str]) -> CiContext:
    """The CI context for ``--ci CHOICE`` (None means auto: detect from ``environ``)."""
    name = auto(environ) if choice in (None, "auto") else choice
    if name == "none":
        return CiContext("none")
    branch, tags = provider(str(name)).detect(environ)
    return CiContext(str(name), branch, tags)


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

    ``dotenv`` (``--dotenv FILE``) also writes the dotenv file under any provider; some
    (GitLab, Buildkite, Jenkins) write it by default (``mlflow-gitver.env``). Setting
    ``MLFLOW_GITVER_EXPORT_ENV=false`` keeps ``env_vars`` out of GitHub's ``GITHUB_ENV``;
    ``MLFLOW_GITVER_SUMMARY=false`` skips the job summary.
    """
    # A tracking URI with user:password@ must not travel into CI files through a URL.
    exports = Exports(
        outputs={k: strip_userinfo(v) for k, v in outputs.items()},
        env_vars={k: strip_userinfo(v) for k, v in env_vars.items()},
        summary=strip_userinfo(summary) if summary is not None else None,
        environ=environ,
    )
    chosen = None if ctx.provider == "none" else provider(ctx.provider)
    if dotenv is None and chosen is not None and chosen.dotenv_by_default:
        dotenv = _dotenv.DEFAULT_PATH
    # Build (and so validate) everything before the first write.
    writes: list[Write] = []
    if dotenv is not None:
        writes.append(partial(common.atomic_write, dotenv, _dotenv.render(exports.values, dotenv)))
    if chosen is not None:
        writes += chosen.plan(exports)
    for write in writes:
        write()
