"""GitState (gitstate.py), on real repositories: the identifier, a function of content
and of nothing else, the normal states, the stat cache and the warnings.

The rules of the modules it composes have their own files: test_gitstatus.py (the git
calls), test_entries.py (the paths looked at), test_worktree.py (what is on disk, the
changes) and test_conversion.py (what `git add` would store).
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlflow_gitver import git as gitmod
from mlflow_gitver.errors import GitverError
from mlflow_gitver.gitstate import STAT_CACHE_NAME, GitState, read_state, state_at_commit
from mlflow_gitver.identity import is_excluded, version_id
from testing.gitstates import DIRTY, vid
from testing.gitstates import age as _age
from testing.gitstates import mutate as _mutate
from testing.repos import clone, commit_all, git, head, init_repo, write

# --- the identifier's shape ------------------------------------------------------


def test_clean_tree_is_the_full_commit(base: Path) -> None:
    state = read_state(base)
    assert state.version_id == head(base)
    assert not state.dirty and state.digest is None and state.changes == ()


def test_dirty_tree_is_32_hex_dirty_8_hex(base: Path) -> None:
    write(base / "app.py", "print('bye')\n")
    state = read_state(base)
    assert DIRTY.match(state.version_id)
    assert state.version_id.startswith(head(base)[:32])
    assert state.digest is not None and state.version_id.endswith(state.digest[:8])


def test_version_id_function() -> None:
    assert version_id("a" * 40, None) == "a" * 40
    assert version_id("a" * 40, "0123456789" * 6) == "a" * 32 + "-dirty-01234567"


def test_state_at_commit_and_bad_rev(base: Path) -> None:
    repo = gitmod.discover(base)
    first = head(base)
    write(base / "app.py", "v2\n")
    commit_all(base)
    state = state_at_commit(repo, first[:10])
    assert state.version_id == first and not state.dirty
    with pytest.raises(GitverError, match="does not name a commit"):
        state_at_commit(repo, "no-such-rev")


# --- a function of content ---------------------------------------------------------


def test_same_content_in_another_clone_same_id(base: Path, tmp_path: Path) -> None:
    other = clone(base, tmp_path / "other")
    _mutate(base)
    _mutate(other)
    a, b = vid(base), vid(other)
    assert DIRTY.match(a)
    assert a == b


# --- sees every change ---------------------------------------------------------------


def _retarget_symlink(r: Path) -> None:
    os.remove(r / "link")
    os.symlink("run.sh", r / "link")


def _symlink_to_file(r: Path) -> None:
    os.remove(r / "link")
    write(r / "link", "app.py")


def _file_to_directory(r: Path) -> None:
    (r / "app.py").unlink()
    write(r / "app.py" / "inner.py", "print('hello')\n")


def _directory_to_file(r: Path) -> None:
    shutil.rmtree(r / "pkg")
    write(r / "pkg", "X = 1\n")


# What each returns is ignored: only the change it makes to the tree counts.
MUTATIONS: dict[str, Callable[[Path], object]] = {
    "edit": lambda r: write(r / "app.py", "print('edit')\n"),
    "edit other content": lambda r: write(r / "app.py", "print('edit2')\n"),
    "delete": lambda r: (r / "app.py").unlink(),
    "rename": lambda r: (r / "app.py").rename(r / "main.py"),
    "git mv": lambda r: git(r, "mv", "app.py", "main.py") and None,
    "rename into dir": lambda r: (r / "app.py").rename(r / "pkg" / "app.py"),
    "chmod +x": lambda r: (r / "app.py").chmod(0o755),
    "chmod -x": lambda r: (r / "run.sh").chmod(0o644),
    "new symlink": lambda r: os.symlink("pkg/mod.py", r / "link2"),
    "retarget symlink": _retarget_symlink,
    "symlink to file, same bytes": _symlink_to_file,
    "binary edit": lambda r: write(r / "data.bin", bytes(range(256))[::-1]),
    "non-utf8 content": lambda r: write(r / "app.py", b"\xff\xfe\x00caf\xe9\n"),
    "non-utf8 name": lambda r: write(Path(os.fsdecode(bytes(r) + b"/caf\xe9.py")), "x\n"),
    "untracked": lambda r: write(r / "new.py", "x\n"),
    "untracked empty": lambda r: write(r / "empty.py", ""),
    "untracked space": lambda r: write(r / "new file.py", "x\n"),
    "untracked quotes": lambda r: write(r / 'it\'s "q".py', "x\n"),
    "untracked non-ascii": lambda r: write(r / "ünï.py", "x\n"),
    "untracked newline": lambda r: write(r / "a\nb.py", "x\n"),
    "untracked tab and backslash": lambda r: write(r / "a\tb\\c.py", "x\n"),
    "untracked nested": lambda r: write(r / "deep" / "er" / "x.py", "x\n"),
    "file replaced by directory": _file_to_directory,
    "directory replaced by file": _directory_to_file,
    "delete whole directory": lambda r: shutil.rmtree(r / "pkg"),
}


def test_every_change_changes_the_id_and_all_differ(base: Path, tmp_path: Path) -> None:
    ids: dict[str, str] = {}
    for i, (name, mutate) in enumerate(MUTATIONS.items()):
        root = clone(base, tmp_path / f"c{i}")
        mutate(root)
        got = vid(root)
        assert DIRTY.match(got), (name, got)
        ids[name] = got
    by_id: dict[str, list[str]] = {}
    for name, got in ids.items():
        by_id.setdefault(got, []).append(name)
    # "rename" and "git mv" are the same working tree; nothing else may collide.
    collisions = [names for names in by_id.values() if len(names) > 1]
    assert collisions == [["rename", "git mv"]]


# --- normal states ----------------------------------------------------------------------


def test_detached_head(base: Path) -> None:
    git(base, "checkout", "-q", "--detach")
    state = read_state(base)
    assert state.branch is None and state.version_id == head(base)
    assert read_state(base).as_json()["branch"] is None


def test_branch_name(base: Path) -> None:
    git(base, "checkout", "-q", "-b", "feature/ü-x")
    assert read_state(base).branch == "feature/ü-x"


def test_shallow_clone(base: Path, tmp_path: Path) -> None:
    write(base / "app.py", "v2\n")
    commit_all(base)
    shallow = clone(base, tmp_path / "shallow", "--depth", "1")
    state = read_state(shallow)
    assert state.repo.shallow and state.version_id == head(base)
    assert not read_state(base).repo.shallow
    write(shallow / "app.py", "v3\n")
    assert DIRTY.match(vid(shallow))


def test_worktree(base: Path, tmp_path: Path) -> None:
    wt = tmp_path / "wt"
    git(base, "worktree", "add", "-q", "--detach", str(wt))
    state = read_state(wt)
    assert state.repo.root == wt and state.version_id == head(base)
    assert "worktrees" in str(state.repo.git_dir)
    _mutate(wt)
    other = clone(base, tmp_path / "other")
    _mutate(other)
    assert vid(wt) == vid(other)
    assert vid(base) == head(base)  # the main worktree is untouched


def test_sha256_repository(tmp_path: Path) -> None:
    root = tmp_path / "r"
    root.mkdir()
    git(root, "init", "-q", "-b", "main", "--object-format=sha256")
    write(root / "a.py", "a\n")
    commit_all(root)
    state = read_state(root)
    assert state.repo.object_format == "sha256" and len(state.commit) == 64
    assert state.version_id == state.commit
    write(root / "a.py", "b\n")
    got = vid(root)
    assert re.match(r"^[0-9a-f]{32}-dirty-[0-9a-f]{8}$", got)
    write(root / "a.py", "a\n")  # same bytes as HEAD: blob ids must match
    git(root, "add", "a.py")
    assert vid(root) == state.commit


# --- errors -------------------------------------------------------------------------------


def test_unborn_branch(tmp_path: Path) -> None:
    root = init_repo(tmp_path / "r")
    write(root / "a.py", "a\n")
    with pytest.raises(GitverError, match="no commit yet") as e:
        read_state(root)
    assert e.value.exit_code == 2


# --- no writes, no locks -----------------------------------------------------------------


def _objects(root: Path) -> list[str]:
    return sorted(str(p) for p in (root / ".git" / "objects").rglob("*"))


def test_no_writes_to_object_database_or_index(base: Path) -> None:
    git(base, "config", "core.untrackedCache", "true")
    _mutate(base)
    write(base / "big.bin", os.urandom(1 << 20))
    index = base / ".git" / "index"
    before = (_objects(base), index.read_bytes(), index.stat().st_mtime_ns)
    time_src = base / "app.py"
    os.utime(time_src, (1, 1))  # stat-dirty: git status would like to refresh the index
    for _ in range(2):
        assert DIRTY.match(vid(base))
    assert (_objects(base), index.read_bytes(), index.stat().st_mtime_ns) == before
    assert not (base / ".git" / "index.lock").exists()


# --- the stat cache -------------------------------------------------------------------------


def _cache_lines(root: Path) -> list[str]:
    return (root / ".git" / STAT_CACHE_NAME).read_text().splitlines()


def test_repeat_run_serves_unchanged_file_from_cache(base: Path) -> None:
    big = write(base / "big.bin", os.urandom(3 << 20))
    _age(big)
    real = vid(base)
    lines = _cache_lines(base)
    (entry,) = [line for line in lines[1:] if line.startswith(b"big.bin".hex() + " ")]
    # Prove the second run does not read the file: forge the cached id. If the
    # file were re-read, the id would stay `real`.
    forged = entry.rsplit(" ", 1)[0] + " " + "0" * 40
    path = base / ".git" / STAT_CACHE_NAME
    path.write_text("\n".join([lines[0], forged]) + "\n")
    assert vid(base) != real
    path.unlink()
    assert vid(base) == real


def test_modified_file_is_never_served_stale(base: Path) -> None:
    big = write(base / "big.bin", b"a" * 100_000)
    _age(big)
    first = vid(base)
    st = big.stat()
    # Same size, same mtime (restored): only ctime betrays the change.
    big.write_bytes(b"b" * 100_000)
    os.utime(big, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert big.stat().st_size == st.st_size and big.stat().st_mtime_ns == st.st_mtime_ns
    second = vid(base)
    assert second != first
    big.write_bytes(b"a" * 100_000)
    assert vid(base) == first


def test_fresh_file_is_not_cached(base: Path) -> None:
    write(base / "fresh.py", "x\n")  # mtime now: inside the racy window
    vid(base)
    lines = _cache_lines(base) if (base / ".git" / STAT_CACHE_NAME).exists() else []
    assert not [line for line in lines if line.startswith(b"fresh.py".hex() + " ")]


def test_damaged_cache_is_ignored(base: Path) -> None:
    big = write(base / "big.bin", os.urandom(4096))
    _age(big)
    expected = vid(base)
    for junk in (b"", b"\xff\xfe garbage", b"mlflow-gitver stat-cache 3 sha1\nnot enough fields\n"):
        (base / ".git" / STAT_CACHE_NAME).write_bytes(junk)
        assert vid(base) == expected


def test_read_only_git_dir_still_works(base: Path) -> None:
    big = write(base / "big.bin", os.urandom(4096))
    _age(big)
    cache_dir = base / ".git" / "mlflow-gitver"
    cache_dir.mkdir()
    write(cache_dir / "stat-cache", "")
    # Make the cache's path a directory: writing it fails like a read-only git dir.
    (cache_dir / "stat-cache").unlink()
    (cache_dir / "stat-cache").mkdir()
    assert DIRTY.match(vid(base))
    # Nothing half-written left behind (the index listing is another cache).
    assert sorted(p.name for p in cache_dir.iterdir()) == ["index-listing", "stat-cache"]
    assert (cache_dir / "stat-cache").is_dir()


# --- properties: random names and contents ------------------------------------------------


_NAME_CHARS = st.characters(
    blacklist_categories=["Cs"], blacklist_characters="/\0", min_codepoint=1, max_codepoint=0x2FFF
)


# Text names (spaces, quotes, newlines, non-ASCII), and raw byte names that
# need not be UTF-8 (decoded the way Python maps them to str on POSIX).
_raw_names = st.binary(min_size=1, max_size=12).filter(lambda b: b"/" not in b and b"\0" not in b)


# Not "." or "..", nothing git treats specially, and not the fixture's own files.
_names = st.one_of(st.text(_NAME_CHARS, min_size=1, max_size=12), _raw_names.map(os.fsdecode))


_names = _names.filter(
    lambda n: n not in (".", "..", "app.py", "README.md") and not n.lower().startswith(".git")
)


_files = st.dictionaries(
    st.lists(_names, min_size=1, max_size=3).map(tuple),
    st.tuples(st.binary(max_size=300), st.booleans()),
    min_size=1,
    max_size=6,
)


def _write_files(root: Path, files: dict[tuple[str, ...], tuple[bytes, bool]]) -> bool:
    """Write the files; False if the set is impossible (a name is both file and dir)."""
    paths = {"/".join(k) for k in files}
    for p in paths:
        parts = p.split("/")
        if any("/".join(parts[:i]) in paths for i in range(1, len(parts))):
            return False
        if is_excluded(os.fsencode(p)):
            return False
    for names, (data, exe) in files.items():
        write(root.joinpath(*names), data, mode=0o755 if exe else 0o644)
    return True


# The origin repo is made once per test (a function-scoped fixture) and cloned
# afresh for every example.
_PROP = settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


@_PROP
@given(files=_files)
def test_property_same_files_two_clones_two_configs_same_id(
    repo: Path, files: dict[tuple[str, ...], tuple[bytes, bool]]
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        a = clone(repo, Path(tmp) / "a")
        b = clone(repo, Path(tmp) / "b")
        for key, value in (
            ("core.quotePath", "false"),
            ("color.ui", "always"),
            ("status.showUntrackedFiles", "no"),
            ("diff.noprefix", "true"),
        ):
            git(b, "config", key, value)
        if not _write_files(a, files):
            return
        _write_files(b, files)
        git(b, "add", "-A")  # staged in one clone, not in the other
        ida = vid(a)
        assert DIRTY.match(ida)
        assert vid(b) == ida
        assert {c.path for c in read_state(a).changes} == {os.fsencode("/".join(k)) for k in files}


@_PROP
@given(f1=_files, f2=_files)
def test_property_different_states_different_ids(
    repo: Path,
    f1: dict[tuple[str, ...], tuple[bytes, bool]],
    f2: dict[tuple[str, ...], tuple[bytes, bool]],
) -> None:
    def norm(files: dict[tuple[str, ...], tuple[bytes, bool]]) -> dict[str, tuple[bytes, bool]]:
        return {"/".join(k): v for k, v in files.items()}

    with tempfile.TemporaryDirectory() as tmp:
        a = clone(repo, Path(tmp) / "a")
        b = clone(repo, Path(tmp) / "b")
        if not (_write_files(a, f1) and _write_files(b, f2)):
            return
        same = norm(f1) == norm(f2)
        assert (vid(a) == vid(b)) == same


def test_gitstate_is_json_ready(base: Path) -> None:
    _mutate(base)
    import json

    data = json.loads(json.dumps(read_state(base).as_json()))
    assert set(data) == {
        "version_id", "commit", "branch", "dirty", "digest", "changes", "root", "shallow",
        "warnings",
    }  # fmt: skip
    assert isinstance(read_state(base), GitState)


# --- issue 9 item 7: an unusually large untracked part is named ----------------------------


def test_large_untracked_part_warns_naming_the_biggest_directories(base: Path) -> None:
    from mlflow_gitver.gitstate import LARGE_UNTRACKED_FILES

    for i in range(LARGE_UNTRACKED_FILES + 1):
        write(base / ".venv" / "lib" / f"m{i}.py", "x\n")
    write(base / "notes" / "n.txt", "n\n")
    state = read_state(base)
    (warning,) = state.warnings
    assert f"{LARGE_UNTRACKED_FILES + 2:,} files" in warning
    assert f".venv/ {LARGE_UNTRACKED_FILES + 1:,} files" in warning
    assert warning.index(".venv/") < warning.index("notes/")
    assert read_state(base, untracked=False).warnings == ()


def test_large_untracked_bytes_warn(base: Path) -> None:
    from mlflow_gitver.gitstate import LARGE_UNTRACKED_BYTES

    write(base / "models" / "weights.bin", b"\0" * (LARGE_UNTRACKED_BYTES + 1))
    write(base / "small.txt", "s\n")
    (warning,) = read_state(base).warnings
    assert "models/ 1 files 10.0 MB" in warning
    (base / "models" / "weights.bin").unlink()
    assert read_state(base).warnings == ()


def test_state_at_commit_keeps_full_hashes_only(base: Path) -> None:
    # A full hash names one commit forever: asked once per process.  HEAD moves:
    # asked each time.
    repo = gitmod.discover(base)
    first = git(base, "rev-parse", "HEAD").strip()
    assert state_at_commit(repo, first).commit == first
    assert state_at_commit(repo, "HEAD").commit == first
    write(base / "later.txt", "x\n")
    later = commit_all(base, "later")
    assert state_at_commit(repo, "HEAD").commit == later
    assert state_at_commit(repo, first).commit == first
    with pytest.raises(GitverError, match="does not name a commit"):
        state_at_commit(repo, "f" * 40)
