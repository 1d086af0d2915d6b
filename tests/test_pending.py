"""The record store: durable, atomic, and safe when several processes use it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from mlflow_gitver import git as gitmod
from mlflow_gitver import journal
from mlflow_gitver.pending import (
    Record,
    Store,
    claim,
    claim_record,
    safe_target,
    target_env_of,
)
from tests.helpers import SRC, commit_all, git, write


def _record(commit: str = "a" * 40, **kw: object) -> Record:
    base: dict[str, object] = {
        "commit": commit,
        "config_path": ".mlflow-gitver.yaml",
        "config_text": "name: app\n",
        "source": "post-commit",
        "created": time.time(),
    }
    base.update(kw)
    return Record(**base)  # type: ignore[arg-type]


def test_add_writes_one_durable_file_and_never_replaces_it(tmp_path: Path) -> None:
    store = Store(tmp_path)
    rec = _record()
    path, created = store.add(rec)
    assert created and path == store.pending / f"{rec.commit}.json"
    assert Record.from_json(path.read_text()) == rec
    inode = path.stat().st_ino
    # Recording the same version again is a no-op: the file (and any lock on it) stays.
    again, created2 = store.add(_record(config_text="name: other\n"))
    assert again == path and not created2
    assert path.stat().st_ino == inode
    assert Record.from_json(path.read_text()).config_text == "name: app\n"
    assert sorted(os.listdir(store.pending)) == [path.name]  # no temp file left


def test_key_separates_targets_and_never_stores_credentials() -> None:
    env = {"MLFLOW_TRACKING_URI": "https://user:tok@mlflow.example.com"}
    assert target_env_of(env) == {"MLFLOW_EXPERIMENT_NAME": None, "MLFLOW_EXPERIMENT_ID": None}
    safe = target_env_of({"MLFLOW_TRACKING_URI": "http://127.0.0.1:5000"})
    assert safe["MLFLOW_TRACKING_URI"] == "http://127.0.0.1:5000"
    assert safe_target("http://h/?token=x") is None
    plain = _record(target_env=target_env_of({}))
    assert plain.key == plain.commit
    other = _record(target_env=safe)
    assert other.key != plain.key and other.key.startswith(plain.commit + "-")
    assert "tok" not in other.to_json()


def test_claim_excludes_a_second_holder(tmp_path: Path) -> None:
    store = Store(tmp_path)
    store.add(_record())
    [entry] = store.list_pending()
    with claim_record(store, entry) as first:
        assert first is not None
        with claim_record(store, entry) as second:
            assert second is None  # flock is per open file: same process, still excluded
    with claim_record(store, entry) as third:
        assert third is not None


def test_a_waiter_sees_the_record_is_gone_once_the_holder_registered_it(tmp_path: Path) -> None:
    store = Store(tmp_path)
    store.add(_record())
    [entry] = store.list_pending()
    results: list[object] = []

    def wait() -> None:
        with claim_record(store, entry, wait=60) as c:
            results.append(c)

    def open_count() -> int:
        fds = Path("/proc/self/fd")
        return sum(1 for fd in fds.iterdir() if _readlink(fd) == str(entry.path))

    with claim_record(store, entry) as held:
        assert held is not None
        t = threading.Thread(target=wait)
        t.start()
        # Until the waiter has the record open (and is waiting for the lock).
        while open_count() < 2:
            time.sleep(0.01)
        # A new record for the same version appears after the holder is done:
        # the waiter must not take it for the one it was waiting on.
        held.done()
        store.add(_record())
    t.join()
    assert results == [None]
    assert len(store.list_pending()) == 1


def _readlink(p: Path) -> str | None:
    try:
        return os.readlink(p)
    except OSError:
        return None


def test_retry_later_counts_attempts_and_give_up_moves_to_failed(tmp_path: Path) -> None:
    store = Store(tmp_path)
    store.add(_record())
    [entry] = store.list_pending()
    with claim_record(store, entry) as c:
        assert c is not None
        c.retry_later("server at http://u:p@127.0.0.1:1 unreachable")
    [entry] = store.list_pending()
    assert entry.state.attempts == 1
    assert entry.state.last_error == "server at http://127.0.0.1:1 unreachable"
    with claim_record(store, entry) as c:
        assert c is not None
        c.give_up("x.yaml:1:1: bad")
    assert store.list_pending() == []
    [failed] = store.list_failed()
    assert failed.state.last_error == "x.yaml:1:1: bad" and failed.state.attempts == 2
    assert not list(store.pending.iterdir())  # no orphan state file
    assert store.retry_failed() == 1
    [back] = store.list_pending()
    assert back.record == entry.record and back.state.attempts == 0
    assert store.list_failed() == []


def test_add_failed_records_the_error(tmp_path: Path) -> None:
    store = Store(tmp_path)
    store.add_failed(_record(config_text=None), "no config")
    [f] = store.list_failed()
    assert f.record.config_text is None and f.state.last_error == "no config"


def test_claim_of_a_missing_record_is_none(tmp_path: Path) -> None:
    with claim(tmp_path / "nope.json", wait=0) as fd:
        assert fd is None


_WORKER = r"""
import sys, time
from pathlib import Path

