"""``mlflow-gitver doctor`` on real repositories, hooks, stores and the real server."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from mlflow_gitver import git as gitmod
from mlflow_gitver.commands.doctor.hooks import stages
from mlflow_gitver.main import main
from mlflow_gitver.queue.records import new_record
from mlflow_gitver.queue.store import Store
from testing.repos import commit_all, git, write

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def _doctor(
    capsys: pytest.CaptureFixture[str], repo: Path, *args: str
) -> tuple[int, dict[str, str]]:
    """Exit code, and check name -> its text line (level first)."""
    code = main(["doctor", "--repo", str(repo), *args])
    lines = capsys.readouterr().out.splitlines()
    return code, {line[8:].split(":", 1)[0]: line for line in lines}


def _plain_hooks(repo: Path) -> None:
    (repo / ".git" / "hooks").mkdir(exist_ok=True)  # the tests' git has no template
    for stage in stages():
        shutil.copy2(ROOT / "hooks" / stage, repo / ".git" / "hooks" / stage)


@pytest.mark.server
def test_all_ok(
    repo: Path, server_url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    write(
        repo / ".mlflow-gitver.yaml", f"name: app\nexperiment: doc-ok\ntracking_uri: {server_url}\n"
    )
    commit_all(repo, "config")
    _plain_hooks(repo)
    monkeypatch.setenv("PATH", f"{BIN}{os.pathsep}{os.environ['PATH']}")
    code, checks = _doctor(capsys, repo)
    assert all(line.startswith("ok      ") for line in checks.values()), checks
    assert code == 0
    assert set(checks) >= {"config", "tracking URI", "experiment", "pending work"}
    assert (
        checks["tracking URI"]
        == f"ok      tracking URI: {server_url} (from the config's tracking_uri) answers"
    )
    assert checks["experiment"].endswith(
        "'doc-ok' does not exist yet: the first registration creates it"
    )
    assert checks["post-commit hook"].endswith("runs mlflow-gitver")
    # JSON: the same checks.
    code = main(["doctor", "--repo", str(repo), "--format", "json"])
    data = json.loads(capsys.readouterr().out)
    assert code == 0 and data["ok"] is True
    assert [c["level"] for c in data["checks"]] == ["ok"] * len(checks)


def test_core_hooks_path_that_disables_git_hooks(
    repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", f"{BIN}{os.pathsep}{os.environ['PATH']}")
    write(repo / ".mlflow-gitver.yaml", "name: app\n")
    _plain_hooks(repo)
    other = tmp_path / "husky"
    other.mkdir()
    git(repo, "config", "core.hooksPath", str(other))
    code, checks = _doctor(capsys, repo)
    assert code == 1
    assert checks["hooks"].startswith(f"error   hooks: core.hooksPath is {other}, so git ignores")
    assert "git config --unset core.hooksPath" in checks["hooks"]
    assert checks["post-commit hook"].startswith("warning post-commit hook: not installed")
    # core.hooksPath at our plain hooks is a supported setup: all fine.
    git(repo, "config", "core.hooksPath", str(ROOT / "hooks"))
    code, checks = _doctor(capsys, repo)
    assert "hooks" not in checks and checks["post-commit hook"].startswith("ok      ")
    # ... when mlflow-gitver is on PATH: the plain hooks run it from there.
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    _code, checks = _doctor(capsys, repo)
    assert checks["post-commit hook"].endswith(
        "is not on PATH here; fix: install mlflow-gitver where git runs, or put it on PATH"
    )


def test_pre_commit_shims_and_missing_hooks(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(repo / ".mlflow-gitver.yaml", "name: app\n")
    write(
        repo / ".pre-commit-config.yaml",
        "repos:\n  - repo: local\n    hooks:\n      - id: mlflow-gitver-post-commit\n"
        "        name: x\n        entry: mlflow-gitver hook post-commit\n        language: system\n"
        "        stages: [post-commit]\n        always_run: true\n        pass_filenames: false\n",
    )
    subprocess.run([str(BIN / "pre-commit"), "install", "-t", "post-commit", "-t", "pre-push"],
                   cwd=repo, check=True, capture_output=True)  # fmt: skip
    code, checks = _doctor(capsys, repo)
    assert code == 1
    assert checks["post-commit hook"].startswith("ok      post-commit hook:")
    assert "runs pre-commit, which runs mlflow-gitver-post-commit" in checks["post-commit hook"]
    assert checks["pre-push hook"].startswith("warning pre-push hook:")
    assert "has no mlflow-gitver-pre-push hook" in checks["pre-push hook"]
    hook = repo / ".git" / "hooks" / "post-commit"
    hook.chmod(0o644)
    _code, checks = _doctor(capsys, repo)
    assert checks["post-commit hook"].startswith("error   post-commit hook:")
    assert f"chmod +x {hook}" in checks["post-commit hook"]


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("host:5000", "has no scheme; write http://host:5000"),
        ("htp://host:5000", "unknown scheme 'htp'"),
        ("file:///tmp/x", "selects MLflow's file store, which MLflow 3 refuses"),
    ],
)
def test_bad_tracking_uris(
    repo: Path, capsys: pytest.CaptureFixture[str], uri: str, expected: str
) -> None:
    write(repo / ".mlflow-gitver.yaml", "name: app\n")
    code, checks = _doctor(capsys, repo, "--tracking-uri", uri)
    assert code == 1
    assert checks["tracking URI"].startswith("error   tracking URI: ")
    assert uri in checks["tracking URI"]
    assert "--tracking-uri" in checks["tracking URI"]
    assert expected in checks["tracking URI"]


@pytest.mark.server
def test_a_path_on_the_server_is_a_404(
    repo: Path, server_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    write(repo / ".mlflow-gitver.yaml", "name: app\n")
    code, checks = _doctor(capsys, repo, "--tracking-uri", f"{server_url}/api")
    assert code == 1
    assert "HTTP 404 for /health" in checks["tracking URI"]


def test_secret_in_the_uri_is_never_printed(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(repo / ".mlflow-gitver.yaml", "name: app\n")
    code = main(["doctor", "--repo", str(repo), "--tracking-uri", "http://u:hunter2@127.0.0.1:1"])
    out = capsys.readouterr()
    assert code == 1 and "hunter2" not in out.out + out.err
    assert "cannot connect" in out.out


def test_embedded_store_checks(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(repo / ".mlflow-gitver.yaml", "name: app\n")
    _code, checks = _doctor(capsys, repo)
    assert checks["store"].endswith("does not exist yet: the first registration creates it")
    assert not (repo / "mlflow.db").exists()  # doctor creates nothing
    # An old schema: MLflow would refuse it until it is upgraded.
    con = sqlite3.connect(repo / "mlflow.db")
    con.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)")
    con.execute("INSERT INTO alembic_version VALUES ('451aebb31d03')")
    con.commit()
    con.close()
    code, checks = _doctor(capsys, repo)
    assert code == 1
    assert checks["store"].startswith("error   store: sqlite:///")
    assert "schema 451aebb31d03 is not MLflow's current" in checks["store"]
    assert "mlflow db upgrade" in checks["store"]
    if os.geteuid() != 0:  # root writes read-only files
        (repo / "mlflow.db").chmod(0o444)
        _code, checks = _doctor(capsys, repo)
        assert "is not writable" in checks["store"]


def test_invalid_config_and_failed_and_pending_work(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(repo / ".mlflow-gitver.yaml", "name: app\nparm: 1\n")
    sha = commit_all(repo, "broken config")
    assert main(["hook", "post-commit", "--repo", str(repo)]) == 1  # a failed record
    r = gitmod.discover(repo)
    Store(repo / ".git" / "mlflow-gitver" / "..").add(new_record(r, sha, "post-commit", {}))
    Store(repo / ".git").add(
        new_record(r, git(repo, "rev-parse", "HEAD~1").strip(), "pre-push", {})
    )
    capsys.readouterr()
    code, checks = _doctor(capsys, repo)
    assert code == 1
    assert (
        checks["config"].startswith("error   config: ") and "unknown key 'parm'" in checks["config"]
    )
    out = main(["doctor", "--repo", str(repo), "--format", "json"])
    data = json.loads(capsys.readouterr().out)
    work = [c for c in data["checks"] if c["check"] == "pending work"]
    assert out == 1 and [c["level"] for c in work] == ["error", "warning"]
    assert "failed for good" in work[0]["message"] and work[0]["fix"].startswith("fix the cause")
    assert work[1]["fix"] == "mlflow-gitver flush"
