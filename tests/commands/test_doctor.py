"""``mlflow-gitver doctor`` as a whole: every check in one report, text and JSON, its
exit code.  Each area's checks have their file in tests/commands/doctor/."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from mlflow_gitver import git as gitmod
from mlflow_gitver.main import main
from mlflow_gitver.queue.records import new_record
from mlflow_gitver.queue.store import Store
from testing.doctor import doctor, plain_hooks
from testing.hooks import BIN
from testing.repos import commit_all, git, write


@pytest.mark.server
def test_all_ok(
    repo: Path, server_url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    write(
        repo / ".mlflow-gitver.yaml", f"name: app\nexperiment: doc-ok\ntracking_uri: {server_url}\n"
    )
    commit_all(repo, "config")
    plain_hooks(repo)
    monkeypatch.setenv("PATH", f"{BIN}{os.pathsep}{os.environ['PATH']}")
    code, checks = doctor(capsys, repo)
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
    code, checks = doctor(capsys, repo, "--tracking-uri", uri)
    assert code == 1
    assert checks["tracking URI"].startswith("error   tracking URI: ")
    assert uri in checks["tracking URI"]
    assert "--tracking-uri" in checks["tracking URI"]
    assert expected in checks["tracking URI"]


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
    code, checks = doctor(capsys, repo)
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
