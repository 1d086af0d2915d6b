"""The claim on one record while it is registered: done, retry later, or give up.

A claim holds ``flock`` on the record file (store.claim), so only its holder
deletes the record or moves it to ``failed/``; the state sidecar is re-read
under the lock, the listing it came from may be stale.
"""

from __future__ import annotations

import contextlib
import os
import time

from mlflow_gitver.queue.records import Entry, Record, State
from mlflow_gitver.queue.store import Store, claim, fsync_dir, write_atomic
from mlflow_gitver.redact import scrub

TYPE_CHECKING = False  # not typing's: see mlflow_gitver/__init__.py
if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path


class Claim:
    """The lock on one record, held while registering it."""

    def __init__(self, store: Store, path: Path, record: Record, state: State) -> None:
        self.store = store
        self.path = path
        self.record = record
        self.state = state

    def done(self) -> None:
        """Registered: forget the record (state first, so no orphan record is left)."""
        with contextlib.suppress(FileNotFoundError):
            Store.state_path(self.path).unlink()
        self.path.unlink()
        fsync_dir(self.path.parent)

    def retry_later(self, error: str, apps_done: tuple[str, ...] = ()) -> None:
        """Keep it pending; ``apps_done``: the apps of a scoped config registered so far."""
        self.state = State(self.state.attempts + 1, scrub(error), time.time(), apps_done)
        self.store.write_state(self.path, self.state)

    def progress(self, apps_done: tuple[str, ...]) -> None:
        """Note the apps registered so far, as each one is: a flush killed midway
        leaves a record whose retry, and ``status``, know them.  Not written (a full
        disk) only costs the retry a look-up of each: it finds their models."""
        self.state = State(
            self.state.attempts, self.state.last_error, self.state.last_attempt, apps_done
        )
        with contextlib.suppress(OSError):
            self.store.write_state(self.path, self.state)

    def give_up(self, error: str, apps_done: tuple[str, ...] = ()) -> Path:
        """Can never succeed: keep it in failed/ with the reason, for ``status``."""
        target = self.store.failed / self.path.name
        self.store.ensure()
        state = State(self.state.attempts + 1, scrub(error), time.time(), apps_done)
        write_atomic(Store.state_path(target), state.to_json(), replace=True)
        with contextlib.suppress(FileNotFoundError):
            Store.state_path(self.path).unlink()
        os.replace(self.path, target)
        fsync_dir(self.path.parent)
        fsync_dir(target.parent)
        return target


@contextlib.contextmanager
def claim_record(store: Store, entry: Entry, *, wait: float = 0) -> Iterator[Claim | None]:
    """Claim a listed record: None if another process holds it or has finished it."""
    with claim(entry.path, wait=wait) as fd:
        if fd is None:
            yield None
            return
        # Re-read the state under the lock: the listing may be stale.
        yield Claim(store, entry.path, entry.record, store.read_state(entry.path))
