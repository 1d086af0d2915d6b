"""The version identifier, on real repositories: every guarantee of the README."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlflow_gitver import git as gitmod
from mlflow_gitver.errors import GitverError
from mlflow_gitver.gitstate import (
    STAT_CACHE_NAME,
    GitState,
    read_state,
    state_at_commit,
    state_of,
)
from mlflow_gitver.identity import is_excluded, version_id
from testing.repos import commit_all, git, init_repo, write

DIRTY = re.compile(r"^[0-9a-f]{32}-dirty-[0-9a-f]{8}$")


def vid(root: Path, *, untracked: bool = True) -> str:
    return read_state(root, untracked=untracked).version_id


def head(root: Path) -> str:
    return git(root, "rev-parse", "HEAD").strip()


def clone(src: Path, dst: Path, *args: str) -> Path:
    subprocess.run(
        ["git", "clone", "-q", *args, src.as_uri(), str(dst)], check=True, capture_output=True
    )
    return dst


@pytest.fixture
def base(tmp_path: Path) -> Path:
    """A repo with a file, an executable, a symlink and a subdirectory committed."""
    root = init_repo(tmp_path / "base")
    write(root / "app.py", "print('hello')\n")
    write(root / "run.sh", "#!/bin/sh\necho run\n", mode=0o755)
    write(root / "pkg" / "mod.py", "X = 1\n")
    write(root / "data.bin", bytes(range(256)))
    os.symlink("app.py", root / "link")
    commit_all(root, "initial")
    return root


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


def _mutate(root: Path) -> None:
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


def test_same_content_in_another_clone_same_id(base: Path, tmp_path: Path) -> None:
    other = clone(base, tmp_path / "other")
    _mutate(base)
    _mutate(other)
    a, b = vid(base), vid(other)
    assert DIRTY.match(a)
    assert a == b


CONFIGS: dict[str, list[tuple[str, str]]] = {
    "noprefix+color": [
        ("diff.noprefix", "true"),
        ("color.ui", "always"),
        ("color.status", "always"),
    ],
    "external diff": [("diff.external", "/bin/false")],
    "quotePath": [("core.quotePath", "true")],
    "no quotePath": [("core.quotePath", "false")],
    "showUntrackedFiles=no": [("status.showUntrackedFiles", "no")],
    "renames": [("status.renames", "copies"), ("diff.renames", "copies")],
    "ignoreSubmodules": [("diff.ignoreSubmodules", "all")],
    "status.short+branch": [("status.short", "true"), ("status.branch", "true")],
    "relativePaths": [("status.relativePaths", "false")],
    "untrackedCache": [("core.untrackedCache", "true")],
    "showStash": [("status.showStash", "true")],
}


@pytest.mark.parametrize("name", list(CONFIGS))
def test_independent_of_git_config(base: Path, tmp_path: Path, name: str) -> None:
    other = clone(base, tmp_path / "other")
    for key, value in CONFIGS[name]:
        git(other, "config", key, value)
    _mutate(base)
    _mutate(other)
    assert vid(base) == vid(other)


def test_independent_of_textconv_driver(base: Path, tmp_path: Path) -> None:
    other = clone(base, tmp_path / "other")
    # Attributes outside the tree (info/attributes) so both trees hold the same files.
    write(other / ".git" / "info" / "attributes", "*.py diff=upper\n*.bin diff=upper\n")
    git(other, "config", "diff.upper.textconv", "tr a-z A-Z <")
    _mutate(base)
    _mutate(other)
    assert vid(base) == vid(other)


def test_core_filemode_false_takes_the_mode_git_would_record(base: Path, tmp_path: Path) -> None:
    # A file system without an executable bit shows every file as executable;
    # git (core.fileMode=false) keeps the recorded modes, and so do we.
    other = clone(base, tmp_path / "other")
    git(other, "config", "core.fileMode", "false")
    for root in (base, other):
        write(root / "app.py", "print('changed')\n")
        write(root / "brand_new.py", "new\n")
    for p in (other / "app.py", other / "brand_new.py", other / "pkg" / "mod.py"):
        p.chmod(0o755)
    assert vid(base) == vid(other)


def test_independent_of_locale(base: Path) -> None:
    from testing.cli import cli

    _mutate(base)
    ids = set()
    for loc in ("C", "C.UTF-8", "de_DE.UTF-8", "tr_TR.ISO-8859-9"):
        env = dict(os.environ, LANG=loc, LC_ALL=loc, LANGUAGE="fr")
        out = cli("id", cwd=base, env=env)
        assert out.returncode == 0, out.stderr
        ids.add(out.stdout.strip())
    assert len(ids) == 1 and DIRTY.match(ids.pop())


def test_staging_does_not_matter(base: Path, tmp_path: Path) -> None:
    other = clone(base, tmp_path / "other")
    _mutate(base)
    _mutate(other)
    git(other, "add", "-A")
    assert vid(base) == vid(other)
    # Partly staged: the index holds one version, the working tree another.
    write(other / "app.py", "print('staged')\n")
    git(other, "add", "app.py")
    write(other / "app.py", "print('changed')\n")
    assert vid(base) == vid(other)


def test_intent_to_add_counts_like_untracked(base: Path, tmp_path: Path) -> None:
    other = clone(base, tmp_path / "other")
    for root in (base, other):
        write(root / "new.py", "n\n")
    git(other, "add", "-N", "new.py")
    assert vid(base) == vid(other) != head(base)


def test_staged_then_reverted_is_clean(base: Path) -> None:
    write(base / "app.py", "print('staged')\n")
    (base / "run.sh").chmod(0o644)
    git(base, "add", "-A")
    write(base / "app.py", "print('hello')\n")
    (base / "run.sh").chmod(0o755)
    assert vid(base) == head(base)


def test_added_then_removed_from_worktree_is_clean(base: Path) -> None:
    write(base / "tmp.py", "x\n")
    git(base, "add", "tmp.py")
    (base / "tmp.py").unlink()
    assert vid(base) == head(base)


def test_rm_cached_but_unchanged_is_clean(base: Path) -> None:
    # git shows the file both deleted (index) and untracked: the tree still equals HEAD.
    git(base, "rm", "-q", "--cached", "app.py")
    assert vid(base) == head(base)
    write(base / "app.py", "print('edited')\n")
    assert DIRTY.match(vid(base))


def test_touch_only_is_clean(base: Path) -> None:
    os.utime(base / "app.py", (1, 1))
    assert vid(base) == head(base)


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


def test_changes_listed_with_status(base: Path) -> None:
    write(base / "app.py", "print('edit')\n")
    (base / "pkg" / "mod.py").unlink()
    write(base / "new.py", "x\n")
    write(base / "staged.py", "y\n")
    git(base, "add", "staged.py")
    state = read_state(base)
    assert {c.display_path: c.status for c in state.changes} == {
        "app.py": "modified",
        "pkg/mod.py": "deleted",
        "new.py": "untracked",
        "staged.py": "added",
    }


def test_tracked_file_replaced_by_untracked_dir(base: Path) -> None:
    (base / "app.py").unlink()
    write(base / "app.py" / "x.py", "x\n")
    changes = {c.display_path: (c.status, c.mode) for c in read_state(base).changes}
    assert changes == {"app.py": ("deleted", "000000"), "app.py/x.py": ("untracked", "100644")}


def test_untracked_nested_repository_counts_by_its_id(base: Path) -> None:
    nested = init_repo(base / "vendor")
    write(nested / "a.py", "a\n")
    commit_all(nested)
    first = vid(base)
    assert DIRTY.match(first)
    write(nested / "a.py", "b\n")  # the nested repo's own dirtiness counts
    second = vid(base)
    commit_all(nested)  # and so does its commit
    third = vid(base)
    assert len({first, second, third}) == 3


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


def test_subdirectory(base: Path) -> None:
    _mutate(base)
    assert vid(base / "pkg") == vid(base) == vid(base / "new dir")


def test_git_dir_and_work_tree_env(
    base: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _mutate(base)
    expected = vid(base)
    elsewhere = tmp_path / "elsewhere" / "deeper"  # relative paths differ from base's
    elsewhere.mkdir(parents=True)
    # Like a hook: GIT_DIR set, run from the work tree.
    monkeypatch.setenv("GIT_DIR", ".git")
    monkeypatch.chdir(base)
    assert vid(base) == expected
    # Relative GIT_DIR and GIT_WORK_TREE, from another directory.
    monkeypatch.setenv("GIT_DIR", os.path.relpath(base / ".git", elsewhere))
    monkeypatch.setenv("GIT_WORK_TREE", os.path.relpath(base, elsewhere))
    monkeypatch.chdir(elsewhere)
    assert read_state(elsewhere).repo.root == base
    assert vid(elsewhere) == expected
    # Later git calls run from the root: the relative variables must still hold there.
    assert state_of(gitmod.discover(elsewhere)).version_id == expected
    # GIT_INDEX_FILE (set during `git commit`) is not ours to read.
    monkeypatch.setenv("GIT_INDEX_FILE", str(tmp_path / "no-such-index"))
    assert vid(elsewhere) == expected


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


# --- submodules -------------------------------------------------------------------------


@pytest.fixture
def superproject(base: Path, tmp_path: Path) -> tuple[Path, Path]:
    lib = init_repo(tmp_path / "lib")
    write(lib / "lib.py", "L = 1\n")
    commit_all(lib)
    git(base, "-c", "protocol.file.allow=always", "submodule", "add", "-q", lib.as_uri(), "lib")
    commit_all(base, "add submodule")
    return base, base / "lib"


def test_submodule_commit_and_dirtiness_count(superproject: tuple[Path, Path]) -> None:
    sup, sub = superproject
    clean = head(sup)
    assert vid(sup) == clean
    write(sub / "lib.py", "L = 2\n")
    dirty_sub = vid(sup)
    assert DIRTY.match(dirty_sub)
    commit_all(sub, "lib change")
    moved = vid(sup)
    write(sub / "untracked.py", "u\n")
    sub_untracked = vid(sup)
    assert len({clean, dirty_sub, moved, sub_untracked}) == 4
    assert {c.display_path: c.status for c in read_state(sup).changes} == {"lib": "submodule"}
    (sub / "untracked.py").unlink()
    assert vid(sup) == moved  # a function of the submodule's state


@pytest.mark.parametrize(
    "config",
    [
        ["diff.ignoreSubmodules", "all"],
        ["submodule.lib.ignore", "all"],
        ["status.submoduleSummary", "true"],
    ],
)
def test_submodule_ignore_config_is_ignored(
    superproject: tuple[Path, Path], config: list[str]
) -> None:
    sup, sub = superproject
    write(sub / "lib.py", "L = 2\n")
    expected = vid(sup)
    git(sup, "config", *config)
    # .gitmodules may say ignore=all too (a file in the tree: compare on the same tree).
    assert vid(sup) == expected


def test_submodule_inside_a_hook_env(
    superproject: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    sup, sub = superproject
    write(sub / "lib.py", "L = 2\n")
    expected = vid(sup)
    # A hook's GIT_DIR must not leak into the submodule's own git calls.
    monkeypatch.setenv("GIT_DIR", str(sup / ".git"))
    monkeypatch.setenv("GIT_WORK_TREE", str(sup))
    monkeypatch.setenv("GIT_INDEX_FILE", str(sup / ".git" / "index"))
    monkeypatch.setenv("GIT_OBJECT_DIRECTORY", str(sup / ".git" / "objects"))
    monkeypatch.chdir(sup)
    assert vid(sup) == expected


# --- errors -------------------------------------------------------------------------------


def test_unborn_branch(tmp_path: Path) -> None:
    root = init_repo(tmp_path / "r")
    write(root / "a.py", "a\n")
    with pytest.raises(GitverError, match="no commit yet") as e:
        read_state(root)
    assert e.value.exit_code == 2


def test_not_a_repository(tmp_path: Path) -> None:
    with pytest.raises(GitverError, match="not inside a git repository") as e:
        read_state(tmp_path)
    assert e.value.exit_code == 2


def test_inside_git_dir(base: Path) -> None:
    with pytest.raises(GitverError, match="bare repository or git directory"):
        read_state(base / ".git")


def test_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(GitverError, match="no such directory"):
        read_state(tmp_path / "nope")


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


def test_runs_while_index_lock_is_held(base: Path) -> None:
    _mutate(base)
    expected = vid(base)
    lock = base / ".git" / "index.lock"
    lock.write_bytes(b"")  # the user's own git command is running
    try:
        os.utime(base / "app.py", None)
        assert vid(base) == expected
        assert lock.read_bytes() == b""
    finally:
        lock.unlink()


# --- the stat cache -------------------------------------------------------------------------


def _age(path: Path, seconds: int = 60) -> None:
    """Make a file's mtime old enough for the racy-timestamp rule to trust it."""
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns - seconds * 10**9))


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


