"""What links to a version, made for real: a traced process, an evaluation run."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap


def trace(uri: str, model_id: str, experiment_id: str) -> None:
    """One ``@mlflow.trace`` call in a child process that has MLFLOW_ACTIVE_MODEL_ID
    (no code names the model: MLflow links it), flushed before it exits."""
    code = textwrap.dedent(
        """
        import mlflow

        @mlflow.trace
        def answer(q):
            return q.upper()

        answer("hi")
        mlflow.flush_trace_async_logging()
        """
    )
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")},
        "MLFLOW_TRACKING_URI": uri,
        "MLFLOW_ACTIVE_MODEL_ID": model_id,
        "MLFLOW_EXPERIMENT_ID": experiment_id,
    }
    subprocess.run([sys.executable, "-c", code], env=env, check=True, timeout=300)


def evaluate(uri: str, experiment_id: str, model_id: str) -> None:
    """A run that logs a metric on the model, as ``mlflow.genai.evaluate`` does."""
    import mlflow

    mlflow.set_tracking_uri(uri)
    with mlflow.start_run(experiment_id=experiment_id):
        mlflow.log_metric("exact/mean", 0.9, model_id=model_id)
