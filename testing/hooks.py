"""Our hooks in real repositories: installed through pre-commit or core.hooksPath, a bare
remote, the detached flushes they start, and the versions they registered."""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from mlflow_gitver.naming import TAG_VERSION_ID
from mlflow_gitver.queue.store import Store
from testing.repos import commit_all, git, init_repo, write
from testing.source import SourceRepo

BIN = Path(sys.executable).parent
PRE_COMMIT = str(BIN / "pre-commit")
# prek takes the same .pre-commit-config.yaml and manifest (tests/hooks/test_prek.py).
PREK = str(BIN / "prek")
# A refused connection fails fast anyway; this bounds every other kind of outage.
RETRY_SECONDS = "2"


def config_text(server_url: str, experiment: str, extra: str = "") -> str:
    return (
        "name: app\n"
        f"experiment: {experiment}\n"
        f"tracking_uri: {server_url}\n"
        "params:\n"
        "  llm: gpt-4o-mini\n"
        "  retrieval:\n"
        "    k: 5\n" + extra
    )


def configure(root: Path, server_url: str, extra: str = "") -> str:
    """Commit a config for a fresh experiment on ``server_url``; the experiment's name."""
    experiment = f"hook-{uuid.uuid4().hex[:12]}"
    write(root / ".mlflow-gitver.yaml", config_text(server_url, experiment, extra))
    commit_all(root, "config")
    return experiment


def store(root: Path) -> Store:
    """The pending/failed records of the repository at ``root``."""
    return Store(root / ".git")


@dataclass
class Work:
    """A working repository with our hooks installed and a bare remote ``origin``."""

    root: Path
    remote: Path
    experiment: str
    server_url: str

    @property
    def store(self) -> Path:
        return self.root / ".git" / "mlflow-gitver"

    def pending(self) -> list[Path]:
        return sorted((self.store / "pending").glob("*.json"))

    def failed(self) -> list[Path]:
        return sorted((self.store / "failed").glob("*.json"))

    def run(
        self, *args: str, check: bool = False, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            ["git", *args], cwd=self.root, capture_output=True, text=True, env=env, timeout=300
        )
        if check and proc.returncode != 0:
            raise AssertionError(f"git {' '.join(args)}: {proc.returncode}\n{proc.stderr}")
        return proc

    def commit(self, name: str, content: str = "x\n") -> str:
        write(self.root / name, content)
        git(self.root, "add", "-A")
        self.run("commit", "-q", "-m", f"change {name}", check=True)
        return git(self.root, "rev-parse", "HEAD").strip()

    def settle(self, timeout: float = 180) -> None:
        settle(self.root, timeout)

    def versions(self) -> dict[str, list[object]]:
        """version id -> the READY/PENDING LoggedModels of this test's experiment."""
        return versions(self.server_url, self.experiment)


def settle(root: Path, timeout: float = 180) -> None:
    """Wait until no background flush of the repository at ``root`` is running."""
    deadline = time.monotonic() + timeout
    while background_flushes(root):
        if time.monotonic() > deadline:
            raise AssertionError(f"background flush still running after {timeout}s")
        time.sleep(0.1)


def background_flushes(root: Path) -> list[int]:
    """Our detached ``flush --repo <root>`` processes still alive (read from /proc)."""
    pids = []
    for p in Path("/proc").iterdir():
        if not p.name.isdigit():
            continue
        try:
            argv = (p / "cmdline").read_bytes().split(b"\0")
            state = (p / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z" and b"flush" in argv and str(root).encode() in argv:
            pids.append(int(p.name))
    return pids


def versions(server_url: str, experiment: str) -> dict[str, list[object]]:
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=server_url)
    exp = client.get_experiment_by_name(experiment)
    if exp is None:
        return {}
    out: dict[str, list[object]] = {}
    for m in client.search_logged_models(experiment_ids=[exp.experiment_id], max_results=1000):
        out.setdefault((m.tags or {}).get(TAG_VERSION_ID, ""), []).append(m)
    return out


# What `init` prints: every stage pre-commit can install for us.
ALL_STAGES = ("post-commit", "post-merge", "post-rewrite", "pre-push")


def install_pre_commit(
    root: Path,
    source: SourceRepo,
    stages: tuple[str, ...] = ("post-commit", "pre-push"),
    *,
    manager: str = PRE_COMMIT,
) -> None:
    """Our hooks from ``source`` in a .pre-commit-config.yaml, installed (shims and the
    hook environment) by ``manager``: pre-commit, or prek, which takes the same file
    and the same command line."""
    hooks = "".join(f"      - id: mlflow-gitver-{s}\n" for s in stages)
    write(
        root / ".pre-commit-config.yaml",
        f"repos:\n  - repo: {source.path}\n    rev: {source.sha}\n    hooks:\n{hooks}",
    )
    types = [arg for s in stages for arg in ("-t", s)]
    subprocess.run(
        [manager, "install", "--install-hooks", *types],
        cwd=root,
        check=True,
        capture_output=True,
        timeout=900,
    )


def make_work(tmp_path: Path, server_url: str, *, extra_config: str = "") -> Work:
    root = init_repo(tmp_path / "work")
    remote = tmp_path / "remote.git"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(remote)], check=True)
    git(root, "remote", "add", "origin", str(remote))
    experiment = f"hooks-{uuid.uuid4().hex[:12]}"
    write(root / ".mlflow-gitver.yaml", config_text(server_url, experiment, extra_config))
    write(root / ".gitignore", "mlflow.db\nmlruns/\nmlartifacts/\n")
    return Work(root, remote, experiment, server_url)


def head(root: Path) -> str:
    return git(root, "rev-parse", "HEAD").strip()


def new_commits(root: Path, base: str) -> list[str]:
    return git(root, "rev-list", "--reverse", f"{base}..HEAD").split()
