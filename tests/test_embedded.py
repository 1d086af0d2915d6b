"""The embedded SQLite store: atomic creation, and repair of a half-made one.

Every fault here is real: child processes are SIGKILLed at many points while they
create the store (a timing loop over delays), either with our code or the way an
earlier mlflow-gitver (and MLflow itself) creates it: migrated in place.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mlflow_gitver import embedded
from testing.cli import cli
from testing.repos import commit_all, write

# Prints "go" once MLflow is imported, then creates the store at argv[1]: with our
# connect() (atomic) or in place, as MLflow does on first use.
_CHILD = """
import sys, time
import mlflow
from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore
from mlflow_gitver import tracking
from mlflow_gitver.mlflow_api import connect
db, how = sys.argv[1], sys.argv[2]
uri = f"sqlite:///{db}"
print("go", flush=True)
t0 = time.monotonic()
if how == "ours":
    with tracking.mlflow_env(uri):
        connect(uri)
else:
    SqlAlchemyStore(uri, str(__import__("pathlib").Path(db).parent / "mlruns"))
print(time.monotonic() - t0, flush=True)
"""


def _create(db: Path, how: str, kill_after: float | None) -> float | None:
    """Create the store in a child; SIGKILL it ``kill_after`` s into the creation."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    p = subprocess.Popen(
        [sys.executable, "-c", _CHILD, str(db), how],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    assert p.stdout is not None
    assert p.stdout.readline().strip() == b"go", p.stderr.read() if p.stderr else ""
    if kill_after is None:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err.decode()
        return float(out.decode().strip())
    time.sleep(kill_after)
    p.send_signal(signal.SIGKILL)
    p.communicate(timeout=60)
    return None


def _delays(db_dir: Path, how: str, n: int) -> list[float]:
    """``n`` kill points spread over one measured creation (plus one before it starts)."""
    took = _create(db_dir / "probe" / "mlflow.db", how, None)
    assert took is not None
    return [0.0] + [took * k / n for k in range(1, n)]


def test_store_appears_whole_or_not_at_all(tmp_path: Path) -> None:
    with_leftovers = []
    for i, delay in enumerate(_delays(tmp_path, "ours", 5)):
        db = tmp_path / f"s{i}" / "mlflow.db"
        _create(db, "ours", delay)
        if db.exists():
            assert embedded.diagnose(db) is None, f"half-made store after a kill at {delay:.2f}s"
        # Killed before it made the directory: nothing at all, which is fine too.
        if db.parent.exists() and [n for n in os.listdir(db.parent) if "-creating-" in n]:
            with_leftovers.append(db)
    # The loop did hit the creation itself, not only before or after it.
    assert with_leftovers
    # The next use (under the lock) creates the store and clears the leftovers.
    db = with_leftovers[0]
    _create(db, "ours", None)
    assert embedded.diagnose(db) is None
    assert not [n for n in os.listdir(db.parent) if "-creating-" in n]


@pytest.fixture
def app(repo: Path) -> Path:
    write(repo / ".mlflow-gitver.yaml", "name: store-app\n")
    commit_all(repo, "config")
    return repo


def test_half_made_store_of_an_earlier_version_is_repaired(app: Path, tmp_path: Path) -> None:
    db = app / "mlflow.db"
    half_made = 0
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=app, capture_output=True, text=True)
    for delay in _delays(tmp_path, "in-place", 5)[1:]:
        for p in app.glob("mlflow.db*"):
            p.unlink()
        # An earlier release (or `mlflow ui`) migrating mlflow.db in place, killed.
        _create(db, "in-place", delay)
        broken = db.exists() and embedded.diagnose(db) is not None
        half_made += broken
        out = cli("register", "--format", "json", cwd=app)
        assert out.returncode in (0, 1, 2), out.stderr  # never "a bug" (3)
        assert out.returncode == 0, out.stderr  # and here it holds no data: repaired
        assert json.loads(out.stdout)["created"] is True
        assert embedded.diagnose(db) is None
        # MLflow finishes some half-made stores itself (killed before its migrations
        # began); the others we move aside, with one line.
        if out.stderr:
            (line,) = out.stderr.strip().splitlines()
            assert "half-made" in line and "moved to mlflow.db-half-made-" in line
            assert broken and any(app.glob("mlflow.db-half-made-*"))
            # The store and what was moved aside never make the tree dirty.
            assert cli("id", cwd=app).stdout.strip() == head.stdout.strip()
    assert half_made > 0, "no kill landed inside the migration: the test proved nothing"


def _set_revision(db: Path, revision: str) -> None:
    # What an upgrade killed between two migrations leaves: the revision behind.
    with sqlite3.connect(db) as con:
        con.execute("UPDATE alembic_version SET version_num = ?", (revision,))
    con.close()


def test_half_made_store_is_moved_aside_or_reported(app: Path) -> None:
    db = app / "mlflow.db"
    _create(db, "in-place", None)
    _set_revision(db, "451aebb31d03")  # MLflow's first migration
    out = cli("register", "--format", "json", cwd=app)
    assert out.returncode == 0, out.stderr
    (line,) = out.stderr.strip().splitlines()
    assert "its schema is at revision 451aebb31d03" in line and "held no data" in line
    (aside,) = app.glob("mlflow.db-half-made-*")
    assert embedded.diagnose(aside) is not None and embedded.diagnose(db) is None
    # The same fault in a store that holds a version: reported, never touched.
    _set_revision(db, "451aebb31d03")
    before = db.read_bytes()
    out = cli("register", "--format", "json", cwd=app)
    assert out.returncode == 1, out.stderr
    (line,) = out.stderr.strip().splitlines()
    assert "half-made" in line and "holds data" in line
    assert f"mlflow db upgrade sqlite:///{db}" in line
    assert db.read_bytes() == before  # nothing moved, nothing rewritten


def test_a_store_that_cannot_be_created_is_one_line(app: Path, tmp_path: Path) -> None:
    # A file where the store's directory goes (chmod does not stop root).
    blocker = write(tmp_path / "not-a-dir", "x")
    out = cli("register", "--tracking-uri", f"sqlite:///{blocker}/sub/mlflow.db", cwd=app)
    assert out.returncode == 1, out.stderr
    (line,) = out.stderr.strip().splitlines()
    assert f"cannot create the MLflow store {blocker}/sub/mlflow.db" in line
    assert "Not a directory" in line
