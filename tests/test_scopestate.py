"""scopestate.py: a scoped state's git calls, started together and read as one."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlflow_gitver import git as gitmod
from mlflow_gitver.errors import GitverError
from mlflow_gitver.gitstate import state_of
from mlflow_gitver.scopestate import ScopeRun
from testing.repos import commit_all, init_repo, write


@pytest.fixture
def mono(tmp_path: Path) -> Path:
    root = init_repo(tmp_path / "mono")
    write(root / "a/x.py", "x\n")
    write(root / "b/y.py", "y\n")
    commit_all(root, "first")
    return root


def test_a_run_reads_the_state_state_of_computes(mono: Path) -> None:
    repo = gitmod.discover(mono)
    write(mono / "a/x.py", "edited\n")
    write(mono / "b/y.py", "edited too\n")
    run = ScopeRun(repo, True, ("a",))
    assert run.answers(True, ("a",))
    assert not run.answers(False, ("a",)) and not run.answers(True, ("a", "b"))
    got = run.state()
    want = state_of(repo, scope=("a",))
    assert got.version_id == want.version_id and got.version_id.startswith("scoped-")
    assert [c.path for c in got.changes] == [b"a/x.py"]


def test_state_of_uses_a_matching_run_and_discards_another(mono: Path) -> None:
    repo = gitmod.discover(mono)
    want = state_of(repo, scope=("b",)).version_id
    assert state_of(repo, scope=("b",), started=ScopeRun(repo, True, ("b",))).version_id == want
    # A run for other paths, or for the whole repository: discarded, the right state read.
    assert state_of(repo, scope=("b",), started=ScopeRun(repo, True, ("a",))).version_id == want
    whole = state_of(repo, started=ScopeRun(repo, True, ("a",)))
    assert whole.version_id == state_of(repo).version_id == whole.commit


def test_an_unborn_head_is_one_clear_error(tmp_path: Path) -> None:
    root = init_repo(tmp_path / "empty")
    write(root / "a/x.py", "x\n")
    run = ScopeRun(gitmod.discover(root), True, ("a",))
    with pytest.raises(GitverError, match="has no commit yet"):
        run.state()
