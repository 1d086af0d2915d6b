"""High-level registration: register_commit, interop with MLflow, PostgreSQL backend."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from mlflow_gitver.config import parse_config
from mlflow_gitver.context import open_repo
from mlflow_gitver.errors import GitverError, ServerUnavailable
from mlflow_gitver.versions import Registered, register_commit, register_worktree
from testing.cli import cli, race
from testing.repos import commit_all, git, write
from testing.server import MlflowServer, free_port

CONFIG = "name: svc-app\nparams:\n  llm: small\n"


@pytest.fixture
def app(repo: Path) -> Path:
    write(repo / ".mlflow-gitver.yaml", CONFIG)
    git(repo, "remote", "add", "origin", "https://example.com/org/svc.git")
    commit_all(repo, "config")
    return repo


def test_register_commit_not_checked_out(app: Path, server_url: str) -> None:
    old = git(app, "rev-parse", "HEAD").strip()
    write(app / "more.py", "y = 2\n")
    commit_all(app, "more")
    git(app, "checkout", "-q", "--detach", "HEAD")
    r = open_repo(app)
    cfg = parse_config(CONFIG, "pending-record")
    exp = f"svc-{uuid.uuid4().hex[:8]}"
    reg = register_commit(r, old, cfg, tracking_uri=server_url, experiment=exp, branch="main")
    assert isinstance(reg, Registered)
    assert reg.commit == old and reg.version_id == old and not reg.dirty and reg.created
    assert reg.branch == "main"
    assert reg.model_url == f"{server_url}/#/experiments/{reg.experiment_id}/models/{reg.model_id}"
    assert json.loads(json.dumps(reg.as_json()))["model_id"] == reg.model_id
    again = register_commit(r, old, cfg, tracking_uri=server_url, experiment=exp)
    assert again.model_id == reg.model_id and not again.created


def test_unreachable_is_distinguishable(app: Path) -> None:
    r = open_repo(app)
    cfg = parse_config(CONFIG, "x")
    env = {"MLFLOW_GITVER_RETRY_SECONDS": "0.5"}
    with pytest.raises(ServerUnavailable) as info:
        register_commit(r, "HEAD", cfg, tracking_uri=f"http://127.0.0.1:{free_port()}", environ=env)
    assert info.value.exit_code == 1


_INTEROP = """
import mlflow
ctx = mlflow.genai.enable_git_model_versioning()
print(ctx.active_model.model_id)
"""


def test_mlflow_git_model_versioning_picks_our_model(app: Path, server_url: str) -> None:
    exp = f"interop-{uuid.uuid4().hex[:8]}"
    reg = register_worktree(open_repo(app), parse_config(CONFIG, "x"), tracking_uri=server_url,
                            experiment=exp)  # fmt: skip
    env = {
        **os.environ,
        "MLFLOW_TRACKING_URI": server_url,
        "MLFLOW_EXPERIMENT_ID": reg.experiment_id,
    }
    out = subprocess.run(
        [sys.executable, "-c", _INTEROP], cwd=app, env=env, capture_output=True, text=True,
        timeout=300,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == reg.model_id


# --- PostgreSQL backend ------------------------------------------------------------


def _pg_bin() -> Path | None:
    for d in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (d / "initdb").exists() and (d / "pg_ctl").exists():
            return d
    found = shutil.which("initdb")
    return Path(found).parent if found else None


@pytest.fixture(scope="session")
def pg_server() -> Iterator[MlflowServer]:
    """A real PostgreSQL cluster and an mlflow server on it; skipped where unavailable."""
    bindir = _pg_bin()
    if bindir is None:
        pytest.skip("PostgreSQL (initdb, pg_ctl) is not installed")
    pytest.importorskip("psycopg2", reason="psycopg2-binary is not installed")
    # initdb refuses to run as root: run the cluster as the postgres user then.
    as_user: list[str] = []
    if os.geteuid() == 0:
        if shutil.which("runuser") is None:
            pytest.skip("running as root without runuser: cannot start PostgreSQL")
        as_user = ["runuser", "-u", "postgres", "--"]
    # Not under pytest's tmp dir: the postgres user must be able to reach it.
    base = Path(tempfile.mkdtemp(prefix="gitver-pg-"))
    base.chmod(0o755)
    data = base / "data"
    data.mkdir()
    if as_user:
        shutil.chown(data, "postgres", "postgres")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}

    def run(*args: str) -> None:
        subprocess.run([*as_user, *args], check=True, capture_output=True, env=env, timeout=120)

    run(str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8")
    log = data / "server.log"
    opts = f"-p {port} -k {data} -c listen_addresses=127.0.0.1"
    run(str(bindir / "pg_ctl"), "-D", str(data), "-o", opts, "-l", str(log), "-w", "start")
    try:
        run(
            str(bindir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "mlflow"
        )
        root = base / "mlflow"
        root.mkdir()
        server = MlflowServer(
            root, free_port(), f"postgresql+psycopg2://postgres@127.0.0.1:{port}/mlflow"
        )
        server.start()
        try:
            yield server
        finally:
            server.stop()
    finally:
        run(str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop")
        shutil.rmtree(base, ignore_errors=True)


def test_postgres_backend_race_and_idempotence(app: Path, pg_server: MlflowServer) -> None:
    url = pg_server.url
    exp = f"pg-{uuid.uuid4().hex[:8]}"
    where = ["--tracking-uri", url, "--experiment", exp]
    ids = {r["model_id"] for r in race(8, "register", "--format", "json", *where, cwd=app)}
    assert len(ids) == 1
    again = cli("register", "--format", "json", "--tracking-uri", url, "--experiment", exp,
                cwd=app)  # fmt: skip
    assert json.loads(again.stdout)["created"] is False
    from mlflow import MlflowClient

    client = MlflowClient(url)
    eid = client.get_experiment_by_name(exp).experiment_id  # type: ignore[union-attr]
    assert [m.model_id for m in client.search_logged_models([eid])] == list(ids)


def test_model_url_for_servers_and_databricks() -> None:
    from mlflow_gitver.versions import model_url

    assert (
        model_url("http://u:pw@127.0.0.1:5000/", "7", "m-1")
        == "http://127.0.0.1:5000/#/experiments/7/models/m-1"
    )
    # Databricks: the workspace host from DATABRICKS_HOST, the UI under /ml; the
    # host's credentials never reach the link.  (No network: the env is enough.)
    env = {"DATABRICKS_HOST": "https://token:x@dbc-1.cloud.databricks.com/"}
    assert (
        model_url("databricks", "7", "m-1", env)
        == "https://dbc-1.cloud.databricks.com/ml/experiments/7/models/m-1"
    )
    assert model_url("sqlite:////tmp/mlflow.db", "7", "m-1") is None
    assert model_url("databricks", "7", "m-1", {"DATABRICKS_HOST": "http://plain"}) is None


def test_a_repeat_in_the_same_process_is_one_rest_call(
    app: Path, server_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Issue 16: what MLflow's own set_active_model makes once set_experiment ran.
    # The requests are real; the spy only counts those that reach MLflow's REST layer.
    from mlflow.utils import rest_utils

    r = open_repo(app)
    head = git(app, "rev-parse", "HEAD").strip()
    cfg = parse_config(CONFIG, "test")
    exp = f"svc-{uuid.uuid4().hex[:8]}"
    first = register_commit(r, head, cfg, tracking_uri=server_url, experiment=exp)
    calls: list[str] = []
    real = rest_utils.http_request

    def counted(*args: object, **kwargs: object) -> object:
        calls.append(str(kwargs.get("endpoint", args[1] if len(args) > 1 else "")))
        return real(*args, **kwargs)

    monkeypatch.setattr(rest_utils, "http_request", counted)
    again = register_commit(r, head, cfg, tracking_uri=server_url, experiment=exp)
    assert again.model_id == first.model_id and not again.created
    assert len(calls) == 1 and "logged-models/search" in calls[0], calls


def test_a_failed_registration_resolves_the_experiment_again(app: Path, server_url: str) -> None:
    # The experiment deleted while the process runs: the next registration fails
    # (MLflow refuses a model in a deleted experiment), and the one after says why.
    from mlflow import MlflowClient

    r = open_repo(app)
    cfg = parse_config(CONFIG, "test")
    exp = f"svc-{uuid.uuid4().hex[:8]}"
    register_commit(
        r, git(app, "rev-parse", "HEAD").strip(), cfg, tracking_uri=server_url, experiment=exp
    )
    client = MlflowClient(tracking_uri=server_url)
    client.delete_experiment(client.get_experiment_by_name(exp).experiment_id)  # type: ignore[union-attr]
    write(app / "new.py", "z = 3\n")
    new = commit_all(app, "new")
    with pytest.raises(GitverError):
        register_commit(r, new, cfg, tracking_uri=server_url, experiment=exp)
    with pytest.raises(GitverError, match="is deleted"):
        register_commit(r, new, cfg, tracking_uri=server_url, experiment=exp)
