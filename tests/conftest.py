"""Shared fixtures: isolated git, real repositories, and one real MLflow server.

Nothing here is mocked: repositories are real ``git init`` repos in temp dirs,
and the server is a real ``mlflow server`` on 127.0.0.1, started once per test
session (it takes ~15 s) and stopped with its whole process group.  The helpers
are in the ``testing`` package at the repository's root.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from testing.isolation import isolate, unmeasured
from testing.network import blocked_in_children, guard_children, guard_this_process
from testing.repos import clone, commit_all, git, init_repo, write
from testing.server import MlflowServer, free_port
from testing.source import SourceRepo, make_source_repo


@pytest.fixture(scope="session")
def _pre_commit_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("pre-commit-home")


@pytest.fixture(autouse=True)
def _isolate(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path_factory: pytest.TempPathFactory,
    _pre_commit_home: Path,
) -> None:
    home = tmp_path_factory.mktemp("home")
    isolate(monkeypatch, home, tmp_path_factory.mktemp("cwd"), _pre_commit_home)


@pytest.fixture
def network_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where this test's child processes record the connections they were refused."""
    return tmp_path_factory.mktemp("network") / "blocked.log"


@pytest.fixture(autouse=True)
def _no_network(
    monkeypatch: pytest.MonkeyPatch, network_log: Path, _isolate: None
) -> Iterator[None]:
    # After _isolate, which clears MLFLOW_* (the children's guard variable among them).
    guard_this_process(monkeypatch)
    guard_children(monkeypatch, network_log)
    yield
    blocked = blocked_in_children(network_log)
    assert not blocked, "a child process tried to reach the network:\n" + "\n".join(blocked)


@pytest.fixture(autouse=True)
def _imports_counted(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    if request.node.get_closest_marker("imports_counted") is not None:
        unmeasured(monkeypatch)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A repository with one commit on branch main."""
    root = init_repo(tmp_path / "repo")
    write(root / "app.py", "print('hello')\n")
    write(root / "README.md", "# app\n")
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "initial")
    return root


# The git-state tests' repositories (test_gitstate.py, test_gitstatus.py, test_entries.py,
# test_worktree.py, test_conversion.py).


@pytest.fixture
def base(tmp_path: Path) -> Path:
    """A repo with a file, an executable, a symlink and a subdirectory committed."""
    root = init_repo(tmp_path / "base")
    write(root / "app.py", "print('hello')\n")
    write(root / "run.sh", "#!/bin/sh\necho run\n", mode=0o755)
    write(root / "pkg" / "mod.py", "X = 1\n")
    write(root / "data.bin", bytes(range(256)))
    os.symlink("app.py", root / "link")
    commit_all(root, "initial")
    return root


@pytest.fixture
def superproject(base: Path, tmp_path: Path) -> tuple[Path, Path]:
    lib = init_repo(tmp_path / "lib")
    write(lib / "lib.py", "L = 1\n")
    commit_all(lib)
    git(base, "-c", "protocol.file.allow=always", "submodule", "add", "-q", lib.as_uri(), "lib")
    commit_all(base, "add submodule")
    return base, base / "lib"


@pytest.fixture
def twin(base: Path, tmp_path: Path) -> Path:
    """An untouched clone of ``base``: the same edit there gives the expected id."""
    return clone(base, tmp_path / "twin")


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MlflowServer]:
    root = tmp_path_factory.mktemp("mlflow-server")
    server = MlflowServer(root, free_port(), f"sqlite:///{root}/mlflow.db")
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def server_url(mlflow_server: MlflowServer) -> str:
    """The running session server's URL (restarted if a test left it stopped)."""
    if mlflow_server.proc is None:
        mlflow_server.start()
    return mlflow_server.url


@pytest.fixture(scope="session")
def source_repo(tmp_path_factory: pytest.TempPathFactory) -> SourceRepo:
    """The tree under test as a hook repository pre-commit installs from (tests/hooks,
    the campaign)."""
    path = tmp_path_factory.mktemp("source") / "mlflow-gitver"
    return make_source_repo(path, tmp_path_factory.mktemp("source-home"))
