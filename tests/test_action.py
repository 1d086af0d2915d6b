"""Run the composite action (action.yml) as a GitHub runner would, against a real server.

The runner (``testing/actionrunner.py``): each ``run:`` step gets its ``env:`` and each
``with:`` its values with ``${{ ... }}`` evaluated (once, like GitHub), fresh
GITHUB_ENV/GITHUB_OUTPUT/GITHUB_PATH/GITHUB_STEP_SUMMARY files, ``bash --noprofile
--norc -eo pipefail`` in GITHUB_WORKSPACE; what a step writes to GITHUB_ENV and
GITHUB_PATH reaches the later steps, its GITHUB_OUTPUT becomes ``steps.<id>.outputs``.
RUNNER_TEMP is one path per runner, emptied before each job, as on GitHub's machines;
the session's tests share one runner and its cache (the first run installs).

What is real: every ``run:`` step, unchanged. The install step really bootstraps uv with
the set-up Python's pip (``pip install --target``), really creates the action's venv with
it and really builds and installs the action's tree into it with ``uv pip install``
(setuptools in build isolation, every dependency resolved from its real metadata); the
register step runs that venv's ``mlflow-gitver``, not the test environment's.

What is not: ``uses: actions/setup-python`` is skipped (Python is already here: PATH's
``python`` runs the test environment's interpreter, with no other program of it on
PATH). ``uses: actions/cache`` is emulated: a hit copies the saved directory back to
its path and sets ``cache-hit``; a miss saves the path under its key when the job
succeeds (the real post step). GITHUB_ACTION_PATH is a copy of this tree's files (what
git tracks or would track: the action's download has no .venv or build/, and the
build must not write into the shared tree). The package index is a local wheelhouse,
named to pip and uv through their own variables (``PIP_NO_INDEX``/``PIP_FIND_LINKS``,
``UV_OFFLINE``/``UV_FIND_LINKS``, no user config): the installed distributions of the
test environment packed back into wheels (``testing/wheelhouse.py`` says what such a
wheel lacks), so the install needs no network and gets the versions tested here.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml

from testing.actionrunner import (
    ActionRun,
    Runner,
    copy_tree,
    make_runner,
    run_action,
    wheelhouse_env,
)
from testing.ci import parse_github_file
from testing.repos import commit_all, git, init_repo, write
from testing.wheelhouse import build_wheelhouse

ROOT = Path(__file__).resolve().parents[1]
OUTPUT_NAMES = {
    "model-id",
    "model-name",
    "version-id",
    "commit",
    "dirty",
    "experiment-id",
    "model-url",
}
MAP_OUTPUT_NAMES = {"model-ids", "version-ids", "experiment-ids", "created-apps"}
UV_PIN = re.compile(r'"uv==([\d.]+)"')

pytestmark = [pytest.mark.server, pytest.mark.slow]


@pytest.fixture(scope="session")
def _action_download(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    uv = UV_PIN.search((ROOT / "action.yml").read_text())
    assert uv, "action.yml pins uv"
    wheels = build_wheelhouse(
        tmp_path_factory.mktemp("wheelhouse"), "mlflow-gitver", [f"uv=={uv[1]}"]
    )
    return copy_tree(tmp_path_factory.mktemp("action")), wheels


@pytest.fixture(scope="session")
def runner(tmp_path_factory: pytest.TempPathFactory, _action_download: tuple[Path, Path]) -> Runner:
    """The session's runner: its cache is shared, so the first run installs and the
    others find the environment in the cache, as on GitHub."""
    action_path, wheels = _action_download
    return make_runner(tmp_path_factory.mktemp("runner"), action_path, wheelhouse_env(wheels))


def installed_from(venv: Path) -> str:
    """The URL the venv's mlflow-gitver was installed from (PEP 610); fails if editable."""
    (info,) = (venv / "lib").glob("python*/site-packages/mlflow_gitver-*.dist-info")
    direct = json.loads((info / "direct_url.json").read_text())
    assert not direct.get("dir_info", {}).get("editable"), direct
    url: str = direct["url"]
    return url


