"""The scanner: every kind of the corpus is found and named; ordinary code is not."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from mlflow_gitver import redact, secretscan
from testing.cli import cli
from testing.repos import commit_all, write
from testing.secret_corpus import Fake, corpus, gcp_service_account, pem_fake
from testing.server import MlflowServer

CORPUS = corpus()


@pytest.mark.parametrize("fake", CORPUS, ids=[f"{f.kind}-{i}" for i, f in enumerate(CORPUS)])
def test_every_kind_is_found_and_named(fake: Fake) -> None:
    out = secretscan.redact_text(fake.line, "app.py")
    for needle in fake.needles:
        assert needle not in out
    assert redact.marker(fake.kind) in out
    # The rest of the line stays readable: only the secret goes.
    # (A marker may also take the name glued to the value: AccountKey=, -----BEGIN.)
    before = fake.line.split(fake.secret)[0].split("-----BEGIN")[0]
    assert out.startswith(before[: max(0, len(before) - len("AccountKey="))])


@pytest.mark.parametrize("fake", CORPUS, ids=[f"{f.kind}-{i}" for i, f in enumerate(CORPUS)])
def test_error_lines_lose_every_shape_recognised_kind(fake: Fake) -> None:
    # scrub() (every error line, the hook log) uses our own rules only.
    out = redact.scrub(f"mlflow-gitver: error: while sending {fake.line}: refused")
    for needle in fake.needles:
        assert needle not in out
    assert "refused" in out


def test_a_pem_block_goes_whole_across_lines() -> None:
    block, body = pem_fake()
    text = f"KEY = '''\n{block}\n'''\nx = 1\n"
    out = secretscan.redact_text(text, "keys.py")
    assert not any(b in out for b in body)
    assert "x = 1" in out and "KEY = '''" in out
    assert not any(b in redact.scrub(text) for b in body)


def test_gcp_service_account_file() -> None:
    text, body = gcp_service_account()
    out = secretscan.redact_text(text, "service.json")
    assert not any(b in out for b in body)
    assert '"client_email": "svc@demo-project.iam.gserviceaccount.com"' in out
    assert "<redacted:private-key>" in out


def test_a_secret_in_a_very_long_line() -> None:
    fake = next(f for f in CORPUS if f.kind == "github-token")
    filler = "var a=" + ",".join(f"b{i}" for i in range(40000))  # 250 kB, minified-style
    for pos in (100, len(filler) // 2, len(filler) - 50):
        line = filler[:pos] + f' t="{fake.secret}" ' + filler[pos:]
        out = secretscan.redact_text(line, "bundle.min.js")
        assert fake.secret not in out
        assert out.count("<redacted:github-token>") == 1
        assert len(out) == len(line) - len(fake.secret) + len("<redacted:github-token>")


@pytest.mark.parametrize(
    "line",
    [
        'sha = "3f786850e387550fdab836ed7e6dc881de23001b"',
        "digest = hashlib.sha256(data).hexdigest()  # e3b0c44298fc1c149afbf4c8996fb92427ae41e4",
        'run_id = "6c5b1f0e-2d2a-4b4e-9a8a-1c2d3e4f5a6b"',
        'DATA = "TWFueSBoYW5kcyBtYWtlIGxpZ2h0IHdvcmsu"',
        'token = os.environ["GITHUB_TOKEN"]',
        'password = get_password("db")',
        'api_key: "${OPENAI_API_KEY}"',
        'secret = "<your-secret-here>"',
        "password_hint = 'see the vault'",
        'SECRET_NAME = "deploy-key"',
        "def check_token(token: str) -> bool:",
        'TOKEN_URL = "https://example.com/oauth/token"',
        "key = settings.API_KEY",
        'if line.startswith("-----BEGIN"):',
        'url = f"https://{user}:{password}@example.com"',
    ],
)
def test_ordinary_code_is_left_alone(line: str) -> None:
    assert secretscan.find(line, "app.py") == []
    assert redact.scrub(line) == line or "://" in line  # scrub drops userinfo of URLs


def test_markers_never_carry_a_hash_of_the_secret() -> None:
    fake = next(f for f in CORPUS if f.kind == "secret-assignment")
    out = secretscan.redact_text(fake.line, "app.py")
    assert out == fake.line.replace(fake.secret, "<redacted:secret-assignment>")


@pytest.mark.imports_counted
def test_detect_secrets_is_imported_on_first_scan_only(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from mlflow_gitver import redact, secretscan, patch, config, versions\n"
        "redact.scrub('error at https://u:p@h/x?token=1')\n"
        "assert not any(m.startswith('detect_secrets') for m in sys.modules), 'imported early'\n"
        "secretscan.find('token = 1234567890abcdef')\n"
        "assert 'detect_secrets.plugins.keyword' in sys.modules\n"
    )
    # Not from tests/: its queue/ package would shadow the standard library queue.
    subprocess.run([sys.executable, "-c", code], check=True, cwd=tmp_path)


def test_detector_never_verifies_over_the_network() -> None:
    # We use the plugins' patterns, never their verify() (which would send the
    # secret to its provider): a scan must not even import requests' adapters anew.
    code = (
        "import socket\n"
        "def no(*a, **k): raise AssertionError('network used')\n"
        "socket.socket.connect = no\n"
        "from mlflow_gitver import secretscan\n"
        f"assert secretscan.find({CORPUS[5].line!r}, 'a.py')\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# --- end to end: register against the real server, then search everything ---------


def _plant_everything(repo: Path) -> tuple[list[str], list[str]]:
    """Plant the corpus everywhere a dirty state can hold it; returns (needles, visible):
    what must never be stored, and ordinary changes beside them that must be."""
    fakes = corpus()
    needles = [n for f in fakes for n in f.needles]
    visible = []
    gh = next(f for f in fakes if f.kind == "github-token")
    write(
        repo / ".mlflow-gitver.yaml",
        f"name: demo\nparams:\n  llm: gpt-4o-mini\n  hub: {gh.secret}\ntags:\n  team: support\n",
    )
    write(repo / "settings.py", "".join(f"n{i} = {i}\n" for i in range(len(fakes))))
    commit_all(repo, "config and settings")
    # Tracked edits: each secret beside an ordinary change.
    lines = []
    for i, f in enumerate(fakes):
        lines.append(f"{f.line}\nvisible_{i} = 'tracked {i}'\n")
        visible.append(f"+visible_{i} = 'tracked {i}'")
    write(repo / "settings.py", "".join(lines))
    # Untracked files with ordinary names.
    block, body = pem_fake()
    sa, sa_body = gcp_service_account()
    needles += body + sa_body
    write(repo / "notes.md", f"# notes\n{block}\nvisible untracked note\n")
    write(repo / "conf" / "service.json", sa)
    write(repo / "deploy.sh", "".join(f"{f.line}\necho step{i}\n" for i, f in enumerate(fakes)))
    visible += ["+visible untracked note", '"client_email"', "+echo step3"]
    # A binary file holding one, beside a binary file holding none.
    ant = next(f for f in fakes if f.kind == "anthropic-key")
    write(repo / "assets" / "weights.bin", b"\0\x01PK\0" + ant.line.encode() + bytes(range(256)))
    write(repo / "assets" / "plain.bin", bytes(range(256)) * 3)
    # A very long line (minified code).
    slack = next(f for f in fakes if f.kind == "slack-token")
    write(repo / "static" / "app.min.js", "var x=" + "q1," * 50000 + slack.line + ";\n")
    visible += ["+++ b/static/app.min.js", "diff --git a/assets/plain.bin b/assets/plain.bin"]
    return needles, visible


@pytest.mark.server
def test_no_planted_secret_reaches_mlflow_or_disk(repo: Path, server_url: str) -> None:
    needles, visible = _plant_everything(repo)
    exp = f"secrets-{uuid.uuid4().hex[:8]}"
    args = ("--tracking-uri", server_url, "--experiment", exp)
    dry = cli("register", "--dry-run", *args, cwd=repo)
    checked = cli("check", cwd=repo)
    out = cli("register", "--format", "json", *args, cwd=repo)
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout)
    import mlflow.artifacts
    from mlflow import MlflowClient

    client = MlflowClient(server_url)
    m = client.get_logged_model(got["model_id"])
    dest = repo.parent / "download"
    mlflow.artifacts.download_artifacts(
        artifact_uri=f"{m.artifact_location}/mlflow-gitver", dst_path=str(dest),
        tracking_uri=server_url,
    )  # fmt: skip
    patch_text = (dest / "mlflow-gitver" / "changes.patch").read_text("utf-8", "replace")
    manifest = json.loads((dest / "mlflow-gitver" / "manifest.json").read_text())
    stored = [
        json.dumps(m.tags),
        json.dumps(m.params),
        m.name,
        patch_text,
        json.dumps(manifest),
        dry.stdout + dry.stderr,
        checked.stdout + checked.stderr,
        out.stdout + out.stderr,
    ]
    # Everything we wrote under .git/mlflow-gitver/ (caches, logs) too.
    ours = repo / ".git" / "mlflow-gitver"
    stored += [p.read_text("utf-8", "replace") for p in ours.rglob("*") if p.is_file()]
    for needle in needles:
        assert not any(needle in s for s in stored), needle
    for v in visible:
        assert v in patch_text, v
    assert m.tags["mlflow_gitver.patch.redacted"] == "true"
    assert "<redacted:" in m.tags["mlflow.source.git.diff"]
    assert m.params["hub"] == "<redacted:github-token>" and m.params["llm"] == "gpt-4o-mini"
    kinds = {(r["path"], r["kind"]) for r in manifest["redactions"]}
    assert {("settings.py", "aws-access-key-id"), ("notes.md", "private-key")} <= kinds
    assert ("conf/service.json", "private-key") in kinds
    size = (repo / "assets" / "weights.bin").stat().st_size
    left_out = {
        "path": "assets/weights.bin",
        "reason": "secret-content",
        "size": size,
        "sha256": "",
    }
    assert left_out in manifest["omitted"]
    # check and the dry run show what is redacted, by file and line, before anything is sent.
    assert dry.returncode == 0 and "redacted (aws-access-key-id): settings.py:1" in dry.stdout
    assert checked.returncode == 0 and "  settings.py:1: aws-access-key-id" in checked.stdout
    assert "secrets: would redact:" in checked.stdout


@pytest.mark.server
def test_refuse_fails_with_file_and_line_before_sending(repo: Path, server_url: str) -> None:
    fake = next(f for f in corpus() if f.kind == "databricks-token")
    write(repo / ".mlflow-gitver.yaml", "name: demo\nsecrets: refuse\n")
    commit_all(repo, "config")
    write(repo / "app.py", f"print('hello')\n{fake.line}\n")
    exp = f"refuse-{uuid.uuid4().hex[:8]}"
    out = cli("register", "--tracking-uri", server_url, "--experiment", exp, cwd=repo)
    assert out.returncode == 2
    err = out.stderr.strip()
    assert len(err.splitlines()) == 1 and fake.secret not in err
    assert err.startswith("mlflow-gitver: error: app.py:2: a databricks-token in the uncommitted")
    from mlflow import MlflowClient

    assert MlflowClient(server_url).get_experiment_by_name(exp) is None  # nothing was sent
    checked = cli("check", cwd=repo)
    assert checked.returncode == 2 and "  app.py:2: databricks-token" in checked.stdout
    assert fake.secret not in checked.stdout + checked.stderr


def test_the_dry_run_plan_lists_redactions_and_tags_the_version(repo: Path) -> None:
    from mlflow_gitver import git as gitmod
    from mlflow_gitver import versions
    from mlflow_gitver.config import parse_config
    from mlflow_gitver.gitstate import read_state

    fake = next(f for f in CORPUS if f.kind == "gitlab-token")
    write(repo / "app.py", f"print('hello')\n{fake.line}\n")
    cfg = parse_config("name: demo\n", "cfg.yaml", {})
    plan = versions.plan(gitmod.discover(repo), read_state(repo), cfg, tracking_uri="sqlite:///x")
    shown = json.dumps(plan.as_json())
    assert fake.secret not in shown
    got = plan.as_json()["patch"]
    assert isinstance(got, dict)
    assert got["redactions"] == [
        {"path": "app.py", "line": 2, "side": "new", "kind": "gitlab-token"}
    ]
    assert plan.spec.tags["mlflow_gitver.patch.redacted"] == "true"
    off = parse_config("name: demo\nsecrets: off\n", "cfg.yaml", {})
    verbatim = versions.plan(
        gitmod.discover(repo), read_state(repo), off, tracking_uri="sqlite:///x"
    )
    assert fake.secret in verbatim.spec.tags["mlflow.source.git.diff"]
    assert "mlflow_gitver.patch.redacted" not in verbatim.spec.tags


def test_the_hook_log_and_records_never_hold_a_token(repo: Path) -> None:
    # A proxy URL with a token in its path (neither a password nor a query string),
    # a server that is down for real: the background registration fails, and its
    # error goes to hook.log and to the record's last error.
    from testing.hooks import background_flushes
    from testing.server import free_port

    fake = next(f for f in CORPUS if f.kind == "github-token")
    write(repo / ".mlflow-gitver.yaml", "name: demo\n")
    commit_all(repo, "config")
    env = {
        **os.environ,
        "MLFLOW_TRACKING_URI": f"http://127.0.0.1:{free_port()}/proxy/{fake.secret}/",
        "MLFLOW_GITVER_RETRY_SECONDS": "1",
    }
    proc = cli("hook", "post-commit", cwd=repo, env=env)
    assert proc.returncode == 0
    deadline = time.monotonic() + 120
    while background_flushes(repo):
        assert time.monotonic() < deadline, "the background flush did not finish"
        time.sleep(0.1)
    ours = repo / ".git" / "mlflow-gitver"
    log = (ours / "hook.log").read_text()
    assert "127.0.0.1" in log and "<redacted:github-token>" in log, log
    written = [p.read_text("utf-8", "replace") for p in ours.rglob("*") if p.is_file()]
    assert written and not any(fake.secret in w for w in written)
    assert fake.secret not in proc.stdout + proc.stderr


def test_a_token_in_the_commit_subject_is_redacted_in_its_tag(repo: Path) -> None:
    from mlflow_gitver import git as gitmod
    from mlflow_gitver import versions
    from mlflow_gitver.config import parse_config
    from mlflow_gitver.gitstate import read_state

    fake = next(f for f in CORPUS if f.kind == "huggingface-token")
    commit_all(repo, f"try the hub with {fake.secret}")
    cfg = parse_config("name: demo\n", "cfg.yaml", {})
    plan = versions.plan(gitmod.discover(repo), read_state(repo), cfg, tracking_uri="sqlite:///x")
    assert plan.spec.tags["mlflow_gitver.commit.subject"] == (
        "try the hub with <redacted:huggingface-token>"
    )


@pytest.mark.server
def test_a_committed_config_with_a_credential_is_never_written_under_git_dir(
    repo: Path, mlflow_server: MlflowServer, server_url: str
) -> None:
    # The config as committed is what a pending record registers: a credential in
    # it (here a tag value) must not be copied into .git/mlflow-gitver/ (records,
    # failed records, the validated-configs cache); the record reads it from the
    # commit instead, and still registers.
    fake = next(f for f in CORPUS if f.kind == "github-token")
    app = f"demo-{uuid.uuid4().hex[:8]}"
    config = f"name: {app}\ntracking_uri: {server_url}\ntags:\n  ci_token: {fake.secret}\n"
    write(repo / ".mlflow-gitver.yaml", config)
    commit_all(repo, "config with a token")
    mlflow_server.stop()  # for real: the record must stay pending, on disk
    try:
        env = {**os.environ, "MLFLOW_GITVER_RETRY_SECONDS": "1"}
        proc = cli("hook", "post-commit", "--sync", cwd=repo, env=env)
    finally:
        mlflow_server.start()
    assert proc.returncode == 0, proc.stderr
    ours = repo / ".git" / "mlflow-gitver"
    records = list((ours / "pending").glob("*.json"))
    assert records, "the server is down: the record stays pending"
    written = [p.read_text("utf-8", "replace") for p in ours.rglob("*") if p.is_file()]
    assert not any(fake.secret in w for w in written)
    assert '"config_in_commit": true' in records[0].read_text()
    flushed = cli("flush", cwd=repo)
    assert flushed.returncode == 0, flushed.stderr
    assert not list((ours / "pending").glob("*.json"))
    from mlflow import MlflowClient

    models = MlflowClient(server_url).search_logged_models(
        experiment_ids=["0"], filter_string=f"tags.`mlflow_gitver.app` = '{app}'"
    )
    assert len(models) == 1 and all(fake.secret not in str(m.tags) for m in models)
    assert any(m.tags.get("ci_token") == "<redacted:github-token>" for m in models)
