"""``mlflow-gitver flush`` and ``status``: the registrations the hooks recorded.

``flush`` registers every pending record it can claim (records another process is
registering right now are skipped); ``status`` lists what is pending and what
failed for good.  The same engine, :class:`Flusher`, serves the hooks.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from mlflow_gitver import git
from mlflow_gitver.context import open_repo
from mlflow_gitver.errors import EXIT_FAILURE, EXIT_OK, GitverError
from mlflow_gitver.pending import (
    Entry,
    Record,
    Store,
    claim_record,
    parse_record_config,
    record_environ,
)
from mlflow_gitver.redact import scrub

if TYPE_CHECKING:
    from mlflow_gitver.config import Config
    from mlflow_gitver.service import Registered

PROG = "mlflow-gitver"
# How long a hook waits for a record another process is registering: a pre-push
# must know whether the commits it pushes are registered.
HOOK_WAIT_SECONDS = 120.0

REGISTERED = "registered"
PENDING = "pending"  # tried, will be retried
FAILED = "failed"  # can never succeed: moved to failed/
BUSY = "busy"  # another process holds it
SKIPPED = "skipped"  # not tried: its server was just found unreachable


@dataclass(frozen=True)
class Outcome:
    entry: Entry
    status: str
    message: str
    registered: Registered | None = None

    @property
    def commit(self) -> str:
        return self.entry.record.commit


def store_of(repo: git.Repo) -> Store:
    return Store(git.common_dir(repo))


def _server_key(record: Record, cfg: Config, env: Mapping[str, str]) -> tuple[str | None, ...]:
    # What tracking.resolve_uri looks at, in its order.
    return (record.tracking_uri, env.get("MLFLOW_TRACKING_URI"), cfg.tracking_uri)


class Flusher:
    """Registers records one at a time, each under its lock."""

    def __init__(
        self,
        repo: git.Repo,
        store: Store,
        *,
        wait: float = 0.0,
        environ: Mapping[str, str] | None = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> None:
        self.repo = repo
        self.store = store
        self.wait = wait
        self.environ = os.environ if environ is None else environ
        self.progress = progress
        # Servers found unreachable in this run: the records bound for them are
        # left for later rather than each waiting out the retry budget.
        self.down: dict[tuple[str | None, ...], str] = {}

    def flush(self, entries: Sequence[Entry]) -> list[Outcome]:
        out = []
        for i, entry in enumerate(entries, 1):
            out.append(self.one(entry))
            if self.progress is not None:
                self.progress(i, len(entries))
        return out

    def one(self, entry: Entry) -> Outcome:
        from mlflow_gitver.config import ConfigError
        from mlflow_gitver.registry import ServerUnavailable
        from mlflow_gitver.service import register_commit

        with claim_record(self.store, entry, wait=self.wait) as held:
            if held is None:
                return Outcome(entry, BUSY, "being registered by another process")
            record = held.record
            env = record_environ(record, self.environ)
            try:
                cfg = parse_record_config(record, env)
            except ConfigError as e:
                path = held.give_up(e.message)
                return Outcome(entry, FAILED, f"{e.message} (kept in {path})")
            if git.resolve_commit(self.repo, record.commit) is None:
                msg = f"commit {record.commit} no longer exists in {self.repo.root}"
                held.give_up(msg)
                return Outcome(entry, FAILED, msg)
            key = _server_key(record, cfg, env)
            if key in self.down:
                return Outcome(entry, SKIPPED, self.down[key])
            try:
                reg = register_commit(
                    self.repo,
                    record.commit,
                    cfg,
                    tracking_uri=record.tracking_uri,
                    experiment=record.experiment,
                    environ=env,
                    branch=record.branch,
                )
            except ServerUnavailable as e:
                self.down[key] = e.message
                held.retry_later(e.message)
                return Outcome(entry, PENDING, e.message)
            except ConfigError as e:
                held.give_up(e.message)
                return Outcome(entry, FAILED, e.message)
            except GitverError as e:
                # Not known to be permanent (permissions, a deleted experiment...):
                # kept, retried, and shown by `status`.
                held.retry_later(e.message)
                return Outcome(entry, PENDING, e.message)
            held.done()
            return Outcome(entry, REGISTERED, f"{reg.model_name} ({reg.model_id})", reg)


def describe(o: Outcome) -> str:
    return scrub(f"{o.commit[:12]} {o.status}: {o.message}")  # goes to hook.log too


def flush(repo_arg: Path | None, *, retry_failed: bool = False) -> int:
    repo = open_repo(repo_arg)
    store = store_of(repo)
    if retry_failed:
        moved = store.retry_failed()
        if moved:
            print(f"{moved} failed registration(s) moved back to pending")
    entries = store.list_pending()
    if not entries:
        print("nothing pending: every recorded version is registered")
        return EXIT_OK
    outcomes = Flusher(repo, store).flush(entries)
    for o in outcomes:
        print(describe(o), file=sys.stderr if o.status in (PENDING, FAILED) else sys.stdout)
    left = [o for o in outcomes if o.status in (PENDING, FAILED, SKIPPED)]
    if left:
        print(
            f"{PROG}: {len(left)} of {len(outcomes)} not registered; "
            f"'{PROG} status' lists them, '{PROG} flush' retries",
            file=sys.stderr,
        )
        return EXIT_FAILURE
    return EXIT_OK


def _age(ts: float | None) -> str:
    if ts is None:
        return "never"
    s = max(0, int(time.time() - ts))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if s >= size:
            return f"{s // size}{unit} ago"
    return f"{s}s ago"


def status(repo_arg: Path | None, *, fmt: str) -> int:
    repo = open_repo(repo_arg)
    store = store_of(repo)
    pending, failed = store.list_pending(), store.list_failed()
    if fmt == "json":

        def row(e: Entry) -> dict[str, object]:
            return {
                "commit": e.record.commit,
                "source": e.record.source,
                "recorded": e.record.created,
                "attempts": e.state.attempts,
                "last_error": e.state.last_error,
                "file": str(e.path),
            }

        print(
            json.dumps({"pending": [row(e) for e in pending], "failed": [row(e) for e in failed]})
        )
    elif not pending and not failed:
        print("every recorded version is registered")
    else:
        if pending:
            print(f"pending: {len(pending)} (register them with '{PROG} flush')")
            for e in pending:
                err = f"; last error: {e.state.last_error}" if e.state.last_error else ""
                print(
                    f"  {e.record.commit[:12]}  from {e.record.source}, recorded "
                    f"{_age(e.record.created)}, {e.state.attempts} attempt(s){err}"
                )
        if failed:
            print(
                f"failed: {len(failed)} (can never register as committed; after fixing the "
                f"cause, '{PROG} flush --retry-failed', or delete the files in {store.failed})"
            )
            for e in failed:
                print(f"  {e.record.commit[:12]}  {e.state.last_error}")
    return EXIT_FAILURE if pending or failed else EXIT_OK


def run(args: argparse.Namespace) -> int:
    if args.command == "flush":
        return flush(args.repo, retry_failed=getattr(args, "retry_failed", False))
    return status(args.repo, fmt=args.format)
