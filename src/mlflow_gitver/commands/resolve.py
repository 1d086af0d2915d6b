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
import os
import re
from pathlib import Path

from mlflow_gitver import git
from mlflow_gitver.config import CONFIG_NAME
from mlflow_gitver.context import open_repo
from mlflow_gitver.errors import GitverError

_FULL_HASH = re.compile(r"^(?:[0-9a-f]{40}|[0-9a-f]{64})$")
_VERSION_ID = re.compile(r"^(?:[0-9a-f]{40}|[0-9a-f]{64}|[0-9a-f]{32}-dirty-[0-9a-f]{8})$")


def _try_repo(repo_arg: Path | None) -> git.Repo | None:
    try:
        return open_repo(repo_arg)
    except GitverError:
        if repo_arg is not None:
            raise
        return None


def run(args: argparse.Namespace) -> int:
    from mlflow_gitver.config import Config, load_config
    from mlflow_gitver.gitstate import state_of
    from mlflow_gitver.tracking import experiment_choice, resolve_uri

    needs_git = args.version_id is None and not (
        args.commit is not None and _FULL_HASH.match(args.commit.lower())
    )
    repo = open_repo(args.repo) if needs_git else _try_repo(args.repo)
    cfg: Config | None = None
    cfg_path = args.config
    if cfg_path is None:
        cfg_path = (repo.root if repo is not None else Path.cwd()) / CONFIG_NAME
        cfg_path = cfg_path if cfg_path.exists() else None
    if cfg_path is not None:
        cfg = load_config(cfg_path)

    if args.version_id is not None:
        version_id = args.version_id.lower()
        if not _VERSION_ID.match(version_id):
            raise GitverError(
                f"--version-id {args.version_id!r} is not a version id: a full commit hash, "
                "or <32 hex>-dirty-<8 hex> (as 'mlflow-gitver id' prints)"
            )
    elif args.commit is not None:
        if _FULL_HASH.match(args.commit.lower()):
            version_id = args.commit.lower()
        else:
            assert repo is not None
            full = git.resolve_commit(repo, args.commit)
            if full is None:
                raise GitverError(f"{args.commit!r} does not name a commit in {repo.root}")
            version_id = full
    else:
        assert repo is not None
        version_id = state_of(repo, untracked=cfg.untracked if cfg else True).version_id

    uri = resolve_uri(
        args.tracking_uri,
        os.environ,
        cfg.tracking_uri if cfg else None,
        repo.root if repo is not None else None,
    )
    choice = experiment_choice(args.experiment, os.environ, cfg.experiment if cfg else None)
    app = args.name or (cfg.name if cfg else None)

    from mlflow_gitver.commands.register import env_lines
    from mlflow_gitver.lookup import lookup, not_registered
    from mlflow_gitver.mlflow_api import quiet as quiet_mlflow
    from mlflow_gitver.tracking import display

    quiet_mlflow()
    # The params register would send (the config's, after ${VAR} interpolation): a
    # version registered with others is a conflict, not this config's model.
    params = cfg.params if cfg is not None else None
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
