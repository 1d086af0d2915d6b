"""Shared set-up of commands: which repository, which config, which state."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from mlflow_gitver import git
from mlflow_gitver.errors import GitverError

TYPE_CHECKING = False  # mypy reads a bare TYPE_CHECKING as True; `id` need not import typing
if TYPE_CHECKING:
    from mlflow_gitver.config import Config

CONFIG_NAME = ".mlflow-gitver.yaml"


def open_repo(repo_arg: Path | None) -> git.Repo:
    """The repository of ``--repo`` or the current directory.

    An explicit ``--repo`` wins over ``GIT_DIR``/``GIT_WORK_TREE`` inherited from a hook.
    """
    if repo_arg is None:
        return git.discover(Path.cwd(), keep_repo_env=True)
    return git.discover(repo_arg.resolve(), keep_repo_env=False)


def config_path(repo: git.Repo, config_arg: Path | None) -> Path:
    return config_arg if config_arg is not None else repo.root / CONFIG_NAME


def untracked_setting(repo: git.Repo, config_arg: Path | None) -> bool:
    """Only the ``untracked`` key, without paying for YAML when it cannot be set.

    A file that does not mention ``untracked`` anywhere has the default; only
    one that does is parsed (and validated) in full.
    """
    path = config_path(repo, config_arg)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        if config_arg is None:
            return True
        data = b"untracked"  # --config FILE that is missing: load_config says so
    except OSError:
        data = b"untracked"  # unreadable: load_config says why
    if b"untracked" not in data:
        return True
    return load_worktree_config(repo, config_arg).untracked


def load_worktree_config(
    repo: git.Repo, config_arg: Path | None, env: Mapping[str, str] | None = None
) -> Config:
    from mlflow_gitver.config import load_config

    return load_config(config_path(repo, config_arg), env)


def load_commit_config(
    repo: git.Repo,
    commit: str,
    config_arg: Path | None,
    env: Mapping[str, str] | None = None,
) -> Config:
    """The config as it is in ``commit``, not in the working tree."""
    from mlflow_gitver.config import ConfigError, parse_config

    path = config_path(repo, config_arg).resolve()
    try:
        rel = path.relative_to(repo.root.resolve()).as_posix()
    except ValueError as e:
        raise GitverError(
            f"--config {config_arg} is outside the repository {repo.root}; "
            "with --commit the config is read from the commit"
        ) from e
    data = git.show_blob(repo, commit, rel)
    source = f"{commit[:12]}:{rel}"
    if data is None:
        raise ConfigError(
            f"{source}: no config file in commit {commit[:12]}; commit a {rel} "
            "(mlflow-gitver init writes one)"
        )
    return parse_config(data, source, os.environ if env is None else env)
