"""``mlflow-gitver flush``: register every version the hooks recorded.

It first records the commits the hooks missed (queue/journal.py), then drains
the queue (queue/flusher.py); records another process is registering right now
are counted, not waited for.  A hook starts it in the background with
``--lock-fd``: the repository's flush lock, passed on with no gap.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from mlflow_gitver import git
from mlflow_gitver.context import open_repo
from mlflow_gitver.errors import EXIT_FAILURE, EXIT_OK, GitverError
from mlflow_gitver.queue import journal
from mlflow_gitver.queue.flusher import (
    BUSY,
    FAILED,
    PENDING,
    PROG,
    SKIPPED,
    Flusher,
    Outcome,
    describe,
    drain,
    store_of,
)
from mlflow_gitver.queue.store import Store, fix_for


@dataclass(frozen=True)
class Args:
    repo: Path | None = None
    retry_failed: bool = False
    lock_fd: int | None = None  # internal: the flush lock a hook hands over


def args_of(ns: argparse.Namespace) -> Args:
    return Args(repo=ns.repo, retry_failed=ns.retry_failed, lock_fd=ns.lock_fd)


def _catch_up(repo: git.Repo, store: Store) -> str | None:
    """Record the commits the hooks missed (journal.py) before flushing; the line
    that says why they could not be, if so (the records already on disk are
    registered all the same: that needs no space)."""
    try:
        added, _ = journal.catch_up(
            store, repo, os.environ, source="flush", branch=git.current_branch(repo)
        )
    except OSError as e:
        return (
            f"cannot record the commits the hooks missed: cannot write "
            f"{e.filename or store.root}: {e.strerror}; {fix_for(e, store.root)}, then run "
            f"'{PROG} flush' again"
        )
    if added:
        print(f"recorded {len(added)} commit(s) the hooks had not recorded")
    return None


def run(args: Args) -> int:
    repo = open_repo(args.repo)
    lock_fd = args.lock_fd
    store = store_of(repo)
    if lock_fd is not None:
        try:
            os.fstat(lock_fd)
        except OSError:
            raise GitverError(f"--lock-fd {lock_fd}: not an open file descriptor") from None
    if args.retry_failed:
        moved = store.retry_failed()
        if moved:
            print(f"{moved} failed registration(s) moved back to pending")
    missed = _catch_up(repo, store)
    if missed is not None:
        print(f"{PROG}: {missed}", file=sys.stderr)
    outcomes = drain(Flusher(repo, store), store, lock_fd)
    code = _summary(outcomes, store.problems)
    if missed is not None:
        code = max(code, EXIT_FAILURE)  # commits are still unrecorded
    if lock_fd is not None:
        # A background flush ends at once: it holds nothing any more, a newer one
        # may be starting, and tearing MLflow down takes a while.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    return code


def _summary(outcomes: Sequence[Outcome], problems: Sequence[tuple[Path, str]]) -> int:
    if not outcomes and not problems:
        print("nothing pending: every recorded version is registered")
        return EXIT_OK
    for o in outcomes:
        print(describe(o), file=sys.stderr if o.status in (PENDING, FAILED) else sys.stdout)
    for _path, line in problems:
        print(f"{PROG}: skipped: {line}", file=sys.stderr)
    left = [o for o in outcomes if o.status in (PENDING, FAILED, SKIPPED)]
    busy = [o for o in outcomes if o.status == BUSY]
    total = len(outcomes) + len(problems)
    if busy:
        print(f"{len(busy)} being registered by another process", file=sys.stderr)
    if left or problems:
        parts = [f"{len(left) + len(problems)} of {total} not registered"]
        if busy:
            parts.append(f"{len(busy)} being registered by another process")
        if problems:
            parts.append(f"{len(problems)} unreadable")
        print(
            f"{PROG}: {', '.join(parts)}; '{PROG} status' lists them, '{PROG} flush' retries",
            file=sys.stderr,
        )
        return EXIT_FAILURE
    return EXIT_OK
