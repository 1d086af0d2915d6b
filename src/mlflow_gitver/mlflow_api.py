"""Every MLflow client call, each through the retrying edge (mlflow_edge.py).

Importing this module does not import MLflow (the hooks import the modules that
import it); each function imports what it calls.  Failures are judged in
mlflow_failures.py: transient ones are retried within the budget, 401/403 raise
:class:`AuthFailed`, a budget spent :class:`ServerUnavailable`; any other MLflow
error is raised for the caller, who turns it into one line with :func:`failing`.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from mlflow_gitver import mlflow_failures, tracking
from mlflow_gitver.mlflow_edge import Edge

if TYPE_CHECKING:
    from mlflow.entities import Experiment as Experiment
    from mlflow.entities import LoggedModel as LoggedModel

MAX_SEARCH = 100


def quiet() -> None:
    """MLflow logs INFO lines (database migrations, ...) on stderr: not ours to show."""
    import logging

    import mlflow  # noqa: F401  (it sets its loggers' level when imported: set ours after)

    logging.getLogger("mlflow").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)


def connect(uri: str) -> Edge:
    """An :class:`Edge` to ``uri`` (call inside :func:`tracking.mlflow_env`).

    A bad URI (a scheme no MLflow store serves) is bad input (exit 2); a missing
    SQLite store is created atomically and a half-made one repaired (embedded.py).
    """
    from mlflow import MlflowClient
    from mlflow.tracking.registry import UnsupportedModelRegistryStoreURIException

    from mlflow_gitver import embedded

    db = tracking.db_file(uri)
    root = tracking.sqlite_artifact_root(uri)
    with tracking.store_lock(uri):
        try:
            if db is not None:
                embedded.ensure_created(db, root)
            try:
                client = MlflowClient(tracking_uri=uri)
            except UnsupportedModelRegistryStoreURIException:
                raise
            except Exception as e:
                # Only a SQLite file MLflow cannot open is ours to judge; anything
                # else is MLflow's to report.
                if db is None or not db.exists() or not embedded.repair(db, uri, root, e):
                    raise
                client = MlflowClient(tracking_uri=uri)
        except UnsupportedModelRegistryStoreURIException as e:
            raise tracking.unsupported_scheme(uri) from e
    return Edge(client, tracking.display(uri))


@contextlib.contextmanager
def failing(what: str, display_uri: str) -> Iterator[None]:
    """Turn an MLflow error no retry helps with into one line naming ``what``."""
    from mlflow.exceptions import MlflowException

    try:
        yield
    except MlflowException as e:
        raise mlflow_failures.mlflow_error(e, what, display_uri) from e


@contextlib.contextmanager
def _unless(codes: Sequence[str]) -> Iterator[list[bool]]:
    """Swallow an MLflow error whose error_code is in ``codes``; ``[True]`` if one was."""
    from mlflow.exceptions import MlflowException

    hit: list[bool] = []
    try:
        yield hit
    except MlflowException as e:
        if mlflow_failures.error_code(e) not in codes:
            raise
        hit.append(True)


def _pages(
    edge: Edge,
    what: str,
    fn: Any,
    *args: Any,
    limit: int | None = None,
    page_size: int = 1000,
    **kwargs: Any,
) -> list[Any]:
    """Every item of one of MLflow's paged searches (``page_token``), page after page;
    at most ``limit``."""
    out: list[Any] = []
    token: str | None = None
    while True:
        size = page_size if limit is None else min(page_size, limit - len(out))
        page = edge.call(what, fn, *args, max_results=size, page_token=token, **kwargs)
        out.extend(page)
        token = page.token
        if not token or (limit is not None and len(out) >= limit):
            return out


def _traces_in(edge: Edge, experiment_id: str) -> dict[str, Any]:
    """The experiment argument of ``search_traces``: MLflow 3.17 names it ``locations``
    (and warns on ``experiment_ids``)."""
    import inspect

    names = inspect.signature(edge.client.search_traces).parameters
    return {"locations" if "locations" in names else "experiment_ids": [experiment_id]}


# --- experiments ---------------------------------------------------------------------


def ping(edge: Edge) -> None:
    """One cheap call that needs the store or server to answer (doctor)."""
    with failing("listing experiments", edge.display_uri):
        edge.call("listing experiments", edge.client.search_experiments, max_results=1)


def get_experiment(edge: Edge, experiment_id: str, what: str) -> Experiment:
    return edge.call(what, edge.client.get_experiment, experiment_id)


def find_experiment(edge: Edge, experiment_id: str) -> Experiment | None:
    """The experiment ``experiment_id``, or None when MLflow cannot give it."""
    from mlflow.exceptions import MlflowException

    try:
        return get_experiment(edge, experiment_id, f"reading experiment {experiment_id}")
    except MlflowException:
        return None


def experiment_by_name(edge: Edge, name: str) -> Experiment | None:
    return edge.call(f"reading experiment {name!r}", edge.client.get_experiment_by_name, name)


def create_experiment(edge: Edge, name: str) -> str | None:
    """The new experiment's id; None when another process created it meanwhile."""
    with _unless(("RESOURCE_ALREADY_EXISTS",)):
        return str(edge.call(f"creating experiment {name!r}", edge.client.create_experiment, name))
    return None


