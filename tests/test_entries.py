"""The paths to look at (entries.py): what `git status` names, what the index flags
(skip-worktree, assume-unchanged), what git never sees, and what never counts.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from mlflow_gitver import git as gitmod
from mlflow_gitver.gitstate import read_state, state_of
from testing.gitstates import DIRTY, vid
from testing.gitstates import git_sees_nothing as _git_sees_nothing
from testing.repos import clone, commit_all, git, head, write

# --- a function of content ---------------------------------------------------------


def test_rm_cached_but_unchanged_is_clean(base: Path) -> None:
    # git shows the file both deleted (index) and untracked: the tree still equals HEAD.
    git(base, "rm", "-q", "--cached", "app.py")
    assert vid(base) == head(base)
    write(base / "app.py", "print('edited')\n")
    assert DIRTY.match(vid(base))


# --- sees every change ---------------------------------------------------------------


def test_unmerged_paths(base: Path) -> None:
    git(base, "checkout", "-q", "-b", "other")
    write(base / "app.py", "print('other')\n")
    commit_all(base, "other")
    git(base, "checkout", "-q", "main")
    write(base / "app.py", "print('main')\n")
    commit_all(base, "main")
    r = subprocess.run(["git", "merge", "-q", "other"], cwd=base, capture_output=True)
    assert r.returncode != 0  # a conflict
    state = read_state(base)
    assert [c.display_path for c in state.changes] == ["app.py"]
    # The id follows the content: resolving to HEAD's content is clean again.
    write(base / "app.py", "print('main')\n")
    assert vid(base) == head(base)


# --- ignored files and MLflow's own stores ----------------------------------------------


def test_ignored_files_never_count(base: Path) -> None:
    write(base / ".gitignore", "*.log\nbuild/\n")
    commit_all(base)
    write(base / "x.log", "log\n")
    write(base / "build" / "out.o", b"\0")
    write(base / "pkg" / "deep.log", "log\n")
    write(base / ".git" / "info" / "exclude", "secret.txt\n")
    write(base / "secret.txt", "s\n")
    global_excludes = Path(os.environ["HOME"]) / "excludes"
    write(global_excludes, "*.tmp\n")
    git(base, "config", "core.excludesFile", str(global_excludes))
    write(base / "x.tmp", "t\n")
    assert vid(base) == head(base)


STORE_PATHS = [
    "mlflow.db",
    "mlflow.db-journal",
    "mlflow.db-wal",
    "mlruns/0/meta.yaml",
    "mlruns/1/abc/artifacts/model.pkl",
    "mlartifacts/1/x.bin",
    "mlflow-gitver.env",
    "sub/mlflow.db",
    "sub/mlflow.db-journal",
    "sub/dir/mlruns/0/meta.yaml",
    "sub/mlartifacts/x",
    "sub/mlflow-gitver.env",
]


def test_mlflow_stores_never_count_even_unignored(base: Path) -> None:
    assert not (base / ".gitignore").exists()
    for p in STORE_PATHS:
        write(base / p, "store\n")
    assert vid(base) == head(base)
    # Only the exact names: look-alikes count.
    write(base / "mlflow.dbx", "x\n")
    write(base / "my_mlruns" / "x", "x\n")
    state = read_state(base)
    assert [c.display_path for c in state.changes] == ["mlflow.dbx", "my_mlruns/x"]


def test_tracked_store_file_changes_do_not_count(base: Path) -> None:
    write(base / "mlruns" / "meta.yaml", "a\n")
    commit_all(base)
    write(base / "mlruns" / "meta.yaml", "b\n")
    assert vid(base) == head(base)


def test_untracked_false(base: Path) -> None:
    write(base / "new.py", "x\n")
    assert DIRTY.match(vid(base))
    assert vid(base, untracked=False) == head(base)
    write(base / "app.py", "edit\n")
    only_tracked = vid(base, untracked=False)
    assert DIRTY.match(only_tracked) and only_tracked != vid(base)
    repo = gitmod.discover(base)
    assert state_of(repo, untracked=False).version_id == only_tracked
    assert state_of(repo, untracked=True).version_id == vid(base)


# --- issue 10: the bytes on disk, whatever git is told to trust ------------------------


def test_skip_worktree_edit_is_seen(base: Path, twin: Path) -> None:
    git(base, "update-index", "--skip-worktree", "app.py")
    for root in (base, twin):
        write(root / "app.py", "print('local tweak')\n")
    assert _git_sees_nothing(base)  # git is told not to look
    assert vid(base) == vid(twin) != head(base)
    write(base / "app.py", "print('hello')\n")  # back to HEAD's bytes: clean again
    assert vid(base) == head(base)


def test_assume_unchanged_edit_and_delete_are_seen(base: Path, twin: Path) -> None:
    git(base, "update-index", "--assume-unchanged", "app.py", "pkg/mod.py")
    for root in (base, twin):
        write(root / "app.py", "print('edited')\n")
        (root / "pkg" / "mod.py").unlink()
    assert _git_sees_nothing(base)
    assert vid(base) == vid(twin) != head(base)
    assert {c.display_path: c.status for c in read_state(base).changes} == {
        "app.py": "modified",
        "pkg/mod.py": "deleted",
    }


def test_assume_unchanged_and_staged_edit(base: Path, twin: Path) -> None:
    # Staged, then flagged, then edited again on disk: the disk wins.
    write(base / "app.py", "print('staged')\n")
    git(base, "add", "app.py")
    git(base, "update-index", "--assume-unchanged", "app.py")
    for root in (base, twin):
        write(root / "app.py", "print('on disk')\n")
    assert vid(base) == vid(twin)
    write(base / "app.py", "print('hello')\n")
    assert vid(base) == head(base)


def test_core_ignorestat_flags_are_seen(base: Path, twin: Path) -> None:
    # core.ignoreStat=true makes git mark entries assume-unchanged as it adds them.
    git(base, "config", "core.ignoreStat", "true")
    write(base / "app.py", "print('hello')\n")
    git(base, "add", "app.py")
    for root in (base, twin):
        write(root / "app.py", "print('edited')\n")
    assert vid(base) == vid(twin) != head(base)


# --- submodules -------------------------------------------------------------------------


def test_files_in_a_submodule_that_is_not_checked_out(
    superproject: tuple[Path, Path], tmp_path: Path
) -> None:
    sup, _sub = superproject
    plain = clone(sup, tmp_path / "plain")  # lib/ is an empty directory
    assert vid(plain) == head(sup)
    write(plain / "lib" / "lib.py", "L = 99\n")
    assert _git_sees_nothing(plain)
    state = read_state(plain)
    assert state.dirty and [c.display_path for c in state.changes] == ["lib/lib.py"]
    assert len(state.warnings) == 1 and "lib/" in state.warnings[0]
    write(plain / "lib" / "lib.py", "L = 100\n")
    assert vid(plain) != state.version_id
    assert vid(plain, untracked=False) == head(sup)
