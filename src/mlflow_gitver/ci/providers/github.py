"""GitHub Actions: run facts from ``GITHUB_*``; exports through the environment files.

The files are GitHub's protocol, so we append to them: ``NAME=value`` lines to
``$GITHUB_ENV`` (later steps) and ``$GITHUB_OUTPUT`` (step outputs), Markdown to
``$GITHUB_STEP_SUMMARY``. A value with CR or LF in a single-line write would start a
new variable (CVE-2022-35954): refused. A multi-line output uses ``NAME<<DELIM`` with a
random delimiter that is checked not to occur in the value.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Mapping
from functools import partial
from pathlib import Path
from typing import Any

from mlflow_gitver.ci import common
from mlflow_gitver.ci.common import ENV_NAME, OUTPUT_NAME, check_name, check_single_line, get
from mlflow_gitver.ci.providers import Exports, Provider, Write
from mlflow_gitver.errors import EXIT_USAGE, GitverError

_PR_REF = re.compile(r"refs/pull/(\d+)/(?:merge|head)\Z")
_PR_EVENTS = ("pull_request", "pull_request_target", "pull_request_review")


def _event(environ: Mapping[str, str]) -> dict[str, Any]:
    """The event payload, or {} when it is missing or unreadable (it is only extra facts)."""
    path = environ.get("GITHUB_EVENT_PATH")
    if not path:
        return {}
    try:
        data = json.loads(Path(path).read_bytes())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def detect(environ: Mapping[str, str]) -> tuple[str | None, dict[str, str]]:
    server = get(environ, "GITHUB_SERVER_URL") or "https://github.com"
    repo, run_id = get(environ, "GITHUB_REPOSITORY"), get(environ, "GITHUB_RUN_ID")
    run_url = f"{server.rstrip('/')}/{repo}/actions/runs/{run_id}" if repo and run_id else None
    event = get(environ, "GITHUB_EVENT_NAME")
    ref = get(environ, "GITHUB_REF")
    pr_number = head_sha = None
    if event in _PR_EVENTS:
        pr = _event(environ).get("pull_request")
        pr = pr if isinstance(pr, dict) else {}
        m = _PR_REF.match(ref or "")
        number = pr.get("number")
        pr_number = m.group(1) if m else (str(number) if isinstance(number, int) else None)
        head = pr.get("head")
        sha = head.get("sha") if isinstance(head, dict) else None
        head_sha = sha if isinstance(sha, str) and re.fullmatch(r"[0-9a-f]{40,64}", sha) else None
    # On pull_request GITHUB_HEAD_REF is the PR's branch; GITHUB_REF_NAME would be "N/merge".
    branch = get(environ, "GITHUB_HEAD_REF")
    if branch is None and environ.get("GITHUB_REF_TYPE") == "branch":
        branch = get(environ, "GITHUB_REF_NAME")
    tags = common.make_tags(
        provider="github",
        run_url=run_url,
        workflow=get(environ, "GITHUB_WORKFLOW"),
        event=event,
        ref=ref,
        actor=get(environ, "GITHUB_ACTOR"),
        run_attempt=get(environ, "GITHUB_RUN_ATTEMPT"),
        pr_number=pr_number,
        pr_url=f"{server.rstrip('/')}/{repo}/pull/{pr_number}" if repo and pr_number else None,
        head_sha=head_sha,
    )
    return branch, tags


def _delimiter(value: str) -> str:
    while True:
        delim = f"ghadelimiter_{secrets.token_hex(16)}"
        if delim not in value:  # 2**-128 per try, but it must be impossible, not unlikely
            return delim


def line(name: str, value: str, where: str, pattern: re.Pattern[str] = ENV_NAME) -> str:
    """A single-line ``NAME=value`` write; refuses CR/LF."""
    check_name(name, pattern, where)
    check_single_line(name, value, where)
    return f"{name}={value}\n"


def block(name: str, value: str, where: str, pattern: re.Pattern[str] = ENV_NAME) -> str:
    """A multi-line ``NAME<<DELIM`` write with a random delimiter not found in ``value``."""
    check_name(name, pattern, where)
    if "\0" in value:
        raise GitverError(f"cannot write {name} to {where}: its value contains NUL", EXIT_USAGE)
    delim = _delimiter(value)
    return f"{name}<<{delim}\n{value}\n{delim}\n"


def _file(environ: Mapping[str, str], var: str) -> Path:
    path = environ.get(var)
    if not path:
        raise GitverError(
            f"{var} is not set: --ci github writes GitHub's step files and works only inside "
            f"a GitHub Actions step; use --ci none elsewhere",
            EXIT_USAGE,
        )
    return Path(path)


def plan(exports: Exports) -> list[Write]:
    """The appends to make, built (and so validated) before anything is written."""
    environ = exports.environ
    appends: list[tuple[Path, str]] = []
    if exports.env_vars and common.enabled(environ, common.EXPORT_ENV_VAR):
        text = "".join(line(k, v, "GITHUB_ENV") for k, v in exports.env_vars.items())
        appends.append((_file(environ, "GITHUB_ENV"), text))
    if exports.outputs:
        text = "".join(
            block(k, v, "GITHUB_OUTPUT", OUTPUT_NAME)
            if ("\n" in v or "\r" in v)
            else line(k, v, "GITHUB_OUTPUT", OUTPUT_NAME)
            for k, v in exports.outputs.items()
        )
        appends.append((_file(environ, "GITHUB_OUTPUT"), text))
    summary = exports.summary
    if summary and common.enabled(environ, common.SUMMARY_VAR):
        path = environ.get("GITHUB_STEP_SUMMARY")
        if path:  # absent on GitHub Enterprise Server < 3.6: the summary is a nicety
            appends.append((Path(path), summary if summary.endswith("\n") else summary + "\n"))
    return [partial(common.append, path, text) for path, text in appends]


PROVIDER = Provider(
    name="github",
    active=lambda environ: environ.get("GITHUB_ACTIONS") == "true",
    detect=detect,
    plan=plan,
)