def all_experiment_ids(edge: Edge) -> list[str]:
    """Every active experiment's id (for lookups with no experiment given)."""
    from mlflow.entities import ViewType

    found = _pages(
        edge, "listing experiments", edge.client.search_experiments, view_type=ViewType.ACTIVE_ONLY
    )
    return [str(e.experiment_id) for e in found]


# --- logged models ---------------------------------------------------------------------


def search_models(
    edge: Edge, what: str, experiment_ids: list[str], filter_string: str
) -> list[Any]:
    """The LoggedModels matching ``filter_string`` (up to MAX_SEARCH)."""
    return list(
        edge.call(
            what,
            edge.client.search_logged_models,
            experiment_ids=experiment_ids,
            filter_string=filter_string,
            max_results=MAX_SEARCH,
        )
    )


def newest_models(
    edge: Edge, experiment_ids: list[str], filter_string: str | None, limit: int | None
) -> list[Any]:
    """The LoggedModels matching ``filter_string``, newest first, at most ``limit``
    (None: every one, page after page)."""
    return _pages(
        edge,
        "listing versions",
        edge.client.search_logged_models,
        limit=limit,
        experiment_ids=experiment_ids,
        filter_string=filter_string,
        order_by=[{"field_name": "creation_time", "ascending": False}],
    )


def get_model(
    edge: Edge, model_id: str, absent: Sequence[str] = ("RESOURCE_DOES_NOT_EXIST",)
) -> Any:
    """The LoggedModel ``model_id``; None when MLflow answers one of the ``absent`` codes."""
    with _unless(absent):
        return edge.call(f"reading {model_id}", edge.client.get_logged_model, model_id)
    return None


def count_traces(edge: Edge, experiment_id: str, model_id: str, limit: int) -> int | None:
    """Traces linked to the model, up to ``limit``; None when the store cannot say."""
    from mlflow.exceptions import MlflowException

    try:
        page = edge.call(
            "counting linked traces",
            edge.client.search_traces,
            **_traces_in(edge, experiment_id),
            model_id=model_id,
            include_spans=False,
            max_results=limit,
        )
    except MlflowException:
        return None  # an older server: the count is a nicety
    return len(page)


def create_model(
    edge: Edge,
    experiment_id: str,
    name: str,
    params: Mapping[str, str],
    tags: Mapping[str, str],
    model_type: str | None,
) -> LoggedModel:
    """A new PENDING LoggedModel, its params and tags in the same call."""
    return edge.call(
        f"creating model {name}",
        edge.client.create_logged_model,
        experiment_id=experiment_id,
        name=name,
        params=dict(params) or None,
        tags=dict(tags),
        model_type=model_type,
    )


def delete_model(edge: Edge, model_id: str, what: str = "duplicate") -> None:
    """Delete a duplicate (or gc's old version); one already gone (someone else
    repaired it first) is fine."""
    with _unless(("RESOURCE_DOES_NOT_EXIST",)):
        edge.call(f"deleting {what} {model_id}", edge.client.delete_logged_model, model_id)


def add_tags(edge: Edge, model_id: str, tags: Mapping[str, str]) -> None:
    edge.call(f"tagging model {model_id}", edge.client.set_logged_model_tags, model_id, dict(tags))


