"""What makes a model id the right one to deploy: the checks ``verify`` and
``activate()`` make, and the messages both give (one owner for both)."""

from __future__ import annotations

import re
import sys
import time
from dataclasses import dataclass, field
from typing import Any

from mlflow_gitver.errors import EXIT_USAGE, GitverError

PROG = "mlflow-gitver"
_MODEL_ID = re.compile(r"m-[0-9a-f]{8,}")
TAG_VERIFIED = "mlflow_gitver.verified"


def is_model_id(value: str) -> bool:
    return _MODEL_ID.fullmatch(value) is not None


@dataclass
class Expected:
    """What the model must be: each field None when nothing says it."""

    app: str | None = None
    experiment: tuple[str, str] | None = None  # ("id" | "name", value)
    version_id: str | None = None  # the version of the commit being deployed
    commit: str | None = None  # as given, for messages
    commit_from: str | None = None  # --commit, or the variable that named it
    notes: list[str] = field(default_factory=list)  # checks that could not be made
    # MLFLOW_EXPERIMENT_ID / _NAME as the process has them: MLflow reads both.
    env_experiments: list[tuple[str, str]] = field(default_factory=list)


def env_experiments(environ: Any) -> list[tuple[str, str]]:
    """(variable, value) of the experiment variables set in ``environ``."""
    names = ("MLFLOW_EXPERIMENT_NAME", "MLFLOW_EXPERIMENT_ID")
    return [(v, environ[v]) for v in names if environ.get(v)]


def problem_of(model: Any, exp: Any, want: Expected) -> str | None:
    """Why ``model`` is not the version to deploy; None when it is."""
    from mlflow_gitver.naming import GIT_COMMIT, TAG_APP, TAG_VERSION_ID

    tags = dict(model.tags or {})
    status = str(getattr(model.status, "name", model.status)).split(".")[-1]
    if status != "READY":
        return (
            f"model {model.model_id} ({model.name}) is {status}, not READY: its registration "
            f"did not finish; '{PROG} register' completes it"
        )
    if want.app is not None and tags.get(TAG_APP) != want.app:
        return (
            f"model {model.model_id} ({model.name}) is a version of "
            f"{tags.get(TAG_APP) or 'another app'}, not of {want.app}"
        )
    if getattr(exp, "lifecycle_stage", "active") == "deleted":
        return (
            f"model {model.model_id} is in experiment {exp.name} ({exp.experiment_id}), which "
            "is deleted: MLflow refuses its traces; restore the experiment or register again"
        )
    for kind, value in [want.experiment] if want.experiment is not None else []:
        have = str(exp.experiment_id) if kind == "id" else str(exp.name)
        if have != value:
            var = "MLFLOW_EXPERIMENT_ID" if kind == "id" else "MLFLOW_EXPERIMENT_NAME"
            fix = exp.experiment_id if kind == "id" else exp.name
            return (
                f"model {model.model_id} is in experiment {exp.name} ({exp.experiment_id}), "
                f"but traces here go to experiment {value}: set {var}={fix}"
            )
    for var, value in want.env_experiments:
        have = str(exp.experiment_id) if var == "MLFLOW_EXPERIMENT_ID" else str(exp.name)
        if have != value:
            fix = exp.experiment_id if var == "MLFLOW_EXPERIMENT_ID" else exp.name
            return (
                f"model {model.model_id} is in experiment {exp.name} ({exp.experiment_id}), "
                f"but {var}={value} sends traces elsewhere: set {var}={fix} (MLflow reads "
                "MLFLOW_EXPERIMENT_NAME first and refuses the two when they disagree)"
            )
    if want.version_id is not None and tags.get(TAG_VERSION_ID) != want.version_id:
        have = tags.get(TAG_VERSION_ID) or "(none)"
        return (
            f"model {model.model_id} is version {have} (commit "
            f"{tags.get(GIT_COMMIT, '?')[:12]}), not the version of commit "
            f"{want.commit} ({want.commit_from}); '{PROG} resolve --commit {want.commit}' "
            "prints the right id"
        )
    return None


def not_an_id(edge: Any, given: str, choice: tuple[str, str] | None) -> GitverError:
    """A value that is no model id: the model it names, if it is a model name."""
    from mlflow_gitver import lookup, mlflow_api, registry

    model = None
    if "'" not in given:  # MLflow refuses quotes in names: no model has this one
        eids = lookup.lookup_experiments(edge, choice)
        if eids:
            found = mlflow_api.search_models(edge, f"searching {given}", eids, f"name = '{given}'")
            model = registry.pick(found) if found else None
    if model is not None:
        return GitverError(
            f"{given!r} is a model name, not a model id: MLflow would link every trace to "
            f"nothing; set MLFLOW_ACTIVE_MODEL_ID={model.model_id} (the id it names)",
            EXIT_USAGE,
        )
    return GitverError(
        f"{given!r} is not a model id (m-<hex>, as '{PROG} register' and 'resolve' print)",
        EXIT_USAGE,
    )


def mark_verified(edge: Any, model_id: str) -> None:
    """Tag the model as seen deployed (``gc`` never deletes it).  A deploy token
    may not write: the verdict stands, with a warning."""
    from mlflow_gitver import mlflow_api

    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    try:
        mlflow_api.add_tags(edge, model_id, {TAG_VERIFIED: stamp})
    except GitverError as e:
        print(
            f"{PROG}: warning: verified, but not tagged {TAG_VERIFIED}: {e.message}",
            file=sys.stderr,
        )


class _Lenient(dict[str, str]):
    """The environment, where a variable that is not set reads as empty."""

    def get(self, key: str, default: object = None) -> object:  # type: ignore[override]
        return super().get(key, "")


def lenient_config(path: Any) -> Any:
    """The config as a deploy reads it: its name, experiment, URI and paths; a
    ``${VAR}`` its params or tags read need not be set there (``activate()`` does
    not need them either)."""
    import os

    from mlflow_gitver.config import load_config

    return load_config(path, _Lenient(os.environ))
