"""doctor's checks of the embedded SQLite store: a file, writable, and migrated."""

from __future__ import annotations

import os
from pathlib import Path

from mlflow_gitver.commands.doctor.checks import ERROR, OK, WARNING, Check


def sqlite_ok(uri: str, shown: str, source: str, checks: list[Check]) -> bool:
    """The embedded store's file: writable and migrated.  False: do not open it."""
    raw = uri.removeprefix("sqlite:///").split("?", 1)[0]
    if not uri.startswith("sqlite:///") or raw in ("", ":memory:"):
        checks.append(
            Check(
                "store",
                WARNING,
                f"{shown} is not a file: versions do not persist",
                "use sqlite:///path/to/mlflow.db",
            )
        )
        return False
    path = Path(raw)  # sqlite:////abs/path or sqlite:///relative/path
    if not path.exists():
        parent = path.parent
        if parent.is_dir() and os.access(parent, os.W_OK | os.X_OK):
            checks.append(
                Check(
                    "store",
                    OK,
                    f"{shown} (from {source}) does not exist yet: the "
                    "first registration creates it",
                )
            )
        else:
            checks.append(
                Check(
                    "store",
                    ERROR,
                    f"{shown}: cannot create {path}: {parent} is not a writable directory",
                    "create the directory, or set another tracking URI",
                )
            )
        return False
    if not path.is_file():
        checks.append(
            Check(
                "store",
                ERROR,
                f"{shown}: {path} is not a file",
                "move it aside, or set another tracking URI",
            )
        )
        return False
    if not (os.access(path, os.R_OK | os.W_OK) and os.access(path.parent, os.W_OK | os.X_OK)):
        checks.append(
            Check(
                "store",
                ERROR,
                f"{shown}: {path} (or its directory, for SQLite's journal) is not writable",
                f"chmod u+w {path} {path.parent}",
            )
        )
        return False
    have, head = _schema(path)
    if head is not None and have != head:
        checks.append(
            Check(
                "store",
                ERROR,
                f"{shown}: schema {have or 'none'} is not MLflow's current {head}",
                f"mlflow db upgrade {shown} (back it up first)",
            )
        )
        return False
    checks.append(Check("store", OK, f"{shown} (from {source}) is writable and migrated"))
    return True


def _schema(path: Path) -> tuple[str | None, str | None]:
    """(the file's alembic revision, MLflow's latest); None where unknown."""
    import sqlite3

    from mlflow_gitver.embedded import head_revision

    head = head_revision()
    try:
        con = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)
        try:
            row = con.execute("SELECT version_num FROM alembic_version").fetchone()
        finally:
            con.close()
    except sqlite3.Error:
        return None, head
    return (str(row[0]) if row else None), head
