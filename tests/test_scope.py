"""scope.py and scoped states: an app's version is the content under its paths only.

Real repositories: a monorepo with two apps, a shared library and docs.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlflow_gitver import git as gitrepo
from mlflow_gitver import scope
from mlflow_gitver.gitstate import GitState, state_of
from mlflow_gitver.identity import parse_scoped_id
from testing.repos import commit_all, git, init_repo, write

SUPPORT = ("apps/support", "libs/common")
NO_DOCS = ("apps/support", ":!apps/support/docs")
GLOB = ("apps/*/prompts", "libs")
ALL_BUT_TRIAGE = (".", ":!apps/triage")
DEEP_EXCLUDE = ("apps", "libs", ":^apps/support/docs", ":(exclude)apps/triage")


def monorepo(root: Path) -> Path:
    init_repo(root)
    write(root / "apps/support/agent.py", "support = 1\n")
    write(root / "apps/support/docs/guide.md", "guide\n")
    write(root / "apps/support/prompts/p.txt", "hello\n")
    write(root / "apps/triage/agent.py", "triage = 1\n")
    write(root / "apps/triage/prompts/p.txt", "triage prompt\n")
    write(root / "libs/common/util.py", "def f(): ...\n")
    write(root / "README.md", "readme\n")
    commit_all(root, "first")
    return root


@pytest.fixture
def mono(tmp_path: Path) -> Path:
    return monorepo(tmp_path / "mono")


def sid(root: Path, paths: tuple[str, ...]) -> str:
    return state(root, paths).version_id


def state(root: Path, paths: tuple[str, ...]) -> GitState:
    return state_of(gitrepo.discover(root), scope=paths)


@pytest.mark.parametrize("paths", [SUPPORT, NO_DOCS, GLOB])
def test_the_id_is_scoped_and_clean(mono: Path, paths: tuple[str, ...]) -> None:
    vid = sid(mono, paths)
    parsed = parse_scoped_id(vid)
    assert parsed is not None and parsed[1] is None, vid
    assert sid(mono, paths) == vid  # deterministic


def test_commits_outside_the_scope_keep_the_version(mono: Path) -> None:
    before = {p: sid(mono, p) for p in (SUPPORT, NO_DOCS, GLOB)}
    write(mono / "README.md", "typo fixed\n")
    write(mono / "apps/support/docs/guide.md", "more guide\n")
    commit_all(mono, "docs only")
    after = {p: sid(mono, p) for p in (SUPPORT, NO_DOCS, GLOB)}
    assert after[NO_DOCS] == before[NO_DOCS]  # docs are excluded
    assert after[GLOB] == before[GLOB]
    assert after[SUPPORT] != before[SUPPORT]  # apps/support/docs is inside apps/support


def test_a_commit_inside_changes_it_and_a_revert_brings_it_back(mono: Path) -> None:
    before = sid(mono, SUPPORT)
    write(mono / "libs/common/util.py", "def f(): return 2\n")
    commit_all(mono, "lib change")
    changed = sid(mono, SUPPORT)
    assert changed != before
    git(mono, "revert", "--no-edit", "HEAD")
    # Another commit, the same content under the paths: the same version.
    assert sid(mono, SUPPORT) == before


def test_uncommitted_changes_count_only_inside(mono: Path) -> None:
    clean = sid(mono, NO_DOCS)
    write(mono / "apps/triage/agent.py", "triage = 2\n")
    write(mono / "apps/support/docs/new.md", "untracked doc\n")
    write(mono / "notes.txt", "untracked, outside\n")
    assert sid(mono, NO_DOCS) == clean
    write(mono / "apps/support/new_tool.py", "tool\n")  # untracked, inside
    dirty = state(mono, NO_DOCS)
    assert dirty.version_id.startswith(clean[:39]) and "-dirty-" in dirty.version_id
    assert [c.path for c in dirty.changes] == [b"apps/support/new_tool.py"]


def test_staging_never_changes_a_scoped_id(mono: Path) -> None:
    clean = sid(mono, SUPPORT)
    path = mono / "apps/support/agent.py"
    write(path, "staged then restored\n")
    git(mono, "add", "-A")
    write(path, "support = 1\n")  # the working tree is HEAD's again; the index is not
    assert sid(mono, SUPPORT) == clean
    git(mono, "update-index", "--assume-unchanged", "apps/support/agent.py")
    write(path, "hidden from git status\n")
    assert sid(mono, SUPPORT) != clean  # the flag hides nothing from us


def test_flagged_entries_outside_the_scope_do_not_count(mono: Path) -> None:
    clean = sid(mono, SUPPORT)
    git(mono, "update-index", "--skip-worktree", "apps/triage/agent.py")
    write(mono / "apps/triage/agent.py", "triage, hidden by skip-worktree\n")
    assert sid(mono, SUPPORT) == clean
    assert "-dirty-" in state_of(gitrepo.discover(mono)).version_id  # the repository's is


def test_renames_into_and_out_of_the_scope(mono: Path) -> None:
    start = sid(mono, NO_DOCS)
    git(mono, "mv", "README.md", "apps/support/README.md")
    commit_all(mono, "into")
    into = sid(mono, NO_DOCS)
    assert into != start
    git(mono, "mv", "apps/support/README.md", "README.md")
    commit_all(mono, "out again")
    assert sid(mono, NO_DOCS) == start


def test_the_path_list_is_part_of_the_id(mono: Path) -> None:
    assert sid(mono, ("apps/support",)) != sid(mono, ("apps/support", "libs/nothing"))
    assert sid(mono, ("apps/support", "libs/common")) != sid(mono, ("libs/common", "apps/support"))


def test_user_pathspec_settings_do_not_change_the_id(
    mono: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    expected = {p: sid(mono, p) for p in (NO_DOCS, GLOB)}
    for var in ("GIT_LITERAL_PATHSPECS", "GIT_ICASE_PATHSPECS", "GIT_NOGLOB_PATHSPECS"):
        monkeypatch.setenv(var, "1")
        assert {p: sid(mono, p) for p in (NO_DOCS, GLOB)} == expected, var
        monkeypatch.delenv(var)
    git(mono, "config", "core.ignoreCase", "true")
    assert sid(mono, ("APPS/SUPPORT",)) != sid(mono, ("apps/support",))


def test_paths_that_match_nothing_warn(mono: Path) -> None:
    st1 = state(mono, ("apps/support", "apps/gone"))
    assert st1.warnings == ("path 'apps/gone' matches nothing in HEAD; check 'paths:'",)
    st2 = state(mono, ("nothing/*",))
    assert st2.warnings == ("paths 'nothing/*' matches nothing in HEAD; check 'paths:'",)


def test_head_digest_of_another_commit(mono: Path) -> None:
    repo = gitrepo.discover(mono)
    first = git(mono, "rev-parse", "HEAD").strip()
    clean = sid(mono, SUPPORT)
    write(mono / "README.md", "outside\n")
    commit_all(mono, "outside")
    digest, warnings = scope.head_digest(repo, first, SUPPORT)
    assert warnings == [] and clean == "scoped-" + digest[:40]


def test_sha256_repository(tmp_path: Path) -> None:
    root = tmp_path / "r"
    root.mkdir()
    git(root, "init", "-q", "--object-format=sha256")
    write(root / "a/x.py", "x\n")
    write(root / "b/y.py", "y\n")
    commit_all(root, "first")
    a = sid(root, (":(glob)a/**",))  # diff-tree from sha256's empty tree
    write(root / "b/y.py", "y2\n")
    commit_all(root, "b only")
    assert sid(root, (":(glob)a/**",)) == a


# --- the property: an app's version changes exactly when its content does -----------------

FILES = ("apps/support/a.py", "apps/support/docs/d.md", "apps/triage/t.py", "libs/common/c.py")
_edit = st.tuples(st.sampled_from(FILES), st.sampled_from(["1", "2", "3", None]))


def _content(root: Path, paths: tuple[str, ...]) -> dict[str, bytes]:
    """What the app's paths hold in the working tree, read by hand (the oracle)."""
    out = {}
    for rel in FILES:
        inside = any(p == "." or rel.startswith(p + "/") for p in paths if not p.startswith(":"))
        excludes = [
            p.split(")", 1)[1] if p.startswith(":(") else p[2:] for p in paths if p[:1] == ":"
        ]
        excluded = any(rel.startswith(x + "/") for x in excludes)
        if inside and not excluded and (root / rel).exists():
            out[rel] = (root / rel).read_bytes()
    return out


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(steps=st.lists(st.lists(_edit, min_size=1, max_size=3), min_size=1, max_size=6))
def test_version_changes_exactly_when_the_scoped_content_does(
    tmp_path_factory: pytest.TempPathFactory, steps: list[list[tuple[str, str | None]]]
) -> None:
    root = monorepo(tmp_path_factory.mktemp("prop") / "r")
    seen: dict[tuple[tuple[str, ...], str], frozenset[tuple[str, bytes]]] = {}
    for commit in steps:
        for rel, value in commit:
            if value is None:
                if (root / rel).exists():
                    os.unlink(root / rel)
            else:
                write(root / rel, value + "\n")
        git(root, "add", "-A")
        git(root, "commit", "-q", "--allow-empty", "-m", "step")
        for paths in (SUPPORT, NO_DOCS, ALL_BUT_TRIAGE, DEEP_EXCLUDE):
            content = frozenset(_content(root, paths).items())
            vid = sid(root, paths)
            for (p, other), was in seen.items():
                if p == paths:
                    assert (other == vid) == (was == content), (paths, commit)
            seen[(paths, vid)] = content


