"""gcplan.py: the dry run's list, one per set of arguments, in a real git dir."""

from __future__ import annotations

import json
from pathlib import Path

from mlflow_gitver import gcplan


def test_lists_are_kept_per_arguments_and_dropped_once_used(tmp_path: Path) -> None:
    path = gcplan.path_in(tmp_path / ".git")
    a = gcplan.key_of("30d", ["shop"], "http://h", None)
    b = gcplan.key_of("30d", ["shop", "billing"], "http://h", None)
    assert gcplan.load(path, a) is None
    assert gcplan.save(path, a, ["m-2", "m-1"]) is None
    assert gcplan.save(path, b, []) is None
    plan = gcplan.load(path, a)
    assert plan is not None and plan.model_ids == {"m-1", "m-2"} and plan.created.endswith("Z")
    loaded_b = gcplan.load(path, b)
    assert loaded_b is not None and loaded_b.model_ids == frozenset()
    gcplan.done(path, a)
    assert gcplan.load(path, a) is None and gcplan.load(path, b) is not None
    gcplan.done(path, b)
    assert not path.exists()


def test_a_damaged_file_restricts_nothing(tmp_path: Path) -> None:
    path = gcplan.path_in(tmp_path)
    key = gcplan.key_of("1h", ["a"], "u", "exp")
    path.parent.mkdir(parents=True)
    bad_ids = json.dumps({key: {"model_ids": [1]}})
    for junk in ("{not json", "[]", bad_ids):
        path.write_text(junk)
        assert gcplan.load(path, key) is None, junk


def test_an_unwritable_git_dir_is_said(tmp_path: Path) -> None:
    # A file where the directory should be: no write, as root too.
    (tmp_path / "mlflow-gitver").write_text("not a directory")
    why = gcplan.save(gcplan.path_in(tmp_path), "k", ["m-1"])
    assert why is not None and "cannot be written" in why
