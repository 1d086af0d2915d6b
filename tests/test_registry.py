"""The exactly-once protocol, in process against the embedded SQLite store."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from mlflow_gitver import registry, tracking
from mlflow_gitver.config import Config
from mlflow_gitver.context import open_repo
from mlflow_gitver.errors import GitverError
from mlflow_gitver.gitstate import state_of
from mlflow_gitver.naming import build_spec
from mlflow_gitver.service import connect, register_state
from testing.server import StatusServer, free_port


@pytest.fixture
def edge(tmp_path: Path) -> Iterator[registry.Edge]:
    uri = f"sqlite:///{tmp_path}/store/mlflow.db"
    (tmp_path / "store").mkdir()
    with tracking.mlflow_env(uri):
        yield connect(uri)


def _cfg(**kw: object) -> Config:
    return Config(name="reg-app", source="test", **kw)


def _noop(edge: registry.Edge, model: object, spec: object) -> None:
    pass


def test_winner_is_ready_first_then_oldest_then_id() -> None:
    from mlflow.entities import LoggedModel, LoggedModelStatus

    def m(mid: str, ts: int, status: LoggedModelStatus) -> LoggedModel:
        return LoggedModel(
            experiment_id="0", model_id=mid, name="n", artifact_location="x",
            creation_timestamp=ts, last_updated_timestamp=ts, status=status,
        )  # fmt: skip

    pending_old = m("m-a", 1, LoggedModelStatus.PENDING)
    ready_new = m("m-b", 5, LoggedModelStatus.READY)
    ready_tie = m("m-0", 5, LoggedModelStatus.READY)
    assert registry.pick([pending_old, ready_new]) is ready_new
    assert registry.pick([ready_new, ready_tie]) is ready_tie
    assert registry.pick([pending_old, m("m-c", 2, LoggedModelStatus.PENDING)]) is pending_old


def test_heals_a_pending_model_instead_of_duplicating(repo: Path, edge: registry.Edge) -> None:
    state = state_of(open_repo(repo))
    spec = build_spec(_cfg(params={"k": "v"}), state)
    # What a registration killed after its first call leaves behind.
    half = edge.client.create_logged_model("0", name=spec.name, params=spec.params, tags=spec.tags)
    completed = []

    def complete(e: registry.Edge, model: object, s: object) -> None:
        completed.append(model)
        registry.finalize(e, model)  # type: ignore[arg-type]

    found = registry.find_or_create(
        edge, "0", lambda n: build_spec(_cfg(params={"k": "v"}), state, sha_len=n), complete, 40
    )
    assert found.model.model_id == half.model_id and not found.created
    assert len(completed) == 1
    assert str(edge.client.get_logged_model(half.model_id).status) == "READY"


def test_conflict_lists_every_differing_key(repo: Path, edge: registry.Edge) -> None:
    state = state_of(open_repo(repo))
    old = build_spec(_cfg(params={"a": "1", "b": "2"}), state)
    edge.client.create_logged_model("0", name=old.name, params=old.params, tags=old.tags)
    new_cfg = _cfg(params={"a": "1", "b": "3", "c": "4"})
    with pytest.raises(registry.Conflict) as info:
        registry.find_or_create(
            edge, "0", lambda n: build_spec(new_cfg, state, sha_len=n), _noop, 40
        )
    msg = str(info.value)
    assert "b: registered '2', now '3'" in msg and "c: registered (absent), now '4'" in msg
    assert "a:" not in msg
    assert info.value.exit_code == 1


def test_collision_without_a_short_hash_to_lengthen(repo: Path, edge: registry.Edge) -> None:
    state = state_of(open_repo(repo))
    cfg = _cfg(name_template="{name}-{sha}")
    spec = build_spec(cfg, state)
    edge.client.create_logged_model("0", name=spec.name, tags={"mlflow_gitver.version_id": "x"})
    with pytest.raises(GitverError, match="cannot be lengthened"):
        registry.find_or_create(edge, "0", lambda n: build_spec(cfg, state, sha_len=n), _noop, 40)


def test_register_twice_in_process_is_idempotent(repo: Path) -> None:
    r = open_repo(repo)
    cfg = _cfg(params={"p": "1"})
    first = register_state(r, state_of(r), cfg)
    second = register_state(r, state_of(r), cfg)
    assert first.created and not second.created
    assert first.model_id == second.model_id
    assert first.tracking_uri == f"sqlite:///{repo.resolve()}/mlflow.db"
    # Artifacts live next to the database, not in whatever directory we ran from.
    assert not (Path.cwd() / "mlruns").exists()
    assert (repo / "mlflow.db").exists()
    assert not state_of(r).dirty  # the store never changes the version


def test_closed_port_is_server_unavailable() -> None:
    uri = f"http://127.0.0.1:{free_port()}"
    with tracking.mlflow_env(uri):
        edge = connect(uri)
        edge.budget = 0.5
        with pytest.raises(registry.ServerUnavailable, match="connection refused"):
            edge.call("reading", edge.client.get_experiment, "0")


@pytest.mark.parametrize("status", [401, 403])
def test_auth_failures_are_not_retried(status: int) -> None:
    with StatusServer(status) as srv:
        uri = f"http://127.0.0.1:{srv.port}"
        with tracking.mlflow_env(uri):
            edge = connect(uri)
            with pytest.raises(registry.AuthFailed, match=f"HTTP {status}"):
                edge.call("reading", edge.client.get_experiment, "0")
        assert srv.requests == 1


def test_other_mlflow_errors_are_raised_for_the_caller(edge: registry.Edge) -> None:
    from mlflow.exceptions import MlflowException

    with pytest.raises(MlflowException):
        edge.call("reading", edge.client.get_logged_model, "m-does-not-exist")
    err = registry.mlflow_error(ValueError("x" * 1000), "doing", "http://h")
    assert len(str(err)) < 400 and err.exit_code == 1


def test_retry_budget_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, edge: registry.Edge
) -> None:
    monkeypatch.setenv(registry.RETRY_SECONDS_VAR, "nope")
    with pytest.raises(GitverError, match=registry.RETRY_SECONDS_VAR):
        registry.Edge(edge.client, "x")
    monkeypatch.setenv(registry.RETRY_SECONDS_VAR, "3")
    assert registry.Edge(edge.client, "x").budget == 3.0
