"""The cache of configs known valid: bounded, tied to the validator, only a cache."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from mlflow_gitver.config import parse_config
from mlflow_gitver.configstamp import schema_stamp
from mlflow_gitver.queue.store import Store
from mlflow_gitver.queue.validated import Facts, known_valid, remember_valid


def _facts(text: str) -> Facts:
    return Facts.of(parse_config(text, "test.yaml", {}))


def _background(store: Store, text: str) -> bool | None:
    facts = known_valid(store, text)
    return None if facts is None else facts.background


def test_known_valid_configs_round_trip_and_are_bounded(tmp_path: Path) -> None:
    store = Store(tmp_path)
    assert known_valid(store, "name: app\n") is None  # nothing remembered yet
    remember_valid(store, "name: app\n", _facts("name: app\n"))
    other = "name: other\nhooks: {post_commit: {background: false}}\n"
    remember_valid(store, other, _facts(other))
    assert _background(store, "name: app\n") is True
    assert _background(store, "name: other\nhooks: {post_commit: {background: false}}\n") is False
    assert known_valid(store, "name: app\n ") is None  # any other text is checked again
    for i in range(10):
        remember_valid(store, f"name: app{i}\n", _facts(f"name: app{i}\n"))
    assert _background(store, "name: app9\n") is True
    assert known_valid(store, "name: app\n") is None  # the oldest were dropped
    assert len(json.loads(store.validated.read_text())["configs"]) == 8
    assert sorted(os.listdir(store.root)) == [store.validated.name]  # no temp file left


def test_known_valid_needs_the_same_validator(tmp_path: Path) -> None:
    store = Store(tmp_path)
    remember_valid(store, "name: app\n", _facts("name: app\n"))
    data = json.loads(store.validated.read_text())
    # As if written by another release of mlflow-gitver (another config.py).
    data["stamp"] = [data["stamp"][0] + 1, data["stamp"][1]]
    store.validated.write_text(json.dumps(data))
    assert known_valid(store, "name: app\n") is None
    remember_valid(store, "name: new\n", _facts("name: new\n"))  # starts over for this validator
    stored = json.loads(store.validated.read_text())["configs"]
    assert stored == [["name: new\n", _facts("name: new\n")._asdict()]]


@pytest.mark.parametrize("damage", ["", "{", "[]", '{"stamp": 1}', '{"stamp": null, "configs": 3}'])
def test_a_damaged_validated_file_is_ignored(tmp_path: Path, damage: str) -> None:
    store = Store(tmp_path)
    store.root.mkdir()
    store.validated.write_text(damage)
    assert known_valid(store, "name: app\n") is None
    quiet = "name: app\nhooks: {post_commit: {background: false}}\n"
    remember_valid(store, quiet, _facts(quiet))
    assert _background(store, quiet) is False


def test_a_validated_file_that_cannot_be_written_is_skipped(tmp_path: Path) -> None:
    # A real fault: a directory where the file should be; os.replace refuses it.
    store = Store(tmp_path)
    store.validated.mkdir(parents=True)
    remember_valid(store, "name: app\n", _facts("name: app\n"))  # no exception: it is only a cache
    assert known_valid(store, "name: app\n") is None
    assert sorted(os.listdir(store.root)) == [store.validated.name]  # no temp file left


def test_the_facts_of_a_config_come_back_whole(tmp_path: Path) -> None:
    # Everything the pre-push hook reads of a known-valid config, without parsing it.
    store = Store(tmp_path)
    text = (
        "name: app\nexperiment: exp\ntracking_uri: http://127.0.0.1:5000\n"
        "hooks: {pre_push: {required: true, all: true}, post_commit: {background: false}}\n"
    )
    remember_valid(store, text, _facts(text))
    got = known_valid(store, text)
    assert got == _facts(text)
    assert got is not None
    assert (got.experiment, got.tracking_uri) == ("exp", "http://127.0.0.1:5000")
    assert (got.pre_push_required, got.pre_push_all, got.background) == (True, True, False)


def test_a_fingerprint_is_of_the_values_not_of_where_they_were_read() -> None:
    text = "apps:\n  - name: a\n    paths: [a]\n  - name: b\n    params: {llm: x}\n"
    one, two = parse_config(text, "c1:f.yaml", {}), parse_config(text, "c2:f.yaml", {})
    assert one.fingerprint() == two.fingerprint()
    changed = parse_config(text.replace("llm: x", "llm: y"), "c1:f.yaml", {})
    assert changed.fingerprint() != one.fingerprint()


@pytest.mark.parametrize(
    "facts", [{"background": True}, {**dict.fromkeys(Facts.__slots__, True)}, [], None]
)
def test_facts_of_another_shape_are_not_trusted(tmp_path: Path, facts: object) -> None:
    store = Store(tmp_path)
    store.root.mkdir()
    stamp = schema_stamp()
    store.validated.write_text(json.dumps({"stamp": stamp, "configs": [["name: app\n", facts]]}))
    assert known_valid(store, "name: app\n") is None
