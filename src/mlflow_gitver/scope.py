"""An app's scope (``paths:``): what its pathspecs cover in a commit, as one digest.

A scoped version is a function of the content under the app's paths only (issue
13): the digest covers the path list, in the order written, and git's listing of
the commit's tree under it, never the index (staging, ``write-tree`` or index
flags cannot change it).  When every pathspec is a plain path, the listing is
the named trees and blobs themselves (``ls-tree``, a few lines however large
the app).  Plain paths with excludes of plain paths (``:!docs``, ``:^docs``,
``:(exclude)docs``) are listed the same way, descending (one ``ls-tree`` a level)
only into the trees that hold an excluded path, so an app of "everything but one
directory" is a few hundred lines, not every file.  Any other list (globs, other
magic) is every file under it (``diff-tree`` from the empty tree: ``ls-tree``
knows no globs).  The working tree's part of the state is ``git status``
restricted to the same pathspecs (gitstatus.py).
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from mlflow_gitver import git
from mlflow_gitver.blobhash import new_hash
from mlflow_gitver.identity import SCOPE_SCHEME, is_plain_pathspec
from mlflow_gitver.proc import Completed, Spawned

# The tree with no entries; git knows it without having it stored.
EMPTY_TREE = {
    "sha1": "4b825dc642cb6eb9a060e54bf8d69288fbee4904",
    "sha256": "6ef19b41225c5369f1c104d45d8d85efa9b057b53b14b4b9b939dd74decc5321",
}
# Pathspec matching must not depend on the user's environment or case folding.
NEUTRAL = ("-c", "core.ignoreCase=false")


def listing_args(object_format: str, rev: str, pathspecs: Sequence[str]) -> list[str]:
    if all(is_plain_pathspec(p) for p in pathspecs):
        return [*NEUTRAL, "ls-tree", "-z", "--full-tree", rev, "--", *as_git_reads(pathspecs)]
    empty = EMPTY_TREE[object_format]
    return [*NEUTRAL, "diff-tree", "-r", "-z", "--no-renames", empty, rev, "--", *pathspecs]


def as_git_reads(pathspecs: Sequence[str]) -> list[str]:
    """The pathspecs as every git call of a scope passes them: a list of plain paths
    literally (a file named ``a*`` is that file), any other list as written."""
    if all(is_plain_pathspec(p) for p in pathspecs):
        return [":(literal)" + p for p in pathspecs]
    return list(pathspecs)


def start_listing(repo: git.Repo, rev: str, pathspecs: Sequence[str]) -> Spawned | TreeWalk:
    split = plain_with_excludes(pathspecs)
    if split is not None:
        return TreeWalk(repo, rev, *split)
    args = git.argv(listing_args(repo.object_format, rev, pathspecs), at=str(repo.root))
    return Spawned(args, repo.env())


_EXCLUDE_PREFIXES = (":!", ":^", ":(exclude)")


def plain_with_excludes(pathspecs: Sequence[str]) -> tuple[list[str], list[str]] | None:
    """(included, excluded) paths, normalised (``""`` the root), when the list has
    at least one exclude and every entry is a plain path or the exclude of one;
    else None."""
    included: list[str] = []
    excluded: list[str] = []
    for spec in pathspecs:
        prefix = next((p for p in _EXCLUDE_PREFIXES if spec.startswith(p)), None)
        path = spec if prefix is None else spec[len(prefix) :]
        if not is_plain_pathspec(path) or path.startswith("/"):
            return None
        norm = os.path.normpath(path).replace(os.sep, "/")
        (included if prefix is None else excluded).append("" if norm == "." else norm)
    return (included, excluded) if excluded else None


def _under(path: str, top: str) -> bool:
    return top == "" or path == top or path.startswith(top + "/")


class TreeWalk:
    """The listing of plain paths minus plain excludes, from the commit's trees.

    Each record is one ``ls-tree`` line, ``<mode> <type> <id>\t<path>``: a tree or
    blob kept whole, or, for a tree that holds an excluded path, its entries, one
    level at a time.  Excluded entries are left out, so nothing under an exclude
    reaches the digest.  The records are sorted by path, each once (overlapping
    paths list a tree twice).  The first level starts with the object; each
    deeper one is another ``ls-tree`` of the trees to open, all in one call.
    """

    def __init__(self, repo: git.Repo, rev: str, included: list[str], excluded: list[str]):
        self.repo, self.rev, self.excluded = repo, rev, excluded
        # What an exclude covers is never listed, even when also included.
        first = [p for p in included if not any(_under(p, x) for x in excluded)]
        self._first = self._start([self._spec(p) for p in first]) if first else None
        self.args = self._first.args if self._first is not None else ()

    def _spec(self, path: str, children: bool = False) -> str:
        """A literal pathspec of ``path`` itself or (``children``) of its entries,
        or of the exclude-holding tree's entries: a tree named with a '/' lists them."""
        if children or any(x != path and _under(x, path) for x in self.excluded):
            return ":(literal)" + (path + "/" if path else "./")
        return ":(literal)" + (path or ".")

    def _start(self, specs: list[str]) -> Spawned:
        args = [*NEUTRAL, "ls-tree", "-z", "--full-tree", self.rev, "--", *specs]
        return Spawned(git.argv(args, at=str(self.repo.root)), self.repo.env())

    def wait(self, check: bool = True) -> Completed:
        kept: dict[bytes, bytes] = {}
        level = self._first
        while level is not None:
            done = level.wait(check=check)
            if done.returncode != 0:
                return done
            to_open = []
            for rec in done.stdout.split(b"\0"):
                if not rec:
                    continue
                meta, _, raw = rec.partition(b"\t")
                path = raw.decode("utf-8", "surrogateescape")
                if any(_under(path, x) for x in self.excluded):
                    continue
                holds = any(x != path and _under(x, path) for x in self.excluded)
                if holds and meta.split(b" ")[1] == b"tree":
                    to_open.append(path)
                else:
                    kept[raw] = rec
            level = (
                self._start([self._spec(p, children=True) for p in to_open]) if to_open else None
            )
        return Completed(0, b"".join(kept[k] + b"\0" for k in sorted(kept)), b"")