def test_directory_replaced_by_symlink_to_a_copy(base: Path, tmp_path: Path) -> None:
    # git never follows a symlinked parent: pkg/mod.py is deleted, even though
    # lstat("pkg/mod.py") finds a file through the link.
    copy = tmp_path / "copy"
    shutil.copytree(base / "pkg", copy)
    shutil.rmtree(base / "pkg")
    os.symlink(copy, base / "pkg")
    changes = {c.display_path: c.status for c in read_state(base).changes}
    assert changes == {"pkg": "untracked", "pkg/mod.py": "deleted"}


def test_submodule_not_checked_out_is_clean(
    superproject: tuple[Path, Path], tmp_path: Path
) -> None:
    sup, _sub = superproject
    plain = clone(sup, tmp_path / "plain")  # no --recursive: lib/ is an empty directory
    assert (plain / "lib").is_dir() and not any((plain / "lib").iterdir())
    assert vid(plain) == head(sup)
    # Even when the index moved the gitlink, an absent checkout is not a change.
    git(plain, "update-index", "--cacheinfo", f"160000,{'1' * 40},lib")
    assert vid(plain) == head(sup)


# --- issue 10: the bytes on disk, whatever git is told to trust ------------------------


def _edit_same_size_keep_mtime(path: Path, data: bytes) -> None:
    """Rewrite a file in place (same inode, same size) and restore its mtime:
    only the ctime shows the change."""
    st = path.stat()
    assert len(data) == st.st_size
    with open(path, "r+b") as f:
        f.write(data)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))


