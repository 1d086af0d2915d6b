"""This app's versions, as ``log`` lists and ``gc`` sweeps them.

One search per app (each may have its own experiment), merged newest first;
what links to a version: traces (one call per version) and evaluation runs (the
metrics a run logged on the model, MLFLOW_NOTES.md: no extra call).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

TYPE_CHECKING = False  # not typing's: see mlflow_gitver/__init__.py
if TYPE_CHECKING:
    from mlflow_gitver.config import Config
    from mlflow_gitver.git import Repo
    from mlflow_gitver.mlflow_edge import Edge

TRACES_COUNTED = 100


def config_apps(repo: Repo | None, config: Path | None, app: str | None) -> tuple[Config, ...]:
    """The apps listed: the one ``--app`` names, else every app of the config (none
    without a config: then every version in the experiment)."""
    from mlflow_gitver.context import lookup_config_path, select_apps
    from mlflow_gitver.deploycheck import lenient_config

    path = lookup_config_path(repo, config, app)
    return () if path is None else select_apps(lenient_config(path), app)


def versions(
    edge: Edge,
    apps: Sequence[Config],
    cli_experiment: str | None,
    branch: str | None = None,
    limit: int | None = None,
) -> list[Any]:
    """The LoggedModels of ``apps`` (every model in the experiment when there are
    none), newest first, at most ``limit`` (None: all); ``branch`` keeps those
    registered from it."""
    from mlflow_gitver import lookup, mlflow_api, tracking

    found: dict[str, Any] = {}
    for app in apps or (None,):
        choice = tracking.experiment_choice(
            cli_experiment, dict(os.environ), app.experiment if app is not None else None
        )
        eids = lookup.lookup_experiments(edge, choice)
        if not eids:
            continue
        where = search_filter(app.name if app is not None else None, branch)
        for model in mlflow_api.newest_models(edge, eids, where, limit):
            found[model.model_id] = model
    newest = sorted(found.values(), key=lambda m: -(m.creation_timestamp or 0))
    return newest if limit is None else newest[:limit]


def search_filter(name: str | None, branch: str | None) -> str | None:
    """MLflow's filter for this app and branch.  Neither holds a quote: the config
    refuses them in names, ``log`` in a branch."""
    from mlflow_gitver.naming import GIT_BRANCH, TAG_APP

    parts = []
    if name is not None:
        parts.append(f"tags.`{TAG_APP}` = '{name}'")
    if branch is not None:
        parts.append(f"tags.`{GIT_BRANCH}` = '{branch}'")
    return " AND ".join(parts) or None


def traces(edge: Edge, model: Any, limit: int = TRACES_COUNTED) -> int | None:
    """Traces linked to ``model``, up to ``limit``; None when the store cannot say."""
    from mlflow_gitver import mlflow_api

    return mlflow_api.count_traces(edge, str(model.experiment_id), model.model_id, limit)


def evaluation_runs(model: Any) -> int:
    """The runs that logged metrics on ``model`` (``mlflow.genai.evaluate`` does)."""
    return len({m.run_id for m in (model.metrics or []) if m.run_id})
