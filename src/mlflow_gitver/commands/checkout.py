"""``mlflow-gitver checkout VERSION [--dir DIR]``: the exact code of a version.

A new git worktree (``git worktree add --detach``) at the version's commit, plus
its stored patch for a dirty version (tracked and untracked files, exec bits,
symlinks, binaries), so that ``mlflow-gitver id --repo DIR`` works there.  The
id is then recomputed in DIR and must equal the version's; when it does not
(files too large or secret-looking were not stored, credentials were replaced
by markers), the files are named, the exit is 1 and the tree is left as it is
for inspection.

Decisions:
- DIR defaults to a sibling of the repository, ``<repo>-<model name>``: inside
  the working tree a worktree would itself show as an untracked change.
- DIR must not exist or be an empty directory: nothing of the user's is
  overwritten (exit 2 otherwise).
- A commit this clone lacks is fetched from ``origin`` (said on stderr); when
  that fails, the error says to fetch it.
- The artifacts are read before the worktree is made: a server that fails
  leaves no half-made directory behind.
- The worktree is git's: ``git worktree remove DIR`` deletes it.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlflow_gitver import git
from mlflow_gitver.commands import from_namespace
from mlflow_gitver.config import CONFIG_NAME
from mlflow_gitver.context import open_repo
from mlflow_gitver.error_handler import PROG
from mlflow_gitver.errors import EXIT_FAILURE, EXIT_OK, EXIT_USAGE, GitverError

TYPE_CHECKING = False  # not typing's: see mlflow_gitver/__init__.py
if TYPE_CHECKING:
    from mlflow_gitver.stored import Stored


@dataclass(frozen=True)
class Args:
    version: str = ""
    dir: Path | None = None
    repo: Path | None = None
    config: Path | None = None
    app: str | None = None
    tracking_uri: str | None = None
    experiment: str | None = None
    format: str = "text"


def args_of(ns: argparse.Namespace) -> Args:
    return from_namespace(Args, ns)


def run(args: Args) -> int:
    from mlflow_gitver.commands.show import VersionFinder

    repo = open_repo(args.repo)
    finder = VersionFinder(repo, args.config, args.app, args.tracking_uri, args.experiment)
    info, uri = finder.find(args.version), finder.uri
    commit, version_id = info["commit"], info["version_id"]
    if not commit or not version_id:
        raise GitverError(
            f"{info['model_name']} ({info['model_id']}) has no commit or version id tag: "
            "it was not registered by mlflow-gitver, so there is no code to restore",
            EXIT_FAILURE,
        )
    dest = _destination(repo, args.dir, info["model_name"])
    saved = _stored(info, uri)  # before anything is written
    _ensure_commit(repo, commit)
    _add_worktree(repo, dest, commit)
    applied = _apply(dest, saved) if saved is not None else None
    recomputed = _recompute(repo, dest, info, args.config)
    out: dict[str, Any] = {
        "dir": str(dest),
        "model_id": info["model_id"],
        "model_name": info["model_name"],
        "commit": commit,
        "dirty": info["dirty"],
        "version_id": version_id,
        "recomputed_id": recomputed,
        "exact": recomputed == version_id,
        "patch_applied": applied,
        "not_exact": [{"path": p, "restore": h} for p, h in (saved.not_exact() if saved else [])]
        + [
            {"path": p, "restore": "submodule", "commit": c}
            for p, c in (saved.submodules() if saved else [])
        ],
    }
    if info["dirty"] and saved is None:
        out["why"] = "the version stored no patch (its config had 'diff: none')"
    elif saved is not None and saved.manifest.get("untracked_included") is False:
        out["why"] = "the version stored tracked changes only ('diff: tracked'): no untracked file"
    if args.format == "json":
        print(json.dumps(out, indent=2, ensure_ascii=False))
    else:
        _print(out)
    return EXIT_OK if out["exact"] else EXIT_FAILURE


def _destination(repo: git.Repo, given: Path | None, model_name: str) -> Path:
    dest = Path(given) if given is not None else repo.root.parent / f"{repo.root.name}-{model_name}"
    dest = dest.absolute()
    if dest.is_symlink() or (dest.exists() and not dest.is_dir()):
        raise GitverError(f"{dest} exists and is not a directory; pass --dir a new one", EXIT_USAGE)
    if dest.is_dir():
        try:
            empty = not any(os.scandir(dest))
        except OSError as e:
            raise GitverError(f"{dest}: cannot read it ({e.strerror}); pass --dir another") from e
        if not empty:
            raise GitverError(
                f"{dest} is not empty: checkout writes only into a new or empty directory; "
                "pass --dir another",
                EXIT_USAGE,
            )
    return dest


def _stored(info: dict[str, Any], uri: str) -> Stored | None:
    if not info["dirty"]:
        return None
    from mlflow_gitver import stored

    saved = stored.read(info["model_id"], uri)
    return saved if saved.patch is not None else None


def _ensure_commit(repo: git.Repo, commit: str) -> None:
    if git.resolve_commit(repo, commit) is not None:
        return
    print(
        f"{PROG}: commit {commit[:12]} is not in this clone; fetching it from origin",
        file=sys.stderr,
    )
    done = git.git(
        ["fetch", "--quiet", "--no-tags", "origin", commit],
        cwd=repo.root,
        env=repo.env(),
        check=False,
    )
    if done.returncode != 0 or git.resolve_commit(repo, commit) is None:
        why = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise GitverError(
            f"commit {commit} is not in this clone and fetching it from origin failed"
            + (f" ({why[-1]})" if why else "")
            + f"; fetch it (git fetch <remote> {commit}), then run checkout again",
            EXIT_FAILURE,
        )


def _add_worktree(repo: git.Repo, dest: Path, commit: str) -> None:
    done = git.git(
        ["worktree", "add", "--quiet", "--detach", str(dest), commit],
        cwd=repo.root,
        env=repo.env(),
        check=False,
    )
    if done.returncode != 0:
        why = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise GitverError(
            f"git worktree add {dest} failed" + (f": {why[-1]}" if why else ""), EXIT_FAILURE
        )


def _apply(dest: Path, saved: Stored) -> bool:
    """Apply the stored patch in ``dest`` (working tree only, as it was: the index
    stays the commit's); False when git refuses it (the tree is left as it is)."""
    from mlflow_gitver.proc import git_env

    assert saved.patch is not None
    with tempfile.NamedTemporaryFile(suffix=".patch", delete=False) as f:
        f.write(saved.patch)
    try:
        excludes = [f"--exclude={p}" for p in saved.excluded()]
        done = git.git(
            ["apply", "--binary", *excludes, f.name],
            cwd=dest,
            env=git_env(keep_repo_env=False),
            check=False,
        )
    finally:
        os.unlink(f.name)
    if done.returncode != 0:
        why = done.stderr.decode("utf-8", "replace").strip().splitlines()
        print(
            f"{PROG}: the stored patch does not apply in {dest}" + (f": {why[0]}" if why else ""),
            file=sys.stderr,
        )
        return False
    return True


def _recompute(repo: git.Repo, dest: Path, info: dict[str, Any], config: Path | None) -> str:
    """The version id of ``dest`` under the version's own config (the one in the tree,
    as the version had it)."""
    from mlflow_gitver.context import app_states
    from mlflow_gitver.gitstate import state_of
    from mlflow_gitver.naming import TAG_APP, TAG_SCOPE

    tree = open_repo(dest)
    config_arg = _config_in(repo, tree, config)
    tags = info["tags"]
    if TAG_SCOPE in tags:
        [(state, _)] = app_states(tree, None, config_arg, tags.get(TAG_APP))
        return state.version_id
    untracked = True
    path = config_arg or tree.root / CONFIG_NAME
    if path.exists():
        from mlflow_gitver.context import untracked_setting

        untracked = untracked_setting(tree, config_arg)
    return state_of(tree, untracked=untracked).version_id


def _config_in(repo: git.Repo, tree: git.Repo, config_arg: Path | None) -> Path | None:
    """``--config`` as the same file inside the new tree, when it is in the repository."""
    if config_arg is None:
        return None
    here = repo.root.resolve()
    try:
        rel = Path(config_arg).resolve().relative_to(here)
    except ValueError:
        return Path(config_arg)  # outside the repository: the same file
    return tree.root / rel


def _print(out: dict[str, Any]) -> None:
    print(f"{out['model_name']} ({out['model_id']}) is in {out['dir']}")
    print(f"commit:     {out['commit']}")
    if out["dirty"]:
        state = {True: "applied", False: "did not apply", None: "none stored"}
        print(f"patch:      {state[out['patch_applied']]}")
    print(f"version id: {out['version_id']}")
    if out["exact"]:
        print(f"recomputed: {out['recomputed_id']} (the same: this is the version's exact code)")
        print(f"mlflow-gitver id --repo {out['dir']} prints it; git worktree remove removes it")
        return
    print(f"recomputed: {out['recomputed_id']} (differs)", file=sys.stdout)
    lines = [f"{PROG}: {out['dir']} is not the version's exact code"]
    if out.get("why"):
        lines.append(f"  {out['why']}")
    reasons = {
        "omitted": "not stored (too large or secret-looking)",
        "markers": "credentials replaced by markers",
        "excluded": "left out (the patch could not apply it)",
    }
    for row in out["not_exact"]:
        if row["restore"] == "submodule":
            lines.append(
                f"  {row['path']}: a submodule at commit {row['commit'][:12]}, not restored "
                f"(git -C {out['dir']} submodule update --init -- {row['path']}, then "
                f"check out {row['commit'][:12]} in it)"
            )
            continue
        lines.append(f"  {row['path']}: {reasons.get(row['restore'], row['restore'])}")
    if not out["not_exact"] and not out.get("why"):
        lines.append("  no stored file explains it: compare with 'git -C DIR status'")
    lines.append(f"  the tree is left for inspection: git worktree remove --force {out['dir']}")
    print("\n".join(lines), file=sys.stderr)
