"""The cache of configs known valid: bounded, tied to the validator, only a cache."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from mlflow_gitver.queue.store import Store
from mlflow_gitver.queue.validated import known_valid, remember_valid


def test_known_valid_configs_round_trip_and_are_bounded(tmp_path: Path) -> None:
    store = Store(tmp_path)
    assert known_valid(store, "name: app\n") is None  # nothing remembered yet
    remember_valid(store, "name: app\n", True)
    remember_valid(store, "name: other\nhooks: {post_commit: {background: false}}\n", False)
    assert known_valid(store, "name: app\n") is True
    assert known_valid(store, "name: other\nhooks: {post_commit: {background: false}}\n") is False
    assert known_valid(store, "name: app\n ") is None  # any other text is checked again
    for i in range(10):
        remember_valid(store, f"name: app{i}\n", True)
    assert known_valid(store, "name: app9\n") is True
    assert known_valid(store, "name: app\n") is None  # the oldest were dropped
    assert len(json.loads(store.validated.read_text())["configs"]) == 8
    assert sorted(os.listdir(store.root)) == [store.validated.name]  # no temp file left


def test_known_valid_needs_the_same_validator(tmp_path: Path) -> None:
    store = Store(tmp_path)
    remember_valid(store, "name: app\n", True)
    data = json.loads(store.validated.read_text())
    # As if written by another release of mlflow-gitver (another config.py).
    data["stamp"] = [data["stamp"][0] + 1, data["stamp"][1]]
    store.validated.write_text(json.dumps(data))
    assert known_valid(store, "name: app\n") is None
    remember_valid(store, "name: new\n", True)  # starts over for this validator
    assert json.loads(store.validated.read_text())["configs"] == [["name: new\n", True]]


@pytest.mark.parametrize("damage", ["", "{", "[]", '{"stamp": 1}', '{"stamp": null, "configs": 3}'])
def test_a_damaged_validated_file_is_ignored(tmp_path: Path, damage: str) -> None:
    store = Store(tmp_path)
    store.root.mkdir()
    store.validated.write_text(damage)
    assert known_valid(store, "name: app\n") is None
    remember_valid(store, "name: app\n", False)
    assert known_valid(store, "name: app\n") is False


def test_a_validated_file_that_cannot_be_written_is_skipped(tmp_path: Path) -> None:
    # A real fault: a directory where the file should be; os.replace refuses it.
    store = Store(tmp_path)
    store.validated.mkdir(parents=True)
    remember_valid(store, "name: app\n", True)  # no exception: it is only a cache
    assert known_valid(store, "name: app\n") is None
    assert sorted(os.listdir(store.root)) == [store.validated.name]  # no temp file left
