"""The exactly-once protocol, in process against the embedded SQLite store."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from mlflow_gitver import registry, tracking
from mlflow_gitver.config import Config
from mlflow_gitver.context import open_repo
from mlflow_gitver.errors import Conflict, GitverError
from mlflow_gitver.gitstate import state_of
from mlflow_gitver.mlflow_api import Edge, connect
from mlflow_gitver.naming import TAG_AUTHOR, TAG_SUBJECT, VersionPlan
from mlflow_gitver.versions import register_state


@pytest.fixture
def edge(tmp_path: Path) -> Iterator[Edge]:
    uri = f"sqlite:///{tmp_path}/store/mlflow.db"
    (tmp_path / "store").mkdir()
    with tracking.mlflow_env(uri):
        yield connect(uri)


def _cfg(**kw: object) -> Config:
    return Config(name="reg-app", source="test", **kw)


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


def test_heals_a_pending_model_instead_of_duplicating(repo: Path, edge: Edge) -> None:
    r = open_repo(repo)
    plan = VersionPlan(r, state_of(r), _cfg(params={"k": "v"}))
    spec = plan.cheap()
    # What a registration killed after its first call leaves behind: PENDING, and
    # without the tags that cost git calls.
    half = edge.client.create_logged_model("0", name=spec.name, params=spec.params, tags=spec.tags)
    found = registry.find_or_create(edge, "0", plan)
    assert found.model.model_id == half.model_id
    assert found.completed and not found.created
    healed = edge.client.get_logged_model(half.model_id)
    assert str(healed.status) == "READY"
    # Completion is the protocol's (no callback): the full plan's tags were added.
    assert TAG_AUTHOR in healed.tags and TAG_SUBJECT in healed.tags
    assert len(edge.client.search_logged_models(experiment_ids=["0"])) == 1


def test_a_ready_model_is_only_topped_up(repo: Path, edge: Edge) -> None:
    r = open_repo(repo)
    plan = VersionPlan(r, state_of(r), _cfg())
    spec = plan.cheap()
    made = edge.client.create_logged_model("0", name=spec.name, tags=spec.tags)
    edge.client.finalize_logged_model(made.model_id, "READY")
    found = registry.find_or_create(edge, "0", plan)
    assert (found.created, found.completed) == (False, False)
    assert TAG_AUTHOR in edge.client.get_logged_model(made.model_id).tags


def test_conflict_lists_every_differing_key(repo: Path, edge: Edge) -> None:
    r = open_repo(repo)
    old = VersionPlan(r, state_of(r), _cfg(params={"a": "1", "b": "2"})).cheap()
    edge.client.create_logged_model("0", name=old.name, params=old.params, tags=old.tags)
    new_plan = VersionPlan(r, state_of(r), _cfg(params={"a": "1", "b": "3", "c": "4"}))
    with pytest.raises(Conflict) as info:
        registry.find_or_create(edge, "0", new_plan)
    msg = str(info.value)
    assert "b: registered '2', now '3'" in msg and "c: registered (absent), now '4'" in msg
    assert "a:" not in msg
    assert info.value.exit_code == 1


def test_collision_without_a_short_hash_to_lengthen(repo: Path, edge: Edge) -> None:
    r = open_repo(repo)
    plan = VersionPlan(r, state_of(r), _cfg(name_template="{name}-{sha}"))
    edge.client.create_logged_model(
        "0", name=plan.cheap().name, tags={"mlflow_gitver.version_id": "x"}
    )
    with pytest.raises(GitverError, match="cannot be lengthened"):
        registry.find_or_create(edge, "0", plan)


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
