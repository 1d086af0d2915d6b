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
from tests.helpers import cli, commit_all, write

# Prints "go" once MLflow is imported, then creates the store at argv[1]: with our
# connect() (atomic) or in place, as MLflow does on first use.
_CHILD = """
import sys, time
import mlflow
from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore
from mlflow_gitver import tracking
from mlflow_gitver.service import connect
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
    seen_partial = 0
    for i, delay in enumerate(_delays(tmp_path, "ours", 5)):
        db = tmp_path / f"s{i}" / "mlflow.db"
        _create(db, "ours", delay)
        if db.exists():
            assert embedded.diagnose(db) is None, f"half-made store after a kill at {delay:.2f}s"
        leftovers = [n for n in os.listdir(db.parent) if "-creating-" in n]
        seen_partial += bool(leftovers)
        # The next use (under the lock) finishes the job and clears the leftovers.
        _create(db, "ours", None)
        assert embedded.diagnose(db) is None
        assert not [n for n in os.listdir(db.parent) if "-creating-" in n]
    # The loop did hit the creation itself, not only before or after it.
    assert seen_partial > 0


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
        if broken:
            (line,) = out.stderr.strip().splitlines()
            assert "half-made" in line and "moved to mlflow.db-half-made-" in line
            assert any(app.glob("mlflow.db-half-made-*"))
            # The store and what was moved aside never make the tree dirty.
            assert cli("id", cwd=app).stdout.strip() == head.stdout.strip()
    assert half_made > 0, "no kill landed inside the migration: the test proved nothing"


def test_half_made_store_with_data_is_reported_not_touched(app: Path) -> None:
    first = cli("register", "--format", "json", cwd=app)
    assert first.returncode == 0, first.stderr
    db = app / "mlflow.db"
    # A store whose migration to a newer schema was interrupted: revision behind.
    with sqlite3.connect(db) as con:
        con.execute("UPDATE alembic_version SET version_num = '451aebb31d03'")
    before = db.read_bytes()
    out = cli("register", cwd=app)
    assert out.returncode == 1, out.stderr
    (line,) = out.stderr.strip().splitlines()
    assert "half-made" in line and "holds data" in line
    assert f"mlflow db upgrade sqlite:///{db}" in line
    assert db.read_bytes() == before  # nothing moved, nothing rewritten
