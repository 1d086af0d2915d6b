"""Records: one key per commit and target, plain JSON, never a credential."""

from __future__ import annotations

import json
from pathlib import Path

from mlflow_gitver.queue.records import safe_target, target_env_of
from mlflow_gitver.queue.store import Store
from testing.records import make_record


def test_key_separates_targets_and_never_stores_credentials() -> None:
    env = {"MLFLOW_TRACKING_URI": "https://user:tok@mlflow.example.com"}
    assert target_env_of(env) == {"MLFLOW_EXPERIMENT_NAME": None, "MLFLOW_EXPERIMENT_ID": None}
    safe = target_env_of({"MLFLOW_TRACKING_URI": "http://127.0.0.1:5000"})
    assert safe["MLFLOW_TRACKING_URI"] == "http://127.0.0.1:5000"
    assert safe_target("http://h/?token=x") is None
    plain = make_record(target_env=target_env_of({}))
    assert plain.key == plain.commit
    other = make_record(target_env=safe)
    assert other.key != plain.key and other.key.startswith(plain.commit + "-")
    assert "tok" not in other.to_json()


def test_records_are_plain_json(tmp_path: Path) -> None:
    store = Store(tmp_path)
    path, _ = store.add(make_record())
    data = json.loads(path.read_text())
    assert data["commit"] == "a" * 40 and data["version"] == 1


def test_a_record_file_is_byte_for_byte_what_earlier_releases_write() -> None:
    """The retired fields (tracking_uri, experiment: never set) are still written
    as null, so files and their names are the same as before issue 12."""
    rec = make_record(created=1.5, target_env={"MLFLOW_TRACKING_URI": None}, branch="main")
    assert rec.to_json() == (
        '{\n "branch": "main",\n "commit": "' + "a" * 40 + '",\n "config_in_commit": false,\n'
        ' "config_path": ".mlflow-gitver.yaml",\n "config_text": "name: app\\n",\n'
        ' "created": 1.5,\n "experiment": null,\n "source": "post-commit",\n'
        ' "target_env": {\n  "MLFLOW_TRACKING_URI": null\n },\n "tracking_uri": null,\n'
        ' "version": 1\n}'
    )
    assert rec.key == rec.commit
    other = make_record(target_env={"MLFLOW_EXPERIMENT_NAME": "e"})
    assert other.key == f"{'a' * 40}-c15c33ce3e53"  # as the previous release names it
