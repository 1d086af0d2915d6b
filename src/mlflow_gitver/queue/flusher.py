"""The flusher: registers recorded versions one at a time, each under its claim.

``flush`` and the hooks share it: :class:`Flusher` registers one record (its
config parsed as committed, its server remembered when unreachable),
:func:`drain` empties the queue for a background flush, including what the
hooks add while it runs.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING

from mlflow_gitver import git
from mlflow_gitver.errors import GitverError
from mlflow_gitver.queue import registered
from mlflow_gitver.queue.claims import Claim, claim_record
from mlflow_gitver.queue.records import Entry, Record, parse_record_config, record_environ
from mlflow_gitver.queue.scoped import AppsResult, is_scoped, register_apps
from mlflow_gitver.queue.store import Store, lock_nowait
from mlflow_gitver.record import Record as _Value
from mlflow_gitver.redact import scrub

if TYPE_CHECKING:
    from pathlib import Path

    from mlflow_gitver.config import Config
    from mlflow_gitver.queue.validated import Facts
    from mlflow_gitver.versions import Registered

PROG = "mlflow-gitver"
# How long a hook waits for a record another process is registering: a pre-push
# must know whether the commits it pushes are registered.
HOOK_WAIT_SECONDS = 120.0

REGISTERED = "registered"
PENDING = "pending"  # tried, will be retried
FAILED = "failed"  # can never succeed: moved to failed/
BUSY = "busy"  # another process holds it
SKIPPED = "skipped"  # not tried: its server was just found unreachable


class Outcome(_Value):
    """What registering one record did (not a dataclass: see record.py)."""

    __slots__ = ("apps", "entry", "message", "registered", "status")
    entry: Entry
    status: str
    message: str
    registered: Registered | None  # the version (one app's, for a scoped config)
    apps: AppsResult | None  # a scoped config: what each app did

    def __init__(
        self,
        entry: Entry,
        status: str,
        message: str,
        registered: Registered | None = None,
        apps: AppsResult | None = None,
    ) -> None:
        self._init(entry=entry, status=status, message=message, registered=registered, apps=apps)

    @property
    def commit(self) -> str:
        return self.entry.record.commit


def store_of(repo: git.Repo) -> Store:
    return Store(repo.common_dir)


def _server_key(repo: git.Repo, cfg: Config, env: Mapping[str, str]) -> str:
    # The URI the registration uses, by tracking.choose's rule (a record has no
    # --tracking-uri); unchecked: a bad URI fails in the registration, as a record's.
    from mlflow_gitver import tracking

    return tracking.choose(None, env, cfg.tracking_uri, repo.root).uri


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
        self.down: dict[str, str] = {}
        self._origin: tuple[str | None] | None = None

    def journal_key(self, record: Record, facts: Facts, env: Mapping[str, str]) -> str:
        """The key this registration is journaled under (queue/registered.py)."""
        if self._origin is None:
            self._origin = (git.remote_url(self.repo),)  # one `git config` per run
        return registered.digest(record, facts, env, self.repo.root, self._origin[0])

    def _journal(self, outcome: Outcome, cfg: Config, env: Mapping[str, str]) -> Outcome:
        """Journal a registration that succeeded, so a push of it needs no server."""
        from mlflow_gitver.queue.validated import Facts

        record, facts = outcome.entry.record, Facts.of(cfg)
        ids = [reg.model_id for _app, reg in outcome.apps.registered] if outcome.apps else []
        if outcome.registered is not None and outcome.registered.model_id not in ids:
            ids.append(outcome.registered.model_id)
        # And as registered from no branch (a pushed tag): that writes a subset of the
        # tags a branch's registration wrote.
        for rec in [record] if record.branch is None else [record, record.replace(branch=None)]:
            key = self.journal_key(rec, facts, env)
            registered.remember(self.store, key, outcome.message, time.time(), ids)
        return outcome

    def flush(
        self, entries: Sequence[Entry], configs: Mapping[Path, Config] | None = None
    ) -> list[Outcome]:
        """Register ``entries`` in turn; ``configs``: those the caller parsed already."""
        out = []
        for i, entry in enumerate(entries, 1):
            out.append(self.one(entry, None if configs is None else configs.get(entry.path)))
            if self.progress is not None:
                self.progress(i, len(entries))
        return out

    def one(self, entry: Entry, parsed: Config | None = None) -> Outcome:
        """Register one record; ``parsed``: its config, when the caller (a hook that
        checked it) has parsed it already with the same environment."""
        from mlflow_gitver.config import ConfigError

        with claim_record(self.store, entry, wait=self.wait) as held:
            if held is None:
                return self._not_claimed(entry, parsed)
            record = held.record
            env = record_environ(record, self.environ)
            if git.resolve_commit(self.repo, record.commit) is None:
                msg = f"commit {record.commit} no longer exists in {self.repo.root}"
                held.give_up(msg)
                return Outcome(entry, FAILED, msg)
            try:
                cfg = parsed or parse_record_config(record, env, self.repo)
            except ConfigError as e:
                path = held.give_up(e.message)
                return Outcome(entry, FAILED, f"{e.message} (kept in {path})")
            # MLflow only now: a record that fails above costs no MLflow import.
            from mlflow_gitver.errors import ServerUnavailable

            key = _server_key(self.repo, cfg, env)
            if key in self.down:
                return Outcome(entry, SKIPPED, self.down[key])
            if is_scoped(cfg):
                return self._apps(held, entry, cfg, env, key)
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
            ok = Outcome(entry, REGISTERED, f"{reg.model_name} ({reg.model_id})", reg)
            return self._journal(ok, cfg, env)

    def _apps(
        self, held: Claim, entry: Entry, cfg: Config, env: Mapping[str, str], key: str
    ) -> Outcome:
        """Register the apps of a scoped config that the record's commit changed."""
        record = held.record
        res = register_apps(
            self.repo,
            record,
            cfg,
            held.state.apps_done,
            lambda app: self._register(record, app, env),
            held.progress,
        )
        if res.down is not None:
            self.down[key] = res.down
        if res.down is not None or res.retry:
            held.retry_later(res.problems, res.done)
            return Outcome(entry, PENDING, res.problems, apps=res)
        if res.never:
            path = held.give_up(res.problems, res.done)
            return Outcome(entry, FAILED, f"{res.problems} (kept in {path})", apps=res)
        held.done()
        return self._journal(
            Outcome(entry, REGISTERED, res.message(), _only(res), apps=res), cfg, env
        )

    def _not_claimed(self, entry: Entry, parsed: Config | None) -> Outcome:
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
            cfg = parsed or parse_record_config(record, env, self.repo)
            if is_scoped(cfg):
                res = register_apps(
                    self.repo, record, cfg, (), lambda app: self._register(record, app, env)
                )
                if res.problems:
                    return busy
                ok = Outcome(entry, REGISTERED, res.message(), _only(res), apps=res)
                return self._journal(ok, cfg, env)
            reg = self._register(record, cfg, env)
        except GitverError:  # ConfigError included
            return busy  # its holder's outcome stands; `status` tells the rest
        ok = Outcome(entry, REGISTERED, f"{reg.model_name} ({reg.model_id})", reg)
        return self._journal(ok, cfg, env)

    def _register(self, record: Record, cfg: Config, env: Mapping[str, str]) -> Registered:
        from mlflow_gitver.versions import register_commit

        return register_commit(
            self.repo,
            record.commit,
            cfg,
            environ=env,
            branch=record.branch,
        )


def _only(res: AppsResult) -> Registered | None:
    return res.registered[0][1] if len(res.registered) == 1 else None


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
