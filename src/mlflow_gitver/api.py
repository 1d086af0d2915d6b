"""The Python API: one line in application code links its traces to its version.

>>> from mlflow_gitver import activate
>>> model = activate()          # doctest: +SKIP
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from mlflow_gitver.redact import redact_url


@dataclass(frozen=True)
class ActiveModel:
    """The LoggedModel an application's traces are linked to."""

    model_id: str
    source: str  # "environment" (MLFLOW_ACTIVE_MODEL_ID was set) or "registered"
    model_name: str | None = None
    version_id: str | None = None
    experiment_id: str | None = None
    tracking_uri: str | None = None  # redacted
    created: bool = False


def activate(repo: str | Path | None = None, config: str | Path | None = None) -> ActiveModel:
    """Make this code's version MLflow's active model, and return it.

    If ``MLFLOW_ACTIVE_MODEL_ID`` is set (the deploy path: CI registered the
    version and handed its id over), that model is used and git is not touched:
    MLflow itself links traces to it.  Otherwise the working tree containing
    ``repo`` (default: the current directory) is registered, exactly as
    ``mlflow-gitver register`` would, with the config ``config`` (default:
    ``.mlflow-gitver.yaml`` at the repository root), and MLflow's tracking URI,
    experiment and active model are set to it.

    Raises :class:`mlflow_gitver.errors.GitverError` on what the user can fix
    (no repository, invalid config, unreachable server).
    """
    env_id = os.environ.get("MLFLOW_ACTIVE_MODEL_ID")
    if env_id:
        uri = os.environ.get("MLFLOW_TRACKING_URI")
        return ActiveModel(
            model_id=env_id,
            source="environment",
            experiment_id=os.environ.get("MLFLOW_EXPERIMENT_ID"),
            tracking_uri=redact_url(uri) if uri else None,
        )
    import mlflow

    from mlflow_gitver.context import load_worktree_config, open_repo
    from mlflow_gitver.service import register_worktree
    from mlflow_gitver.tracking import resolve_uri

    r = open_repo(Path(repo) if repo is not None else None)
    cfg = load_worktree_config(r, Path(config) if config is not None else None)
    reg = register_worktree(r, cfg)
    uri = resolve_uri(None, os.environ, cfg.tracking_uri, r.root)
    mlflow.set_tracking_uri(uri)
    mlflow.set_experiment(experiment_id=reg.experiment_id)
    mlflow.set_active_model(model_id=reg.model_id)
    return ActiveModel(
        model_id=reg.model_id,
        source="registered",
        model_name=reg.model_name,
        version_id=reg.version_id,
        experiment_id=reg.experiment_id,
        tracking_uri=reg.tracking_uri,
        created=reg.created,
    )


def current_version(repo: str | Path | None = None) -> str:
    """The version identifier of the working tree containing ``repo`` (no MLflow)."""
    from mlflow_gitver.context import open_repo, untracked_setting
    from mlflow_gitver.gitstate import state_of

    r = open_repo(Path(repo) if repo is not None else None)
    return state_of(r, untracked=untracked_setting(r, None)).version_id
