"""``mlflow-gitver register`` / ``env``: real CLI processes, a real server, real git."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import pytest

from testing.cli import cli, race
from testing.repos import commit_all, git, write
from testing.server import StatusServer, free_port

TYPE_CHECKING = False
if TYPE_CHECKING:
    from mlflow.entities import LoggedModel

CONFIG = """\
name: demo-app
model_type: agent
params:
  llm: gpt-4o-mini
  temperature: 0.7
  prompt: ${PROMPT_VERSION:-v3}
tags:
  team: support
"""


@pytest.fixture
def app(repo: Path) -> Path:
    write(repo / ".mlflow-gitver.yaml", CONFIG)
    git(repo, "remote", "add", "origin", "https://user:s3cret@example.com/org/app.git")
    commit_all(repo, "add config")
    return repo


def experiment() -> str:
    return f"exp-{uuid.uuid4().hex[:10]}"


def register(
    cwd: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return cli("register", *args, cwd=cwd, env=env)


def register_json(cwd: Path, *args: str, env: dict[str, str] | None = None) -> dict[str, object]:
    out = register(cwd, "--format", "json", *args, env=env)
    assert out.returncode == 0, out.stderr
    return dict(json.loads(out.stdout))


def models(uri: str, experiment_id: str, name: str | None = None) -> list[LoggedModel]:
    from mlflow import MlflowClient

    flt = f"name = '{name}'" if name else None
    return list(MlflowClient(uri).search_logged_models([experiment_id], filter_string=flt))


def test_embedded_default_from_a_subdirectory(app: Path) -> None:
    sub = app / "pkg" / "deep"
    sub.mkdir(parents=True)
    first = register_json(sub)
    assert first["tracking_uri"] == f"sqlite:///{app.resolve()}/mlflow.db"
    assert (app / "mlflow.db").exists() and not (sub / "mlflow.db").exists()
    assert first["created"] is True
    assert first["dirty"] is False  # the store and its artifacts never count as changes
    assert first["branch"] == "main"
    assert str(first["model_name"]).startswith("demo-app-git-")
    again = register_json(app)
    assert again["model_id"] == first["model_id"]
    assert again["created"] is False

    from mlflow import MlflowClient

    uri = str(first["tracking_uri"])
    assert len(models(uri, "0")) == 1
    got = MlflowClient(uri).get_logged_model(str(first["model_id"]))
    assert str(got.status) == "READY"
    assert got.model_type == "agent"
    assert got.params == {"llm": "gpt-4o-mini", "temperature": "0.7", "prompt": "v3"}
    tags = got.tags
    head = git(app, "rev-parse", "HEAD").strip()
    assert tags["mlflow.source.git.commit"] == head
    assert tags["mlflow.source.git.dirty"] == "false"
    assert tags["mlflow.source.git.branch"] == "main"
    # The origin remote, never with its credentials.
    assert tags["mlflow.source.git.repoURL"] == "https://example.com/org/app.git"
    assert tags["mlflow_gitver.version_id"] == head
    assert tags["mlflow_gitver.commit.subject"] == "add config"
    assert tags["mlflow_gitver.commit.author"] == "Test Author <author@example.com>"
    assert tags["team"] == "support"
    assert "s3cret" not in json.dumps(tags)


def test_text_output_names_the_model(app: Path) -> None:
    out = register(app)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("model id:   m-")
    assert "status:     created" in out.stdout
    assert out.stderr == ""  # MLflow's INFO lines (migrations) are silenced


def test_env_format_and_env_command(app: Path, server_url: str) -> None:
    exp = experiment()
    out = register(app, "--format", "env", "--tracking-uri", server_url, "--experiment", exp)
    assert out.returncode == 0, out.stderr
    env_out = cli("env", "--tracking-uri", server_url, "--experiment", exp, cwd=app)
    assert env_out.returncode == 0, env_out.stderr
    assert env_out.stdout == out.stdout
    # Evaluated by a real shell, it exports the id.
    script = out.stdout + 'printf "%s %s" "$MLFLOW_ACTIVE_MODEL_ID" "$MLFLOW_TRACKING_URI"\n'
    shown = subprocess.run(["sh", "-c", script], capture_output=True, text=True, check=True)
    model_id, uri = shown.stdout.split(" ")
    assert model_id.startswith("m-") and uri == server_url


def test_env_format_never_prints_a_password(app: Path, server_url: str) -> None:
    uri = server_url.replace("http://", "http://user:pw-secret@")
    out = register(app, "--format", "env", "--tracking-uri", uri, "--experiment", experiment())
    assert out.returncode == 0, out.stderr
    assert "pw-secret" not in out.stdout + out.stderr
    assert "MLFLOW_ACTIVE_MODEL_ID=m-" in out.stdout


def test_dry_run_touches_nothing(app: Path, server_url: str) -> None:
    exp = experiment()
    write(app / "new.txt", "new\n")
    out = register(app, "--dry-run", "--tracking-uri", server_url, "--experiment", exp)
    assert out.returncode == 0, out.stderr
    assert "demo-app-git-" in out.stdout and "-dirty-" in out.stdout
    assert "llm = gpt-4o-mini" in out.stdout
    assert "patch artifact" in out.stdout
    from mlflow import MlflowClient

    assert MlflowClient(server_url).get_experiment_by_name(exp) is None
    out = register(app, "--dry-run", "--format", "json")
    assert json.loads(out.stdout)["dry_run"] is True
    assert not (app / "mlflow.db").exists()


def test_commit_reads_the_config_of_that_commit(app: Path, server_url: str) -> None:
    old = git(app, "rev-parse", "HEAD").strip()
    write(app / ".mlflow-gitver.yaml", CONFIG.replace("gpt-4o-mini", "gpt-5"))
    commit_all(app, "new model")
    write(app / "dirty.py", "x = 1\n")  # the working tree does not matter with --commit
    exp = experiment()
    got = register_json(
        app, "--commit", old[:10], "--tracking-uri", server_url, "--experiment", exp
    )
    assert got["commit"] == old and got["version_id"] == old and got["dirty"] is False
    from mlflow import MlflowClient

    m = MlflowClient(server_url).get_logged_model(str(got["model_id"]))
    assert m.params["llm"] == "gpt-4o-mini"
    assert m.tags["mlflow.source.git.commit"] == old


def test_dirty_version_stores_its_patch(app: Path, server_url: str) -> None:
    write(app / "app.py", "print('changed')\n")
    write(app / "blob.bin", bytes(range(256)))
    write(app / ".env.local", "TOKEN=abc\n")
    got = register_json(app, "--tracking-uri", server_url, "--experiment", experiment())
    assert got["dirty"] is True and "-dirty-" in str(got["version_id"])
    from mlflow import MlflowClient

    client = MlflowClient(server_url)
    m = client.get_logged_model(str(got["model_id"]))
    assert "+print('changed')" in m.tags["mlflow.source.git.diff"]
    assert "blob.bin" not in m.tags["mlflow.source.git.diff"]  # the tag is tracked changes only
    paths = {f.path for f in client.list_logged_model_artifacts(m.model_id, "mlflow-gitver")}
    assert paths == {"mlflow-gitver/changes.patch", "mlflow-gitver/manifest.json"}
    import mlflow.artifacts

    dest = app.parent / "download"
    mlflow.artifacts.download_artifacts(
        artifact_uri=f"{m.artifact_location}/mlflow-gitver", dst_path=str(dest),
        tracking_uri=server_url,
    )  # fmt: skip
    manifest = json.loads((dest / "mlflow-gitver" / "manifest.json").read_text())
    assert [o["path"] for o in manifest["omitted"]] == [".env.local"]
    assert b"TOKEN=abc" not in (dest / "mlflow-gitver" / "changes.patch").read_bytes()
    # The patch rebuilds the working tree on a fresh checkout of the commit.
    clone = app.parent / "clone"
    git(app.parent, "clone", "-q", str(app), str(clone))
    git(clone, "apply", "--binary", str(dest / "mlflow-gitver" / "changes.patch"))
    assert (clone / "app.py").read_text() == "print('changed')\n"
    assert (clone / "blob.bin").read_bytes() == bytes(range(256))


def test_conflicting_params_fail_with_both_values(app: Path, server_url: str) -> None:
    exp = experiment()
    args = ("--tracking-uri", server_url, "--experiment", exp)
    first = register_json(app, *args, env={**os.environ, "PROMPT_VERSION": "v7"})
    out = register(app, *args, env={**os.environ, "PROMPT_VERSION": "v8"})
    assert out.returncode == 1
    err = out.stderr.strip()
    assert len(err.splitlines()) == 1
    assert "prompt: registered 'v7', now 'v8'" in err
    assert "{params_digest}" in err
    assert str(first["model_id"]) in err
    # Nothing was overwritten, nothing was added.
    assert len(models(server_url, _exp_id(server_url, exp))) == 1
    # The documented way out: a name per set of params.
    write(
        app / ".mlflow-gitver.yaml",
        CONFIG + 'name_template: "{name}-{short_sha}-{params_digest}"\n',
    )
    commit_all(app, "template")
    a = register_json(app, *args, env={**os.environ, "PROMPT_VERSION": "v7"})
    b = register_json(app, *args, env={**os.environ, "PROMPT_VERSION": "v8"})
    assert a["model_id"] != b["model_id"] and a["version_id"] == b["version_id"]


def _exp_id(uri: str, name: str) -> str:
    from mlflow import MlflowClient

    exp = MlflowClient(uri).get_experiment_by_name(name)
    assert exp is not None
    return str(exp.experiment_id)


def test_short_hash_collision_lengthens_the_name(app: Path, server_url: str) -> None:
    from mlflow import MlflowClient

    exp = experiment()
    client = MlflowClient(server_url)
    eid = client.create_experiment(exp)
    head = git(app, "rev-parse", "HEAD").strip()
    # Another version (or a hand-made model) already holds our 8-hex name.
    other = client.create_logged_model(
        eid, name=f"demo-app-git-{head[:8]}", tags={"mlflow_gitver.version_id": "f" * 40}
    )
    got = register_json(app, "--tracking-uri", server_url, "--experiment", exp)
    assert got["model_name"] == f"demo-app-git-{head[:12]}"
    assert got["model_id"] != other.model_id
    again = register_json(app, "--tracking-uri", server_url, "--experiment", exp)
    assert again["model_id"] == got["model_id"] and again["created"] is False
    assert client.get_logged_model(other.model_id).tags["mlflow_gitver.version_id"] == "f" * 40


def test_sixteen_processes_converge_on_one_model(app: Path, server_url: str) -> None:
    exp = experiment()
    where = ["--tracking-uri", server_url, "--experiment", exp]
    results = race(16, "register", "--format", "json", *where, cwd=app)
    ids = {r["model_id"] for r in results}
    assert len(ids) == 1, ids
    assert sum(r["created"] for r in results) == 1
    remaining = models(server_url, _exp_id(server_url, exp))
    assert [m.model_id for m in remaining] == list(ids)


def test_racers_on_a_fresh_embedded_store(app: Path) -> None:
    # No server: the first use of mlflow.db creates its tables, which MLflow cannot
    # do from several processes at once; we serialize that step.
    ids = {r["model_id"] for r in race(6, "register", "--format", "json", cwd=app)}
    assert len(ids) == 1
    assert len(models(f"sqlite:///{app.resolve()}/mlflow.db", "0")) == 1


def test_killed_registration_is_completed_not_duplicated(app: Path, server_url: str) -> None:
    exp = experiment()
    write(app / "wip.py", "work in progress\n")  # dirty: the patch artifact is part of it
    args = ("--tracking-uri", server_url, "--experiment", exp)
    # Injected fault: the process SIGKILLs itself right after creating the model,
    # before the artifact, the tags check and READY (a real kill, at a chosen point).
    out = register(app, *args, env={**os.environ, "MLFLOW_GITVER_FAULT": "after-create"})
    assert out.returncode == -9
    eid = _exp_id(server_url, exp)
    (half,) = models(server_url, eid)
    assert str(half.status) == "PENDING"
    healed = register(app, *args)
    assert healed.returncode == 0, healed.stderr
    assert "status:     completed" in healed.stdout  # not "already registered"
    assert f"model id:   {half.model_id}" in healed.stdout
    got = register_json(app, *args)
    assert got["model_id"] == half.model_id
    assert got["completed"] is False and got["created"] is False  # READY since
    from mlflow import MlflowClient

    client = MlflowClient(server_url)
    m = client.get_logged_model(str(got["model_id"]))
    assert str(m.status) == "READY"
    files = {f.path for f in client.list_logged_model_artifacts(m.model_id, "mlflow-gitver")}
    assert "mlflow-gitver/changes.patch" in files
    assert len(models(server_url, eid)) == 1


def test_later_call_repairs_duplicates(app: Path, server_url: str) -> None:
    from mlflow import MlflowClient

    exp = experiment()
    args = ("--tracking-uri", server_url, "--experiment", exp)
    got = register_json(app, *args)
    client = MlflowClient(server_url)
    first = client.get_logged_model(str(got["model_id"]))
    # A duplicate as a killed racer would leave it (same name, same version).
    dup = client.create_logged_model(
        first.experiment_id, name=first.name, params=first.params, tags=first.tags
    )
    again = register_json(app, *args)
    assert again["model_id"] == first.model_id
    assert [m.model_id for m in models(server_url, first.experiment_id)] == [first.model_id]
    from mlflow.exceptions import MlflowException

    with pytest.raises(MlflowException, match="not found"):
        client.get_logged_model(dup.model_id)  # deleted


def test_unreachable_server_fails_fast_in_one_line(app: Path) -> None:
    uri = f"http://alice:hunter2@127.0.0.1:{free_port()}"
    out = register(app, "--tracking-uri", uri)
    assert out.returncode == 1
    assert out.stdout == ""
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    assert "cannot reach the MLflow tracking server" in lines[0]
    assert "connection refused" in lines[0]
    assert "hunter2" not in out.stderr and "alice" not in out.stderr
    assert "127.0.0.1" in lines[0]


def test_unauthorized_is_reported_at_once(app: Path) -> None:
    with StatusServer(401, b"Unauthorized") as srv:
        uri = f"http://bob:tok3n@127.0.0.1:{srv.port}"
        out = register(app, "--tracking-uri", uri, "--experiment", "x")
        assert srv.requests == 1  # not retried
    assert out.returncode == 1
    (line,) = out.stderr.strip().splitlines()
    assert "HTTP 401" in line and f"http://127.0.0.1:{srv.port}" in line
    assert "tok3n" not in out.stderr and "bob" not in out.stderr


def test_server_errors_are_retried_within_the_budget(app: Path) -> None:
    with StatusServer(503, b"busy") as srv:
        env = {**os.environ, "MLFLOW_GITVER_RETRY_SECONDS": "1.5"}
        out = register(app, "--tracking-uri", f"http://127.0.0.1:{srv.port}", env=env)
        assert srv.requests > 1
    assert out.returncode == 1
    assert "server error" in out.stderr and "attempts" in out.stderr


def _env_file(path: Path) -> dict[str, str]:
    """``NAME=value`` lines (GITHUB_ENV, the dotenv file) as a mapping."""
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)
    return {k: v for k, v in pairs}


def test_deploy_traces_land_in_the_versions_experiment(app: Path, server_url: str) -> None:
    write(app / ".mlflow-gitver.yaml", CONFIG + "experiment: shop-agent\n")
    commit_all(app, "experiment")
    files = {n: app.parent / n for n in ("gh-env", "gh-output", "deploy.env")}
    ci_env = {
        **os.environ,
        "GITHUB_ACTIONS": "true",
        "GITHUB_ENV": str(files["gh-env"]),
        "GITHUB_OUTPUT": str(files["gh-output"]),
    }
    got = register_json(
        app, "--tracking-uri", server_url, "--dotenv", str(files["deploy.env"]), env=ci_env
    )
    assert _exp_id(server_url, "shop-agent") == got["experiment_id"]
    exported = _env_file(files["gh-env"])
    assert exported == {
        "MLFLOW_ACTIVE_MODEL_ID": got["model_id"],
        "MLFLOW_EXPERIMENT_ID": got["experiment_id"],
    }
    # The same pair in the dotenv file (GitLab, Jenkins, Buildkite, CircleCI's workspace)
    # and the experiment among the step outputs.
    dotenv = _env_file(files["deploy.env"])
    assert {k: dotenv[k] for k in exported} == exported
    assert _env_file(files["gh-output"])["experiment-id"] == got["experiment_id"]
    # `env` (and so `exec`) print the same pair.
    env_out = cli("env", "--tracking-uri", server_url, cwd=app)
    assert f"export MLFLOW_EXPERIMENT_ID={got['experiment_id']}" in env_out.stdout
    # A deploy job: no repository, no config; only what was exported, and its server.
    job = app.parent / "deploy"
    job.mkdir()
    code = textwrap.dedent(
        """
        import mlflow

        @mlflow.trace
        def answer(q):
            return q.upper()

        answer("hello")
        """
    )
    env = {
        **exported,
        "MLFLOW_TRACKING_URI": server_url,
        # Not about linking: keep the child off the network and out of $HOME.
        "MLFLOW_DISABLE_TELEMETRY": "true",
        "HOME": str(job),
        "PATH": os.environ["PATH"],
    }
    subprocess.run([sys.executable, "-c", code], cwd=job, env=env, check=True, timeout=300)
    from mlflow import MlflowClient

    # On the version's experiment alone: where its page in the UI looks.
    traces = MlflowClient(server_url).search_traces(
        locations=[str(got["experiment_id"])],
        filter_string=f"metadata.`mlflow.modelId` = '{got['model_id']}'",
    )
    assert len(traces) == 1


def test_outputs_name_the_experiment(app: Path, server_url: str) -> None:
    exp = experiment()
    got = register_json(app, "--tracking-uri", server_url, "--experiment", exp)
    assert got["experiment_name"] == exp
    text = register(app, "--tracking-uri", server_url, "--experiment", exp)
    assert f"experiment: {exp} (id {got['experiment_id']}) at {server_url}" in text.stdout
    assert "status:     already registered" in text.stdout


@pytest.mark.parametrize(
    ("uri", "fix"),
    [
        ("htp://host:5000", "did you mean http://"),
        ("host:5000", "write http://host:5000"),
        ("file:///x", "sqlite:///"),
        ("/srv/mlruns", "sqlite:///"),
    ],
)
def test_bad_tracking_uris_are_bad_input(app: Path, uri: str, fix: str) -> None:
    for args, env in (
        (("--tracking-uri", uri), None),
        ((), {**os.environ, "MLFLOW_TRACKING_URI": uri}),
    ):
        out = register(app, *args, env=env)
        assert out.returncode == 2, out.stderr
        (line,) = out.stderr.strip().splitlines()
        assert fix in line and "bug" not in line
        assert len(line) < 300


def test_wrong_path_on_a_server_is_a_wrong_uri_at_once(app: Path, server_url: str) -> None:
    # The real server answers a path that is not its API with an HTML 404.
    out = register(app, "--tracking-uri", f"{server_url}/api", "--experiment", experiment())
    assert out.returncode == 2, out.stderr
    (line,) = out.stderr.strip().splitlines()
    assert "HTTP 404" in line and "/api/api/2.0/mlflow/experiments/get-by-name" in line
    assert f"e.g. {server_url})" in line
    # Not retried: one request, whatever the retry budget.
    with StatusServer(404, b"<html>Not Found</html>") as srv:
        out = register(app, "--tracking-uri", f"http://127.0.0.1:{srv.port}/mlflow")
        assert srv.requests == 1
    assert out.returncode == 2 and "HTTP 404" in out.stderr
    # MLflow's own 404 for what does not exist stays what it was.
    out = register(app, "--tracking-uri", server_url, "--experiment", "987654321")
    assert out.returncode == 1 and "does not exist" in out.stderr


class _CountingProxy:
    """A real HTTP proxy on 127.0.0.1 in front of the server; records each request."""

    def __init__(self, upstream: str) -> None:
        import http.server
        import threading
        import urllib.error
        import urllib.request

        outer = self
        self.paths: list[str] = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def _forward(self) -> None:
                outer.paths.append(f"{self.command} {self.path.split('?')[0]}")
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n else None
                req = urllib.request.Request(
                    upstream + self.path, data=body, method=self.command,
                    headers={k: v for k, v in self.headers.items() if k.lower() != "host"},
                )  # fmt: skip
                try:
                    with urllib.request.urlopen(req, timeout=60) as r:
                        status, data = r.status, r.read()
                except urllib.error.HTTPError as e:
                    status, data = e.code, e.read()
                self.send_response(status)
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PATCH = do_DELETE = _forward

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> _CountingProxy:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def _logging_git(bin_dir: Path, log: Path) -> dict[str, str]:
    """An environment whose `git` logs its arguments, then runs the real git (we drop
    GIT_TRACE from our git calls, so a wrapper on PATH is what can count them)."""
    import shutil

    real = shutil.which("git")
    assert real is not None
    write(bin_dir / "git", f'#!/bin/sh\necho "$*" >> "{log}"\nexec "{real}" "$@"\n', mode=0o755)
    return {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}


def _git_commands(log: Path) -> list[str]:
    return log.read_text().splitlines() if log.exists() else []


def test_tags_added_later_arrive_cheaply(repo: Path, server_url: str) -> None:
    from mlflow import MlflowClient

    write(repo / ".mlflow-gitver.yaml", "name: late-tags\ntags:\n  team: support\n")
    commit_all(repo, "config")  # no remote yet: no repoURL tag
    exp = experiment()
    args = ("--experiment", exp)
    with _CountingProxy(server_url) as proxy:
        first = register_json(repo, "--tracking-uri", proxy.url, *args)
        model_id = str(first["model_id"])
        client = MlflowClient(server_url)
        assert "mlflow.source.git.repoURL" not in client.get_logged_model(model_id).tags
        client.set_logged_model_tags(model_id, {"team": "changed-by-hand"})
        git(repo, "remote", "add", "origin", "https://user:pw@example.com/org/late.git")
        calls: dict[str, tuple[list[str], list[str]]] = {}
        for run in ("added", "repeat"):
            trace = repo.parent / f"git-{run}.log"
            env = _logging_git(repo.parent / f"bin-{run}", trace)
            start = len(proxy.paths)
            got = register_json(repo, "--tracking-uri", proxy.url, *args, env=env)
            assert got["model_id"] == first["model_id"] and got["created"] is False
            calls[run] = (proxy.paths[start:], _git_commands(trace))
    tags = client.get_logged_model(model_id).tags
    assert tags["mlflow.source.git.repoURL"] == "https://example.com/org/late.git"
    assert tags["team"] == "changed-by-hand"  # what exists is never rewritten
    rest, gits = calls["added"]
    assert sum("/tags" in p for p in rest) == 1  # the missing tag, in one call
    assert any("remote.origin.url" in g for g in gits)
    # Nothing missing: no tag write, no git call for the commit's facts or the remote.
    rest, gits = calls["repeat"]
    print("repeat registration:", len(rest), "REST calls", rest, len(gits), "git calls", gits)
    assert not any("/tags" in p for p in rest)
    assert not any("remote.origin.url" in g or g.startswith("show") for g in gits)
    assert len(rest) <= len(calls["added"][0]) - 1


def test_ci_branch_and_exports_on_a_detached_head(app: Path, server_url: str) -> None:
    git(app, "checkout", "-q", "--detach", "HEAD")
    out_file, env_file = app.parent / "gh-output", app.parent / "gh-env"
    env = {
        **os.environ,
        "GITHUB_ACTIONS": "true",
        "GITHUB_REF_TYPE": "branch",
        "GITHUB_REF_NAME": "release-1",
        "GITHUB_REF": "refs/heads/release-1",
        "GITHUB_OUTPUT": str(out_file),
        "GITHUB_ENV": str(env_file),
    }
    got = register_json(app, "--tracking-uri", server_url, "--experiment", experiment(), env=env)
    assert got["branch"] == "release-1"
    from mlflow import MlflowClient

    m = MlflowClient(server_url).get_logged_model(str(got["model_id"]))
    assert m.tags["mlflow.source.git.branch"] == "release-1"
    assert f"model-id={got['model_id']}" in out_file.read_text()
    assert f"MLFLOW_ACTIVE_MODEL_ID={got['model_id']}" in env_file.read_text()


def test_the_tracking_uri_is_resolved_once(
    app: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`register` resolved the URI twice before issue 12 (to register, then again for
    its `env` lines).  A spy counts the resolutions (it changes no behaviour)."""
    from mlflow_gitver import tracking
    from mlflow_gitver.commands import register as command

    calls: list[tuple[object, ...]] = []
    real = tracking.choose

    def counting(*args: object, **kwargs: object) -> tracking.Target:
        calls.append(args)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(tracking, "choose", counting)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    uri = f"sqlite:///{tmp_path}/once.db"
    done = command.registered(command.Args(repo=app, tracking_uri=uri, ci="none"))
    assert done is not None
    reg, target = done
    assert len(calls) == 1
    assert (target.uri, target.source) == (uri, "--tracking-uri")
    assert reg.tracking_uri == target.display and reg.created