def _git_sees_nothing(root: Path) -> bool:
    """Whether the user's own `git status` (with their config) shows a clean tree."""
    return git(root, "status", "--porcelain", "-uall") == ""


def _refreshed(root: Path) -> None:
    """Age every tracked file and let git record its stat data (no racy entries)."""
    for p in root.rglob("*"):
        if ".git" not in p.parts and p.is_file() and not p.is_symlink():
            _age(p, 120)
    git(root, "update-index", "-q", "--really-refresh")


@pytest.fixture
def twin(base: Path, tmp_path: Path) -> Path:
    """An untouched clone of ``base``: the same edit there gives the expected id."""
    return clone(base, tmp_path / "twin")


def test_skip_worktree_edit_is_seen(base: Path, twin: Path) -> None:
    git(base, "update-index", "--skip-worktree", "app.py")
    for root in (base, twin):
        write(root / "app.py", "print('local tweak')\n")
    assert _git_sees_nothing(base)  # git is told not to look
    assert vid(base) == vid(twin) != head(base)
    write(base / "app.py", "print('hello')\n")  # back to HEAD's bytes: clean again
    assert vid(base) == head(base)


def test_skip_worktree_deleted_file_is_as_the_index_says(base: Path) -> None:
    # skip-worktree means "not checked out": absent is not a deletion (sparse checkout).
    git(base, "update-index", "--skip-worktree", "app.py")
    (base / "app.py").unlink()
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