def digest(pathspecs: Sequence[str], listing: bytes) -> str:
    h = new_hash("sha256")
    h.update(SCOPE_SCHEME)
    for spec in pathspecs:
        h.update(spec.encode("utf-8", "surrogateescape") + b"\0")
    h.update(b"\0")
    h.update(listing)
    return h.hexdigest()


def unmatched(pathspecs: Sequence[str], listing: bytes, rev_name: str) -> list[str]:
    """A warning for each plain path not in ``rev``, or one if nothing matched."""
    if not listing:
        listed = ", ".join(repr(p) for p in pathspecs)
        verb = "matches" if len(pathspecs) == 1 else "match"
        return [f"paths {listed} {verb} nothing in {rev_name}; check 'paths:'"]
    if not all(is_plain_pathspec(p) for p in pathspecs):
        return []
    named = {rec.partition(b"\t")[2] for rec in listing.split(b"\0") if rec}
    out = []
    for spec in pathspecs:
        path = os.path.normpath(spec).encode("utf-8", "surrogateescape")
        if path != b"." and path not in named:
            out.append(f"path {spec!r} matches nothing in {rev_name}; check 'paths:'")
    return out


def head_digest(repo: git.Repo, rev: str, pathspecs: Sequence[str]) -> tuple[str, list[str]]:
    """The scope digest of commit ``rev`` and its warnings (for ``--commit``)."""
    listing = start_listing(repo, rev, pathspecs).wait().stdout
    return digest(pathspecs, listing), unmatched(pathspecs, listing, rev[:12])


def inside(repo: git.Repo, paths: Sequence[bytes], pathspecs: Sequence[str]) -> set[bytes]:
    """Which of ``paths`` (index entries) the pathspecs match, as git matches them."""
    if not paths:
        return set()
    args = [*NEUTRAL, "ls-files", "-z", "--full-name", "--", *pathspecs]
    out = git.git(args, cwd=repo.root, env=repo.env()).stdout
    return set(out.split(b"\0")) & set(paths)


def parents(repo: git.Repo, commit: str) -> list[str]:
    """The parents of ``commit`` (none for a root commit)."""
    args = ["rev-list", "--parents", "--max-count=1", commit, "--"]
    words = git.git(args, cwd=repo.root, env=repo.env()).stdout.split()
    return [w.decode("ascii") for w in words[1:]]


def changed(
    repo: git.Repo, commit: str, parents: Sequence[str], pathspecs: Sequence[str], also: str
) -> bool:
    """Whether ``commit`` changed what ``pathspecs`` (or the file ``also``, the
    config) cover: their content differs from every parent's.  A merge that
    takes one side's content unchanged made no new version; a root commit did."""
    specs = [*as_git_reads(pathspecs), ":(literal)" + also]
    for parent in parents:
        args = [*NEUTRAL, "diff-tree", "--quiet", "-r", "--no-renames", parent, commit]
        args += ["--", *specs]
        # 0: the same content; 1: it differs; anything else (a broken object) counts
        # as changed, so a registration is tried and its error reported.
        if git.git(args, cwd=repo.root, env=repo.env(), check=False).returncode == 0:
            return False
    return True