# --- apps and scoped versions (issue 13) ----------------------------------------------------

MONO = """\
experiment: {experiment}
tags: {{team: platform}}
apps:
  - name: support
    paths: [apps/support, libs]
    params: {{llm: small}}
  - name: triage
    paths: [apps/triage, libs]
    params: {{llm: large}}
"""


@pytest.fixture
def mono(repo: Path) -> Path:
    write(repo / "apps/support/a.py", "a\n")
    write(repo / "apps/triage/t.py", "t\n")
    write(repo / "libs/l.py", "l\n")
    write(repo / ".mlflow-gitver.yaml", MONO.format(experiment=experiment()))
    commit_all(repo, "monorepo")
    return repo


def _by_app(items: object) -> dict[str, dict[str, object]]:
    assert isinstance(items, list)
    return {str(i["app"]): i for i in items}


def test_register_every_app_then_only_what_changed(mono: Path, server_url: str) -> None:
    uri = ["--tracking-uri", server_url, "--ci", "none"]
    out = register(mono, "--format", "json", *uri)
    assert out.returncode == 0, out.stderr
    first = _by_app(json.loads(out.stdout))
    assert set(first) == {"support", "triage"} and all(i["created"] for i in first.values())
    write(mono / "README.md", "docs only\n")
    commit_all(mono, "readme")
    again = _by_app(json.loads(register(mono, "--format", "json", *uri).stdout))
    assert {a: i["created"] for a, i in again.items()} == {"support": False, "triage": False}
    assert {a: i["model_id"] for a, i in again.items()} == {
        a: i["model_id"] for a, i in first.items()
    }
    write(mono / "apps/triage/t.py", "t2\n")
    commit_all(mono, "triage only")
    third = _by_app(json.loads(register(mono, "--format", "json", *uri).stdout))
    assert third["support"]["model_id"] == first["support"]["model_id"]
    assert third["triage"]["created"] is True
    assert str(third["triage"]["version_id"]).startswith("scoped-")
    (m,) = models(
        server_url, str(third["triage"]["experiment_id"]), str(third["triage"]["model_name"])
    )
    assert m.params == {"llm": "large"}
    assert m.tags["mlflow_gitver.app"] == "triage" and m.tags["team"] == "platform"
    assert json.loads(m.tags["mlflow_gitver.scope"]) == ["apps/triage", "libs"]
    assert m.tags["mlflow.source.git.commit"] == git(mono, "rev-parse", "HEAD").strip()


