"""The plain ``hooks/`` scripts, through ``core.hooksPath``, with real git."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.helpers import git, init_repo, write
from tests.hooks.conftest import HOOKS_DIR, Work

pytestmark = [pytest.mark.server, pytest.mark.slow]


def test_scripts_are_posix_sh_and_executable() -> None:
    for name in ("post-commit", "pre-push"):
        path = HOOKS_DIR / name
        assert os.access(path, os.X_OK)
        assert path.read_text().startswith("#!/bin/sh\n")
        subprocess.run(["sh", "-n", str(path)], check=True)  # parses as POSIX sh


def test_commit_is_registered(plain: Work) -> None:
    first = git(plain.root, "rev-parse", "HEAD").strip()
    second = plain.commit("a.txt")
    plain.settle()
    found = plain.versions()
    assert sorted(found) == sorted([first, second])
    assert plain.pending() == []


def test_push_of_several_refs_registers_every_tip(plain: Work) -> None:
    tips = {}
    for branch in ("a", "b", "c"):
        git(plain.root, "checkout", "-q", "-b", branch, "main")
        tips[branch] = plain.commit(f"{branch}.txt")
    plain.settle()
    # Forget what post-commit registered, so only the pre-push can register the tips.
    before = plain.versions()
    assert all(t in before for t in tips.values())
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=plain.server_url)
    for t in tips.values():
        client.delete_logged_model(before[t][0].model_id)  # type: ignore[attr-defined]
    push = plain.run("push", "origin", "a", "b", "c")
    assert push.returncode == 0, push.stderr
    for branch, tip in tips.items():
        assert f"refs/heads/{branch} {tip[:12]} is app-git-" in push.stdout
    found = plain.versions()
    assert all(len(found[t]) == 1 for t in tips.values())


def test_deleted_ref_is_skipped(plain: Work) -> None:
    git(plain.root, "checkout", "-q", "-b", "gone")
    plain.commit("g.txt")
    assert plain.run("push", "-q", "origin", "gone").returncode == 0
    plain.settle()
    push = plain.run("push", "origin", "--delete", "gone")
    assert push.returncode == 0, push.stderr
    # Nothing registered, nothing to say.
    assert "mlflow-gitver: " not in push.stdout + push.stderr
    assert plain.pending() == [] and plain.failed() == []


def test_invalid_config_blocks_the_plain_pre_push(plain: Work) -> None:
    write(plain.root / ".mlflow-gitver.yaml", "name: a/b\n")
    git(plain.root, "add", "-A")
    commit = plain.run("commit", "-q", "-m", "bad name")
    assert commit.returncode == 0
    assert "is not registered" in commit.stderr and ".mlflow-gitver.yaml:1:7" in commit.stderr
    push = plain.run("push", "origin", "main")
    assert push.returncode == 1
    assert "push blocked" in push.stderr


def test_missing_tool_says_how_to_install_and_never_fails(tmp_path: Path) -> None:
    root = init_repo(tmp_path / "r")
    git(root, "config", "core.hooksPath", str(HOOKS_DIR))
    write(root / "a.txt", "a\n")
    git(root, "add", "-A")
    # A PATH with git, sh and the system python3, but no mlflow-gitver.
    env = {**os.environ, "PATH": "/usr/bin:/bin"}
    proc = subprocess.run(
        ["git", "commit", "-q", "-m", "x"], cwd=root, env=env, capture_output=True, text=True
    )
    assert proc.returncode == 0
    assert "not installed" in proc.stderr and "pip install mlflow-gitver" in proc.stderr
    remote = tmp_path / "remote.git"
    subprocess.run(["git", "init", "-q", "--bare", str(remote)], check=True)
    push = subprocess.run(
        ["git", "push", "-q", str(remote), "main"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
    )
    assert push.returncode == 0 and "not installed" in push.stderr
