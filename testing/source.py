"""The tree under test as a git repository pre-commit can install our hooks from."""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HOOKS_DIR = ROOT / "hooks"  # the plain hook scripts, for core.hooksPath
# What pre-commit needs to build the hook environment from a clone.
SOURCE_FILES = ("pyproject.toml", "README.md", ".pre-commit-hooks.yaml", "src", "hooks")


@dataclass(frozen=True)
class SourceRepo:
    path: Path
    sha: str


def make_source_repo(path: Path, home: Path) -> SourceRepo:
    """Copy the working tree's package files to ``path`` and commit them once.

    The tree under test is not committed at every change: this copy's sha (and so
    pre-commit's hook environment, built from it once) stays the same for a session."""
    path.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", "*.pyc")
    for name in SOURCE_FILES:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, path / name, ignore=ignore)
        else:
            shutil.copy2(src, path / name)
    env = _git_env(home)
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
