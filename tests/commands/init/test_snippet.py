"""The snippet ``init`` prints, and where it points pre-commit to install from:
pip's ``direct_url.json`` (PEP 610) of this installation, read as pip writes it, and
real checkouts standing for the directory it was installed from."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
import yaml

from mlflow_gitver.commands.init.snippet import MANIFEST, Source, snippet, source_of
from testing.cli import cli
from testing.hooks import BIN
from testing.repos import commit_all, git, init_repo, write

SHA = "0123456789abcdef0123456789abcdef01234567"
MANIFEST_TEXT = (
    "- id: mlflow-gitver-pre-push\n  name: x\n  entry: mlflow-gitver hook pre-push\n"
    "  language: python\n- id: mlflow-gitver-post-commit\n  name: x\n"
    "  entry: mlflow-gitver hook post-commit\n  language: python\n- id: something-else\n"
)


def _dir_install(path: Path) -> str:
    """direct_url.json as pip writes it for `pip install PATH` (or -e PATH)."""
    return json.dumps({"url": path.as_uri(), "dir_info": {}})


def _checkout(path: Path, manifest: str = MANIFEST_TEXT) -> str:
    init_repo(path)
    write(path / MANIFEST, manifest)
    write(path / "src.py", "x = 1\n")
    return commit_all(path, "hooks")


def test_source_of_a_git_url_install_uses_its_commit() -> None:
    # direct_url.json as pip writes it for `pip install git+https://...@<rev>` (PEP 610).
    sha = "0123456789abcdef0123456789abcdef01234567"
    info = {
        "url": "https://git.example.test/team/mlflow-gitver.git",
        "vcs_info": {"vcs": "git", "commit_id": sha, "requested_revision": "main"},
    }
    src = source_of(json.dumps(info))
    assert (src.repo, src.rev) == (info["url"], sha)
    data = yaml.safe_load(snippet(src))
    assert data["repos"][0] == {
        "repo": info["url"],
        "rev": sha,
        "hooks": [{"id": f"mlflow-gitver-{t}"} for t in src.hooks],
    }


@pytest.mark.parametrize(
    "direct_url",
    [
        None,  # installed from a package index (or not installed)
        '{"url": "file:///tmp/mlflow_gitver-0.1.0-py3-none-any.whl", "archive_info": {}}',
        "not json",
    ],
)
def test_source_unknown_gives_a_local_system_hook(direct_url: str | None, tmp_path: Path) -> None:
    src = source_of(direct_url)
    assert src.repo is None
    text = snippet(src)
    path = write(tmp_path / ".pre-commit-config.yaml", text)
    subprocess.run([str(BIN / "pre-commit"), "validate-config", str(path)], check=True)
    hooks = yaml.safe_load(text)["repos"][0]["hooks"]
    assert hooks[0]["entry"] == "mlflow-gitver hook post-commit"
    assert {h["language"] for h in hooks} == {"system"}


def test_source_of_a_directory_that_is_no_checkout(tmp_path: Path) -> None:
    plain = tmp_path / "copy"
    plain.mkdir()
    src = source_of(json.dumps({"url": plain.as_uri(), "dir_info": {}}))
    assert src.repo is None


@pytest.mark.server
def test_local_snippet_registers_a_commit_when_copied(tmp_path: Path, server_url: str) -> None:
    """The fallback snippet, copied literally, registers the next commit."""
    root = init_repo(tmp_path / "work")
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ['PATH']}")
    write(root / ".pre-commit-config.yaml", snippet(source_of(None)))
    write(root / ".mlflow-gitver.yaml", f"name: app\ntracking_uri: {server_url}\n")
    subprocess.run(
        [str(BIN / "pre-commit"), "install"], cwd=root, env=env, check=True, capture_output=True
    )
    assert (root / ".git" / "hooks" / "post-commit").exists()  # default_install_hook_types
    git(root, "add", "-A")
    subprocess.run(
        ["git", "commit", "-q", "-m", "first"],
        cwd=root,
        env=dict(env, MLFLOW_GITVER_SYNC="1"),
        check=True,
        capture_output=True,
    )
    sha = git(root, "rev-parse", "HEAD").strip()
    out = cli("resolve", "--format", "json", cwd=root, env=env)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["version_id"] == sha


def test_a_git_install_from_a_local_path_names_the_path() -> None:
    info = {
        "url": "file:///srv/some%20where/mlflow-gitver",
        "vcs_info": {"vcs": "git", "commit_id": SHA},
    }
    src = source_of(json.dumps(info))
    assert (src.repo, src.rev) == ("/srv/some where/mlflow-gitver", SHA)
    assert src.note == f"the git repository mlflow-gitver was installed from, at {SHA[:12]}"
    assert yaml.safe_load(snippet(src))["repos"][0]["repo"] == "/srv/some where/mlflow-gitver"


@pytest.mark.parametrize(
    "direct_url",
    [
        '{"url": 5}',
        "[]",
        '{"vcs_info": {"vcs": "git", "commit_id": "abc"}}',
        '{"url": "https://h/x.git", "vcs_info": {"vcs": "hg", "commit_id": "abc"}}',
        '{"url": "https://h/x.git", "vcs_info": {"vcs": "git"}}',
        '{"url": "https://h/x", "dir_info": {}}',  # a directory, but not a local one
        "",
    ],
)
def test_direct_urls_that_name_no_git_source(direct_url: str) -> None:
    src = source_of(direct_url)
    assert (src.repo, src.rev) == (None, None)
    assert src.note == "no git source known for this installation"
    assert src.hooks == ("post-commit", "post-merge", "post-rewrite", "pre-push")


def test_a_clean_local_checkout_with_the_manifest(tmp_path: Path) -> None:
    root = tmp_path / "my checkout: x"  # a path YAML must quote
    head = _checkout(root)
    write(root / "untracked.txt", "x\n")  # untracked files are not in the commit, nor missed
    src = source_of(_dir_install(root))
    assert (src.repo, src.rev) == (str(root), head)
    assert src.hooks == ("post-commit", "pre-push")  # what its manifest has, in stage order
    assert src.note == (
        f"the checkout mlflow-gitver was installed from, at its HEAD commit {head[:12]}"
    )
    assert yaml.safe_load(snippet(src))["repos"][0] == {
        "repo": str(root),
        "rev": head,
        "hooks": [{"id": "mlflow-gitver-post-commit"}, {"id": "mlflow-gitver-pre-push"}],
    }


def test_a_dirty_local_checkout_says_its_changes_are_not_in_the_commit(tmp_path: Path) -> None:
    root = tmp_path / "src"
    head = _checkout(root)
    write(root / "src.py", "x = 2\n")
    src = source_of(_dir_install(root))
    assert src.rev == head
    assert src.note.endswith(
        "; its uncommitted changes are not in that commit: commit them, and run init again"
    )


@pytest.mark.parametrize(
    "manifest",
    [
        "- id: something-else\n  name: x\n  entry: x\n  language: system\n",
        "{not: [valid yaml",
        "id: mlflow-gitver-post-commit\n",  # a mapping, not pre-commit's list
        "",
    ],
)
def test_a_checkout_whose_manifest_has_none_of_our_hooks(tmp_path: Path, manifest: str) -> None:
    root = tmp_path / "src"
    _checkout(root, manifest)
    assert source_of(_dir_install(root)).repo is None


def test_the_manifest_must_be_committed(tmp_path: Path) -> None:
    root = init_repo(tmp_path / "src")
    write(root / "src.py", "x = 1\n")
    commit_all(root)
    write(root / MANIFEST, MANIFEST_TEXT)  # on disk only: pre-commit clones the commit
    assert source_of(_dir_install(root)).repo is None


def test_a_checkout_without_a_commit(tmp_path: Path) -> None:
    root = init_repo(tmp_path / "src")
    write(root / MANIFEST, MANIFEST_TEXT)
    assert source_of(_dir_install(root)).repo is None


def test_a_subdirectory_of_a_checkout(tmp_path: Path) -> None:
    root = tmp_path / "mono"
    _checkout(root)
    sub = root / "tools" / "mlflow-gitver"
    write(sub / MANIFEST, MANIFEST_TEXT)
    commit_all(root)
    # pre-commit reads the manifest at the top level of `repo:`: the subdirectory is no source.
    assert source_of(_dir_install(sub)).repo is None


def test_the_local_snippet_has_one_system_hook_per_stage() -> None:
    src = source_of(None)
    data = yaml.safe_load(snippet(src))
    assert data["default_install_hook_types"] == ["pre-commit", *src.hooks]
    [local] = data["repos"]
    assert local["repo"] == "local"
    assert [h["stages"] for h in local["hooks"]] == [[t] for t in src.hooks]
    for h, t in zip(local["hooks"], src.hooks, strict=True):
        assert h["entry"] == f"mlflow-gitver hook {t}"
        assert h["always_run"] is True and h["pass_filenames"] is False


@pytest.mark.parametrize(
    "repo",
    ["yes", "~", "null", "1.0", "0x1F", "on", "2026-12-03", "/srv/with: colon", "a#b", "'q'"],
)
def test_a_repo_and_rev_yaml_would_read_as_something_else_are_quoted(repo: str) -> None:
    rev = "1234567890" * 4  # a full hash of digits only: YAML would read an integer
    src = Source(repo=repo, rev=rev, hooks=("post-commit",), note="")
    [entry] = yaml.safe_load(snippet(src))["repos"]
    assert entry["repo"] == repo and entry["rev"] == rev


def test_an_ordinary_path_or_url_stays_plain() -> None:
    for repo in ("/home/me/mlflow-gitver", "https://git.example.com/team/mlflow-gitver.git"):
        text = snippet(Source(repo=repo, rev=SHA, hooks=("post-commit",), note=""))
        assert f"  - repo: {repo}\n    rev: {SHA}\n" in text
