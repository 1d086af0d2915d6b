"""The queue's files: written once, atomically, listed despite foreign files."""

from __future__ import annotations

import os
from pathlib import Path

from mlflow_gitver import git as gitmod
from mlflow_gitver.queue.records import Record
from mlflow_gitver.queue.store import Store
from testing.records import make_record
from testing.repos import commit_all, git, write


def test_add_writes_one_durable_file_and_never_replaces_it(tmp_path: Path) -> None:
    store = Store(tmp_path)
    rec = make_record()
    path, created = store.add(rec)
    assert created and path == store.pending / f"{rec.commit}.json"
    assert Record.from_json(path.read_text()) == rec
    inode = path.stat().st_ino
    # Recording the same version again is a no-op: the file (and any lock on it) stays.
    again, created2 = store.add(make_record(config_text="name: other\n"))
    assert again == path and not created2
    assert path.stat().st_ino == inode
    assert Record.from_json(path.read_text()).config_text == "name: app\n"
    assert sorted(os.listdir(store.pending)) == [path.name]  # no temp file left


def test_add_failed_records_the_error(tmp_path: Path) -> None:
    store = Store(tmp_path)
    store.add_failed(make_record(config_text=None), "no config")
    [f] = store.list_failed()
    assert f.record.config_text is None and f.state.last_error == "no config"


def test_worktrees_share_one_store(repo: Path, tmp_path: Path) -> None:
    wt = tmp_path / "wt"
    git(repo, "worktree", "add", "-q", str(wt), "-b", "other")
    write(wt / "x.txt", "x\n")
    commit_all(wt)
    main_dir = gitmod.discover(repo).common_dir
    wt_dir = gitmod.discover(wt).common_dir
    assert main_dir == wt_dir == (repo / ".git").resolve()
    Store(wt_dir).add(make_record())
    assert len(Store(main_dir).list_pending()) == 1


def test_a_foreign_file_does_not_stop_the_others(tmp_path: Path) -> None:
    store = Store(tmp_path)
    store.add(make_record())
    write(store.pending / "junk.json", "{not json")
    write(store.pending / "other.json", '{"unknown": 1}')
    assert [e.record.commit for e in store.list_pending()] == ["a" * 40]
    # Kept for status and flush to report, by file.
    found = dict(store.problems)
    assert set(found) == {store.pending / "junk.json", store.pending / "other.json"}
    assert "not a valid record" in found[store.pending / "junk.json"]
