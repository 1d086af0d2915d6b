"""Prompts pinned at registration (pins.py), against the real server: by alias, by
version and from files; a moved alias; links raced onto one model; racing
registrations of one prompt file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mlflow_gitver import pins
from testing.cli import cli, race
from testing.repos import commit_all, git, write


@pytest.fixture
def client(server_url: str) -> Iterator[Any]:
    import mlflow

    yield mlflow.MlflowClient(tracking_uri=server_url)


@pytest.fixture
def names() -> dict[str, str]:
    """Prompt names of this test alone (the server is shared)."""
    tag = uuid.uuid4().hex[:8]
    return {"support": f"support-{tag}", "triage": f"triage-{tag}"}


def _registry_prompt(client: Any, name: str, versions: int, alias: str | None = None) -> None:
    client.create_prompt(name)
    for i in range(versions):
        client.create_prompt_version(name, f"{name} v{i + 1}: {{{{q}}}}")
    if alias:
        client.set_prompt_alias(name, alias, 1)


def _app(repo: Path, server_url: str, names: dict[str, str], extra: str = "") -> str:
    experiment = f"pins-{uuid.uuid4().hex[:8]}"
    write(
        repo / ".mlflow-gitver.yaml",
        f"name: pinned\nexperiment: {experiment}\ntracking_uri: {server_url}\n"
        f"params: {{llm: small}}\n{extra}"
        "prompts:\n"
        f"  - uri: prompts:/{names['support']}@production\n"
        f"  - name: {names['triage']}\n"
        "    file: prompts/triage.md\n",
    )
    write(repo / "prompts/triage.md", "Triage {{ticket}} by urgency.\n")
    commit_all(repo, "prompts")
    return experiment


def _register(repo: Path, *args: str) -> dict[str, Any]:
    r = cli("register", "--format", "json", *args, cwd=repo)
    assert r.returncode == 0, r.stderr
    return dict(json.loads(r.stdout))


def _file_versions(client: Any, name: str) -> list[tuple[int, dict[str, str]]]:
    return sorted((int(v.version), dict(v.tags)) for v in client.search_prompt_versions(name))


def test_pins_are_params_links_and_tags(
    repo: Path, server_url: str, client: Any, names: dict[str, str]
) -> None:
    _registry_prompt(client, names["support"], 2, alias="production")
    _app(repo, server_url, names)
    sha = git(repo, "rev-parse", "HEAD").strip()
    reg = _register(repo)
    assert reg["prompts"] == {names["support"]: 1, names["triage"]: 1}
    model = client.get_logged_model(reg["model_id"])
    assert model.params == {
        "llm": "small",
        f"prompt.{names['support']}": "1",
        f"prompt.{names['triage']}": "1",
    }
    assert pins.linked(model.tags) == {(names["support"], "1"), (names["triage"], "1")}
    [(version, tags)] = _file_versions(client, names["triage"])
    assert version == 1
    assert tags[pins.TAG_COMMIT] == sha and tags[pins.TAG_FILE] == "prompts/triage.md"
    assert tags[pins.TAG_DIGEST] == pins.digest(b"Triage {{ticket}} by urgency.\n")
    template = client.get_prompt_version(names["triage"], 1).template
    assert template == "Triage {{ticket}} by urgency.\n"
    # Registered again: the same model, no new prompt version.
    again = _register(repo)
    assert (again["model_id"], again["created"]) == (reg["model_id"], False)
    assert len(_file_versions(client, names["triage"])) == 1


def test_a_version_number_pins_that_version(
    repo: Path, server_url: str, client: Any, names: dict[str, str]
) -> None:
    _registry_prompt(client, names["support"], 3, alias="production")
    _app(repo, server_url, names)
    cfg = repo / ".mlflow-gitver.yaml"
    write(cfg, cfg.read_text().replace("@production", "/3"))
    commit_all(repo, "pin 3")
    assert _register(repo)["prompts"][names["support"]] == 3


def test_a_file_prompt_follows_its_content(
    repo: Path, server_url: str, client: Any, names: dict[str, str]
) -> None:
    _registry_prompt(client, names["support"], 1, alias="production")
    _app(repo, server_url, names)
    first = _register(repo)["prompts"][names["triage"]]
    write(repo / "README.md", "# unrelated\n")
    commit_all(repo, "unrelated")
    assert _register(repo)["prompts"][names["triage"]] == first  # same content, same version
    write(repo / "prompts/triage.md", "Triage {{ticket}} by impact.\n")
    commit_all(repo, "new rules")
    second = _register(repo)["prompts"][names["triage"]]
    assert second == first + 1
    # Back to the first content: its version again, not a third one (the same
    # content always pins the same version, so re-registering old code agrees).
    write(repo / "prompts/triage.md", "Triage {{ticket}} by urgency.\n")
    commit_all(repo, "revert")
    assert _register(repo)["prompts"][names["triage"]] == first
    assert [v for v, _t in _file_versions(client, names["triage"])] == [1, 2]
    # A dirty working tree pins the working tree's content.
    write(repo / "prompts/triage.md", "Triage {{ticket}} by mood.\n")
    dirty = _register(repo)
    assert dirty["dirty"] and dirty["prompts"][names["triage"]] == 3
    committed = _file_versions(client, names["triage"])[-1][1]
    assert committed[pins.TAG_DIGEST] == pins.digest(b"Triage {{ticket}} by mood.\n")


def test_a_moved_alias_never_reuses_the_old_version(
    repo: Path, server_url: str, client: Any, names: dict[str, str]
) -> None:
    _registry_prompt(client, names["support"], 2, alias="production")
    _app(repo, server_url, names)
    reg = _register(repo)
    ok = cli("resolve", cwd=repo)
    assert (ok.returncode, ok.stdout.strip()) == (0, reg["model_id"])
    client.set_prompt_alias(names["support"], "production", 2)
    for cmd in (("register",), ("resolve",)):
        r = cli(*cmd, cwd=repo)
        assert r.returncode == 1, r.stdout
        [line] = r.stderr.strip().splitlines()
        assert f"prompt.{names['support']}: registered '1', now '2'" in line
        assert f"prompt {names['support']} now resolves to another version" in line
        assert "Traceback" not in r.stderr
    # {params_digest} in the name: each set of pins is its own model.
    cfg = repo / ".mlflow-gitver.yaml"
    write(cfg, "name_template: '{name}-{short_sha}-{params_digest}'\n" + cfg.read_text())
    commit_all(repo, "one model per set of pins")
    first = _register(repo)
    client.set_prompt_alias(names["support"], "production", 1)
    second = _register(repo)
    assert first["model_id"] != second["model_id"] and second["created"]
    assert (first["prompts"][names["support"]], second["prompts"][names["support"]]) == (2, 1)
    r = cli("resolve", cwd=repo)
    assert (r.returncode, r.stdout.strip()) == (0, second["model_id"])


def test_resolve_of_a_file_prompt_never_registered(
    repo: Path, server_url: str, client: Any, names: dict[str, str]
) -> None:
    _registry_prompt(client, names["support"], 1, alias="production")
    _app(repo, server_url, names)
    _register(repo)
    write(repo / "prompts/triage.md", "Something else entirely.\n")
    r = cli("resolve", cwd=repo)
    assert r.returncode == 1
    assert "has no prompt version" in r.stderr and "prompts/triage.md" in r.stderr
    assert len(_file_versions(client, names["triage"])) == 1  # resolve created nothing


@pytest.mark.parametrize(
    ("entry", "words"),
    [
        ("prompts:/{missing}@production", "there is no prompt '{missing}'"),
        ("prompts:/{support}@staging", "has no alias 'staging'"),
        ("prompts:/{support}/9", "has no version 9"),
    ],
)
def test_an_unknown_prompt_names_the_config_line(
    repo: Path, server_url: str, client: Any, names: dict[str, str], entry: str, words: str
) -> None:
    _registry_prompt(client, names["support"], 1, alias="production")
    fields = {**names, "missing": f"missing-{uuid.uuid4().hex[:6]}"}
    write(
        repo / ".mlflow-gitver.yaml",
        f"name: pinned\ntracking_uri: {server_url}\nprompts:\n"
        f"  - name: {names['triage']}\n    file: README.md\n  - {entry.format(**fields)}\n",
    )
    commit_all(repo, "bad pin")
    for cmd in ("register", "check", "resolve"):
        r = cli(cmd, cwd=repo)
        assert r.returncode == 2, (cmd, r.stdout, r.stderr)
        [line] = r.stderr.strip().splitlines()
        assert ".mlflow-gitver.yaml:6:5: " in line and words.format(**fields) in line, line
    # Nothing half-made: the file prompt before the bad entry got no version.
    assert client.get_prompt(names["triage"]) is None


def test_check_shows_the_pins_or_why_not(
    repo: Path, server_url: str, client: Any, names: dict[str, str]
) -> None:
    _registry_prompt(client, names["support"], 2, alias="production")
    _app(repo, server_url, names)
    r = cli("check", cwd=repo)
    assert r.returncode == 0, r.stderr
    assert f"  {names['support']} = 1 (alias production)" in r.stdout
    assert f"  {names['triage']}: a new version at registration" in r.stdout
    assert f"prompt.{names['support']} = 1" in r.stdout  # the params registration sends
    assert client.get_prompt(names["triage"]) is None  # check created nothing
    down = cli(
        "check",
        cwd=repo,
        env={
            **os.environ,
            "MLFLOW_TRACKING_URI": "http://127.0.0.1:9",
            "MLFLOW_GITVER_RETRY_SECONDS": "0.5",
        },
    )
    assert down.returncode == 0, down.stderr
    assert "prompts: unresolved" in down.stdout and "127.0.0.1:9" in down.stdout
    js = json.loads(cli("check", "--format", "json", cwd=repo).stdout)
    assert js["prompts"] == {names["support"]: 1, names["triage"]: None}


def test_racing_registrations_make_one_prompt_version_and_keep_every_link(
    repo: Path, server_url: str, client: Any, names: dict[str, str]
) -> None:
    _registry_prompt(client, names["support"], 1, alias="production")
    _app(repo, server_url, names)
    results = race(6, "register", "--format", "json", cwd=repo)
    assert len({r["model_id"] for r in results}) == 1
    assert [v for v, _t in _file_versions(client, names["triage"])] == [1]
    model = client.get_logged_model(results[0]["model_id"])
    assert pins.linked(model.tags) == {(names["support"], "1"), (names["triage"], "1")}


_LINKER = """
import sys, time
from mlflow_gitver import mlflow_api, pins, tracking
from mlflow_gitver.config_prompts import PromptRef
uri, model_id, start, *wanted = sys.argv[1:]
with tracking.mlflow_env(uri):
    edge = mlflow_api.connect(uri)
    model = mlflow_api.get_model(edge, model_id)
    chosen = [pins.Pin(PromptRef(n), 1) for n in wanted]
    time.sleep(max(0.0, float(start) - time.time()))
    pins.link(edge, model, chosen)
