"""Look a version up: its READY LoggedModel at a tracking URI, creating nothing."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlflow_gitver import tracking
from mlflow_gitver.errors import EXIT_FAILURE, Conflict, GitverError
from mlflow_gitver.naming import GIT_BRANCH, GIT_COMMIT, GIT_DIRTY, TAG_APP
from mlflow_gitver.versions import Registered, model_url

if TYPE_CHECKING:
    from mlflow_gitver.config import Config
    from mlflow_gitver.mlflow_edge import Edge
    from mlflow_gitver.pins import Lookup


def lookup(
    version_id: str,
    uri: str,
    *,
    experiment: tuple[str, str] | None,
    app_name: str | None,
    environ: Mapping[str, str] | None = None,
    params: Mapping[str, str] | None = None,
    prompts: Lookup | None = None,
) -> Registered | None:
    """The READY model of ``version_id`` at ``uri``, or None; creates nothing.

    With no experiment, every active experiment is searched.  ``app_name`` (from
    ``--name`` or a config) restricts the search to that application's models.
    ``params`` (the config's, resolved as ``register`` would) must match the
    model's: a version registered with other params raises :class:`Conflict`, as
    ``register`` would.  ``prompts``: the config's prompts, pinned now as
    ``register`` would pin them (their pins are params too).
    """
    from mlflow_gitver import mlflow_api

    shown = tracking.display(uri)
    with tracking.mlflow_env(uri, environ):
        edge = mlflow_api.connect(uri)
        with mlflow_api.failing(f"looking up {version_id}", shown):
            eids = lookup_experiments(edge, experiment)
            if not eids:
                return None
            if prompts is not None:
                params = prompts.params(edge, params or {}, shown)
            found = _find(edge, eids, version_id, app_name, params)
            ename = (
                None if found is None else tracking.experiment_name(edge, str(found.experiment_id))
            )
    if found is None:
        return None
    tags = found.tags or {}
    return Registered(
        model_id=found.model_id,
        model_name=found.name,
        version_id=version_id,
        commit=tags.get(GIT_COMMIT, ""),
        dirty=tags.get(GIT_DIRTY) == "true",
        branch=tags.get(GIT_BRANCH),
        experiment_id=str(found.experiment_id),
        tracking_uri=shown,
        created=False,
        model_url=model_url(uri, str(found.experiment_id), found.model_id),
        experiment_name=ename,
    )


def _find(
    edge: Edge,
    eids: list[str],
    version_id: str,
    app_name: str | None,
    params: Mapping[str, str] | None,
) -> Any:
    from mlflow_gitver import registry

    models = registry.search_version(edge, eids, version_id)
    if app_name is not None:
        models = [m for m in models if (m.tags or {}).get(TAG_APP) == app_name]
    ready = [m for m in models if registry.is_ready(m)]
    if not ready:
        return None
    if params is None:
        return registry.pick(ready)
    # {params_digest} in name_template gives each set of params its own model.
    same = [m for m in ready if dict(m.params or {}) == dict(params)]
    if not same:
        raise Conflict(registry.params_conflict(registry.pick(ready), version_id, params))
    return registry.pick(same)


def lookup_experiments(edge: Edge, choice: tuple[str, str] | None) -> list[str]:
    """The experiments a lookup searches: the chosen one, or every active one."""
    from mlflow_gitver import mlflow_api

    if choice is None:
        return mlflow_api.all_experiment_ids(edge)
    kind, value = choice
    if kind == "id":
        return [value]
    exp = mlflow_api.experiment_by_name(edge, value)
    return [] if exp is None else [str(exp.experiment_id)]


def not_registered(version_id: str, shown_uri: str) -> GitverError:
    return GitverError(
        f"version {version_id} is not registered at {shown_uri}; register it with "
        "'mlflow-gitver register' (or check --tracking-uri / --experiment)",
        EXIT_FAILURE,
    )


def lookup_place(
    cli_uri: str | None, cli_experiment: str | None, cfg: Config | None, root: Path | None
) -> tuple[str, tuple[str, str] | None]:
    """Where the look-ups (``resolve``, ``show``, ``verify``, ``log``, ``diff``) look: the
    URI and the experiment choice, from the options, the environment and the config
    (there may be no config, or no repository).  A SQLite store that does not exist
    is an error, never created."""
    uri = tracking.resolve_uri(cli_uri, os.environ, cfg.tracking_uri if cfg else None, root)
    db = tracking.db_file(uri)
    if db is not None and not db.exists():
        # A look-up writes nothing: MLflow would create an empty store here.
        raise GitverError(
            f"there is no MLflow store at {db}, so nothing is registered there; register "
            "first, or point --tracking-uri (or MLFLOW_TRACKING_URI) at the store",
            EXIT_FAILURE,
        )
    return uri, tracking.experiment_choice(
        cli_experiment, os.environ, cfg.experiment if cfg else None
    )
