"""`git status`, the index listing and the settings (gitstatus.py): what the user's git
config, locale and environment cannot change, and the settings that trust something
other than the disk (TRUST_NOTHING), overridden.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from mlflow_gitver import git as gitmod
from mlflow_gitver.errors import GitverError
from mlflow_gitver.gitstate import read_state, state_of
from testing.gitstates import DIRTY, vid
from testing.gitstates import age as _age
from testing.gitstates import git_sees_nothing as _git_sees_nothing
from testing.gitstates import mutate as _mutate
from testing.repos import clone, git, head, write

# --- a function of content ---------------------------------------------------------


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


# --- normal states ----------------------------------------------------------------------


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


# --- submodules -------------------------------------------------------------------------


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


def test_gitmodules_ignore_all_does_not_hide_a_submodule_edit(
    superproject: tuple[Path, Path],
) -> None:
    sup, sub = superproject
    git(sup, "config", "-f", ".gitmodules", "submodule.lib.ignore", "all")
    before = vid(sup)
    write(sub / "lib.py", "L = 2\n")
    assert vid(sup) != before


# --- errors -------------------------------------------------------------------------------


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


# --- issue 10: the bytes on disk, whatever git is told to trust ------------------------


def _edit_same_size_keep_mtime(path: Path, data: bytes) -> None:
    """Rewrite a file in place (same inode, same size) and restore its mtime:
    only the ctime shows the change."""
    st = path.stat()
    assert len(data) == st.st_size
    with open(path, "r+b") as f:
        f.write(data)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))


def _refreshed(root: Path) -> None:
    """Age every tracked file and let git record its stat data (no racy entries)."""
    for p in root.rglob("*"):
        if ".git" not in p.parts and p.is_file() and not p.is_symlink():
            _age(p, 120)
    git(root, "update-index", "-q", "--really-refresh")


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