def workflow_commands(log: str) -> list[str]:
    """The ``::command`` lines the runner would act on, honouring ``::stop-commands::``."""
    commands, token = [], None
    for line in log.splitlines():
        if token is not None:
            if line == f"::{token}::":
                token = None
            continue
        if line.startswith("::stop-commands::"):
            token = line[len("::stop-commands::") :]
        elif line.startswith("::"):
            commands.append(line)
    return commands


def make_origin(path: Path, config: str) -> Path:
    root = init_repo(path)
    write(root / "app.py", "print('hello')\n")
    write(root / ".mlflow-gitver.yaml", config)
    commit_all(root, "initial")
    return root


def shallow_clone(origin: Path, dest: Path, ref: str) -> Path:
    """What actions/checkout does: fetch one commit (depth 1), check it out detached."""
    init_repo(dest)
    git(dest, "fetch", "-q", "--depth", "1", f"file://{origin}", f"+{ref}:refs/remotes/ci/head")
    git(dest, "checkout", "-q", "--detach", "refs/remotes/ci/head")
    assert (dest / ".git" / "shallow").exists()
    return dest


def push_env(tmp: Path, sha: str, branch: str = "main") -> dict[str, str]:
    event = tmp / "event.json"
    event.write_text(json.dumps({"ref": f"refs/heads/{branch}", "after": sha}))
    return {
        "GITHUB_EVENT_NAME": "push",
        "GITHUB_EVENT_PATH": str(event),
        "GITHUB_REF": f"refs/heads/{branch}",
        "GITHUB_REF_NAME": branch,
        "GITHUB_REF_TYPE": "branch",
        "GITHUB_SHA": sha,
        "GITHUB_SERVER_URL": "https://github.com",
        "GITHUB_REPOSITORY": "octo/app",
        "GITHUB_RUN_ID": "1001",
        "GITHUB_RUN_ATTEMPT": "1",
        "GITHUB_WORKFLOW": "version-then-deploy",
        "GITHUB_ACTOR": "octocat",
    }


