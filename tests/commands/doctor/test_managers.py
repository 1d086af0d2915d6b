"""doctor's reading of the hook managers' scripts: prek's shims (installed by the real
prek), lefthook's (the real lefthook, its lefthook.yml and -local config) and husky 9's
(its mechanism as tests/hooks/test_husky.py reproduces it byte for byte).  The fixes
doctor prints are run here as the user would, and doctor then says ok."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from mlflow_gitver import git as gitmod
from mlflow_gitver.commands.doctor.checks import Check
from mlflow_gitver.commands.doctor.hooks import hooks, stages
from mlflow_gitver.commands.doctor.managers import HUSKY_LINE, LEFTHOOK_RUN
from testing.doctor import doctor, plain_hooks
from testing.hooks import BIN, PREK
from testing.repos import git, write
from testing.source import ROOT
from tests.hooks.test_husky import HUSKY_SNIPPET, add_snippet, install_like_husky
from tests.hooks.test_lefthook import LEFTHOOK, LEFTHOOK_YML


def _hooks(repo: Path) -> dict[str, Check]:
    checks: list[Check] = []
    hooks(gitmod.discover(repo), checks)
    return {c.check: c for c in checks}


def _run(repo: Path, *argv: str) -> None:
    subprocess.run(argv, cwd=repo, check=True, capture_output=True, timeout=120)


@pytest.fixture
def on_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """mlflow-gitver (and lefthook, which its shims look for) on PATH."""
    monkeypatch.setenv("PATH", f"{BIN}{os.pathsep}{os.environ['PATH']}")


def test_the_fixes_quote_the_readme_snippets() -> None:
    readme = (ROOT / "README.md").read_text()
    assert HUSKY_SNIPPET in readme and LEFTHOOK_YML in readme
    for stage in stages():
        assert f"      run: {LEFTHOOK_RUN[stage]}\n" in LEFTHOOK_YML
        assert f"echo '{HUSKY_LINE[stage]}' > .husky/{stage}\n" in HUSKY_SNIPPET


# --- prek ------------------------------------------------------------------------------


def _local_hook(stage: str) -> str:
    return (
        f"  - repo: local\n    hooks:\n      - id: mlflow-gitver-{stage}\n        name: x\n"
        f"        entry: mlflow-gitver hook {stage}\n        language: system\n"
        f"        stages: [{stage}]\n        always_run: true\n        pass_filenames: false\n"
    )


def test_prek_shims_read_prek_s_config(repo: Path) -> None:
    write(repo / ".pre-commit-config.yaml", "repos:\n" + _local_hook("post-commit"))
    _run(repo, PREK, "install", "-t", "post-commit", "-t", "post-merge")
    checks = _hooks(repo)
    shim = repo / ".git" / "hooks" / "post-commit"
    assert checks["post-commit hook"] == Check(
        "post-commit hook", "ok", f"{shim} runs prek, which runs mlflow-gitver-post-commit"
    )
    assert checks["post-merge hook"] == Check(
        "post-merge hook",
        "warning",
        f"{shim.parent / 'post-merge'} runs prek, but .pre-commit-config.yaml has no "
        "mlflow-gitver-post-merge hook",
        "add '- id: mlflow-gitver-post-merge' to the hooks of mlflow-gitver's repo in "
        ".pre-commit-config.yaml ('mlflow-gitver init' prints the snippet)",
    )
    # A stage not installed: prek installs it, as it did the others.
    assert checks["pre-push hook"].fix is not None
    assert checks["pre-push hook"].fix.startswith("prek install -t pre-push, or copy hooks/")
    # prek reads prek.toml before .pre-commit-config.yaml (`prek list` warns, and uses it).
    write(
        repo / "prek.toml",
        '[[repos]]\nrepo = "local"\nhooks = [{ id = "mlflow-gitver-post-merge" }]\n',
    )
    checks = _hooks(repo)
    assert checks["post-merge hook"].level == "ok"
    assert "prek.toml has no mlflow-gitver-post-commit hook" in checks["post-commit hook"].message


# --- lefthook --------------------------------------------------------------------------


def test_lefthook_with_the_readme_config_is_ok(
    repo: Path, on_path: None, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    write(repo / "lefthook.yml", LEFTHOOK_YML)
    _run(repo, LEFTHOOK, "install")
    _code, lines = doctor(capsys, repo)
    for stage in stages():
        shim = repo / ".git" / "hooks" / stage
        assert lines[f"{stage} hook"] == (
            f"ok      {stage} hook: {shim} runs lefthook, whose lefthook.yml runs "
            f"mlflow-gitver hook {stage}"
        )
    # lefthook calls mlflow-gitver by name: without it on PATH a push fails.
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    check = _hooks(repo)["pre-push hook"]
    assert (check.level, check.fix) == (
        "warning",
        "install mlflow-gitver where git runs, or put it on PATH",
    )
    assert check.message.endswith("runs mlflow-gitver hook pre-push, which is not on PATH here")


def _apply_lefthook_fix(config: Path, stage: str) -> None:
    """What the fix says: a command mlflow-gitver with the README's run (and use_stdin)."""
    stdin = "      use_stdin: true\n" if stage == "pre-push" else ""
    text = config.read_text()
    block = f"  commands:\n    mlflow-gitver:\n      run: {LEFTHOOK_RUN[stage]}\n{stdin}"
    if f"{stage}:\n  commands:\n" in text:
        text = text.replace(f"{stage}:\n  commands:\n", f"{stage}:\n{block}")
    else:
        text += f"{stage}:\n{block}"
    config.write_text(text)


