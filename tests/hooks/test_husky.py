"""The README's husky snippet, run by git through husky 9's own mechanism.

What husky 9 (9.1.7, read from its npm package: index.js and the ``husky`` file)
does, reproduced here byte for byte so that the tests need neither node nor npm:
``git config core.hooksPath .husky/_``; ``.husky/_/h`` is a copy of its ``husky``
script; each hook git knows gets a shim ``.husky/_/<hook>`` that sources ``h``
(mode 755), and ``.husky/_/.gitignore`` is ``*``.  When git runs a hook, ``h`` runs
``sh -e .husky/<hook> "$@"``, with git's stdin, when that file exists.  So the user's
``.husky/pre-push`` gets ``<remote> <url>`` and the ref lines, and our pre-push runs
in its plain-hook mode.  (husky also writes ``_/husky.sh``, a deprecation stub no
shim sources: left out.)

``test_real_husky_writes_what_we_reproduce`` installs husky 9.1.7 with npm, when
npm is on PATH and MLFLOW_GITVER_TEST_NPM=1 (it is skipped otherwise), and
checks that husky writes exactly the files reproduced here, then commits and
pushes through them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from testing.hooks import BIN, Work, head, make_work
from testing.repos import git, write
from testing.source import ROOT

pytestmark = [pytest.mark.server, pytest.mark.slow]

HUSKY_VERSION = "9.1.7"
# husky 9.1.7's index.js: the hooks it writes a shim for, and the shim.
HUSKY_HOOKS = (
    "pre-commit", "pre-merge-commit", "prepare-commit-msg", "commit-msg", "post-commit",
    "applypatch-msg", "pre-applypatch", "post-applypatch", "pre-rebase", "post-rewrite",
    "post-checkout", "post-merge", "pre-push", "pre-auto-gc",
)  # fmt: skip
HUSKY_SHIM = '#!/usr/bin/env sh\n. "$(dirname "$0")/h"'
# husky 9.1.7's ``husky`` file, copied to .husky/_/h (MIT licence, typicode).
HUSKY_H = """\
#!/usr/bin/env sh
[ "$HUSKY" = "2" ] && set -x
n=$(basename "$0")
s=$(dirname "$(dirname "$0")")/$n

[ ! -f "$s" ] && exit 0

if [ -f "$HOME/.huskyrc" ]; then
	echo "husky - '~/.huskyrc' is DEPRECATED, please move your code to ~/.config/husky/init.sh"
fi
i="${XDG_CONFIG_HOME:-$HOME/.config}/husky/init.sh"
[ -f "$i" ] && . "$i"

[ "${HUSKY-}" = "0" ] && exit 0

export PATH="node_modules/.bin:$PATH"
sh -e "$s" "$@"
c=$?

