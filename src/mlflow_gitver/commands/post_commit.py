"""``mlflow-gitver hook post-commit``: record the new commit, register it later.

A commit must not wait on the network, nor on much else: this runs after every
commit.  It writes a durable record of the registration (see pending.py),
starts ``flush`` detached, and returns.  ``main`` calls :func:`fast_args` before
the argument parser is even imported, and this module imports only what that
path needs; `bench/bench_commit.py` measures the result against a do-nothing hook.
"""

from __future__ import annotations

import os
import sys

from mlflow_gitver import git
from mlflow_gitver.errors import EXIT_FAILURE, EXIT_OK, GitverError
from mlflow_gitver.pending import (
    Entry,
    Record,
    Store,
    new_record,
    parse_record_config,
    record_environ,
)

TYPE_CHECKING = False  # mypy reads a bare TYPE_CHECKING as True: no typing import at run time
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from pathlib import Path

PROG = "mlflow-gitver"


def _say(message: str) -> None:
    print(f"{PROG}: {message}", file=sys.stderr)


def fast_args(args: Sequence[str]) -> tuple[str | None, bool] | None:
    """(--repo, --sync) when ``args`` hold nothing else; None: let argparse read them
    (``--help``, a typo: argparse's messages)."""
    repo: str | None = None
    sync = False
    rest = list(args)
    while rest:
        arg = rest.pop(0)
        if arg == "--sync":
            sync = True
        elif arg == "--repo" and rest:
            repo = rest.pop(0)
        elif arg.startswith("--repo="):
            repo = arg.removeprefix("--repo=")
        else:
            return None
    return repo, sync


def run(repo_arg: str | Path | None, *, sync: bool) -> int:
    from pathlib import Path

    # Like context.open_repo: an explicit --repo wins over GIT_DIR/GIT_WORK_TREE.
    start = Path.cwd() if repo_arg is None else Path(repo_arg).resolve()
    head = git.open_head(start, keep_repo_env=repo_arg is None)
    if head.commit is None:
        raise GitverError(f"post-commit: HEAD names no commit in {head.repo.root}")
    store = Store(head.common_dir)
    environ = os.environ
    record = new_record(head.repo, head.commit, "post-commit", environ, head.branch)
    background, error = _check_config(store, record, environ)
    if error is not None:
        # The commit is made; this version can never register as committed.
        # Kept in failed/ for `status`; non-zero so pre-commit shows the line.
        store.add_failed(record, error)
        _say(f"commit {head.commit[:12]} is not registered: {error}")
        return EXIT_FAILURE
    entry = store.add_entry(record)
    sync = sync or environ.get("MLFLOW_GITVER_SYNC") == "1"
    if sync or not background:
        return _run_sync(head.repo, store, entry)
    from mlflow_gitver.background import spawn_flush

    spawn_flush(head.repo.root, store.log)
    # Records that already failed an attempt mean the server has been away.
    stuck = [e for e in store.list_pending() if e.state.attempts and e.path != entry.path]
    if stuck:
        _say(
            f"{len(stuck)} earlier version(s) still pending ({stuck[-1].state.last_error}); "
            f"retrying in the background, see '{PROG} status'"
        )
    return EXIT_OK


class _Watched(dict[str, str]):
    """An environment that notes whether the config read a variable from it."""

    read = False

    def get(self, key: str, default: object = None) -> object:  # type: ignore[override]
        self.read = True
        return super().get(key, default)

    def __getitem__(self, key: str) -> str:
        self.read = True
        return super().__getitem__(key)

    def __contains__(self, key: object) -> bool:
        self.read = True
        return super().__contains__(key)


def _check_config(
    store: Store, record: Record, environ: Mapping[str, str]
) -> tuple[bool, str | None]:
    """(``hooks.post_commit.background``, None) for a valid config as committed;
    (False, why) for one that can never register.

    A config text that validated before without reading the environment is not
    parsed again (Store.known_valid): that is most of this hook's cost."""
    if record.config_text is not None:
        known = store.known_valid(record.config_text)
        if known is not None:
            return known, None
    from mlflow_gitver.config import ConfigError

    env = _Watched(record_environ(record, environ))
    try:
        cfg = parse_record_config(record, env)
    except ConfigError as e:
        return False, e.message
    if record.config_text is not None and not env.read:
        store.remember_valid(record.config_text, cfg.post_commit_background)
    return cfg.post_commit_background, None


def _run_sync(repo: git.Repo, store: Store, entry: Entry) -> int:
    from mlflow_gitver.commands.queue_cmds import (
        BUSY,
        FAILED,
        HOOK_WAIT_SECONDS,
        REGISTERED,
        Flusher,
    )

    # This commit first; then the earlier records, retried by this run too.
    others = [e for e in store.list_pending() if e.path != entry.path]
    flusher = Flusher(repo, store, wait=HOOK_WAIT_SECONDS)
    mine = flusher.one(entry)
    rest = flusher.flush(others)
    if mine.status == REGISTERED:
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
