"""What is on disk for each entry, and the changes (worktree.py): the mode git would
record, the comparison with HEAD (not the index), submodules and nested repositories,
and files that change or cannot be read while the id reads them.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from mlflow_gitver.gitstate import read_state
from testing.gitstates import DIRTY, vid
from testing.gitstates import mutate as _mutate
from testing.repos import clone, commit_all, git, head, init_repo, write

# --- a function of content ---------------------------------------------------------


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


def test_touch_only_is_clean(base: Path) -> None:
    os.utime(base / "app.py", (1, 1))
    assert vid(base) == head(base)


# --- sees every change ---------------------------------------------------------------


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


# --- submodules -------------------------------------------------------------------------


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


# --- what git never follows, what is not checked out -----------------------------------------


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


def test_skip_worktree_deleted_file_is_as_the_index_says(base: Path) -> None:
    # skip-worktree means "not checked out": absent is not a deletion (sparse checkout).
    git(base, "update-index", "--skip-worktree", "app.py")
    (base / "app.py").unlink()
    assert vid(base) == head(base)


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
