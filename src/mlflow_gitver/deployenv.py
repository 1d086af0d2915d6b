"""Which commit the CI system or deploy platform says it is building or deploying:
one table of the variables each one sets, read in this order.

A deploy bundle usually has no ``.git``: these variables are then the only
word on which code runs.  Only a full commit hash counts (Buildkite may say
``HEAD``; a short hash could name several commits).
"""

from __future__ import annotations

from collections.abc import Mapping

from mlflow_gitver.identity import parse_version_id

# (platform, variable); the README's table is this one.
COMMIT_VARIABLES = (
    ("GitHub Actions", "GITHUB_SHA"),
    ("GitLab CI", "CI_COMMIT_SHA"),
    ("Azure Pipelines", "BUILD_SOURCEVERSION"),
    ("CircleCI", "CIRCLE_SHA1"),
    ("Buildkite", "BUILDKITE_COMMIT"),
    ("Jenkins (git plugin)", "GIT_COMMIT"),
    ("Vercel", "VERCEL_GIT_COMMIT_SHA"),
    ("Render", "RENDER_GIT_COMMIT"),
    ("Heroku (build)", "SOURCE_VERSION"),
    ("Heroku (dyno metadata)", "HEROKU_SLUG_COMMIT"),
    ("Cloudflare Pages", "CF_PAGES_COMMIT_SHA"),
    ("Netlify", "COMMIT_REF"),
)


def deployed_commit(environ: Mapping[str, str]) -> tuple[str, str] | None:
    """(variable, full commit hash) from the first variable of the table set to a
    full hash; None when none is."""
    for _platform, var in COMMIT_VARIABLES:
        value = environ.get(var, "").strip().lower()
        parsed = parse_version_id(value) if value else None
        if parsed is not None and parsed[1] is None:
            return var, value
    return None


def disagreeing(environ: Mapping[str, str], chosen: tuple[str, str]) -> list[str]:
    """Warnings for the other variables of the table that name another full commit
    than ``chosen`` (variable, hash): two platforms' leftovers in one environment (a
    CI job that builds a Render image) must not pass unnoticed."""
    var, commit = chosen
    seen: dict[str, list[str]] = {}
    for _platform, other in COMMIT_VARIABLES:
        value = environ.get(other, "").strip().lower()
        parsed = parse_version_id(value) if value and other != var else None
        if parsed is not None and parsed[1] is None and value != commit:
            seen.setdefault(value, []).append(other)
    return [
        f"{', '.join(names)} {'names' if len(names) == 1 else 'name'} commit {value[:12]}, "
        f"not {var}'s {commit[:12]}; {var} is used (the first in the README's table): "
        "pass --commit to choose"
        for value, names in seen.items()
    ]
