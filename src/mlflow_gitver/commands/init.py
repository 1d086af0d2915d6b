"""Placeholder: being written in this session (see issues)."""

from __future__ import annotations

from pathlib import Path

from mlflow_gitver.errors import EXIT_FAILURE, GitverError


def run(repo_arg: Path | None, *, name: str | None) -> int:
    raise GitverError("'init' is not implemented yet", EXIT_FAILURE)
