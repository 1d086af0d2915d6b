"""What a version id is: its format, its parser, and what never counts as a change.

Imported by ``mlflow-gitver id``: no ``re``, no ``typing`` at run time.

The scope of a version is the whole working tree minus the exclusion table
below, or, for an app with ``paths:``, what those git pathspecs match: its id is
then ``scoped-...``, a digest of the path list and the content under it (see
:func:`scoped_version_id`), so commits that leave that content alone share it.
"""

from __future__ import annotations

TYPE_CHECKING = False  # not typing's: see mlflow_gitver/__init__.py
if TYPE_CHECKING:
    from collections.abc import Sequence

_HEX = frozenset("0123456789abcdef")
_DIRTY = "-dirty-"
SCOPED_PREFIX = "scoped-"
# Bumped if what the scope digest covers ever changes: old and new ids must not meet.
SCOPE_SCHEME = b"mlflow-gitver-scope/1\0"

# Paths that never count as a change: MLflow's own local stores (registering a
# version writes them, which must not change the version) and our dotenv export.
# gitstate filters status output with is_excluded() instead of passing these to
# git status: glob pathspecs cost git ~70 ms on a 50,000-file index.
EXCLUDED_PATHSPECS: Sequence[str] = (
    ":(exclude,glob)**/mlflow.db",
    ":(exclude,glob)**/mlflow.db-*",
    ":(exclude,glob)**/mlruns/**",
    ":(exclude,glob)**/mlartifacts/**",
    ":(exclude,glob)**/mlflow-gitver.env",
)

_EXCLUDED_DIRS = (b"mlruns", b"mlartifacts")
_EXCLUDED_NAMES = (b"mlflow.db", b"mlflow-gitver.env")


def is_excluded(path: bytes) -> bool:
    """Whether a repo-relative path is one of EXCLUDED_PATHSPECS (at any depth)."""
    parts = path.rstrip(b"/").split(b"/")
    name = parts[-1]
    if name in _EXCLUDED_NAMES or name.startswith(b"mlflow.db-"):
        return True
    return any(p in _EXCLUDED_DIRS for p in parts[:-1])


def version_id(commit: str, digest: str | None) -> str:
    """The full commit when clean; ``<first 32 hex>-dirty-<8 hex of the digest>`` when dirty."""
    if digest is None:
        return commit
    return f"{commit[:32]}{_DIRTY}{digest[:8]}"


def scoped_version_id(scope_digest: str, digest: str | None) -> str:
    """The id of a scoped app: ``scoped-<40 hex>`` from the digest of its path list
    and HEAD's content under it when clean; ``scoped-<first 32>-dirty-<8 hex of the
    working-tree digest>`` when dirty inside the scope."""
    if digest is None:
        return f"{SCOPED_PREFIX}{scope_digest[:40]}"
    return f"{SCOPED_PREFIX}{scope_digest[:32]}{_DIRTY}{digest[:8]}"


def parse_scoped_id(text: str) -> tuple[str, str | None] | None:
    """(scope digest prefix, dirty digest prefix) of a scoped id; None if it is not one."""
    if not text.startswith(SCOPED_PREFIX):
        return None
    scope, sep, digest = text[len(SCOPED_PREFIX) :].partition(_DIRTY)
    if not sep:
        return (scope, None) if _is_hex(scope, 40) else None
    if _is_hex(scope, 32) and _is_hex(digest, 8):
        return scope, digest
    return None


def is_version_id(text: str) -> bool:
    """Whether ``text`` is a version id of either kind (whole-repository or scoped)."""
    return parse_version_id(text) is not None or parse_scoped_id(text) is not None


# --- pathspecs -------------------------------------------------------------------------
# The long magic words git documents (gitglossary "pathspec"); `attr:` takes a value.
_MAGIC_WORDS = ("top", "literal", "glob", "icase", "exclude")
_SHORT_MAGIC = "/!^"
_WILDCARDS = "*?[\\"


def pathspec_problem(spec: str) -> str | None:
    """What is wrong with ``spec`` as a scope pathspec (relative to the repository
    root), with the fix; None when git may take it."""
    if not spec.strip():
        return "an empty path; remove it, or write '.' for the whole repository"
    if any(c in spec for c in "\0\n\r"):
        return f"{spec!r} holds a line break or NUL; write one path per list item"
    path = spec
    if spec.startswith(":("):
        words, sep, path = spec[2:].partition(")")
        if not sep:
            return f"{spec!r}: magic '(' is not closed; write e.g. ':(exclude)docs'"
        for word in (w.strip() for w in words.split(",")):
            if word not in _MAGIC_WORDS and not word.startswith("attr:"):
                return (
                    f"{spec!r}: unknown pathspec magic {word!r}; use "
                    + ", ".join(_MAGIC_WORDS)
                    + " or attr:"
                )
    elif spec.startswith(":"):
        path = spec[1:].lstrip(_SHORT_MAGIC)
        if path.startswith(":"):
            path = path[1:]
    if path.startswith("/"):
        return f"{spec!r} is absolute; write it relative to the repository root"
    if ".." in path.replace("\\", "/").split("/"):
        return f"{spec!r} has a '..' part; write the path from the repository root without '..'"
    return None


def is_plain_pathspec(spec: str) -> bool:
    """A path that names itself: no magic, no wildcard, no trailing slash.  Such a
    scope's content at a commit is the ids of the named trees and blobs."""
    return (
        not spec.startswith(":")
        and not spec.endswith("/")
        and not any(c in spec for c in _WILDCARDS)
    )


def _is_hex(text: str, *lengths: int) -> bool:
    return len(text) in lengths and _HEX.issuperset(text)


def parse_version_id(text: str) -> tuple[str, str | None] | None:
    """(commit, digest prefix) of a version id; None if ``text`` is not one.

    A clean id gives the full commit (40 or 64 lowercase hex) and None; a
    dirty id gives the commit's first 32 hex digits and the digest's first 8.
    """
    commit, sep, digest = text.partition(_DIRTY)
    if not sep:
        return (text, None) if _is_hex(text, 40, 64) else None
    if _is_hex(commit, 32) and _is_hex(digest, 8):
        return commit, digest
    return None
