"""The value type of the modules `id` imports: immutable, comparable, copyable."""

from __future__ import annotations

import copy
import pickle
from pathlib import Path

import pytest

from mlflow_gitver.git import Repo
from mlflow_gitver.gitstate import Change, GitState
from mlflow_gitver.proc import Completed

REPO = Repo(Path("/r"), Path("/r/.git"), Path("/r/.git"), True, "sha1")


def state() -> GitState:
    change = Change(b"a\nb.py", "modified", "100755", "1" * 40)
    return GitState(REPO, "c" * 40, None, (change,), "d" * 64)


def test_equality_hash_repr() -> None:
    assert state() == state() and hash(state()) == hash(state())
    assert state() != state().replace(branch="main")
    assert Completed(0, b"", b"") != (0, b"", b"")  # not a tuple
    assert repr(Completed(1, b"o", b"e")) == "Completed(returncode=1, stderr=b'e', stdout=b'o')"
    assert len({state(), state(), state().replace(repo=REPO.replace(shallow=False))}) == 2


def test_immutable() -> None:
    s = state()
    with pytest.raises(AttributeError, match="immutable"):
        s.commit = "x"
    with pytest.raises(AttributeError, match="immutable"):
        del s.commit
    with pytest.raises(AttributeError):
        s.other = 1


def test_replace() -> None:
    s = state()
    t = s.replace(branch="main", digest=None)
    assert (t.branch, t.digest, t.commit) == ("main", None, s.commit)
    assert s.branch is None  # the original is unchanged
    with pytest.raises(TypeError, match="has no field nope"):
        s.replace(nope=1)


@pytest.mark.parametrize(
    "value",
    [
        state(),
        Repo(Path("/r"), Path("/r/.git"), Path("/r/.git"), False, "sha256", keep_repo_env=False),
        Completed(2, b"out", b"err"),
    ],
)
def test_copy_and_pickle(value: object) -> None:
    assert copy.copy(value) == value
    assert copy.deepcopy(value) == value
    assert pickle.loads(pickle.dumps(value)) == value


def test_defaults_and_properties() -> None:
    s = GitState(REPO, "c" * 40, "main")
    assert (s.changes, s.digest, s.repo.object_format, s.dirty) == ((), None, "sha1", False)
    assert (s.repo.root, s.repo.git_dir, s.repo.shallow) == (REPO.root, REPO.git_dir, True)
    assert s.version_id == "c" * 40
    assert state().version_id == "c" * 32 + "-dirty-dddddddd"
    assert Repo(Path("/r"), Path("/g"), Path("/g"), False, "sha1").keep_repo_env is True
