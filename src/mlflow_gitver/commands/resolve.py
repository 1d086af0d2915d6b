"""``mlflow-gitver resolve``: look a version up; create nothing; exit 1 if absent.

Deploy jobs often have no ``.git``: with ``--version-id ID`` or a full commit
hash no repository is needed.  The application's name then comes from
``--name``, or from a config file if one is there (``--config``, or
``.mlflow-gitver.yaml`` in the current directory); without either, any model
tagged with the version id matches.  Without an experiment (``--experiment``,
``MLFLOW_EXPERIMENT_ID``/``_NAME``, the config) every active experiment is searched.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path

from mlflow_gitver import git
from mlflow_gitver.commands import from_namespace
from mlflow_gitver.config import CONFIG_NAME
from mlflow_gitver.context import open_repo, open_repo_if_any, unscoped
from mlflow_gitver.errors import GitverError
from mlflow_gitver.identity import is_version_id, parse_version_id


@dataclass(frozen=True)
class Args:
    repo: Path | None = None
    config: Path | None = None
    tracking_uri: str | None = None
    experiment: str | None = None
    commit: str | None = None
    version_id: str | None = None
    name: str | None = None
    format: str = "text"  # text, json or env


def args_of(ns: argparse.Namespace) -> Args:
    return from_namespace(Args, ns)


def _full_hash(rev: str) -> str | None:
    """``rev`` lowercased when it is a full commit hash (a clean version id), else None."""
    parsed = parse_version_id(rev.lower())
    return parsed[0] if parsed is not None and parsed[1] is None else None


def run(args: Args) -> int:
    from mlflow_gitver.config import Config, load_config
    from mlflow_gitver.gitstate import state_of
    from mlflow_gitver.lookup import lookup_place

    full_hash = _full_hash(args.commit) if args.commit is not None else None
    needs_git = args.version_id is None and full_hash is None
    repo = open_repo(args.repo) if needs_git else open_repo_if_any(args.repo)
    cfg: Config | None = None
    cfg_path = args.config
    if cfg_path is None:
        cfg_path = (repo.root if repo is not None else Path.cwd()) / CONFIG_NAME
        cfg_path = cfg_path if cfg_path.exists() else None
    if cfg_path is not None:
        cfg = load_config(cfg_path)
        if args.version_id is None:
            cfg = unscoped(
                cfg, "resolve without --version-id"
            )  # a scoped id is not computed here yet: say so

    if args.version_id is not None:
        version_id = args.version_id.lower()
        if not is_version_id(version_id):
            raise GitverError(
                f"--version-id {args.version_id!r} is not a version id: a full commit hash, "
                "<32 hex>-dirty-<8 hex>, or scoped-... (as 'mlflow-gitver id' prints)"
            )
    elif args.commit is not None:
        if full_hash is not None:
            version_id = full_hash
        else:
            assert repo is not None
            full = git.resolve_commit(repo, args.commit)
            if full is None:
                raise GitverError(f"{args.commit!r} does not name a commit in {repo.root}")
            version_id = full
    else:
        assert repo is not None
        version_id = state_of(repo, untracked=cfg.untracked if cfg else True).version_id

    root = repo.root if repo is not None else None
    uri, choice = lookup_place(args.tracking_uri, args.experiment, cfg, root)
    # With several apps the file names no one app: --name does, and no params are
    # compared (whose would they be?).
    single = cfg if cfg is not None and not cfg.apps else None
    app = args.name or (single.name if single else None)

    from mlflow_gitver.commands.register import env_lines
    from mlflow_gitver.lookup import lookup, not_registered
    from mlflow_gitver.mlflow_api import quiet as quiet_mlflow
    from mlflow_gitver.tracking import display

    quiet_mlflow()
    # The params register would send (the config's, after ${VAR} interpolation): a
    # version registered with others is a conflict, not this config's model.
    params = single.params if single is not None else None
    found = lookup(version_id, uri, experiment=choice, app_name=app, params=params)
    if found is None:
        raise not_registered(version_id, display(uri))
    if args.format == "json":
        out = found.as_json()
        out.pop("created")
        print(json.dumps(out, indent=2))
    elif args.format == "env":
        print("\n".join(env_lines(found, uri)))
    else:
        print(found.model_id)
    return 0
