"""What this clone has registered: the journal that lets a push skip MLflow.

When the flusher registers a record, it writes one small file under
``<store>/registered/`` named by a digest of everything that registration
depended on: the commit, the branch tag, the config as parsed (params resolved
from the environment, tags, paths, apps), the tracking target (its query
parameters that hold no credential, a Databricks profile) and experiment,
the remote's URL (the repoURL tag), a SQLite store's file (by inode), and this
format's version.  Those determine
every tag and param the registration writes, so an equal digest means the
server was told exactly this before.  The pre-push hook computes the same
digest for each commit it would register; when every one is journaled and
nothing is pending, it imports no MLflow and calls no server.

What a digest does not cover goes to the server as before: another target or
experiment, an ``${ENV}`` param with another value, a remote added since, a
branch pushed under another name.  The target enters by its redacted form (no
user, password or query string): nothing secret is written, even digested.

A version deleted on a server after it was journaled is not brought back by a
push that finds it journaled (the hook does not ask the server); ``mlflow-gitver
register --commit REV`` does.  The embedded SQLite store is read directly (no
MLflow): a model deleted there, or a file restored from a backup, is seen.
Losing the directory only costs one server round.
"""

from __future__ import annotations

import contextlib
import json
import os

from mlflow_gitver.queue.files import write_atomic
from mlflow_gitver.redact import redact_url, scrub

TYPE_CHECKING = False  # not typing's: see mlflow_gitver/__init__.py
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from pathlib import Path

    from mlflow_gitver.queue.records import Record
    from mlflow_gitver.queue.store import Store
    from mlflow_gitver.queue.validated import Facts

DIR = "registered"
_FORMAT = "r1"


def digest(
    record: Record, facts: Facts, env: Mapping[str, str], root: Path, repo_url: str | None
) -> str:
    """The journal key of registering ``record`` with the config ``facts`` describe
    in ``env`` (the environment :func:`~mlflow_gitver.queue.records.record_environ`
    gives); ``repo_url``: the remote's, as git config has it."""
    import hashlib

    from mlflow_gitver import tracking

    chosen = tracking.choose(None, env, facts.tracking_uri, root)
    target = chosen.display
    parts = [
        _FORMAT,
        record.commit,
        record.branch,
        facts.fingerprint,  # every key's resolved value (Config.fingerprint)
        target,
        tracking.experiment_choice(None, env, facts.experiment),
        redact_url(repo_url) if repo_url else None,
        # A "databricks" URI names its workspace through the environment.
        redact_url(env["DATABRICKS_HOST"]) if env.get("DATABRICKS_HOST") else None,
        # ... or its profile, when the URI names none.
        env.get("DATABRICKS_CONFIG_PROFILE"),
        env.get("DATABRICKS_CONFIG_FILE"),
        _query(chosen.uri),
        _store_file(chosen.uri),
    ]
    return hashlib.sha256(json.dumps(parts, ensure_ascii=False).encode()).hexdigest()


# Query parameters that may hold a credential: left out of the key (never written,
# even digested); the others may choose the database (postgres `options=`).
_SECRET_PARAM = ("pass", "pwd", "token", "secret", "key", "auth", "cred", "sig")


def _query(uri: str) -> list[tuple[str, str]]:
    """The URI's query parameters that choose a store, not those that hold a secret
    (the redacted target leaves the whole query string out)."""
    from urllib.parse import parse_qsl, urlsplit

    try:
        pairs = parse_qsl(urlsplit(uri).query, keep_blank_values=True)
    except ValueError:
        return []
    return sorted((k, v) for k, v in pairs if not any(w in k.lower() for w in _SECRET_PARAM))


def _store_file(uri: str) -> int | None:
    """A SQLite store's file, by inode: `rm mlflow.db` (the embedded store started
    over) must not leave the journal claiming versions that file held."""
    from mlflow_gitver import tracking

    db = tracking.db_file(uri)
    if db is None:
        return None
    try:
        return os.stat(db).st_ino
    except OSError:
        return -1  # no store yet: nothing in it is journaled either


def _path(store: Store, key: str) -> Path:
    return store.root / DIR / key


def recall(store: Store, key: str, uri: str | None = None) -> str | None:
    """What the registration journaled under ``key`` said ("name (id)"), or None.

    ``uri``: the target; a SQLite store (the embedded default) is read, without
    MLflow, to check that it still holds every model journaled: a file restored
    from a backup, or a model deleted in it, sends the push to the store."""
    try:
        data = json.loads(_path(store, key).read_text(encoding="utf-8"))
    except (OSError, ValueError, UnicodeDecodeError):
        return None  # never journaled, or unreadable: the server is asked
    if not isinstance(data, dict):
        return None
    message, ids = data.get("message"), data.get("ids")
    if not isinstance(message, str) or not message:
        return None
    if uri is not None and not _held(uri, ids):
        return None
    return message


def _held(uri: str, ids: object) -> bool:
    """Whether a SQLite store at ``uri`` holds each of ``ids`` as an active model;
    True for any other store (asked only through MLflow, which the journal spares)."""
    from mlflow_gitver import tracking

    db = tracking.db_file(uri)
    if db is None:
        return True
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        return False  # journaled by a release that kept no ids
    if not ids:
        return True  # a scoped commit that changed no app: no model to look for
    import sqlite3

    try:
        # Read-only, and never created: a missing file holds nothing.
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=2)
        try:
            marks = ",".join("?" * len(ids))
            found = conn.execute(
                "SELECT COUNT(*) FROM logged_models WHERE lifecycle_stage = 'active' "
                f"AND model_id IN ({marks})",
                ids,
            ).fetchone()[0]
        finally:
            conn.close()
    except sqlite3.Error:
        return False  # locked, damaged, another schema: the store is asked
    return bool(found == len(set(ids)))


def remember(store: Store, key: str, message: str, when: float, ids: Sequence[str] = ()) -> None:
    """Journal a registration that succeeded (``ids``: the models it found or made).
    Best effort: a journal that cannot be written (a full disk) only means the next
    push asks the server."""
    path = _path(store, key)
    entry = {"message": scrub(message), "at": when, "ids": list(ids)}
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, json.dumps(entry), replace=True)
