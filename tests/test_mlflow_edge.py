"""mlflow_edge.py: the retry policy, through real MLflow clients and real sockets."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlflow_gitver import mlflow_api, mlflow_failures, tracking
from mlflow_gitver.errors import AuthFailed, GitverError, ServerUnavailable
from mlflow_gitver.mlflow_edge import Edge
from testing.server import StatusServer, free_port


def test_closed_port_is_server_unavailable() -> None:
    uri = f"http://127.0.0.1:{free_port()}"
    with tracking.mlflow_env(uri):
        edge = mlflow_api.connect(uri)
        edge.budget = 0.5
        with pytest.raises(ServerUnavailable, match="connection refused"):
            mlflow_api.get_experiment(edge, "0", "reading")


@pytest.mark.parametrize("status", [401, 403])
def test_auth_failures_are_not_retried(status: int) -> None:
    with StatusServer(status) as srv:
        uri = f"http://127.0.0.1:{srv.port}"
        with tracking.mlflow_env(uri):
            edge = mlflow_api.connect(uri)
            with pytest.raises(AuthFailed, match=f"HTTP {status}"):
                mlflow_api.get_experiment(edge, "0", "reading")
        assert srv.requests == 1


def test_retry_budget_from_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    with tracking.mlflow_env(uri):
        edge = mlflow_api.connect(uri)
    monkeypatch.setenv(mlflow_failures.RETRY_SECONDS_VAR, "nope")
    with pytest.raises(GitverError, match=mlflow_failures.RETRY_SECONDS_VAR):
        Edge(edge.client, "x")
    monkeypatch.setenv(mlflow_failures.RETRY_SECONDS_VAR, "3")
    assert Edge(edge.client, "x").budget == 3.0