def add_tags_unless_gone(edge: Edge, model_id: str, tags: Mapping[str, str]) -> bool:
    """:func:`add_tags`; False when the model is deleted.  A tag write on a deleted
    model answers INVALID_PARAMETER_VALUE (measured, MLflow 3.17), as a bad tag
    would: a read tells the two apart."""
    from mlflow.exceptions import MlflowException

    try:
        add_tags(edge, model_id, tags)
    except MlflowException:
        if get_model(edge, model_id) is None:
            return False
        raise
    return True


def finalize_ready(edge: Edge, model_id: str) -> None:
    from mlflow.entities import LoggedModelStatus

    edge.call(
        f"finalizing model {model_id}",
        edge.client.finalize_logged_model,
        model_id,
        LoggedModelStatus.READY,
    )


def artifact_paths(edge: Edge, model_id: str, path: str) -> list[str]:
    listed = edge.call(
        f"listing artifacts of {model_id}", edge.client.list_logged_model_artifacts, model_id, path
    )
    return [str(f.path) for f in listed]


def download_artifact(edge: Edge, model: Any, path: str, dest: str) -> str:
    """Download the model's artifact ``path`` into ``dest``; the local path."""
    import mlflow.artifacts

    uri = f"{model.artifact_location}/{path}"
    return str(
        edge.call(
            f"downloading {path} of {model.model_id}",
            mlflow.artifacts.download_artifacts,
            artifact_uri=uri,
            dst_path=dest,
            tracking_uri=edge.client.tracking_uri,
        )
    )


def upload_artifact(edge: Edge, model_id: str, local: str, path: str) -> None:
    name = os.path.basename(local)
    edge.call(
        f"uploading {name} to {model_id}", edge.client.log_model_artifact, model_id, local, path
    )


# --- prompts ----------------------------------------------------------------------------
# The prompt registry (pins.py).  Measured, MLflow 3.17 SQL store: an unknown prompt or
# version answers RESOURCE_DOES_NOT_EXIST, an unknown alias INVALID_PARAMETER_VALUE;
# versions are listed newest first; deleting a version deletes its aliases.


def get_prompt(edge: Edge, name: str) -> Any:
    """The prompt ``name`` (its metadata), or None when there is none."""
    with _unless(("RESOURCE_DOES_NOT_EXIST",)):
        return edge.call(f"reading prompt {name}", edge.client.get_prompt, name)
    return None


def prompt_version(edge: Edge, name: str, version_or_alias: str) -> Any:
    """The prompt version a number or an alias names (``latest``: the newest), or
    None when the prompt, the version or the alias does not exist."""
    codes = ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE")
    with _unless(codes):
        if version_or_alias.isdigit():
            fn: Any = edge.client.get_prompt_version
        else:
            fn = edge.client.get_prompt_version_by_alias
        return edge.call(f"reading prompt {name} {version_or_alias}", fn, name, version_or_alias)
    return None


class NotAPrompt(Exception):
    """MLflow refuses to list a name's prompt versions: the name is a registered
    model's.  ``str()``: MLflow's reason, without its API advice."""


def prompt_versions(edge: Edge, name: str) -> list[Any]:
    """Every version of the prompt ``name`` (none when it does not exist), page after
    page; :class:`NotAPrompt` when the name is a registered model's."""
    import time

    from mlflow.exceptions import MlflowException

    # A prompt being created by a racer is, for a moment, a registered model without
    # its prompt tag (measured, 6 racing registrations on a server): asked again, it
    # is a prompt.  One still refused after that is a model's name.
    for delay in (0.2, 0.5, 1.0, None):
        try:
            with _unless(("RESOURCE_DOES_NOT_EXIST",)):
                what = f"listing versions of prompt {name}"
                return _pages(edge, what, edge.client.search_prompt_versions, name)
            return []
        except MlflowException as e:
            if mlflow_failures.error_code(e) != "INVALID_PARAMETER_VALUE":
                raise
            if delay is None:
                raise NotAPrompt(str(e.message).split(". Use ", 1)[0].rstrip(".")) from e
            time.sleep(delay)
    return []


def create_prompt_version(
    edge: Edge, name: str, template: str, description: str, tags: Mapping[str, str]
) -> Any:
    """A new version of the prompt ``name`` (the prompt is created when missing, by
    us or by a racer), its tags set in the same call."""
    with _unless(("RESOURCE_ALREADY_EXISTS",)):
        edge.call(f"creating prompt {name}", edge.client.create_prompt, name)
    return edge.call(
        f"creating a version of prompt {name}",
        edge.client.create_prompt_version,
        name,
        template,
        description=description,
        tags=dict(tags),
    )


