"""The plain ``hooks/`` scripts, through ``core.hooksPath``, with real git."""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import time
from pathlib import Path

import pytest

from testing.commits import every_kind_of_commit
from testing.hooks import Work, background_flushes, head, new_commits
from testing.monorepo import APPS, write_monorepo
from testing.repos import git, init_repo, write
from testing.source import HOOKS_DIR

pytestmark = [pytest.mark.server, pytest.mark.slow]


STAGES = ("post-commit", "post-merge", "post-rewrite", "post-applypatch", "pre-push")


def test_scripts_are_posix_sh_and_executable() -> None:
    assert sorted(p.name for p in HOOKS_DIR.iterdir()) == sorted(STAGES)
    for name in STAGES:
        path = HOOKS_DIR / name
        assert os.access(path, os.X_OK)
        assert path.read_text().startswith("#!/bin/sh\n")
        subprocess.run(["sh", "-n", str(path)], check=True)  # parses as POSIX sh


def test_commit_is_registered(plain: Work) -> None:
    first = git(plain.root, "rev-parse", "HEAD").strip()
    second = plain.commit("a.txt")
    plain.settle()
    found = plain.versions()
    assert sorted(found) == sorted([first, second])
    assert plain.pending() == []


def test_push_of_several_refs_registers_every_tip(plain: Work) -> None:
    tips = {}
    for branch in ("a", "b", "c"):
        git(plain.root, "checkout", "-q", "-b", branch, "main")
        tips[branch] = plain.commit(f"{branch}.txt")
    plain.settle()
    # Forget what post-commit registered, so only the pre-push can register the tips.
    before = plain.versions()
    assert all(t in before for t in tips.values())
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=plain.server_url)
    for t in tips.values():
        client.delete_logged_model(before[t][0].model_id)  # type: ignore[attr-defined]
    # And the journal of what this clone registered, or the push would trust it.
    shutil.rmtree(plain.root / ".git" / "mlflow-gitver" / "registered")
    push = plain.run("push", "origin", "a", "b", "c")
    assert push.returncode == 0, push.stderr
    for branch, tip in tips.items():
        assert f"refs/heads/{branch} {tip[:12]} is app-git-" in push.stdout
    found = plain.versions()
    assert all(len(found[t]) == 1 for t in tips.values())


def test_deleted_ref_is_skipped(plain: Work) -> None:
    git(plain.root, "checkout", "-q", "-b", "gone")
    plain.commit("g.txt")
    assert plain.run("push", "-q", "origin", "gone").returncode == 0
    plain.settle()
    push = plain.run("push", "origin", "--delete", "gone")
    assert push.returncode == 0, push.stderr
    # Nothing registered, nothing to say.
    assert "mlflow-gitver: " not in push.stdout + push.stderr
    assert plain.pending() == [] and plain.failed() == []


def test_invalid_config_blocks_the_plain_pre_push(plain: Work) -> None:
    write(plain.root / ".mlflow-gitver.yaml", "name: a/b\n")
    git(plain.root, "add", "-A")
    commit = plain.run("commit", "-q", "-m", "bad name")
    assert commit.returncode == 0
    assert "is not registered" in commit.stderr and ".mlflow-gitver.yaml:1:7" in commit.stderr
    push = plain.run("push", "origin", "main")
    assert push.returncode == 1
    assert "push blocked" in push.stderr


def _without_tool(tmp_path: Path, hooks: Path) -> tuple[Path, dict[str, str]]:
    root = init_repo(tmp_path / "r")
    git(root, "config", "core.hooksPath", str(hooks))
    # A PATH with git, sh and the system python3, but no mlflow-gitver.
    return root, {**os.environ, "PATH": "/usr/bin:/bin", "GIT_EDITOR": "true"}