# --- excludes of plain paths: the trees, opened only where an exclude is ------------------

EXCLUDES = [
    NO_DOCS,
    ALL_BUT_TRIAGE,
    DEEP_EXCLUDE,
    ("apps/support/docs", ":!apps/support"),  # an include under an exclude: nothing
    (".", ":!README.md", ":!apps/support/prompts/p.txt"),  # files excluded
    ("apps", ":!apps/nowhere"),  # an exclude that matches nothing
    ("apps/support", "apps", ":!apps/triage/prompts"),  # overlapping includes
]


def _files_of(root: Path, listing: bytes) -> set[str]:
    """Every file a listing stands for: its blobs, and what its trees hold."""
    files = set()
    for rec in listing.split(b"\0"):
        if not rec:
            continue
        meta, _, path = rec.decode().partition("\t")
        _mode, kind, oid = meta.split()
        if kind == "tree":
            for sub in git(root, "ls-tree", "-r", "-z", "--name-only", oid).split("\0"):
                if sub:
                    files.add(f"{path}/{sub}")
        else:
            files.add(path)
    return files


@pytest.mark.parametrize("paths", EXCLUDES)
def test_an_exclude_listing_covers_what_git_matches(mono: Path, paths: tuple[str, ...]) -> None:
    repo = gitrepo.discover(mono)
    assert scope.plain_with_excludes(paths) is not None
    listing = scope.start_listing(repo, "HEAD", paths).wait().stdout
    matched = set(git(mono, "ls-files", "-z", "--", *paths).split("\0")) - {""}
    assert _files_of(mono, listing) == matched
    # The same digest as the listing is given, and a tree kept whole is one record.
    assert scope.head_digest(repo, "HEAD", paths)[0] == scope.digest(paths, listing)


