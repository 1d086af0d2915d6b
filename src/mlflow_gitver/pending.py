"""The durable store of registrations that have not reached MLflow yet.

One JSON file per pending registration under ``<git common dir>/mlflow-gitver/pending/``
(the common dir, so that every worktree of a clone shares one queue).  A record
holds everything a later process needs to register the version: the commit, the
config text as committed, and the credential-free MLflow target variables of the
process that recorded it.

Concurrency, without a daemon:

- A record file is created once, atomically (temp file, fsync, ``link`` so that an
  existing record is never replaced), and never rewritten.  Attempts and the last
  error live in a sidecar ``<key>.state`` replaced atomically by the lock holder.
- Whoever registers a record holds ``flock`` on the record file itself.  After
  taking the lock it checks that the path still names the inode it locked: the
  previous holder may have deleted the record (registered) or moved it to
  ``failed/`` (can never succeed) in the meantime.  So a version is never
  registered by two processes at once, and a record is removed only by the
  process that registered it.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import time
from pathlib import Path

from mlflow_gitver import git
from mlflow_gitver.config import CONFIG_NAME, schema_stamp
from mlflow_gitver.record import Record as _Value
from mlflow_gitver.redact import redact_secrets, redact_url, scrub

TYPE_CHECKING = False  # mypy reads a bare TYPE_CHECKING as True: no typing import at run time
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping
    from typing import TypeVar

    from mlflow_gitver.config import Config

    _J = TypeVar("_J", bound="_Json")

FORMAT_VERSION = 1
PROG = "mlflow-gitver"
STORE_DIR = "mlflow-gitver"
_SUFFIX = ".json"
_STATE_SUFFIX = ".state"
_MARK_SUFFIX = ".unrecorded"

# The MLflow target a record remembers from the recording process's environment.
# Nothing else: other variables may hold credentials, and those are read again
# from the environment of whichever process registers.
TARGET_VARS = ("MLFLOW_TRACKING_URI", "MLFLOW_EXPERIMENT_NAME", "MLFLOW_EXPERIMENT_ID")


class _Json(_Value):
    """A value stored as a JSON object; keys it does not know are ignored on reading
    (a record written by a later release stays readable)."""

    __slots__ = ()

    def to_json(self) -> str:
        return json.dumps(self._asdict(), indent=1, sort_keys=True)

    @classmethod
    def from_json(cls: type[_J], text: str) -> _J:
        data = json.loads(text)
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
        return cls(**{k: v for k, v in data.items() if k in cls.__slots__})


class Record(_Json):
    """One registration to do: immutable once written.

    Not a dataclass: the post-commit hook writes one on every commit, and
    ``dataclasses`` costs its start-up ~6 ms (see record.py).
    """

    __slots__ = (
        "branch",
        "commit",
        "config_in_commit",
        "config_path",
        "config_text",
        "created",
        "experiment",
        "source",
        "target_env",
        "tracking_uri",
        "version",
    )
    commit: str
    config_path: str  # relative to the repository root, posix
    config_text: str | None  # the config as committed; None: no config in that commit
    # True: the config holds what looks like a credential, so its text is not
    # written to disk; whoever registers the record reads it from the commit.
    config_in_commit: bool
    source: str  # "post-commit", "pre-push", ...
    created: float
    # MLflow target variables at recording time; None: unset then.
    target_env: dict[str, str | None]
    tracking_uri: str | None
    experiment: str | None
    branch: str | None  # the branch the commit was made on, or pushed from
    version: int

    def __init__(
        self,
        commit: str,
        config_path: str,
        config_text: str | None,
        source: str,
        created: float,
        target_env: dict[str, str | None] | None = None,
        tracking_uri: str | None = None,
        experiment: str | None = None,
        branch: str | None = None,
        version: int = FORMAT_VERSION,
        config_in_commit: bool = False,
    ) -> None:
        self._init(
            commit=commit,
            config_path=config_path,
            config_text=config_text,
            config_in_commit=config_in_commit,
            source=source,
            created=created,
            target_env={} if target_env is None else target_env,
            tracking_uri=tracking_uri,
            experiment=experiment,
            branch=branch,
            version=version,
        )

    def to_json(self) -> str:
        """The record as stored: a config text holding what looks like a credential
        (issue 11: nothing we write may) is left out, and read from the commit."""
        if self.config_text is not None and redact_secrets(self.config_text) != self.config_text:
            return self.replace(config_text=None, config_in_commit=True).to_json()
        return super().to_json()

    @property
    def key(self) -> str:
        """One file per commit and target: recording the same thing twice is a no-op."""
        target = sorted((k, v) for k, v in self.target_env.items() if v is not None)
        extra = [self.config_path, self.tracking_uri, self.experiment, target]
        if extra == [CONFIG_NAME, None, None, []]:
            return self.commit
        import hashlib  # ~2 ms, and only a record with an explicit target needs it

        digest = hashlib.sha256(json.dumps(extra).encode()).hexdigest()[:12]
        return f"{self.commit}-{digest}"


class State(_Json):
    """What happened so far to a record (written only by the lock holder)."""

    __slots__ = ("attempts", "last_attempt", "last_error")
    attempts: int
    last_error: str | None
    last_attempt: float | None

    def __init__(
        self, attempts: int = 0, last_error: str | None = None, last_attempt: float | None = None
    ) -> None:
        self._init(attempts=attempts, last_error=last_error, last_attempt=last_attempt)


class Entry(_Value):
    """A record as listed: where it is and what happened to it."""

    __slots__ = ("path", "record", "state")
    path: Path
    record: Record
    state: State

    def __init__(self, path: Path, record: Record, state: State) -> None:
        self._init(path=path, record=record, state=state)


def safe_target(value: str | None) -> str | None:
    """``value`` if it can be stored: a URI with a user, password or query is not."""
    if value is None or value == "":
        return None
    return value if redact_url(value) == value and redact_secrets(value) == value else None


def target_env_of(environ: Mapping[str, str]) -> dict[str, str | None]:
    """The MLflow target variables to remember; one holding a credential is left
    out, so the registering process's own value applies to it."""
    out: dict[str, str | None] = {}
    for name in TARGET_VARS:
        value = environ.get(name) or None
        if value is None or safe_target(value) is not None:
            out[name] = value
    return out


