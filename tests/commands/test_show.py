"""``mlflow-gitver show``: one version, found by model id, name, commit or version id,
on the session's real server (and the embedded store)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from mlflow_gitver.main import main
from testing.cli import cli
from testing.repos import commit_all, write

pytestmark = pytest.mark.server


@pytest.fixture
def registered(repo: Path, server_url: str, capsys: pytest.CaptureFixture[str]) -> dict[str, str]:
    """A committed config on the server, its version registered: register's JSON."""
    experiment = f"show-{uuid.uuid4().hex[:10]}"
    write(
        repo / ".mlflow-gitver.yaml",
        f"name: shop\nexperiment: {experiment}\ntracking_uri: {server_url}\n"
        "params: {llm: gpt-4o-mini, retrieval: {k: 5}}\ntags: {team: support}\n",
    )
    commit_all(repo, "config")
    assert main(["register", "--format", "json", "--repo", str(repo)]) == 0
    reg: dict[str, str] = json.loads(capsys.readouterr().out)
    reg["experiment"] = experiment
    return reg


def _show(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["show", *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_show_the_working_tree_version(
    registered: dict[str, str], repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _err = _show(capsys, "--repo", str(repo))
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == f"model id:   {registered['model_id']}"
    assert lines[1] == f"model name: {registered['model_name']}"
    assert lines[2] == f"version id: {registered['version_id']}"
    assert lines[3] == "status:     READY"
    # The experiment's name with its id.
    assert lines[4].startswith(
        f"experiment: {registered['experiment']} (id {registered['experiment_id']}) at http://"
    )
    assert "traces:     0 linked" in lines
    assert "  llm = gpt-4o-mini" in lines and "  retrieval.k = 5" in lines
    assert "  team = support" in lines
    assert lines[-1] == f"view:       {registered['model_url']}"


def test_show_finds_a_version_every_way(
    registered: dict[str, str], repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(repo / "app.py", "changed\n")  # the working tree's version is another one now
    ways = ("model_id", "model_name", "commit", "version_id")
    for what in [registered[k] for k in ways] + [registered["commit"][:9]]:
        code, out, _err = _show(capsys, what, "--repo", str(repo), "--format", "json")
        assert code == 0, what
        _check_json(json.loads(out), registered)


def _check_json(data: dict[str, object], registered: dict[str, str]) -> None:
    assert data["model_id"] == registered["model_id"]
    assert data["experiment_name"] == registered["experiment"]
    assert data["experiment_id"] == registered["experiment_id"]
    assert data["params"] == {"llm": "gpt-4o-mini", "retrieval.k": "5"}
    tags = data["tags"]
    assert isinstance(tags, dict)
    assert tags["mlflow_gitver.version_id"] == registered["version_id"]
    assert data["model_url"] == registered["model_url"]
    assert (data["commit"], data["dirty"], data["branch"]) == (registered["commit"], False, "main")


def test_show_not_registered_is_exit_1(
    registered: dict[str, str], repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(repo / "app.py", "changed\n")
    code, out, err = _show(capsys, "--repo", str(repo))
    assert (code, out) == (1, "")
    assert err.count("\n") == 1 and "is not registered at http://127.0.0.1:" in err
    for missing in ("m-0123456789abcdef0123456789abcdef", "no-such-model"):
        code, out, err = _show(capsys, missing, "--repo", str(repo))
        assert (code, out) == (1, "") and err.count("\n") == 1
        assert f"{missing} is not registered" in err


def test_show_counts_linked_traces(registered: dict[str, str], repo: Path, server_url: str) -> None:
    # A traced process of the deployed version: the environment the exports give it.
    app = "import mlflow\n@mlflow.trace\ndef answer(q):\n    return q\nanswer('hi')\n"
    env = dict(
        os.environ,
        MLFLOW_TRACKING_URI=server_url,
        MLFLOW_ACTIVE_MODEL_ID=registered["model_id"],
        MLFLOW_EXPERIMENT_ID=registered["experiment_id"],
    )
    subprocess.run([sys.executable, "-c", app], env=env, check=True, capture_output=True)
    out = cli("show", registered["model_id"], cwd=repo)
    assert out.returncode == 0, out.stderr
    assert "traces:     1 linked" in out.stdout.splitlines()


def test_show_web_opens_the_version_page(
    registered: dict[str, str], repo: Path, tmp_path: Path
) -> None:
    # A real browser stand-in: a script that records the URL it is given.
    seen = tmp_path / "opened"
    browser = write(tmp_path / "browser", f'#!/bin/sh\nprintf "%s" "$1" > {seen}\n', 0o755)
    out = cli("show", "--web", cwd=repo, env=dict(os.environ, BROWSER=str(browser)))
    assert out.returncode == 0, out.stderr
    assert seen.read_text() == registered["model_url"]
    assert registered["model_url"].endswith(
        f"/#/experiments/{registered['experiment_id']}/models/{registered['model_id']}"
    )


def test_show_on_the_embedded_store_says_how_to_see_it(repo: Path, tmp_path: Path) -> None:
    write(repo / ".mlflow-gitver.yaml", "name: local\n")
    sha = commit_all(repo, "config")
    assert cli("register", cwd=repo).returncode == 0
    seen = tmp_path / "opened"
    browser = write(tmp_path / "browser", f'#!/bin/sh\necho "$1" > {seen}\n', 0o755)
    out = cli("show", sha[:10], "--web", cwd=repo, env=dict(os.environ, BROWSER=str(browser)))
    assert out.returncode == 0, out.stderr
    view = out.stdout.splitlines()[-1]
    db = f"sqlite:///{repo / 'mlflow.db'}"
    assert view.startswith(f"view:       run 'mlflow ui --backend-store-uri {db}'")
    assert "has no web page to open" in out.stderr and not seen.exists()
    assert cli("id", cwd=repo).stdout.strip() == sha  # nothing written that counts


def test_show_outside_a_checkout_needs_a_version(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], server_url: str
) -> None:
    os.chdir(tmp_path)
    code, _out, err = _show(capsys, "--tracking-uri", server_url)
    assert code == 2 and "show needs a VERSION outside a git checkout" in err


def test_show_takes_a_scoped_version_id(repo: Path, server_url: str) -> None:
    config = f"experiment: show-{uuid.uuid4().hex[:8]}\napps:\n  - {{name: a, paths: [src]}}\n"
    write(repo / "src/x.py", "x\n")
    write(repo / ".mlflow-gitver.yaml", config)
    commit_all(repo, "scoped")
    reg = cli("register", "--app", "a", "--format", "json", "--tracking-uri", server_url,
              "--ci", "none", cwd=repo)  # fmt: skip
    got = json.loads(reg.stdout)
    out = cli("show", str(got["version_id"]), "--format", "json", "--tracking-uri", server_url,
              cwd=repo)  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["model_id"] == got["model_id"]
    # The working tree and a commit stand for the app's scoped version.
    write(repo / "docs.md", "outside the scope\n")
    commit_all(repo, "docs")
    for how in ((), ("HEAD",), ("HEAD~1",), ("--app", "a")):
        seen = cli("show", *how, "--format", "json", "--tracking-uri", server_url, cwd=repo)
        assert seen.returncode == 0, (how, seen.stderr)
        assert json.loads(seen.stdout)["model_id"] == got["model_id"]
    write(repo / "src/x.py", "x2\n")
    dirty = cli("show", "--tracking-uri", server_url, cwd=repo)
    assert dirty.returncode == 1 and "-dirty-" in dirty.stderr, dirty.stderr


def test_show_with_several_scoped_apps_needs_app(repo: Path, server_url: str) -> None:
    write(repo / "a/x.py", "x\n")
    write(repo / "b/y.py", "y\n")
    apps = "apps:\n  - {name: a, paths: [a]}\n  - {name: b, paths: [b]}\n"
    write(repo / ".mlflow-gitver.yaml", apps)
    commit_all(repo, "two apps")
    for how in ((), ("HEAD",)):
        out = cli("show", *how, "--tracking-uri", server_url, cwd=repo)
        assert out.returncode == 2 and out.stderr.count("\n") == 1, out.stderr
        assert "several apps (a, b): pass --app NAME" in out.stderr


def test_a_model_named_like_an_id_is_found_by_its_name(
    repo: Path, server_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """MLflow lets a name look like a model id: no model has that id, so it is a name."""
    experiment = f"show-{uuid.uuid4().hex[:10]}"
    write(
        repo / ".mlflow-gitver.yaml",
        f"name: shop\nexperiment: {experiment}\ntracking_uri: {server_url}\n"
        "name_template: 'm-{short_sha}'\n",
    )
    commit_all(repo, "config")
    assert main(["register", "--format", "json", "--repo", str(repo)]) == 0
    reg = json.loads(capsys.readouterr().out)
    assert reg["model_name"].startswith("m-") and reg["model_name"] != reg["model_id"]
    code, out, err = _show(capsys, reg["model_name"], "--repo", str(repo), "--format", "json")
    assert code == 0 and json.loads(out)["model_id"] == reg["model_id"], err
