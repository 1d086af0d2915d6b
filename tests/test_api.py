"""The Python API: activate() and current_version()."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from testing.cli import cli
from testing.repos import commit_all, write
from testing.server import free_port


def _py(code: str, cwd: Path, env: dict[str, str], *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), *argv],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


@pytest.mark.imports_counted
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
    # No repository, and no git on PATH: any git call would fail.  With the URI and
    # the experiment in the environment and verify=False, MLflow needs nothing more
    # (not even import).
    env = {
        "MLFLOW_ACTIVE_MODEL_ID": "m-0123",
        "MLFLOW_TRACKING_URI": "https://u:p@mlflow.example.com",
        "MLFLOW_EXPERIMENT_ID": "7",
        "PATH": "/nonexistent",
        "HOME": str(tmp_path),
    }
    out = _py(
        """
        import sys
        from mlflow_gitver import activate
        m = activate(verify=False)
        print(m.model_id, m.source, m.tracking_uri, m.experiment_id, "mlflow" in sys.modules)
        """,
        tmp_path,
        env,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == [
        "m-0123", "environment", "https://mlflow.example.com", "7", "False"
    ]  # fmt: skip


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

    with pytest.raises(GitverError, match="not inside a git repository") as e:
        activate(tmp_path)
    # activate() has parameters, not the CLI's flags.
    assert "repo=" in e.value.message and "--repo" not in e.value.message


def test_activate_errors_name_its_parameters(repo: Path) -> None:
    from mlflow_gitver import activate
    from mlflow_gitver.errors import GitverError

    with pytest.raises(GitverError, match="no config file") as e:
        activate(repo, config=repo / "missing.yaml")
    assert "config=" in e.value.message and "--config" not in e.value.message
    with pytest.raises(GitverError, match="no such directory") as e:
        activate(repo / "nope")
    assert "repo=" in e.value.message and "--repo" not in e.value.message


_DEPLOY = """
    import json, sys, mlflow
    from mlflow_gitver import activate

    m = activate()

    @mlflow.trace
    def answer(q):
        return q.upper()

    answer("hi")
    mlflow.flush_trace_async_logging()
    print(json.dumps({"exp": m.experiment_id, "uri": m.tracking_uri}))
"""


def _deploy_env(repo: Path, **extra: str) -> dict[str, str]:
    # A deploy: the model id handed over, nothing of the developer's shell.
    return {
        "PATH": os.environ["PATH"],
        "HOME": str(repo.parent),
        "MLFLOW_DISABLE_TELEMETRY": "true",
        **extra,
    }


def _traces(uri: str, experiment_id: str, model_id: str) -> list[object]:
    from mlflow import MlflowClient

    return list(
        MlflowClient(uri).search_traces(
            locations=[experiment_id], filter_string=f"metadata.`mlflow.modelId` = '{model_id}'"
        )
    )


def test_activate_with_the_model_id_honours_the_config(repo: Path, server_url: str) -> None:
    write(
        repo / ".mlflow-gitver.yaml",
        f"name: api-deploy\nexperiment: shop-agent\ntracking_uri: {server_url}\n",
    )
    commit_all(repo, "config")
    reg = cli("register", "--format", "json", cwd=repo)
    assert reg.returncode == 0, reg.stderr
    got = json.loads(reg.stdout)
    # Only the model id: the URI and the experiment come from the config and the model.
    out = _py(_DEPLOY, repo, _deploy_env(repo, MLFLOW_ACTIVE_MODEL_ID=got["model_id"]))
    assert out.returncode == 0, out.stderr
    seen = json.loads(out.stdout.strip().splitlines()[-1])
    assert seen == {"exp": got["experiment_id"], "uri": server_url}
    assert not (repo / "mlflow.db").exists()  # not MLflow's local default
    assert len(_traces(server_url, got["experiment_id"], got["model_id"])) == 1


def test_activate_env_uri_wins_and_an_unknown_model_is_named(repo: Path, server_url: str) -> None:
    # The config points at a closed port; MLFLOW_TRACKING_URI (first) at the server.
    closed = f"http://127.0.0.1:{free_port()}"
    write(repo / ".mlflow-gitver.yaml", f"name: api-deploy2\ntracking_uri: {closed}\n")
    commit_all(repo, "config")
    reg = cli("register", "--format", "json", "--tracking-uri", server_url, cwd=repo)
    got = json.loads(reg.stdout)
    env = _deploy_env(repo, MLFLOW_ACTIVE_MODEL_ID=got["model_id"], MLFLOW_TRACKING_URI=server_url)
    out = _py(_DEPLOY, repo, env)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout.strip().splitlines()[-1])["exp"] == got["experiment_id"]
    assert len(_traces(server_url, got["experiment_id"], got["model_id"])) == 1
    # A model id the store does not know: one clear error, not traces to nowhere.
    env["MLFLOW_ACTIVE_MODEL_ID"] = "m-00000000000000000000000000000000"
    code = """
        import sys
        from mlflow_gitver import activate
        from mlflow_gitver.errors import GitverError
        try:
            activate()
        except GitverError as e:
            sys.exit(f"{e.exit_code} {e}")
    """
    out = _py(code, repo, env)
    assert out.returncode == 1 and out.stderr.startswith("1 ")
    assert "is not a model at" in out.stderr and "MLFLOW_TRACKING_URI" in out.stderr


_CHECKED = """
    import sys
    from mlflow_gitver import activate
    from mlflow_gitver.errors import GitverError
    try:
        m = activate(verify=sys.argv[1] == "1")
    except GitverError as e:
        sys.exit(f"{e.exit_code} {e}")
    print(m.model_id, m.experiment_id)