def new_record(
    repo: git.Repo,
    commit: str,
    source: str,
    environ: Mapping[str, str],
    branch: str | None = None,
) -> Record:
    """The record of registering ``commit`` with its config as committed."""
    text = git.show_blob(repo, commit, CONFIG_NAME)
    return Record(
        commit=commit,
        config_path=CONFIG_NAME,
        config_text=None if text is None else text.decode("utf-8", "surrogateescape"),
        source=source,
        created=time.time(),
        target_env=target_env_of(environ),
        branch=branch,
    )


def record_environ(record: Record, environ: Mapping[str, str]) -> dict[str, str]:
    """The environment to register ``record`` with: the MLflow target it was recorded
    with wins over the current one (None in the record: it was unset then)."""
    env = dict(environ)
    for name in TARGET_VARS:
        if name in record.target_env:
            value = record.target_env[name]
            if value is None:
                env.pop(name, None)
            else:
                env[name] = value
    return env


def parse_record_config(
    record: Record, environ: Mapping[str, str], repo: git.Repo | None = None
) -> Config:
    """The record's config as committed; ConfigError when it can never register.

    ``repo`` reads the config from the commit for a record that does not hold its
    text (Record.config_in_commit)."""
    from mlflow_gitver.config import ConfigError, parse_config

    source = f"{record.commit[:12]}:{record.config_path}"
    if record.config_text is None and record.config_in_commit:
        if repo is None:
            raise ValueError("parse_record_config: this record needs the repository")
        blob = git.show_blob(repo, record.commit, record.config_path)
        if blob is not None:
            record = record.replace(config_text=blob.decode("utf-8", "surrogateescape"))
    if record.config_text is None:
        raise ConfigError(
            f"{source}: no config file in commit {record.commit[:12]}; commit a "
            f"{record.config_path} (mlflow-gitver init writes one)"
        )
    return parse_config(record.config_text, source, environ)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_atomic(path: Path, data: str, *, replace: bool) -> bool:
    """Write ``data`` to ``path`` durably.  With ``replace=False`` an existing file
    is left alone (returns False): ``link`` fails instead of overwriting."""
    tmp = path.with_name(f".tmp-{os.getpid()}-{os.urandom(4).hex()}-{path.name}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        if replace:
            os.replace(tmp, path)
            created = True
        else:
            try:
                os.link(tmp, path)
                created = True
            except FileExistsError:
                created = False
            os.unlink(tmp)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    _fsync_dir(path.parent)
    return created


_VALIDATED_KEPT = 8  # config texts remembered as valid (branches may differ)


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

    def _ensure(self) -> None:
        self.pending.mkdir(parents=True, exist_ok=True)
        self.failed.mkdir(parents=True, exist_ok=True)

    def add(self, record: Record) -> tuple[Path, bool]:
        """Record a pending registration; (path, False) if the same one was pending."""
        self._ensure()
        path = self.pending / (record.key + _SUFFIX)
        return path, _write_atomic(path, record.to_json(), replace=False)

    def add_entry(self, record: Record) -> Entry:
        """add(), listed: the same record pending already keeps its state."""
        path, _new = self.add(record)
        return Entry(path, record, self.read_state(path))

    def add_failed(self, record: Record, error: str) -> Path:
        """Record a registration that can never succeed, with why."""
        self._ensure()
        path = self.failed / (record.key + _SUFFIX)
        _write_atomic(path, record.to_json(), replace=True)
        self._write_state(path, State(attempts=0, last_error=scrub(error)))
        return path

    # --- configs known to be valid ------------------------------------------
    # The post-commit hook checks the committed config before it returns, so an
    # invalid one is reported by the commit that made it.  Loading YAML and the
    # validator costs ~30 ms, more than the rest of the hook: a config text that
    # validated before, read no environment variable, and was checked by this
    # same validator (config.py) is not checked again.
    def _validated_configs(self, stamp: list[int] | None) -> list[tuple[str, bool]]:
        """The (text, background) pairs remembered for validator ``stamp``."""
        try:
            data = json.loads(self.validated.read_text(encoding="utf-8"))
            if stamp is None or data["stamp"] != stamp:
                return []
            return [(t, b) for t, b in data["configs"] if isinstance(b, bool)]
        except (OSError, ValueError, TypeError, KeyError):
            return []  # missing or damaged: it is only a cache

    def known_valid(self, config_text: str) -> bool | None:
        """``hooks.post_commit.background`` of a config text that validated before;
        None when it is not known to be valid."""
        for text, background in self._validated_configs(schema_stamp()):
            if text == config_text:
                return background
        return None

    def remember_valid(self, config_text: str, background: bool) -> None:
        stamp = schema_stamp()
        if stamp is None or redact_secrets(config_text) != config_text:
            return  # a config that holds a credential is never written here (issue 11)
        old = [c for c in self._validated_configs(stamp) if c[0] != config_text]
        configs = [(config_text, background), *old][:_VALIDATED_KEPT]
        # Replaced atomically, not fsynced: a cache lost in a crash costs one check,
        # and one that cannot be written costs a check at every commit, no more.
        tmp = self.validated.with_name(f".tmp-{os.getpid()}-{self.validated.name}")
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            tmp.write_text(json.dumps({"stamp": stamp, "configs": configs}), encoding="utf-8")
            os.replace(tmp, self.validated)
        except OSError:
            with contextlib.suppress(OSError):
                tmp.unlink()

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
            if not name.endswith(_SUFFIX) or name.startswith("."):
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
                commit = name.removesuffix(_SUFFIX).split("-", 1)[0]
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
    def _state_path(path: Path) -> Path:
        return path.with_name(path.name + _STATE_SUFFIX)

    def read_state(self, path: Path) -> State:
        try:
            return State.from_json(self._state_path(path).read_text(encoding="utf-8"))
        except (FileNotFoundError, ValueError, TypeError):
            return State()

    def _write_state(self, path: Path, state: State) -> None:
        _write_atomic(self._state_path(path), state.to_json(), replace=True)

    def retry_failed(self) -> int:
        """Move every failed record back to pending (after the user fixed the cause)."""
        moved = 0
        for entry in self.list_failed():
            with claim(entry.path, wait=0) as held:
                if held is None:
                    continue
                with contextlib.suppress(FileNotFoundError):
                    self._state_path(entry.path).unlink()
                # link, not replace: never overwrite a pending record another
                # process may hold (the same version recorded again meanwhile).
                with contextlib.suppress(FileExistsError):
                    os.link(entry.path, self.pending / entry.path.name)
                entry.path.unlink()
                moved += 1
        if moved:
            _fsync_dir(self.pending)
        return moved

    # --- commits made but not recorded -----------------------------------------
    def mark_unrecorded(self, commit: str) -> Path | None:
        """Leave an empty file naming a commit whose record could not be written.
        Empty files need no data block: a full disk or a file-size limit still
        allows them, and ``status`` and ``flush`` find them."""
        for directory in (self.pending, self.root):
            path = directory / f"{commit}{_MARK_SUFFIX}"
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
                (n.removesuffix(_MARK_SUFFIX), directory / n)
                for n in sorted(names)
                if n.endswith(_MARK_SUFFIX) and not n.startswith(".")
            ]
        return out

    def recorded_commits(self) -> set[str]:
        """Commits with a pending or failed record (by file name: no parsing)."""
        out: set[str] = set()
        for directory in (self.pending, self.failed):
            with contextlib.suppress(OSError):
                out |= {
                    n.split("-", 1)[0].removesuffix(_SUFFIX)
                    for n in os.listdir(directory)
                    if n.endswith(_SUFFIX) and not n.startswith(".")
                }
        return out

    def cursor_path(self, repo: git.Repo) -> Path:
        from mlflow_gitver import journal

        return journal.cursor_path(self.root, repo.git_dir, repo.common_dir)

    def catch_up(
        self,
        repo: git.Repo,
        environ: Mapping[str, str],
        *,
        source: str,
        branch: str | None,
        done: frozenset[str] = frozenset(),
    ) -> tuple[list[str], bool]:
        """Record every commit HEAD's reflog shows was made since the hooks last
        read it, and those marked unrecorded (see journal.py): (the commits newly
        recorded, whether there is a reflog to read).  ``done``: commits the
        caller recorded already.  Raises OSError when a record cannot be
        written (the cursor then stays where it was)."""
        from mlflow_gitver import journal

        path = self.cursor_path(repo)
        made, cursor = journal.scan(repo.git_dir, journal.read_cursor(path))
        marks = self.unrecorded_marks()
        todo: list[str] = []
        for commit in [m.commit for m in made] + [c for c, _ in marks]:
            if commit not in done and commit not in todo:
                todo.append(commit)
        added = []
        marked = {c for c, _ in marks}
        for commit in todo:
            if commit in marked and git.resolve_commit(repo, commit) is None:
                continue  # a marker of a commit since removed (reflog commits exist)
            _path, new = self.add(new_record(repo, commit, source, environ, branch))
            if new:
                added.append(commit)
        for _commit, mark in marks:
            with contextlib.suppress(OSError):
                mark.unlink()
        if cursor is not None:
            self.root.mkdir(parents=True, exist_ok=True)
            journal.write_cursor(path, cursor)
        return added, cursor is not None

    def unrecorded(self, repo: git.Repo) -> list[tuple[str, str]]:
        """(commit, how it was made) of commits the hooks should have recorded and
        did not: past the cursor with no record, or marked by a failed hook."""
        from mlflow_gitver import journal

        recorded = self.recorded_commits()
        out: list[tuple[str, str]] = []
        cursor = journal.read_cursor(self.cursor_path(repo))
        if cursor is not None:
            made, _ = journal.scan(repo.git_dir, cursor)
            seen: set[str] = set()
            for m in made:
                if m.commit not in recorded and m.commit not in seen:
                    seen.add(m.commit)
                    out.append((m.commit, m.message or "no reflog message"))
        listed = {c for c, _ in out}
        for commit, _mark in self.unrecorded_marks():
            if commit not in recorded and commit not in listed:
                out.append((commit, "its hook could not write the record"))
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
                    self._state_path(entry.path).unlink()
                entry.path.unlink()
                gone.append(entry)
        return gone


