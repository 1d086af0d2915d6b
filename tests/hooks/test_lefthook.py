"""The README's lefthook.yml, run by the real lefthook (from PyPI) in real repositories.

lefthook runs each ``run:`` with ``sh -c`` after putting git's arguments in its
templates (``{1}``, ``{2}``: the remote's name and URL for pre-push, unquoted), and
gives a command git's stdin only with ``use_stdin: true`` (else /dev/null:
internal/run/controller/run.go): so our pre-push runs in its plain-hook mode,
``<remote> <url>`` as arguments and every pushed ref on stdin, and sees every ref
of a push, not only the first (as under pre-commit).
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from testing.hooks import BIN, Work, head, make_work
from testing.repos import git, write
from testing.source import ROOT

pytestmark = [pytest.mark.server, pytest.mark.slow]

LEFTHOOK = str(BIN / "lefthook")

# The README's snippet, character for character (test_the_readme_has_the_snippet).
LEFTHOOK_YML = """\
# lefthook.yml
post-commit:
  commands:
    mlflow-gitver:
      run: mlflow-gitver hook post-commit
post-merge:
  commands:
    mlflow-gitver:
      run: mlflow-gitver hook post-merge
post-rewrite:
  commands:
    mlflow-gitver:
      run: mlflow-gitver hook post-rewrite {1}
pre-push:
  commands:
    mlflow-gitver:
      run: mlflow-gitver hook pre-push {1} {2}
      use_stdin: true
"""


@pytest.fixture
def lefty(
    tmp_path: Path, server_url: str, hook_env: None, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Work]:
    """The snippet installed by ``lefthook install``; mlflow-gitver (and lefthook,
    which its shims look for) on PATH; one commit made."""
    monkeypatch.setenv("PATH", f"{BIN}{os.pathsep}{os.environ['PATH']}")
    w = make_work(tmp_path, server_url)
    write(w.root / "lefthook.yml", LEFTHOOK_YML)
    subprocess.run([LEFTHOOK, "install"], cwd=w.root, check=True, capture_output=True)
    git(w.root, "add", "-A")
    w.run("commit", "-q", "-m", "initial", check=True)
    try:
        yield w
    finally:
        w.settle()


def test_the_readme_has_the_snippet() -> None:
    assert LEFTHOOK_YML in (ROOT / "README.md").read_text()


def test_install_writes_lefthook_shims_for_the_four_stages(lefty: Work) -> None:
    for stage in ("post-commit", "post-merge", "post-rewrite", "pre-push"):
        shim = (lefty.root / ".git" / "hooks" / stage).read_text()
        assert f'call_lefthook run "{stage}" "$@"' in shim


def _ran_ours(out: str, stage: str) -> bool:
    """Whether lefthook's report (git's output) shows our command run, and passed, for
    ``stage``."""
    plain = re.sub(r"\x1b\[[0-9;]*m", "", out)
    block = re.search(rf"hook:\s+{stage}\b.*?summary:.*?\n(.*?)(?:╭|$)", plain, re.S)
    return block is not None and "✔️ mlflow-gitver" in block.group(1)


def test_commits_merges_and_rewrites_become_versions(lefty: Work) -> None:
    first = head(lefty.root)
    second = lefty.commit("a.txt")
    git(lefty.root, "checkout", "-q", "-b", "side")
    side = lefty.commit("s.txt")
    git(lefty.root, "checkout", "-q", "main")
    main = lefty.commit("m.txt")
    merged = lefty.run("merge", "-q", "--no-edit", "side", check=True)
    assert _ran_ours(merged.stdout + merged.stderr, "post-merge")
    merge = head(lefty.root)
    lefty.settle()
    assert merge in lefty.versions()  # git runs post-merge only, for a merge commit
    amend = lefty.run("commit", "-q", "--amend", "-m", "amended merge", check=True)
    out = amend.stdout + amend.stderr
    assert _ran_ours(out, "post-commit") and _ran_ours(out, "post-rewrite")
    amended = head(lefty.root)
    lefty.settle()
    found = lefty.versions()
    made = [first, second, side, main, merge, amended]
    assert {c[:12]: len(found.get(c, [])) for c in made} == {c[:12]: 1 for c in made}
    assert lefty.pending() == [] and lefty.failed() == []


def test_a_push_of_several_refs_registers_every_tip(lefty: Work) -> None:
    tips = {}
    for branch in ("a", "b"):
        git(lefty.root, "checkout", "-q", "-b", branch, "main")
        tips[branch] = lefty.commit(f"{branch}.txt")
    push = lefty.run("push", "origin", "a", "b")
    assert push.returncode == 0, push.stderr
    out = push.stdout + push.stderr
    for branch, tip in tips.items():
        assert f"refs/heads/{branch} {tip[:12]} is app-git-" in out
    found = lefty.versions()
    assert all(tip in found for tip in tips.values())


def test_an_invalid_config_blocks_the_push(lefty: Work) -> None:
    write(lefty.root / ".mlflow-gitver.yaml", "name: app\nparam:\n  x: 1\n")
    git(lefty.root, "add", "-A")
    assert lefty.run("commit", "-q", "-m", "typo").returncode == 0
    push = lefty.run("push", "origin", "main")
    assert push.returncode != 0
    out = push.stdout + push.stderr
    assert ".mlflow-gitver.yaml:2:1: unknown key 'param'" in out and "push blocked" in out
    assert git(lefty.remote, "branch", "--list") == ""
