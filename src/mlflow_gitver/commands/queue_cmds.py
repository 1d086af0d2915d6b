"""``mlflow-gitver flush`` and ``status``: the registrations the hooks recorded.

``flush`` registers every pending record it can claim (records another process is
registering right now are skipped); ``status`` lists what is pending and what
failed for good.  The same engine, :class:`Flusher`, serves the hooks.
"""

from __future__ import annotations

import argparse
import fcntl
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
    fix_for,
    lock_nowait,
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
    return Store(repo.common_dir)


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

        with claim_record(self.store, entry, wait=self.wait) as held:
            if held is None:
                return self._not_claimed(entry)
            record = held.record
            env = record_environ(record, self.environ)
            if git.resolve_commit(self.repo, record.commit) is None:
                msg = f"commit {record.commit} no longer exists in {self.repo.root}"
                held.give_up(msg)
                return Outcome(entry, FAILED, msg)
            try:
                cfg = parse_record_config(record, env, self.repo)
            except ConfigError as e:
                path = held.give_up(e.message)
                return Outcome(entry, FAILED, f"{e.message} (kept in {path})")
            # MLflow only now: a record that fails above costs no MLflow import.
            from mlflow_gitver.registry import ServerUnavailable

            key = _server_key(record, cfg, env)
            if key in self.down:
                return Outcome(entry, SKIPPED, self.down[key])
            try:
                reg = self._register(record, cfg, env)
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

    def _not_claimed(self, entry: Entry) -> Outcome:
        """Another process held the record, or finished it while we waited.

        A hook that waits (pre-push) must say whether the version exists, not
        "busy", when the holder has just registered it: the record is gone and
        not in failed/, so the registration, run again, only finds the model.
        """
        busy = Outcome(entry, BUSY, "being registered by another process")
        if self.wait <= 0 or entry.path.exists():
            return busy
        failed = self.store.failed / entry.path.name
        if failed.exists():
            why = self.store.read_state(failed).last_error or "see 'mlflow-gitver status'"
            return Outcome(entry, FAILED, why)
        record = entry.record
        env = record_environ(record, self.environ)
        try:
            reg = self._register(record, parse_record_config(record, env, self.repo), env)
        except GitverError:  # ConfigError included
            return busy  # its holder's outcome stands; `status` tells the rest
        return Outcome(entry, REGISTERED, f"{reg.model_name} ({reg.model_id})", reg)

    def _register(self, record: Record, cfg: Config, env: Mapping[str, str]) -> Registered:
        from mlflow_gitver.service import register_commit

        return register_commit(
            self.repo,
            record.commit,
            cfg,
            tracking_uri=record.tracking_uri,
            experiment=record.experiment,
            environ=env,
            branch=record.branch,
        )


def describe(o: Outcome) -> str:
    return scrub(f"{o.commit[:12]} {o.status}: {o.message}")  # goes to hook.log too


def drain(flusher: Flusher, store: Store, lock_fd: int | None) -> list[Outcome]:
    """Register every pending record, including those added meanwhile, each once.

    ``lock_fd`` holds the repository's flush lock (a background flush).  A hook
    writes its record before it tries that lock, and starts no flusher when the
    lock is held; so after releasing it the queue is listed once more, and a
    record found then is drained here, unless another flusher took the lock
    meanwhile (it lists the queue after taking it).  No record is left behind."""
    tried: set[Path] = set()
    out: list[Outcome] = []
    while True:
        todo = [e for e in store.list_pending() if e.path not in tried]
        if not todo and lock_fd is not None:
            fcntl.flock(lock_fd, fcntl.LOCK_UN)
            todo = [e for e in store.list_pending() if e.path not in tried]
            if todo and not lock_nowait(lock_fd):
                break  # a newer flusher has it, and will list these itself
        if not todo:
            break
        for entry in todo:
            tried.add(entry.path)
            out.append(flusher.one(entry))
    return out


def _catch_up(repo: git.Repo, store: Store) -> None:
    """Record the commits the hooks missed (journal.py) before flushing."""
    try:
        added, _ = store.catch_up(repo, os.environ, source="flush", branch=git.current_branch(repo))
    except OSError as e:
        raise GitverError(
            f"cannot record the commits the hooks missed: cannot write "
            f"{e.filename or store.root}: {e.strerror}; {fix_for(e, store.root)}",
            EXIT_FAILURE,
        ) from None
    if added:
        print(f"recorded {len(added)} commit(s) the hooks had not recorded")


def flush(repo_arg: Path | None, *, retry_failed: bool = False, lock_fd: int | None = None) -> int:
    repo = open_repo(repo_arg)
    store = store_of(repo)
    if lock_fd is not None:
        try:
            os.fstat(lock_fd)
        except OSError:
            raise GitverError(f"--lock-fd {lock_fd}: not an open file descriptor") from None
    if retry_failed:
        moved = store.retry_failed()
        if moved:
            print(f"{moved} failed registration(s) moved back to pending")
    _catch_up(repo, store)
    outcomes = drain(Flusher(repo, store), store, lock_fd)
    code = _summary(outcomes, store.problems)
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


def _age(ts: float | None) -> str:
    if ts is None:
        return "never"
    s = max(0, int(time.time() - ts))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if s >= size:
            return f"{s // size}{unit} ago"
    return f"{s}s ago"


def reachable(repo: git.Repo, commit: str) -> bool:
    """Whether a ref (branch, tag, remote branch) or HEAD still reaches ``commit``."""
    out = git.git(
        ["rev-list", "--max-count=1", commit, "--not", "--all", "--"],
        cwd=repo.root,
        env=repo.env(),
        check=False,
    )
    # A commit that is gone is not reachable either.
    return out.returncode == 0 and not out.stdout.strip()


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


def status(repo_arg: Path | None, *, fmt: str, prune: bool = False) -> int:
    repo = open_repo(repo_arg)
    store = store_of(repo)
    pruned = store.prune_failed(lambda _commit: False) if prune else []
    pending, failed = store.list_pending(), store.list_failed()
    problems = _store_problems(store) + store.problems
    missing = store.unrecorded(repo)
    live = {e.path: reachable(repo, e.record.commit) for e in failed}
    counted = [e for e in failed if live[e.path]]
    gone = [e for e in failed if not live[e.path]]
    bad = bool(pending or counted or problems or missing)
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


def run(args: argparse.Namespace) -> int:
    if args.command == "flush":
        return flush(
            args.repo,
            retry_failed=getattr(args, "retry_failed", False),
            lock_fd=getattr(args, "lock_fd", None),
        )
    return status(args.repo, fmt=args.format, prune=getattr(args, "prune", False))
