"""doctor's checks of the tracking URI: its scheme, the server's /health or the store,
and the experiment, against real stores and servers on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mlflow_gitver import mlflow_api, tracking
from mlflow_gitver.commands.doctor.checks import Check
from mlflow_gitver.commands.doctor.target import experiment, scheme_ok, store_edge, uri_source
from mlflow_gitver.main import main
from testing.doctor import doctor
from testing.repos import write
from testing.server import StatusServer


@pytest.fixture
def store(tmp_path: Path) -> Iterator[tuple[str, Any]]:
    """A real, migrated embedded store: its URI and an Edge to it."""
    uri = f"sqlite:///{tmp_path}/store/mlflow.db"
    (tmp_path / "store").mkdir()
    with tracking.mlflow_env(uri):
        yield uri, mlflow_api.connect(uri)


@pytest.mark.server
def test_a_path_on_the_server_is_a_404(
    repo: Path, server_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    write(repo / ".mlflow-gitver.yaml", "name: app\n")
    code, checks = doctor(capsys, repo, "--tracking-uri", f"{server_url}/api")
    assert code == 1
    assert "HTTP 404 for /health" in checks["tracking URI"]


def test_secret_in_the_uri_is_never_printed(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(repo / ".mlflow-gitver.yaml", "name: app\n")
    code = main(["doctor", "--repo", str(repo), "--tracking-uri", "http://u:hunter2@127.0.0.1:1"])
    out = capsys.readouterr()
    assert code == 1 and "hunter2" not in out.out + out.err
    assert "cannot connect" in out.out


def test_uri_source_in_order_of_precedence(monkeypatch: pytest.MonkeyPatch) -> None:
    assert uri_source(None, None) == "the default"
    assert uri_source(None, "http://cfg") == "the config's tracking_uri"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://env")
    assert uri_source(None, "http://cfg") == "MLFLOW_TRACKING_URI"
    assert uri_source("http://cli", "http://cfg") == "--tracking-uri"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "")  # set but empty: not a choice
    assert uri_source(None, None) == "the default"


@pytest.mark.parametrize(
    "uri",
    [
        "databricks",
        "databricks://profile",
        "HTTPS://mlflow.example",
        "postgresql+psycopg2://u@h/db",
        "sqlite:///x.db",
        "mysql://h/db",
    ],
)
def test_schemes_mlflow_serves(uri: str) -> None:
    checks: list[Check] = []
    assert scheme_ok(uri, "--tracking-uri", checks) is True
    assert checks == []


@pytest.mark.parametrize(
    ("uri", "shown", "scheme"),
    [
        ("ftp://u:hunter2@h/x", "ftp://h/x", "ftp"),
        ("databricks-uc", "databricks-uc", "databricks-uc"),  # no ':': not a URI
        ("mlflow", "mlflow", "mlflow"),
    ],
)
def test_other_schemes_are_an_error(uri: str, shown: str, scheme: str) -> None:
    checks: list[Check] = []
    assert scheme_ok(uri, "MLFLOW_TRACKING_URI", checks) is False
    assert checks == [
        Check(
            "tracking URI",
            "error",
            f"{shown} (from MLFLOW_TRACKING_URI): unknown scheme {scheme!r}",
            "use http(s)://host:port, databricks, or sqlite:///path.db",
        )
    ]


@pytest.mark.parametrize("status", [500, 503])
def test_a_server_error_on_health_is_an_error(status: int) -> None:
    checks: list[Check] = []
    with StatusServer(status) as s:
        uri = f"http://127.0.0.1:{s.port}"
        assert store_edge(uri, "--tracking-uri", checks) is None
        assert s.requests == 1  # /health only: no API call after it failed
    assert checks == [
        Check("tracking URI", "error", f"{uri}: HTTP {status} for /health", "see the server's log")
    ]


def test_a_404_on_health_is_not_an_mlflow_root() -> None:
    checks: list[Check] = []
    with StatusServer(404) as s:
        uri = f"http://127.0.0.1:{s.port}/"
        assert store_edge(uri, "the default", checks) is None
    [check] = checks
    assert check.message == (
        f"{uri} (from the default): HTTP 404 for /health: not the root of an MLflow server"
    )


def test_a_missing_embedded_store_is_not_opened(tmp_path: Path) -> None:
    checks: list[Check] = []
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    assert store_edge(uri, "the default", checks) is None
    assert [c.level for c in checks] == ["ok"]
    assert not (tmp_path / "mlflow.db").exists()


def test_a_migrated_embedded_store_answers(store: tuple[str, Any]) -> None:
    uri, _ = store
    checks: list[Check] = []
    edge = store_edge(uri, "--tracking-uri", checks)
    assert edge is not None and edge.display_uri == uri
    # One line, the store's: a SQLite file has no server to answer.
    assert [(c.check, c.level) for c in checks] == [("store", "ok")]


def test_the_default_experiment(store: tuple[str, Any]) -> None:
    checks: list[Check] = []
    experiment(store[1], None, checks)
    assert checks == [Check("experiment", "ok", "Default (id 0)")]


def test_an_experiment_id_that_does_not_exist(store: tuple[str, Any]) -> None:
    uri, edge = store
    checks: list[Check] = []
    experiment(edge, ("id", "424242"), checks)
    assert checks == [
        Check(
            "experiment",
            "error",
            f"experiment id 424242 does not exist at {uri}",
            "pass an existing id, or a name (created if missing)",
        )
    ]


def test_an_experiment_by_name(store: tuple[str, Any]) -> None:
    _uri, edge = store
    checks: list[Check] = []
    experiment(edge, ("name", "agents"), checks)
    assert checks == [
        Check("experiment", "ok", "'agents' does not exist yet: the first registration creates it")
    ]
    eid = mlflow_api.create_experiment(edge, "agents")
    checks.clear()
    experiment(edge, ("name", "agents"), checks)
    assert checks == [Check("experiment", "ok", f"agents (id {eid})")]


def test_a_deleted_experiment_is_an_error(store: tuple[str, Any]) -> None:
    _uri, edge = store
    eid = mlflow_api.create_experiment(edge, "old")
    edge.client.delete_experiment(eid)
    for choice in (("id", str(eid)), ("name", "old")):
        checks: list[Check] = []
        experiment(edge, choice, checks)
        assert checks == [
            Check(
                "experiment",
                "error",
                f"old (id {eid}) is deleted",
                f"mlflow experiments restore --experiment-id {eid}, or choose another experiment",
            )
        ], choice