def test_an_exclude_listing_opens_only_the_trees_on_the_way(mono: Path) -> None:
    repo = gitrepo.discover(mono)
    listing = scope.start_listing(repo, "HEAD", ALL_BUT_TRIAGE).wait().stdout
    names = [r.partition(b"\t")[2].decode() for r in listing.split(b"\0") if r]
    assert names == ["README.md", "apps/support", "libs"]
    # An exclude's content never counts: the version stays when it changes.
    before = sid(mono, ALL_BUT_TRIAGE)
    write(mono / "apps/triage/agent.py", "triage = 2\n")
    commit_all(mono, "triage")
    assert sid(mono, ALL_BUT_TRIAGE) == before
    write(mono / "apps/support/agent.py", "support = 2\n")
    commit_all(mono, "support")
    assert sid(mono, ALL_BUT_TRIAGE) != before


def test_lists_with_globs_or_other_magic_are_not_walked() -> None:
    for paths in (GLOB, SUPPORT, ("apps", ":!apps/*/docs"), ("apps", ":(icase)libs")):
        assert scope.plain_with_excludes(paths) is None, paths
    assert scope.plain_with_excludes(("./apps/", ":!apps/x/")) is None  # a trailing '/'
    assert scope.plain_with_excludes((".", ":!./docs")) == ([""], ["docs"])


# --- which apps a commit changed (the hooks register only those) ---------------------------

CONFIG = ".mlflow-gitver.yaml"


def changed(root: Path, rev: str, paths: tuple[str, ...]) -> bool:
    repo = gitrepo.discover(root)
    commit = git(root, "rev-parse", rev).strip()
    return scope.changed(repo, commit, scope.parents(repo, commit), paths, CONFIG)