"""


def test_activate_checks_the_model_id_it_is_given(repo: Path, server_url: str) -> None:
    """The checks of ``verify`` (issue 14): a name, another experiment, another app's
    model, an unfinished one; each one clear error, unless verify=False."""
    write(repo / ".mlflow-gitver.yaml", f"name: checked\ntracking_uri: {server_url}\n")
    commit_all(repo, "config")
    got = json.loads(cli("register", "--format", "json", cwd=repo).stdout)

    def run(verify: bool, **extra: str) -> subprocess.CompletedProcess[str]:
        env = _deploy_env(repo, MLFLOW_TRACKING_URI=server_url, **extra)
        return _py(_CHECKED, repo, env, "1" if verify else "0")

    ok = run(
        True, MLFLOW_ACTIVE_MODEL_ID=got["model_id"], MLFLOW_EXPERIMENT_ID=got["experiment_id"]
    )
    assert ok.returncode == 0 and ok.stdout.split() == [got["model_id"], got["experiment_id"]]
    named = run(True, MLFLOW_ACTIVE_MODEL_ID=got["model_name"])
    # (sys.exit with a message exits 1; the message starts with the error's exit code)
    assert named.returncode == 1 and named.stderr.startswith("2 "), named.stderr
    assert f"MLFLOW_ACTIVE_MODEL_ID={got['model_id']}" in named.stderr
    elsewhere = run(True, MLFLOW_ACTIVE_MODEL_ID=got["model_id"], MLFLOW_EXPERIMENT_ID="999999")
    assert (
        elsewhere.stderr.startswith("1 ")
        and "traces here go to experiment 999999" in elsewhere.stderr
    )
    assert "verify=False" in elsewhere.stderr
    skipped = run(False, MLFLOW_ACTIVE_MODEL_ID=got["model_id"], MLFLOW_EXPERIMENT_ID="999999")
    assert skipped.returncode == 0 and skipped.stdout.split() == [got["model_id"], "999999"]
    write(repo / ".mlflow-gitver.yaml", f"name: another\ntracking_uri: {server_url}\n")
    other = run(True, MLFLOW_ACTIVE_MODEL_ID=got["model_id"])
    assert other.stderr.startswith("1 ") and "a version of checked, not of another" in other.stderr


# --- apps and scoped versions (issue 13) ----------------------------------------------------

_MONO = """\
experiment: api-mono
tracking_uri: {uri}
apps:
  - name: support
    paths: [apps/support]
  - name: triage
    paths: [apps/triage]
    experiment: api-triage
"""


def _mono(repo: Path, uri: str) -> None:
    write(repo / "apps/support/a.py", "a\n")
    write(repo / "apps/triage/t.py", "t\n")
    write(repo / ".mlflow-gitver.yaml", _MONO.format(uri=uri))
    commit_all(repo, "monorepo")


def test_activate_and_current_version_take_an_app(repo: Path, server_url: str) -> None:
    from mlflow_gitver import current_version
    from mlflow_gitver.errors import GitverError

    _mono(repo, server_url)
    write(repo / "README.md", "outside every app: no app is dirty\n")
    out = _py(
        """
        import json
        from mlflow_gitver import activate, current_version

        m = activate(app="triage")
        print(json.dumps({"vid": m.version_id, "v": current_version(app="triage"),
                          "id": m.model_id, "exp": m.experiment_id}))
        """,
        repo,
        dict(os.environ),
    )
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["vid"] == got["v"] and got["vid"].startswith("scoped-")
    assert "-dirty-" not in got["vid"]
    ids = cli("id", "--app", "triage", cwd=repo)
    assert ids.stdout.strip() == got["vid"]
    reg = cli("register", "--app", "triage", "--format", "json", "--ci", "none", cwd=repo)
    assert json.loads(reg.stdout)["model_id"] == got["id"]
    with pytest.raises(GitverError, match=r"has 2 apps \(support, triage\); pass app= one"):
        current_version(repo)
    missing = _py("from mlflow_gitver import activate\nactivate()\n", repo, dict(os.environ))
    assert missing.returncode == 1 and "pass app= one of them" in missing.stderr
    with pytest.raises(GitverError, match="no app named 'nope'"):
        current_version(repo, app="nope")


def test_activate_with_an_app_uses_its_exported_variables(repo: Path, server_url: str) -> None:
    """A multi-app export sets MLFLOW_GITVER_MODEL_ID_<APP> (no MLFLOW_ACTIVE_MODEL_ID):
    the deploy of one app finds its model, and its experiment, not another's."""
    _mono(repo, server_url)
    dotenv = repo.parent / "apps.env"
    reg = cli("register", "--ci", "none", "--dotenv", str(dotenv), cwd=repo)
    assert reg.returncode == 0, reg.stderr
    exported = dict(line.split("=", 1) for line in dotenv.read_text().splitlines() if "=" in line)
    env = _deploy_env(
        repo,
        MLFLOW_TRACKING_URI=server_url,
        MLFLOW_EXPERIMENT_ID="0",  # someone else's: the app's own variable wins
        MLFLOW_GITVER_MODEL_ID_TRIAGE=exported["MLFLOW_GITVER_MODEL_ID_TRIAGE"],
        MLFLOW_GITVER_EXPERIMENT_ID_TRIAGE=exported["MLFLOW_GITVER_EXPERIMENT_ID_TRIAGE"],
    )
    out = _py(_DEPLOY.replace("activate()", "activate(app='triage')"), repo, env)
    assert out.returncode == 0, out.stderr
    seen = json.loads(out.stdout.strip().splitlines()[-1])
    assert seen["exp"] == exported["MLFLOW_GITVER_EXPERIMENT_ID_TRIAGE"] != "0"
    model = exported["MLFLOW_GITVER_MODEL_ID_TRIAGE"]
    assert len(_traces(server_url, seen["exp"], model)) == 1
