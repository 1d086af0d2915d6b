"""The journal of what this clone registered: what its key covers, and that it is only a cache."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mlflow_gitver.config import parse_config
from mlflow_gitver.queue import registered
from mlflow_gitver.queue.records import Record
from mlflow_gitver.queue.store import Store
from mlflow_gitver.queue.validated import Facts

ROOT = Path("/srv/repo")
TEXT = "name: app\nexperiment: exp\nparams: {llm: x}\n"


def _record(commit: str = "a" * 40, branch: str | None = "main") -> Record:
    return Record(commit, ".mlflow-gitver.yaml", TEXT, "test", 0.0, {}, branch)


def _facts(text: str = TEXT) -> Facts:
    return Facts.of(parse_config(text, "x:.mlflow-gitver.yaml", {}))


def _key(**change: object) -> str:
    args: dict[str, object] = {
        "record": _record(),
        "facts": _facts(),
        "env": {},
        "root": ROOT,
        "repo_url": "https://example.com/o/r.git",
    }
    args.update(change)
    return registered.digest(**args)  # type: ignore[arg-type]


def test_the_key_is_stable_and_covers_everything_a_registration_writes() -> None:
    base = _key()
    assert base == _key()
    others = [
        _key(record=_record(commit="b" * 40)),
        _key(record=_record(branch="feature")),
        _key(record=_record(branch=None)),
        _key(facts=_facts(TEXT.replace("llm: x", "llm: y"))),  # a param
        _key(facts=_facts(TEXT + "tags: {team: a}\n")),
        _key(facts=_facts(TEXT.replace("exp\n", "other\n"))),  # the experiment
        _key(env={"MLFLOW_EXPERIMENT_ID": "7"}),
        _key(env={"MLFLOW_TRACKING_URI": "http://127.0.0.1:5000"}),
        _key(env={"MLFLOW_TRACKING_URI": "databricks", "DATABRICKS_HOST": "https://a.example"}),
        _key(root=Path("/srv/other")),  # the embedded store of another clone
        _key(repo_url=None),  # `git remote add` since
        _key(repo_url="https://example.com/o/fork.git"),
    ]
    assert len({base, *others}) == len(others) + 1


def test_the_key_holds_no_credential_and_ignores_it() -> None:
    # The target enters redacted: a password is neither stored nor a reason to re-register.
    one = _key(env={"MLFLOW_TRACKING_URI": "https://u:s3cret@mlflow.example"})
    assert one == _key(env={"MLFLOW_TRACKING_URI": "https://mlflow.example"})
    assert _key(repo_url="https://tok@example.com/o/r.git") == _key()


def test_remember_and_recall(tmp_path: Path) -> None:
    store = Store(tmp_path)
    assert registered.recall(store, "k" * 64) is None
    registered.remember(store, "k" * 64, "app-git-aaaa (m-1)", 1.0)
    assert registered.recall(store, "k" * 64) == "app-git-aaaa (m-1)"
    assert [n for n in os.listdir(store.root / registered.DIR) if n.startswith(".")] == []


def test_a_message_is_scrubbed_before_it_is_written(tmp_path: Path) -> None:
    store = Store(tmp_path)
    registered.remember(store, "k", "app at https://u:pw@host/x (m-1)", 1.0)
    text = (store.root / registered.DIR / "k").read_text()
    assert "pw" not in text


@pytest.mark.parametrize("damage", ["", "{", "[]", '{"message": 3}', '{"message": ""}'])
def test_a_damaged_entry_is_not_trusted(tmp_path: Path, damage: str) -> None:
    store = Store(tmp_path)
    (store.root / registered.DIR).mkdir(parents=True)
    (store.root / registered.DIR / "k").write_text(damage)
    assert registered.recall(store, "k") is None


def test_a_journal_that_cannot_be_written_is_skipped(tmp_path: Path) -> None:
    # A real fault: a file where the journal's directory should be.
    store = Store(tmp_path)
    store.root.mkdir()
    (store.root / registered.DIR).write_text("")
    registered.remember(store, "k", "app (m-1)", 1.0)  # no exception: it is only a cache
    assert registered.recall(store, "k") is None


def test_an_embedded_store_started_over_is_another_target(tmp_path: Path) -> None:
    # `rm mlflow.db`: the versions the old file held are not journaled for the new one.
    db = tmp_path / "mlflow.db"
    env = {"MLFLOW_TRACKING_URI": f"sqlite:///{db}"}
    missing = _key(env=env)
    db.write_bytes(b"")
    first = _key(env=env)
    assert first == _key(env=env) and first != missing
    keep = tmp_path / "keep"  # holds the old inode, so the new file cannot reuse it
    os.link(db, keep)
    db.unlink()
    db.write_bytes(b"")
    assert _key(env=env) not in (first, missing)