def lock_nowait(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except OSError as e:
        if e.errno in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
            return False
        raise


def fix_for(e: OSError, where: Path) -> str:
    """How to fix a file system error on our store, in a few words."""
    if e.errno in (errno.ENOSPC, errno.EDQUOT):
        return "free disk space"
    if e.errno == errno.EFBIG:
        return "raise the file-size limit ('ulimit -f')"
    if e.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        return f"make {where} writable"
    if e.errno in (errno.ENOTDIR, errno.EEXIST, errno.EISDIR):
        return f"move aside what is in the way of the directory {where}"
    return f"check {where}"


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
            Store._state_path(self.path).unlink()
        self.path.unlink()
        _fsync_dir(self.path.parent)

    def retry_later(self, error: str) -> None:
        self.state = State(self.state.attempts + 1, scrub(error), time.time())
        self.store._write_state(self.path, self.state)

    def give_up(self, error: str) -> Path:
        """Can never succeed: keep it in failed/ with the reason, for ``status``."""
        target = self.store.failed / self.path.name
        self.store._ensure()
        state = State(self.state.attempts + 1, scrub(error), time.time())
        _write_atomic(Store._state_path(target), state.to_json(), replace=True)
        with contextlib.suppress(FileNotFoundError):
            Store._state_path(self.path).unlink()
        os.replace(self.path, target)
        _fsync_dir(self.path.parent)
        _fsync_dir(target.parent)
        return target


@contextlib.contextmanager
def claim(path: Path, *, wait: float) -> Iterator[int | None]:
    """Hold ``flock`` on the record at ``path``; yields None if it is gone or, after
    ``wait`` seconds, still held by another process."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        yield None
        return
    try:
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as e:
                if e.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                    raise
                if time.monotonic() >= deadline:
                    yield None
                    return
                time.sleep(0.05)
        # The previous holder may have registered it (deleted) or moved it away.
        try:
            now = os.stat(path)
        except FileNotFoundError:
            yield None
            return
        mine = os.fstat(fd)
        if (now.st_dev, now.st_ino) != (mine.st_dev, mine.st_ino):
            yield None
            return
        yield fd
    finally:
        os.close(fd)  # releases the lock


@contextlib.contextmanager
def claim_record(store: Store, entry: Entry, *, wait: float = 0) -> Iterator[Claim | None]:
    """Claim a listed record: None if another process holds it or has finished it."""
    with claim(entry.path, wait=wait) as fd:
        if fd is None:
            yield None
            return
        # Re-read the state under the lock: the listing may be stale.
        yield Claim(store, entry.path, entry.record, store.read_state(entry.path))