@pytest.mark.parametrize(
    ("touched", "expected"),  # (SUPPORT, NO_DOCS, apps/triage)
    [
        ("apps/support/agent.py", (True, True, False)),
        ("libs/common/util.py", (True, False, False)),
        ("apps/triage/prompts/p.txt", (False, False, True)),
        ("README.md", (False, False, False)),
        (CONFIG, (True, True, True)),  # a config change: every app is looked at again
        ("apps/support/docs/guide.md", (True, False, False)),  # NO_DOCS excludes it
    ],
)
def test_a_commit_changes_the_apps_whose_content_it_changed(
    mono: Path, touched: str, expected: tuple[bool, bool, bool]
) -> None:
    write(mono / touched, "edited\n")
    commit_all(mono, "edit")
    got = tuple(changed(mono, "HEAD", p) for p in (SUPPORT, NO_DOCS, ("apps/triage",)))
    assert got == expected


def test_a_root_commit_changes_every_app(mono: Path) -> None:
    root = git(mono, "rev-list", "--max-parents=0", "HEAD").strip()
    assert changed(mono, root, SUPPORT) and changed(mono, root, ("apps/triage",))


def test_a_rename_into_and_out_of_a_scope(mono: Path) -> None:
    git(mono, "mv", "README.md", "apps/triage/README.md")
    commit_all(mono, "into triage")
    assert changed(mono, "HEAD", ("apps/triage",)) and not changed(mono, "HEAD", SUPPORT)
    git(mono, "mv", "apps/triage/README.md", "README.md")
    commit_all(mono, "out again")
    assert changed(mono, "HEAD", ("apps/triage",)) and not changed(mono, "HEAD", SUPPORT)


def test_a_merge_changes_an_app_only_if_it_differs_from_every_parent(mono: Path) -> None:
    git(mono, "checkout", "-q", "-b", "side")
    write(mono / "apps/triage/agent.py", "triage = 2\n")
    commit_all(mono, "triage on side")
    git(mono, "checkout", "-q", "main")
    write(mono / "apps/support/agent.py", "support = 2\n")
    commit_all(mono, "support on main")
    git(mono, "merge", "-q", "--no-edit", "side")
    # Each app's content is one parent's: the merge made no new version of either.
    assert not changed(mono, "HEAD", SUPPORT) and not changed(mono, "HEAD", ("apps/triage",))
    # An app both sides changed: the merge's content is neither parent's.
    assert changed(mono, "HEAD", ("apps",))


def test_changed_reads_the_paths_as_the_version_id_does(mono: Path) -> None:
    """A path with a wildcard is a glob for both (a file named ``s*`` and ``sx``)."""
    write(mono / "apps/s*/x.py", "star\n")
    write(mono / "apps/sx/x.py", "other\n")
    commit_all(mono, "two dirs")
    write(mono / "apps/sx/x.py", "other 2\n")
    commit_all(mono, "the plain one")
    repo = gitrepo.discover(mono)
    for paths in (("apps/s*",), ("apps/s*/x.py",), (":(literal)apps/s*",), ("apps/triage",)):
        ids = {scope.head_digest(repo, rev, paths)[0] for rev in ("HEAD", "HEAD~1")}
        assert changed(mono, "HEAD", paths) is (len(ids) == 2), paths


# --- clones that hold only part of the tree ------------------------------------------------


def test_a_sparse_checkout_has_the_full_clones_scoped_ids(mono: Path, tmp_path: Path) -> None:
    """Files a sparse checkout leaves out count as HEAD has them; one written there
    anyway (skip-worktree, on disk) counts by its bytes, like any flagged entry."""
    full = {p: sid(mono, p) for p in (SUPPORT, NO_DOCS, ("apps/triage",))}
    sparse = tmp_path / "sparse"
    git(tmp_path, "clone", "-q", "--no-checkout", str(mono), str(sparse))
    git(sparse, "sparse-checkout", "set", "--no-cone", "/apps/support/", "/libs/")
    git(sparse, "checkout", "-q", git(mono, "branch", "--show-current").strip())
    assert not (sparse / "apps/triage").exists() and (sparse / "apps/support/agent.py").exists()
    assert {p: sid(sparse, p) for p in full} == full
    write(sparse / "apps/triage/agent.py", "triage = 99\n")  # skip-worktree, now on disk
    triage = sid(sparse, ("apps/triage",))
    assert "-dirty-" in triage and triage.startswith(full[("apps/triage",)][:39])
    assert sid(sparse, SUPPORT) == full[SUPPORT]
    write(sparse / "apps/support/agent.py", "support = 99\n")
    assert "-dirty-" in sid(sparse, SUPPORT)