[ $c != 0 ] && echo "husky - $n script failed (code $c)"
[ $c = 127 ] && echo "husky - command not found in PATH=$PATH"
exit $c
"""

# The README's snippet, character for character (test_the_readme_has_the_snippet).
HUSKY_SNIPPET = """\
# in a repository set up with husky 9 (npx husky init); commit these files
echo 'mlflow-gitver hook post-commit' > .husky/post-commit
echo 'mlflow-gitver hook post-merge' > .husky/post-merge
echo 'mlflow-gitver hook post-rewrite "$@"' > .husky/post-rewrite
echo 'mlflow-gitver hook pre-push "$@"' > .husky/pre-push
"""


def install_like_husky(root: Path) -> None:
    """What ``husky`` (index.js of 9.1.7) does in ``root``, with the default ``.husky``."""
    git(root, "config", "core.hooksPath", ".husky/_")
    d = root / ".husky" / "_"
    d.mkdir(parents=True, exist_ok=True)
    write(d / ".gitignore", "*")
    write(d / "h", HUSKY_H)
    for hook in HUSKY_HOOKS:
        write(d / hook, HUSKY_SHIM, mode=0o755)


def add_snippet(root: Path) -> None:
    subprocess.run(["sh", "-e", "-c", HUSKY_SNIPPET], cwd=root, check=True)


def _husky_work(tmp_path: Path, server_url: str, install: object) -> Work:
    w = make_work(tmp_path, server_url)
    assert callable(install)
    install(w.root)
    add_snippet(w.root)
    git(w.root, "add", "-A")
    w.run("commit", "-q", "-m", "initial", check=True)
    return w


@pytest.fixture
def on_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", f"{BIN}{os.pathsep}{os.environ['PATH']}")


@pytest.fixture
def husky(tmp_path: Path, server_url: str, hook_env: None, on_path: None) -> Iterator[Work]:
    """The snippet in a repository set up as husky 9 does it; one commit made."""
    w = _husky_work(tmp_path, server_url, install_like_husky)
    try:
        yield w
    finally:
        w.settle()


def test_the_readme_has_the_snippet() -> None:
    assert HUSKY_SNIPPET in (ROOT / "README.md").read_text()


def test_commits_merges_and_rewrites_become_versions(husky: Work) -> None:
    assert sorted(git(husky.root, "ls-files", ".husky").split()) == [
        ".husky/post-commit", ".husky/post-merge", ".husky/post-rewrite", ".husky/pre-push",
    ]  # fmt: skip
    first = head(husky.root)
    git(husky.root, "checkout", "-q", "-b", "side")
    side = husky.commit("s.txt")
    git(husky.root, "checkout", "-q", "main")
    main = husky.commit("m.txt")
    husky.run("merge", "-q", "--no-edit", "side", check=True)  # post-merge only
    merge = head(husky.root)
    husky.settle()
    assert merge in husky.versions()
    husky.run("commit", "-q", "--amend", "-m", "amended merge", check=True)
    amended = head(husky.root)
    husky.settle()
    found = husky.versions()
    made = [first, side, main, merge, amended]
    assert {c[:12]: len(found.get(c, [])) for c in made} == {c[:12]: 1 for c in made}
    assert husky.pending() == [] and husky.failed() == []


def test_a_push_of_several_refs_registers_every_tip(husky: Work) -> None:
    tips = {}
    for branch in ("a", "b"):
        git(husky.root, "checkout", "-q", "-b", branch, "main")
        tips[branch] = husky.commit(f"{branch}.txt")
    push = husky.run("push", "origin", "a", "b")
    assert push.returncode == 0, push.stderr
    for branch, tip in tips.items():
        assert f"refs/heads/{branch} {tip[:12]} is app-git-" in push.stdout + push.stderr


def test_an_invalid_config_blocks_the_push(husky: Work) -> None:
    write(husky.root / ".mlflow-gitver.yaml", "name: app\nparam:\n  x: 1\n")
    git(husky.root, "add", "-A")
    assert husky.run("commit", "-q", "-m", "typo").returncode == 0
    push = husky.run("push", "origin", "main")
    assert push.returncode != 0
    out = push.stdout + push.stderr
    assert ".mlflow-gitver.yaml:2:1: unknown key 'param'" in out
    assert "husky - pre-push script failed (code 1)" in out
    assert git(husky.remote, "branch", "--list") == ""


def _files(d: Path) -> dict[str, tuple[bytes, int]]:
    return {p.name: (p.read_bytes(), p.stat().st_mode & 0o111) for p in d.iterdir()}


# Opt-in: it downloads husky from the npm registry, and CI's test run must not
# depend on a registry other than the one that installed the dev extra.
@pytest.mark.skipif(
    shutil.which("npm") is None or os.environ.get("MLFLOW_GITVER_TEST_NPM") != "1",
    reason="set MLFLOW_GITVER_TEST_NPM=1 (and have npm) to install the real husky",
)
def test_real_husky_writes_what_we_reproduce(
    tmp_path: Path, server_url: str, hook_env: None, on_path: None
) -> None:
    npm = tmp_path / "npm"
    subprocess.run(
        ["npm", "install", "--prefix", str(npm), "--no-save", "--no-audit", "--no-fund",
         "--no-package-lock", f"husky@{HUSKY_VERSION}"],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    bin_js = npm / "node_modules" / "husky" / "bin.js"

    def real_husky(root: Path) -> None:
        # What the `prepare` script `husky init` adds runs: `husky`, in the repository.
        subprocess.run(["node", str(bin_js)], cwd=root, check=True, capture_output=True)

    w = _husky_work(tmp_path / "real", server_url, real_husky)
    try:
        twin = tmp_path / "twin"
        twin.mkdir()
        git(twin, "init", "-q")
        install_like_husky(twin)
        real = _files(w.root / ".husky" / "_")
        assert real.pop("husky.sh")  # the deprecation stub
        assert real == _files(twin / ".husky" / "_")
        assert git(w.root, "config", "core.hooksPath").strip() == ".husky/_"
        tip = w.commit("a.txt")
        push = w.run("push", "origin", "main")
        assert push.returncode == 0, push.stderr
        assert f"refs/heads/main {tip[:12]} is app-git-" in push.stdout + push.stderr
    finally:
        w.settle()
    assert tip in w.versions()
