"""Fixtures for end-to-end hook tests: the real pre-commit framework (or prek, lefthook,
husky's mechanism), real commits and pushes to a local bare remote, the session's real
MLflow server.

pre-commit installs a hook repository by cloning ``repo:`` at ``rev:``.  The
tree under test is not committed at every change, so ``source_repo`` is a
temporary repository holding a copy of the current working tree's package
files, committed once per session: its sha (and so pre-commit's hook
environment, built from it once, ~30 s) stays the same for every test.  prek
reads the same files: a test module that overrides the ``manager`` fixture gets
``work`` installed through it (test_prek.py); its cache is per session too.  The
helpers are in testing/hooks.py.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from testing.hooks import BIN, PRE_COMMIT, RETRY_SECONDS, Work, install_pre_commit, make_work
from testing.repos import git
from testing.source import HOOKS_DIR, SourceRepo


@pytest.fixture(scope="session")
def _prek_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("prek-home")


@pytest.fixture
def hook_env(monkeypatch: pytest.MonkeyPatch, _prek_home: Path) -> None:
    monkeypatch.setenv("MLFLOW_GITVER_RETRY_SECONDS", RETRY_SECONDS)
    # prek's cache (hook environments) is shared by the session, like pre-commit's; no
    # PREK_* setting of the machine reaches it.
    for k in list(os.environ):
        if k.startswith("PREK_"):
            monkeypatch.delenv(k)
    monkeypatch.setenv("PREK_HOME", str(_prek_home))


@pytest.fixture
def manager() -> str:
    """The hook manager ``work`` installs our hooks with (test_prek.py overrides it)."""
    return PRE_COMMIT


@pytest.fixture
def work(
    tmp_path: Path, server_url: str, source_repo: SourceRepo, hook_env: None, manager: str
) -> Iterator[Work]:
    """Our hooks installed through pre-commit (or ``manager``); one commit made (and
    registered)."""
    w = make_work(tmp_path, server_url)
    install_pre_commit(w.root, source_repo, manager=manager)
    git(w.root, "add", "-A")
    w.run("commit", "-q", "-m", "initial", check=True)
    try:
        yield w
    finally:
        w.settle()


@pytest.fixture
def plain(
    tmp_path: Path, server_url: str, hook_env: None, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Work]:
    """Our plain hooks/ scripts through core.hooksPath, mlflow-gitver on PATH."""
    monkeypatch.setenv("PATH", f"{BIN}{os.pathsep}{os.environ['PATH']}")
    w = make_work(tmp_path, server_url)
    git(w.root, "config", "core.hooksPath", str(HOOKS_DIR))
    git(w.root, "add", "-A")
    w.run("commit", "-q", "-m", "initial", check=True)
    try:
        yield w
    finally:
        w.settle()


@pytest.fixture
def scripted_git(monkeypatch: pytest.MonkeyPatch) -> None:
    """Editors that accept what git proposes, as in a script."""
    monkeypatch.setenv("GIT_EDITOR", "true")
    monkeypatch.setenv("GIT_SEQUENCE_EDITOR", "true")
