"""Fixtures for the CI tests."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from testing.repos import commit_all, write


@pytest.fixture
def app_repo(repo: Path) -> Path:
    """The ``repo`` fixture with a config naming a fresh experiment."""
    write(repo / ".mlflow-gitver.yaml", f"name: app\nexperiment: ci-{uuid.uuid4().hex[:12]}\n")
    commit_all(repo, "config")
    return repo
