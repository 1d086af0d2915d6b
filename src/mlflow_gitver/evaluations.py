"""The evaluations of a version, and their rows: what ``compare`` reads from MLflow.

Measured against a real ``mlflow server`` (MLflow 3.17.2), for a run of
``mlflow.genai.evaluate(data, predict_fn, scorers=[code scorers], model_id=M)`` and
for one made in a process that has only ``MLFLOW_ACTIVE_MODEL_ID=M`` set (the same):

- the run has no tag naming the model (``mlflow.runType`` is ``genai_evaluate``); the
  model's metrics do: ``LoggedModel.metrics`` holds ``<scorer>/mean`` with the run's
  ``run_id``, in ``get_logged_model`` and in every ``search_logged_models`` result, so
  the runs of many versions are known from one model search, with no call per version;
- the run's inputs hold the model (``inputs.model_inputs``) and the dataset
  (``inputs.dataset_inputs[].dataset``: ``digest``, ``name``); the digest depends only
  on the data given (inputs and expectations), not on the outputs: the same list of
  rows evaluated for two versions has one digest, a changed row another;
- ``search_runs(filter_string="attributes.run_id IN ('a', 'b')")`` reads many runs
  in one call;
- the rows are the run's traces (``search_traces(run_id=...)``): the request is the
  row's inputs (``trace.data.request``, JSON; with ``include_spans=False`` only a
  preview cut at 1,000 characters remains, so spans are read), each scorer's value an
  assessment (``Feedback``: ``name``, ``feedback.value``, ``run_id``); expectations are
  assessments too (``Expectation``) and are not scores;
- a scorer that raised on a row leaves no assessment for it;
- with ``MLFLOW_GENAI_EVAL_SKIP_TRACE_VALIDATION=True`` the run logs its metrics but no
  trace at all: no rows to compare (said so, exit 4);
- none of it imports pandas or numpy (run with both blocked): ``compare`` runs in the
  light environment; only ``mlflow.genai.evaluate`` needs the full ``mlflow``.

An evaluation that logged no metric (no scorer) is not found: nothing links its run.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mlflow_gitver.evalstats import Rows, input_key, numeric

if TYPE_CHECKING:
    from mlflow_gitver.mlflow_edge import Edge


@dataclass(frozen=True)
class Version:
    """A registered version, as far as ``compare`` needs it."""

    model_id: str
    model_name: str
    experiment_id: str
    commit: str
    dirty: bool
    run_ids: tuple[str, ...]  # the runs that logged metrics on the model


@dataclass(frozen=True)
class Evaluation:
    run_id: str
    experiment_id: str
    digest: str  # the dataset's digest
    dataset: str  # the dataset's name
    started: int  # the run's start, ms

    def as_json(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "experiment_id": self.experiment_id,
            "dataset_digest": self.digest,
            "dataset_name": self.dataset,
        }


@dataclass
class Table:
    """One evaluation's rows: input key -> scorer -> values, and what was left out."""

    rows: dict[str, dict[str, list[float]]] = field(default_factory=dict)
    not_numeric: set[str] = field(default_factory=set)  # scorers with a non-numeric value
    duplicates: int = 0  # rows whose input an earlier row had

    @property
    def scorers(self) -> set[str]:
        return {s for by_scorer in self.rows.values() for s in by_scorer}

    def view(self) -> Rows:
        return self.rows


def version_of_model(model: Any) -> Version:
    from mlflow_gitver.naming import GIT_COMMIT, GIT_DIRTY

    tags = dict(model.tags or {})
    return Version(
        model_id=model.model_id,
        model_name=model.name,
        experiment_id=str(model.experiment_id),
        commit=tags.get(GIT_COMMIT, ""),
        dirty=tags.get(GIT_DIRTY) == "true",
        run_ids=_run_ids(m.run_id for m in (model.metrics or [])),
    )


def version_of_info(info: Mapping[str, Any]) -> Version:
    """From what ``show`` finds (commands/show.py's JSON of a version)."""
    return Version(
        model_id=info["model_id"],
        model_name=info["model_name"],
        experiment_id=str(info["experiment_id"]),
        commit=info["commit"] or "",
        dirty=bool(info["dirty"]),
        run_ids=_run_ids(m["run_id"] for m in info["metrics"]),
    )


def _run_ids(ids: Iterable[str | None]) -> tuple[str, ...]:
    return tuple(sorted({r for r in ids if r}))


def evaluations_of(edge: Edge, versions: Sequence[Version]) -> dict[str, list[Evaluation]]:
    """model id -> its evaluations (runs with a dataset input), newest first; one
    search for the runs of all ``versions``."""
    from mlflow_gitver import mlflow_api

    wanted = {r for v in versions for r in v.run_ids}
    if not wanted:
        return {v.model_id: [] for v in versions}
    eids = sorted({v.experiment_id for v in versions})
    by_run: dict[str, list[Evaluation]] = {}
    for run in mlflow_api.runs_by_id(edge, eids, sorted(wanted)):
        inputs = getattr(run, "inputs", None)
        datasets = list(getattr(inputs, "dataset_inputs", None) or [])
        by_run[run.info.run_id] = [
            Evaluation(
                run_id=run.info.run_id,
                experiment_id=str(run.info.experiment_id),
                digest=str(d.dataset.digest),
                dataset=str(d.dataset.name),
                started=int(run.info.start_time or 0),
            )
            for d in datasets
        ]
    out: dict[str, list[Evaluation]] = {}
    for v in versions:
        found = [e for r in v.run_ids for e in by_run.get(r, [])]
        out[v.model_id] = sorted(found, key=lambda e: (-e.started, e.run_id))
    return out


def table_of(edge: Edge, evaluation: Evaluation) -> Table:
    """The rows of ``evaluation``: each trace's inputs and its scorers' values."""
    from mlflow_gitver import mlflow_api

    table = Table()
    for trace in mlflow_api.run_traces(edge, evaluation.experiment_id, evaluation.run_id):
        key = input_key(_inputs(trace))
        if key in table.rows:
            table.duplicates += 1
        by_scorer = table.rows.setdefault(key, {})
        for a in trace.info.assessments or []:
            feedback = getattr(a, "feedback", None)
            if feedback is None or getattr(a, "valid", True) is False:
                continue  # an expectation, or a value someone overrode
            if a.run_id and a.run_id != evaluation.run_id:
                continue  # scored later, by another run
            if feedback.error is not None:
                continue  # the scorer failed on this row: no value
            value = numeric(feedback.value)
            if value is None:
                table.not_numeric.add(a.name)
                continue
            by_scorer.setdefault(a.name, []).append(value)
    return table


def _inputs(trace: Any) -> Any:
    raw = trace.data.request
    if raw is None:
        raw = trace.info.request_preview
    try:
        return json.loads(raw) if isinstance(raw, str) else raw
    except ValueError:
        return raw
