"""context.py: which repository (--repo wins over GIT_DIR), which config."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mlflow_gitver import context
from mlflow_gitver.config import CONFIG_NAME
from mlflow_gitver.errors import GitverError
from testing.repos import init_repo as _repo


def test_repo_start_without_repo_keeps_git_env(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    assert context.repo_start(None) == (Path.cwd(), True)


def test_repo_start_with_repo_drops_git_env(tmp_path: Path) -> None:
    rel = os.path.relpath(tmp_path)
    assert context.repo_start(rel) == (tmp_path.resolve(), False)
    assert context.repo_start(tmp_path) == (tmp_path.resolve(), False)


def test_explicit_repo_wins_over_git_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """As in a hook: GIT_DIR names the repository git runs for; --repo another."""
    hooked, asked = _repo(tmp_path / "hooked"), _repo(tmp_path / "asked")
    monkeypatch.setenv("GIT_DIR", str(hooked / ".git"))
    monkeypatch.setenv("GIT_WORK_TREE", str(hooked))
    monkeypatch.chdir(hooked)
    assert context.open_repo(None).root.resolve() == hooked.resolve()
    assert context.open_repo(asked).root.resolve() == asked.resolve()
    assert context.open_repo(str(asked)).root.resolve() == asked.resolve()


def test_open_repo_if_any_is_none_only_without_an_explicit_repo(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """`show m-...` works outside a checkout; a wrong --repo is still an error."""
    outside = tmp_path / "not-a-repo"
    outside.mkdir()
    monkeypatch.chdir(outside)
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    assert context.open_repo_if_any(None) is None
    with pytest.raises(GitverError, match="not inside a git repository"):
        context.open_repo_if_any(outside)
    repo = _repo(tmp_path / "r")
    found = context.open_repo_if_any(repo)
    assert found is not None and found.root.resolve() == repo.resolve()


def test_config_path_default_and_explicit(tmp_path: Path) -> None:
    repo = context.open_repo(_repo(tmp_path / "r"))
    assert context.config_path(repo, None) == repo.root / CONFIG_NAME
    assert context.config_path(repo, tmp_path / "c.yaml") == tmp_path / "c.yaml"


def test_untracked_setting_reads_only_its_key(tmp_path: Path) -> None:
    root = _repo(tmp_path / "r")
    repo = context.open_repo(root)
    assert context.untracked_setting(repo, None) is True  # no file: the default
    (root / CONFIG_NAME).write_text("name: a\nuntracked: false\nparams:\n  x: ${UNSET}\n")
    assert context.untracked_setting(repo, None) is False
    (root / CONFIG_NAME).write_text("name: a\nuntracked: 'no'\n")
    with pytest.raises(Exception, match=r":2:12: untracked must be true or false"):
        context.untracked_setting(repo, None)


@pytest.mark.parametrize("text", ["apps: [{name: a, paths: [x]}]\n", "name: a\npaths: [x]\n"])
def test_unscoped_refuses_a_scoped_config_for_a_caller_that_cannot_scope(text: str) -> None:
    from mlflow_gitver.config import parse_config

    with pytest.raises(
        GitverError, match=r"show without VERSION cannot handle '\w+:' configs yet"
    ) as e:
        context.unscoped(parse_config(text, "cfg.yaml", {}), "show without VERSION")
    assert e.value.exit_code == 2


def test_lookup_config_path_reads_the_option_the_clone_or_the_bundle(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mlflow_gitver import git as gitmod
    from mlflow_gitver.context import lookup_config_path
    from testing.repos import write

    root = _repo(tmp_path / "clone")
    repo = gitmod.discover(root)
    given = tmp_path / "elsewhere.yaml"
    assert lookup_config_path(repo, given, None) == given  # the option, even if absent
    assert lookup_config_path(repo, None, None) is None
    with pytest.raises(GitverError, match="--app a needs a config") as e:
        lookup_config_path(repo, None, "a")
    assert e.value.exit_code == 2
    write(root / ".mlflow-gitver.yaml", "name: x\n")
    assert lookup_config_path(repo, None, "a") == root / ".mlflow-gitver.yaml"
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    monkeypatch.chdir(bundle)
    assert lookup_config_path(None, None, None) is None
    write(bundle / ".mlflow-gitver.yaml", "name: x\n")
    assert lookup_config_path(None, None, None) == bundle / ".mlflow-gitver.yaml"