def inspect(server_url: str, model_id: str, experiment_id: str) -> dict[str, Any]:
    """The model's tags and the number of traces linked to it, read back from the server."""
    code = textwrap.dedent(
        """
        import json, sys
        import mlflow
        mlflow.set_tracking_uri(sys.argv[1])
        model = mlflow.MlflowClient().get_logged_model(sys.argv[2])
        traces = mlflow.search_traces(
            experiment_ids=[sys.argv[3]],
            filter_string=f"metadata.`mlflow.modelId` = '{sys.argv[2]}'",
            return_type="list",
        )
        print(json.dumps({"tags": model.tags, "traces": len(traces)}))
        """
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    r = subprocess.run(
        [sys.executable, "-c", code, server_url, model_id, experiment_id],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert r.returncode == 0, r.stderr
    data: dict[str, Any] = json.loads(r.stdout.strip().splitlines()[-1])
    return data


def deploy(job_env: dict[str, str], server_url: str, cwd: Path) -> None:
    """A later step of the job: an @mlflow.trace app with the job's environment (which
    the action gave MLFLOW_ACTIVE_MODEL_ID and MLFLOW_EXPERIMENT_ID)."""
    code = textwrap.dedent(
        """
        import mlflow

        @mlflow.trace
        def answer(question: str) -> str:
            return question.upper()

        answer("which version am I?")
        """
    )
    env = dict(job_env, MLFLOW_TRACKING_URI=server_url)
    r = subprocess.run(
        [sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )
    assert r.returncode == 0, r.stderr


def test_push_at_detached_shallow_head(tmp_path: Path, server_url: str, runner: Runner) -> None:
    exp = f"action-{uuid.uuid4().hex[:10]}"
    origin = make_origin(tmp_path / "origin", f"name: app\nexperiment: {exp}\n")
    sha = git(origin, "rev-parse", "HEAD").strip()
    ws = shallow_clone(origin, tmp_path / "ws", "refs/heads/main")
    run = run_action(
        runner,
        ws,
        push_env(tmp_path, sha),
        {"tracking-uri": server_url},
        tmp_path / "run",
        step_env={"MLFLOW_TRACKING_TOKEN": "not-a-real-token"},
    )
    assert run.returncode == 0, run.log
    # The register step ran the CLI of the action's own venv, installed (not editable)
    # from the action's checkout.
    venv = runner.temp / "mlflow-gitver-venv"
    assert run.steps["venv"]["dir"] == str(venv)
    assert run.steps["install"] == {"cli": str(venv / "bin" / "mlflow-gitver")}
    assert installed_from(venv) == runner.action_path.as_uri()
    out = run.steps["register"]
    assert set(out) == OUTPUT_NAMES
    assert run.outputs == dict.fromkeys(MAP_OUTPUT_NAMES, "") | out  # one app: no maps
    assert re.fullmatch(r"m-[0-9a-f]+", out["model-id"])
    assert out["commit"] == out["version-id"] == sha
    assert out["dirty"] == "false"
    assert out["model-name"] == f"app-git-{sha[:8]}"
    assert out["model-url"].startswith(server_url) and out["model-id"] in out["model-url"]
    # The model and its experiment for the later steps; nothing from the other steps.
    assert run.env_files == {
        "Compute the environment's cache key": {},
        "Install mlflow-gitver": {},
        "Register the version": {
            "MLFLOW_ACTIVE_MODEL_ID": out["model-id"],
            "MLFLOW_EXPERIMENT_ID": out["experiment-id"],
        },
    }
    assert set(run.steps["venv"]) == {"dir", "key"}
    # Later steps run that CLI from PATH (only it: not the venv's python).
    assert run.paths == [str(runner.temp / "mlflow-gitver-bin")]
    assert os.listdir(run.paths[0]) == ["mlflow-gitver"]
    later = subprocess.run(
        ["mlflow-gitver", "id"], cwd=ws, env=run.job_env, capture_output=True, text=True
    )
    assert later.stdout.strip() == sha, later.stderr
    assert out["model-id"] in run.summary and out["model-url"] in run.summary
    # The CLI's output is framed by stop-commands: nothing in it can act as a command.
    assert workflow_commands(run.log) == []
    assert "not-a-real-token" not in run.log + run.summary

    # A later "deploy" step: its traces link to the version, in its experiment.
    deploy(run.job_env, server_url, ws)
    seen = inspect(server_url, out["model-id"], out["experiment-id"])
    assert seen["traces"] == 1
    tags = seen["tags"]
    assert tags["mlflow.source.git.branch"] == "main"  # detached HEAD: from GITHUB_REF_NAME
    assert tags["mlflow_gitver.ci.provider"] == "github"
    assert tags["mlflow_gitver.ci.event"] == "push"
    assert tags["mlflow_gitver.ci.ref"] == "refs/heads/main"
    assert tags["mlflow_gitver.ci.run_url"] == "https://github.com/octo/app/actions/runs/1001"


def test_a_warm_cache_installs_nothing(
    tmp_path: Path, server_url: str, _action_download: tuple[Path, Path]
) -> None:
    action_path, wheels = _action_download
    machine = make_runner(tmp_path / "machine", action_path, wheelhouse_env(wheels))  # empty cache
    origin = make_origin(tmp_path / "origin", f"name: app\nexperiment: warm-{uuid.uuid4().hex}\n")
    sha = git(origin, "rev-parse", "HEAD").strip()

    def job(name: str) -> ActionRun:
        ws = shallow_clone(origin, tmp_path / f"ws-{name}", "refs/heads/main")
        env = push_env(tmp_path, sha)
        # A job that asks for no bytecode: the action's venv gets it all the same.
        no_pyc = {"PYTHONDONTWRITEBYTECODE": "1"}
        inputs = {"tracking-uri": server_url}
        run = run_action(machine, ws, env, inputs, tmp_path / name, step_env=no_pyc)
        assert run.returncode == 0, run.log
        assert workflow_commands(run.log) == []
        return run

    cold = job("cold")
    key = cold.steps["venv"]["key"]
    assert cold.steps["cache"] == {"cache-hit": "false"}
    # uv came from the index through the set-up Python's pip, into a directory of its own.
    assert (machine.temp / "mlflow-gitver-uv" / "bin" / "uv").is_file()
    assert "Installed" in cold.log  # uv's report
    saved = machine.cache / key
    assert (saved / "mlflow-gitver-cache-key").read_text() == key + "\n"
    # With the bytecode the registration wrote, for the warm runs to import.
    assert list(saved.glob("lib/python*/site-packages/mlflow_gitver/__pycache__/*.pyc"))

    warm = job("warm")  # a new job: RUNNER_TEMP emptied, the venv restored by the cache
    assert warm.steps["venv"]["key"] == key
    assert warm.steps["cache"] == {"cache-hit": "true"}
    assert "nothing to install" in warm.log and "Installed" not in warm.log
    assert not (machine.temp / "mlflow-gitver-uv").exists()  # no uv, no pip run
    assert warm.outputs["model-id"] == cold.outputs["model-id"]  # the same version, found


def _cache_key(action_path: Path, tmp: Path, **env: str) -> str:
    """Run the action's key step alone, as the runner would."""
    action = yaml.safe_load((action_path / "action.yml").read_text())
    (step,) = (s for s in action["runs"]["steps"] if s.get("id") == "venv")
    out = tmp / f"output-{uuid.uuid4().hex}"
    out.write_text("")
    base = {"PATH": os.environ["PATH"], "RUNNER_OS": "Linux", "RUNNER_ARCH": "X64"}
    base |= {"RUNNER_TEMP": str(tmp / "temp"), "GITHUB_ACTION_PATH": str(action_path)}
    base |= {"GITHUB_OUTPUT": str(out), **env}
    r = subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]],
        env=base,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 0, r.stderr
    return parse_github_file(out.read_text())["key"]


def test_the_cache_key_follows_what_the_environment_is_built_from(
    tmp_path: Path, _action_download: tuple[Path, Path]
) -> None:
    action = shutil.copytree(_action_download[0], tmp_path / "action")
    key = _cache_key(action, tmp_path)
    v = sys.version_info
    assert key.startswith(f"mlflow-gitver-venv-Linux-X64-py{v.major}.{v.minor}.{v.micro}-")
    assert _cache_key(action, tmp_path) == key
    # Files the environment is not built from: the same key.
    write(action / "README.md", "changed\n")
    write(action / "src/mlflow_gitver/__pycache__/x.cpython.pyc", "compiled\n")
    write(action / "src/mlflow_gitver.egg-info/PKG-INFO", "the build's\n")
    assert _cache_key(action, tmp_path) == key
    # The runner's arch and the venv's path (a venv is not relocatable): another key.
    assert _cache_key(action, tmp_path, RUNNER_ARCH="ARM64").startswith(
        "mlflow-gitver-venv-Linux-ARM64-"
    )
    assert _cache_key(action, tmp_path, RUNNER_TEMP=str(tmp_path / "elsewhere")) != key
    # What it is built from: another key each.
    keys = {key}
    for rel in ("src/mlflow_gitver/__init__.py", "pyproject.toml", "action.yml"):
        (action / rel).write_text((action / rel).read_text() + "\n# changed\n")
        keys.add(_cache_key(action, tmp_path))
    write(action / "src/mlflow_gitver/new_module.py", "")
    keys.add(_cache_key(action, tmp_path))
    assert len(keys) == 5


def test_pull_request_registers_the_merge_commit(
    tmp_path: Path, server_url: str, runner: Runner
) -> None:
    origin = make_origin(tmp_path / "origin", f"name: app\nexperiment: pr-{uuid.uuid4().hex}\n")
    git(origin, "checkout", "-q", "-b", "feature/pr")
    write(origin / "app.py", "print('feature')\n")
    head = commit_all(origin, "feature")
    git(origin, "checkout", "-q", "main")
    write(origin / "other.py", "x = 1\n")
    commit_all(origin, "main moves on")
    # GitHub's refs/pull/N/merge: the PR merged into its base, a commit nobody pushed.
    git(origin, "checkout", "-q", "--detach")
    git(origin, "merge", "-q", "--no-ff", "-m", "Merge", "feature/pr")
    merge = git(origin, "rev-parse", "HEAD").strip()
    git(origin, "update-ref", "refs/pull/7/merge", merge)
    git(origin, "checkout", "-q", "main")
    ws = shallow_clone(origin, tmp_path / "ws", "refs/pull/7/merge")
    event = tmp_path / "pr.json"
    event.write_text(
        json.dumps(
            {
                "number": 7,
                "pull_request": {"number": 7, "head": {"sha": head, "ref": "feature/pr"}},
            }
        )
    )
    env = push_env(tmp_path, merge)
    env.update(
        GITHUB_EVENT_NAME="pull_request",
        GITHUB_EVENT_PATH=str(event),
        GITHUB_REF="refs/pull/7/merge",
        GITHUB_REF_NAME="7/merge",
        GITHUB_HEAD_REF="feature/pr",
        GITHUB_BASE_REF="main",
    )
    run = run_action(
        runner,
        ws,
        env,
        {"tracking-uri": server_url, "export-env": "false", "summary": "false"},
        tmp_path / "run",
    )
    assert run.returncode == 0, run.log
    out = run.outputs
    assert out["commit"] == merge != head  # the code checked out: the merge commit
    assert run.env_files["Register the version"] == {}  # export-env: false
    assert run.summary == ""  # summary: false
    tags = inspect(server_url, out["model-id"], out["experiment-id"])["tags"]
    assert tags["mlflow.source.git.branch"] == "feature/pr"
    assert tags["mlflow_gitver.ci.pr_number"] == "7"
    assert tags["mlflow_gitver.ci.head_sha"] == head
    assert tags["mlflow_gitver.ci.event"] == "pull_request"


NASTY = "$(touch {m})`touch {m}`'\"%0A%25\nEVIL=1\nghadelimiter_0\n::set-output name=x::y"


def test_injection_in_branch_config_and_inputs_is_inert(
    tmp_path: Path, server_url: str, runner: Runner
) -> None:
    marker = tmp_path / "pwned"
    nasty = NASTY.format(m=marker)
    config = (
        "name: app\n"
        f"experiment: inj-{uuid.uuid4().hex}\n"
        'name_template: "{name}-{branch}-{short_sha}"\n'
        f"tags:\n  note: {json.dumps(nasty)}\n"
    )
    origin = make_origin(tmp_path / "origin", config)
    sha = git(origin, "rev-parse", "HEAD").strip()
    ws = shallow_clone(origin, tmp_path / "ws", "refs/heads/main")
    env = push_env(tmp_path, sha)
    env.update(GITHUB_HEAD_REF="feat/" + nasty, GITHUB_EVENT_NAME="pull_request")
    run = run_action(
        runner, ws, env, {"tracking-uri": server_url, "experiment": ""}, tmp_path / "run"
    )
    assert run.returncode == 0, run.log
    assert set(run.steps["register"]) == OUTPUT_NAMES
    assert run.env_files["Register the version"] == {
        "MLFLOW_ACTIVE_MODEL_ID": run.outputs["model-id"],
        "MLFLOW_EXPERIMENT_ID": run.outputs["experiment-id"],
    }
    assert "$(touch" in run.outputs["model-name"]  # carried as data, never run
    assert not marker.exists()
    assert workflow_commands(run.log) == []


@pytest.mark.parametrize("fail_on_error", ["true", "false"])
def test_injection_in_inputs_of_a_failing_run(
    tmp_path: Path, server_url: str, fail_on_error: str, runner: Runner
) -> None:
    marker = tmp_path / "pwned"
    nasty = NASTY.format(m=marker)
    origin = make_origin(tmp_path / "origin", "name: app\n")
    sha = git(origin, "rev-parse", "HEAD").strip()
    ws = shallow_clone(origin, tmp_path / "ws", "refs/heads/main")
    inputs = {
        "config": "missing-" + nasty,  # no such file: registration fails
        "experiment": nasty,
        "tracking-uri": server_url,
        "working-directory": ".",
        "fail-on-error": fail_on_error,
    }
    run = run_action(runner, ws, push_env(tmp_path, sha), inputs, tmp_path / "run")
    assert not marker.exists()
    assert run.steps["register"] == {}
    assert run.env_files.get("Register the version", {}) == {}
    commands = workflow_commands(run.log)
    if fail_on_error == "true":
        assert run.returncode == 2, run.log
        assert commands == []
    else:
        assert run.returncode == 0, run.log
        # One warning line; the error's newlines are escaped, so no command follows it.
        assert len(commands) == 1 and commands[0].startswith("::warning title=mlflow-gitver::")
        assert "%0AEVIL=1%0Aghadelimiter_0%0A::set-output" in commands[0]


TWO_APPS = """\
experiment: {exp}
apps:
  - name: support
    paths: [apps/support, libs]
  - name: triage
    paths: [apps/triage, libs]
    experiment: {exp}-triage
"""


def test_two_apps_give_maps_then_one_app_gives_the_usual_outputs(
    tmp_path: Path, server_url: str, runner: Runner
) -> None:
    exp = f"action-{uuid.uuid4().hex[:10]}"
    origin = make_origin(tmp_path / "origin", TWO_APPS.format(exp=exp))
    for rel in ("apps/support/agent.py", "apps/triage/agent.py", "libs/common.py"):
        write(origin / rel, f"# {rel}\n")
    commit_all(origin, "two apps")

    def action(name: str, inputs: dict[str, str]) -> ActionRun:
        sha = git(origin, "rev-parse", "HEAD").strip()
        ws = shallow_clone(origin, tmp_path / f"ws-{name}", "refs/heads/main")
        run = run_action(
            runner,
            ws,
            push_env(tmp_path, sha),
            {"tracking-uri": server_url, **inputs},
            tmp_path / name,
        )
        assert run.returncode == 0, run.log
        assert workflow_commands(run.log) == []
        return run

    both = action("both", {})
    out = both.steps["register"]
    assert set(out) == MAP_OUTPUT_NAMES
    assert {k for k, v in both.outputs.items() if v} == MAP_OUTPUT_NAMES  # no single model-id
    ids, experiments = json.loads(out["model-ids"]), json.loads(out["experiment-ids"])
    assert (
        set(ids) == set(experiments) == set(json.loads(out["version-ids"])) == {"support", "triage"}
    )
    assert json.loads(out["created-apps"]) == ["support", "triage"]
    assert experiments["support"] != experiments["triage"]  # the app's own experiment
    # No one active model: a variable per app, and both in the job summary.
    assert both.env_files["Register the version"] == {
        "MLFLOW_GITVER_MODEL_ID_SUPPORT": ids["support"],
        "MLFLOW_GITVER_EXPERIMENT_ID_SUPPORT": experiments["support"],
        "MLFLOW_GITVER_MODEL_ID_TRIAGE": ids["triage"],
        "MLFLOW_GITVER_EXPERIMENT_ID_TRIAGE": experiments["triage"],
    }
    assert ids["support"] in both.summary and ids["triage"] in both.summary
    assert "support" in both.summary and "triage" in both.summary

    # What the example's matrix job does for one app: its traces reach its version.
    env = dict(both.job_env)
    env.update(MLFLOW_ACTIVE_MODEL_ID=ids["triage"], MLFLOW_EXPERIMENT_ID=experiments["triage"])
    deploy(env, server_url, tmp_path)
    assert inspect(server_url, ids["triage"], experiments["triage"])["traces"] == 1

    # The next push changes triage only: support's version is found, not created.
    write(origin / "apps/triage/agent.py", "# triage v2\n")
    commit_all(origin, "triage v2")
    again = action("again", {})
    again_ids = json.loads(again.steps["register"]["model-ids"])
    assert again_ids["support"] == ids["support"] and again_ids["triage"] != ids["triage"]
    assert json.loads(again.steps["register"]["created-apps"]) == ["triage"]

    # With the app input: the outputs and exports of one app, as without apps.
    one = action("one", {"app": "triage"})
    single = one.steps["register"]
    assert set(single) == OUTPUT_NAMES
    assert single["model-id"] == again_ids["triage"]
    assert one.env_files["Register the version"] == {
        "MLFLOW_ACTIVE_MODEL_ID": again_ids["triage"],
        "MLFLOW_EXPERIMENT_ID": experiments["triage"],
    }
