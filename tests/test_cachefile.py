"""cachefile.py: files that only save time never fail a command, nor leave litter."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from mlflow_gitver.cachefile import replace_quietly
from testing.cli import cli, cli_without_root_powers
from testing.repos import commit_all, init_repo, write


def test_writes_the_chunks_and_creates_the_directory(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "cache"
    replace_quietly(str(path), b"head\n", b"", b"body")
    assert path.read_bytes() == b"head\nbody"
    replace_quietly(str(path), b"new")
    assert path.read_bytes() == b"new"
    assert sorted(os.listdir(path.parent)) == ["cache"]


def test_a_file_where_the_directory_goes_is_no_error(tmp_path: Path) -> None:
    (tmp_path / "a").write_text("a file\n")
    replace_quietly(str(tmp_path / "a" / "cache"), b"x")
    assert (tmp_path / "a").read_text() == "a file\n"
    assert sorted(os.listdir(tmp_path)) == ["a"]


def test_a_read_only_cache_directory_costs_id_nothing(tmp_path: Path) -> None:
    """Through a real ``id`` (which writes the index listing and, for an app, a
    scope hint; the stat cache when it hashed a file), permissions really enforced."""
    root = init_repo(tmp_path / "r")
    write(root / "a.py", "a\n")
    write(root / ".mlflow-gitver.yaml", "apps:\n  - {name: a, paths: [a.py]}\n")
    commit_all(root, "first")
    write(root / "a.py", "edited\n")
    want = cli("id", "--app", "a", cwd=root).stdout
    caches = root / ".git" / "mlflow-gitver"
    assert {"index-listing", "scope-hints"} <= set(os.listdir(caches))  # written
    shutil.rmtree(caches)
    caches.mkdir(mode=0o555)  # every cache must be written again, and cannot be
    try:
        got = cli_without_root_powers("id", "--app", "a", cwd=root)
        assert got.returncode == 0 and got.stdout == want, got.stderr
        assert got.stderr == ""
    finally:
        caches.chmod(0o755)
    assert os.listdir(caches) == []  # no temporary file left
