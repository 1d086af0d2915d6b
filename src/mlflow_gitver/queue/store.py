"""The queue's store: pending and failed records on disk, and marks of commits not recorded.

One JSON file per pending registration under ``<git common dir>/mlflow-gitver/pending/``
(the common dir, so that every worktree of a clone shares one queue).

Concurrency, without a daemon:

- A record file is created once, atomically (temp file, fsync, ``link`` so that an
  existing record is never replaced), and never rewritten.  Attempts and the last
  error live in a sidecar ``<key>.state`` replaced atomically by the lock holder.
- Whoever registers a record holds ``flock`` on the record file itself (see
  files.py).  After taking the lock it checks that the path still names the
  inode it locked: the previous holder may have deleted the record (registered)
  or moved it to ``failed/`` (can never succeed) in the meantime.  So a version
  is never registered by two processes at once, and a record is removed only by
  the process that registered it.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from mlflow_gitver.queue.files import claim, fix_for, fsync_dir, lock_nowait, write_atomic
from mlflow_gitver.queue.records import Entry, Record, State
from mlflow_gitver.redact import scrub

TYPE_CHECKING = False  # not typing's: see mlflow_gitver/__init__.py
if TYPE_CHECKING:
    from collections.abc import Callable

PROG = "mlflow-gitver"
STORE_DIR = "mlflow-gitver"
SUFFIX = ".json"
STATE_SUFFIX = ".state"
MARK_SUFFIX = ".unrecorded"


class Store:
    """The pending and failed records of one repository."""

    def __init__(self, common_dir: Path) -> None:
        self.root = common_dir / STORE_DIR
        self.pending = self.root / "pending"
        self.failed = self.root / "failed"
        self.log = self.root / "hook.log"
        self.validated = self.root / "validated-configs.json"
        self.flush_lock = self.root / "flush.lock"
        # (path, one line) for what a listing could not read: see _list.
        self.problems: list[tuple[Path, str]] = []

    def ensure(self) -> None:
        self.pending.mkdir(parents=True, exist_ok=True)
        self.failed.mkdir(parents=True, exist_ok=True)

    def add(self, record: Record) -> tuple[Path, bool]:
        """Record a pending registration; (path, False) if the same one was pending."""
        self.ensure()
        path = self.pending / (record.key + SUFFIX)
        return path, write_atomic(path, record.to_json(), replace=False)

    def add_entry(self, record: Record) -> Entry:
        """add(), listed: the same record pending already keeps its state."""
        path, _new = self.add(record)
        return Entry(path, record, self.read_state(path))

    def add_failed(self, record: Record, error: str) -> Path:
        """Record a registration that can never succeed, with why."""
        self.ensure()
        path = self.failed / (record.key + SUFFIX)
        write_atomic(path, record.to_json(), replace=True)
        self.write_state(path, State(attempts=0, last_error=scrub(error)))
        return path

    # --- listing -------------------------------------------------------------
    def _problem(self, path: Path, text: str) -> None:
        if all(p != path for p, _ in self.problems):
            self.problems.append((path, text))

    def _list(self, directory: Path) -> list[Entry]:
        """The readable records in ``directory``; what cannot be read (a torn or
        foreign file, a directory that is not one) goes to ``self.problems``."""
        try:
            names = sorted(os.listdir(directory))
        except FileNotFoundError:
            return []
        except OSError as e:
            self._problem(
                directory, f"cannot read {directory}: {e.strerror}; {fix_for(e, directory)}"
            )
            return []
        out = []
        for name in names:
            if not name.endswith(SUFFIX) or name.startswith("."):
                continue
            path = directory / name
            try:
                record = Record.from_json(path.read_text(encoding="utf-8"))
            except FileNotFoundError:  # registered by another process meanwhile
                continue
            except (ValueError, TypeError, UnicodeDecodeError, OSError) as e:
                # Our writes are atomic: a torn record was cut by the file system
                # (a crash without fsync reaching the disk) or written by another tool.
                why = e.strerror if isinstance(e, OSError) else f"not a valid record: {e}"
                commit = name.removesuffix(SUFFIX).split("-", 1)[0]
                self._problem(
                    path,
                    f"{path} cannot be read ({why}); commit {commit[:12]} is not registered "
                    f"from it: delete the file, then '{PROG} register --commit {commit[:12]}'",
                )
                continue
            out.append(Entry(path, record, self.read_state(path)))
        out.sort(key=lambda e: (e.record.created, e.path.name))
        return out

    def list_pending(self) -> list[Entry]:
        return self._list(self.pending)

    def list_failed(self) -> list[Entry]:
        return self._list(self.failed)

    # --- state sidecars ------------------------------------------------------
    @staticmethod
    def state_path(path: Path) -> Path:
        return path.with_name(path.name + STATE_SUFFIX)

    def read_state(self, path: Path) -> State:
        try:
            return State.from_json(self.state_path(path).read_text(encoding="utf-8"))
        except (FileNotFoundError, ValueError, TypeError):
            return State()

    def write_state(self, path: Path, state: State) -> None:
        write_atomic(self.state_path(path), state.to_json(), replace=True)

    def retry_failed(self) -> int:
        """Move every failed record back to pending (after the user fixed the cause)."""
        moved = 0
        for entry in self.list_failed():
            with claim(entry.path, wait=0) as held:
                if held is None:
                    continue
                with contextlib.suppress(FileNotFoundError):
                    self.state_path(entry.path).unlink()
                # link, not replace: never overwrite a pending record another
                # process may hold (the same version recorded again meanwhile).
                with contextlib.suppress(FileExistsError):
                    os.link(entry.path, self.pending / entry.path.name)
                entry.path.unlink()
                moved += 1
        if moved:
            fsync_dir(self.pending)
        return moved

    # --- commits made but not recorded -----------------------------------------
    def mark_unrecorded(self, commit: str) -> Path | None:
        """Leave an empty file naming a commit whose record could not be written.
        Empty files need no data block: a full disk or a file-size limit still
        allows them, and ``status`` and ``flush`` find them."""
        for directory in (self.pending, self.root):
            path = directory / f"{commit}{MARK_SUFFIX}"
            try:
                os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
                return path
            except OSError:
                continue
        return None

    def unrecorded_marks(self) -> list[tuple[str, Path]]:
        out = []
        for directory in (self.pending, self.root):
            try:
                names = os.listdir(directory)
            except OSError:
                continue
            out += [
                (n.removesuffix(MARK_SUFFIX), directory / n)
                for n in sorted(names)
                if n.endswith(MARK_SUFFIX) and not n.startswith(".")
            ]
        return out

    def recorded_commits(self) -> set[str]:
        """Commits with a pending or failed record (by file name: no parsing)."""
        out: set[str] = set()
        for directory in (self.pending, self.failed):
            with contextlib.suppress(OSError):
                out |= {
                    n.split("-", 1)[0].removesuffix(SUFFIX)
                    for n in os.listdir(directory)
                    if n.endswith(SUFFIX) and not n.startswith(".")
                }
        return out

    # --- one background flusher per repository ---------------------------------
    def try_flush_lock(self) -> int | None:
        """An open descriptor holding ``flock`` on the flush lock, or None when
        another process (the background flusher) holds it."""
        fd = os.open(self.flush_lock, os.O_RDWR | os.O_CREAT, 0o600)
        if lock_nowait(fd):
            return fd
        os.close(fd)
        return None

    def prune_failed(self, keep: Callable[[str], bool]) -> list[Entry]:
        """Delete the failed records whose commit ``keep`` rejects; those deleted."""
        gone = []
        for entry in self.list_failed():
            if keep(entry.record.commit):
                continue
            with claim(entry.path, wait=0) as held:
                if held is None:
                    continue
                with contextlib.suppress(FileNotFoundError):
                    self.state_path(entry.path).unlink()
                entry.path.unlink()
                gone.append(entry)
        return gone