def test_lefthook_without_our_commands_names_the_file_and_the_line(
    repo: Path, on_path: None
) -> None:
    config = write(
        repo / ".lefthook.yml",
        "pre-commit:\n  commands:\n    lint:\n      run: make lint\n"
        "post-commit:\n  commands:\n    notify:\n      run: echo committed\n",
    )
    _run(repo, LEFTHOOK, "install")
    checks = _hooks(repo)
    shim = repo / ".git" / "hooks" / "post-commit"
    assert checks["post-commit hook"] == Check(
        "post-commit hook",
        "warning",
        f"{shim} runs lefthook, but .lefthook.yml has no post-commit command that runs "
        "mlflow-gitver",
        "in .lefthook.yml, add under 'post-commit: commands:' a command 'mlflow-gitver:' "
        "with 'run: mlflow-gitver hook post-commit' (see the README's Other hook managers)",
    )
    # lefthook installs only the hooks its config has: the others are not installed.
    assert checks["pre-push hook"] == Check(
        "pre-push hook",
        "warning",
        f"not installed ({shim.parent / 'pre-push'} does not exist)",
        "in .lefthook.yml, add under 'pre-push: commands:' a command 'mlflow-gitver:' with "
        "'run: mlflow-gitver hook pre-push {1} {2}' and 'use_stdin: true' "
        "(see the README's Other hook managers), then lefthook install",
    )
    for stage in stages():
        _apply_lefthook_fix(config, stage)
    assert _hooks(repo)["pre-push hook"].fix == "lefthook install"
    _run(repo, LEFTHOOK, "install")
    assert {c.level for c in _hooks(repo).values()} == {"ok"}


def test_lefthook_local_config_is_merged_over_the_main_one(repo: Path, on_path: None) -> None:
    write(repo / "lefthook.yml", LEFTHOOK_YML)
    # Skipped here, and post-merge run as a job of a group: both merged as lefthook does.
    write(
        repo / "lefthook-local.yml",
        "post-commit:\n  commands:\n    mlflow-gitver:\n      skip: true\n"
        "post-merge:\n  commands:\n    mlflow-gitver:\n      run: echo not ours\n"
        "  jobs:\n    - group:\n        jobs:\n          - name: versions\n"
        "            run: mlflow-gitver hook post-merge\n",
    )
    _run(repo, LEFTHOOK, "install")
    checks = _hooks(repo)
    assert checks["post-commit hook"].message.endswith(
        "runs lefthook, but its post-commit command that runs mlflow-gitver has "
        "'skip: true' (lefthook-local.yml)"
    )
    assert checks["post-commit hook"].fix == "remove 'skip: true' from it in lefthook-local.yml"
    assert checks["post-merge hook"].message.endswith(
        "whose lefthook-local.yml runs mlflow-gitver hook post-merge"
    )
    assert checks["post-merge hook"].level == "ok"


