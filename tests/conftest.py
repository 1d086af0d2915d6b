"""Shared fixtures: isolated git, real repositories, and one real MLflow server.

Nothing here is mocked: repositories are real ``git init`` repos in temp dirs,
and the server is a real ``mlflow server`` on 127.0.0.1, started once per test
session (it takes ~15 s) and stopped with its whole process group.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.helpers import git, init_repo, write

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


@pytest.fixture(autouse=True)
def _isolate(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    for k in list(os.environ):
        if k in _CLEARED_NAMES or k.startswith(_CLEARED_PREFIXES):
            monkeypatch.delenv(k)
    home = tmp_path_factory.mktemp("home")
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
    monkeypatch.chdir(tmp_path_factory.mktemp("cwd"))
    # pre-commit's cache is shared by the session, so hook environments are built once.
    monkeypatch.setenv("PRE_COMMIT_HOME", str(_pre_commit_home(tmp_path_factory)))


_PC_HOME: list[Path] = []


def _pre_commit_home(factory: pytest.TempPathFactory) -> Path:
    if not _PC_HOME:
        _PC_HOME.append(factory.mktemp("pre-commit-home"))
    return _PC_HOME[0]


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail any in-process connection that is not to the loopback interface."""
    real_connect = socket.socket.connect

    def guarded(self: socket.socket, address: object) -> object:
        if isinstance(address, tuple) and self.family in (socket.AF_INET, socket.AF_INET6):
            host = str(address[0])
            if not (host.startswith("127.") or host in ("::1", "localhost")):
                raise AssertionError(f"test tried to reach the network: {address!r}")
        return real_connect(self, address)  # type: ignore[arg-type]

    monkeypatch.setattr(socket.socket, "connect", guarded)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A repository with one commit on branch main."""
    root = init_repo(tmp_path / "repo")
    write(root / "app.py", "print('hello')\n")
    write(root / "README.md", "# app\n")
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "initial")
    return root


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class MlflowServer:
    """A real ``mlflow server`` on 127.0.0.1 that tests may stop and start again."""

    root: Path
    port: int
    backend_uri: str
    proc: subprocess.Popen[bytes] | None = None
    log: Path = field(init=False)

    def __post_init__(self) -> None:
        self.log = self.root / "server.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 180.0) -> None:
        cmd = [
            sys.executable, "-m", "mlflow", "server",
            "--backend-store-uri", self.backend_uri,
            "--artifacts-destination", str(self.root / "artifacts"),
            "--host", "127.0.0.1",
            "--port", str(self.port),
            "--workers", "1",
        ]  # fmt: skip
        env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
        with open(self.log, "ab") as log:
            # Its own session, so stop() can end uvicorn's workers and the job runner too.
            self.proc = subprocess.Popen(
                cmd, cwd=self.root, env=env, stdout=log, stderr=log, start_new_session=True
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"mlflow server exited: {self.log.read_text()[-3000:]}")
            if self.healthy():
                return
            time.sleep(0.25)
        self.stop()
        raise RuntimeError(f"mlflow server not healthy after {timeout}s: {self.log}")

    def healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/health", timeout=2) as r:
                return bool(r.status == 200)
        except OSError:
            return False

    def stop(self) -> None:
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, 15)
        except ProcessLookupError:
            pass
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, 9)
            self.proc.wait()
        # Wait until the port is free, so start() can bind it again.
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and self.healthy():
            time.sleep(0.1)
        self.proc = None


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


# -- the package under test as a hook repository (tests/hooks, the campaign) ----------

# What pre-commit needs to build the hook environment from a clone.
SOURCE_FILES = ("pyproject.toml", "README.md", ".pre-commit-hooks.yaml", "src", "hooks")
ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class SourceRepo:
    path: Path
    sha: str


@pytest.fixture(scope="session")
def source_repo(tmp_path_factory: pytest.TempPathFactory) -> SourceRepo:
    path = tmp_path_factory.mktemp("source") / "mlflow-gitver"
    path.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", "*.pyc")
    for name in SOURCE_FILES:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, path / name, ignore=ignore)
        else:
            shutil.copy2(src, path / name)
    env = _git_env(tmp_path_factory.mktemp("source-home"))
    for args in (
        ["init", "-q", "-b", "main"],
        ["add", "-A"],
        ["commit", "-q", "-m", "snapshot of the working tree under test"],
    ):
        subprocess.run(["git", *args], cwd=path, env=env, check=True, capture_output=True)
    sha = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=path, env=env, check=True, capture_output=True, text=True
    ).stdout.strip()
    return SourceRepo(path, sha)


def _git_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(
        HOME=str(home),
        GIT_CONFIG_NOSYSTEM="1",
        GIT_CONFIG_GLOBAL=str(home / ".gitconfig"),
        GIT_AUTHOR_NAME="t",
        GIT_AUTHOR_EMAIL="t@example.com",
        GIT_COMMITTER_NAME="t",
        GIT_COMMITTER_EMAIL="t@example.com",
    )
    return env
