"""``mlflow-gitver init``'s setup text, copied literally, with the real pre-commit.

mlflow-gitver is really installed with pip from the session's snapshot repository
(``git+file://...@<sha>``, as from any git URL); that installation's ``init``
prints the snippet, and pre-commit installs the hooks from it and registers a
commit.  The snapshot is the one the other hook tests use, so pre-commit's hook
environment is built once for all of them.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from testing.hooks import PRE_COMMIT, settle, versions
from testing.repos import git, init_repo, write
from testing.source import SourceRepo

pytestmark = [pytest.mark.server, pytest.mark.slow]


def test_snippet_of_a_git_url_install_works_when_copied(
    tmp_path: Path, server_url: str, source_repo: SourceRepo, hook_env: None
) -> None:
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target),
         f"git+{source_repo.path.as_uri()}@{source_repo.sha}"],
        check=True, capture_output=True, timeout=600,
    )  # fmt: skip
    root = init_repo(tmp_path / "work")
    env = dict(os.environ, PYTHONPATH=str(target))
    out = subprocess.run(
        [sys.executable, "-m", "mlflow_gitver", "init", "--name", "app"],
        cwd=root, env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    text = out.stdout[out.stdout.index("# .pre-commit-config.yaml") : out.stdout.index("then run")]
    data = yaml.safe_load(text)
    assert data["repos"][0]["repo"] == str(source_repo.path)
    assert data["repos"][0]["rev"] == source_repo.sha
    write(root / ".pre-commit-config.yaml", text)
    experiment = f"init-{tmp_path.name}"
    with open(root / ".mlflow-gitver.yaml", "a") as f:
        f.write(f"tracking_uri: {server_url}\nexperiment: {experiment}\n")
    # No -t: the snippet's default_install_hook_types says which hooks to install.
    subprocess.run([PRE_COMMIT, "install", "--install-hooks"], cwd=root, check=True,
                   capture_output=True, timeout=900)  # fmt: skip
    git(root, "add", "-A")
    subprocess.run(["git", "commit", "-q", "-m", "first"], cwd=root, check=True,
                   capture_output=True, timeout=300)  # fmt: skip
    sha = git(root, "rev-parse", "HEAD").strip()
    settle(root)
    assert len(versions(server_url, experiment).get(sha, [])) == 1
