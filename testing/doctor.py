"""The doctor tests' helpers (tests/commands/test_doctor.py, tests/commands/doctor/):
run ``doctor`` and read its lines, install our plain hooks."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from mlflow_gitver.commands.doctor.hooks import stages
from mlflow_gitver.main import main
from testing.source import HOOKS_DIR


def doctor(
    capsys: pytest.CaptureFixture[str], repo: Path, *args: str
) -> tuple[int, dict[str, str]]:
    """Exit code, and check name -> its text line (level first)."""
    code = main(["doctor", "--repo", str(repo), *args])
    lines = capsys.readouterr().out.splitlines()
    return code, {line[8:].split(":", 1)[0]: line for line in lines}


def plain_hooks(repo: Path) -> None:
    """Our plain hook scripts copied into ``repo``'s .git/hooks."""
    (repo / ".git" / "hooks").mkdir(exist_ok=True)  # the tests' git has no template
    for stage in stages():
        shutil.copy2(HOOKS_DIR / stage, repo / ".git" / "hooks" / stage)
