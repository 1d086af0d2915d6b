"""The retry policy every MLflow call goes through: :class:`Edge` wraps one client.

No MLflow import here (the client is made in mlflow_api.connect); what a failure
is, and the line it becomes, is mlflow_failures.py's to say.
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from mlflow_gitver import mlflow_failures
from mlflow_gitver.errors import GitverError, ServerUnavailable
from mlflow_gitver.mlflow_failures import RETRY_SECONDS_VAR

if TYPE_CHECKING:
    from mlflow import MlflowClient

T = TypeVar("T")

DEFAULT_RETRY_SECONDS = 10.0
# A server that refuses connections is down, not busy: give up sooner, so a git
# hook with no server to talk to does not hold the terminal.
REFUSED_RETRY_SECONDS = 2.0


def float_env(name: str, default: float) -> float:
    """A number of seconds from the environment (``default`` when unset)."""
    raw = os.environ.get(name, "")
    try:
        return max(0.0, float(raw)) if raw else default
    except ValueError as e:
        raise GitverError(f"{name}={raw!r} is not a number of seconds; fix or unset it") from e


class Edge:
    """An MlflowClient with our retry policy and a redacted URI for messages."""

    def __init__(self, client: MlflowClient, display_uri: str) -> None:
        self.client = client
        self.display_uri = display_uri
        self.budget = float_env(RETRY_SECONDS_VAR, DEFAULT_RETRY_SECONDS)

    def call(self, what: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """``fn(*args, **kwargs)``, retried with backoff on transient failures.

        Raises AuthFailed at once on 401/403, ServerUnavailable when the budget is
        spent, and re-raises any other MLflow error for the caller to judge.
        """
        start = time.monotonic()
        delay = 0.1
        attempts = 0
        while True:
            attempts += 1
            try:
                return fn(*args, **kwargs)
            except Exception as e:
                kind, reason = mlflow_failures.classify(e)
                if kind == "other":
                    raise
                if kind == "wrong-uri":
                    raise mlflow_failures.wrong_uri(self.display_uri, reason, what) from e
                if kind == "auth":
                    raise mlflow_failures.auth_failed(self.display_uri, reason, what) from e
                budget = (
                    min(self.budget, REFUSED_RETRY_SECONDS) if kind == "refused" else self.budget
                )
                elapsed = time.monotonic() - start
                if elapsed + delay > budget:
                    raise ServerUnavailable(
                        mlflow_failures.unavailable_text(
                            self.display_uri, reason, attempts, elapsed, what
                        )
                    ) from e
                time.sleep(delay * (0.5 + random.random()))
                delay = min(delay * 2, 2.0)