def test_missing_tool_says_how_to_install_and_never_fails(tmp_path: Path) -> None:
    root, env = _without_tool(tmp_path, HOOKS_DIR)

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(["git", *args], cwd=root, env=env, capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
        return proc

    write(root / "a.txt", "a\n")
    run("add", "-A")
    proc = run("commit", "-q", "-m", "x")
    # No release is on a package index: the line installs from this checkout.
    line = f"python3 -m pip install '{HOOKS_DIR.parent.resolve()}'"
    assert "not installed" in proc.stderr and line in proc.stderr
    assert (HOOKS_DIR.parent / "pyproject.toml").read_text().count('name = "mlflow-gitver"') == 1
    run("checkout", "-q", "-b", "side")
    run("commit", "-q", "--allow-empty", "-m", "side")
    run("checkout", "-q", "main")
    run("commit", "-q", "--allow-empty", "-m", "main")
    assert "the merge is not registered" in run("merge", "-q", "--no-edit", "side").stderr
    assert "rewritten commits" in run("commit", "-q", "--amend", "-m", "amended").stderr
    remote = tmp_path / "remote.git"
    subprocess.run(["git", "init", "-q", "--bare", str(remote)], check=True)
    push = run("push", "-q", str(remote), "main")
    assert "not installed" in push.stderr and line in push.stderr


def test_a_copied_script_without_its_checkout_says_where_to_install_from(
    tmp_path: Path,
) -> None:
    hooks = tmp_path / "copied"
    hooks.mkdir()
    (hooks / "post-commit").write_bytes((HOOKS_DIR / "post-commit").read_bytes())
    (hooks / "post-commit").chmod(0o755)
    root, env = _without_tool(tmp_path, hooks)
    proc = subprocess.run(
        ["git", "commit", "-q", "--allow-empty", "-m", "x"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0
    assert "pip install /path/to/a/checkout/of/mlflow-gitver" in proc.stderr
    assert "git+" in proc.stderr and "pip install mlflow-gitver" not in proc.stderr


@pytest.mark.usefixtures("scripted_git")
def test_every_way_git_makes_a_commit_becomes_a_version(plain: Work, tmp_path: Path) -> None:
    """core.hooksPath covers every stage, post-applypatch (git am) included."""
    made = [head(plain.root), *every_kind_of_commit(plain, tmp_path)]
    plain.settle()
    found = plain.versions()
    counts = {c[:12]: len(found.get(c, [])) for c in made}
    assert all(n == 1 for n in counts.values()), counts
    assert plain.pending() == [] and plain.failed() == []
    log = (plain.store / "hook.log").read_text()
    assert "post-applypatch" not in log or "error" not in log


class _Peak:
    """Samples our background flush processes of one repository from /proc."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.peak = 0
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, len(background_flushes(self.root)))
            self.samples += 1
            time.sleep(0.02)

    def __enter__(self) -> _Peak:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


@pytest.mark.usefixtures("scripted_git")
def test_a_long_rebase_runs_one_flusher_and_registers_each_commit_once(plain: Work) -> None:
    """git runs post-commit for every commit a rebase makes: one background
    flusher per repository at a time drains them all (the issue saw 41 at once)."""
    n = 20
    base = head(plain.root)
    for i in range(n):
        write(plain.root / f"f{i}.txt", f"{i}\n")
        git(plain.root, "add", "-A")
        git(plain.root, "-c", "core.hooksPath=/dev/null", "commit", "-q", "-m", f"c{i}")
    git(plain.root, "checkout", "-q", "-b", "onto", base)
    onto = plain.commit("onto.txt")
    plain.settle()
    git(plain.root, "checkout", "-q", "main")
    with _Peak(plain.root) as peak:
        plain.run("rebase", "-q", onto, check=True)
        plain.settle()
    rebased = new_commits(plain.root, onto)
    assert len(rebased) == n
    assert peak.samples > 10
    # One flusher holds the lock; the one before it may still be exiting.
    assert 1 <= peak.peak <= 2, peak.peak
    found = plain.versions()
    counts = [len(found.get(c, [])) for c in rebased]
    assert counts == [1] * n, counts
    assert plain.pending() == []


def test_git_c_config_reaches_the_background_flush(plain: Work) -> None:
    """`git -c` passes its settings to hooks in GIT_CONFIG_PARAMETERS: the
    detached flush must read the same config as a --sync one."""
    url = "https://git.example.com/team/app.git"
    plain.settle()  # the next hook starts the flusher (a running one would take the record)
    write(plain.root / "c.txt", "c\n")
    git(plain.root, "add", "-A")
    plain.run("-c", f"remote.origin.url={url}", "commit", "-q", "-m", "c", check=True)
    commit = head(plain.root)
    plain.settle()
    [model] = plain.versions()[commit]
    assert model.tags["mlflow.source.git.repoURL"] == url  # type: ignore[attr-defined]


def test_scoped_apps_through_rebase_cherry_pick_and_merges(plain: Work) -> None:
    """Every commit of every branch, whichever way git made it, has each app's
    version registered once; rebased, cherry-picked and merged commits that keep an
    app's content find its model (no new one), a resolved conflict makes new ones."""
    from mlflow_gitver import git as gitmod
    from mlflow_gitver.gitstate import state_at_commit

    root = plain.root
    write_monorepo(root, plain.server_url, plain.experiment)
    plain.commit("README.md", "three apps\n")
    git(root, "checkout", "-q", "-b", "feature")
    plain.commit("apps/triage/agent.py", "triage = 2\n")
    plain.commit("docs.md", "docs only\n")
    git(root, "checkout", "-q", "main")
    plain.commit("apps/billing/agent.py", "billing = 2\n")
    git(root, "checkout", "-q", "feature")
    plain.run("rebase", "-q", "main", check=True)  # post-rewrite
    git(root, "checkout", "-q", "main")
    plain.commit("apps/billing/agent.py", "billing = 3\n")
    plain.run("cherry-pick", "feature~1", check=True)  # post-commit
    plain.run("merge", "-q", "--no-ff", "-m", "merge feature", "feature", check=True)  # post-merge
    # Both sides edit the library; the merge is concluded with a third content.
    git(root, "checkout", "-q", "-b", "other")
    plain.commit("libs/common.py", "shared, other\n")
    git(root, "checkout", "-q", "main")
    plain.commit("libs/common.py", "shared, main\n")
    conflict = plain.run("merge", "-q", "other")
    assert conflict.returncode != 0 and "CONFLICT" in conflict.stdout + conflict.stderr
    write(root / "libs/common.py", "shared, both\n")
    git(root, "add", "libs/common.py")
    plain.run("commit", "-q", "--no-edit", check=True)  # concludes the merge: post-commit
    plain.settle()

    found = plain.versions()
    assert all(len(models) == 1 for models in found.values()), found
    per_app: dict[str, int] = {}
    for models in found.values():
        app = models[0].tags["mlflow_gitver.app"]  # type: ignore[attr-defined]
        per_app[app] = per_app.get(app, 0) + 1
    # support: the first, each side's library and the conflict's; triage: those and
    # its edit; billing: the first and its edit; "app": the fixture's commit, before
    # apps.  Nothing for the rebase, the cherry-pick or the clean merge.
    assert per_app == {"support": 4, "triage": 5, "billing": 3, "app": 1}, per_app
    repo = gitmod.discover(root)
    # Every commit since the apps came in (the fixture's first commit had no apps).
    first = git(root, "rev-list", "--max-parents=0", "HEAD").strip()
    reachable = git(root, "rev-list", "--all", f"^{first}").split()
    assert len(reachable) == 10, len(reachable)
    for commit in reachable:
        for app, paths in APPS.items():
            vid = state_at_commit(repo, commit, paths).version_id
            assert len(found.get(vid, [])) == 1, (commit[:12], app)
    assert plain.pending() == [] and plain.failed() == []
