"""The embedded SQLite store: created atomically, a half-made one detected and repaired.

MLflow creates and migrates a SQLite store in place on first use (about 2 s); a
process killed meanwhile (a git hook's background flush, Ctrl-C) leaves a file with
some tables and an alembic revision that is missing or behind, and every later use
fails inside MLflow.  So we build a missing store under a temporary name in the same
directory and rename it into place once migrated (``os.replace`` is atomic on one
file system): other processes see no store, or a complete one.  A store made
half-way by something else (an earlier mlflow-gitver, ``mlflow ui`` killed at its
start) is detected when MLflow fails to open it, and rebuilt when it holds no data.

Callers hold :func:`mlflow_gitver.tracking.store_lock` around all of this.
"""

from __future__ import annotations

import os
import sqlite3
import sys
import time
from pathlib import Path

from mlflow_gitver.errors import EXIT_FAILURE, EXIT_USAGE, GitverError

# The temporary store matches MLflow's local-store names, which never count as a
# change in the version identifier (git.py excludes ``mlflow.db-*``).
_TMP_INFIX = "-creating-"
_ASIDE_INFIX = "-half-made-"
# Tables that hold what a user would lose; a half-made store with rows in any of them
# is reported, never moved aside.
_DATA_TABLES = (
    "logged_models",
    "runs",
    "registered_models",
    "model_versions",
    "trace_info",
    "datasets",
)


def ensure_created(path: Path, artifact_root: str | None) -> None:
    """Create the store at ``path`` atomically if there is none (under the store lock)."""
    if path.exists():
        return
    from sqlalchemy.exc import OperationalError

    _remove_leftovers(path)
    tmp = path.with_name(f"{path.name}{_TMP_INFIX}{os.getpid()}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        _build(tmp, artifact_root)
        os.replace(tmp, path)
    except (OSError, OperationalError) as e:
        _unlink_db(tmp)
        reason = getattr(e, "strerror", None) or str(getattr(e, "orig", e))
        raise GitverError(
            f"cannot create the MLflow store {path}: {reason}; check that its directory "
            "can be written, or set another tracking URI",
            EXIT_FAILURE,
        ) from e
    except BaseException:
        _unlink_db(tmp)
        raise


def _build(tmp: Path, artifact_root: str | None) -> None:
    """A complete, migrated store at ``tmp`` (its default experiment included)."""
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

    _unlink_db(tmp)
    uri = f"sqlite:///{tmp}"
    root = artifact_root or str(tmp.parent / "mlruns")
    try:
        SqlAlchemyStore(uri, root)
    finally:
        # The engine MLflow caches per URI still holds the file open.
        forget_engines(uri)


def forget_engines(uri: str) -> None:
    """Close and drop the engines MLflow caches for ``uri`` (its stores keep one per URI),
    so that a file replaced under the same name is opened afresh."""
    from mlflow.store.model_registry.sqlalchemy_store import SqlAlchemyStore as Registry
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore as Tracking

    for cls in (Tracking, Registry):
        engines = getattr(cls, "_engine_map", None)
        if isinstance(engines, dict):
            engine = engines.pop(uri, None)
            if engine is not None:
                engine.dispose()


def _unlink_db(path: Path) -> None:
    for p in (path, *(path.with_name(path.name + s) for s in ("-journal", "-wal", "-shm"))):
        try:
            p.unlink()
        except OSError:  # absent (or its directory is): nothing to clean
            pass


def _remove_leftovers(path: Path) -> None:
    """Temporary stores of creators that were killed: dead, since we hold the lock."""
    prefix = f"{path.name}{_TMP_INFIX}"
    try:
        names = os.listdir(path.parent)
    except OSError:
        return
    for name in names:
        if name.startswith(prefix) and name[len(prefix) :].isdigit():
            _unlink_db(path.parent / name)


def diagnose(path: Path) -> str | None:
    """Why the store at ``path`` is half-made, or None when it looks complete.

    Read with the standard library only, read-only: it must work on files MLflow
    cannot open.
    """
    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.Error as e:
        return f"it cannot be opened ({e})"
    try:
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if "alembic_version" not in tables:
            return "it has no schema revision (alembic_version)"
        rows = con.execute("SELECT version_num FROM alembic_version").fetchall()
        head = head_revision()
        if not rows:
            return "its schema revision is empty"
        if head is not None and rows[0][0] != head:
            return f"its schema is at revision {rows[0][0]}, not {head}"
        from mlflow.store.db.base_sql_model import Base

        missing = sorted(set(Base.metadata.tables) - tables)
        if missing:
            return f"tables are missing ({', '.join(missing[:3])}{', ...' if missing[3:] else ''})"
        return None
    except sqlite3.DatabaseError as e:
        return f"it is not a readable SQLite database ({e})"
    finally:
        con.close()


def holds_data(path: Path) -> bool:
    """Whether the store has rows a user would lose (any doubt counts as data)."""
    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.Error:
        return True
    try:
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        for t in _DATA_TABLES:
            if t in tables and con.execute(f'SELECT 1 FROM "{t}" LIMIT 1').fetchone():
                return True
        if "experiments" in tables:
            # Experiment 0 is MLflow's default, created with the store.
            row = con.execute("SELECT 1 FROM experiments WHERE experiment_id != 0 LIMIT 1")
            if row.fetchone():
                return True
        return False
    except sqlite3.DatabaseError:
        return True
    finally:
        con.close()


def head_revision() -> str | None:
    """MLflow's latest schema revision; None when its internals moved."""
    try:
        from mlflow.store.db.utils import _get_latest_schema_revision

        return str(_get_latest_schema_revision())
    except Exception:  # MLflow's internals moved: judge by tables alone
        return None


def repair(path: Path, uri: str, artifact_root: str | None, error: BaseException) -> bool:
    """Repair the store at ``path`` that MLflow failed to open with ``error``.

    Returns False when the store is not half-made (the error is something else).
    A half-made store without data is moved aside and rebuilt; one with data is
    reported, with the fix.
    """
    why = diagnose(path)
    if why is None:
        return False
    if holds_data(path):
        raise GitverError(
            f"the MLflow store {path} is half-made ({why}) but holds data; back it up, "
            f"then run 'mlflow db upgrade sqlite:///{path}', or move it aside to start a "
            "new store",
            EXIT_FAILURE,
        )
    forget_engines(uri)
    aside = path.with_name(f"{path.name}{_ASIDE_INFIX}{time.strftime('%Y%m%d-%H%M%S')}")
    try:
        os.replace(path, aside)
    except OSError as e:
        raise GitverError(
            f"the MLflow store {path} is half-made ({why}) and cannot be moved aside "
            f"({e.strerror}); delete it (it holds no data) and run again",
            EXIT_USAGE,
        ) from error
    for suffix in ("-journal", "-wal", "-shm"):
        try:
            os.replace(path.with_name(path.name + suffix), aside.with_name(aside.name + suffix))
        except FileNotFoundError:
            pass
    print(
        f"mlflow-gitver: warning: the MLflow store {path} was half-made ({why}; an "
        f"interrupted first use) and held no data: moved to {aside.name}, creating it anew",
        file=sys.stderr,
    )
    ensure_created(path, artifact_root)
    return True
