"""What an MLflow failure means, judged on the exceptions MLflow's client really raises
(a real server, a closed port, a real HTTP server answering one status), and the
one-line messages made of them."""

from __future__ import annotations

import socket
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from mlflow_gitver import mlflow_failures, tracking
from mlflow_gitver.errors import EXIT_FAILURE, EXIT_USAGE, AuthFailed
from testing.server import StatusServer, free_port


def _raised(uri: str, call: Callable[[Any], object]) -> BaseException:
    """What MLflow's own client raises for ``call(client)`` at ``uri`` (its retries
    off, as every command runs it)."""
    from mlflow.tracking import MlflowClient

    with tracking.mlflow_env(uri):
        try:
            call(MlflowClient(uri))
        except Exception as e:  # the exception under test
            return e
    raise AssertionError(f"{uri}: the call succeeded")


def _get_experiment(client: Any) -> object:
    return client.get_experiment("0")


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        (
            "API request to endpoint /api/2.0/mlflow/x failed with error code 404 != 200",
            "wrong-uri",
        ),
        ("Failed to establish a new connection: [Errno 111] Connection refused", "refused"),
        ("API request to http://h failed with exception Read timed out", "transient"),
        ("API request to http://h failed with too many 503 error responses", "transient"),
        ("(sqlite3.OperationalError) database is locked", "transient"),
        ("RESOURCE_DOES_NOT_EXIST: no such model", "other"),
    ],
)
def test_failures_are_classified_by_their_text(text: str, kind: str) -> None:
    assert mlflow_failures.classify(RuntimeError(text))[0] == kind


def test_a_closed_port_is_refused() -> None:
    e = _raised(f"http://127.0.0.1:{free_port()}", _get_experiment)
    assert mlflow_failures.classify(e) == ("refused", "connection refused")
    # MLflow calls it INTERNAL_ERROR, as it does a 5xx: only the text tells them apart.
    assert mlflow_failures.error_code(e) == "INTERNAL_ERROR"


@pytest.mark.parametrize("status", [401, 403])
def test_a_refused_credential_is_auth(status: int) -> None:
    with StatusServer(status) as s:
        e = _raised(f"http://127.0.0.1:{s.port}", _get_experiment)
    assert mlflow_failures.classify(e) == ("auth", f"HTTP {status}")


@pytest.mark.parametrize("status", [429, 500, 503])
def test_a_server_error_is_transient(status: int) -> None:
    with StatusServer(status) as s:
        e = _raised(f"http://127.0.0.1:{s.port}", _get_experiment)
        assert s.requests == 1  # MLflow's own retries are off: ours decide
    assert mlflow_failures.classify(e) == ("transient", "server error")


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections and never answers."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(8)
        yield int(s.getsockname()[1])


def test_a_server_that_never_answers_times_out(
    silent_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "1")
    e = _raised(f"http://127.0.0.1:{silent_port}", _get_experiment)
    assert mlflow_failures.classify(e) == ("transient", "timed out")


def test_a_404_that_is_not_mlflows_is_the_wrong_uri() -> None:
    with StatusServer(404, b"<html>not here</html>") as s:
        e = _raised(f"http://127.0.0.1:{s.port}", _get_experiment)
    assert mlflow_failures.classify(e) == ("wrong-uri", "/api/2.0/mlflow/experiments/get")
    assert mlflow_failures.error_code(e) == "ENDPOINT_NOT_FOUND"


@pytest.mark.server
def test_a_path_after_the_servers_root_is_the_wrong_uri(server_url: str) -> None:
    e = _raised(f"{server_url}/mlflow", _get_experiment)
    kind, endpoint = mlflow_failures.classify(e)
    assert (kind, endpoint) == ("wrong-uri", "/api/2.0/mlflow/experiments/get")
    err = mlflow_failures.wrong_uri(f"{server_url}/mlflow", endpoint, "reading")
    assert err.exit_code == EXIT_USAGE
    assert err.message.startswith(
        f"{server_url}/mlflow answered HTTP 404 for /mlflow/api/2.0/mlflow/experiments/get "
        "while reading: there is no MLflow API at that path; the tracking URI must be the "
        f"server's root (e.g. {server_url})"
    )


