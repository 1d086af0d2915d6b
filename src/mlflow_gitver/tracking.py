"""Where versions go: the tracking URI, MLflow's HTTP policy, and the experiment.

Importing this module does not import MLflow; only the functions that talk to a
server do, through mlflow_api.py, and they receive an :class:`~mlflow_gitver.mlflow_edge.Edge`.
The tracking-URI precedence is :func:`choose`'s alone: every command resolves a
:class:`Target` once and passes it on.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from mlflow_gitver.errors import EXIT_FAILURE, EXIT_USAGE, GitverError
from mlflow_gitver.record import Record
from mlflow_gitver.redact import redact_url

if TYPE_CHECKING:
    from mlflow_gitver.mlflow_edge import Edge

DB_NAME = "mlflow.db"
# MLflow's own variable for the artifact root of a SQL store created without one
# (mlflow/tracking/_tracking_service/utils.py: _get_sqlalchemy_store).  Without it
# the root is "./mlruns" of whatever directory the command runs in.
_ARTIFACT_ROOT_VAR = "_MLFLOW_SERVER_ARTIFACT_ROOT"
# MLflow retries every HTTP request itself (7 times, backoff factor 2: minutes
# against a closed port) and waits 120 s for an answer.  We retry ourselves,
# within MLFLOW_GITVER_RETRY_SECONDS, so MLflow must not.
_HTTP_DEFAULTS = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0", "MLFLOW_HTTP_REQUEST_TIMEOUT": "20"}


def default_uri(root: Path) -> str:
    """The embedded store: ``sqlite:///<repo root>/mlflow.db``, absolute."""
    return f"sqlite:///{root.resolve() / DB_NAME}"


class Target(Record):
    """The tracking URI a command uses, and where it came from (a Record, not a
    dataclass: the pre-push hook imports this module, see record.py)."""

    __slots__ = ("source", "uri")
    uri: str
    source: str  # "--tracking-uri", "MLFLOW_TRACKING_URI", "tracking_uri in the config", "default"

    def __init__(self, uri: str, source: str) -> None:
        self._init(uri=uri, source=source)

    @property
    def display(self) -> str:
        """The URI as it may be shown or stored (no credential)."""
        return display(self.uri)


def choose(
    cli: str | None,
    environ: Mapping[str, str],
    config_uri: str | None,
    root: Path | None,
) -> Target:
    """``--tracking-uri``, then ``MLFLOW_TRACKING_URI``, then the config, then the default.

    The precedence only: :func:`target` also refuses a URI that can only fail.
    """
    sources = (
        ("--tracking-uri", cli),
        ("MLFLOW_TRACKING_URI", environ.get("MLFLOW_TRACKING_URI")),
        ("tracking_uri in the config", config_uri),
    )
    for where, value in sources:
        if value:
            return Target(value, where)
    if root is None:
        raise GitverError(
            "no tracking URI: pass --tracking-uri or set MLFLOW_TRACKING_URI "
            "(there is no repository to hold the embedded store)"
        )
    return Target(default_uri(root), "default")


def target(
    cli: str | None,
    environ: Mapping[str, str],
    config_uri: str | None,
    root: Path | None,
) -> Target:
    """The :class:`Target` by :func:`choose`'s precedence, checked (:func:`check_uri`)."""
    chosen = choose(cli, environ, config_uri, root)
    if chosen.source != "default":
        check_uri(chosen.uri, chosen.source, environ)
    return chosen


def resolve_uri(
    cli: str | None,
    environ: Mapping[str, str],
    config_uri: str | None,
    root: Path | None,
) -> str:
    """The URI of :func:`target`."""
    return target(cli, environ, config_uri, root).uri


