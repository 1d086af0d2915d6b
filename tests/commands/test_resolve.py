"""``mlflow-gitver resolve``: look a version up, create nothing, exit 1 when absent."""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path

import pytest

from testing.cli import cli
from testing.repos import commit_all, git, write


@pytest.fixture
def app(repo: Path) -> Path:
    write(repo / ".mlflow-gitver.yaml", "name: resolve-app\n")
    commit_all(repo, "config")
    return repo


def _register(app: Path, uri: str, exp: str) -> dict[str, object]:
    out = cli("register", "--format", "json", "--tracking-uri", uri, "--experiment", exp, cwd=app)
    assert out.returncode == 0, out.stderr
    return dict(json.loads(out.stdout))


def _count(uri: str) -> int:
    from mlflow import MlflowClient

    client = MlflowClient(uri)
    ids = [e.experiment_id for e in client.search_experiments()]
    return len(client.search_logged_models(ids, max_results=1000))


def test_resolve_finds_registered_versions(app: Path, server_url: str) -> None:
    exp = f"resolve-{uuid.uuid4().hex[:8]}"
    got = _register(app, server_url, exp)
    head = str(got["commit"])
    before = _count(server_url)
    by_rev = cli("resolve", "--commit", "HEAD", "--tracking-uri", server_url, cwd=app)
    assert by_rev.returncode == 0, by_rev.stderr
    assert by_rev.stdout.strip() == got["model_id"]
    # A deploy job: no checkout at all, a full hash or a version id, and no experiment.
    nowhere = app.parent / "no-git"
    nowhere.mkdir()
    for args in (["--commit", head], ["--version-id", head, "--name", "resolve-app"]):
        out = cli("resolve", *args, "--tracking-uri", server_url, "--format", "json", cwd=nowhere)
        assert out.returncode == 0, out.stderr
        shown = json.loads(out.stdout)
        assert shown["model_id"] == got["model_id"]
        assert shown["experiment_id"] == got["experiment_id"]
    env_out = cli("resolve", "--version-id", head, "--tracking-uri", server_url,
                  "--format", "env", cwd=nowhere)  # fmt: skip
    assert f"export MLFLOW_ACTIVE_MODEL_ID={got['model_id']}" in env_out.stdout
    assert _count(server_url) == before  # resolve created nothing


def test_resolve_exits_1_when_not_registered(app: Path, server_url: str) -> None:
    write(app / "new.py", "x = 1\n")
    commit_all(app, "never registered")
    before = _count(server_url)
    out = cli("resolve", "--tracking-uri", server_url, cwd=app)
    assert out.returncode == 1
    assert "is not registered" in out.stderr
    assert git(app, "rev-parse", "HEAD").strip() in out.stderr
    assert _count(server_url) == before


def test_resolve_by_name_excludes_other_apps(app: Path, server_url: str) -> None:
    got = _register(app, server_url, f"resolve-{uuid.uuid4().hex[:8]}")
    out = cli("resolve", "--version-id", str(got["version_id"]), "--name", "another-app",
              "--tracking-uri", server_url, cwd=app.parent)  # fmt: skip
    assert out.returncode == 1


def test_resolve_rejects_a_malformed_version_id(tmp_path: Path) -> None:
    out = cli(
        "resolve", "--version-id", "nope", "--tracking-uri", "http://127.0.0.1:1", cwd=tmp_path
    )
    assert out.returncode == 2
    assert "is not a version id" in out.stderr


@pytest.mark.parametrize("bad", ["a" * 40 + "\n", "b" * 32 + "-dirty-" + "c" * 8 + "\n"])
def test_resolve_reads_the_version_id_as_identity_parses_it(tmp_path: Path, bad: str) -> None:
    # The format has one owner (identity.parse_version_id); resolve's own regex took
    # a trailing newline ("$" matches before it) and looked up an id no model has.
    out = cli("resolve", "--version-id", bad, "--tracking-uri", "http://127.0.0.1:1", cwd=tmp_path)
    assert out.returncode == 2, out.stderr
    (line,) = out.stderr.strip().splitlines()
    assert "is not a version id" in line


def test_resolve_with_no_repository_and_no_uri_says_what_to_pass(tmp_path: Path) -> None:
    out = cli("resolve", "--version-id", "a" * 40, cwd=tmp_path)
    assert out.returncode == 2
    assert "--tracking-uri" in out.stderr


