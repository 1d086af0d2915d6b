"""doctor's checks of the embedded SQLite store: a file, writable, at MLflow's schema.
Doctor only reads: no check creates the file."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest

from mlflow_gitver import mlflow_api, tracking
from mlflow_gitver.commands.doctor.checks import Check
from mlflow_gitver.commands.doctor.sqlite import sqlite_ok
from mlflow_gitver.embedded import head_revision
from testing.doctor import doctor
from testing.repos import write


def _check(uri: str) -> tuple[bool, Check]:
    checks: list[Check] = []
    ok = sqlite_ok(uri, uri, "the default", checks)
    [check] = checks
    return ok, check


def test_embedded_store_checks(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(repo / ".mlflow-gitver.yaml", "name: app\n")
    _code, checks = doctor(capsys, repo)
    assert checks["store"].endswith("does not exist yet: the first registration creates it")
    assert not (repo / "mlflow.db").exists()  # doctor creates nothing
    # An old schema: MLflow would refuse it until it is upgraded.
    con = sqlite3.connect(repo / "mlflow.db")
    con.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)")
    con.execute("INSERT INTO alembic_version VALUES ('451aebb31d03')")
    con.commit()
    con.close()
    code, checks = doctor(capsys, repo)
    assert code == 1
    assert checks["store"].startswith("error   store: sqlite:///")
    assert "schema 451aebb31d03 is not MLflow's current" in checks["store"]
    assert "mlflow db upgrade" in checks["store"]
    if os.geteuid() != 0:  # root writes read-only files
        (repo / "mlflow.db").chmod(0o444)
        _code, checks = doctor(capsys, repo)
        assert "is not writable" in checks["store"]


@pytest.mark.parametrize("uri", ["sqlite:///:memory:", "sqlite://", "sqlite:///", "sqlite:///?x=1"])
def test_a_store_in_memory_is_a_warning(uri: str) -> None:
    ok, check = _check(uri)
    assert not ok
    assert check == Check(
        "store",
        "warning",
        f"{uri} is not a file: versions do not persist",
        "use sqlite:///path/to/mlflow.db",
    )


def test_a_missing_file_in_a_missing_directory_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "no" / "such" / "mlflow.db"
    ok, check = _check(f"sqlite:///{path}")
    assert not ok and check.level == "error"
    assert check.message.endswith(
        f": cannot create {path}: {path.parent} is not a writable directory"
    )
    assert not path.parent.exists()


def test_a_directory_in_place_of_the_file_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "mlflow.db").mkdir()
    ok, check = _check(f"sqlite:///{tmp_path}/mlflow.db")
    assert not ok
    assert (check.level, check.fix) == ("error", "move it aside, or set another tracking URI")
    assert check.message.endswith(f"{tmp_path}/mlflow.db is not a file")


@pytest.mark.parametrize("content", [b"", b"not a database \xff\xfe\0" * 100])
def test_a_file_without_mlflows_tables_has_no_schema(tmp_path: Path, content: bytes) -> None:
    write(tmp_path / "mlflow.db", content)
    ok, check = _check(f"sqlite:///{tmp_path}/mlflow.db")
    assert not ok and check.level == "error"
    assert f"schema none is not MLflow's current {head_revision()}" in check.message
    assert (tmp_path / "mlflow.db").read_bytes() == content  # opened read-only


def test_a_migrated_store_is_ok(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    with tracking.mlflow_env(uri):
        mlflow_api.connect(uri)  # MLflow creates and migrates it
    ok, check = _check(uri)
    assert ok
    assert check == Check("store", "ok", f"{uri} (from the default) is writable and migrated")


def test_a_relative_path_is_read_from_the_current_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "dir").mkdir()
    ok, check = _check("sqlite:///dir/mlflow.db")
    assert not ok and check.level == "ok"
    assert check.message.endswith("does not exist yet: the first registration creates it")
    os.rmdir(tmp_path / "dir")
    _ok, check = _check("sqlite:///dir/mlflow.db")
    assert check.level == "error"


def test_an_alembic_table_without_a_row(tmp_path: Path) -> None:
    con = sqlite3.connect(tmp_path / "mlflow.db")
    con.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)")
    con.commit()
    con.close()
    ok, check = _check(f"sqlite:///{tmp_path}/mlflow.db")
    assert not ok and "schema none is not MLflow's current" in check.message
