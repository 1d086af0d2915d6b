"""``mlflow-gitver status``: what the hooks recorded and is not registered yet, truthfully.

Pending records, failed ones (counted only while a ref reaches their commit),
commits the hooks made but could not record (queue/journal.py), and anything
that stops the hooks from writing at all; exit 1 when any of them is there.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

from mlflow_gitver.context import open_repo
from mlflow_gitver.errors import EXIT_FAILURE, EXIT_OK
from mlflow_gitver.queue import journal
from mlflow_gitver.queue.flusher import PROG, reachable, store_of
from mlflow_gitver.queue.records import Entry
from mlflow_gitver.queue.store import Store


@dataclass(frozen=True)
class Args:
    repo: Path | None = None
    format: str = "text"  # text or json
    prune: bool = False


def args_of(ns: argparse.Namespace) -> Args:
    return Args(repo=ns.repo, format=ns.format, prune=ns.prune)


def _age(ts: float | None) -> str:
    if ts is None:
        return "never"
    s = max(0, int(time.time() - ts))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if s >= size:
            return f"{s // size}{unit} ago"
    return f"{s}s ago"


def _store_problems(store: Store) -> list[tuple[Path, str]]:
    """What stops the hooks from writing records at all."""
    out: list[tuple[Path, str]] = []
    for path in (store.root, store.pending, store.failed):
        if path.exists() and not path.is_dir():
            out.append((path, f"{path} is not a directory: move it aside"))
            return out
        if path.is_dir() and not os.access(path, os.W_OK | os.X_OK):
            out.append((path, f"{path} is not writable: make it writable"))
            return out
    parent = store.root.parent
    if not store.root.exists() and not os.access(parent, os.W_OK | os.X_OK):
        out.append((parent, f"{parent} is not writable: the hooks cannot record there"))
    return out


def run(args: Args) -> int:
    repo = open_repo(args.repo)
    store = store_of(repo)
    pruned = store.prune_failed(lambda _commit: False) if args.prune else []
    pending, failed = store.list_pending(), store.list_failed()
    problems = _store_problems(store) + store.problems
    missing = journal.unrecorded(store, repo)
    live = {e.path: reachable(repo, e.record.commit) for e in failed}
    counted = [e for e in failed if live[e.path]]
    gone = [e for e in failed if not live[e.path]]
    bad = bool(pending or counted or problems or missing)
    if args.format == "json":

        def row(e: Entry) -> dict[str, object]:
            return {
                "commit": e.record.commit,
                "source": e.record.source,
                "recorded": e.record.created,
                "attempts": e.state.attempts,
                "last_error": e.state.last_error,
                "apps_registered": list(e.state.apps_done),
                "file": str(e.path),
            }

        data = {
            "pending": [row(e) for e in pending],
            "failed": [{**row(e), "reachable": live[e.path]} for e in failed],
            "unrecorded": [{"commit": c, "how": how} for c, how in missing],
            "problems": [{"file": str(p), "error": line} for p, line in problems],
            "pruned": [row(e) for e in pruned],
            "ok": not bad,
        }
        print(json.dumps(data))
        return EXIT_FAILURE if bad else EXIT_OK
    for e in pruned:
        print(f"pruned failed record of {e.record.commit[:12]} ({e.path.name})")
    if not bad:
        print("every recorded version is registered")
    for _path, line in problems:
        print(f"problem: {line}")
    if missing:
        print(
            f"not recorded: {len(missing)} commit(s) made since the hooks last ran have no "
            f"record ('{PROG} flush' records and registers them)"
        )
        for commit, how in missing:
            print(f"  {commit[:12]}  {how}")
    if pending:
        print(f"pending: {len(pending)} (register them with '{PROG} flush')")
        for e in pending:
            err = f"; last error: {e.state.last_error}" if e.state.last_error else ""
            if e.state.apps_done:  # a scoped config: the apps done, the error is the rest's
                err = f"; registered: {', '.join(e.state.apps_done)}{err}"
            print(
                f"  {e.record.commit[:12]}  from {e.record.source}, recorded "
                f"{_age(e.record.created)}, {e.state.attempts} attempt(s){err}"
            )
    if counted:
        print(
            f"failed: {len(counted)} (can never register as committed; after fixing the "
            f"cause, '{PROG} flush --retry-failed'; '{PROG} status --prune' deletes them)"
        )
        for e in counted:
            print(f"  {e.record.commit[:12]}  {e.state.last_error}")
    if gone:
        print(
            f"not counted: {len(gone)} failed record(s) of commits no branch or tag reaches "
            f"any more ('{PROG} status --prune' deletes them)"
        )
        for e in gone:
            print(f"  {e.record.commit[:12]}  {e.state.last_error}")
    return EXIT_FAILURE if bad else EXIT_OK
