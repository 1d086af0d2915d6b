"""Blob ids match git's, and the stat cache serves only what did not change."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlflow_gitver.blobhash import Gone, StatCache, bytes_oid, file_oid, read_oid, worktree_entry
from testing.repos import git, init_repo


@pytest.fixture
def repos(tmp_path: Path) -> dict[str, Path]:
    sha1 = init_repo(tmp_path / "sha1")
    sha256 = tmp_path / "sha256"
    sha256.mkdir()
    git(sha256, "init", "-q", "--object-format=sha256")
    return {"sha1": sha1, "sha256": sha256}


def git_oid(repo: Path, data: bytes) -> str:
    # hash-object without -w writes nothing; --no-filters: raw bytes, like us.
    return git(repo, "hash-object", "--no-filters", "--stdin", input=data).strip()


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.binary(max_size=5000))
def test_property_ids_match_git(repos: dict[str, Path], tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "f.bin"
    path.write_bytes(data)
    for algo, repo in repos.items():
        expected = git_oid(repo, data)
        assert bytes_oid(data, algo) == expected
        assert file_oid(path, len(data), algo) == expected
        assert file_oid(os.fsencode(path), len(data), algo) == expected


def test_large_file_matches_git(repos: dict[str, Path], tmp_path: Path) -> None:
    data = os.urandom(3 << 20) + b"tail"  # several read chunks
    path = tmp_path / "big"
    path.write_bytes(data)
    assert file_oid(path, len(data), "sha1") == git_oid(repos["sha1"], data)


def test_worktree_entry_modes(tmp_path: Path, repos: dict[str, Path]) -> None:
    cache = StatCache(None, "sha1")
    (tmp_path / "f").write_bytes(b"x")
    (tmp_path / "x").write_bytes(b"#!/bin/sh\n")
    (tmp_path / "x").chmod(0o755)
    os.symlink("target/path", tmp_path / "l")
    (tmp_path / "d").mkdir()
    os.mkfifo(tmp_path / "p")
    assert _mo(tmp_path / "f", cache) == ("100644", git_oid(repos["sha1"], b"x"))
    assert _mo(tmp_path / "x", cache)[0] == "100755"
    # A symlink's blob is its target, as git stores it.
    assert _mo(tmp_path / "l", cache) == ("120000", git_oid(repos["sha1"], b"target/path"))
    assert _mo(tmp_path / "d", cache) == ("040000", "")
    assert _mo(tmp_path / "p", cache) == ("000000", "")
    assert worktree_entry(tmp_path / "missing", b"m", cache) is None
    assert worktree_entry(tmp_path / "f" / "under-a-file", b"u", cache) is None


def _mo(path: Path, cache: StatCache) -> tuple[str, str]:
    seen = worktree_entry(path, path.name.encode(), cache)
    assert seen is not None
    return seen.mode, seen.oid


def _old(path: Path) -> os.stat_result:
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns - 60 * 10**9))
    return os.lstat(path)


def test_cache_round_trip_and_counts(tmp_path: Path) -> None:
    f = tmp_path / "big"
    f.write_bytes(b"a" * 10_000)
    st = _old(f)
    cache_file = tmp_path / "gitdir" / "stat-cache"
    first = StatCache(cache_file, "sha1")
    oid = first.oid(f, b"big", st)[0]
    assert first.hashed == 1
    first.save()
    assert cache_file.read_text().startswith("mlflow-gitver stat-cache 3 sha1\n")
    second = StatCache(cache_file, "sha1")
    assert second.oid(f, b"big", os.lstat(f))[0] == oid
    assert second.hashed == 0  # served from the cache: the file was not read
    # Another algorithm never reads a sha1 cache.
    other = StatCache(cache_file, "sha256")
    other.oid(f, b"big", os.lstat(f))
    assert other.hashed == 1


def test_cache_misses_on_any_stat_change(tmp_path: Path) -> None:
    f = tmp_path / "big"
    f.write_bytes(b"a" * 10_000)
    st = _old(f)
    cache_file = tmp_path / "stat-cache"
    c = StatCache(cache_file, "sha1")
    c.oid(f, b"big", st)
    c.save()
    f.write_bytes(b"b" * 10_000)  # same size
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns))  # same mtime
    c2 = StatCache(cache_file, "sha1")
    assert c2.oid(f, b"big", os.lstat(f))[0] == bytes_oid(b"b" * 10_000, "sha1")
    assert c2.hashed == 1
    f.chmod(0o755)  # a mode change is a stat change too
    c3 = StatCache(cache_file, "sha1")
    c3.oid(f, b"big", os.lstat(f))
    assert c3.hashed == 1


def test_racy_entries_are_not_kept(tmp_path: Path) -> None:
    f = tmp_path / "fresh"
    f.write_bytes(b"new")
    cache_file = tmp_path / "stat-cache"
    c = StatCache(cache_file, "sha1")
    c.oid(f, b"fresh", os.lstat(f))
    c.save()
    assert not cache_file.exists()  # nothing trustworthy to keep
    assert os.lstat(f).st_mtime_ns > time.time_ns() - 10 * 10**9


def test_unused_entries_are_dropped(tmp_path: Path) -> None:
    cache_file = tmp_path / "stat-cache"
    paths = []
    for name in ("a", "b"):
        p = tmp_path / name
        p.write_bytes(name.encode() * 100)
        _old(p)
        paths.append(p)
    c = StatCache(cache_file, "sha1")
    for p in paths:
        c.oid(p, p.name.encode(), os.lstat(p))
    c.save()
    assert len(cache_file.read_text().splitlines()) == 3
    c = StatCache(cache_file, "sha1")
    c.oid(paths[0], b"a", os.lstat(paths[0]))
    c.save()
    assert len(cache_file.read_text().splitlines()) == 2


def test_unwritable_cache_leaves_nothing_behind(tmp_path: Path) -> None:
    f = tmp_path / "big"
    f.write_bytes(b"a" * 100)
    st = _old(f)
    cache_file = tmp_path / "dir-in-the-way"
    cache_file.mkdir()  # os.replace onto a directory fails
    c = StatCache(cache_file, "sha1")
    c.oid(f, b"big", st)
    c.save()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big", "dir-in-the-way"]


@pytest.mark.timeout(30)
def test_a_fifo_never_blocks_a_read(tmp_path: Path) -> None:
    # Without O_NONBLOCK, opening a FIFO with no writer waits forever.
    fifo = tmp_path / "p"
    os.mkfifo(fifo)
    with pytest.raises(Gone):
        read_oid(fifo, "sha1")
    # lstat said "regular file", then a FIFO was swapped in before the read.
    f = tmp_path / "f"
    f.write_bytes(b"x")
    st = os.lstat(f)
    f.unlink()
    os.mkfifo(f)
    with pytest.raises(Gone):
        StatCache(None, "sha1").oid(f, b"f", st)


def test_a_file_gone_or_swapped_before_the_read(tmp_path: Path, repos: dict[str, Path]) -> None:
    cache = StatCache(None, "sha1")
    f = tmp_path / "f"
    f.write_bytes(b"x")
    st = os.lstat(f)
    f.unlink()
    with pytest.raises(Gone):  # not "cannot read ...; fix its permissions"
        cache.oid(f, b"f", st)
    os.symlink("elsewhere", f)  # a symlink swapped in is never followed
    with pytest.raises(Gone):
        cache.oid(f, b"f", st)
    # worktree_entry looks again and reports what is there now.
    seen = worktree_entry(f, b"f", cache)
    assert seen is not None and seen.mode == "120000"
    assert seen.oid == git_oid(repos["sha1"], b"elsewhere")


def test_cr_is_noticed(tmp_path: Path) -> None:
    f = tmp_path / "f"
    f.write_bytes(b"a\r\nb")
    assert read_oid(f, "sha1")[2] is True
    f.write_bytes(b"a\nb")
    assert read_oid(f, "sha1")[2] is False


@pytest.mark.imports_counted
def test_small_hashes_never_import_hashlib() -> None:
    # Loading OpenSSL through hashlib costs `id` ~2.5 ms; the built-in modules
    # are named _sha256 up to Python 3.11 and _sha2 from 3.12 (issue 12).
    code = (
        "import sys; from mlflow_gitver.blobhash import new_hash; "
        "new_hash('sha256').update(b'x'); new_hash('sha1').update(b'x'); "
        "print('hashlib' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    assert out.stdout.strip() == "False"
