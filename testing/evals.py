"""Real ``mlflow.genai.evaluate`` runs with deterministic code scorers (no LLM, no network).

The app answers ``q<i>`` with ``Q<i>``; a job names the rows it gets wrong, and the
rows where the ``polite`` scorer raises (a scorer error leaves no value).  Scorers:
``exact`` (a bool), ``polite`` ("yes"/"no") and ``overlap`` (a number in [0, 1]); all
higher-is-better, as ``compare`` takes every scorer to be.  All jobs of one
call run in one child process (one MLflow import), each linked to its model by
``model_id=``, or, with ``active=True``, by ``MLFLOW_ACTIVE_MODEL_ID`` alone in a process
of its own, as a CI step would.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Sequence
from dataclasses import asdict, dataclass

ROWS = 20

_SCRIPT = textwrap.dedent(
    """
    import json, os, sys
    import mlflow
    from mlflow.genai.scorers import scorer

    jobs = json.loads(sys.argv[1])
    state = {}

    @scorer
    def exact(inputs, outputs, expectations):
        return outputs == expectations["answer"]

    @scorer
    def polite(inputs, outputs):
        if inputs["q"] in state["broken"]:
            raise ValueError("polite cannot judge this row")
        return "yes" if outputs.endswith(("0", "2", "4", "6", "8")) else "no"

    @scorer
    def mood(outputs):
        return "cheerful"  # text: not a number, never compared

    @scorer
    def overlap(outputs, expectations):
        want = expectations["answer"]
        return sum(c in outputs for c in want) / len(want)

    def predict(q):
        return "wrong" if q in state["wrong"] else q.upper()

    for job in jobs:
        state["wrong"] = {f"q{i}" for i in job["wrong"]}
        state["broken"] = {f"q{i}" for i in job["broken"]}
        data = [
            {"inputs": {"q": f"q{i}"}, "expectations": {"answer": f"Q{i}"}}
            for i in range(job["rows"])
        ]
        if job["dataset"] == "repeated":
            data.append(dict(data[0]))  # q0 twice: 21 rows, another digest
        elif job["dataset"] != "main":
            # Other inputs, the same size: MLflow gives it the same digest.
            data[0]["inputs"]["q"] = job["dataset"]
        mlflow.set_experiment(experiment_id=job["experiment_id"])
        model = {} if job["active"] else {"model_id": job["model_id"]}
        scorers = [exact, polite, overlap] + ([mood] if job["mood"] else [])
        mlflow.genai.evaluate(data=data, predict_fn=predict, scorers=scorers, **model)
    """
)


@dataclass(frozen=True)
class Job:
    model_id: str
    experiment_id: str
    wrong: Sequence[int] = ()
    broken: Sequence[int] = ()
    # "repeated": row 0 twice; any other value: row 0's input (the digest stays the same)
    dataset: str = "main"
    mood: bool = False  # also the text-valued scorer "mood"
    skip_traces: bool = False  # MLFLOW_GENAI_EVAL_SKIP_TRACE_VALIDATION=True: no traces
    rows: int = ROWS
    active: bool = False  # linked by MLFLOW_ACTIVE_MODEL_ID, not model_id=


def _env(uri: str, model_id: str | None, skip_traces: bool = False) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    env["MLFLOW_TRACKING_URI"] = uri
    if skip_traces:
        env["MLFLOW_GENAI_EVAL_SKIP_TRACE_VALIDATION"] = "True"
    if model_id is not None:
        env["MLFLOW_ACTIVE_MODEL_ID"] = model_id
    return env


def evaluate(uri: str, jobs: Sequence[Job]) -> None:
    """Run the jobs: those with ``model_id=`` in one process, each ``active`` or
    ``skip_traces`` one alone."""
    direct = [_plain(j) for j in jobs if not (j.active or j.skip_traces)]
    if direct:
        _run(json.dumps(direct), _env(uri, None))
    for j in jobs:
        if j.active or j.skip_traces:
            _run(
                json.dumps([_plain(j)]), _env(uri, j.model_id if j.active else None, j.skip_traces)
            )


def _plain(job: Job) -> dict[str, object]:
    return {**asdict(job), "wrong": list(job.wrong), "broken": list(job.broken)}


def _run(jobs: str, env: dict[str, str]) -> None:
    done = subprocess.run(
        [sys.executable, "-c", _SCRIPT, jobs], env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-4000:]
