"""Working trees for the git-state tests (test_gitstate.py, test_gitstatus.py,
test_entries.py, test_worktree.py, test_conversion.py): the id of a tree, one of every
kind of change, stat times git trusts, and what the user's own git sees.

The repositories they start from are fixtures in tests/conftest.py (``base``, its
``twin`` clone, the ``superproject``).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from mlflow_gitver.gitstate import read_state
from testing.repos import git, write

DIRTY = re.compile(r"^[0-9a-f]{32}-dirty-[0-9a-f]{8}$")


def vid(root: Path, *, untracked: bool = True) -> str:
    return read_state(root, untracked=untracked).version_id


def mutate(root: Path) -> None:
    """One of every kind of change, applied identically to any clone."""
    write(root / "app.py", "print('changed')\n")
    (root / "pkg" / "mod.py").unlink()
    (root / "run.sh").chmod(0o644)
    write(root / "data.bin", bytes(range(255, -1, -1)))
    os.remove(root / "link")
    os.symlink("run.sh", root / "link")
    write(root / "new dir" / "ünïcödé 'q' \"dq\".py", "x = 'new'\n")
    write(root / "line\nbreak.txt", "nl\n")
    write(root / "latin1.txt", b"caf\xe9\n")


def age(path: Path, seconds: int = 60) -> None:
    """Make a file's mtime old enough for the racy-timestamp rule to trust it."""
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns - seconds * 10**9))


def git_sees_nothing(root: Path) -> bool:
    """Whether the user's own `git status` (with their config) shows a clean tree."""
    return git(root, "status", "--porcelain", "-uall") == ""
