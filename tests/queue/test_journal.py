"""HEAD's reflog: the commits made since the hooks last looked, and catching up."""

from __future__ import annotations

import time
from pathlib import Path

from mlflow_gitver import git as gitmod
from mlflow_gitver.queue import journal
from mlflow_gitver.queue.store import Store
from testing.repos import commit_all, git


def _made_since(repo: Path, cursor: journal.Cursor | None) -> tuple[list[str], journal.Cursor]:
    made, new = journal.scan(repo / ".git", cursor)
    assert new is not None
    return [m.commit for m in made], new


def test_the_reflog_lists_what_git_made_and_nothing_it_only_moved_to(repo: Path) -> None:
    made, cursor = _made_since(repo, None)
    assert made == []  # the hooks' first run: only HEAD, from then on
    a = commit_all(repo, "a")
    git(repo, "checkout", "-q", "-b", "side")
    s = commit_all(repo, "s")
    git(repo, "checkout", "-q", "main")
    m = commit_all(repo, "m")
    git(repo, "merge", "-q", "--no-edit", "side")
    merge = git(repo, "rev-parse", "HEAD").strip()
    git(repo, "checkout", "-q", "-b", "ff", "side")
    git(repo, "merge", "-q", "--ff-only", "main")  # a fast-forward: nothing made
    git(repo, "reset", "-q", "--hard", "HEAD~1")
    git(repo, "commit", "-q", "--allow-empty", "--amend", "-m", "amended")
    amended = git(repo, "rev-parse", "HEAD").strip()
    made, cursor = _made_since(repo, cursor)
    assert made == [a, s, m, merge, amended]
    assert _made_since(repo, cursor)[0] == []


def test_a_line_git_is_still_writing_is_read_next_time(repo: Path) -> None:
    _, cursor = _made_since(repo, None)
    c = commit_all(repo, "c")
    log = repo / ".git" / "logs" / "HEAD"
    whole = log.read_bytes()
    last = whole[whole.rstrip(b"\n").rfind(b"\n") + 1 :]
    log.write_bytes(whole[: len(whole) - len(last)] + last[:30])  # half a line
    made, half = _made_since(repo, cursor)
    assert made == []
    log.write_bytes(whole)
    assert _made_since(repo, half)[0] == [c]


def test_a_rewritten_reflog_is_read_from_the_last_time_seen(repo: Path) -> None:
    _, cursor = _made_since(repo, None)
    commit_all(repo, "before")
    _, cursor = _made_since(repo, cursor)
    # `git reflog expire` rewrites the file (a new inode, fewer lines).
    git(repo, "reflog", "expire", "--expire=now", "--all")
    time.sleep(1.1)  # reflog times have one-second resolution
    after = commit_all(repo, "after")
    assert _made_since(repo, cursor)[0] == [after]


def test_catch_up_records_and_moves_the_cursor(repo: Path) -> None:
    r = gitmod.discover(repo)
    store = Store(repo / ".git")
    assert journal.catch_up(store, r, {}, source="test", branch="main") == ([], True)
    commits = [commit_all(repo, f"c{i}") for i in range(3)]
    assert journal.unrecorded(store, r) == [(c, f"commit: c{i}") for i, c in enumerate(commits)]
    added, _ = journal.catch_up(
        store, r, {}, source="test", branch="main", done=frozenset(commits[:1])
    )
    assert added == commits[1:]
    assert journal.unrecorded(store, r) == []
    assert {e.record.source for e in store.list_pending()} == {"test"}