@pytest.mark.server
def test_an_absent_resource_is_other_with_its_error_code(server_url: str) -> None:
    e = _raised(server_url, lambda c: c.get_logged_model("m-0123456789abcdef"))
    assert mlflow_failures.error_code(e) == "RESOURCE_DOES_NOT_EXIST"
    kind, reason = mlflow_failures.classify(e)
    assert kind == "other" and reason == str(e)


def test_a_locked_sqlite_database_is_transient(tmp_path: Path) -> None:
    # A real sqlite3.OperationalError (SQLite's, not through MLflow's store).
    db = tmp_path / "mlflow.db"
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    other = sqlite3.connect(db, timeout=0)
    try:
        with pytest.raises(sqlite3.OperationalError) as e:
            other.execute("CREATE TABLE t (x)")
    finally:
        other.close()
        holder.close()
    assert mlflow_failures.classify(e.value) == ("transient", "database busy")


def test_a_plain_exception_is_other_and_has_no_error_code() -> None:
    e = ValueError("unexpected")
    assert mlflow_failures.classify(e) == ("other", "unexpected")
    assert mlflow_failures.error_code(e) is None


def test_auth_failed_names_the_uri_and_the_variables_to_check() -> None:
    err = mlflow_failures.auth_failed("https://mlflow.example", "HTTP 401", "registering m")
    assert isinstance(err, AuthFailed) and err.exit_code == EXIT_FAILURE
    assert err.message == (
        "https://mlflow.example refused the request (HTTP 401) while registering m; "
        "check MLFLOW_TRACKING_TOKEN or MLFLOW_TRACKING_USERNAME/MLFLOW_TRACKING_PASSWORD "
        "(or your Databricks auth)"
    )


def test_unavailable_text_counts_attempts() -> None:
    one = mlflow_failures.unavailable_text("http://h:5000", "connection refused", 1, 0.04, "x")
    assert one.startswith(
        "cannot reach the MLflow tracking server at http://h:5000 "
        "(connection refused, 1 attempt in 0.0s) while x; "
    )
    many = mlflow_failures.unavailable_text("http://h:5000", "timed out", 3, 12.345, "x")
    assert "(timed out, 3 attempts in 12.3s)" in many
    assert many.endswith("(MLFLOW_GITVER_RETRY_SECONDS sets how long to retry)")


def test_wrong_uri_without_an_endpoint_names_the_uris_path() -> None:
    err = mlflow_failures.wrong_uri("http://h:5000", "", "reading")
    assert err.message.startswith("http://h:5000 answered HTTP 404 for / while reading")
    err = mlflow_failures.wrong_uri("http://h:5000/prefix/", "", "reading")
    assert "HTTP 404 for /prefix/ while" in err.message and "(e.g. http://h:5000)" in err.message


def test_mlflow_error_is_one_short_line_without_credentials() -> None:
    # Built by hand: a server echoing a credential back cannot be asked for.
    text = "boom\nat http://alice:hunter2@h:5000/api\n" + "y" * 1000
    err = mlflow_failures.mlflow_error(RuntimeError(text), "registering m", "http://h:5000")
    assert err.exit_code == EXIT_FAILURE
    assert "\n" not in err.message and "hunter2" not in err.message
    assert err.message.startswith("MLflow at http://h:5000 failed while registering m: boom at ")
    assert err.message.endswith("...")
    assert len(err.message) == len("MLflow at http://h:5000 failed while registering m: ") + 300
    short = mlflow_failures.mlflow_error(RuntimeError("  no\n"), "x", "u")
    assert short.message == "MLflow at u failed while x: no"