def test_fsmonitor_that_reports_nothing(base: Path, twin: Path) -> None:
    hook = write(base / ".git" / "fsmonitor-says-nothing", "#!/bin/sh\nprintf 'token\\0'\n")
    hook.chmod(0o755)
    git(base, "config", "core.fsmonitor", str(hook))
    _refreshed(base)
    git(base, "status")  # writes the monitor's token into the index
    git(base, "status")
    for root in (base, twin):
        write(root / "app.py", "print('unseen')\n")
        write(root / "new.py", "n\n")
    assert "app.py" not in git(base, "status", "--porcelain")  # the monitor hid it
    assert vid(base) == vid(twin) != head(base)


def _until_only_the_trusting_git_misses_it(
    root: Path, setting: str, edit: Callable[[], None]
) -> None:
    """Edit until git with the user's ``setting`` misses the change while git
    with the default sees it.  git compares whole seconds of ctime unless built
    with USE_NSEC, so an edit in the second of the last refresh is invisible to
    any git: such tries are made again (real work, never a sleep)."""
    default = (
        setting.split("=")[0]
        + "="
        + {"core.trustctime": "true"}.get(setting.split("=")[0], "default")
    )
    import time

    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        edit()
        strict = git(root, "-c", default, "status", "--porcelain")
        if "app.py" in strict and _git_sees_nothing(root):
            return
    pytest.fail(f"could not make git with {setting} miss an edit: the test's premise failed")