def delete_prompt_version(edge: Edge, name: str, version: int) -> None:
    """Delete a duplicate prompt version; one already gone is fine."""
    with _unless(("RESOURCE_DOES_NOT_EXIST",)):
        edge.call(
            f"deleting duplicate version {version} of prompt {name}",
            edge.client.delete_prompt_version,
            name,
            str(version),
        )


def link_prompt(edge: Edge, name: str, version: int, model_id: str) -> None:
    """MLflow's link of a prompt version to a model (the model's ``mlflow.linkedPrompts``
    tag).  MLflow reads the model through the global tracking URI, not the client's:
    it is ours for the duration of the call."""
    from mlflow.tracking._tracking_service import utils

    with utils._use_tracking_uri(edge.client.tracking_uri):
        edge.call(
            f"linking prompt {name} version {version} to {model_id}",
            edge.client.link_prompt_version_to_model,
            name,
            str(version),
            model_id,
        )


# --- evaluations ------------------------------------------------------------------------
# What `compare` reads (commands/compare.py, evaluations.py).  Measured, MLflow 3.17.2
# against a real server: an evaluation run finds no tag naming its model; the model's
# metrics name it (run_id), and the run's inputs hold the model (model_inputs) and the
# dataset (dataset_inputs[].dataset.digest).  None of these imports pandas or numpy.


def runs_by_id(edge: Edge, experiment_ids: Sequence[str], run_ids: Sequence[str]) -> list[Any]:
    """The runs ``run_ids`` (in ``experiment_ids``), with their inputs: one search per
    100 ids (``attributes.run_id IN (...)``)."""
    out: list[Any] = []
    ids = sorted(set(run_ids))
    for i in range(0, len(ids), MAX_SEARCH):
        quoted = ", ".join(f"'{r}'" for r in ids[i : i + MAX_SEARCH])
        out += _pages(
            edge,
            "reading evaluation runs",
            edge.client.search_runs,
            list(experiment_ids),
            page_size=MAX_SEARCH,
            filter_string=f"attributes.run_id IN ({quoted})",
        )
    return out


def run_traces(edge: Edge, experiment_id: str, run_id: str) -> list[Any]:
    """Every trace of the run ``run_id``, with its spans and assessments: an evaluation's
    rows.  With spans: the request preview is cut at 1,000 characters (measured)."""
    return _pages(
        edge,
        f"reading the rows of run {run_id}",
        edge.client.search_traces,
        page_size=MAX_SEARCH,
        **_traces_in(edge, experiment_id),
        run_id=run_id,
        include_spans=True,
    )


def has_compare_evaluations() -> bool:
    """Whether this MLflow has ``mlflow.genai.compare_evaluations`` (3.17.2 has not)."""
    import mlflow.genai

    return hasattr(mlflow.genai, "compare_evaluations")


def compare_runs(edge: Edge, candidate_run_id: str, baseline_run_id: str) -> Any:
    """MLflow's own paired comparison of two evaluation runs (its ``ComparisonResult``),
    logging nothing; it imports numpy, pandas and scipy (the full mlflow).  It reads
    through the tracking URI of the environment (call inside tracking.mlflow_env)."""
    import mlflow.genai

    name = "compare_evaluations"  # not in 3.17.2's mlflow.genai (nor its type stubs)
    return edge.call(
        "comparing the evaluation runs",
        getattr(mlflow.genai, name),
        candidate_run_id,
        baseline_run_id,
        log_results=False,
    )


# --- outside a client -----------------------------------------------------------------


def databricks_host(uri: str) -> str | None:
    """The host of a Databricks profile (``databricks://name``, ~/.databrickscfg)."""
    from mlflow.exceptions import MlflowException
    from mlflow.utils.databricks_utils import get_databricks_host_creds

    try:
        return str(get_databricks_host_creds(uri).host)
    except MlflowException:
        return None  # not configured: no link; registering would have failed first


def activate(uri: str, experiment_id: str, model_id: str) -> None:
    """Make ``model_id`` MLflow's active model, in this process (the Python API)."""
    import mlflow

    mlflow.set_tracking_uri(uri)
    mlflow.set_experiment(experiment_id=experiment_id)
    mlflow.set_active_model(model_id=model_id)
