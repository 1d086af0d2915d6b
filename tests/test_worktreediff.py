"""The uncommitted change as git diffs, made without writing the user's index or object
database: real repositories, real `git apply` of what comes out."""

from __future__ import annotations

import os
from pathlib import Path

from mlflow_gitver import git as gitmod
from mlflow_gitver.gitstate import GitState, read_state
from mlflow_gitver.worktreediff import diffs
from testing.repos import clone, commit_all, git, write


def _keep(state: GitState, *only: str) -> dict[str, tuple[bytes, bool]]:
    """What patch.py keeps: every change (or those named), path -> (git path, untracked)."""
    return {
        c.display_path: (c.path, c.status == "untracked")
        for c in state.changes
        if not only or c.display_path in only
    }


def _diffs(repo: Path, *only: str) -> tuple[bytes, bytes]:
    state = read_state(repo)
    return diffs(gitmod.discover(repo), state, _keep(state, *only))


def _snapshot(repo: Path) -> tuple[bytes, list[str]]:
    objects = sorted(str(p) for p in (repo / ".git" / "objects").rglob("*") if p.is_file())
    return (repo / ".git" / "index").read_bytes(), objects


def _files(diff: bytes) -> list[bytes]:
    return [
        line.split(b" b/", 1)[1] for line in diff.split(b"\n") if line.startswith(b"diff --git")
    ]


def test_the_two_diffs_rebuild_the_working_tree(repo: Path, tmp_path: Path) -> None:
    write(repo / "app.py", "print('changed')\n")
    (repo / "README.md").unlink()
    write(repo / "new" / "mod.py", "X = 1\n")
    write(repo / "empty.txt", "")
    before = _snapshot(repo)
    tracked, untracked = _diffs(repo)
    assert _snapshot(repo) == before  # no index written, no object (not even the empty blob)
    assert _files(tracked) == [b"README.md", b"app.py"]
    assert _files(untracked) == [b"empty.txt", b"new/mod.py"]
    assert untracked.count(b"new file mode 100644") == 2
    other = clone(repo, tmp_path / "other")
    git(other, "apply", "--binary", "-", input=tracked + untracked)
    assert (other / "app.py").read_text() == "print('changed')\n"
    assert not (other / "README.md").exists()
    assert (other / "new" / "mod.py").read_text() == "X = 1\n"
    assert (other / "empty.txt").read_bytes() == b""


def test_a_clean_tree_and_nothing_kept_give_empty_diffs(repo: Path) -> None:
    assert _diffs(repo) == (b"", b"")
    write(repo / "app.py", "x\n")
    state = read_state(repo)
    assert diffs(gitmod.discover(repo), state, {}) == (b"", b"")


def test_only_the_kept_files_are_in_the_diffs(repo: Path) -> None:
    write(repo / "app.py", "print('changed')\n")
    write(repo / "README.md", "# changed\n")
    write(repo / "keep.txt", "k\n")
    write(repo / "leave.txt", "l\n")
    tracked, untracked = _diffs(repo, "README.md", "keep.txt")
    assert _files(tracked) == [b"README.md"]
    assert _files(untracked) == [b"keep.txt"]


def test_names_are_literal_never_pathspec_magic(repo: Path) -> None:
    # Dropping a file named '*.py' must not drop app.py; ':(glob)*' is a file name too.
    write(repo / "*.py", "star\n")
    write(repo / ":(top)x", "magic\n")
    commit_all(repo, "odd names")
    write(repo / "*.py", "star 2\n")
    write(repo / "app.py", "print('changed')\n")
    write(repo / ":(top)x", "magic 2\n")
    write(repo / "[ab].txt", "new\n")
    write(repo / "a.txt", "not kept\n")
    tracked, untracked = _diffs(repo, "app.py", ":(top)x", "[ab].txt")
    assert _files(tracked) == [b":(top)x", b"app.py"]
    assert _files(untracked) == [b"[ab].txt"]


def test_a_non_utf8_name(repo: Path, tmp_path: Path) -> None:
    name = os.fsdecode(b"caf\xe9.txt")
    write(repo / name, b"\xff\xfe bytes\n")
    tracked, untracked = _diffs(repo)
    assert tracked == b""
    assert b"caf" in untracked and b"\xff\xfe bytes" in untracked
    other = clone(repo, tmp_path / "other")
    git(other, "apply", "--binary", "-", input=untracked)
    assert (other / name).read_bytes() == b"\xff\xfe bytes\n"


def test_the_stores_mlflow_writes_are_never_in_the_diff(repo: Path) -> None:
    write(repo / "mlflow.db", "tracked by mistake\n")
    commit_all(repo, "a store committed by mistake")
    write(repo / "mlflow.db", "changed by a registration\n")
    write(repo / "app.py", "print('changed')\n")
    state = read_state(repo)
    keep = _keep(state) | {"mlflow.db": (b"mlflow.db", False)}
    tracked, _untracked = diffs(gitmod.discover(repo), state, keep)
    assert _files(tracked) == [b"app.py"]


def test_a_staged_change_is_diffed_against_head(repo: Path) -> None:
    write(repo / "app.py", "staged\n")
    git(repo, "add", "app.py")
    write(repo / "app.py", "staged then edited\n")
    tracked, _ = _diffs(repo)
    assert b"-print('hello')" in tracked and b"+staged then edited" in tracked
    assert b"+staged\n" not in tracked
    assert git(repo, "diff", "--cached", "--name-only") == "app.py\n"  # the user's staging kept
