"""Our hooks installed by the real pre-commit framework, real commits and pushes.

Everything is real: pre-commit clones a snapshot of this repository and builds
the hook environment from its pyproject.toml, git runs the hooks, and versions
land on the session's ``mlflow server``.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from testing.commits import every_kind_of_commit
from testing.hooks import ALL_STAGES, PRE_COMMIT, Work, head, install_pre_commit, make_work
from testing.repos import git, write
from testing.server import MlflowServer
from testing.source import ROOT, SourceRepo

pytestmark = [pytest.mark.server, pytest.mark.slow]

HOOK_IDS = (
    "mlflow-gitver-post-commit",
    "mlflow-gitver-post-merge",
    "mlflow-gitver-post-rewrite",
    "mlflow-gitver-pre-push",
)


def test_manifest_is_valid_and_every_hook_is_in_the_readme() -> None:
    subprocess.run(
        [PRE_COMMIT, "validate-manifest", str(ROOT / ".pre-commit-hooks.yaml")], check=True
    )
    import yaml

    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    assert [h["id"] for h in hooks] == list(HOOK_IDS)
    assert [h["stages"] for h in hooks] == [[i.removeprefix("mlflow-gitver-")] for i in HOOK_IDS]
    readme = (ROOT / "README.md").read_text()
    for hook in hooks:
        assert hook["id"] in readme
        assert hook["always_run"] is True and hook["pass_filenames"] is False
        assert hook["entry"].startswith("mlflow-gitver hook ")


def _one(work: Work, sha: str) -> object:
    found = work.versions().get(sha, [])
    assert len(found) == 1, f"{sha}: {len(found)} models"
    return found[0]


def test_each_commit_becomes_a_version_with_its_params(work: Work) -> None:
    first = git(work.root, "rev-parse", "HEAD").strip()
    second = work.commit("a.txt")
    git(work.root, "commit", "-q", "--amend", "-m", "amended")
    amended = git(work.root, "rev-parse", "HEAD").strip()
    # A rebase makes new commits: each gets its version too.
    git(work.root, "checkout", "-q", "-b", "side", first)
    side = work.commit("side.txt")
    git(work.root, "checkout", "-q", "main")
    git(work.root, "rebase", "-q", "side")
    rebased = git(work.root, "rev-parse", "HEAD").strip()
    work.settle()
    assert work.pending() == [] and work.failed() == []
    assert len({first, second, amended, side, rebased}) == 5
    for sha in (first, second, amended, side, rebased):
        model = _one(work, sha)
        assert model.params == {"llm": "gpt-4o-mini", "retrieval.k": "5"}  # type: ignore[attr-defined]
        assert model.tags["mlflow.source.git.commit"] == sha  # type: ignore[attr-defined]
    assert len(work.versions()) == 5
    log = (work.store / "hook.log").read_text()
    assert "registered" in log


def test_outage_twenty_commits_none_lost_none_twice(
    work: Work, mlflow_server: MlflowServer
) -> None:
    work.settle()
    first = git(work.root, "rev-parse", "HEAD").strip()
    mlflow_server.stop()
    try:
        shas = []
        for i in range(20):
            shas.append(work.commit(f"f{i}.txt"))  # each commit succeeds
        work.settle()
        assert len(work.pending()) == 20
        status = subprocess.run(
            [sys.executable, "-m", "mlflow_gitver", "status"],
            cwd=work.root,
            capture_output=True,
            text=True,
        )
        assert status.returncode == 1 and "pending: 20" in status.stdout
        assert "127.0.0.1" in status.stdout  # the last error says where it failed
        # Registration uses each commit's config as committed, not the working tree's.
        write(work.root / ".mlflow-gitver.yaml", "name: other\nparams: {llm: changed}\n")
        mlflow_server.start()
        flush = subprocess.run(
            [sys.executable, "-m", "mlflow_gitver", "flush"],
            cwd=work.root,
            capture_output=True,
            text=True,
        )
        assert flush.returncode == 0, flush.stderr
    finally:
        if mlflow_server.proc is None:
            mlflow_server.start()
    found = work.versions()
    assert sorted(found) == sorted([first, *shas])
    assert all(len(models) == 1 for models in found.values())
    assert {m.params["llm"] for [m] in found.values()} == {"gpt-4o-mini"}  # type: ignore[attr-defined]
    assert work.pending() == []


def test_pre_push_registers_first_push_and_new_branch(work: Work) -> None:
    # The first push includes the root commit: pre-commit sets no PRE_COMMIT_TO_REF
    # then, only PRE_COMMIT_LOCAL_BRANCH.
    tip = work.commit("a.txt")
    work.settle()
    push = work.run("push", "-q", "origin", "main")
    assert push.returncode == 0, push.stderr
    assert "is app-git-" in push.stdout + push.stderr
    git(work.root, "checkout", "-q", "-b", "feature")
    feature = work.commit("b.txt")
    # The hook registers the pushed tip itself: no wait for the background flush.
    push = work.run("push", "-q", "origin", "feature")
    assert push.returncode == 0, push.stderr
    found = work.versions()
    assert tip in found and feature in found
    assert found[feature][0].tags["mlflow.source.git.branch"] == "feature"  # type: ignore[attr-defined]


def test_pre_push_blocks_an_invalid_config(work: Work) -> None:
    write(work.root / ".mlflow-gitver.yaml", "name: app\nparam:\n  x: 1\n")
    git(work.root, "add", "-A")
    committed = work.run("commit", "-q", "-m", "typo")
    assert committed.returncode == 0  # a post-commit never stops a commit
    push = work.run("push", "origin", "main")
    assert push.returncode != 0
    assert ".mlflow-gitver.yaml:2:1: unknown key 'param'" in push.stdout + push.stderr
    assert "--no-verify" in push.stdout + push.stderr
    assert git(work.remote, "branch", "--list") == ""  # nothing pushed
    assert len(work.failed()) == 1  # and status shows it


def test_pre_push_server_down_lets_the_push_go(work: Work, mlflow_server: MlflowServer) -> None:
    work.settle()
    mlflow_server.stop()
    try:
        tip = work.commit("a.txt")
        work.settle()
        push = work.run("push", "origin", "main")
        assert push.returncode == 0, push.stderr
        assert "kept pending" in push.stdout + push.stderr
        assert git(work.remote, "rev-parse", "main").strip() == tip
        names = [p.name for p in work.pending()]
        assert f"{tip}.json" in names
    finally:
        mlflow_server.start()


def test_pre_push_required_blocks_when_the_server_is_down(
    tmp_path: Path,
    server_url: str,
    source_repo: SourceRepo,
    mlflow_server: MlflowServer,
    hook_env: None,
) -> None:
    w = make_work(tmp_path, server_url, extra_config="hooks:\n  pre_push: {required: true}\n")
    install_pre_commit(w.root, source_repo)
    mlflow_server.stop()
    try:
        git(w.root, "add", "-A")
        assert w.run("commit", "-q", "-m", "initial").returncode == 0
        w.settle()
        push = w.run("push", "origin", "main")
        assert push.returncode != 0
        out = push.stdout + push.stderr
        assert "push blocked" in out and "required" in out and "git push --no-verify" in out
        assert git(w.remote, "branch", "--list") == ""
    finally:
        mlflow_server.start()
    # With the server back, the same push goes through and registers.
    push = w.run("push", "origin", "main")
    assert push.returncode == 0, push.stderr
    assert len(w.versions()) == 1
    assert w.pending() == []


def _once_each(work: Work, commits: list[str]) -> None:
    found = work.versions()
    counts = {c[:12]: len(found.get(c, [])) for c in commits}
    assert all(n == 1 for n in counts.values()), counts


@pytest.mark.usefixtures("scripted_git")
def test_every_way_git_makes_a_commit_becomes_a_version(
    tmp_path: Path, server_url: str, source_repo: SourceRepo, hook_env: None
) -> None:
    """The hooks `init` prints: post-commit, post-merge, post-rewrite, pre-push.
    git am runs post-applypatch, which pre-commit cannot install: the next hook
    that runs records its commits (from HEAD's reflog)."""
    w = make_work(tmp_path, server_url)
    install_pre_commit(w.root, source_repo, ALL_STAGES)
    git(w.root, "add", "-A")
    w.run("commit", "-q", "-m", "initial", check=True)
    made = [head(w.root), *every_kind_of_commit(w, tmp_path)]
    made.append(w.commit("after-am.txt"))
    w.settle()
    _once_each(w, made)
    assert w.pending() == [] and w.failed() == []
    status = subprocess.run(
        [sys.executable, "-m", "mlflow_gitver", "status"],
        cwd=w.root,
        capture_output=True,
        text=True,
    )
    assert status.returncode == 0, status.stdout


def test_a_merge_reaches_mlflow_with_only_post_commit_and_pre_push(work: Work) -> None:
    """The snippet of earlier releases: no post-merge hook.  The merge commit is
    registered by the push at the latest, though it is not a pushed tip."""
    base = head(work.root)
    git(work.root, "checkout", "-q", "-b", "side")
    work.commit("s.txt")
    git(work.root, "checkout", "-q", "main")
    work.commit("m.txt")
    work.settle()
    work.run("merge", "-q", "--no-edit", "side", check=True)
    merge = head(work.root)
    assert merge not in work.versions()  # no hook ran for it
    work.commit("after.txt")
    push = work.run("push", "-q", "origin", "main")
    assert push.returncode == 0, push.stderr
    work.settle()
    _once_each(work, [merge])
    assert git(work.root, "rev-list", "--merges", f"{base}..HEAD").split() == [merge]


def _models_per_app(work: Work) -> dict[str, int]:
    out: dict[str, int] = {}
    for models in work.versions().values():
        for m in models:
            app = (m.tags or {}).get("mlflow_gitver.app", "")  # type: ignore[attr-defined]
            out[app] = out.get(app, 0) + 1
    return out


def test_a_commit_touching_one_app_of_three_creates_exactly_one_model(work: Work) -> None:
    """Issue 13, through pre-commit: the hooks register only the apps a commit changed."""
    work.settle()
    unscoped = _models_per_app(work)
    text = (work.root / ".mlflow-gitver.yaml").read_text().replace("name: app\n", "")
    apps = "".join(
        f"  - name: {a}\n    paths: [apps/{a}, libs]\n" for a in ("support", "triage", "billing")
    )
    for a in ("support", "triage", "billing"):
        write(work.root / f"apps/{a}/agent.py", f"{a} = 1\n")
    write(work.root / "libs/common.py", "shared\n")
    write(work.root / ".mlflow-gitver.yaml", text + "apps:\n" + apps)
    git(work.root, "add", "-A")
    work.run("commit", "-q", "-m", "three apps", check=True)
    work.settle()
    assert _models_per_app(work) == {**unscoped, "support": 1, "triage": 1, "billing": 1}
    work.commit("apps/triage/agent.py", "triage = 2\n")
    work.settle()
    assert _models_per_app(work) == {**unscoped, "support": 1, "triage": 2, "billing": 1}
    work.commit("README.md", "docs only\n")
    pushed = work.run("push", "-q", "origin", "main")
    assert pushed.returncode == 0, pushed.stderr
    work.settle()
    assert _models_per_app(work) == {**unscoped, "support": 1, "triage": 2, "billing": 1}
    assert work.pending() == [] and work.failed() == []
