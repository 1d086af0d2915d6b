"""What a version id is: its format, its parser, and what never counts as a change.

Imported by ``mlflow-gitver id``: no ``re``, no ``typing`` at run time.

The scope of a version is the whole working tree minus the exclusion table
below; the future ``paths:`` scope (a version of part of a repository) goes here.
"""

from __future__ import annotations

TYPE_CHECKING = False  # not typing's: see mlflow_gitver/__init__.py
if TYPE_CHECKING:
    from collections.abc import Sequence

_HEX = frozenset("0123456789abcdef")
_DIRTY = "-dirty-"

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