def test_trustctime_false(base: Path, twin: Path) -> None:
    git(base, "config", "core.trustctime", "false")
    _refreshed(base)
    data = [b"print('HELLO')\n", b"print('HeLLO')\n"]

    def edit() -> None:
        data.reverse()
        _edit_same_size_keep_mtime(base / "app.py", data[0])

    _until_only_the_trusting_git_misses_it(base, "core.trustctime=false", edit)
    write(twin / "app.py", data[0])
    assert vid(base) == vid(twin) != head(base)


def test_checkstat_minimal(base: Path, twin: Path) -> None:
    # minimal: no inode, no sub-second times.  A file replaced by a new one (a new
    # inode) of the same size and mtime, within the second git last looked.
    git(base, "config", "core.checkStat", "minimal")
    target = base / "app.py"

    def edit() -> None:
        write(target, "print('hello')\n")
        _refreshed(base)
        st = target.stat()
        write(base / "tmp-new", "print('HELLO')\n")
        os.utime(base / "tmp-new", ns=(st.st_atime_ns, st.st_mtime_ns))
        os.replace(base / "tmp-new", target)

    _until_only_the_trusting_git_misses_it(base, "core.checkStat=minimal", edit)
    write(twin / "app.py", "print('HELLO')\n")
    assert vid(base) == vid(twin) != head(base)


def test_ignorecase_on_a_case_sensitive_file_system(base: Path, twin: Path) -> None:
    git(base, "config", "core.ignorecase", "true")  # as in a repository copied from macOS
    for root in (base, twin):
        write(root / "APP.PY", "print('a different file')\n")
        write(root / "PKG" / "MOD.PY", "y\n")
    assert _git_sees_nothing(base)
    assert vid(base) == vid(twin) != head(base)


def test_untracked_cache_that_trusts_a_directory_mtime(base: Path, twin: Path) -> None:
    for key, value in (("core.untrackedCache", "true"), ("core.trustctime", "false")):
        git(base, "config", key, value)
    _age(base / "pkg")  # a directory mtime in the past: not racy, so the cache trusts it
    git(base, "status")  # builds and stores the untracked cache
    git(base, "status")
    for root in (base, twin):
        st = (root / "pkg").stat()
        write(root / "pkg" / "new.py", "n\n")
        os.utime(root / "pkg", ns=(st.st_atime_ns, st.st_mtime_ns))
    # The cache serves git's default listing (-unormal); ours (-uall) must not trust it.
    assert "new.py" not in git(base, "status", "--porcelain")
    assert vid(base) == vid(twin) != head(base)


