"""doctor's checks of the git hooks installed (core.hooksPath, pre-commit's shims, our
plain hooks) and of the work they left pending or failed."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from mlflow_gitver import git as gitmod
from mlflow_gitver.commands.doctor.checks import Check
from mlflow_gitver.commands.doctor.hooks import hooks, pending_work, stages
from mlflow_gitver.queue.records import State
from mlflow_gitver.queue.store import Store
from testing.doctor import doctor, plain_hooks
from testing.hooks import BIN
from testing.records import make_record
from testing.repos import git, write
from testing.source import ROOT


def _hooks(repo: Path) -> dict[str, Check]:
    checks: list[Check] = []
    hooks(gitmod.discover(repo), checks)
    return {c.check: c for c in checks}


def _pending(repo: Path) -> list[Check]:
    checks: list[Check] = []
    pending_work(gitmod.discover(repo), checks)
    return checks


def test_core_hooks_path_that_disables_git_hooks(
    repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", f"{BIN}{os.pathsep}{os.environ['PATH']}")
    write(repo / ".mlflow-gitver.yaml", "name: app\n")
    plain_hooks(repo)
    other = tmp_path / "husky"
    other.mkdir()
    git(repo, "config", "core.hooksPath", str(other))
    code, checks = doctor(capsys, repo)
    assert code == 1
    assert checks["hooks"].startswith(f"error   hooks: core.hooksPath is {other}, so git ignores")
    assert "git config --unset core.hooksPath" in checks["hooks"]
    assert checks["post-commit hook"].startswith("warning post-commit hook: not installed")
    # core.hooksPath at our plain hooks is a supported setup: all fine.
    git(repo, "config", "core.hooksPath", str(ROOT / "hooks"))
    code, checks = doctor(capsys, repo)
    assert "hooks" not in checks and checks["post-commit hook"].startswith("ok      ")
    # ... when mlflow-gitver is on PATH: the plain hooks run it from there.
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    _code, checks = doctor(capsys, repo)
    assert checks["post-commit hook"].endswith(
        "is not on PATH here; fix: install mlflow-gitver where git runs, or put it on PATH"
    )


def test_pre_commit_shims_and_missing_hooks(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(repo / ".mlflow-gitver.yaml", "name: app\n")
    write(
        repo / ".pre-commit-config.yaml",
        "repos:\n  - repo: local\n    hooks:\n      - id: mlflow-gitver-post-commit\n"
        "        name: x\n        entry: mlflow-gitver hook post-commit\n        language: system\n"
        "        stages: [post-commit]\n        always_run: true\n        pass_filenames: false\n",
    )
    subprocess.run([str(BIN / "pre-commit"), "install", "-t", "post-commit", "-t", "pre-push"],
                   cwd=repo, check=True, capture_output=True)  # fmt: skip
    code, checks = doctor(capsys, repo)
    assert code == 1
    assert checks["post-commit hook"].startswith("ok      post-commit hook:")
    assert "runs pre-commit, which runs mlflow-gitver-post-commit" in checks["post-commit hook"]
    assert checks["pre-push hook"].startswith("warning pre-push hook:")
    assert "has no mlflow-gitver-pre-push hook" in checks["pre-push hook"]
    hook = repo / ".git" / "hooks" / "post-commit"
    hook.chmod(0o644)
    _code, checks = doctor(capsys, repo)
    assert checks["post-commit hook"].startswith("error   post-commit hook:")
    assert f"chmod +x {hook}" in checks["post-commit hook"]


def test_the_stages_checked_are_those_the_cli_runs_and_pre_commit_installs() -> None:
    assert stages() == ["post-commit", "post-merge", "post-rewrite", "pre-push"]


def test_no_hooks_directory_warns_for_every_stage(repo: Path) -> None:
    checks = _hooks(repo)
    assert list(checks) == [f"{s} hook" for s in stages()]
    path = repo / ".git" / "hooks" / "pre-push"
    assert checks["pre-push hook"] == Check(
        "pre-push hook",
        "warning",
        f"not installed ({path} does not exist)",
        f"pre-commit install -t pre-push, or copy hooks/pre-push of mlflow-gitver to {path}",
    )


def test_a_hook_of_someone_else(repo: Path) -> None:
    path = write(repo / ".git" / "hooks" / "post-commit", "#!/bin/sh\nmake lint\n", mode=0o755)
    check = _hooks(repo)["post-commit hook"]
    assert (check.level, check.message, check.fix) == (
        "warning",
        f"{path} exists but does not run mlflow-gitver",
        "call 'mlflow-gitver hook post-commit' from it",
    )


def test_a_directory_in_place_of_a_hook_is_an_error(repo: Path) -> None:
    path = repo / ".git" / "hooks" / "post-merge"
    path.mkdir(parents=True)
    check = _hooks(repo)["post-merge hook"]
    assert (check.level, check.message, check.fix) == (
        "error",
        f"{path}: Is a directory",
        f"check {path}",
    )


def test_hooks_path_naming_the_default_directory_is_no_error(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", f"{BIN}{os.pathsep}{os.environ['PATH']}")
    plain_hooks(repo)
    git(repo, "config", "core.hooksPath", ".git/hooks")  # relative: to the working tree
    checks = _hooks(repo)
    assert "hooks" not in checks
    assert {c.level for c in checks.values()} == {"ok"}


def test_nothing_recorded_is_ok(repo: Path) -> None:
    assert _pending(repo) == [Check("pending work", "ok", "every recorded version is registered")]


def test_pending_work_names_the_last_error(repo: Path) -> None:
    store = Store(gitmod.discover(repo).common_dir)
    store.add(make_record("a" * 40, created=1.0))
    path, _ = store.add(make_record("b" * 40, created=2.0))
    store.write_state(path, State(attempts=1, last_error="server down"))
    assert _pending(repo) == [
        Check(
            "pending work",
            "warning",
            "2 registration(s) pending (last error: server down)",
            "mlflow-gitver flush",
        )
    ]


def test_failed_work_without_an_error_says_so(repo: Path) -> None:
    store = Store(gitmod.discover(repo).common_dir)
    store.add_failed(make_record(), "")
    [check] = _pending(repo)
    assert (check.level, check.message) == (
        "error",
        "1 registration(s) failed for good (last: unknown error)",
    )
