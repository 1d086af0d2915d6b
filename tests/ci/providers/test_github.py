from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlflow_gitver import ci
from mlflow_gitver.ci.providers import github
from mlflow_gitver.errors import GitverError
from testing.ci import parse_github_file, run_cli
from testing.repos import git

OUTPUTS = {
    "model-id": "m-0123",
    "model-name": "app-git-abcdef12",
    "version-id": "abcdef12" * 5,
    "commit": "abcdef12" * 5,
    "dirty": "false",
    "experiment-id": "7",
    "model-url": "http://127.0.0.1:5000/#/experiments/7/models/m-0123",
}
HEAD_SHA = "f" * 40


def gh_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    for name in ("env", "output", "summary"):
        (tmp_path / name).write_text("")
    env = {
        "GITHUB_ACTIONS": "true",
        "GITHUB_ENV": str(tmp_path / "env"),
        "GITHUB_OUTPUT": str(tmp_path / "output"),
        "GITHUB_STEP_SUMMARY": str(tmp_path / "summary"),
        "GITHUB_SERVER_URL": "https://github.com",
        "GITHUB_REPOSITORY": "octo/app",
        "GITHUB_RUN_ID": "42",
        "GITHUB_RUN_ATTEMPT": "2",
        "GITHUB_WORKFLOW": "CI",
        "GITHUB_ACTOR": "octocat",
        "GITHUB_EVENT_NAME": "push",
        "GITHUB_REF": "refs/heads/feature/x",
        "GITHUB_REF_NAME": "feature/x",
        "GITHUB_REF_TYPE": "branch",
    }
    env.update(extra)
    return env


def pr_env(tmp_path: Path, number: int = 7) -> dict[str, str]:
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"pull_request": {"number": number, "head": {"sha": HEAD_SHA}}}))
    return gh_env(
        tmp_path,
        GITHUB_EVENT_NAME="pull_request",
        GITHUB_REF=f"refs/pull/{number}/merge",
        GITHUB_REF_NAME=f"{number}/merge",
        GITHUB_HEAD_REF="feature/pr",
        GITHUB_BASE_REF="main",
        GITHUB_EVENT_PATH=str(event),
    )


def test_detect_push(tmp_path: Path) -> None:
    ctx = ci.detect(None, gh_env(tmp_path))
    assert ctx.provider == "github"
    assert ctx.branch == "feature/x"
    assert ctx.tags == {
        "mlflow_gitver.ci.provider": "github",
        "mlflow_gitver.ci.run_url": "https://github.com/octo/app/actions/runs/42",
        "mlflow_gitver.ci.workflow": "CI",
        "mlflow_gitver.ci.event": "push",
        "mlflow_gitver.ci.ref": "refs/heads/feature/x",
        "mlflow_gitver.ci.actor": "octocat",
        "mlflow_gitver.ci.run_attempt": "2",
    }


def test_detect_pull_request(tmp_path: Path) -> None:
    ctx = ci.detect("github", pr_env(tmp_path))
    # GITHUB_REF_NAME is "7/merge" on pull_request: the branch is GITHUB_HEAD_REF.
    assert ctx.branch == "feature/pr"
    assert ctx.tags["mlflow_gitver.ci.pr_number"] == "7"
    # The description links to it (description.py).
    assert ctx.tags["mlflow_gitver.ci.pr_url"].endswith("/pull/7")
    assert ctx.tags["mlflow_gitver.ci.head_sha"] == HEAD_SHA
    assert ctx.tags["mlflow_gitver.ci.event"] == "pull_request"


def test_pull_request_target_number_from_payload(tmp_path: Path) -> None:
    env = pr_env(tmp_path, 9)
    # pull_request_target runs on the base branch: the number is only in the payload.
    env.update(GITHUB_EVENT_NAME="pull_request_target", GITHUB_REF="refs/heads/main")
    ctx = ci.detect(None, env)
    assert ctx.tags["mlflow_gitver.ci.pr_number"] == "9"
    assert ctx.tags["mlflow_gitver.ci.head_sha"] == HEAD_SHA


def test_unreadable_payload_is_ignored(tmp_path: Path) -> None:
    env = pr_env(tmp_path)
    Path(env["GITHUB_EVENT_PATH"]).write_text("{not json")
    ctx = ci.detect(None, env)
    assert ctx.tags["mlflow_gitver.ci.pr_number"] == "7"  # from GITHUB_REF
    assert "mlflow_gitver.ci.head_sha" not in ctx.tags


def test_tag_ref_is_not_a_branch(tmp_path: Path) -> None:
    env = gh_env(tmp_path, GITHUB_REF="refs/tags/v1", GITHUB_REF_NAME="v1", GITHUB_REF_TYPE="tag")
    assert ci.detect(None, env).branch is None


def test_export_writes_exactly(tmp_path: Path) -> None:
    env = gh_env(tmp_path)
    ci.export(
        ci.detect(None, env),
        outputs=OUTPUTS,
        env_vars={"MLFLOW_ACTIVE_MODEL_ID": "m-0123"},
        summary="| a | b |\n",
        dotenv=None,
        environ=env,
    )
    assert (tmp_path / "env").read_text() == "MLFLOW_ACTIVE_MODEL_ID=m-0123\n"
    assert parse_github_file((tmp_path / "output").read_text()) == OUTPUTS
    assert (tmp_path / "output").read_text().count("\n") == len(OUTPUTS)
    assert (tmp_path / "summary").read_text() == "| a | b |\n"
    assert not Path("mlflow-gitver.env").exists()  # no dotenv on GitHub unless asked