def test_commits_sharing_an_app_content_race_to_one_model(mono: Path, server_url: str) -> None:
    """Parallel registrations of one scoped version from two commits (other names)."""
    first = git(mono, "rev-parse", "HEAD").strip()
    write(mono / "README.md", "outside\n")
    commit_all(mono, "outside")
    second = git(mono, "rev-parse", "HEAD").strip()
    args = ["register", "--app", "support", "--format", "json", "--tracking-uri", server_url]
    got = race(3, *args, "--ci", "none", "--commit", first, cwd=mono)
    got += race(3, *args, "--ci", "none", "--commit", second, cwd=mono)
    assert len({g["model_id"] for g in got}) == 1
    assert len({g["version_id"] for g in got}) == 1
    eid = str(got[0]["experiment_id"])
    from mlflow import MlflowClient

    found = MlflowClient(server_url).search_logged_models(
        experiment_ids=[eid],
        filter_string=f"tags.`mlflow_gitver.version_id` = '{got[0]['version_id']}'",
    )
    assert len(found) == 1


def test_env_and_exec_need_app_with_several(mono: Path, server_url: str) -> None:
    out = cli("env", "--tracking-uri", server_url, "--ci", "none", cwd=mono)
    assert out.returncode == 2 and "pass --app NAME" in out.stderr
    assert out.stderr.count("\n") == 1
    one = cli("env", "--app", "triage", "--tracking-uri", server_url, "--ci", "none", cwd=mono)
    assert one.returncode == 0, one.stderr
    assert "export MLFLOW_ACTIVE_MODEL_ID=m-" in one.stdout


