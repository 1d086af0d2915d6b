"""What a test's process sees: none of the machine's CI, git or MLflow settings, its own HOME."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Variables of the machine running the tests (CI sets several) that must not
# leak into what the code under test sees.
_CLEARED_PREFIXES = (
    "MLFLOW_",
    "GITHUB_",
    "GITLAB_",
    "CI_",
    "CIRCLE",
    "BUILDKITE",
    "SYSTEM_",
    "BUILD_",
    "TF_BUILD",
    "JENKINS",
    "PRE_COMMIT",
    "GIT_",
    "RUNNER_",
)
_CLEARED_NAMES = ("CI", "AGENT_ID", "BASH_ENV", "JOB_NAME", "BUILD_URL", "NO_COLOR")


def isolate(monkeypatch: pytest.MonkeyPatch, home: Path, cwd: Path, pre_commit_home: Path) -> None:
    """Clear the machine's settings; a fresh HOME and cwd; git identities fixed."""
    for k in list(os.environ):
        if k in _CLEARED_NAMES or k.startswith(_CLEARED_PREFIXES):
            monkeypatch.delenv(k)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(home / ".gitconfig"))
    monkeypatch.setenv("GIT_AUTHOR_NAME", "Test Author")
    monkeypatch.setenv("GIT_AUTHOR_EMAIL", "author@example.com")
    monkeypatch.setenv("GIT_COMMITTER_NAME", "Test Committer")
    monkeypatch.setenv("GIT_COMMITTER_EMAIL", "committer@example.com")
    monkeypatch.setenv("GIT_TEMPLATE_DIR", "")
    # MLflow must never fall back to ./mlruns or ./mlflow.db of the test runner's cwd.
    monkeypatch.chdir(cwd)
    # pre-commit's cache is shared by the session, so hook environments are built once.
    monkeypatch.setenv("PRE_COMMIT_HOME", str(pre_commit_home))


def unmeasured(monkeypatch: pytest.MonkeyPatch) -> None:
    """Children started from now on are not measured by coverage.

    Coverage starts in a child from its .pth file when COVERAGE_PROCESS_CONFIG (set
    by ``patch = ["subprocess"]``) or COVERAGE_PROCESS_START is in the environment,
    and then imports its own modules (json, hashlib, dataclasses, sqlite3, ...) before
    the child's program runs: a child whose imports a test counts must not have it."""
    for k in list(os.environ):
        if k.startswith(("COVERAGE_PROCESS_", "COV_CORE_")):
            monkeypatch.delenv(k)