def test_resolve_answers_for_the_params_register_would_send(app: Path, server_url: str) -> None:
    write(app / ".mlflow-gitver.yaml", "name: resolve-app\nparams:\n  prompt: ${PROMPT:-v1}\n")
    commit_all(app, "params")
    exp = f"resolve-{uuid.uuid4().hex[:8]}"
    got = _register(app, server_url, exp)
    args = ("resolve", "--tracking-uri", server_url, "--experiment", exp)
    assert cli(*args, cwd=app).stdout.strip() == got["model_id"]
    # A variable changes a param: register would refuse (a conflict), so resolve must
    # not hand out the model registered with the old value.
    env = {**os.environ, "PROMPT": "v2"}
    out = cli(*args, cwd=app, env=env)
    assert out.returncode == 1, out.stdout
    (line,) = out.stderr.strip().splitlines()
    assert "prompt: registered 'v1', now 'v2'" in line
    reg = cli("register", "--tracking-uri", server_url, "--experiment", exp, cwd=app, env=env)
    assert reg.returncode == 1 and "prompt: registered 'v1', now 'v2'" in reg.stderr
    # One model per set of params ({params_digest}): resolve picks the matching one.
    write(
        app / ".mlflow-gitver.yaml",
        "name: resolve-app\nname_template: '{name}-{short_sha}-{params_digest}'\n"
        "params:\n  prompt: ${PROMPT:-v1}\n",
    )
    commit_all(app, "template")
    exp2 = f"resolve-{uuid.uuid4().hex[:8]}"
    v1 = _register(app, server_url, exp2)
    v2 = cli("register", "--format", "json", "--tracking-uri", server_url,
             "--experiment", exp2, cwd=app, env=env)  # fmt: skip
    v2_id = json.loads(v2.stdout)["model_id"]
    args = ("resolve", "--tracking-uri", server_url, "--experiment", exp2)
    assert cli(*args, cwd=app).stdout.strip() == v1["model_id"]
    assert cli(*args, cwd=app, env=env).stdout.strip() == v2_id != v1["model_id"]


def _scoped_repo(repo: Path, exp: str) -> None:
    write(repo / "apps/a/x.py", "x\n")
    write(repo / "apps/b/y.py", "y\n")
    write(
        repo / ".mlflow-gitver.yaml",
        f"experiment: {exp}\napps:\n  - {{name: a, paths: [apps/a]}}\n"
        f"  - {{name: b, paths: [apps/b], experiment: {exp}-b}}\n",
    )
    commit_all(repo, "scoped")


def _register_app(repo: Path, uri: str, app: str) -> dict[str, object]:
    reg = cli("register", "--app", app, "--format", "json", "--tracking-uri", uri,
              "--ci", "none", cwd=repo)  # fmt: skip
    assert reg.returncode == 0, reg.stderr
    return dict(json.loads(reg.stdout))


def test_a_scoped_app_resolves_from_any_commit_with_the_same_content(
    repo: Path, server_url: str
) -> None:
    exp = f"scoped-{uuid.uuid4().hex[:8]}"
    _scoped_repo(repo, exp)
    first = git(repo, "rev-parse", "HEAD").strip()
    got = _register_app(repo, server_url, "a")
    assert str(got["version_id"]).startswith("scoped-")
    uri = ("--tracking-uri", server_url)
    by_id = cli("resolve", "--version-id", str(got["version_id"]), *uri, cwd=repo)
    assert by_id.returncode == 0 and by_id.stdout.strip() == got["model_id"], by_id.stderr
    # A later commit that leaves apps/a alone: the same version, by commit or tree.
    write(repo / "apps/b/y.py", "y2\n")
    commit_all(repo, "b only")
    for how in (("--commit", "HEAD"), ("--commit", first), ()):
        out = cli("resolve", "--app", "a", *how, *uri, "--format", "json", cwd=repo)
        assert out.returncode == 0, (how, out.stderr)
        assert json.loads(out.stdout)["model_id"] == got["model_id"]
    # An uncommitted edit outside the scope does not make it dirty either.
    write(repo / "apps/b/y.py", "y3\n")
    assert cli("resolve", "--app", "a", *uri, cwd=repo).stdout.strip() == got["model_id"]
    # Inside it: another version, not registered (exit 1), and so is the next commit.
    write(repo / "apps/a/x.py", "x2\n")
    dirty = cli("resolve", "--app", "a", *uri, cwd=repo)
    assert dirty.returncode == 1 and "-dirty-" in dirty.stderr, dirty.stderr
    commit_all(repo, "a changed")
    assert cli("resolve", "--app", "a", "--commit", "HEAD", *uri, cwd=repo).returncode == 1
    # The first commit, by its full hash, still resolves: with that commit's paths.
    again = cli("resolve", "--app", "a", "--commit", first, *uri, cwd=repo)
    assert again.returncode == 0 and again.stdout.strip() == got["model_id"], again.stderr


