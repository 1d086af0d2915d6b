"""The Python API: one line in application code links its traces to its version.

>>> from mlflow_gitver import activate
>>> model = activate()          # doctest: +SKIP
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from mlflow_gitver.config import CONFIG_NAME
from mlflow_gitver.errors import EXIT_FAILURE, EXIT_USAGE, GitverError
from mlflow_gitver.redact import redact_url
from mlflow_gitver.tracking import check_uri, default_uri

TYPE_CHECKING = False  # not typing's: see mlflow_gitver/__init__.py
if TYPE_CHECKING:
    from mlflow_gitver.config import Config


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


def activate(
    repo: str | Path | None = None,
    config: str | Path | None = None,
    app: str | None = None,
    *,
    verify: bool = True,
) -> ActiveModel:
    """Make this code's version MLflow's active model, and return it.

    If ``MLFLOW_ACTIVE_MODEL_ID`` is set (the deploy path: CI registered the
    version and handed its id over), that model is used and git is not touched.
    Its traces go where the model is: the tracking URI is ``MLFLOW_TRACKING_URI``,
    else the config's ``tracking_uri``, else the embedded store next to the
    config; the experiment is ``MLFLOW_EXPERIMENT_ID``, else the model's own
    (read from the tracking store).  The config is ``config``, else
    ``.mlflow-gitver.yaml`` in ``repo`` (default: the current directory) or the
    nearest directory above it, up to the repository's root.

    Otherwise the working tree containing ``repo`` is registered, exactly as
    ``mlflow-gitver register`` would, with the config ``config`` (default:
    ``.mlflow-gitver.yaml`` at the repository root), and MLflow's tracking URI,
    experiment and active model are set to it.

    ``app`` names one app of a config with ``apps:`` (required when it has
    several).  On the deploy path, without ``MLFLOW_ACTIVE_MODEL_ID``, the app's
    own variables that a multi-app export sets (``MLFLOW_GITVER_MODEL_ID_<APP>``
    and ``MLFLOW_GITVER_EXPERIMENT_ID_<APP>``) are used.

    ``verify`` (the default): on the deploy path, the id is checked as
    ``mlflow-gitver verify`` checks it, with one read of the model (and of its
    experiment when ``MLFLOW_EXPERIMENT_ID`` is set): a model id, not a name; a
    READY model; this app's (when a config names it); in the experiment given.
    ``verify=False`` skips that read.

    Raises :class:`mlflow_gitver.errors.GitverError` on what the user can fix
    (no repository, invalid config, unreachable server, an unknown model id);
    its message names this function's parameters.
    """
    try:
        env_id = os.environ.get("MLFLOW_ACTIVE_MODEL_ID")
        if env_id:
            return _from_environment(env_id, repo, config, verify=verify, app=app)
        if app is not None:
            from mlflow_gitver.commands.register import app_variable

            app_id = os.environ.get(app_variable("MLFLOW_GITVER_MODEL_ID", app))
            if app_id:
                exp = os.environ.get(app_variable("MLFLOW_GITVER_EXPERIMENT_ID", app)) or None
                return _from_environment(
                    app_id, repo, config, exp, from_app=True, verify=verify, app=app
                )
        return _register(repo, config, app)
    except GitverError as e:
        # Reworded in place: the caller may catch a subclass (ServerUnavailable, ...).
        e.message = _as_api(e.message)
        e.args = (e.message,)
        raise


# Our messages are written for the CLI; activate() has parameters, not flags.
_FLAG_TEXT = (
    ("pass --repo a directory inside a git repo", "pass repo= a directory inside a git repo"),
    ("or pass --repo DIR", "or pass repo=DIR"),
    ("pass --config FILE", "pass config=PATH"),
    ("--config ", "config="),
    ("--tracking-uri / MLFLOW_TRACKING_URI", "MLFLOW_TRACKING_URI or tracking_uri in the config"),
    ("--tracking-uri", "tracking_uri in the config"),
    ("--experiment", "MLFLOW_EXPERIMENT_ID or experiment in the config"),
)


def _as_api(message: str) -> str:
    for flag, param in _FLAG_TEXT:
        message = message.replace(flag, param)
    return message


def _find_config(repo: str | Path | None, config: str | Path | None) -> Path | None:
    """The config for the deploy path, found without git (deploys often have none)."""
    if config is not None:
        return Path(config)
    start = (Path(repo) if repo is not None else Path.cwd()).resolve()
    for d in (start, *start.parents):
        candidate = d / CONFIG_NAME
        if candidate.is_file():
            return candidate
        if (d / ".git").exists():
            return None  # the repository's root: a config would be here
    return None


def _from_environment(
    model_id: str,
    repo: str | Path | None,
    config: str | Path | None,
    app_experiment: str | None = None,
    *,
    from_app: bool = False,
    verify: bool = True,
    app: str | None = None,
) -> ActiveModel:
    """``from_app``: ``model_id`` came from an app's own variable; ``app_experiment``
    is its exported experiment id, which wins over ``MLFLOW_EXPERIMENT_ID``
    (another app's, or none, in a multi-app job)."""
    uri = os.environ.get("MLFLOW_TRACKING_URI") or None
    path = None
    if uri is None:
        # Read only when needed: a deploy need not set the variables its params read.
        path = _find_config(repo, config)
        if path is not None:
            from mlflow_gitver.config import load_config

            uri = load_config(path).tracking_uri or default_uri(path.parent)
    if uri is not None:
        where = "MLFLOW_TRACKING_URI" if os.environ.get("MLFLOW_TRACKING_URI") else str(path)
        check_uri(uri, where)
    experiment_id = app_experiment or os.environ.get("MLFLOW_EXPERIMENT_ID") or None
    if verify and uri is not None:
        name = app or _app_name(path if path is not None else _find_config(repo, config))
        experiment_id = _verified(model_id, uri, experiment_id, name)
    if from_app:
        # An app's own variables: MLflow reads none of them, so it is told here.
        if uri is None:
            raise GitverError(
                f"model {model_id} of the app's variables has no tracking URI to go with it; "
                "set MLFLOW_TRACKING_URI (or the config's tracking_uri)",
                EXIT_USAGE,
            )
        experiment_id = _point_mlflow(model_id, uri, experiment_id)
    elif uri is not None and (experiment_id is None or not os.environ.get("MLFLOW_TRACKING_URI")):
        # MLflow would otherwise use its default URI (./mlflow.db) or experiment 0.
        experiment_id = _point_mlflow(model_id, uri, experiment_id)
    return ActiveModel(
        model_id=model_id,
        source="environment",
        experiment_id=experiment_id,
        tracking_uri=redact_url(uri) if uri else None,
    )


def _app_name(path: Path | None) -> str | None:
    """The config's app name, for the check; None when there is no config or it
    cannot be read here (a deploy need not set the variables its params read)."""
    if path is None:
        return None
    from mlflow_gitver.config import ConfigError, load_config

    try:
        cfg = load_config(path)
    except ConfigError:
        return None
    return None if cfg.apps else cfg.name


def _no_store(model_id: str, uri: str) -> None:
    from mlflow_gitver.tracking import db_file

    db = db_file(uri)
    if db is not None and not db.exists():
        # Not created here: an empty store would hold no model either.
        raise GitverError(
            f"MLFLOW_ACTIVE_MODEL_ID={model_id} is set but there is no MLflow store at {db}; "
            "set MLFLOW_TRACKING_URI to where it was registered (or the config's "
            "tracking_uri)",
            EXIT_FAILURE,
        )


def _verified(model_id: str, uri: str, experiment_id: str | None, app: str | None) -> str:
    """Check ``model_id`` as ``verify`` does (deploycheck.py); its experiment's id."""
    from mlflow_gitver import deploycheck, mlflow_api
    from mlflow_gitver.tracking import display, mlflow_env

    _no_store(model_id, uri)
    shown = display(uri)
    # The experiment id given (the app's, or MLFLOW_EXPERIMENT_ID), and the name
    # MLflow reads first: the model must be in both.
    names = [e for e in deploycheck.env_experiments(os.environ) if e[0].endswith("_NAME")]
    want = deploycheck.Expected(
        app=app,
        experiment=("id", experiment_id) if experiment_id else None,
        env_experiments=names,
    )
    with mlflow_env(uri), mlflow_api.failing(f"checking model {model_id}", shown):
        edge = mlflow_api.connect(uri)
        if not deploycheck.is_model_id(model_id):
            raise deploycheck.not_an_id(edge, model_id, want.experiment)
        model = mlflow_api.get_model(
            edge, model_id, ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE")
        )
        if model is None:
            raise GitverError(
                f"MLFLOW_ACTIVE_MODEL_ID={model_id} is not a model at {shown}; set "
                "MLFLOW_TRACKING_URI to where it was registered (or the config's tracking_uri)",
                EXIT_FAILURE,
            )
        exp = mlflow_api.get_experiment(edge, str(model.experiment_id), "reading the experiment")
    problem = deploycheck.problem_of(model, exp, want)
    if problem is not None:
        raise GitverError(problem + " (activate(verify=False) skips this check)", EXIT_FAILURE)
    return str(model.experiment_id)


def _point_mlflow(model_id: str, uri: str, experiment_id: str | None) -> str:
    """Set MLflow's tracking URI and experiment for ``model_id``; the experiment's id."""
    from mlflow_gitver import mlflow_api
    from mlflow_gitver.tracking import display, mlflow_env

    shown = display(uri)
    _no_store(model_id, uri)
    if experiment_id is None:
        with mlflow_env(uri):
            edge = mlflow_api.connect(uri)
            with mlflow_api.failing(f"reading model {model_id}", shown):
                model = mlflow_api.get_model(edge, model_id)
            if model is None:
                raise GitverError(
                    f"MLFLOW_ACTIVE_MODEL_ID={model_id} is not a model at {shown}; set "
                    "MLFLOW_TRACKING_URI to where it was registered (or the config's "
                    "tracking_uri)",
                    EXIT_FAILURE,
                )
        experiment_id = str(model.experiment_id)
    mlflow_api.activate(uri, experiment_id, model_id)
    return experiment_id


def _one_app(apps: tuple[Config, ...]) -> Config:
    """The one app the API acts on: several need ``app=``."""
    if len(apps) > 1:
        names = ", ".join(a.name for a in apps)
        raise GitverError(
            f"this config has {len(apps)} apps ({names}); pass app= one of them", EXIT_USAGE
        )
    return apps[0]


def _register(repo: str | Path | None, config: str | Path | None, app: str | None) -> ActiveModel:
    from mlflow_gitver import mlflow_api
    from mlflow_gitver.context import load_worktree_config, open_repo, select_apps
    from mlflow_gitver.gitstate import state_of
    from mlflow_gitver.tracking import target
    from mlflow_gitver.versions import register_state

    r = open_repo(repo)
    cfg = load_worktree_config(r, Path(config) if config is not None else None)
    cfg = _one_app(select_apps(cfg, app))
    chosen = target(None, os.environ, cfg.tracking_uri, r.root)  # resolved once
    state = state_of(r, untracked=cfg.untracked, scope=cfg.paths)
    reg = register_state(r, state, cfg, target=chosen)
    mlflow_api.activate(chosen.uri, reg.experiment_id, reg.model_id)
    return ActiveModel(
        model_id=reg.model_id,
        source="registered",
        model_name=reg.model_name,
        version_id=reg.version_id,
        experiment_id=reg.experiment_id,
        tracking_uri=reg.tracking_uri,
        created=reg.created,
    )


def current_version(repo: str | Path | None = None, app: str | None = None) -> str:
    """The version identifier of the working tree containing ``repo`` (no MLflow);
    ``app``: of that app of a config with ``apps:`` (required when it has several).
    A config with ``paths`` (or ``apps``) gives the scoped id."""
    from mlflow_gitver.context import open_repo, scoped_apps, untracked_setting
    from mlflow_gitver.gitstate import state_of

    r = open_repo(repo)
    apps = scoped_apps(r, None, app)
    if apps is None:  # the config scopes nothing: the whole repository, as `id`
        return state_of(r, untracked=untracked_setting(r, None)).version_id
    one = _one_app(apps)
    return state_of(r, untracked=one.untracked, scope=one.paths).version_id
