"""The uncommitted change as git diffs, written without touching the user's index.

Tracked changes come from ``git diff HEAD`` (``--no-optional-locks``, through
git.py); untracked files are diffed through a throw-away index that holds only
them as intent-to-add entries, with a throw-away object directory for the one
blob ``git add -N`` writes (the empty one).
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path

from mlflow_gitver import git
from mlflow_gitver.gitstate import GitState
from mlflow_gitver.identity import EXCLUDED_PATHSPECS

_DIFF_FLAGS = (
    "diff",
    "--binary",
    "--no-ext-diff",
    "--no-textconv",
    "--no-color",
    "--no-renames",
    "--src-prefix=a/",
    "--dst-prefix=b/",
)


def _literal(path: bytes) -> str:
    return path.decode("utf-8", "surrogateescape")


def diffs(
    repo: git.Repo, state: GitState, keep: dict[str, tuple[bytes, bool]]
) -> tuple[bytes, bytes]:
    """The tracked and the untracked part of the patch, for the ``keep`` files only."""
    kept_tracked = {p for p, u in keep.values() if not u}
    drop = [c.path for c in state.changes if c.status != "untracked" and c.path not in kept_tracked]
    tracked = _tracked_diff(repo, state.scope, drop) if kept_tracked else b""
    untracked = sorted(p for p, u in keep.values() if u)
    return tracked, _untracked_diff(repo, untracked) if untracked else b""


def _tracked_diff(repo: git.Repo, scope: Sequence[str], drop: Sequence[bytes]) -> bytes:
    """``git diff HEAD`` of what the state covers: a scoped state's paths only (its
    changes leave out the rest, so the rest is not in ``drop`` either: another
    app's edits must not be stored in this one's patch)."""
    from mlflow_gitver import scope as scopes

    excludes = [":(exclude,literal)" + _literal(p) for p in drop]
    covered = scopes.as_git_reads(scope) if scope else ["."]
    return git.git(
        [*scopes.NEUTRAL, *_DIFF_FLAGS, "HEAD", "--", *covered, *EXCLUDED_PATHSPECS, *excludes],
        cwd=repo.root,
        env=repo.env(),
    ).stdout


def _untracked_diff(repo: git.Repo, paths: Sequence[bytes]) -> bytes:
    with tempfile.TemporaryDirectory(prefix="mlflow-gitver-") as tmp:
        env = repo.env()
        # An index of our own holding only these files: the user's index is untouched,
        # and `git diff` (index against working tree) shows exactly these as new files.
        env["GIT_INDEX_FILE"] = str(Path(tmp) / "index")
        env["GIT_LITERAL_PATHSPECS"] = "1"
        # `add -N` writes the empty blob: send writes to a throw-away object
        # directory that borrows the real one for reads.
        objects = (
            git.git(
                ["rev-parse", "--path-format=absolute", "--git-path", "objects"],
                cwd=repo.root,
                env=repo.env(),
            )
            .stdout.decode("utf-8", "surrogateescape")
            .strip()
        )
        (Path(tmp) / "objects").mkdir()
        env["GIT_OBJECT_DIRECTORY"] = str(Path(tmp) / "objects")
        env["GIT_ALTERNATE_OBJECT_DIRECTORIES"] = objects
        git.git(
            ["add", "--intent-to-add", "--pathspec-from-file=-", "--pathspec-file-nul"],
            cwd=repo.root,
            env=env,
            input=b"\0".join(paths) + b"\0",
        )
        return git.git([*_DIFF_FLAGS], cwd=repo.root, env=env).stdout