def test_dotenv_carries_one_variable_per_app(mono: Path, server_url: str, tmp_path: Path) -> None:
    dotenv = tmp_path / "out.env"
    out = register(mono, "--tracking-uri", server_url, "--ci", "none", "--dotenv", str(dotenv))
    assert out.returncode == 0, out.stderr
    text = dotenv.read_text()
    assert "MLFLOW_GITVER_MODEL_ID_SUPPORT=m-" in text
    assert "MLFLOW_GITVER_MODEL_ID_TRIAGE=m-" in text
    assert "MLFLOW_ACTIVE_MODEL_ID" not in text
    single = tmp_path / "one.env"
    register(mono, "--app", "support", "--tracking-uri", server_url, "--ci", "none",
             "--dotenv", str(single))  # fmt: skip
    assert "MLFLOW_ACTIVE_MODEL_ID=m-" in single.read_text()


def test_dry_run_and_check_per_app(mono: Path) -> None:
    out = register(mono, "--dry-run", "--format", "json", "--ci", "none")
    plans = _by_app(json.loads(out.stdout))
    assert set(plans) == {"support", "triage"}
    checked = json.loads(cli("check", "--format", "json", cwd=mono).stdout)
    assert [c["app"] for c in checked] == ["support", "triage"]
    one = cli("check", "--app", "support", cwd=mono)
    assert one.returncode == 0 and "(app support)" in one.stdout
