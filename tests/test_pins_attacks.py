"""Attacks on prompts pinned at registration (pins.py, config_prompts.py): each
README promise of the Prompts section tried the way real repositories, stores
and servers break it.  Real parts only: real git repos, the real server fixture,
the real CLI in new processes."""

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
from testing.cli import cli
from testing.repos import commit_all, git, write


@pytest.fixture
def client(server_url: str) -> Iterator[Any]:
    import mlflow

    yield mlflow.MlflowClient(tracking_uri=server_url)


def _tag() -> str:
    return uuid.uuid4().hex[:8]


def _config(repo: Path, server_url: str | None, entries: str, extra: str = "") -> str:
    """A config with ``entries`` as its ``prompts:`` list; the experiment's name."""
    experiment = f"attack-{_tag()}"
    uri = f"tracking_uri: {server_url}\n" if server_url else ""
    write(
        repo / ".mlflow-gitver.yaml",
        f"name: attacked\nexperiment: {experiment}\n{uri}{extra}prompts:\n{entries}",
    )
    return experiment


def _file_entry(name: str, path: str) -> str:
    return f"  - name: {name}\n    file: {path}\n"


def _register(repo: Path, *args: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    r = cli("register", "--format", "json", *args, cwd=repo, env=env)
    assert r.returncode == 0, r.stderr
    return dict(json.loads(r.stdout))


def _one_line_error(r: subprocess.CompletedProcess[str], code: int = 2) -> str:
    assert r.returncode == code, (r.returncode, r.stdout, r.stderr)
    assert "Traceback" not in r.stderr, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    return lines[0]


def _versions(client: Any, name: str) -> list[int]:
    return sorted(int(v.version) for v in client.search_prompt_versions(name))


# --- registry prompts ----------------------------------------------------------------


def test_at_latest_pins_the_newest_version(repo: Path, server_url: str, client: Any) -> None:
    """README: "@latest: the newest"."""
    name = f"latest-{_tag()}"
    client.create_prompt(name)
    for i in range(3):
        client.create_prompt_version(name, f"v{i + 1}")
    _config(repo, server_url, f"  - prompts:/{name}@latest\n")
    commit_all(repo, "latest")
    reg = _register(repo)
    assert reg["prompts"] == {name: 3}
    client.create_prompt_version(name, "v4")
    r = cli("resolve", cwd=repo)
    line = _one_line_error(r, 1)
    assert f"prompt.{name}: registered '3', now '4'" in line


def test_dotted_and_dashed_names_pin_and_link(repo: Path, server_url: str, client: Any) -> None:
    """Names MLflow allows (dots, dashes, underscores) are params and links as written."""
    t = _tag()
    reg_name, file_name = f"team.support-{t}_v", f"rules.{t}-x"
    client.create_prompt(reg_name)
    client.create_prompt_version(reg_name, "hello")
    client.set_prompt_alias(reg_name, "prod", 1)
    _config(
        repo, server_url, f"  - prompts:/{reg_name}@prod\n" + _file_entry(file_name, "rules.md")
    )
    write(repo / "rules.md", "Be kind.\n")
    commit_all(repo, "dotted")
    reg = _register(repo)
    model = client.get_logged_model(reg["model_id"])
    assert model.params[f"prompt.{reg_name}"] == "1"
    assert model.params[f"prompt.{file_name}"] == "1"
    assert pins.linked(model.tags) == {(reg_name, "1"), (file_name, "1")}


@pytest.mark.parametrize("name", ["règles", "a b", "a/b"])
def test_a_name_mlflow_refuses_is_a_config_error(repo: Path, name: str) -> None:
    write(
        repo / ".mlflow-gitver.yaml",
        f"name: attacked\nprompts:\n  - name: '{name}'\n    file: README.md\n",
    )
    commit_all(repo, "bad name")
    r = cli("register", "--dry-run", cwd=repo)
    line = _one_line_error(r)
    assert ".mlflow-gitver.yaml:3:" in line and "prompt name" in line


def _a_registered_model(client: Any) -> str:
    """A registered *model* with one version (MLflow keeps prompts in the model
    registry, so the name is taken for prompts too)."""
    name = f"model-not-prompt-{_tag()}"
    client.create_registered_model(name)
    client.create_model_version(name, source="s3://bucket/model")
    return name


def test_a_registry_pin_of_a_registered_models_name_is_an_unknown_prompt(
    repo: Path, server_url: str, client: Any
) -> None:
    name = _a_registered_model(client)
    _config(repo, server_url, f"  - prompts:/{name}/1\n")
    commit_all(repo, "a model's name")
    line = _one_line_error(cli("register", cwd=repo))
    assert ".mlflow-gitver.yaml:5:5: " in line and f"there is no prompt {name!r}" in line


def test_a_file_prompt_named_like_a_registered_model_is_refused_up_front(
    repo: Path, server_url: str, client: Any
) -> None:
    name = _a_registered_model(client)
    before = f"before-{_tag()}"
    _config(repo, server_url, _file_entry(before, "app.py") + _file_entry(name, "README.md"))
    commit_all(repo, "a model's name")
    r = cli("register", cwd=repo)
    try:
        line = _one_line_error(r)
        assert ".mlflow-gitver.yaml:7:5: " in line and "registered as a model" in line, line
        assert client.get_prompt(before) is None  # nothing created before the refusal
    finally:
        assert len(client.search_model_versions(f"name='{name}'")) == 1


def test_a_numeric_alias_pins_what_mlflow_itself_loads(
    repo: Path, server_url: str, client: Any
) -> None:
    """``@3``: MLflow's own look-up reads a number after '@' as the version (its
    store's get_prompt_version tries int() first), so the app's load_prompt runs
    version 3 whatever an alias named '3' says; the pin must agree with it."""
    name = f"numeric-{_tag()}"
    client.create_prompt(name)
    for i in range(3):
        client.create_prompt_version(name, f"v{i + 1}")
    client.set_prompt_alias(name, "3", 1)
    _config(repo, server_url, f"  - prompts:/{name}@3\n")
    commit_all(repo, "numeric alias")
    loaded = int(client.get_prompt_version_by_alias(name, "3").version)
    assert _register(repo)["prompts"] == {name: loaded}


# --- file prompts: what a repository can hold ----------------------------------------------


def test_two_entries_sharing_a_file_each_pin_their_own_prompt(
    repo: Path, server_url: str, client: Any
) -> None:
    a, b = f"shared-a-{_tag()}", f"shared-b-{_tag()}"
    _config(repo, server_url, _file_entry(a, "p.md") + _file_entry(b, "./p.md"))
    write(repo / "p.md", "One text, two prompts.\n")
    commit_all(repo, "shared")
    reg = _register(repo)
    assert reg["prompts"] == {a: 1, b: 1}
    model = client.get_logged_model(reg["model_id"])
    assert pins.linked(model.tags) == {(a, "1"), (b, "1")}


def test_crlf_and_bom_are_stored_byte_for_byte(repo: Path, server_url: str, client: Any) -> None:
    name = f"crlf-{_tag()}"
    text = "\ufeffLine one\r\nLine two {{x}}\r\n"
    _config(repo, server_url, _file_entry(name, "p.md"))
    write(repo / "p.md", text.encode("utf-8"))
    commit_all(repo, "crlf")
    assert _register(repo)["prompts"] == {name: 1}
    pv = client.get_prompt_version(name, 1)
    assert pv.template == text
    assert pv.tags[pins.TAG_DIGEST] == pins.digest(text.encode("utf-8"))


def test_an_oversized_prompt_file_is_refused_before_anything_is_created(
    repo: Path, server_url: str, client: Any
) -> None:
    """README: "Nothing is created before every entry is checked ... an error leaves
    no prompt version behind".  MLflow refuses a prompt text over 100,000
    characters; a 1 MB file must be refused up front, as one line naming the file."""
    small, big = f"small-{_tag()}", f"big-{_tag()}"
    _config(repo, server_url, _file_entry(small, "small.md") + _file_entry(big, "big.md"))
    write(repo / "small.md", "Small and new.\n")
    write(repo / "big.md", ("x" * 1023 + "\n") * 1024)
    commit_all(repo, "huge prompt")
    for cmd in ("register", "check"):
        line = _one_line_error(cli(cmd, cwd=repo))
        assert ".mlflow-gitver.yaml:" in line and "big.md" in line, line
    assert client.get_prompt(small) is None
    assert client.get_prompt(big) is None


def test_an_empty_prompt_file_is_refused_before_anything_is_created(
    repo: Path, server_url: str, client: Any
) -> None:
    """MLflow refuses an empty template; the refusal must be ours, up front, one line."""
    first, empty = f"first-{_tag()}", f"empty-{_tag()}"
    _config(repo, server_url, _file_entry(first, "first.md") + _file_entry(empty, "empty.md"))
    write(repo / "first.md", "Something.\n")
    write(repo / "empty.md", "")
    commit_all(repo, "empty prompt")
    r = cli("register", cwd=repo)
    if r.returncode == 0:  # MLflow took it: the empty template must round-trip
        reg = json.loads(cli("register", "--format", "json", cwd=repo).stdout)
        assert client.get_prompt_version(empty, reg["prompts"][empty]).template == ""
        return
    line = _one_line_error(r)
    assert "empty.md" in line and ".mlflow-gitver.yaml:" in line, line
    assert client.get_prompt(first) is None
    assert client.get_prompt(empty) is None


def test_a_directory_named_as_the_file_says_so(repo: Path, server_url: str) -> None:
    name = f"dir-{_tag()}"
    _config(repo, server_url, _file_entry(name, "prompts"))
    write(repo / "prompts" / "a.md", "A.\n")
    commit_all(repo, "a directory")
    line = _one_line_error(cli("register", cwd=repo))
    assert "prompts is a directory, not a file" in line, line


@pytest.mark.parametrize("path", ["prompts/./triage.md", "prompts//triage.md"])
def test_a_path_with_dot_or_empty_segments_reads_the_same_clean_and_dirty(
    repo: Path, server_url: str, client: Any, path: str
) -> None:
    """The commit's reader (git cat-file REV:PATH) and the working tree's must agree
    on the file a path names, or a clean registration fails that a dirty one passes."""
    name = f"seg-{_tag()}"
    _config(repo, server_url, _file_entry(name, path))
    write(repo / "prompts/triage.md", "Triage.\n")
    commit_all(repo, "odd path")
    clean = _register(repo)
    assert clean["prompts"] == {name: 1}
    write(repo / "app.py", "print('dirty')\n")
    dirty = _register(repo)
    assert dirty["dirty"] and dirty["prompts"] == {name: 1}
    [v] = client.search_prompt_versions(name)
    assert v.tags[pins.TAG_FILE] == "prompts/triage.md"


def test_a_symlinked_prompt_file_is_refused(
    repo: Path, server_url: str, client: Any, tmp_path: Path
) -> None:
    """A prompt file committed as a symlink: the commit holds the link's target path,
    not a prompt (a clean registration would store 'the path' as the template), and
    the working tree's link may point outside the repository (a dirty registration
    would upload whatever file it points at).  Refused, clean and dirty alike."""
    name = f"link-{_tag()}"
    outside = write(tmp_path / "outside" / "private.txt", "not part of the code\n")
    _config(repo, server_url, _file_entry(name, "prompts/triage.md"))
    (repo / "prompts").mkdir()
    os.symlink(os.path.relpath(outside, repo / "prompts"), repo / "prompts/triage.md")
    commit_all(repo, "a symlink")
    line = _one_line_error(cli("register", cwd=repo))
    assert "prompts/triage.md" in line and "symlink" in line, line
    write(repo / "app.py", "print('dirty')\n")
    line = _one_line_error(cli("register", cwd=repo))
    assert "prompts/triage.md" in line and "symlink" in line, line
    assert client.get_prompt(name) is None


def test_an_ignored_prompt_file_in_a_dirty_tree_is_not_the_code(
    repo: Path, server_url: str, client: Any
) -> None:
    """README: a prompt file is read "from the code being registered ... the working
    tree for a dirty version".  A file git ignores is in no version (its id does not
    cover it), so pinning it would give one version id different pins from one
    edit of it to the next (a conflict that names no change of the code)."""
    name = f"ignored-{_tag()}"
    _config(repo, server_url, _file_entry(name, "local/prompt.md"))
    write(repo / ".gitignore", "local/\n")
    commit_all(repo, "config")
    write(repo / "local/prompt.md", "Only on my machine.\n")
    write(repo / "app.py", "print('dirty')\n")  # dirty for another reason
    line = _one_line_error(cli("register", cwd=repo))
    assert "local/prompt.md" in line, line
    assert client.get_prompt(name) is None


def test_an_untracked_prompt_file_with_untracked_false_is_not_the_code(
    repo: Path, server_url: str, client: Any
) -> None:
    """``untracked: false``: untracked files are not part of a version, so an
    untracked prompt file is not either, dirty tree or not."""
    name = f"untracked-{_tag()}"
    _config(repo, server_url, _file_entry(name, "new.md"), extra="untracked: false\n")
    commit_all(repo, "config")
    write(repo / "new.md", "Not committed.\n")
    first = cli("register", cwd=repo)  # clean: refused (not in the commit)
    assert "new.md is not in the code" in _one_line_error(first)
    write(repo / "app.py", "print('dirty')\n")
    line = _one_line_error(cli("register", cwd=repo))
    assert "new.md" in line, line
    assert client.get_prompt(name) is None


def test_an_untracked_prompt_file_counted_by_the_version_is_pinned(
    repo: Path, server_url: str, client: Any
) -> None:
    """With ``untracked: true`` (the default) an untracked file is part of the dirty
    version: pinned from the working tree, and its change is a new version id."""
    name = f"untracked-ok-{_tag()}"
    _config(repo, server_url, _file_entry(name, "new.md"))
    commit_all(repo, "config")
    write(repo / "new.md", "Draft one.\n")
    one = _register(repo)
    write(repo / "new.md", "Draft two.\n")
    two = _register(repo)
    assert one["dirty"] and two["dirty"] and one["version_id"] != two["version_id"]
    assert (one["prompts"][name], two["prompts"][name]) == (1, 2)


def test_an_unchanged_crlf_checkout_pins_the_same_version_dirty_or_clean(
    repo: Path, server_url: str, client: Any
) -> None:
    """``eol=crlf``: git stores LF and checks out CRLF.  The file is unchanged, so a
    dirty registration (another file edited) must pin the version the clean one
    did: the same content always pins the same version."""
    name = f"eol-{_tag()}"
    _config(repo, server_url, _file_entry(name, "p.md"))
    write(repo / ".gitattributes", "*.md text eol=crlf\n")
    write(repo / "p.md", "Line one\nLine two\n")
    commit_all(repo, "eol")
    git(repo, "rm", "-q", "--cached", "p.md")
    (repo / "p.md").unlink()
    git(repo, "checkout", "--", ".")
    git(repo, "checkout", "HEAD", "--", "p.md")
    assert (repo / "p.md").read_bytes() == b"Line one\r\nLine two\r\n"
    assert git(repo, "status", "--porcelain") == ""
    clean = _register(repo)
    write(repo / "app.py", "print('dirty')\n")
    dirty = _register(repo)
    assert dirty["dirty"]
    assert dirty["prompts"][name] == clean["prompts"][name], _versions(client, name)


# --- secrets -------------------------------------------------------------------------------


def test_secrets_off_stores_a_credential_and_redact_refuses_it(
    repo: Path, server_url: str, client: Any
) -> None:
    name = f"secret-{_tag()}"
    key = "sk-ant-api03-" + "Z9" * 24
    _config(repo, server_url, _file_entry(name, "p.md"), extra="secrets: redact\n")
    write(repo / "p.md", f"Use {key}.\n")
    commit_all(repo, "a key")
    line = _one_line_error(cli("register", cwd=repo))
    assert "p.md:1:" in line and key not in line
    cfg = repo / ".mlflow-gitver.yaml"
    write(cfg, cfg.read_text().replace("secrets: redact", "secrets: off"))
    commit_all(repo, "secrets off")
    reg = _register(repo)
    assert client.get_prompt_version(name, reg["prompts"][name]).template == f"Use {key}.\n"


# --- stores, servers and processes -------------------------------------------------------


def test_the_embedded_store_pins_and_links_from_a_subdirectory(repo: Path) -> None:
    """No tracking URI anywhere: the embedded SQLite store at the repository root,
    registered from a subdirectory (MLflow's link reads the model through its global
    tracking store, which must be that same file)."""
    import mlflow

    name = f"embedded-{_tag()}"
    _config(repo, None, _file_entry(name, "p.md"))
    write(repo / "p.md", "Embedded.\n")
    write(repo / "sub/x.py", "X = 1\n")
    commit_all(repo, "embedded")
    reg = _register(repo / "sub")
    assert reg["prompts"] == {name: 1}
    assert not (repo / "sub" / "mlflow.db").exists()
    local = mlflow.MlflowClient(tracking_uri=f"sqlite:///{repo / 'mlflow.db'}")
    model = local.get_logged_model(reg["model_id"])
    assert pins.linked(model.tags) == {(name, "1")}
    check = cli("check", "--format", "json", cwd=repo)
    assert check.returncode == 0, check.stderr
    assert json.loads(check.stdout)["prompts"] == {name: 1}


def test_check_before_the_embedded_store_exists_creates_nothing(repo: Path) -> None:
    name = f"nostore-{_tag()}"
    _config(repo, None, _file_entry(name, "README.md"))
    commit_all(repo, "no store")
    r = cli("check", "--format", "json", cwd=repo)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["prompts"] is None and "no MLflow store" in out["prompts_unresolved"]
    assert not (repo / "mlflow.db").exists()


@pytest.mark.parametrize("status", [500, 404, 503])
def test_a_server_answering_errors(repo: Path, status: int) -> None:
    """README: check "When ... the server does not answer, it says the pins are
    unresolved, and why, and exits 0"; register fails in one line, no traceback."""
    from testing.server import StatusServer

    name = f"status-{_tag()}"
    env = {**os.environ, "MLFLOW_GITVER_RETRY_SECONDS": "0.5"}
    with StatusServer(status) as srv:
        _config(repo, f"http://127.0.0.1:{srv.port}", _file_entry(name, "README.md"))
        commit_all(repo, "erring server")
        reg = cli("register", cwd=repo, env=env)
        assert reg.returncode != 0
        assert "Traceback" not in reg.stderr and len(reg.stderr.strip().splitlines()) == 1
        chk = cli("check", cwd=repo, env=env)
    assert "Traceback" not in chk.stderr, chk.stderr
    assert chk.returncode in (0, 2), (chk.stdout, chk.stderr)


def test_kill_after_the_prompt_version_is_created_then_again(
    repo: Path, server_url: str, client: Any
) -> None:
    """SIGKILL right after the file's prompt version is created (before the model):
    the next registration reuses that version, and makes one model with its link."""
    name = f"killed-{_tag()}"
    experiment = _config(repo, server_url, _file_entry(name, "p.md"))
    write(repo / "p.md", "Killed once.\n")
    commit_all(repo, "kill")
    r = cli("register", cwd=repo, env={**os.environ, "MLFLOW_GITVER_FAULT": "prompt-created"})
    assert r.returncode == -9, (r.returncode, r.stderr)
    assert _versions(client, name) == [1]
    eid = client.get_experiment_by_name(experiment)
    assert eid is None or not client.search_logged_models(experiment_ids=[eid.experiment_id])
    reg = _register(repo)
    assert reg["prompts"] == {name: 1} and _versions(client, name) == [1]
    assert pins.linked(client.get_logged_model(reg["model_id"]).tags) == {(name, "1")}


def test_a_pinned_version_deleted_before_linking_is_one_line(
    repo: Path, server_url: str, client: Any, tmp_path: Path
) -> None:
    """A person deletes the pinned registry version between the pin and the link."""
    from testing.pause import resume, start_paused

    name = f"deleted-{_tag()}"
    client.create_prompt(name)
    client.create_prompt_version(name, "v1")
    client.create_prompt_version(name, "v2")
    _config(repo, server_url, f"  - prompts:/{name}/2\n")
    commit_all(repo, "pin 2")
    cmd = [sys.executable, "-m", "mlflow_gitver", "register"]
    proc = start_paused(tmp_path / "fifos", "pinned", cmd, repo, dict(os.environ))
    client.delete_prompt_version(name, "2")
    _out, err = resume(proc, tmp_path / "fifos")
    text = err.decode()
    assert proc.returncode in (1, 2), text
    assert "Traceback" not in text and len(text.strip().splitlines()) == 1, text
    assert name in text


def test_links_go_to_the_chosen_server_when_the_environment_names_another(
    repo: Path, server_url: str, client: Any, tmp_path: Path
) -> None:
    """MLflow's link reads the model through its *global* tracking URI, which here
    (MLFLOW_TRACKING_URI) is another store than --tracking-uri's: the pins, the
    prompt version and the links all land at --tracking-uri's server, and the other
    store is never made."""
    name = f"envuri-{_tag()}"
    _config(repo, None, _file_entry(name, "p.md"))
    write(repo / "p.md", "Where the flag says.\n")
    commit_all(repo, "env uri")
    other = tmp_path / "other.db"
    env = {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{other}"}
    reg = _register(repo, "--tracking-uri", server_url, env=env)
    assert pins.linked(client.get_logged_model(reg["model_id"]).tags) == {(name, "1")}
    assert _versions(client, name) == [1]
    assert not other.exists()


def test_a_library_caller_keeps_its_own_global_tracking_uri(
    repo: Path, server_url: str, client: Any, tmp_path: Path
) -> None:
    """The link call's temporary switch of MLflow's global URI is undone: a caller of
    register_state (the library path every command uses) finds its URI as it was."""
    name = f"lib-{_tag()}"
    _config(repo, server_url, _file_entry(name, "p.md"))
    write(repo / "p.md", "Library.\n")
    commit_all(repo, "lib")
    other = f"sqlite:///{tmp_path / 'other.db'}"
    r = cli("register", "--format", "json", cwd=repo)
    assert r.returncode == 0, r.stderr
    probe = (
        "import mlflow\n"
        "from mlflow_gitver import mlflow_api, tracking\n"
        f"mlflow.set_tracking_uri({other!r})\n"
        f"with tracking.mlflow_env({server_url!r}):\n"
        f"    edge = mlflow_api.connect({server_url!r})\n"
        f"    mlflow_api.link_prompt(edge, {name!r}, 1, {json.loads(r.stdout)['model_id']!r})\n"
        "print(mlflow.get_tracking_uri())\n"
    )
    p = subprocess.run(
        [sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True, timeout=300
    )
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip().splitlines()[-1] == other


# --- resolve in a deploy bundle, check's json, {params_digest} --------------------------


def test_resolve_in_a_bundle_without_git_reads_the_files_beside_the_config(
    repo: Path, server_url: str, client: Any, tmp_path: Path
) -> None:
    name = f"bundle-{_tag()}"
    _config(repo, server_url, _file_entry(name, "prompts/p.md"))
    write(repo / "prompts/p.md", "Deployed.\n")
    sha = commit_all(repo, "bundle")
    reg = _register(repo)
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    for rel in (".mlflow-gitver.yaml", "prompts/p.md", "app.py"):
        write(bundle / rel, (repo / rel).read_bytes())
    for flag in ("--version-id", "--commit"):
        r = cli("resolve", flag, sha, cwd=bundle)
        assert (r.returncode, r.stdout.strip()) == (0, reg["model_id"]), r.stderr
    write(bundle / "prompts/p.md", "Edited in the bundle.\n")
    r = cli("resolve", "--version-id", sha, cwd=bundle)
    line = _one_line_error(r, 1)
    assert "prompts/p.md" in line and "has no prompt version" in line
    (bundle / "prompts/p.md").unlink()
    line = _one_line_error(cli("resolve", "--version-id", sha, cwd=bundle))
    assert "prompts/p.md" in line


def test_check_json_and_params_digest_follow_the_pins(
    repo: Path, server_url: str, client: Any
) -> None:
    name = f"digest-{_tag()}"
    client.create_prompt(name)
    client.create_prompt_version(name, "v1")
    client.create_prompt_version(name, "v2")
    client.set_prompt_alias(name, "prod", 1)
    _config(
        repo,
        server_url,
        f"  - prompts:/{name}@prod\n",
        extra="name_template: '{name}-{short_sha}-{params_digest}'\n",
    )
    commit_all(repo, "digest")
    first = _register(repo)
    chk = json.loads(cli("check", "--format", "json", cwd=repo).stdout)
    assert chk["prompts"] == {name: 1}
    client.set_prompt_alias(name, "prod", 2)
    chk2 = json.loads(cli("check", "--format", "json", cwd=repo).stdout)
    assert chk2["prompts"] == {name: 2}
    second = _register(repo)
    assert second["model_id"] != first["model_id"]
    assert second["model_name"] != first["model_name"]
    r = cli("resolve", cwd=repo)
    assert (r.returncode, r.stdout.strip()) == (0, second["model_id"])
    client.set_prompt_alias(name, "prod", 1)
    r = cli("resolve", cwd=repo)
    assert (r.returncode, r.stdout.strip()) == (0, first["model_id"])


# --- hooks -----------------------------------------------------------------------------


def test_pre_push_pins_each_pushed_commit_from_its_own_tree(
    repo: Path, server_url: str, client: Any, tmp_path: Path
) -> None:
    """Three pushed commits, the prompt file changed and changed back, and a dirty
    working tree with a third text: each commit pins its own file (read from the
    commit, not the checkout), and the changed-back one its first version again."""
    from testing.hooks import versions

    name = f"push-{_tag()}"
    experiment = _config(
        repo, server_url, _file_entry(name, "p.md"), extra="hooks:\n  pre_push: {all: true}\n"
    )
    write(repo / "p.md", "First.\n")
    base = commit_all(repo, "config")
    remote = tmp_path / "remote.git"
    subprocess.run(["git", "init", "-q", "--bare", str(remote)], check=True)
    git(repo, "remote", "add", "origin", str(remote))
    git(repo, "push", "-q", "origin", "main")
    shas = []
    for text in ("Second.\n", "Third.\n", "Second.\n"):
        write(repo / "p.md", text)
        shas.append(commit_all(repo, text))
    write(repo / "p.md", "Working tree only.\n")
    stdin = f"refs/heads/main {shas[-1]} refs/heads/main {base}\n".encode()
    proc = cli("hook", "pre-push", "origin", str(remote), cwd=repo, input=stdin)
    assert proc.returncode == 0, proc.stderr
    found = versions(server_url, experiment)
    pinned = [found[s][0].params[f"prompt.{name}"] for s in shas]  # type: ignore[attr-defined]
    assert pinned[0] == pinned[2] and pinned[0] != pinned[1]
    for v in client.search_prompt_versions(name):
        assert v.template != "Working tree only.\n"


def test_an_unreadable_prompt_file_is_one_line_in_a_dirty_tree_and_a_bundle(
    repo: Path, server_url: str, client: Any, tmp_path: Path
) -> None:
    """The dirty tree's read is guarded by the git state (held); a deploy bundle has
    no git state, so the prompt read itself must say it (it was a traceback)."""
    from testing.cli import cli_without_root_powers

    name = f"unreadable-{_tag()}"
    _config(repo, server_url, _file_entry(name, "p.md"))
    write(repo / "p.md", "Readable.\n")
    sha = commit_all(repo, "readable")
    _register(repo)
    bundle = tmp_path / "bundle"
    for rel in (".mlflow-gitver.yaml", "p.md"):
        write(bundle / rel, (repo / rel).read_bytes())
    write(repo / "p.md", "Changed, then locked.\n")
    for where, args in ((repo, ("register",)), (bundle, ("resolve", "--version-id", sha))):
        (where / "p.md").chmod(0)
        try:
            r = cli_without_root_powers(*args, cwd=where)
        finally:
            (where / "p.md").chmod(0o644)
        line = _one_line_error(r)
        assert "p.md" in line and "Permission denied" in line, line
    assert _versions(client, name) == [1]


def test_check_never_shows_a_model_name_registration_will_not_make(
    repo: Path, server_url: str
) -> None:
    name = f"newname-{_tag()}"
    _config(
        repo,
        server_url,
        _file_entry(name, "p.md"),
        extra="name_template: '{name}-{short_sha}-{params_digest}'\n",
    )
    write(repo / "p.md", "Brand new.\n")
    commit_all(repo, "new prompt, digest in the name")
    chk = cli("check", "--format", "json", cwd=repo)
    assert chk.returncode == 0, chk.stderr
    shown = json.loads(chk.stdout)
    assert shown["model_name"] is None  # decided at registration
    assert "mlflow_gitver.params_digest" not in shown["tags"]
    text = cli("check", cwd=repo).stdout
    assert "model name: decided at registration ({params_digest} covers the pin" in text
    reg = _register(repo)
    from mlflow import MlflowClient

    from mlflow_gitver.naming import params_digest

    model = MlflowClient(tracking_uri=server_url).get_logged_model(reg["model_id"])
    assert f"prompt.{name}" in model.params
    assert reg["model_name"].endswith("-" + params_digest(model.params))