@pytest.mark.parametrize(
    "setting",
    [
        ("core.splitIndex", "true"),
        ("index.skipHash", "true"),
        ("index.version", "4"),
        ("feature.manyFiles", "true"),
        ("core.preloadIndex", "false"),
        ("core.sparseCheckout", "true"),
    ],
)
def test_index_formats_and_settings(base: Path, twin: Path, setting: tuple[str, str]) -> None:
    git(base, "config", *setting)
    git(base, "update-index", "--really-refresh")
    git(
        base, "update-index", "--force-write-index" if setting[0] != "core.sparseCheckout" else "-q"
    )
    _mutate(base)
    _mutate(twin)
    assert vid(base) == vid(twin)


@pytest.mark.parametrize("sparse_index", [False, True])
def test_sparse_checkout(base: Path, tmp_path: Path, sparse_index: bool) -> None:
    write(base / "other" / "o.py", "o\n")
    commit_all(base, "other dir")
    root = clone(base, tmp_path / "sparse")
    args = ["--sparse-index"] if sparse_index else ["--no-sparse-index"]
    git(root, "sparse-checkout", "set", "--cone", *args, "pkg")
    assert not (root / "other").exists()
    assert vid(root) == head(base)  # what is not checked out is not deleted
    twin = clone(base, tmp_path / "twin")
    for r in (root, twin):
        write(r / "pkg" / "mod.py", "X = 2\n")
    assert vid(root) == vid(twin)
    # A file put back where the sparse checkout leaves none: its bytes count.
    write(root / "other" / "o.py", "changed\n")
    write(twin / "other" / "o.py", "changed\n")
    assert vid(root) == vid(twin)


def test_symlinks_false_keeps_the_symlink_mode(base: Path, tmp_path: Path) -> None:
    # core.symlinks=false checks a symlink out as a file holding its target.
    plain = clone(base, tmp_path / "plain", "-c", "core.symlinks=false")
    assert (plain / "link").is_file() and not (plain / "link").is_symlink()
    twin = clone(base, tmp_path / "twin")
    write(plain / "link", "run.sh")
    os.remove(twin / "link")
    os.symlink("run.sh", twin / "link")
    assert vid(plain) == vid(twin) != head(base)


# --- issue 10: staging never changes the id ----------------------------------------------


@pytest.fixture
def crlf_origin(tmp_path: Path) -> Path:
    root = init_repo(tmp_path / "crlf-origin")
    write(root / "a.txt", "one\ntwo\n")
    write(root / "b.txt", "bee\n")
    write(root / "data.bin", b"\0\r\n\xff")
    commit_all(root)
    return root


EOL_SETUPS: dict[str, tuple[list[str], str | None]] = {
    "eol=crlf attribute": ([], "*.txt eol=crlf\n"),
    "text=auto eol=crlf": ([], "* text=auto eol=crlf\n"),
    "text=auto, core.autocrlf=true": (["-c", "core.autocrlf=true"], "* text=auto\n"),
    "core.autocrlf=true": (["-c", "core.autocrlf=true"], None),
}


def _eol_clone(origin: Path, tmp_path: Path, name: str, setup: str) -> Path:
    args, attributes = EOL_SETUPS[setup]
    root = clone(origin, tmp_path / name, *args)
    if attributes is not None:
        # Outside the tree (info/attributes): every clone holds the same files.
        write(root / ".git" / "info" / "attributes", attributes)
        for f in ("a.txt", "b.txt"):
            (root / f).unlink()
        git(root, "checkout", "--", "a.txt", "b.txt")
    assert (root / "a.txt").read_bytes() == b"one\r\ntwo\r\n"
    return root


@pytest.mark.parametrize("setup", list(EOL_SETUPS))
def test_eol_conversion_stage_and_restore_is_clean(
    crlf_origin: Path, tmp_path: Path, setup: str
) -> None:
    root = _eol_clone(crlf_origin, tmp_path, "c", setup)
    original = (root / "a.txt").read_bytes()
    assert vid(root) == head(crlf_origin)
    write(root / "a.txt", b"one\r\nTWO\r\n")
    git(root, "add", "a.txt")
    write(root / "a.txt", original)  # the bytes an untouched clone has
    assert vid(root) == head(crlf_origin)


