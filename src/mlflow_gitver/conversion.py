"""What ``git add`` would store for a changed file: end-of-line conversion and clean filters."""

from __future__ import annotations

import os

from mlflow_gitver import git, gitstatus
from mlflow_gitver.entries import REGULAR
from mlflow_gitver.errors import CommandError, GitverError
from mlflow_gitver.gitindex import Index
from mlflow_gitver.worktree import Row

# Attributes under which `git add` may store other bytes than the disk holds.
_CONVERT_ATTRS = ("text", "eol", "crlf", "filter", "ident", "working-tree-encoding")


def _attribute_files(repo: git.Repo, snap: gitstatus.Snapshot) -> bool:
    """Whether an attributes file outside the tree exists (git's other sources)."""
    if snap.setting("core.attributesfile"):
        return True
    xdg = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.environ.get("HOME", "/"), ".config")
    places = [str(repo.common_dir / "info" / "attributes"), os.path.join(xdg, "git", "attributes")]
    if not os.environ.get("GIT_ATTR_NOSYSTEM"):
        places += ["/etc/gitattributes", "/usr/local/etc/gitattributes"]
    return any(os.path.exists(p) for p in places)


def _needs_git(attrs: dict[str, str], cr: bool, autocrlf: bool) -> bool:
    """Whether ``git add`` may store other bytes than the file holds."""
    if attrs.get("filter", "unspecified") not in ("unspecified", "unset"):
        return True
    if attrs.get("ident") == "set":
        return True
    if attrs.get("working-tree-encoding", "unspecified") not in ("unspecified", "unset"):
        return True
    if not cr:
        return False  # end-of-line conversion on check-in only turns CRLF into LF
    text, crlf = attrs.get("text", "unspecified"), attrs.get("crlf", "unspecified")
    if text == "unset" or crlf == "unset":
        return False
    if text != "unspecified" or crlf != "unspecified":
        return True
    return autocrlf or attrs.get("eol", "unspecified") != "unspecified"


def apply_conversion(
    repo: git.Repo, snap: gitstatus.Snapshot, index: Index, rows: list[Row]
) -> None:
    """Replace the raw blob id with the one git would store, where git may convert.

    Only for files whose attributes or core.autocrlf ask for conversion; git
    itself (``hash-object``) then computes it, clean filters included.
    """
    files = [r for r in rows if r.seen is not None and r.seen.mode in REGULAR]
    if not files:
        return
    value = (snap.setting("core.autocrlf") or "false").strip().lower()
    autocrlf = value == "input" or snap.flag("core.autocrlf", False)
    attributes = (
        index.attributes
        or any(r.key.endswith(b".gitattributes") for r in rows)
        or _attribute_files(repo, snap)
    )
    if attributes:
        found: dict[bytes, dict[str, str]] = {}
        out = git.check_attr(repo, _CONVERT_ATTRS, [r.key for r in files]).split(b"\0")
        for i in range(0, len(out) - 2, 3):
            found.setdefault(out[i], {})[out[i + 1].decode()] = out[i + 2].decode()
        need = [r for r in files if _needs_git(found.get(r.key, {}), r.seen.cr, autocrlf)]  # type: ignore[union-attr]
    elif autocrlf:
        need = [r for r in files if r.seen.cr]  # type: ignore[union-attr]
    else:
        return
    need = [r for r in need if r.oid != r.entry.head_oid]  # the raw bytes are HEAD's: unchanged
    if not need:
        return
    try:
        oids = git.hash_paths(repo, [r.key for r in need])
    except CommandError as e:
        said = e.stderr.decode("utf-8", "replace").strip().splitlines()
        raise GitverError(
            f"git cannot compute what it would store for {len(need)} changed file(s) "
            f"({os.fsdecode(need[0].key)}, ...): {said[-1] if said else f'exit {e.returncode}'}; "
            "fix the file or its filter configuration"
        ) from e
    if len(oids) != len(need):
        raise GitverError(f"git hash-object gave {len(oids)} ids for {len(need)} files; run again")
    for r, oid in zip(need, oids, strict=True):
        r.oid = oid
