"""The Python API: activate() and current_version()."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.helpers import cli, commit_all, write


def _py(code: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def test_import_does_not_import_mlflow(tmp_path: Path) -> None:
    out = _py(
        """
        import sys
        import mlflow_gitver
        assert callable(mlflow_gitver.activate) and mlflow_gitver.ActiveModel
        print("mlflow" in sys.modules)
        """,
        tmp_path,
        dict(os.environ),
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


def test_activate_uses_the_environment_and_touches_no_git(tmp_path: Path) -> None:
    # No repository, and no git on PATH: any git call would fail.
    env = {
        "MLFLOW_ACTIVE_MODEL_ID": "m-0123",
        "MLFLOW_TRACKING_URI": "https://u:p@mlflow.example.com",
        "PATH": "/nonexistent",
        "HOME": str(tmp_path),
    }
    out = _py(
        """
        import sys
        from mlflow_gitver import activate
        m = activate()
        print(m.model_id, m.source, m.tracking_uri, "mlflow" in sys.modules)
        """,
        tmp_path,
        env,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["m-0123", "environment", "https://mlflow.example.com", "False"]


def test_activate_registers_and_links_traces(repo: Path, server_url: str) -> None:
    write(repo / ".mlflow-gitver.yaml", "name: api-app\nexperiment: api-tests\n")
    commit_all(repo, "config")
    env = {**os.environ, "MLFLOW_TRACKING_URI": server_url}
    out = _py(
        """
        import json, mlflow
        from mlflow_gitver import activate, current_version

        m = activate()

        @mlflow.trace
        def f(x):
            return x + 1

        f(1)
        mlflow.flush_trace_async_logging()
        print(json.dumps({"id": m.model_id, "created": m.created, "v": current_version(),
                          "exp": m.experiment_id, "vid": m.version_id}))
        """,
        repo,
        env,
    )
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["created"] is True and got["v"] == got["vid"]
    from mlflow import MlflowClient

    traces = MlflowClient(server_url).search_traces(
        locations=[got["exp"]], filter_string=f"metadata.`mlflow.modelId` = '{got['id']}'"
    )
    assert len(traces) == 1
    reg = cli("register", "--format", "json", cwd=repo, env=env)
    assert json.loads(reg.stdout)["model_id"] == got["id"]


def test_current_version_matches_the_id_command(repo: Path) -> None:
    from mlflow_gitver import current_version

    write(repo / "new.py", "n = 1\n")
    out = cli("id", cwd=repo)
    assert current_version(repo) == out.stdout.strip()
    assert "-dirty-" in current_version(str(repo))


def test_activate_outside_a_repository_is_a_clear_error(tmp_path: Path) -> None:
    from mlflow_gitver import activate
    from mlflow_gitver.errors import GitverError

    with pytest.raises(GitverError, match="not inside a git repository"):
        activate(tmp_path)
