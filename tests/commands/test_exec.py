"""``mlflow-gitver exec -- CMD``: register, then run CMD with the version in its environment."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from testing.cli import cli
from testing.repos import commit_all, write


@pytest.fixture
def app(repo: Path) -> Path:
    write(repo / ".mlflow-gitver.yaml", "name: exec-app\n")
    commit_all(repo, "config")
    return repo


def test_exec_runs_the_command_with_the_version(app: Path, server_url: str) -> None:
    code = (
        "import json, os, sys; "
        "print(json.dumps({k: os.environ.get(k) for k in "
        "('MLFLOW_ACTIVE_MODEL_ID', 'MLFLOW_TRACKING_URI', 'MLFLOW_EXPERIMENT_ID')})); "
        "sys.exit(7)"
    )
    out = cli(
        "exec", "--tracking-uri", server_url, "--experiment", "exec-tests",
        "--", sys.executable, "-c", code, cwd=app,
    )  # fmt: skip
    assert out.returncode == 7, out.stderr  # the command's own exit code
    seen = json.loads(out.stdout)  # stdout is the command's alone
    assert seen["MLFLOW_ACTIVE_MODEL_ID"].startswith("m-")
    assert seen["MLFLOW_TRACKING_URI"] == server_url
    reg = cli(
        "register", "--format", "json", "--tracking-uri", server_url,
        "--experiment", "exec-tests", cwd=app,
    )  # fmt: skip
    got = json.loads(reg.stdout)
    assert seen["MLFLOW_ACTIVE_MODEL_ID"] == got["model_id"]
    assert seen["MLFLOW_EXPERIMENT_ID"] == got["experiment_id"]
    assert got["model_id"] in out.stderr  # one line saying which version runs


def test_exec_needs_a_command(app: Path) -> None:
    out = cli("exec", cwd=app)
    assert out.returncode == 2
    assert "exec needs a command" in out.stderr


def test_exec_exits_like_a_shell_when_the_command_cannot_run(app: Path) -> None:
    # As sh does: 127 for a command not found, 126 for one that cannot be executed.
    out = cli("exec", "--", "no-such-program-xyz", cwd=app)
    assert out.returncode == 127, out.stderr
    assert "no-such-program-xyz" in out.stderr and "not found" in out.stderr
    script = write(app.parent / "not-executable.sh", "#!/bin/sh\necho hi\n", mode=0o644)
    out = cli("exec", "--", str(script), cwd=app)
    assert out.returncode == 126, out.stderr
    (line,) = out.stderr.strip().splitlines()[-1:]
    assert str(script) in line and "chmod +x" in line


def test_exec_dry_run_prints_the_plan_and_runs_nothing(app: Path, tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    out = cli("exec", "--dry-run", "--", "touch", str(marker), cwd=app)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("dry run: nothing sent to ")
    assert not marker.exists()
