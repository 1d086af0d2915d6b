"""Looking a version up without creating it, in process against the embedded store."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlflow_gitver.config import Config
from mlflow_gitver.context import open_repo
from mlflow_gitver.errors import Conflict
from mlflow_gitver.gitstate import state_of
from mlflow_gitver.lookup import lookup, not_registered
from mlflow_gitver.versions import register_state


def test_lookup_finds_only_ready_versions_of_the_app(repo: Path, tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path}/lookup.db"
    r = open_repo(repo)
    state = state_of(r)
    assert lookup(state.version_id, uri, experiment=None, app_name=None) is None
    cfg = Config(name="look-app", source="t", params={"p": "1"})
    reg = register_state(r, state, cfg, tracking_uri=uri)
    found = lookup(state.version_id, uri, experiment=None, app_name="look-app")
    assert found is not None
    assert (found.model_id, found.commit, found.created) == (reg.model_id, state.commit, False)
    assert found.experiment_name == "Default"
    assert lookup(state.version_id, uri, experiment=None, app_name="other") is None
    assert lookup(state.version_id, uri, experiment=("name", "none"), app_name=None) is None
    with pytest.raises(Conflict, match="p: registered '1', now '2'"):
        lookup(state.version_id, uri, experiment=("id", "0"), app_name=None, params={"p": "2"})
    assert "not registered at x" in str(not_registered(state.version_id, "x"))
