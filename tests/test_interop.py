"""Our versions and MLflow's own git helpers, on the real server: after we register a
clean checkout on a branch, ``mlflow.genai.enable_git_model_versioning()`` and the
app-server helper ``setup_mlflow_git_based_version_tracking()`` pick our model
instead of creating a twin (naming.py writes the tags and name they match on).
Where they cannot (README "Using MLflow's own git helpers"), the test pins why.

Each helper runs in its own child process, in the repository, as an app would.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

from testing.cli import cli
from testing.repos import commit_all, git, init_repo, write

pytestmark = pytest.mark.server

_ENABLE = """
import json, mlflow
ctx = mlflow.genai.enable_git_model_versioning()
print(json.dumps(None if ctx.active_model is None else ctx.active_model.model_id))
"""
_APP_SERVER = """
import json, mlflow
from mlflow.genai.agent_server import setup_mlflow_git_based_version_tracking
setup_mlflow_git_based_version_tracking()
print(json.dumps(mlflow.get_active_model_id()))
"""


def _setup(tmp_path: Path, url: str, remote: str) -> tuple[Path, dict[str, Any]]:
    root = init_repo(tmp_path / "app")
    write(root / "app.py", "print('hi')\n")
    exp = f"interop-{uuid.uuid4().hex[:8]}"
    write(root / ".mlflow-gitver.yaml", f"name: shop\nexperiment: {exp}\ntracking_uri: {url}\n")
    commit_all(root, "app")
    git(root, "remote", "add", "origin", remote)
    out = cli("register", "--format", "json", cwd=root)
    assert out.returncode == 0, out.stderr
    return root, dict(json.loads(out.stdout))


def _child(code: str, cwd: Path, url: str, experiment_id: str, **env: str) -> Any:
    full = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "DATABRICKS"))}
    full.update(MLFLOW_TRACKING_URI=url, MLFLOW_EXPERIMENT_ID=experiment_id, **env)
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=cwd, env=full, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def _models(url: str, experiment_id: str) -> list[Any]:
    from mlflow import MlflowClient

    return list(MlflowClient(url).search_logged_models(experiment_ids=[experiment_id]))


def test_enable_git_model_versioning_uses_our_model(tmp_path: Path, server_url: str) -> None:
    bare = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(bare))
    root, ours = _setup(tmp_path, server_url, str(bare))
    eid = ours["experiment_id"]
    picked = _child(_ENABLE, root, server_url, eid)
    assert picked == ours["model_id"]
    assert [m.model_id for m in _models(server_url, eid)] == [ours["model_id"]]  # no twin


def test_enable_git_model_versioning_cannot_match_where_the_readme_says(
    tmp_path: Path, server_url: str
) -> None:
    # A remote URL with credentials: our tag has them removed, it matches on the raw
    # URL, so it makes a twin (holding the credentials in its tag: its flaw, not ours).
    secret = "https://bot:s3cr3t-t0ken@git.example.com/o/r.git"
    root, ours = _setup(tmp_path, server_url, secret)
    eid = ours["experiment_id"]
    twin = _child(_ENABLE, root, server_url, eid)
    assert twin is not None and twin != ours["model_id"]
    from mlflow import MlflowClient

    stored = MlflowClient(server_url).get_logged_model(ours["model_id"])
    assert "s3cr3t" not in json.dumps(stored.tags)
    # A detached HEAD (what CI checks out): it switches itself off.
    git(root, "checkout", "-q", "--detach")
    assert _child(_ENABLE, root, server_url, eid) is None


def test_the_app_server_helper_uses_our_model(tmp_path: Path, server_url: str) -> None:
    bare = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(bare))
    root, ours = _setup(tmp_path, server_url, str(bare))
    eid = ours["experiment_id"]
    # It names the model "<DATABRICKS_APP_NAME>-git-<8 hex>": our default name when the
    # config's name is the app's.
    picked = _child(_APP_SERVER, root, server_url, eid, DATABRICKS_APP_NAME="shop")
    assert picked == ours["model_id"]
    assert len(_models(server_url, eid)) == 1
    # A deploy bundle has no .git: it makes "<app>-no-git", whatever was deployed.
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    (bundle / "app.py").write_bytes((root / "app.py").read_bytes())
    other = _child(_APP_SERVER, bundle, server_url, eid, DATABRICKS_APP_NAME="shop")
    assert other != ours["model_id"]
    names = {m.model_id: m.name for m in _models(server_url, eid)}
    assert names[other] == "shop-no-git"


def test_enable_git_model_versioning_on_a_dirty_tree_takes_the_wrong_model(
    tmp_path: Path, server_url: str
) -> None:
    """Why the README says to use activate() on dirty trees: measured, not assumed."""
    from mlflow import MlflowClient

    bare = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(bare))
    root, clean = _setup(tmp_path, server_url, str(bare))
    eid = clean["experiment_id"]
    # Only a new file: ours is a dirty version, it takes the clean commit's model.
    write(root / "new.py", "NEW = 1\n")
    ours = cli("register", "--format", "json", cwd=root)
    assert ours.returncode == 0 and json.loads(ours.stdout)["dirty"] is True, ours.stderr
    assert _child(_ENABLE, root, server_url, eid) == clean["model_id"]
    (root / "new.py").unlink()
    # A tracked edit holding a token: ours stores it redacted; it picks our dirty
    # model of the commit and rewrites its diff tag with the token in it.
    token = "ghp_" + "Z9y8X7w6V5u4T3s2R1q0P9o8N7m6L5k4J3i2"
    write(root / "app.py", f"TOKEN = '{token}'\n")
    dirty = cli("register", "--format", "json", cwd=root)
    assert dirty.returncode == 0, dirty.stderr
    dirty_id = json.loads(dirty.stdout)["model_id"]
    client = MlflowClient(server_url)
    assert token not in json.dumps(client.get_logged_model(dirty_id).tags)
    assert _child(_ENABLE, root, server_url, eid) == dirty_id
    assert token in client.get_logged_model(dirty_id).tags["mlflow.source.git.diff"]