"""


def test_links_raced_onto_one_model_are_all_kept(server_url: str, client: Any) -> None:
    """Six processes link the same six prompts onto one model at the same instant,
    each in its own order, and every link is there afterwards.  (MLflow's own link
    did not lose one in this race on our one-worker server; the lost update is made
    deterministic by the next test.)"""
    import time

    tag = uuid.uuid4().hex[:8]
    prompts = [f"race-{tag}-{i}" for i in range(6)]
    for name in prompts:
        client.register_prompt(name, "x")
    eid = client.create_experiment(f"links-{tag}")
    model = client.create_logged_model(experiment_id=eid, name="raced")
    start = str(time.time() + 3)
    orders = [prompts[i:] + prompts[:i] for i in range(6)]
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                _LINKER,
                server_url,
                model.model_id,
                start,
                *order,
            ],
            stderr=subprocess.PIPE,
        )
        for order in orders
    ]
    for p in procs:
        _out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err.decode()
    got = pins.linked(client.get_logged_model(model.model_id).tags)
    assert got == {(n, "1") for n in prompts}


def test_a_stale_rewrite_of_the_links_is_repaired(
    repo: Path, server_url: str, client: Any, names: dict[str, str], tmp_path: Path
) -> None:
    """The lost update itself, made deterministic: a registration pauses right after
    linking; another writer that read the tag before (an app linking its own prompt,
    as MLflow's load_prompt does in a thread) writes it back without our entries;
    the registration, resumed, reads the model again and links what was lost."""
    import os

    from testing.pause import resume, start_paused

    _registry_prompt(client, names["support"], 1, alias="production")
    _app(repo, server_url, names)
    cmd = [sys.executable, "-m", "mlflow_gitver", "register", "--format", "json"]
    proc = start_paused(tmp_path / "fifos", "linked", cmd, repo, dict(os.environ))
    [model] = client.search_logged_models(
        experiment_ids=[client.get_experiment_by_name(_experiment(repo)).experiment_id]
    )
    assert len(pins.linked(model.tags)) == 2  # linked, not yet checked
    stale = json.dumps([{"name": "app-own", "version": "7"}])
    client.set_logged_model_tags(model.model_id, {pins.LINKED: stale})
    out, err = resume(proc, tmp_path / "fifos")
    assert proc.returncode == 0, err.decode()
    assert json.loads(out)["model_id"] == model.model_id
    got = pins.linked(client.get_logged_model(model.model_id).tags)
    assert got == {("app-own", "7"), (names["support"], "1"), (names["triage"], "1")}


def _experiment(repo: Path) -> str:
    text = (repo / ".mlflow-gitver.yaml").read_text()
    return text.split("experiment: ", 1)[1].split("\n", 1)[0]


def test_the_post_commit_hook_pins_in_the_background(
    repo: Path, server_url: str, client: Any, names: dict[str, str]
) -> None:
    from testing.hooks import settle, versions

    _registry_prompt(client, names["support"], 2, alias="production")
    experiment = _app(repo, server_url, names)
    head = git(repo, "rev-parse", "HEAD").strip()
    r = cli("hook", "post-commit", cwd=repo)
    assert r.returncode == 0, r.stderr
    settle(repo)
    [model] = versions(server_url, experiment)[head]
    assert model.params[f"prompt.{names['support']}"] == "1"  # type: ignore[attr-defined]
    assert len(pins.linked(model.tags)) == 2  # type: ignore[attr-defined]


def test_a_dry_run_says_the_pins_wait_and_register_prints_them(
    repo: Path, server_url: str, client: Any, names: dict[str, str]
) -> None:
    _registry_prompt(client, names["support"], 1, alias="production")
    _app(repo, server_url, names)
    dry = cli("register", "--dry-run", cwd=repo)
    assert dry.returncode == 0, dry.stderr
    assert "prompts: pinned at registration, not by a dry run" in dry.stdout
    assert f"  {names['support']} (alias production)" in dry.stdout
    js = json.loads(cli("register", "--dry-run", "--format", "json", cwd=repo).stdout)
    assert js["prompts_unresolved"] == {
        names["support"]: "alias production",
        names["triage"]: "file prompts/triage.md",
    }
    assert client.get_prompt(names["triage"]) is None
    out = cli("register", cwd=repo)
    assert out.returncode == 0, out.stderr
    assert f"prompts:    {names['support']} 1, {names['triage']} 1" in out.stdout


def test_a_prompt_file_missing_from_the_commit_is_one_line(
    repo: Path, server_url: str, client: Any, names: dict[str, str]
) -> None:
    _registry_prompt(client, names["support"], 1, alias="production")
    _app(repo, server_url, names)
    git(repo, "rm", "-q", "prompts/triage.md")
    commit_all(repo, "lost the rules")
    r = cli("register", cwd=repo)
    assert r.returncode == 2
    [line] = r.stderr.strip().splitlines()
    assert ".mlflow-gitver.yaml:7:5: " in line and "prompts/triage.md is not in the code" in line
    assert client.get_prompt(names["triage"]) is None


def test_the_python_api_pins_too(
    repo: Path, server_url: str, client: Any, names: dict[str, str]
) -> None:
    _registry_prompt(client, names["support"], 1, alias="production")
    _app(repo, server_url, names)
    code = (
        "import json, mlflow_gitver\nm = mlflow_gitver.activate()\nprint(json.dumps(m.model_id))\n"
    )
    r = subprocess.run(
        [sys.executable, "-c", code], cwd=repo, capture_output=True, text=True, timeout=300
    )
    assert r.returncode == 0, r.stderr
    model = client.get_logged_model(json.loads(r.stdout.strip().splitlines()[-1]))
    assert model.params[f"prompt.{names['triage']}"] == "1"


def test_a_scoped_app_pins_its_own_prompts_kept_inside_its_paths(
    repo: Path, server_url: str, client: Any, names: dict[str, str]
) -> None:
    _registry_prompt(client, names["support"], 1, alias="production")
    experiment = f"pins-{uuid.uuid4().hex[:8]}"
    write(
        repo / ".mlflow-gitver.yaml",
        f"experiment: {experiment}\ntracking_uri: {server_url}\n"
        f"prompts: [prompts:/{names['support']}@production]\n"
        "apps:\n"
        "  - name: inside\n    paths: [apps/a]\n"
        f"    prompts:\n      - name: {names['triage']}\n        file: apps/a/triage.md\n"
        "  - name: outside\n    paths: [apps/b]\n"
        "    prompts:\n      - name: shared-rules\n        file: prompts/shared.md\n"
        "  - name: plain\n    paths: [apps/c]\n",
    )
    for d in "abc":
        write(repo / f"apps/{d}/main.py", f"print({d!r})\n")
    write(repo / "apps/a/triage.md", "Rules of a.\n")
    write(repo / "prompts/shared.md", "Shared rules.\n")
    commit_all(repo, "apps")
    ok = _register(repo, "--app", "inside")
    assert ok["prompts"] == {names["triage"]: 1}
    plain = _register(repo, "--app", "plain")
    assert plain["prompts"] == {names["support"]: 1}  # the top level's, inherited
    r = cli("register", "--app", "outside", cwd=repo)
    assert r.returncode == 2
    [line] = r.stderr.strip().splitlines()
    assert "prompts/shared.md is outside the app's paths (apps/b)" in line
    assert ".mlflow-gitver.yaml:13:9: " in line, line
    assert client.get_prompt("shared-rules") is None


def test_a_credential_in_a_prompt_file_is_never_stored(
    repo: Path, server_url: str, client: Any, names: dict[str, str]
) -> None:
    _registry_prompt(client, names["support"], 1, alias="production")
    _app(repo, server_url, names)
    key = "sk-ant-api03-" + "Q7" * 24
    write(repo / "prompts/triage.md", f"Triage {{{{ticket}}}}.\nUse the key {key} for lookups.\n")
    commit_all(repo, "a key in the prompt")
    for cmd in ("register", "check"):
        r = cli(cmd, cwd=repo)
        assert r.returncode == 2, (cmd, r.stdout)
        [line] = r.stderr.strip().splitlines()
        assert "prompts/triage.md:2: a " in line and "stored in MLflow verbatim" in line
        assert key not in r.stdout + r.stderr
    assert client.get_prompt(names["triage"]) is None