def test_export_appends(tmp_path: Path) -> None:
    env = gh_env(tmp_path)
    (tmp_path / "env").write_text("EARLIER=1\n")
    ci.export(
        ci.CiContext("github"),
        outputs={},
        env_vars={"MLFLOW_ACTIVE_MODEL_ID": "m-1"},
        summary=None,
        dotenv=None,
        environ=env,
    )
    assert parse_github_file((tmp_path / "env").read_text()) == {
        "EARLIER": "1",
        "MLFLOW_ACTIVE_MODEL_ID": "m-1",
    }


def test_export_env_and_summary_can_be_turned_off(tmp_path: Path) -> None:
    env = gh_env(tmp_path, MLFLOW_GITVER_EXPORT_ENV="false", MLFLOW_GITVER_SUMMARY="false")
    ci.export(
        ci.CiContext("github"),
        outputs=OUTPUTS,
        env_vars={"MLFLOW_ACTIVE_MODEL_ID": "m-0123"},
        summary="| a |\n",
        dotenv=None,
        environ=env,
    )
    assert (tmp_path / "env").read_text() == ""
    assert (tmp_path / "summary").read_text() == ""
    assert parse_github_file((tmp_path / "output").read_text()) == OUTPUTS


@pytest.mark.parametrize("bad", ["m-1\nEVIL=1", "m-1\rEVIL=1", "m-1\r\nEVIL=1"])
def test_newline_in_env_value_refused_and_nothing_written(tmp_path: Path, bad: str) -> None:
    env = gh_env(tmp_path)
    with pytest.raises(GitverError, match="GITHUB_ENV"):
        ci.export(
            ci.CiContext("github"),
            outputs=OUTPUTS,
            env_vars={"MLFLOW_ACTIVE_MODEL_ID": bad},
            summary="s",
            dotenv=None,
            environ=env,
        )
    for name in ("env", "output", "summary"):
        assert (tmp_path / name).read_text() == ""


@pytest.mark.parametrize("name", ["A=B", "A<<B", "A B", "A\nB", "", "1A", "A-B"])
def test_bad_env_name_refused(name: str) -> None:
    with pytest.raises(GitverError):
        github.line(name, "v", "GITHUB_ENV")


def test_multiline_output_uses_random_delimiter(tmp_path: Path) -> None:
    env = gh_env(tmp_path)
    value = "line1\nEVIL=1\nghadelimiter_0\nEOF\n"
    ci.export(
        ci.CiContext("github"),
        outputs={"model-name": value},
        env_vars={},
        summary=None,
        dotenv=None,
        environ=env,
    )
    text = (tmp_path / "output").read_text()
    first = text.split("\n", 1)[0]
    assert first.startswith("model-name<<ghadelimiter_") and len(first) > 40
    assert parse_github_file(text) == {"model-name": value}


@settings(deadline=None)  # the machine is shared: timing is not what this tests
@given(st.text(alphabet=st.sampled_from("ab=<\n\r_EOF"), max_size=40))
def test_block_round_trips_and_adds_no_variable(value: str) -> None:
    text = github.block("out", value.replace("\r", ""), "GITHUB_OUTPUT")
    assert parse_github_file(text) == {"out": value.replace("\r", "")}


def test_missing_output_file_is_an_error(tmp_path: Path) -> None:
    env = gh_env(tmp_path)
    del env["GITHUB_OUTPUT"]
    with pytest.raises(GitverError, match="GITHUB_OUTPUT is not set"):
        ci.export(
            ci.CiContext("github"),
            outputs=OUTPUTS,
            env_vars={"MLFLOW_ACTIVE_MODEL_ID": "m"},
            summary="s",
            dotenv=None,
            environ=env,
        )
    assert (tmp_path / "env").read_text() == ""


def test_credentials_never_reach_the_files(tmp_path: Path) -> None:
    env = gh_env(tmp_path)
    ci.export(
        ci.CiContext("github"),
        outputs={"model-url": "https://user:s3cret@mlflow.example/#/m"},
        env_vars={},
        summary="[m](https://user:s3cret@mlflow.example/#/m)",
        dotenv=None,
        environ=env,
    )
    for name in ("output", "summary"):
        assert "s3cret" not in (tmp_path / name).read_text()


@pytest.mark.server
def test_register_cli_on_github(app_repo: Path, server_url: str, tmp_path: Path) -> None:
    sha = git(app_repo, "rev-parse", "HEAD").strip()
    git(app_repo, "checkout", "-q", "--detach")
    env = gh_env(tmp_path)
    r = run_cli(app_repo, server_url, env)
    assert r.returncode == 0, r.stderr
    outputs = parse_github_file((tmp_path / "output").read_text())
    assert set(outputs) == set(OUTPUTS)
    assert outputs["commit"] == sha and outputs["dirty"] == "false"
    assert parse_github_file((tmp_path / "env").read_text()) == {
        "MLFLOW_ACTIVE_MODEL_ID": outputs["model-id"],
        "MLFLOW_EXPERIMENT_ID": outputs["experiment-id"],
    }
    assert outputs["model-id"] in (tmp_path / "summary").read_text()
