"""Claims: one holder per record, across threads and processes; done, retry, give up."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

from mlflow_gitver.queue.claims import claim_record
from mlflow_gitver.queue.store import Store
from testing.cli import SRC
from testing.records import make_record


def test_claim_excludes_a_second_holder(tmp_path: Path) -> None:
    store = Store(tmp_path)
    store.add(make_record())
    [entry] = store.list_pending()
    with claim_record(store, entry) as first:
        assert first is not None
        with claim_record(store, entry) as second:
            assert second is None  # flock is per open file: same process, still excluded
    with claim_record(store, entry) as third:
        assert third is not None


def test_a_waiter_sees_the_record_is_gone_once_the_holder_registered_it(tmp_path: Path) -> None:
    store = Store(tmp_path)
    store.add(make_record())
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
        store.add(make_record())
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
    store.add(make_record())
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


_WORKER = r"""
import sys, time
from pathlib import Path

import pytest
from mlflow_gitver.queue.claims import claim_record
from mlflow_gitver.queue.store import Store
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
        store.add(make_record(c))
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
