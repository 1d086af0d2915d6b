"""The flusher's drain: no record is ever left behind by a background flusher."""

from __future__ import annotations

import os
import random
import time
from pathlib import Path

from mlflow_gitver import git as gitmod
from mlflow_gitver.queue.flusher import Flusher, drain
from mlflow_gitver.queue.records import Entry, Record, new_record
from mlflow_gitver.queue.store import Store
from testing.hooks import settle
from testing.repos import commit_all, write


def test_records_added_while_the_flusher_exits_are_never_left_behind(repo: Path) -> None:
    """The hook's side of the flush lock, against real background flushers, at
    random moments.  Records whose commit has no config fail at once, without
    MLflow: each flusher is quick.  The narrowest moment (a record written just
    as a flusher finishes) is made on purpose in the next test."""
    from mlflow_gitver.commands.hook.post_commit import _start_flusher

    s = Store(repo / ".git")
    r = gitmod.discover(repo)
    rng = random.Random(42)
    commits = []
    for i in range(20):
        write(repo / "app.py", f"print({i})\n")
        commits.append(commit_all(repo, f"c{i}"))
        s.add(new_record(r, commits[-1], "test", {}))
        _start_flusher(repo, s)  # what the hook does once its record is written
        time.sleep(rng.uniform(0, 0.4))
    settle(repo)
    assert s.list_pending() == []
    assert {e.record.commit for e in s.list_failed()} == set(commits)


class _LateHook(Store):
    """A store where a hook writes its record right after the flusher listed the
    queue empty, while the flusher still holds the lock: the moment a lost wakeup
    would strand it.  Real timing hits that moment rarely (see the test above),
    so this interleaving is made on purpose; the records and the lock are real."""

    def __init__(self, common_dir: Path, late: list[Record]) -> None:
        super().__init__(common_dir)
        self.late = late
        self.hook_saw_lock_held = 0

    def list_pending(self) -> list[Entry]:
        out = super().list_pending()
        if not out and self.late:
            self.add(self.late.pop())
            fd = self.try_flush_lock()  # the hook's side: held, so it starts no flusher
            if fd is None:
                self.hook_saw_lock_held += 1
            else:
                os.close(fd)
        return out


def test_a_record_written_as_the_flusher_finishes_is_drained(repo: Path) -> None:
    r = gitmod.discover(repo)
    commit = commit_all(repo, "late")
    late = [new_record(r, commit, "test", {})]
    s = _LateHook(repo / ".git", late)
    s.root.mkdir(parents=True)
    fd = s.try_flush_lock()
    assert fd is not None
    try:
        outcomes = drain(Flusher(r, s), s, fd)
    finally:
        os.close(fd)
    assert s.hook_saw_lock_held == 1
    assert [o.commit for o in outcomes] == [commit]
    assert Store(repo / ".git").list_pending() == []
