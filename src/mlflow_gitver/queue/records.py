"""What one registration to do holds: the record, its state, the target environment.

A record holds everything a later process needs to register a version: the
commit, the config text as committed, and the credential-free MLflow target
variables of the process that recorded it.  Records are stored as JSON (see
store.py); keys a reader does not know are ignored, absent ones take their
defaults, so records written by other releases stay readable.
"""

from __future__ import annotations

import json
import time

from mlflow_gitver import git
from mlflow_gitver.config import CONFIG_NAME
from mlflow_gitver.record import Record as _Value
from mlflow_gitver.redact import redact_secrets, redact_url

TYPE_CHECKING = False  # not typing's: see mlflow_gitver/__init__.py
if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path
    from typing import TypeVar

    from mlflow_gitver.config import Config

    _J = TypeVar("_J", bound="_Json")

FORMAT_VERSION = 1

# The MLflow target a record remembers from the recording process's environment.
# Nothing else: other variables may hold credentials, and those are read again
# from the environment of whichever process registers.
TARGET_VARS = ("MLFLOW_TRACKING_URI", "MLFLOW_EXPERIMENT_NAME", "MLFLOW_EXPERIMENT_ID")

# Fields no release ever set (always null on disk), written still so that a
# record file stays byte for byte what earlier releases write and read.  A
# record that holds them is read as usual: unknown keys are ignored.
_RETIRED = {"experiment": None, "tracking_uri": None}


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
        "source",
        "target_env",
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
            branch=branch,
            version=version,
        )

    def to_json(self) -> str:
        """The record as stored: a config text holding what looks like a credential
        (issue 11: nothing we write may) is left out, and read from the commit."""
        if self.config_text is not None and redact_secrets(self.config_text) != self.config_text:
            return self.replace(config_text=None, config_in_commit=True).to_json()
        return json.dumps({**self._asdict(), **_RETIRED}, indent=1, sort_keys=True)

    @property
    def key(self) -> str:
        """One file per commit and target: recording the same thing twice is a no-op."""
        target = sorted((k, v) for k, v in self.target_env.items() if v is not None)
        # The two None stood for fields since retired (_RETIRED): kept, so a
        # record's file name stays what earlier releases made of it.
        extra = [self.config_path, None, None, target]
        if extra == [CONFIG_NAME, None, None, []]:
            return self.commit
        import hashlib  # ~2 ms, and only a record with an explicit target needs it

        digest = hashlib.sha256(json.dumps(extra).encode()).hexdigest()[:12]
        return f"{self.commit}-{digest}"


class State(_Json):
    """What happened so far to a record (written only by the lock holder)."""

    __slots__ = ("apps_done", "attempts", "last_attempt", "last_error")
    attempts: int
    last_error: str | None
    last_attempt: float | None
    # The apps of a scoped config this record has registered already (an attempt
    # that failed for one app does not register the others again).
    apps_done: tuple[str, ...]

    def __init__(
        self,
        attempts: int = 0,
        last_error: str | None = None,
        last_attempt: float | None = None,
        apps_done: tuple[str, ...] | list[str] = (),
    ) -> None:
        self._init(
            attempts=attempts,
            last_error=last_error,
            last_attempt=last_attempt,
            apps_done=tuple(str(a) for a in apps_done),
        )


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
