"""``mlflow-gitver hook post-commit`` (and post-merge, post-rewrite,
post-applypatch): record the new commits, register them later.

A commit must not wait on the network, nor on much else: this runs after every
commit.  It writes a durable record of the registration (queue/store.py),
starts ``flush`` detached, and returns.  ``main`` parses its usual arguments
before the argument parser is even imported, and this module imports only what
that path needs; `bench/bench_commit.py` measures the result against a
do-nothing hook.
"""

from __future__ import annotations

import os
import sys

from mlflow_gitver import git
from mlflow_gitver.errors import EXIT_FAILURE, EXIT_OK, GitverError
from mlflow_gitver.queue import journal
from mlflow_gitver.queue.records import new_record
from mlflow_gitver.queue.store import Store
from mlflow_gitver.queue.validated import check_config

TYPE_CHECKING = False  # not typing's: see mlflow_gitver/__init__.py
if TYPE_CHECKING:
    from pathlib import Path

    from mlflow_gitver.commands.hook import Args
    from mlflow_gitver.config import Config
    from mlflow_gitver.queue.records import Entry

PROG = "mlflow-gitver"


def _say(message: str) -> None:
    print(f"{PROG}: {message}", file=sys.stderr)


def run(args: Args) -> int:
    """Record what ``stage`` made: every commit HEAD's reflog shows since the
    hooks last read it (journal.py), and for post-commit HEAD with its config
    checked; then register in the background (or here, with --sync)."""
    from mlflow_gitver.context import repo_start

    repo_arg, stage = args.repo, args.stage
    start, keep_repo_env = repo_start(repo_arg)
    head = git.open_head(start, keep_repo_env=keep_repo_env)
    if head.commit is None:
        if stage == "post-commit":
            raise GitverError(f"post-commit: HEAD names no commit in {head.repo.root}")
        return EXIT_OK  # nothing was made
    store = Store(head.repo.common_dir)
    environ = os.environ
    record = new_record(head.repo, head.commit, stage, environ, head.branch)
    code = EXIT_OK
    entry: Entry | None = None
    background: bool | None = None
    cfg: Config | None = None  # parsed by the check: --sync does not parse it again
    try:
        if stage == "post-commit":
            checked = check_config(store, record, environ)
            background, error, cfg = checked.background, checked.error, checked.config
            if error is not None:
                # The commit is made; this version can never register as committed.
                # Kept in failed/ for `status`; non-zero so pre-commit shows the line.
                store.add_failed(record, error)
                _say(f"commit {head.commit[:12]} is not registered: {error}")
                code = EXIT_FAILURE
                background = True  # what earlier commits caught up go the usual way
            else:
                entry = store.add_entry(record)
        done = frozenset((head.commit,)) if stage == "post-commit" else frozenset()
        first = journal.read_cursor(journal.store_cursor(store, head.repo)) is None
        added, seen = journal.catch_up(
            store, head.repo, environ, source=stage, branch=head.branch, done=done
        )
        if (first or not seen) and stage != "post-commit":
            # No reflog to read (reftable, logAllRefUpdates off), or the hooks' first
            # run here (the reflog is only read from now on): HEAD at least.
            added = [*added, head.commit] if store.add(record)[1] else added
    except OSError as e:
        raise _not_recorded(store, head.commit, stage, e) from None
    if entry is None and not added:
        return code
    if background is None:  # HEAD's config says how to register, as for a commit
        checked = check_config(store, record, environ)
        background = checked.background or checked.error is not None
    sync = args.sync or environ.get("MLFLOW_GITVER_SYNC") == "1"
    if sync or not background:
        sync_code = _run_sync(head.repo, store, entry, cfg)
        return max(code, sync_code)
    _start_flusher(head.repo.root, store)
    # Records that already failed an attempt mean the server has been away.
    mine = None if entry is None else entry.path
    stuck = [e for e in store.list_pending() if e.state.attempts and e.path != mine]
    if stuck:
        _say(
            f"{len(stuck)} earlier version(s) still pending ({stuck[-1].state.last_error}); "
            f"retrying in the background, see '{PROG} status'"
        )
    return code


def _start_flusher(root: Path, store: Store) -> None:
    """Start the background flush, unless one runs already: it holds the flush
    lock, and lists the queue again before it exits, so it registers our record
    too (see queue.flusher.drain)."""
    from mlflow_gitver.proc_detached import spawn_detached

    try:
        fd = store.try_flush_lock()
        if fd is None:
            return
        try:
            args = [sys.executable, "-m", "mlflow_gitver", "flush", "--repo", str(root)]
            spawn_detached([*args, "--lock-fd", str(fd)], store.log, "flush", fd)
        finally:
            os.close(fd)
    except OSError as e:
        _say(
            f"recorded, but the background registration could not start ({e.strerror}); "
            f"'{PROG} flush' registers it"
        )


def _not_recorded(store: Store, commit: str, stage: str, e: OSError) -> GitverError:
    """A store that cannot be written: say that the version is lost unless the
    user acts, and how.  An empty marker, which a full disk or a file-size limit
    still allows, lets `status` and `flush` find the commit again."""
    from mlflow_gitver.queue.store import fix_for

    store.mark_unrecorded(commit)
    where = e.filename or store.root
    what = (
        f"commit {commit[:12]}'s version was NOT recorded"
        if stage == "post-commit"
        else f"the commits {stage} made were NOT recorded"
    )
    return GitverError(
        f"{what}: cannot write {where}: {e.strerror}; {fix_for(e, store.root)}, then run "
        f"'{PROG} flush' (it records and registers the commits the hooks missed)",
        EXIT_FAILURE,
    )


def _run_sync(repo: git.Repo, store: Store, entry: Entry | None, cfg: Config | None) -> int:
    from mlflow_gitver.queue.flusher import (
        BUSY,
        FAILED,
        HOOK_WAIT_SECONDS,
        REGISTERED,
        Flusher,
    )

    # This commit first; then the earlier records, retried by this run too.
    others = [e for e in store.list_pending() if entry is None or e.path != entry.path]
    flusher = Flusher(repo, store, wait=HOOK_WAIT_SECONDS)
    mine = None if entry is None else flusher.one(entry, cfg)
    rest = flusher.flush(others)
    if mine is None:
        pass
    elif mine.status == REGISTERED:
        print(f"{PROG}: registered {mine.commit[:12]} as {mine.message}")
    elif mine.status == FAILED:
        _say(f"commit {mine.commit[:12]} is not registered: {mine.message}")
        return EXIT_FAILURE
    elif mine.status != BUSY:
        # Server trouble never fails a commit: the record stays for the next run.
        _say(f"deferred {mine.commit[:12]}: {mine.message}; kept pending ('{PROG} flush')")
    left = [o for o in rest if o.status not in (REGISTERED, BUSY)]
    if left:
        _say(f"{len(left)} earlier version(s) still pending; see '{PROG} status'")
    return EXIT_OK