# Schemes MLflow itself serves (mlflow/tracking/_tracking_service/utils.py); a plugin
# may add more, so an unknown scheme is left to MLflow and judged in mlflow_api.connect().
KNOWN_SCHEMES = ("http", "https", "sqlite", "postgresql", "mysql", "mssql", "databricks")
_SCHEME_ONLY = ("databricks", "databricks-uc", "uc")
_HAS_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")
_HOST_PORT = re.compile(r"[A-Za-z0-9.-]+:[0-9]+(?:/.*)?\Z")


def check_uri(uri: str, where: str, environ: Mapping[str, str] | None = None) -> None:
    """Refuse tracking URIs that can only fail, with the fix (exit 2).

    MLflow reads a bare ``host:port`` or a path as its file store, which MLflow 3
    refuses with a long "maintenance mode" text (MLFLOW_NOTES.md), and reports an
    unknown scheme from deep inside its registry store.
    """
    env = os.environ if environ is None else environ
    shown = display(uri)
    if uri in _SCHEME_ONLY or _HAS_SCHEME.match(uri):
        scheme = uri.split(":", 1)[0].lower()
        if scheme == "file" and env.get("MLFLOW_ALLOW_FILE_STORE", "").lower() != "true":
            raise GitverError(
                f"tracking URI {shown!r} ({where}) selects MLflow's file store, which MLflow 3 "
                "refuses; use a database, e.g. sqlite:///<absolute path>/mlflow.db, or a "
                "server, e.g. http://host:5000",
                EXIT_USAGE,
            )
        return
    if _HOST_PORT.match(uri):
        raise GitverError(
            f"tracking URI {shown!r} ({where}) has no scheme; write http://{shown} (or https://)",
            EXIT_USAGE,
        )
    if uri.startswith("file:"):
        raise GitverError(
            f"tracking URI {shown!r} ({where}) selects MLflow's file store, which MLflow 3 "
            "refuses; use sqlite:///<absolute path>/mlflow.db or http://host:5000",
            EXIT_USAGE,
        )
    raise GitverError(
        f"tracking URI {shown!r} ({where}) has no scheme: MLflow would read it as a "
        "file-store path, which MLflow 3 refuses; use sqlite:///<absolute path>/mlflow.db "
        "or http://host:5000",
        EXIT_USAGE,
    )


def unsupported_scheme(uri: str) -> GitverError:
    """The error for a URI whose scheme no installed MLflow store serves."""
    import difflib

    shown = display(uri)
    scheme = uri.split(":", 1)[0]
    close = difflib.get_close_matches(scheme.lower(), KNOWN_SCHEMES, n=1, cutoff=0.5)
    hint = f"did you mean {close[0]}://? " if close else ""
    return GitverError(
        f"tracking URI {shown!r}: MLflow has no store for the scheme {scheme!r}; {hint}"
        f"use one of {', '.join(KNOWN_SCHEMES)}",
        EXIT_USAGE,
    )


def display(uri: str) -> str:
    """The URI as it may be shown or stored: no user name, password or token."""
    return redact_url(uri)


def db_file(uri: str) -> Path | None:
    """The database file of a ``sqlite:///`` URI (None for other stores, ``:memory:``)."""
    if not uri.startswith("sqlite:///"):
        return None
    db = uri[len("sqlite:///") :].split("?", 1)[0]
    if not db or db == ":memory:":
        return None
    return Path(db)


def sqlite_artifact_root(uri: str) -> str | None:
    """``mlruns/`` next to a SQLite store's file (None for other stores)."""
    db = db_file(uri)
    return None if db is None else str(db.resolve().parent / "mlruns")


@contextlib.contextmanager
def mlflow_env(uri: str, environ: Mapping[str, str] | None = None) -> Iterator[None]:
    """Set, for the duration of a registration, the variables MLflow reads per request.

    Values the user set explicitly are kept.  The process environment is restored
    afterwards, so the Python API leaves an application's MLflow settings alone.
    """
    env = os.environ if environ is None else environ
    wanted = {k: v for k, v in _HTTP_DEFAULTS.items() if k not in env}
    root = sqlite_artifact_root(uri)
    if root is not None and _ARTIFACT_ROOT_VAR not in env:
        # Next to the database, as `mlflow ui` run in that directory expects.
        wanted[_ARTIFACT_ROOT_VAR] = root
    saved = {k: os.environ.get(k) for k in wanted}
    os.environ.update(wanted)
    try:
        yield
    finally:
        for k, old in saved.items():
            if old is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = old


