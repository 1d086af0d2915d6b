"""Fixtures for end-to-end hook tests: the real pre-commit framework, real commits
and pushes to a local bare remote, the session's real MLflow server.

pre-commit installs a hook repository by cloning ``repo:`` at ``rev:``.  The
tree under test is not committed at every change, so ``source_repo`` is a
temporary repository holding a copy of the current working tree's package
files, committed once per session: its sha (and so pre-commit's hook
environment, built from it once, ~30 s) stays the same for every test.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from mlflow_gitver.naming import TAG_VERSION_ID
from mlflow_gitver.queue.store import Store
from tests.conftest import SourceRepo
from tests.helpers import commit_all, git, init_repo, write

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
PRE_COMMIT = str(BIN / "pre-commit")
HOOKS_DIR = ROOT / "hooks"
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
    root: Path, source: SourceRepo, stages: tuple[str, ...] = ("post-commit", "pre-push")
) -> None:
    hooks = "".join(f"      - id: mlflow-gitver-{s}\n" for s in stages)
    write(
        root / ".pre-commit-config.yaml",
        f"repos:\n  - repo: {source.path}\n    rev: {source.sha}\n    hooks:\n{hooks}",
    )
    types = [arg for s in stages for arg in ("-t", s)]
    subprocess.run(
        [PRE_COMMIT, "install", "--install-hooks", *types],
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


@pytest.fixture
def hook_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLFLOW_GITVER_RETRY_SECONDS", RETRY_SECONDS)


@pytest.fixture
def work(
    tmp_path: Path, server_url: str, source_repo: SourceRepo, hook_env: None
) -> Iterator[Work]:
    """Our hooks installed through pre-commit; one commit made (and registered)."""
    w = make_work(tmp_path, server_url)
    install_pre_commit(w.root, source_repo)
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


def head(root: Path) -> str:
    return git(root, "rev-parse", "HEAD").strip()


def new_commits(root: Path, base: str) -> list[str]:
    return git(root, "rev-list", "--reverse", f"{base}..HEAD").split()


def every_kind_of_commit(w: Work, tmp_path: Path) -> list[str]:
    """Make commits every way git makes one locally; the commits made, in order.

    commit, --amend, merge, a conflicted merge concluded by commit, cherry-pick,
    revert, rebase -i with autosquash, rebase --exec that commits, pull (merge
    and rebase), am.  Editors are `true`, as in a script."""
    root = w.root
    made = [w.commit("a.txt"), ""]
    w.run("commit", "-q", "--amend", "-m", "amended", check=True)
    made[1] = head(root)
    w.run("push", "-q", "origin", "main", check=True)
    # merge: git runs post-merge, not post-commit.
    base = head(root)
    git(root, "checkout", "-q", "-b", "side")
    made.append(w.commit("s1.txt"))
    git(root, "checkout", "-q", "main")
    made.append(w.commit("m1.txt"))
    w.run("merge", "-q", "--no-edit", "side", check=True)
    made.append(head(root))
    # A conflicted merge, concluded by `git commit`.
    git(root, "checkout", "-q", "-b", "c1")
    made.append(w.commit("z.txt", "1\n"))
    git(root, "checkout", "-q", "main")
    made.append(w.commit("z.txt", "2\n"))
    assert w.run("merge", "c1").returncode == 1  # the conflict
    write(root / "z.txt", "3\n")
    git(root, "add", "z.txt")
    w.run("commit", "-q", "--no-edit", check=True)
    made.append(head(root))
    # cherry-pick and revert
    git(root, "checkout", "-q", "-b", "other", base)
    made.append(w.commit("o1.txt"))
    git(root, "checkout", "-q", "main")
    w.run("cherry-pick", made[-1], check=True)
    made.append(head(root))
    w.run("revert", "--no-edit", "HEAD", check=True)
    made.append(head(root))
    # rebase -i --autosquash: the fixup is squashed into its target.
    before = head(root)
    made.append(w.commit("r1.txt"))
    write(root / "r1.txt", "more\n")
    git(root, "add", "r1.txt")
    w.run("commit", "-q", "--fixup", "HEAD", check=True)
    made.append(head(root))
    made.append(w.commit("r2.txt"))
    w.run("rebase", "-q", "-i", "--autosquash", before, check=True)
    made += new_commits(root, before)
    # rebase --exec whose command commits.
    before = git(root, "rev-parse", "HEAD~2").strip()
    exec_cmd = "echo e >> e.txt && git add e.txt && git commit -q -m exec"
    w.run("rebase", "-q", "--exec", exec_cmd, before, check=True)
    made += new_commits(root, before)
    # pull, merging and rebasing, what another clone pushed.
    w.run("push", "-q", "origin", "main", check=True)
    other = tmp_path / "other"
    subprocess.run(["git", "clone", "-q", str(w.remote), str(other)], check=True)
    git(other, "config", "core.hooksPath", "/dev/null")
    for name in ("x1.txt", "x2.txt"):
        write(other / name, "x\n")
        git(other, "add", "-A")
        git(other, "commit", "-q", "-m", name)
        git(other, "push", "-q", "origin", "main")
        made.append(w.commit(f"local-{name}"))
        mode = "--no-rebase" if name == "x1.txt" else "--rebase"
        w.run("pull", "-q", mode, "origin", "main", check=True)
        made.append(head(root))
    # am: git runs post-applypatch.
    for name in ("q1.txt", "q2.txt"):
        write(other / name, "q\n")
        git(other, "add", "-A")
        git(other, "commit", "-q", "-m", name)
    patches = tmp_path / "patches"
    git(other, "format-patch", "-q", "-2", "-o", str(patches))
    before = head(root)
    w.run("am", "-q", *sorted(str(p) for p in patches.iterdir()), check=True)
    made += new_commits(root, before)
    assert len(new_commits(root, before)) == 2
    return list(dict.fromkeys(made))


@pytest.fixture
def scripted_git(monkeypatch: pytest.MonkeyPatch) -> None:
    """Editors that accept what git proposes, as in a script."""
    monkeypatch.setenv("GIT_EDITOR", "true")
    monkeypatch.setenv("GIT_SEQUENCE_EDITOR", "true")
