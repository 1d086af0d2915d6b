from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from mlflow_gitver import ci
from testing.ci import run_cli

BUILDKITE = {
    "BUILDKITE": "true",
    "CI": "true",
    "BUILDKITE_BUILD_URL": "https://buildkite.com/o/app/builds/8",
    "BUILDKITE_PIPELINE_SLUG": "app",
    "BUILDKITE_SOURCE": "webhook",
    "BUILDKITE_BRANCH": "feature/x",
    "BUILDKITE_BUILD_CREATOR": "Dev",
    "BUILDKITE_RETRY_COUNT": "0",
    "BUILDKITE_PULL_REQUEST": "false",
}


def fake_agent(bin_dir: Path, log: Path) -> None:
    """A stand-in for buildkite-agent, which needs a Buildkite backend to run for real:
    it records its arguments and stdin (the value) as one JSON line."""
    bin_dir.mkdir()
    agent = bin_dir / "buildkite-agent"
    agent.write_text(
        "#!/usr/bin/env python3\n"
        "import json, sys\n"
        f"with open({str(log)!r}, 'a') as f:\n"
        "    f.write(json.dumps([sys.argv[1:], sys.stdin.read()]) + '\\n')\n"
    )
    agent.chmod(agent.stat().st_mode | stat.S_IXUSR)


def test_detect() -> None:
    ctx = ci.detect(None, BUILDKITE)
    assert ctx.provider == "buildkite" and ctx.branch == "feature/x"
    assert ctx.tags["mlflow_gitver.ci.run_attempt"] == "1"
    assert "mlflow_gitver.ci.pr_number" not in ctx.tags
    assert (
        ci.detect(None, dict(BUILDKITE, BUILDKITE_PULL_REQUEST="5")).tags[
            "mlflow_gitver.ci.pr_number"
        ]
        == "5"
    )


def test_metadata_and_dotenv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    log = tmp_path / "agent.log"
    fake_agent(tmp_path / "bin", log)
    environ = dict(BUILDKITE, PATH=f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    ci.export(
        ci.CiContext("buildkite"),
        outputs={"model-id": "m-1", "model-url": ""},
        env_vars={"MLFLOW_ACTIVE_MODEL_ID": "m-1"},
        summary=None,
        dotenv=None,
        environ=environ,
    )
    calls = [json.loads(line) for line in log.read_text().splitlines()]
    # Buildkite refuses empty values: the empty model URL is not set.
    assert calls == [
        [["meta-data", "set", "MLFLOW_ACTIVE_MODEL_ID"], "m-1"],
        [["meta-data", "set", "MLFLOW_GITVER_MODEL_ID"], "m-1"],
    ]
    assert (tmp_path / "mlflow-gitver.env").read_text() == (
        "MLFLOW_ACTIVE_MODEL_ID=m-1\nMLFLOW_GITVER_MODEL_ID=m-1\nMLFLOW_GITVER_MODEL_URL=\n"
    )


def test_without_agent_only_the_dotenv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    ci.export(
        ci.CiContext("buildkite"),
        outputs={},
        env_vars={"MLFLOW_ACTIVE_MODEL_ID": "m-1"},
        summary=None,
        dotenv=None,
        environ=dict(BUILDKITE, PATH=str(tmp_path)),
    )
    assert (tmp_path / "mlflow-gitver.env").read_text() == "MLFLOW_ACTIVE_MODEL_ID=m-1\n"


@pytest.mark.server
def test_register_sets_metadata(app_repo: Path, server_url: str, tmp_path: Path) -> None:
    log = tmp_path / "agent.log"
    fake_agent(tmp_path / "bin", log)
    env = dict(BUILDKITE, PATH=f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    r = run_cli(app_repo, server_url, env)
    assert r.returncode == 0, r.stderr
    calls = [json.loads(line) for line in log.read_text().splitlines()]
    dotenv = dict(
        line.split("=", 1) for line in (app_repo / "mlflow-gitver.env").read_text().splitlines()
    )
    assert calls == [[["meta-data", "set", k], v] for k, v in dotenv.items()]
