"""Where versions go: tracking URI and experiment precedence, MLflow's HTTP policy."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from mlflow_gitver import tracking
from mlflow_gitver.errors import GitverError


def test_uri_precedence(tmp_path: Path) -> None:
    env = {"MLFLOW_TRACKING_URI": "http://env:5000"}
    assert tracking.resolve_uri("http://cli", env, "http://cfg", tmp_path) == "http://cli"
    assert tracking.resolve_uri(None, env, "http://cfg", tmp_path) == "http://env:5000"
    assert tracking.resolve_uri(None, {}, "http://cfg", tmp_path) == "http://cfg"
    assert (
        tracking.resolve_uri(None, {}, None, tmp_path)
        == f"sqlite:///{tmp_path.resolve()}/mlflow.db"
    )
    with pytest.raises(GitverError, match="--tracking-uri"):
        tracking.resolve_uri(None, {}, None, None)


def test_target_says_where_its_uri_came_from(tmp_path: Path) -> None:
    env = {"MLFLOW_TRACKING_URI": "http://u:pw@env:5000"}
    t = tracking.target(None, env, "http://cfg", tmp_path)
    assert (t.uri, t.source, t.display) == (
        "http://u:pw@env:5000",
        "MLFLOW_TRACKING_URI",
        "http://env:5000",
    )
    assert tracking.target(None, {}, "http://cfg", tmp_path).source == "tracking_uri in the config"
    assert tracking.target(None, {"MLFLOW_TRACKING_URI": ""}, None, tmp_path).source == "default"
    # choose() is the rule alone; target() also refuses what can only fail.
    assert tracking.choose(None, {}, "host:5000", tmp_path).uri == "host:5000"
    with pytest.raises(GitverError, match=r"tracking_uri in the config\) has no scheme"):
        tracking.target(None, {}, "host:5000", tmp_path)


def test_the_flusher_groups_records_by_the_uri_they_register_to(repo: Path) -> None:
    """A record's server is the URI its registration uses: before issue 12 the
    flusher restated the rule by hand, and an empty MLFLOW_TRACKING_URI (which the
    rule skips) made another server than an unset one."""
    from mlflow_gitver.config import Config
    from mlflow_gitver.context import open_repo
    from mlflow_gitver.queue.flusher import _server_key

    r = open_repo(repo)
    cfg = Config(name="a", source="t", tracking_uri="http://cfg:5000")
    assert _server_key(r, cfg, {"MLFLOW_TRACKING_URI": ""}) == _server_key(r, cfg, {})
    for env in ({}, {"MLFLOW_TRACKING_URI": "http://env:5000"}):
        assert _server_key(r, cfg, env) == tracking.target(None, env, cfg.tracking_uri, r.root).uri
    plain = Config(name="a", source="t")
    assert _server_key(r, plain, {}) == tracking.default_uri(r.root)


def test_default_is_absolute_whatever_the_cwd(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert tracking.default_uri(Path(".")) == f"sqlite:///{tmp_path.resolve()}/mlflow.db"


def test_experiment_precedence() -> None:
    env = {"MLFLOW_EXPERIMENT_ID": "5", "MLFLOW_EXPERIMENT_NAME": "by-name"}
    assert tracking.experiment_choice("12", env, "cfg") == ("id", "12")
    assert tracking.experiment_choice("mine", env, "cfg") == ("name", "mine")
    assert tracking.experiment_choice(None, env, "cfg") == ("id", "5")
    assert tracking.experiment_choice(None, {"MLFLOW_EXPERIMENT_NAME": "n"}, "cfg") == ("name", "n")
    assert tracking.experiment_choice(None, {}, "cfg") == ("name", "cfg")
    assert tracking.experiment_choice(None, {}, "42") == ("id", "42")
    assert tracking.experiment_choice(None, {}, None) is None


def test_mlflow_env_turns_off_mlflow_retries_and_restores(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "99")  # the user's choice is kept
    with tracking.mlflow_env("sqlite:////tmp/x/mlflow.db"):
        assert os.environ["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] == "0"
        assert os.environ["MLFLOW_HTTP_REQUEST_TIMEOUT"] == "99"
        assert os.environ["_MLFLOW_SERVER_ARTIFACT_ROOT"] == "/tmp/x/mlruns"
    assert "MLFLOW_HTTP_REQUEST_MAX_RETRIES" not in os.environ
    assert "_MLFLOW_SERVER_ARTIFACT_ROOT" not in os.environ
    assert os.environ["MLFLOW_HTTP_REQUEST_TIMEOUT"] == "99"


def test_display_hides_credentials() -> None:
    assert tracking.display("https://u:p@host:8443/x") == "https://host:8443/x"
    assert tracking.display("databricks") == "databricks"


_CREATE = """
import sys
from mlflow_gitver import tracking
from mlflow_gitver.mlflow_api import connect
uri, name = sys.argv[1], sys.argv[2]
with tracking.mlflow_env(uri):
    print(tracking.resolve_experiment_named(connect(uri), ("name", name))[0])
"""


def test_concurrent_creation_of_a_named_experiment(server_url: str) -> None:
    # Four processes create the same missing experiment at once: all succeed, one id.
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _CREATE, server_url, "raced-experiment"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for _ in range(4)
    ]
    ids = set()
    for p in procs:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err.decode()
        ids.add(out.decode().strip())
    assert len(ids) == 1


def test_experiment_by_id_must_exist(server_url: str) -> None:
    from mlflow_gitver.mlflow_api import connect

    with tracking.mlflow_env(server_url):
        edge = connect(server_url)
        assert tracking.resolve_experiment_named(edge, None)[0] == "0"
        with pytest.raises(GitverError, match="does not exist"):
            tracking.resolve_experiment_named(edge, ("id", "987654"))


@pytest.mark.parametrize(
    "uri",
    ["http://h:5000", "https://h/x", "sqlite:////tmp/a.db", "postgresql+psycopg2://h/db",
     "databricks", "databricks://profile", "myplugin://anything"],
)  # fmt: skip
def test_uris_mlflow_can_serve_pass(uri: str) -> None:
    tracking.check_uri(uri, "--tracking-uri", {})  # a plugin's scheme is MLflow's to judge


@pytest.mark.parametrize(
    ("uri", "fix"),
    [
        ("host:5000", "write http://host:5000"),
        ("localhost:5000/api", "write http://localhost:5000/api"),
        ("file:///x", "file store"),
        ("file:x", "file store"),
        ("./mlruns", "no scheme"),
    ],
)
def test_uris_that_can_only_fail_are_bad_input(uri: str, fix: str) -> None:
    with pytest.raises(GitverError, match=fix) as e:
        tracking.resolve_uri(None, {"MLFLOW_TRACKING_URI": uri}, None, None)
    assert e.value.exit_code == 2 and "MLFLOW_TRACKING_URI" in e.value.message


def test_file_store_allowed_when_mlflow_is_told_to() -> None:
    tracking.check_uri("file:///x", "config", {"MLFLOW_ALLOW_FILE_STORE": "true"})


def test_unknown_scheme_suggests_the_close_one() -> None:
    e = tracking.unsupported_scheme("htp://u:secret@host:5000")
    assert e.exit_code == 2 and "did you mean http://" in e.message and "secret" not in e.message