@contextlib.contextmanager
def store_lock(uri: str) -> Iterator[None]:
    """Serialize the first use of a SQLite store between processes on this machine.

    MLflow creates and migrates the tables on first use, and two processes doing it
    at once fail ("table ... already exists", alembic version mismatch).  The lock
    file lives in the temp directory, not next to the user's database.
    """
    if not uri.startswith("sqlite:///"):
        yield
        return
    try:
        import fcntl
    except ImportError:  # Windows: no flock; first use is not serialized there
        yield
        return
    import hashlib
    import tempfile

    key = hashlib.sha256(uri.encode()).hexdigest()[:16]
    path = Path(tempfile.gettempdir()) / f"mlflow-gitver-{key}.lock"
    with open(path, "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def experiment_choice(
    cli: str | None, environ: Mapping[str, str], config_experiment: str | None
) -> tuple[str, str] | None:
    """("id" | "name", value) by precedence, or None for MLflow's default experiment."""
    if cli:
        return ("id", cli) if cli.isdigit() else ("name", cli)
    if environ.get("MLFLOW_EXPERIMENT_ID"):
        return ("id", environ["MLFLOW_EXPERIMENT_ID"])
    if environ.get("MLFLOW_EXPERIMENT_NAME"):
        return ("name", environ["MLFLOW_EXPERIMENT_NAME"])
    if config_experiment:
        kind = "id" if config_experiment.isdigit() else "name"
        return (kind, config_experiment)
    return None


def resolve_experiment_named(edge: Edge, choice: tuple[str, str] | None) -> tuple[str, str]:
    """(id, name) of the experiment for ``choice``; a named one is created if missing."""
    from mlflow_gitver import mlflow_api

    if choice is None:
        # MLflow's default experiment ("0" on SQL stores and servers).
        exp = mlflow_api.get_experiment(edge, "0", "reading the default experiment")
        return str(exp.experiment_id), str(exp.name)
    kind, value = choice
    if kind == "id":
        found = mlflow_api.find_experiment(edge, value)
        if found is None:
            raise GitverError(
                f"experiment id {value} does not exist at {edge.display_uri}; "
                "pass an existing id, or a name (created if missing)",
                EXIT_FAILURE,
            )
        return _active(found, value, edge)
    named = mlflow_api.experiment_by_name(edge, value)
    if named is not None:
        return _active(named, value, edge)
    eid = mlflow_api.create_experiment(edge, value)
    if eid is not None:
        return eid, value
    # Another process created it between our read and our create.
    named = mlflow_api.experiment_by_name(edge, value)
    if named is None:
        raise GitverError(
            f"experiment {value!r} exists but cannot be read at {edge.display_uri}",
            EXIT_FAILURE,
        )
    return _active(named, value, edge)


def experiment_name(edge: Edge, experiment_id: str) -> str | None:
    """The name of an experiment, or None when it cannot be read (only shown)."""
    from mlflow_gitver import mlflow_api

    exp = mlflow_api.find_experiment(edge, experiment_id)
    return None if exp is None else str(exp.name)


def _active(exp: object, value: str, edge: Edge) -> tuple[str, str]:
    if getattr(exp, "lifecycle_stage", "active") == "deleted":
        raise GitverError(
            f"experiment {value!r} is deleted at {edge.display_uri}; restore it "
            "(mlflow experiments restore) or choose another experiment",
            EXIT_FAILURE,
        )
    return str(getattr(exp, "experiment_id")), str(getattr(exp, "name"))  # noqa: B009
