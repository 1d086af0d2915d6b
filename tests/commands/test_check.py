"""``mlflow-gitver check`` through the real CLI: valid configs, and one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from testing.cli import cli
from testing.repos import commit_all, git, write

CONFIG = """\
name: support-agent
model_type: agent
params:
  llm: gpt-4o-mini
  temperature: 0.7
  retrieval:
    strategy: vector_search_v3
  prompt: ${PROMPT_VERSION:-v3}
tags:
  team: support
"""


def head(root: Path) -> str:
    return git(root, "rev-parse", "HEAD").strip()


def one_error_line(out: subprocess.CompletedProcess[str], expected: str) -> None:
    assert out.returncode == 2, (out.stdout, out.stderr)
    assert out.stdout == ""
    assert out.stderr.count("\n") == 1, out.stderr
    assert out.stderr.startswith("mlflow-gitver: error: " + expected), out.stderr


def test_valid_text(repo: Path) -> None:
    write(repo / ".mlflow-gitver.yaml", CONFIG)
    commit_all(repo)
    sha = head(repo)
    out = cli("check", cwd=repo, env=dict(os.environ, PROMPT_VERSION="v7"))
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0] == f"config: {repo / '.mlflow-gitver.yaml'}: valid"
    assert lines[1] == f"model name: support-agent-git-{sha[:8]}"
    assert lines[2] == f"version id: {sha}"
    assert lines[3] == "model type: agent"
    params = lines[lines.index("params:") + 1 : lines.index("tags:")]
    assert params == [
        "  llm = gpt-4o-mini",
        "  prompt = v7",
        "  retrieval.strategy = vector_search_v3",
        "  temperature = 0.7",
    ]
    tags = lines[lines.index("tags:") + 1 :]
    assert "  team = support" in tags
    assert f"  mlflow.source.git.commit = {sha}" in tags
    assert f"  mlflow_gitver.version_id = {sha}" in tags


def test_valid_json_dirty(repo: Path) -> None:
    write(repo / ".mlflow-gitver.yaml", CONFIG)  # untracked: the tree is dirty
    out = cli("check", "--format", "json", cwd=repo)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    sha = head(repo)
    assert data["config"] == str(repo / ".mlflow-gitver.yaml")
    assert data["model_name"].startswith(f"support-agent-git-{sha[:8]}-dirty-")
    assert data["version_id"].startswith(sha[:32] + "-dirty-")
    assert data["model_type"] == "agent"
    assert data["params"] == {
        "llm": "gpt-4o-mini",
        "temperature": "0.7",
        "retrieval.strategy": "vector_search_v3",
        "prompt": "v3",
    }
    assert data["tags"]["team"] == "support"
    assert data["tags"]["mlflow.source.git.dirty"] == "true"
    assert data["tags"]["mlflow_gitver.version_id"] == data["version_id"]


def test_untracked_false_is_honoured(repo: Path) -> None:
    write(repo / ".mlflow-gitver.yaml", "name: app\nuntracked: false\n")
    commit_all(repo)
    write(repo / "scratch.py", "x\n")
    data = json.loads(cli("check", "--format", "json", cwd=repo).stdout)
    assert data["version_id"] == head(repo)


def test_config_flag(repo: Path, tmp_path: Path) -> None:
    cfg = write(tmp_path / "other.yaml", "name: other\n")
    out = cli("check", "--config", str(cfg), cwd=repo)
    assert out.returncode == 0, out.stderr
    assert f"model name: other-git-{head(repo)[:8]}" in out.stdout.splitlines()


def test_commit_reads_that_commits_config(repo: Path) -> None:
    write(repo / ".mlflow-gitver.yaml", "name: old-name\nparams: {v: 1}\n")
    old = commit_all(repo, "old")
    write(repo / ".mlflow-gitver.yaml", "name: new-name\nparams: {v: 2}\n")
    commit_all(repo, "new")
    write(repo / ".mlflow-gitver.yaml", "name: [broken\n")  # the working tree does not matter
    data = json.loads(cli("check", "--commit", old[:10], "--format", "json", cwd=repo).stdout)
    assert data["model_name"] == f"old-name-git-{old[:8]}"
    assert data["version_id"] == old and data["params"] == {"v": "1"}
    assert data["config"] == f"{old[:12]}:.mlflow-gitver.yaml"


def test_commit_errors(repo: Path) -> None:
    one_error_line(cli("check", "--commit", "nope", cwd=repo), "'nope' does not name a commit")
    one_error_line(
        cli("check", "--commit", "HEAD", cwd=repo),
        f"{head(repo)[:12]}:.mlflow-gitver.yaml: no config file in commit",
    )
    write(repo / ".mlflow-gitver.yaml", "name: a\nparam: {}\n")
    sha = commit_all(repo)
    one_error_line(
        cli("check", "--commit", "HEAD", cwd=repo),
        f"{sha[:12]}:.mlflow-gitver.yaml:2:1: unknown key 'param'; did you mean 'params'?",
    )


def test_missing_config(repo: Path) -> None:
    one_error_line(
        cli("check", cwd=repo),
        f"{repo / '.mlflow-gitver.yaml'}: no config file; create one with 'mlflow-gitver init'",
    )


INVALID = [
    ("name: [a\n", ":2:1: YAML syntax error: "),
    ("- a\n", ":1:1: the top level must be a mapping"),
    ("name: a\nparam: {}\n", ":2:1: unknown key 'param'; did you mean 'params'?"),
    ("name: a\nuntracked: 'no'\n", ":2:12: untracked must be true or false"),
    ("experiment: x\n", ":1:1: 'name' is missing"),
    ("name: a.b\n", ":1:7: name 'a.b' contains ., which MLflow refuses"),
    (f"name: a\nparams:\n  {'k' * 251}: 1\n", ":3:3: params."),
    (f"name: a\nparams:\n  x: {'v' * 6001}\n", ":3:6: params.x is 6001 characters long"),
    ("name: a\nparams:\n  x: ${UNSET_VAR}\n", ":3:6: params.x: environment variable UNSET_VAR"),
    ("name: a\ntags:\n  x: ${GH_TOKEN:-x}\n", ":3:6: tags.x reads ${GH_TOKEN}, whose name looks"),
    ("name: a\nparams:\n  a.b: 1\n  a: {b: 2}\n", ":4:7: params.a.b is defined twice"),
    ("name: a\nparams:\n  x: 1\n  x: 2\n", ":4:3: duplicate key 'x' in params"),
    ("name: a\nparams:\n  x: null\n", ":3:6: params.x is null"),
    ("name: a\nname_template: '{nme}-{sha}'\n", ":2:16: name_template: unknown field {nme}"),
]


@pytest.mark.parametrize(("text", "expected"), INVALID)
def test_invalid_config_one_line_exit_2(repo: Path, text: str, expected: str) -> None:
    path = write(repo / ".mlflow-gitver.yaml", text)
    out = cli("check", cwd=repo)
    one_error_line(out, f"{path}{expected}")


def test_secret_value_never_printed(repo: Path) -> None:
    write(repo / ".mlflow-gitver.yaml", "name: a\nparams:\n  k: ${OPENAI_API_KEY}\n")
    out = cli("check", cwd=repo, env=dict(os.environ, OPENAI_API_KEY="sk-very-secret"))
    assert out.returncode == 2
    assert "sk-very-secret" not in out.stdout + out.stderr


def test_tracking_uri_credentials_not_printed(repo: Path) -> None:
    write(
        repo / ".mlflow-gitver.yaml", "name: a\ntracking_uri: https://u:${PW}@h/\nparams: {x: 1}\n"
    )
    out = cli("check", cwd=repo, env=dict(os.environ, PW="hunter2"))
    assert out.returncode == 0, out.stderr
    assert "hunter2" not in out.stdout + out.stderr


def test_before_the_first_commit_check_says_what_the_first_commit_becomes(
    tmp_path: Path,
) -> None:
    from testing.repos import init_repo

    root = init_repo(tmp_path / "new", branch="trunk")
    write(root / ".mlflow-gitver.yaml", CONFIG)
    out = cli("check", cwd=root)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0] == f"config: {root / '.mlflow-gitver.yaml'}: valid"
    assert lines[1] == f"no commit yet in {root}: the first commit will be registered as"
    assert lines[2].startswith("model name: support-agent-git-<short sha> ")
    assert "  temperature = 0.7" in lines
    data = json.loads(cli("check", "--format", "json", cwd=root).stdout)
    assert data["commit"] is None and data["model_name"] == "support-agent-git-<short sha>"
    assert data["params"]["llm"] == "gpt-4o-mini"
    # name_template fields are filled in where they are known.
    write(root / ".mlflow-gitver.yaml", "name: a\nname_template: '{name}-{branch}-{sha}'\n")
    data = json.loads(cli("check", "--format", "json", cwd=root).stdout)
    assert data["model_name"] == "a-trunk-<commit>"
    # An invalid config is still the usual one-line error.
    path = write(root / ".mlflow-gitver.yaml", "name: a\nparam: {}\n")
    one_error_line(cli("check", cwd=root), f"{path}:2:1: unknown key 'param'")


@pytest.mark.parametrize("command", ["register", "env"])
def test_before_the_first_commit_register_says_it_needs_one(tmp_path: Path, command: str) -> None:
    from testing.repos import init_repo

    root = init_repo(tmp_path / "new")
    write(root / ".mlflow-gitver.yaml", CONFIG)
    one_error_line(
        cli(command, cwd=root),
        f"{command} needs a commit: {root} has none yet; commit your code (git add -A && "
        f"git commit -m 'first version'), then run 'mlflow-gitver {command}' again",
    )
    assert not (root / "mlflow.db").exists()
    path = write(root / ".mlflow-gitver.yaml", "name: a\nparam: {}\n")
    one_error_line(cli(command, cwd=root), f"{path}:2:1: unknown key 'param'")


@pytest.mark.parametrize("dirty", [False, True])
def test_check_shows_the_tags_register_sends(repo: Path, dirty: bool) -> None:
    """Before issue 12 `check` printed 5 tags where `register --dry-run` printed 9
    (no commit facts, no repository URL, no app tag, no diff) for the same state."""
    write(repo / ".mlflow-gitver.yaml", CONFIG)
    git(repo, "remote", "add", "origin", "https://user:s3cret@example.com/org/app.git")
    commit_all(repo, "config")
    if dirty:
        write(repo / "app.py", "token = 'not a secret'\n")
    checked = cli("check", "--format", "json", cwd=repo)
    planned = cli("register", "--dry-run", "--format", "json", cwd=repo)
    assert checked.returncode == 0 and planned.returncode == 0, checked.stderr + planned.stderr
    check_tags = json.loads(checked.stdout)["tags"]
    assert check_tags == json.loads(planned.stdout)["tags"]
    assert "mlflow.source.git.repoURL" in check_tags and "s3cret" not in checked.stdout
    assert ("mlflow.source.git.diff" in check_tags) is dirty
    # The text forms list the same tags, the same way.
    text = cli("check", cwd=repo).stdout.splitlines()
    dry = cli("register", "--dry-run", cwd=repo).stdout.splitlines()
    tags_of = lambda lines: lines[lines.index("tags:") + 1 :][: len(check_tags)]  # noqa: E731
    assert tags_of(text) == tags_of(dry)
    assert len(tags_of(text)) == len(check_tags)