@pytest.mark.parametrize("setup", list(EOL_SETUPS))
def test_eol_conversion_id_is_what_git_would_commit(
    crlf_origin: Path, tmp_path: Path, setup: str
) -> None:
    # The same edit, typed with CRLF under conversion and with LF without: git
    # would commit the same blobs, so the ids agree.
    root = _eol_clone(crlf_origin, tmp_path, "c", setup)
    plain = clone(crlf_origin, tmp_path / "plain")
    write(root / "a.txt", b"one\r\nTWO\r\n")
    write(plain / "a.txt", b"one\nTWO\n")
    write(root / "new.txt", b"n\r\n")
    write(plain / "new.txt", b"n\n")
    for r in (root, plain):
        write(r / "data.bin", b"\0\r\n\xfe")  # binary: never converted
    git(root, "add", "a.txt")  # staged or not: the same
    assert vid(root) == vid(plain) != head(crlf_origin)


def test_clean_filter_is_applied_as_git_would(crlf_origin: Path, tmp_path: Path) -> None:
    # A clean filter that strips a local secret: git commits "token=", and so
    # the id sees "token=" whatever the local value is.
    write(crlf_origin / "app.cfg", "token=\n")
    commit_all(crlf_origin)
    root = clone(crlf_origin, tmp_path / "f")
    write(root / ".git" / "info" / "attributes", "*.cfg filter=strip\n")
    git(root, "config", "filter.strip.clean", "sed 's/^token=.*/token=/'")
    write(root / "app.cfg", "token=abc\n")
    write(root / "app.cfg", "token=\nnew=1\n")
    git(root, "add", "app.cfg")
    write(root / "app.cfg", "token=local-value\n")  # staged an edit, then restored
    assert vid(root) == head(crlf_origin)
    write(root / "app.cfg", "token=local-value\nnew=1\n")
    plain = clone(crlf_origin, tmp_path / "plain")
    write(plain / "app.cfg", "token=\nnew=1\n")
    assert vid(root) == vid(plain) != head(crlf_origin)


def test_a_linked_worktree_reads_info_attributes_of_the_common_dir(
    crlf_origin: Path, tmp_path: Path
) -> None:
    # info/attributes lives in the common directory, not in the worktree's own.
    write(crlf_origin / "app.cfg", "token=\n")
    commit_all(crlf_origin)
    root = clone(crlf_origin, tmp_path / "f")
    write(root / ".git" / "info" / "attributes", "*.cfg filter=strip\n")
    git(root, "config", "filter.strip.clean", "sed 's/^token=.*/token=/'")
    wt = tmp_path / "wt"
    git(root, "worktree", "add", "-q", "--detach", str(wt))
    write(wt / "app.cfg", "token=local-value\n")
    assert vid(wt) == head(crlf_origin)


def test_filemode_false_rm_cached_and_add_n_do_not_change_the_id(
    base: Path, tmp_path: Path
) -> None:
    root = clone(base, tmp_path / "nofm")
    git(root, "config", "core.fileMode", "false")
    for p in (root / "app.py", root / "pkg" / "mod.py"):
        p.chmod(0o755)  # a file system that shows every file as executable
    assert vid(root) == head(base)
    git(root, "rm", "-q", "--cached", "app.py")
    assert vid(root) == head(base)
    write(root / "new.py", "n\n", mode=0o755)
    untracked = vid(root)
    git(root, "add", "-N", "new.py")
    assert vid(root) == untracked
    git(root, "add", "new.py", "app.py")
    assert vid(root) == untracked
    # And on a file system with the bit, the same files: new.py is 100644 there.
    twin = clone(base, tmp_path / "twin")
    write(twin / "new.py", "n\n")
    assert vid(twin) == untracked


# --- issue 10: the tree may change while id reads it --------------------------------------


def test_fifo_socket_in_place_of_a_file_is_deleted(base: Path, twin: Path) -> None:
    import socket

    (base / "app.py").unlink()
    os.mkfifo(base / "app.py")
    (base / "pkg" / "mod.py").unlink()
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(base / "pkg" / "mod.py"))
    try:
        (twin / "app.py").unlink()
        (twin / "pkg" / "mod.py").unlink()
        assert vid(base) == vid(twin) != head(base)
    finally:
        sock.close()