import pytest
from mlflow_gitver.pending import Store, claim_record
store = Store(Path(sys.argv[1]))
log = Path(sys.argv[2])
for entry in store.list_pending():
    with claim_record(store, entry) as c:
        if c is None:
            continue
        # "Register": append to a shared log (O_APPEND lines are atomic), slowly
        # enough that the workers overlap.
        with open(log, "a") as f:
            f.write(c.record.commit + "\n")
        time.sleep(0.01)
        c.done()
"""


def test_concurrent_workers_process_each_record_exactly_once(tmp_path: Path) -> None:
    """Six processes drain 60 records at once: every record once, none lost.

    The registration is an append to a file here; the same store under real
    MLflow registrations is tested in tests/hooks/.
    """
    store = Store(tmp_path / "common")
    commits = [f"{i:040x}" for i in range(60)]
    for c in commits:
        store.add(_record(c))
    log = tmp_path / "log"
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    procs = [
        subprocess.Popen([sys.executable, "-c", _WORKER, str(store.root.parent), str(log)], env=env)
        for _ in range(6)
    ]
    for p in procs:
        assert p.wait(timeout=120) == 0
    done = log.read_text().split()
    assert sorted(done) == sorted(commits)  # each exactly once
    assert store.list_pending() == []


def test_worktrees_share_one_store(repo: Path, tmp_path: Path) -> None:
    wt = tmp_path / "wt"
    git(repo, "worktree", "add", "-q", str(wt), "-b", "other")
    write(wt / "x.txt", "x\n")
    commit_all(wt)
    main_dir = gitmod.discover(repo).common_dir
    wt_dir = gitmod.discover(wt).common_dir
    assert main_dir == wt_dir == (repo / ".git").resolve()
    Store(wt_dir).add(_record())
    assert len(Store(main_dir).list_pending()) == 1


def test_records_are_plain_json(tmp_path: Path) -> None:
    store = Store(tmp_path)
    path, _ = store.add(_record())
    data = json.loads(path.read_text())
    assert data["commit"] == "a" * 40 and data["version"] == 1


def test_a_foreign_file_does_not_stop_the_others(tmp_path: Path) -> None:
    store = Store(tmp_path)
    store.add(_record())
    write(store.pending / "junk.json", "{not json")
    write(store.pending / "other.json", '{"unknown": 1}')
    assert [e.record.commit for e in store.list_pending()] == ["a" * 40]
    # Kept for status and flush to report, by file.
    found = dict(store.problems)
    assert set(found) == {store.pending / "junk.json", store.pending / "other.json"}
    assert "not a valid record" in found[store.pending / "junk.json"]


def test_known_valid_configs_round_trip_and_are_bounded(tmp_path: Path) -> None:
    store = Store(tmp_path)
    assert store.known_valid("name: app\n") is None  # nothing remembered yet
    store.remember_valid("name: app\n", True)
    store.remember_valid("name: other\nhooks: {post_commit: {background: false}}\n", False)
    assert store.known_valid("name: app\n") is True
    assert store.known_valid("name: other\nhooks: {post_commit: {background: false}}\n") is False
    assert store.known_valid("name: app\n ") is None  # any other text is checked again
    for i in range(10):
        store.remember_valid(f"name: app{i}\n", True)
    assert store.known_valid("name: app9\n") is True
    assert store.known_valid("name: app\n") is None  # the oldest were dropped
    assert len(json.loads(store.validated.read_text())["configs"]) == 8
    assert sorted(os.listdir(store.root)) == [store.validated.name]  # no temp file left


def test_known_valid_needs_the_same_validator(tmp_path: Path) -> None:
    store = Store(tmp_path)
    store.remember_valid("name: app\n", True)
    data = json.loads(store.validated.read_text())
    # As if written by another release of mlflow-gitver (another config.py).
    data["stamp"] = [data["stamp"][0] + 1, data["stamp"][1]]
    store.validated.write_text(json.dumps(data))
    assert store.known_valid("name: app\n") is None
    store.remember_valid("name: new\n", True)  # starts over for this validator
    assert json.loads(store.validated.read_text())["configs"] == [["name: new\n", True]]


@pytest.mark.parametrize("damage", ["", "{", "[]", '{"stamp": 1}', '{"stamp": null, "configs": 3}'])
def test_a_damaged_validated_file_is_ignored(tmp_path: Path, damage: str) -> None:
    store = Store(tmp_path)
    store.root.mkdir()
    store.validated.write_text(damage)
    assert store.known_valid("name: app\n") is None
    store.remember_valid("name: app\n", False)
    assert store.known_valid("name: app\n") is False


def test_a_validated_file_that_cannot_be_written_is_skipped(tmp_path: Path) -> None:
    # A real fault: a directory where the file should be; os.replace refuses it.
    store = Store(tmp_path)
    store.validated.mkdir(parents=True)
    store.remember_valid("name: app\n", True)  # no exception: it is only a cache
    assert store.known_valid("name: app\n") is None
    assert sorted(os.listdir(store.root)) == [store.validated.name]  # no temp file left


# --- HEAD's reflog: the commits made since the hooks last looked --------------------


def _made_since(repo: Path, cursor: journal.Cursor | None) -> tuple[list[str], journal.Cursor]:
    made, new = journal.scan(repo / ".git", cursor)
    assert new is not None
    return [m.commit for m in made], new


def test_the_reflog_lists_what_git_made_and_nothing_it_only_moved_to(repo: Path) -> None:
    made, cursor = _made_since(repo, None)
    assert made == []  # the hooks' first run: only HEAD, from then on
    a = commit_all(repo, "a")
    git(repo, "checkout", "-q", "-b", "side")
    s = commit_all(repo, "s")
    git(repo, "checkout", "-q", "main")
    m = commit_all(repo, "m")
    git(repo, "merge", "-q", "--no-edit", "side")
    merge = git(repo, "rev-parse", "HEAD").strip()
    git(repo, "checkout", "-q", "-b", "ff", "side")
    git(repo, "merge", "-q", "--ff-only", "main")  # a fast-forward: nothing made
    git(repo, "reset", "-q", "--hard", "HEAD~1")
    git(repo, "commit", "-q", "--allow-empty", "--amend", "-m", "amended")
    amended = git(repo, "rev-parse", "HEAD").strip()
    made, cursor = _made_since(repo, cursor)
    assert made == [a, s, m, merge, amended]
    assert _made_since(repo, cursor)[0] == []


def test_a_line_git_is_still_writing_is_read_next_time(repo: Path) -> None:
    _, cursor = _made_since(repo, None)
    c = commit_all(repo, "c")
    log = repo / ".git" / "logs" / "HEAD"
    whole = log.read_bytes()
    last = whole[whole.rstrip(b"\n").rfind(b"\n") + 1 :]
    log.write_bytes(whole[: len(whole) - len(last)] + last[:30])  # half a line
    made, half = _made_since(repo, cursor)
    assert made == []
    log.write_bytes(whole)
    assert _made_since(repo, half)[0] == [c]


def test_a_rewritten_reflog_is_read_from_the_last_time_seen(repo: Path) -> None:
    _, cursor = _made_since(repo, None)
    commit_all(repo, "before")
    _, cursor = _made_since(repo, cursor)
    # `git reflog expire` rewrites the file (a new inode, fewer lines).
    git(repo, "reflog", "expire", "--expire=now", "--all")
    time.sleep(1.1)  # reflog times have one-second resolution
    after = commit_all(repo, "after")
    assert _made_since(repo, cursor)[0] == [after]


def test_catch_up_records_and_moves_the_cursor(repo: Path) -> None:
    r = gitmod.discover(repo)
    store = Store(repo / ".git")
    assert store.catch_up(r, {}, source="test", branch="main") == ([], True)
    commits = [commit_all(repo, f"c{i}") for i in range(3)]
    assert store.unrecorded(r) == [(c, f"commit: c{i}") for i, c in enumerate(commits)]
    added, _ = store.catch_up(r, {}, source="test", branch="main", done=frozenset(commits[:1]))
    assert added == commits[1:]
    assert store.unrecorded(r) == []
    assert {e.record.source for e in store.list_pending()} == {"test"}