def test_an_app_with_its_own_experiment_is_looked_up_there(repo: Path, server_url: str) -> None:
    exp = f"scoped-{uuid.uuid4().hex[:8]}"
    _scoped_repo(repo, exp)
    got = _register_app(repo, server_url, "b")
    out = cli("resolve", "--app", "b", "--tracking-uri", server_url, "--format", "json", cwd=repo)
    assert out.returncode == 0, out.stderr
    found = json.loads(out.stdout)
    assert found["model_id"] == got["model_id"] and found["experiment_name"] == f"{exp}-b"
    # App a was never registered: its experiment has nothing.
    assert cli("resolve", "--app", "a", "--tracking-uri", server_url, cwd=repo).returncode == 1


def test_scoped_lookups_that_cannot_be_answered_say_what_to_pass(
    repo: Path, server_url: str, tmp_path: Path
) -> None:
    exp = f"scoped-{uuid.uuid4().hex[:8]}"
    _scoped_repo(repo, exp)
    head = git(repo, "rev-parse", "HEAD").strip()
    uri = ("--tracking-uri", server_url)
    several = cli("resolve", "--commit", "HEAD", *uri, cwd=repo)
    assert several.returncode == 2 and several.stderr.count("\n") == 1, several.stderr
    assert "several apps (a, b): pass --app NAME, or --version-id" in several.stderr
    unknown = cli("resolve", "--app", "c", *uri, cwd=repo)
    assert unknown.returncode == 2 and "no app named 'c'" in unknown.stderr, unknown.stderr
    # A deploy directory with the config and no clone: the scoped id cannot be computed.
    deploy = tmp_path / "deploy"
    deploy.mkdir()
    (deploy / ".mlflow-gitver.yaml").write_bytes((repo / ".mlflow-gitver.yaml").read_bytes())
    bare = cli("resolve", "--app", "a", "--commit", head, *uri, cwd=deploy)
    assert bare.returncode == 2 and bare.stderr.count("\n") == 1, bare.stderr
    assert "computed from a clone" in bare.stderr and "--version-id" in bare.stderr
    no_config = cli("resolve", "--app", "a", "--commit", head, *uri, cwd=tmp_path)
    assert no_config.returncode == 2 and "--app a needs a config" in no_config.stderr


def test_a_deploy_bundle_resolves_the_commit_its_platform_names(
    app: Path, server_url: str, tmp_path: Path
) -> None:
    """No .git, no --commit: the CI or deploy platform's variable names the code;
    nothing naming it is one clear line, and nothing is ever created."""
    import shutil

    from mlflow_gitver.deployenv import COMMIT_VARIABLES

    exp = f"resolve-{uuid.uuid4().hex[:8]}"
    got = _register(app, server_url, exp)
    sha = git(app, "rev-parse", "HEAD").strip()
    bundle = tmp_path / "bundle"
    shutil.copytree(app, bundle, ignore=shutil.ignore_patterns(".git", "mlflow.db*"))
    clean = {k: v for k, v in os.environ.items() if k not in {v for _p, v in COMMIT_VARIABLES}}
    args = ("resolve", "--tracking-uri", server_url, "--experiment", exp)
    for var in ("VERCEL_GIT_COMMIT_SHA", "RENDER_GIT_COMMIT", "CI_COMMIT_SHA"):
        out = cli(*args, cwd=bundle, env={**clean, var: sha})
        assert out.returncode == 0 and out.stdout.strip() == got["model_id"], (var, out.stderr)
    other = cli(*args, cwd=bundle, env={**clean, "GITHUB_SHA": "e" * 40})
    assert other.returncode == 1 and "is not registered" in other.stderr
    mixed = cli(*args, cwd=bundle, env={**clean, "GITHUB_SHA": sha, "RENDER_GIT_COMMIT": "e" * 40})
    assert mixed.returncode == 0 and mixed.stdout.strip() == got["model_id"], mixed.stderr
    assert "warning: RENDER_GIT_COMMIT names commit eeeeeeeeeeee, not GITHUB_SHA's" in mixed.stderr
    nothing = cli(*args, cwd=bundle, env=clean)
    assert nothing.returncode == 2 and nothing.stderr.count("\n") == 1, nothing.stderr
    assert "nothing names the commit" in nothing.stderr and "--version-id" in nothing.stderr
    count = _count(server_url)
    cli(*args, cwd=bundle, env={**clean, "GITHUB_SHA": "d" * 40})
    assert _count(server_url) == count  # a lookup never creates
