"""The index listing and its cache: served only while the index file is unchanged.

Every test runs the real CLI (``id``) with --debug tracing, and reads from the
trace whether ``git ls-files`` ran: the cache is an optimisation, so each test
checks both that it is used and that the id is what a fresh run computes.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mlflow_gitver import git as gitmod
from mlflow_gitver import gitindex
from mlflow_gitver.proc import Spawned
from testing.cli import cli, cli_without_root_powers
from testing.repos import commit_all, git, init_repo, write


def _id(root: Path, **env: str) -> tuple[str, bool]:
    """(the id, whether ``git ls-files -v`` ran) from one real ``id`` process."""
    full = {**os.environ, "MLFLOW_GITVER_DEBUG": "1", **env}
    r = cli("id", cwd=root, env=full)
    assert r.returncode == 0, r.stderr
    return r.stdout.strip(), " ls-files -z -v " in r.stderr


def _fresh_id(root: Path) -> str:
    """The id with no cache at all."""
    (root / ".git" / gitindex.LISTING_NAME).unlink(missing_ok=True)
    got, listed = _id(root)
    assert listed
    return got


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = init_repo(tmp_path / "r")
    write(root / "app.py", "print(1)\n")
    write(root / "conf" / "local.yaml", "debug: false\n")
    commit_all(root, "first")
    return root


def test_second_run_reads_the_cache_and_agrees(repo: Path) -> None:
    first, listed = _id(repo)
    assert listed
    second, listed_again = _id(repo)
    assert not listed_again
    assert second == first == git(repo, "rev-parse", "HEAD").strip()


@pytest.mark.parametrize("flag", ["--skip-worktree", "--assume-unchanged"])
def test_a_flag_set_after_the_cache_was_written_is_seen(repo: Path, flag: str) -> None:
    clean, _ = _id(repo)
    git(repo, "update-index", flag, "conf/local.yaml")
    write(repo / "conf" / "local.yaml", "debug: true\n")
    got, listed = _id(repo)
    assert listed  # the flag changed the index: its checksum, so a miss
    assert got != clean and "-dirty-" in got
    assert got == _fresh_id(repo)


def test_staging_changes_the_index_and_the_listing(repo: Path) -> None:
    _id(repo)
    write(repo / ".gitattributes", "*.py text eol=crlf\n")
    git(repo, "add", ".gitattributes")  # the listing now shows a tracked attributes file
    got, listed = _id(repo)
    assert listed
    assert got == _fresh_id(repo)


def test_skip_hash_index_is_never_cached(repo: Path) -> None:
    git(repo, "-c", "index.skipHash=true", "update-index", "--skip-worktree", "app.py")
    index = repo / ".git" / "index"
    data = index.read_bytes()
    if data[-20:] != b"\0" * 20:
        # git < 2.40 has no index.skipHash: write what it writes (a zero
        # checksum, which git reads without checking) by hand.
        index.write_bytes(data[:-20] + b"\0" * 20)
    assert "S app.py" in git(repo, "ls-files", "-v")  # git still reads it
    write(repo / "app.py", "print(2)\n")
    first, listed = _id(repo)
    assert listed and "-dirty-" in first
    second, listed = _id(repo)
    assert listed and second == first
    assert not (repo / ".git" / gitindex.LISTING_NAME).exists()


@pytest.mark.parametrize(
    "damage",
    [
        lambda b: b[: len(b) // 2],  # cut short (a full disk)
        lambda b: b.replace(b"index-listing 1", b"index-listing 0", 1),  # another layout
        lambda b: b"",
    ],
    ids=["truncated", "old-layout", "empty"],
)
def test_a_damaged_cache_is_a_miss_or_harmless(repo: Path, damage: object) -> None:
    git(repo, "update-index", "--skip-worktree", "app.py")
    write(repo / "app.py", "print(3)\n")
    want, _ = _id(repo)
    cache = repo / ".git" / gitindex.LISTING_NAME
    cache.write_bytes(damage(cache.read_bytes()))  # type: ignore[operator]
    got, listed = _id(repo)
    assert listed and got == want and "-dirty-" in got


def test_an_unwritable_cache_costs_only_speed(repo: Path) -> None:
    (repo / ".git" / "mlflow-gitver").mkdir(exist_ok=True)
    (repo / ".git" / gitindex.LISTING_NAME).mkdir()  # a directory where the file goes
    first, listed = _id(repo)
    assert listed and first == git(repo, "rev-parse", "HEAD").strip()
    second, listed = _id(repo)
    assert listed and second == first


def test_read_only_git_directory(repo: Path) -> None:
    gitdir = repo / ".git"
    gitdir.chmod(0o555)
    try:
        r = cli_without_root_powers("id", cwd=repo)
        assert r.returncode == 0, r.stderr
        assert r.stdout.strip() == git(repo, "rev-parse", "HEAD").strip()
    finally:
        gitdir.chmod(0o755)


def test_linked_worktrees_keep_their_own_listing(repo: Path, tmp_path: Path) -> None:
    wt = tmp_path / "wt"
    git(repo, "worktree", "add", "-q", str(wt))
    git(wt, "update-index", "--assume-unchanged", "app.py")
    write(wt / "app.py", "print('wt')\n")
    main_id, _ = _id(repo)
    wt_id, _ = _id(wt)
    main_again, listed = _id(repo)
    assert not listed and main_again == main_id
    assert "-dirty-" in wt_id and "-dirty-" not in main_id


def test_listing_matches_git_after_each_change(repo: Path) -> None:
    """The cached listing is byte for byte what ls-files says, state after state."""
    r = gitmod.discover(repo)
    steps = [
        lambda: git(repo, "update-index", "--skip-worktree", "app.py"),
        lambda: git(repo, "update-index", "--no-skip-worktree", "app.py"),
        lambda: (write(repo / "new.txt", "x"), git(repo, "add", "new.txt")),
        lambda: git(repo, "rm", "-q", "--cached", "new.txt"),
        lambda: git(repo, "update-index", "--assume-unchanged", "conf/local.yaml"),
        lambda: commit_all(repo, "more"),
    ]
    for step in steps:
        step()
        for _ in range(2):  # a miss that writes, then a hit
            got = gitindex.listing(
                r,
                lambda: Spawned(
                    gitmod.argv(["ls-files", "-z", "-v", "--full-name", "--", ":/"], at=str(repo)),
                    r.env(),
                ),
            )
            want = git(repo, "ls-files", "-z", "-v", "--full-name", "--", ":/")
            assert got == want.encode("utf-8", "surrogateescape")