def test_over_long_name_in_the_index_is_consistent(base: Path) -> None:
    # A path from another file system, too long for this one: nothing can be there.
    blob = git(base, "hash-object", "-w", "app.py").strip()
    long_name = "x" * 300
    git(base, "update-index", "--add", "--cacheinfo", f"100644,{blob},{long_name}")
    git(base, "commit", "-q", "-m", "long name")
    assert vid(base) == head(base)  # git's view: unchanged
    # Staged otherwise, git lists it and it is looked at (ENAMETOOLONG): absent.
    other = git(base, "hash-object", "-w", "run.sh").strip()
    git(base, "update-index", "--cacheinfo", f"100644,{other},{long_name}")
    state = read_state(base)
    assert [(c.status, len(c.path)) for c in state.changes] == [("deleted", 300)]
    assert read_state(base).version_id == state.version_id


def test_symlink_loop_in_a_parent(base: Path, twin: Path) -> None:
    shutil.rmtree(base / "pkg")
    os.symlink("pkg", base / "pkg")  # ELOOP for anything below it
    shutil.rmtree(twin / "pkg")
    os.symlink("pkg", twin / "pkg")
    assert vid(base) == vid(twin) != head(base)


@pytest.mark.timeout(120)
def test_files_swapped_and_removed_while_id_reads(base: Path) -> None:
    """A timing loop: another thread keeps replacing app.py by a removal, a FIFO,
    a symlink or another file while the id is read.  Every id must be one of the
    states that existed, and no read may block or fail."""
    import threading

    target = base / "app.py"
    spare = base.parent / "spare"
    spare.mkdir()
    kinds = ("edit", "gone", "fifo", "link")
    expected = {}
    for kind in kinds:
        _make(kind, target, spare)
        expected[kind] = vid(base)
    assert expected["fifo"] == expected["gone"]  # git cannot record a FIFO: no file
    assert len(set(expected.values())) == 3
    stop = threading.Event()

    def churn() -> None:
        i = 0
        while not stop.is_set():
            _make(kinds[i % 4], target, spare)
            i += 1

    t = threading.Thread(target=churn, daemon=True)
    t.start()
    try:
        seen = {read_state(base).version_id for _ in range(40)}
    finally:
        stop.set()
        t.join()
    assert seen <= set(expected.values()), seen - set(expected.values())


def _make(kind: str, target: Path, spare: Path) -> None:
    """Put one kind of file at ``target``, atomically (rename over it)."""
    tmp = spare / f"tmp-{kind}"
    if kind == "gone":
        try:
            target.unlink()
        except FileNotFoundError:
            pass
        return
    if kind == "edit":
        tmp.write_bytes(b"print('edited')\n" * 2000)
    elif kind == "fifo":
        os.mkfifo(tmp)
    else:
        os.symlink("run.sh", tmp)
    os.replace(tmp, target)


def test_untracked_nested_repository_without_commit_counts_its_files(base: Path) -> None:
    nested = init_repo(base / "vendor")
    write(nested / "a.py", "a\n")
    first = read_state(base)
    assert first.dirty
    assert any("vendor/" in w and "no commit yet" in w for w in first.warnings)
    write(nested / "a.py", "b\n")  # an edit there changes the id
    second = vid(base)
    write(nested / "b.py", "b\n")
    third = vid(base)
    git(nested, "add", "b.py")  # staging in it changes nothing
    assert vid(base) == third
    assert len({first.version_id, second, third}) == 3
    (nested / "a.py").unlink()
    (nested / "b.py").unlink()
    assert vid(base) not in (first.version_id, second, third)


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


def test_gitmodules_ignore_all_does_not_hide_a_submodule_edit(
    superproject: tuple[Path, Path],
) -> None:
    sup, sub = superproject
    git(sup, "config", "-f", ".gitmodules", "submodule.lib.ignore", "all")
    before = vid(sup)
    write(sub / "lib.py", "L = 2\n")
    assert vid(sup) != before