def test_lefthook_pre_push_needs_git_s_arguments_and_stdin(repo: Path, on_path: None) -> None:
    config = write(
        repo / "lefthook.yml",
        "pre-push:\n  commands:\n    mlflow-gitver:\n      run: mlflow-gitver hook pre-push\n",
    )
    _run(repo, LEFTHOOK, "install")
    check = _hooks(repo)["pre-push hook"]
    assert check.level == "warning"
    assert check.message.endswith(
        "runs mlflow-gitver hook pre-push without {1} {2}: it registers HEAD, not the pushed refs"
    )
    assert check.fix == (
        "make it 'run: mlflow-gitver hook pre-push {1} {2}' with 'use_stdin: true' in lefthook.yml"
    )
    config.write_text(config.read_text().replace("pre-push\n", "pre-push {1} {2}\n"))
    check = _hooks(repo)["pre-push hook"]
    assert check.message.endswith("without 'use_stdin: true': it gets no pushed ref")
    assert check.fix == "add 'use_stdin: true' to that command in lefthook.yml"


def test_a_lefthook_config_that_cannot_be_read(repo: Path) -> None:
    write(repo / "lefthook.yml", LEFTHOOK_YML)
    _run(repo, LEFTHOOK, "install")
    write(repo / "lefthook.yml", "post-commit:\n  commands: [\n")
    check = _hooks(repo)["post-commit hook"]
    assert check.level == "warning"
    assert "runs lefthook, but lefthook.yml cannot be read: " in check.message
    assert check.fix is not None and check.fix.startswith(
        "fix lefthook.yml ('lefthook validate' checks it), or check by hand"
    )


# --- husky -----------------------------------------------------------------------------


def test_husky_with_the_readme_snippet_is_ok(repo: Path, on_path: None) -> None:
    install_like_husky(repo)
    add_snippet(repo)
    checks = _hooks(repo)
    assert "hooks" not in checks
    for stage in stages():
        shim = repo / ".husky" / "_" / stage
        assert checks[f"{stage} hook"] == Check(
            f"{stage} hook",
            "ok",
            f"{shim} runs husky, whose .husky/{stage} runs mlflow-gitver hook {stage}",
        )


def test_husky_without_our_lines_names_the_file_and_the_line(repo: Path, on_path: None) -> None:
    install_like_husky(repo)
    write(repo / ".husky" / "post-commit", "npm test\n")
    write(repo / ".husky" / "pre-push", "mlflow-gitver hook pre-push\n")
    checks = _hooks(repo)
    shim = repo / ".husky" / "_"
    assert checks["post-commit hook"] == Check(
        "post-commit hook",
        "warning",
        f"{shim / 'post-commit'} runs husky, but .husky/post-commit does not run "
        "mlflow-gitver hook post-commit",
        "add the line 'mlflow-gitver hook post-commit' to .husky/post-commit "
        "(see the README's Other hook managers)",
    )
    assert checks["post-merge hook"] == Check(
        "post-merge hook",
        "warning",
        f"{shim / 'post-merge'} runs husky, but .husky/post-merge does not exist",
        "echo 'mlflow-gitver hook post-merge' > .husky/post-merge, and commit it "
        "(see the README's Other hook managers)",
    )
    assert checks["pre-push hook"] == Check(
        "pre-push hook",
        "warning",
        f"{shim / 'pre-push'} runs husky, whose .husky/pre-push runs mlflow-gitver hook "
        "pre-push without git's arguments: it registers HEAD, not the pushed refs",
        """make that line 'mlflow-gitver hook pre-push "$@"' in .husky/pre-push""",
    )
    # The fixes, as printed.
    with (repo / ".husky" / "post-commit").open("a") as f:
        f.write(HUSKY_LINE["post-commit"] + "\n")
    for stage in ("post-merge", "post-rewrite"):
        fix = _hooks(repo)[f"{stage} hook"].fix
        assert fix is not None
        _run(repo, "sh", "-c", fix.split(", and commit it")[0])
    write(repo / ".husky" / "pre-push", HUSKY_LINE["pre-push"] + "\n")
    assert {c.level for c in _hooks(repo).values()} == {"ok"}


def test_husky_over_our_hooks_in_git_hooks(repo: Path, on_path: None) -> None:
    plain_hooks(repo)
    install_like_husky(repo)
    check = _hooks(repo)["hooks"]
    assert check.level == "error"
    assert check.message.startswith("core.hooksPath is .husky/_, so git ignores ")
    assert check.fix == (
        "git config --unset core.hooksPath (then pre-commit install), or add our lines to "
        f"husky's {repo / '.husky'}/<stage> files (below)"
    )
    add_snippet(repo)
    assert "hooks" not in _hooks(repo)
    assert git(repo, "config", "core.hooksPath").strip() == ".husky/_"
